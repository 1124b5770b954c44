/*
 * Finding out which kind a block belongs to.
 *
 * memkind_detect_kind() returns the kind that owns a pointer, for example
 * to free or resize a block handed over by other code. It costs a lookup,
 * so keep the kind yourself where you can.
 *
 * Usage: pmem_detect_kind [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>

static const char *name_of(memkind_t kind, memkind_t first, memkind_t second)
{
    if (kind == first)
        return "the first file kind";
    if (kind == second)
        return "the second file kind";
    if (kind == MEMKIND_DEFAULT)
        return "MEMKIND_DEFAULT";
    return "unknown";
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    memkind_t first = NULL, second = NULL;
    void *blocks[3];
    int i;

    if (memkind_create_pmem(dir, 0, &first) ||
        memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, &second)) {
        fprintf(stderr, "cannot create kinds in %s\n", dir);
        return 1;
    }

    blocks[0] = memkind_malloc(second, 200);
    blocks[1] = memkind_malloc(MEMKIND_DEFAULT, 200);
    blocks[2] = memkind_malloc(first, 200);
    for (i = 0; i < 3; i++) {
        memkind_t owner = memkind_detect_kind(blocks[i]);
        printf("block %d belongs to %s\n", i, name_of(owner, first, second));
        memkind_free(owner, blocks[i]);
    }

    memkind_destroy_kind(second);
    memkind_destroy_kind(first);
    return 0;
}
