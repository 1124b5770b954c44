/*
 * Format compatibility and binary drop-in. Built twice (against our library and against
 * PMDK's), run in turns on the same pool file:
 *   t_compat write PATH      create a pool and fill it with checksummed objects
 *   t_compat verify PATH G   check every object, the collection and the ids, then free,
 *                            reallocate and allocate some (generation G) and record sums
 *   t_compat which           print the libpmemobj the process runs on
 */
#include <libpmemobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../tests/harness/check.h"

#define NSLOTS 300
struct root {
	uint64_t count;
	PMEMoid slot[NSLOTS];
	uint64_t size[NSLOTS];
	uint64_t sum[NSLOTS];
};

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

struct seed { size_t size; unsigned seed; };

static int construct(PMEMobjpool *pop, void *ptr, void *arg)
{
	struct seed *s = arg;
	unsigned char *c = ptr;
	unsigned x = s->seed;
	for (size_t i = 0; i < s->size; i++) {
		x = x * 1103515245 + 12345;
		c[i] = (unsigned char)(x >> 16);
	}
	pmemobj_persist(pop, ptr, s->size);
	return 0;
}

static size_t size_for(int i, int gen)
{
	static const size_t sz[] = {16, 40, 64, 100, 200, 256, 500, 1000, 2000, 4096,
		8000, 20000, 70000, 200000, 300000, 1 << 20, 3 << 20};
	return sz[(i * 7 + gen) % (sizeof sz / sizeof sz[0])];
}

static void put(PMEMobjpool *pop, struct root *r, int i, int gen)
{
	struct seed s = {size_for(i, gen), (unsigned)(i * 31 + gen)};
	if (s.size >= (1 << 20) && i % 10 != 0)
		s.size = 777; /* few big ones: the pool is small */
	int rc = pmemobj_alloc(pop, &r->slot[i], s.size, 1000 + i, construct, &s);
	CHECK_EQ(rc, 0);
	r->size[i] = s.size;
	r->sum[i] = rc == 0 ? fnv(pmemobj_direct(r->slot[i]), s.size) : 0;
	pmemobj_persist(pop, &r->size[i], sizeof(r->size[i]));
	pmemobj_persist(pop, &r->sum[i], sizeof(r->sum[i]));
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	if (strcmp(argv[1], "which") == 0) {
		FILE *f = fopen("/proc/self/maps", "r");
		char line[1024];
		pmemobj_check_version(2, 0);
		while (f && fgets(line, sizeof line, f))
			if (strstr(line, "libpmemobj")) {
				printf("%s", strchr(line, '/'));
				break;
			}
		return 0;
	}
	REQUIRE(argc >= 3);
	const char *path = argv[2];
	if (strcmp(argv[1], "write") == 0) {
		remove(path);
		PMEMobjpool *pop = pmemobj_create(path, "compat", 64 << 20, 0644);
		REQUIRE(pop != NULL);
		struct root *r = pmemobj_direct(pmemobj_root(pop, sizeof(struct root)));
		REQUIRE(r != NULL);
		for (int i = 0; i < NSLOTS; i++)
			put(pop, r, i, 0);
		r->count = NSLOTS;
		pmemobj_persist(pop, &r->count, 8);
		pmemobj_close(pop);
		return finish();
	}
	int gen = argc > 3 ? atoi(argv[3]) : 1;
	PMEMobjpool *pop = pmemobj_open(path, "compat");
	if (pop == NULL)
		printf("open: %s\n", pmemobj_errormsg());
	REQUIRE(pop != NULL);
	CHECK_EQ(pmemobj_root_size(pop), sizeof(struct root));
	struct root *r = pmemobj_direct(pmemobj_root(pop, 0));
	REQUIRE(r != NULL);
	int live = 0, bad = 0;
	for (int i = 0; i < NSLOTS; i++) {
		if (OID_IS_NULL(r->slot[i]))
			continue;
		live++;
		void *p = pmemobj_direct(r->slot[i]);
		if (p == NULL || fnv(p, r->size[i]) != r->sum[i] ||
		    pmemobj_type_num(r->slot[i]) != (uint64_t)(1000 + i) ||
		    pmemobj_alloc_usable_size(r->slot[i]) < r->size[i])
			bad++;
	}
	CHECK_EQ(bad, 0);
	int seen = 0, foreign = 0;
	PMEMoid it;
	POBJ_FOREACH(pop, it) {
		seen++;
		uint64_t t = pmemobj_type_num(it);
		if (t < 1000 || t >= 1000 + NSLOTS || !OID_EQUALS(r->slot[t - 1000], it))
			foreign++;
	}
	CHECK_EQ(seen, live);
	CHECK_EQ(foreign, 0);
	printf("verified %d objects\n", live);
	/* change things: free, realloc, allocate */
	for (int i = gen % 3; i < NSLOTS; i += 3) {
		if (!OID_IS_NULL(r->slot[i]))
			pmemobj_free(&r->slot[i]);
		CHECK(OID_IS_NULL(r->slot[i]));
	}
	for (int i = (gen + 1) % 5; i < NSLOTS; i += 5) {
		if (OID_IS_NULL(r->slot[i]) || r->size[i] > 100000)
			continue;
		size_t ns = r->size[i] * 2 + 10;
		CHECK_EQ(pmemobj_realloc(pop, &r->slot[i], ns, 1000 + i), 0);
		char *p = pmemobj_direct(r->slot[i]);
		memset(p + r->size[i], 0x33, ns - r->size[i]);
		pmemobj_persist(pop, p + r->size[i], ns - r->size[i]);
		r->size[i] = ns;
		r->sum[i] = fnv(p, ns);
		pmemobj_persist(pop, &r->size[i], 8);
		pmemobj_persist(pop, &r->sum[i], 8);
	}
	for (int i = 0; i < NSLOTS; i++)
		if (OID_IS_NULL(r->slot[i]) && (i + gen) % 2 == 0)
			put(pop, r, i, gen);
	pmemobj_close(pop);
	return finish();
}
