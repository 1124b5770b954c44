/*
 * libmemkind::pmem::allocator<T>: a standard-library allocator whose memory
 * comes from a file-backed kind (memkind_create_pmem_with_config). Header
 * only, C++11 or later, over the C API of memkind.h.
 *
 * The allocator owns its kind through shared state: copies and rebound copies
 * use the same kind and compare equal; the kind (and its file) goes away when
 * the last allocator referring to it is destroyed. Allocators of different
 * kinds compare unequal, so containers do not exchange memory between them.
 *
 * Errors: creating the kind throws std::invalid_argument when memkind reports
 * MEMKIND_ERROR_INVALID (bad directory, size below MEMKIND_PMEM_MIN_SIZE,
 * bad policy) and std::runtime_error for any other failure; allocate() throws
 * std::bad_alloc when the kind is full or n is 0.
 */
#ifndef LIBMEMKIND_PMEM_ALLOCATOR_H
#define LIBMEMKIND_PMEM_ALLOCATOR_H

#include "memkind_allocator_detail.h"

#include <memkind.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace libmemkind
{
namespace pmem
{
namespace detail
{

/* memkind_create_pmem_with_config, configured from the constructor's
 * arguments; the configuration is gone again before the result is checked. */
inline int create_kind(const char *dir, std::size_t max_size,
                       allocation_policy policy, memkind_t *kind)
{
    memkind_config *cfg = memkind_config_new();
    if (!cfg)
        throw std::runtime_error(
            "libmemkind::pmem::allocator: out of memory for the kind's configuration");
    memkind_config_set_path(cfg, dir);
    memkind_config_set_size(cfg, max_size);
    memkind_config_set_memory_usage_policy(
        cfg, static_cast<memkind_mem_usage_policy>(policy));
    int err = memkind_create_pmem_with_config(cfg, kind);
    memkind_config_delete(cfg);
    return err;
}

} // namespace detail

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

    explicit allocator(const char *dir, std::size_t max_size)
        : allocator(dir, max_size, allocation_policy::DEFAULT)
    {}

    explicit allocator(const std::string &dir, std::size_t max_size)
        : allocator(dir.c_str(), max_size, allocation_policy::DEFAULT)
    {}

    explicit allocator(const char *dir, std::size_t max_size,
                       allocation_policy policy)
        : base(std::make_shared<libmemkind::detail::kind_owner>(
              [=](memkind_t *kind) {
                  return detail::create_kind(dir, max_size, policy, kind);
              },
              "libmemkind::pmem::allocator: invalid argument for the pmem kind",
              "libmemkind::pmem::allocator: creating the pmem kind failed"))
    {}

    explicit allocator(const std::string &dir, std::size_t max_size,
                       allocation_policy policy)
        : allocator(dir.c_str(), max_size, policy)
    {}
};

} // namespace pmem
} // namespace libmemkind

#endif /* LIBMEMKIND_PMEM_ALLOCATOR_H */
