/*
 * Which libmemkind this program really uses. memkind_malloc is looked up
 * with dladdr and every libmemkind mapped in /proc/self/maps is listed; if
 * the environment variable MEMKIND_TEST_EXPECT_LIBDIR names a directory,
 * the library must come from there. Then a pmem kind is used, to show the
 * library loaded this way works.
 */
#include "common.h"

#include <dlfcn.h>
#include <libgen.h>

/* Is path (resolved) inside the directory expected (resolved)? */
static int in_dir(const char *path, const char *expected)
{
    char real[PATH_MAX], copy[PATH_MAX];
    if (!realpath(path, real))
        return 0;
    snprintf(copy, sizeof(copy), "%s", real);
    return strcmp(dirname(copy), expected) == 0;
}

int main(int argc, char **argv)
{
    const char *want = getenv("MEMKIND_TEST_EXPECT_LIBDIR");
    char expected[PATH_MAX] = "";
    char line[PATH_MAX + 256];
    Dl_info info;
    FILE *maps;
    int found = 0;
    memkind_t kind = NULL;
    void *(*fn)(memkind_t, size_t) = memkind_malloc;
    char *p;

    if (want && *want)
        REQUIRE(realpath(want, expected) != NULL);

    STEP("dladdr(memkind_malloc) names a libmemkind");
    memset(&info, 0, sizeof(info));
    REQUIRE(dladdr((void *)(uintptr_t)fn, &info) != 0);
    printf("  memkind_malloc is in %s\n", info.dli_fname);
    if (strstr(info.dli_fname, "libmemkind.so") == NULL) {
        /* a non-PIE program may resolve to its own PLT entry */
        printf("  (not a shared library path; relying on /proc/self/maps)\n");
    } else if (*expected && !in_dir(info.dli_fname, expected)) {
        test_fail(__FILE__, __LINE__, "expected memkind_malloc from %s, got %s",
                  expected, info.dli_fname);
    }

    STEP("every libmemkind mapped comes from the expected directory");
    maps = fopen("/proc/self/maps", "r");
    REQUIRE(maps != NULL);
    while (fgets(line, sizeof(line), maps)) {
        char *path = strchr(line, '/');
        char *nl;
        if (!path || !strstr(path, "/libmemkind.so"))
            continue;
        nl = strchr(path, '\n');
        if (nl)
            *nl = '\0';
        if (!found)
            printf("  mapped: %s\n", path);
        found++;
        if (*expected && !in_dir(path, expected))
            test_fail(__FILE__, __LINE__, "expected a library from %s, got %s",
                      expected, path);
    }
    fclose(maps);
    CHECK(found > 0);

    STEP("a pmem kind works through this library");
    REQUIRE(memkind_create_pmem(test_pmem_dir(argc, argv), 0, &kind) ==
            MEMKIND_SUCCESS);
    p = (char *)memkind_malloc(kind, 1u << 20);
    REQUIRE(p != NULL);
    fill_pattern(p, 1u << 20, 8);
    CHECK(check_pattern(p, 1u << 20, 8));
    CHECK_PTR_EQ(kind, memkind_detect_kind(p));
    memkind_free(NULL, p);
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK_INT(1014000, memkind_get_version());

    return test_finish("loaded_library");
}
