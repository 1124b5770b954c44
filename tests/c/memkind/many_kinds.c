/* ours-only: memkind 1.14 stops at 479 kinds with MEMKIND_ERROR_ARENAS_CREATE */
/*
 * Up to MEMKIND_MAX_KIND file-backed kinds can be alive at once; one more
 * gives MEMKIND_ERROR_TOOMANY. After destroying them all, creating works
 * again. Every kind keeps its own data.
 */
#include "common.h"

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    static memkind_t kinds[MEMKIND_MAX_KIND + 8];
    static int *blocks[MEMKIND_MAX_KIND + 8];
    int n, i, err = MEMKIND_SUCCESS, fds_before = count_fds();
    memkind_t kind;

    STEP("create kinds until MEMKIND_ERROR_TOOMANY");
    for (n = 0; n < MEMKIND_MAX_KIND + 8; n++) {
        err = memkind_create_pmem(dir, 0, &kinds[n]);
        if (err != MEMKIND_SUCCESS)
            break;
        blocks[n] = (int *)memkind_malloc(kinds[n], 256 * sizeof(int));
        if (!blocks[n]) {
            test_fail(__FILE__, __LINE__, "kind %d: malloc gave NULL", n);
            break;
        }
        for (i = 0; i < 256; i++)
            blocks[n][i] = n * 1000 + i;
    }
    printf("  created %d kinds, then got %d\n", n, err);
    CHECK_INT(MEMKIND_ERROR_TOOMANY, err);
    CHECK_SIZE_GE(n, 500);
    CHECK_SIZE_LE(n, MEMKIND_MAX_KIND);

    STEP("every kind kept its own data and owns its block");
    for (i = 0; i < n; i++) {
        int j, ok = 1;
        if (!blocks[i])
            continue;
        for (j = 0; j < 256; j++)
            if (blocks[i][j] != i * 1000 + j)
                ok = 0;
        if (!ok)
            test_fail(__FILE__, __LINE__, "kind %d: data changed", i);
        if (memkind_detect_kind(blocks[i]) != kinds[i])
            test_fail(__FILE__, __LINE__, "kind %d: detect_kind is wrong", i);
    }

    STEP("destroy all of them");
    for (i = 0; i < n; i++) {
        memkind_free(NULL, blocks[i]);
        err = memkind_destroy_kind(kinds[i]);
        if (err != MEMKIND_SUCCESS)
            test_fail(__FILE__, __LINE__, "destroy kind %d: expected 0, got %d",
                      i, err);
    }
    CHECK_INT(fds_before, count_fds());

    STEP("creating a kind works again");
    err = memkind_create_pmem(dir, 0, &kind);
    CHECK_INT(MEMKIND_SUCCESS, err);
    if (err == MEMKIND_SUCCESS) {
        void *p = memkind_malloc(kind, 1000);
        CHECK(p != NULL);
        memkind_free(kind, p);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    }
    CHECK_INT(0, count_dir_entries(dir));

    return test_finish("many_kinds");
}
