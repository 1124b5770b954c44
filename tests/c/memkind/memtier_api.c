/*
 * The memtier API: builders and their errors (bad pointers: memtier_errors_ours.c), allocation through a memory
 * object and through kinds, exact per-kind byte counts (single thread and
 * 4 threads), STATIC_RATIO shares on a DRAM + file-backed pair, and
 * DYNAMIC_THRESHOLD sending small blocks to the first tier and large ones to
 * the second.
 */
#include "common.h"

#include <memkind_memtier.h>
#include <pthread.h>

#define THREADS 4
#define PER_THREAD 20000

static memkind_t pmem;

static void *worker(void *arg)
{
    void **blocks = malloc(PER_THREAD * sizeof(void *));
    int id = (int)(intptr_t)arg, i, bad = 0;

    for (i = 0; i < PER_THREAD; i++) {
        size_t size = 8 + (size_t)((i * 37 + id * 11) % 3000);
        blocks[i] = memtier_kind_malloc(i % 2 ? pmem : MEMKIND_DEFAULT, size);
        if (!blocks[i])
            bad++;
        else
            memset(blocks[i], id, size);
    }
    /* Free the other half of the blocks in reverse, through the kind-less call. */
    for (i = PER_THREAD - 1; i >= 0; i--)
        memtier_free(blocks[i]);
    free(blocks);
    return (void *)(intptr_t)bad;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    struct memtier_builder *b;
    struct memtier_memory *m;
    size_t v, before, d0, d1;
    unsigned cnt;
    float f;
    void *p, *q, *blocks[4000];
    pthread_t t[THREADS];
    int i, in_pmem;

    REQUIRE(memkind_create_pmem(dir, 0, &pmem) == MEMKIND_SUCCESS);

    STEP("builder errors");
    b = memtier_builder_new(MEMTIER_POLICY_STATIC_RATIO);
    REQUIRE(b != NULL);
    CHECK_INT(-1, memtier_builder_add_tier(b, NULL, 1));
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    CHECK_INT(-1, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    v = 100;
    CHECK_INT(-1, memtier_ctl_set(b, "policy.dynamic_threshold.thresholds[0].val", &v));

    STEP("one-tier memory: byte counts follow malloc, realloc and free");
    m = memtier_builder_construct_memtier_memory(b);
    REQUIRE(m != NULL);
    before = memtier_kind_allocated_size(MEMKIND_DEFAULT);
    p = memtier_malloc(m, 100);
    REQUIRE(p != NULL);
    memset(p, 0xab, 100);
    CHECK_PTR_EQ(MEMKIND_DEFAULT, memkind_detect_kind(p));
    CHECK_INT(memtier_usable_size(p), memtier_kind_allocated_size(MEMKIND_DEFAULT) - before);
    CHECK_SIZE_GE(memtier_usable_size(p), 100);
    p = memtier_realloc(m, p, 5000);
    REQUIRE(p != NULL);
    CHECK_INT(0xab, ((unsigned char *)p)[99]);
    CHECK_INT(memtier_usable_size(p), memtier_kind_allocated_size(MEMKIND_DEFAULT) - before);
    memtier_free(p);
    CHECK_INT(before, memtier_kind_allocated_size(MEMKIND_DEFAULT));
    CHECK_NULL(memtier_malloc(m, 0));
    q = memtier_calloc(m, 10, 10);
    REQUIRE(q != NULL);
    for (i = 0; i < 100; i++)
        CHECK_INT(0, ((unsigned char *)q)[i]);
    CHECK_NULL(memtier_realloc(m, q, 0));
    CHECK_INT(before, memtier_kind_allocated_size(MEMKIND_DEFAULT));
    p = NULL;
    CHECK_INT(EINVAL, memtier_posix_memalign(m, &p, 3, 10));
    CHECK_NULL(p);
    CHECK_INT(0, memtier_posix_memalign(m, &p, 4096, 10));
    REQUIRE(p != NULL);
    CHECK_INT(0, (uintptr_t)p % 4096);
    memtier_free(p);
    CHECK_INT(0, memtier_usable_size(NULL));
    memtier_delete_memtier_memory(m);
    memtier_builder_delete(b);

    STEP("kind calls: a file-backed kind is counted on its own");
    before = memtier_kind_allocated_size(pmem);
    p = memtier_kind_malloc(pmem, 64);
    REQUIRE(p != NULL);
    CHECK_PTR_EQ(pmem, memkind_detect_kind(p));
    CHECK_INT(memtier_usable_size(p), memtier_kind_allocated_size(pmem) - before);
    p = memtier_kind_realloc(pmem, p, 100000);
    REQUIRE(p != NULL);
    CHECK_INT(memtier_usable_size(p), memtier_kind_allocated_size(pmem) - before);
    CHECK_NULL(memtier_kind_realloc(pmem, p, 0));
    CHECK_INT(before, memtier_kind_allocated_size(pmem));
    q = memtier_kind_calloc(pmem, 3, 1000);
    REQUIRE(q != NULL);
    CHECK_INT(0, ((unsigned char *)q)[2999]);
    memtier_kind_free(NULL, q);
    p = NULL;
    CHECK_INT(0, memtier_kind_posix_memalign(pmem, &p, 64, 1000));
    REQUIRE(p != NULL);
    CHECK_INT(0, (uintptr_t)p % 64);
    memtier_kind_free(pmem, p);
    CHECK_INT(before, memtier_kind_allocated_size(pmem));

    STEP("4 threads allocate and free in two kinds: counts come back exactly");
    before = memtier_kind_allocated_size(pmem);
    d0 = memtier_kind_allocated_size(MEMKIND_DEFAULT);
    for (i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (i = 0; i < THREADS; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK_INT(0, (intptr_t)bad);
    }
    CHECK_INT(before, memtier_kind_allocated_size(pmem));
    CHECK_INT(d0, memtier_kind_allocated_size(MEMKIND_DEFAULT));

    STEP("STATIC_RATIO 1:3 between DRAM and the file-backed kind");
    b = memtier_builder_new(MEMTIER_POLICY_STATIC_RATIO);
    REQUIRE(b != NULL);
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    CHECK_INT(0, memtier_builder_add_tier(b, pmem, 3));
    m = memtier_builder_construct_memtier_memory(b);
    REQUIRE(m != NULL);
    memtier_builder_delete(b);
    d0 = memtier_kind_allocated_size(MEMKIND_DEFAULT);
    d1 = memtier_kind_allocated_size(pmem);
    in_pmem = 0;
    for (i = 0; i < 4000; i++) {
        blocks[i] = memtier_malloc(m, 1024);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i, 1024);
        in_pmem += memkind_detect_kind(blocks[i]) == pmem;
    }
    /* 3 of every 4 blocks go to the file-backed kind, within 1% (the policy sees
     * the counts in 50 KB steps). */
    CHECK_SIZE_GE((size_t)in_pmem, 2970);
    CHECK_SIZE_LE((size_t)in_pmem, 3030);
    d0 = memtier_kind_allocated_size(MEMKIND_DEFAULT) - d0;
    d1 = memtier_kind_allocated_size(pmem) - d1;
    CHECK_SIZE_GE(d1, 3 * d0 - 3 * d0 / 25);
    CHECK_SIZE_LE(d1, 3 * d0 + 3 * d0 / 25);
    for (i = 0; i < 4000; i++) {
        CHECK_INT((unsigned char)i, ((unsigned char *)blocks[i])[1023]);
        memtier_free(blocks[i]);
    }
    memtier_delete_memtier_memory(m);

    STEP("DYNAMIC_THRESHOLD: settings, small blocks first tier, large second");
    b = memtier_builder_new(MEMTIER_POLICY_DYNAMIC_THRESHOLD);
    REQUIRE(b != NULL);
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    CHECK_NULL(memtier_builder_construct_memtier_memory(b));
    CHECK_INT(0, memtier_builder_add_tier(b, pmem, 1));
    v = 100;
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.thresholds[0].val", &v));
    CHECK_INT(-1, memtier_ctl_set(b, "policy.dynamic_threshold.thresholds[1].val", &v));
    CHECK_INT(-1, memtier_ctl_set(b, "policy.dynamic_threshold.foo", &v));
    v = 2000;
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.thresholds[0].min", &v));
    /* min above val: the memory object is refused. */
    CHECK_NULL(memtier_builder_construct_memtier_memory(b));
    v = 50;
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.thresholds[0].min", &v));
    cnt = 1000000;
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.check_cnt", &cnt));
    f = 0.1f;
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.trigger", &f));
    CHECK_INT(0, memtier_ctl_set(b, "policy.dynamic_threshold.degree", &f));
    m = memtier_builder_construct_memtier_memory(b);
    REQUIRE(m != NULL);
    memtier_builder_delete(b);
    p = memtier_malloc(m, 50);
    q = memtier_malloc(m, 5000);
    REQUIRE(p && q);
    CHECK_PTR_EQ(MEMKIND_DEFAULT, memkind_detect_kind(p));
    CHECK_PTR_EQ(pmem, memkind_detect_kind(q));
    memtier_free(p);
    memtier_free(q);
    memtier_delete_memtier_memory(m);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(pmem));
    return test_finish("memtier_api");
}
