/*
 * Threads each with a kind of their own.
 *
 * Every worker creates a private 16 MiB kind in the same directory, uses it
 * and destroys it. Kinds are independent: one filling up does not affect
 * the others.
 *
 * Usage: pmem_threads_own_kind [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4

struct job {
    const char *dir;
    int id;
    char result[64];
};

static void *worker(void *arg)
{
    struct job *job = arg;
    memkind_t kind = NULL;
    char *text;

    if (memkind_create_pmem(job->dir, MEMKIND_PMEM_MIN_SIZE, &kind)) {
        snprintf(job->result, sizeof(job->result), "no kind");
        return NULL;
    }
    text = memkind_malloc(kind, 64);
    if (text) {
        snprintf(text, 64, "thread %d wrote into its own kind", job->id);
        snprintf(job->result, sizeof(job->result), "%s", text);
        memkind_free(kind, text);
    } else {
        snprintf(job->result, sizeof(job->result), "out of memory");
    }
    memkind_destroy_kind(kind);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t threads[THREADS];
    struct job jobs[THREADS];
    int i;

    for (i = 0; i < THREADS; i++) {
        jobs[i].dir = argc > 1 ? argv[1] : "/tmp";
        jobs[i].id = i;
        strcpy(jobs[i].result, "not run");
        pthread_create(&threads[i], NULL, worker, &jobs[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        printf("%s\n", jobs[i].result);
    }
    return 0;
}
