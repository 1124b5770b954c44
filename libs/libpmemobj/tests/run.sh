#!/bin/sh
# Builds the libpmemobj C tests against a staged install (PMEMOBJ_STAGE, through
# pkg-config) and runs them: the tutorial programs, the API, bad input, the static
# library, the exported symbols, format compatibility both ways with the system's PMDK
# (pmempool check / info included), the binary drop-in, PMDK's own examples that use
# only pools and the atomic API (when PMDK's sources are present), and the SIGKILL
# crash storms. Last line: "pmemobj: N passed, M failed[, K skipped]".
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${PMEMOBJ_STAGE:?set PMEMOBJ_STAGE to the staged install prefix}"
work=${PMEMOBJ_WORK:-/tmp/pmemobj-test.$$}
CC=${CC:-cc}
syslib=${PMEMOBJ_SYSTEM_LIB:-/usr/lib/x86_64-linux-gnu/libpmemobj.so.1}
pmdk_git=${PMEMOBJ_PMDK_GIT:-/work/.mirror/pmem+pmdk/repo}
crash_rounds=${PMEMOBJ_CRASH_ROUNDS:-300}
. "$root/tests/harness/runner.sh"

rm -rf "$work"
mkdir -p "$work/disk" "$work/bin"
shm=$(mktemp -d /dev/shm/pmemobj-test.XXXXXX 2>/dev/null || mktemp -d)
full=""
cleanup() {
	[ -n "$full" ] && umount "$full" 2>/dev/null
	rm -rf "$shm"
}
trap cleanup EXIT

export PKG_CONFIG_PATH="$PMEMOBJ_STAGE/lib/pkgconfig"
CFLAGS="-std=gnu11 -Wall -Wextra -Wno-unused-parameter -O2 $(pkg-config --cflags libpmemobj)"
LIBS="$(pkg-config --libs libpmemobj) -Wl,-rpath,$PMEMOBJ_STAGE/lib"
bin=$work/bin

harness_begin pmemobj

build() { # name source [extra flags...]: against our staged install
	n=$1; s=$2; shift 2
	if $CC $CFLAGS -o "$bin/$n" "$s" "$@" $LIBS >"$work/$n.build" 2>&1; then
		return 0
	fi
	fail "build $n" "$(head -5 "$work/$n.build")"
	return 1
}

# --- our own programs -------------------------------------------------------------
build tutorial "$here/t_tutorial.c" && {
	run tutorial-shm "$bin/tutorial" "$shm/tutorial.pool"
	run tutorial-disk "$bin/tutorial" "$work/disk/tutorial.pool"
}
build api "$here/t_api.c" && {
	run api-shm "$bin/api" "$shm/api.pool"
	run api-disk "$bin/api" "$work/disk/api.pool"
	PMEM_IS_PMEM_FORCE=1 run api-forced-pmem "$bin/api" "$shm/api2.pool"
}
build bad "$here/t_bad.c" && {
	mkdir -p "$shm/bad"
	# a tiny tmpfs makes a real full file system, where we may mount one
	if [ "$(id -u)" = 0 ] && mkdir -p "$work/full" &&
		mount -t tmpfs -o size=4m tmpfs "$work/full" 2>/dev/null; then
		full=$work/full
		run bad-input "$bin/bad" "$shm/bad" "$full"
	else
		run bad-input "$bin/bad" "$shm/bad"
		skip full-filesystem "cannot mount a small tmpfs here"
	fi
}

# static library
if $CC $CFLAGS -o "$bin/tutorial-static" "$here/t_tutorial.c" \
	"$PMEMOBJ_STAGE/lib/libpmemobj.a" -lpthread -ldl -lm >"$work/static.build" 2>&1; then
	run static-lib "$bin/tutorial-static" "$shm/static.pool"
else
	fail static-lib "$(head -5 "$work/static.build")"
fi

# exported symbols: every one versioned LIBPMEMOBJ_1.0, and every one the system's
# library has for the parts we implement
dyn=$(objdump -T "$PMEMOBJ_STAGE/lib/libpmemobj.so.1" | grep -E '^[0-9a-f]{16} ' | grep -v '\*UND\*' | grep -v '\*ABS\*')
ours_syms=$(printf '%s\n' "$dyn" | grep ' LIBPMEMOBJ_1.0 ' | awk '{print $NF}' | sort)
n_ours=$(printf '%s\n' "$ours_syms" | grep -c .)
n_unversioned=$(printf '%s\n' "$dyn" | grep -vc ' LIBPMEMOBJ_1.0 ')
want_syms=$(sed -n 's/^\t\t\([a-z_]*\);$/\1/p' "$here/../libpmemobj.map" | sort)
if [ "$ours_syms" = "$want_syms" ] && [ "$n_unversioned" -eq 0 ]; then pass symbols
else fail symbols "$n_ours versioned, $n_unversioned unversioned, map has $(printf '%s\n' "$want_syms" | grep -c .)"; fi
if [ -f "$syslib" ]; then
	missing=""
	for s in pmemobj_create pmemobj_open pmemobj_close pmemobj_check pmemobj_root pmemobj_root_construct \
		pmemobj_root_size pmemobj_alloc pmemobj_xalloc pmemobj_zalloc pmemobj_realloc pmemobj_zrealloc \
		pmemobj_strdup pmemobj_wcsdup pmemobj_free pmemobj_alloc_usable_size pmemobj_type_num \
		pmemobj_first pmemobj_next pmemobj_direct pmemobj_oid pmemobj_pool_by_ptr pmemobj_pool_by_oid \
		pmemobj_persist pmemobj_flush pmemobj_drain pmemobj_memcpy_persist pmemobj_memset_persist \
		pmemobj_memcpy pmemobj_memmove pmemobj_memset pmemobj_errormsg pmemobj_check_version \
		_pobj_cached_pool _pobj_cache_invalidate _pobj_debug_notice; do
		objdump -T "$syslib" | grep -q " LIBPMEMOBJ_1.0 *$s\$" || continue
		printf '%s\n' "$ours_syms" | grep -qx "$s" || missing="$missing $s"
	done
	if [ -z "$missing" ]; then pass symbols-vs-pmdk; else fail symbols-vs-pmdk "missing:$missing"; fi
fi

# --- the system's PMDK: format both ways and the binary drop-in ---------------------
have_pmdk=0
if [ -f "$syslib" ] && [ -f /usr/include/libpmemobj.h ] &&
	$CC -std=gnu11 -O2 -o "$bin/compat-pmdk" "$here/t_compat.c" -lpmemobj >"$work/pmdk.build" 2>&1 &&
	$CC -std=gnu11 -O2 -o "$bin/crash-pmdk" "$here/t_crash.c" -lpmemobj >>"$work/pmdk.build" 2>&1; then
	have_pmdk=1
fi
have_pmempool=0
command -v pmempool >/dev/null 2>&1 && have_pmempool=1

pmempool_ok() { # name file
	harness_selected "$1" || return 0
	[ -e "$2" ] || [ -z "${T:-}" ] || { skip "$1" "no pool: T left out the test that makes it"; return; }
	[ $have_pmempool = 1 ] || { skip "$1" "pmempool not installed"; return; }
	if pmempool check -v "$2" >"$work/pmempool.out" 2>&1 && grep -q consistent "$work/pmempool.out" &&
		! grep -q "not consistent" "$work/pmempool.out" &&
		pmempool info -H -O "$2" >"$work/pmempool-info.out" 2>&1; then
		pass "$1"
	else
		fail "$1" "$(cat "$work/pmempool.out" | head -5)"
	fi
}

build compat "$here/t_compat.c" && {
	f=$shm/compat.pool
	run compat-ours-write "$bin/compat" write "$f"
	pmempool_ok pmempool-ours "$f"
	if [ $have_pmdk = 1 ]; then
		run compat-ours-to-pmdk env LD_LIBRARY_PATH= "$bin/compat-pmdk" verify "$f" 1
		pmempool_ok pmempool-after-pmdk "$f"
		run compat-pmdk-back-to-ours "$bin/compat" verify "$f" 2
		pmempool_ok pmempool-after-ours "$f"
		g=$shm/compat2.pool
		run compat-pmdk-write "$bin/compat-pmdk" write "$g"
		run compat-pmdk-to-ours "$bin/compat" verify "$g" 3
		pmempool_ok pmempool-pmdk-pool-after-ours "$g"
		run compat-ours-back-to-pmdk "$bin/compat-pmdk" verify "$g" 4
		run compat-pmdk-again-to-ours "$bin/compat" verify "$g" 5
		# drop-in: the binary built against Debian's libpmemobj-dev runs on ours
		w=$(LD_LIBRARY_PATH="$PMEMOBJ_STAGE/lib" "$bin/compat-pmdk" which)
		case "$w" in
		"$PMEMOBJ_STAGE"/*) pass dropin-loads-ours ;;
		*) fail dropin-loads-ours "loaded $w" ;;
		esac
		h=$shm/dropin.pool
		run dropin-write env LD_LIBRARY_PATH="$PMEMOBJ_STAGE/lib" "$bin/compat-pmdk" write "$h"
		run dropin-verify env LD_LIBRARY_PATH="$PMEMOBJ_STAGE/lib" "$bin/compat-pmdk" verify "$h" 6
		run dropin-pool-on-pmdk "$bin/compat-pmdk" verify "$h" 7
		# a PMDK transaction killed half way: our recovery rolls its undo log back
		if $CC -std=gnu11 -O2 -o "$bin/txcrash-pmdk" "$here/t_txcrash.c" -lpmemobj >"$work/tx.build" 2>&1 &&
			build txcheck "$here/t_txcheck.c"; then
			t=$shm/tx.pool
			"$bin/txcrash-pmdk" prep "$t" && "$bin/txcrash-pmdk" crash "$t"
			run pmdk-tx-undo-recovered-by-ours "$bin/txcheck" "$t"
			pmempool_ok pmempool-after-undo-recovery "$t"
		else
			fail pmdk-tx-undo-recovered-by-ours "build: $(head -3 "$work/tx.build")"
		fi
	else
		skip compat-pmdk "system libpmemobj / headers not installed"
	fi
}

# --- PMDK's own examples that use only pools and the atomic API --------------------
if git --git-dir="$pmdk_git" rev-parse -q --verify 1.12.1 >/dev/null 2>&1; then
	ex=$work/examples
	mkdir -p "$ex/string_store"
	for f in ex_common.h libpmemobj/btree.c libpmemobj/manpage.c libpmemobj/string_store/writer.c \
		libpmemobj/string_store/reader.c libpmemobj/string_store/layout.h; do
		git --git-dir="$pmdk_git" show "1.12.1:src/examples/$f" >"$ex/$(echo "$f" | sed 's|libpmemobj/||')"
	done
	if build ex-btree "$ex/btree.c" -I"$ex"; then
		p=$shm/btree.pool
		"$bin/ex-btree" "$p" i 5 five >/dev/null && "$bin/ex-btree" "$p" i 2 two >/dev/null &&
			"$bin/ex-btree" "$p" i 9 nine >/dev/null
		out=$("$bin/ex-btree" "$p" p; "$bin/ex-btree" "$p" f 9)
		if [ "$(printf '%s\n' "$out" | tr '\n' ' ')" = "2 two 5 five 9 nine nine " ]; then pass example-btree
		else fail example-btree "printed: $out"; fi
		pmempool_ok example-btree-pmempool "$p"
	fi
	if build ex-writer "$ex/string_store/writer.c" -I"$ex/string_store" &&
		build ex-reader "$ex/string_store/reader.c" -I"$ex/string_store"; then
		p=$shm/strings.pool
		echo "hello" | "$bin/ex-writer" "$p" >/dev/null
		out=$("$bin/ex-reader" "$p")
		if [ "$out" = "hello" ]; then pass example-string-store
		else fail example-string-store "read: $out"; fi
	fi
	# the manual page's example writes to /pmem-fs/myfile: point it at our directory
	sed -i "s|/pmem-fs/myfile|$work/disk/manpage.pool|" "$ex/manpage.c"
	if build ex-manpage "$ex/manpage.c" -I"$ex"; then
		"$bin/ex-manpage" && "$bin/ex-manpage"
		rc=$?
		if [ $rc -eq 0 ] && [ -f "$work/disk/manpage.pool" ]; then pass example-manpage; else fail example-manpage "exit $rc"; fi
		pmempool_ok example-manpage-pmempool "$work/disk/manpage.pool"
		rm -f "$work/disk/manpage.pool"
	fi
else
	skip pmdk-examples "PMDK sources not present ($pmdk_git)"
fi

# --- crashes -----------------------------------------------------------------------
build crash "$here/t_crash.c" && {
	f=$shm/crash.pool
	PMEM_IS_PMEM_FORCE=1 run crash-sigkill-storm "$bin/crash" storm "$f" "$crash_rounds" 11
	pmempool_ok pmempool-after-storm "$f"
	PMEM_IS_PMEM_FORCE=1 run crash-sigkill-storm-2threads "$bin/crash" storm "$shm/crash2.pool" "$crash_rounds" 12 2
	PMEM_IS_PMEM_FORCE=0 run crash-sigkill-storm-msync-2threads "$bin/crash" storm "$shm/crash3.pool" "$crash_rounds" 13 2
	pmempool_ok pmempool-after-storm-msync "$shm/crash3.pool"
	if [ $have_pmdk = 1 ] && { harness_selected crash-recovered-by-pmdk || harness_selected crash-pmdk-recovered-by-ours; }; then
		# our interrupted operations, recovered by PMDK
		i=0
		ok=1
		while [ $i -lt 20 ]; do
			PMEM_IS_PMEM_FORCE=1 "$bin/crash" kill "$f" 1 $((100 + i)) >"$work/kill.out" 2>&1 || ok=0
			env LD_LIBRARY_PATH= "$bin/crash-pmdk" verify "$f" >"$work/pmdkv.out" 2>&1 || { ok=0; cat "$work/pmdkv.out" | tail -3; }
			i=$((i + 1))
		done
		if [ $ok = 1 ]; then pass crash-recovered-by-pmdk; else fail crash-recovered-by-pmdk; fi
		# and PMDK's interrupted operations, recovered by ours
		env LD_LIBRARY_PATH= "$bin/crash-pmdk" kill "$f" 10 77 >/dev/null 2>&1
		run crash-pmdk-recovered-by-ours "$bin/crash" verify "$f"
	fi
}

harness_end
