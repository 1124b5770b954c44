/*
 * Internal to the C++ allocator headers (pmem_allocator.h, fixed_allocator.h,
 * memkind_allocator.h), which include it; not an interface of its own.
 *
 * It holds what the three allocators share, written once so they cannot drift
 * apart: libmemkind::allocation_policy, the owner of a created kind, and the
 * standard-library allocator machinery as a base class each public
 * allocator<T> derives from, adding only its own constructors.
 */
#ifndef LIBMEMKIND_MEMKIND_ALLOCATOR_DETAIL_H
#define LIBMEMKIND_MEMKIND_ALLOCATOR_DETAIL_H

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

/* How eagerly freed memory of a file-backed kind goes back to the file system. */
enum class allocation_policy
{
    DEFAULT = MEMKIND_MEM_USAGE_POLICY_DEFAULT,
    CONSERVATIVE = MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE,
    MAX
};

namespace detail
{

/* A kind made by one memkind_create_* call, destroyed with its last owner. */
class kind_owner
{
public:
    /* create(&kind) makes the kind and returns memkind's error code. It runs
     * inside the constructor so that make_shared has its memory before the
     * kind exists: a failed allocation cannot leak a kind. An invalid argument
     * throws std::invalid_argument, any other failure std::runtime_error. */
    template <typename Create>
    kind_owner(Create create, const char *invalid_msg, const char *failed_msg)
        : kind_(nullptr)
    {
        int err = create(&kind_);
        if (err == MEMKIND_ERROR_INVALID)
            throw std::invalid_argument(with_code(invalid_msg, err));
        if (err != MEMKIND_SUCCESS)
            throw std::runtime_error(with_code(failed_msg, err));
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
    static std::string with_code(const char *msg, int err)
    {
        return std::string(msg) + " (memkind error " + std::to_string(err) + ")";
    }

    memkind_t kind_;
};

/* The kind behind an allocator's handle: a static kind is held as it is, a
 * created kind through the shared owner that destroys it. */
inline memkind_t handle_kind(memkind_t kind) noexcept
{
    return kind;
}

inline memkind_t handle_kind(const std::shared_ptr<kind_owner> &owner) noexcept
{
    return owner->get();
}

/*
 * The body of Alloc<T>, a public allocator deriving from this class, over
 * the kind its Handle reaches (memkind_t or std::shared_ptr<kind_owner>).
 * Copies, moves and rebound copies share the handle and so compare equal;
 * Alloc adds its constructors and `using allocator_base::allocator_base;`
 * and `using allocator_base::operator=;` for the rebinding copies below.
 */
template <template <typename> class Alloc, typename T, typename Handle>
class allocator_base
{
public:
    using value_type = T;
    using pointer = T *;
    using const_pointer = const T *;
    using reference = T &;
    using const_reference = const T &;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    /* The kind travels with the container's contents. */
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    template <typename U>
    struct rebind {
        using other = Alloc<U>;
    };

    /* No move operations are declared, so moving copies: a moved-from
     * allocator must still equal the new one and keep working (the standard's
     * allocator requirements), e.g. for a container that is used again after
     * being moved from. Defaulted, they stay trivial for a memkind_t handle. */
    allocator_base(const allocator_base &) = default;
    allocator_base &operator=(const allocator_base &) = default;

    /* From Alloc<U> to Alloc<T>, as containers rebind. */
    template <typename U>
    allocator_base(const allocator_base<Alloc, U, Handle> &other) noexcept
        : handle_(other.handle_)
    {}

    template <typename U>
    Alloc<T> &operator=(const allocator_base<Alloc, U, Handle> &other) noexcept
    {
        handle_ = other.handle_;
        return static_cast<Alloc<T> &>(*this);
    }

    T *allocate(std::size_t n) const
    {
        if (n == 0 || n > max_size())
            throw std::bad_alloc();
        void *p = memkind_malloc(handle_kind(handle_), n * sizeof(T));
        if (!p)
            throw std::bad_alloc();
        return static_cast<T *>(p);
    }

    void deallocate(T *p, std::size_t) const noexcept
    {
        memkind_free(handle_kind(handle_), p);
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

protected:
    explicit allocator_base(Handle handle) noexcept : handle_(std::move(handle))
    {}

private:
    template <template <typename> class, typename, typename>
    friend class allocator_base;

    template <template <typename> class A, typename U, typename V, typename H>
    friend bool operator==(const allocator_base<A, U, H> &a,
                           const allocator_base<A, V, H> &b) noexcept;

    Handle handle_;
};

/* Equal when they share the kind. Found by argument-dependent lookup, and
 * only for two allocators of the same public template: a pmem and a fixed
 * allocator do not compare, as before. */
template <template <typename> class A, typename U, typename V, typename H>
bool operator==(const allocator_base<A, U, H> &a, const allocator_base<A, V, H> &b) noexcept
{
    return a.handle_ == b.handle_;
}

template <template <typename> class A, typename U, typename V, typename H>
bool operator!=(const allocator_base<A, U, H> &a, const allocator_base<A, V, H> &b) noexcept
{
    return !(a == b);
}

} // namespace detail
} // namespace libmemkind

#endif /* LIBMEMKIND_MEMKIND_ALLOCATOR_DETAIL_H */
