/*
 * Blocks of 256 KiB and more in a file-backed kind, which are carved outside jemalloc:
 * data survives a mix of allocations and frees of many sizes (no two live blocks
 * overlap), usable sizes cover the request, calloc gives zeros on reused space,
 * alignments are kept, realloc keeps contents growing and shrinking (in place and
 * moved, to and from small blocks), a bounded kind refills to the same count, the
 * conservative policy gives a freed block's disk space back at once, the default one
 * keeps freed blocks for reuse and gives them back after its decay time while the program
 * is idle (and a block of 64 MiB at once), threads allocating, reallocating and freeing
 * large and small blocks of one kind at once keep every block's data, the statistics
 * count the blocks, a second free is reported and ignored, and 256 MiB of 1 MiB blocks
 * cost at most 0.1% of it in anonymous memory.
 */
#include "common.h"

#include <pthread.h>

#define KiB 1024u
#define MiB (1024u * 1024u)
#define NB 256

/* Cheap pattern over a big block: a word per 4 KiB page plus both ends. */
static void mark(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t o = 0; o + sizeof(seed) <= n - 64; o += 4096)
        memcpy(c + o, &seed, sizeof(seed));
    fill_pattern(c + n - 64, 64, seed);
}

static int marked(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t o = 0; o + sizeof(seed) <= n - 64; o += 4096)
        if (memcmp(c + o, &seed, sizeof(seed)) != 0)
            return 0;
    return check_pattern(c + n - 64, 64, seed);
}

static size_t size_of_step(unsigned i)
{
    static const size_t sizes[] = {256 * KiB, 300 * KiB, 1 * MiB, 1 * MiB + 1, 3 * MiB, 512 * KiB + 4096};
    return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void mixed(memkind_t k)
{
    void *p[NB] = {0};
    size_t n[NB] = {0};
    for (int round = 0; round < 6; round++) {
        for (unsigned i = 0; i < NB; i++) {
            if (p[i] && (i + (unsigned)round) % 3 == 0) {
                memkind_free(k, p[i]);
                p[i] = NULL;
            }
            if (!p[i]) {
                n[i] = size_of_step(i + (unsigned)round);
                p[i] = memkind_malloc(k, n[i]);
                REQUIRE(p[i] != NULL);
                CHECK_SIZE_GE(memkind_malloc_usable_size(k, p[i]), n[i]);
                CHECK(memkind_detect_kind(p[i]) == k);
            }
            mark(p[i], n[i], i * 1000 + (unsigned)round);
        }
        int ok = 1;
        for (unsigned i = 0; i < NB; i++)
            ok &= marked(p[i], n[i], i * 1000 + (unsigned)round);
        CHECK_MSG(ok, "a live block was overwritten in round %d", round);
    }
    for (unsigned i = 0; i < NB; i++)
        memkind_free(NULL, p[i]);
}

static void zero_align_realloc(memkind_t k)
{
    void *a = memkind_malloc(k, 2 * MiB);
    REQUIRE(a != NULL);
    memset(a, 0xab, 2 * MiB);
    memkind_free(k, a);
    void *z = memkind_calloc(k, 1, 2 * MiB);
    REQUIRE(z != NULL);
    CHECK(is_all_zero(z, 2 * MiB));
    memkind_free(k, z);

    for (size_t al = 4096; al <= 4 * MiB; al *= 8) {
        void *q = NULL;
        CHECK_INT(0, memkind_posix_memalign(k, &q, al, 768 * KiB));
        REQUIRE(q != NULL);
        CHECK_MSG(((uintptr_t)q & (al - 1)) == 0, "alignment %zu not kept: %p", al, q);
        mark(q, 768 * KiB, 7);
        CHECK(marked(q, 768 * KiB, 7));
        memkind_free(k, q);
    }

    /* 16 B up to 8 MiB by 1.5x and back down, contents kept at every step. */
    size_t n = 16;
    unsigned char *r = memkind_malloc(k, n);
    REQUIRE(r != NULL);
    memset(r, 0x5a, n);
    while (n < 8 * MiB) {
        size_t m = n + n / 2;
        unsigned char *s = memkind_realloc(k, r, m);
        REQUIRE(s != NULL);
        CHECK_MSG(s[0] == 0x5a && s[n - 1] == 0x5a && s[n / 2] == 0x5a, "grow to %zu", m);
        memset(s + n, 0x5a, m - n);
        r = s;
        n = m;
    }
    while (n > 16) {
        size_t m = n / 3 > 16 ? n / 3 : 16;
        unsigned char *s = memkind_realloc(k, r, m);
        REQUIRE(s != NULL);
        CHECK_MSG(s[0] == 0x5a && s[m - 1] == 0x5a, "shrink to %zu", m);
        CHECK_SIZE_GE(memkind_malloc_usable_size(k, s), m);
        r = s;
        n = m;
    }
    memkind_free(k, r);
}

static void refill_and_stats(const char *dir)
{
    memkind_t k = NULL;
    void *b[64];
    REQUIRE(memkind_create_pmem(dir, 48 * MiB, &k) == 0);
    int n0 = 0;
    while (n0 < 64 && (b[n0] = memkind_malloc(k, 1 * MiB)) != NULL)
        mark(b[n0], 1 * MiB, (unsigned)n0), n0++;
    CHECK(n0 >= 40 && n0 < 64);
    size_t v = 0;
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS, memkind_get_stat(k, MEMKIND_STAT_TYPE_ALLOCATED, &v));
    CHECK_SIZE_GE(v, (size_t)n0 * MiB);
    for (int round = 0; round < 3; round++) {
        int ok = 1;
        for (int i = 0; i < n0; i++) {
            ok &= marked(b[i], 1 * MiB, (unsigned)i);
            memkind_free(k, b[i]);
        }
        CHECK(ok);
        /* Other sizes, so freed ranges are split and merged before the refill. */
        void *x = memkind_malloc(k, 5 * MiB), *y = memkind_malloc(k, 300 * KiB);
        CHECK(x != NULL && y != NULL);
        memkind_free(k, x);
        memkind_free(k, y);
        int n = 0;
        while (n < 64 && (b[n] = memkind_malloc(k, 1 * MiB)) != NULL)
            mark(b[n], 1 * MiB, (unsigned)n), n++;
        CHECK_INT(n0, n);
    }
    for (int i = 0; i < n0; i++)
        memkind_free(k, b[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS, memkind_get_stat(k, MEMKIND_STAT_TYPE_ALLOCATED, &v));
    CHECK_SIZE_LE(v, 1 * MiB);
    CHECK_INT(0, memkind_destroy_kind(k));
}

static memkind_t shared_kind;

/* One thread's share of the concurrent step: blocks of 200 B-5 KiB and 256 KiB-3.25 MiB,
 * each marked with its owner and slot, checked whole before it is freed or moved. */
static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg, id = seed * 100;
    void *p[16] = {0};
    size_t n[16] = {0};
    long errors = 0;
    for (int i = 0; i < 1500; i++) {
        unsigned j = (unsigned)rand_r(&seed) % 16;
        if (p[j] && !marked(p[j], n[j], id + j))
            errors++;
        if (p[j] && rand_r(&seed) % 3 == 0) {
            size_t m = 256 * KiB + (size_t)rand_r(&seed) % (3 * MiB);
            void *q = memkind_realloc(shared_kind, p[j], m);
            if (!q) {
                errors++;
                continue;
            }
            /* Grown: all of it moved; shrunk: its first page at least. */
            unsigned first;
            memcpy(&first, q, sizeof(first));
            if (m >= n[j] ? !marked(q, n[j], id + j) : first != id + j)
                errors++;
            p[j] = q;
            n[j] = m;
            mark(p[j], n[j], id + j);
            continue;
        }
        if (p[j]) {
            memkind_free(i % 2 ? shared_kind : NULL, p[j]);
            p[j] = NULL;
            continue;
        }
        n[j] = rand_r(&seed) % 4 ? 256 * KiB + (size_t)rand_r(&seed) % (3 * MiB)
                                 : 200 + (size_t)rand_r(&seed) % 5000;
        p[j] = memkind_malloc(shared_kind, n[j]);
        if (!p[j]) {
            errors++;
            continue;
        }
        mark(p[j], n[j], id + j);
    }
    for (unsigned j = 0; j < 16; j++) {
        if (p[j] && !marked(p[j], n[j], id + j))
            errors++;
        memkind_free(shared_kind, p[j]);
    }
    return (void *)errors;
}

static void concurrent(const char *dir)
{
    enum { T = 4 };
    pthread_t t[T];
    REQUIRE(memkind_create_pmem(dir, 0, &shared_kind) == 0);
    for (size_t i = 0; i < T; i++)
        REQUIRE(pthread_create(&t[i], NULL, churn, (void *)(i + 1)) == 0);
    for (int i = 0; i < T; i++) {
        void *errors;
        pthread_join(t[i], &errors);
        CHECK_MSG(errors == NULL, "thread %d: %ld blocks lost data or failed", i, (long)errors);
    }
    size_t v = 1;
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    CHECK_INT(MEMKIND_SUCCESS, memkind_get_stat(shared_kind, MEMKIND_STAT_TYPE_ALLOCATED, &v));
    CHECK_MSG(v < 64 * KiB, "%zu bytes still allocated after every block was freed", v);
    CHECK_INT(0, memkind_destroy_kind(shared_kind));
}

/* A block of n bytes, written, takes n bytes of disk, which its free gives back at once;
 * returns the kind's disk use after the free. */
static long long freed_at_once(memkind_t k, const char *dir, size_t n)
{
    void *p = memkind_malloc(k, n);
    REQUIRE(p != NULL);
    memset(p, 1, n);
    long long held = disk_of_kind(dir);
    CHECK(held >= (long long)n);
    memkind_free(k, p);
    long long after = disk_of_kind(dir);
    CHECK_MSG(after <= held - (long long)n, "disk %lld -> %lld after freeing %zu bytes", held,
              after, n);
    return after;
}

static void conservative(const char *dir)
{
    struct memkind_config *cfg = memkind_config_new();
    REQUIRE(cfg != NULL);
    memkind_config_set_path(cfg, dir);
    memkind_config_set_size(cfg, 0);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    memkind_t k = NULL;
    REQUIRE(memkind_create_pmem_with_config(cfg, &k) == 0);
    memkind_config_delete(cfg);
    freed_at_once(k, dir, 16 * MiB);
    CHECK_INT(0, memkind_destroy_kind(k));
}

/* Default policy: freed blocks stay on disk for reuse, a 64 MiB one goes at its free, and
 * the rest goes back after the decay time (10 s) with the program doing nothing. */
static void decay(const char *dir)
{
    enum { N = 16 };
    void *b[N];
    memkind_t k = NULL;
    REQUIRE(memkind_create_pmem(dir, 0, &k) == 0);
    long long base = freed_at_once(k, dir, 64 * MiB);
    for (int i = 0; i < N; i++) {
        b[i] = memkind_malloc(k, 1 * MiB);
        REQUIRE(b[i] != NULL);
        memset(b[i], 4, 1 * MiB);
    }
    long long held = disk_of_kind(dir);
    CHECK(held >= base + N * MiB);
    for (int i = 0; i < N; i++)
        memkind_free(k, b[i]);
    CHECK_MSG(disk_of_kind(dir) >= held, "disk %lld -> %lld at once", held, disk_of_kind(dir));
    long long now = held;
    int waited = 0;
    while (waited < 300 && now > held - N * MiB) {
        usleep(100 * 1000);
        waited++;
        now = disk_of_kind(dir);
    }
    printf("  %d MiB freed went back after %.1f s\n", N, waited / 10.0);
    CHECK_MSG(now <= held - N * MiB, "disk %lld -> %lld after 30 s", held, now);
    CHECK_MSG(waited >= 50, "gone after %.1f s, before the decay time", waited / 10.0);
    CHECK_INT(0, memkind_destroy_kind(k));
}

static void dram(const char *dir)
{
    memkind_t k = NULL;
    REQUIRE(memkind_create_pmem(dir, 0, &k) == 0);
    enum { N = 256 };
    static void *b[N];
    /* One block first, so what the kind sets up once is not counted. */
    void *first = memkind_malloc(k, 1 * MiB);
    REQUIRE(first != NULL);
    memset(first, 1, 1 * MiB);
    long before = status_kib("RssAnon:");
    for (int i = 0; i < N; i++) {
        b[i] = memkind_malloc(k, 1 * MiB);
        REQUIRE(b[i] != NULL);
        memset(b[i], 2, 1 * MiB);
    }
    long grown = status_kib("RssAnon:") - before;
    /* 0.1% of 256 MiB is 262 KiB; MEMKIND_CHECK=1 adds its live map (a page of it per
     * 256 KiB of heap holding a block start). */
    const char *checked = getenv("MEMKIND_CHECK");
    if (checked && !strcmp(checked, "1"))
        CHECK_MSG(grown * 1000 <= N * 1024 * 5, "RssAnon grew by %ld KiB for %d MiB", grown, N);
    else
        CHECK_MSG(grown * 1000 <= N * 1024, "RssAnon grew by %ld KiB for %d MiB", grown, N);
    for (int i = 0; i < N; i++)
        memkind_free(k, b[i]);
    memkind_free(k, first);
    CHECK_INT(0, memkind_destroy_kind(k));
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t k = NULL;
    STEP("mixed sizes keep their data");
    REQUIRE(memkind_create_pmem(dir, 0, &k) == 0);
    mixed(k);
    STEP("calloc, alignment, realloc");
    zero_align_realloc(k);
    STEP("a second free is refused");
    void *p = memkind_malloc(k, 1 * MiB);
    REQUIRE(p != NULL);
    memkind_free(k, p);
    memkind_free(k, p);
    void *q = memkind_malloc(k, 1 * MiB), *r = memkind_malloc(k, 1 * MiB);
    CHECK(q != NULL && r != NULL && q != r);
    memkind_free(k, q);
    memkind_free(k, r);
    CHECK_INT(0, memkind_destroy_kind(k));
    STEP("threads allocate, reallocate and free at once");
    concurrent(dir);
    STEP("a bounded kind refills");
    refill_and_stats(dir);
    STEP("conservative policy gives disk back at the free");
    conservative(dir);
    STEP("default policy: kept for reuse, back after the decay time");
    decay(dir);
    STEP("DRAM per byte of 1 MiB blocks");
    dram(dir);
    return test_finish("file_big_blocks_ours");
}
