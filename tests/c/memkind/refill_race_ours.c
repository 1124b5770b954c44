/* ours-only: memkind 1.14's threads on a kind another arena emptied get nothing at all */
/*
 * Threads failing together on a bounded kind all get space once one of them reclaims it.
 * The main thread fills a 32 MiB kind with 64 B blocks and frees them (the pages stay
 * committed to its arena); then four threads start at once and each asks for 1024 blocks.
 * Each thread's first request fails in its own arena and one failure reclaims the main
 * thread's pages: the others must wait for that reclaim instead of taking the recorded
 * failure as final. Repeated, since the window is narrow.
 */
#include "common.h"

#include <pthread.h>

#define THREADS 4
#define PER_THREAD 1024
#define ROUNDS 40

static memkind_t kind;
static pthread_barrier_t start;

static void *worker(void *arg)
{
    size_t *got = arg;
    void **blocks = malloc(PER_THREAD * sizeof(void *));
    size_t n = 0;
    if (!blocks)
        return NULL;
    pthread_barrier_wait(&start);
    while (n < PER_THREAD) {
        unsigned char *p = memkind_malloc(kind, 64);
        if (!p)
            break;
        fill_pattern(p, 64, (unsigned)n);
        blocks[n++] = p;
    }
    pthread_barrier_wait(&start);
    for (size_t i = 0; i < n; i++) {
        if (!check_pattern(blocks[i], 64, (unsigned)i))
            test_fail(__FILE__, __LINE__, "block %zu lost its data", i);
        memkind_free(kind, blocks[i]);
    }
    free(blocks);
    *got = n;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    size_t cap = (size_t)32 << 20;
    void **fill = malloc((cap / 64) * sizeof(void *));
    REQUIRE(fill != NULL);

    STEP("%d rounds: fill a 32 MiB kind, free it, then %d threads ask for %d blocks each",
         ROUNDS, THREADS, PER_THREAD);
    for (int r = 0; r < ROUNDS; r++) {
        REQUIRE(memkind_create_pmem(dir, cap, &kind) == MEMKIND_SUCCESS);
        size_t n = 0;
        void *p;
        while (n < cap / 64 && (p = memkind_malloc(kind, 64)) != NULL)
            fill[n++] = p;
        CHECK(n > cap / 64 / 2);
        for (size_t i = 0; i < n; i++)
            memkind_free(kind, fill[i]);

        pthread_t t[THREADS];
        size_t got[THREADS] = {0};
        REQUIRE(pthread_barrier_init(&start, NULL, THREADS) == 0);
        for (int i = 0; i < THREADS; i++)
            REQUIRE(pthread_create(&t[i], NULL, worker, &got[i]) == 0);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < THREADS; i++)
            if (got[i] != PER_THREAD)
                test_fail(__FILE__, __LINE__, "round %d: thread %d got %zu of %d blocks", r, i,
                          got[i], PER_THREAD);
        REQUIRE(memkind_destroy_kind(kind) == MEMKIND_SUCCESS);
    }
    free(fill);
    return test_finish("refill_race_ours");
}
