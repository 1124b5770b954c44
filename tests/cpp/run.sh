#!/usr/bin/env bash
# Build and run the C++ test programs (tests/cpp/*.cpp) of the allocator
# headers (pmem_allocator.h, memkind_allocator.h, fixed_allocator.h).
#
#   tests/cpp/run.sh PREFIX        our headers and library installed under
#                                  PREFIX (include/, lib/, lib/pkgconfig/)
#   tests/cpp/run.sh --reference   the system's memkind headers and library,
#                                  to validate the programs themselves
#
# Each program is built as C++11 (test name: the file's name) and as C++17
# when it says "cxx17" on its first line ("NAME (c++17)"), and runs with a fresh
# pmem directory as argv[1], which must be empty afterwards; it passes on exit
# status 0 with no failed check in its RESULT line (tests/harness/runner.sh).
# Programs whose first line contains "ours-only" are skipped in reference mode.
# In PREFIX mode the three headers must also compile together, in any order, as
# C++11, C++14, C++17 and C++20 ("headers together"). T=glob selects tests.
# The last line is "cpp: N passed, M failed[, K skipped]"; the exit status is
# non-zero when something failed.

set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/harness/runner.sh"
tests_dir=$root/tests/cpp
cxx=${CXX:-c++}
cxxflags=(-Wall -Wextra -Werror -O1 -pthread)
run_timeout=${MEMKIND_TEST_TIMEOUT:-120}
headers=(pmem_allocator.h memkind_allocator.h fixed_allocator.h)

[ $# -eq 1 ] || { echo "usage: $0 PREFIX | --reference" >&2; exit 2; }
if [ "$1" = --reference ]; then
    mode=reference
    inc_flags=()
    link_flags=(-lmemkind)
else
    mode=ours
    [ -d "$1" ] || { echo "no such prefix: $1" >&2; exit 2; }
    prefix=$(cd "$1" && pwd)
    for h in memkind.h "${headers[@]}"; do
        [ -f "$prefix/include/$h" ] || { echo "missing $prefix/include/$h" >&2; exit 2; }
    done
    inc_flags=("-I$prefix/include")
    pc_libs=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --libs memkind) ||
        { echo "pkg-config failed for $prefix" >&2; exit 2; }
    # shellcheck disable=SC2206  # pkg-config output is meant to be split
    link_flags=($pc_libs "-Wl,-rpath,$prefix/lib")
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
show_log() { sed 's/^/    | /' "$1" | tail -n 40; }

# in_fresh_dir BINARY: runs it with a fresh pmem directory, which must be empty afterwards.
in_fresh_dir() {
    local dir rc leftovers
    dir=$(mktemp -d)
    (cd "$dir" && exec timeout "$run_timeout" "$1" "$dir")
    rc=$?
    leftovers=$(ls -A "$dir" | tr '\n' ' ')
    rm -rf "$dir"
    [ "$rc" -eq 124 ] && echo "timed out after ${run_timeout}s"
    [ "$rc" -eq 0 ] || return "$rc"
    if [ -n "$leftovers" ]; then
        echo "left files in the pmem directory: $leftovers"
        return 1
    fi
}

harness_begin cpp
echo "== C++ allocator programs, $mode mode"

if [ "$mode" = ours ] && harness_selected "headers together"; then
    # Every order of the three headers, each standard: one definition of
    # libmemkind::allocation_policy, no warnings.
    orders=("0 1 2" "2 1 0" "1 0 2" "1 2 0")
    ok=1
    for std in c++11 c++14 c++17 c++20; do
        for order in "${orders[@]}"; do
            src=$scratch/headers.cpp
            : >"$src"
            for i in $order; do echo "#include <${headers[$i]}>" >>"$src"; done
            echo 'int main() { return static_cast<int>(libmemkind::allocation_policy::DEFAULT); }' >>"$src"
            if ! "$cxx" -std=$std -Wall -Wextra -Werror -pedantic -fsyntax-only \
                "${inc_flags[@]}" "$src" >"$scratch/headers.log" 2>&1; then
                ok=0
                echo "    headers in order $order as $std:"
                show_log "$scratch/headers.log"
            fi
        done
    done
    if [ $ok = 1 ]; then pass "headers together" "any order, C++11 to C++20"; else fail "headers together"; fi
fi

for src in "$tests_dir"/*.cpp; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .cpp)
    first=$(head -n 1 "$src")
    stds=(c++11)
    [[ $first == *cxx17* ]] && stds+=(c++17)
    for std in "${stds[@]}"; do
        label=$name
        [ $std = c++11 ] || label="$name ($std)"
        harness_selected "$label" || continue
        if [ "$mode" = reference ] && [[ $first == *ours-only* ]]; then
            skip "$label" "ours-only"
            continue
        fi
        bin=$scratch/$name.$std
        if ! "$cxx" -std=$std "${cxxflags[@]}" "${inc_flags[@]}" "$src" -o "$bin" \
            "${link_flags[@]}" >"$bin.build" 2>&1; then
            fail "$label" "does not compile"
            show_log "$bin.build"
            continue
        fi
        run "$label" in_fresh_dir "$bin"
    done
done

harness_end
