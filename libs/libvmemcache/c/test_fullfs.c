/*
 * A pool larger than its file system: once the file system is full a put fails with
 * ENOSPC and a message, and no stored value is lost or damaged (no SIGBUS either).
 * The runner mounts a small tmpfs for it (in a private mount namespace).
 *
 * usage: test_fullfs DIR-ON-A-SMALL-FS
 */
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	STEP("64 MiB pool on an 8 MiB file system");
	VMEMcache *c = make_cache(argv[1], 64 << 20, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	char v[1024];
	uint64_t k;
	int err = 0;
	for (k = 0; k < 64 * 1024; k++) {
		fill(v, k, 0, sizeof(v));
		errno = 0;
		if (vmemcache_put(c, &k, sizeof(k), v, sizeof(v)) != 0) {
			err = errno;
			break;
		}
	}
	printf("stored %llu values before the failure: %s\n", (unsigned long long)k,
		vmemcache_errormsg());
	CHECK(k > 1000);
	CHECK(k < 9 * 1024);
	CHECK_EQ(err, ENOSPC);
	CHECK(strlen(vmemcache_errormsg()) > 0);
	STEP("every stored value reads back intact");
	uint64_t bad = 0;
	for (uint64_t i = 0; i < k; i++)
		if (vmemcache_get(c, &i, sizeof(i), v, sizeof(v), 0, NULL) != sizeof(v) ||
		    !verify(v, i, 0, sizeof(v)))
			bad++;
	CHECK_EQ(bad, 0);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), k);
	STEP("the cache keeps working: after evictions the freed space is used again");
	for (uint64_t i = 0; i < 100; i++)
		CHECK_EQ(vmemcache_evict(c, &i, sizeof(i)), 0);
	int ok = 0;
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t key = 1000000 + i;
		fill(v, key, 0, sizeof(v));
		if (vmemcache_put(c, &key, sizeof(key), v, sizeof(v)) == 0)
			ok++;
	}
	CHECK_EQ(ok, 100);
	vmemcache_delete(c);
	return finish();
}
