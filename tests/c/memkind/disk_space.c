/*
 * The disk blocks behind a file-backed kind: the kind's unlinked file is
 * found through /proc/self/fd, and after writing 64 MiB of allocations it
 * holds at least 64 MiB of blocks. Freed space stays with the kind under the
 * default usage policy and is reused: writing another 64 MiB after freeing
 * everything grows the file by at most 16 MiB, and never shrinks it below
 * the 64 MiB in use.
 */
#include "common.h"

#define MIB ((size_t)1 << 20)
#define COUNT 64

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    memkind_t kind = NULL;
    static void *blocks[COUNT];
    long long used, first;
    int i;

    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);

    STEP("the kind's file is open, unlinked, in the pmem directory");
    used = disk_of_kind(dir);
    REQUIRE(used >= 0);
    CHECK_INT(0, count_dir_entries(dir));

    STEP("after writing %d x 1 MiB the file holds >= 64 MiB of blocks", COUNT);
    for (i = 0; i < COUNT; i++) {
        blocks[i] = memkind_malloc(kind, MIB);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i + 1, MIB);
    }
    used = disk_of_kind(dir);
    printf("  file blocks: %lld KiB\n", used >> 10);
    CHECK_SIZE_GE(used, (long long)(COUNT * MIB));
    first = used;

    STEP("default policy: after freeing everything the file keeps no more than it had");
    for (i = 0; i < COUNT; i++)
        memkind_free(kind, blocks[i]);
    used = disk_of_kind(dir);
    printf("  file blocks retained right after free: %lld KiB\n", used >> 10);
    CHECK_SIZE_LE(used, first);

    STEP("the retained space is reused: another 64 MiB does not grow it much");
    for (i = 0; i < COUNT; i++) {
        blocks[i] = memkind_malloc(kind, MIB);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i + 2, MIB);
    }
    used = disk_of_kind(dir);
    printf("  file blocks: %lld KiB\n", used >> 10);
    CHECK_SIZE_GE(used, (long long)(COUNT * MIB));
    CHECK_SIZE_LE(used, first + (long long)(16 * MIB));
    for (i = 0; i < COUNT; i++)
        memkind_free(kind, blocks[i]);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    STEP("after destroy no file of the kind is open");
    {
        int fds[4];
        CHECK_INT(0, find_deleted_files(dir, fds, 4));
    }
    return test_finish("disk_space");
}
