/*
 * memkind_defrag_reallocate: after most blocks of a size class were freed
 * in a scattered way, defragmenting the survivors moves some of them (the
 * old address is freed, the new one holds the same bytes and belongs to the
 * same kind) and returns NULL for the others, which stay valid; the kind's
 * active pages go down. NULL for a NULL pointer and for a large block. The
 * same through a NULL kind.
 */
#include "common.h"

#define N 20000
#define SIZE 100
#define KEEP 10 /* keep one block in KEEP */

static void *blocks[N];

static size_t active(memkind_t kind)
{
    size_t v = 0;
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS,
              memkind_get_stat(kind, MEMKIND_STAT_TYPE_ACTIVE, &v));
    return v;
}

/* Defragments the surviving blocks; returns how many moved. */
static int defrag_pass(memkind_t kind, memkind_t arg, int *stayed)
{
    int i, moved = 0, bad = 0, wrong_kind = 0;
    *stayed = 0;
    for (i = 0; i < N; i += KEEP) {
        void *q = memkind_defrag_reallocate(arg, blocks[i]);
        if (q) {
            moved++;
            blocks[i] = q;
        } else {
            (*stayed)++;
        }
        bad += !check_pattern(blocks[i], SIZE, (unsigned)i);
        wrong_kind += memkind_detect_kind(blocks[i]) != kind;
    }
    CHECK_INT(0, bad);
    CHECK_INT(0, wrong_kind);
    return moved;
}

static void run(const char *dir, int null_kind)
{
    memkind_t kind = NULL;
    size_t act_full, act_sparse, act_defrag;
    int i, moved, stayed, moved2, stayed2;
    void *big;

    STEP("%s kind argument: %d blocks of %d bytes, keep one in %d",
         null_kind ? "NULL" : "the", N, SIZE, KEEP);
    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    for (i = 0; i < N; i++) {
        blocks[i] = memkind_malloc(kind, SIZE);
        REQUIRE(blocks[i] != NULL);
        fill_pattern(blocks[i], SIZE, (unsigned)i);
    }
    act_full = active(kind);
    for (i = 0; i < N; i++)
        if (i % KEEP)
            memkind_free(kind, blocks[i]);
    act_sparse = active(kind);

    STEP("defragmenting moves some blocks and keeps every block's data");
    moved = defrag_pass(kind, null_kind ? NULL : kind, &stayed);
    act_defrag = active(kind);
    printf("  moved %d, stayed %d; active %zu -> %zu -> %zu\n", moved, stayed,
           act_full, act_sparse, act_defrag);
    CHECK(moved > 0);
    CHECK(stayed > 0);
    CHECK_SIZE_LE(act_defrag, act_sparse - 1);

    STEP("a second pass moves fewer blocks");
    moved2 = defrag_pass(kind, null_kind ? NULL : kind, &stayed2);
    printf("  moved %d, stayed %d\n", moved2, stayed2);
    CHECK(moved2 < moved);

    STEP("NULL for a NULL pointer and for a large block");
    CHECK_NULL(memkind_defrag_reallocate(null_kind ? NULL : kind, NULL));
    big = memkind_malloc(kind, 1u << 20);
    REQUIRE(big != NULL);
    fill_pattern(big, 1u << 20, 9);
    CHECK_NULL(memkind_defrag_reallocate(null_kind ? NULL : kind, big));
    CHECK(check_pattern(big, 1u << 20, 9));
    memkind_free(kind, big);

    for (i = 0; i < N; i += KEEP)
        memkind_free(kind, blocks[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    run(dir, 0);
    run(dir, 1);
    return test_finish("defrag");
}
