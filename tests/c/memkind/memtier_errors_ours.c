/* ours-only: memkind 1.14 crashes on these (NULL builder, unknown policy).
 * Bad arguments to the memtier API get an error value, never a crash:
 * unknown policy, NULL builder or memory object, ratio 0, unusable kinds,
 * deleted objects, foreign pointers.
 */
#include "common.h"

#include <memkind_memtier.h>

int main(int argc, char **argv)
{
    struct memtier_builder *b;
    struct memtier_memory *m;
    int local = 0;
    void *p = &local;
    size_t v = 1;
    memkind_t pmem;

    STEP("unknown policy and NULL objects");
    CHECK_NULL(memtier_builder_new(MEMTIER_POLICY_MAX_VALUE));
    CHECK_NULL(memtier_builder_new((memtier_policy_t)77));
    CHECK_INT(-1, memtier_builder_add_tier(NULL, MEMKIND_DEFAULT, 1));
    CHECK_NULL(memtier_builder_construct_memtier_memory(NULL));
    CHECK_INT(-1, memtier_ctl_set(NULL, "policy.dynamic_threshold.check_cnt", &v));
    memtier_builder_delete(NULL);
    memtier_delete_memtier_memory(NULL);
    errno = 0;
    CHECK_NULL(memtier_malloc(NULL, 10));
    CHECK_INT(EINVAL, errno);
    CHECK_NULL(memtier_calloc(NULL, 1, 10));
    CHECK_INT(EINVAL, memtier_posix_memalign(NULL, &p, 64, 10));

    STEP("ratio 0, unusable kinds, empty builder");
    b = memtier_builder_new(MEMTIER_POLICY_STATIC_RATIO);
    REQUIRE(b != NULL);
    CHECK_NULL(memtier_builder_construct_memtier_memory(b));
    CHECK_INT(-1, memtier_builder_add_tier(b, MEMKIND_DEFAULT, 0));
    CHECK_INT(-1, memtier_builder_add_tier(b, (memkind_t)&local, 1));
    CHECK_INT(-1, memtier_builder_add_tier(b, MEMKIND_HBW, 1));
    REQUIRE(memkind_create_pmem(test_pmem_dir(argc, argv), 0, &pmem) == 0);
    REQUIRE(memkind_destroy_kind(pmem) == 0);
    CHECK_INT(-1, memtier_builder_add_tier(b, pmem, 1));
    CHECK_INT(0, memtier_builder_add_tier(b, MEMKIND_REGULAR, 1));
    CHECK_INT(-1, memtier_ctl_set(b, NULL, &v));
    m = memtier_builder_construct_memtier_memory(b);
    REQUIRE(m != NULL);
    memtier_builder_delete(b);

    STEP("foreign pointers and unknown kinds");
    CHECK_INT(0, memtier_usable_size(&local));
    memtier_free(&local);
    memtier_kind_free(MEMKIND_DEFAULT, &local);
    errno = 0;
    CHECK_NULL(memtier_realloc(m, &local, 100));
    CHECK_INT(EINVAL, errno);
    CHECK_NULL(memtier_kind_malloc((memkind_t)&local, 10));
    CHECK_INT(0, memtier_kind_allocated_size((memkind_t)&local));
    CHECK_INT(0, memtier_kind_allocated_size(NULL));
    p = memtier_malloc(m, 10);
    REQUIRE(p != NULL);
    CHECK_PTR_EQ(MEMKIND_REGULAR, memkind_detect_kind(p));
    memtier_free(p);
    memtier_free(p); /* double free: reported, ignored */
    CHECK_INT(0, memtier_kind_allocated_size(MEMKIND_REGULAR));
    memtier_delete_memtier_memory(m);
    return test_finish("memtier_errors_ours");
}
