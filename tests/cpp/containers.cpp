// Standard containers on libmemkind::pmem::allocator: vector, list, map,
// unordered_map, deque, and a vector of strings whose characters live in the
// same kind through std::scoped_allocator_adaptor. Every value is read back,
// and the containers' memory is checked to lie in the kind's file mapping.
#include <pmem_allocator.h>

#include "common.h"

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <scoped_allocator>
#include <string>
#include <unordered_map>
#include <vector>

template <typename T>
using pmem_alloc = libmemkind::pmem::allocator<T>;

using pmem_string = std::basic_string<char, std::char_traits<char>, pmem_alloc<char>>;

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);
    const std::size_t N = 100000;
    {
        pmem_alloc<int> alloc(dir, 0);

        STEP("std::vector<int>: push_back, read back, memory in the kind's file");
        std::vector<int, pmem_alloc<int>> v(alloc);
        for (std::size_t i = 0; i < N; i++)
            v.push_back(static_cast<int>(i * 3));
        long long sum = 0;
        bool ok = true;
        for (std::size_t i = 0; i < N; i++) {
            ok = ok && v[i] == static_cast<int>(i * 3);
            sum += v[i];
        }
        CHECK(ok);
        CHECK(sum == 3LL * (static_cast<long long>(N) * (N - 1) / 2));
        CHECK(in_kind_file(dir, v.data(), v.size() * sizeof(int)));
        CHECK(v.get_allocator() == alloc);
        v.resize(10);
        v.shrink_to_fit();
        CHECK(v.size() == 10 && v[9] == 27);

        STEP("vector of strings in the kind via std::scoped_allocator_adaptor");
        using outer = std::scoped_allocator_adaptor<pmem_alloc<pmem_string>>;
        std::vector<pmem_string, outer> words(outer{alloc});
        for (int i = 0; i < 1000; i++)
            words.emplace_back(std::string(40 + i % 50, static_cast<char>('a' + i % 26)).c_str());
        ok = true;
        bool inside = true;
        for (int i = 0; i < 1000; i++) {
            const pmem_string &w = words[static_cast<std::size_t>(i)];
            ok = ok && w.size() == static_cast<std::size_t>(40 + i % 50) &&
                 w.front() == 'a' + i % 26 && w.back() == 'a' + i % 26;
            // The element got the kind's allocator, so its characters are in the kind too.
            inside = inside && w.get_allocator() == alloc &&
                     in_kind_file(dir, w.data(), w.size());
        }
        CHECK(ok);
        CHECK(inside);
        CHECK(in_kind_file(dir, words.data()));
        words[5] += "-suffix that makes the string longer than before";
        CHECK(words[5].size() == 45 + 48 && in_kind_file(dir, words[5].data()));

        STEP("std::list<int>");
        std::list<int, pmem_alloc<int>> l(alloc);
        for (int i = 0; i < 10000; i++)
            l.push_back(i);
        l.remove_if([](int x) { return x % 2 == 1; });
        CHECK(l.size() == 5000);
        ok = true;
        int expect = 0;
        for (int x : l) {
            ok = ok && x == expect;
            expect += 2;
        }
        CHECK(ok);
        CHECK(in_kind_file(dir, &l.front()) && in_kind_file(dir, &l.back()));

        STEP("std::map<int, pmem_string> with scoped allocator");
        using map_value = std::pair<const int, pmem_string>;
        using map_alloc = std::scoped_allocator_adaptor<pmem_alloc<map_value>>;
        std::map<int, pmem_string, std::less<int>, map_alloc> m{map_alloc(alloc)};
        for (int i = 0; i < 5000; i++)
            m.emplace(i, std::to_string(i * 7).append(30, 'x').c_str());
        CHECK(m.size() == 5000);
        CHECK(m.at(1234) == (std::to_string(1234 * 7) + std::string(30, 'x')).c_str());
        CHECK(in_kind_file(dir, &*m.find(4999)));
        CHECK(in_kind_file(dir, m.at(4999).data()));
        m.erase(m.begin(), m.find(2500));
        CHECK(m.size() == 2500 && m.begin()->first == 2500);

        STEP("std::unordered_map<long, long>");
        using umap_alloc = pmem_alloc<std::pair<const long, long>>;
        std::unordered_map<long, long, std::hash<long>, std::equal_to<long>, umap_alloc> um(
            16, std::hash<long>(), std::equal_to<long>(), umap_alloc(alloc));
        for (long i = 0; i < 50000; i++)
            um[i * 13] = i;
        ok = true;
        for (long i = 0; i < 50000; i++) {
            auto it = um.find(i * 13);
            ok = ok && it != um.end() && it->second == i;
        }
        CHECK(ok);
        CHECK(um.count(1) == 0);
        CHECK(in_kind_file(dir, &*um.find(13 * 777)));

        STEP("std::deque<double>: both ends");
        std::deque<double, pmem_alloc<double>> d(alloc);
        for (int i = 0; i < 20000; i++) {
            d.push_back(i + 0.5);
            d.push_front(-i - 0.5);
        }
        CHECK(d.size() == 40000);
        CHECK(d.front() == -19999.5 && d.back() == 19999.5);
        CHECK(d[20000] == 0.5 && d[19999] == -0.5);
        CHECK(in_kind_file(dir, &d[123]));
        d.erase(d.begin(), d.begin() + 20000);
        CHECK(d.size() == 20000 && d.front() == 0.5);

        STEP("copying a container copies into the same kind");
        std::vector<int, pmem_alloc<int>> copy(v);
        CHECK(copy == v && copy.get_allocator() == v.get_allocator());
        CHECK(in_kind_file(dir, copy.data()));
    }
    STEP("the kind's file is gone with the last allocator");
    CHECK(count_entries(dir.c_str()) == 0);
    return finish();
}
