// cxx17: several threads, each with its own pmem kind and containers, then
// several threads sharing one kind with a container each; every thread checks
// its own values, and the kinds' files are gone at the end.
#include <pmem_allocator.h>

#include "common.h"

#include <atomic>
#include <map>
#include <thread>
#include <vector>

template <typename T>
using pmem_alloc = libmemkind::pmem::allocator<T>;

static void work(const pmem_alloc<int> &alloc, const std::string &dir, int seed,
                 std::atomic<int> &bad)
{
    std::vector<int, pmem_alloc<int>> v(alloc);
    using value = std::pair<const int, int>;
    std::map<int, int, std::less<int>, pmem_alloc<value>> m{pmem_alloc<value>(alloc)};
    for (int round = 0; round < 5; round++) {
        v.clear();
        m.clear();
        for (int i = 0; i < 20000; i++) {
            v.push_back(i * seed);
            if (i % 4 == 0)
                m[i] = i + seed;
        }
        for (int i = 0; i < 20000; i++)
            if (v[static_cast<std::size_t>(i)] != i * seed)
                bad++;
        for (int i = 0; i < 20000; i += 4)
            if (m.at(i) != i + seed)
                bad++;
        if (!in_kind_file(dir, v.data()) || !in_kind_file(dir, &*m.begin()))
            bad++;
    }
}

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);
    const int T = 8;
    std::atomic<int> bad(0);

    STEP("8 threads, each with its own kind");
    {
        std::vector<std::thread> threads;
        for (int t = 0; t < T; t++)
            threads.emplace_back([&, t] {
                pmem_alloc<int> own(dir, 0);
                work(own, dir, t + 1, bad);
            });
        for (auto &th : threads)
            th.join();
    }
    CHECK(bad == 0);
    CHECK(count_entries(dir.c_str()) == 0);

    STEP("8 threads sharing one kind, a container each");
    {
        pmem_alloc<int> shared(dir, 0);
        std::vector<std::thread> threads;
        for (int t = 0; t < T; t++)
            threads.emplace_back([&, t] { work(shared, dir, t + 100, bad); });
        for (auto &th : threads)
            th.join();
    }
    CHECK(bad == 0);
    CHECK(count_entries(dir.c_str()) == 0);

    STEP("a vector filled in one thread, read and freed in another");
    {
        pmem_alloc<long> alloc(dir, 0);
        auto *v = new std::vector<long, pmem_alloc<long>>(alloc);
        std::thread([&] {
            for (long i = 0; i < 100000; i++)
                v->push_back(i * i);
        }).join();
        std::thread([&] {
            long wrong = 0;
            for (long i = 0; i < 100000; i++)
                wrong += (*v)[static_cast<std::size_t>(i)] != i * i;
            bad += static_cast<int>(wrong);
            delete v;
        }).join();
    }
    CHECK(bad == 0);
    return finish();
}
