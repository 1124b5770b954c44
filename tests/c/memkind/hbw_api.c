/*
 * The hbwmalloc API: the set-once fallback policy, which kind serves each policy and page
 * size, POSIX error codes, and hbw_verify_memory_region. Each policy scenario runs in a
 * child process (the policy is fixed per process). First as found, then re-run with
 * MEMKIND_HBW_NODES naming the first memory node N, where every block must lie on N.
 */
#include "common.h"
#include "numa_common.h"

#include <hbwmalloc.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* Runs fn in a child; its failed checks count here. */
static void in_child(const char *what, void (*fn)(int), int arg)
{
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        fn(arg);
        fflush(stdout);
        _exit(test_failures > 100 ? 100 : test_failures);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        test_fail(__FILE__, __LINE__, "%s: child failed (status 0x%x)", what, status);
}

static void policy_set_once(int unused)
{
    (void)unused;
    STEP("policy: PREFERRED until set; reading it fixes nothing; set once, then EPERM");
    CHECK_INT(HBW_POLICY_PREFERRED, hbw_get_policy());
    CHECK_INT(EINVAL, hbw_set_policy((hbw_policy_t)0));
    CHECK_INT(EINVAL, hbw_set_policy((hbw_policy_t)5));
    CHECK_INT(0, hbw_set_policy(HBW_POLICY_BIND));
    CHECK_INT(HBW_POLICY_BIND, hbw_get_policy());
    CHECK_INT(0, hbw_set_policy(HBW_POLICY_BIND));
    CHECK_INT(EPERM, hbw_set_policy(HBW_POLICY_PREFERRED));
    CHECK_INT(EPERM, hbw_set_policy(HBW_POLICY_INTERLEAVE));
    CHECK_INT(EINVAL, hbw_set_policy((hbw_policy_t)99));
    CHECK_INT(HBW_POLICY_BIND, hbw_get_policy());
}

static void policy_fixed_by_allocation(int unused)
{
    (void)unused;
    STEP("policy: the first allocation fixes PREFERRED");
    void *p = hbw_malloc(100);
    CHECK_INT(EPERM, hbw_set_policy(HBW_POLICY_BIND_ALL));
    CHECK_INT(0, hbw_set_policy(HBW_POLICY_PREFERRED));
    CHECK_INT(HBW_POLICY_PREFERRED, hbw_get_policy());
    hbw_free(p);
}

static void argument_errors(int unused)
{
    void *m = NULL;
    (void)unused;
    STEP("argument errors and sizes 0 and SIZE_MAX");
    CHECK_INT(EINVAL, hbw_posix_memalign(&m, 0, 100));
    CHECK_INT(EINVAL, hbw_posix_memalign(&m, 4, 100));
    CHECK_INT(EINVAL, hbw_posix_memalign(&m, 24, 100));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 0, 100, HBW_PAGESIZE_4KB));
    m = (void *)&m;
    CHECK_INT(0, hbw_posix_memalign(&m, 64, 0));
    CHECK_NULL(m);
    m = (void *)&m;
    CHECK_INT(0, hbw_posix_memalign_psize(&m, 64, 0, HBW_PAGESIZE_4KB));
    CHECK_NULL(m);
    CHECK_INT(ENOMEM, hbw_posix_memalign(&m, 64, SIZE_MAX));
    errno = 0;
    CHECK_NULL(hbw_malloc(0));
    CHECK_NULL(hbw_calloc(0, 5));
    CHECK_NULL(hbw_malloc(SIZE_MAX));
    CHECK_INT(ENOMEM, errno);
    CHECK_INT(0, hbw_malloc_usable_size(NULL));
    hbw_free(NULL);

    STEP("hbw_verify_memory_region arguments");
    char buf[64];
    CHECK_INT(EINVAL, hbw_verify_memory_region(NULL, 10, 0));
    CHECK_INT(EINVAL, hbw_verify_memory_region(buf, 0, 0));
    CHECK_INT(EINVAL, hbw_verify_memory_region(buf, 10, 2));
    CHECK_INT(EINVAL, hbw_verify_memory_region(buf, 10, HBW_TOUCH_PAGES | 4));
}

/* Blocks of every allocation call work, keep data and are freed. */
static void heap_calls(memkind_t expect_kind, int node)
{
    char *p = hbw_malloc(5000);
    REQUIRE(p != NULL);
    CHECK(memkind_detect_kind(p) == expect_kind);
    CHECK_SIZE_GE(hbw_malloc_usable_size(p), 5000);
    fill_pattern(p, 5000, 1);
    p = hbw_realloc(p, 1 << 20);
    REQUIRE(p != NULL);
    CHECK(check_pattern(p, 5000, 1));
    CHECK(memkind_detect_kind(p) == expect_kind);
    if (node >= 0)
        CHECK(all_pages_on(p, 1 << 20, node));
    CHECK_NULL(hbw_realloc(p, 0));

    long *z = hbw_calloc(1000, sizeof(long));
    REQUIRE(z != NULL);
    CHECK(is_all_zero(z, 1000 * sizeof(long)));
    CHECK(memkind_detect_kind(z) == expect_kind);
    hbw_free(z);

    void *a = NULL;
    CHECK_INT(0, hbw_posix_memalign(&a, 4096, 10000));
    REQUIRE(a != NULL);
    CHECK_INT(0, (uintptr_t)a % 4096);
    CHECK(memkind_detect_kind(a) == expect_kind);
    if (node >= 0)
        CHECK(all_pages_on(a, 10000, node));
    hbw_free(a);
    a = hbw_realloc(NULL, 300);
    CHECK(a != NULL && memkind_detect_kind(a) == expect_kind);
    hbw_free(a);
}

static void no_hbw_preferred(int unused)
{
    (void)unused;
    STEP("no high-bandwidth memory, PREFERRED: standard memory, ENODEV, verify -1");
    CHECK_INT(ENODEV, hbw_check_available());
    heap_calls(MEMKIND_DEFAULT, -1);
    char *p = hbw_malloc(4096);
    REQUIRE(p != NULL);
    memset(p, 1, 4096);
    CHECK_INT(-1, hbw_verify_memory_region(p, 4096, 0));
    CHECK_INT(-1, hbw_verify_memory_region(p, 4096, HBW_TOUCH_PAGES));
    hbw_free(p);
    void *m = NULL;
    if (huge_pages_2m() == 0)
        CHECK_INT(ENOMEM, hbw_posix_memalign_psize(&m, 64, 4096, HBW_PAGESIZE_2MB));
}

static void no_hbw_bind(int policy)
{
    void *m = NULL;
    STEP("no high-bandwidth memory, policy %d: ENOMEM everywhere", policy);
    CHECK_INT(0, hbw_set_policy((hbw_policy_t)policy));
    errno = 0;
    CHECK_NULL(hbw_malloc(100));
    CHECK_INT(ENOMEM, errno);
    errno = 0;
    CHECK_NULL(hbw_calloc(1, 100));
    CHECK_INT(ENOMEM, errno);
    errno = 0;
    CHECK_NULL(hbw_realloc(NULL, 100));
    CHECK_INT(ENOMEM, errno);
    CHECK_INT(ENOMEM, hbw_posix_memalign(&m, 64, 100));
    CHECK_INT(ENOMEM, hbw_posix_memalign_psize(&m, 64, 100, HBW_PAGESIZE_4KB));
}

static void interleave_page_sizes(int unused)
{
    void *m = NULL;
    (void)unused;
    STEP("INTERLEAVE supports small pages only");
    CHECK_INT(0, hbw_set_policy(HBW_POLICY_INTERLEAVE));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 4096, HBW_PAGESIZE_2MB));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 1 << 30, HBW_PAGESIZE_1GB));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 1 << 30, HBW_PAGESIZE_1GB_STRICT));
}

static int hbw_node;

static void with_hbw(int policy)
{
    memkind_t expect = policy == HBW_POLICY_BIND          ? MEMKIND_HBW
                       : policy == HBW_POLICY_BIND_ALL    ? MEMKIND_HBW_ALL
                       : policy == HBW_POLICY_INTERLEAVE  ? MEMKIND_HBW_INTERLEAVE
                                                          : MEMKIND_HBW_PREFERRED;
    int mode = policy == HBW_POLICY_PREFERRED    ? T_MPOL_PREFERRED
               : policy == HBW_POLICY_INTERLEAVE ? T_MPOL_INTERLEAVE
                                                 : T_MPOL_BIND;
    unsigned long mask[T_MAX_NODES / 64];

    STEP("high-bandwidth node %d, policy %d: blocks of the HBW kind on that node", hbw_node,
         policy);
    CHECK_INT(0, hbw_check_available());
    CHECK_INT(0, hbw_set_policy((hbw_policy_t)policy));
    heap_calls(expect, hbw_node);
    char *p = hbw_malloc(1 << 20);
    REQUIRE(p != NULL);
    CHECK(all_pages_on(p, 1 << 20, hbw_node));
    CHECK_INT(mode, policy_of(p, mask));
    CHECK(mask_is_only(mask, hbw_node));
    CHECK_INT(0, hbw_verify_memory_region(p, 1 << 20, 0));
    CHECK_INT(0, hbw_verify_memory_region(p + 100, 5000, HBW_TOUCH_PAGES));
    hbw_free(p);
    if (huge_pages_2m() == 0 && policy != HBW_POLICY_INTERLEAVE) {
        void *m = NULL;
        CHECK_INT(ENOMEM, hbw_posix_memalign_psize(&m, 64, 4096, HBW_PAGESIZE_2MB));
    }
}

static void verify_pages(int unused)
{
    (void)unused;
    STEP("verify: pages not yet touched are not high-bandwidth memory until touched");
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    CHECK_INT(-1, hbw_verify_memory_region(m, 8 * page, 0));
    m[0] = 42;
    CHECK_INT(-1, hbw_verify_memory_region(m, 8 * page, 0));
    /* Every page is on the (only allowed) node after touching. */
    CHECK_INT(0, hbw_verify_memory_region(m, 8 * page, HBW_TOUCH_PAGES));
    CHECK_INT(42, m[0]);
    CHECK_INT(0, hbw_verify_memory_region(m + 1, 8 * page - 1, 0));
    munmap(m, 8 * page);
}

int main(int argc, char **argv)
{
    char node_s[16];
    (void)argc;
    hbw_node = first_memory_node();
    snprintf(node_s, sizeof(node_s), "%d", hbw_node);

    if (strcmp(test_stage(), "hbw") != 0) {
        in_child("policy_set_once", policy_set_once, 0);
        in_child("policy_fixed_by_allocation", policy_fixed_by_allocation, 0);
        in_child("argument_errors", argument_errors, 0);
        in_child("interleave_page_sizes", interleave_page_sizes, 0);
        if (machine_may_have_hbw_or_dax()) {
            printf("  (HMAT data or memory-only nodes present: the no-HBW cases are skipped)\n");
        } else {
            in_child("no_hbw_preferred", no_hbw_preferred, 0);
            in_child("no_hbw_bind", no_hbw_bind, HBW_POLICY_BIND);
            in_child("no_hbw_bind_all", no_hbw_bind, HBW_POLICY_BIND_ALL);
            in_child("no_hbw_interleave", no_hbw_bind, HBW_POLICY_INTERLEAVE);
        }
        char failures[16];
        snprintf(failures, sizeof(failures), "%d", test_failures);
        const char *vars[] = {"MEMKIND_HBW_NODES", node_s, "NUMA_TEST_FAILURES", failures,
                              NULL};
        reexec_with(argv, "hbw", vars);
        return 1;
    }
    test_failures += atoi(getenv("NUMA_TEST_FAILURES") ? getenv("NUMA_TEST_FAILURES") : "0");
    in_child("with_hbw_preferred", with_hbw, HBW_POLICY_PREFERRED);
    in_child("with_hbw_bind", with_hbw, HBW_POLICY_BIND);
    in_child("with_hbw_bind_all", with_hbw, HBW_POLICY_BIND_ALL);
    in_child("with_hbw_interleave", with_hbw, HBW_POLICY_INTERLEAVE);
    in_child("argument_errors", argument_errors, 0);
    int single = 1;
    for (int n = 0; n < T_MAX_NODES; n++)
        if (n != hbw_node && node_exists(n) && node_mem_total(n) > 0)
            single = 0;
    if (single)
        in_child("verify_pages", verify_pages, 0);
    return test_finish("hbw_api");
}
