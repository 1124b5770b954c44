/*
 * NUMA helpers for the C tests of NUMA-bound kinds and the hbwmalloc API: where a page
 * lives and which policy binds it (get_mempolicy, raw syscall), what /sys says about the
 * machine, and re-running the test program with memkind's override variables set before
 * the library reads them. Include after common.h.
 */
#ifndef MEMKIND_C_TESTS_NUMA_COMMON_H
#define MEMKIND_C_TESTS_NUMA_COMMON_H

#include <sys/syscall.h>

#define T_MPOL_DEFAULT 0
#define T_MPOL_PREFERRED 1
#define T_MPOL_BIND 2
#define T_MPOL_INTERLEAVE 3
#define T_MPOL_LOCAL 4
#define T_MPOL_F_NODE (1 << 0)
#define T_MPOL_F_ADDR (1 << 1)
#define T_MAX_NODES 1024

/* The node holding the (touched) page at p, or -1. */
static inline int node_of(const void *p)
{
    int node = -1;
    if (syscall(SYS_get_mempolicy, &node, NULL, 0UL, p, T_MPOL_F_NODE | T_MPOL_F_ADDR))
        return -1;
    return node;
}

/* The policy mode binding the page at p (-1 on error); its nodes go to mask. */
static inline int policy_of(const void *p, unsigned long mask[T_MAX_NODES / 64])
{
    int mode = -1;
    memset(mask, 0, T_MAX_NODES / 8);
    if (syscall(SYS_get_mempolicy, &mode, mask, (unsigned long)T_MAX_NODES, p, T_MPOL_F_ADDR))
        return -1;
    return mode;
}

static inline int mask_is_only(const unsigned long mask[T_MAX_NODES / 64], int node)
{
    for (int w = 0; w < T_MAX_NODES / 64; w++) {
        unsigned long want = (w == node / 64) ? 1UL << (node % 64) : 0;
        if (mask[w] != want)
            return 0;
    }
    return 1;
}

/* Every page of [p, p+n) lies on node (after touching them). */
static inline int all_pages_on(void *p, size_t n, int node)
{
    long page = sysconf(_SC_PAGESIZE);
    char *c = (char *)p;
    memset(p, 0x5a, n);
    for (size_t off = 0; off < n; off += (size_t)page)
        if (node_of(c + off) != node)
            return 0;
    return node_of(c + n - 1) == node;
}

static inline long long read_ll(const char *path)
{
    long long v = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static inline int node_exists(int n)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
    return access(path, F_OK) == 0;
}

/* MemTotal of node n in bytes (0 when unknown). */
static inline long long node_mem_total(int n)
{
    char path[128], line[256];
    long long kb = 0;
    snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", n);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        char *m = strstr(line, "MemTotal:");
        if (m)
            kb = strtoll(m + 9, NULL, 10);
    }
    if (f)
        fclose(f);
    return kb * 1024;
}

static inline int node_has_cpus(int n)
{
    char path[128], buf[64] = "";
    snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    return buf[0] >= '0' && buf[0] <= '9';
}

/* The lowest node with memory (0 when /sys shows none). */
static inline int first_memory_node(void)
{
    for (int n = 0; n < T_MAX_NODES; n++)
        if (node_exists(n) && node_mem_total(n) > 0)
            return n;
    return 0;
}

/* Sum of MemTotal over nodes with memory (with CPUs only, if cpus_only). */
static inline long long memory_of_nodes(int cpus_only)
{
    long long sum = 0;
    for (int n = 0; n < T_MAX_NODES; n++)
        if (node_exists(n) && (!cpus_only || node_has_cpus(n)))
            sum += node_mem_total(n);
    return sum;
}

/* Whether the kernel shows HMAT bandwidth for some node, or a memory-only node exists:
 * then HBW or DAX KMEM memory may really be present without overrides. */
static inline int machine_may_have_hbw_or_dax(void)
{
    for (int n = 0; n < T_MAX_NODES; n++) {
        char path[160];
        if (!node_exists(n))
            continue;
        snprintf(path, sizeof(path),
                 "/sys/devices/system/node/node%d/access0/initiators/read_bandwidth", n);
        if (access(path, F_OK) == 0)
            return 1;
        if (node_mem_total(n) > 0 && !node_has_cpus(n))
            return 1;
    }
    return 0;
}

/* Pages in the 2 MiB huge page pool (or allowed as overcommit). */
static inline long long huge_pages_2m(void)
{
    long long a = read_ll("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
    long long b = read_ll("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages");
    return (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

/*
 * Runs this program again with NAME=VALUE pairs set (NULL-terminated), before the library
 * reads them; NUMA_TEST_STAGE tells the new image which stage it is. Returns only on error.
 */
static inline void reexec_with(char **argv, const char *stage, const char *const *vars)
{
    for (; vars && vars[0]; vars += 2)
        setenv(vars[0], vars[1], 1);
    setenv("NUMA_TEST_STAGE", stage, 1);
    fflush(stdout);
    execv("/proc/self/exe", argv);
    perror("execv");
}

static inline const char *test_stage(void)
{
    const char *s = getenv("NUMA_TEST_STAGE");
    return s ? s : "";
}

#endif /* MEMKIND_C_TESTS_NUMA_COMMON_H */
