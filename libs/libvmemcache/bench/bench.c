/*
 * Speed of a libvmemcache (whichever one the dynamic linker loads): 1 KiB values in a
 * 256 MiB LRU cache on DIR (prefaulted), for 1 and 2 threads each:
 *   hit    gets of keys that are all cached
 *   mix    90% gets of the prefilled keys, 10% puts of new keys (once the cache is full,
 *          each evicts the least recently used entry)
 *   evict  puts of new keys into the full cache (each evicts)
 * Prints "NAME OPS_PER_SEC OPS_PER_CPU_SEC" lines: wall-clock throughput, and the sum over
 * the threads of operations per second of the CPU time each thread got (steadier on a
 * shared machine; it cannot show lock waits, which the wall-clock figure does). Values are
 * checked on every get that hits.
 *
 * usage: bench DIR [MILLISECONDS [ONLY]]   (ONLY: run just the workloads named so, e.g.
 *                                          "put-evict-1t"; the others print 0)
 */
#include <errno.h>
#include <libvmemcache.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VSIZE 1024
#define POOL (256ull << 20)
#define FILLED 150000ull

static VMEMcache *cache;
static int ms = 400;
static atomic_int go, stop;
static atomic_ullong next_key;
static atomic_long bad;

struct job {
	int mode;
	unsigned long long ops;
	uint64_t seed;
	double cpu;
};

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void value_of(uint64_t k, char *v)
{
	memset(v, (int)(k & 0xff), VSIZE);
	memcpy(v, &k, sizeof(k));
}

static void *worker(void *arg)
{
	struct job *j = arg;
	char v[VSIZE], b[VSIZE];
	uint64_t s = j->seed;
	while (!atomic_load(&go))
		;
	double c0 = cpu_now();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t r = s >> 17;
			if (j->mode == 0) {
				uint64_t k = r % FILLED;
				if (vmemcache_get(cache, &k, sizeof(k), b, VSIZE, 0, NULL) != VSIZE ||
				    memcmp(b, &k, sizeof(k)) != 0)
					atomic_fetch_add(&bad, 1);
			} else if (j->mode == 1) {
				if (r % 10) {
					uint64_t k = (r / 10) % FILLED;
					ssize_t n = vmemcache_get(cache, &k, sizeof(k), b, VSIZE, 0, NULL);
					if (n >= 0 && memcmp(b, &k, sizeof(k)) != 0)
						atomic_fetch_add(&bad, 1);
				} else {
					uint64_t k = atomic_fetch_add(&next_key, 1);
					value_of(k, v);
					if (vmemcache_put(cache, &k, sizeof(k), v, VSIZE))
						atomic_fetch_add(&bad, 1);
				}
			} else {
				uint64_t k = atomic_fetch_add(&next_key, 1);
				value_of(k, v);
				if (vmemcache_put(cache, &k, sizeof(k), v, VSIZE))
					atomic_fetch_add(&bad, 1);
			}
			j->ops++;
		}
	}
	j->cpu = cpu_now() - c0;
	return NULL;
}

static const char *only;

static double cpu_rate;

static double run(int mode, int threads)
{
	static const char *names[3][2] = {{"hit-1t", "hit-2t"},
		{"mix90-10-1t", "mix90-10-2t"}, {"put-evict-1t", "put-evict-2t"}};
	cpu_rate = 0;
	if (only && strcmp(only, names[mode][threads - 1]) != 0)
		return 0;
	pthread_t t[16];
	struct job j[16];
	atomic_store(&go, 0);
	atomic_store(&stop, 0);
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){mode, 0, (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull, 0};
		pthread_create(&t[i], NULL, worker, &j[i]);
	}
	double t0 = now();
	atomic_store(&go, 1);
	struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&d, NULL);
	atomic_store(&stop, 1);
	unsigned long long ops = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ops += j[i].ops;
		if (j[i].cpu > 0)
			cpu_rate += j[i].ops / j[i].cpu;
	}
	return ops / (now() - t0);
}

static void report(const char *name, double wall)
{
	printf("%s %.0f %.0f\n", name, wall, cpu_rate);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (argc > 2)
		ms = atoi(argv[2]);
	if (argc > 3)
		only = argv[3];
	cache = vmemcache_new();
	vmemcache_set_size(cache, POOL);
	if (vmemcache_add(cache, argv[1])) {
		fprintf(stderr, "vmemcache_add: %s\n", vmemcache_errormsg());
		return 1;
	}
	/* touch the whole pool first, so no run pays for first-touch page faults (a cache
	 * that holds more values would otherwise touch more new pages while timed) */
	vmemcache_bench_set(cache, VMEMCACHE_BENCH_PREFAULT, 1);
	char v[VSIZE];
	for (uint64_t k = 0; k < FILLED; k++) {
		value_of(k, v);
		if (vmemcache_put(cache, &k, sizeof(k), v, VSIZE)) {
			fprintf(stderr, "prefill: %s\n", vmemcache_errormsg());
			return 1;
		}
	}
	atomic_store(&next_key, 1ull << 45);
	report("hit-1t", run(0, 1));
	report("hit-2t", run(0, 2));
	report("mix90-10-1t", run(1, 1));
	report("mix90-10-2t", run(1, 2));
	atomic_store(&next_key, 1ull << 50);
	report("put-evict-1t", run(2, 1));
	report("put-evict-2t", run(2, 2));
	if (atomic_load(&bad)) {
		fprintf(stderr, "%ld bad values or failed puts\n", atomic_load(&bad));
		return 1;
	}
	vmemcache_delete(cache);
	return 0;
}
