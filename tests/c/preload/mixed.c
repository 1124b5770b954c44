/* A program linked with libmemkind, run under LD_PRELOAD=libmemtier.so: one kind table and
 * one heap in the process, so blocks cross between the two APIs in both directions.
 *   - memkind_malloc(MEMKIND_DEFAULT) blocks given to free() and realloc();
 *   - malloc() blocks given to memkind_free(NULL, ...), memkind_realloc(NULL, ...),
 *     memkind_malloc_usable_size(NULL, ...) and memkind_detect_kind();
 *   - a file-backed kind of the program's own (argv[1]) whose blocks free() takes;
 *   - contents survive every hand-over (checked byte by byte).
 * Passes when RESULT has no failures; stderr must stay free of "not allocated" reports
 * (run.sh checks). */
#define _GNU_SOURCE
#include <malloc.h>
#include <memkind.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/check.h"

static void fill(void *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(seed + i * 7);
}

static int same(const void *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    enum { N = 2000 };
    static void *blocks[N];

    STEP("memkind_malloc(MEMKIND_DEFAULT) blocks freed with free()");
    for (int i = 0; i < N; i++) {
        size_t n = 16 + (size_t)(i % 300) * 13;
        blocks[i] = memkind_malloc(MEMKIND_DEFAULT, n);
        REQUIRE(blocks[i] != NULL);
        fill(blocks[i], n, (unsigned)i);
    }
    for (int i = 0; i < N; i++) {
        size_t n = 16 + (size_t)(i % 300) * 13;
        CHECK(same(blocks[i], n, (unsigned)i));
        CHECK(malloc_usable_size(blocks[i]) >= n);
        free(blocks[i]);
    }

    STEP("malloc() blocks are MEMKIND_DEFAULT memory for libmemkind");
    for (int i = 0; i < N; i++) {
        size_t n = 8 + (size_t)(i % 500) * 5;
        blocks[i] = malloc(n);
        REQUIRE(blocks[i] != NULL);
        fill(blocks[i], n, (unsigned)i + 3);
        CHECK(memkind_detect_kind(blocks[i]) == MEMKIND_DEFAULT);
        CHECK(memkind_malloc_usable_size(NULL, blocks[i]) >= n);
    }
    for (int i = 0; i < N; i++) {
        size_t n = 8 + (size_t)(i % 500) * 5;
        CHECK(same(blocks[i], n, (unsigned)i + 3));
        if (i % 2) {
            memkind_free(NULL, blocks[i]);
        } else {
            void *q = memkind_realloc(NULL, blocks[i], n * 3);
            REQUIRE(q != NULL);
            CHECK(same(q, n, (unsigned)i + 3));
            free(q);
        }
    }

    STEP("realloc() of a memkind block and memkind_realloc() of a malloc block");
    char *a = memkind_malloc(MEMKIND_DEFAULT, 100);
    REQUIRE(a != NULL);
    fill(a, 100, 11);
    a = realloc(a, 100000);
    REQUIRE(a != NULL);
    CHECK(same(a, 100, 11));
    CHECK(memkind_detect_kind(a) == MEMKIND_DEFAULT);
    memkind_free(MEMKIND_DEFAULT, a);

    STEP("blocks of the program's own file-backed kind given to free()");
    memkind_t pmem = NULL;
    CHECK_EQ(memkind_create_pmem(argv[1], 0, &pmem), 0);
    REQUIRE(pmem != NULL);
    for (int i = 0; i < N; i++) {
        blocks[i] = memkind_malloc(pmem, 256);
        REQUIRE(blocks[i] != NULL);
        fill(blocks[i], 256, (unsigned)i * 5);
        CHECK(memkind_detect_kind(blocks[i]) == pmem);
    }
    for (int i = 0; i < N; i++) {
        CHECK(same(blocks[i], 256, (unsigned)i * 5));
        free(blocks[i]);
    }
    CHECK_EQ(memkind_destroy_kind(pmem), 0);

    return finish();
}
