/*
 * libpmemobj/base.h -- the basic types of the object store: the pool handle, the
 * persistent object id (PMEMoid, two 64-bit words: pool id and offset), allocation
 * flags, the persistence helpers and the inline id-to-pointer translation.
 * The translation reads the per-thread pool cache `_pobj_cached_pool` and the global
 * generation counter `_pobj_cache_invalidate`, both exported by the library.
 */
#ifndef LIBPMEMOBJ_BASE_H
#define LIBPMEMOBJ_BASE_H 1

#ifndef __STDC_LIMIT_MACROS
#define __STDC_LIMIT_MACROS
#endif

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmemobjpool PMEMobjpool;

/* largest object one allocation can give */
#define PMEMOBJ_MAX_ALLOC_SIZE ((size_t)0x3FFDFFFC0)

/* allocation flags (low bits), class id and arena id (high 16-bit fields) */
#define POBJ_FLAG_ZERO			(((uint64_t)1) << 0)
#define POBJ_FLAG_NO_FLUSH		(((uint64_t)1) << 1)
#define POBJ_FLAG_NO_SNAPSHOT		(((uint64_t)1) << 2)
#define POBJ_FLAG_ASSUME_INITIALIZED	(((uint64_t)1) << 3)
#define POBJ_FLAG_TX_NO_ABORT		(((uint64_t)1) << 4)

#define POBJ_CLASS_ID(id)	(((uint64_t)(id)) << 48)
#define POBJ_ARENA_ID(id)	(((uint64_t)(id)) << 32)

#define POBJ_XALLOC_CLASS_MASK	((((uint64_t)1 << 16) - 1) << 48)
#define POBJ_XALLOC_ARENA_MASK	((((uint64_t)1 << 16) - 1) << 32)
#define POBJ_XALLOC_ZERO	POBJ_FLAG_ZERO
#define POBJ_XALLOC_NO_FLUSH	POBJ_FLAG_NO_FLUSH
#define POBJ_XALLOC_NO_ABORT	POBJ_FLAG_TX_NO_ABORT

/* flags of pmemobj_memcpy/memmove/memset and the x-persist functions */
#define PMEMOBJ_F_MEM_NODRAIN		(1U << 0)
#define PMEMOBJ_F_MEM_NONTEMPORAL	(1U << 1)
#define PMEMOBJ_F_MEM_TEMPORAL		(1U << 2)
#define PMEMOBJ_F_MEM_WC		(1U << 3)
#define PMEMOBJ_F_MEM_WB		(1U << 4)
#define PMEMOBJ_F_MEM_NOFLUSH		(1U << 5)
#define PMEMOBJ_F_RELAXED		(1U << 31)

typedef struct pmemoid {
	uint64_t pool_uuid_lo;
	uint64_t off;
} PMEMoid;

static const PMEMoid OID_NULL = { 0, 0 };
#define OID_IS_NULL(o)	((o).off == 0)
#define OID_EQUALS(lhs, rhs)\
((lhs).off == (rhs).off &&\
	(lhs).pool_uuid_lo == (rhs).pool_uuid_lo)

PMEMobjpool *pmemobj_pool_by_ptr(const void *addr);
PMEMobjpool *pmemobj_pool_by_oid(PMEMoid oid);

/* bumped by the library whenever a pool is closed */
extern int _pobj_cache_invalidate;
extern __thread struct _pobj_pcache {
	PMEMobjpool *pop;
	uint64_t uuid_lo;
	int invalidate;
} _pobj_cached_pool;

static inline void *
pmemobj_direct_inline(PMEMoid oid)
{
	if (oid.off == 0 || oid.pool_uuid_lo == 0)
		return NULL;

	struct _pobj_pcache *c = &_pobj_cached_pool;
	if (c->invalidate != _pobj_cache_invalidate ||
			c->uuid_lo != oid.pool_uuid_lo) {
		c->invalidate = _pobj_cache_invalidate;
		c->pop = pmemobj_pool_by_oid(oid);
		if (c->pop == NULL) {
			c->uuid_lo = 0;
			return NULL;
		}
		c->uuid_lo = oid.pool_uuid_lo;
	}
	return (void *)((uintptr_t)c->pop + oid.off);
}

#if defined(_PMEMOBJ_INTRNL) || defined(PMEMOBJ_DIRECT_NON_INLINE)
void *pmemobj_direct(PMEMoid oid);
#else
#define pmemobj_direct pmemobj_direct_inline
#endif

PMEMoid pmemobj_oid(const void *addr);
size_t pmemobj_alloc_usable_size(PMEMoid oid);
uint64_t pmemobj_type_num(PMEMoid oid);

void *pmemobj_memcpy_persist(PMEMobjpool *pop, void *dest, const void *src,
	size_t len);
void *pmemobj_memset_persist(PMEMobjpool *pop, void *dest, int c, size_t len);
void *pmemobj_memcpy(PMEMobjpool *pop, void *dest, const void *src, size_t len,
	unsigned flags);
void *pmemobj_memmove(PMEMobjpool *pop, void *dest, const void *src, size_t len,
	unsigned flags);
void *pmemobj_memset(PMEMobjpool *pop, void *dest, int c, size_t len,
	unsigned flags);
void pmemobj_persist(PMEMobjpool *pop, const void *addr, size_t len);
int pmemobj_xpersist(PMEMobjpool *pop, const void *addr, size_t len,
	unsigned flags);
void pmemobj_flush(PMEMobjpool *pop, const void *addr, size_t len);
int pmemobj_xflush(PMEMobjpool *pop, const void *addr, size_t len,
	unsigned flags);
void pmemobj_drain(PMEMobjpool *pop);

/* API version of this header */
#define PMEMOBJ_MAJOR_VERSION 2
#define PMEMOBJ_MINOR_VERSION 4

const char *pmemobj_check_version(unsigned major_required,
	unsigned minor_required);

void pmemobj_set_funcs(
	void *(*malloc_func)(size_t size),
	void (*free_func)(void *ptr),
	void *(*realloc_func)(void *ptr, size_t size),
	char *(*strdup_func)(const char *s));

typedef int (*pmemobj_constr)(PMEMobjpool *pop, void *ptr, void *arg);

/* called by the iteration macros; a no-op outside debug builds */
void _pobj_debug_notice(const char *func_name, const char *file, int line);

const char *pmemobj_errormsg(void);

#ifdef __cplusplus
}
#endif

#endif /* libpmemobj/base.h */
