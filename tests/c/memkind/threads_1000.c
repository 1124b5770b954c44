/*
 * A thousand threads started together, each allocating once through the memtier API
 * from MEMKIND_DEFAULT and a file-backed kind (its first use of each kind's per-thread
 * state): every block holds its data and all threads finish. Locks that convoy when many
 * threads arrive at once show up here as a time-out of the runner.
 */
#include "common.h"

#include <memkind_memtier.h>
#include <pthread.h>

#define THREADS 1000

static struct memtier_memory *memory;
static pthread_barrier_t start;
static int bad[THREADS];

static void *run(void *arg)
{
    int id = (int)(intptr_t)arg;
    pthread_barrier_wait(&start);
    for (int round = 0; round < 2; round++) {
        unsigned char *p = memtier_malloc(memory, 64 + (size_t)round * 4000);
        if (!p) {
            bad[id] = 1;
            return NULL;
        }
        memset(p, id & 0xff, 64);
        for (int i = 0; i < 64; i++)
            if (p[i] != (unsigned char)(id & 0xff))
                bad[id] = 2;
        memtier_free(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t pmem = NULL;
    static pthread_t threads[THREADS];
    int started = 0, failed = 0;

    REQUIRE(memkind_create_pmem(dir, 0, &pmem) == MEMKIND_SUCCESS);
    struct memtier_builder *b = memtier_builder_new(MEMTIER_POLICY_STATIC_RATIO);
    REQUIRE(b != NULL);
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    CHECK_INT(0, memtier_builder_add_tier(b, pmem, 1));
    memory = memtier_builder_construct_memtier_memory(b);
    REQUIRE(memory != NULL);

    STEP("%d threads allocate at once", THREADS);
    REQUIRE(pthread_barrier_init(&start, NULL, THREADS) == 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (; started < THREADS; started++)
        if (pthread_create(&threads[started], &attr, run, (void *)(intptr_t)started) != 0)
            break;
    REQUIRE(started == THREADS);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++)
        failed += bad[i] != 0;
    CHECK_INT(0, failed);
    CHECK(memtier_kind_allocated_size(MEMKIND_DEFAULT) + memtier_kind_allocated_size(pmem) == 0);

    memtier_delete_memtier_memory(memory);
    memtier_builder_delete(b);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(pmem));
    return test_finish("threads_1000");
}
