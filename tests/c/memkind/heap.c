/*
 * The heap functions on a file-backed kind and on MEMKIND_DEFAULT: data
 * survives, calloc zeroes, realloc keeps contents, usable size covers the
 * request, alignment is honoured, and the edge cases return what the API
 * promises (NULL + ENOMEM, EINVAL, NULL for size 0).
 */
#include "common.h"

static void check_malloc(const char *name, memkind_t kind)
{
    size_t size;
    unsigned seed = 1;
    STEP("%s: malloc 1 B .. 8 MiB, write and read back the whole block", name);
    for (size = 1; size <= ((size_t)8 << 20); size = size * 3 + 1) {
        unsigned char *p = (unsigned char *)memkind_malloc(kind, size);
        size_t usable;
        if (!p) {
            test_fail(__FILE__, __LINE__, "%s: malloc(%zu) gave NULL", name,
                      size);
            continue;
        }
        usable = memkind_malloc_usable_size(kind, p);
        if (usable < size)
            test_fail(__FILE__, __LINE__,
                      "%s: usable size of %zu: expected >= %zu, got %zu", name,
                      size, size, usable);
        fill_pattern(p, usable >= size ? usable : size, seed);
        if (!check_pattern(p, usable >= size ? usable : size, seed))
            test_fail(__FILE__, __LINE__, "%s: data of %zu bytes changed",
                      name, size);
        memkind_free(kind, p);
        seed++;
    }

    STEP("%s: many live blocks keep their own data", name);
    {
        enum { N = 2000 };
        static unsigned char *blocks[N];
        int i;
        for (i = 0; i < N; i++) {
            size_t sz = 16 + (size_t)(i * 37) % 5000;
            blocks[i] = (unsigned char *)memkind_malloc(kind, sz);
            REQUIRE(blocks[i] != NULL);
            fill_pattern(blocks[i], sz, (unsigned)i);
        }
        for (i = 0; i < N; i++) {
            size_t sz = 16 + (size_t)(i * 37) % 5000;
            if (!check_pattern(blocks[i], sz, (unsigned)i))
                test_fail(__FILE__, __LINE__, "%s: block %d changed", name, i);
            memkind_free(kind, blocks[i]);
        }
    }
}

static void check_calloc(const char *name, memkind_t kind)
{
    enum { N = 64 };
    static const size_t sizes[] = {8, 100, 4096, 40000, 1 << 20};
    void *blocks[N];
    size_t s;
    int i;

    STEP("%s: calloc gives zeroed memory, also when reusing dirty blocks",
         name);
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (i = 0; i < N; i++) {
            blocks[i] = memkind_malloc(kind, sizes[s]);
            REQUIRE(blocks[i] != NULL);
            memset(blocks[i], 0xa5, memkind_malloc_usable_size(kind, blocks[i]));
        }
        for (i = N - 1; i >= 0; i--)
            memkind_free(kind, blocks[i]);
        for (i = 0; i < N; i++) {
            blocks[i] = memkind_calloc(kind, 1, sizes[s]);
            REQUIRE(blocks[i] != NULL);
            if (!is_all_zero(blocks[i], sizes[s]))
                test_fail(__FILE__, __LINE__,
                          "%s: calloc(1, %zu) #%d is not zeroed", name,
                          sizes[s], i);
        }
        for (i = 0; i < N; i++)
            memkind_free(kind, blocks[i]);
    }
    {
        void *p = memkind_calloc(kind, 1000, 24);
        REQUIRE(p != NULL);
        CHECK(is_all_zero(p, 24000));
        memkind_free(kind, p);
    }
}

static void check_realloc(const char *name, memkind_t kind)
{
    size_t size, prev;
    unsigned char *p;

    STEP("%s: realloc keeps contents while growing 16 B .. 8 MiB", name);
    p = (unsigned char *)memkind_malloc(kind, 16);
    REQUIRE(p != NULL);
    fill_pattern(p, 16, 99);
    prev = 16;
    for (size = 32; size <= ((size_t)8 << 20); size *= 2) {
        unsigned char *q = (unsigned char *)memkind_realloc(kind, p, size);
        if (!q) {
            test_fail(__FILE__, __LINE__, "%s: realloc to %zu gave NULL", name,
                      size);
            break;
        }
        if (!check_pattern(q, prev, 99))
            test_fail(__FILE__, __LINE__,
                      "%s: realloc %zu -> %zu lost the contents", name, prev,
                      size);
        CHECK_SIZE_GE(memkind_malloc_usable_size(kind, q), size);
        fill_pattern(q, size, 99);
        p = q;
        prev = size;
    }

    STEP("%s: realloc keeps contents while shrinking 8 MiB .. 16 B", name);
    for (size = prev / 2; size >= 16; size /= 2) {
        unsigned char *q = (unsigned char *)memkind_realloc(kind, p, size);
        if (!q) {
            test_fail(__FILE__, __LINE__, "%s: realloc to %zu gave NULL", name,
                      size);
            break;
        }
        if (!check_pattern(q, size, 99))
            test_fail(__FILE__, __LINE__,
                      "%s: realloc down to %zu lost the contents", name, size);
        p = q;
    }
    memkind_free(kind, p);

    STEP("%s: realloc(kind, NULL, n) allocates", name);
    p = (unsigned char *)memkind_realloc(kind, NULL, 300);
    CHECK(p != NULL);
    if (p) {
        memset(p, 1, 300);
        STEP("%s: realloc(kind, p, 0) frees and returns NULL", name);
        CHECK_NULL(memkind_realloc(kind, p, 0));
    }
}

static void check_alignment(const char *name, memkind_t kind)
{
    size_t align;
    int err;
    void *p;

    STEP("%s: posix_memalign honours alignments 2^4 .. 2^22", name);
    for (align = 16; align <= ((size_t)1 << 22); align *= 2) {
        p = NULL;
        err = memkind_posix_memalign(kind, &p, align, 100);
        if (err != 0 || !p) {
            test_fail(__FILE__, __LINE__,
                      "%s: posix_memalign(align %zu): expected 0, got %d", name,
                      align, err);
            continue;
        }
        if ((uintptr_t)p % align)
            test_fail(__FILE__, __LINE__,
                      "%s: alignment %zu: got a pointer misaligned by %zu",
                      name, align, (size_t)((uintptr_t)p % align));
        memset(p, 0x3c, 100);
        memkind_free(kind, p);
    }

    STEP("%s: posix_memalign rejects bad alignments with EINVAL", name);
    {
        static const size_t bad[] = {0, 1, 2, 4, 24, 48, 100, 4097};
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            void *sentinel = (void *)(uintptr_t)0xdeadbeef;
            p = sentinel;
            err = memkind_posix_memalign(kind, &p, bad[i], 64);
            if (err != EINVAL)
                test_fail(__FILE__, __LINE__,
                          "%s: alignment %zu: expected EINVAL (%d), got %d",
                          name, bad[i], EINVAL, err);
            if (err == 0 && p != sentinel)
                memkind_free(kind, p);
        }
    }
}

static void check_edges(const char *name, memkind_t kind)
{
    void *p;
    int err;

    STEP("%s: malloc(0) and calloc with a zero count or size give NULL", name);
    CHECK_NULL(memkind_malloc(kind, 0));
    CHECK_NULL(memkind_calloc(kind, 0, 16));
    CHECK_NULL(memkind_calloc(kind, 16, 0));

    STEP("%s: posix_memalign of size 0 returns 0 with *memptr NULL", name);
    p = (void *)(uintptr_t)0xdeadbeef;
    err = memkind_posix_memalign(kind, &p, 64, 0);
    CHECK_INT(0, err);
    CHECK_NULL(p);

    STEP("%s: malloc(SIZE_MAX) gives NULL with errno ENOMEM", name);
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, SIZE_MAX));
    CHECK_INT(ENOMEM, errno);
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, SIZE_MAX / 2 + 1));
    CHECK_INT(ENOMEM, errno);

    STEP("%s: calloc whose nmemb*size overflows gives NULL with ENOMEM", name);
    errno = 0;
    CHECK_NULL(memkind_calloc(kind, SIZE_MAX / 2, 3));
    CHECK_INT(ENOMEM, errno);

    STEP("%s: realloc to SIZE_MAX gives NULL, ENOMEM, keeps the block", name);
    p = memkind_malloc(kind, 64);
    REQUIRE(p != NULL);
    fill_pattern(p, 64, 5);
    errno = 0;
    CHECK_NULL(memkind_realloc(kind, p, SIZE_MAX));
    CHECK_INT(ENOMEM, errno);
    CHECK(check_pattern(p, 64, 5));
    memkind_free(kind, p);

    STEP("%s: posix_memalign of SIZE_MAX returns ENOMEM", name);
    p = NULL;
    CHECK_INT(ENOMEM, memkind_posix_memalign(kind, &p, 64, SIZE_MAX));

    STEP("%s: free(kind, NULL) does nothing", name);
    memkind_free(kind, NULL);
}

static void check_all(const char *name, memkind_t kind)
{
    check_malloc(name, kind);
    check_calloc(name, kind);
    check_realloc(name, kind);
    check_alignment(name, kind);
    check_edges(name, kind);
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t kind = NULL;

    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    check_all("file kind", kind);
    check_all("MEMKIND_DEFAULT", MEMKIND_DEFAULT);

    STEP("realloc(NULL kind, NULL, n) gives NULL with errno EINVAL");
    errno = 0;
    CHECK_NULL(memkind_realloc(NULL, NULL, 100));
    CHECK_INT(EINVAL, errno);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("heap");
}
