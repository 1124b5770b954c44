/*
 * libpmemobj/types.h -- typed object ids. TOID(t) is a union of a PMEMoid with two
 * phantom members that carry the C type and the type number (as an array length), so
 * D_RW/D_RO return correctly typed pointers and the macros pass the type number along.
 * POBJ_LAYOUT_* number the types of a layout with __COUNTER__.
 */
#ifndef LIBPMEMOBJ_TYPES_H
#define LIBPMEMOBJ_TYPES_H 1

#include <libpmemobj/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOID_NULL(t)	((TOID(t))OID_NULL)
#define PMEMOBJ_MAX_LAYOUT ((size_t)1024)

#if !defined(__clang__) && !defined(__cplusplus)
#define TOID_ASSIGN(o, value)(\
{\
	(o).oid = value;\
	(o);\
})
#else
#define TOID_ASSIGN(o, value) ((o).oid = value, (o))
#endif

#define TOID_EQUALS(lhs, rhs)\
((lhs).oid.off == (rhs).oid.off &&\
	(lhs).oid.pool_uuid_lo == (rhs).oid.pool_uuid_lo)

/* the root object's type number */
#define POBJ_ROOT_TYPE_NUM 0

/* let TOID(struct x), TOID(union x) and TOID(enum x) paste into one identifier */
#define _toid_struct
#define _toid_union
#define _toid_enum

#define _POBJ_LAYOUT_REF(name) (sizeof(_pobj_layout_##name##_ref))

#define TOID(t)\
union _toid_##t##_toid

#ifdef __cplusplus
#define _TOID_CONSTR(t)\
_toid_##t##_toid()\
{ }\
_toid_##t##_toid(PMEMoid _oid) : oid(_oid)\
{ }
#else
#define _TOID_CONSTR(t)
#endif

#define _TOID_DECLARE(t, i)\
typedef uint8_t _toid_##t##_toid_type_num[(i) + 1];\
TOID(t)\
{\
	_TOID_CONSTR(t)\
	PMEMoid oid;\
	t *_type;\
	_toid_##t##_toid_type_num *_type_num;\
}

#define TOID_DECLARE(t, i) _TOID_DECLARE(t, i)
#define TOID_DECLARE_ROOT(t) _TOID_DECLARE(t, POBJ_ROOT_TYPE_NUM)

#define TOID_TYPE_NUM(t) (sizeof(_toid_##t##_toid_type_num) - 1)
#define TOID_TYPE_NUM_OF(o) (sizeof(*(o)._type_num) - 1)

#define TOID_IS_NULL(o)	((o).oid.off == 0)
#define TOID_VALID(o) (TOID_TYPE_NUM_OF(o) == pmemobj_type_num((o).oid))
#define OID_INSTANCEOF(o, t) (TOID_TYPE_NUM(t) == pmemobj_type_num(o))

#define POBJ_LAYOUT_BEGIN(name)\
typedef uint8_t _pobj_layout_##name##_ref[__COUNTER__ + 1]

#define POBJ_LAYOUT_END(name)\
typedef char _pobj_layout_##name##_cnt[__COUNTER__ + 1 -\
_POBJ_LAYOUT_REF(name)];

#define POBJ_LAYOUT_TYPES_NUM(name) (sizeof(_pobj_layout_##name##_cnt) - 1)

#define POBJ_LAYOUT_TOID(name, t)\
TOID_DECLARE(t, (__COUNTER__ + 1 - _POBJ_LAYOUT_REF(name)));

#define POBJ_LAYOUT_ROOT(name, t)\
TOID_DECLARE_ROOT(t);

#define POBJ_LAYOUT_NAME(name) #name

#define TOID_TYPEOF(o) __typeof__(*(o)._type)
#define TOID_OFFSETOF(o, field) offsetof(TOID_TYPEOF(o), field)

#ifndef __cplusplus
#define DIRECT_RW(o) (\
{__typeof__(o) _o; _o._type = NULL; (void)_o;\
(__typeof__(*(o)._type) *)pmemobj_direct((o).oid); })
#define DIRECT_RO(o) ((const __typeof__(*(o)._type) *)pmemobj_direct((o).oid))
#else
#define DIRECT_RW(o) \
	(reinterpret_cast < __typeof__((o)._type) > (pmemobj_direct((o).oid)))
#define DIRECT_RO(o) \
	(reinterpret_cast < const __typeof__((o)._type) > \
	(pmemobj_direct((o).oid)))
#endif

#define D_RW	DIRECT_RW
#define D_RO	DIRECT_RO

#ifdef __cplusplus
}
#endif

#endif /* libpmemobj/types.h */
