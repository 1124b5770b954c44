/* pmem_map_file with every flag, the map/write/persist/unmap/re-map/read-back cycle,
 * pmem_is_pmem (also under PMEM_IS_PMEM_FORCE), pmem_unmap, pmem_msync, the deep calls,
 * platform queries, pmem_check_version, and error cases with their exact errno and an
 * error message naming the cause. Argument: a scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../harness/check.h"

static char dir[4096];

static const char *path(const char *name)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* Expects NULL, `err` in errno, outputs untouched, and `word` in the message. */
static void expect_fail(const char *p, size_t len, int flags, int err, const char *word)
{
	size_t ml = 12345;
	int ip = 77;
	errno = 0;
	void *a = pmem_map_file(p, len, flags, 0600, &ml, &ip);
	int e = errno;
	CHECK_MSG(a == NULL, "map %s len=%zu flags=%#x should fail", p ? p : "(null)", len, flags);
	CHECK_MSG(e == err, "map %s flags=%#x: errno %d, want %d", p ? p : "(null)", flags, e, err);
	CHECK_MSG(ml == 12345 && ip == 77, "outputs written on failure");
	const char *m = pmem_errormsg();
	CHECK_MSG(m && strstr(m, word), "message \"%s\" lacks \"%s\"", m ? m : "", word);
	if (a)
		pmem_unmap(a, ml);
}

static void test_errors(void)
{
	unlink(path("missing"));
	expect_fail(path("missing"), 0, 0, ENOENT, "missing");
	expect_fail(path("missing"), 4096, 0, EINVAL, "len");
	expect_fail(path("missing"), 0, PMEM_FILE_CREATE, EINVAL, "len");
	expect_fail(path("missing"), 4096, 1 << 7, EINVAL, "flags");
	expect_fail(path("missing"), 4096, PMEM_FILE_EXCL, EINVAL, "PMEM_FILE_CREATE");
	expect_fail(path("missing"), (size_t)-1, PMEM_FILE_CREATE, EINVAL, "len");
	expect_fail(path("nodir/x"), 4096, PMEM_FILE_CREATE, ENOENT, "nodir");
	expect_fail(path("nodir"), 4096, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, ENOENT, "nodir");
	expect_fail(dir, 0, 0, EISDIR, dir);
	expect_fail(dir, 4096, PMEM_FILE_CREATE, EISDIR, dir);
	expect_fail("/dev/null", 0, 0, EINVAL, "/dev/null");
	expect_fail(NULL, 0, 0, EINVAL, "NULL");
	CHECK_MSG(access(path("missing"), F_OK) != 0, "failed call left a file behind");

	int fd = open(path("empty"), O_CREAT | O_TRUNC | O_WRONLY, 0600);
	close(fd);
	expect_fail(path("empty"), 0, 0, EINVAL, "empty");

	/* EXCL on an existing file. */
	size_t ml;
	void *a = pmem_map_file(path("excl"), 4096, PMEM_FILE_CREATE, 0600, &ml, NULL);
	CHECK_MSG(a != NULL, "create: %s", pmem_errormsg());
	if (a)
		pmem_unmap(a, ml);
	expect_fail(path("excl"), 4096, PMEM_FILE_CREATE | PMEM_FILE_EXCL, EEXIST, "excl");

	/* Read-only file. */
	fd = open(path("ro"), O_CREAT | O_TRUNC | O_WRONLY, 0400);
	CHECK_MSG(write(fd, "x", 1) == 1, "write");
	close(fd);
	if (geteuid() != 0)
		expect_fail(path("ro"), 0, 0, EACCES, "ro");

	/* unmap and msync errors. */
	a = pmem_map_file(path("u"), 8192, PMEM_FILE_CREATE, 0600, &ml, NULL);
	CHECK_MSG(a != NULL, "create u");
	errno = 0;
	CHECK_MSG(pmem_unmap((char *)a + 1, 4096) == -1 && errno == EINVAL, "unaligned unmap errno %d", errno);
	CHECK_MSG(strstr(pmem_errormsg(), "munmap") != NULL, "unmap message: %s", pmem_errormsg());
	errno = 0;
	CHECK_MSG(pmem_unmap(a, 0) == -1 && errno == EINVAL, "zero-length unmap errno %d", errno);
	CHECK_MSG(pmem_unmap(a, ml) == 0, "unmap");
	errno = 0;
	CHECK_MSG(pmem_msync(a, 4096) == -1 && errno == ENOMEM, "msync on unmapped: errno %d", errno);
	CHECK_MSG(strstr(pmem_errormsg(), "msync") != NULL, "msync message: %s", pmem_errormsg());
}

static int force = -1; /* PMEM_IS_PMEM_FORCE, if set */

static void check_is_pmem(void *a, size_t len, int is_pmem, const char *what)
{
	int want = force >= 0 ? force : is_pmem;
	CHECK_MSG(pmem_is_pmem(a, len) == want, "%s: is_pmem %d want %d", what, pmem_is_pmem(a, len), want);
	/* pmem_map_file's *is_pmemp is pmem_is_pmem of the new mapping, so it follows
	 * PMEM_IS_PMEM_FORCE as well. */
	CHECK_MSG(is_pmem == want, "%s: pmem_map_file reported is_pmem %d, want %d", what, is_pmem, want);
	CHECK_MSG(pmem_is_pmem(a, 0) == 0, "%s: zero length counts as pmem", what);
}

static void test_cycle(void)
{
	const char *p = path("cycle");
	unlink(p);
	size_t ml = 0;
	int ip = -1;
	char *a = pmem_map_file(p, 3 * 4096 + 5, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0640, &ml, &ip);
	CHECK_MSG(a != NULL, "create: %s", pmem_errormsg());
	if (!a)
		return;
	CHECK_MSG(ml == 3 * 4096 + 5, "mapped_len %zu", ml);
	CHECK_MSG(ip == 0 || ip == 1, "is_pmem %d", ip);
	CHECK_MSG(((uintptr_t)a & (4096 - 1)) == 0, "address %p not page aligned", (void *)a);
	struct stat st;
	CHECK_MSG(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "mode %o", st.st_mode & 0777);
	CHECK_MSG(st.st_size == (off_t)ml, "file size %lld", (long long)st.st_size);
	check_is_pmem(a, ml, ip, "created file");
	strcpy(a, "hello, persistent memory");
	pmem_memcpy_persist(a + 4096, "second page", 12);
	pmem_memset_persist(a + ml - 5, 'z', 5);
	if (ip)
		pmem_persist(a, 64);
	else
		CHECK_MSG(pmem_msync(a, 64) == 0, "msync: %s", pmem_errormsg());
	CHECK_MSG(pmem_msync(a + 10, 10) == 0, "unaligned msync");
	CHECK_MSG(pmem_msync(a, 0) == 0, "empty msync");
	CHECK_MSG(pmem_unmap(a, ml) == 0, "unmap: %s", pmem_errormsg());
	CHECK_MSG(pmem_is_pmem(a, ml) == (force == 1), "unmapped range still pmem");

	size_t ml2 = 0;
	int ip2 = -1;
	a = pmem_map_file(p, 0, 0, 0, &ml2, &ip2);
	CHECK_MSG(a != NULL, "re-map: %s", pmem_errormsg());
	if (!a)
		return;
	CHECK_MSG(ml2 == ml && ip2 == ip, "re-map len %zu is_pmem %d", ml2, ip2);
	CHECK_MSG(strcmp(a, "hello, persistent memory") == 0, "read back \"%s\"", a);
	CHECK_MSG(strcmp(a + 4096, "second page") == 0, "read back second page");
	CHECK_MSG(memcmp(a + ml - 5, "zzzzz", 5) == 0, "read back tail");
	/* Partial unmap: the rest stays usable and keeps its answer. */
	CHECK_MSG(pmem_unmap(a, 4096) == 0, "partial unmap");
	check_is_pmem(a + 4096, 4096, ip, "after partial unmap");
	CHECK_MSG(strcmp(a + 4096, "second page") == 0, "data after partial unmap");
	CHECK_MSG(pmem_unmap(a + 4096, ml - 4096) == 0, "unmap rest");

	/* CREATE on an existing file resizes it (truncation too). */
	a = pmem_map_file(p, 4096, PMEM_FILE_CREATE, 0600, &ml2, NULL);
	CHECK_MSG(a != NULL && ml2 == 4096, "resize to 4096");
	CHECK_MSG(a && strcmp(a, "hello, persistent memory") == 0, "resize kept data");
	CHECK_MSG(stat(p, &st) == 0 && st.st_size == 4096, "size after resize %lld", (long long)st.st_size);
	if (a)
		pmem_unmap(a, ml2);
	/* No outputs requested. */
	a = pmem_map_file(p, 0, 0, 0, NULL, NULL);
	CHECK_MSG(a != NULL, "map with NULL outputs");
	if (a)
		pmem_unmap(a, 4096);
}

static void test_sparse(void)
{
	const char *p = path("sparse");
	unlink(p);
	size_t len = 64 << 20, ml;
	char *a = pmem_map_file(p, len, PMEM_FILE_CREATE | PMEM_FILE_SPARSE, 0600, &ml, NULL);
	CHECK_MSG(a != NULL, "sparse: %s", pmem_errormsg());
	struct stat st;
	CHECK_MSG(stat(p, &st) == 0 && st.st_size == (off_t)len, "sparse size");
	CHECK_MSG((size_t)st.st_blocks * 512 < len / 2, "sparse file has %lld blocks", (long long)st.st_blocks);
	if (a) {
		a[len - 1] = 1;
		pmem_persist(a + len - 1, 1);
		pmem_unmap(a, ml);
	}
	unlink(p);
	a = pmem_map_file(p, len, PMEM_FILE_CREATE, 0600, &ml, NULL);
	CHECK_MSG(a != NULL, "allocated: %s", pmem_errormsg());
	CHECK_MSG(stat(p, &st) == 0 && (size_t)st.st_blocks * 512 >= len, "not fully allocated: %lld blocks",
		(long long)st.st_blocks);
	if (a)
		pmem_unmap(a, ml);
	unlink(p);
}

static int count_entries(void)
{
	int n = 0;
	char cmd[8300];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	FILE *f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void test_tmpfile(void)
{
	int before = count_entries();
	for (int excl = 0; excl < 2; excl++) {
		size_t ml = 0;
		int ip = -1;
		char *a = pmem_map_file(dir, 1 << 20,
			PMEM_FILE_CREATE | PMEM_FILE_TMPFILE | (excl ? PMEM_FILE_EXCL : 0), 0777, &ml, &ip);
		CHECK_MSG(a != NULL, "tmpfile: %s", pmem_errormsg());
		if (!a)
			continue;
		CHECK_MSG(ml == 1 << 20, "tmpfile len %zu", ml);
		CHECK_MSG(count_entries() == before, "tmpfile is visible in %s", dir);
		memset(a, 0xab, ml);
		pmem_persist(a, ml);
		CHECK_MSG((unsigned char)a[ml - 1] == 0xab, "tmpfile data");
		check_is_pmem(a, ml, ip, "tmpfile");
		CHECK_MSG(pmem_unmap(a, ml) == 0, "tmpfile unmap");
	}
}

static void test_hint(void)
{
	const char *h = getenv("PMEM_MMAP_HINT");
	if (!h)
		return;
	uintptr_t want = (uintptr_t)strtoull(h, NULL, 0);
	size_t ml;
	void *a = pmem_map_file(path("hint"), 1 << 20, PMEM_FILE_CREATE, 0600, &ml, NULL);
	CHECK_MSG(a == (void *)want, "PMEM_MMAP_HINT %p, mapped at %p", (void *)want, a);
	if (a)
		pmem_unmap(a, ml);
}

static void test_misc(void)
{
	CHECK_MSG(pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION) == NULL, "own version");
	CHECK_MSG(pmem_check_version(1, 0) == NULL, "older minor");
	const char *m = pmem_check_version(2, 0);
	CHECK_MSG(m != NULL && strstr(m, "major") != NULL && strstr(m, "2") != NULL, "major mismatch \"%s\"", m ? m : "");
	m = pmem_check_version(1, 2);
	CHECK_MSG(m != NULL && strstr(m, "1.2") != NULL, "minor mismatch \"%s\"", m ? m : "");
	CHECK_MSG(m == pmem_errormsg(), "check_version text is the error message");
	CHECK_MSG(pmem_has_hw_drain() == 0, "hw drain on x86-64");
	int af = pmem_has_auto_flush();
	CHECK_MSG(af == 0 || af == 1, "auto flush %d", af);
	char buf[256];
	memset(buf, 1, sizeof(buf));
	CHECK_MSG(pmem_deep_persist(buf, sizeof(buf)) == 0, "deep_persist on ordinary memory");
	CHECK_MSG(pmem_deep_drain(buf, sizeof(buf)) == 0, "deep_drain on ordinary memory");
	CHECK_MSG(pmem_is_pmem(buf, sizeof(buf)) == (force == 1), "stack is pmem");
	CHECK_MSG(pmem_is_pmem(NULL, 0) == 0, "empty range");
	CHECK_MSG((PMEM_F_MEM_VALID_FLAGS & ~0x3fU) == 0 && PMEM_F_MEM_VALID_FLAGS == 0x3fU, "valid flags");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s scratch-dir\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	const char *f = getenv("PMEM_IS_PMEM_FORCE");
	/* libpmem reads the variable with atoi: "01" forces 1, an empty value 0. */
	if (f && (atoi(f) == 0 || atoi(f) == 1))
		force = atoi(f);
	test_errors();
	test_cycle();
	test_sparse();
	test_tmpfile();
	test_hint();
	test_misc();
	static const char *files[] = {"cycle", "empty", "excl", "ro", "u", "hint", "sparse"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path(files[i]));
	return finish();
}
