/* ours-only: memkind 1.14 crashes or corrupts its heap on these misuses */
/*
 * Misuse that the library must survive: it reports it on stderr and
 * ignores it. Double free, foreign pointers (stack, glibc malloc, interior
 * pointers), a kind destroyed twice or used after destruction. Afterwards
 * the kinds still work and never hand out one block twice.
 */
#include "common.h"

#define N 64

/* Allocate N blocks of size from kind: all distinct, data kept. */
static void check_still_works(const char *name, memkind_t kind, size_t size)
{
    void *v[N];
    int i, j;
    for (i = 0; i < N; i++) {
        v[i] = memkind_malloc(kind, size);
        if (!v[i]) {
            test_fail(__FILE__, __LINE__, "%s: malloc(%zu) #%d gave NULL",
                      name, size, i);
            return;
        }
        fill_pattern(v[i], size, (unsigned)i);
    }
    for (i = 0; i < N; i++) {
        for (j = 0; j < i; j++)
            if (v[i] == v[j])
                test_fail(__FILE__, __LINE__,
                          "%s: block %d handed out twice (also #%d)", name, i,
                          j);
        if (!check_pattern(v[i], size, (unsigned)i))
            test_fail(__FILE__, __LINE__, "%s: block %d changed", name, i);
    }
    for (i = 0; i < N; i++)
        memkind_free(kind, v[i]);
}

static void double_free(const char *name, memkind_t kind, size_t size)
{
    void *p;
    STEP("%s: double free of a %zu B block via memkind_free(kind, p)", name,
         size);
    p = memkind_malloc(kind, size);
    REQUIRE(p != NULL);
    memkind_free(kind, p);
    memkind_free(kind, p);
    check_still_works(name, kind, size);

    STEP("%s: double free of a %zu B block via memkind_free(NULL, p)", name,
         size);
    p = memkind_malloc(kind, size);
    REQUIRE(p != NULL);
    memkind_free(NULL, p);
    memkind_free(NULL, p);
    check_still_works(name, kind, size);
}

static void foreign(const char *name, memkind_t kind, memkind_t file_kind)
{
    char stack_buf[64];
    char *glibc = (char *)malloc(100);
    char *own = (char *)memkind_malloc(file_kind, 256);
    char *dflt = (char *)memkind_malloc(MEMKIND_DEFAULT, 256);
    char *big = (char *)memkind_malloc(file_kind, 1u << 20);

    REQUIRE(glibc && own && dflt && big);
    memset(stack_buf, 1, sizeof(stack_buf));
    fill_pattern(own, 256, 1);
    fill_pattern(dflt, 256, 2);
    fill_pattern(big, 1u << 20, 3);

    STEP("%s: free of a stack pointer is ignored", name);
    memkind_free(kind, stack_buf);
    STEP("%s: free of a glibc malloc pointer is ignored", name);
    memkind_free(kind, glibc);
    STEP("%s: free of interior pointers (p + 8) is ignored", name);
    memkind_free(kind, own + 8);
    memkind_free(kind, dflt + 8);
    memkind_free(kind, big + 8);
    memkind_free(kind, big + 4096);

    STEP("%s: the blocks behind those pointers are intact", name);
    CHECK(check_pattern(own, 256, 1));
    CHECK(check_pattern(dflt, 256, 2));
    CHECK(check_pattern(big, 1u << 20, 3));
    check_still_works(name, file_kind, 256);
    check_still_works(name, MEMKIND_DEFAULT, 256);
    CHECK(check_pattern(own, 256, 1));
    CHECK(check_pattern(dflt, 256, 2));

    memkind_free(file_kind, own);
    memkind_free(MEMKIND_DEFAULT, dflt);
    memkind_free(file_kind, big);
    free(glibc);
}

int main(int argc, char **argv)
{
    /* Double, interior and stale frees are caught with the live map, which is kept only
     * with MEMKIND_CHECK=1 (read at the first kind's creation, so set before any call). */
    setenv("MEMKIND_CHECK", "1", 1);
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t kind = NULL, other = NULL, doomed = NULL;
    char stack_buf[32];
    char *glibc;
    void *p, *q;

    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    REQUIRE(memkind_create_pmem(dir, 32u << 20, &other) == MEMKIND_SUCCESS);

    double_free("file kind", kind, 64);
    double_free("file kind", kind, 100000);
    double_free("fixed-size file kind", other, 64);
    double_free("MEMKIND_DEFAULT", MEMKIND_DEFAULT, 64);
    double_free("MEMKIND_DEFAULT", MEMKIND_DEFAULT, 100000);

    foreign("memkind_free(NULL, .)", NULL, kind);
    foreign("memkind_free(MEMKIND_DEFAULT, .)", MEMKIND_DEFAULT, kind);

    STEP("memkind_detect_kind of foreign pointers is NULL");
    glibc = (char *)malloc(100);
    REQUIRE(glibc != NULL);
    p = memkind_malloc(kind, 256);
    q = memkind_malloc(MEMKIND_DEFAULT, 256);
    REQUIRE(p && q);
    CHECK_NULL(memkind_detect_kind(stack_buf));
    CHECK_NULL(memkind_detect_kind(glibc));
    CHECK_NULL(memkind_detect_kind((char *)p + 8));
    CHECK_NULL(memkind_detect_kind((char *)q + 8));
    CHECK_PTR_EQ(kind, memkind_detect_kind(p));
    CHECK_PTR_EQ(MEMKIND_DEFAULT, memkind_detect_kind(q));
    memkind_free(NULL, p);
    memkind_free(NULL, q);
    free(glibc);

    STEP("destroying a kind twice: the second call gives MEMKIND_ERROR_INVALID");
    REQUIRE(memkind_create_pmem(dir, 0, &doomed) == MEMKIND_SUCCESS);
    p = memkind_malloc(doomed, 5000);
    REQUIRE(p != NULL);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(doomed));
    CHECK_INT(MEMKIND_ERROR_INVALID, memkind_destroy_kind(doomed));

    STEP("a destroyed kind gives NULL from malloc, calloc and realloc");
    CHECK_NULL(memkind_malloc(doomed, 64));
    CHECK_NULL(memkind_calloc(doomed, 4, 16));
    CHECK_NULL(memkind_realloc(doomed, NULL, 64));

    STEP("freeing a block of a destroyed kind is ignored");
    memkind_free(doomed, p);
    memkind_free(NULL, p);
    CHECK_NULL(memkind_detect_kind(p));

    STEP("a new kind created after that works");
    REQUIRE(memkind_create_pmem(dir, 0, &doomed) == MEMKIND_SUCCESS);
    check_still_works("new kind", doomed, 4000);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(doomed));

    STEP("the other kinds still work");
    check_still_works("file kind", kind, 64);
    check_still_works("file kind", kind, 70000);
    check_still_works("fixed-size file kind", other, 64);
    check_still_works("fixed-size file kind", other, 70000);
    check_still_works("MEMKIND_DEFAULT", MEMKIND_DEFAULT, 64);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(other));
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("robustness");
}
