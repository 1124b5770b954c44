/* Per-call cost of malloc+free pairs, for benches/memtier/run.sh: whatever malloc the
 * process has (glibc's, or an LD_PRELOAD interposer's).
 *
 * For each size: warm up, size the loop to about 25 ms, then time 5 runs of it with
 * clock_gettime(CLOCK_MONOTONIC) and print the median in ns per pair:
 *     pairs SIZE NS
 * Built with -fno-builtin so the compiler keeps every malloc/free call. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(size_t size, long n) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char *p = malloc(size);
        if (!p) {
            fprintf(stderr, "pairs: malloc(%zu) returned NULL\n", size);
            exit(1);
        }
        p[0] = (char)i; /* touch it, and publish it so the pair cannot be elided */
        sink = p;
        free(p);
    }
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    static const size_t sizes[] = {64, 4096};
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long n = 10000;
        run(sizes[s], n); /* warm-up */
        while (run(sizes[s], n) < 2.5e7 && n < (1L << 30)) n *= 2;
        double t[5];
        for (int r = 0; r < 5; r++) t[r] = run(sizes[s], n) / (double)n;
        qsort(t, 5, sizeof t[0], cmp_double);
        printf("pairs %zu %.2f\n", sizes[s], t[2]);
    }
    return 0;
}
