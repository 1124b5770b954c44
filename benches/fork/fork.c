/* Cost of fork() with a heap of a given size, in a file-backed kind or in
 * MEMKIND_DEFAULT (DRAM): usage fork MODE DIR MIB FORKS, MODE = file | dram.
 * The heap is written in full (1 MiB blocks), then FORKS times: fork, the
 * child reads one byte per block and exits, the parent waits. Prints the
 * median microseconds per fork+wait. */
#define _GNU_SOURCE
#include <memkind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    memkind_t kind = MEMKIND_DEFAULT;
    int mib, forks, i;
    unsigned char **blocks;
    double *t;

    if (argc != 5) {
        fprintf(stderr, "usage: %s file|dram DIR MIB FORKS\n", argv[0]);
        return 2;
    }
    mib = atoi(argv[3]);
    forks = atoi(argv[4]);
    if (strcmp(argv[1], "file") == 0 && memkind_create_pmem(argv[2], 0, &kind) != 0) {
        fprintf(stderr, "cannot create a kind in %s\n", argv[2]);
        return 1;
    }
    blocks = calloc(mib, sizeof(*blocks));
    t = calloc(forks, sizeof(*t));
    for (i = 0; i < mib; i++) {
        blocks[i] = memkind_malloc(kind, 1 << 20);
        if (!blocks[i]) {
            fprintf(stderr, "allocation %d failed\n", i);
            return 1;
        }
        memset(blocks[i], i, 1 << 20);
    }
    for (i = 0; i < forks; i++) {
        double t0 = now_us();
        int status;
        pid_t pid = fork();
        if (pid == 0) {
            int j, bad = 0;
            for (j = 0; j < mib; j++)
                bad += blocks[j][(j * 4096) % (1 << 20)] != (unsigned char)j;
            _exit(bad != 0);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child failed\n");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    qsort(t, forks, sizeof(*t), cmp);
    printf("%.1f\n", t[forks / 2]);
    for (i = 0; i < mib; i++)
        memkind_free(kind, blocks[i]);
    if (kind != MEMKIND_DEFAULT)
        memkind_destroy_kind(kind);
    return 0;
}
