#!/bin/sh
# libvmemcache benchmark: ours against upstream 0.8.1 built from source in this run (when
# VMC_UPSTREAM_SRC names its tree), otherwise against the upstream figures recorded below
# (measured on this project's 2-core test machine, tmpfs).
#
# One process per library and round runs every speed workload (bench.c); rounds alternate
# ours / upstream (A B A B ...); the table shows medians, the spread (min-max) and the
# ratio ours/upstream. Space and DRAM per entry come from test_space (deterministic).
#
# Environment: VMC_OURS (our libvmemcache.so.0), VMC_INC (our include dir), VMC_WORK,
# VMC_UPSTREAM_SRC, VMC_UPSTREAM_BUILD, CC, VMC_ROUNDS (default 5), VMC_MS (default 300).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WORK=$VMC_WORK
CC=${CC:-cc}
ROUNDS=${VMC_ROUNDS:-5}
MS=${VMC_MS:-300}
UP_SRC=${VMC_UPSTREAM_SRC:-}
UP_BUILD=${VMC_UPSTREAM_BUILD:-$WORK/upstream-build}
rm -rf "$WORK"
mkdir -p "$WORK/ours" "$WORK/pool"
POOL=$WORK/pool
# tmpfs when it has room for the 256 MiB pool (containers often give /dev/shm 64 MiB)
shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
[ -w /dev/shm ] && [ "${shm_free:-0}" -gt 400000 ] && POOL=$(mktemp -d /dev/shm/vmc-bench.XXXXXX)
cp "$VMC_OURS" "$WORK/ours/libvmemcache.so.0"

$CC -O2 -std=gnu11 -I"$VMC_INC" -o "$WORK/bench" "$HERE/bench.c" -L"$WORK/ours" -l:libvmemcache.so.0 -lpthread || exit 1
$CC -O2 -std=gnu99 -I"$VMC_INC" -I"$ROOT/tests/harness" -o "$WORK/space" "$HERE/../c/test_space.c" \
	-L"$WORK/ours" -l:libvmemcache.so.0 -lpthread || exit 1

UP_LIB=
if [ -n "$UP_SRC" ] && [ -f "$UP_SRC/src/libvmemcache.h" ] && command -v cmake >/dev/null; then
	if [ ! -f "$UP_BUILD/src/libvmemcache.so.0" ]; then
		echo "building upstream 0.8.1 from $UP_SRC"
		mkdir -p "$UP_BUILD" && (cd "$UP_BUILD" &&
			cmake "$UP_SRC" -DCMAKE_BUILD_TYPE=Release >cmake.log 2>&1 && make -j2 >make.log 2>&1)
	fi
	[ -f "$UP_BUILD/src/libvmemcache.so.0" ] && UP_LIB=$UP_BUILD/src
fi

echo "libvmemcache benchmark: 1 KiB values, 256 MiB LRU cache on $(df -T "$POOL" | awk 'NR==2 {print $2}'), $ROUNDS rounds of ${MS} ms per workload"
r=1
while [ $r -le "$ROUNDS" ]; do
	LD_LIBRARY_PATH=$WORK/ours "$WORK/bench" "$POOL" "$MS" >"$WORK/ours.$r" || { echo "bench failed on ours"; exit 1; }
	if [ -n "$UP_LIB" ]; then
		LD_LIBRARY_PATH=$UP_LIB "$WORK/bench" "$POOL" "$MS" >"$WORK/up.$r" || { echo "bench failed on upstream"; exit 1; }
	fi
	r=$((r + 1))
done
LD_LIBRARY_PATH=$WORK/ours "$WORK/space" "$POOL" report >"$WORK/ours.space"
[ -n "$UP_LIB" ] && LD_LIBRARY_PATH=$UP_LIB "$WORK/space" "$POOL" report >"$WORK/up.space"

# Upstream 0.8.1 medians recorded here on 2026-12-01 (7 rounds, 2 shared cores, tmpfs), used
# when its source is absent: name, wall-clock ops/s, ops per CPU-second. See libs/libvmemcache/README.md.
cat >"$WORK/recorded" <<'REC'
hit-1t 963520 1457876
hit-2t 912760 2763276
mix90-10-1t 818254 1291327
mix90-10-2t 793570 2539032
put-evict-1t 649322 984801
put-evict-2t 580675 1602925
REC

# median and spread of column $1 of metric $2 in files $3...
stats() {
	col=$1
	m=$2
	shift 2
	cat "$@" 2>/dev/null | awk -v m="$m" -v c="$col" '$1 == m {print $c}' | sort -n |
		awk '{v[NR] = $1} END {if (NR == 0) {print "- - -"; exit}
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.0f %.0f %.0f\n", med, v[1], v[NR]}'
}
if [ -n "$UP_LIB" ]; then
	ref="upstream 0.8.1 (built now)"
else
	ref="upstream 0.8.1 (recorded)"
fi
table() { # column title
	tc=$1
	printf "\n%s\n%-14s %30s %34s %7s\n" "$2" "workload" "ours median [min-max]" "$ref" "ratio"
	for m in hit-1t hit-2t mix90-10-1t mix90-10-2t put-evict-1t put-evict-2t; do
		set -- $(stats "$tc" "$m" "$WORK"/ours.*[0-9])
		o=$1 omin=$2 omax=$3
		if [ -n "$UP_LIB" ]; then
			set -- $(stats "$tc" "$m" "$WORK"/up.*[0-9])
		else
			set -- $(stats "$tc" "$m" "$WORK/recorded")
		fi
		u=$1 umin=$2 umax=$3
		ratio=$(awk -v a="$o" -v b="$u" 'BEGIN {printf "%.2f", (b > 0) ? (a / b) : 0}')
		printf "%-14s %10s [%s-%s] %10s [%s-%s] %6sx\n" "$m" "$o" "$omin" "$omax" "$u" "$umin" "$umax" "$ratio"
	done
}
table 2 "ops/s, wall clock (total of all threads)"
table 3 "ops per CPU-second of the threads (steadier on a shared machine)"
echo
echo "space and DRAM (64 MiB pool; share of the pool holding values at the first eviction):"
echo "  ours:     $(cat "$WORK/ours.space")"
if [ -n "$UP_LIB" ]; then
	echo "  upstream: $(cat "$WORK/up.space")"
else
	echo "  upstream (recorded): space 256B 0.4999 1KiB 0.7999 dram_per_entry 256B 167.0 1KiB 161.8"
fi
[ "$POOL" != "$WORK/pool" ] && rm -rf "$POOL"
exit 0
