#!/usr/bin/env bash
# Build and run the C examples (c_examples/) and the C tests
# (tests/c/memkind/) against a memkind-compatible library.
#
#   tests/run_c_tests.sh PREFIX        our library installed under PREFIX
#                                      (include/memkind.h, lib/libmemkind.so,
#                                      lib/pkgconfig/memkind.pc)
#   tests/run_c_tests.sh --reference   the system's memkind (-lmemkind), to
#                                      validate the programs themselves
#
# Examples pass when their output equals c_examples/expected/NAME.out; tests
# pass on exit status 0 and are skipped on 77. Each program runs with a fresh
# pmem directory as argv[1] (tests also get a fresh /dev/shm directory as
# argv[2]); that directory must be empty afterwards. Tests whose first line
# contains "ours-only" are skipped in reference mode. In PREFIX mode the
# header, the exported symbols, loading through dlopen and replacing the
# system library in an already-built program are checked as well.
# The last line is "memkind: N passed, M failed[, K skipped]"; the exit status
# is non-zero when something failed.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
examples_dir=$root/c_examples
tests_dir=$root/tests/c/memkind
cc=${CC:-cc}
cxx=${CXX:-c++}
cflags=(-std=c99 -Wall -Wextra -Werror -O1)
run_timeout=${MEMKIND_TEST_TIMEOUT:-60}
ref_header_dir=/usr/include

usage() {
    echo "usage: $0 PREFIX | --reference" >&2
    exit 2
}

[ $# -eq 1 ] || usage
if [ "$1" = --reference ]; then
    mode=reference
    link_flags=(-lmemkind -pthread)
    libdir=$(dirname "$(realpath "$("$cc" -print-file-name=libmemkind.so.0)")")
else
    mode=ours
    [ -d "$1" ] || { echo "no such prefix: $1" >&2; exit 2; }
    prefix=$(cd "$1" && pwd)
    libdir=$prefix/lib
    for f in include/memkind.h lib/libmemkind.so lib/libmemkind.so.0 \
        lib/libmemkind.a lib/pkgconfig/memkind.pc; do
        [ -e "$prefix/$f" ] || { echo "missing $prefix/$f" >&2; exit 2; }
    done
    pc_flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs memkind) ||
        { echo "pkg-config failed for $prefix" >&2; exit 2; }
    # shellcheck disable=SC2206  # pkg-config output is meant to be split
    link_flags=($pc_flags -pthread "-Wl,-rpath,$prefix/lib")
fi

scratch=$(mktemp -d)
passed=0
failed=0
skipped=0
failed_names=()

cleanup() {
    rm -rf "$scratch"
}
trap cleanup EXIT

pass() {
    passed=$((passed + 1))
    echo "PASS $1"
}
fail() {
    failed=$((failed + 1))
    failed_names+=("$1")
    echo "FAIL $1${2:+ ($2)}"
}
skip() {
    skipped=$((skipped + 1))
    echo "SKIP $1${2:+ ($2)}"
}
# T=glob (from `make test T=...`) runs only the programs whose name matches; the checks
# of the library as a whole are left out then.
selected() {
    [ -z "${T:-}" ] && return 0
    # shellcheck disable=SC2254  # T is a glob on purpose
    case "$1" in $T) return 0 ;; esac
    return 1
}

show_log() {
    sed 's/^/    | /' "$1" | tail -n 40
}

# Unmount anything a test left mounted below a directory, then remove it.
remove_dir() {
    local dir=$1 mnt
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf "$dir"
}

# run_program KIND NAME BINARY: runs it in fresh directories; sets rc,
# leftovers and log.
run_program() {
    local kind=$1 name=$2 bin=$3 dir shm
    dir=$(mktemp -d)
    shm=$(mktemp -d /dev/shm/memkind-test.XXXXXX 2>/dev/null || mktemp -d)
    log=$scratch/$name.log
    if [ "$kind" = example ]; then
        (cd "$dir" && exec timeout "$run_timeout" "$bin" "$dir") \
            >"$scratch/$name.out" 2>"$scratch/$name.err"
        rc=$?
        cat "$scratch/$name.out" "$scratch/$name.err" >"$log"
    else
        (cd "$dir" && exec timeout "$run_timeout" "$bin" "$dir" "$shm") >"$log" 2>&1
        rc=$?
    fi
    leftovers=$( (ls -A "$dir"; ls -A "$shm") 2>/dev/null | tr '\n' ' ')
    remove_dir "$dir"
    remove_dir "$shm"
}

describe_status() {
    case $1 in
    124) echo "timed out after ${run_timeout}s" ;;
    13[0-9] | 14[0-9] | 15[0-9]) echo "killed by signal $(($1 - 128))" ;;
    *) echo "exit status $1" ;;
    esac
}

compile() { # compile OUTPUT SOURCE -> 0 on success, log in OUTPUT.build
    "$cc" "${cflags[@]}" "$2" -o "$1" "${link_flags[@]}" >"$1.build" 2>&1
}

# tests/c/memkind/loaded_library.c checks the library really comes from here
export MEMKIND_TEST_EXPECT_LIBDIR=$libdir

echo "== memkind C programs, $mode mode (library from $libdir)"

# ---------------------------------------------------------------- examples
for src in "$examples_dir"/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    selected "$name" || continue
    bin=$scratch/example_$name
    if ! compile "$bin" "$src"; then
        fail "example $name" "does not compile"
        show_log "$bin.build"
        continue
    fi
    run_program example "$name" "$bin"
    expected=$examples_dir/expected/$name.out
    if [ "$rc" -ne 0 ]; then
        fail "example $name" "$(describe_status "$rc")"
        show_log "$log"
    elif [ ! -f "$expected" ]; then
        fail "example $name" "no expected output $expected"
        show_log "$log"
    elif ! diff -u "$expected" "$scratch/$name.out" >"$scratch/$name.diff"; then
        fail "example $name" "output differs from expected/$name.out"
        show_log "$scratch/$name.diff"
    elif [ -n "$leftovers" ]; then
        fail "example $name" "left files in the pmem directory: $leftovers"
    else
        pass "example $name"
    fi
done

# ------------------------------------------------------------------- tests
for src in "$tests_dir"/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    selected "$name" || continue
    if [ "$mode" = reference ] && head -n 1 "$src" | grep -q 'ours-only'; then
        skip "test $name" "ours-only"
        continue
    fi
    bin=$scratch/test_$name
    if ! compile "$bin" "$src"; then
        fail "test $name" "does not compile"
        show_log "$bin.build"
        continue
    fi
    run_program test "$name" "$bin"
    if [ "$rc" -eq 77 ]; then
        skip "test $name" "$(grep -m1 -i 'skip' "$log")"
    elif [ "$rc" -ne 0 ]; then
        fail "test $name" "$(describe_status "$rc")"
        show_log "$log"
    elif [ -n "$leftovers" ]; then
        fail "test $name" "left files in the pmem directory: $leftovers"
    else
        pass "test $name"
    fi
done

# ------------------------------------------------- checks of our library only
if [ "$mode" = ours ] && [ -z "${T:-}" ]; then
    # The header compiles on its own as C99 and as C++11.
    printf '#include <memkind.h>\nint main(void) { return MEMKIND_DEFAULT == 0; }\n' \
        >"$scratch/header.c"
    cp "$scratch/header.c" "$scratch/header.cpp"
    if "$cc" -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" \
        "$scratch/header.c" >"$scratch/header.log" 2>&1; then
        pass "header compiles as C99"
    else
        fail "header compiles as C99"
        show_log "$scratch/header.log"
    fi
    if "$cxx" -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" \
        "$scratch/header.cpp" >"$scratch/header.log" 2>&1; then
        pass "header compiles as C++11"
    else
        fail "header compiles as C++11"
        show_log "$scratch/header.log"
    fi

    # Exported symbols: exactly the names our installed headers declare (memkind.h,
    # memkind_memtier.h, hbwmalloc.h; no pmem_*: that is libpmem.so.1's), and everything
    # the reference headers declare.
    ref_headers=()
    for h in memkind.h memkind_deprecated.h; do
        [ -f "$ref_header_dir/$h" ] && ref_headers+=("$ref_header_dir/$h")
    done
    if python3 - "$prefix/lib/libmemkind.so" "$prefix/include" "${ref_headers[@]}" \
        >"$scratch/symbols.log" 2>&1 <<'EOF'; then
import re, subprocess, sys

lib, ours, refs = sys.argv[1], sys.argv[2], sys.argv[3:]
linker_names = {"_init", "_fini", "_edata", "_end", "__bss_start"}
nm = subprocess.run(["nm", "-D", "--defined-only", lib],
                    capture_output=True, text=True, check=True).stdout
defined = set()
private = set()
for line in nm.splitlines():
    fields = line.split()
    if len(fields) < 2 or fields[-2] == "A":  # version nodes
        continue
    name, _, version = fields[-1].partition("@")
    # libmemtier.so.0's entry points (libs/libmemkind/private.map), not memkind's API
    if version.lstrip("@") == "MEMKIND_PRIVATE":
        private.add(name)
        continue
    if name not in linker_names:
        defined.add(name)

def declared_in(headers):
    names = set()
    for header in headers:
        text = open(header).read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
        names |= set(re.findall(r"\b((?:memkind|memtier|hbw)_\w+)\s*\(", text))
        names |= set(re.findall(r"\bextern\s+memkind_t\s+(\w+)\s*;", text))
    return names

own = declared_in([ours + "/" + h for h in ("memkind.h", "memkind_memtier.h", "hbwmalloc.h")])
ref = declared_in(refs)
unexpected = sorted(defined - own)
undeclared = sorted(own - defined)
missing = sorted(ref - defined)
for name in unexpected:
    print("exported but not declared by our headers:", name)
for name in undeclared:
    print("declared but not exported:", name)
for name in missing:
    print("declared by the reference headers, not exported:", name)
print("%d exports, %d declared by our headers, %d by the reference headers"
      % (len(defined), len(own), len(ref)))
print("%d more in the version node MEMKIND_PRIVATE (for libmemtier.so.0): %s"
      % (len(private), " ".join(sorted(private))))
if not refs:
    print("note: reference headers not found, their names not checked")
sys.exit(1 if unexpected or undeclared or missing else 0)
EOF
        pass "exported symbols"
    else
        fail "exported symbols"
    fi
    show_log "$scratch/symbols.log"

    # Loading through dlopen (Python ctypes) and using a pmem kind.
    dl_dir=$(mktemp -d)
    if python3 - "$prefix/lib/libmemkind.so.0" "$dl_dir" >"$scratch/dlopen.log" 2>&1 <<'EOF'; then
import ctypes, os, sys

lib = ctypes.CDLL(sys.argv[1])
directory = sys.argv[2]
lib.memkind_create_pmem.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.c_void_p)]
lib.memkind_create_pmem.restype = ctypes.c_int
lib.memkind_malloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
lib.memkind_malloc.restype = ctypes.c_void_p
lib.memkind_free.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.memkind_free.restype = None
lib.memkind_destroy_kind.argtypes = [ctypes.c_void_p]
lib.memkind_destroy_kind.restype = ctypes.c_int

kind = ctypes.c_void_p()
err = lib.memkind_create_pmem(directory.encode(), 0, ctypes.byref(kind))
assert err == 0, "memkind_create_pmem returned %d" % err
size = 1 << 20
p = lib.memkind_malloc(kind, size)
assert p, "memkind_malloc returned NULL"
ctypes.memset(p, 0xAB, size)
data = (ctypes.c_ubyte * size).from_address(p)
assert data[0] == 0xAB and data[size - 1] == 0xAB, "data not written"
lib.memkind_free(kind, p)
err = lib.memkind_destroy_kind(kind)
assert err == 0, "memkind_destroy_kind returned %d" % err
assert os.listdir(directory) == [], "files left: %r" % os.listdir(directory)
print("dlopen, create, malloc, write, free, destroy: ok")
EOF
        pass "dlopen through ctypes"
    else
        fail "dlopen through ctypes"
        show_log "$scratch/dlopen.log"
    fi
    remove_dir "$dl_dir"

    # Binary drop-in: a program built against the system's header and library
    # runs on ours through LD_LIBRARY_PATH.
    if [ ! -f "$ref_header_dir/memkind.h" ] ||
        ! sys_lib=$("$cc" -print-file-name=libmemkind.so) || [ "$sys_lib" = libmemkind.so ]; then
        skip "binary drop-in" "the system memkind is not installed"
    elif ! "$cc" "${cflags[@]}" -I"$ref_header_dir" "$tests_dir/loaded_library.c" \
        -o "$scratch/dropin" -lmemkind -pthread >"$scratch/dropin.log" 2>&1; then
        fail "binary drop-in" "does not build against the system memkind"
        show_log "$scratch/dropin.log"
    else
        printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" MEMKIND_TEST_EXPECT_LIBDIR="%s" exec "%s" "$@"\n' \
            "$prefix/lib" "$prefix/lib" "$scratch/dropin" >"$scratch/dropin.sh"
        chmod +x "$scratch/dropin.sh"
        run_program test dropin "$scratch/dropin.sh"
        if [ "$rc" -ne 0 ]; then
            fail "binary drop-in" "$(describe_status "$rc")"
            show_log "$log"
        elif [ -n "$leftovers" ]; then
            fail "binary drop-in" "left files in the pmem directory: $leftovers"
        else
            pass "binary drop-in"
            grep -E 'memkind_malloc is in|mapped:' "$log" | sed 's/^/    /'
        fi
    fi
fi

summary="memkind: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
if [ "$failed" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "$summary"
[ "$failed" -eq 0 ]
