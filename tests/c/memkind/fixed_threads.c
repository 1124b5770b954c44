/* ours-only: memkind 1.14 returns ENOMEM here while much of the region is free */
/*
 * Several threads allocate from one fixed kind at once, each writing and
 * checking its own blocks, freeing some and reallocating; every block lies
 * inside the region and keeps its data. Then each thread gets a fixed kind of
 * its own over a slice of one shared mapping (neighbouring regions in the
 * same part of the address space).
 */
#include "common.h"

#include <pthread.h>
#include <sys/mman.h>

#define THREADS 8
#define BLOCKS 2000

static unsigned char *region;
static size_t region_size = 64u << 20;

struct job {
    memkind_t kind;
    unsigned char *lo, *hi;
    unsigned seed;
    int bad;
};

static void *work(void *arg)
{
    struct job *j = arg;
    static __thread void *blocks[BLOCKS];
    static __thread size_t sizes[BLOCKS];
    int round, i;
    for (round = 0; round < 4; round++) {
        for (i = 0; i < BLOCKS; i++) {
            sizes[i] = 16 + (j->seed * 131u + (unsigned)i * 977u) % 3000u;
            blocks[i] = memkind_malloc(j->kind, sizes[i]);
            if (!blocks[i]) {
                j->bad++;
                continue;
            }
            if ((unsigned char *)blocks[i] < j->lo ||
                (unsigned char *)blocks[i] + sizes[i] > j->hi)
                j->bad++;
            fill_pattern(blocks[i], sizes[i], j->seed + (unsigned)i);
        }
        for (i = 0; i < BLOCKS; i += 2) {
            if (blocks[i] && !check_pattern(blocks[i], sizes[i], j->seed + (unsigned)i))
                j->bad++;
            memkind_free(j->kind, blocks[i]);
            blocks[i] = NULL;
        }
        for (i = 1; i < BLOCKS; i += 2) {
            if (blocks[i] && !check_pattern(blocks[i], sizes[i], j->seed + (unsigned)i))
                j->bad++;
            memkind_free(NULL, blocks[i]);
        }
    }
    return NULL;
}

static void run(struct job *jobs)
{
    pthread_t t[THREADS];
    int i;
    for (i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, work, &jobs[i]) == 0);
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(0, jobs[i].bad);
    }
}

int main(void)
{
    struct job jobs[THREADS];
    memkind_t shared = NULL, own[THREADS];
    size_t slice = region_size / THREADS;
    int i;

    region = mmap(NULL, region_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(region != MAP_FAILED);

    STEP("%d threads share one fixed kind of %zu MiB", THREADS, region_size >> 20);
    REQUIRE(memkind_create_fixed(region, region_size, &shared) == MEMKIND_SUCCESS);
    for (i = 0; i < THREADS; i++) {
        jobs[i].kind = shared;
        jobs[i].lo = region;
        jobs[i].hi = region + region_size;
        jobs[i].seed = (unsigned)i;
        jobs[i].bad = 0;
    }
    run(jobs);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(shared));

    STEP("%d threads, each with a fixed kind over its slice", THREADS);
    for (i = 0; i < THREADS; i++) {
        REQUIRE(memkind_create_fixed(region + i * slice, slice, &own[i]) ==
                MEMKIND_SUCCESS);
        jobs[i].kind = own[i];
        jobs[i].lo = region + i * slice;
        jobs[i].hi = region + (i + 1) * slice;
        jobs[i].bad = 0;
    }
    run(jobs);
    for (i = 0; i < THREADS; i++)
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(own[i]));

    munmap(region, region_size);
    return test_finish("fixed_threads");
}
