// Shared helpers of the PMemAllocator tests: a scratch directory per test, a config maker,
// pattern fill/check and the thread count of this process.
#ifndef PMA_TESTS_COMMON_HPP
#define PMA_TESTS_COMMON_HPP

#include "pmem_allocator.hpp"

#include "check.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

static inline std::string work_dir(const char *test)
{
	const char *base = getenv("PMA_WORK");
	std::string d = std::string(base ? base : "/tmp") + "/" + test;
	std::string cmd = "rm -rf '" + d + "' && mkdir -p '" + d + "'";
	if (system(cmd.c_str()) != 0) {
		printf("cannot make %s\n", d.c_str());
		exit(1);
	}
	return d;
}

static inline PMemAllocatorConfig make_config(uint32_t unit, uint64_t max, uint64_t segment,
					      float interval = 0.1f)
{
	PMemAllocatorConfig c;
	c.allocation_unit = unit;
	c.max_allocation_size = max;
	c.segment_size = segment;
	c.bg_thread_interval = interval;
	return c;
}

// Bytes derived from (seed, index), so a block's content tells whose it is.
static inline uint8_t pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i * 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return (uint8_t)(x ^ (x >> 17));
}

static inline void fill(void *p, uint64_t size, uint64_t seed)
{
	uint8_t *b = static_cast<uint8_t *>(p);
	for (uint64_t i = 0; i < size; i++)
		b[i] = pattern_byte(seed, i);
}

static inline bool intact(const void *p, uint64_t size, uint64_t seed)
{
	const uint8_t *b = static_cast<const uint8_t *>(p);
	for (uint64_t i = 0; i < size; i++)
		if (b[i] != pattern_byte(seed, i))
			return false;
	return true;
}

static inline bool exists(const std::string &p)
{
	struct stat st;
	return stat(p.c_str(), &st) == 0;
}

// Threads of this process whose name starts with `prefix`.
static inline int threads_named(const char *prefix)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while (struct dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		std::string f = std::string("/proc/self/task/") + e->d_name + "/comm";
		FILE *fp = fopen(f.c_str(), "r");
		if (!fp)
			continue;
		char name[64] = {0};
		if (fgets(name, sizeof name, fp) && strncmp(name, prefix, strlen(prefix)) == 0)
			n++;
		fclose(fp);
	}
	closedir(d);
	return n;
}

#endif
