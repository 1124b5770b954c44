/* ours-only: memkind 1.14 crashes on NULL arguments and accepts "" */
/*
 * Argument checks of the create functions that memkind 1.14 lacks: NULL or
 * empty directory, NULL output pointer, NULL or incomplete configuration,
 * an out-of-range usage policy. Each gives MEMKIND_ERROR_INVALID, leaves the
 * output pointer untouched, leaks no descriptor and creates no file.
 */
#include "common.h"

static const char *dir;
static memkind_t const SENTINEL = (memkind_t)(uintptr_t)0x1234;

#define EXPECT_INVALID(what, call)                                             \
    do {                                                                       \
        int fds_ = count_fds();                                                \
        int err_ = (call);                                                     \
        if (err_ != MEMKIND_ERROR_INVALID)                                     \
            test_fail(__FILE__, __LINE__,                                      \
                      "%s: expected MEMKIND_ERROR_INVALID (%d), got %d",       \
                      what, MEMKIND_ERROR_INVALID, err_);                      \
        if (count_fds() != fds_)                                               \
            test_fail(__FILE__, __LINE__, "%s: expected %d fds, got %d",       \
                      what, fds_, count_fds());                                \
        if (count_dir_entries(dir) != 0)                                       \
            test_fail(__FILE__, __LINE__, "%s: files left in %s", what, dir);  \
    } while (0)

int main(int argc, char **argv)
{
    memkind_t kind;
    struct memkind_config *cfg;
    int fds_before;

    dir = test_pmem_dir(argc, argv);
    fds_before = count_fds();

    STEP("NULL directory is invalid");
    kind = SENTINEL;
    EXPECT_INVALID("NULL dir", memkind_create_pmem(NULL, 0, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("empty directory name is invalid");
    kind = SENTINEL;
    EXPECT_INVALID("empty dir", memkind_create_pmem("", 0, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("NULL output pointer is invalid");
    EXPECT_INVALID("NULL kind", memkind_create_pmem(dir, 0, NULL));
    EXPECT_INVALID("NULL kind, limited",
                   memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, NULL));

    STEP("the output pointer is untouched on other failures");
    kind = SENTINEL;
    EXPECT_INVALID("small max_size", memkind_create_pmem(dir, 4096, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("NULL configuration is invalid");
    kind = SENTINEL;
    EXPECT_INVALID("NULL config", memkind_create_pmem_with_config(NULL, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("configuration without a path is invalid");
    cfg = memkind_config_new();
    REQUIRE(cfg != NULL);
    kind = SENTINEL;
    EXPECT_INVALID("config without path",
                   memkind_create_pmem_with_config(cfg, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("configuration with usage policy 7 is invalid");
    memkind_config_set_path(cfg, dir);
    memkind_config_set_memory_usage_policy(cfg, (memkind_mem_usage_policy)7);
    kind = SENTINEL;
    EXPECT_INVALID("policy 7", memkind_create_pmem_with_config(cfg, &kind));
    CHECK_PTR_EQ(SENTINEL, kind);

    STEP("configuration with policy MEMKIND_MEM_USAGE_POLICY_MAX_VALUE is "
         "invalid");
    memkind_config_set_memory_usage_policy(cfg,
                                           MEMKIND_MEM_USAGE_POLICY_MAX_VALUE);
    EXPECT_INVALID("policy MAX_VALUE",
                   memkind_create_pmem_with_config(cfg, &kind));

    STEP("configuration with a NULL output pointer is invalid");
    memkind_config_set_memory_usage_policy(cfg,
                                           MEMKIND_MEM_USAGE_POLICY_DEFAULT);
    EXPECT_INVALID("config, NULL kind",
                   memkind_create_pmem_with_config(cfg, NULL));

    STEP("the same configuration then works once made valid");
    kind = NULL;
    CHECK_INT(MEMKIND_SUCCESS, memkind_create_pmem_with_config(cfg, &kind));
    if (kind) {
        void *p = memkind_malloc(kind, 64);
        CHECK(p != NULL);
        memkind_free(kind, p);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    }
    memkind_config_delete(cfg);

    STEP("memkind_config_delete(NULL) is harmless");
    memkind_config_delete(NULL);

    STEP("no descriptor leaked");
    CHECK_INT(fds_before, count_fds());

    return test_finish("create_errors_ours");
}
