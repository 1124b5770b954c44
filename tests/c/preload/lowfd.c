/* Under the interposer with a file tier in argv[1]: after allocations that made the tier's
 * file, the lowest free descriptor is still 3 (programs and their children expect it), and
 * the tier's descriptors sit high and are not inherited across exec (close-on-exec). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../harness/check.h"

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    char dir[PATH_MAX];
    REQUIRE(realpath(argv[1], dir) != NULL);
    enum { N = 2000 };
    static char *blocks[N];
    STEP("allocate enough for every tier to be used");
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(4096);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i, 4096);
    }
    STEP("the next descriptor the program opens is 3");
    int fd = open("/dev/null", O_RDONLY);
    CHECK_EQ(fd, 3);
    if (fd >= 0)
        close(fd);
    STEP("the tier's descriptors are high and close-on-exec");
    int found = 0;
    for (int d = 3; d < 4096; d++) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", d);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strncmp(target, dir, strlen(dir)) != 0 || target[strlen(dir)] != '/')
            continue;
        found++;
        CHECK(d >= 64);
        CHECK(fcntl(d, F_GETFD) & FD_CLOEXEC);
    }
    CHECK(found >= 1);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    return finish();
}
