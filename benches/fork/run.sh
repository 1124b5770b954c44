#!/usr/bin/env bash
# fork()+wait with a written heap of FORK_MIB MiB: ours and memkind alternate (A B A B)
# for ROUNDS rounds, each round the median of 20 forks; prints medians, spread and ratios.
# Targets: ours with a file-kind heap within 2x of ours with a DRAM heap (the fork cost
# must not grow with a file heap). memkind's file kind is shown for scale: it shares its
# heap with the child instead of protecting it.
# usage: run.sh REF_BINARY OURS_BINARY   (DISK_DIR=/var/tmp, FORK_MIB=512, ROUNDS=5)
set -u
REF=$1
OURS=$2
ROUNDS=${ROUNDS:-5}
MIB=${FORK_MIB:-512}
DIR=$(mktemp -d "${DISK_DIR:-/var/tmp}/fork-bench.XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
unset LD_PRELOAD LD_LIBRARY_PATH
declare -A R
for ((r = 0; r < ROUNDS; r++)); do
    order="ref ours"
    [ $((r % 2)) = 1 ] && order="ours ref"
    for who in $order; do
        bin=$REF
        [ "$who" = ours ] && bin=$OURS
        for mode in file dram; do
            v=$("$bin" "$mode" "$DIR" "$MIB" 20) || { echo "fork bench: $who $mode failed" >&2; exit 1; }
            R[$who.$mode]+="$v "
        done
    done
done
stats() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {printf "%.0f %.0f %.0f", a[int((NR+1)/2)], a[1], a[NR]}'; }
read -r of ofl ofh <<<"$(echo "${R[ours.file]}" | stats)"
read -r od odl odh <<<"$(echo "${R[ours.dram]}" | stats)"
read -r rf rfl rfh <<<"$(echo "${R[ref.file]}" | stats)"
read -r rd rdl rdh <<<"$(echo "${R[ref.dram]}" | stats)"
echo "== fork()+wait with a written ${MIB} MiB heap, microseconds (median of $ROUNDS rounds, min-max)"
printf '%-34s %10s %16s %10s %16s\n' "heap" "ours" "spread" "memkind" "spread"
printf '%-34s %10s %16s %10s %16s\n' "file kind ($(df -PT "$DIR" | awk 'NR==2{print $2}'))" "$of" "$ofl-$ofh" "$rf" "$rfl-$rfh"
printf '%-34s %10s %16s %10s %16s\n' "MEMKIND_DEFAULT (DRAM)" "$od" "$odl-$odh" "$rd" "$rdl-$rdh"
awk -v of="$of" -v od="$od" -v rf="$rf" 'BEGIN {
    a = of / od; b = rf / of
    printf "ours file / ours DRAM: %.2fx (target <= 2x: %s)\n", a, (a <= 2 ? "met" : "MISSED")
    printf "memkind file / ours file: %.2fx (no target: memkind shares its heap with the child, ours takes it copy-on-write)\n", b
}'
