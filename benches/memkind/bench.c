/*
 * Micro-benchmarks for the memkind 1.14 C API.
 *
 * The same source is compiled against two libraries (ours and the reference
 * memkind); benches/memkind/run.sh runs both and compares them.  One process
 * runs one group of metrics, so a crash in one library only loses that group.
 *
 * Usage: bench GROUP [ARGS...]
 * Output (stdout, line-buffered, tab-separated):
 *   expect  METRIC          metrics this group will report
 *   value   METRIC  NUMBER  a measurement (unit given by the metric name)
 *   fail    METRIC  TEXT    the metric could not be measured
 *   info    KEY     TEXT    anything else worth printing
 * With BENCH_LIST_ONLY set in the environment a group prints only its "expect"
 * lines, without touching the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <memkind.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define GIB (KIB * MIB)

/*
 * Every metric is timed REPS times for about TARGET_NS each, after a warm-up of
 * about WARMUP_NS, and the best run is reported: other processes on the machine
 * only ever make a run slower.
 */
#define TARGET_NS 50000000.0
#define WARMUP_NS 20000000.0
#define REPS 3

static const size_t sizes[] = {16, 64, 256, KIB, 4 * KIB, 64 * KIB, MIB};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static volatile uintptr_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void out(const char *tag, const char *metric, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void out(const char *tag, const char *metric, const char *fmt, ...)
{
    va_list ap;
    printf("%s\t%s\t", tag, metric);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int list_only(void)
{
    return getenv("BENCH_LIST_ONLY") != NULL;
}

/* BENCH_ALONGSIDE=1 (set for our library only): a group also measures, right before or
 * after its own metric, the one a target compares it with, so both see the machine in
 * the same state (a VM can have slow spells of seconds to minutes). */
static int alongside(void)
{
    return getenv("BENCH_ALONGSIDE") != NULL;
}

static const char *size_name(size_t size)
{
    static char buf[32];
    if (size >= MIB)
        snprintf(buf, sizeof(buf), "%zuM", size / MIB);
    else if (size >= KIB)
        snprintf(buf, sizeof(buf), "%zuK", size / KIB);
    else
        snprintf(buf, sizeof(buf), "%zu", size);
    return buf;
}

/* ---- allocation targets: a memkind kind, or plain glibc malloc ------------ */

struct heap {
    memkind_t kind; /* NULL: glibc malloc/free */
    int owned;      /* destroy the kind at the end */
};

static void *h_malloc(const struct heap *h, size_t size)
{
    return h->kind ? memkind_malloc(h->kind, size) : malloc(size);
}

static void h_free(const struct heap *h, void *p)
{
    if (h->kind)
        memkind_free(h->kind, p);
    else
        free(p);
}

static void *h_realloc(const struct heap *h, void *p, size_t size)
{
    return h->kind ? memkind_realloc(h->kind, p, size) : realloc(p, size);
}

static int create_file_kind(const char *dir, size_t max_size, memkind_t *kind)
{
    int err = memkind_create_pmem(dir, max_size, kind);
    if (err) {
        char msg[MEMKIND_ERROR_MESSAGE_SIZE];
        memkind_error_message(err, msg, sizeof(msg));
        fprintf(stderr, "memkind_create_pmem(%s, %zu): %d %s\n", dir, max_size, err, msg);
    }
    return err;
}

/* spec: file0 | file1g | default | glibc */
static int open_heap(const char *spec, const char *dir, struct heap *h)
{
    h->kind = NULL;
    h->owned = 0;
    if (!strcmp(spec, "glibc"))
        return 0;
    if (!strcmp(spec, "default")) {
        h->kind = MEMKIND_DEFAULT;
        return 0;
    }
    if (!strcmp(spec, "file0") || !strcmp(spec, "file1g")) {
        if (!dir) {
            fprintf(stderr, "%s needs a directory\n", spec);
            return -1;
        }
        h->owned = 1;
        return create_file_kind(dir, spec[4] == '0' ? 0 : GIB, &h->kind);
    }
    fprintf(stderr, "unknown heap %s\n", spec);
    return -1;
}

static void close_heap(struct heap *h)
{
    if (h->owned && h->kind)
        memkind_destroy_kind(h->kind);
    h->kind = NULL;
}

/* ---- timing --------------------------------------------------------------- */

/*
 * run(ctx, iters) performs `iters` iterations and returns 0, or -1 on an
 * allocation failure.  measure() warms up, picks an iteration count that
 * takes about TARGET_NS, and returns the best ns per iteration of REPS runs
 * (negative on failure).
 */
typedef int (*run_fn)(void *ctx, long iters);

static double measure(run_fn run, void *ctx)
{
    long iters = 1;
    double t;
    for (;;) {
        double t0 = now_ns();
        if (run(ctx, iters))
            return -1;
        t = now_ns() - t0;
        if (t >= WARMUP_NS || iters >= (1L << 40))
            break;
        iters = t < WARMUP_NS / 64 ? iters * 8 : iters * 2;
    }
    long n = (long)((double)iters * TARGET_NS / (t > 1 ? t : 1));
    if (n < 1)
        n = 1;
    double best = -1;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        if (run(ctx, n))
            return -1;
        double ns = (now_ns() - t0) / (double)n;
        if (best < 0 || ns < best)
            best = ns;
    }
    return best;
}

/* ---- tight pairs ---------------------------------------------------------- */

struct pair_ctx {
    const struct heap *h;
    size_t size;
};

static int run_pairs(void *arg, long iters)
{
    struct pair_ctx *c = arg;
    /* A local sum, written out once: threads adding to the shared `sink` every pair
     * would bounce its cache line between them and measure that instead. */
    uintptr_t acc = 0;
    for (long i = 0; i < iters; i++) {
        char *p = h_malloc(c->h, c->size);
        if (!p)
            return -1;
        p[0] = (char)i;
        acc += (uintptr_t)*(volatile char *)p;
        h_free(c->h, p);
    }
    sink += acc;
    return 0;
}

static int group_tight(const char *spec, const char *dir)
{
    struct heap h;
    for (size_t i = 0; i < NSIZES; i++) {
        char m[64];
        snprintf(m, sizeof(m), "tight.%s.%s", spec, size_name(sizes[i]));
        out("expect", m, "-");
    }
    if (list_only())
        return 0;
    if (open_heap(spec, dir, &h))
        return 1;
    for (size_t i = 0; i < NSIZES; i++) {
        char m[64];
        snprintf(m, sizeof(m), "tight.%s.%s", spec, size_name(sizes[i]));
        struct pair_ctx c = {&h, sizes[i]};
        double ns = measure(run_pairs, &c);
        if (ns < 0)
            out("fail", m, "allocation returned NULL");
        else
            out("value", m, "%.2f", ns);
        /* the heap this one's target compares it with */
        const char *other = NULL;
        if (h.owned && sizes[i] <= 4 * KIB)
            other = "default";
        else if (!h.owned && h.kind && sizes[i] == 64)
            other = "glibc";
        if (other && alongside()) {
            struct heap o;
            open_heap(other, NULL, &o);
            struct pair_ctx oc = {&o, sizes[i]};
            double ons = measure(run_pairs, &oc);
            snprintf(m, sizeof(m), "tight.%s.%s.%s", spec, other, size_name(sizes[i]));
            if (ons > 0)
                out("value", m, "%.2f", ons);
        }
    }
    close_heap(&h);
    return 0;
}

/* ---- batches ---------------------------------------------------------------- */

struct batch_ctx {
    const struct heap *h;
    size_t size;
    size_t count;
    int fifo;
    void **ptrs;
};

static int run_batch(void *arg, long iters)
{
    struct batch_ctx *c = arg;
    for (long it = 0; it < iters; it++) {
        for (size_t i = 0; i < c->count; i++) {
            char *p = h_malloc(c->h, c->size);
            if (!p) {
                while (i-- > 0)
                    h_free(c->h, c->ptrs[i]);
                return -1;
            }
            p[0] = (char)i;
            c->ptrs[i] = p;
        }
        if (c->fifo) {
            for (size_t i = 0; i < c->count; i++)
                h_free(c->h, c->ptrs[i]);
        } else {
            for (size_t i = c->count; i-- > 0;)
                h_free(c->h, c->ptrs[i]);
        }
    }
    return 0;
}

static int group_batch(const char *spec, const char *order, const char *dir)
{
    struct heap h;
    void *ptrs[1000];
    int fifo = !strcmp(order, "fifo");
    for (size_t i = 0; i < NSIZES; i++) {
        char m[64];
        snprintf(m, sizeof(m), "batch.%s.%s.%s", order, spec, size_name(sizes[i]));
        out("expect", m, "-");
    }
    if (list_only())
        return 0;
    if (open_heap(spec, dir, &h))
        return 1;
    for (size_t i = 0; i < NSIZES; i++) {
        char m[64];
        snprintf(m, sizeof(m), "batch.%s.%s.%s", order, spec, size_name(sizes[i]));
        struct batch_ctx c = {&h, sizes[i], 1000, fifo, ptrs};
        double ns = measure(run_batch, &c);
        if (ns < 0 && sizes[i] >= MIB) {
            c.count = 200;
            out("info", m, "1000 blocks do not fit; 200 blocks");
            ns = measure(run_batch, &c);
        }
        if (ns < 0)
            out("fail", m, "allocation returned NULL");
        else
            out("value", m, "%.2f", ns / (double)c.count);
    }
    close_heap(&h);
    return 0;
}

/* ---- memkind_free(NULL, p) vs memkind_free(kind, p); detect_kind ----------- */

#define FREE_BATCH 1000

struct free_ctx {
    memkind_t kind;
    memkind_t free_kind; /* what is passed to memkind_free */
    void *ptrs[FREE_BATCH];
    double timed_ns;     /* time spent in the timed phase */
    int mode;            /* 0 free, 1 detect */
};

/* Allocation is untimed; only the free (or detect) loop is. */
static int run_free(void *arg, long iters)
{
    struct free_ctx *c = arg;
    for (long it = 0; it < iters; it++) {
        for (size_t i = 0; i < FREE_BATCH; i++) {
            char *p = memkind_malloc(c->kind, 64);
            if (!p)
                return -1;
            p[0] = 1;
            c->ptrs[i] = p;
        }
        double t0 = now_ns();
        if (c->mode == 1) {
            uintptr_t acc = 0;
            for (size_t i = 0; i < FREE_BATCH; i++)
                acc += (uintptr_t)memkind_detect_kind(c->ptrs[i]);
            sink += acc;
            c->timed_ns += now_ns() - t0;
            for (size_t i = 0; i < FREE_BATCH; i++)
                memkind_free(c->kind, c->ptrs[i]);
        } else {
            for (size_t i = 0; i < FREE_BATCH; i++)
                memkind_free(c->free_kind, c->ptrs[i]);
            c->timed_ns += now_ns() - t0;
        }
    }
    return 0;
}

static double measure_timed_part(struct free_ctx *c)
{
    /* warm up, then REPS runs of about TARGET_NS of batches; the best one counts */
    if (run_free(c, 20))
        return -1;
    double best = -1;
    for (int r = 0; r < REPS; r++) {
        c->timed_ns = 0;
        double t0 = now_ns();
        long iters = 0;
        while (now_ns() - t0 < TARGET_NS) {
            if (run_free(c, 10))
                return -1;
            iters += 10;
        }
        double ns = c->timed_ns / (double)(iters * FREE_BATCH);
        if (best < 0 || ns < best)
            best = ns;
    }
    return best;
}

static int group_free(const char *dir)
{
    static const char *names[] = {"free.kind.64", "free.null.64", "detect_kind.64"};
    for (int i = 0; i < 3; i++)
        out("expect", names[i], "-");
    if (list_only())
        return 0;
    struct free_ctx *c = calloc(1, sizeof(*c));
    if (!c || create_file_kind(dir, 0, &c->kind))
        return 1;
    for (int i = 0; i < 3; i++) {
        c->mode = i == 2;
        c->free_kind = i == 1 ? NULL : c->kind;
        double ns = measure_timed_part(c);
        if (ns < 0)
            out("fail", names[i], "allocation returned NULL");
        else
            out("value", names[i], "%.2f", ns);
    }
    memkind_destroy_kind(c->kind);
    free(c);
    return 0;
}

/* ---- realloc growth ---------------------------------------------------------- */

static int run_realloc(void *arg, long iters)
{
    const struct heap *h = arg;
    for (long it = 0; it < iters; it++) {
        size_t size = 16;
        char *p = h_malloc(h, size);
        if (!p)
            return -1;
        p[0] = 1;
        while (size < MIB) {
            size = size + size / 2;
            if (size > MIB)
                size = MIB;
            char *q = h_realloc(h, p, size);
            if (!q) {
                h_free(h, p);
                return -1;
            }
            p = q;
            p[size - 1] = 1;
        }
        sink += (uintptr_t)p[0];
        h_free(h, p);
    }
    return 0;
}

static int group_realloc(const char *spec, const char *dir)
{
    struct heap h;
    char m[64];
    snprintf(m, sizeof(m), "realloc.%s", spec);
    out("expect", m, "-");
    if (list_only())
        return 0;
    if (open_heap(spec, dir, &h))
        return 1;
    double ns = measure(run_realloc, &h);
    if (ns < 0)
        out("fail", m, "allocation returned NULL");
    else
        out("value", m, "%.1f", ns);
    close_heap(&h);
    return 0;
}

/* ---- threads ------------------------------------------------------------------ */

struct thr {
    memkind_t kind;
    size_t size;
    pthread_barrier_t *barrier;
    double ops_per_s[REPS]; /* per timing window */
    int failed;
};

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    struct heap h = {t->kind, 0};
    struct pair_ctx c = {&h, t->size};
    /* warm up */
    double t0 = now_ns();
    while (now_ns() - t0 < WARMUP_NS)
        if (run_pairs(&c, 256)) {
            t->failed = 1;
            break;
        }
    /* REPS windows of TARGET_NS; all threads start each window together */
    for (int w = 0; w < REPS; w++) {
        pthread_barrier_wait(t->barrier);
        if (t->failed)
            continue;
        long ops = 0;
        double el = 0;
        t0 = now_ns();
        do {
            if (run_pairs(&c, 256)) {
                t->failed = 1;
                break;
            }
            ops += 256;
            el = now_ns() - t0;
        } while (el < TARGET_NS);
        if (!t->failed)
            t->ops_per_s[w] = (double)ops * 1e9 / el;
    }
    return NULL;
}

/* mode: 1 (one thread), shared (two threads, one kind), split (a kind each) */
/* Aggregate pairs per second of `nthr` threads on kinds[0] (each on its own kind when
 * `split`), the best of REPS windows; -1 when an allocation failed. */
static double run_threads(memkind_t kinds[2], int nthr, int split, size_t size)
{
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)nthr);
    struct thr t[2];
    pthread_t tid[2];
    int started = 0, failed = 0;
    for (int i = 0; i < nthr; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].kind = kinds[split ? i : 0];
        t[i].size = size;
        t[i].barrier = &barrier;
        if (pthread_create(&tid[i], NULL, thread_main, &t[i]))
            exit(1); /* the barrier would never open for the started ones */
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        failed |= t[i].failed;
    }
    pthread_barrier_destroy(&barrier);
    if (failed)
        return -1;
    /* aggregate rate of each window; the best window counts */
    double total = 0;
    for (int w = 0; w < REPS; w++) {
        double sum = 0;
        for (int i = 0; i < nthr; i++)
            sum += t[i].ops_per_s[w];
        if (sum > total)
            total = sum;
    }
    return total;
}

static int group_threads(const char *mode, const char *dir)
{
    static const size_t tsizes[] = {64, 4 * KIB};
    int nthr = strcmp(mode, "1") ? 2 : 1;
    int split = !strcmp(mode, "split");
    int shared = !strcmp(mode, "shared");
    char m[2][64];
    for (int s = 0; s < 2; s++) {
        snprintf(m[s], sizeof(m[s]), "threads.%s.%s", mode, size_name(tsizes[s]));
        out("expect", m[s], "-");
    }
    if (list_only())
        return 0;
    memkind_t kinds[2] = {NULL, NULL};
    for (int i = 0; i < (split ? 2 : 1); i++)
        if (create_file_kind(dir, 0, &kinds[i]))
            return 1;
    for (int s = 0; s < 2; s++) {
        if (shared && alongside()) {
            double one = run_threads(kinds, 1, 0, tsizes[s]);
            char a[64];
            snprintf(a, sizeof(a), "threads.shared.one.%s", size_name(tsizes[s]));
            if (one > 0)
                out("value", a, "%.0f", one);
        }
        double total = run_threads(kinds, nthr, split, tsizes[s]);
        if (total < 0)
            out("fail", m[s], "allocation returned NULL");
        else
            out("value", m[s], "%.0f", total);
    }
    for (int i = 0; i < 2; i++)
        if (kinds[i])
            memkind_destroy_kind(kinds[i]);
    return 0;
}
/* ---- many threads on one kind ---------------------------------------------------- */

#define MANY 64
/* Windows of about MANY_WINDOW_NS each (the pairs a thread runs are set by a first,
 * short window), long enough that waking 64 threads at a window's start does not
 * count; MANY_REPS of them. */
#define MANY_WINDOW_NS 100e6
#define MANY_PROBE 20
#define MANY_REPS 5

struct many_shared {
    pthread_barrier_t barrier;
    struct many *all;
    int n;        /* threads */
    long batches; /* of 256 pairs per thread and window */
};

struct many {
    memkind_t kind;
    size_t size;
    struct many_shared *sh;
    double start[MANY_REPS + 1], end[MANY_REPS + 1];
    int failed;
};

/* Span of window w over all threads: first start to last end. */
static double many_span(const struct many *all, int n, int w)
{
    double t0 = all[0].start[w], t1 = all[0].end[w];
    for (int i = 1; i < n; i++) {
        t0 = all[i].start[w] < t0 ? all[i].start[w] : t0;
        t1 = all[i].end[w] > t1 ? all[i].end[w] : t1;
    }
    return t1 - t0;
}

static void *many_main(void *arg)
{
    struct many *t = arg;
    struct many_shared *sh = t->sh;
    struct heap h = {t->kind, 0};
    struct pair_ctx c = {&h, t->size};
    if (run_pairs(&c, 256))
        t->failed = 1;
    /* window 0 probes the rate with MANY_PROBE batches */
    for (int w = 0; w <= MANY_REPS; w++) {
        pthread_barrier_wait(&sh->barrier);
        long n = w ? sh->batches : MANY_PROBE; /* set before this barrier opened */
        t->start[w] = now_ns();
        for (long b = 0; b < n && !t->failed; b++)
            if (run_pairs(&c, 256))
                t->failed = 1;
        t->end[w] = now_ns();
        if (w == 0 && pthread_barrier_wait(&sh->barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
            double span = many_span(sh->all, sh->n, 0);
            long b = (long)(MANY_PROBE * MANY_WINDOW_NS / (span > 1 ? span : 1));
            sh->batches = b < MANY_PROBE ? MANY_PROBE : b > 100000 ? 100000 : b;
        }
    }
    return NULL;
}

/* `nthr` (up to MANY) threads time-share the CPUs on one kind: the aggregate rate, all
 * pairs of a window over its wall time, from the first thread's start to the last one's
 * end (a thread's own window would also count the time it waits for a CPU), best of
 * MANY_REPS windows; -1 when an allocation failed. */
static double run_many(memkind_t kind, size_t size, int nthr)
{
    static struct many t[MANY];
    static struct many_shared sh;
    pthread_t tid[MANY];
    sh.all = t;
    sh.n = nthr;
    sh.batches = MANY_PROBE;
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)nthr);
    for (int i = 0; i < nthr; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].kind = kind;
        t[i].size = size;
        t[i].sh = &sh;
        if (pthread_create(&tid[i], NULL, many_main, &t[i]))
            exit(1); /* the barrier would never open for the started ones */
    }
    int failed = 0;
    for (int i = 0; i < nthr; i++) {
        pthread_join(tid[i], NULL);
        failed |= t[i].failed;
    }
    pthread_barrier_destroy(&sh.barrier);
    if (failed)
        return -1;
    double best = 0;
    for (int w = 1; w <= MANY_REPS; w++) {
        double rate = (double)nthr * (double)sh.batches * 256 * 1e9 / many_span(t, nthr, w);
        if (rate > best)
            best = rate;
    }
    return best;
}

static int group_threads_many(const char *dir)
{
    static const size_t tsizes[] = {64, 4 * KIB};
    char m[2][64];
    for (int s = 0; s < 2; s++) {
        snprintf(m[s], sizeof(m[s]), "threads.%d.%s", MANY, size_name(tsizes[s]));
        out("expect", m[s], "-");
    }
    if (list_only())
        return 0;
    memkind_t kind;
    if (create_file_kind(dir, 0, &kind))
        return 1;
    for (int s = 0; s < 2; s++) {
        /* the target's reference: two threads, measured the same way */
        if (alongside()) {
            double two = run_many(kind, tsizes[s], 2);
            char a[64];
            snprintf(a, sizeof(a), "threads.%d.two.%s", MANY, size_name(tsizes[s]));
            if (two > 0)
                out("value", a, "%.0f", two);
        }
        double best = run_many(kind, tsizes[s], MANY);
        if (best < 0)
            out("fail", m[s], "allocation returned NULL");
        else
            out("value", m[s], "%.0f", best);
    }
    memkind_destroy_kind(kind);
    return 0;
}

/* ---- fill a 32 MiB kind ---------------------------------------------------------- */

static size_t fill(memkind_t kind, size_t size, void **ptrs, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        char *p = memkind_malloc(kind, size);
        if (!p)
            break;
        p[0] = 1;
        p[size - 1] = 1;
        ptrs[n++] = p;
    }
    return n;
}

static int group_fill(const char *sizearg, const char *dir)
{
    size_t size = strtoul(sizearg, NULL, 10);
    const size_t kind_size = 32 * MIB;
    char mf[64], mr[64];
    snprintf(mf, sizeof(mf), "fill.%s", size_name(size));
    snprintf(mr, sizeof(mr), "refill.%s", size_name(size));
    out("expect", mf, "-");
    out("expect", mr, "-");
    if (list_only())
        return 0;
    size_t cap = kind_size / size + 16;
    void **ptrs = malloc(cap * sizeof(void *));
    memkind_t kind;
    if (!ptrs || size == 0 || create_file_kind(dir, kind_size, &kind))
        return 1;
    size_t first = fill(kind, size, ptrs, cap);
    out("value", mf, "%zu", first);
    for (size_t i = 0; i < first; i++)
        memkind_free(kind, ptrs[i]);
    size_t second = fill(kind, size, ptrs, cap);
    out("info", mr, "second fill %zu blocks", second);
    out("value", mr, "%.1f", first ? 100.0 * (double)second / (double)first : 0.0);
    for (size_t i = 0; i < second; i++)
        memkind_free(kind, ptrs[i]);
    memkind_destroy_kind(kind);
    free(ptrs);
    return 0;
}

/* ---- create + destroy ------------------------------------------------------------ */

static int group_create(const char *dir)
{
    static const char *names[] = {"create.empty", "create.alloc64"};
    for (int i = 0; i < 2; i++)
        out("expect", names[i], "-");
    if (list_only())
        return 0;
    for (int with_alloc = 0; with_alloc < 2; with_alloc++) {
        long cycles = 0, total = 0;
        double t0 = 0, el = 0, best = 0;
        int failed = 0, rep = 0;
        /* the first 5 cycles are warm-up, then REPS windows of TARGET_NS */
        for (long i = 0; !failed; i++) {
            if (i == 5)
                t0 = now_ns();
            memkind_t kind;
            if (create_file_kind(dir, 0, &kind)) {
                failed = 1;
                break;
            }
            if (with_alloc) {
                char *p = memkind_malloc(kind, 64);
                if (!p)
                    failed = 1;
                else {
                    p[0] = 1;
                    sink += (uintptr_t)p[0];
                    memkind_free(kind, p);
                }
            }
            if (memkind_destroy_kind(kind))
                failed = 1;
            if (i >= 5) {
                cycles++;
                total++;
                el = now_ns() - t0;
                if (el >= TARGET_NS || cycles >= 10000) {
                    double rate = (double)cycles * 1e9 / el;
                    if (rate > best)
                        best = rate;
                    if (++rep == REPS)
                        break;
                    cycles = 0;
                    t0 = now_ns();
                }
            }
        }
        if (failed)
            out("fail", names[with_alloc], "create/alloc/destroy failed after %ld cycles", total);
        else
            out("value", names[with_alloc], "%.1f", best);
    }
    return 0;
}

/* ---- /proc/self/status figures ---------------------------------------------------- */

/* A "Name:   N kB" line of /proc/self/status, in kB (-1 if missing). */
static long status_kib(const char *name)
{
    char line[256];
    size_t len = strlen(name);
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, name, len) && line[len] == ':')
            v = atol(line + len + 1);
    fclose(f);
    return v;
}

/* ---- DRAM per byte of file heap ---------------------------------------------------- */

/*
 * Blocks of SIZE are allocated in a file kind and written whole until RSS_HEAP bytes are
 * touched; the growth of RssAnon (private DRAM: heap metadata, live maps, caches; the
 * kind's pages themselves are file pages) divided by the touched bytes, in percent.
 */
#define RSS_HEAP (256 * MIB)

static int group_rss(const char *sizearg, const char *dir)
{
    size_t size = strtoul(sizearg, NULL, 10);
    char m[64];
    snprintf(m, sizeof(m), "rss.%s", size_name(size));
    out("expect", m, "-");
    if (list_only())
        return 0;
    size_t n = size ? RSS_HEAP / size : 0;
    /* the pointer table is counted out: it is the program's, not the heap's */
    void **ptrs = malloc(n * sizeof(void *));
    memkind_t kind;
    if (!ptrs || !n || create_file_kind(dir, 0, &kind))
        return 1;
    memset(ptrs, 0, n * sizeof(void *));
    /* one block first, so one-time set-up is not counted */
    void *first = memkind_malloc(kind, size);
    if (!first)
        return 1;
    long before = status_kib("RssAnon");
    size_t i;
    for (i = 0; i < n; i++) {
        char *p = memkind_malloc(kind, size);
        if (!p)
            break;
        memset(p, (int)(i & 0xff), size);
        ptrs[i] = p;
    }
    long after = status_kib("RssAnon");
    if (i < n || before < 0 || after < 0) {
        out("fail", m, "allocation returned NULL after %zu blocks", i);
    } else {
        long grown = after > before ? after - before : 0;
        out("info", m, "RssAnon +%ld kB for %zu MiB in %zu blocks", grown, n * size / MIB, n);
        out("value", m, "%.4f", 100.0 * (double)grown * 1024.0 / (double)(n * size));
    }
    for (size_t j = 0; j < i; j++)
        memkind_free(kind, ptrs[j]);
    memkind_free(kind, first);
    memkind_destroy_kind(kind);
    free(ptrs);
    return 0;
}

/* ---- large-block fill and destroying a large kind ----------------------------------- */

#define BIGFILL (2 * GIB)

static int group_bigfill(const char *dir)
{
    static const char *names[] = {"bigfill.1M", "bigdestroy"};
    for (int i = 0; i < 2; i++)
        out("expect", names[i], "-");
    if (list_only())
        return 0;
    size_t n = BIGFILL / MIB;
    void **ptrs = calloc(n, sizeof(void *));
    memkind_t kind;
    if (!ptrs || create_file_kind(dir, 0, &kind))
        return 1;
    double t0 = now_ns();
    size_t i;
    for (i = 0; i < n; i++) {
        char *p = memkind_malloc(kind, MIB);
        if (!p)
            break;
        p[0] = 1;
        p[MIB - 1] = 1;
        ptrs[i] = p;
    }
    double t1 = now_ns();
    if (i < n)
        out("fail", names[0], "allocation returned NULL after %zu blocks", i);
    else
        out("value", names[0], "%.0f", (t1 - t0) / (double)n);
    /* the blocks go with the kind */
    double t2 = now_ns();
    int err = memkind_destroy_kind(kind);
    double t3 = now_ns();
    if (err)
        out("fail", names[1], "memkind_destroy_kind: %d", err);
    else
        out("value", names[1], "%.0f", t3 - t2);
    free(ptrs);
    return 0;
}

/* ---- thread start-up ------------------------------------------------------------------ */

static memkind_t start_kind;

static void *start_main(void *arg)
{
    (void)arg;
    char *a = memkind_malloc(MEMKIND_DEFAULT, 64);
    char *b = memkind_malloc(start_kind, 64);
    if (!a || !b)
        return (void *)1;
    a[0] = b[0] = 1;
    memkind_free(MEMKIND_DEFAULT, a);
    memkind_free(start_kind, b);
    return NULL;
}

/* 1000 threads in waves of `wave`: ns for the whole run, best of REPS. */
static double start_threads(int wave)
{
    enum { TOTAL = 1000 };
    static pthread_t tid[TOTAL];
    double best = -1;
    for (int r = 0; r < REPS; r++) {
        int failed = 0;
        double t0 = now_ns();
        for (int first = 0; first < TOTAL; first += wave) {
            int k = TOTAL - first < wave ? TOTAL - first : wave;
            for (int i = 0; i < k; i++)
                if (pthread_create(&tid[i], NULL, start_main, NULL))
                    return -1;
            for (int i = 0; i < k; i++) {
                void *ret;
                pthread_join(tid[i], &ret);
                failed |= ret != NULL;
            }
        }
        double ns = now_ns() - t0;
        if (failed)
            return -1;
        if (best < 0 || ns < best)
            best = ns;
    }
    return best;
}

static int group_threadstart(const char *dir)
{
    static const char *names[] = {"start.1000", "start.50"};
    static const int waves[] = {1000, 50};
    for (int i = 0; i < 2; i++)
        out("expect", names[i], "-");
    if (list_only())
        return 0;
    if (create_file_kind(dir, 0, &start_kind))
        return 1;
    /* warm-up: the kind's and DEFAULT's first use */
    if (start_threads(50) < 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        double ns = start_threads(waves[i]);
        if (ns < 0)
            out("fail", names[i], "thread creation or allocation failed");
        else
            out("value", names[i], "%.0f", ns / 1000.0);
    }
    memkind_destroy_kind(start_kind);
    return 0;
}

/* ---- failed allocation on a full kind -------------------------------------------------- */

struct fullfail_ctx {
    memkind_t kind;
    size_t size;
};

static int run_fullfail(void *arg, long iters)
{
    struct fullfail_ctx *c = arg;
    for (long i = 0; i < iters; i++)
        if (memkind_malloc(c->kind, c->size))
            return -1;
    return 0;
}

static int group_fullfail(const char *dir)
{
    static const size_t fsizes[] = {64, MIB};
    char m[2][64];
    for (int s = 0; s < 2; s++) {
        snprintf(m[s], sizeof(m[s]), "fullfail.%s", size_name(fsizes[s]));
        out("expect", m[s], "-");
    }
    if (list_only())
        return 0;
    for (int s = 0; s < 2; s++) {
        memkind_t kind;
        size_t cap = 64 * MIB / fsizes[s] + 16, n = 0;
        void **ptrs = malloc(cap * sizeof(void *));
        if (!ptrs || create_file_kind(dir, 64 * MIB, &kind))
            return 1;
        n = fill(kind, fsizes[s], ptrs, cap);
        struct fullfail_ctx c = {kind, fsizes[s]};
        double ns = n == cap ? -1 : measure(run_fullfail, &c);
        if (ns < 0)
            out("fail", m[s], "the kind did not fill up, or a later allocation succeeded");
        else
            out("value", m[s], "%.1f", ns);
        for (size_t i = 0; i < n; i++)
            memkind_free(kind, ptrs[i]);
        memkind_destroy_kind(kind);
        free(ptrs);
    }
    return 0;
}

/* ---- address space after many create/destroy cycles ------------------------------------ */

static int group_vmcycles(const char *dir)
{
    static const char *name = "vmcycles";
    out("expect", name, "-");
    if (list_only())
        return 0;
    long after10 = -1;
    for (int i = 0; i < 10000; i++) {
        memkind_t kind;
        if (create_file_kind(dir, 0, &kind)) {
            out("fail", name, "memkind_create_pmem failed after %d cycles", i);
            return 0;
        }
        char *p = memkind_malloc(kind, 64);
        if (p) {
            p[0] = 1;
            memkind_free(kind, p);
        }
        memkind_destroy_kind(kind);
        if (i == 9)
            after10 = status_kib("VmSize");
    }
    long after = status_kib("VmSize");
    out("info", name, "VmSize %ld kB after 10 cycles, %ld kB after 10000", after10, after);
    out("value", name, "%.2f", 100.0 * (double)(after - after10) / (double)after10);
    return 0;
}

/* ---- which library is this? ------------------------------------------------------ */

static int group_info(void)
{
    Dl_info di;
    void *(*fn)(memkind_t, size_t) = memkind_malloc;
    void *addr;
    memcpy(&addr, &fn, sizeof(addr));
    if (dladdr(addr, &di) && di.dli_fname)
        out("info", "library", "%s", di.dli_fname);
    out("info", "version", "%d", memkind_get_version());
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench info\n"
            "       bench tight   file0|file1g|default|glibc [DIR]\n"
            "       bench batch   file0|default|glibc lifo|fifo [DIR]\n"
            "       bench free    DIR\n"
            "       bench realloc file0|default|glibc [DIR]\n"
            "       bench threads 1|shared|split|many DIR\n"
            "       bench fill    SIZE DIR\n"
            "       bench create  DIR\n"
            "       bench rss     SIZE DIR\n"
            "       bench bigfill DIR\n"
            "       bench threadstart DIR\n"
            "       bench fullfail DIR\n"
            "       bench vmcycles DIR\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *g = argv[1];
    const char *a2 = argc > 2 ? argv[2] : NULL;
    const char *a3 = argc > 3 ? argv[3] : NULL;
    const char *a4 = argc > 4 ? argv[4] : NULL;
    if (!strcmp(g, "info"))
        return group_info();
    if (!strcmp(g, "tight") && a2)
        return group_tight(a2, a3);
    if (!strcmp(g, "batch") && a3)
        return group_batch(a2, a3, a4);
    if (!strcmp(g, "free") && a2)
        return group_free(a2);
    if (!strcmp(g, "realloc") && a2)
        return group_realloc(a2, a3);
    if (!strcmp(g, "threads") && a3 && !strcmp(a2, "many"))
        return group_threads_many(a3);
    if (!strcmp(g, "threads") && a3)
        return group_threads(a2, a3);
    if (!strcmp(g, "fill") && a3)
        return group_fill(a2, a3);
    if (!strcmp(g, "create") && a2)
        return group_create(a2);
    if (!strcmp(g, "rss") && a3)
        return group_rss(a2, a3);
    if (!strcmp(g, "bigfill") && a2)
        return group_bigfill(a2);
    if (!strcmp(g, "threadstart") && a2)
        return group_threadstart(a2);
    if (!strcmp(g, "fullfail") && a2)
        return group_fullfail(a2);
    if (!strcmp(g, "vmcycles") && a2)
        return group_vmcycles(a2);
    usage();
    return 2;
}
