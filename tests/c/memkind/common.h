/*
 * Helpers shared by the C test programs of the memkind API: descriptors, mappings and
 * deleted files of this process, disk use of a kind's file, data patterns.
 *
 * Include this header first: it selects the feature macros the tests need. The
 * assertions (STEP, CHECK, CHECK_INT, REQUIRE, ...) come from tests/harness/check.h;
 * test_finish() prints its RESULT line. Exit status 77 (TEST_SKIP_STATUS) means
 * "skipped" to the runner.
 */
#ifndef MEMKIND_C_TESTS_COMMON_H
#define MEMKIND_C_TESTS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <memkind.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../../harness/check.h"

/* The names these tests were written with, on check.h's counters and exit status. */
#define TEST_SKIP_STATUS SKIP_STATUS
#define test_fail check_fail
#define test_failures check_failed_

static inline int test_finish(const char *name)
{
    (void)name;
    return finish();
}

/* The pmem directory given by the runner, or /tmp when run by hand. */
static inline const char *test_pmem_dir(int argc, char **argv)
{
    return argc > 1 ? argv[1] : "/tmp";
}

/* Number of open file descriptors of this process. */
static inline int count_fds(void)
{
    int n = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the one opendir() itself holds */
}

/* Number of lines in /proc/self/maps (one per mapping). */
static inline int count_maps(void)
{
    int n = 0, c;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            n++;
    fclose(f);
    return n;
}

/* Number of visible entries (other than . and ..) in a directory. */
static inline int count_dir_entries(const char *dir)
{
    int n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/*
 * Collect the descriptors of unlinked files living in dir: the link in
 * /proc/self/fd points to "<dir>/<name> (deleted)". Returns how many were
 * found; at most max are stored in fds.
 */
static inline int find_deleted_files(const char *dir, int *fds, int max)
{
    char real[PATH_MAX], target[PATH_MAX + 32];
    size_t len;
    int n = 0;
    struct dirent *e;
    DIR *d;

    if (!realpath(dir, real))
        return -1;
    len = strlen(real);
    d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        ssize_t r;
        if (e->d_name[0] == '.')
            continue;
        r = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
        if (r < 0)
            continue;
        target[r] = '\0';
        if (strncmp(target, real, len) == 0 && target[len] == '/' &&
            strstr(target, "(deleted)") != NULL) {
            if (n < max)
                fds[n] = atoi(e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Bytes of disk actually allocated to the file open as fd, or -1. */
static inline long long file_disk_bytes(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    return (long long)st.st_blocks * 512;
}

/* Does a mapping of a "(deleted)" file in dir show in /proc/self/maps? */
/* Disk bytes held by the one kind whose unlinked file lives in `dir` (a failed check
 * and -1 when there is not exactly one). */
static inline long long disk_of_kind(const char *dir)
{
    int fds[4];
    int n = find_deleted_files(dir, fds, 4);
    if (n != 1) {
        test_fail(__FILE__, __LINE__,
                  "expected 1 deleted file of the kind in %s, found %d", dir, n);
        return -1;
    }
    return file_disk_bytes(fds[0]);
}

static inline int maps_show_deleted_file_in(const char *dir)
{
    char real[PATH_MAX], line[PATH_MAX + 256];
    int found = 0;
    FILE *f;
    if (!realpath(dir, real))
        return 0;
    f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, real) && strstr(line, "(deleted)"))
            found = 1;
    fclose(f);
    return found;
}

/* Fill a block with a pattern derived from seed; verify it later. */
static inline void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *c = (unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        c[i] = (unsigned char)((i * 31u + seed * 7u + (i >> 8)) & 0xff);
}

static inline int check_pattern(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (c[i] != (unsigned char)((i * 31u + seed * 7u + (i >> 8)) & 0xff))
            return 0;
    return 1;
}

/* A "Name:" line of /proc/self/status in KiB (field includes the colon), or -1. */
static inline long status_kib(const char *field)
{
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, n))
            v = atol(line + n);
    fclose(f);
    return v;
}

/* VmSize of this process in KiB, or -1. */
static inline long vm_size_kib(void)
{
    return status_kib("VmSize:");
}

static inline int is_all_zero(const void *p, size_t n)
{
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

#endif /* MEMKIND_C_TESTS_COMMON_H */
