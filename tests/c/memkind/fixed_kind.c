/*
 * memkind_create_fixed: a kind inside a region the program owns.
 * The region sits between inaccessible guard pages, and the bytes of its
 * first and last (partial) pages that lie outside [addr, addr+size) hold a
 * sentinel: any write outside the region crashes or changes a sentinel.
 * The kind fills up with blocks of several sizes (NULL + ENOMEM when full),
 * every block lies inside the region and keeps its data, the capacity is the
 * region's size, detect_kind names the kind, and after destroying it a new
 * kind can be created over the same region. Also a static array as region.
 * (The argument checks memkind lacks are in fixed_kind_ours.c.)
 */
#include "common.h"

#include <sys/mman.h>

#define MAX_BLOCKS 70000
#define SENTINEL 0xEE

static void *blocks[MAX_BLOCKS];
static size_t sizes[MAX_BLOCKS];
static char static_region[4u << 20];

struct region {
    unsigned char *map; /* guard page, pages holding the region, guard page */
    size_t map_len;
    unsigned char *addr; /* the region given to memkind_create_fixed */
    size_t size;
};

static struct region make_region(size_t lead, size_t size)
{
    struct region r;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t inner = (lead + size + page - 1) / page * page;
    r.map_len = inner + 2 * page;
    r.map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(r.map != MAP_FAILED);
    memset(r.map + page, SENTINEL, inner);
    REQUIRE(mprotect(r.map, page, PROT_NONE) == 0);
    REQUIRE(mprotect(r.map + page + inner, page, PROT_NONE) == 0);
    r.addr = r.map + page + lead;
    r.size = size;
    return r;
}

/* The bytes between the guard pages but outside the region are untouched. */
static void check_sentinels(const struct region *r)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p;
    size_t bad = 0;
    for (p = r->map + page; p < r->addr; p++)
        bad += *p != SENTINEL;
    for (p = r->addr + r->size; p < r->map + r->map_len - page; p++)
        bad += *p != SENTINEL;
    CHECK_INT(0, bad);
}

static int inside(const struct region *r, const void *p, size_t n)
{
    const unsigned char *c = p;
    return c >= r->addr && c + n <= r->addr + r->size;
}

/* Fills the kind with blocks of `size` (0: varying sizes) until NULL; returns
 * the number of blocks and the bytes they hold. */
static int fill(memkind_t kind, const struct region *r, size_t size,
                size_t *bytes)
{
    int n, outside = 0, saved_errno = 0;
    *bytes = 0;
    for (n = 0; n < MAX_BLOCKS; n++) {
        size_t s = size ? size : 8 + ((size_t)n * 7919u) % 20000u;
        errno = 0;
        blocks[n] = memkind_malloc(kind, s);
        if (!blocks[n]) {
            saved_errno = errno;
            break;
        }
        sizes[n] = s;
        outside += !inside(r, blocks[n], s);
        fill_pattern(blocks[n], s, (unsigned)n);
        *bytes += s;
    }
    CHECK(n < MAX_BLOCKS);
    CHECK_INT(ENOMEM, saved_errno);
    CHECK_INT(0, outside);
    return n;
}

static void check_and_free(memkind_t kind, int n)
{
    int i, changed = 0;
    for (i = 0; i < n; i++) {
        changed += !check_pattern(blocks[i], sizes[i], (unsigned)i);
        memkind_free(kind, blocks[i]);
    }
    CHECK_INT(0, changed);
}

static void exercise(const char *what, size_t lead, size_t size)
{
    struct region r = make_region(lead, size);
    memkind_t kind = NULL;
    size_t bytes;
    int n;

    STEP("%s: create over %zu bytes at page offset %zu", what, size, lead);
    REQUIRE(memkind_create_fixed(r.addr, r.size, &kind) == MEMKIND_SUCCESS);
    REQUIRE(kind != NULL);
    CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(kind));
    CHECK_INT((long long)size, memkind_get_capacity(kind));

    STEP("%s: 1 MiB blocks until full, all inside, data kept", what);
    n = fill(kind, &r, 1u << 20, &bytes);
    printf("  %d blocks of 1 MiB\n", n);
    if (size >= (4u << 20))
        CHECK_SIZE_GE(bytes, size / 2);
    CHECK_SIZE_LE(bytes, size);
    if (n > 0)
        CHECK_PTR_EQ(kind, memkind_detect_kind(blocks[0]));
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, 2 * size));
    CHECK_INT(ENOMEM, errno);
    check_and_free(kind, n);
    check_sentinels(&r);

    STEP("%s: destroy, create again over the same region", what);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    kind = NULL;
    REQUIRE(memkind_create_fixed(r.addr, r.size, &kind) == MEMKIND_SUCCESS);

    STEP("%s: 4 KiB blocks until full use most of the region", what);
    n = fill(kind, &r, 4096, &bytes);
    printf("  %d blocks of 4 KiB\n", n);
    CHECK_SIZE_GE(bytes, size / 4 * 3);
    check_and_free(kind, n);
    check_sentinels(&r);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));

    STEP("%s: mixed sizes from 8 B to 20 KB", what);
    REQUIRE(memkind_create_fixed(r.addr, r.size, &kind) == MEMKIND_SUCCESS);
    n = fill(kind, &r, 0, &bytes);
    printf("  %d blocks, %zu bytes\n", n, bytes);
    CHECK_SIZE_GE(bytes, size >= (4u << 20) ? size / 2 : size / 4);
    check_and_free(kind, n);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    check_sentinels(&r);

    STEP("%s: the region is still the program's after destroy", what);
    memset(r.addr, 0x5a, r.size);
    CHECK(r.addr[0] == 0x5a && r.addr[r.size - 1] == 0x5a);
    check_sentinels(&r);
    munmap(r.map, r.map_len);
}

int main(void)
{
    memkind_t kind = NULL;
    void *p;

    exercise("page-aligned region", 0, 16u << 20);
    exercise("unaligned region", 100, (16u << 20) - 300);
    exercise("small region", 0, 256u << 10);

    STEP("a static array as region");
    REQUIRE(memkind_create_fixed(static_region, sizeof(static_region), &kind) ==
            MEMKIND_SUCCESS);
    p = memkind_malloc(kind, 1000);
    REQUIRE(p != NULL);
    CHECK((char *)p >= static_region &&
          (char *)p + 1000 <= static_region + sizeof(static_region));
    fill_pattern(p, 1000, 3);
    CHECK(check_pattern(p, 1000, 3));
    p = memkind_realloc(kind, p, 200000);
    REQUIRE(p != NULL);
    CHECK((char *)p >= static_region &&
          (char *)p + 200000 <= static_region + sizeof(static_region));
    CHECK(check_pattern(p, 1000, 3));
    memkind_free(NULL, p);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));

    return test_finish("fixed_kind");
}
