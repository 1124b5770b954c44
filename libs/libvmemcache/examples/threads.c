/*
 * Several threads sharing one cache: each looks keys up and, on a miss, computes the
 * value and puts it (another thread may have put it first: EEXIST is fine). The pool is
 * small, so the LRU policy evicts all the time. Every value read is checked.
 *
 * usage: threads DIR [THREADS]
 */
#include <errno.h>
#include <libvmemcache.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 20000
#define OPS 100000

static VMEMcache *cache;

/* The value of key k: its decimal text repeated to a size that depends on k. */
static size_t make_value(unsigned k, char *buf)
{
	size_t n = 200 + k % 1800, len = 0;
	char txt[16];
	int t = snprintf(txt, sizeof(txt), "%u;", k);
	while (len < n) {
		size_t c = n - len < (size_t)t ? n - len : (size_t)t;
		memcpy(buf + len, txt, c);
		len += c;
	}
	return n;
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg;
	char want[2048], got[2048];
	long bad = 0;
	for (int i = 0; i < OPS; i++) {
		unsigned k = rand_r(&seed) % KEYS;
		size_t n = make_value(k, want);
		ssize_t r = vmemcache_get(cache, &k, sizeof(k), got, sizeof(got), 0, NULL);
		if (r < 0) {
			if (vmemcache_put(cache, &k, sizeof(k), want, n) && errno != EEXIST)
				fprintf(stderr, "put: %s\n", vmemcache_errormsg());
		} else if ((size_t)r != n || memcmp(got, want, n) != 0) {
			bad++;
		}
	}
	return (void *)bad;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	cache = vmemcache_new();
	vmemcache_set_size(cache, 8 << 20);
	if (vmemcache_add(cache, dir)) {
		fprintf(stderr, "vmemcache_add: %s\n", vmemcache_errormsg());
		return 1;
	}
	pthread_t t[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + 1));
	long bad = 0;
	for (int i = 0; i < nthreads; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	unsigned long long hit, miss, evict, entries;
	vmemcache_get_stat(cache, VMEMCACHE_STAT_HIT, &hit, sizeof(hit));
	vmemcache_get_stat(cache, VMEMCACHE_STAT_MISS, &miss, sizeof(miss));
	vmemcache_get_stat(cache, VMEMCACHE_STAT_EVICT, &evict, sizeof(evict));
	vmemcache_get_stat(cache, VMEMCACHE_STAT_ENTRIES, &entries, sizeof(entries));
	printf("threads %d hits %llu misses %llu evictions %llu entries %llu bad %ld\n",
		nthreads, hit, miss, evict, entries, bad);
	vmemcache_delete(cache);
	return bad != 0 || hit + miss != (unsigned long long)nthreads * OPS;
}
