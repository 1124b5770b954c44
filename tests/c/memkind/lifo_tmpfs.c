/* ours-only: memkind 1.14 crashes in this scenario on tmpfs */
/*
 * Two file-backed kinds in one tmpfs directory (/dev/shm). The first kind
 * allocates about 800 blocks of 64 KiB and frees them in LIFO order, then
 * the second kind is used, then the first one again. Nothing may crash and
 * all data must be intact.
 */
#include "common.h"

#define BLOCKS 800
#define SIZE (64u << 10)

static void *blocks[BLOCKS];

static void use_kind(const char *name, memkind_t kind, unsigned seed)
{
    int i;
    for (i = 0; i < BLOCKS; i++) {
        blocks[i] = memkind_malloc(kind, SIZE);
        if (!blocks[i]) {
            test_fail(__FILE__, __LINE__, "%s: block %d: malloc gave NULL",
                      name, i);
            break;
        }
        fill_pattern(blocks[i], SIZE, seed + (unsigned)i);
    }
    for (i = i - 1; i >= 0; i--) {
        if (!check_pattern(blocks[i], SIZE, seed + (unsigned)i))
            test_fail(__FILE__, __LINE__, "%s: block %d changed", name, i);
        memkind_free(kind, blocks[i]);
    }
}

int main(int argc, char **argv)
{
    /* the runner passes a fresh /dev/shm directory as the second argument */
    char own[] = "/dev/shm/memkind-lifo-XXXXXX";
    const char *dir = argc > 2 ? argv[2] : own;
    memkind_t first = NULL, second = NULL;
    void *p;

    if (argc <= 2 && !mkdtemp(own)) {
        printf("skip: cannot create a directory in /dev/shm\n");
        return TEST_SKIP_STATUS;
    }
    REQUIRE(memkind_create_pmem(dir, 0, &first) == MEMKIND_SUCCESS);
    REQUIRE(memkind_create_pmem(dir, 0, &second) == MEMKIND_SUCCESS);

    STEP("first kind: %d blocks of 64 KiB, freed in LIFO order", BLOCKS);
    use_kind("first", first, 1);

    STEP("second kind: allocate, write, check, free");
    use_kind("second", second, 2);
    p = memkind_malloc(second, 3u << 20);
    CHECK(p != NULL);
    if (p)
        memset(p, 0x42, 3u << 20);
    memkind_free(second, p);

    STEP("first kind again, twice");
    use_kind("first again", first, 3);
    use_kind("first again", first, 4);

    STEP("both kinds at once, interleaved");
    {
        int i;
        for (i = 0; i < BLOCKS; i++) {
            memkind_t k = (i % 2) ? first : second;
            blocks[i] = memkind_malloc(k, SIZE);
            REQUIRE(blocks[i] != NULL);
            fill_pattern(blocks[i], SIZE, (unsigned)i);
        }
        for (i = BLOCKS - 1; i >= 0; i--) {
            if (!check_pattern(blocks[i], SIZE, (unsigned)i))
                test_fail(__FILE__, __LINE__, "interleaved block %d changed",
                          i);
            if (memkind_detect_kind(blocks[i]) != ((i % 2) ? first : second))
                test_fail(__FILE__, __LINE__,
                          "interleaved block %d: wrong kind detected", i);
            memkind_free(NULL, blocks[i]);
        }
    }

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(second));
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(first));
    STEP("nothing left in %s", dir);
    CHECK_INT(0, count_dir_entries(dir));
    if (dir == own && rmdir(dir) != 0)
        test_fail(__FILE__, __LINE__, "rmdir %s failed: %s", dir,
                  strerror(errno));
    return test_finish("lifo_tmpfs");
}
