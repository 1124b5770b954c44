/*
 * Freeing without knowing the kind.
 *
 * Passing NULL as the kind to memkind_free() makes the library find the
 * owner of the pointer itself. Handy for code that receives blocks from
 * several kinds, such as this cleanup of a mixed list.
 *
 * Usage: pmem_free_unknown_kind [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>

#define ITEMS 9

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    memkind_t kinds[3] = {NULL, NULL, NULL};
    void *items[ITEMS];
    int i;

    kinds[0] = MEMKIND_DEFAULT;
    if (memkind_create_pmem(dir, 0, &kinds[1]) ||
        memkind_create_pmem(dir, 0, &kinds[2])) {
        fprintf(stderr, "cannot create kinds in %s\n", dir);
        return 1;
    }

    /* Items come from three different kinds... */
    for (i = 0; i < ITEMS; i++) {
        items[i] = memkind_malloc(kinds[i % 3], 128 + 64 * (size_t)i);
        if (!items[i])
            return 1;
    }
    printf("allocated %d items from 3 kinds\n", ITEMS);

    /* ...and are released without saying which. */
    for (i = 0; i < ITEMS; i++)
        memkind_free(NULL, items[i]);
    printf("freed them all with memkind_free(NULL, ptr)\n");

    memkind_destroy_kind(kinds[2]);
    memkind_destroy_kind(kinds[1]);
    return 0;
}
