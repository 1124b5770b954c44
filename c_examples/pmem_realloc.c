/*
 * Growing and shrinking blocks in file-backed kinds.
 *
 * memkind_realloc() keeps the contents, like realloc(). A block stays in
 * the kind it was allocated from; here a growing array moves through
 * several sizes in one file kind, and a string is resized in another.
 *
 * Usage: pmem_realloc [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    memkind_t numbers_kind = NULL, text_kind = NULL;
    size_t capacity = 4, used = 0, i;
    long *numbers, *bigger, total = 0;
    char *text, *shorter;

    if (memkind_create_pmem(dir, 0, &numbers_kind) ||
        memkind_create_pmem(dir, 0, &text_kind)) {
        fprintf(stderr, "cannot create kinds in %s\n", dir);
        return 1;
    }

    /* An array that doubles its capacity when full. */
    numbers = memkind_malloc(numbers_kind, capacity * sizeof(long));
    if (!numbers)
        return 1;
    for (i = 1; i <= 100000; i++) {
        if (used == capacity) {
            capacity *= 2;
            bigger = memkind_realloc(numbers_kind, numbers,
                                     capacity * sizeof(long));
            if (!bigger)
                return 1;
            numbers = bigger;
        }
        numbers[used++] = (long)i;
    }
    for (i = 0; i < used; i++)
        total += numbers[i];
    printf("%zu numbers, capacity %zu, sum %ld\n", used, capacity, total);
    memkind_free(numbers_kind, numbers);

    /* Shrinking keeps the beginning of the block. */
    text = memkind_malloc(text_kind, 1000);
    if (!text)
        return 1;
    strcpy(text, "file-backed memory, resized");
    shorter = memkind_realloc(text_kind, text, 32);
    if (!shorter)
        return 1;
    printf("after shrinking: %s\n", shorter);

    /* Size 0 frees the block. */
    shorter = memkind_realloc(text_kind, shorter, 0);
    printf("realloc to 0 returned %s\n", shorter ? "a block" : "NULL");

    memkind_destroy_kind(text_kind);
    memkind_destroy_kind(numbers_kind);
    return 0;
}
