/*
 * Creating and destroying file-backed kinds many times, with one allocation
 * each, leaks no descriptor, no mapping and no disk space.
 */
#include "common.h"

#include <sys/statvfs.h>

#define ROUNDS 2000

static long long free_bytes(const char *dir)
{
    struct statvfs s;
    if (statvfs(dir, &s) != 0)
        return -1;
    return (long long)s.f_bavail * (long long)s.f_frsize;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    int fds_before, maps_before, maps_peak = 0, i;
    long long disk_before, disk_after;

    /* Warm up once so one-time initialisation is not counted as a leak. */
    {
        memkind_t kind;
        REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
        memkind_free(kind, memkind_malloc(kind, 64));
        REQUIRE(memkind_destroy_kind(kind) == MEMKIND_SUCCESS);
    }
    fds_before = count_fds();
    maps_before = count_maps();
    disk_before = free_bytes(dir);

    STEP("%d rounds of create, malloc, write, free, destroy", ROUNDS);
    for (i = 0; i < ROUNDS; i++) {
        memkind_t kind = NULL;
        size_t size = (i % 2) ? (size_t)4 << 20 : (size_t)(64 + i);
        char *p;
        int err = memkind_create_pmem(dir, (i % 3) ? 0 : MEMKIND_PMEM_MIN_SIZE,
                                      &kind);
        if (err != MEMKIND_SUCCESS) {
            test_fail(__FILE__, __LINE__, "round %d: create: expected 0, got %d",
                      i, err);
            break;
        }
        p = memkind_malloc(kind, size);
        if (!p) {
            test_fail(__FILE__, __LINE__, "round %d: malloc(%zu) gave NULL", i,
                      size);
        } else {
            memset(p, i & 0xff, size);
            if (p[size - 1] != (char)(i & 0xff))
                test_fail(__FILE__, __LINE__, "round %d: data lost", i);
            memkind_free(kind, p);
        }
        err = memkind_destroy_kind(kind);
        if (err != MEMKIND_SUCCESS) {
            test_fail(__FILE__, __LINE__,
                      "round %d: destroy: expected 0, got %d", i, err);
            break;
        }
        if (i % 100 == 0) {
            int m = count_maps();
            if (m > maps_peak)
                maps_peak = m;
        }
    }

    STEP("open descriptors are back to %d", fds_before);
    CHECK_INT(fds_before, count_fds());

    STEP("mappings stay bounded (before %d, peak %d, now %d)", maps_before,
         maps_peak, count_maps());
    CHECK_SIZE_LE(count_maps(), maps_before + 64);
    CHECK_SIZE_LE(maps_peak, maps_before + 64);

    STEP("no disk space kept and no file left in the directory");
    disk_after = free_bytes(dir);
    /* other processes share the file system: allow some noise */
    CHECK_SIZE_LE(disk_before - disk_after > 0 ? disk_before - disk_after : 0,
                  64ll << 20);
    CHECK_INT(0, count_dir_entries(dir));

    return test_finish("create_destroy_loop");
}
