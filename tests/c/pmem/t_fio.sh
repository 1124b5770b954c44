#!/bin/sh
# fio's libpmem engine (Debian's fio links libpmem.so.1) run on our library through
# LD_LIBRARY_PATH: short write jobs with verify=crc32c on a tmpfs file, with
# PMEM_IS_PMEM_FORCE=1 as on machines without persistent memory. The engine refuses a
# mapping whose is_pmem comes back 0, so this checks pmem_map_file's is_pmem end to end;
# the verify pass reads every block back and checks its checksum.
# Usage: t_fio.sh <our lib dir> <scratch dir> [system libpmem.so.1]
# Prints "RESULT passed failed" (read by run.sh); exits 77 when fio cannot run here.
set -u
lib=$1
dir=$2
syslib=${3:-}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "check: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

fio=$(command -v fio) || { echo "fio not installed"; exit 77; }
"$fio" --enghelp 2>/dev/null | grep -qx '[[:space:]]*libpmem' ||
	{ echo "this fio has no libpmem engine"; exit 77; }

# A directory of our own inside the scratch directory, removed with everything in it.
dir=$(mktemp -d "$dir/fio.XXXXXX") || { echo "FAIL mktemp in $2"; echo "RESULT 0 1"; exit 1; }
out="$dir/out"
trap 'rm -rf "$dir"' EXIT

# job NAME EXTRA-ENV... -- FIO-ARGS...: runs fio in one process (--thread); exit status in $rc.
job() {
	name=$1
	shift
	envs=
	while [ "$1" != "--" ]; do
		envs="$envs $1"
		shift
	done
	shift
	rm -f "$dir/fio.$name"
	# shellcheck disable=SC2086
	env $envs "$fio" --name="$name" --ioengine=libpmem --filename="$dir/fio.$name" \
		--thread --verify_state_save=0 --output-format=normal "$@" >"$out" 2>&1
	rc=$?
}

# verified JOB SIZE: fio succeeded, reported no error and read SIZE back to verify it.
verified() {
	if [ "$rc" -eq 0 ] && grep -q 'err= 0' "$out" && grep -q "READ:.*io=$2" "$out" &&
		! grep -qi 'verify.*\(bad\|fail\)' "$out"; then
		ok "$1: wrote and verified $2"
	else
		bad "$1: exit $rc"
		sed 's/^/    /' "$out" | head -15
	fi
}

# 64 KiB writes without O_DIRECT: pmem_memcpy with PMEM_F_MEM_TEMPORAL|PMEM_F_MEM_NODRAIN.
# The level-2 log says which library mapped the file and what it answered.
log="$dir/fio.log"
job seqw PMEM_IS_PMEM_FORCE=1 LD_LIBRARY_PATH="$lib" PMEM_LOG_LEVEL=2 PMEM_LOG_FILE="$log" -- \
	--size=16m --bs=64k --rw=write --verify=crc32c
verified "64k sequential writes, temporal" 16.0MiB
if grep -q "mapped $dir/fio.seqw .* is_pmem 1" "$log" 2>/dev/null; then
	ok "our libpmem mapped the file and answered is_pmem 1"
else
	bad "our log has no 'mapped ... is_pmem 1' line: $(head -3 "$log" 2>/dev/null)"
fi

# O_DIRECT and O_SYNC: PMEM_F_MEM_NONTEMPORAL without NODRAIN, random 4 KiB blocks.
job randw PMEM_IS_PMEM_FORCE=1 LD_LIBRARY_PATH="$lib" -- \
	--size=8m --bs=4k --rw=randwrite --direct=1 --sync=1 --verify=crc32c
verified "4k random writes, non-temporal, sync" 8192KiB

# Odd block size: copies that start and end inside cache lines.
job oddw PMEM_IS_PMEM_FORCE=1 LD_LIBRARY_PATH="$lib" -- \
	--size=3000k --bs=1500 --rw=write --verify=crc32c
verified "1500-byte writes" 3000KiB

# The loader bound fio to ours, not the system's copy.
job bind PMEM_IS_PMEM_FORCE=1 LD_LIBRARY_PATH="$lib" LD_DEBUG=libs -- \
	--size=1m --bs=64k --rw=write --verify=crc32c
if grep -q "calling init: $lib/libpmem.so.1" "$out" &&
	! grep "calling init: " "$out" | grep "libpmem\.so\.1" | grep -vq "$lib/"; then
	ok "LD_DEBUG=libs: fio initialised $lib/libpmem.so.1 only"
else
	bad "LD_DEBUG=libs does not show ours as fio's libpmem.so.1"
	grep "libpmem" "$out" | sed 's/^/    /' | head -10
fi

# PMEM_IS_PMEM_FORCE=0 on ours: is_pmem 0, and fio refuses the file, as it does on PMDK.
job never PMEM_IS_PMEM_FORCE=0 LD_LIBRARY_PATH="$lib" -- --size=1m --bs=64k --rw=write
if [ "$rc" -ne 0 ] && grep -q 'does not point to persistent memory' "$out"; then
	ok "PMEM_IS_PMEM_FORCE=0: fio refuses the file"
else
	bad "PMEM_IS_PMEM_FORCE=0: fio exit $rc"
	sed 's/^/    /' "$out" | head -10
fi

# Control: the same first job on the system's libpmem, so a failure above is ours.
if [ -n "$syslib" ] && [ -e "$syslib" ]; then
	job sysw PMEM_IS_PMEM_FORCE=1 -- --size=16m --bs=64k --rw=write --verify=crc32c
	verified "system libpmem, 64k sequential writes" 16.0MiB
fi

echo "RESULT $passed $failed"
[ "$failed" -eq 0 ]
