/*
 * libpmemobj.h -- the umbrella header of our libpmemobj: persistent memory pools holding
 * objects addressed by PMEMoid, with the fail-safe atomic allocator and object iteration.
 * It is source compatible with PMDK 1.12's header of the same name for the parts we
 * implement (pools, atomic API, iteration); transactions are not provided yet.
 */
#ifndef LIBPMEMOBJ_H
#define LIBPMEMOBJ_H 1

#include <libpmemobj/base.h>
#include <libpmemobj/types.h>
#include <libpmemobj/pool_base.h>
#include <libpmemobj/pool.h>
#include <libpmemobj/atomic_base.h>
#include <libpmemobj/atomic.h>
#include <libpmemobj/iterator_base.h>
#include <libpmemobj/iterator.h>

#endif /* LIBPMEMOBJ_H */
