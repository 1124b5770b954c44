/*
 * The one assertion header of the C and C++ test programs.
 *
 * CHECK records a failure and goes on; REQUIRE stops the program at once (for checks
 * whose failure would make the following code crash). CHECK_EQ prints both values.
 * STEP names what is being checked, so a failure is easy to place. finish() prints the
 * closing "RESULT <passed> <failed>" line that tests/harness/runner.sh reads and returns
 * the exit status. A program that cannot run here exits with SKIP_STATUS (77).
 */
#ifndef TESTS_HARNESS_CHECK_H
#define TESTS_HARNESS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define SKIP_STATUS 77

static int check_passed_ = 0;
static int check_failed_ = 0;

static inline void check_record_(int ok, const char *file, int line, const char *what)
{
    if (ok) {
        check_passed_++;
        return;
    }
    check_failed_++;
    printf("FAIL %s:%d: expected %s\n", file, line, what);
    fflush(stdout);
}

#define STEP(...)                                                              \
    do {                                                                       \
        printf("check: ");                                                     \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        fflush(stdout);                                                        \
    } while (0)

#define CHECK(cond) check_record_(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        check_record_(check_a_ == check_b_, __FILE__, __LINE__, #a " == " #b); \
        if (check_a_ != check_b_)                                              \
            printf("    %s = %lld, %s = %lld\n", #a, check_a_, #b, check_b_);  \
    } while (0)

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        int check_ok_ = !!(cond);                                              \
        check_record_(check_ok_, __FILE__, __LINE__, #cond " (fatal)");        \
        if (!check_ok_) {                                                      \
            printf("RESULT %d %d\n", check_passed_, check_failed_);            \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static inline int finish(void)
{
    printf("RESULT %d %d\n", check_passed_, check_failed_);
    fflush(stdout);
    return check_failed_ ? 1 : 0;
}

#endif
