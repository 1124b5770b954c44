#!/usr/bin/env bash
# C++ tests of include/hbw_allocator.h against an installed PREFIX: the header
# compiles as C++03 and C++20 (syntax only) and tests/cxx/hbw_allocator.cpp builds
# as C++11 and runs. T=glob selects tests (tests/harness/runner.sh).
#   tests/cxx/run.sh PREFIX
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/harness/runner.sh"
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
prefix=$(cd "$1" && pwd)
cxx=${CXX:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
harness_begin hbw
for std in c++03 c++20; do
    name="hbw_allocator header ($std)"
    harness_selected "$name" || continue
    if $cxx -std=$std -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" \
        "$root/tests/cxx/hbw_allocator_cxx03.cpp" >"$work/log" 2>&1; then
        pass "$name"
    else
        fail "$name" "does not compile"
        sed 's/^/    | /' "$work/log" | tail -20
    fi
done
if harness_selected hbw_allocator; then
    if $cxx -std=c++11 -Wall -Wextra -Werror -O1 -I"$prefix/include" \
        "$root/tests/cxx/hbw_allocator.cpp" -o "$work/hbw_allocator" \
        -L"$prefix/lib" -lmemkind -Wl,-rpath,"$prefix/lib" >"$work/log" 2>&1; then
        run hbw_allocator "$work/hbw_allocator"
    else
        fail hbw_allocator "does not compile"
        sed 's/^/    | /' "$work/log" | tail -20
    fi
fi
harness_end
