/*
 * Space: how much of a 64 MiB pool holds value bytes when the first eviction happens
 * (256-byte values must fill at least 80%, 1 KiB values at least 90%), and how much DRAM
 * each entry costs (anonymous memory of the process per entry, at most 158 bytes, the
 * figure measured for libvmemcache 0.8.1).
 *
 * usage: test_space DIR [report]   ("report" prints the figures without checking them)
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static int first_evict;

static void on_evict(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)c;
	(void)k;
	(void)ks;
	if (!first_evict)
		*(unsigned long long *)arg = stat_of(c, VMEMCACHE_STAT_ENTRIES);
	first_evict = 1;
}

static long rss_anon_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* Fills a 64 MiB cache with vsize-byte values; returns the share of the pool holding
 * values at the first eviction and stores the DRAM per entry at that point. */
static double fill_ratio(const char *dir, size_t vsize, double *dram_per_entry)
{
	size_t pool = 64 << 20;
	long before = rss_anon_kb();
	VMEMcache *c = make_cache(dir, pool, 0, VMEMCACHE_REPLACEMENT_LRU);
	if (!c)
		return -1;
	unsigned long long at_first = 0;
	first_evict = 0;
	vmemcache_callback_on_evict(c, on_evict, &at_first);
	char v[4096];
	fill(v, 1, 0, vsize);
	uint64_t k;
	long after = 0;
	for (k = 0; !first_evict; k++) {
		if (vmemcache_put(c, &k, sizeof(k), v, vsize) != 0) {
			printf("put failed: %s\n", vmemcache_errormsg());
			break;
		}
		if (!first_evict)
			after = rss_anon_kb();
	}
	*dram_per_entry = at_first ? (after - before) * 1024.0 / (double)at_first : -1;
	vmemcache_delete(c);
	return (double)at_first * (double)vsize / (double)pool;
}

/* fill_ratio in a fresh child process, so memory freed by one run does not hide the
 * next run's DRAM use. */
static double measure(const char *dir, size_t vsize, double *dram)
{
	int fd[2];
	double res[2] = {-1, -1};
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		res[0] = fill_ratio(dir, vsize, &res[1]);
		if (write(fd[1], res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = -1;
	close(fd[0]);
	waitpid(pid, NULL, 0);
	*dram = res[1];
	return res[0];
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int report = argc > 2;
	double d256, d1k;
	double r256 = measure(argv[1], 256, &d256);
	double r1k = measure(argv[1], 1024, &d1k);
	printf("space 256B %.4f 1KiB %.4f dram_per_entry 256B %.1f 1KiB %.1f\n", r256, r1k, d256, d1k);
	if (report)
		return 0;
	STEP("256-byte values fill at least 80%% of the pool before the first eviction");
	CHECK(r256 >= 0.80);
	STEP("1 KiB values fill at least 90%%");
	CHECK(r1k >= 0.90);
	STEP("DRAM per entry at most 158 bytes");
	CHECK(d256 > 0 && d256 <= 158);
	CHECK(d1k > 0 && d1k <= 158);
	return finish();
}
