/*
 * Asking for n bytes can give more.
 *
 * The allocator rounds requests up to size classes. The extra bytes belong
 * to the block and may be used; memkind_malloc_usable_size() tells how many
 * there are.
 *
 * Usage: pmem_usable_size [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    const size_t requests[] = {1, 10, 100, 1000, 5000, 20000};
    const size_t count = sizeof(requests) / sizeof(requests[0]);
    memkind_t kind = NULL;
    size_t i;

    if (memkind_create_pmem(dir, 0, &kind)) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }

    printf("%10s %10s\n", "requested", "usable");
    for (i = 0; i < count; i++) {
        void *p = memkind_malloc(kind, requests[i]);
        if (!p) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        printf("%10zu %10zu\n", requests[i],
               memkind_malloc_usable_size(kind, p));
        memkind_free(kind, p);
    }

    memkind_destroy_kind(kind);
    return 0;
}
