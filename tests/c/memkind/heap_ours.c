/* ours-only: memkind 1.14 mishandles these edge cases on file-backed kinds */
/*
 * Heap edge cases that memkind 1.14 gets wrong on file-backed kinds:
 * posix_memalign must leave *memptr untouched when it fails, a huge
 * alignment must give ENOMEM or a correctly aligned block, a calloc whose
 * product wraps to a small number must fail with ENOMEM, and a NULL kind
 * given to malloc/calloc/posix_memalign must fail instead of crashing.
 */
#include "common.h"

static void check_kind(const char *name, memkind_t kind)
{
    static const size_t bad[] = {0, 1, 2, 4, 24, 48, 100, 4097};
    size_t i, align;
    void *p;
    int err;

    STEP("%s: a failed posix_memalign leaves *memptr untouched", name);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *sentinel = (void *)(uintptr_t)0xdeadbeef;
        p = sentinel;
        err = memkind_posix_memalign(kind, &p, bad[i], 64);
        if (err != EINVAL)
            test_fail(__FILE__, __LINE__,
                      "%s: alignment %zu: expected EINVAL (%d), got %d", name,
                      bad[i], EINVAL, err);
        if (p != sentinel) {
            test_fail(__FILE__, __LINE__,
                      "%s: alignment %zu: *memptr was changed to %p", name,
                      bad[i], p);
            if (err == 0)
                memkind_free(kind, p);
        }
    }
    {
        void *sentinel = (void *)(uintptr_t)0xdeadbeef;
        p = sentinel;
        err = memkind_posix_memalign(kind, &p, 64, SIZE_MAX);
        CHECK_INT(ENOMEM, err);
        CHECK_PTR_EQ(sentinel, p);
    }

    STEP("%s: alignments 2^23 .. 2^40 give ENOMEM or an aligned pointer",
         name);
    for (align = (size_t)1 << 23; align <= ((size_t)1 << 40); align <<= 1) {
        p = NULL;
        err = memkind_posix_memalign(kind, &p, align, 64);
        if (err == 0) {
            if (!p || (uintptr_t)p % align)
                test_fail(__FILE__, __LINE__,
                          "%s: alignment 2^%d: got a pointer misaligned by "
                          "%zu",
                          name, __builtin_ctzll(align),
                          (size_t)((uintptr_t)p % align));
            else
                memset(p, 1, 64);
            memkind_free(kind, p);
        } else if (err != ENOMEM) {
            test_fail(__FILE__, __LINE__,
                      "%s: alignment 2^%d: expected 0 or ENOMEM, got %d", name,
                      __builtin_ctzll(align), err);
        }
    }

    STEP("%s: calloc(2^33, 2^33), whose product wraps to 0, gives ENOMEM",
         name);
    errno = 0;
    CHECK_NULL(memkind_calloc(kind, (size_t)1 << 33, (size_t)1 << 33));
    CHECK_INT(ENOMEM, errno);
    errno = 0;
    CHECK_NULL(memkind_calloc(kind, ((size_t)1 << 63) + 1, 2));
    CHECK_INT(ENOMEM, errno);
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t kind = NULL, limited = NULL;
    void *p;

    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    REQUIRE(memkind_create_pmem(dir, 32u << 20, &limited) == MEMKIND_SUCCESS);
    check_kind("file kind", kind);
    check_kind("fixed-size file kind", limited);
    check_kind("MEMKIND_DEFAULT", MEMKIND_DEFAULT);

    STEP("memkind_malloc(NULL, 16) gives NULL");
    CHECK_NULL(memkind_malloc(NULL, 16));
    STEP("memkind_calloc(NULL, 1, 16) gives NULL");
    CHECK_NULL(memkind_calloc(NULL, 1, 16));
    STEP("memkind_posix_memalign(NULL, ...) fails and leaves *memptr alone");
    p = NULL;
    CHECK(memkind_posix_memalign(NULL, &p, 64, 16) != 0);
    CHECK_NULL(p);
    STEP("memkind_malloc_usable_size(NULL, NULL) is 0");
    CHECK_INT(0, memkind_malloc_usable_size(NULL, NULL));
    STEP("memkind_detect_kind(NULL) is NULL");
    CHECK_NULL(memkind_detect_kind(NULL));

    STEP("the kinds still work");
    p = memkind_malloc(kind, 1000);
    CHECK(p != NULL);
    memkind_free(kind, p);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(limited));
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("heap_ours");
}
