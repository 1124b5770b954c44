#!/bin/sh
# PMemAllocator benchmark: Allocate+Free pairs against a file-backed memkind kind on the
# same file system (A B A B rounds, medians and spread, ratio ours/memkind), thread scaling
# from 2 to 32, and the space figures. Needs PMA_STAGE (our staged install), PMA_REF_STAGE
# (staged libmemkind) and PMA_WORK (scratch directory on the file system to measure).
#
# Two rates per run: pairs per second of wall time (the target's throughput; other load on
# a shared machine shows up here) and pairs per CPU second summed over the threads (what the
# code itself costs; steadier on a busy machine).
set -e
: "${CXX:=c++}" "${ROUNDS:=5}"
here=$(dirname "$0")
mkdir -p "$PMA_WORK"
bin=$PMA_WORK/bench
PKG_CONFIG_PATH=$PMA_STAGE/lib/pkgconfig
export PKG_CONFIG_PATH
$CXX -std=c++14 -O2 -Wall -o "$bin" "$here/bench.cpp" \
	$(pkg-config --cflags --libs pmemallocator) -I"$PMA_REF_STAGE/include" \
	-L"$PMA_REF_STAGE/lib" -lmemkind -lpthread \
	-Wl,-rpath,"$PMA_STAGE/lib" -Wl,-rpath,"$PMA_REF_STAGE/lib"
dir=$PMA_WORK/pools
mkdir -p "$dir"
threads="1 2 4 8 16 32"

# median, min and max (in millions) of column $2 of file $1
stat() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f %.1f %.1f", m/1e6, v[1]/1e6, v[NR]/1e6}'; }

for t in $threads; do
	: >"$PMA_WORK/ours.$t"
	: >"$PMA_WORK/ref.$t"
done
r=0
while [ $r -lt "$ROUNDS" ]; do
	for t in $threads; do
		"$bin" pairs ours $t "$dir" >>"$PMA_WORK/ours.$t"
		"$bin" pairs memkind $t "$dir" >>"$PMA_WORK/ref.$t"
	done
	r=$((r + 1))
done
for col in 1 2; do
	if [ $col = 1 ]; then unit="M pairs / wall second"; else unit="M pairs / CPU second"; fi
	echo "Allocate+Free pairs of 64 B-4 KiB, $unit (median [min-max] of $ROUNDS alternating rounds)"
	printf "%-8s %-20s %-20s %s\n" threads ours memkind-pmem ours/memkind
	for t in $threads; do
		o=$(stat "$PMA_WORK/ours.$t" $col)
		m=$(stat "$PMA_WORK/ref.$t" $col)
		echo "$t $o $m" | awk '{printf "%-8s %5.1f [%5.1f-%5.1f]  %5.1f [%5.1f-%5.1f]  %.2fx\n", $1, $2, $3, $4, $5, $6, $7, $2/$5}'
	done
done
o2=$(stat "$PMA_WORK/ours.2" 1 | cut -d' ' -f1)
printf "ours, total wall throughput relative to 2 threads:"
for t in 4 8 16 32; do
	ot=$(stat "$PMA_WORK/ours.$t" 1 | cut -d' ' -f1)
	echo "$t $ot $o2" | awk '{printf "  %s: %.2f", $1, $2/$3}'
done
echo
echo "space (1 GiB pool, 16 MiB segments, 0.5 s interval, 256 B blocks):"
"$bin" space "$dir"
rm -rf "$dir"
