/*
 * The one assertion header of the C and C++ test programs.
 *
 * CHECK records a failure and goes on; REQUIRE stops the program at once (for checks
 * whose failure would make the following code crash). CHECK_EQ and the other
 * comparisons print both values; CHECK_MSG adds a printf-style note to the failure;
 * check_fail() records a failure found by the test's own logic. STEP names what is being
 * checked, so a failure is easy to place. finish() prints the closing
 * "RESULT <passed> <failed>" line that tests/harness/runner.sh reads and returns the exit
 * status. A program that cannot run here exits with SKIP_STATUS (77).
 *
 * The counters are updated atomically: threads may check at the same time.
 */
#ifndef TESTS_HARNESS_CHECK_H
#define TESTS_HARNESS_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define SKIP_STATUS 77

static int check_passed_ = 0;
static int check_failed_ = 0;

static inline void check_count_(int *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Records a failure at file:line with a printf-style message. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    check_count_(&check_failed_);
    printf("FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Counts one check; returns ok so the caller can add details to a failure. */
static inline int check_record_(int ok, const char *file, int line, const char *what)
{
    if (ok)
        check_count_(&check_passed_);
    else
        check_fail(file, line, "expected %s", what);
    return ok;
}

#define STEP(...)                                                              \
    do {                                                                       \
        printf("check: ");                                                     \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        fflush(stdout);                                                        \
    } while (0)

#define CHECK(cond) ((void)check_record_(!!(cond), __FILE__, __LINE__, #cond))

/* CHECK with a note printed under the failure: CHECK_MSG(e == 0, "errno %d", e). The
 * note sees errno as the check left it. */
#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        int check_ok_ = !!(cond), check_errno_ = errno;                        \
        if (!check_record_(check_ok_, __FILE__, __LINE__, #cond)) {            \
            printf("    ");                                                    \
            errno = check_errno_;                                              \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            fflush(stdout);                                                    \
        }                                                                      \
        errno = check_errno_;                                                  \
    } while (0)

/* sa and sb spell a and b as written (stringized one macro further down, a macro call
 * among the arguments would show expanded). */
#define CHECK_EQ_(a, b, sa, sb)                                                \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        if (!check_record_(check_a_ == check_b_, __FILE__, __LINE__,           \
                           sa " == " sb))                                      \
            printf("    %s = %lld, %s = %lld\n", sa, check_a_, sb, check_b_);  \
    } while (0)

#define CHECK_EQ(a, b) CHECK_EQ_(a, b, #a, #b)

/* CHECK_EQ with the expected value first. */
#define CHECK_INT(expected, got) CHECK_EQ_(got, expected, #got, #expected)

/* Unsigned comparisons of sizes: got >= minimum, got <= maximum. */
#define CHECK_SIZE_GE(got, minimum)                                            \
    do {                                                                       \
        unsigned long long check_g_ = (unsigned long long)(got);               \
        unsigned long long check_m_ = (unsigned long long)(minimum);           \
        if (!check_record_(check_g_ >= check_m_, __FILE__, __LINE__,           \
                           #got " >= " #minimum))                              \
            printf("    %s = %llu, %s = %llu\n", #got, check_g_, #minimum,     \
                   check_m_);                                                  \
    } while (0)

#define CHECK_SIZE_LE(got, maximum)                                            \
    do {                                                                       \
        unsigned long long check_g_ = (unsigned long long)(got);               \
        unsigned long long check_m_ = (unsigned long long)(maximum);           \
        if (!check_record_(check_g_ <= check_m_, __FILE__, __LINE__,           \
                           #got " <= " #maximum))                              \
            printf("    %s = %llu, %s = %llu\n", #got, check_g_, #maximum,     \
                   check_m_);                                                  \
    } while (0)

#define CHECK_NULL(ptr)                                                        \
    ((void)check_record_((const void *)(ptr) == NULL, __FILE__, __LINE__,      \
                         #ptr " == NULL"))

#define CHECK_PTR_EQ(expected, got)                                            \
    do {                                                                       \
        const void *check_e_ = (const void *)(expected);                       \
        const void *check_g_ = (const void *)(got);                            \
        if (!check_record_(check_e_ == check_g_, __FILE__, __LINE__,           \
                           #got " == " #expected))                             \
            printf("    %s = %p, %s = %p\n", #got, check_g_, #expected,        \
                   check_e_);                                                  \
    } while (0)

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!check_record_(!!(cond), __FILE__, __LINE__, #cond " (fatal)")) {  \
            printf("RESULT %d %d\n", check_passed_, check_failed_);            \
            fflush(stdout);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#ifdef __cplusplus
/* Runs expr and checks it throws an ex (or a subclass of it). */
#define CHECK_THROWS(ex, expr)                                                 \
    do {                                                                       \
        bool check_thrown_ = false;                                            \
        try {                                                                  \
            expr;                                                              \
        } catch (const ex &) {                                                 \
            check_thrown_ = true;                                              \
        } catch (...) {                                                        \
        }                                                                      \
        check_record_(check_thrown_, __FILE__, __LINE__,                       \
                      #expr " to throw " #ex);                                 \
    } while (0)
#endif

static inline int finish(void)
{
    printf("RESULT %d %d\n", check_passed_, check_failed_);
    fflush(stdout);
    return check_failed_ ? 1 : 0;
}

#endif
