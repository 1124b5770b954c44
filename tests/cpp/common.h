// Helpers shared by the C++ test programs of the allocator headers: the pmem
// directory, open descriptors, whether memory lies in a kind's file. The
// assertions (STEP, CHECK, REQUIRE, CHECK_THROWS, finish) are tests/harness/check.h's.
//
// Each program gets a fresh, empty pmem directory as argv[1] (run.sh checks
// it is empty again afterwards).
#ifndef MEMKIND_CPP_TESTS_COMMON_H
#define MEMKIND_CPP_TESTS_COMMON_H

#include "../harness/check.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

static inline std::string pmem_dir(int argc, char **argv)
{
    return argc > 1 ? argv[1] : "/tmp";
}

static inline int count_entries(const char *path)
{
    int n = 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    while (struct dirent *e = readdir(d))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

// Open descriptors of this process (the one opendir() holds not counted).
static inline int count_fds()
{
    return count_entries("/proc/self/fd") - 1;
}

// Whether [p, p+n) lies in a mapping of an unlinked file of `dir`: where the
// blocks of a file-backed kind in that directory live.
static inline bool in_kind_file(const std::string &dir, const void *p,
                                std::size_t n = 1)
{
    char real[PATH_MAX];
    if (!realpath(dir.c_str(), real))
        return false;
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find(std::string(real) + "/") == std::string::npos ||
            line.find("(deleted)") == std::string::npos)
            continue;
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream in(line);
        in >> std::hex >> lo >> dash >> hi;
        if (a >= lo && a + n <= hi)
            return true;
    }
    return false;
}

#endif
