/*
 * An unlimited kind on a small (64 MiB) tmpfs: allocating and writing 1 MiB
 * blocks must end with NULL and errno ENOMEM, never SIGBUS, after at least
 * 50 blocks. After freeing everything, allocating works again. Needs root
 * to mount the tmpfs; exits 77 (skipped) otherwise or when mounting fails.
 */
#include "common.h"

#include <signal.h>
#include <sys/mount.h>

#define MIB ((size_t)1 << 20)
#define MAX_BLOCKS 256

static char mnt[PATH_MAX];

static void on_sigbus(int sig)
{
    static const char msg[] =
        "FAIL full_filesystem.c: SIGBUS while writing to the kind\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    _exit(1);
}

static int fill(memkind_t kind, void **blocks, int *saved_errno)
{
    int n;
    for (n = 0; n < MAX_BLOCKS; n++) {
        errno = 0;
        blocks[n] = memkind_malloc(kind, MIB);
        if (!blocks[n]) {
            *saved_errno = errno;
            break;
        }
        memset(blocks[n], n + 1, MIB);
    }
    return n;
}

int main(int argc, char **argv)
{
    static void *blocks[MAX_BLOCKS];
    memkind_t kind = NULL;
    int n, n2, i, err = 0;

    if (geteuid() != 0) {
        printf("skip: mounting a tmpfs needs root\n");
        return TEST_SKIP_STATUS;
    }
    snprintf(mnt, sizeof(mnt), "%s/small-fs", test_pmem_dir(argc, argv));
    REQUIRE(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64m") != 0) {
        printf("skip: cannot mount a tmpfs here: %s\n", strerror(errno));
        rmdir(mnt);
        return TEST_SKIP_STATUS;
    }
    signal(SIGBUS, on_sigbus);

    STEP("unlimited kind on a 64 MiB tmpfs: write 1 MiB blocks until NULL");
    REQUIRE(memkind_create_pmem(mnt, 0, &kind) == MEMKIND_SUCCESS);
    n = fill(kind, blocks, &err);
    printf("  got %d blocks\n", n);
    CHECK(n < MAX_BLOCKS);
    CHECK_INT(ENOMEM, err);
    CHECK_SIZE_GE(n, 50);

    STEP("the blocks obtained are intact");
    for (i = 0; i < n; i++) {
        unsigned char *p = (unsigned char *)blocks[i];
        if (p[0] != (unsigned char)(i + 1) || p[MIB - 1] != (unsigned char)(i + 1))
            test_fail(__FILE__, __LINE__, "block %d changed", i);
    }

    STEP("free all, then allocating works again");
    for (i = 0; i < n; i++)
        memkind_free(kind, blocks[i]);
    blocks[0] = memkind_malloc(kind, MIB);
    CHECK(blocks[0] != NULL);
    if (blocks[0]) {
        memset(blocks[0], 0x33, MIB);
        memkind_free(kind, blocks[0]);
    }

    STEP("filling again ends the same way");
    err = 0;
    n2 = fill(kind, blocks, &err);
    printf("  got %d blocks\n", n2);
    CHECK_INT(ENOMEM, err);
    CHECK_SIZE_GE(n2, 50);
    for (i = 0; i < n2; i++)
        memkind_free(kind, blocks[i]);

    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK_INT(0, count_dir_entries(mnt));
    if (umount(mnt) != 0)
        test_fail(__FILE__, __LINE__, "umount %s: %s", mnt, strerror(errno));
    rmdir(mnt);
    return test_finish("full_filesystem");
}
