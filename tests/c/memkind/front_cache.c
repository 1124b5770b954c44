/*
 * The per-thread cache of small blocks (up to 4096 B) of file-backed kinds, with every
 * block's data checked: a block handed out again by a thread's cache keeps whatever its
 * last user wrote, so calloc must clear it; a block pushed onto the stack of the wrong size
 * class, or a page whose class changed without the cache noticing, makes two live blocks
 * overlap, which only shows as one block's data overwritten by another's; blocks freed by
 * another thread than their allocator, or still cached by a thread that exits, must go
 * back to the kind; and a thread still caching blocks of a destroyed kind must never hand
 * them out from the kind created after it.
 *
 * Parts: calloc after dirty frees; single-thread churn of small and large blocks with
 * realloc and posix_memalign; pages going from one small class to another class and to
 * large blocks; four threads freeing each other's blocks, then a bounded kind refilled
 * after its worker threads exited (checked only when those threads could take over the
 * space main had freed, which memkind 1.14 does not ensure); a kind destroyed while
 * another thread caches its blocks. Churn, class changes and the thread exchange run
 * again on MEMKIND_DEFAULT, which has the same per-thread stacks.
 */
#include "common.h"

#include <pthread.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define NONE ((size_t)-1)

/* The parts run on file kinds, then again on MEMKIND_DEFAULT, which has the same
 * per-thread stacks: `open_kind` gives a new file kind, or DEFAULT in that run. */
static int on_default;

static int open_kind(const char *dir, memkind_t *kind)
{
    if (on_default) {
        *kind = MEMKIND_DEFAULT;
        return MEMKIND_SUCCESS;
    }
    return memkind_create_pmem(dir, 0, kind);
}

static int close_kind(memkind_t kind)
{
    return on_default ? MEMKIND_SUCCESS : memkind_destroy_kind(kind);
}

/* ------------------------------------------------------------------ failures */

/* Bad blocks of the current part: counted by every thread, the first few printed. */
static int bad_count;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void bad(const char *fmt, ...)
{
    va_list ap;
    if (__atomic_fetch_add(&bad_count, 1, __ATOMIC_RELAXED) >= 20)
        return;
    printf("  bad: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void part_begin(void)
{
    __atomic_store_n(&bad_count, 0, __ATOMIC_RELAXED);
}

#define PART_END()                                                             \
    do {                                                                       \
        int part_bad_ = __atomic_load_n(&bad_count, __ATOMIC_RELAXED);         \
        CHECK_MSG(part_bad_ == 0, "%d bad blocks or allocations", part_bad_);  \
    } while (0)

/* ------------------------------------------------------- random and patterns */

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_in(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(rnd(s) % (hi - lo + 1));
}

/* A block's seed from two numbers (slot and generation, thread and sequence). */
static uint64_t seed_of(uint64_t a, uint64_t b)
{
    uint64_t x = (a << 32) ^ b ^ 0x6A09E667F3BCC909ULL;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    return x ^ (x >> 33);
}

/* The pattern is a sequence of 8-byte words, so byte i of a block is the same whether it
 * was written as part of a word or alone; distinct seeds give distinct words everywhere,
 * so a block written over another never leaves the other's pattern in place. */
static uint64_t pat_word(uint64_t seed, size_t w)
{
    return seed ^ ((uint64_t)(w + 1) * 0x9E3779B97F4A7C15ULL);
}

static unsigned char pat_byte(uint64_t seed, size_t i)
{
    uint64_t w = pat_word(seed, i >> 3);
    unsigned char b[8];
    memcpy(b, &w, 8);
    return b[i & 7];
}

/* Writes (write) or checks bytes [from, to) of the pattern; the first wrong offset or NONE. */
static size_t pat_range(unsigned char *p, size_t from, size_t to, uint64_t seed, int write)
{
    size_t i = from;
    for (; i < to && (i & 7); i++) {
        if (write)
            p[i] = pat_byte(seed, i);
        else if (p[i] != pat_byte(seed, i))
            return i;
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pat_word(seed, i >> 3), got;
        if (write) {
            memcpy(p + i, &w, 8);
        } else {
            memcpy(&got, p + i, 8);
            if (got != w) {
                while (p[i] == pat_byte(seed, i))
                    i++;
                return i;
            }
        }
    }
    for (; i < to; i++) {
        if (write)
            p[i] = pat_byte(seed, i);
        else if (p[i] != pat_byte(seed, i))
            return i;
    }
    return NONE;
}

/* Blocks up to DENSE bytes carry the pattern over their whole length; bigger ones over
 * their first and last 256 bytes and one word in every 64-byte line between (at a
 * position that rotates with the line, so even a 16-byte block lying inside them is hit
 * now and then). lim: only bytes below it are written or checked (the part a realloc
 * keeps). */
#define DENSE (16 * KIB)
#define EDGE 256

static size_t pat_block(unsigned char *p, size_t n, size_t lim, uint64_t seed, int write)
{
    size_t r, k;
    if (lim > n)
        lim = n;
    if (n <= DENSE)
        return pat_range(p, 0, lim, seed, write);
    r = pat_range(p, 0, lim < EDGE ? lim : EDGE, seed, write);
    if (r != NONE)
        return r;
    for (k = EDGE / 64; (k + 1) * 64 <= n - EDGE; k++) {
        size_t at = k * 64 + (k & 7) * 8;
        if (at + 8 > lim)
            return NONE;
        r = pat_range(p, at, at + 8, seed, write);
        if (r != NONE)
            return r;
    }
    return n - EDGE < lim ? pat_range(p, n - EDGE, lim, seed, write) : NONE;
}

static void fill(void *p, size_t n, uint64_t seed)
{
    pat_block((unsigned char *)p, n, n, seed, 1);
}

/* NONE when p carries its pattern, else the first wrong offset. */
static size_t verify(const void *p, size_t n, uint64_t seed)
{
    return pat_block((unsigned char *)(uintptr_t)p, n, n, seed, 0);
}

/* usable size and kind of a fresh block of `size` bytes; false (and a report) if wrong. */
static int block_ok(memkind_t kind, void *p, size_t size, const char *what)
{
    size_t usable = memkind_malloc_usable_size(kind, p);
    memkind_t found = memkind_detect_kind(p);
    if (usable < size) {
        bad("%s: %zu B block %p has usable size %zu", what, size, p, usable);
        return 0;
    }
    if (found != kind) {
        bad("%s: %zu B block %p detected in kind %p, allocated from %p", what, size, p,
            (void *)found, (void *)kind);
        return 0;
    }
    return 1;
}

/* --------------------------------------------------- 1. calloc after dirty frees */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

/* Fills a block's whole usable size with 0xA5: what a cached block holds at its next
 * allocation. */
static void dirty(memkind_t kind, void *p)
{
    memset(p, 0xA5, memkind_malloc_usable_size(kind, p));
}

static void *calloc_checked(memkind_t kind, size_t size, int form, const char *what)
{
    /* The same bytes asked for as (1, size) or as (size / 16, 16) when that divides. */
    void *q = form && size % 16 == 0 ? memkind_calloc(kind, size / 16, 16)
                                     : memkind_calloc(kind, 1, size);
    if (!q) {
        bad("%s: memkind_calloc of %zu B returned NULL", what, size);
        return NULL;
    }
    if (!is_all_zero(q, size)) {
        const unsigned char *c = (const unsigned char *)q;
        size_t i = 0;
        while (!c[i])
            i++;
        bad("%s: calloc of %zu B gave %p, byte %zu is 0x%02x", what, size, q, i, c[i]);
    }
    block_ok(kind, q, size, what);
    return q;
}

static void calloc_after_dirty_free(const char *dir)
{
    static const size_t sizes[] = {16, 48, 64, 200, 1000, 4096};
    enum { NS = sizeof(sizes) / sizeof(sizes[0]), N = 1500, ROUNDS = 4, SHORT = 16 };
    static void *blocks[NS][N];
    static void *freed[NS * N];
    memkind_t kinds[2];
    size_t total = 0, reused = 0, singles = 0, same = 0;

    part_begin();
    STEP("calloc after dirty frees: %d blocks each of 16, 48, 64, 200, 1000, 4096 B in two "
         "kinds, filled with 0xA5 and freed; calloc of the same sizes gives zeros",
         N);
    REQUIRE(memkind_create_pmem(dir, 0, &kinds[0]) == MEMKIND_SUCCESS);
    REQUIRE(memkind_create_pmem(dir, 0, &kinds[1]) == MEMKIND_SUCCESS);
    for (int s = 0; s < NS; s++)
        for (int i = 0; i < N; i++) {
            blocks[s][i] = memkind_malloc(kinds[i & 1], sizes[s]);
            REQUIRE(blocks[s][i] != NULL);
            dirty(kinds[i & 1], blocks[s][i]);
        }
    for (int round = 0; round < ROUNDS; round++) {
        size_t nf = 0;
        /* The rounds free in three orders: by size forwards, by size backwards, sizes
         * interleaved; a third of the blocks through NULL. */
        for (int j = 0; j < NS * N; j++) {
            int s, i;
            if (round % 3 == 0) {
                s = j / N;
                i = j % N;
            } else if (round % 3 == 1) {
                s = NS - 1 - j / N;
                i = N - 1 - j % N;
            } else {
                s = j % NS;
                i = j / NS;
            }
            freed[nf++] = blocks[s][i];
            memkind_free((i + round) % 3 ? kinds[i & 1] : NULL, blocks[s][i]);
        }
        qsort(freed, nf, sizeof(freed[0]), cmp_ptr);
        for (int j = 0; j < NS * N; j++) {
            /* Take the sizes in the reverse order of the frees, so the stacks filled last
             * are emptied first. */
            int s = round % 3 == 0 ? NS - 1 - j / N : round % 3 == 1 ? j / N : j % NS;
            int i = round % 3 == 2 ? j / NS : j % N;
            void *q = calloc_checked(kinds[i & 1], sizes[s], j & 1, "calloc after dirty free");
            REQUIRE(q != NULL);
            total++;
            if (bsearch(&q, freed, nf, sizeof(freed[0]), cmp_ptr))
                reused++;
            dirty(kinds[i & 1], q);
            blocks[s][i] = q;
        }
    }
    /* A block freed and at once asked for again, and short bursts below a stack's
     * capacity: these come from the freeing thread's stack itself. */
    for (int s = 0; s < NS; s++)
        for (int r = 0; r < 200; r++) {
            memkind_t k = kinds[r & 1];
            void *burst[SHORT];
            void *p = memkind_malloc(k, sizes[s]);
            REQUIRE(p != NULL);
            dirty(k, p);
            memkind_free(r & 2 ? NULL : k, p);
            void *q = calloc_checked(k, sizes[s], r & 4, "calloc right after a free");
            REQUIRE(q != NULL);
            singles++;
            same += q == p;
            dirty(k, q);
            memkind_free(k, q);
            for (int i = 0; i < SHORT; i++) {
                burst[i] = memkind_malloc(k, sizes[s]);
                REQUIRE(burst[i] != NULL);
                dirty(k, burst[i]);
            }
            for (int i = 0; i < SHORT; i++)
                memkind_free(k, burst[i]);
            for (int i = 0; i < SHORT; i++) {
                burst[i] = calloc_checked(k, sizes[s], i & 1, "calloc after a burst");
                REQUIRE(burst[i] != NULL);
                dirty(k, burst[i]);
            }
            for (int i = SHORT - 1; i >= 0; i--)
                memkind_free(NULL, burst[i]);
        }
    printf("  %zu of %zu calloc blocks had just been freed; %zu of %zu right after a free "
           "got the freed block\n",
           reused, total, same, singles);
    /* Otherwise the cache is not what these callocs exercise. */
    CHECK_MSG(same * 2 >= singles, "%zu of %zu", same, singles);
    for (int s = 0; s < NS; s++)
        for (int i = 0; i < N; i++)
            memkind_free(kinds[i & 1], blocks[s][i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kinds[0]));
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kinds[1]));
    PART_END();
}

/* ------------------------------------------------------------------- 2. churn */

#define CHURN_SLOTS 20000
#define CHURN_OPS 400000
#define CHURN_SEED 0x5EEDF00DULL

struct block {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

static size_t churn_size(uint64_t *r)
{
    unsigned c = (unsigned)(rnd(r) % 100);
    if (c < 2)
        return rnd_in(r, 4097, 300000);
    if (c < 60)
        return rnd_in(r, 1, 512);
    return rnd_in(r, 1, 4096);
}

/* A new block for `b` by malloc, calloc or posix_memalign; false when it could not be had. */
static int churn_alloc(memkind_t kind, struct block *b, uint64_t *r, uint64_t seed, long op)
{
    size_t size = churn_size(r);
    unsigned how = (unsigned)(rnd(r) % 64);
    void *p = NULL;
    if (how == 0) {
        size_t align = (size_t)64 << (rnd(r) % 7);
        int err = memkind_posix_memalign(kind, &p, align, size);
        if (err || !p) {
            bad("churn op %ld: posix_memalign(%zu, %zu) returned %d", op, align, size, err);
            return 0;
        }
        if ((uintptr_t)p % align)
            bad("churn op %ld: posix_memalign(%zu, %zu) gave %p", op, align, size, p);
    } else if (how == 1) {
        size_t n = 1 + (size_t)(rnd(r) % 4);
        size = (size + n - 1) / n;
        p = memkind_calloc(kind, n, size);
        size *= n;
        if (p && !is_all_zero(p, size))
            bad("churn op %ld: calloc of %zu B gave %p, not zero", op, size, p);
    } else {
        p = memkind_malloc(kind, size);
    }
    if (!p) {
        bad("churn op %ld: no block of %zu B from an unlimited kind", op, size);
        return 0;
    }
    block_ok(kind, p, size, "churn");
    b->p = (unsigned char *)p;
    b->size = size;
    b->seed = seed;
    fill(p, size, seed);
    return 1;
}

static void churn_check(const struct block *b, long op, size_t slot, const char *when)
{
    size_t at = verify(b->p, b->size, b->seed);
    if (at != NONE)
        bad("churn (seed %#llx) op %ld, %s: slot %zu, %zu B block %p, byte %zu changed",
            (unsigned long long)CHURN_SEED, op, when, slot, b->size, (void *)b->p, at);
}

static void churn(const char *dir)
{
    static struct block slots[CHURN_SLOTS];
    static uint32_t gen[CHURN_SLOTS];
    uint64_t r = CHURN_SEED;
    long reallocs = 0;
    memkind_t kind;

    part_begin();
    STEP("churn: %d live blocks of 1..4096 B and (2%%) 4097..300000 B, %d replacements by "
         "malloc, calloc, posix_memalign and realloc, each block's pattern checked before "
         "its free",
         CHURN_SLOTS, CHURN_OPS);
    REQUIRE(open_kind(dir, &kind) == MEMKIND_SUCCESS);
    for (size_t i = 0; i < CHURN_SLOTS; i++)
        REQUIRE(churn_alloc(kind, &slots[i], &r, seed_of(i, 0), -1));
    for (long op = 0; op < CHURN_OPS; op++) {
        size_t i = (size_t)(rnd(&r) % CHURN_SLOTS);
        struct block *b = &slots[i];
        unsigned what = (unsigned)(rnd(&r) % 64);
        uint64_t seed = seed_of(i, ++gen[i]);
        churn_check(b, op, i, "before its free");
        if (what < 2) {
            size_t size = churn_size(&r);
            size_t keep = size < b->size ? size : b->size;
            unsigned char *q = (unsigned char *)memkind_realloc(kind, b->p, size);
            reallocs++;
            if (!q) {
                bad("churn op %ld: realloc of %zu B to %zu B failed", op, b->size, size);
                REQUIRE(churn_alloc(kind, b, &r, seed, op));
                continue;
            }
            size_t at = pat_block(q, b->size, keep, b->seed, 0);
            if (at != NONE)
                bad("churn op %ld: realloc of slot %zu from %zu B at %p to %zu B at %p: "
                    "byte %zu changed",
                    op, i, b->size, (void *)b->p, size, (void *)q, at);
            block_ok(kind, q, size, "churn realloc");
            b->p = q;
            b->size = size;
            b->seed = seed;
            fill(q, size, seed);
            continue;
        }
        memkind_free(what < 6 ? NULL : kind, b->p);
        b->p = NULL;
        REQUIRE(churn_alloc(kind, b, &r, seed, op));
    }
    for (size_t i = 0; i < CHURN_SLOTS; i++) {
        churn_check(&slots[i], CHURN_OPS, i, "at the end");
        memkind_free(kind, slots[i].p);
    }
    printf("  %ld reallocs\n", reallocs);
    CHECK_INT(MEMKIND_SUCCESS, close_kind(kind));
    PART_END();
}

/* ------------------------------------------------------- 3. pages change class */

#define CLASS_TOTAL (8 * MIB)
#define CLASS_MAX_BLOCKS (CLASS_TOTAL / 16 + 1)

static struct block class_blocks[CLASS_MAX_BLOCKS];
static struct block class_late[CLASS_MAX_BLOCKS];
static size_t class_order[CLASS_MAX_BLOCKS];

static int class_alloc(memkind_t kind, struct block *b, size_t size, uint64_t seed,
                       const char *what)
{
    size_t usable;
    b->p = (unsigned char *)memkind_malloc(kind, size);
    if (!b->p) {
        bad("%s: no block of %zu B from an unlimited kind", what, size);
        return 0;
    }
    /* These sizes are jemalloc classes: a block reported much bigger (or smaller) than
     * asked for was given the wrong class. */
    usable = memkind_malloc_usable_size(kind, b->p);
    if (usable > size + size / 4 + 16)
        bad("%s: %zu B block %p has usable size %zu", what, size, (void *)b->p, usable);
    block_ok(kind, b->p, size, what);
    b->size = size;
    b->seed = seed;
    /* The whole length even of large blocks: an overlap shows wherever it lies. */
    pat_range(b->p, 0, size, seed, 1);
    return 1;
}

static void class_release(memkind_t kind, struct block *b, int via_null, int round,
                          const char *when)
{
    size_t at = pat_range(b->p, 0, b->size, b->seed, 0);
    if (at != NONE)
        bad("pages changing class, round %d, %s: %zu B block %p, byte %zu changed", round,
            when, b->size, (void *)b->p, at);
    memkind_free(via_null ? NULL : kind, b->p);
    b->p = NULL;
}

static void shuffle(size_t *v, size_t n, uint64_t *r)
{
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd(r) % i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void pages_change_class(const char *dir)
{
    /* Each round: the class that covers the pages first, and the small class that takes
     * them over together with large blocks. */
    static const size_t pairs[][2] = {{64, 320}, {320, 64}, {48, 2048}, {4096, 96}, {16, 4096}};
    enum { ROUNDS = sizeof(pairs) / sizeof(pairs[0]) };
    uint64_t r = 0xC1A55E5ULL;
    memkind_t kind;

    part_begin();
    REQUIRE(open_kind(dir, &kind) == MEMKIND_SUCCESS);
    for (int round = 0; round < ROUNDS; round++) {
        size_t a = pairs[round][0], b = pairs[round][1];
        size_t n = CLASS_TOTAL / a, m = 0, late = 0, used = 0;
        STEP("pages changing class, round %d: 8 MiB of %zu B blocks freed, then %zu B, "
             "8 KiB, 64 KiB and 1 MiB blocks over them, freed in random order among new "
             "%zu B (and some %zu B and 8 KiB) blocks",
             round, a, b, a, b);
        for (size_t i = 0; i < n; i++)
            REQUIRE(class_alloc(kind, &class_blocks[i], a, seed_of(round, i), "first class"));
        shuffle(class_order, n, &r);
        for (size_t i = 0; i < n; i++)
            class_release(kind, &class_blocks[class_order[i]], i % 4 == 0, round,
                          "first class");
        /* As many bytes in blocks of the second class as in large blocks. */
        while (used < CLASS_TOTAL) {
            unsigned c = (unsigned)(rnd(&r) % 8);
            size_t large = c < 4 ? 8 * KIB : c < 7 ? 64 * KIB : MIB;
            REQUIRE(class_alloc(kind, &class_blocks[m], large, seed_of(round + 100, m),
                                "large"));
            used += large;
            m++;
            for (size_t got = 0; got < large && used < CLASS_TOTAL; got += b) {
                REQUIRE(class_alloc(kind, &class_blocks[m], b, seed_of(round + 100, m),
                                    "second class"));
                used += b;
                m++;
            }
        }
        shuffle(class_order, m, &r);
        for (size_t i = 0; i < m; i++) {
            class_release(kind, &class_blocks[class_order[i]], i % 3 == 0, round,
                          "second class and large");
            /* Mostly the first class, whose pages were taken over; some of the second
             * class and large, to land on pages that were freed just before. */
            if (i % 2 == 0 || i % 5 == 1 || i % 16 == 3) {
                size_t size = i % 2 == 0 ? a : i % 5 == 1 ? b : 8 * KIB;
                REQUIRE(class_alloc(kind, &class_late[late], size,
                                    seed_of(round + 200, late), "new blocks among the frees"));
                late++;
            }
        }
        for (size_t i = 0; i < late; i++)
            class_release(kind, &class_late[i], i % 2, round, "new blocks among the frees");
        printf("  %zu + %zu blocks, then %zu new blocks\n", n, m, late);
    }
    CHECK_INT(MEMKIND_SUCCESS, close_kind(kind));
    PART_END();
}

/* ------------------------------------------------------------- 4. cross-thread */

#define XTHREADS 4
#define XROUNDS 40
#define XBURST 256
#define BOUNDED_SIZE (32 * MIB)

struct queue {
    pthread_mutex_t lock;
    struct block *items;
    size_t n, cap;
};

static struct queue queues[XTHREADS];
static memkind_t xkind;
static pthread_barrier_t xbarrier;

static void queue_put(struct queue *q, const struct block *items, size_t n)
{
    pthread_mutex_lock(&q->lock);
    if (q->n + n > q->cap) {
        size_t cap = (q->n + n) * 2;
        struct block *v = (struct block *)realloc(q->items, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&q->lock);
            bad("no system memory for a queue of %zu items", cap);
            return;
        }
        q->items = v;
        q->cap = cap;
    }
    memcpy(q->items + q->n, items, n * sizeof(*items));
    q->n += n;
    pthread_mutex_unlock(&q->lock);
}

/* Checks and frees every block waiting in thread t's queue; how many there were. */
static size_t queue_drain(int t, const char *what)
{
    struct queue *q = &queues[t];
    struct block *items;
    size_t n;
    pthread_mutex_lock(&q->lock);
    items = q->items;
    n = q->n;
    q->items = NULL;
    q->n = q->cap = 0;
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < n; i++) {
        size_t at = verify(items[i].p, items[i].size, items[i].seed);
        if (at != NONE)
            bad("%s: thread %d got a %zu B block %p with byte %zu changed", what, t,
                items[i].size, (void *)items[i].p, at);
        memkind_free(i & 1 ? NULL : xkind, items[i].p);
    }
    free(items);
    return n;
}

static void *exchange_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint64_t r = seed_of(t, 0xE8C4);
    struct block mine[XBURST], give[XBURST / 2];
    for (int round = 0; round < XROUNDS; round++) {
        for (int i = 0; i < XBURST; i++) {
            size_t size = rnd(&r) % 4 ? rnd_in(&r, 1, 512) : rnd_in(&r, 513, 4096);
            mine[i].p = (unsigned char *)memkind_malloc(xkind, size);
            if (!mine[i].p) {
                /* Carried on as an empty block: the other threads wait at the barrier. */
                bad("exchange: thread %d got no %zu B block", t, size);
                mine[i].size = 0;
                continue;
            }
            block_ok(xkind, mine[i].p, size, "exchange");
            mine[i].size = size;
            mine[i].seed = seed_of((uint64_t)t << 16 | (uint64_t)round, (uint64_t)i);
            fill(mine[i].p, size, mine[i].seed);
        }
        for (int i = 0; i < XBURST / 2; i++)
            give[i] = mine[2 * i + 1];
        queue_put(&queues[(t + 1) % XTHREADS], give, XBURST / 2);
        for (int i = 0; i < XBURST; i += 2) {
            size_t at = verify(mine[i].p, mine[i].size, mine[i].seed);
            if (at != NONE)
                bad("exchange: thread %d's own %zu B block %p, byte %zu changed", t,
                    mine[i].size, (void *)mine[i].p, at);
            memkind_free(xkind, mine[i].p);
        }
        queue_drain(t, "exchange");
    }
    pthread_barrier_wait(&xbarrier); /* every block handed over is in its queue */
    queue_drain(t, "exchange");
    return NULL;
}

#define BOUNDED_CAP (BOUNDED_SIZE / 64 + 1024)

/* Adds up to `max` blocks of 64 B of xkind to v (holding *n of BOUNDED_CAP); false once
 * the kind is full. */
static int take_bounded(struct block *v, size_t *n, size_t max, uint64_t tag)
{
    for (size_t got = 0; got < max; got++) {
        void *p;
        if (*n == BOUNDED_CAP) {
            bad("a %zu MiB kind gave more than %zu blocks of 64 B", BOUNDED_SIZE >> 20,
                (size_t)BOUNDED_CAP);
            return 0;
        }
        p = memkind_malloc(xkind, 64);
        if (!p)
            return 0;
        v[*n].p = (unsigned char *)p;
        v[*n].size = 64;
        v[*n].seed = seed_of(tag, *n);
        fill(p, 64, v[*n].seed);
        ++*n;
    }
    return 1;
}

static struct block *new_blocks(void)
{
    struct block *v = (struct block *)malloc(BOUNDED_CAP * sizeof(*v));
    REQUIRE(v != NULL);
    return v;
}

static void verify_free_all(struct block *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = verify(v[i].p, v[i].size, v[i].seed);
        if (at != NONE)
            bad("%s: %zu B block %p, byte %zu changed", what, v[i].size, (void *)v[i].p, at);
        memkind_free(i & 1 ? NULL : xkind, v[i].p);
    }
    free(v);
}

static size_t worker_counts[XTHREADS];
static int worker_full[XTHREADS];

static void *bounded_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    struct block *v = new_blocks(), *give;
    size_t n = 0, half;
    /* The threads fill the kind in steps of 1024 blocks, so each one holds part of it. */
    for (;;) {
        int all = 1;
        if (!worker_full[t] && !take_bounded(v, &n, 1024, 0xB0 + (uint64_t)t))
            worker_full[t] = 1;
        pthread_barrier_wait(&xbarrier);
        for (int i = 0; i < XTHREADS; i++)
            all &= worker_full[i];
        pthread_barrier_wait(&xbarrier); /* all have read the flags */
        if (all)
            break;
    }
    worker_counts[t] = n;
    /* The odd blocks go to the next thread, which checks and frees them. */
    half = n / 2;
    give = (struct block *)malloc((half + 1) * sizeof(*give));
    REQUIRE(give != NULL);
    for (size_t i = 0; i < half; i++)
        give[i] = v[2 * i + 1];
    for (size_t i = 0; 2 * i < n; i++)
        v[i] = v[2 * i];
    queue_put(&queues[(t + 1) % XTHREADS], give, half);
    free(give);
    pthread_barrier_wait(&xbarrier); /* every handed block is queued */
    queue_drain(t, "bounded kind");
    verify_free_all(v, n - half, "bounded kind, own blocks");
    return NULL;
}

static void run_threads(void *(*fn)(void *))
{
    pthread_t th[XTHREADS];
    for (int t = 0; t < XTHREADS; t++)
        REQUIRE(pthread_create(&th[t], NULL, fn, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < XTHREADS; t++)
        pthread_join(th[t], NULL);
}

static void cross_thread(const char *dir)
{
    struct block *v;
    size_t first, second, total = 0;

    part_begin();
    STEP("cross-thread: %d threads x %d rounds of %d small blocks, half of each round freed "
         "by the next thread after checking it",
         XTHREADS, XROUNDS, XBURST);
    for (int t = 0; t < XTHREADS; t++) {
        REQUIRE(pthread_mutex_init(&queues[t].lock, NULL) == 0);
        queues[t].items = NULL;
        queues[t].n = queues[t].cap = 0;
    }
    REQUIRE(pthread_barrier_init(&xbarrier, NULL, XTHREADS) == 0);
    REQUIRE(open_kind(dir, &xkind) == MEMKIND_SUCCESS);
    run_threads(exchange_worker);
    /* What the exited threads cached is handed out again, intact and of this kind. */
    {
        enum { N = 20000 };
        static struct block after[N];
        uint64_t r = 0xAF7E5;
        for (size_t i = 0; i < N; i++) {
            size_t size = rnd_in(&r, 1, 4096);
            after[i].p = (unsigned char *)memkind_malloc(xkind, size);
            REQUIRE(after[i].p != NULL);
            block_ok(xkind, after[i].p, size, "after the threads exited");
            after[i].size = size;
            after[i].seed = seed_of(0xAF, i);
            fill(after[i].p, size, after[i].seed);
        }
        for (size_t i = 0; i < N; i++) {
            size_t at = verify(after[i].p, after[i].size, after[i].seed);
            if (at != NONE)
                bad("after the threads exited: %zu B block %p, byte %zu changed",
                    after[i].size, (void *)after[i].p, at);
            memkind_free(xkind, after[i].p);
        }
    }
    CHECK_INT(MEMKIND_SUCCESS, close_kind(xkind));
    PART_END();
    if (on_default)
        return;

    part_begin();
    STEP("cross-thread: a %zu MiB kind filled with 64 B blocks by main, then by %d threads "
         "that free each other's blocks and exit; main fills it again to >= 90%%",
         BOUNDED_SIZE >> 20, XTHREADS);
    REQUIRE(memkind_create_pmem(dir, BOUNDED_SIZE, &xkind) == MEMKIND_SUCCESS);
    v = new_blocks();
    first = 0;
    take_bounded(v, &first, BOUNDED_CAP, 0xF1);
    verify_free_all(v, first, "bounded kind, main's first fill");
    run_threads(bounded_worker);
    for (int t = 0; t < XTHREADS; t++)
        total += worker_counts[t];
    v = new_blocks();
    second = 0;
    take_bounded(v, &second, BOUNDED_CAP, 0xF2);
    verify_free_all(v, second, "bounded kind, main's second fill");
    printf("  main's first fill %zu blocks (%zu KiB); the threads' %zu (%zu, %zu, %zu, %zu); "
           "main's second fill %zu\n",
           first, first * 64 >> 10, total, worker_counts[0], worker_counts[1],
           worker_counts[2], worker_counts[3], second);
    CHECK_SIZE_GE(first * 64, BOUNDED_SIZE / 4);
    /* Only when the threads could take over the space main had freed: memkind 1.14 keeps
     * a bounded kind's freed space with the arena that used it, so its threads get what
     * their arenas happen to hold, and main then gets back less. */
    if (total >= first / 10 * 9)
        CHECK_SIZE_GE(second, first / 10 * 9);
    else
        printf("  the threads got less than 90%% of main's first fill: main's refill not "
               "checked\n");
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(xkind));
    pthread_barrier_destroy(&xbarrier);
    for (int t = 0; t < XTHREADS; t++)
        pthread_mutex_destroy(&queues[t].lock);
    PART_END();
}

/* ------------------------------------------- 5. destroy while another thread caches */

#define DBURST 512
static const size_t dsizes[] = {16, 64, 96, 256, 1024, 4096};
#define NDSIZES (sizeof(dsizes) / sizeof(dsizes[0]))

static memkind_t doomed, successor;
static pthread_barrier_t dbarrier;

/* Rounds of DBURST blocks of kind k: allocated, filled, checked, freed (half through
 * NULL), so the caller's stacks of k hold blocks of every class afterwards. */
static void cache_rounds(memkind_t k, int rounds, uint64_t tag, const char *what)
{
    struct block v[DBURST];
    for (int round = 0; round < rounds; round++) {
        for (size_t i = 0; i < DBURST; i++) {
            size_t size = dsizes[(i + (size_t)round) % NDSIZES];
            v[i].p = (unsigned char *)memkind_malloc(k, size);
            if (!v[i].p) {
                bad("%s: no %zu B block", what, size);
                v[i].size = 0;
                continue;
            }
            block_ok(k, v[i].p, size, what);
            v[i].size = size;
            v[i].seed = seed_of(tag + (uint64_t)round, i);
            fill(v[i].p, size, v[i].seed);
        }
        for (size_t i = 0; i < DBURST; i++) {
            size_t at;
            if (!v[i].size)
                continue;
            at = verify(v[i].p, v[i].size, v[i].seed);
            if (at != NONE)
                bad("%s: %zu B block %p, byte %zu changed", what, v[i].size,
                    (void *)v[i].p, at);
            memkind_free(i & 1 ? NULL : k, v[i].p);
        }
    }
}

static void *cache_then_wait(void *arg)
{
    (void)arg;
    cache_rounds(doomed, 10, 0xA000, "thread A, first kind");
    pthread_barrier_wait(&dbarrier); /* main destroys the kind and creates the next */
    pthread_barrier_wait(&dbarrier);
    cache_rounds(successor, 20, 0xA100, "thread A, next kind");
    return NULL;
}

static void destroy_while_cached(const char *dir)
{
    part_begin();
    REQUIRE(pthread_barrier_init(&dbarrier, NULL, 2) == 0);
    for (int cycle = 0; cycle < 4; cycle++) {
        pthread_t a;
        memkind_t extra[600];
        /* Odd cycles create kinds until one takes the destroyed kind's place (a library
         * may rotate through its handles), even cycles take the first new kind. */
        int n = 0, tries = cycle % 2 ? 600 : 1;
        STEP("destroy while cached, cycle %d: thread A caches blocks of a kind, main "
             "destroys it and creates another, A uses that one",
             cycle);
        REQUIRE(memkind_create_pmem(dir, 0, &doomed) == MEMKIND_SUCCESS);
        cache_rounds(doomed, 2, 0xB000, "main, first kind");
        REQUIRE(pthread_create(&a, NULL, cache_then_wait, NULL) == 0);
        pthread_barrier_wait(&dbarrier);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(doomed));
        successor = NULL;
        while (n < tries) {
            memkind_t k;
            if (memkind_create_pmem(dir, 0, &k) != MEMKIND_SUCCESS)
                break;
            if (k == doomed) {
                successor = k;
                break;
            }
            extra[n++] = k;
        }
        if (!successor && n > 0)
            successor = extra[--n];
        REQUIRE(successor != NULL);
        for (int i = 0; i < n; i++)
            CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(extra[i]));
        printf("  the next kind %s the destroyed kind's handle\n",
               successor == doomed ? "reuses" : "does not reuse");
        pthread_barrier_wait(&dbarrier);
        cache_rounds(successor, 10, 0xB100, "main, next kind");
        pthread_join(a, NULL);
        cache_rounds(successor, 4, 0xB200, "main, after A exited");
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(successor));
    }
    pthread_barrier_destroy(&dbarrier);
    PART_END();
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    calloc_after_dirty_free(dir);
    churn(dir);
    pages_change_class(dir);
    cross_thread(dir);
    destroy_while_cached(dir);
    on_default = 1;
    printf("again on MEMKIND_DEFAULT\n");
    churn(dir);
    pages_change_class(dir);
    cross_thread(dir);
    return test_finish("front_cache");
}
