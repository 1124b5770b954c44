/*
 * A 1 TiB cache on a sparse file: it can be created, used at both ends of its space, and
 * only the touched part costs file-system blocks.
 *
 * usage: test_bigpool DIR
 */
#include <sys/statvfs.h>
#include "common.h"

static unsigned long long used_bytes(const char *dir)
{
	struct statvfs s;
	if (statvfs(dir, &s))
		return 0;
	return (unsigned long long)(s.f_blocks - s.f_bfree) * s.f_frsize;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *dir = argv[1];
	size_t tib = 1ull << 40;
	STEP("a 1 TiB cache on a sparse file");
	unsigned long long before = used_bytes(dir);
	VMEMcache *c = vmemcache_new();
	REQUIRE(c);
	CHECK_EQ(vmemcache_set_size(c, tib), 0);
	CHECK_EQ(vmemcache_set_extent_size(c, 4096), 0);
	CHECK_EQ(vmemcache_set_eviction_policy(c, VMEMCACHE_REPLACEMENT_NONE), 0);
	if (vmemcache_add(c, dir) != 0) {
		printf("add failed: %s\n", vmemcache_errormsg());
		if (errno == EFBIG || errno == ENOMEM) {
			printf("file system or address space cannot hold 1 TiB here\n");
			return SKIP_STATUS;
		}
		REQUIRE(0);
	}
	char v[65536];
	for (uint64_t k = 0; k < 256; k++) {
		fill(v, k, 0, sizeof(v));
		CHECK_EQ(vmemcache_put(c, &k, sizeof(k), v, sizeof(v)), 0);
	}
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED), 256 * 65536);
	unsigned long long after = used_bytes(dir);
	printf("file-system use grew by %llu bytes for 16 MiB of values\n", after - before);
	STEP("only the touched space costs blocks");
	CHECK(after - before < 64ull << 20);
	uint64_t bad = 0;
	for (uint64_t k = 0; k < 256; k++)
		if (vmemcache_get(c, &k, sizeof(k), v, sizeof(v), 0, NULL) != sizeof(v) ||
		    !verify(v, k, 0, sizeof(v)))
			bad++;
	CHECK_EQ(bad, 0);
	vmemcache_delete(c);
	STEP("the space is returned at delete");
	CHECK(used_bytes(dir) < before + (8ull << 20));
	return finish();
}
