/* ours-only: memkind 1.14 runs out of address space after a few hundred cycles here */
/*
 * Under a low address-space limit (RLIMIT_AS: the current VmSize plus 3 GiB) 5000
 * cycles of memkind_create_pmem (16 MiB limit), malloc, free, memkind_destroy_kind all
 * succeed: a destroyed kind leaves no address space behind.
 */
#include "common.h"

#include <sys/resource.h>

#define CYCLES 5000

int main(int argc, char **argv)
{
    const char *dir = argc > 2 ? argv[2] : test_pmem_dir(argc, argv);
    struct rlimit lim;
    int i;

    STEP("one kind before the limit (one-time set-up is not counted)");
    {
        memkind_t kind = NULL;
        REQUIRE(memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, &kind) == MEMKIND_SUCCESS);
        memkind_free(kind, memkind_malloc(kind, 64));
        REQUIRE(memkind_destroy_kind(kind) == MEMKIND_SUCCESS);
    }
    long vm = vm_size_kib();
    REQUIRE(vm > 0);
    lim.rlim_cur = lim.rlim_max = (rlim_t)vm * 1024 + ((rlim_t)3 << 30);
    REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0);

    STEP("the limit is real: a 4 GiB mapping fails");
    {
        memkind_t big = NULL;
        REQUIRE(memkind_create_pmem(dir, (size_t)2 << 30, &big) == MEMKIND_SUCCESS);
        errno = 0;
        CHECK_NULL(memkind_malloc(big, (size_t)4 << 30));
        CHECK_INT(ENOMEM, errno);
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(big));
    }

    STEP("%d cycles under RLIMIT_AS = VmSize %ld kB + 3 GiB", CYCLES, vm);
    for (i = 0; i < CYCLES; i++) {
        memkind_t kind = NULL;
        size_t size = (i % 2) ? (size_t)1 << 20 : 64;
        int err = memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, &kind);
        if (err != MEMKIND_SUCCESS) {
            test_fail(__FILE__, __LINE__, "cycle %d: create: expected 0, got %d", i, err);
            break;
        }
        unsigned char *p = memkind_malloc(kind, size);
        if (!p) {
            test_fail(__FILE__, __LINE__, "cycle %d: malloc(%zu) gave NULL", i, size);
            memkind_destroy_kind(kind);
            break;
        }
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)(i + 1);
        CHECK(p[0] == (unsigned char)i && p[size - 1] == (unsigned char)(i + 1));
        memkind_free(kind, p);
        err = memkind_destroy_kind(kind);
        if (err != MEMKIND_SUCCESS) {
            test_fail(__FILE__, __LINE__, "cycle %d: destroy: expected 0, got %d", i, err);
            break;
        }
    }
    printf("  %d cycles done, VmSize %ld kB\n", i, vm_size_kib());
    CHECK_INT(CYCLES, i);
    return test_finish("create_destroy_rlimit_ours");
}
