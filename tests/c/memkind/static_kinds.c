/*
 * Every static kind either works (allocates, keeps data, is detected, frees) or says why
 * not with one of memkind's codes, and then fails allocations with ENOMEM.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define K(x) { #x, &x }

/* NUMA nodes with memory; 1 when the kernel shows none. */
static int memory_nodes(void)
{
    DIR *d = opendir("/sys/devices/system/node");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[512], line[256];
        if (strncmp(e->d_name, "node", 4) || e->d_name[4] < '0' || e->d_name[4] > '9')
            continue;
        snprintf(path, sizeof(path), "/sys/devices/system/node/%s/meminfo", e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f)) {
            char *m = strstr(line, "MemTotal:");
            if (m && strtoull(m + 9, NULL, 10) > 0) {
                n++;
                break;
            }
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n ? n : 1;
}

int main(void)
{
    struct {
        const char *name;
        memkind_t *kind;
    } kinds[] = {
        K(MEMKIND_DEFAULT), K(MEMKIND_REGULAR), K(MEMKIND_HUGETLB), K(MEMKIND_HBW),
        K(MEMKIND_HBW_ALL), K(MEMKIND_HBW_PREFERRED), K(MEMKIND_HBW_HUGETLB),
        K(MEMKIND_HBW_ALL_HUGETLB), K(MEMKIND_HBW_PREFERRED_HUGETLB), K(MEMKIND_HBW_INTERLEAVE),
        K(MEMKIND_INTERLEAVE), K(MEMKIND_DAX_KMEM), K(MEMKIND_DAX_KMEM_ALL),
        K(MEMKIND_DAX_KMEM_PREFERRED), K(MEMKIND_DAX_KMEM_INTERLEAVE), K(MEMKIND_HIGHEST_CAPACITY),
        K(MEMKIND_HIGHEST_CAPACITY_PREFERRED), K(MEMKIND_HIGHEST_CAPACITY_LOCAL),
        K(MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED), K(MEMKIND_LOWEST_LATENCY_LOCAL),
        K(MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED), K(MEMKIND_HIGHEST_BANDWIDTH_LOCAL),
        K(MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED), K(MEMKIND_GBTLB),
    };
    int single_node = memory_nodes() == 1;

    STEP("static kinds: available ones allocate, the others give memkind's error codes");
    for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        memkind_t k = *kinds[i].kind;
        int avail = memkind_check_available(k);
        printf("  %-45s %d\n", kinds[i].name, avail);
        if (avail == MEMKIND_SUCCESS) {
            char *p = memkind_malloc(k, 4096);
            CHECK(p != NULL);
            if (!p)
                continue;
            fill_pattern(p, 4096, i);
            CHECK(check_pattern(p, 4096, i));
            CHECK(memkind_detect_kind(p) == k);
            CHECK(memkind_malloc_usable_size(NULL, p) >= 4096);
            memkind_free(NULL, p);
        } else {
            CHECK(avail == MEMKIND_ERROR_UNAVAILABLE || avail == MEMKIND_ERROR_HUGETLB ||
                  avail == MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE);
            errno = 0;
            CHECK_NULL(memkind_malloc(k, 64));
            CHECK_INT(ENOMEM, errno);
        }
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_DEFAULT));
    CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_REGULAR));
    if (single_node) {
        /* One memory node: interleaving and "highest capacity" are that node. */
        CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_INTERLEAVE));
        CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_HIGHEST_CAPACITY));
    }
    return test_finish("static_kinds");
}
