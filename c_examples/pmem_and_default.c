/*
 * A file-backed kind next to ordinary memory.
 *
 * A program can keep small, hot data in MEMKIND_DEFAULT (the same memory
 * as malloc) and large, cold data in a file-backed kind. Here an index of
 * records lives in MEMKIND_DEFAULT and the record bodies in the file kind.
 *
 * Usage: pmem_and_default [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>
#include <string.h>

#define RECORDS 8
#define BODY_SIZE 4096

struct record {
    int id;
    char *body; /* lives in the file-backed kind */
};

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    memkind_t cold = NULL;
    struct record *index;
    int i;

    if (memkind_create_pmem(dir, 0, &cold)) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }

    index = memkind_calloc(MEMKIND_DEFAULT, RECORDS, sizeof(*index));
    if (!index)
        return 1;
    for (i = 0; i < RECORDS; i++) {
        index[i].id = i;
        index[i].body = memkind_malloc(cold, BODY_SIZE);
        if (!index[i].body)
            return 1;
        snprintf(index[i].body, BODY_SIZE, "body of record %d", i);
    }

    for (i = 0; i < RECORDS; i += 3)
        printf("record %d: %s\n", index[i].id, index[i].body);

    /* Each block goes back to the kind it came from. */
    for (i = 0; i < RECORDS; i++)
        memkind_free(cold, index[i].body);
    memkind_free(MEMKIND_DEFAULT, index);
    memkind_destroy_kind(cold);
    printf("done\n");
    return 0;
}
