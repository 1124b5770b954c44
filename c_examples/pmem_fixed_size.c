/*
 * A file-backed kind with a size limit.
 *
 * memkind_create_pmem() makes a kind whose memory lives in a temporary file
 * in the given directory (on a DAX file system this is persistent memory
 * used as volatile memory). The file is unlinked at once: nothing shows in
 * the directory, and the space goes back when the kind is destroyed.
 *
 * Usage: pmem_fixed_size [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    const size_t limit = 32 * 1024 * 1024; /* the kind never grows past this */
    char message[MEMKIND_ERROR_MESSAGE_SIZE];
    memkind_t kind = NULL;
    char *greeting;
    int err;

    err = memkind_create_pmem(dir, limit, &kind);
    if (err) {
        memkind_error_message(err, message, sizeof(message));
        fprintf(stderr, "cannot create a kind in %s: %s\n", dir, message);
        return 1;
    }
    printf("created a file-backed kind limited to %zu MiB\n", limit >> 20);

    /* Use it like malloc, always naming the kind. */
    greeting = memkind_malloc(kind, 64);
    if (!greeting) {
        fprintf(stderr, "out of memory\n");
        memkind_destroy_kind(kind);
        return 1;
    }
    strcpy(greeting, "hello from file-backed memory");
    printf("%s\n", greeting);
    memkind_free(kind, greeting);

    /* Destroying the kind releases the file and its disk space. */
    err = memkind_destroy_kind(kind);
    if (err) {
        memkind_error_message(err, message, sizeof(message));
        fprintf(stderr, "cannot destroy the kind: %s\n", message);
        return 1;
    }
    printf("kind destroyed\n");
    return 0;
}
