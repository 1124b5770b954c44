#!/bin/sh
# Builds and runs the libpmem benchmark: ours (PMEM_OURS) against the system's libpmem
# (PMEM_SYSTEM_LIB) in the same process, alternating rounds, PMEM_IS_PMEM_FORCE=1, /dev/shm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${PMEM_OURS:?path of our libpmem.so.1}"
sys=${PMEM_SYSTEM_LIB:-/usr/lib/x86_64-linux-gnu/libpmem.so.1}
work=${PMEM_WORK:-/tmp/pmem-bench.$$}
CC=${CC:-cc}
mkdir -p "$work"
[ -e "$sys" ] || { echo "system libpmem $sys not installed"; exit 1; }
$CC -O2 -Wall -Wextra -o "$work/bench" "$here/bench.c" -ldl
PMEM_IS_PMEM_FORCE=1 "$work/bench" "$PMEM_OURS" "$sys" /dev/shm/pmem-bench.$$ "${PMEM_BENCH_ROUNDS:-41}"
