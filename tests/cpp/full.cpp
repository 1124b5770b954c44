// A kind of MEMKIND_PMEM_MIN_SIZE bytes filled through containers until
// std::bad_alloc: the containers keep every value stored before, and after
// clearing them the kind gives memory again. allocate(0) and requests beyond
// max_size() throw std::bad_alloc too.
#include <pmem_allocator.h>

#include "common.h"

#include <cstring>
#include <list>
#include <memory>
#include <new>
#include <vector>

template <typename T>
using pmem_alloc = libmemkind::pmem::allocator<T>;

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);
    const std::size_t size = MEMKIND_PMEM_MIN_SIZE;
    pmem_alloc<int> alloc(dir, size);

    STEP("a list of 1 KiB arrays grows until std::bad_alloc");
    struct kib {
        unsigned char bytes[1024];
    };
    std::list<kib, pmem_alloc<kib>> l{pmem_alloc<kib>(alloc)};
    bool threw = false;
    try {
        for (;;) {
            kib k;
            std::memset(k.bytes, static_cast<int>(l.size() & 0xff), sizeof k.bytes);
            l.push_back(k);
        }
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    std::printf("  %zu KiB stored in a %zu MiB kind\n", l.size(), size >> 20);
    CHECK(l.size() * sizeof(kib) >= size / 2);
    CHECK(l.size() * sizeof(kib) <= size);
    std::size_t i = 0, wrong = 0;
    for (const kib &k : l) {
        for (unsigned char b : k.bytes)
            wrong += b != (i & 0xff);
        i++;
    }
    CHECK(wrong == 0);

    STEP("a vector cannot grow while the kind is full; its contents survive");
    std::vector<int, pmem_alloc<int>> v(alloc);
    threw = false;
    try {
        for (int n = 0;; n++)
            v.push_back(n);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    wrong = 0;
    for (std::size_t n = 0; n < v.size(); n++)
        wrong += v[n] != static_cast<int>(n);
    CHECK(wrong == 0);

    STEP("after clearing, the kind gives memory again");
    l.clear();
    std::vector<int, pmem_alloc<int>> w(alloc);
    w.resize(1u << 16, 7);
    CHECK(w.size() == (1u << 16) && w.front() == 7 && w.back() == 7);

    STEP("allocate(0) and allocate(max_size() + 1) throw std::bad_alloc");
    CHECK_THROWS(std::bad_alloc, alloc.allocate(0));
    CHECK_THROWS(std::bad_alloc, alloc.allocate(std::allocator_traits<pmem_alloc<int>>::max_size(alloc) + 1));
    CHECK_THROWS(std::bad_alloc, alloc.allocate(size));
    return finish();
}
