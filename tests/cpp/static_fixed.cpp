// cxx17: libmemkind::static_kind::allocator over MEMKIND_DEFAULT and
// MEMKIND_REGULAR, and libmemkind::fixed::allocator over a region between
// guard pages: containers keep their values, blocks stay inside the region,
// a full region throws std::bad_alloc, equality follows the kind, and the
// fixed kind goes with its last allocator (a new one over the same region
// works). All three headers are included together.
#include <fixed_allocator.h>
#include <memkind_allocator.h>
#include <pmem_allocator.h>

#include "common.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <list>
#include <map>
#include <new>
#include <stdexcept>
#include <vector>

using libmemkind::kinds;
template <typename T>
using static_alloc = libmemkind::static_kind::allocator<T>;
template <typename T>
using fixed_alloc = libmemkind::fixed::allocator<T>;

alignas(4096) static unsigned char other[1 << 16];

int main()
{
    STEP("static kinds: DEFAULT and REGULAR containers");
    static_alloc<int> def(kinds::DEFAULT), def2(kinds::DEFAULT), reg(kinds::REGULAR);
    CHECK(def == def2 && def != reg);
    static_alloc<char> defc(def);
    CHECK(defc == def && defc != reg);
    {
        std::vector<int, static_alloc<int>> v(def);
        std::list<int, static_alloc<int>> l(reg);
        for (int i = 0; i < 100000; i++) {
            v.push_back(i);
            if (i % 10 == 0)
                l.push_front(i);
        }
        long long sum = 0;
        for (int x : v)
            sum += x;
        CHECK(sum == 100000LL * 99999 / 2);
        CHECK(l.size() == 10000 && l.front() == 99990 && l.back() == 0);
        CHECK(memkind_detect_kind(v.data()) == MEMKIND_DEFAULT);
    }

    STEP("a static kind the machine lacks: allocate throws std::bad_alloc");
    if (memkind_check_available(MEMKIND_HBW) != MEMKIND_SUCCESS) {
        static_alloc<int> hbw(kinds::HBW);
        CHECK(hbw != def);
        CHECK_THROWS(std::bad_alloc, hbw.allocate(10));
    }
    CHECK_THROWS(std::runtime_error, static_alloc<int>(static_cast<kinds>(1000)));

    const long page = sysconf(_SC_PAGESIZE);
    const std::size_t size = 8u << 20;
    auto *map = static_cast<unsigned char *>(mmap(nullptr, size + 2 * page, PROT_READ | PROT_WRITE,
                                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(map != MAP_FAILED);
    REQUIRE(mprotect(map, page, PROT_NONE) == 0);
    REQUIRE(mprotect(map + page + size, page, PROT_NONE) == 0);
    unsigned char *region = map + page;
    auto inside = [&](const void *p, std::size_t n) {
        auto *c = static_cast<const unsigned char *>(p);
        return c >= region && c + n <= region + size;
    };

    STEP("fixed allocator: vector and map inside the region");
    {
        fixed_alloc<int> fa(region, size);
        CHECK(fa == fixed_alloc<long>(fa) && fa != fixed_alloc<int>(other, sizeof other));
        std::vector<int, fixed_alloc<int>> v(fa);
        for (int i = 0; i < 100000; i++)
            v.push_back(i ^ 0x5555);
        bool ok = true;
        for (int i = 0; i < 100000; i++)
            ok = ok && v[static_cast<std::size_t>(i)] == (i ^ 0x5555);
        CHECK(ok);
        CHECK(inside(v.data(), v.size() * sizeof(int)));
        using value = std::pair<const int, double>;
        std::map<int, double, std::less<int>, fixed_alloc<value>> m{fixed_alloc<value>(fa)};
        for (int i = 0; i < 10000; i++)
            m[i] = i * 0.5;
        CHECK(m.size() == 10000 && m.at(4321) == 2160.5);
        CHECK(inside(&*m.find(9999), sizeof(value)));

        STEP("fixed allocator: a full region throws std::bad_alloc");
        std::list<std::array<char, 4000>, fixed_alloc<std::array<char, 4000>>> l{
            fixed_alloc<std::array<char, 4000>>(fa)};
        bool threw = false;
        try {
            for (;;) {
                l.emplace_back();
                l.back().fill(static_cast<char>(l.size()));
            }
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        CHECK(threw);
        CHECK(l.size() > 1000);
        std::size_t n = 0, wrong = 0;
        for (const auto &a : l) {
            n++;
            wrong += a[0] != static_cast<char>(n) || a[3999] != static_cast<char>(n) ||
                     !inside(a.data(), a.size());
        }
        CHECK(wrong == 0);
        CHECK(v[99999] == (99999 ^ 0x5555));
    }

    STEP("fixed allocator: the kind went with the last copy; a new one fits the region");
    {
        fixed_alloc<long> again(region, size);
        std::vector<long, fixed_alloc<long>> v(again);
        v.assign(100000, 77);
        CHECK(inside(v.data(), v.size() * sizeof(long)) && v[5] == 77);
    }
    munmap(map, size + 2 * page);
    return finish();
}
