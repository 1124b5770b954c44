/* ours-only: memkind 1.14 keeps more than 8 MiB of blocks after freeing */
/*
 * With MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE freed space goes back to the
 * file system at once: after writing 64 MiB and freeing it all, the kind's
 * unlinked file holds less than 8 MiB of blocks.
 */
#include "common.h"

#define MIB ((size_t)1 << 20)
#define COUNT 64

static void run(const char *dir, size_t block, int count)
{
    struct memkind_config *cfg = memkind_config_new();
    memkind_t kind = NULL;
    void **blocks = (void **)calloc((size_t)count, sizeof(void *));
    long long used;
    int i;

    REQUIRE(cfg != NULL && blocks != NULL);
    memkind_config_set_path(cfg, dir);
    memkind_config_set_size(cfg, 0);
    memkind_config_set_memory_usage_policy(
        cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    REQUIRE(memkind_create_pmem_with_config(cfg, &kind) == MEMKIND_SUCCESS);
    memkind_config_delete(cfg);

    STEP("conservative kind: write %d blocks of %zu B (64 MiB)", count, block);
    for (i = 0; i < count; i++) {
        blocks[i] = memkind_malloc(kind, block);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i + 1, block);
    }
    used = disk_of_kind(dir);
    printf("  file blocks: %lld KiB\n", used >> 10);
    CHECK_SIZE_GE(used, (long long)(64 * MIB));

    STEP("conservative kind: after freeing all, < 8 MiB of blocks remain");
    for (i = 0; i < count; i++)
        memkind_free(kind, blocks[i]);
    used = disk_of_kind(dir);
    printf("  file blocks after free: %lld KiB\n", used >> 10);
    CHECK_SIZE_LE(used, (long long)(8 * MIB) - 1);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    free(blocks);
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    run(dir, MIB, 64);
    run(dir, 4 * MIB, 16);
    run(dir, 16384, 4096);
    return test_finish("disk_space_conservative");
}
