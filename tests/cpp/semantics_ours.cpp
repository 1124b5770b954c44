// ours-only: memkind 1.14's allocators leave a moved-from allocator empty (using it crashes), its fixed kind crashes on NULL, and a full kind does not refill
// Guarantees beyond memkind 1.14: a moved-from allocator still equals the new
// one and works, so a container used again after being moved from is fine;
// containers assign and swap their allocators along with their contents;
// fixed-kind creation errors throw std::invalid_argument; a pmem kind filled
// through a container and cleared gives its whole size again.
#include <fixed_allocator.h>
#include <memkind_allocator.h>
#include <pmem_allocator.h>

#include "common.h"

#include <list>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

template <typename T>
using pmem_alloc = libmemkind::pmem::allocator<T>;

alignas(4096) static unsigned char region[1 << 20];

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);

    STEP("a moved-from allocator equals the new one and still allocates");
    pmem_alloc<int> a(dir, 0), b(dir, 0);
    pmem_alloc<int> src(a);
    pmem_alloc<int> dst(std::move(src));
    CHECK(dst == a && src == a);
    int *p = src.allocate(10);
    p[9] = 9;
    dst.deallocate(p, 10);
    pmem_alloc<long> moved_rebound(std::move(src));
    CHECK(moved_rebound == a && src == a);
    pmem_alloc<int> assigned(b);
    assigned = std::move(src);
    CHECK(assigned == a && src == a);

    STEP("a container used again after being moved from");
    std::vector<int, pmem_alloc<int>> v1(a);
    v1.assign(1000, 1);
    std::vector<int, pmem_alloc<int>> v2(std::move(v1));
    CHECK(v2.size() == 1000 && v2.get_allocator() == a);
    v1.assign(500, 2); // v1's allocator was moved from
    CHECK(v1.size() == 500 && v1[499] == 2 && v1.get_allocator() == a);
    CHECK(in_kind_file(dir, v1.data()));

    STEP("assignment and swap carry the allocator with the contents");
    std::vector<int, pmem_alloc<int>> vb(b);
    vb.assign(10, 3);
    vb = v2;
    CHECK(vb.get_allocator() == a && vb.size() == 1000 && vb[0] == 1);
    std::vector<int, pmem_alloc<int>> vc(b);
    vc.assign(7, 4);
    vc.swap(v1);
    CHECK(vc.get_allocator() == a && v1.get_allocator() == b);
    CHECK(vc.size() == 500 && v1.size() == 7 && v1[6] == 4);

    STEP("fixed allocator creation errors throw std::invalid_argument");
    using fixed = libmemkind::fixed::allocator<int>;
    CHECK_THROWS(std::invalid_argument, fixed(nullptr, 1 << 20));
    CHECK_THROWS(std::invalid_argument, fixed(region, 0));
    {
        // No whole page inside: accepted as by memkind, and nothing fits.
        fixed tiny(region + 1, 4096);
        CHECK_THROWS(std::bad_alloc, tiny.allocate(1));
    }
    {
        fixed f(region, sizeof region);
        CHECK_THROWS(std::invalid_argument, fixed(region + 4096, 4096));
        CHECK_THROWS(std::invalid_argument, fixed(v2.data(), 1 << 16));
    }
    fixed again(region, sizeof region); // the first kind went with its allocator
    CHECK_THROWS(std::bad_alloc, again.allocate(sizeof region));

    STEP("a static kind: allocate(0) throws std::bad_alloc");
    libmemkind::static_kind::allocator<int> def(libmemkind::kinds::DEFAULT);
    CHECK_THROWS(std::bad_alloc, def.allocate(0));

    STEP("a full pmem kind cleared gives its size again, in large blocks");
    {
        pmem_alloc<char> small(dir, MEMKIND_PMEM_MIN_SIZE);
        using block = std::vector<char, pmem_alloc<char>>;
        std::list<block, pmem_alloc<block>> blocks{pmem_alloc<block>(small)};
        auto fill = [&](std::size_t n) {
            try {
                for (;;)
                    blocks.emplace_back(n, 'z', small);
            } catch (const std::bad_alloc &) {
            }
            std::size_t got = blocks.size() * n;
            blocks.clear();
            return got;
        };
        std::size_t first = fill(4096), second = fill(1 << 20);
        std::printf("  %zu bytes in 4 KiB blocks, then %zu in 1 MiB blocks\n", first, second);
        CHECK(first >= MEMKIND_PMEM_MIN_SIZE / 10 * 9);
        CHECK(second >= MEMKIND_PMEM_MIN_SIZE / 10 * 8);
    }
    CHECK(count_entries(dir.c_str()) == 0);
    return finish();
}
