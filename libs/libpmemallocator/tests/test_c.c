/* The C interface from a C program: create, allocate, write, offsets, stats, free,
 * release, delete. */
#include "pmemallocator.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *base = getenv("PMA_WORK");
	char path[4096];
	snprintf(path, sizeof path, "%s/c.pool", base ? base : "/tmp");
	struct pmemallocator_config c;
	pmemallocator_config_default(&c);
	CHECK_EQ(c.allocation_unit, 64);
	c.segment_size = 1 << 20;
	c.max_allocation_size = 8192;
	c.bg_thread_interval = 0.1f;

	STEP("create, allocate, write and read back through offsets");
	pmemallocator *a = pmemallocator_new(path, 32u << 20, 4, 0, &c);
	REQUIRE(a != NULL);
	char *blocks[100];
	int bad = 0;
	for (int i = 0; i < 100; i++) {
		blocks[i] = pmemallocator_allocate(a, 100 + i * 50);
		REQUIRE(blocks[i] != NULL);
		CHECK_EQ((uintptr_t)blocks[i] % 64, 0);
		memset(blocks[i], i, 100 + i * 50);
	}
	for (int i = 0; i < 100; i++) {
		uint64_t off = pmemallocator_addr2offset(a, blocks[i]);
		char *p = pmemallocator_offset2addr(a, off);
		CHECK(p == blocks[i]);
		for (int j = 0; j < 100 + i * 50; j++)
			bad += p[j] != (char)i;
	}
	CHECK_EQ(bad, 0);
	CHECK(pmemallocator_allocate(a, 8193) == NULL);
	CHECK(pmemallocator_allocate(a, 0) == NULL);

	STEP("stats: one thread, DRAM far below 0.5%% of the pool");
	struct pmemallocator_stats s;
	CHECK_EQ(pmemallocator_get_stats(a, &s), 0);
	CHECK_EQ(s.threads, 1);
	CHECK_EQ(s.pool_size, 32u << 20);
	CHECK(s.dram_size > 0 && s.dram_size * 200 < s.pool_size);
	CHECK(s.metadata_size < s.pool_size / 100);

	for (int i = 0; i < 100; i++)
		pmemallocator_free(a, blocks[i]);
	pmemallocator_free(a, NULL);
	pmemallocator_release(a);
	CHECK_EQ(pmemallocator_get_stats(a, &s), 0);
	CHECK_EQ(s.threads, 0);
	CHECK(s.pending_free > 0 || s.shared_free == s.data_size);
	pmemallocator_delete(a);
	unlink(path);
	CHECK(strlen(pmemallocator_errormsg()) < 1000);
	return finish();
}
