/*
 * The constants of memkind.h keep the values of memkind 1.14, so programs
 * built against either header agree; version and error messages behave.
 */
#include "common.h"

#define SAME(name, value) _Static_assert((long long)(name) == (value), #name)

SAME(MEMKIND_MAX_KIND, 512);
SAME(MEMKIND_ERROR_MESSAGE_SIZE, 128);
SAME(MEMKIND_PMEM_MIN_SIZE, 16 * 1024 * 1024);

SAME(MEMKIND_SUCCESS, 0);
SAME(MEMKIND_ERROR_UNAVAILABLE, -1);
SAME(MEMKIND_ERROR_MBIND, -2);
SAME(MEMKIND_ERROR_MMAP, -3);
SAME(MEMKIND_ERROR_MALLOC, -6);
SAME(MEMKIND_ERROR_ENVIRON, -12);
SAME(MEMKIND_ERROR_INVALID, -13);
SAME(MEMKIND_ERROR_TOOMANY, -15);
SAME(MEMKIND_ERROR_BADOPS, -17);
SAME(MEMKIND_ERROR_HUGETLB, -18);
SAME(MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, -20);
SAME(MEMKIND_ERROR_OPERATION_FAILED, -21);
SAME(MEMKIND_ERROR_ARENAS_CREATE, -22);
SAME(MEMKIND_ERROR_RUNTIME, -255);

SAME(MEMKIND_MEMTYPE_DEFAULT, 1);
SAME(MEMKIND_MEMTYPE_HIGH_BANDWIDTH, 2);

SAME(MEMKIND_POLICY_BIND_LOCAL, 0);
SAME(MEMKIND_POLICY_BIND_ALL, 1);
SAME(MEMKIND_POLICY_PREFERRED_LOCAL, 2);
SAME(MEMKIND_POLICY_INTERLEAVE_LOCAL, 3);
SAME(MEMKIND_POLICY_INTERLEAVE_ALL, 4);
SAME(MEMKIND_POLICY_MAX_VALUE, 5);

SAME(MEMKIND_MASK_PAGE_SIZE_2MB, 21);

SAME(MEMKIND_MEM_USAGE_POLICY_DEFAULT, 0);
SAME(MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE, 1);
SAME(MEMKIND_MEM_USAGE_POLICY_MAX_VALUE, 2);

SAME(MEMKIND_STAT_TYPE_RESIDENT, 0);
SAME(MEMKIND_STAT_TYPE_ACTIVE, 1);
SAME(MEMKIND_STAT_TYPE_ALLOCATED, 2);
SAME(MEMKIND_STAT_TYPE_MAX_VALUE, 3);

SAME(MEMKIND_STAT_PRINT_ALL, 0);
SAME(MEMKIND_STAT_PRINT_JSON_FORMAT, 1);
SAME(MEMKIND_STAT_PRINT_OMIT_GENERAL, 2);
SAME(MEMKIND_STAT_PRINT_OMIT_MERGED_ARENA, 4);
SAME(MEMKIND_STAT_PRINT_OMIT_DESTROYED_MERGED_ARENA, 8);
SAME(MEMKIND_STAT_PRINT_OMIT_PER_ARENA, 16);
SAME(MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_BINS, 32);
SAME(MEMKIND_STAT_PRINT_OMIT_PER_SIZE_CLASS_LARGE, 64);
SAME(MEMKIND_STAT_PRINT_OMIT_MUTEX, 128);
SAME(MEMKIND_STAT_PRINT_OMIT_EXTENT, 256);

SAME(MEMKIND_PARTITION_DEFAULT, 0);
SAME(MEMKIND_PARTITION_HBW, 1);
SAME(MEMKIND_PARTITION_HBW_HUGETLB, 2);
SAME(MEMKIND_PARTITION_HBW_PREFERRED, 3);
SAME(MEMKIND_PARTITION_HBW_PREFERRED_HUGETLB, 4);
SAME(MEMKIND_PARTITION_HUGETLB, 5);
SAME(MEMKIND_PARTITION_HBW_GBTLB, 6);
SAME(MEMKIND_PARTITION_HBW_PREFERRED_GBTLB, 7);
SAME(MEMKIND_PARTITION_GBTLB, 8);
SAME(MEMKIND_PARTITION_HBW_INTERLEAVE, 9);
SAME(MEMKIND_PARTITION_INTERLEAVE, 10);
SAME(MEMKIND_PARTITION_REGULAR, 11);
SAME(MEMKIND_PARTITION_HBW_ALL, 12);
SAME(MEMKIND_PARTITION_HBW_ALL_HUGETLB, 13);
SAME(MEMKIND_PARTITION_DAX_KMEM, 14);
SAME(MEMKIND_PARTITION_DAX_KMEM_ALL, 15);
SAME(MEMKIND_PARTITION_DAX_KMEM_PREFERRED, 16);
SAME(MEMKIND_PARTITION_DAX_KMEM_INTERLEAVE, 17);
SAME(MEMKIND_PARTITION_HIGHEST_CAPACITY, 18);
SAME(MEMKIND_PARTITION_HIGHEST_CAPACITY_PREFERRED, 19);
SAME(MEMKIND_PARTITION_HIGHEST_CAPACITY_LOCAL, 20);
SAME(MEMKIND_PARTITION_HIGHEST_CAPACITY_LOCAL_PREFERRED, 21);
SAME(MEMKIND_PARTITION_LOWEST_LATENCY_LOCAL, 22);
SAME(MEMKIND_PARTITION_LOWEST_LATENCY_LOCAL_PREFERRED, 23);
SAME(MEMKIND_PARTITION_HIGHEST_BANDWIDTH_LOCAL, 24);
SAME(MEMKIND_PARTITION_HIGHEST_BANDWIDTH_LOCAL_PREFERRED, 25);
SAME(MEMKIND_NUM_BASE_KIND, 26);

/* The handle type is a pointer; the config type is opaque. */
_Static_assert(sizeof(memkind_t) == sizeof(void *), "memkind_t is a pointer");

static const int error_codes[] = {
    MEMKIND_ERROR_UNAVAILABLE,   MEMKIND_ERROR_MBIND,
    MEMKIND_ERROR_MMAP,          MEMKIND_ERROR_MALLOC,
    MEMKIND_ERROR_ENVIRON,       MEMKIND_ERROR_INVALID,
    MEMKIND_ERROR_TOOMANY,       MEMKIND_ERROR_BADOPS,
    MEMKIND_ERROR_HUGETLB,       MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE,
    MEMKIND_ERROR_OPERATION_FAILED, MEMKIND_ERROR_ARENAS_CREATE,
    MEMKIND_ERROR_RUNTIME,
};

int main(void)
{
    size_t i;
    const char prefix[] = "<memkind>";

    STEP("memkind_get_version() is 1.14.0 encoded as 1014000");
    CHECK_INT(1014000, memkind_get_version());

    STEP("memkind_error_message gives a '<memkind>' message for every code");
    for (i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++) {
        char msg[MEMKIND_ERROR_MESSAGE_SIZE];
        memset(msg, 'x', sizeof(msg));
        memkind_error_message(error_codes[i], msg, sizeof(msg));
        if (memchr(msg, '\0', sizeof(msg)) == NULL) {
            test_fail(__FILE__, __LINE__, "code %d: message not terminated",
                      error_codes[i]);
            continue;
        }
        if (strncmp(msg, prefix, strlen(prefix)) != 0 ||
            strlen(msg) <= strlen(prefix))
            test_fail(__FILE__, __LINE__,
                      "code %d: expected a message starting with %s, got "
                      "\"%s\"",
                      error_codes[i], prefix, msg);
    }

    STEP("memkind_error_message truncates to the given size and ends with NUL");
    for (i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++) {
        char full[MEMKIND_ERROR_MESSAGE_SIZE];
        char small[12];
        memkind_error_message(error_codes[i], full, sizeof(full));
        memset(small, 'x', sizeof(small));
        memkind_error_message(error_codes[i], small, 8);
        if (small[7] != '\0' || strlen(small) != 7 ||
            strncmp(small, full, 7) != 0)
            test_fail(__FILE__, __LINE__,
                      "code %d, size 8: expected \"%.7s\" + NUL, got \"%.8s\"",
                      error_codes[i], full, small);
        if (small[8] != 'x' || small[11] != 'x')
            test_fail(__FILE__, __LINE__,
                      "code %d, size 8: bytes past the size were written",
                      error_codes[i]);
    }

    STEP("memkind_error_message with size 1 writes just a NUL");
    {
        char one[2] = {'x', 'y'};
        memkind_error_message(MEMKIND_ERROR_INVALID, one, 1);
        CHECK_INT('\0', one[0]);
        CHECK_INT('y', one[1]);
    }

    STEP("the static kind MEMKIND_DEFAULT is available");
    CHECK(MEMKIND_DEFAULT != NULL);
    CHECK_INT(MEMKIND_SUCCESS, memkind_check_available(MEMKIND_DEFAULT));

    return test_finish("api_constants");
}
