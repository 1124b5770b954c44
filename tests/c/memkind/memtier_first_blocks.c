/*
 * Where STATIC_RATIO puts a process's first blocks: each thread's byte counts reach
 * the policy in steps of about 50 KB, so the first blocks of a fresh process go to
 * the first tier, a large block right after them too, and the blocks after that to
 * the second tier until its share catches up (memkind 1.14 places them so; a
 * program such as sort, whose one large buffer is its first big request, keeps
 * that buffer in DRAM on both). memtier_kind_allocated_size stays exact throughout.
 */
#include "common.h"

#include <memkind_memtier.h>

#define SMALL 40

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    struct memtier_builder *b;
    struct memtier_memory *m;
    memkind_t pmem;
    void *small[SMALL], *big, *after[100];
    size_t d0, d1, used = 0;
    int i, in_pmem = 0;

    REQUIRE(memkind_create_pmem(dir, 0, &pmem) == MEMKIND_SUCCESS);
    b = memtier_builder_new(MEMTIER_POLICY_STATIC_RATIO);
    REQUIRE(b != NULL);
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
    CHECK_INT(0, memtier_builder_add_tier(b, pmem, 1));
    m = memtier_builder_construct_memtier_memory(b);
    REQUIRE(m != NULL);
    memtier_builder_delete(b);
    d0 = memtier_kind_allocated_size(MEMKIND_DEFAULT);
    d1 = memtier_kind_allocated_size(pmem);

    STEP("40 KB of 1 KiB blocks, then 8 MiB: all in the first tier");
    for (i = 0; i < SMALL; i++) {
        small[i] = memtier_malloc(m, 1024);
        REQUIRE(small[i] != NULL);
        memset(small[i], i, 1024);
        CHECK_PTR_EQ(MEMKIND_DEFAULT, memkind_detect_kind(small[i]));
        used += memkind_malloc_usable_size(NULL, small[i]);
    }
    big = memtier_malloc(m, 8 << 20);
    REQUIRE(big != NULL);
    memset(big, 0x5a, 8 << 20);
    CHECK_PTR_EQ(MEMKIND_DEFAULT, memkind_detect_kind(big));
    used += memkind_malloc_usable_size(NULL, big);
    CHECK_INT(d0 + used, memtier_kind_allocated_size(MEMKIND_DEFAULT));

    STEP("the next 100 KB go to the second tier, which holds far less");
    for (i = 0; i < 100; i++) {
        after[i] = memtier_malloc(m, 1024);
        REQUIRE(after[i] != NULL);
        memset(after[i], i + 1, 1024);
        in_pmem += memkind_detect_kind(after[i]) == pmem;
    }
    CHECK_INT(100, in_pmem);
    CHECK_SIZE_GE(memtier_kind_allocated_size(pmem) - d1, 100 * 1024);

    STEP("data read back, every block freed, counts back where they were");
    for (i = 0; i < SMALL; i++) {
        CHECK_INT((unsigned char)i, ((unsigned char *)small[i])[1023]);
        memtier_free(small[i]);
    }
    CHECK_INT(0x5a, ((unsigned char *)big)[(8 << 20) - 1]);
    memtier_free(big);
    for (i = 0; i < 100; i++) {
        CHECK_INT((unsigned char)(i + 1), ((unsigned char *)after[i])[0]);
        memtier_free(after[i]);
    }
    CHECK_INT(d0, memtier_kind_allocated_size(MEMKIND_DEFAULT));
    CHECK_INT(d1, memtier_kind_allocated_size(pmem));
    memtier_delete_memtier_memory(m);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(pmem));
    return test_finish("memtier_first_blocks");
}
