/*
 * Several threads each create their own file-backed kind, allocate, check
 * and free in it, and destroy it, all at the same time; then once more with
 * every thread using a fixed-size kind.
 */
#include "common.h"

#include <pthread.h>

#define THREADS 8
#define ROUNDS 20000

static const char *dir;
static size_t kind_size;
static int errors[THREADS];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;
    memkind_t kind = NULL;
    void *keep[16] = {0};

    if (memkind_create_pmem(dir, kind_size, &kind) != MEMKIND_SUCCESS) {
        errors[id]++;
        return NULL;
    }
    for (i = 0; i < ROUNDS; i++) {
        size_t size = 16 + (size_t)((i * 131 + id * 17) % 8000);
        unsigned char *p = (unsigned char *)memkind_malloc(kind, size);
        if (!p) {
            errors[id]++;
            continue;
        }
        if (memkind_detect_kind(p) != kind)
            errors[id]++;
        fill_pattern(p, size, (unsigned)(id + i));
        if (!check_pattern(p, size, (unsigned)(id + i)))
            errors[id]++;
        /* keep a few blocks alive for a while */
        if (keep[i % 16])
            memkind_free(kind, keep[i % 16]);
        keep[i % 16] = p;
    }
    for (i = 0; i < 16; i++)
        memkind_free(NULL, keep[i]);
    if (memkind_destroy_kind(kind) != MEMKIND_SUCCESS)
        errors[id]++;
    return NULL;
}

static void run(size_t size)
{
    pthread_t threads[THREADS];
    int i;
    kind_size = size;
    STEP("%d threads, each with its own kind (max_size %zu MiB)", THREADS,
         size >> 20);
    for (i = 0; i < THREADS; i++) {
        errors[i] = 0;
        REQUIRE(pthread_create(&threads[i], NULL, worker,
                               (void *)(intptr_t)i) == 0);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (i = 0; i < THREADS; i++)
        if (errors[i])
            test_fail(__FILE__, __LINE__, "thread %d: expected 0 errors, got %d",
                      i, errors[i]);
}

int main(int argc, char **argv)
{
    int fds = count_fds();
    dir = test_pmem_dir(argc, argv);
    run(0);
    run(MEMKIND_PMEM_MIN_SIZE);
    STEP("no descriptor leaked");
    CHECK_INT(fds, count_fds());
    return test_finish("threads_own_kind");
}
