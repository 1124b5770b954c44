/* ours-only: memkind 1.14 does not reuse the space of a full fixed kind */
/*
 * After a fixed-size kind was filled and everything was freed, it can be
 * filled again almost as much as the first time, for small, medium and
 * large blocks, and a 16 MiB kind still accepts a 1 MiB block.
 */
#include "common.h"

/* Fill kind with blocks of one size until NULL; returns the bytes got. */
static size_t fill(memkind_t kind, size_t size, void ***out, size_t *count)
{
    size_t cap = 1024, n = 0;
    void **v = (void **)malloc(cap * sizeof(void *));
    REQUIRE(v != NULL);
    for (;;) {
        void *p;
        errno = 0;
        p = memkind_malloc(kind, size);
        if (!p) {
            if (errno != ENOMEM)
                test_fail(__FILE__, __LINE__,
                          "size %zu: expected errno ENOMEM at the end, got %d",
                          size, errno);
            break;
        }
        *(volatile char *)p = 1;
        ((volatile char *)p)[size - 1] = 2;
        if (n == cap) {
            cap *= 2;
            v = (void **)realloc(v, cap * sizeof(void *));
            REQUIRE(v != NULL);
        }
        v[n++] = p;
    }
    *out = v;
    *count = n;
    return n * size;
}

static void free_all(memkind_t kind, void **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        memkind_free(kind, v[i]);
    free(v);
}

static void refill(const char *dir, size_t kind_size)
{
    static const size_t sizes[] = {64, 4096, 1u << 20};
    memkind_t used = NULL;
    void **v;
    size_t n, s;

    /* "used" is filled with 1 MiB blocks and emptied before each refill */
    REQUIRE(memkind_create_pmem(dir, kind_size, &used) == MEMKIND_SUCCESS);
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        memkind_t fresh = NULL;
        size_t first, big, second;
        STEP("%zu MiB kind, %zu B blocks: after a 1 MiB fill and free all, a "
             "refill gets >= 90%% of a first fill",
             kind_size >> 20, sizes[s]);
        REQUIRE(memkind_create_pmem(dir, kind_size, &fresh) ==
                MEMKIND_SUCCESS);
        first = fill(fresh, sizes[s], &v, &n);
        free_all(fresh, v, n);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(fresh));

        big = fill(used, 1u << 20, &v, &n);
        free_all(used, v, n);
        second = fill(used, sizes[s], &v, &n);
        free_all(used, v, n);
        printf("  first fill %zu KiB, 1 MiB fill %zu KiB, refill %zu KiB\n",
               first >> 10, big >> 10, second >> 10);
        CHECK_SIZE_GE(first, kind_size / 4);
        CHECK_SIZE_GE(second, first / 10 * 9);
    }

    STEP("%zu MiB kind: after a 64 B fill and free all, one 1 MiB block fits",
         kind_size >> 20);
    fill(used, 64, &v, &n);
    free_all(used, v, n);
    {
        void *p = memkind_malloc(used, 1u << 20);
        CHECK(p != NULL);
        if (p)
            memset(p, 0x77, 1u << 20);
        memkind_free(used, p);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(used));
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    refill(dir, 16u << 20);
    refill(dir, 32u << 20);
    return test_finish("limits_refill");
}
