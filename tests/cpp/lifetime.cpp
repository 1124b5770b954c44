// The kind of a pmem allocator lives exactly as long as some allocator (or a
// container holding one) refers to it: while it lives its unlinked file is
// open, and when the last copy goes the file descriptor is closed and nothing
// is left in the directory. Also when the last copy is a rebound one inside
// a container that outlives the original allocator.
#include <pmem_allocator.h>

#include "common.h"

#include <unistd.h>

#include <map>
#include <memory>
#include <vector>

template <typename T>
using pmem_alloc = libmemkind::pmem::allocator<T>;

// Descriptors that refer to an unlinked file of `dir`.
static int kind_files(const std::string &dir)
{
    char real[PATH_MAX], target[PATH_MAX + 32];
    if (!realpath(dir.c_str(), real))
        return -1;
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (struct dirent *e = readdir(d)) {
        ssize_t r = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (r <= 0)
            continue;
        target[r] = '\0';
        std::string t(target);
        n += t.compare(0, strlen(real) + 1, std::string(real) + "/") == 0 &&
             t.find("(deleted)") != std::string::npos;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    const std::string dir = pmem_dir(argc, argv);
    const int fds = count_fds();

    STEP("one kind: its file lives while copies exist");
    {
        auto a = std::unique_ptr<pmem_alloc<int>>(new pmem_alloc<int>(dir, 0));
        std::vector<int, pmem_alloc<int>> v(*a);
        v.assign(1000, 5);
        CHECK(kind_files(dir) == 1);
        pmem_alloc<char> rebound(*a);
        a.reset(); // the original goes; the vector and the rebound copy remain
        CHECK(kind_files(dir) == 1);
        CHECK(v[999] == 5);
        v.push_back(6);
        CHECK(v.back() == 6);
    }
    CHECK(kind_files(dir) == 0);
    CHECK(count_fds() == fds);
    CHECK(count_entries(dir.c_str()) == 0);

    STEP("a container outliving every named allocator keeps the kind");
    {
        using value = std::pair<const int, int>;
        std::unique_ptr<std::map<int, int, std::less<int>, pmem_alloc<value>>> m;
        {
            pmem_alloc<int> a(dir, 0);
            m.reset(new std::map<int, int, std::less<int>, pmem_alloc<value>>(pmem_alloc<value>(a)));
        }
        CHECK(kind_files(dir) == 1);
        for (int i = 0; i < 1000; i++)
            (*m)[i] = -i;
        CHECK(m->size() == 1000 && m->at(999) == -999);
        m.reset();
        CHECK(kind_files(dir) == 0);
    }
    CHECK(count_fds() == fds);

    STEP("many kinds created and dropped: no descriptor or file left");
    for (int round = 0; round < 50; round++) {
        pmem_alloc<int> a(dir, 0), b(dir, MEMKIND_PMEM_MIN_SIZE);
        std::vector<int, pmem_alloc<int>> v(a), w(b);
        v.assign(10000, round);
        w.assign(10000, -round);
        CHECK(v[round] == round && w[round] == -round);
        CHECK(kind_files(dir) == 2);
    }
    CHECK(kind_files(dir) == 0);
    CHECK(count_fds() == fds);
    CHECK(count_entries(dir.c_str()) == 0);
    return finish();
}
