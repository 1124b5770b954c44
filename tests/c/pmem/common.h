/* Tiny test harness shared by the libpmem C tests: CHECK records a result, and
 * finish() prints "RESULT <passed> <failed>" for run.sh to add up. */
#ifndef PMEM_TEST_COMMON_H
#define PMEM_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>

static int t_passed, t_failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			t_passed++;                                        \
		} else {                                                   \
			t_failed++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,      \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

static int finish(void)
{
	printf("RESULT %d %d\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}

#endif
