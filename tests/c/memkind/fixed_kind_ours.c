/* ours-only: memkind 1.14 crashes on NULL, accepts overlapping regions and empty ones, and its calloc returns old data of a reused region */
/*
 * memkind_create_fixed beyond what memkind 1.14 checks: bad arguments and
 * regions overlapping memory of a kind give MEMKIND_ERROR_INVALID and leave
 * the output untouched; several fixed regions sharing a GiB of address space
 * each know their blocks (detect, free with a NULL kind, double free refused)
 * also after a neighbour is destroyed; calloc clears a region's old data; a
 * full kind emptied refills with any block size.
 */
#include "common.h"

#include <sys/mman.h>

static memkind_t const UNTOUCHED = (memkind_t)(uintptr_t)0x1234;

#define EXPECT_INVALID(what, addr, size)                                       \
    do {                                                                       \
        memkind_t k_ = UNTOUCHED;                                              \
        int err_ = memkind_create_fixed((addr), (size), &k_);                  \
        if (err_ != MEMKIND_ERROR_INVALID)                                     \
            test_fail(__FILE__, __LINE__,                                      \
                      "%s: expected MEMKIND_ERROR_INVALID, got %d", what,      \
                      err_);                                                   \
        if (k_ != UNTOUCHED)                                                   \
            test_fail(__FILE__, __LINE__, "%s: output written", what);         \
    } while (0)

static unsigned char *map(size_t len)
{
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    return m;
}

static int fill(memkind_t kind, size_t size, void **out, int max)
{
    int n = 0;
    while (n < max && (out[n] = memkind_malloc(kind, size)) != NULL) {
        memset(out[n], n & 0xff, size);
        n++;
    }
    return n;
}

static void *blocks[8192];

int main(int argc, char **argv)
{
    /* Double, interior and stale frees are caught with the live map, which is kept only
     * with MEMKIND_CHECK=1 (read at the first kind's creation, so set before any call). */
    setenv("MEMKIND_CHECK", "1", 1);
    const char *dir = test_pmem_dir(argc, argv);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m = map(64u << 20);
    memkind_t a = NULL, b = NULL, c = NULL, pk = NULL;
    unsigned char *pa, *pb, *pc;
    int n1, n2, n3, i;

    STEP("bad arguments: MEMKIND_ERROR_INVALID, output untouched");
    EXPECT_INVALID("NULL address", NULL, 1u << 20);
    CHECK_INT(MEMKIND_ERROR_INVALID, memkind_create_fixed(m, 1u << 20, NULL));
    EXPECT_INVALID("size 0", m, 0);
    STEP("no whole page inside: accepted as by memkind, capacity its size, nothing fits");
    {
        memkind_t t = NULL;
        CHECK_INT(MEMKIND_SUCCESS, memkind_create_fixed(m + 1, page, &t));
        REQUIRE(t != NULL);
        CHECK_INT(page, memkind_get_capacity(t));
        CHECK_NULL(memkind_malloc(t, 16));
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(t));
    }
    EXPECT_INVALID("wrapping around the address space",
                   (void *)(uintptr_t)(UINTPTR_MAX - page + 1), 4 * page);

    STEP("a region overlapping another fixed kind's is refused");
    REQUIRE(memkind_create_fixed(m, 16u << 20, &a) == MEMKIND_SUCCESS);
    EXPECT_INVALID("same region", m, 16u << 20);
    EXPECT_INVALID("overlapping its end", m + (8u << 20), 16u << 20);
    EXPECT_INVALID("overlapping its start", m + 100, page);
    EXPECT_INVALID("around it", m, 32u << 20);

    STEP("a region inside memory of a pmem kind or of MEMKIND_DEFAULT is refused");
    REQUIRE(memkind_create_pmem(dir, 0, &pk) == MEMKIND_SUCCESS);
    pa = memkind_malloc(pk, 8u << 20);
    REQUIRE(pa != NULL);
    EXPECT_INVALID("inside a pmem block", pa, 4u << 20);
    pb = memkind_malloc(MEMKIND_DEFAULT, 8u << 20);
    REQUIRE(pb != NULL);
    EXPECT_INVALID("inside a DEFAULT block", pb + page, 4u << 20);
    memkind_free(NULL, pa);
    memkind_free(NULL, pb);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(pk));

    STEP("three adjacent regions in one GiB: each block belongs to its kind");
    REQUIRE(memkind_create_fixed(m + (16u << 20), 16u << 20, &b) ==
            MEMKIND_SUCCESS);
    REQUIRE(memkind_create_fixed(m + (32u << 20), 16u << 20, &c) ==
            MEMKIND_SUCCESS);
    pa = memkind_malloc(a, 100);
    pb = memkind_malloc(b, 100);
    pc = memkind_malloc(c, 100);
    REQUIRE(pa && pb && pc);
    CHECK(pa >= m && pa < m + (16u << 20));
    CHECK(pb >= m + (16u << 20) && pb < m + (32u << 20));
    CHECK(pc >= m + (32u << 20) && pc < m + (48u << 20));
    CHECK_PTR_EQ(a, memkind_detect_kind(pa));
    CHECK_PTR_EQ(b, memkind_detect_kind(pb));
    CHECK_PTR_EQ(c, memkind_detect_kind(pc));
    CHECK_NULL(memkind_detect_kind(pb + 8)); /* interior pointer */

    STEP("destroying the middle one leaves the others working");
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(b));
    CHECK_NULL(memkind_detect_kind(pb));
    errno = 0;
    CHECK_NULL(memkind_malloc(b, 100));
    CHECK_INT(EINVAL, errno);
    memkind_free(NULL, pb); /* reported and ignored */
    CHECK_PTR_EQ(a, memkind_detect_kind(pa));
    CHECK_PTR_EQ(c, memkind_detect_kind(pc));
    memkind_free(NULL, pa);
    memkind_free(NULL, pc);
    memkind_free(NULL, pc); /* double free: reported and ignored */
    pc = memkind_malloc(c, 200);
    REQUIRE(pc != NULL);
    CHECK_PTR_EQ(c, memkind_detect_kind(pc));
    memkind_free(c, pc);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(c));

    STEP("a new kind over the freed middle region");
    REQUIRE(memkind_create_fixed(m + (16u << 20), 16u << 20, &b) ==
            MEMKIND_SUCCESS);
    pb = memkind_malloc(b, 4096);
    REQUIRE(pb != NULL);
    CHECK_PTR_EQ(b, memkind_detect_kind(pb));
    memkind_free(NULL, pb);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(b));

    STEP("calloc clears the old data of a reused region");
    memset(m + (16u << 20), 0xA5, 16u << 20);
    REQUIRE(memkind_create_fixed(m + (16u << 20), 16u << 20, &b) ==
            MEMKIND_SUCCESS);
    for (i = 0; i < 50; i++) {
        size_t size = 16u + (size_t)i * 40000u;
        unsigned char *z = memkind_calloc(b, 1, size);
        REQUIRE(z != NULL);
        if (!is_all_zero(z, size))
            test_fail(__FILE__, __LINE__, "calloc(%zu) not zeroed", size);
        memset(z, 0xA5, size);
        memkind_free(b, z);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(b));

    STEP("a full kind emptied refills with any block size");
    n1 = fill(a, 1u << 20, blocks, 8192);
    for (i = 0; i < n1; i++)
        memkind_free(a, blocks[i]);
    n2 = fill(a, 4096, blocks, 8192);
    CHECK_SIZE_GE((size_t)n2 * 4096, (16u << 20) / 10 * 9);
    for (i = 0; i < n2; i++) {
        if (*(unsigned char *)blocks[i] != (i & 0xff))
            test_fail(__FILE__, __LINE__, "block %d changed", i);
        memkind_free(a, blocks[i]);
    }
    n3 = fill(a, 1u << 20, blocks, 8192);
    printf("  %d x 1 MiB, %d x 4 KiB, then %d x 1 MiB\n", n1, n2, n3);
    CHECK_SIZE_GE(n3, n1);
    for (i = 0; i < n3; i++)
        memkind_free(a, blocks[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(a));
    CHECK_INT(MEMKIND_ERROR_INVALID, memkind_destroy_kind(a));

    munmap(m, 64u << 20);
    return test_finish("fixed_kind_ours");
}
