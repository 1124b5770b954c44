/* A short tour of a file-backed kind: create it in a directory, allocate, see where the
 * memory lives, hit the size limit, free, destroy. Usage: demo DIR */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <memkind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Finds the kind's unlinked file among our descriptors and returns its allocated bytes. */
static long long file_bytes(const char *dir, char *name, size_t name_len)
{
    DIR *fds = opendir("/proc/self/fd");
    struct dirent *e;
    long long bytes = -1;
    while (fds && (e = readdir(fds))) {
        char link[300], target[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, dir, strlen(dir)) == 0 && strstr(target, "(deleted)")) {
            struct stat st;
            if (stat(link, &st) == 0) {
                bytes = (long long)st.st_blocks * 512;
                snprintf(name, name_len, "%s", target);
            }
        }
    }
    if (fds)
        closedir(fds);
    return bytes;
}

static int visible_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char name[4096] = "";
    memkind_t kind;
    char msg[MEMKIND_ERROR_MESSAGE_SIZE];

    int err = memkind_create_pmem(dir, 64 << 20, &kind);
    if (err) {
        memkind_error_message(err, msg, sizeof(msg));
        fprintf(stderr, "memkind_create_pmem: %s\n", msg);
        return 1;
    }
    printf("created a 64 MiB file-backed kind in %s\n", dir);
    printf("  files visible in the directory: %d (the file is unlinked)\n", visible_files(dir));

    enum { N = 48 };
    char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = memkind_malloc(kind, 1 << 20);
        if (!blocks[i]) {
            fprintf(stderr, "allocation %d failed\n", i);
            return 1;
        }
        memset(blocks[i], 'a' + i % 26, 1 << 20);
    }
    long long used = file_bytes(dir, name, sizeof(name));
    printf("allocated and wrote %d blocks of 1 MiB\n", N);
    printf("  backing file: %s\n", name);
    printf("  file-system space it holds: %lld MiB\n", used >> 20);
    printf("  memkind_detect_kind(block) is the kind: %s\n",
           memkind_detect_kind(blocks[0]) == kind ? "yes" : "no");

    int extra = 0;
    void *more[64];
    errno = 0;
    while (extra < 64 && (more[extra] = memkind_malloc(kind, 1 << 20)))
        extra++;
    printf("kept allocating: %d more blocks fit, then NULL with errno %s\n", extra,
           errno == ENOMEM ? "ENOMEM" : strerror(errno));

    for (int i = 0; i < N; i++) {
        if (blocks[i][0] != 'a' + i % 26 || blocks[i][(1 << 20) - 1] != 'a' + i % 26) {
            fprintf(stderr, "block %d lost its contents\n", i);
            return 1;
        }
        memkind_free(NULL, blocks[i]);
    }
    for (int i = 0; i < extra; i++)
        memkind_free(kind, more[i]);
    printf("freed everything (memkind_free with and without the kind)\n");

    void *again = memkind_malloc(kind, 32 << 20);
    printf("one 32 MiB block after freeing: %s\n", again ? "allocated" : "failed");
    memkind_free(kind, again);

    err = memkind_destroy_kind(kind);
    printf("destroyed the kind: %s; files left in the directory: %d\n", err ? "error" : "ok",
           visible_files(dir));
    return err ? 1 : 0;
}
