/*
 * Per-thread caches of file-backed kinds: blocks cached by a thread that exits, blocks
 * freed by another thread than the one that allocated them, a kind destroyed while other
 * threads still cache its blocks (and a new kind reusing its place), kinds created and
 * destroyed by several threads at once, and space given back to the file system although
 * small blocks went through the caches.
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SMALL 2000

static memkind_t shared_kind;
static void *handoff[SMALL];

static void *alloc_then_exit(void *arg)
{
    (void)arg;
    /* Allocate, free half here (into this thread's cache), leave half to main. */
    for (int i = 0; i < SMALL; i++) {
        handoff[i] = memkind_malloc(shared_kind, 16 + (i % 64) * 8);
        if (!handoff[i])
            return (void *)1;
        fill_pattern(handoff[i], 16, (unsigned)i);
    }
    for (int i = 0; i < SMALL; i += 2) {
        memkind_free(shared_kind, handoff[i]);
        handoff[i] = NULL;
    }
    return NULL;
}

static pthread_barrier_t barrier;
static memkind_t doomed;
static memkind_t successor;
static int late_ok;

static void *cache_then_wait(void *arg)
{
    (void)arg;
    void *p[512];
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < 512; i++)
            p[i] = memkind_malloc(doomed, 64);
        for (int i = 0; i < 512; i++)
            memkind_free(NULL, p[i]);
    }
    pthread_barrier_wait(&barrier); /* main destroys `doomed`, creates `successor` */
    pthread_barrier_wait(&barrier);
    late_ok = 1;
    for (int i = 0; i < 512; i++) {
        p[i] = memkind_malloc(successor, 64);
        if (!p[i] || memkind_detect_kind(p[i]) != successor)
            late_ok = 0;
        else
            fill_pattern(p[i], 64, (unsigned)i);
    }
    for (int i = 0; i < 512; i++) {
        if (p[i] && !check_pattern(p[i], 64, (unsigned)i))
            late_ok = 0;
        memkind_free(successor, p[i]);
    }
    return NULL;
}

static const char *churn_dir;
static void *churn(void *arg)
{
    (void)arg;
    for (int r = 0; r < 100; r++) {
        memkind_t k;
        if (memkind_create_pmem(churn_dir, 0, &k) != MEMKIND_SUCCESS)
            return (void *)1;
        void *p[100];
        for (int i = 0; i < 100; i++) {
            p[i] = memkind_malloc(k, 32 + i);
            if (!p[i])
                return (void *)1;
            memset(p[i], r, 32);
        }
        for (int i = 0; i < 100; i += 2)
            memkind_free(k, p[i]);
        /* The odd blocks go with the kind. */
        if (memkind_destroy_kind(k) != MEMKIND_SUCCESS)
            return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    pthread_t t;
    void *ret;

    STEP("blocks cached by an exiting thread, and freed by another thread");
    REQUIRE(memkind_create_pmem(dir, 0, &shared_kind) == MEMKIND_SUCCESS);
    REQUIRE(pthread_create(&t, NULL, alloc_then_exit, NULL) == 0);
    pthread_join(t, &ret);
    CHECK(ret == NULL);
    for (int i = 1; i < SMALL; i += 2) {
        CHECK(memkind_detect_kind(handoff[i]) == shared_kind);
        CHECK(check_pattern(handoff[i], 16, (unsigned)i));
        memkind_free(NULL, handoff[i]);
    }
    /* The memory the exited thread cached is usable again. */
    for (int i = 0; i < SMALL; i++) {
        handoff[i] = memkind_malloc(shared_kind, 64);
        REQUIRE(handoff[i] != NULL);
        fill_pattern(handoff[i], 64, (unsigned)i);
    }
    for (int i = 0; i < SMALL; i++) {
        CHECK(check_pattern(handoff[i], 64, (unsigned)i));
        memkind_free(shared_kind, handoff[i]);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(shared_kind));

    STEP("a kind destroyed while another thread caches its blocks");
    REQUIRE(pthread_barrier_init(&barrier, NULL, 2) == 0);
    REQUIRE(memkind_create_pmem(dir, 0, &doomed) == MEMKIND_SUCCESS);
    REQUIRE(pthread_create(&t, NULL, cache_then_wait, NULL) == 0);
    pthread_barrier_wait(&barrier);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(doomed));
    /* Create kinds until one lands in the destroyed kind's place, to catch a stale cache. */
    memkind_t extra[600];
    int n = 0;
    successor = NULL;
    while (n < 600 && memkind_create_pmem(dir, 0, &extra[n]) == MEMKIND_SUCCESS) {
        if (extra[n] == doomed) {
            successor = extra[n];
            break;
        }
        n++;
    }
    if (!successor)
        successor = n > 0 ? extra[--n] : NULL;
    REQUIRE(successor != NULL);
    for (int i = 0; i < n; i++)
        memkind_destroy_kind(extra[i]);
    printf("  new kind %s the destroyed kind's handle\n", successor == doomed ? "reuses" : "does not reuse");
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);
    CHECK(late_ok);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(successor));

    STEP("4 threads creating and destroying kinds at once");
    churn_dir = dir;
    int fds = count_fds();
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        REQUIRE(pthread_create(&th[i], NULL, churn, NULL) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], &ret);
        CHECK(ret == NULL);
    }
    CHECK_INT(fds, count_fds());

    STEP("small blocks through the caches still give space back (conservative policy)");
    struct memkind_config *cfg = memkind_config_new();
    memkind_t k;
    memkind_config_set_path(cfg, dir);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    REQUIRE(memkind_create_pmem_with_config(cfg, &k) == MEMKIND_SUCCESS);
    memkind_config_delete(cfg);
    enum { COUNT = 32 * 1024 };
    void **b = malloc(COUNT * sizeof(void *));
    REQUIRE(b != NULL);
    for (int i = 0; i < COUNT; i++) {
        b[i] = memkind_malloc(k, 1024);
        REQUIRE(b[i] != NULL);
        memset(b[i], 7, 1024);
    }
    long long used = disk_of_kind(dir);
    printf("  32 MiB of 1 KiB blocks: %lld KiB on disk\n", used >> 10);
    CHECK_SIZE_GE(used, 32LL << 20);
    for (int i = 0; i < COUNT; i++)
        memkind_free(k, b[i]);
    used = disk_of_kind(dir);
    printf("  after freeing all: %lld KiB on disk\n", used >> 10);
    CHECK_SIZE_LE(used, 4LL << 20);
    free(b);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(k));
    return test_finish("thread_caches");
}
