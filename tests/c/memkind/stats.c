/*
 * Statistics: memkind_get_stat reports values cached at the last
 * memkind_update_cached_stats; after allocating, a kind's and the total
 * ALLOCATED, ACTIVE and RESIDENT grow by at least the bytes allocated, and
 * after freeing ALLOCATED and ACTIVE go back. Unknown statistic types and
 * destroyed kinds give MEMKIND_ERROR_INVALID. memkind_stats_print writes
 * jemalloc's report through the callback, valid JSON with
 * MEMKIND_STAT_PRINT_JSON_FORMAT, shorter with the OMIT flags, nothing and
 * MEMKIND_ERROR_INVALID for undefined option bits.
 */
#include "common.h"

#include <sys/wait.h>

#define NBIG 8
#define BIG (1u << 20)
#define NSMALL 1000
#define SMALL 100

struct text {
    char *buf;
    size_t len, cap;
    int calls;
};

static void collect(void *opaque, const char *s)
{
    struct text *t = opaque;
    size_t n = strlen(s);
    t->calls++;
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        REQUIRE(t->buf != NULL);
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

static struct text print(int opts, int *err)
{
    struct text t = {NULL, 0, 0, 0};
    *err = memkind_stats_print(collect, &t, (memkind_stat_print_opt)opts);
    return t;
}

static void get3(memkind_t kind, size_t v[3])
{
    int s;
    for (s = 0; s < 3; s++) {
        v[s] = (size_t)-1;
        CHECK_INT(MEMKIND_SUCCESS,
                  memkind_get_stat(kind, (memkind_stat_type)s, &v[s]));
    }
}

/* Valid JSON: ask python3 when present, else check nesting and strings. */
static int json_ok(const char *s)
{
    int depth = 0, in_str = 0, top = 0;
    const char *p;
    FILE *py = popen("python3 -c 'import json,sys; json.load(sys.stdin)' "
                     "2>/dev/null", "w");
    if (py) {
        int rc;
        fputs(s, py);
        rc = pclose(py);
        if (rc == 0)
            return 1;
        if (WIFEXITED(rc) && WEXITSTATUS(rc) != 127)
            return 0;
    }
    for (p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '{' || *p == '[') {
            depth++;
            top += depth == 1;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return 0;
        }
    }
    return depth == 0 && !in_str && top == 1;
}

int main(int argc, char **argv)
{
    const char *dir = test_pmem_dir(argc, argv);
    const char *names[3] = {"RESIDENT", "ACTIVE", "ALLOCATED"};
    memkind_t kind = NULL;
    void *big[NBIG], *small[NSMALL];
    size_t before[3], cached[3], after[3], freed[3], tot0[3], tot1[3], v;
    const size_t bytes = (size_t)NBIG * BIG + (size_t)NSMALL * SMALL;
    struct text t;
    int i, s, err;

    STEP("unknown statistic types: MEMKIND_ERROR_INVALID, value untouched");
    v = 7;
    CHECK_INT(MEMKIND_ERROR_INVALID,
              memkind_get_stat(NULL, MEMKIND_STAT_TYPE_MAX_VALUE, &v));
    CHECK_INT(MEMKIND_ERROR_INVALID,
              memkind_get_stat(NULL, (memkind_stat_type)1000, &v));
    CHECK_INT(7, v);

    STEP("a new pmem kind: values before and after allocating");
    REQUIRE(memkind_create_pmem(dir, 0, &kind) == MEMKIND_SUCCESS);
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    get3(kind, before);
    get3(NULL, tot0);
    for (i = 0; i < NBIG; i++) {
        big[i] = memkind_malloc(kind, BIG);
        REQUIRE(big[i] != NULL);
        memset(big[i], 1, BIG);
    }
    for (i = 0; i < NSMALL; i++) {
        small[i] = memkind_malloc(kind, SMALL);
        REQUIRE(small[i] != NULL);
        memset(small[i], 2, SMALL);
    }

    STEP("values stay cached until memkind_update_cached_stats");
    get3(kind, cached);
    for (s = 0; s < 3; s++)
        if (cached[s] != before[s])
            test_fail(__FILE__, __LINE__, "%s changed from %zu to %zu "
                      "without an update", names[s], before[s], cached[s]);

    STEP("after the update each grew by at least the %zu bytes allocated",
         bytes);
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    get3(kind, after);
    get3(NULL, tot1);
    for (s = 0; s < 3; s++) {
        printf("  kind %-9s %zu -> %zu, total %zu -> %zu\n", names[s],
               before[s], after[s], tot0[s], tot1[s]);
        CHECK_SIZE_GE(after[s], before[s] + bytes);
        CHECK_SIZE_GE(tot1[s], tot0[s] + bytes);
    }
    CHECK_SIZE_GE(after[MEMKIND_STAT_TYPE_ACTIVE],
                  after[MEMKIND_STAT_TYPE_ALLOCATED]);
    CHECK_SIZE_GE(tot1[MEMKIND_STAT_TYPE_ALLOCATED],
                  after[MEMKIND_STAT_TYPE_ALLOCATED]);

    STEP("after freeing, ALLOCATED and ACTIVE went down by the large blocks");
    for (i = 0; i < NBIG; i++)
        memkind_free(kind, big[i]);
    for (i = 0; i < NSMALL; i++)
        memkind_free(kind, small[i]);
    CHECK_INT(MEMKIND_SUCCESS, memkind_update_cached_stats());
    get3(kind, freed);
    for (s = MEMKIND_STAT_TYPE_ACTIVE; s <= MEMKIND_STAT_TYPE_ALLOCATED; s++) {
        printf("  kind %-9s %zu after free\n", names[s], freed[s]);
        CHECK_SIZE_LE(freed[s] + (size_t)NBIG * BIG, after[s]);
        /* what remains is at most the small blocks a cache may still hold */
        CHECK_SIZE_LE(freed[s], before[s] + (size_t)NSMALL * SMALL + 65536);
    }

    STEP("a destroyed kind: MEMKIND_ERROR_INVALID");
    CHECK_INT(MEMKIND_SUCCESS, memkind_destroy_kind(kind));
    CHECK_INT(MEMKIND_ERROR_INVALID,
              memkind_get_stat(kind, MEMKIND_STAT_TYPE_ALLOCATED, &v));

    STEP("a static kind the machine lacks counts nothing");
    if (memkind_check_available(MEMKIND_HBW) != MEMKIND_SUCCESS) {
        v = 7;
        CHECK_INT(MEMKIND_SUCCESS,
                  memkind_get_stat(MEMKIND_HBW, MEMKIND_STAT_TYPE_RESIDENT, &v));
        CHECK_INT(0, v);
    }

    STEP("stats_print: the full report through the callback");
    t = print(MEMKIND_STAT_PRINT_ALL, &err);
    CHECK_INT(MEMKIND_SUCCESS, err);
    REQUIRE(t.buf != NULL);
    CHECK(strstr(t.buf, "jemalloc") != NULL);
    CHECK(strstr(t.buf, "Allocated:") != NULL);
    {
        size_t full = t.len;
        free(t.buf);

        STEP("stats_print: JSON output is valid JSON");
        t = print(MEMKIND_STAT_PRINT_JSON_FORMAT, &err);
        CHECK_INT(MEMKIND_SUCCESS, err);
        REQUIRE(t.buf != NULL);
        CHECK(strstr(t.buf, "\"jemalloc\"") != NULL);
        CHECK(json_ok(t.buf));
        free(t.buf);

        STEP("stats_print: JSON with every OMIT flag is valid and shorter");
        t = print(MEMKIND_STAT_PRINT_JSON_FORMAT | MEMKIND_STAT_PRINT_OMIT_GENERAL |
                      MEMKIND_STAT_PRINT_OMIT_MERGED_ARENA |
                      MEMKIND_STAT_PRINT_OMIT_DESTROYED_MERGED_ARENA |
                      MEMKIND_STAT_PRINT_OMIT_PER_ARENA |
                      MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_BINS |
                      MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_LARGE |
                      MEMKIND_STAT_PRINT_OMIT_MUTEX | MEMKIND_STAT_PRINT_OMIT_EXTENT,
                  &err);
        CHECK_INT(MEMKIND_SUCCESS, err);
        REQUIRE(t.buf != NULL);
        CHECK(json_ok(t.buf));
        CHECK_SIZE_LE(t.len * 4, full);
        CHECK(strstr(t.buf, "\"version\"") == NULL); /* general info omitted */
        free(t.buf);

        STEP("stats_print: the text report with every OMIT flag is shorter");
        t = print(0x1fe, &err);
        CHECK_INT(MEMKIND_SUCCESS, err);
        CHECK_SIZE_LE(t.len * 4, full);
        free(t.buf);
    }

    STEP("stats_print: undefined option bits are refused before printing");
    t = print(1 << 9, &err);
    CHECK_INT(MEMKIND_ERROR_INVALID, err);
    CHECK_INT(0, t.calls);
    t = print(-1, &err);
    CHECK_INT(MEMKIND_ERROR_INVALID, err);
    CHECK_INT(0, t.calls);

    return test_finish("stats");
}
