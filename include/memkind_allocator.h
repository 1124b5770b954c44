/*
 * libmemkind::static_kind::allocator<T>: a standard-library allocator over
 * one of memkind's static kinds (MEMKIND_DEFAULT, MEMKIND_REGULAR, ...).
 * Header only, C++11 or later, over the C API of memkind.h.
 *
 * Allocators of the same static kind compare equal; the kinds live as long
 * as the program, so copies need no shared state. Constructing with a value
 * outside libmemkind::kinds throws std::runtime_error; allocate() throws
 * std::bad_alloc when the kind cannot allocate (n is 0, memory is exhausted,
 * or the machine lacks that kind of memory).
 */
#ifndef LIBMEMKIND_MEMKIND_ALLOCATOR_H
#define LIBMEMKIND_MEMKIND_ALLOCATOR_H

#include "memkind_allocator_detail.h"

#include <memkind.h>

#include <stdexcept>

namespace libmemkind
{

/* The static kinds, numbered as in memkind 1.14's memkind_allocator.h. */
enum class kinds
{
    DEFAULT = 0,
    HUGETLB = 1,
    INTERLEAVE = 2,
    HBW = 3,
    HBW_ALL = 4,
    HBW_HUGETLB = 5,
    HBW_ALL_HUGETLB = 6,
    HBW_PREFERRED = 7,
    HBW_PREFERRED_HUGETLB = 8,
    HBW_INTERLEAVE = 9,
    REGULAR = 10,
    DAX_KMEM = 11,
    DAX_KMEM_ALL = 12,
    DAX_KMEM_PREFERRED = 13,
    DAX_KMEM_INTERLEAVE = 14,
    HIGHEST_CAPACITY = 15,
    HIGHEST_CAPACITY_PREFERRED = 16,
    HIGHEST_CAPACITY_LOCAL = 17,
    HIGHEST_CAPACITY_LOCAL_PREFERRED = 18,
    LOWEST_LATENCY_LOCAL = 19,
    LOWEST_LATENCY_LOCAL_PREFERRED = 20,
    HIGHEST_BANDWIDTH_LOCAL = 21,
    HIGHEST_BANDWIDTH_LOCAL_PREFERRED = 22
};

namespace static_kind
{
namespace detail
{

inline memkind_t kind_of(kinds k)
{
    switch (k) {
        case kinds::DEFAULT: return MEMKIND_DEFAULT;
        case kinds::HUGETLB: return MEMKIND_HUGETLB;
        case kinds::INTERLEAVE: return MEMKIND_INTERLEAVE;
        case kinds::HBW: return MEMKIND_HBW;
        case kinds::HBW_ALL: return MEMKIND_HBW_ALL;
        case kinds::HBW_HUGETLB: return MEMKIND_HBW_HUGETLB;
        case kinds::HBW_ALL_HUGETLB: return MEMKIND_HBW_ALL_HUGETLB;
        case kinds::HBW_PREFERRED: return MEMKIND_HBW_PREFERRED;
        case kinds::HBW_PREFERRED_HUGETLB: return MEMKIND_HBW_PREFERRED_HUGETLB;
        case kinds::HBW_INTERLEAVE: return MEMKIND_HBW_INTERLEAVE;
        case kinds::REGULAR: return MEMKIND_REGULAR;
        case kinds::DAX_KMEM: return MEMKIND_DAX_KMEM;
        case kinds::DAX_KMEM_ALL: return MEMKIND_DAX_KMEM_ALL;
        case kinds::DAX_KMEM_PREFERRED: return MEMKIND_DAX_KMEM_PREFERRED;
        case kinds::DAX_KMEM_INTERLEAVE: return MEMKIND_DAX_KMEM_INTERLEAVE;
        case kinds::HIGHEST_CAPACITY: return MEMKIND_HIGHEST_CAPACITY;
        case kinds::HIGHEST_CAPACITY_PREFERRED:
            return MEMKIND_HIGHEST_CAPACITY_PREFERRED;
        case kinds::HIGHEST_CAPACITY_LOCAL: return MEMKIND_HIGHEST_CAPACITY_LOCAL;
        case kinds::HIGHEST_CAPACITY_LOCAL_PREFERRED:
            return MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED;
        case kinds::LOWEST_LATENCY_LOCAL: return MEMKIND_LOWEST_LATENCY_LOCAL;
        case kinds::LOWEST_LATENCY_LOCAL_PREFERRED:
            return MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED;
        case kinds::HIGHEST_BANDWIDTH_LOCAL: return MEMKIND_HIGHEST_BANDWIDTH_LOCAL;
        case kinds::HIGHEST_BANDWIDTH_LOCAL_PREFERRED:
            return MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED;
    }
    throw std::runtime_error("libmemkind::static_kind::allocator: unknown libmemkind::kinds value");
}

} // namespace detail

/* A static kind lives as long as the program: the handle is the kind itself. */
template <typename T>
class allocator : public libmemkind::detail::allocator_base<allocator, T, memkind_t>
{
    using base = libmemkind::detail::allocator_base<allocator, T, memkind_t>;

public:
    /* The base's copies and assignments from allocator<U> (rebinding). */
    using base::base;
    using base::operator=;

    explicit allocator(kinds kind) : base(detail::kind_of(kind))
    {}
};

} // namespace static_kind
} // namespace libmemkind

#endif /* LIBMEMKIND_MEMKIND_ALLOCATOR_H */
