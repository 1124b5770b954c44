/*
 * Four threads allocate and free 100k blocks each on one kind created with
 * MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE, which returns freed space to the
 * file system as soon as possible. Data is checked before every free.
 */
#include "common.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 100000
#define LIVE 64

static memkind_t kind;
static int errors[THREADS];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;
    unsigned char *live[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    unsigned seed = (unsigned)id * 2654435761u + 1;

    for (i = 0; i < ROUNDS; i++) {
        int slot;
        size_t size;
        seed = seed * 1103515245u + 12345u;
        slot = (int)((seed >> 8) % LIVE);
        /* mostly small, sometimes up to 256 KiB */
        size = (seed >> 20) % 8 == 0 ? 4096 + (seed >> 4) % (256u << 10)
                                      : 16 + (seed >> 12) % 2000;
        if (live[slot]) {
            if (live[slot][0] != (unsigned char)slot ||
                live[slot][sizes[slot] - 1] != (unsigned char)(slot ^ id))
                errors[id]++;
            memkind_free(kind, live[slot]);
        }
        live[slot] = (unsigned char *)memkind_malloc(kind, size);
        if (!live[slot]) {
            errors[id]++;
            continue;
        }
        sizes[slot] = size;
        live[slot][0] = (unsigned char)slot;
        live[slot][size - 1] = (unsigned char)(slot ^ id);
    }
    for (i = 0; i < LIVE; i++)
        memkind_free(kind, live[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    struct memkind_config *cfg = memkind_config_new();
    pthread_t threads[THREADS];
    int i;

    REQUIRE(cfg != NULL);
    memkind_config_set_path(cfg, test_pmem_dir(argc, argv));
    memkind_config_set_size(cfg, 0);
    memkind_config_set_memory_usage_policy(
        cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    REQUIRE(memkind_create_pmem_with_config(cfg, &kind) == MEMKIND_SUCCESS);
    memkind_config_delete(cfg);

    STEP("%d threads x %d malloc/free on one conservative kind", THREADS,
         ROUNDS);
    for (i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&threads[i], NULL, worker,
                               (void *)(intptr_t)i) == 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    STEP("no thread saw a NULL or a damaged block");
    for (i = 0; i < THREADS; i++)
        if (errors[i])
            test_fail(__FILE__, __LINE__, "thread %d: expected 0 errors, got %d",
                      i, errors[i]);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("threads_conservative");
}
