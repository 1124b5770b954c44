/*
 * The per-thread pool cache read by the inline pmemobj_direct of libpmemobj/base.h.
 * Thread-local data cannot be defined from stable Rust, so this one definition is C;
 * the library itself never reads it.
 */
#include <stdint.h>

struct pmemobjpool;

__thread struct _pobj_pcache {
	struct pmemobjpool *pop;
	uint64_t uuid_lo;
	int invalidate;
} _pobj_cached_pool;
