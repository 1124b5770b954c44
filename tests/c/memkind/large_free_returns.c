/* ours-only: memkind 1.14 keeps a quarter of the block (256 MiB of 1 GiB) in the file */
/*
 * A freed large block of a file-backed kind gives its file blocks back at the free:
 * blocks of 64 MiB and 1 GiB, in a kind without a limit and in one with a 2 GiB limit,
 * measured by the blocks allocated to the kind's (unlinked) file.
 */
#include "common.h"

#define MIB ((size_t)1 << 20)

static void one(const char *dir, size_t max, size_t size)
{
    memkind_t kind = NULL;
    STEP("kind max %zu MiB: a %zu MiB block's file blocks go back at its free",
         max / MIB, size / MIB);
    REQUIRE(memkind_create_pmem(dir, max, &kind) == MEMKIND_SUCCESS);
    long long empty = disk_of_kind(dir);
    unsigned char *p = memkind_malloc(kind, size);
    REQUIRE(p != NULL);
    /* One byte per MiB: every page that holds data is in the file. */
    for (size_t off = 0; off < size; off += MIB)
        p[off] = (unsigned char)(off / MIB + 1);
    int ok = 1;
    for (size_t off = 0; off < size; off += MIB)
        ok &= p[off] == (unsigned char)(off / MIB + 1);
    CHECK(ok);
    long long held = disk_of_kind(dir);
    memkind_free(kind, p);
    long long after = disk_of_kind(dir);
    printf("  file blocks: %lld KiB empty, %lld KiB with the block, %lld KiB after the "
           "free\n",
           empty >> 10, held >> 10, after >> 10);
    CHECK_SIZE_GE(held, size / 256); /* the touched pages (one 4 KiB page per MiB) at least */
    CHECK_SIZE_LE(after, empty + 8 * MIB);

    STEP("the space is usable again: the same block fits and reads as written");
    p = memkind_malloc(kind, size);
    REQUIRE(p != NULL);
    fill_pattern(p, 4096, 7);
    CHECK(check_pattern(p, 4096, 7));
    memkind_free(kind, p);
    CHECK_SIZE_LE(disk_of_kind(dir), empty + 8 * MIB);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    one(dir, 0, 64 * MIB);
    one(dir, 0, 1024 * MIB);
    one(dir, 2048 * MIB, 64 * MIB);
    one(dir, 2048 * MIB, 1024 * MIB);
    return test_finish("large_free_returns");
}
