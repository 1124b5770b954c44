/*
 * hbw::allocator<T>: a C++ standard-library allocator handing out high-bandwidth memory
 * through hbw_malloc()/hbw_free() (memkind 1.14 compatible; link with -lmemkind). Where
 * the memory comes from follows the hbwmalloc policy (hbw_set_policy()); under the default
 * PREFERRED policy a machine without high-bandwidth memory is served standard memory.
 *
 * allocate() throws std::bad_alloc for n == 0, n > max_size() and when out of memory.
 * All instances are interchangeable: they compare equal, and memory from one may be
 * released through any other. Usable from C++03 on.
 *
 * Written for this library; not generated.
 */
#pragma once

#include <hbwmalloc.h>

#include <new>
#include <stddef.h>

#if __cplusplus >= 201103L
#include <utility>
#define HBW_ALLOCATOR_NOTHROW noexcept
#else
#define HBW_ALLOCATOR_NOTHROW throw()
#endif

namespace hbw
{

template <class T> class allocator
{
public:
    typedef T value_type;
    typedef T *pointer;
    typedef const T *const_pointer;
    typedef T &reference;
    typedef const T &const_reference;
    typedef size_t size_type;
    typedef ptrdiff_t difference_type;

    template <class U> struct rebind {
        typedef allocator<U> other;
    };

    allocator() HBW_ALLOCATOR_NOTHROW {}
    allocator(const allocator &) HBW_ALLOCATOR_NOTHROW {}
    template <class U> allocator(const allocator<U> &) HBW_ALLOCATOR_NOTHROW {}
    ~allocator() HBW_ALLOCATOR_NOTHROW {}

    pointer address(reference x) const { return &x; }
    const_pointer address(const_reference x) const { return &x; }

    /* Room for n objects of T from hbw_malloc(); the hint is ignored. */
    pointer allocate(size_type n, const void * /* hint */ = 0)
    {
        if (n == 0 || n > max_size())
            throw std::bad_alloc();
        void *p = hbw_malloc(n * sizeof(T));
        if (p == NULL)
            throw std::bad_alloc();
        return static_cast<pointer>(p);
    }

    void deallocate(pointer p, size_type /* n */) { hbw_free(static_cast<void *>(p)); }

    size_type max_size() const HBW_ALLOCATOR_NOTHROW { return size_type(-1) / sizeof(T); }

    void construct(pointer p, const_reference val) { ::new (static_cast<void *>(p)) T(val); }
#if __cplusplus >= 201103L
    template <class U, class... Args> void construct(U *p, Args &&...args)
    {
        ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
    }
#endif

    void destroy(pointer p) { p->~T(); }
#if __cplusplus >= 201103L
    template <class U> void destroy(U *p) { p->~U(); }
#endif
};

template <class T, class U>
inline bool operator==(const allocator<T> &, const allocator<U> &) HBW_ALLOCATOR_NOTHROW
{
    return true;
}

template <class T, class U>
inline bool operator!=(const allocator<T> &, const allocator<U> &) HBW_ALLOCATOR_NOTHROW
{
    return false;
}

} // namespace hbw

#undef HBW_ALLOCATOR_NOTHROW
