/* A program not linked with libmemkind, run under LD_PRELOAD=libmemtier.so, that
 * dlopen()s "libmemkind.so.0" (as Python ctypes does): it must get the libmemkind the
 * interposer already uses (libmemtier's own copy, <dir>/libmemtier/libmemkind.so.0, the
 * one with initial-exec TLS), so there is still one kind table:
 *   - the loaded copy's file is the interposer's (dladdr of memkind_malloc);
 *   - a malloc() block is a kind's to that copy's memkind_detect_kind (MEMKIND_DEFAULT's
 *     without file tiers);
 *   - a memkind_malloc(MEMKIND_DEFAULT) block survives realloc() and free();
 * and, for the DRAM-only fast path, malloc(0) gives a unique block, free(NULL) is a no-op.
 * argv[1]: the directory of libmemtier.so.0. Passes when RESULT has no failures; stderr
 * must stay free of "not allocated" reports (run.sh checks). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/check.h"

typedef void *kind_t;

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    STEP("dlopen(\"libmemkind.so.0\") under the interposer");
    void *h = dlopen("libmemkind.so.0", RTLD_NOW);
    REQUIRE(h != NULL);
    void *(*mk_malloc)(kind_t, size_t) = (void *(*)(kind_t, size_t))dlsym(h, "memkind_malloc");
    kind_t (*mk_detect)(void *) = (kind_t(*)(void *))dlsym(h, "memkind_detect_kind");
    kind_t *mk_default = (kind_t *)dlsym(h, "MEMKIND_DEFAULT");
    REQUIRE(mk_malloc && mk_detect && mk_default);

    STEP("the copy loaded is the interposer's own");
    Dl_info info;
    REQUIRE(dladdr((void *)mk_malloc, &info) != 0 && info.dli_fname != NULL);
    char want[4096];
    snprintf(want, sizeof want, "%s/libmemtier/libmemkind.so.0", argv[1]);
    char *got = realpath(info.dli_fname, NULL), *exp = realpath(want, NULL);
    CHECK(got != NULL && exp != NULL && strcmp(got, exp) == 0);
    if (got && exp && strcmp(got, exp) != 0)
        printf("    loaded %s, expected %s\n", got, exp);
    free(got);
    free(exp);

    STEP("one kind table: malloc() blocks are a kind's (DRAM only: MEMKIND_DEFAULT's)");
    const char *tiers = getenv("MEMKIND_MEM_TIERS");
    int dram_only = tiers == NULL || *tiers == 0;
    for (size_t n = 1; n <= (1u << 20); n *= 4) {
        char *p = malloc(n);
        REQUIRE(p != NULL);
        memset(p, 0x5a, n);
        CHECK(mk_detect(p) != NULL);
        if (dram_only)
            CHECK(mk_detect(p) == *mk_default);
        free(p);
    }

    STEP("memkind_malloc(MEMKIND_DEFAULT) blocks through realloc() and free()");
    char *q = mk_malloc(*mk_default, 100);
    REQUIRE(q != NULL);
    for (int i = 0; i < 100; i++)
        q[i] = (char)i;
    q = realloc(q, 100000);
    REQUIRE(q != NULL);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= q[i] == (char)i;
    CHECK(same);
    CHECK(malloc_usable_size(q) >= 100000);
    free(q);

    STEP("malloc(0) is unique, free(NULL) does nothing");
    void *a = malloc(0), *b = malloc(0);
    CHECK(a != NULL && b != NULL && a != b);
    free(a);
    free(b);
    free(NULL);
    return finish();
}
