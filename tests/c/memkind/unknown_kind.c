/*
 * Operations given a NULL kind find the kind that owns the pointer:
 * memkind_free(NULL, p), memkind_realloc(NULL, p, n),
 * memkind_malloc_usable_size(NULL, p), and memkind_detect_kind(p), for blocks
 * of several file-backed kinds and of MEMKIND_DEFAULT, small and large.
 */
#include "common.h"

#define NKINDS 4
#define PER_KIND 200

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t kinds[NKINDS + 1];
    static void *blocks[NKINDS + 1][PER_KIND];
    static size_t sizes[PER_KIND];
    int k, i;

    for (k = 0; k < NKINDS; k++)
        REQUIRE(memkind_create_pmem(dir, (k % 2) ? 64u << 20 : 0, &kinds[k]) ==
                MEMKIND_SUCCESS);
    kinds[NKINDS] = MEMKIND_DEFAULT;
    for (i = 0; i < PER_KIND; i++)
        sizes[i] = (i % 10 == 9) ? (size_t)(1 << 20) + (size_t)i
                                 : (size_t)(8 + i * 53);

    STEP("allocate %d blocks from each of %d file kinds and MEMKIND_DEFAULT",
         PER_KIND, NKINDS);
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i++) {
            blocks[k][i] = memkind_malloc(kinds[k], sizes[i]);
            REQUIRE(blocks[k][i] != NULL);
            fill_pattern(blocks[k][i], sizes[i], (unsigned)(k * 1000 + i));
        }

    STEP("memkind_detect_kind returns the owning kind");
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i++)
            if (memkind_detect_kind(blocks[k][i]) != kinds[k])
                test_fail(__FILE__, __LINE__,
                          "kind #%d block %d: detect_kind gave the wrong kind",
                          k, i);

    STEP("memkind_malloc_usable_size(NULL, p) matches the owning kind's");
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i++) {
            size_t a = memkind_malloc_usable_size(NULL, blocks[k][i]);
            size_t b = memkind_malloc_usable_size(kinds[k], blocks[k][i]);
            if (a != b || a < sizes[i])
                test_fail(__FILE__, __LINE__,
                          "kind #%d block %d: usable size with NULL kind %zu, "
                          "with its kind %zu, requested %zu",
                          k, i, a, b, sizes[i]);
        }

    STEP("memkind_realloc(NULL, p, n) keeps the block in its kind");
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i += 3) {
            size_t keep = sizes[i];
            void *q = memkind_realloc(NULL, blocks[k][i], sizes[i] * 2);
            if (!q) {
                test_fail(__FILE__, __LINE__,
                          "kind #%d block %d: realloc gave NULL", k, i);
                continue;
            }
            blocks[k][i] = q;
            sizes[i] = keep; /* the pattern covers the old size */
            if (!check_pattern(q, keep, (unsigned)(k * 1000 + i)))
                test_fail(__FILE__, __LINE__,
                          "kind #%d block %d: realloc lost the data", k, i);
            if (memkind_detect_kind(q) != kinds[k])
                test_fail(__FILE__, __LINE__,
                          "kind #%d block %d: realloc moved it to another kind",
                          k, i);
        }

    STEP("data of every block is intact");
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i++)
            if (!check_pattern(blocks[k][i], sizes[i],
                               (unsigned)(k * 1000 + i)))
                test_fail(__FILE__, __LINE__, "kind #%d block %d: data changed",
                          k, i);

    STEP("memkind_free(NULL, p) releases every block");
    for (k = 0; k <= NKINDS; k++)
        for (i = 0; i < PER_KIND; i++)
            memkind_free(NULL, blocks[k][i]);
    memkind_free(NULL, NULL);

    STEP("the fixed kind still gives a 4 MiB block");
    {
        void *big = memkind_malloc(kinds[1], 4u << 20);
        CHECK(big != NULL);
        if (big)
            memset(big, 0x11, 4u << 20);
        memkind_free(NULL, big);
    }

    for (k = 0; k < NKINDS; k++)
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kinds[k]));
    return test_finish("unknown_kind");
}
