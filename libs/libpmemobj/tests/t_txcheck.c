/*
 * Opens the pool t_txcrash left behind (its transaction killed half way) and checks that
 * recovery rolled the root back to all ones, then that the pool still works.
 */
#include <libpmemobj.h>
#include <stdio.h>
#include "../../../tests/harness/check.h"

struct root { uint64_t v[64]; };

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	PMEMobjpool *pop = pmemobj_open(argv[1], "tx");
	if (!pop)
		printf("open: %s\n", pmemobj_errormsg());
	REQUIRE(pop != NULL);
	struct root *r = pmemobj_direct(pmemobj_root(pop, 0));
	REQUIRE(r != NULL);
	int ones = 0;
	for (int i = 0; i < 64; i++)
		ones += r->v[i] == 1;
	CHECK_EQ(ones, 64);
	PMEMoid o;
	CHECK_EQ(pmemobj_alloc(pop, &o, 100, 1, NULL, NULL), 0);
	pmemobj_free(&o);
	pmemobj_close(pop);
	return finish();
}
