/* ours-only: memkind 1.14 maps a kind's file shared into the child, so the
 * child writes into its parent's heap.
 * After fork, parent and child each have their own heap in a file-backed
 * kind: what the child writes or frees and allocates anew never shows in the
 * parent, the child sees the parent's data as of the fork, and both go on
 * allocating; also with a second thread allocating in the kind during fork.
 */
#include "common.h"

#include <pthread.h>
#include <sys/wait.h>

#define BLOCKS 256
#define SIZE 4096

static memkind_t kind;
static volatile int stop;

static void *churn(void *arg)
{
    (void)arg;
    while (!stop) {
        void *p = memkind_malloc(kind, 1000);
        if (p) {
            memset(p, 0x5a, 1000);
            memkind_free(kind, p);
        }
    }
    return NULL;
}

static int child_work(unsigned char **blocks)
{
    int i, bad = 0;
    for (i = 0; i < BLOCKS; i++) {
        size_t j;
        for (j = 0; j < SIZE; j++)
            bad += blocks[i][j] != (unsigned char)i;
        memset(blocks[i], 0xee, SIZE);
        memkind_free(kind, blocks[i]);
    }
    /* The freed blocks come back here, and get overwritten in the child only. */
    for (i = 0; i < 4 * BLOCKS; i++) {
        unsigned char *p = memkind_malloc(kind, SIZE);
        if (!p)
            return 100;
        memset(p, 0xcc, SIZE);
    }
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    unsigned char *blocks[BLOCKS];
    int i, round, status;
    pthread_t t;

    REQUIRE(memkind_create_pmem(test_pmem_dir(argc, argv), 0, &kind) == 0);
    for (i = 0; i < BLOCKS; i++) {
        blocks[i] = memkind_malloc(kind, SIZE);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i, SIZE);
    }
    for (round = 0; round < 2; round++) {
        pid_t pid;
        STEP("fork %s", round ? "while another thread allocates" : "from one thread");
        if (round) {
            stop = 0;
            REQUIRE(pthread_create(&t, NULL, churn, NULL) == 0);
            usleep(20000);
        }
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            _exit(child_work(blocks));
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (round) {
            stop = 1;
            pthread_join(t, NULL);
        }
        CHECK(WIFEXITED(status));
        CHECK_INT(0, WEXITSTATUS(status));
        for (i = 0; i < BLOCKS; i++) {
            size_t j, bad = 0;
            for (j = 0; j < SIZE; j++)
                bad += blocks[i][j] != (unsigned char)i;
            CHECK_INT(0, bad);
        }
        /* The parent's own allocations must not hand out any of its live blocks. */
        for (i = 0; i < 64; i++) {
            unsigned char *p = memkind_malloc(kind, SIZE);
            REQUIRE(p != NULL);
            memset(p, 0x11, SIZE);
            memkind_free(kind, p);
        }
        for (i = 0; i < BLOCKS; i++)
            CHECK_INT((unsigned char)i, blocks[i][SIZE - 1]);
    }
    for (i = 0; i < BLOCKS; i++)
        memkind_free(kind, blocks[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return test_finish("fork_file_kind");
}
