#!/bin/sh
# Benchmarks our libpmemobj against the system's (PMDK) on the same files in the same
# run: bench.c is built twice and the two binaries run in alternating rounds (A B A B
# ...). Prints medians, spread ((max - min) / median) and the ratio ours / reference.
# Pool files live on /dev/shm (tmpfs), where msync is cheap and flushes are real.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${PMEMOBJ_OURS:?path of our libpmemobj.so.1}"
syslib=${PMEMOBJ_SYSTEM_LIB:-/usr/lib/x86_64-linux-gnu/libpmemobj.so.1}
work=${PMEMOBJ_WORK:-/tmp/pmemobj-bench.$$}
CC=${CC:-cc}
rounds=${PMEMOBJ_BENCH_ROUNDS:-3}
secs=${PMEMOBJ_BENCH_SECONDS:-0.3}
rm -rf "$work"
mkdir -p "$work/lib"
if [ ! -f "$syslib" ] || [ ! -f /usr/include/libpmemobj.h ]; then
	echo "pmemobj-bench: skipped (the system's libpmemobj and its headers are not installed)"
	exit 0
fi
shm=$(mktemp -d /dev/shm/pmemobj-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$shm"' EXIT
ln -sf "$PMEMOBJ_OURS" "$work/lib/libpmemobj.so.1"
ln -sf libpmemobj.so.1 "$work/lib/libpmemobj.so"
$CC -O2 -o "$work/bench-ours" "$here/bench.c" -I"$root/include" -L"$work/lib" -lpmemobj \
	-Wl,-rpath,"$work/lib" -lpthread || exit 1
$CC -O2 -o "$work/bench-ref" "$here/bench.c" -lpmemobj -lpthread || exit 1

# stats NAME UNIT HIGHER_IS_BETTER ours... -- ref...
stats() {
	name=$1; unit=$2; hib=$3; shift 3
	printf '%s\n' "$@" | awk -v name="$name" -v unit="$unit" -v hib="$hib" '
		$0 == "--" { side = 1; next }
		{ if (side) r[nr++] = $0; else o[no++] = $0 }
		function med(a, n,   i, j, t) {
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
		}
		END {
			mo = med(o, no); mr = med(r, nr)
			so = mo ? (o[no - 1] - o[0]) / mo * 100 : 0
			sr = mr ? (r[nr - 1] - r[0]) / mr * 100 : 0
			ratio = mr ? mo / mr : 0
			printf "%-34s %12.6g %-6s (+-%4.1f%%) %12.6g (+-%4.1f%%)   ours/ref %.2f%s\n", \
				name, mo, unit, so, mr, sr, ratio, hib ? "" : " (lower is better)"
		}'
}

echo "pmemobj-bench: $rounds rounds, ours vs $(basename "$syslib") (medians)"
printf '%-34s %19s %12s %25s\n' "case" "ours" "" "reference"
for force in 0 1; do
	for size in 64 256 4096; do
		for threads in 1 2; do
			o=""; r=""
			i=0
			while [ $i -lt "$rounds" ]; do
				o="$o $(PMEM_IS_PMEM_FORCE=$force "$work/bench-ours" allocfree "$shm/af.pool" $size $threads $secs)"
				r="$r $(PMEM_IS_PMEM_FORCE=$force "$work/bench-ref" allocfree "$shm/af.pool" $size $threads $secs)"
				i=$((i + 1))
			done
			# shellcheck disable=SC2086
			stats "alloc+free ${size}B ${threads}t force=$force" "ops/s" 1 $o -- $r
		done
	done
done

# open of a 1 GiB pool with 1 M objects (made by the reference library)
PMEM_IS_PMEM_FORCE=1 "$work/bench-ref" mkpool "$shm/open.pool" 1000000 || echo "mkpool failed"
o=""; r=""
i=0
while [ $i -lt "$rounds" ]; do
	o="$o $("$work/bench-ours" open "$shm/open.pool")"
	r="$r $("$work/bench-ref" open "$shm/open.pool")"
	i=$((i + 1))
done
# shellcheck disable=SC2086
stats "open 1 GiB pool, 1 M objects" "s" 0 $o -- $r
o=""; r=""
i=0
while [ $i -lt "$rounds" ]; do
	o="$o $("$work/bench-ours" openalloc "$shm/open.pool")"
	r="$r $("$work/bench-ref" openalloc "$shm/open.pool")"
	i=$((i + 1))
done
# shellcheck disable=SC2086
stats "open + first alloc/free, same pool" "s" 0 $o -- $r
rm -f "$shm/open.pool"

# fill with 256 B objects, free all, refill
for which in ours ref; do
	set -- $(PMEM_IS_PMEM_FORCE=1 "$work/bench-$which" refill "$shm/refill.pool")
	awk -v w="$which" -v a="$1" -v b="$2" 'BEGIN { printf "refill 256B (%s): first fill %d, refill %d = %.2f%%\n", w, a, b, b / a * 100 }'
done
