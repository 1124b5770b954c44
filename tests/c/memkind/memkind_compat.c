/*
 * Behaviours programs rely on, as memkind 1.14 has them (this test passes on both):
 * statistics of a kind whose arenas appeared after the last update, posix_memalign of
 * size 0 on any kind, a fixed kind smaller than a page, the key terms of every error
 * message, and where memtier rejects a negative dynamic-threshold tuning value.
 */
#include "common.h"

#include <memkind_memtier.h>

static void check_message(int code, const char *term)
{
    char msg[MEMKIND_ERROR_MESSAGE_SIZE];
    memkind_error_message(code, msg, sizeof(msg));
    if (!strstr(msg, term))
        test_fail(__FILE__, __LINE__, "message of %d is \"%s\", lacks \"%s\"", code, msg, term);
}

int main(int argc, char **argv)
{
    (void)test_pmem_dir(argc, argv);

    STEP("a kind first used after memkind_update_cached_stats answers from the cache");
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    void *p = memkind_malloc(MEMKIND_DEFAULT, 100);
    REQUIRE(p != NULL);
    for (int t = 0; t < MEMKIND_STAT_TYPE_MAX_VALUE; t++) {
        size_t v = 12345;
        CHECK_INT(MEMKIND_SUCCESS, memkind_get_stat(MEMKIND_DEFAULT, (memkind_stat_type)t, &v));
    }
    memkind_free(MEMKIND_DEFAULT, p);

    STEP("posix_memalign of 0 bytes: 0 and NULL, whatever the kind");
    void *q = (void *)1;
    CHECK_INT(0, memkind_posix_memalign(MEMKIND_DEFAULT, &q, 64, 0));
    CHECK_NULL(q);
    q = (void *)1;
    CHECK_INT(0, memkind_posix_memalign(MEMKIND_HBW, &q, 64, 0));
    CHECK_NULL(q);

    STEP("a fixed kind smaller than a page is accepted; nothing fits in it");
    static char small[100] __attribute__((aligned(64)));
    memkind_t fixed = NULL;
    CHECK_INT(MEMKIND_SUCCESS, memkind_create_fixed(small, sizeof(small), &fixed));
    if (fixed) {
        CHECK_INT(sizeof(small), memkind_get_capacity(fixed));
        void *r = memkind_malloc(fixed, 64);
        CHECK_NULL(r);
        if (r)
            memkind_free(fixed, r);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(fixed));
    }

    STEP("error messages carry memkind's key terms");
    check_message(0, "Undefined error number");
    check_message(1, "Undefined error number");
    check_message(-4, "Undefined error number");
    check_message(-100, "Undefined error number");
    check_message(MEMKIND_ERROR_UNAVAILABLE, "Requested memory kind is not available");
    check_message(MEMKIND_ERROR_MBIND, "mbind()");
    check_message(MEMKIND_ERROR_MMAP, "mmap()");
    check_message(MEMKIND_ERROR_MALLOC, "malloc()");
    check_message(MEMKIND_ERROR_ENVIRON, "environment variable");
    check_message(MEMKIND_ERROR_INVALID, "Invalid input arguments");
    check_message(MEMKIND_ERROR_TOOMANY, "maximum");
    check_message(MEMKIND_ERROR_BADOPS, "memkind_ops");
    check_message(MEMKIND_ERROR_HUGETLB, "huge pages");
    check_message(MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, "Requested memory type is not available");
    check_message(MEMKIND_ERROR_OPERATION_FAILED, "Operation failed");
    check_message(MEMKIND_ERROR_ARENAS_CREATE, "arenas.create");

    STEP("negative degree and trigger: accepted by memtier_ctl_set, refused at construction");
    const char *names[] = {"policy.dynamic_threshold.degree",
                           "policy.dynamic_threshold.trigger"};
    for (int i = 0; i < 2; i++) {
        struct memtier_builder *b = memtier_builder_new(MEMTIER_POLICY_DYNAMIC_THRESHOLD);
        REQUIRE(b != NULL);
        CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 1));
        CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_REGULAR, 1));
        float neg = -0.5f;
        CHECK_INT(0, memtier_ctl_set(b, names[i], &neg));
        struct memtier_memory *m = memtier_builder_construct_memtier_memory(b);
        CHECK_NULL(m);
        if (m)
            memtier_delete_memtier_memory(m);
        memtier_builder_delete(b);
    }

    return test_finish("memkind_compat");
}
