/*
 * Helpers shared by the libvmemcache C tests: value patterns that carry their own
 * checksum (so any read can be verified without remembering what was written), a cache
 * constructor with error reporting, and statistics reads.
 */
#ifndef VMC_TEST_COMMON_H
#define VMC_TEST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <libvmemcache.h>
#include "check.h"

/* The byte at position i of the value stored for key number k. */
static inline unsigned char pat(uint64_t k, size_t i)
{
	uint64_t x = (k + 1) * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return (unsigned char)(x ^ (x >> 17));
}

static inline void fill(void *buf, uint64_t k, size_t off, size_t n)
{
	unsigned char *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = pat(k, off + i);
}

/* 1 when buf holds bytes [off, off + n) of key k's value. */
static inline int verify(const void *buf, uint64_t k, size_t off, size_t n)
{
	const unsigned char *b = buf;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(k, off + i))
			return 0;
	return 1;
}

static inline VMEMcache *make_cache(const char *dir, size_t size, size_t ext,
	enum vmemcache_repl_p p)
{
	VMEMcache *c = vmemcache_new();
	if (!c)
		return NULL;
	if ((size && vmemcache_set_size(c, size)) ||
	    (ext && vmemcache_set_extent_size(c, ext)) ||
	    vmemcache_set_eviction_policy(c, p) || vmemcache_add(c, dir)) {
		printf("cache setup failed: %s\n", vmemcache_errormsg());
		vmemcache_delete(c);
		return NULL;
	}
	return c;
}

static inline unsigned long long stat_of(VMEMcache *c, enum vmemcache_statistic s)
{
	unsigned long long v = 0;
	if (vmemcache_get_stat(c, s, &v, sizeof(v)))
		return ~0ull;
	return v;
}

#endif
