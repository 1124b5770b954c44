/* ours-only: memkind 1.14 hands a destroyed kind's addresses to the next kind */
/*
 * A pointer of a destroyed kind, used after another kind was created: it must not name
 * the new kind (memkind_detect_kind is NULL), and memkind_free(NULL, p) of it must leave
 * the new kind's blocks alone (reported on stderr, nothing freed).
 */
#include "common.h"

#define N 4096

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    static unsigned char *blocks[N];
    memkind_t a = NULL, b = NULL;

    STEP("a block of kind A outlives A");
    REQUIRE(memkind_create_pmem(dir, 0, &a) == MEMKIND_SUCCESS);
    unsigned char *stale = memkind_malloc(a, 64);
    REQUIRE(stale != NULL);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(a));

    STEP("kind B is created and filled");
    REQUIRE(memkind_create_pmem(dir, 0, &b) == MEMKIND_SUCCESS);
    for (int i = 0; i < N; i++) {
        blocks[i] = memkind_malloc(b, 64);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i & 0xff, 64);
    }

    STEP("the stale pointer names no kind, and freeing it touches nothing of B");
    CHECK_NULL(memkind_detect_kind(stale));
    memkind_free(NULL, stale);
    static unsigned char *more[N];
    for (int i = 0; i < N; i++) {
        more[i] = memkind_malloc(b, 64);
        REQUIRE(more[i] != NULL);
        memset(more[i], 0xee, 64);
    }
    int changed = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 64; j++)
            changed += blocks[i][j] != (unsigned char)(i & 0xff);
    CHECK_INT(0, changed);
    for (int i = 0; i < N; i++) {
        memkind_free(b, blocks[i]);
        memkind_free(b, more[i]);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(b));
    return test_finish("stale_free_ours");
}
