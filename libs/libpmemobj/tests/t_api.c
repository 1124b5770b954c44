/*
 * The atomic API beyond the tutorial: every allocation call and flag, realloc keeping
 * data, strdup/wcsdup, usable sizes, type numbers, constructor cancellation, NULL and
 * on-pool destinations, the root object, pool lookup by pointer and id, the persistence
 * helpers, and data that survives close and reopen (checked with checksums).
 */
#include <libpmemobj.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include "../../../tests/harness/check.h"

struct root {
	PMEMoid slot[64];
	uint64_t sums[64];
	char note[32];
};

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

static int fill(PMEMobjpool *pop, void *ptr, void *arg)
{
	size_t n = *(size_t *)arg;
	unsigned char *c = ptr;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(i * 7 + n);
	pmemobj_persist(pop, ptr, n);
	return 0;
}

static int cancel(PMEMobjpool *pop, void *ptr, void *arg)
{
	(void)pop; (void)ptr;
	++*(int *)arg;
	return 5;
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	const char *path = argv[1];
	remove(path);
	PMEMobjpool *pop = pmemobj_create(path, "api", 32 << 20, 0600);
	REQUIRE(pop != NULL);
	CHECK(pmemobj_check_version(PMEMOBJ_MAJOR_VERSION, PMEMOBJ_MINOR_VERSION) == NULL);
	CHECK(pmemobj_check_version(PMEMOBJ_MAJOR_VERSION + 1, 0) != NULL);

	STEP("root object: created zeroed, grown keeping data");
	CHECK_EQ(pmemobj_root_size(pop), 0);
	PMEMoid r = pmemobj_root(pop, sizeof(struct root));
	REQUIRE(!OID_IS_NULL(r));
	struct root *rp = pmemobj_direct(r);
	CHECK_EQ(pmemobj_root_size(pop), sizeof(struct root));
	int zero = 1;
	for (size_t i = 0; i < sizeof(*rp); i++)
		zero &= ((char *)rp)[i] == 0;
	CHECK(zero);
	strcpy(rp->note, "kept");
	pmemobj_persist(pop, rp->note, sizeof(rp->note));
	CHECK(OID_EQUALS(pmemobj_root(pop, 10), r));
	PMEMoid r2 = pmemobj_root(pop, sizeof(struct root) + 5000);
	CHECK(!OID_EQUALS(r2, r));
	rp = pmemobj_direct(r2);
	CHECK(strcmp(rp->note, "kept") == 0);
	CHECK_EQ(pmemobj_root_size(pop), sizeof(struct root) + 5000);
	PMEMoid it;
	int n = 0;
	POBJ_FOREACH(pop, it)
		n++;
	CHECK_EQ(n, 0); /* the root is not in the collection */

	STEP("allocations of many sizes with data checksums");
	size_t sizes[] = {1, 8, 63, 64, 100, 256, 1000, 4096, 10000, 65536, 300000, 1 << 20, 3 << 20};
	int ns = sizeof(sizes) / sizeof(sizes[0]);
	for (int i = 0; i < ns; i++) {
		CHECK_EQ(pmemobj_alloc(pop, &rp->slot[i], sizes[i], 100 + i, fill, &sizes[i]), 0);
		CHECK(pmemobj_alloc_usable_size(rp->slot[i]) >= sizes[i]);
		CHECK_EQ(pmemobj_type_num(rp->slot[i]), 100 + i);
		CHECK(pmemobj_pool_by_oid(rp->slot[i]) == pop);
		CHECK(pmemobj_pool_by_ptr(pmemobj_direct(rp->slot[i])) == pop);
		PMEMoid back = pmemobj_oid(pmemobj_direct(rp->slot[i]));
		CHECK(OID_EQUALS(back, rp->slot[i]));
		rp->sums[i] = fnv(pmemobj_direct(rp->slot[i]), sizes[i]);
	}
	pmemobj_persist(pop, rp->sums, sizeof(rp->sums));
	n = 0;
	POBJ_FOREACH(pop, it)
		n++;
	CHECK_EQ(n, ns);

	STEP("zalloc and xalloc(ZERO) give zeroed memory; NO_FLUSH accepted");
	PMEMoid z;
	CHECK_EQ(pmemobj_zalloc(pop, &z, 5000, 7), 0);
	zero = 1;
	for (size_t i = 0; i < pmemobj_alloc_usable_size(z); i++)
		zero &= ((char *)pmemobj_direct(z))[i] == 0;
	CHECK(zero);
	pmemobj_free(&z);
	CHECK(OID_IS_NULL(z));
	CHECK_EQ(pmemobj_xalloc(pop, &z, 700, 8, POBJ_XALLOC_ZERO | POBJ_XALLOC_NO_FLUSH, NULL, NULL), 0);
	CHECK_EQ(((char *)pmemobj_direct(z))[699], 0);
	pmemobj_free(&z);
	errno = 0;
	CHECK_EQ(pmemobj_xalloc(pop, &z, 700, 8, 1 << 9, NULL, NULL), -1);
	CHECK_EQ(errno, EINVAL);

	STEP("constructor returning non-zero cancels: -1, ECANCELED, nothing allocated");
	int calls = 0;
	z = OID_NULL;
	errno = 0;
	CHECK_EQ(pmemobj_alloc(pop, &z, 128, 9, cancel, &calls), -1);
	CHECK_EQ(errno, ECANCELED);
	CHECK_EQ(calls, 1);
	CHECK(OID_IS_NULL(z));
	n = 0;
	POBJ_FOREACH(pop, it)
		n++;
	CHECK_EQ(n, ns);

	STEP("NULL destination");
	CHECK_EQ(pmemobj_alloc(pop, NULL, 48, 55, NULL, NULL), 0);
	PMEMoid found = POBJ_FIRST_TYPE_NUM(pop, 55);
	CHECK(!OID_IS_NULL(found));
	pmemobj_free(&found);
	CHECK(OID_IS_NULL(POBJ_FIRST_TYPE_NUM(pop, 55)));

	STEP("realloc keeps the data, zrealloc zeroes the tail");
	PMEMoid ra;
	size_t s100 = 100;
	CHECK_EQ(pmemobj_alloc(pop, &ra, 100, 11, fill, &s100), 0);
	uint64_t s0 = fnv(pmemobj_direct(ra), 100);
	CHECK_EQ(pmemobj_realloc(pop, &ra, 50000, 11), 0);
	CHECK_EQ(fnv(pmemobj_direct(ra), 100), s0);
	CHECK(pmemobj_alloc_usable_size(ra) >= 50000);
	CHECK_EQ(pmemobj_zrealloc(pop, &ra, 600000, 12), 0);
	CHECK_EQ(fnv(pmemobj_direct(ra), 100), s0);
	CHECK_EQ(((char *)pmemobj_direct(ra))[599999], 0);
	CHECK_EQ(((char *)pmemobj_direct(ra))[60000], 0);
	CHECK_EQ(pmemobj_type_num(ra), 12);
	CHECK_EQ(pmemobj_realloc(pop, &ra, 0, 12), 0);
	CHECK(OID_IS_NULL(ra));
	CHECK_EQ(pmemobj_realloc(pop, &ra, 10, 13), 0); /* NULL id: plain alloc */
	CHECK(!OID_IS_NULL(ra));
	pmemobj_free(&ra);

	STEP("strdup / wcsdup");
	PMEMoid s, w;
	CHECK_EQ(pmemobj_strdup(pop, &s, "persistent string", 21), 0);
	CHECK(strcmp(pmemobj_direct(s), "persistent string") == 0);
	CHECK_EQ(pmemobj_type_num(s), 21);
	CHECK_EQ(pmemobj_wcsdup(pop, &w, L"wide \u00e9t\u00e9", 22), 0);
	CHECK(wcscmp(pmemobj_direct(w), L"wide \u00e9t\u00e9") == 0);
	pmemobj_free(&s);
	pmemobj_free(&w);

	STEP("persistence helpers");
	char *dst = pmemobj_direct(rp->slot[7]);
	char buf[4096];
	memset(buf, 'q', sizeof buf);
	CHECK(pmemobj_memcpy_persist(pop, dst, buf, 4096) == dst);
	CHECK(dst[4095] == 'q');
	CHECK(pmemobj_memset_persist(pop, dst, 'r', 4096) == dst);
	CHECK(dst[0] == 'r' && dst[4095] == 'r');
	pmemobj_memcpy(pop, dst, buf, 100, PMEMOBJ_F_MEM_NODRAIN);
	pmemobj_memmove(pop, dst + 1, dst, 100, PMEMOBJ_F_MEM_NONTEMPORAL);
	pmemobj_memset(pop, dst + 200, 's', 10, PMEMOBJ_F_MEM_NOFLUSH);
	pmemobj_flush(pop, dst, 300);
	pmemobj_drain(pop);
	CHECK(dst[100] == 'q' && dst[205] == 's');
	CHECK_EQ(pmemobj_xpersist(pop, dst, 10, 0), 0);
	CHECK_EQ(pmemobj_xflush(pop, dst, 10, 0), 0);
	size_t s4096 = 4096;
	fill(pop, dst, &s4096);
	rp->sums[7] = fnv(dst, 4096);
	pmemobj_persist(pop, &rp->sums[7], 8);
	int ud = 0;
	pmemobj_set_user_data(pop, &ud);
	CHECK(pmemobj_get_user_data(pop) == &ud);

	STEP("close, reopen: all data and ids intact");
	pmemobj_close(pop);
	pop = pmemobj_open(path, "api");
	REQUIRE(pop != NULL);
	rp = pmemobj_direct(pmemobj_root(pop, 0));
	REQUIRE(rp != NULL);
	CHECK(strcmp(rp->note, "kept") == 0);
	for (int i = 0; i < ns; i++) {
		CHECK_EQ(fnv(pmemobj_direct(rp->slot[i]), sizes[i]), rp->sums[i]);
		CHECK_EQ(pmemobj_type_num(rp->slot[i]), 100 + i);
	}
	STEP("free from the pool (destination inside the pool)");
	for (int i = 0; i < ns; i++) {
		pmemobj_free(&rp->slot[i]);
		CHECK(OID_IS_NULL(rp->slot[i]));
	}
	n = 0;
	POBJ_FOREACH(pop, it)
		n++;
	CHECK_EQ(n, 0);
	pmemobj_close(pop);
	CHECK_EQ(pmemobj_check(path, "api"), 1);
	remove(path);
	return finish();
}
