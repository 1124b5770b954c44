#!/usr/bin/env bash
# Compare two builds of benches/memkind/bench.c: one linked against the reference
# memkind, one against ours.  Every metric group runs in its own process, the two
# binaries alternate (A B, B A, ...) for ROUNDS rounds, and one table is printed with
# medians, the min-max spread over rounds, the speed ratio and the targets.
#
# usage: run.sh REF_BINARY OURS_BINARY
# environment:
#   ROUNDS=5          rounds (each round runs every group once per binary)
#   SHM_DIR=/dev/shm  parent directory for the tmpfs-backed kinds
#   DISK_DIR=/var/tmp parent directory for the disk-backed kinds (must not be tmpfs)
#   FS="shm disk"     which of the two file systems to use
#   ONLY=REGEX        run only groups whose command line matches REGEX
#   RAW=FILE          also keep the raw per-round results in FILE
#   GROUP_TIMEOUT=120 seconds before a group is killed
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 REF_BINARY OURS_BINARY" >&2
    exit 2
fi
REF_BIN=$1
OURS_BIN=$2
ROUNDS=${ROUNDS:-5}
start_all=$(date +%s)
SHM_DIR=${SHM_DIR:-/dev/shm}
DISK_DIR=${DISK_DIR:-/var/tmp}
FS=${FS:-shm disk}
ONLY=${ONLY:-}
GROUP_TIMEOUT=${GROUP_TIMEOUT:-120}

for b in "$REF_BIN" "$OURS_BIN"; do
    [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
done

# The binaries find their library through their own link (system path or rpath).
unset LD_LIBRARY_PATH LD_PRELOAD MEMKIND_HEAP_MANAGER
ulimit -c 0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memkind-bench.XXXXXX")
KDIRS=()
cleanup() {
    local d
    for d in "${KDIRS[@]}"; do rm -rf "$d"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fstype() { df -PT "$1" 2>/dev/null | awk 'NR == 2 { print $2 }'; }
fsdesc() { df -PTh "$1" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 ", mounted at " $7 ", " $5 " free" }'; }

declare -A DIRS
for fs in $FS; do
    case $fs in
    shm)
        d=$(mktemp -d "$SHM_DIR/memkind-bench.XXXXXX") || exit 1
        ;;
    disk)
        d=$(mktemp -d "$DISK_DIR/memkind-bench.XXXXXX") || exit 1
        if [ "$(fstype "$d")" = tmpfs ]; then
            echo "$0: $DISK_DIR is tmpfs; set DISK_DIR to a disk-backed directory" >&2
            rmdir "$d"
            exit 2
        fi
        ;;
    *)
        echo "$0: unknown file system label $fs (use shm, disk)" >&2
        exit 2
        ;;
    esac
    KDIRS+=("$d")
    DIRS[$fs]=$d
done

# Group list: "LABEL<TAB>ARGS[<TAB>MAXROUNDS]"; LABEL prefixes every metric of the group
# and tells where its kinds live ("mem" for MEMKIND_DEFAULT and glibc, which use no
# directory); MAXROUNDS limits the slow groups to their first rounds.
GROUPS_FILE=$WORK/groups
# The large-heap groups run on the disk (file pages there are not DRAM), the quick
# churn groups on tmpfs; each falls back to the other when only one is given.
disk_fs=shm; shm_fs=disk
for fs in $FS; do
    [ "$fs" = disk ] && disk_fs=disk
    [ "$fs" = shm ] && shm_fs=shm
done
{
    # glibc's rows are for scale only (the one a target uses, ours measures alongside):
    # two rounds
    for h in default glibc; do
        [ $h = glibc ] && n=2 || n=
        printf 'mem\ttight %s\t%s\n' "$h" "$n"
        printf 'mem\tbatch %s lifo\t%s\n' "$h" "$n"
        printf 'mem\tbatch %s fifo\t%s\n' "$h" "$n"
        printf 'mem\trealloc %s\t%s\n' "$h" "$n"
    done
    for fs in $FS; do
        d=${DIRS[$fs]}
        printf '%s\ttight file0 %s\n' "$fs" "$d"
        printf '%s\ttight file1g %s\n' "$fs" "$d"
        printf '%s\tbatch file0 lifo %s\n' "$fs" "$d"
        printf '%s\tbatch file0 fifo %s\n' "$fs" "$d"
        printf '%s\tfree %s\n' "$fs" "$d"
        printf '%s\trealloc file0 %s\n' "$fs" "$d"
        printf '%s\tthreads 1 %s\n' "$fs" "$d"
        printf '%s\tthreads shared %s\n' "$fs" "$d"
        printf '%s\tthreads split %s\n' "$fs" "$d"
        printf '%s\tfill 64 %s\n' "$fs" "$d"
        printf '%s\tfill 4096 %s\n' "$fs" "$d"
        printf '%s\tfill 1048576 %s\n' "$fs" "$d"
        printf '%s\tcreate %s\n' "$fs" "$d"
    done
    # DRAM per heap byte is the same every round (the page counts of a fixed fill): one
    printf '%s\trss 64 %s\t1\n' "$disk_fs" "${DIRS[$disk_fs]}"
    printf '%s\trss 1048576 %s\t1\n' "$disk_fs" "${DIRS[$disk_fs]}"
    printf '%s\tbigfill %s\t2\n' "$disk_fs" "${DIRS[$disk_fs]}"
    printf '%s\tthreads many %s\n' "$shm_fs" "${DIRS[$shm_fs]}"
    printf '%s\tthreadstart %s\t3\n' "$shm_fs" "${DIRS[$shm_fs]}"
    printf '%s\tfullfail %s\n' "$shm_fs" "${DIRS[$shm_fs]}"
    # 10 000 cycles take memkind 16 s (its address space grows to 160 GB): one round.
    printf '%s\tvmcycles %s\t1\n' "$shm_fs" "${DIRS[$shm_fs]}"
} | { if [ -n "$ONLY" ]; then grep -E -- "$ONLY"; else cat; fi; } >"$GROUPS_FILE"

RAW_FILE=${RAW:-$WORK/raw}
: >"$RAW_FILE"

# run_group LIB BINARY LABEL ARGS...: append "LIB<TAB>LABEL:METRIC<TAB>VALUE[<TAB>ROUND]"
# lines to RAW_FILE; VALUE is a number or "!crash SIG", "!fail TEXT", "!timeout", "!exit N".
run_group() {
    local lib=$1 bin=$2 label=$3
    shift 3
    local o=$WORK/out e=$WORK/err rc status along=()
    # ours also measures, back to back with its own, what its targets compare it with
    [ "$lib" = ours ] && along=(BENCH_ALONGSIDE=1)
    (timeout -k 5 "$GROUP_TIMEOUT" env "${along[@]}" "$bin" "$@" >"$o" 2>"$e") 2>/dev/null
    rc=$?
    status=
    if [ $rc -eq 124 ]; then
        status="!timeout"
    elif [ $rc -gt 128 ]; then
        status="!crash SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    elif [ $rc -ne 0 ]; then
        status="!exit $rc: $(head -c 200 "$e" | tr '\n\t' '  ')"
    fi
    # died before naming its metrics: ask for the list (this binary, else the other one)
    if [ -n "$status" ] && ! grep -q '^expect' "$o"; then
        local b
        for b in "$bin" "$REF_BIN" "$OURS_BIN"; do
            (BENCH_LIST_ONLY=1 timeout 10 "$b" "$@" >"$o" 2>/dev/null) 2>/dev/null && break
        done
    fi
    awk -F'\t' -v lib="$lib" -v label="$label" -v status="$status" -v r="$r" '
        $1 == "expect" { order[++n] = $2; seen[$2] = 0 }
        $1 == "value"  { print lib "\t" label ":" $2 "\t" $3 "\t" r; seen[$2] = 1 }
        $1 == "fail"   { print lib "\t" label ":" $2 "\t!fail " $3; seen[$2] = 1 }
        $1 == "info"   { print lib "\t" label ":" $2 "\t#" $3 }
        END {
            for (i = 1; i <= n; i++)
                if (!seen[order[i]])
                    print lib "\t" label ":" order[i] "\t" (status == "" ? "!missing" : status)
        }' "$o" >>"$RAW_FILE"
    if [ -n "$status" ] && [ "$lib" = ours ]; then
        echo "  warning: ours [$*] -> $status" >&2
    fi
}

# ---- header -------------------------------------------------------------------------
echo "memkind benchmark: reference memkind vs ours"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:     $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus online"
echo "kernel:  $(uname -srm); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for fs in $FS; do
    echo "fs $fs: ${DIRS[$fs]} ($(fsdesc "${DIRS[$fs]}"))"
done
for lib in ref ours; do
    [ $lib = ref ] && bin=$REF_BIN || bin=$OURS_BIN
    echo "$lib:$(printf '%*s' $((5 - ${#lib})) '') $bin -> $("$bin" info 2>/dev/null | awk -F'\t' '$2 == "library" { print $3 }')"
done
ngroups=$(wc -l <"$GROUPS_FILE")
echo "rounds:  $ROUNDS x $ngroups groups x 2 libraries, each group in its own process"
echo

# ---- runs ---------------------------------------------------------------------------
start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
    while IFS=$'\t' read -r label args maxr; do
        [ -n "$maxr" ] && [ "$r" -gt "$maxr" ] && continue
        # shellcheck disable=SC2086
        if ((r % 2)); then
            run_group ref "$REF_BIN" "$label" $args
            run_group ours "$OURS_BIN" "$label" $args
        else
            run_group ours "$OURS_BIN" "$label" $args
            run_group ref "$REF_BIN" "$label" $args
        fi
    done <"$GROUPS_FILE"
    echo "  round $r/$ROUNDS done ($(($(date +%s) - start)) s)" >&2
done

# ---- table --------------------------------------------------------------------------
# Row spec: KEY<TAB>LABEL<TAB>UNIT<TAB>TARGET
#   UNIT:   ns (lower is better), ops (ops/s), count, pct (higher is better),
#           lpct (percent, lower is better)
#   TARGET: ratio:X            ours/ref speed >= X
#           ratio:X,within:K:Y ... and ours(KEY) <= Y * ours(K)       (ns)
#           within:K:Y         ours(KEY) <= Y * ours(K)                 (ns)
#           scale:K:Y          ours(KEY) >= Y * ours(K)                 (ops)
#           min:X              ours >= X
#           max:X              ours <= X
#           none               shown for scale only
SPEC=$WORK/spec
SIZES="16 64 256 1K 4K 64K 1M"
small() { case $1 in 16 | 64 | 256 | 1K | 4K) return 0 ;; esac; return 1; }
hsize() { case $1 in 16 | 64 | 256) echo "$1 B" ;; *K) echo "${1%K} KiB" ;; *M) echo "${1%M} MiB" ;; esac; }
{
    for fs in $FS; do
        for k in file0 file1g; do
            [ $k = file0 ] && kn="file max 0" || kn="file max 1G"
            for s in $SIZES; do
                if small "$s"; then t="ratio:8,within:$fs:tight.$k.default.$s:1.2"; else t="ratio:0.95"; fi
                printf '%s:tight.%s.%s\ttight %s %s [%s]\tns\t%s\n' "$fs" $k "$s" "$kn" "$(hsize "$s")" "$fs" "$t"
            done
        done
    done
    for s in $SIZES; do
        if small "$s"; then t="ratio:1"; else t="ratio:0.95"; fi
        # the issue's bar for the one size every allocator is judged on
        [ "$s" = 64 ] && t="ratio:1,within:mem:tight.default.glibc.64:1.3"
        printf 'mem:tight.default.%s\ttight DEFAULT %s\tns\t%s\n' "$s" "$(hsize "$s")" "$t"
    done
    for s in $SIZES; do
        printf 'mem:tight.glibc.%s\ttight glibc malloc %s\tns\tnone\n' "$s" "$(hsize "$s")"
    done
    for o in lifo fifo; do
        for fs in $FS; do
            for s in $SIZES; do
                case $s in
                4K) t="ratio:2" ;;
                16 | 64 | 256 | 1K) t="ratio:2.5" ;;
                *) t="ratio:5" ;;
                esac
                printf '%s:batch.%s.file0.%s\tbatch %s file max 0 %s [%s]\tns\t%s\n' "$fs" $o "$s" $o "$(hsize "$s")" "$fs" "$t"
            done
        done
        for s in $SIZES; do
            if small "$s"; then t="ratio:1"; else t="ratio:0.95"; fi
            printf 'mem:batch.%s.default.%s\tbatch %s DEFAULT %s\tns\t%s\n' $o "$s" $o "$(hsize "$s")" "$t"
        done
        for s in $SIZES; do
            printf 'mem:batch.%s.glibc.%s\tbatch %s glibc %s\tns\tnone\n' $o "$s" $o "$(hsize "$s")"
        done
    done
    for fs in $FS; do
        printf '%s:free.kind.64\tmemkind_free(kind,p) 64 B [%s]\tns\tratio:0.95\n' "$fs" "$fs"
        printf '%s:free.null.64\tmemkind_free(NULL,p) 64 B [%s]\tns\twithin:%s:free.kind.64:1.1\n' "$fs" "$fs" "$fs"
        printf '%s:detect_kind.64\tmemkind_detect_kind 64 B [%s]\tns\tratio:2\n' "$fs" "$fs"
    done
    for fs in $FS; do
        printf '%s:realloc.file0\trealloc 16 B->1 MiB x1.5, file [%s]\tns\tratio:0.95\n' "$fs" "$fs"
    done
    printf 'mem:realloc.default\trealloc 16 B->1 MiB x1.5, DEFAULT\tns\tratio:0.95\n'
    printf 'mem:realloc.glibc\trealloc 16 B->1 MiB x1.5, glibc\tns\tnone\n'
    for fs in $FS; do
        for s in 64 4K; do
            printf '%s:threads.1.%s\t1 thread pairs %s [%s]\tops\tratio:0.95\n' "$fs" $s "$(hsize $s)" "$fs"
            printf '%s:threads.shared.%s\t2 threads, one kind, %s [%s]\tops\tscale:%s:threads.shared.one.%s:1.8\n' "$fs" $s "$(hsize $s)" "$fs" "$fs" $s
            printf '%s:threads.split.%s\t2 threads, kind each, %s [%s]\tops\tratio:0.95\n' "$fs" $s "$(hsize $s)" "$fs"
        done
    done
    for fs in $FS; do
        for s in 64 4K 1M; do
            if [ $s = 1M ]; then t=min:30; else t=ratio:0.95; fi
            printf '%s:fill.%s\tfill 32 MiB kind, %s blocks [%s]\tcount\t%s\n' "$fs" $s "$(hsize $s)" "$fs" $t
            printf '%s:refill.%s\trefill after free all, %s (%% of fill) [%s]\tpct\tmin:95\n' "$fs" $s "$(hsize $s)" "$fs"
        done
    done
    for fs in $FS; do
        printf '%s:create.empty\tcreate+destroy [%s]\tops\tratio:2\n' "$fs" "$fs"
        printf '%s:create.alloc64\tcreate+malloc 64 B+destroy [%s]\tops\tratio:2\n' "$fs" "$fs"
    done
    f=$disk_fs
    printf '%s:rss.64\tDRAM (RssAnon) per heap byte, 256 MiB in 64 B [%s]\tlpct\tratio:1\n' $f $f
    printf '%s:rss.1M\tDRAM (RssAnon) per heap byte, 256 MiB in 1 MiB [%s]\tlpct\tmax:0.1\n' $f $f
    printf '%s:bigfill.1M\tfill 2 GiB in 1 MiB blocks, per block [%s]\tns\tratio:1\n' $f $f
    printf '%s:bigdestroy\tdestroy the kind holding 2 GiB [%s]\tns\tratio:5\n' $f $f
    f=$shm_fs
    for s in 64 4K; do
        printf '%s:threads.64.%s\t64 threads, one kind, %s, total [%s]\tops\tscale:%s:threads.64.two.%s:0.9\n' $f $s "$(hsize $s)" $f $f $s
    done
    printf '%s:start.1000\t1000 threads at once, DEFAULT+file, per thread [%s]\tns\tratio:0.67\n' $f $f
    printf '%s:start.50\t1000 threads 50 at a time, per thread [%s]\tns\tratio:0.67\n' $f $f
    printf '%s:fullfail.64\tfailed malloc 64 B, full 64 MiB kind [%s]\tns\tratio:0.5\n' $f $f
    printf '%s:fullfail.1M\tfailed malloc 1 MiB, full 64 MiB kind [%s]\tns\tratio:0.5\n' $f $f
    printf '%s:vmcycles\tVmSize growth, 10 to 10000 create/destroy [%s]\tlpct\tmax:1\n' $f $f
} >"$SPEC"

echo
echo "Cells: median [min-max] over $ROUNDS rounds (each round: best of 3 timed runs of ~50 ms"
echo "after warm-up, in a fresh process). ns = ns per operation (pair, free, call,"
echo "or whole realloc sequence); ops/s = cycles or pairs per second (threads: aggregate);"
echo "ratio = ours/memkind speed (>1 = ours faster), and the (x) of a target against another"
echo "row of ours: the median over the rounds of that round's own ratio (its runs are back"
echo "to back). crash N/M = crashed in N of M rounds."
echo
awk -F'\t' -v rounds="$ROUNDS" '
function fmtnum(v, unit) {
    if (unit == "ops") {
        if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
        if (v >= 1e3) return sprintf("%.1fk", v / 1e3)
        return sprintf("%.0f", v)
    }
    if (unit == "count") return sprintf("%d", v)
    if (unit == "pct") return sprintf("%.1f%%", v)
    if (unit == "lpct") return sprintf("%.3g%%", v)
    if (v >= 100) return sprintf("%.0f", v)
    if (v >= 10) return sprintf("%.1f", v)
    return sprintf("%.2f", v)
}
# sorts vals[1..n] numerically in place (insertion sort; n is small)
function isort(vals, n,    i, j, t) {
    for (i = 2; i <= n; i++) {
        t = vals[i]
        for (j = i - 1; j >= 1 && vals[j] > t; j--) vals[j + 1] = vals[j]
        vals[j + 1] = t
    }
}
function median(lib, key,    n, i, vals, s) {
    n = cnt[lib, key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) vals[i] = val[lib, key, i]
    isort(vals, n)
    s = (n % 2) ? vals[(n + 1) / 2] : (vals[n / 2] + vals[n / 2 + 1]) / 2
    lo[lib, key] = vals[1]
    hi[lib, key] = vals[n]
    return s
}
function cell(lib, key, unit,    m, c, s) {
    m = med[lib, key]
    s = ""
    if (m != "") {
        s = fmtnum(m, unit)
        if (cnt[lib, key] > 1 && unit != "count" && unit != "pct" || lo[lib, key] != hi[lib, key])
            s = s " [" fmtnum(lo[lib, key], unit) "-" fmtnum(hi[lib, key], unit) "]"
    }
    if (bad[lib, key] != "") {
        c = badn[lib, key] "/" (badn[lib, key] + cnt[lib, key])
        s = (s == "" ? "" : s " ") bad[lib, key] " " c
    }
    if (s == "") s = "-"
    return s
}
# Median over the rounds of x(la, ka) / x(lb, kb) within each round (both ran in that
# round, back to back for one group), so a slow spell of the machine weighs on both.
function paired(la, ka, lb, kb,    n, r, q) {
    n = 0
    for (r in seen)
        if (((la, ka, r) in at) && ((lb, kb, r) in at) && at[lb, kb, r] != 0)
            q[++n] = at[la, ka, r] / at[lb, kb, r]
    if (n == 0) return ""
    isort(q, n)
    return (n % 2) ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
}
function ratio(key, unit,    a, b) {
    a = med["ref", key]; b = med["ours", key]
    if (a == "" || b == "") return ""
    # a lower-is-better figure of 0 (nothing grew) is as good as it gets
    if (unit == "lpct" && b == 0) return a == 0 ? 1 : 1e9
    if (a == 0 || b == 0) return ""
    return unit == "ns" || unit == "lpct" ? paired("ref", key, "ours", key) : paired("ours", key, "ref", key)
}
FILENAME == ARGV[1] {
    # raw results: lib, key, value
    if ($3 ~ /^#/) { if (!(($1, $2) in note)) note[$1, $2] = substr($3, 2); next }
    if ($3 ~ /^!/) {
        v = substr($3, 2)
        sub(/:.*/, "", v)
        bad[$1, $2] = v; badn[$1, $2]++
        next
    }
    cnt[$1, $2]++
    val[$1, $2, cnt[$1, $2]] = $3 + 0
    at[$1, $2, $4] = $3 + 0; seen[$4] = 1
    next
}
{
    nrows++
    key[nrows] = $1; label[nrows] = $2; unit[nrows] = $3; target[nrows] = $4
    med["ref", $1] = median("ref", $1)
    med["ours", $1] = median("ours", $1)
}
END {
    for (k in cnt) { split(k, p, SUBSEP); if (!((p[1], p[2]) in med)) med[p[1], p[2]] = median(p[1], p[2]) }
    hdr[1] = "metric"; hdr[2] = "unit"; hdr[3] = "memkind"; hdr[4] = "ours"; hdr[5] = "ratio"
    hdr[6] = "target"; hdr[7] = "met"
    for (c = 1; c <= 7; c++) { w[c] = length(hdr[c]); cellv[0, c] = hdr[c] }
    nmet = 0; nmiss = 0; nna = 0
    for (r = 1; r <= nrows; r++) {
        k = key[r]; u = unit[r]
        rt = ratio(k, u)
        ours = med["ours", k]
        cellv[r, 1] = label[r]
        cellv[r, 2] = (u == "ops" ? "ops/s" : u == "pct" || u == "lpct" ? "%" : u)
        cellv[r, 3] = cell("ref", k, u)
        cellv[r, 4] = cell("ours", k, u)
        cellv[r, 5] = (rt == "" ? "n/a" : rt >= 1e8 ? "inf" : sprintf("%.2fx", rt))
        # targets
        n = split(target[r], conds, ",")
        ttext = ""; ok = 1; known = 1; detail = ""
        for (i = 1; i <= n; i++) {
            split(conds[i], t, ":")
            kind = t[1]
            if (kind == "none") { ttext = "(scale)"; known = -1; continue }
            if (kind == "ratio") {
                ttext = ttext (ttext == "" ? "" : " & ") ">=" t[2] "x"
                if (rt == "") known = 0
                else if (rt < t[2] + 0) ok = 0
            } else if (kind == "min") {
                ttext = ttext (ttext == "" ? "" : " & ") ">=" t[2] (u == "pct" ? "%" : "")
                if (ours == "") known = 0
                else if (ours < t[2] + 0) ok = 0
            } else if (kind == "max") {
                ttext = ttext (ttext == "" ? "" : " & ") "<=" t[2] (u == "pct" || u == "lpct" ? "%" : "")
                if (ours == "") known = 0
                else if (ours > t[2] + 0) ok = 0
            } else if (kind == "within" || kind == "scale") {
                other = t[2] ":" t[3]; f = t[4] + 0
                ref = med["ours", other]
                pq = paired("ours", k, "ours", other)
                sub(/^[a-z]+:/, "", other)
                if (kind == "within") {
                    ttext = ttext (ttext == "" ? "" : " & ") "<=" f "x ours " other
                    if (ours == "" || ref == "") known = 0
                    else { q = pq; detail = detail sprintf(" (%.2fx)", q); if (q > f) ok = 0 }
                } else {
                    ttext = ttext (ttext == "" ? "" : " & ") ">=" f "x ours " other
                    if (ours == "" || ref == "") known = 0
                    else { q = pq; detail = detail sprintf(" (%.2fx)", q); if (q < f) ok = 0 }
                }
            }
        }
        cellv[r, 6] = ttext
        if (known == -1) m = ""
        else if (!ok) { m = "NO" detail; nmiss++ }
        else if (!known) { m = "n/a" detail; nna++ }
        else { m = "yes" detail; nmet++ }
        cellv[r, 7] = m
        for (c = 1; c <= 7; c++) if (length(cellv[r, c]) > w[c]) w[c] = length(cellv[r, c])
    }
    for (r = 0; r <= nrows; r++) {
        line = ""
        for (c = 1; c <= 7; c++) {
            if (c <= 2 || c >= 6) line = line sprintf("%-*s", w[c], cellv[r, c])
            else line = line sprintf("%*s", w[c], cellv[r, c])
            if (c < 7) line = line " | "
        }
        sub(/ +$/, "", line)
        print line
        if (r == 0) {
            line = ""
            for (c = 1; c <= 7; c++) { s = sprintf("%*s", w[c], ""); gsub(/ /, "-", s); line = line s (c < 7 ? "-|-" : "") }
            print line
        }
    }
    printf "\ntargets: %d met, %d missed, %d not decidable (n/a)\n", nmet, nmiss, nna
    nn = 0
    for (k in note) {
        split(k, p, SUBSEP)
        if (note[k] ~ /do not fit/) { if (!nn++) print "notes:"; print "  " p[1] " " p[2] ": " note[k] }
    }
}' "$RAW_FILE" "$SPEC"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total run time: $(($(date +%s) - start_all)) s"
