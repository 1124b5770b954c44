/*
 * Threads sharing one small LRU cache: puts, gets, evictions by key and of the LRU entry
 * all at once, every value checked against its key's pattern on every read. At the end the
 * statistics must agree with what the threads and the eviction callback saw. A second
 * phase hammers get against evict(NULL) on freshly put keys (an entry must be on the LRU
 * list before anyone can find it).
 *
 * usage: test_mt DIR [THREADS] [OPS]
 */
#include <pthread.h>
#include <stdatomic.h>
#include "common.h"

#define KEYS 4000

static VMEMcache *cache;
static int nops = 200000;
static atomic_long evict_cb, corrupt, puts_ok, hard_errors;

static void on_evict(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)c;
	(void)k;
	(void)arg;
	if (ks != sizeof(uint64_t))
		atomic_fetch_add(&hard_errors, 1);
	atomic_fetch_add(&evict_cb, 1);
}

static size_t vlen(uint64_t k)
{
	return 64 + (k * 7919) % 3000;
}

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 7777 + 1;
	char buf[4096];
	for (int i = 0; i < nops; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t k = (seed >> 33) % KEYS;
		unsigned op = (seed >> 20) % 100;
		if (op < 60) {
			size_t vs = 0;
			size_t off = (seed >> 8) % 64;
			ssize_t n = vmemcache_get(cache, &k, sizeof(k), buf, sizeof(buf), off, &vs);
			if (n >= 0) {
				if (vs != vlen(k) || (size_t)n != vs - off || !verify(buf, k, off, (size_t)n))
					atomic_fetch_add(&corrupt, 1);
			} else if (errno != ENOENT) {
				atomic_fetch_add(&hard_errors, 1);
			}
		} else if (op < 90) {
			fill(buf, k, 0, vlen(k));
			if (vmemcache_put(cache, &k, sizeof(k), buf, vlen(k)) == 0)
				atomic_fetch_add(&puts_ok, 1);
			else if (errno != EEXIST)
				atomic_fetch_add(&hard_errors, 1);
		} else if (op < 95) {
			if (vmemcache_evict(cache, &k, sizeof(k)) != 0 && errno != ENOENT)
				atomic_fetch_add(&hard_errors, 1);
		} else {
			if (vmemcache_evict(cache, NULL, 0) != 0 && errno != ESRCH)
				atomic_fetch_add(&hard_errors, 1);
		}
	}
	return NULL;
}

static atomic_int stop;
static atomic_long race_errors;

static void *race_put_get(void *arg)
{
	uint64_t base = (uintptr_t)arg * 1000000000ull;
	char v[300], b[300];
	for (uint64_t i = 0; !atomic_load(&stop); i++) {
		uint64_t k = base + i;
		fill(v, k, 0, sizeof(v));
		if (vmemcache_put(cache, &k, sizeof(k), v, sizeof(v)) != 0)
			continue;
		ssize_t n = vmemcache_get(cache, &k, sizeof(k), b, sizeof(b), 0, NULL);
		if (n >= 0 && (n != 300 || !verify(b, k, 0, 300)))
			atomic_fetch_add(&race_errors, 1);
		vmemcache_evict(cache, &k, sizeof(k));
	}
	return NULL;
}

static void *race_evict(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		vmemcache_evict(cache, NULL, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	if (argc > 3)
		nops = atoi(argv[3]);
	STEP("%d threads, %d mixed operations each, values checked on every read", nthreads, nops);
	cache = make_cache(argv[1], 2 * VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(cache);
	vmemcache_callback_on_evict(cache, on_evict, NULL);
	pthread_t t[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&corrupt), 0);
	CHECK_EQ(atomic_load(&hard_errors), 0);
	CHECK(atomic_load(&evict_cb) > 0);

	STEP("statistics agree with the threads and the callback");
	CHECK_EQ(stat_of(cache, VMEMCACHE_STAT_PUT), atomic_load(&puts_ok));
	CHECK_EQ(stat_of(cache, VMEMCACHE_STAT_EVICT), atomic_load(&evict_cb));
	long present = 0;
	char buf[4096];
	long bad = 0;
	for (uint64_t k = 0; k < KEYS; k++) {
		size_t vs;
		if (vmemcache_exists(cache, &k, sizeof(k), &vs) == 1) {
			present++;
			if (vmemcache_get(cache, &k, sizeof(k), buf, sizeof(buf), 0, NULL) != (ssize_t)vlen(k) ||
			    !verify(buf, k, 0, vlen(k)))
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(stat_of(cache, VMEMCACHE_STAT_ENTRIES), present);
	CHECK_EQ(atomic_load(&puts_ok) - atomic_load(&evict_cb), present);
	CHECK(stat_of(cache, VMEMCACHE_STAT_POOL_SIZE_USED) <= 2 * VMEMCACHE_MIN_POOL);

	STEP("get/put against evict(NULL) on fresh keys");
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, i % 2 ? race_evict : race_put_get, (void *)(uintptr_t)(i + 1));
	struct timespec ts = {1, 0};
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&race_errors), 0);
	CHECK_EQ(stat_of(cache, VMEMCACHE_STAT_EVICT), atomic_load(&evict_cb));
	vmemcache_delete(cache);
	return finish();
}
