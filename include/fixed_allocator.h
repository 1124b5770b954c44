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

#include <memkind.h>

#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace libmemkind
{

/* Shared by the allocator headers; defined by whichever is included first. */
#ifndef LIBMEMKIND_ALLOCATION_POLICY_DEFINED
#define LIBMEMKIND_ALLOCATION_POLICY_DEFINED
/* How eagerly freed memory of a file-backed kind goes back to the file system. */
enum class allocation_policy
{
    DEFAULT = MEMKIND_MEM_USAGE_POLICY_DEFAULT,
    CONSERVATIVE = MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE,
    MAX
};
#endif

namespace fixed
{
namespace detail
{

/* Creates a kind over a caller's region and destroys it with the last owner. */
class kind_owner
{
public:
    kind_owner(void *addr, std::size_t size) : kind_(nullptr)
    {
        int err = memkind_create_fixed(addr, size, &kind_);
        if (err == MEMKIND_ERROR_INVALID)
            throw std::invalid_argument(
                "libmemkind::fixed::allocator: invalid region for a fixed kind "
                "(memkind error " + std::to_string(err) + ")");
        if (err != MEMKIND_SUCCESS)
            throw std::runtime_error(
                "libmemkind::fixed::allocator: creating the fixed kind failed "
                "(memkind error " + std::to_string(err) + ")");
    }

    ~kind_owner()
    {
        memkind_destroy_kind(kind_);
    }

    kind_owner(const kind_owner &) = delete;
    kind_owner &operator=(const kind_owner &) = delete;

    memkind_t get() const noexcept
    {
        return kind_;
    }

private:
    memkind_t kind_;
};

} // namespace detail

template <typename T>
class allocator
{
public:
    using value_type = T;
    using pointer = T *;
    using const_pointer = const T *;
    using reference = T &;
    using const_reference = const T &;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    template <typename U>
    struct rebind {
        using other = allocator<U>;
    };

    explicit allocator(void *addr, std::size_t size)
        : owner_(std::make_shared<detail::kind_owner>(addr, size))
    {}

    allocator(const allocator &other) noexcept = default;

    template <typename U>
    allocator(const allocator<U> &other) noexcept : owner_(other.owner_)
    {}

    /* Moving copies: a moved-from allocator must still equal the new one and
     * keep working (the standard's allocator requirements), e.g. for a
     * container that is used again after being moved from. */
    allocator(allocator &&other) noexcept : owner_(other.owner_)
    {}

    template <typename U>
    allocator(allocator<U> &&other) noexcept : owner_(other.owner_)
    {}

    allocator &operator=(const allocator &other) noexcept = default;

    template <typename U>
    allocator &operator=(const allocator<U> &other) noexcept
    {
        owner_ = other.owner_;
        return *this;
    }

    allocator &operator=(allocator &&other) noexcept
    {
        owner_ = other.owner_;
        return *this;
    }

    template <typename U>
    allocator &operator=(allocator<U> &&other) noexcept
    {
        owner_ = other.owner_;
        return *this;
    }

    ~allocator() = default;

    T *allocate(std::size_t n) const
    {
        if (n == 0 || n > max_size())
            throw std::bad_alloc();
        void *p = memkind_malloc(owner_->get(), n * sizeof(T));
        if (!p)
            throw std::bad_alloc();
        return static_cast<T *>(p);
    }

    void deallocate(T *p, std::size_t) const noexcept
    {
        memkind_free(owner_->get(), p);
    }

    template <typename U, typename... Args>
    void construct(U *p, Args &&...args) const
    {
        ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
    }

    template <typename U>
    void destroy(U *p) const
    {
        p->~U();
    }

    std::size_t max_size() const noexcept
    {
        return std::numeric_limits<std::size_t>::max() / sizeof(T);
    }

    template <typename U, typename V>
    friend bool operator==(const allocator<U> &a, const allocator<V> &b) noexcept;

private:
    template <typename U>
    friend class allocator;

    std::shared_ptr<detail::kind_owner> owner_;
};

template <typename U, typename V>
bool operator==(const allocator<U> &a, const allocator<V> &b) noexcept
{
    return a.owner_ == b.owner_;
}

template <typename U, typename V>
bool operator!=(const allocator<U> &a, const allocator<V> &b) noexcept
{
    return !(a == b);
}

} // namespace fixed
} // namespace libmemkind

#endif /* LIBMEMKIND_FIXED_ALLOCATOR_H */
