/*
 * libpmemobj/iterator.h -- iteration by type number and the FOREACH loops. The SAFE
 * forms read the next id before the body runs, so the body may free the current one.
 * POBJ_NEXT also accepts (and ignores) a type argument after the id, the spelling
 * older tutorials use.
 */
#ifndef LIBPMEMOBJ_ITERATOR_H
#define LIBPMEMOBJ_ITERATOR_H 1

#include <libpmemobj/iterator_base.h>
#include <libpmemobj/types.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline PMEMoid
POBJ_FIRST_TYPE_NUM(PMEMobjpool *pop, uint64_t type_num)
{
	PMEMoid o = pmemobj_first(pop);
	while (!OID_IS_NULL(o) && pmemobj_type_num(o) != type_num)
		o = pmemobj_next(o);
	return o;
}

static inline PMEMoid
POBJ_NEXT_TYPE_NUM(PMEMoid o)
{
	uint64_t type_num = pmemobj_type_num(o);
	PMEMoid n = o;
	do {
		n = pmemobj_next(n);
	} while (!OID_IS_NULL(n) && pmemobj_type_num(n) != type_num);
	return n;
}

#define POBJ_FIRST(pop, t) ((TOID(t))POBJ_FIRST_TYPE_NUM(pop, TOID_TYPE_NUM(t)))

#define POBJ_NEXT(o, ...) ((__typeof__(o))POBJ_NEXT_TYPE_NUM((o).oid))

#define POBJ_FOREACH(pop, varoid)\
for (_pobj_debug_notice("POBJ_FOREACH", __FILE__, __LINE__),\
	varoid = pmemobj_first(pop);\
		(varoid).off != 0; varoid = pmemobj_next(varoid))

#define POBJ_FOREACH_SAFE(pop, varoid, nvaroid)\
for (_pobj_debug_notice("POBJ_FOREACH_SAFE", __FILE__, __LINE__),\
	varoid = pmemobj_first(pop);\
		(varoid).off != 0 && (nvaroid = pmemobj_next(varoid), 1);\
		varoid = nvaroid)

#define POBJ_FOREACH_TYPE(pop, var)\
POBJ_FOREACH(pop, (var).oid)\
if (pmemobj_type_num((var).oid) == TOID_TYPE_NUM_OF(var))

#define POBJ_FOREACH_SAFE_TYPE(pop, var, nvar)\
POBJ_FOREACH_SAFE(pop, (var).oid, (nvar).oid)\
if (pmemobj_type_num((var).oid) == TOID_TYPE_NUM_OF(var))

#ifdef __cplusplus
}
#endif

#endif /* libpmemobj/iterator.h */
