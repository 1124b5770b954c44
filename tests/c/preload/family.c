/*
 * The malloc family under libmemtier.so, with the tiers from the environment
 * (the runner starts it once per configuration): every call's contract as
 * glibc documents it, data kept through realloc across tiers, frees from
 * another thread, a forked child allocating on its own, and (with a file tier)
 * proof that blocks really live in the tier's deleted temporary file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../harness/check.h"

/* Through volatile pointers so the compiler cannot fold the calls away. */
static void *(*volatile m)(size_t) = malloc;
static void *(*volatile ca)(size_t, size_t) = calloc;
static void *(*volatile ra)(void *, size_t, size_t) = reallocarray;
static void (*volatile f)(void *) = free;

#define N 20000
static void *blocks[N];

static void *freer(void *arg)
{
    int i, bad = 0;
    (void)arg;
    for (i = 0; i < N; i++) {
        size_t sz = 1 + (size_t)(i * 7919) % 5000;
        unsigned char *p = blocks[i];
        bad += p[0] != (unsigned char)i || p[sz - 1] != (unsigned char)i;
        f(p);
    }
    return (void *)(intptr_t)bad;
}

/* Does /proc/self/maps show a deleted file under dir that holds address p? */
static int in_deleted_file(const char *dir, void *p)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char *path = strchr(line, '/');
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || !path)
            continue;
        if ((uintptr_t)p >= lo && (uintptr_t)p < hi &&
            strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "(deleted)"))
            found = 1;
    }
    if (maps)
        fclose(maps);
    return found;
}

int main(void)
{
    const char *dir = getenv("FAMILY_TIER_DIR");
    void *p, *q;
    unsigned char *c;
    size_t i, in_file = 0;
    pthread_t t;
    void *bad;
    int status;
    pid_t pid;

    if (dir && !*dir)
        dir = NULL;

    /* malloc(0) gives a unique block; free(NULL) is nothing. */
    p = m(0);
    q = m(0);
    CHECK(p && q && p != q);
    f(p);
    f(q);
    f(NULL);

    /* calloc zeroes and refuses an overflowing product. */
    c = calloc(1000, 10);
    CHECK(c != NULL);
    for (i = 0; c && i < 10000; i++)
        CHECK(c[i] == 0);
    free(c);
    errno = 0;
    CHECK(ca(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);

    /* realloc keeps data growing and shrinking; realloc(p, 0) frees. */
    c = m(16);
    for (i = 0; i < 16; i++)
        c[i] = (unsigned char)i;
    for (i = 32; i <= (1 << 22); i *= 2) {
        c = realloc(c, i);
        CHECK(c != NULL && c[15] == 15 && c[0] == 0);
        if (!c)
            return 1;
        c[i - 1] = 0x77;
    }
    c = realloc(c, 8);
    CHECK(c && c[7] == 7);
    CHECK(realloc(c, 0) == NULL);
    p = realloc(NULL, 100);
    CHECK(p != NULL && malloc_usable_size(p) >= 100);
    free(p);
    errno = 0;
    CHECK(ra(NULL, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    p = reallocarray(NULL, 10, 10);
    CHECK(p && malloc_usable_size(p) >= 100);
    free(p);
    CHECK(malloc_usable_size(NULL) == 0);
    errno = 0;
    CHECK(m(SIZE_MAX - 4096) == NULL && errno == ENOMEM);

    /* The aligned family. */
    p = NULL;
    CHECK(posix_memalign(&p, 3, 10) == EINVAL && p == NULL);
    CHECK(posix_memalign(&p, 2, 10) == EINVAL);
    for (i = sizeof(void *); i <= (1 << 16); i *= 2) {
        CHECK(posix_memalign(&p, i, 100) == 0 && (uintptr_t)p % i == 0);
        memset(p, 1, 100);
        free(p);
        p = aligned_alloc(i, 3 * i);
        CHECK(p && (uintptr_t)p % i == 0);
        free(p);
    }
    p = memalign(48, 10); /* rounded up to 64, as glibc does */
    CHECK(p && (uintptr_t)p % 64 == 0);
    free(p);
    p = valloc(10);
    CHECK(p && (uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE) == 0);
    free(p);
    p = pvalloc(10);
    CHECK(p && (uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE) == 0 &&
          malloc_usable_size(p) >= (size_t)sysconf(_SC_PAGESIZE));
    free(p);

    /* Blocks allocated here, checked and freed by another thread. */
    for (i = 0; i < N; i++) {
        size_t sz = 1 + (i * 7919) % 5000;
        blocks[i] = m(sz);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], (int)i, sz);
        if (dir && in_file < 10 && in_deleted_file(dir, blocks[i]))
            in_file++;
    }
    CHECK(pthread_create(&t, NULL, freer, NULL) == 0);
    pthread_join(t, &bad);
    CHECK(bad == NULL);
    if (dir)
        CHECK(in_file > 0);

    /* A forked child allocates, writes and frees on its own; the parent's
     * blocks keep their contents. */
    for (i = 0; i < 1000; i++) {
        blocks[i] = m(200);
        memset(blocks[i], (int)i, 200);
    }
    pid = fork();
    if (pid == 0) {
        int bad_child = 0;
        for (i = 0; i < 1000; i++) {
            bad_child += ((unsigned char *)blocks[i])[199] != (unsigned char)i;
            memset(blocks[i], 0xee, 200);
            f(blocks[i]);
        }
        for (i = 0; i < 5000; i++)
            memset(m(200), 0xdd, 200);
        _exit(bad_child ? 3 : 0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (i = 0; i < 1000; i++) {
        CHECK(((unsigned char *)blocks[i])[0] == (unsigned char)i);
        f(blocks[i]);
    }

    return finish();
}
