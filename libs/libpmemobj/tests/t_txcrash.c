/*
 * A PMDK transaction killed half way (built against the system's PMDK only, since our
 * library has no transactions yet): the undo log it leaves must be rolled back by
 * whichever library opens the pool next.
 *   t_txcrash prep PATH    pool with a root of 64 words, all 1
 *   t_txcrash crash PATH   TX_ADD the root, set every word to 2, SIGKILL itself
 */
#include <libpmemobj.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct root { uint64_t v[64]; };

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "prep") == 0) {
		unlink(argv[2]);
		PMEMobjpool *pop = pmemobj_create(argv[2], "tx", 16 << 20, 0644);
		if (!pop)
			return 1;
		struct root *r = pmemobj_direct(pmemobj_root(pop, sizeof(*r)));
		for (int i = 0; i < 64; i++)
			r->v[i] = 1;
		pmemobj_persist(pop, r, sizeof(*r));
		pmemobj_close(pop);
		return 0;
	}
	PMEMobjpool *pop = pmemobj_open(argv[2], "tx");
	if (!pop)
		return 1;
	PMEMoid root = pmemobj_root(pop, sizeof(struct root));
	struct root *r = pmemobj_direct(root);
	TX_BEGIN(pop) {
		pmemobj_tx_add_range(root, 0, sizeof(*r));
		for (int i = 0; i < 64; i++)
			r->v[i] = 2;
		pmemobj_persist(pop, r, sizeof(*r));
		kill(getpid(), SIGKILL);
	} TX_END
	return 3;
}
