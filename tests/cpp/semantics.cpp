// cxx17: allocator semantics of libmemkind::pmem::allocator: copies, rebound
// copies, moves and assignments share the kind and compare equal; allocators
// created separately compare unequal; memory from one copy is freed through
// another; construct/destroy; creation errors throw std::invalid_argument.
#include <pmem_allocator.h>

#include "common.h"

#include <stdexcept>
#include <string>
#include <utility>

using libmemkind::allocation_policy;
using libmemkind::pmem::allocator;

struct counted {
    static int live;
    int value;
    explicit counted(int v) : value(v) { live++; }
    ~counted() { live--; }
};
int counted::live = 0;

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);

    STEP("constructors: const char *, std::string, with a policy");
    allocator<int> a(dir.c_str(), 0);
    allocator<int> b(dir, 0);
    allocator<int> c(dir.c_str(), 0, allocation_policy::CONSERVATIVE);
    allocator<int> d(dir, MEMKIND_PMEM_MIN_SIZE, allocation_policy::DEFAULT);
    CHECK(count_entries(dir.c_str()) == 0); // the files are never visible

    STEP("separately created allocators are unequal");
    CHECK(a != b && !(a == b));
    CHECK(a != c && b != d && c != d);

    STEP("copies and rebound copies are equal and share the kind");
    allocator<int> a2(a);
    allocator<char> ac(a);
    allocator<double> ad = allocator<double>(ac);
    CHECK(a2 == a && ac == a && ad == a && ad == ac);
    CHECK(ac != b);
    int *p = a.allocate(1000);
    for (int i = 0; i < 1000; i++)
        p[i] = i;
    allocator<int>(ac).deallocate(p, 1000); // freed through a rebound copy
    double *q = ad.allocate(10);
    q[9] = 2.5;
    CHECK(q[9] == 2.5);
    a.deallocate(reinterpret_cast<int *>(q), 20);

    STEP("move construction and move assignment keep the kind");
    allocator<int> m(std::move(a2));
    CHECK(m == a);
    allocator<long> ml(std::move(allocator<char>(ac)));
    CHECK(ml == a);
    allocator<int> target(b);
    target = std::move(m);
    CHECK(target == a && target != b);

    STEP("copy assignment, also rebinding");
    allocator<int> x(b);
    x = a;
    CHECK(x == a && x != b);
    allocator<char> y(b);
    y = x;
    CHECK(y == a);
    y = allocator<short>(d);
    CHECK(y == d);

    STEP("construct and destroy");
    allocator<counted> ca(a);
    counted *cp = ca.allocate(3);
    for (int i = 0; i < 3; i++)
        ca.construct(cp + i, 10 * i);
    CHECK(counted::live == 3 && cp[2].value == 20);
    for (int i = 0; i < 3; i++)
        ca.destroy(cp + i);
    CHECK(counted::live == 0);
    ca.deallocate(cp, 3);

    STEP("creation errors throw std::invalid_argument");
    CHECK_THROWS(std::invalid_argument, allocator<int>(dir + "/does/not/exist", 0));
    CHECK_THROWS(std::invalid_argument, allocator<int>(dir, MEMKIND_PMEM_MIN_SIZE - 1));
    CHECK_THROWS(std::invalid_argument,
                 allocator<int>(dir, 0, allocation_policy::MAX));
    CHECK(count_entries(dir.c_str()) == 0);
    return finish();
}
