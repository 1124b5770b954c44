/*
 * A file-backed kind without a size limit.
 *
 * With max_size 0 the kind grows as long as the file system has room.
 * Here it holds a table of 64 rows of 1 MiB each.
 *
 * Usage: pmem_unlimited [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>
#include <string.h>

#define ROWS 64
#define ROW_SIZE (1024 * 1024)

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    unsigned char *rows[ROWS];
    memkind_t kind = NULL;
    unsigned long sum = 0;
    int i;

    if (memkind_create_pmem(dir, 0, &kind) != MEMKIND_SUCCESS) {
        fprintf(stderr, "cannot create a kind in %s\n", dir);
        return 1;
    }

    for (i = 0; i < ROWS; i++) {
        rows[i] = memkind_malloc(kind, ROW_SIZE);
        if (!rows[i]) {
            fprintf(stderr, "row %d: out of space\n", i);
            return 1;
        }
        memset(rows[i], i, ROW_SIZE);
    }
    printf("allocated %d rows of %d KiB\n", ROWS, ROW_SIZE / 1024);

    /* Read everything back. */
    for (i = 0; i < ROWS; i++)
        sum += rows[i][0] + rows[i][ROW_SIZE - 1];
    printf("checksum of first and last bytes: %lu\n", sum);

    for (i = 0; i < ROWS; i++)
        memkind_free(kind, rows[i]);
    memkind_destroy_kind(kind);
    printf("done\n");
    return 0;
}
