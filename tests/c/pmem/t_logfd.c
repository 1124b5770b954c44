/* PMEM_LOG_FILE is opened when libpmem loads, not at the first log line: the file exists
 * and its descriptor is open when main starts, and the descriptors open before and after
 * a series of pmem calls (which write log lines at levels 1 to 3) are the same ones.
 * Whether lines reach the file still depends on PMEM_LOG_LEVEL.
 * Usage: t_logfd <scratch dir>; PMEM_LOG_FILE (and PMEM_LOG_LEVEL) set by the caller. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libpmem.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../harness/check.h"

/* Bit i set when descriptor i is open, for the first 256 (plenty for this program). */
struct fdset {
	unsigned char open[256];
	int count;
};

static void open_fds(struct fdset *s)
{
	memset(s, 0, sizeof(*s));
	DIR *d = opendir("/proc/self/fd");
	REQUIRE(d != NULL);
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		s->count++;
		if (fd >= 0 && fd < 256)
			s->open[fd] = 1;
	}
	closedir(d);
}

/* The descriptor open on `path`, or -1. */
static int fd_of(const struct fdset *s, const char *path)
{
	char want[PATH_MAX];
	if (!realpath(path, want))
		return -1;
	for (int fd = 0; fd < 256; fd++) {
		if (!s->open[fd])
			continue;
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strcmp(target, want) == 0)
			return fd;
	}
	return -1;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s scratch-dir\n", argv[0]);
		return 2;
	}
	/* Nothing of libpmem has been called yet. */
	struct fdset before;
	open_fds(&before);

	const char *env = getenv("PMEM_LOG_FILE");
	REQUIRE(env != NULL && env[0] != 0);
	char log[PATH_MAX];
	size_t n = strlen(env);
	if (env[n - 1] == '-')
		snprintf(log, sizeof(log), "%s%d", env, (int)getpid());
	else
		snprintf(log, sizeof(log), "%s", env);
	const char *lv = getenv("PMEM_LOG_LEVEL");
	int level = lv ? atoi(lv) : 0;

	STEP("log file %s exists before the first pmem call", log);
	CHECK(access(log, F_OK) == 0);
	STEP("its descriptor is already open");
	int logfd = fd_of(&before, log);
	CHECK(logfd >= 0);
	long size0 = file_size(log);

	/* Calls that log: a mapping (level 2), copies, an error (level 1), version check. */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/logfd.%d", argv[1], (int)getpid());
	size_t ml = 0;
	int ip = -1;
	char *a = pmem_map_file(p, 1 << 16, PMEM_FILE_CREATE, 0600, &ml, &ip);
	STEP("map %s", p);
	REQUIRE(a != NULL);
	static char src[4096];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 31 + 7);
	pmem_memcpy_persist(a + 100, src, sizeof(src));
	pmem_memset_persist(a + 8192, 0x5a, 1000);
	CHECK(memcmp(a + 100, src, sizeof(src)) == 0);
	CHECK((unsigned char)a[8192] == 0x5a && (unsigned char)a[9191] == 0x5a && a[9192] == 0);
	if (!ip)
		CHECK(pmem_msync(a, ml) == 0);
	CHECK(pmem_unmap(a, ml) == 0);
	unlink(p);
	errno = 0;
	CHECK(pmem_map_file(p, 0, 0, 0, NULL, NULL) == NULL && errno == ENOENT);
	CHECK(pmem_check_version(PMEM_MAJOR_VERSION + 1, 0) != NULL);

	struct fdset after;
	open_fds(&after);
	STEP("descriptors before %d, after %d", before.count, after.count);
	CHECK_EQ(after.count, before.count);
	CHECK(memcmp(before.open, after.open, sizeof(before.open)) == 0);
	STEP("the log still uses descriptor %d", logfd);
	CHECK_EQ(fd_of(&after, log), logfd);

	/* The level still decides what is written: nothing at 0, the mapping at 2 and up. */
	fflush(NULL);
	long size1 = file_size(log);
	STEP("log size %ld before the calls, %ld after, level %d", size0, size1, level);
	if (level <= 0)
		CHECK_EQ(size1, 0);
	else
		CHECK(size1 > size0);
	FILE *f = fopen(log, "r");
	char line[1024];
	int mapped = 0, errline = 0;
	while (f && fgets(line, sizeof(line), f)) {
		mapped += strstr(line, "<2> mapped ") != NULL;
		errline += strstr(line, "<1> pmem_map_file") != NULL;
	}
	if (f)
		fclose(f);
	CHECK_EQ(mapped, level >= 2 ? 1 : 0);
	CHECK_EQ(errline, level >= 1 ? 1 : 0);
	return finish();
}
