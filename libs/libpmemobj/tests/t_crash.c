/*
 * Process crashes in the middle of allocator operations. A child runs an endless storm
 * of alloc / free / realloc into the root's slots (objects describe themselves: slot,
 * size, checksum) and is killed with SIGKILL at a random moment; the pool is then
 * opened (recovery) and checked: every slot is NULL or a complete object, the collection
 * holds exactly the slots' objects (no leak, nothing half made, nothing owned twice).
 *   t_crash storm PATH ROUNDS SEED [THREADS]   create the pool, then ROUNDS
 *                                    kill-and-verify rounds (THREADS storming threads)
 *   t_crash kill PATH ROUNDS SEED    the same on an existing pool, without verifying
 *   t_crash verify PATH              verify only (e.g. with the other library)
 */
#include <libpmemobj.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../../../tests/harness/check.h"

#define NSLOTS 256
#define MAGIC 0x6f626a6563742121ULL
#define TYPE0 5000

struct root {
	PMEMoid slot[NSLOTS];
};

struct obj {
	uint64_t magic;
	uint64_t slot;
	uint64_t size;
	uint64_t sum;
	unsigned char data[];
};

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

struct carg { uint64_t slot, size; unsigned seed; };

static int construct(PMEMobjpool *pop, void *ptr, void *arg)
{
	struct carg *a = arg;
	struct obj *o = ptr;
	size_t n = a->size - sizeof(*o);
	unsigned x = a->seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		o->data[i] = (unsigned char)(x >> 16);
	}
	o->magic = MAGIC;
	o->slot = a->slot;
	o->size = a->size;
	o->sum = fnv(o->data, n);
	pmemobj_persist(pop, o, a->size);
	return 0;
}

static size_t pick_size(unsigned r)
{
	static const size_t s[] = {40, 64, 100, 200, 256, 600, 1500, 4096, 9000, 40000, 300000, 700000};
	return s[r % (sizeof s / sizeof s[0])];
}

struct sarg { PMEMobjpool *pop; unsigned seed; int part, parts; };

static void *storm_thread(void *p)
{
	struct sarg *a = p;
	PMEMobjpool *pop = a->pop;
	struct root *r = pmemobj_direct(pmemobj_root(pop, 0));
	unsigned st = a->seed;
	for (;;) {
		/* each thread owns the slots i with i % parts == part */
		int i = (int)(rand_r(&st) % (NSLOTS / a->parts)) * a->parts + a->part;
		unsigned k = (unsigned)rand_r(&st);
		if (OID_IS_NULL(r->slot[i])) {
			struct carg a = {i, pick_size(k), k};
			pmemobj_alloc(pop, &r->slot[i], a.size, TYPE0 + i, construct, &a);
		} else if (k % 4 == 0) {
			struct obj *o = pmemobj_direct(r->slot[i]);
			if (o->size < 300000)
				pmemobj_realloc(pop, &r->slot[i], o->size * 2, TYPE0 + i);
		} else {
			pmemobj_free(&r->slot[i]);
		}
	}
	return NULL;
}

static void storm(const char *path, unsigned seed, int threads)
{
	PMEMobjpool *pop = pmemobj_open(path, "crash");
	if (!pop)
		_exit(3);
	pthread_t t[8];
	struct sarg a[8];
	for (int j = 0; j < threads; j++) {
		a[j] = (struct sarg){pop, seed * 7 + j, j, threads};
		pthread_create(&t[j], NULL, storm_thread, &a[j]);
	}
	for (int j = 0; j < threads; j++)
		pthread_join(t[j], NULL);
	_exit(4);
}

static int verify(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, "crash");
	if (!pop) {
		printf("open: %s\n", pmemobj_errormsg());
		return 0;
	}
	struct root *r = pmemobj_direct(pmemobj_root(pop, 0));
	int live = 0, broken = 0, dup = 0;
	for (int i = 0; i < NSLOTS; i++) {
		if (OID_IS_NULL(r->slot[i]))
			continue;
		live++;
		struct obj *o = pmemobj_direct(r->slot[i]);
		if (!o || o->magic != MAGIC || o->slot != (uint64_t)i ||
		    pmemobj_type_num(r->slot[i]) != (uint64_t)(TYPE0 + i) ||
		    pmemobj_alloc_usable_size(r->slot[i]) < o->size ||
		    fnv(o->data, o->size - sizeof(*o)) != o->sum) {
			broken++;
			printf("slot %d broken\n", i);
		}
		for (int j = 0; j < i; j++)
			if (OID_EQUALS(r->slot[i], r->slot[j]))
				dup++;
	}
	int seen = 0, stray = 0;
	PMEMoid it;
	POBJ_FOREACH(pop, it) {
		seen++;
		uint64_t t = pmemobj_type_num(it);
		if (t < TYPE0 || t >= TYPE0 + NSLOTS || !OID_EQUALS(r->slot[t - TYPE0], it))
			stray++;
	}
	CHECK_EQ(broken, 0);
	CHECK_EQ(dup, 0);
	CHECK_EQ(stray, 0);
	CHECK_EQ(seen, live);
	/* the allocator still works after recovery */
	PMEMoid t;
	CHECK_EQ(pmemobj_alloc(pop, &t, 128, 1, NULL, NULL), 0);
	pmemobj_free(&t);
	pmemobj_close(pop);
	return broken == 0 && dup == 0 && stray == 0 && seen == live;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	REQUIRE(argc >= 3);
	const char *path = argv[2];
	if (strcmp(argv[1], "verify") == 0) {
		verify(path);
		return finish();
	}
	REQUIRE(argc >= 5);
	int rounds = atoi(argv[3]);
	unsigned seed = (unsigned)atoi(argv[4]);
	int check_each = strcmp(argv[1], "storm") == 0;
	int threads = argc > 5 ? atoi(argv[5]) : 1;
	if (threads < 1 || threads > 8)
		threads = 1;
	if (check_each) {
		remove(path);
		PMEMobjpool *pop = pmemobj_create(path, "crash", 24 << 20, 0644);
		REQUIRE(pop != NULL);
		REQUIRE(!OID_IS_NULL(pmemobj_root(pop, sizeof(struct root))));
		pmemobj_close(pop);
	}
	srand(seed);
	int failed_rounds = 0;
	for (int k = 0; k < rounds; k++) {
		pid_t pid = fork();
		if (pid == 0)
			storm(path, seed * 1000 + k, threads);
		struct timespec ts = {0, 1000000L + (rand() % 12000) * 1000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		if (!WIFSIGNALED(st)) {
			printf("round %d: storm exited %d before the kill\n", k, WEXITSTATUS(st));
			CHECK(0);
			break;
		}
		if (check_each && !verify(path)) {
			failed_rounds++;
			printf("round %d failed\n", k);
			if (failed_rounds > 3)
				break;
		}
	}
	printf("%d rounds, %d failed\n", rounds, failed_rounds);
	return finish();
}
