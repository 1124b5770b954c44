/*
 * Bad input: files that are not pools, truncated and corrupted pools, wrong layouts,
 * double opens (same process and another process), impossible sizes, ids of other
 * pools, a full pool and a file-size limit. Each must fail with the documented errno and
 * an error text, never crash, and leave valid pools valid.
 * usage: t_bad WORKDIR
 */
#include <libpmemobj.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../../tests/harness/check.h"

static char dir[512];
static char *P(const char *name)
{
	static char buf[4][640];
	static int k;
	char *b = buf[k++ % 4];
	snprintf(b, 640, "%s/%s", dir, name);
	return b;
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void write_file(const char *p, size_t len, int random_bytes)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char b[4096];
	for (size_t o = 0; o < len; o += sizeof b) {
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = random_bytes ? (char)rand() : 0;
		if (write(fd, b, sizeof b) != (ssize_t)sizeof b)
			break;
	}
	close(fd);
}

static void poke(const char *p, off_t off)
{
	int fd = open(p, O_RDWR);
	unsigned char c;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 0x5a;
		if (pwrite(fd, &c, 1, off) != 1)
			perror("pwrite");
	}
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
	if (system(cmd) != 0)
		perror("cp");
}

#define EXPECT_OPEN_FAIL(path, layout, err) do { \
	errno = 0; \
	PMEMobjpool *p_ = pmemobj_open(path, layout); \
	CHECK(p_ == NULL); \
	CHECK_EQ(errno, err); \
	CHECK(strlen(pmemobj_errormsg()) > 0); \
	printf("    -> %s\n", pmemobj_errormsg()); \
	if (p_) pmemobj_close(p_); \
} while (0)

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	snprintf(dir, sizeof dir, "%s", argv[1]);
	srand(7);

	STEP("a file that is not a pool (small, random, zeros)");
	write_file(P("small"), 16384, 1);
	EXPECT_OPEN_FAIL(P("small"), "x", EINVAL);
	write_file(P("random"), 9 << 20, 1);
	EXPECT_OPEN_FAIL(P("random"), "x", EINVAL);
	CHECK_EQ(pmemobj_check(P("random"), "x"), -1);
	write_file(P("zeros"), 9 << 20, 0);
	EXPECT_OPEN_FAIL(P("zeros"), NULL, EINVAL);
	EXPECT_OPEN_FAIL(P("missing"), "x", ENOENT);
	EXPECT_OPEN_FAIL(dir, "x", EISDIR);

	STEP("a good pool to damage");
	PMEMobjpool *pop = pmemobj_create(P("good"), "lay", 16 << 20, 0644);
	REQUIRE(pop != NULL);
	PMEMoid o;
	CHECK_EQ(pmemobj_alloc(pop, &o, 100, 1, NULL, NULL), 0);
	strcpy(pmemobj_direct(o), "hello");
	pmemobj_persist(pop, pmemobj_direct(o), 6);
	PMEMoid *root = pmemobj_direct(pmemobj_root(pop, sizeof(PMEMoid)));
	*root = o;
	pmemobj_persist(pop, root, sizeof(*root));

	STEP("opened twice in one process: the file lock refuses");
	EXPECT_OPEN_FAIL(P("good"), "lay", EWOULDBLOCK);
	STEP("opened by another process");
	pid_t pid = fork();
	if (pid == 0) {
		PMEMobjpool *q = pmemobj_open(P("good"), "lay");
		_exit(q == NULL && errno == EWOULDBLOCK ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(pmemobj_check(P("good"), "lay"), -1); /* locked by us */

	STEP("an id of another pool");
	PMEMobjpool *other = pmemobj_create(P("other"), "lay", 16 << 20, 0644);
	REQUIRE(other != NULL);
	PMEMoid oo = o;
	errno = 0;
	CHECK_EQ(pmemobj_realloc(other, &oo, 5000, 1), -1);
	CHECK_EQ(errno, EINVAL);
	PMEMoid fake = o;
	fake.pool_uuid_lo ^= 0x1234;
	CHECK(pmemobj_direct(fake) == NULL);
	CHECK(pmemobj_pool_by_oid(fake) == NULL);
	pmemobj_free(&fake); /* unknown pool: ignored */
	CHECK(strcmp(pmemobj_direct(o), "hello") == 0);
	CHECK(pmemobj_pool_by_ptr(&fake) == NULL);
	CHECK(OID_IS_NULL(pmemobj_oid(&fake)));
	pmemobj_close(other);

	STEP("bad sizes and flags for allocations");
	errno = 0;
	CHECK_EQ(pmemobj_alloc(pop, &o, 0, 1, NULL, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(pmemobj_alloc(pop, &o, PMEMOBJ_MAX_ALLOC_SIZE + 1, 1, NULL, NULL), -1);
	CHECK_EQ(errno, ENOMEM);
	errno = 0;
	CHECK_EQ(pmemobj_alloc(pop, &o, 64 << 20, 1, NULL, NULL), -1);
	CHECK_EQ(errno, ENOMEM);
	CHECK(strcmp(pmemobj_direct(o), "hello") == 0); /* destination untouched */
	errno = 0;
	CHECK(OID_IS_NULL(pmemobj_root(other = NULL, 10)));
	CHECK_EQ(errno, EINVAL);

	STEP("double free and free of a non-object do not crash or damage");
	PMEMoid d1, d2;
	CHECK_EQ(pmemobj_alloc(pop, &d1, 64, 2, NULL, NULL), 0);
	d2 = d1;
	pmemobj_free(&d1);
	pmemobj_free(&d2);
	PMEMoid junk = o;
	junk.off += 8;
	pmemobj_free(&junk);
	CHECK(strcmp(pmemobj_direct(o), "hello") == 0);

	STEP("a full pool: ENOMEM, the pool stays consistent, free + refill gets the space back");
	int n1 = 0;
	while (pmemobj_alloc(pop, NULL, 256, 3, NULL, NULL) == 0)
		n1++;
	CHECK_EQ(errno, ENOMEM);
	CHECK(n1 > 30000);
	PMEMoid it, nx;
	POBJ_FOREACH_SAFE(pop, it, nx) {
		if (pmemobj_type_num(it) == 3)
			pmemobj_free(&it);
	}
	int n2 = 0;
	while (pmemobj_alloc(pop, NULL, 256, 3, NULL, NULL) == 0)
		n2++;
	printf("    first fill %d, refill %d\n", n1, n2);
	CHECK(n2 >= n1 - n1 / 100);
	pmemobj_close(pop);
	CHECK_EQ(pmemobj_check(P("good"), "lay"), 1);

	STEP("wrong layout");
	EXPECT_OPEN_FAIL(P("good"), "other", EINVAL);
	CHECK(strstr(pmemobj_errormsg(), "layout") != NULL);
	CHECK_EQ(pmemobj_check(P("good"), "other"), -1);

	STEP("corrupted header, descriptor and heap header (bad checksums)");
	copy_file(P("good"), P("c1"));
	poke(P("c1"), 100);
	EXPECT_OPEN_FAIL(P("c1"), "lay", EINVAL);
	CHECK(strstr(pmemobj_errormsg(), "checksum") != NULL);
	CHECK_EQ(pmemobj_check(P("c1"), "lay"), -1);
	copy_file(P("good"), P("c2"));
	poke(P("c2"), 4096 + 1030);
	EXPECT_OPEN_FAIL(P("c2"), "lay", EINVAL);
	copy_file(P("good"), P("c3"));
	poke(P("c3"), 3153920 + 20);
	EXPECT_OPEN_FAIL(P("c3"), "lay", EINVAL);

	STEP("corrupted chunk header: open refuses, check reports inconsistent");
	copy_file(P("good"), P("c4"));
	poke(P("c4"), 3153920 + 1024 + 64); /* type of the first chunk header */
	EXPECT_OPEN_FAIL(P("c4"), "lay", EINVAL);
	CHECK(strstr(pmemobj_errormsg(), "heap") != NULL);
	CHECK_EQ(pmemobj_check(P("c4"), "lay"), 0);

	STEP("truncated pool");
	copy_file(P("good"), P("trunc"));
	CHECK_EQ(truncate(P("trunc"), 10 << 20), 0);
	EXPECT_OPEN_FAIL(P("trunc"), "lay", EINVAL);
	CHECK_EQ(pmemobj_check(P("trunc"), "lay"), -1);

	STEP("the good pool is still good");
	pop = pmemobj_open(P("good"), "lay");
	REQUIRE(pop != NULL);
	root = pmemobj_direct(pmemobj_root(pop, 0));
	CHECK(strcmp(pmemobj_direct(*root), "hello") == 0);
	pmemobj_close(pop);
	pmemobj_close(NULL);

	STEP("creation: too small, size 0, too large, existing file, long layout");
	errno = 0;
	CHECK(pmemobj_create(P("tiny"), "x", PMEMOBJ_MIN_POOL - 4096, 0644) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(!exists(P("tiny")));
	errno = 0;
	CHECK(pmemobj_create(P("nosize"), "x", 0, 0644) == NULL);
	CHECK_EQ(errno, ENOENT);
	errno = 0;
	CHECK(pmemobj_create(P("huge"), "x", (size_t)1 << 62, 0644) == NULL);
	CHECK(errno == EFBIG || errno == ENOSPC);
	CHECK(!exists(P("huge")));
	errno = 0;
	CHECK(pmemobj_create(P("good"), "x", 16 << 20, 0644) == NULL);
	CHECK_EQ(errno, EEXIST);
	char longl[2000];
	memset(longl, 'l', sizeof longl - 1);
	longl[sizeof longl - 1] = 0;
	errno = 0;
	CHECK(pmemobj_create(P("longl"), longl, 16 << 20, 0644) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(!exists(P("longl")));
	write_file(P("presized"), 16 << 20, 0);
	pop = pmemobj_create(P("presized"), "x", 0, 0644);
	CHECK(pop != NULL);
	if (pop) pmemobj_close(pop);
	errno = 0;
	CHECK(pmemobj_create(P("presized"), "x", 0, 0644) == NULL); /* already a pool */
	CHECK_EQ(errno, EEXIST);

	STEP("file size limit reached while creating (EFBIG, file removed)");
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 12 << 20;
	setrlimit(RLIMIT_FSIZE, &lim);
	errno = 0;
	CHECK(pmemobj_create(P("limited"), "x", 16 << 20, 0644) == NULL);
	CHECK_EQ(errno, EFBIG);
	CHECK(!exists(P("limited")));
	setrlimit(RLIMIT_FSIZE, &old);

	if (argc >= 3) {
		STEP("full file system (%s)", argv[2]);
		char fp[600];
		snprintf(fp, sizeof fp, "%s/full", argv[2]);
		errno = 0;
		CHECK(pmemobj_create(fp, "x", 64 << 20, 0644) == NULL);
		CHECK_EQ(errno, ENOSPC);
		CHECK(!exists(fp));
	}
	return finish();
}
