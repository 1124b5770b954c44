/*
 * Creating a file-backed kind from a configuration object.
 *
 * memkind_config_* collects the directory, the size limit and the memory
 * usage policy. MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE returns freed space
 * to the file system as soon as possible, at some cost in speed; the
 * default policy keeps freed space for a while to reuse it quickly.
 *
 * Usage: pmem_config [DIR]   (DIR defaults to /tmp)
 */
#include <memkind.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    struct memkind_config *cfg;
    memkind_t kind = NULL;
    char *buffer;
    int err;

    cfg = memkind_config_new();
    if (!cfg) {
        fprintf(stderr, "cannot create a configuration\n");
        return 1;
    }
    memkind_config_set_path(cfg, dir);
    memkind_config_set_size(cfg, 64 * 1024 * 1024);
    memkind_config_set_memory_usage_policy(
        cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);

    err = memkind_create_pmem_with_config(cfg, &kind);
    /* The configuration can be deleted (or reused) once the kind exists. */
    memkind_config_delete(cfg);
    if (err) {
        char message[MEMKIND_ERROR_MESSAGE_SIZE];
        memkind_error_message(err, message, sizeof(message));
        fprintf(stderr, "%s\n", message);
        return 1;
    }
    printf("created a 64 MiB kind with the conservative policy\n");

    buffer = memkind_malloc(kind, 8 * 1024 * 1024);
    if (!buffer)
        return 1;
    memset(buffer, 'x', 8 * 1024 * 1024);
    printf("used an 8 MiB buffer\n");
    memkind_free(kind, buffer);

    memkind_destroy_kind(kind);
    printf("done\n");
    return 0;
}
