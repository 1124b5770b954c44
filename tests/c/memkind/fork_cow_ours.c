/* ours-only: memkind 1.14 shares a kind's file with a forked child.
 * fork() with a file-backed heap copies nothing: right after the fork the
 * child's own kind file holds no data (the old design copied the whole file),
 * yet the child reads every block the parent wrote before the fork, also after
 * the parent has overwritten them all (a snapshot, as for ordinary memory).
 * What the child writes, frees and allocates never reaches the parent; blocks it
 * allocates after the fork live in its own file on disk; memory the child
 * frees and gets back zeroed (a conservative kind releases at once) reads as
 * zeros even though the parent's file still holds data there; and a child
 * that forks again passes its own view on to the grandchild, whose writes
 * reach neither.
 */
#include "common.h"

#include <sys/stat.h>
#include <sys/wait.h>

#define NBLK 64
#define BLK (1 << 20)

static memkind_t kind, cons;
static unsigned char *blocks[NBLK];
static unsigned char *big; /* the parent's block in the conservative kind */
static char dir_main[PATH_MAX], dir_cons[PATH_MAX];
static int go[2]; /* the parent writes a byte once it has overwritten its blocks */

/* Disk bytes of the one kind file under dir, or -1. */
static long long kind_disk(const char *dir)
{
    int fds[4];
    if (find_deleted_files(dir, fds, 4) != 1)
        return -1;
    return file_disk_bytes(fds[0]);
}

static int check_blocks(unsigned seed_base, int first_written, unsigned written_seed)
{
    int i, bad = 0;
    for (i = 0; i < NBLK; i++) {
        unsigned seed = i < first_written ? seed_base + i : written_seed + i;
        bad += !check_pattern(blocks[i], BLK, seed);
    }
    return bad;
}

/* Grandchild: sees the child's writes (first half) and the parent's data
 * (second half); its own writes stay its own. */
static int grandchild(void)
{
    int bad = check_blocks(200, NBLK / 2, 100);
    int i;
    for (i = 0; i < NBLK; i++)
        fill_pattern(blocks[i], BLK, 900 + i);
    for (i = 0; i < 16; i++) {
        unsigned char *p = memkind_malloc(kind, BLK);
        if (!p)
            return 20;
        fill_pattern(p, BLK, 950 + i);
        if (!check_pattern(p, BLK, 950 + i))
            bad++;
    }
    return bad ? 21 : 0;
}

static int child(void)
{
    long long own = kind_disk(dir_main);
    unsigned char *fresh[16];
    int i, status;
    pid_t pid;

    char c;

    /* Nothing was copied: the child's own file has no data yet. */
    if (own < 0 || own > (1 << 20))
        return 10;
    /* The parent's writes after the fork do not show here. */
    if (read(go[0], &c, 1) != 1)
        return 22;
    if (check_blocks(100, 0, 100))
        return 11;
    /* The child overwrites the first half of the parent's blocks. */
    for (i = 0; i < NBLK / 2; i++)
        fill_pattern(blocks[i], BLK, 200 + i);
    /* New blocks live in the child's own file, on disk. */
    for (i = 0; i < 16; i++) {
        fresh[i] = memkind_malloc(kind, BLK);
        if (!fresh[i])
            return 12;
        fill_pattern(fresh[i], BLK, 300 + i);
    }
    if (kind_disk(dir_main) < 16LL * BLK)
        return 13;
    /* A conservative kind gives freed memory back at once; zeroed memory the
     * child gets there must be zeros, not the parent's file contents. */
    {
        unsigned char *q;
        if (!check_pattern(big, 8 * BLK, 77))
            return 14;
        memkind_free(cons, big);
        q = memkind_calloc(cons, 1, 8 * BLK);
        if (!q || !is_all_zero(q, 8 * BLK))
            return 15;
        memkind_free(cons, q);
    }
    pid = fork();
    if (pid < 0)
        return 16;
    if (pid == 0)
        _exit(grandchild());
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 17;
    if (WEXITSTATUS(status))
        return WEXITSTATUS(status);
    /* The grandchild's writes did not reach the child. */
    if (check_blocks(200, NBLK / 2, 100))
        return 18;
    for (i = 0; i < 16; i++)
        if (!check_pattern(fresh[i], BLK, 300 + i))
            return 19;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    long long before;
    int i, status;
    pid_t pid;

    snprintf(dir_main, sizeof(dir_main), "%s/fork_cow_main", dir);
    snprintf(dir_cons, sizeof(dir_cons), "%s/fork_cow_cons", dir);
    REQUIRE(mkdir(dir_main, 0700) == 0);
    REQUIRE(mkdir(dir_cons, 0700) == 0);
    REQUIRE(memkind_create_pmem(dir_main, 0, &kind) == 0);
    {
        struct memkind_config *cfg = memkind_config_new();
        REQUIRE(cfg != NULL);
        memkind_config_set_path(cfg, dir_cons);
        memkind_config_set_size(cfg, 0);
        memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
        REQUIRE(memkind_create_pmem_with_config(cfg, &cons) == 0);
        memkind_config_delete(cfg);
    }
    for (i = 0; i < NBLK; i++) {
        blocks[i] = memkind_malloc(kind, BLK);
        REQUIRE(blocks[i] != NULL);
        fill_pattern(blocks[i], BLK, 100 + i);
    }
    big = memkind_malloc(cons, 8 * BLK);
    REQUIRE(big != NULL);
    fill_pattern(big, 8 * BLK, 77);
    before = kind_disk(dir_main);
    CHECK(before >= (long long)NBLK * BLK);

    REQUIRE(pipe(go) == 0);

    STEP("child reads the parent's heap as of the fork, writes its own, forks again");
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(child());
    for (i = 0; i < NBLK; i++)
        fill_pattern(blocks[i], BLK, 500 + i);
    CHECK_INT(1, (int)write(go[1], "x", 1));
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(0, WEXITSTATUS(status));

    STEP("the parent's heap holds only its own writes; new blocks go to its new file");
    CHECK_INT(0, check_blocks(500, 0, 500));
    CHECK(check_pattern(big, 8 * BLK, 77));
    {
        long long mine = kind_disk(dir_main);
        unsigned char *more[8];
        CHECK(mine >= 0 && mine < before);
        for (i = 0; i < 8; i++) {
            more[i] = memkind_malloc(kind, BLK);
            REQUIRE(more[i] != NULL);
            fill_pattern(more[i], BLK, 600 + i);
        }
        CHECK(kind_disk(dir_main) >= mine + 8LL * BLK);
        for (i = 0; i < 8; i++) {
            CHECK(check_pattern(more[i], BLK, 600 + i));
            memkind_free(kind, more[i]);
        }
    }
    CHECK_INT(0, check_blocks(500, 0, 500));
    for (i = 0; i < NBLK; i++)
        memkind_free(kind, blocks[i]);
    memkind_free(cons, big);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(cons));
    CHECK_INT(0, rmdir(dir_main));
    CHECK_INT(0, rmdir(dir_cons));
    return test_finish("fork_cow_ours");
}
