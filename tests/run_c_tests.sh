#!/usr/bin/env bash
# Build and run the C examples (c_examples/) and the C tests
# (tests/c/memkind/) against a memkind-compatible library, with tests/harness/runner.sh.
#
#   tests/run_c_tests.sh PREFIX        our library installed under PREFIX
#                                      (include/memkind.h, lib/libmemkind.so,
#                                      lib/pkgconfig/memkind.pc)
#   tests/run_c_tests.sh --reference   the system's memkind (-lmemkind), to
#                                      validate the programs themselves
#
# Examples pass when their output equals c_examples/expected/NAME.out; tests
# pass on exit status 0 with no failed check in their RESULT line and are skipped
# on 77. Each program runs with a fresh pmem directory as argv[1] (tests also get
# a fresh /dev/shm directory as argv[2]); that directory must be empty afterwards.
# Tests whose first line contains "ours-only" (and the *_ours.c ones) are skipped
# in reference mode. In PREFIX mode the header, the exported symbols, loading
# through dlopen and replacing the system library in an already-built program are
# checked as well. Test names: "example NAME" for c_examples/NAME.c, NAME for
# tests/c/memkind/NAME.c; T=glob selects among them.
# The last line is "memkind: N passed, M failed[, K skipped]"; the exit status
# is non-zero when something failed.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/harness/runner.sh"
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

cleanup() {
    rm -rf "$scratch"
}
trap cleanup EXIT

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

# run_program BINARY [EXPECTED_OUTPUT]: runs it in a fresh pmem directory (argv[1] and
# the working directory) and a fresh /dev/shm directory (argv[2]; examples get only the
# first), and fails when files are left there. With EXPECTED_OUTPUT (examples) the
# program's stdout must equal that file.
run_program() {
    local bin=$1 expected=${2:-} dir shm rc leftovers
    dir=$(mktemp -d)
    shm=$(mktemp -d /dev/shm/memkind-test.XXXXXX 2>/dev/null || mktemp -d)
    if [ -n "$expected" ]; then
        (cd "$dir" && exec timeout "$run_timeout" "$bin" "$dir") \
            >"$scratch/example.out" 2>"$scratch/example.err"
        rc=$?
        cat "$scratch/example.out" "$scratch/example.err"
    else
        (cd "$dir" && exec timeout "$run_timeout" "$bin" "$dir" "$shm")
        rc=$?
    fi
    leftovers=$( (ls -A "$dir"; ls -A "$shm") 2>/dev/null | tr '\n' ' ')
    remove_dir "$dir"
    remove_dir "$shm"
    [ "$rc" -eq 124 ] && echo "timed out after ${run_timeout}s"
    [ "$rc" -eq 0 ] || return "$rc"
    if [ -n "$expected" ]; then
        if [ ! -f "$expected" ]; then
            echo "no expected output $expected"
            return 1
        fi
        if ! diff -u "$expected" "$scratch/example.out"; then
            echo "output differs from ${expected#"$root/"}"
            return 1
        fi
    fi
    if [ -n "$leftovers" ]; then
        echo "left files in the pmem directory: $leftovers"
        return 1
    fi
}

compile() { # compile OUTPUT SOURCE -> 0 on success, log in OUTPUT.build
    "$cc" "${cflags[@]}" "$2" -o "$1" "${link_flags[@]}" >"$1.build" 2>&1
}

# tests/c/memkind/loaded_library.c checks the library really comes from here
export MEMKIND_TEST_EXPECT_LIBDIR=$libdir

harness_begin memkind
echo "== memkind C programs, $mode mode (library from $libdir)"

# ---------------------------------------------------------------- examples
for src in "$examples_dir"/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    harness_selected "example $name" || continue
    bin=$scratch/example_$name
    if ! compile "$bin" "$src"; then
        fail "example $name" "does not compile"
        show_log "$bin.build"
        continue
    fi
    run "example $name" run_program "$bin" "$examples_dir/expected/$name.out"
done

# ------------------------------------------------------------------- tests
for src in "$tests_dir"/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    harness_selected "$name" || continue
    if [ "$mode" = reference ] &&
        { [[ $name == *_ours ]] || head -n 1 "$src" | grep -q 'ours-only'; }; then
        skip "$name" "ours-only"
        continue
    fi
    bin=$scratch/test_$name
    if ! compile "$bin" "$src"; then
        fail "$name" "does not compile"
        show_log "$bin.build"
        continue
    fi
    run "$name" run_program "$bin"
done

# ------------------------------------------------- checks of our library only
# Each is one test, selected by its name as well.
if [ "$mode" = ours ]; then
    # The header compiles on its own as C99 and as C++11.
    printf '#include <memkind.h>\nint main(void) { return MEMKIND_DEFAULT == 0; }\n' \
        >"$scratch/header.c"
    cp "$scratch/header.c" "$scratch/header.cpp"
    if ! harness_selected "header compiles as C99"; then
        :
    elif "$cc" -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" \
        "$scratch/header.c" >"$scratch/header.log" 2>&1; then
        pass "header compiles as C99"
    else
        fail "header compiles as C99"
        show_log "$scratch/header.log"
    fi
    if ! harness_selected "header compiles as C++11"; then
        :
    elif "$cxx" -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" \
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
    if ! harness_selected "exported symbols"; then
        :
    elif python3 - "$prefix/lib/libmemkind.so" "$prefix/include" "${ref_headers[@]}" \
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
        show_log "$scratch/symbols.log"
    else
        fail "exported symbols"
        show_log "$scratch/symbols.log"
    fi

    # Loading through dlopen (Python ctypes) and using a pmem kind.
    dl_dir=$(mktemp -d)
    if ! harness_selected "dlopen through ctypes"; then
        :
    elif python3 - "$prefix/lib/libmemkind.so.0" "$dl_dir" >"$scratch/dlopen.log" 2>&1 <<'EOF'; then
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

    # The static library links into a shared object (a plugin that embeds memkind) and
    # the program using that object allocates from a file kind through it.
    if harness_selected "static library in a shared object"; then
        st_dir=$(mktemp -d)
        cat >"$scratch/plugin.c" <<'EOF'
#include <memkind.h>
#include <string.h>
int plugin_run(const char *dir)
{
    memkind_t kind;
    char *p;
    if (memkind_create_pmem(dir, 0, &kind) != 0)
        return 1;
    p = memkind_malloc(kind, 4096);
    if (!p)
        return 2;
    memset(p, 7, 4096);
    if (p[4095] != 7)
        return 3;
    memkind_free(kind, p);
    return memkind_destroy_kind(kind) == 0 ? 0 : 4;
}
EOF
        printf 'int plugin_run(const char *);\nint main(int c, char **v) { return c > 1 ? plugin_run(v[1]) : 9; }\n' >"$scratch/plugin_main.c"
        if "$cc" -std=c99 -fPIC -shared -I"$prefix/include" -o "$scratch/libplugin.so" "$scratch/plugin.c" \
            "$prefix/lib/libmemkind.a" -lpthread -ldl -lm >"$scratch/plugin.log" 2>&1 &&
            "$cc" -o "$scratch/plugin_main" "$scratch/plugin_main.c" "$scratch/libplugin.so" \
                -Wl,-rpath,"$scratch" >>"$scratch/plugin.log" 2>&1 &&
            "$scratch/plugin_main" "$st_dir" >>"$scratch/plugin.log" 2>&1 &&
            [ -z "$(ls -A "$st_dir")" ]; then
            pass "static library in a shared object"
        else
            fail "static library in a shared object"
            show_log "$scratch/plugin.log"
        fi
        remove_dir "$st_dir"
    fi

    # Binary drop-in: a program built against the system's header and library
    # runs on ours through LD_LIBRARY_PATH.
    if ! harness_selected "binary drop-in"; then
        :
    elif [ ! -f "$ref_header_dir/memkind.h" ] ||
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
        run "binary drop-in" run_program "$scratch/dropin.sh"
    fi
fi

harness_end
