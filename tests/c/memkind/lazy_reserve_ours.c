/* ours-only: memkind 1.14 reserves nothing and dies of SIGBUS when the file
 * system fills under a touched page.
 * Large blocks (2 MiB and up) of a file kind take file system space as they
 * are touched: on a 64 MiB tmpfs a 48 MiB block of which 4 MiB are written
 * uses about 4 MiB of it. A request larger than the free space fails at once
 * with ENOMEM. Two such blocks written in full (96 MiB on a 64 MiB file
 * system) do not crash: the pages the file system cannot hold become ordinary
 * memory, every byte reads back, and a forked child sees them too. After
 * freeing, the file system's space comes back. Needs root to mount the tmpfs;
 * exits 77 (skipped) otherwise.
 */
#include "common.h"

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#define MIB ((size_t)1 << 20)

static char mnt[PATH_MAX];

static long long used_mib(void)
{
    struct statvfs sv;
    if (statvfs(mnt, &sv) != 0)
        return -1;
    return (long long)((sv.f_blocks - sv.f_bfree) * sv.f_frsize / MIB);
}

int main(int argc, char **argv)
{
    memkind_t kind = NULL;
    unsigned char *a, *b;
    long long used;
    int status;
    pid_t pid;

    if (geteuid() != 0) {
        printf("skip: mounting a tmpfs needs root\n");
        return TEST_SKIP_STATUS;
    }
    snprintf(mnt, sizeof(mnt), "%s/lazy-fs", test_pmem_dir(argc, argv));
    REQUIRE(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64m") != 0) {
        printf("skip: cannot mount a tmpfs here: %s\n", strerror(errno));
        rmdir(mnt);
        return TEST_SKIP_STATUS;
    }
    REQUIRE(memkind_create_pmem(mnt, 0, &kind) == MEMKIND_SUCCESS);

    STEP("a request larger than the free space fails at once");
    errno = 0;
    CHECK_NULL(memkind_malloc(kind, 256 * MIB));
    CHECK_INT(ENOMEM, errno);

    STEP("a 48 MiB block with 4 MiB written uses about 4 MiB of the file system");
    a = memkind_malloc(kind, 48 * MIB);
    REQUIRE(a != NULL);
    fill_pattern(a, 4 * MIB, 1);
    used = used_mib();
    printf("  tmpfs used: %lld MiB\n", used);
    CHECK(used >= 4 && used <= 8);

    STEP("a second one fits; writing both in full (96 MiB on 64 MiB) does not crash");
    b = memkind_malloc(kind, 48 * MIB);
    REQUIRE(b != NULL);
    fill_pattern(a, 48 * MIB, 1);
    fill_pattern(b, 48 * MIB, 2);
    CHECK(check_pattern(a, 48 * MIB, 1));
    CHECK(check_pattern(b, 48 * MIB, 2));
    used = used_mib();
    printf("  tmpfs used: %lld MiB\n", used);
    CHECK(used >= 60);

    STEP("a forked child reads both blocks, memory pages included");
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(check_pattern(a, 48 * MIB, 1) && check_pattern(b, 48 * MIB, 2) ? 0 : 1);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(check_pattern(a, 48 * MIB, 1));

    STEP("freed blocks give the space back; allocating works again");
    memkind_free(kind, a);
    memkind_free(kind, b);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK(used_mib() <= 1);
    REQUIRE(memkind_create_pmem(mnt, 0, &kind) == MEMKIND_SUCCESS);
    a = memkind_malloc(kind, 32 * MIB);
    CHECK(a != NULL);
    if (a) {
        fill_pattern(a, 32 * MIB, 3);
        CHECK(check_pattern(a, 32 * MIB, 3));
        memkind_free(kind, a);
    }
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK_INT(0, count_dir_entries(mnt));
    if (umount(mnt) != 0)
        umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    return test_finish("lazy_reserve_ours");
}
