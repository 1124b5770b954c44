/*
 * Aligned blocks from a file-backed kind.
 *
 * memkind_posix_memalign() works like posix_memalign(): the alignment must
 * be a power of two and a multiple of sizeof(void *); the result is 0 on
 * success, EINVAL for a bad alignment, ENOMEM when out of memory.
 *
 * Usage: pmem_alignment [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    const size_t alignments[] = {64, 4096, 2 * 1024 * 1024};
    memkind_t kind = NULL;
    void *p = NULL;
    size_t i;
    int err;

    if (memkind_create_pmem(dir, 0, &kind)) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }

    for (i = 0; i < sizeof(alignments) / sizeof(alignments[0]); i++) {
        err = memkind_posix_memalign(kind, &p, alignments[i], 1000);
        if (err) {
            fprintf(stderr, "posix_memalign failed: %d\n", err);
            return 1;
        }
        printf("1000 bytes aligned to %zu: %s\n", alignments[i],
               (uintptr_t)p % alignments[i] == 0 ? "ok" : "misaligned");
        memkind_free(kind, p);
    }

    /* An alignment that is not a power of two is refused. */
    err = memkind_posix_memalign(kind, &p, 100, 1000);
    printf("alignment 100: %s\n", err == EINVAL ? "EINVAL" : "unexpected");

    memkind_destroy_kind(kind);
    return 0;
}
