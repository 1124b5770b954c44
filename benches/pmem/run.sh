#!/bin/sh
# Builds and runs the libpmem benchmark: ours (PMEM_OURS) against the system's libpmem
# (PMEM_SYSTEM_LIB) in the same process, alternating rounds, PMEM_IS_PMEM_FORCE=1, /dev/shm;
# once timed by the wall clock and once by the thread's CPU clock (PMEM_BENCH_CLOCKS).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${PMEM_OURS:?path of our libpmem.so.1}"
sys=${PMEM_SYSTEM_LIB:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
work=${PMEM_WORK:-/tmp/pmem-bench.$$}
CC=${CC:-cc}
mkdir -p "$work"
[ -e "$sys" ] || { echo "system libpmem $sys not installed"; exit 1; }
$CC -O2 -Wall -Wextra -o "$work/bench" "$here/bench.c" -ldl
# Wall clock first, then the thread's CPU time (CPU per byte, as fio's usr figure shows it).
for clock in ${PMEM_BENCH_CLOCKS:-wall cpu}; do
	echo "== $clock clock"
	PMEM_BENCH_CLOCK=$clock PMEM_IS_PMEM_FORCE=1 "$work/bench" "$PMEM_OURS" "$sys" \
		/dev/shm/pmem-bench.$$ "${PMEM_BENCH_ROUNDS:-25}"
done
