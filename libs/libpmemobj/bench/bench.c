/*
 * Speed of the pool and atomic-allocation calls; built once against our libpmemobj and
 * once against the system's, and run in alternating rounds by run.sh.
 *   bench allocfree PATH SIZE THREADS SECONDS   alloc+free pairs per second (each thread
 *                                               allocates into its own slot in the root)
 *   bench mkpool PATH NOBJ                      1 GiB pool holding NOBJ 256-byte objects
 *   bench open PATH                             seconds for pmemobj_open (then close)
 *   bench openalloc PATH                        the same plus a first alloc and free
 *   bench refill PATH                           fill with 256 B objects, free all, refill:
 *                                               prints both counts
 */
#include <libpmemobj.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct targ {
	PMEMobjpool *pop;
	PMEMoid *slot;
	size_t size;
	double seconds;
	long ops;
};

static void *worker(void *p)
{
	struct targ *a = p;
	long n = 0;
	double end = now() + a->seconds;
	while (1) {
		for (int i = 0; i < 256; i++) {
			if (pmemobj_alloc(a->pop, a->slot, a->size, 1, NULL, NULL) != 0) {
				perror("alloc");
				exit(1);
			}
			pmemobj_free(a->slot);
		}
		n += 256;
		if (now() >= end)
			break;
	}
	a->ops = n;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *path = argv[2];
	if (strcmp(argv[1], "allocfree") == 0 && argc >= 6) {
		unlink(path);
		PMEMobjpool *pop = pmemobj_create(path, "bench", 256 << 20, 0600);
		if (!pop) {
			fprintf(stderr, "create: %s\n", pmemobj_errormsg());
			return 1;
		}
		int threads = atoi(argv[4]);
		PMEMoid *slots = pmemobj_direct(pmemobj_root(pop, 64 * sizeof(PMEMoid)));
		struct targ a[8];
		pthread_t t[8];
		for (int i = 0; i < threads; i++) {
			a[i] = (struct targ){pop, &slots[i * 4], (size_t)atol(argv[3]), atof(argv[5]), 0};
			/* warm up: the first allocations build the heap's runs */
			pmemobj_alloc(pop, a[i].slot, a[i].size, 1, NULL, NULL);
			pmemobj_free(a[i].slot);
		}
		double t0 = now();
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, worker, &a[i]);
		long total = 0;
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			total += a[i].ops;
		}
		double dt = now() - t0;
		printf("%.0f\n", total / dt);
		pmemobj_close(pop);
		unlink(path);
		return 0;
	}
	if (strcmp(argv[1], "mkpool") == 0 && argc >= 4) {
		unlink(path);
		PMEMobjpool *pop = pmemobj_create(path, "bench", (size_t)1 << 30, 0600);
		if (!pop)
			return 1;
		long n = atol(argv[3]);
		for (long i = 0; i < n; i++)
			if (pmemobj_alloc(pop, NULL, 256, 2, NULL, NULL) != 0)
				return 1;
		pmemobj_close(pop);
		return 0;
	}
	if (strcmp(argv[1], "open") == 0 || strcmp(argv[1], "openalloc") == 0) {
		double t0 = now();
		PMEMobjpool *pop = pmemobj_open(path, "bench");
		if (!pop) {
			fprintf(stderr, "open: %s\n", pmemobj_errormsg());
			return 1;
		}
		/* the first allocation: where lazily built heap state is paid for */
		PMEMoid o;
		if (argv[1][4] == 'a' && pmemobj_alloc(pop, &o, 256, 2, NULL, NULL) == 0)
			pmemobj_free(&o);
		double dt = now() - t0;
		pmemobj_close(pop);
		printf("%.6f\n", dt);
		return 0;
	}
	if (strcmp(argv[1], "refill") == 0) {
		unlink(path);
		PMEMobjpool *pop = pmemobj_create(path, "bench", 64 << 20, 0600);
		if (!pop)
			return 1;
		long n1 = 0, n2 = 0;
		while (pmemobj_alloc(pop, NULL, 256, 3, NULL, NULL) == 0)
			n1++;
		PMEMoid o, nx;
		POBJ_FOREACH_SAFE(pop, o, nx)
			pmemobj_free(&o);
		while (pmemobj_alloc(pop, NULL, 256, 3, NULL, NULL) == 0)
			n2++;
		printf("%ld %ld\n", n1, n2);
		pmemobj_close(pop);
		unlink(path);
		return 0;
	}
	return 2;
}
