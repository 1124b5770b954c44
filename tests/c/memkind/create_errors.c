/*
 * memkind_create_pmem and memkind_create_pmem_with_config: a valid call
 * succeeds and hides its file; invalid arguments give MEMKIND_ERROR_INVALID,
 * leak no descriptor and leave nothing in the directory.
 */
#include "common.h"

#include <sys/wait.h>

static const char *dir;

/* Expect a failed create with code INVALID that leaves no trace. */
static void expect_invalid(int line, const char *what, const char *d,
                           size_t max_size)
{
    memkind_t kind = NULL;
    int fds = count_fds();
    int entries = count_dir_entries(dir);
    int err = memkind_create_pmem(d, max_size, &kind);
    if (err != MEMKIND_ERROR_INVALID)
        test_fail(__FILE__, line, "%s: expected MEMKIND_ERROR_INVALID (%d), "
                  "got %d", what, MEMKIND_ERROR_INVALID, err);
    if (err == MEMKIND_SUCCESS && kind)
        memkind_destroy_kind(kind);
    if (count_fds() != fds)
        test_fail(__FILE__, line, "%s: expected %d open fds, got %d", what,
                  fds, count_fds());
    if (count_dir_entries(dir) != entries)
        test_fail(__FILE__, line, "%s: expected %d entries in %s, got %d",
                  what, entries, dir, count_dir_entries(dir));
}

int main(int argc, char **argv)
{
    char path[PATH_MAX];
    memkind_t kind = NULL;
    int fds_before, err, fd;
    void *p;

    dir = test_pmem_dir(argc, argv);
    fds_before = count_fds();

    STEP("memkind_create_pmem(dir, 0, &kind) succeeds");
    err = memkind_create_pmem(dir, 0, &kind);
    CHECK_INT(MEMKIND_SUCCESS, err);
    REQUIRE(kind != NULL);
    p = memkind_malloc(kind, 4096);
    REQUIRE(p != NULL);
    memset(p, 0x5a, 4096);

    STEP("the backing file is not visible in the directory");
    CHECK_INT(0, count_dir_entries(dir));

    STEP("the backing file shows as (deleted) in /proc/self/fd or maps");
    {
        int fds[8];
        int n = find_deleted_files(dir, fds, 8);
        CHECK(n >= 1 || maps_show_deleted_file_in(dir));
    }
    memkind_free(kind, p);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));

    STEP("max_size of exactly MEMKIND_PMEM_MIN_SIZE succeeds");
    err = memkind_create_pmem(dir, MEMKIND_PMEM_MIN_SIZE, &kind);
    CHECK_INT(MEMKIND_SUCCESS, err);
    if (err == MEMKIND_SUCCESS)
        CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));

    STEP("max_size below MEMKIND_PMEM_MIN_SIZE is invalid");
    expect_invalid(__LINE__, "max_size MIN_SIZE-1", dir,
                   MEMKIND_PMEM_MIN_SIZE - 1);
    expect_invalid(__LINE__, "max_size 1", dir, 1);
    expect_invalid(__LINE__, "max_size 4096", dir, 4096);

    STEP("a non-existent directory is invalid");
    snprintf(path, sizeof(path), "%s/does-not-exist/sub", dir);
    expect_invalid(__LINE__, "non-existent dir", path, 0);
    expect_invalid(__LINE__, "non-existent dir, limited", path,
                   MEMKIND_PMEM_MIN_SIZE);

    STEP("a regular file given as the directory is invalid");
    snprintf(path, sizeof(path), "%s/regular-file", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    expect_invalid(__LINE__, "regular file", path, 0);
    unlink(path);

    STEP("a directory without write permission is invalid");
    snprintf(path, sizeof(path), "%s/read-only", dir);
    REQUIRE(mkdir(path, 0500) == 0);
    REQUIRE(chmod(path, 0555) == 0);
    if (geteuid() != 0) {
        if (access(path, W_OK) == 0)
            printf("  (skipped: permission bits are not enforced here)\n");
        else
            expect_invalid(__LINE__, "read-only dir", path, 0);
    } else {
        /* root ignores permission bits: try as an unprivileged child */
        struct stat st;
        pid_t pid;
        int status = 0;
        REQUIRE(stat(dir, &st) == 0);
        REQUIRE(chmod(dir, st.st_mode | 0011) == 0);
        fflush(stdout);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(TEST_SKIP_STATUS);
            if (access(path, W_OK) == 0)
                _exit(TEST_SKIP_STATUS);
            expect_invalid(__LINE__, "read-only dir (as uid 65534)", path, 0);
            fflush(stdout);
            _exit(test_failures ? 1 : 0);
        }
        REQUIRE(waitpid(pid, &status, 0) == pid);
        chmod(dir, st.st_mode);
        if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP_STATUS)
            printf("  (skipped: could not drop privileges)\n");
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            test_fail(__FILE__, __LINE__,
                      "read-only dir: expected the child to pass, got status "
                      "0x%x", status);
    }
    rmdir(path);

    STEP("config: a valid configuration creates a kind");
    {
        struct memkind_config *cfg = memkind_config_new();
        REQUIRE(cfg != NULL);
        memkind_config_set_path(cfg, dir);
        memkind_config_set_size(cfg, 32u << 20);
        memkind_config_set_memory_usage_policy(
            cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
        err = memkind_create_pmem_with_config(cfg, &kind);
        CHECK_INT(MEMKIND_SUCCESS, err);
        if (err == MEMKIND_SUCCESS) {
            p = memkind_malloc(kind, 100);
            CHECK(p != NULL);
            memkind_free(kind, p);
            CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
        }

        STEP("config: a size below MEMKIND_PMEM_MIN_SIZE is invalid");
        memkind_config_set_size(cfg, 1u << 20);
        kind = NULL;
        CHECK_INT(MEMKIND_ERROR_INVALID,
                  memkind_create_pmem_with_config(cfg, &kind));

        STEP("config: a non-existent path is invalid");
        snprintf(path, sizeof(path), "%s/does-not-exist", dir);
        memkind_config_set_path(cfg, path);
        memkind_config_set_size(cfg, 0);
        CHECK_INT(MEMKIND_ERROR_INVALID,
                  memkind_create_pmem_with_config(cfg, &kind));
        memkind_config_delete(cfg);
    }

    STEP("no descriptor leaked and the directory is empty");
    CHECK_INT(fds_before, count_fds());
    CHECK_INT(0, count_dir_entries(dir));

    return test_finish("create_errors");
}
