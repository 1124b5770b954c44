/*
 * memkind_create_kind for every memory type x policy x flags combination: the supported
 * ones give the matching static kind (PREFERRED falls back on MEMKIND_DEFAULT when that
 * kind is unavailable), an unavailable one MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, the rest
 * MEMKIND_ERROR_INVALID, and *kind is written only on success. Checked as found, then
 * again with MEMKIND_HBW_NODES naming a node, so the high-bandwidth kinds exist.
 */
#include "common.h"
#include "numa_common.h"

/* The static kind memkind 1.14 gives for a combination, or NULL when unsupported. */
static memkind_t *target(unsigned memtype, unsigned policy, unsigned flags)
{
    const unsigned D = MEMKIND_MEMTYPE_DEFAULT, H = MEMKIND_MEMTYPE_HIGH_BANDWIDTH;
    const unsigned P2M = MEMKIND_MASK_PAGE_SIZE_2MB;
    if (memtype == D && policy == MEMKIND_POLICY_PREFERRED_LOCAL)
        return flags == 0 ? &MEMKIND_DEFAULT : flags == P2M ? &MEMKIND_HUGETLB : NULL;
    if (memtype == H && flags == 0) {
        switch (policy) {
        case MEMKIND_POLICY_BIND_LOCAL: return &MEMKIND_HBW;
        case MEMKIND_POLICY_BIND_ALL: return &MEMKIND_HBW_ALL;
        case MEMKIND_POLICY_PREFERRED_LOCAL: return &MEMKIND_HBW_PREFERRED;
        case MEMKIND_POLICY_INTERLEAVE_ALL: return &MEMKIND_HBW_INTERLEAVE;
        default: return NULL;
        }
    }
    if (memtype == H && flags == P2M) {
        switch (policy) {
        case MEMKIND_POLICY_BIND_LOCAL: return &MEMKIND_HBW_HUGETLB;
        case MEMKIND_POLICY_BIND_ALL: return &MEMKIND_HBW_ALL_HUGETLB;
        case MEMKIND_POLICY_PREFERRED_LOCAL: return &MEMKIND_HBW_PREFERRED_HUGETLB;
        default: return NULL;
        }
    }
    if (memtype == (D | H) && policy == MEMKIND_POLICY_INTERLEAVE_ALL && flags == 0)
        return &MEMKIND_INTERLEAVE;
    return NULL;
}

static void check_matrix(const char *label)
{
    const unsigned memtypes[] = {0, 1, 2, 3, 4, 8, 0x80000000u};
    const unsigned policies[] = {0, 1, 2, 3, 4, 5, 6, 100};
    const unsigned flags[] = {0, 1, 2, 20, 21, 22, 1u << 21, 0xffffffffu};
    int ok = 0, invalid = 0, unavailable = 0;
    memkind_t sentinel = (memkind_t)&sentinel;

    STEP("%s: %u combinations", label,
         (unsigned)(sizeof(memtypes) / sizeof(memtypes[0]) * sizeof(policies) /
                    sizeof(policies[0]) * sizeof(flags) / sizeof(flags[0])));
    for (unsigned a = 0; a < sizeof(memtypes) / sizeof(memtypes[0]); a++)
        for (unsigned b = 0; b < sizeof(policies) / sizeof(policies[0]); b++)
            for (unsigned c = 0; c < sizeof(flags) / sizeof(flags[0]); c++) {
                memkind_t k = sentinel;
                int r = memkind_create_kind((memkind_memtype_t)memtypes[a],
                                            (memkind_policy_t)policies[b],
                                            (memkind_bits_t)flags[c], &k);
                memkind_t *t = target(memtypes[a], policies[b], flags[c]);
                int expect_code;
                memkind_t expect_kind = sentinel;
                if (!t) {
                    expect_code = MEMKIND_ERROR_INVALID;
                } else if (memkind_check_available(*t) == MEMKIND_SUCCESS) {
                    expect_code = MEMKIND_SUCCESS;
                    expect_kind = *t;
                } else if (policies[b] == MEMKIND_POLICY_PREFERRED_LOCAL) {
                    expect_code = MEMKIND_SUCCESS;
                    expect_kind = MEMKIND_DEFAULT;
                } else {
                    expect_code = MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
                }
                if (r != expect_code || k != expect_kind)
                    test_fail(__FILE__, __LINE__,
                              "create_kind(%u, %u, %u): %d (kind %p), expected %d (kind %p)",
                              memtypes[a], policies[b], flags[c], r, (void *)k, expect_code,
                              (void *)expect_kind);
                ok += r == MEMKIND_SUCCESS;
                invalid += r == MEMKIND_ERROR_INVALID;
                unavailable += r == MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
                if (r == MEMKIND_SUCCESS) {
                    void *p = memkind_malloc(k, 1000);
                    CHECK(p != NULL);
                    if (p)
                        memset(p, 7, 1000);
                    CHECK(memkind_detect_kind(p) == k);
                    memkind_free(k, p);
                }
            }
    printf("  %d created, %d invalid, %d not available\n", ok, invalid, unavailable);
    CHECK_INT(448 - 10, invalid);
    CHECK_INT(10, ok + unavailable);
}

int main(int argc, char **argv)
{
    char node_s[16];
    (void)argc;
    snprintf(node_s, sizeof(node_s), "%d", first_memory_node());

    if (strcmp(test_stage(), "hbw") != 0) {
        STEP("the documented example: DEFAULT memory, PREFERRED_LOCAL, no flags");
        memkind_t k = NULL;
        CHECK_INT(MEMKIND_SUCCESS, memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT,
                                                       MEMKIND_POLICY_PREFERRED_LOCAL, 0, &k));
        CHECK_PTR_EQ(MEMKIND_DEFAULT, k);
        /* The kind is a static one: destroying it succeeds and leaves it usable. */
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(k));
        void *p = memkind_malloc(MEMKIND_DEFAULT, 64);
        CHECK(p != NULL);
        memkind_free(NULL, p);
        CHECK_INT(MEMKIND_ERROR_INVALID, memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT,
                                                             MEMKIND_POLICY_PREFERRED_LOCAL,
                                                             0, NULL));
        check_matrix("as found");
        char failures[16];
        snprintf(failures, sizeof(failures), "%d", test_failures);
        const char *vars[] = {"MEMKIND_HBW_NODES", node_s, "NUMA_TEST_FAILURES", failures,
                              NULL};
        reexec_with(argv, "hbw", vars);
        return 1;
    }
    test_failures += atoi(getenv("NUMA_TEST_FAILURES") ? getenv("NUMA_TEST_FAILURES") : "0");
    check_matrix("MEMKIND_HBW_NODES set");
    STEP("with high-bandwidth memory the HBW combinations give the HBW kinds");
    memkind_t k = NULL;
    CHECK_INT(MEMKIND_SUCCESS, memkind_create_kind(MEMKIND_MEMTYPE_HIGH_BANDWIDTH,
                                                   MEMKIND_POLICY_BIND_LOCAL, 0, &k));
    CHECK_PTR_EQ(MEMKIND_HBW, k);
    CHECK_INT(MEMKIND_SUCCESS, memkind_create_kind(MEMKIND_MEMTYPE_HIGH_BANDWIDTH,
                                                   MEMKIND_POLICY_PREFERRED_LOCAL, 0, &k));
    CHECK_PTR_EQ(MEMKIND_HBW_PREFERRED, k);
    CHECK_INT(MEMKIND_SUCCESS, memkind_create_kind(MEMKIND_MEMTYPE_HIGH_BANDWIDTH,
                                                   MEMKIND_POLICY_INTERLEAVE_ALL, 0, &k));
    CHECK_PTR_EQ(MEMKIND_HBW_INTERLEAVE, k);
    return test_finish("create_kind");
}
