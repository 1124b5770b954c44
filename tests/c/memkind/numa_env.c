/*
 * memkind's override variables, each value in a fresh process (re-executed with it set):
 * unparseable node lists and thresholds give MEMKIND_ERROR_ENVIRON, an empty node list
 * gives a kind that exists but holds nothing, "all" and ranges name the memory nodes.
 */
#include "common.h"
#include "numa_common.h"

#include <hbwmalloc.h>
#include <sys/wait.h>

struct scenario {
    const char *var;
    const char *value; /* "@bad" is replaced by a node number that does not exist */
    int hbw;           /* expected memkind_check_available(MEMKIND_HBW) */
    int dax;           /* expected memkind_check_available(MEMKIND_DAX_KMEM) */
    long long cap;     /* expected capacity of the overridden kind: -2 = all memory */
    int needs_plain_machine;
};

static const struct scenario scenarios[] = {
    {"MEMKIND_HBW_NODES", "abc", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_NODES", "0-", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_NODES", ",", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_NODES", "@bad", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_NODES", "", MEMKIND_SUCCESS, 99, 0, 0},
    {"MEMKIND_HBW_NODES", "all", MEMKIND_SUCCESS, 99, -2, 0},
    {"MEMKIND_HBW_THRESHOLD", "abc", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_THRESHOLD", "5x", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_THRESHOLD", "-1", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_THRESHOLD", "4294967296", MEMKIND_ERROR_ENVIRON, 99, -1, 0},
    {"MEMKIND_HBW_THRESHOLD", "4294967295", MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, 99, -1, 1},
    {"MEMKIND_HBW_THRESHOLD", "0", MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, 99, -1, 1},
    {"MEMKIND_DAX_KMEM_NODES", "abc", 99, MEMKIND_ERROR_ENVIRON, -1, 0},
    {"MEMKIND_DAX_KMEM_NODES", "@bad", 99, MEMKIND_ERROR_ENVIRON, -1, 0},
    {"MEMKIND_DAX_KMEM_NODES", "", 99, MEMKIND_SUCCESS, 0, 0},
    {"MEMKIND_DAX_KMEM_NODES", "all", 99, MEMKIND_SUCCESS, -2, 0},
};

static int run_scenario(const struct scenario *s)
{
    int dax = strcmp(s->var, "MEMKIND_DAX_KMEM_NODES") == 0;
    memkind_t kind = dax ? MEMKIND_DAX_KMEM : MEMKIND_HBW;
    int expect = dax ? s->dax : s->hbw;
    long long cap = s->cap == -2 ? memory_of_nodes(0) : s->cap;

    printf("  %s='%s'\n", s->var, getenv(s->var));
    CHECK_INT(expect, memkind_check_available(kind));
    CHECK_INT(cap, memkind_get_capacity(kind));
    if (!dax)
        CHECK_INT(expect == MEMKIND_SUCCESS ? 0 : ENODEV, hbw_check_available());
    errno = 0;
    void *p = memkind_malloc(kind, 4096);
    if (cap > 0) {
        CHECK(p != NULL);
        if (p)
            memset(p, 1, 4096);
    } else {
        /* No nodes, or an error: nothing can be allocated. */
        CHECK_NULL(p);
        CHECK_INT(ENOMEM, errno);
    }
    memkind_free(NULL, p);
    return test_failures;
}

int main(int argc, char **argv)
{
    const int n = (int)(sizeof(scenarios) / sizeof(scenarios[0]));
    const char *stage = test_stage();
    (void)argc;

    if (stage[0]) {
        int i = atoi(stage);
        return run_scenario(&scenarios[i]) ? 1 : 0;
    }
    int bad = 0;
    while (node_exists(bad))
        bad++;
    char bad_s[16];
    snprintf(bad_s, sizeof(bad_s), "%d", bad);
    unsetenv("MEMKIND_HBW_NODES");
    unsetenv("MEMKIND_DAX_KMEM_NODES");
    unsetenv("MEMKIND_HBW_THRESHOLD");
    STEP("%d override values, each in a fresh process", n);
    for (int i = 0; i < n; i++) {
        const struct scenario *s = &scenarios[i];
        if (s->needs_plain_machine && machine_may_have_hbw_or_dax())
            continue;
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            char stage_s[16];
            snprintf(stage_s, sizeof(stage_s), "%d", i);
            const char *value = strcmp(s->value, "@bad") == 0 ? bad_s : s->value;
            const char *vars[] = {s->var, value, NULL};
            reexec_with(argv, stage_s, vars);
            _exit(127);
        }
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            test_fail(__FILE__, __LINE__, "%s='%s' failed (status 0x%x)", s->var, s->value,
                      status);
    }
    return test_finish("numa_env");
}
