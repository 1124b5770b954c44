/*
 * What happens when a fixed-size kind is full.
 *
 * Allocation from a full kind returns NULL and sets errno to ENOMEM, just
 * like malloc. A kind has some bookkeeping of its own, so not every byte of
 * the limit is available to the program.
 *
 * Usage: pmem_out_of_space [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BLOCK (1024 * 1024)
#define MAX_BLOCKS 64

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    void *blocks[MAX_BLOCKS];
    memkind_t kind = NULL;
    int count = 0, i;

    if (memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, &kind)) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }
    printf("kind limited to %d MiB\n", MEMKIND_PMEM_MIN_SIZE >> 20);

    /* Take 1 MiB blocks until the kind says no. */
    for (;;) {
        void *p;
        errno = 0;
        p = memkind_malloc(kind, BLOCK);
        if (!p)
            break;
        if (count == MAX_BLOCKS) { /* cannot happen with a 16 MiB limit */
            memkind_free(kind, p);
            break;
        }
        memset(p, 0, BLOCK);
        blocks[count++] = p;
    }
    printf("allocation failed with %s\n",
           errno == ENOMEM ? "ENOMEM" : strerror(errno));
    printf("got some blocks before that: %s\n", count > 0 ? "yes" : "no");
    printf("got more than the limit: %s\n",
           count > (MEMKIND_PMEM_MIN_SIZE / BLOCK) ? "yes" : "no");

    /* Freeing makes room again. */
    for (i = 0; i < count; i++)
        memkind_free(kind, blocks[i]);
    blocks[0] = memkind_malloc(kind, BLOCK);
    printf("after freeing, a new block fits: %s\n", blocks[0] ? "yes" : "no");
    memkind_free(kind, blocks[0]);

    memkind_destroy_kind(kind);
    return 0;
}
