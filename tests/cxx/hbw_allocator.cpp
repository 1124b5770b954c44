// hbw::allocator<T> with standard containers, through the installed headers and library.
// Runs itself again with MEMKIND_HBW_NODES naming the first memory node, so containers
// really get high-bandwidth-kind memory whose pages lie on that node.
#include <hbw_allocator.h>
#include <memkind.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <new>
#include <string>
#include <unistd.h>
#include <sys/syscall.h>
#include <vector>

#include "../harness/check.h"

static int node_of(const void *p)
{
    int node = -1;
    if (syscall(SYS_get_mempolicy, &node, nullptr, 0UL, p, 3 /* F_NODE | F_ADDR */))
        return -1;
    return node;
}

static int first_memory_node()
{
    for (int n = 0; n < 1024; n++) {
        std::string path = "/sys/devices/system/node/node" + std::to_string(n) + "/meminfo";
        if (FILE *f = std::fopen(path.c_str(), "r")) {
            std::fclose(f);
            return n;
        }
    }
    return 0;
}

template <class F> static bool throws_bad_alloc(F f)
{
    try {
        f();
    } catch (const std::bad_alloc &) {
        return true;
    }
    return false;
}

int main(int, char **argv)
{
    int node = first_memory_node();
    if (!std::getenv("MEMKIND_HBW_NODES")) {
        setenv("MEMKIND_HBW_NODES", std::to_string(node).c_str(), 1);
        execv("/proc/self/exe", argv);
        std::perror("execv");
        return 1;
    }
    std::printf("check: containers on high-bandwidth node %d\n", node);
    CHECK(hbw_check_available() == 0);

    std::vector<long, hbw::allocator<long>> v;
    for (long i = 0; i < 1000000; i++)
        v.push_back(i);
    long sum = 0;
    for (long x : v)
        sum += x;
    CHECK(sum == 999999L * 1000000L / 2);
    CHECK(memkind_detect_kind(v.data()) == MEMKIND_HBW_PREFERRED);
    CHECK(node_of(v.data()) == node && node_of(&v.back()) == node);
    CHECK(hbw_verify_memory_region(v.data(), v.size() * sizeof(long), 0) == 0);

    // Node-based containers rebind the allocator to their node types.
    std::list<int, hbw::allocator<int>> l(1000, 7);
    CHECK(l.size() == 1000 && l.back() == 7);
    CHECK(node_of(&l.front()) == node);
    typedef std::map<int, std::string, std::less<int>,
                     hbw::allocator<std::pair<const int, std::string>>>
        map_t;
    map_t m;
    for (int i = 0; i < 1000; i++)
        m[i] = std::to_string(i);
    CHECK(m.size() == 1000 && m[500] == "500");

    std::printf("check: allocator rules\n");
    hbw::allocator<double> a;
    hbw::allocator<char> b(a);
    CHECK(a == b && !(a != b));
    CHECK(a.max_size() == static_cast<size_t>(-1) / sizeof(double));
    CHECK(throws_bad_alloc([&] { a.allocate(0); }));
    CHECK(throws_bad_alloc([&] { a.allocate(a.max_size() + 1); }));
    CHECK(throws_bad_alloc([&] { a.allocate(a.max_size()); }));
    double *d = a.allocate(10);
    a.construct(d, 2.5);
    CHECK(*d == 2.5 && a.address(*d) == d);
    a.destroy(d);
    // Freed through another instance: all instances are interchangeable.
    hbw::allocator<double>(b).deallocate(d, 10);

    return finish();
}
