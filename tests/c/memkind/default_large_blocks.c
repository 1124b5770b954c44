/*
 * MEMKIND_DEFAULT blocks beyond jemalloc's thread cache (above 32 KiB), which threads may
 * keep after a free for their next requests: every block handed out is a distinct live
 * block of at least the size asked, calloc'd ones read zero even when a dirty block of
 * that size was just freed, realloc and aligned allocation still work on them, blocks
 * move between threads, and threads that exit with kept blocks give them back (the
 * allocated total returns to where it was).
 */
#include "common.h"

#include <pthread.h>

#define KiB 1024u
#define MiB (1024u * 1024u)
#define LIVE 24

static const size_t sizes[] = {33 * KiB, 40 * KiB, 64 * KiB, 100 * KiB,
                               256 * KiB, 700 * KiB, MiB, 2 * MiB};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static size_t allocated_total(void)
{
    size_t v = 0;
    if (memkind_update_cached_stats() != MEMKIND_SUCCESS ||
        memkind_get_stat(NULL, MEMKIND_STAT_TYPE_ALLOCATED, &v) != MEMKIND_SUCCESS)
        return (size_t)-1;
    return v;
}

/* A block of `size` with a pattern of `seed` over its first and last 4 KiB. */
static void *filled(size_t size, unsigned seed)
{
    unsigned char *p = memkind_malloc(MEMKIND_DEFAULT, size);
    if (p) {
        fill_pattern(p, 4 * KiB, seed);
        fill_pattern(p + size - 4 * KiB, 4 * KiB, seed + 1);
    }
    return p;
}

static int intact(const void *p, size_t size, unsigned seed)
{
    const unsigned char *b = p;
    return check_pattern(b, 4 * KiB, seed) && check_pattern(b + size - 4 * KiB, 4 * KiB, seed + 1);
}

static int churn(unsigned seed)
{
    void *live[LIVE] = {0};
    size_t live_size[LIVE] = {0};
    unsigned live_seed[LIVE] = {0};
    int ok = 1;
    unsigned x = seed * 2654435761u + 1;
    for (int i = 0; i < 4000 && ok; i++) {
        x = x * 1103515245u + 12345u;
        int slot = (int)((x >> 8) % LIVE);
        if (live[slot]) {
            if (!intact(live[slot], live_size[slot], live_seed[slot]))
                ok = 0;
            memkind_free(i % 2 ? NULL : MEMKIND_DEFAULT, live[slot]);
            live[slot] = NULL;
        }
        size_t size = sizes[(x >> 16) % NSIZES] - (x >> 20) % 4096;
        unsigned s = (unsigned)i * 7 + seed;
        live[slot] = filled(size, s);
        if (!live[slot] || memkind_malloc_usable_size(MEMKIND_DEFAULT, live[slot]) < size ||
            memkind_detect_kind(live[slot]) != MEMKIND_DEFAULT)
            ok = 0;
        live_size[slot] = size;
        live_seed[slot] = s;
    }
    for (int i = 0; i < LIVE; i++) {
        if (live[i]) {
            if (!intact(live[i], live_size[i], live_seed[i]))
                ok = 0;
            memkind_free(MEMKIND_DEFAULT, live[i]);
        }
    }
    return ok;
}

static void *churn_thread(void *arg)
{
    return churn((unsigned)(uintptr_t)arg) ? NULL : (void *)1;
}

/* Frees what it is handed, allocates more and exits with blocks kept. */
static void *keep_then_exit(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < 4; i++)
        memkind_free(NULL, blocks[i]);
    for (int r = 0; r < 50; r++) {
        void *a = memkind_malloc(MEMKIND_DEFAULT, 512 * KiB);
        void *b = memkind_malloc(MEMKIND_DEFAULT, 64 * KiB);
        if (!a || !b)
            return (void *)1;
        memset(a, 0x5a, 512 * KiB);
        memkind_free(MEMKIND_DEFAULT, a);
        memkind_free(MEMKIND_DEFAULT, b);
    }
    return NULL;
}

int main(void)
{
    STEP("tight pairs of each size: data reads back, usable size covers the request");
    for (size_t i = 0; i < NSIZES; i++) {
        int ok = 1;
        for (unsigned r = 0; r < 200; r++) {
            void *p = filled(sizes[i], r);
            if (!p || !intact(p, sizes[i], r) ||
                memkind_malloc_usable_size(NULL, p) < sizes[i])
                ok = 0;
            memkind_free(MEMKIND_DEFAULT, p);
        }
        CHECK(ok);
    }

    STEP("live blocks of mixed large sizes are distinct and keep their data");
    CHECK(churn(1));

    STEP("calloc after freeing a dirty block of the same size reads zero");
    for (size_t i = 0; i < NSIZES; i++) {
        void *d = memkind_malloc(MEMKIND_DEFAULT, sizes[i]);
        REQUIRE(d != NULL);
        memset(d, 0xee, sizes[i]);
        memkind_free(MEMKIND_DEFAULT, d);
        unsigned char *z = memkind_calloc(MEMKIND_DEFAULT, 1, sizes[i]);
        REQUIRE(z != NULL);
        size_t nonzero = 0;
        for (size_t k = 0; k < sizes[i]; k++)
            nonzero += z[k] != 0;
        CHECK_INT(0, (long)nonzero);
        memkind_free(MEMKIND_DEFAULT, z);
    }

    STEP("realloc of a reused block keeps its data; aligned blocks are aligned");
    {
        void *a = filled(64 * KiB, 9);
        REQUIRE(a != NULL);
        memkind_free(MEMKIND_DEFAULT, a);
        unsigned char *b = filled(60 * KiB, 10);
        REQUIRE(b != NULL);
        unsigned char *c = memkind_realloc(MEMKIND_DEFAULT, b, MiB);
        REQUIRE(c != NULL);
        CHECK(check_pattern(c, 4 * KiB, 10));
        CHECK(check_pattern(c + 56 * KiB, 4 * KiB, 11));
        unsigned char *d = memkind_realloc(MEMKIND_DEFAULT, c, 48 * KiB);
        REQUIRE(d != NULL);
        CHECK(check_pattern(d, 4 * KiB, 10));
        memkind_free(MEMKIND_DEFAULT, d);
        for (size_t align = 4 * KiB; align <= 256 * KiB; align *= 4) {
            void *x = memkind_malloc(MEMKIND_DEFAULT, 100 * KiB);
            REQUIRE(x != NULL);
            memkind_free(MEMKIND_DEFAULT, x);
            void *y = NULL;
            CHECK_INT(0, memkind_posix_memalign(MEMKIND_DEFAULT, &y, align, 100 * KiB));
            CHECK(y != NULL && (uintptr_t)y % align == 0);
            if (y) {
                memset(y, 1, 100 * KiB);
                memkind_free(MEMKIND_DEFAULT, y);
            }
        }
    }

    STEP("four threads churn at once");
    {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            REQUIRE(pthread_create(&t[i], NULL, churn_thread, (void *)(uintptr_t)(i + 2)) == 0);
        for (int i = 0; i < 4; i++) {
            void *r;
            pthread_join(t[i], &r);
            CHECK(r == NULL);
        }
    }

    STEP("threads exiting with kept blocks give them back");
    {
        size_t before = allocated_total();
        REQUIRE(before != (size_t)-1);
        for (int round = 0; round < 300; round++) {
            void *blocks[4];
            for (int i = 0; i < 4; i++) {
                blocks[i] = memkind_malloc(MEMKIND_DEFAULT, (size_t)(i + 1) * 100 * KiB);
                REQUIRE(blocks[i] != NULL);
            }
            pthread_t t;
            REQUIRE(pthread_create(&t, NULL, keep_then_exit, blocks) == 0);
            void *r;
            pthread_join(t, &r);
            CHECK(r == NULL);
        }
        size_t after = allocated_total();
        /* 300 threads keeping ~1.5 MiB each would add ~450 MiB. */
        CHECK(after <= before + 8 * MiB);
        if (after > before + 8 * MiB)
            fprintf(stderr, "allocated before %zu after %zu\n", before, after);
    }
    return test_finish("default_large_blocks");
}
