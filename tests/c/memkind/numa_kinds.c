/*
 * NUMA-bound static kinds. Without overrides, kinds whose memory the machine lacks say so
 * with memkind's codes and fail allocations with ENOMEM; capacities are the MemTotal of the
 * kinds' nodes. Then the program re-runs itself with MEMKIND_HBW_NODES and
 * MEMKIND_DAX_KMEM_NODES naming the first memory node N: every HBW, DAX KMEM, interleaved
 * and bound kind must then allocate pages that really lie on N, under the kind's policy
 * (bind, preferred, interleave) and with N as the only node in its mask.
 */
#include "common.h"
#include "numa_common.h"

#include <hbwmalloc.h>

#define K(x) #x, &x

struct expect {
    const char *name;
    memkind_t *kind;
    int mode; /* policy on the kind's pages; -1: not checked */
};

static void check_allocates_on(const char *name, memkind_t kind, int mode, int node)
{
    const size_t n = 4u << 20;
    unsigned long mask[T_MAX_NODES / 64];
    char *p;

    errno = 0;
    p = memkind_malloc(kind, n);
    if (!p) {
        test_fail(__FILE__, __LINE__, "%s: malloc failed, errno %d", name, errno);
        return;
    }
    if (!all_pages_on(p, n, node))
        test_fail(__FILE__, __LINE__, "%s: pages not all on node %d", name, node);
    int got = policy_of(p, mask);
    if (mode >= 0 && got != mode)
        test_fail(__FILE__, __LINE__, "%s: policy %d, expected %d", name, got, mode);
    if (mode > 0 && !mask_is_only(mask, node))
        test_fail(__FILE__, __LINE__, "%s: policy mask is not {%d}", name, node);
    CHECK(memkind_detect_kind(p) == kind);
    CHECK_SIZE_GE(memkind_malloc_usable_size(kind, p), n);
    /* A reallocation stays in the kind and on the node. */
    p = memkind_realloc(kind, p, 2 * n);
    REQUIRE(p != NULL);
    if (!all_pages_on(p, 2 * n, node))
        test_fail(__FILE__, __LINE__, "%s: realloc'd pages not on node %d", name, node);
    memkind_free(kind, p);
    /* Small blocks too. */
    void *small[64];
    for (int i = 0; i < 64; i++) {
        small[i] = memkind_malloc(kind, 100 + i);
        REQUIRE(small[i] != NULL);
        memset(small[i], i, 100 + i);
        if (node_of(small[i]) != node)
            test_fail(__FILE__, __LINE__, "%s: small block %d not on node %d", name, i, node);
    }
    for (int i = 0; i < 64; i++)
        memkind_free(NULL, small[i]);
}

static void without_overrides(void)
{
    long long all = memory_of_nodes(0), cpus = memory_of_nodes(1);

    STEP("capacities are the MemTotal of the kinds' nodes (%lld bytes in all)", all);
    CHECK_INT(all, memkind_get_capacity(MEMKIND_DEFAULT));
    /* memkind learns REGULAR's nodes when the kind starts (-1 before). */
    CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_REGULAR));
    CHECK_INT(cpus, memkind_get_capacity(MEMKIND_REGULAR));
    CHECK_INT(all, memkind_get_capacity(MEMKIND_INTERLEAVE));
    /* HUGETLB: the 2 MiB pages in the pool, summed over the nodes. */
    long long pool = 0;
    for (int n = 0; n < T_MAX_NODES; n++) {
        char path[160];
        snprintf(path, sizeof(path),
                 "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages", n);
        long long pages = node_exists(n) ? read_ll(path) : -1;
        pool += pages > 0 ? pages * (2 << 20) : 0;
    }
    CHECK_INT(pool, memkind_get_capacity(MEMKIND_HUGETLB));
    /* memkind does not report a capacity for PREFERRED kinds. */
    CHECK_INT(-1, memkind_get_capacity(MEMKIND_HBW_PREFERRED));
    CHECK_INT(-1, memkind_get_capacity(MEMKIND_HIGHEST_CAPACITY_PREFERRED));
    CHECK_INT(-1, memkind_get_capacity(MEMKIND_DAX_KMEM_PREFERRED));
    ssize_t hc = memkind_get_capacity(MEMKIND_HIGHEST_CAPACITY);
    CHECK(hc > 0 && hc <= all);
    for (int n = 0; n < T_MAX_NODES; n++)
        if (node_exists(n))
            CHECK_SIZE_LE(node_mem_total(n), hc);

    STEP("DEFAULT leaves its pages to the process policy");
    {
        unsigned long mask[T_MAX_NODES / 64];
        char *p = memkind_malloc(MEMKIND_DEFAULT, 1 << 20);
        REQUIRE(p != NULL);
        memset(p, 1, 1 << 20);
        CHECK_INT(T_MPOL_DEFAULT, policy_of(p, mask));
        CHECK(node_of(p) >= 0);
        memkind_free(NULL, p);
    }
    if (machine_may_have_hbw_or_dax()) {
        printf("  (HMAT data or memory-only nodes present: unavailability not checked)\n");
        return;
    }

    STEP("no high-bandwidth or memory-only nodes: memkind's codes, ENOMEM, capacity -1");
    memkind_t *hbw[] = {&MEMKIND_HBW, &MEMKIND_HBW_ALL, &MEMKIND_HBW_PREFERRED,
                        &MEMKIND_HBW_INTERLEAVE, &MEMKIND_HBW_HUGETLB,
                        &MEMKIND_HBW_ALL_HUGETLB, &MEMKIND_HBW_PREFERRED_HUGETLB};
    for (unsigned i = 0; i < sizeof(hbw) / sizeof(hbw[0]); i++) {
        CHECK_INT(MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, memkind_check_available(*hbw[i]));
        errno = 0;
        CHECK_NULL(memkind_malloc(*hbw[i], 64));
        CHECK_INT(ENOMEM, errno);
        CHECK_INT(-1, memkind_get_capacity(*hbw[i]));
    }
    memkind_t *dax[] = {&MEMKIND_DAX_KMEM, &MEMKIND_DAX_KMEM_ALL, &MEMKIND_DAX_KMEM_PREFERRED,
                        &MEMKIND_DAX_KMEM_INTERLEAVE};
    for (unsigned i = 0; i < sizeof(dax) / sizeof(dax[0]); i++) {
        CHECK_INT(MEMKIND_ERROR_UNAVAILABLE, memkind_check_available(*dax[i]));
        errno = 0;
        CHECK_NULL(memkind_malloc(*dax[i], 64));
        CHECK_INT(ENOMEM, errno);
        CHECK_INT(-1, memkind_get_capacity(*dax[i]));
    }
    /* Without HMAT data there is no latency or bandwidth to rank nodes by. */
    CHECK_INT(MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE,
              memkind_check_available(MEMKIND_LOWEST_LATENCY_LOCAL));
    CHECK_INT(MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE,
              memkind_check_available(MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED));
    CHECK_INT(ENODEV, hbw_check_available());
}

static void with_overrides(int node)
{
    struct expect kinds[] = {
        {K(MEMKIND_HBW), T_MPOL_BIND},
        {K(MEMKIND_HBW_ALL), T_MPOL_BIND},
        {K(MEMKIND_HBW_PREFERRED), T_MPOL_PREFERRED},
        {K(MEMKIND_HBW_INTERLEAVE), T_MPOL_INTERLEAVE},
        {K(MEMKIND_DAX_KMEM), T_MPOL_BIND},
        {K(MEMKIND_DAX_KMEM_ALL), T_MPOL_BIND},
        {K(MEMKIND_DAX_KMEM_PREFERRED), T_MPOL_PREFERRED},
        {K(MEMKIND_DAX_KMEM_INTERLEAVE), T_MPOL_INTERLEAVE},
    };
    long long mem = node_mem_total(node);

    STEP("overrides name node %d: HBW and DAX KMEM kinds allocate there", node);
    for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        memkind_t k = *kinds[i].kind;
        int avail = memkind_check_available(k);
        printf("  %-32s %d\n", kinds[i].name, avail);
        CHECK_INT(MEMKIND_SUCCESS, avail);
        if (avail == MEMKIND_SUCCESS)
            check_allocates_on(kinds[i].name, k, kinds[i].mode, node);
    }
    CHECK_INT(mem, memkind_get_capacity(MEMKIND_HBW));
    CHECK_INT(mem, memkind_get_capacity(MEMKIND_HBW_ALL));
    CHECK_INT(mem, memkind_get_capacity(MEMKIND_HBW_INTERLEAVE));
    CHECK_INT(mem, memkind_get_capacity(MEMKIND_DAX_KMEM));
    CHECK_INT(mem, memkind_get_capacity(MEMKIND_DAX_KMEM_ALL));
    CHECK_INT(-1, memkind_get_capacity(MEMKIND_HBW_PREFERRED));
    CHECK_INT(0, hbw_check_available());

    STEP("HBW huge-page kinds need the huge page pool");
    if (huge_pages_2m() == 0) {
        CHECK_INT(MEMKIND_ERROR_HUGETLB, memkind_check_available(MEMKIND_HBW_HUGETLB));
        CHECK_INT(MEMKIND_ERROR_HUGETLB, memkind_check_available(MEMKIND_HBW_ALL_HUGETLB));
        errno = 0;
        CHECK_NULL(memkind_malloc(MEMKIND_HBW_HUGETLB, 64));
        CHECK_INT(ENOMEM, errno);
    } else {
        printf("  (huge pages configured: checked by the allocation loop only)\n");
    }

    if (node_has_cpus(node)) {
        STEP("kinds over CPU nodes stay bound on node %d when it is the only one",
             node);
        int single = 1;
        for (int n = 0; n < T_MAX_NODES; n++)
            if (n != node && node_exists(n) && node_mem_total(n) > 0)
                single = 0;
        if (single) {
            check_allocates_on("MEMKIND_REGULAR", MEMKIND_REGULAR, T_MPOL_BIND, node);
            check_allocates_on("MEMKIND_INTERLEAVE", MEMKIND_INTERLEAVE, T_MPOL_INTERLEAVE,
                               node);
            check_allocates_on("MEMKIND_HIGHEST_CAPACITY", MEMKIND_HIGHEST_CAPACITY,
                               T_MPOL_BIND, node);
            check_allocates_on("MEMKIND_HIGHEST_CAPACITY_PREFERRED",
                               MEMKIND_HIGHEST_CAPACITY_PREFERRED, T_MPOL_PREFERRED, node);
            check_allocates_on("MEMKIND_HIGHEST_CAPACITY_LOCAL",
                               MEMKIND_HIGHEST_CAPACITY_LOCAL, T_MPOL_BIND, node);
            check_allocates_on("MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED",
                               MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED, T_MPOL_PREFERRED,
                               node);
            CHECK_INT(mem, memkind_get_capacity(MEMKIND_HIGHEST_CAPACITY_LOCAL));
        }
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    int node = first_memory_node();
    char node_s[16];
    snprintf(node_s, sizeof(node_s), "%d", node);

    if (strcmp(test_stage(), "overrides") != 0) {
        without_overrides();
        char failures[16];
        snprintf(failures, sizeof(failures), "%d", test_failures);
        const char *vars[] = {"MEMKIND_HBW_NODES", node_s, "MEMKIND_DAX_KMEM_NODES", node_s,
                              "NUMA_TEST_FAILURES", failures, NULL};
        reexec_with(argv, "overrides", vars);
        return 1;
    }
    test_failures += atoi(getenv("NUMA_TEST_FAILURES") ? getenv("NUMA_TEST_FAILURES") : "0");
    with_overrides(node);
    return test_finish("numa_kinds");
}
