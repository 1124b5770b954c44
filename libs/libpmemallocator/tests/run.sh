#!/bin/sh
# Builds the PMemAllocator C/C++ tests against a staged install (PMA_STAGE, found through
# pkg-config, as a user's program would be) and runs them with tests/harness/runner.sh.
# Pools live under PMA_WORK (a disk file system: sparse files, page cache mapping).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${PMA_STAGE:?set PMA_STAGE to the staged install prefix}"
work=${PMA_WORK:-/tmp/pmemallocator-test.$$}
CC=${CC:-cc}
CXX=${CXX:-c++}
rm -rf "$work"
mkdir -p "$work/bin"
PKG_CONFIG_PATH=$PMA_STAGE/lib/pkgconfig
export PKG_CONFIG_PATH PMA_WORK="$work"
. "$root/tests/harness/runner.sh"
harness_begin pmemallocator

flags=$(pkg-config --cflags --libs pmemallocator) || { fail pkg-config "pmemallocator.pc not found"; harness_end; exit 1; }
rpath="-Wl,-rpath,$PMA_STAGE/lib"
inc="-I$root/tests/harness"

build() { # name, compiler, source, extra flags
	n=$1 cc=$2 src=$3
	shift 3
	if $cc "$@" -Wall -Wextra -Werror -O2 $inc -o "$work/bin/$n" "$src" $flags $rpath -lpthread \
		>"$work/bin/$n.log" 2>&1; then
		return 0
	fi
	fail "build-$n" "$(head -20 "$work/bin/$n.log")"
	return 1
}

# The README's example, unchanged, against the installed header; C++11 as well as newer.
if build readme_example "$CXX" "$here/../examples/readme_example.cpp" -std=c++11; then
	run readme_example "$work/bin/readme_example" "$work/readme.pool"
	if [ -e "$work/readme.pool" ]; then fail readme_example_cleanup "pool file left"; else pass readme_example_cleanup; fi
fi
for t in test_api test_invalid test_threads test_rebalance; do
	build $t "$CXX" "$here/$t.cpp" -std=c++14 && run $t "$work/bin/$t"
done
build test_c "$CC" "$here/test_c.c" -std=c99 && run test_c "$work/bin/test_c"

# The installed library exports exactly the C functions of the header.
exp=$(nm -D --defined-only "$PMA_STAGE/lib/libpmemallocator.so.0" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort)
hdr=$(sed -n 's/.*\b\(pmemallocator_[a-z0-9_]*\)(.*/\1/p' "$PMA_STAGE/include/pmemallocator.h" | sort -u)
if [ "$exp" = "$hdr" ]; then pass exports; else fail exports "library: $(echo $exp) header: $(echo $hdr)"; fi
soname=$(readelf -d "$PMA_STAGE/lib/libpmemallocator.so.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
if [ "$soname" = libpmemallocator.so.0 ]; then pass soname; else fail soname "got $soname"; fi
# Not to be confused with memkind's pmem_allocator.h: ours is .hpp and does not clash.
if [ -f "$PMA_STAGE/include/pmem_allocator.hpp" ] && [ ! -e "$PMA_STAGE/include/pmem_allocator.h" ]; then
	pass header_names
else
	fail header_names "expected pmem_allocator.hpp only"
fi

harness_end
