#!/bin/sh
# Builds the libpmem C tests against a staged install (PMEM_STAGE, found through
# pkg-config) and runs them: every CPU path forced in turn through libpmem's environment
# variables, mapping tests on tmpfs and on a disk file system, the static library, the
# log file opened at load, the exported symbol list, the binary drop-in test against the
# system's libpmem.so.1, and fio's libpmem engine on ours (skipped without fio).
# Every line of output is one test of tests/harness/runner.sh, named as printed; T=glob
# selects tests. Last line: "pmem: N passed, M failed[, K skipped]"; exit status non-zero
# if M > 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../harness/runner.sh"
: "${PMEM_STAGE:?set PMEM_STAGE to the staged install prefix}"
work=${PMEM_WORK:-/tmp/pmem-test.$$}
CC=${CC:-cc}
CXX=${CXX:-c++}
syslib=${PMEM_SYSTEM_LIB:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
rm -rf "$work"
mkdir -p "$work/disk"
shm=$(mktemp -d /dev/shm/pmem-test.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$shm"' EXIT

harness_begin pmem

export PKG_CONFIG_PATH="$PMEM_STAGE/lib/pkgconfig"
cflags=$(pkg-config --cflags libpmem) || { fail "pkg-config libpmem"; cflags="-I$PMEM_STAGE/include"; }
libs=$(pkg-config --libs libpmem) || libs="-L$PMEM_STAGE/lib -lpmem"
rpath="-Wl,-rpath,$PMEM_STAGE/lib"
warn="-Wall -Wextra -Werror"

build() {
	out=$1
	shift
	if "$@" -o "$work/$out" 2>"$work/build.log"; then
		return 0
	fi
	fail "build $out"
	sed 's/^/    /' "$work/build.log" | head -20
	return 1
}

build t_copy $CC -O2 -std=gnu99 $warn $cflags "$here/t_copy.c" $libs $rpath
build t_map $CC -O2 -std=gnu99 $warn $cflags "$here/t_map.c" $libs $rpath
build t_map_asan $CC -O1 -g -std=gnu99 -fsanitize=address,undefined -fno-omit-frame-pointer $cflags "$here/t_map.c" $libs $rpath
build t_map_static $CC -O2 -std=gnu99 $cflags "$here/t_map.c" "$PMEM_STAGE/lib/libpmem.a" -lpthread -ldl -lm
build t_logfd $CC -O2 -std=gnu99 $warn $cflags "$here/t_logfd.c" $libs $rpath
build t_logfd_static $CC -O2 -std=gnu99 $cflags "$here/t_logfd.c" "$PMEM_STAGE/lib/libpmem.a" -lpthread -ldl -lm
build t_header_c99 $CC -std=c99 -pedantic $warn $cflags "$here/t_header.c" $libs $rpath
build t_header_cxx $CXX -std=c++11 -pedantic $warn $cflags -x c++ "$here/t_header.c" $libs $rpath

# The header also stands alone, in both languages.
for std in "$CC -std=c99 -x c" "$CXX -std=c++11 -x c++"; do
	name="libpmem.h alone: $std"
	harness_selected "$name" || continue
	if echo '#include <libpmem.h>' | $std -pedantic $warn $cflags -fsyntax-only - 2>"$work/build.log"; then
		pass "$name"
	else
		fail "$name"
		sed 's/^/    /' "$work/build.log" | head -20
	fi
done

run "header C99" "$work/t_header_c99"
run "header C++11" "$work/t_header_cxx"

# One run per CPU path. Each must say in the log (level 3) that the choice took effect.
has() { grep -qw "$1" /proc/cpuinfo; }
flush_default=Clflush
has clflushopt && flush_default=ClflushOpt
has clwb && flush_default=Clwb
noclwb=Clflush
has clflushopt && noclwb=ClflushOpt
simd=Sse2
has avx2 && simd=Avx2
has avx512f && simd=Avx512
i=0
while read -r expect envs; do
	[ -n "$expect" ] || continue
	i=$((i + 1))
	log="$work/copy.$i.log"
	rm -f "$log"
	run "copy [$envs]" env $envs PMEM_LOG_LEVEL=3 PMEM_LOG_FILE="$log" PMEM_TEST_DIR="$shm" "$work/t_copy"
	harness_selected "copy [$envs] log" || continue
	# (the run makes the log; when only this test is selected it runs for it)
	[ -e "$log" ] || env $envs PMEM_LOG_LEVEL=3 PMEM_LOG_FILE="$log" PMEM_TEST_DIR="$shm" "$work/t_copy" >/dev/null 2>&1
	if grep -q -- "$expect" "$log" 2>/dev/null; then
		pass "copy [$envs] log" "$expect"
	else
		fail "copy [$envs] log" "lacks \"$expect\": $(cat "$log" 2>/dev/null)"
	fi
done <<EOT
flush=$flush_default PMEM_NO_FLUSH=0
flush=$noclwb PMEM_NO_CLWB=1 PMEM_NO_FLUSH=0
flush=Clflush PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 PMEM_NO_FLUSH=0
skip_flush=true PMEM_NO_FLUSH=1
movnt=false PMEM_NO_MOVNT=1
simd=Avx2 PMEM_NO_MOVNT=1 PMEM_AVX512F=0 PMEM_NO_CLWB=1 PMEM_NO_FLUSH=0
simd=Sse2 PMEM_NO_MOVNT=1 PMEM_AVX512F=0 PMEM_AVX=0 PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 PMEM_NO_FLUSH=0
movnt_threshold=0 PMEM_MOVNT_THRESHOLD=0
simd=$simd PMEM_MOVNT_THRESHOLD=0
simd=Avx2 PMEM_MOVNT_THRESHOLD=0 PMEM_AVX512F=0
simd=Sse2 PMEM_MOVNT_THRESHOLD=0 PMEM_AVX512F=0 PMEM_AVX=0
movnt_threshold=100000 PMEM_MOVNT_THRESHOLD=100000
EOT
# AVX2 can only be forced where the CPU has it.
has avx2 || echo "note: no AVX2 here; the AVX2 run used SSE2"

run "map (tmpfs)" "$work/t_map" "$shm"
run "map (disk)" "$work/t_map" "$work/disk"
run "map PMEM_IS_PMEM_FORCE=1" env PMEM_IS_PMEM_FORCE=1 "$work/t_map" "$shm"
run "map PMEM_IS_PMEM_FORCE=0" env PMEM_IS_PMEM_FORCE=0 "$work/t_map" "$shm"
run "map PMEM_IS_PMEM_FORCE=01" env PMEM_IS_PMEM_FORCE=01 "$work/t_map" "$shm"
run "map PMEM_IS_PMEM_FORCE=1 (disk)" env PMEM_IS_PMEM_FORCE=1 "$work/t_map" "$work/disk"
run "map PMEM_MMAP_HINT" env PMEM_MMAP_HINT=0x100000000000 "$work/t_map" "$shm"
run "map (static libpmem.a)" "$work/t_map_static" "$shm"
run "map (ASan/UBSan build)" env ASAN_OPTIONS=detect_leaks=1 "$work/t_map_asan" "$shm"

# PMEM_LOG_FILE ending in '-' gets the pid appended; level 1 logs the errors.
if harness_selected "PMEM_LOG_FILE with pid suffix"; then
	rm -f "$work"/errlog*
	env PMEM_LOG_LEVEL=1 PMEM_LOG_FILE="$work/errlog-" "$work/t_map" "$shm" >/dev/null 2>&1
	if ls "$work"/errlog-[0-9]* >/dev/null 2>&1 && grep -q "pmem_map_file" "$work"/errlog-[0-9]*; then
		pass "PMEM_LOG_FILE with pid suffix"
	else
		fail "PMEM_LOG_FILE with pid suffix"
	fi
fi

# PMEM_LOG_FILE is opened when the library loads: the file and its descriptor exist when
# main starts, and a program's descriptors are the same before and after pmem calls.
rm -f "$work"/fdlog*
run "log file opened at load, level 3" env PMEM_LOG_LEVEL=3 PMEM_LOG_FILE="$work/fdlog.3" "$work/t_logfd" "$shm"
run "log file opened at load, level 1" env PMEM_LOG_LEVEL=1 PMEM_LOG_FILE="$work/fdlog.1" "$work/t_logfd" "$shm"
run "log file opened at load, no level" env -u PMEM_LOG_LEVEL PMEM_LOG_FILE="$work/fdlog.0" "$work/t_logfd" "$shm"
run "log file opened at load, pid suffix" env PMEM_LOG_LEVEL=2 PMEM_LOG_FILE="$work/fdlog-" "$work/t_logfd" "$shm"
run "log file opened at load (static libpmem.a)" env PMEM_LOG_LEVEL=2 PMEM_LOG_FILE="$work/fdlog.s" "$work/t_logfd_static" "$shm"

# Exactly the libpmem API is exported, every name with version LIBPMEM_1.0.
want=$(sed -n 's/^[a-z].* \**\(pmem_[a-z_]*\)(.*);$/\1/p' "$PMEM_STAGE/include/libpmem.h" | sort)
got=$(nm -D --defined-only "$PMEM_STAGE/lib/libpmem.so.1" | awk '$2 ~ /^[TW]$/ {print $3}' | sed 's/@.*//' | sort)
if ! harness_selected "exported symbols"; then
	:
elif [ -n "$want" ] && [ "$want" = "$got" ]; then
	pass "exported symbols"
else
	fail "exported symbols" "differ from the header: $got"
fi
nver=$(objdump -T "$PMEM_STAGE/lib/libpmem.so.1" | grep -c 'LIBPMEM_1\.0 *pmem_')
if ! harness_selected "symbol versions"; then
	:
elif [ "$nver" -eq "$(echo "$want" | wc -l)" ]; then
	pass "symbol versions" "LIBPMEM_1.0"
else
	fail "symbol versions" "only $nver symbols carry LIBPMEM_1.0"
fi
if ! harness_selected SONAME; then
	:
elif readelf -d "$PMEM_STAGE/lib/libpmem.so.1" | grep -q 'SONAME.*\[libpmem.so.1\]'; then
	pass SONAME
else
	fail SONAME
fi

# Binary drop-in: built against the system's header and library, run with ours.
if [ -e "$syslib" ] && [ -e /usr/include/libpmem.h ]; then
	if build t_dropin $CC -O2 -I/usr/include -I"$here" "$here/t_dropin.c" "$syslib"; then
		run "drop-in, system library" "$work/t_dropin" system "$shm"
		run "drop-in, ours via LD_LIBRARY_PATH" env LD_LIBRARY_PATH="$PMEM_STAGE/lib" "$work/t_dropin" ours "$shm"
		if harness_selected "drop-in, LD_DEBUG=bindings"; then
			LD_DEBUG=bindings LD_LIBRARY_PATH="$PMEM_STAGE/lib" "$work/t_dropin" ours "$shm" >/dev/null 2>"$work/bindings"
			if grep -q "to $PMEM_STAGE/lib/libpmem.so.1 .*pmem_map_file' \[LIBPMEM_1.0\]" "$work/bindings"; then
				pass "drop-in, LD_DEBUG=bindings"
			else
				fail "drop-in, LD_DEBUG=bindings" "no binding of pmem_map_file@LIBPMEM_1.0 to ours"
			fi
		fi
	fi
else
	skip "drop-in" "$syslib or /usr/include/libpmem.h not installed"
fi

# fio's libpmem engine on ours (it refuses mappings whose is_pmem is 0); skipped without
# fio (apt-get install fio).
run "fio libpmem engine, verify=crc32c" sh "$here/t_fio.sh" "$PMEM_STAGE/lib" "$shm" "$syslib"

harness_end
