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

#include <memkind.h>

#include <cstddef>
#include <limits>
#include <new>
#include <stdexcept>
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

    explicit allocator(kinds kind) : kind_(detail::kind_of(kind))
    {}

    allocator(const allocator &other) noexcept = default;

    template <typename U>
    allocator(const allocator<U> &other) noexcept : kind_(other.kind_)
    {}

    allocator(allocator &&other) noexcept = default;

    template <typename U>
    allocator(allocator<U> &&other) noexcept : kind_(other.kind_)
    {}

    allocator &operator=(const allocator &other) noexcept = default;

    template <typename U>
    allocator &operator=(const allocator<U> &other) noexcept
    {
        kind_ = other.kind_;
        return *this;
    }

    allocator &operator=(allocator &&other) noexcept = default;

    template <typename U>
    allocator &operator=(allocator<U> &&other) noexcept
    {
        kind_ = other.kind_;
        return *this;
    }

    ~allocator() = default;

    T *allocate(std::size_t n) const
    {
        if (n == 0 || n > max_size())
            throw std::bad_alloc();
        void *p = memkind_malloc(kind_, n * sizeof(T));
        if (!p)
            throw std::bad_alloc();
        return static_cast<T *>(p);
    }

    void deallocate(T *p, std::size_t) const noexcept
    {
        memkind_free(kind_, p);
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

    memkind_t kind_;
};

template <typename U, typename V>
bool operator==(const allocator<U> &a, const allocator<V> &b) noexcept
{
    return a.kind_ == b.kind_;
}

template <typename U, typename V>
bool operator!=(const allocator<U> &a, const allocator<V> &b) noexcept
{
    return !(a == b);
}

} // namespace static_kind
} // namespace libmemkind

#endif /* LIBMEMKIND_MEMKIND_ALLOCATOR_H */
