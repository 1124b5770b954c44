/* ours-only: a bound on address space, which memkind 1.14 keeps only roughly */
/*
 * 10 000 short-lived threads, started 50 at a time, each allocate from a file-backed
 * kind and from MEMKIND_DEFAULT and exit: the address space grows by less than 128 MiB
 * (memkind 1.14: 60-190 MiB here; a glibc malloc arena per thread would take 1 GiB).
 */
#include "common.h"

#include <pthread.h>

#define THREADS 10000
#define WAVE 50
#define BOUND_KIB (128L << 10)

static memkind_t kind;

static void *work(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    unsigned char *a = memkind_malloc(kind, 64 + seed % 256);
    unsigned char *b = memkind_malloc(MEMKIND_DEFAULT, 64 + seed % 128);
    int ok = a && b;
    if (ok) {
        fill_pattern(a, 64, seed);
        fill_pattern(b, 64, seed + 1);
        ok = check_pattern(a, 64, seed) && check_pattern(b, 64, seed + 1) &&
             memkind_detect_kind(a) == kind;
    }
    memkind_free(kind, a);
    memkind_free(MEMKIND_DEFAULT, b);
    return ok ? NULL : (void *)1;
}

static int wave(int first)
{
    pthread_t t[WAVE];
    int bad = 0;
    for (int i = 0; i < WAVE; i++)
        if (pthread_create(&t[i], NULL, work, (void *)(uintptr_t)(first + i)) != 0)
            return -1;
    for (int i = 0; i < WAVE; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += r != NULL;
    }
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    int bad = 0, done;

    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    STEP("one wave of %d threads to set things up", WAVE);
    REQUIRE(wave(0) == 0);
    long before = vm_size_kib();
    REQUIRE(before > 0);

    STEP("%d threads, %d at a time, each allocating from the kind and DEFAULT", THREADS,
         WAVE);
    for (done = WAVE; done < THREADS; done += WAVE) {
        int r = wave(done);
        if (r < 0) {
            test_fail(__FILE__, __LINE__, "pthread_create failed after %d threads", done);
            break;
        }
        bad += r;
    }
    long after = vm_size_kib();
    printf("  VmSize %ld kB before, %ld kB after (+%ld MiB)\n", before, after,
           (after - before) >> 10);
    CHECK_INT(0, bad);
    CHECK_SIZE_LE(after > before ? after - before : 0, BOUND_KIB);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("threads_vmsize_ours");
}
