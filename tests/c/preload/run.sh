#!/usr/bin/env bash
# tests/c/preload/run.sh LIBMEMTIER: the malloc-family contract test under the interposer,
# once per configuration (none, DRAM only, DRAM + file tier, DYNAMIC_THRESHOLD), plus the
# stats summary and the file tier leaving nothing behind.
set -u
lib=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc=${CC:-cc}
passed=0
failed=0
"$cc" -std=c11 -O1 -Wall -Wextra -Werror -pthread -o "$work/family" "$here/family.c" || exit 2

run() {
    local name=$1 tiers=$2 dir=${3:-}
    local out=$work/out
    if env LD_PRELOAD="$lib" MEMKIND_MEM_TIERS="$tiers" MEMKIND_MEM_TIERS_STATS=1 \
        MEMKIND_MEM_THRESHOLDS="${THRESHOLDS:-}" FAMILY_TIER_DIR="$dir" \
        timeout 120 "$work/family" >"$out" 2>"$out.err" &&
        grep -q "family: all checks passed" "$out" &&
        { [ -z "$dir" ] || [ -z "$(ls -A "$dir")" ]; } &&
        { [ -z "$tiers" ] || grep -q "^memtier: tier 0 [A-Z_]* allocs=[1-9]" "$out.err"; } &&
        { [ -z "$dir" ] || grep -q "^memtier: tier [0-9] FS_DAX allocs=[1-9]" "$out.err"; }; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        cat "$out" "$out.err" | head -20
        failed=$((failed + 1))
    fi
}

mkdir -p "$work/tier"
run "no configuration" ""
run "DRAM only" "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"
run "DRAM + FS_DAX static ratio" \
    "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO" "$work/tier"
THRESHOLDS="INIT_VAL:64,MIN_VAL:1,MAX_VAL:4096" run "DRAM + FS_DAX dynamic threshold" \
    "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:DYNAMIC_THRESHOLD" "$work/tier"
run "FS_DAX only, 64M limit" \
    "KIND:FS_DAX,PATH:$work/tier,PMEM_SIZE_LIMIT:64M,RATIO:1;POLICY:STATIC_RATIO" "$work/tier"

# Exactly the malloc family is exported, and the kinds come from libmemkind.so.0.
want="aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"
got=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBiV]$/ {sub(/@.*/, "", $3); print $3}' | sort | tr '\n' ' ' | sed 's/ $//')
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ "$got" = "$want" ] && case " $needed" in *" libmemkind.so.0 "*) true ;; *) false ;; esac; then
    echo "PASS exported symbols and libmemkind.so.0 dependency"
    passed=$((passed + 1))
else
    echo "FAIL exported symbols and libmemkind.so.0 dependency"
    echo "    exported: $got"
    echo "    needed: $needed"
    failed=$((failed + 1))
fi

# A program linked with libmemkind under the interposer: blocks cross both ways.
libdir=$(dirname "$lib")
if "$cc" -std=c11 -O1 -Wall -Wextra -Werror -I"$here/../../../include" -o "$work/mixed" \
    "$here/mixed.c" "$libdir/libmemkind.so.0" -Wl,-rpath,"$libdir"; then
    for tiers in "" "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO"; do
        mkdir -p "$work/own"
        name="libmemkind program under the interposer${tiers:+ with a file tier}"
        if env LD_PRELOAD="$lib" MEMKIND_MEM_TIERS="$tiers" timeout 120 "$work/mixed" "$work/own" \
            >"$work/out" 2>"$work/out.err" &&
            grep -q "^RESULT [0-9]* 0$" "$work/out" && ! grep -q "not allocated" "$work/out.err" &&
            [ -z "$(ls -A "$work/own")" ]; then
            echo "PASS $name"
            passed=$((passed + 1))
        else
            echo "FAIL $name"
            grep -v "^check: " "$work/out" | head -20
            head -5 "$work/out.err"
            failed=$((failed + 1))
        fi
    done
else
    echo "FAIL build mixed.c"
    failed=$((failed + 1))
fi

# dlopen("libmemkind.so.0") under the interposer finds the interposer's own copy.
if "$cc" -std=c11 -O1 -Wall -Wextra -Werror -o "$work/dlopened" "$here/dlopened.c" -ldl; then
    for tiers in "" "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/tier,RATIO:1;POLICY:STATIC_RATIO"; do
        name="dlopen(libmemkind.so.0) under the interposer${tiers:+ with a file tier}"
        if env LD_PRELOAD="$lib" MEMKIND_MEM_TIERS="$tiers" timeout 60 "$work/dlopened" "$libdir" \
            >"$work/out" 2>"$work/out.err" &&
            grep -q "^RESULT [0-9]* 0$" "$work/out" && ! grep -q "not allocated" "$work/out.err"; then
            echo "PASS $name"
            passed=$((passed + 1))
        else
            echo "FAIL $name"
            grep -v "^check: " "$work/out" | head -20
            head -5 "$work/out.err"
            failed=$((failed + 1))
        fi
    done
else
    echo "FAIL build dlopened.c"
    failed=$((failed + 1))
fi

# Descriptors stay out of the program's way; a full file tier hands requests to DRAM.
for prog in lowfd overflow; do
    "$cc" -std=c11 -O1 -Wall -Wextra -Werror -o "$work/$prog" "$here/$prog.c" ||
        { echo "FAIL build $prog.c"; failed=$((failed + 1)); continue; }
done
mkdir -p "$work/t2"
if env LD_PRELOAD="$lib" MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/t2,RATIO:1;POLICY:STATIC_RATIO" \
    timeout 60 "$work/lowfd" "$work/t2" >"$work/out" 2>&1 && grep -q "^RESULT [0-9]* 0$" "$work/out"; then
    echo "PASS the file tier's descriptor leaves 3 free, close-on-exec"
    passed=$((passed + 1))
else
    echo "FAIL the file tier's descriptor leaves 3 free, close-on-exec"
    grep -v "^check: " "$work/out" | head -10
    failed=$((failed + 1))
fi
if env LD_PRELOAD="$lib" MEMKIND_MEM_TIERS_STATS=1 \
    MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:$work/t2,PMEM_SIZE_LIMIT:16M,RATIO:1;POLICY:STATIC_RATIO" \
    timeout 60 "$work/overflow" >"$work/out" 2>"$work/out.err" && grep -q "^RESULT [0-9]* 0$" "$work/out" &&
    grep -q "^memtier: tier 1 FS_DAX .* overflowed=[1-9]" "$work/out.err" &&
    [ -z "$(ls -A "$work/t2")" ]; then
    echo "PASS a full file tier hands requests to DRAM"
    passed=$((passed + 1))
else
    echo "FAIL a full file tier hands requests to DRAM"
    cat "$work/out" "$work/out.err" | grep -v "^check: " | head -10
    failed=$((failed + 1))
fi

echo "preload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
