/*
 * One thread allocates blocks from a file-backed kind and hands them over a
 * queue to another thread, which checks their contents and frees them:
 * 200k blocks of 16 B .. 64 KiB, freed by a thread other than the one that
 * allocated them.
 */
#include "common.h"

#include <pthread.h>

#define BLOCKS 200000
#define QUEUE 1024

struct item {
    unsigned char *p;
    size_t size;
    unsigned seq;
};

static memkind_t kind;
static struct item queue[QUEUE];
static unsigned head, tail; /* head: next to take, tail: next to put */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int produce_errors, consume_errors;
static unsigned consumed;

static size_t size_of(unsigned seq)
{
    unsigned x = seq * 2654435761u;
    /* most blocks small, every 16th one up to 64 KiB */
    return (seq % 16 == 0) ? 16 + (x >> 8) % (64u << 10) : 16 + (x >> 8) % 512;
}

static void *producer(void *arg)
{
    unsigned seq;
    (void)arg;
    for (seq = 0; seq < BLOCKS; seq++) {
        struct item it;
        size_t i;
        it.size = size_of(seq);
        it.seq = seq;
        it.p = (unsigned char *)memkind_malloc(kind, it.size);
        if (!it.p) {
            produce_errors++;
            continue;
        }
        for (i = 0; i + 1 < it.size; i += 64)
            it.p[i] = (unsigned char)(seq + i);
        it.p[it.size - 1] = (unsigned char)(seq * 7);
        pthread_mutex_lock(&lock);
        while (tail - head == QUEUE)
            pthread_cond_wait(&not_full, &lock);
        queue[tail % QUEUE] = it;
        tail++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    /* a NULL block marks the end */
    pthread_mutex_lock(&lock);
    while (tail - head == QUEUE)
        pthread_cond_wait(&not_full, &lock);
    queue[tail % QUEUE].p = NULL;
    tail++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        struct item it;
        size_t i;
        pthread_mutex_lock(&lock);
        while (tail == head)
            pthread_cond_wait(&not_empty, &lock);
        it = queue[head % QUEUE];
        head++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        if (!it.p)
            break;
        for (i = 0; i + 1 < it.size; i += 64)
            if (it.p[i] != (unsigned char)(it.seq + i))
                consume_errors++;
        if (it.p[it.size - 1] != (unsigned char)(it.seq * 7))
            consume_errors++;
        /* alternate between the two ways of freeing */
        if (it.seq % 2)
            memkind_free(kind, it.p);
        else
            memkind_free(NULL, it.p);
        consumed++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t prod, cons;

    REQUIRE(memkind_create_pmem(test_pmem_dir(argc, argv), 0, &kind) ==
            MEMKIND_SUCCESS);

    STEP("producer allocates %d blocks, consumer checks and frees them",
         BLOCKS);
    REQUIRE(pthread_create(&cons, NULL, consumer, NULL) == 0);
    REQUIRE(pthread_create(&prod, NULL, producer, NULL) == 0);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);

    STEP("every block arrived intact");
    CHECK_INT(0, produce_errors);
    CHECK_INT(0, consume_errors);
    CHECK_INT(BLOCKS, consumed);

    STEP("the kind still works and can be destroyed");
    {
        void *p = memkind_malloc(kind, 1u << 20);
        CHECK(p != NULL);
        memkind_free(kind, p);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("threads_producer_consumer");
}
