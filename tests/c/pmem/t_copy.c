/* pmem_memmove/memcpy/memset and their _persist/_nodrain forms, with every flag, against
 * memmove/memset on a copy: sizes 0..4 MiB, every source and destination alignment 0-63,
 * overlap in both directions, guard bytes around the destination. run.sh runs this once per
 * CPU path (flush instruction, vector width, threshold) selected through the environment. */
#include <errno.h>
#include <libpmem.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../harness/check.h"

#define MAXLEN (4u << 20)
#define PAD 256

static unsigned char *dst_area, *src_area, *ref_area;
static size_t area_len;

enum op { MOVE, COPY, SET, MOVE_P, COPY_P, SET_P, MOVE_N, COPY_N, SET_N };
static const char *op_name[] = {"memmove", "memcpy", "memset", "memmove_persist",
	"memcpy_persist", "memset_persist", "memmove_nodrain", "memcpy_nodrain",
	"memset_nodrain"};

static const unsigned flag_sets[] = {
	0,
	PMEM_F_MEM_NODRAIN,
	PMEM_F_MEM_NONTEMPORAL,
	PMEM_F_MEM_TEMPORAL,
	PMEM_F_MEM_WC,
	PMEM_F_MEM_WB,
	PMEM_F_MEM_NOFLUSH,
	PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NODRAIN,
	PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_NODRAIN,
	PMEM_F_MEM_WC | PMEM_F_MEM_NODRAIN,
	PMEM_F_MEM_WB | PMEM_F_MEM_NODRAIN,
};
#define NFLAGS (sizeof(flag_sets) / sizeof(flag_sets[0]))

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)rng;
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed + (i >> 8));
}

static void *call(enum op op, void *d, const void *s, int c, size_t n, unsigned flags)
{
	switch (op) {
	case MOVE: return pmem_memmove(d, s, n, flags);
	case COPY: return pmem_memcpy(d, s, n, flags);
	case SET: return pmem_memset(d, c, n, flags);
	case MOVE_P: return pmem_memmove_persist(d, s, n);
	case COPY_P: return pmem_memcpy_persist(d, s, n);
	case SET_P: return pmem_memset_persist(d, c, n);
	case MOVE_N: return pmem_memmove_nodrain(d, s, n);
	case COPY_N: return pmem_memcpy_nodrain(d, s, n);
	case SET_N: return pmem_memset_nodrain(d, c, n);
	}
	return NULL;
}

/* Separate source and destination. Only the bytes that can differ are reset and compared,
 * so 4 MiB cases stay cheap. */
static void one_disjoint(enum op op, unsigned flags, size_t len, size_t da, size_t sa)
{
	unsigned char *d = dst_area + PAD + da;
	unsigned char *s = src_area + PAD + sa;
	int c = (int)(rnd() & 0xff) | 0x100; /* only the low byte counts */
	memset(d - PAD, 0x5a, len + 2 * PAD);
	fill_pattern(s, len, (unsigned)len + (unsigned)sa);
	pmem_drain();
	void *r = call(op, d, s, c, len, flags);
	pmem_drain();
	memset(ref_area, 0x5a, len + 2 * PAD);
	if (op == SET || op == SET_P || op == SET_N)
		memset(ref_area + PAD, c, len);
	else
		memcpy(ref_area + PAD, s, len);
	CHECK_MSG(r == d, "%s returned %p not %p", op_name[op], r, (void *)d);
	CHECK_MSG(memcmp(d - PAD, ref_area, len + 2 * PAD) == 0,
		"%s flags=%#x len=%zu dalign=%zu salign=%zu", op_name[op], flags, len, da, sa);
}

/* Source and destination in one buffer, `shift` apart, destination above (up) or below. */
static void one_overlap(enum op op, unsigned flags, size_t len, size_t shift, int up, size_t al)
{
	size_t span = len + shift + 2 * PAD;
	unsigned char *base = dst_area + al;
	fill_pattern(base, span, (unsigned)(len ^ shift));
	memcpy(ref_area, base, span);
	size_t s_off = PAD + (up ? 0 : shift), d_off = PAD + (up ? shift : 0);
	memmove(ref_area + d_off, ref_area + s_off, len);
	void *r = call(op, base + d_off, base + s_off, 0, len, flags);
	pmem_drain();
	CHECK_MSG(r == base + d_off, "%s returned wrong pointer", op_name[op]);
	CHECK_MSG(memcmp(base, ref_area, span) == 0,
		"%s overlap %s flags=%#x len=%zu shift=%zu align=%zu", op_name[op],
		up ? "up" : "down", flags, len, shift, al);
}

static size_t sizes[512];
static size_t nsizes;

static void build_sizes(void)
{
	for (size_t i = 0; i <= 300; i += (i < 140 ? 1 : 7))
		sizes[nsizes++] = i;
	for (size_t p = 512; p <= MAXLEN; p <<= 1) {
		sizes[nsizes++] = p - 1;
		sizes[nsizes++] = p;
		sizes[nsizes++] = p + 1 + (rnd() % 63);
	}
	sizes[nsizes - 1] = MAXLEN; /* keep within the area */
}

static void test_ops(enum op first, enum op last, int with_flags)
{
	size_t nf = with_flags ? NFLAGS : 1;
	for (enum op op = first; op <= last; op++) {
		for (size_t fi = 0; fi < nf; fi++) {
			unsigned flags = with_flags ? flag_sets[fi] : 0;
			for (size_t si = 0; si < nsizes; si++) {
				size_t len = sizes[si];
				/* Every destination alignment with a rotating source alignment;
				 * large sizes sample a few pairs to keep the run short. */
				size_t step = len > 65536 ? 21 : (len > 4096 ? 5 : 1);
				for (size_t da = (fi + si) % step; da < 64; da += step)
					one_disjoint(op, flags, len, da, (da * 7 + len + fi) % 64);
			}
		}
	}
}

static void test_overlap(void)
{
	static const size_t shifts[] = {1, 3, 8, 63, 64, 65, 200, 256, 1000, 4099};
	static const size_t lens[] = {0, 1, 7, 63, 64, 65, 127, 255, 256, 257, 1000, 4096,
		8191, 65536 + 5, 1 << 20};
	enum op ops[] = {MOVE, COPY, MOVE_P, COPY_P, MOVE_N, COPY_N};
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
		for (size_t fi = 0; fi < (ops[o] <= COPY ? NFLAGS : 1); fi++)
			for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
				for (size_t sh = 0; sh < sizeof(shifts) / sizeof(shifts[0]); sh++)
					for (int up = 0; up < 2; up++)
						one_overlap(ops[o], ops[o] <= COPY ? flag_sets[fi] : 0,
							lens[li], shifts[sh], up,
							(li * 13 + sh * 5 + up) % 64);
}

/* Full 64 x 64 alignment grid on a few sizes around the non-temporal threshold. */
static void test_alignment_grid(void)
{
	static const size_t lens[] = {1, 65, 255, 256, 319, 777};
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
		for (size_t da = 0; da < 64; da++)
			for (size_t sa = 0; sa < 64; sa++)
				one_disjoint(COPY_P, 0, lens[li], da, sa);
}

/* Several _nodrain calls before one pmem_drain (later calls of a batch may take another
 * path than the first), every size in the range where that matters, every alignment. */
static void test_batches(void)
{
	for (size_t len = 1; len <= 320; len += (len < 64 ? 21 : 3)) {
		for (size_t da = 0; da < 64; da++) {
			size_t slot = len + 64 + 128;
			size_t sa = (da * 5 + len) % 64;
			memset(dst_area, 0x5a, 9 * slot);
			memcpy(ref_area, dst_area, 9 * slot);
			fill_pattern(src_area, 9 * slot, (unsigned)len);
			for (int b = 0; b < 8; b++) {
				unsigned char *d = dst_area + (size_t)b * slot + 64 + da;
				const unsigned char *s = src_area + (size_t)b * slot + sa;
				if (b % 3 == 0) {
					pmem_memcpy_nodrain(d, s, len);
					memcpy(ref_area + (d - dst_area), s, len);
				} else if (b % 3 == 1) {
					pmem_memset_nodrain(d, b, len);
					memset(ref_area + (d - dst_area), b, len);
				} else {
					/* Overlapping move inside the slot, 7 bytes down. */
					pmem_memmove(d - 7, d, len, PMEM_F_MEM_NODRAIN);
					memmove(ref_area + (d - dst_area) - 7, ref_area + (d - dst_area), len);
				}
			}
			pmem_drain();
			CHECK_MSG(memcmp(dst_area, ref_area, 9 * slot) == 0, "batch len=%zu dalign=%zu", len, da);
		}
	}
}

/* pmem_flush / pmem_persist / pmem_deep_* leave data intact at any offset and length. */
static void test_flushes(void)
{
	fill_pattern(dst_area, 1 << 20, 7);
	memcpy(ref_area, dst_area, 1 << 20);
	for (size_t off = 0; off < 64; off += 5)
		for (size_t len = 0; len < 70000; len = len * 3 + 1) {
			pmem_flush(dst_area + off, len);
			pmem_drain();
			pmem_persist(dst_area + off, len);
			pmem_deep_flush(dst_area + off, len);
			CHECK_MSG(pmem_deep_drain(dst_area + off, len) == 0, "deep_drain");
			CHECK_MSG(pmem_deep_persist(dst_area + off, len) == 0, "deep_persist");
		}
	CHECK_MSG(memcmp(dst_area, ref_area, 1 << 20) == 0, "flushes changed data");
}

int main(void)
{
	area_len = MAXLEN + 4 * PAD + 8192;
	size_t mapped = 0;
	int is_pmem = -1;
	const char *dir = getenv("PMEM_TEST_DIR") ? getenv("PMEM_TEST_DIR") : "/dev/shm";
	dst_area = pmem_map_file(dir, area_len, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0600,
		&mapped, &is_pmem);
	if (!dst_area) {
		fprintf(stderr, "pmem_map_file(%s): %s\n", dir, pmem_errormsg());
		return 2;
	}
	src_area = malloc(area_len);
	ref_area = malloc(area_len);
	if (!src_area || !ref_area)
		return 2;
	build_sizes();
	test_ops(MOVE, SET, 1);
	test_ops(MOVE_P, SET_N, 0);
	test_overlap();
	test_alignment_grid();
	test_batches();
	test_flushes();
	/* Zero lengths with NULL pointers, as C code passes them. */
	for (size_t fi = 0; fi < NFLAGS; fi++) {
		CHECK_MSG(pmem_memmove(NULL, NULL, 0, flag_sets[fi]) == NULL, "memmove NULL");
		CHECK_MSG(pmem_memcpy(NULL, NULL, 0, flag_sets[fi]) == NULL, "memcpy NULL");
		CHECK_MSG(pmem_memset(NULL, 1, 0, flag_sets[fi]) == NULL, "memset NULL");
	}
	pmem_persist(NULL, 0);
	pmem_flush(NULL, 0);
	CHECK_MSG(pmem_unmap(dst_area, mapped) == 0, "unmap: %s", pmem_errormsg());
	return finish();
}
