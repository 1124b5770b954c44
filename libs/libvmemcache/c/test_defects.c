/*
 * The four defects found in libvmemcache 0.8.1, one check each (ours must pass all; the
 * runner also runs them on upstream, where they are expected to fail, to show the checks
 * can fail):
 *   miss-offset   a get satisfied through on_miss must copy from its offset
 *   none-errno    REPLACEMENT_NONE: a put into a full cache fails with errno ENOSPC
 *   lru-race      concurrent put/get/evict on fresh keys must not crash (run in a child)
 *   dup-full      a duplicate put into a full LRU cache fails with EEXIST, evicting nothing
 *
 * usage: test_defects DIR [CHECK]
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static const char *dir;

static void miss_put(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)arg;
	char v[1000];
	fill(v, 3, 0, sizeof(v));
	vmemcache_put(c, k, ks, v, sizeof(v));
}

static void miss_offset(void)
{
	STEP("miss-offset: get through on_miss honours the offset");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	vmemcache_callback_on_miss(c, miss_put, NULL);
	char b[10];
	size_t vs = 0;
	CHECK_EQ(vmemcache_get(c, "k", 1, b, sizeof(b), 500, &vs), 10);
	CHECK_EQ(vs, 1000);
	CHECK(verify(b, 3, 500, 10));
	vmemcache_delete(c);
}

static void none_errno(void)
{
	STEP("none-errno: full REPLACEMENT_NONE cache fails the put with ENOSPC");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_NONE);
	REQUIRE(c);
	char v[4000];
	int rc = 0, e = 0;
	for (int i = 0; i < 10000 && rc == 0; i++) {
		errno = 0;
		rc = vmemcache_put(c, &i, sizeof(i), v, sizeof(v));
		e = errno;
	}
	CHECK_EQ(rc, -1);
	CHECK_EQ(e, ENOSPC);
	vmemcache_delete(c);
}

static VMEMcache *rc_cache;
static atomic_int rc_stop;

static atomic_ullong rc_next;

/* Even threads put fresh keys; odd ones get and evict the keys being put right now. */
static void *racer(void *arg)
{
	int putter = (uintptr_t)arg % 2 == 0;
	char v[256], b[256];
	memset(v, 1, sizeof(v));
	while (!atomic_load(&rc_stop)) {
		if (putter) {
			uint64_t k = atomic_fetch_add(&rc_next, 1);
			vmemcache_put(rc_cache, &k, sizeof(k), v, sizeof(v));
		} else {
			uint64_t n = atomic_load(&rc_next);
			for (uint64_t k = n; k < n + 2; k++) {
				vmemcache_get(rc_cache, &k, sizeof(k), b, sizeof(b), 0, NULL);
				vmemcache_evict(rc_cache, &k, sizeof(k));
			}
			vmemcache_evict(rc_cache, NULL, 0);
		}
	}
	return NULL;
}

static void lru_race(void)
{
	STEP("lru-race: get/evict of keys being put, 4 threads for 2 s, in a child");
	pid_t pid = fork();
	if (pid == 0) {
		rc_cache = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
		if (!rc_cache)
			_exit(3);
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)(i + 1));
		sleep(2);
		atomic_store(&rc_stop, 1);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		vmemcache_delete(rc_cache);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		printf("child killed by signal %d\n", WTERMSIG(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void count_evict(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)c;
	(void)k;
	(void)ks;
	(*(int *)arg)++;
}

static void dup_full(void)
{
	STEP("dup-full: duplicate put into a full LRU cache evicts nothing");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	int evicted = 0;
	vmemcache_callback_on_evict(c, count_evict, &evicted);
	char v[2000];
	int i = 0;
	while (evicted == 0)
		vmemcache_put(c, &i, sizeof(i), v, sizeof(v)), i++;
	int before = evicted;
	unsigned long long entries = stat_of(c, VMEMCACHE_STAT_ENTRIES);
	int k = i - 1;
	errno = 0;
	CHECK_EQ(vmemcache_put(c, &k, sizeof(k), v, sizeof(v)), -1);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(evicted, before);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), entries);
	vmemcache_delete(c);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	dir = argv[1];
	const char *only = argc > 2 ? argv[2] : NULL;
	if (!only || !strcmp(only, "miss-offset"))
		miss_offset();
	if (!only || !strcmp(only, "none-errno"))
		none_errno();
	if (!only || !strcmp(only, "lru-race"))
		lru_race();
	if (!only || !strcmp(only, "dup-full"))
		dup_full();
	return finish();
}
