/* ours-only: memkind 1.14 keeps ~16 MiB of address space per kind created and destroyed */
/*
 * Creating and destroying file-backed kinds (one malloc and free in each) does not grow
 * the address space: VmSize after 10 000 cycles is within 1% of VmSize after 10. Runs in
 * the tmpfs directory when the runner gives one (the same code path, much faster).
 */
#include "common.h"

#define WARM 10
#define CYCLES 10000

static int cycle(const char *dir, int i)
{
    memkind_t kind = NULL;
    size_t size = (i % 2) ? (size_t)1 << 20 : (size_t)(64 + i % 512);
    int err = memkind_create_pmem(dir, (i % 3) ? 0 : MEMKIND_PMEM_MIN_SIZE, &kind);
    if (err != MEMKIND_SUCCESS) {
        test_fail(__FILE__, __LINE__, "cycle %d: create: expected 0, got %d", i, err);
        return -1;
    }
    unsigned char *p = memkind_malloc(kind, size);
    if (!p) {
        test_fail(__FILE__, __LINE__, "cycle %d: malloc(%zu) gave NULL", i, size);
    } else {
        fill_pattern(p, 32, (unsigned)i);
        p[size - 1] = (unsigned char)i;
        if (!check_pattern(p, 32, (unsigned)i) || p[size - 1] != (unsigned char)i)
            test_fail(__FILE__, __LINE__, "cycle %d: data lost", i);
        memkind_free(kind, p);
    }
    err = memkind_destroy_kind(kind);
    if (err != MEMKIND_SUCCESS) {
        test_fail(__FILE__, __LINE__, "cycle %d: destroy: expected 0, got %d", i, err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 2 ? argv[2] : test_pmem_dir(argc, argv);
    long warm, peak = 0, end;
    int i;

    STEP("%d warm-up cycles of create, malloc, free, destroy", WARM);
    for (i = 0; i < WARM; i++)
        REQUIRE(cycle(dir, i) == 0);
    warm = vm_size_kib();
    REQUIRE(warm > 0);

    STEP("%d more cycles: VmSize stays within 1%% of %ld kB", CYCLES - WARM, warm);
    for (; i < CYCLES; i++) {
        if (cycle(dir, i))
            break;
        if (i % 500 == 0) {
            long v = vm_size_kib();
            if (v > peak)
                peak = v;
        }
    }
    end = vm_size_kib();
    printf("  VmSize after %d cycles %ld kB, after %d %ld kB, peak %ld kB\n", WARM,
           warm, i, end, peak);
    CHECK_INT(CYCLES, i);
    CHECK_SIZE_LE(end, warm + warm / 100);
    CHECK_SIZE_LE(peak, warm + warm / 100);
    CHECK_INT(0, count_dir_entries(dir));
    return test_finish("create_destroy_vmsize_ours");
}
