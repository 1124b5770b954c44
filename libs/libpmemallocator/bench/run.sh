#!/bin/sh
# PMemAllocator benchmark: Allocate+Free pairs against a file-backed memkind kind on the
# same file system (A B A B rounds, medians and spread, ratio ours/memkind), thread scaling
# from 2 to 32, and the space figures. Needs PMA_STAGE (our staged install), PMA_REF_STAGE
# (staged libmemkind) and PMA_WORK (scratch directory, the pools live there).
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

# median and spread (min-max) of the numbers in a file
stat() { sort -n "$1" | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.2f %.2f %.2f", m/1e6, v[1]/1e6, v[NR]/1e6}'; }

echo "pmemallocator bench: Allocate+Free pairs of 64 B-4 KiB, Mops/s (median [min-max] of $ROUNDS rounds)"
for t in 1 2 4 8 16 32; do
	: >"$PMA_WORK/ours.$t"
	: >"$PMA_WORK/ref.$t"
done
r=0
while [ $r -lt "$ROUNDS" ]; do
	for t in 1 2 4 8 16 32; do
		"$bin" pairs ours $t "$dir" >>"$PMA_WORK/ours.$t"
		"$bin" pairs memkind $t "$dir" >>"$PMA_WORK/ref.$t"
	done
	r=$((r + 1))
done
printf "%-8s %-24s %-24s %s\n" threads ours memkind ours/memkind
for t in 1 2 4 8 16 32; do
	o=$(stat "$PMA_WORK/ours.$t")
	m=$(stat "$PMA_WORK/ref.$t")
	echo "$t $o $m" | awk '{printf "%-8s %6.2f [%.2f-%.2f]     %6.2f [%.2f-%.2f]     %.2fx\n", $1, $2, $3, $4, $5, $6, $7, $2/$5}'
done
o2=$(stat "$PMA_WORK/ours.2" | cut -d' ' -f1)
for t in 4 8 16 32; do
	ot=$(stat "$PMA_WORK/ours.$t" | cut -d' ' -f1)
	echo "$t $ot $o2" | awk '{printf "ours at %s threads: %.2f of the 2-thread total\n", $1, $2/$3}'
done
echo "space (1 GiB pool, 16 MiB segments, 0.5 s interval):"
"$bin" space "$dir"
rm -rf "$dir"
