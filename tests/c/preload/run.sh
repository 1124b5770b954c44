#!/usr/bin/env bash
# tests/c/preload/run.sh LIBMEMTIER: the programs of this directory under the interposer,
# with tests/harness/runner.sh (one line per test, T=glob selects by name):
#   family (CONFIG)   the malloc-family contract once per configuration (none, DRAM only,
#                     DRAM + file tier with either policy, file tier only); the stats
#                     summary shows the tiers used
#   exported symbols  exactly the malloc family, and libmemkind.so.0 is a dependency
#   mixed [(file tier)]  a libmemkind program: blocks cross both ways
#   lowfd, overflow   descriptors stay out of the program's way; a full file tier hands
#                     requests to DRAM
#   any other NAME.c  run as NAME under DRAM + a file tier (STATIC_RATIO) whose directory
#                     is argv[1]
# A file tier's directory must be empty afterwards.
set -u
lib=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../harness/runner.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc=${CC:-cc}
harness_begin preload

build() { # build NAME FLAGS...: $work/NAME from $here/NAME.c
    local name=$1
    shift
    "$cc" -std=c11 -O1 -Wall -Wextra -Werror -o "$work/$name" "$here/$name.c" "$@" >"$work/$name.build" 2>&1 && return 0
    fail "build $name.c"
    sed 's/^/    /' "$work/$name.build" | head -20
    return 1
}

# preloaded DIR VAR=VALUE... PROGRAM ARGS...: PROGRAM under the interposer with those
# variables (its stderr also in $work/err); fails when DIR (unless "") is not empty after.
preloaded() {
    local dir=$1 rc
    shift
    timeout 120 env LD_PRELOAD="$lib" "$@" 2>"$work/err"
    rc=$?
    cat "$work/err"
    [ "$rc" -eq 0 ] || return "$rc"
    if [ -n "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        echo "left in the tier directory: $(ls -A "$dir" | tr '\n' ' ')"
        return 1
    fi
}

# stats_show PATTERN: the stats summary on stderr has a line matching PATTERN.
stats_show() {
    grep -q "$1" "$work/err" && return 0
    echo "no stats line matching \"$1\""
    return 1
}

# family TIERS [DIR]: family.c with MEMKIND_MEM_TIERS=TIERS (and THRESHOLDS) and the stats.
family() {
    local tiers=$1 dir=${2:-}
    preloaded "$dir" MEMKIND_MEM_TIERS="$tiers" MEMKIND_MEM_TIERS_STATS=1 \
        MEMKIND_MEM_THRESHOLDS="${THRESHOLDS:-}" FAMILY_TIER_DIR="$dir" "$work/family" || return
    [ -z "$tiers" ] || stats_show "^memtier: tier 0 [A-Z_]* allocs=[1-9]" || return
    [ -z "$dir" ] || stats_show "^memtier: tier [0-9] FS_DAX allocs=[1-9]"
}

mkdir -p "$work/tier"
if build family -pthread; then
    run "family (no configuration)" family ""
    run "family (DRAM only)" family "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"
    run "family (DRAM + FS_DAX static ratio)" family \
        "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO" "$work/tier"
    THRESHOLDS="INIT_VAL:64,MIN_VAL:1,MAX_VAL:4096" run "family (DRAM + FS_DAX dynamic threshold)" family \
        "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:DYNAMIC_THRESHOLD" "$work/tier"
    run "family (FS_DAX only, 64M limit)" family \
        "KIND:FS_DAX,PATH:$work/tier,PMEM_SIZE_LIMIT:64M,RATIO:1;POLICY:STATIC_RATIO" "$work/tier"
fi

# Exactly the malloc family is exported, and the kinds come from libmemkind.so.0.
if harness_selected "exported symbols"; then
    want="aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"
    got=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBiV]$/ {sub(/@.*/, "", $3); print $3}' | sort | tr '\n' ' ' | sed 's/ $//')
    needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    if [ "$got" = "$want" ] && case " $needed" in *" libmemkind.so.0 "*) true ;; *) false ;; esac; then
        pass "exported symbols" "and the libmemkind.so.0 dependency"
    else
        fail "exported symbols" "exported: $got; needed: $needed"
    fi
fi

# A program linked with libmemkind under the interposer: blocks cross both ways, and no
# "not allocated" report on stderr.
mixed() {
    mkdir -p "$work/own"
    preloaded "$work/own" MEMKIND_MEM_TIERS="$1" "$work/mixed" "$work/own" || return
    ! grep "not allocated" "$work/err"
}
libdir=$(dirname "$lib")
if build mixed -I"$here/../../../include" "$libdir/libmemkind.so.0" -Wl,-rpath,"$libdir"; then
    run mixed mixed ""
    run "mixed (file tier)" mixed "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO"
fi

# dlopen("libmemkind.so.0") under the interposer finds the interposer's own copy.
dlopened() {
    preloaded "$work/tier" MEMKIND_MEM_TIERS="$1" "$work/dlopened" "$libdir" || return
    ! grep "not allocated" "$work/err"
}
if build dlopened -ldl; then
    run dlopened dlopened ""
    run "dlopened (file tier)" dlopened "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO"
fi

# The file tier's descriptor leaves 3 free and is close-on-exec; a full file tier hands
# requests to DRAM ("overflowed=" in the stats).
mkdir -p "$work/t2"
build lowfd && run lowfd preloaded "" \
    MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/t2,RATIO:1;POLICY:STATIC_RATIO" \
    "$work/lowfd" "$work/t2"
overflow() {
    preloaded "$work/t2" MEMKIND_MEM_TIERS_STATS=1 \
        MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/t2,PMEM_SIZE_LIMIT:16M,RATIO:1;POLICY:STATIC_RATIO" \
        "$work/overflow" || return
    stats_show "^memtier: tier 1 FS_DAX .* overflowed=[1-9]"
}
build overflow && run overflow overflow

# Programs added here without a line above.
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    case $name in family | mixed | dlopened | lowfd | overflow) continue ;; esac
    harness_selected "$name" || continue
    build "$name" -pthread || continue
    mkdir -p "$work/$name.tier"
    run "$name" preloaded "$work/$name.tier" \
        MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/$name.tier,RATIO:1;POLICY:STATIC_RATIO" \
        "$work/$name" "$work/$name.tier"
done

harness_end
