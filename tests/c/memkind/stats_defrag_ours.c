/* ours-only: memkind 1.14 crashes on these pointers and handles */
/*
 * Statistics and defragmentation with arguments memkind 1.14 does not check:
 * a NULL output or a handle that is no kind give MEMKIND_ERROR_INVALID;
 * memkind_defrag_reallocate returns NULL and changes nothing for pointers no
 * kind allocated (stack, malloc, interior, already freed). A fixed kind has
 * its own statistics, and defragmenting it keeps blocks inside the region.
 */
#include "common.h"

#include <sys/mman.h>

#define N 4000

static void *blocks[N];

int main(void)
{
    size_t v = 7, before, after;
    long local = 42;
    void *heap = malloc(64), *p;
    size_t region_size = 8u << 20;
    unsigned char *region;
    memkind_t kind = NULL;
    int i, moved = 0, outside = 0, bad = 0;

    STEP("get_stat: NULL value or a handle that is no kind");
    CHECK_INT(MEMKIND_ERROR_INVALID,
              memkind_get_stat(NULL, MEMKIND_STAT_TYPE_ALLOCATED, NULL));
    CHECK_INT(MEMKIND_ERROR_INVALID,
              memkind_get_stat((memkind_t)&local, MEMKIND_STAT_TYPE_ALLOCATED, &v));
    CHECK_INT(7, v);

    STEP("defrag: foreign pointers give NULL and are left alone");
    CHECK_NULL(memkind_defrag_reallocate(NULL, &local));
    CHECK_NULL(memkind_defrag_reallocate(MEMKIND_DEFAULT, heap));
    CHECK_INT(42, local);
    p = memkind_malloc(MEMKIND_DEFAULT, 100);
    REQUIRE(p != NULL);
    CHECK_NULL(memkind_defrag_reallocate(NULL, (char *)p + 16));
    memkind_free(NULL, p);
    CHECK_NULL(memkind_defrag_reallocate(NULL, p));
    free(heap);

    STEP("a fixed kind: its ALLOCATED grows by the bytes allocated in it");
    region = mmap(NULL, region_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(memkind_create_fixed(region, region_size, &kind) == MEMKIND_SUCCESS);
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS,
              memkind_get_stat(kind, MEMKIND_STAT_TYPE_ALLOCATED, &before));
    for (i = 0; i < N; i++) {
        blocks[i] = memkind_malloc(kind, 64);
        REQUIRE(blocks[i] != NULL);
        fill_pattern(blocks[i], 64, (unsigned)i);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS,
              memkind_get_stat(kind, MEMKIND_STAT_TYPE_ALLOCATED, &after));
    CHECK_SIZE_GE(after, before + (size_t)N * 64);

    STEP("defragmenting a fixed kind keeps its blocks inside the region");
    for (i = 0; i < N; i++)
        if (i % 8) {
            memkind_free(kind, blocks[i]);
            blocks[i] = NULL;
        }
    for (i = 0; i < N; i += 8) {
        void *q = memkind_defrag_reallocate(kind, blocks[i]);
        if (q) {
            moved++;
            blocks[i] = q;
        }
        outside += (unsigned char *)blocks[i] < region ||
                   (unsigned char *)blocks[i] + 64 > region + region_size;
        bad += !check_pattern(blocks[i], 64, (unsigned)i);
    }
    printf("  moved %d of %d\n", moved, N / 8);
    CHECK(moved > 0);
    CHECK_INT(0, outside);
    CHECK_INT(0, bad);
    for (i = 0; i < N; i += 8)
        memkind_free(kind, blocks[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    munmap(region, region_size);

    return test_finish("stats_defrag_ours");
}
