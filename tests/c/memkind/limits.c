/*
 * A fixed-size kind runs out: filling it with 1 MiB blocks ends with NULL
 * and errno ENOMEM, after a reasonable share of its size was handed out,
 * and the blocks obtained keep their data. Also for the smallest allowed
 * size, MEMKIND_PMEM_MIN_SIZE.
 */
#include "common.h"

#define MAX_BLOCKS 4096

static void fill_once(const char *dir, size_t kind_size)
{
    static void *blocks[MAX_BLOCKS];
    const size_t block = 1u << 20;
    memkind_t kind = NULL;
    int n = 0, i, saved_errno = 0;

    STEP("%zu MiB kind: fill with 1 MiB blocks until NULL", kind_size >> 20);
    REQUIRE(memkind_create_pmem(dir, kind_size, &kind) == MEMKIND_SUCCESS);
    for (n = 0; n < MAX_BLOCKS; n++) {
        errno = 0;
        blocks[n] = memkind_malloc(kind, block);
        if (!blocks[n]) {
            saved_errno = errno;
            break;
        }
        fill_pattern(blocks[n], block, (unsigned)n);
    }
    printf("  got %d blocks of 1 MiB\n", n);
    CHECK(n < MAX_BLOCKS);
    CHECK_INT(ENOMEM, saved_errno);
    /* never more than the kind's size, at least a quarter of it */
    CHECK_SIZE_LE((size_t)n * block, kind_size);
    CHECK_SIZE_GE((size_t)n * block, kind_size / 4);

    STEP("%zu MiB kind: malloc keeps failing with ENOMEM while full",
         kind_size >> 20);
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, block));
    CHECK_INT(ENOMEM, errno);
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, 2 * kind_size));
    CHECK_INT(ENOMEM, errno);

    STEP("%zu MiB kind: the blocks obtained kept their data", kind_size >> 20);
    for (i = 0; i < n; i++) {
        if (!check_pattern(blocks[i], block, (unsigned)i))
            test_fail(__FILE__, __LINE__, "block %d changed", i);
        memkind_free(kind, blocks[i]);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);

    fill_once(dir, MEMKIND_PMEM_MIN_SIZE);
    fill_once(dir, 32u << 20);
    fill_once(dir, 256u << 20);

    STEP("a request larger than a fixed kind fails at once with ENOMEM");
    {
        memkind_t kind;
        REQUIRE(memkind_create_pmem(dir, 32u << 20, &kind) == MEMKIND_SUCCESS);
        errno = 0;
        CHECK_NULL(memkind_malloc(kind, 33u << 20));
        CHECK_INT(ENOMEM, errno);
        errno = 0;
        CHECK_NULL(memkind_calloc(kind, 1, 64u << 20));
        CHECK_INT(ENOMEM, errno);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    }
    return test_finish("limits");
}
