#!/usr/bin/env bash
# Speed of a libmemtier-compatible LD_PRELOAD interposer ("ours") against no
# interposer ("plain": glibc malloc) and memkind's own libmemtier.so.0 ("memkind").
#
#   benches/memtier/run.sh LIBMEMTIER_SO
#
# Metrics: ns per malloc+free pair of 64 B and 4 KiB (benches/memtier/pairs.c, timed
# inside the program: median of 5 runs of ~25 ms), and the wall time of the programs of
# tests/memtier/ with smaller inputs (python3, sort, sqlite3, gcc -c, threads; threads in
# its "basic" mode, which memkind's interposer survives: the tests check the rest).
# Configurations: dram (KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO) and fs (DRAM + FS_DAX
# 1:1, STATIC_RATIO, a fresh directory under $BENCH_TIER_PARENT for every run).
# Each round runs every metric and configuration as plain, memkind, ours, one after the
# other, the order rotating from round to round (A B C, B C A, C A B, A B C, ...) so no
# library always follows the same one; cells are the median and [min-max] over the rounds,
# ratios the median of the rounds' own ratios. A run that dies from a
# signal is "crashed", one whose stdout differs from the plain run's is "wrong".
#
# environment:
#   ROUNDS=5                       rounds
#   MEMTIER_REF_LIB=/usr/lib/x86_64-linux-gnu/libmemtier.so.0   memkind's interposer
#   BENCH_TIER_PARENT=/dev/shm     where the FS_DAX directories are made
#   ONLY=REGEX                     only metrics whose name matches (pairs, python3, ...)
#   RUN_TIMEOUT=60                 seconds before one run is killed
#   RAW=FILE                       also keep the raw results in FILE
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 LIBMEMTIER_SO" >&2
    exit 2
fi
[ -f "$1" ] || { echo "$0: no such library: $1" >&2; exit 2; }
OURS=$(realpath "$1")
REF=${MEMTIER_REF_LIB:-/usr/lib/x86_64-linux-gnu/libmemtier.so.0}
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
TIER_PARENT=${BENCH_TIER_PARENT:-/dev/shm}
[ -d "$TIER_PARENT" ] && [ -w "$TIER_PARENT" ] || TIER_PARENT=
start_all=$(date +%s)

root=$(cd "$(dirname "$0")/../.." && pwd -P)
tests=$root/tests/memtier
WORK=$root/build/memtier-bench
[ -n "$TIER_PARENT" ] || TIER_PARENT=$WORK

unset LD_PRELOAD MEMKIND_MEM_TIERS MEMKIND_MEM_THRESHOLDS MEMKIND_MEM_TIERS_STATS \
    MEMKIND_MEM_TIERING_LOG_LEVEL PYTHONMALLOC
export LC_ALL=C
ulimit -c 0
exec </dev/null

rm -rf "$WORK"
mkdir -p "$WORK/tmp" || exit 1
export TMPDIR=$WORK/tmp
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

have_ref=yes
[ -f "$REF" ] || { have_ref=no; echo "note: $REF not found: the memkind column stays empty" >&2; }

# ---- inputs -------------------------------------------------------------------------
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || echo python3)
cc -std=c99 -O2 -Wall -Wextra -Werror -fno-builtin -o "$WORK/pairs" "$root/benches/memtier/pairs.c" || exit 1
g++ -std=c++17 -O2 -pthread -o "$WORK/threads" "$tests/threads.cpp" || exit 1
awk -v bytes=20971520 -f "$tests/gen_sort_input.awk" >"$WORK/sort.in" || exit 1
awk -v funcs=70 -f "$tests/gen_c_program.awk" >"$WORK/prog.c" || exit 1
{
    echo "CREATE TABLE params(rows INTEGER); INSERT INTO params VALUES(150000);"
    cat "$tests/rows.sql"
} >"$WORK/rows.sql"

# Metric list: NAME<TAB>UNIT<TAB>LABEL<TAB>STDIN<TAB>COMMAND (split on spaces).
# UNIT "ns": the program prints "pairs SIZE NS" lines (one metric per size);
# UNIT "s": wall time of the command.
METRICS=$WORK/metrics
{
    printf 'pairs\tns\tmalloc+free pair\t/dev/null\t%s\n' "$WORK/pairs"
    printf 'python3\ts\tpython3 objects.py 250000 (PYTHONMALLOC=malloc)\t/dev/null\tenv PYTHONMALLOC=malloc %s %s 250000\n' "$py" "$tests/objects.py"
    printf 'sort\ts\tsort 20 MB\t/dev/null\tsort %s\n' "$WORK/sort.in"
    printf 'sqlite3\ts\tsqlite3 150000 rows\t%s\tsqlite3 -batch :memory:\n' "$WORK/rows.sql"
    printf 'gcc\ts\tgcc -O2 -c (70 functions)\t/dev/null\tgcc -O2 -g0 -c %s -o %s\n' "$WORK/prog.c" "$WORK/prog.o"
    printf 'threads\ts\tthreads 200 2 basic\t/dev/null\t%s 200 2 basic\n' "$WORK/threads"
} | { if [ -n "$ONLY" ]; then awk -F'\t' -v re="$ONLY" '$1 ~ re'; else cat; fi; } >"$METRICS"
for p in python3 sort sqlite3 gcc; do
    if grep -q "^$p	" "$METRICS" && ! command -v "$p" >/dev/null 2>&1; then
        echo "note: $p not installed, its rows are skipped" >&2
        grep -v "^$p	" "$METRICS" >"$METRICS.new"
        mv "$METRICS.new" "$METRICS"
    fi
done

RAW_FILE=${RAW:-$WORK/raw}
: >"$RAW_FILE"

# lib_env LIB CONFIG: sets envs (LIB plain ignores CONFIG) and tierdir
lib_env() {
    local so tiers
    tierdir=
    case $1 in
    plain) envs=(); return ;;
    memkind) so=$REF ;;
    ours) so=$OURS ;;
    esac
    if [ "$2" = fs ]; then
        tierdir=$(mktemp -d "$TIER_PARENT/memtier-bench.XXXXXX")
        tiers="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$tierdir,RATIO:1;POLICY:STATIC_RATIO"
    else
        tiers="KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"
    fi
    envs=(LD_PRELOAD="$so" MEMKIND_MEM_TIERS="$tiers")
}

# run_one LIB CONFIG NAME UNIT STDIN COMMAND: appends "LIB<TAB>CONFIG<TAB>METRIC<TAB>VALUE
# <TAB>ROUND" to RAW_FILE, VALUE a number or "!crash SIG", "!wrong", "!exit N", "!timeout".
run_one() {
    local lib=$1 cfg=$2 name=$3 unit=$4 stdin=$5 cmd=$6 t0 t1 rc status o=$WORK/out e=$WORK/err
    if [ "$lib" = memkind ] && [ "$have_ref" = no ]; then return; fi
    lib_env "$lib" "$cfg"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086  # COMMAND is split on spaces on purpose
    # the subshell's own stderr (bash's "Segmentation fault" report) is dropped
    (
        timeout -k 5 "$RUN_TIMEOUT" env "${envs[@]}" $cmd <"$stdin" >"$o" 2>"$e"
        status=$?
        exit "$status"
    ) 2>/dev/null
    rc=$?
    t1=$(date +%s%N)
    [ -n "$tierdir" ] && rm -rf "$tierdir"
    status=
    if [ $rc -eq 124 ]; then
        status="!timeout"
    elif [ $rc -gt 128 ]; then
        status="!crash SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    elif [ $rc -ne 0 ]; then
        status="!exit $rc"
    elif [ "$unit" = s ]; then
        if [ "$lib" = plain ]; then
            cksum <"$o" >"$WORK/expect.$name"
        elif [ "$(cksum <"$o")" != "$(cat "$WORK/expect.$name" 2>/dev/null)" ]; then
            status="!wrong"
        fi
    fi
    if [ "$unit" = ns ]; then
        if [ -n "$status" ]; then
            printf '%s\t%s\t%s.%s\t%s\t%s\n' "$lib" "$cfg" "$name" 64 "$status" "$r" "$lib" "$cfg" "$name" 4096 "$status" "$r"
        else
            awk -v lib="$lib" -v cfg="$cfg" -v name="$name" -v r="$r" '$1 == "pairs" { print lib "\t" cfg "\t" name "." $2 "\t" $3 "\t" r }' "$o"
        fi
    else
        printf '%s\t%s\t%s\t%s\t%s\n' "$lib" "$cfg" "$name" "${status:-$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')}" "$r"
    fi >>"$RAW_FILE"
    if [ -n "$status" ] && [ "$lib" = ours ]; then
        echo "  warning: ours [$cfg] $name -> $status: $(head -c 200 "$e" | tr '\n' ' ')" >&2
    fi
}

# ---- header -------------------------------------------------------------------------
fsdesc() { df -PT "$1" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }'; }
echo "libmemtier benchmark: plain (glibc malloc) vs memkind's libmemtier vs ours"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:     $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus online"
echo "kernel:  $(uname -srm); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "memkind: $REF$([ "$have_ref" = yes ] && echo " -> $(realpath "$REF")")"
echo "ours:    $OURS"
echo "FS_DAX:  fresh directory under $TIER_PARENT ($(fsdesc "$TIER_PARENT")) for every run"
echo "rounds:  $ROUNDS x $(wc -l <"$METRICS") metrics x 2 configurations x plain, memkind, ours"
echo

# ---- runs ---------------------------------------------------------------------------
start=$(date +%s)
libs=(plain memkind ours)
for ((r = 1; r <= ROUNDS; r++)); do
    # A B C, then B C A, then C A B, ...: no library always runs right after another
    order=("${libs[@]:$(((r - 1) % 3))}" "${libs[@]:0:$(((r - 1) % 3))}")
    while IFS=$'\t' read -r name unit label stdin cmd; do
        for cfg in dram fs; do
            for lib in "${order[@]}"; do
                run_one "$lib" "$cfg" "$name" "$unit" "$stdin" "$cmd"
            done
        done
    done <"$METRICS"
    echo "  round $r/$ROUNDS done ($(($(date +%s) - start)) s)" >&2
done

# ---- table --------------------------------------------------------------------------
# rows: KEY<TAB>LABEL<TAB>UNIT<TAB>KIND (pairs: no overhead target; program: <= 10%
# over plain with dram)
SPEC=$WORK/spec
while IFS=$'\t' read -r name unit label stdin cmd; do
    for cfg in dram fs; do
        if [ "$unit" = ns ]; then
            printf '%s\t%s.64\t%s 64 B\tns\tpairs\n' "$cfg" "$name" "$label"
            printf '%s\t%s.4096\t%s 4 KiB\tns\tpairs\n' "$cfg" "$name" "$label"
        else
            printf '%s\t%s\t%s\ts\tprogram\n' "$cfg" "$name" "$label"
        fi
    done
done <"$METRICS" >"$SPEC"

echo
echo "Cells: median [min-max] over $ROUNDS rounds; ns = ns per malloc+free pair, s = wall"
echo "seconds of the whole program. Ratios are SPEED ratios, >1 means ours is faster:"
echo "ours/plain = plain time / ours time, ours/memkind = memkind time / ours time: for the"
echo "pairs the median over the rounds of that round's ratio (its runs are back to back), for"
echo "the programs the ratio of the best times (one program's runs spread up to 2.5x here:"
echo "forks, thread start-up; the best run is the one the machine did not slow down)."
echo "Targets: ours/plain >= 0.91 (ours adds <= 10% to plain) on the programs with dram;"
echo "ours/memkind >= 1.00 on the pairs, >= 0.95 on the programs, whose time is mostly their"
echo "own work (met when memkind crashed or was wrong and ours was not)."
echo "crashed N/M: died from a signal in N of M rounds; wrong: stdout differs from plain."
echo
awk -F'\t' '
function fmt(v, unit) {
    if (unit == "s") return sprintf("%.3f", v)
    if (v >= 100) return sprintf("%.0f", v)
    if (v >= 10) return sprintf("%.1f", v)
    return sprintf("%.2f", v)
}
function isort(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
}
function stats(k,    n, i, a) {
    n = cnt[k]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = val[k, i]
    isort(a, n)
    lo[k] = a[1]; hi[k] = a[n]
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# Median over the rounds of time(a) / time(b) within each round (the libraries of one
# round run back to back), so a slow spell of the machine weighs on both sides.
function paired(a, b,    n, r, q) {
    n = 0
    for (r in seen)
        if (((a, r) in at) && ((b, r) in at) && at[b, r] > 0) q[++n] = at[a, r] / at[b, r]
    if (n == 0) return ""
    isort(q, n)
    return (n % 2) ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
}
# Ratio of the best (lowest) times of a and b over the rounds.
function best(a, b) {
    return (lo[a] != "" && lo[b] > 0) ? lo[a] / lo[b] : ""
}
function cell(k, unit,    s, m) {
    m = med[k]; s = ""
    if (m != "") s = fmt(m, unit) (cnt[k] > 1 ? " [" fmt(lo[k], unit) "-" fmt(hi[k], unit) "]" : "")
    if (bad[k] != "") s = (s == "" ? "" : s " ") bad[k] " " badn[k] "/" (badn[k] + cnt[k])
    return s == "" ? "-" : s
}
FILENAME == ARGV[1] {
    k = $1 SUBSEP $2 SUBSEP $3
    if ($4 ~ /^!/) {
        v = substr($4, 2); sub(/ .*/, "", v)
        if (v == "crash") v = "crashed"; else if (v == "exit") v = "failed"
        bad[k] = v; badn[k]++; next
    }
    cnt[k]++; val[k, cnt[k]] = $4 + 0; at[k, $5] = $4 + 0; seen[$5] = 1; next
}
{
    n++; cfg[n] = $1; key[n] = $2; label[n] = $3; unit[n] = $4; kind[n] = $5
    for (l = 1; l <= 3; l++) {
        lib = (l == 1 ? "plain" : l == 2 ? "memkind" : "ours")
        k = lib SUBSEP $1 SUBSEP $2
        med[k] = stats(k)
    }
}
END {
    h[1] = "metric"; h[2] = "config"; h[3] = "plain"; h[4] = "memkind"; h[5] = "ours"
    h[6] = "ours/plain"; h[7] = "ours/memkind"; h[8] = "target"; h[9] = "met"
    for (c = 1; c <= 9; c++) { w[c] = length(h[c]); cv[0, c] = h[c] }
    met = 0; missed = 0
    for (r = 1; r <= n; r++) {
        kp = "plain" SUBSEP cfg[r] SUBSEP key[r]
        km = "memkind" SUBSEP cfg[r] SUBSEP key[r]
        ko = "ours" SUBSEP cfg[r] SUBSEP key[r]
        u = unit[r]
        cv[r, 1] = label[r] " (" u ")"; cv[r, 2] = cfg[r]
        cv[r, 3] = cell(kp, u); cv[r, 4] = cell(km, u); cv[r, 5] = cell(ko, u)
        if (kind[r] == "program") { rp = best(kp, ko); rm = best(km, ko) }
        else { rp = paired(kp, ko); rm = paired(km, ko) }
        cv[r, 6] = (rp == "" ? "n/a" : sprintf("%.2fx", rp))
        cv[r, 7] = (rm == "" ? "n/a" : sprintf("%.2fx", rm))
        ours_ok = (bad[ko] == "" && med[ko] != "")
        floor = (kind[r] == "program") ? 0.95 : 1.00
        t = sprintf(">=%.2f vs memkind", floor); ok = 1; why = ""
        if (!ours_ok) { ok = 0; why = " (ours " (bad[ko] == "" ? "missing" : bad[ko]) ")" }
        else if (bad[km] != "") why = " (memkind " bad[km] ")"
        else if (rm == "") why = " (no memkind)"
        else if (rm < floor) ok = 0
        if (kind[r] == "program" && cfg[r] == "dram") {
            t = ">=0.91 vs plain, " t
            if (rp == "" || rp < 0.91) ok = 0
        }
        cv[r, 8] = t
        cv[r, 9] = (ok ? "yes" : "NO") why
        if (ok) met++; else missed++
        for (c = 1; c <= 9; c++) if (length(cv[r, c]) > w[c]) w[c] = length(cv[r, c])
    }
    for (r = 0; r <= n; r++) {
        line = ""
        for (c = 1; c <= 9; c++) {
            f = (c <= 2 || c >= 8) ? "%-*s" : "%*s"
            line = line sprintf(f, w[c], cv[r, c]) (c < 9 ? " | " : "")
        }
        sub(/ +$/, "", line); print line
        if (r == 0) {
            line = ""
            for (c = 1; c <= 9; c++) { s = sprintf("%*s", w[c], ""); gsub(/ /, "-", s); line = line s (c < 9 ? "-|-" : "") }
            print line
        }
    }
    printf "\ntargets: %d met, %d missed\n", met, missed
}' "$RAW_FILE" "$SPEC"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total run time: $(($(date +%s) - start_all)) s"
