/*
 * libmemkind::fixed::allocator<T>: a standard-library allocator whose memory
 * comes from a region the program supplies (memkind_create_fixed). Header
 * only, C++11 or later, over the C API of memkind.h.
 *
 * The allocator owns its kind through shared state: copies and rebound copies
 * use the same kind and compare equal; the kind is destroyed when the last
 * allocator referring to it goes, and the region stays the program's (it must
 * stay mapped until then). Allocators of different kinds compare unequal.
 *
 * Errors: creating the kind throws std::invalid_argument when memkind reports
 * MEMKIND_ERROR_INVALID (NULL address, a region without one whole page, or
 * one overlapping another kind's memory) and std::runtime_error for any other
 * failure; allocate() throws std::bad_alloc when the region is full or n is 0.
 */
#ifndef LIBMEMKIND_FIXED_ALLOCATOR_H
#define LIBMEMKIND_FIXED_ALLOCATOR_H

#include "memkind_allocator_detail.h"

#include <memkind.h>

#include <cstddef>
#include <memory>

namespace libmemkind
{
namespace fixed
{

template <typename T>
class allocator
    : public libmemkind::detail::allocator_base<
          allocator, T, std::shared_ptr<libmemkind::detail::kind_owner>>
{
    using base = libmemkind::detail::allocator_base<
        allocator, T, std::shared_ptr<libmemkind::detail::kind_owner>>;

public:
    /* The base's copies and assignments from allocator<U> (rebinding). */
    using base::base;
    using base::operator=;

    explicit allocator(void *addr, std::size_t size)
        : base(std::make_shared<libmemkind::detail::kind_owner>(
              [=](memkind_t *kind) { return memkind_create_fixed(addr, size, kind); },
              "libmemkind::fixed::allocator: invalid region for a fixed kind",
              "libmemkind::fixed::allocator: creating the fixed kind failed"))
    {}
};

} // namespace fixed
} // namespace libmemkind

#endif /* LIBMEMKIND_FIXED_ALLOCATOR_H */
