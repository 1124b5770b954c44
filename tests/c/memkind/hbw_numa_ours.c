/* ours-only: memkind 1.14 crashes on some of these inputs or has no such behaviour.
 *
 * hbw_* inputs memkind crashes on (a page size outside the enum, touching unmapped or
 * read-only memory in hbw_verify_memory_region), *memptr left alone on failure, and the
 * environment switches: MEMKIND_DEBUG=1 explains a failure on stderr (silence without it),
 * MEMKIND_HOG_MEMORY=1 keeps freed pages, MEMKIND_BACKGROUND_THREAD_LIMIT starts jemalloc's
 * purging thread. Each environment case runs in a fresh process.
 */
#include "common.h"
#include "numa_common.h"

#include <hbwmalloc.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void inputs(void)
{
    void *m = (void *)&m;
    long page = sysconf(_SC_PAGESIZE);

    STEP("page sizes outside hbw_pagesize_t, 1GB_STRICT sizes: EINVAL, *memptr untouched");
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 100, (hbw_pagesize_t)0));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 100, HBW_PAGESIZE_MAX_VALUE));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 100, (hbw_pagesize_t)-1));
    CHECK_INT(EINVAL, hbw_posix_memalign_psize(&m, 64, 100, HBW_PAGESIZE_1GB_STRICT));
    CHECK_INT(EINVAL, hbw_posix_memalign(&m, 3, 100));
    CHECK_INT(ENOMEM, hbw_posix_memalign(&m, 64, SIZE_MAX));
    CHECK_PTR_EQ((void *)&m, m);
    CHECK_INT(EINVAL, hbw_posix_memalign(NULL, 64, 100));

    STEP("hbw_verify_memory_region(HBW_TOUCH_PAGES) on memory it cannot touch: EFAULT");
    char *r = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(r != MAP_FAILED);
    CHECK_INT(EFAULT, hbw_verify_memory_region(r, 4 * page, HBW_TOUCH_PAGES));
    munmap(r, 4 * page);
    /* r is unmapped now. */
    CHECK_INT(EFAULT, hbw_verify_memory_region(r, 4 * page, HBW_TOUCH_PAGES));
    CHECK_INT(-1, hbw_verify_memory_region(r, 4 * page, 0));
    CHECK_INT(EINVAL, hbw_verify_memory_region((void *)-4096L, 8192, 0));
}

/* Runs this program again with the given stage and variables; returns its exit status
 * and, if out is given, what it wrote to stderr. */
static int run_stage(char **argv, const char *stage, const char *const *vars, char *out,
                     size_t out_len)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        reexec_with(argv, stage, vars);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    char sink[256];
    while ((r = read(fds[0], out && n < out_len - 1 ? out + n : sink,
                     out && n < out_len - 1 ? out_len - 1 - n : sizeof(sink))) > 0)
        if (out && n < out_len - 1)
            n += (size_t)r;
    if (out)
        out[n] = '\0';
    close(fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_threads(void)
{
    return count_dir_entries("/proc/self/task");
}

/* Disk blocks the kind keeps after 32 MiB were written and freed. */
static long long kept_after_free(const char *dir)
{
    memkind_config *cfg = memkind_config_new();
    memkind_t kind;
    void *blocks[32];
    REQUIRE(cfg != NULL);
    memkind_config_set_path(cfg, dir);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    REQUIRE(memkind_create_pmem_with_config(cfg, &kind) == MEMKIND_SUCCESS);
    memkind_config_delete(cfg);
    for (int i = 0; i < 32; i++) {
        blocks[i] = memkind_malloc(kind, 1 << 20);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i, 1 << 20);
    }
    for (int i = 0; i < 32; i++)
        memkind_free(kind, blocks[i]);
    long long kept = disk_of_kind(dir);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    return kept;
}

static int stage_main(const char *stage, const char *dir)
{
    if (!strcmp(stage, "explain")) {
        /* The failure to explain: an unparseable node list. */
        CHECK_INT(MEMKIND_ERROR_ENVIRON, memkind_check_available(MEMKIND_HBW));
        errno = 0;
        CHECK_NULL(memkind_malloc(MEMKIND_HBW, 64));
        CHECK_INT(ENOMEM, errno);
        CHECK_INT(EPERM, (hbw_set_policy(HBW_POLICY_BIND), hbw_set_policy(HBW_POLICY_PREFERRED)));
    } else if (!strcmp(stage, "hog")) {
        long long kept = kept_after_free(dir);
        printf("  MEMKIND_HOG_MEMORY=%s: %lld KiB kept\n", getenv("MEMKIND_HOG_MEMORY"),
               kept / 1024);
        if (!strcmp(getenv("MEMKIND_HOG_MEMORY"), "1"))
            CHECK_SIZE_GE(kept, 32 << 20);
        else
            CHECK_SIZE_LE(kept, 8 << 20);
    } else if (!strcmp(stage, "threads")) {
        int before = count_threads();
        void *p = memkind_malloc(MEMKIND_REGULAR, 100);
        CHECK(p != NULL);
        memkind_free(NULL, p);
        int after = count_threads();
        printf("  MEMKIND_BACKGROUND_THREAD_LIMIT=%s: %d -> %d threads\n",
               getenv("MEMKIND_BACKGROUND_THREAD_LIMIT") ? getenv("MEMKIND_BACKGROUND_THREAD_LIMIT")
                                                         : "(unset)",
               before, after);
        if (getenv("MEMKIND_BACKGROUND_THREAD_LIMIT"))
            CHECK(after > before);
        else
            CHECK_INT(before, after);
    }
    return test_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    char err[4096];

    if (test_stage()[0])
        return stage_main(test_stage(), dir);

    inputs();

    STEP("MEMKIND_DEBUG=1 explains a failure on stderr; without it nothing is printed");
    const char *quiet[] = {"MEMKIND_HBW_NODES", "abc", NULL};
    CHECK_INT(0, run_stage(argv, "explain", quiet, err, sizeof(err)));
    CHECK_INT(0, (int)strlen(err));
    const char *loud[] = {"MEMKIND_HBW_NODES", "abc", "MEMKIND_DEBUG", "1", NULL};
    CHECK_INT(0, run_stage(argv, "explain", loud, err, sizeof(err)));
    printf("%s", err);
    CHECK(strstr(err, "memkind: MEMKIND_HBW_NODES") != NULL);
    CHECK(strstr(err, "hbw_set_policy") != NULL);
    CHECK(strstr(err, "memkind: allocation failed") != NULL);

    STEP("MEMKIND_HOG_MEMORY=1 keeps freed pages even with the conservative policy");
    const char *hog[] = {"MEMKIND_HOG_MEMORY", "1", NULL};
    CHECK_INT(0, run_stage(argv, "hog", hog, NULL, 0));
    const char *no_hog[] = {"MEMKIND_HOG_MEMORY", "0", NULL};
    CHECK_INT(0, run_stage(argv, "hog", no_hog, NULL, 0));

    STEP("MEMKIND_BACKGROUND_THREAD_LIMIT starts background purging when a kind starts");
    const char *bg[] = {"MEMKIND_BACKGROUND_THREAD_LIMIT", "0", NULL};
    CHECK_INT(0, run_stage(argv, "threads", bg, NULL, 0));
    CHECK_INT(0, run_stage(argv, "threads", NULL, NULL, 0));
    return test_finish("hbw_numa_ours");
}
