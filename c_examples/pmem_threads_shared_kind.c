/*
 * Several threads sharing one file-backed kind.
 *
 * A kind may be used from any thread without extra locking. Each worker
 * here builds its own linked list in the shared kind and sums it.
 *
 * Usage: pmem_threads_shared_kind [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define NODES 10000

struct node {
    struct node *next;
    long value;
};

static memkind_t shared_kind;

struct job {
    int id;
    long sum;
    int failed;
};

static void *worker(void *arg)
{
    struct job *job = arg;
    struct node *head = NULL;
    int i;

    for (i = 1; i <= NODES; i++) {
        struct node *n = memkind_malloc(shared_kind, sizeof(*n));
        if (!n) {
            job->failed = 1;
            break;
        }
        n->value = (long)i * (job->id + 1);
        n->next = head;
        head = n;
    }
    while (head) {
        struct node *next = head->next;
        job->sum += head->value;
        memkind_free(shared_kind, head);
        head = next;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    pthread_t threads[THREADS];
    struct job jobs[THREADS];
    int i;

    if (memkind_create_pmem(dir, 0, &shared_kind)) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }

    for (i = 0; i < THREADS; i++) {
        jobs[i].id = i;
        jobs[i].sum = 0;
        jobs[i].failed = 0;
        pthread_create(&threads[i], NULL, worker, &jobs[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        printf("thread %d: %s, sum %ld\n", i,
               jobs[i].failed ? "out of memory" : "ok", jobs[i].sum);
    }

    memkind_destroy_kind(shared_kind);
    return 0;
}
