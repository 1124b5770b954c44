/*
 * The API's documented behaviour, one step per point: defaults, configuration rules, put /
 * get / exists / evict semantics, callbacks (including ones that call back into the cache),
 * the replacement policies, values scattered over fragmented free space, statistics, and
 * every kind of bad input with its errno and message.
 *
 * usage: test_api DIR
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static const char *dir;

#define EXPECT_ERR(call, err)                                                  \
	do {                                                                   \
		errno = 0;                                                     \
		long long r_ = (long long)(call);                              \
		int e_ = errno;                                                \
		CHECK_EQ(r_, -1);                                              \
		CHECK_EQ(e_, err);                                             \
		CHECK(strlen(vmemcache_errormsg()) > 0);                       \
	} while (0)

/* Names in the directory, "." and ".." aside. */
static int dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	int n = 0;
	struct dirent *e;
	while (dp && (e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (dp)
		closedir(dp);
	return n;
}

static void defaults(void)
{
	STEP("defaults: LRU, 256-byte extents, 1 MiB pool; the pool file has no name");
	int before = dir_entries(dir);
	VMEMcache *c = vmemcache_new();
	REQUIRE(c);
	REQUIRE(vmemcache_add(c, dir) == 0);
	CHECK_EQ(dir_entries(dir), before);
	char v[300], out[300];
	fill(v, 1, 0, sizeof(v));
	CHECK_EQ(vmemcache_put(c, "k", 1, v, sizeof(v)), 0);
	size_t vs = 0;
	CHECK_EQ(vmemcache_get(c, "k", 1, out, sizeof(out), 0, &vs), 300);
	CHECK_EQ(vs, 300);
	CHECK(verify(out, 1, 0, 300));
	/* 300 bytes take two 256-byte extents */
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED), 512);
	/* LRU is the default: filling past 1 MiB evicts instead of failing */
	char big[4096];
	for (int i = 0; i < 600; i++) {
		fill(big, 1000 + i, 0, sizeof(big));
		CHECK_EQ(vmemcache_put(c, &i, sizeof(i), big, sizeof(big)), 0);
	}
	CHECK(stat_of(c, VMEMCACHE_STAT_EVICT) > 0);
	CHECK(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED) <= 1024 * 1024);
	vmemcache_delete(c);
}

static void config_rules(void)
{
	STEP("configuration: minimums, only before add, add twice");
	VMEMcache *c = vmemcache_new();
	REQUIRE(c);
	EXPECT_ERR(vmemcache_set_size(c, VMEMCACHE_MIN_POOL - 1), EINVAL);
	CHECK_EQ(vmemcache_set_size(c, VMEMCACHE_MIN_POOL), 0);
	EXPECT_ERR(vmemcache_set_extent_size(c, VMEMCACHE_MIN_EXTENT - 1), EINVAL);
	EXPECT_ERR(vmemcache_set_extent_size(c, 0), EINVAL);
	CHECK_EQ(vmemcache_set_extent_size(c, VMEMCACHE_MIN_EXTENT), 0);
	EXPECT_ERR(vmemcache_set_eviction_policy(c, (enum vmemcache_repl_p)7), EINVAL);
	EXPECT_ERR(vmemcache_set_eviction_policy(c, VMEMCACHE_REPLACEMENT_NUM), EINVAL);
	CHECK_EQ(vmemcache_set_eviction_policy(c, VMEMCACHE_REPLACEMENT_NONE), 0);
	EXPECT_ERR(vmemcache_put(c, "a", 1, "b", 1), EINVAL); /* not added yet */
	EXPECT_ERR(vmemcache_add(c, NULL), EINVAL);
	REQUIRE(vmemcache_add(c, dir) == 0);
	EXPECT_ERR(vmemcache_add(c, dir), EBUSY);
	EXPECT_ERR(vmemcache_set_size(c, 2 * VMEMCACHE_MIN_POOL), EALREADY);
	EXPECT_ERR(vmemcache_set_extent_size(c, 512), EALREADY);
	EXPECT_ERR(vmemcache_set_eviction_policy(c, VMEMCACHE_REPLACEMENT_LRU), EALREADY);
	vmemcache_delete(c);

	STEP("add: missing directory, a regular file, extent larger than the pool");
	c = vmemcache_new();
	EXPECT_ERR(vmemcache_add(c, "/nonexistent/vmemcache/dir"), ENOENT);
	CHECK(strstr(vmemcache_errormsg(), "/nonexistent/vmemcache/dir") != NULL);
	/* a failed add leaves the cache configurable and addable */
	CHECK_EQ(vmemcache_set_size(c, 2 * VMEMCACHE_MIN_POOL), 0);
	CHECK_EQ(vmemcache_add(c, dir), 0);
	vmemcache_delete(c);
	c = vmemcache_new();
	EXPECT_ERR(vmemcache_add(c, "/etc/hostname"), ENOTDIR);
	vmemcache_delete(c);

	STEP("add: read-only directory");
	char ro[4096];
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	mkdir(ro, 0555);
	chmod(ro, 0555);
	pid_t pid = fork();
	if (pid == 0) {
		/* root ignores permissions: drop to an unprivileged user first */
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(3);
		VMEMcache *r = vmemcache_new();
		errno = 0;
		int rc = vmemcache_add(r, ro);
		int e = errno;
		vmemcache_delete(r);
		_exit(rc == -1 && (e == EACCES || e == EROFS || e == EPERM) ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rmdir(ro);
}

static void null_and_bad_args(void)
{
	STEP("NULL cache in every call");
	size_t vs;
	unsigned long long v;
	EXPECT_ERR(vmemcache_set_size(NULL, VMEMCACHE_MIN_POOL), EINVAL);
	EXPECT_ERR(vmemcache_set_extent_size(NULL, 256), EINVAL);
	EXPECT_ERR(vmemcache_set_eviction_policy(NULL, VMEMCACHE_REPLACEMENT_LRU), EINVAL);
	EXPECT_ERR(vmemcache_add(NULL, dir), EINVAL);
	EXPECT_ERR(vmemcache_put(NULL, "a", 1, "b", 1), EINVAL);
	EXPECT_ERR(vmemcache_get(NULL, "a", 1, NULL, 0, 0, &vs), EINVAL);
	EXPECT_ERR(vmemcache_exists(NULL, "a", 1, &vs), EINVAL);
	EXPECT_ERR(vmemcache_evict(NULL, "a", 1), EINVAL);
	EXPECT_ERR(vmemcache_get_stat(NULL, VMEMCACHE_STAT_PUT, &v, sizeof(v)), EINVAL);
	vmemcache_delete(NULL);
	vmemcache_callback_on_evict(NULL, NULL, NULL);
	vmemcache_callback_on_miss(NULL, NULL, NULL);
	vmemcache_bench_set(NULL, VMEMCACHE_BENCH_PREFAULT, 1);

	STEP("bad keys, buffers, values and statistics");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	char buf[16];
	EXPECT_ERR(vmemcache_put(c, NULL, 1, "b", 1), EINVAL);
	EXPECT_ERR(vmemcache_put(c, "a", 0, "b", 1), EINVAL);
	EXPECT_ERR(vmemcache_put(c, "a", 1, NULL, 5), EINVAL);
	EXPECT_ERR(vmemcache_get(c, NULL, 1, buf, sizeof(buf), 0, NULL), EINVAL);
	EXPECT_ERR(vmemcache_get(c, "a", 0, buf, sizeof(buf), 0, NULL), EINVAL);
	EXPECT_ERR(vmemcache_exists(c, NULL, 1, NULL), EINVAL);
	EXPECT_ERR(vmemcache_exists(c, "a", 0, NULL), EINVAL);
	EXPECT_ERR(vmemcache_evict(c, "a", 0), EINVAL);
	CHECK_EQ(vmemcache_put(c, "a", 1, "value", 5), 0);
	EXPECT_ERR(vmemcache_get(c, "a", 1, NULL, 5, 0, NULL), EINVAL);
	/* NULL buffer of size 0 only asks for the size */
	vs = 0;
	CHECK_EQ(vmemcache_get(c, "a", 1, NULL, 0, 0, &vs), 0);
	CHECK_EQ(vs, 5);
	EXPECT_ERR(vmemcache_get_stat(c, VMEMCACHE_STAT_PUT, &v, 4), EINVAL);
	EXPECT_ERR(vmemcache_get_stat(c, VMEMCACHE_STAT_PUT, NULL, 8), EINVAL);
	EXPECT_ERR(vmemcache_get_stat(c, VMEMCACHE_STATS_NUM, &v, sizeof(v)), EINVAL);

	STEP("value larger than the pool");
	size_t bigsz = 2 * VMEMCACHE_MIN_POOL;
	char *big = calloc(1, bigsz);
	unsigned long long before = stat_of(c, VMEMCACHE_STAT_ENTRIES);
	EXPECT_ERR(vmemcache_put(c, "big", 3, big, bigsz), ENOSPC);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), before);
	CHECK_EQ(vmemcache_exists(c, "a", 1, NULL), 1); /* nothing evicted for it */
	free(big);
	vmemcache_delete(c);
}

static void semantics(void)
{
	STEP("put of an existing key: EEXIST, old value kept");
	VMEMcache *c = make_cache(dir, 4 * VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	char v[1000], out[1000];
	fill(v, 7, 0, sizeof(v));
	CHECK_EQ(vmemcache_put(c, "key", 3, v, sizeof(v)), 0);
	EXPECT_ERR(vmemcache_put(c, "key", 3, "other", 5), EEXIST);
	size_t vs = 0;
	CHECK_EQ(vmemcache_get(c, "key", 3, out, sizeof(out), 0, &vs), 1000);
	CHECK(verify(out, 7, 0, 1000));
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_PUT), 1);

	STEP("get copies from the offset, up to the buffer, reports the full size");
	memset(out, 0, sizeof(out));
	vs = 0;
	CHECK_EQ(vmemcache_get(c, "key", 3, out, 100, 950, &vs), 50);
	CHECK_EQ(vs, 1000);
	CHECK(verify(out, 7, 950, 50));
	CHECK_EQ(vmemcache_get(c, "key", 3, out, 100, 300, &vs), 100);
	CHECK(verify(out, 7, 300, 100));
	CHECK_EQ(vmemcache_get(c, "key", 3, out, 100, 1000, &vs), 0);
	CHECK_EQ(vmemcache_get(c, "key", 3, out, 100, 5000, &vs), 0);
	CHECK_EQ(vs, 1000);
	CHECK_EQ(vmemcache_get(c, "key", 3, out, 10, 0, NULL), 10);
	CHECK(verify(out, 7, 0, 10));

	STEP("a miss: ENOENT, vsize untouched, counted");
	vs = 12345;
	EXPECT_ERR(vmemcache_get(c, "nope", 4, out, sizeof(out), 0, &vs), ENOENT);
	CHECK_EQ(vs, 12345);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_MISS), 1);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_HIT), 6);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_GET), 7);

	STEP("exists: size without a hit");
	vs = 0;
	CHECK_EQ(vmemcache_exists(c, "key", 3, &vs), 1);
	CHECK_EQ(vs, 1000);
	vs = 77;
	CHECK_EQ(vmemcache_exists(c, "nope", 4, &vs), 0);
	CHECK_EQ(vs, 77);
	CHECK_EQ(vmemcache_exists(c, "key", 3, NULL), 1);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_HIT), 6);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_GET), 7);

	STEP("empty value");
	CHECK_EQ(vmemcache_put(c, "empty", 5, NULL, 0), 0);
	vs = 99;
	CHECK_EQ(vmemcache_get(c, "empty", 5, out, sizeof(out), 0, &vs), 0);
	CHECK_EQ(vs, 0);

	STEP("evict by key");
	CHECK_EQ(vmemcache_evict(c, "key", 3), 0);
	CHECK_EQ(vmemcache_exists(c, "key", 3, NULL), 0);
	EXPECT_ERR(vmemcache_evict(c, "key", 3), ENOENT);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_EVICT), 1);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), 1);

	STEP("a value over many extents reads back whole and in pieces");
	size_t n = 300 * 1024 + 17;
	char *bv = malloc(n), *bo = malloc(n);
	fill(bv, 99, 0, n);
	CHECK_EQ(vmemcache_put(c, "big", 3, bv, n), 0);
	CHECK_EQ(vmemcache_get(c, "big", 3, bo, n, 0, &vs), (long long)n);
	CHECK(verify(bo, 99, 0, n));
	for (size_t off = 0; off < n; off += 4099) {
		ssize_t r = vmemcache_get(c, "big", 3, bo, 777, off, NULL);
		size_t want = n - off < 777 ? n - off : 777;
		CHECK_EQ(r, (long long)want);
		CHECK(verify(bo, 99, off, want));
	}
	free(bv);
	free(bo);
	vmemcache_delete(c);
}

static char evicted[64][16];
static int nevicted;

static void rec_evict(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	if (nevicted < 64 && ks < 16) {
		memcpy(evicted[nevicted], k, ks);
		evicted[nevicted][ks] = 0;
	}
	nevicted++;
}

static void lru_order(void)
{
	STEP("evict(NULL) takes the least recently used entry");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	int calls = 0;
	nevicted = 0;
	vmemcache_callback_on_evict(c, rec_evict, &calls);
	CHECK_EQ(vmemcache_put(c, "A", 1, "1", 1), 0);
	CHECK_EQ(vmemcache_put(c, "B", 1, "2", 1), 0);
	CHECK_EQ(vmemcache_put(c, "C", 1, "3", 1), 0);
	char b[4];
	CHECK_EQ(vmemcache_get(c, "A", 1, b, sizeof(b), 0, NULL), 1);
	CHECK_EQ(vmemcache_evict(c, NULL, 0), 0);
	CHECK_EQ(calls, 1);
	CHECK(strcmp(evicted[0], "B") == 0);
	CHECK_EQ(vmemcache_exists(c, "B", 1, NULL), 0);
	/* exists does not count as a use */
	CHECK_EQ(vmemcache_exists(c, "C", 1, NULL), 1);
	CHECK_EQ(vmemcache_evict(c, NULL, 0), 0);
	CHECK(strcmp(evicted[1], "C") == 0);
	CHECK_EQ(vmemcache_evict(c, NULL, 0), 0);
	CHECK(strcmp(evicted[2], "A") == 0);
	EXPECT_ERR(vmemcache_evict(c, NULL, 0), ESRCH);
	CHECK_EQ(calls, 3);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), 0);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED), 0);
	vmemcache_delete(c);

	STEP("many gets between evictions keep the order (recency ring wraps)");
	c = make_cache(dir, 8 * VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	calls = 0;
	nevicted = 0;
	vmemcache_callback_on_evict(c, rec_evict, &calls);
	for (int i = 0; i < 5000; i++)
		vmemcache_put(c, &i, sizeof(i), "x", 1);
	/* use every key except 1234, in order, twice */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++)
			if (i != 1234)
				vmemcache_get(c, &i, sizeof(i), b, 1, 0, NULL);
	CHECK_EQ(vmemcache_evict(c, NULL, 0), 0);
	int first;
	memcpy(&first, evicted[0], sizeof(first));
	CHECK_EQ(first, 1234);
	CHECK_EQ(vmemcache_evict(c, NULL, 0), 0);
	memcpy(&first, evicted[1], sizeof(first));
	CHECK_EQ(first, 0);
	vmemcache_delete(c);
}

static int miss_calls;

static void miss_put(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	miss_calls++;
	uint64_t id = (uint64_t)(uintptr_t)arg;
	char v[2000];
	fill(v, id, 0, sizeof(v));
	vmemcache_put(c, k, ks, v, sizeof(v));
}

static void miss_put_too_big(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)arg;
	miss_calls++;
	size_t n = 3 * VMEMCACHE_MIN_POOL;
	char *v = malloc(n);
	fill(v, 5, 0, n);
	errno = 0;
	int r = vmemcache_put(c, k, ks, v, n);
	CHECK(r == -1 && errno == ENOSPC);
	free(v);
}

static void miss_get_again(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	(void)arg;
	miss_calls++;
	char b[8];
	/* a get from inside on_miss must not recurse into on_miss */
	errno = 0;
	CHECK_EQ(vmemcache_get(c, k, ks, b, sizeof(b), 0, NULL), -1);
	CHECK_EQ(errno, ENOENT);
}

static void callbacks(void)
{
	STEP("on_miss that puts the key: the get succeeds, honouring offset and size");
	VMEMcache *c = make_cache(dir, 2 * VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	vmemcache_callback_on_miss(c, miss_put, (void *)(uintptr_t)42);
	char out[2000];
	size_t vs = 0;
	miss_calls = 0;
	CHECK_EQ(vmemcache_get(c, "m1", 2, out, 100, 1500, &vs), 100);
	CHECK_EQ(vs, 2000);
	CHECK(verify(out, 42, 1500, 100));
	CHECK_EQ(miss_calls, 1);
	/* the key is now cached: no second miss */
	CHECK_EQ(vmemcache_get(c, "m1", 2, out, sizeof(out), 1990, &vs), 10);
	CHECK(verify(out, 42, 1990, 10));
	CHECK_EQ(miss_calls, 1);
	CHECK_EQ(vmemcache_get(c, "m2", 2, out, 100, 1950, &vs), 50);
	CHECK(verify(out, 42, 1950, 50));

	STEP("on_miss whose put does not fit still satisfies the get");
	vmemcache_callback_on_miss(c, miss_put_too_big, NULL);
	vs = 0;
	CHECK_EQ(vmemcache_get(c, "huge", 4, out, 64, 1000, &vs), 64);
	CHECK_EQ(vs, 3 * VMEMCACHE_MIN_POOL);
	CHECK(verify(out, 5, 1000, 64));
	CHECK_EQ(vmemcache_exists(c, "huge", 4, NULL), 0);

	STEP("a get inside on_miss does not call on_miss again");
	vmemcache_callback_on_miss(c, miss_get_again, NULL);
	miss_calls = 0;
	EXPECT_ERR(vmemcache_get(c, "zz", 2, out, 8, 0, NULL), ENOENT);
	CHECK_EQ(miss_calls, 1);
	vmemcache_callback_on_miss(c, NULL, NULL);
	miss_calls = 0;
	EXPECT_ERR(vmemcache_get(c, "zz", 2, out, 8, 0, NULL), ENOENT);
	CHECK_EQ(miss_calls, 0);
	vmemcache_delete(c);
}

struct reenter {
	int calls;
	int readable;
	int too_deep;
	int deleted_refused;
};

static void evict_reenter(VMEMcache *c, const void *k, size_t ks, void *arg)
{
	struct reenter *r = arg;
	r->calls++;
	char b[4096];
	/* the entry is still readable during its eviction */
	errno = 0;
	if (vmemcache_get(c, k, ks, b, sizeof(b), 0, NULL) >= 0)
		r->readable++;
	else if (errno == EBUSY)
		r->too_deep++; /* callbacks nested too deep: refused, not crashed */
	/* deleting the cache from its own callback is refused */
	vmemcache_delete(c);
	if (errno == EBUSY)
		r->deleted_refused++;
	/* puts from the callback work (they may evict again, nesting) */
	int id = 1000000 + r->calls;
	vmemcache_put(c, &id, sizeof(id), b, 100);
}

static void reentrant_callbacks(void)
{
	STEP("on_evict calling get, put and delete: no crash, hang or lost entry");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	struct reenter r = {0, 0, 0, 0};
	vmemcache_callback_on_evict(c, evict_reenter, &r);
	char v[4096];
	for (int i = 0; i < 1000; i++) {
		fill(v, i, 0, sizeof(v));
		int rc = vmemcache_put(c, &i, sizeof(i), v, sizeof(v));
		if (rc != 0)
			CHECK_EQ(errno, EBUSY); /* nesting too deep at worst */
	}
	CHECK(r.calls > 0);
	CHECK_EQ(r.readable + r.too_deep, r.calls);
	CHECK(r.readable > r.too_deep);
	CHECK_EQ(r.deleted_refused, r.calls);
	CHECK_EQ((long long)stat_of(c, VMEMCACHE_STAT_EVICT), r.calls);
	/* everything still indexed reads back intact */
	int bad = 0, present = 0;
	for (int i = 0; i < 1000; i++) {
		size_t vs = 0;
		if (vmemcache_exists(c, &i, sizeof(i), &vs) == 1) {
			present++;
			if (vmemcache_get(c, &i, sizeof(i), v, sizeof(v), 0, NULL) != 4096 ||
			    !verify(v, i, 0, 4096))
				bad++;
		}
	}
	CHECK(present > 0);
	CHECK_EQ(bad, 0);
	vmemcache_delete(c);
}

static void none_policy(void)
{
	STEP("REPLACEMENT_NONE: a full cache fails the put with ENOSPC and keeps everything");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_NONE);
	REQUIRE(c);
	int calls = 0;
	vmemcache_callback_on_evict(c, rec_evict, &calls);
	char v[1000];
	int stored = 0;
	for (;; stored++) {
		fill(v, stored, 0, sizeof(v));
		errno = 0;
		if (vmemcache_put(c, &stored, sizeof(stored), v, sizeof(v)) != 0)
			break;
	}
	CHECK_EQ(errno, ENOSPC);
	CHECK(strstr(vmemcache_errormsg(), "space") != NULL);
	/* 1000-byte values take 4 extents: all 1024 slots of the 1 MiB pool are used */
	CHECK_EQ(stored, 1024);
	CHECK_EQ(calls, 0);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_EVICT), 0);
	int bad = 0;
	for (int i = 0; i < stored; i++)
		if (vmemcache_get(c, &i, sizeof(i), v, sizeof(v), 0, NULL) != 1000 ||
		    !verify(v, i, 0, 1000))
			bad++;
	CHECK_EQ(bad, 0);
	EXPECT_ERR(vmemcache_evict(c, NULL, 0), ESRCH);

	STEP("scattered: after freeing every other entry, one value takes all the holes");
	for (int i = 0; i < stored; i += 2)
		CHECK_EQ(vmemcache_evict(c, &i, sizeof(i)), 0);
	CHECK(stat_of(c, VMEMCACHE_STAT_HEAP_ENTRIES) >= 512);
	size_t n = 512 * 1024;
	char *big = malloc(n), *back = malloc(n);
	fill(big, 777, 0, n);
	CHECK_EQ(vmemcache_put(c, "scatter", 7, big, n), 0);
	CHECK_EQ(vmemcache_get(c, "scatter", 7, back, n, 0, NULL), (long long)n);
	CHECK(verify(back, 777, 0, n));
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED), VMEMCACHE_MIN_POOL);
	for (int i = 1; i < stored; i += 2)
		if (vmemcache_get(c, &i, sizeof(i), v, sizeof(v), 0, NULL) != 1000 ||
		    !verify(v, i, 0, 1000))
			bad++;
	CHECK_EQ(bad, 0);
	free(big);
	free(back);
	vmemcache_delete(c);
}

static void duplicate_into_full_lru(void)
{
	STEP("duplicate put into a full LRU cache: EEXIST, nothing evicted");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	int calls = 0;
	vmemcache_callback_on_evict(c, rec_evict, &calls);
	char v[1024];
	for (int i = 0; i < 1024; i++)
		CHECK_EQ(vmemcache_put(c, &i, sizeof(i), v, sizeof(v)), 0);
	CHECK_EQ(calls, 0);
	int k = 500;
	EXPECT_ERR(vmemcache_put(c, &k, sizeof(k), v, sizeof(v)), EEXIST);
	CHECK_EQ(calls, 0);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), 1024);
	vmemcache_delete(c);
}

static void *other_thread_error(void *arg)
{
	(void)arg;
	errno = 0;
	vmemcache_set_size(NULL, 1);
	return strdup(vmemcache_errormsg());
}

static void errormsg_per_thread(void)
{
	STEP("vmemcache_errormsg is per thread");
	VMEMcache *c = vmemcache_new();
	vmemcache_set_extent_size(c, 1);
	char mine[512];
	snprintf(mine, sizeof(mine), "%s", vmemcache_errormsg());
	CHECK(strstr(mine, "extent") != NULL);
	pthread_t t;
	void *theirs;
	pthread_create(&t, NULL, other_thread_error, NULL);
	pthread_join(t, &theirs);
	CHECK(strstr((char *)theirs, "NULL") != NULL);
	CHECK(strcmp(vmemcache_errormsg(), mine) == 0);
	free(theirs);
	vmemcache_delete(c);
}

static void stats_and_bench(void)
{
	STEP("statistics and bench switches");
	VMEMcache *c = make_cache(dir, VMEMCACHE_MIN_POOL, 0, VMEMCACHE_REPLACEMENT_LRU);
	REQUIRE(c);
	char v[256];
	for (int i = 0; i < 10; i++)
		vmemcache_put(c, &i, sizeof(i), v, sizeof(v));
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_PUT), 10);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_ENTRIES), 10);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_POOL_SIZE_USED), 2560);
	CHECK(stat_of(c, VMEMCACHE_STAT_DRAM_SIZE_USED) > 10 * 4);
	CHECK(stat_of(c, VMEMCACHE_STAT_DRAM_SIZE_USED) < 10 * 158);
	CHECK_EQ(stat_of(c, VMEMCACHE_STAT_HEAP_ENTRIES), 1);
	vmemcache_bench_set(c, VMEMCACHE_BENCH_PREFAULT, 1);
	int k = 3;
	CHECK_EQ(vmemcache_get(c, &k, sizeof(k), v, sizeof(v), 0, NULL), 256);
	vmemcache_bench_set(c, VMEMCACHE_BENCH_NO_MEMCPY, 1);
	k = 100;
	CHECK_EQ(vmemcache_put(c, &k, sizeof(k), v, sizeof(v)), 0);
	vmemcache_bench_set(c, VMEMCACHE_BENCH_NO_MEMCPY, 0);
	vmemcache_delete(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	defaults();
	config_rules();
	null_and_bad_args();
	semantics();
	lru_order();
	callbacks();
	reentrant_callbacks();
	none_policy();
	duplicate_into_full_lru();
	errormsg_per_thread();
	stats_and_bench();
	return finish();
}
