// Invalid arguments: NewPMemAllocator returns nullptr with a message naming the problem,
// errno from the C call (EINVAL for bad parameters, ENOENT for a missing path), no
// exception, and no file left behind (an existing file given as a devdax path is left as
// it was).
#include "common.hpp"

#include <cerrno>
#include <fcntl.h>

static int count_entries(const std::string &dir)
{
	int n = 0;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return -1;
	while (struct dirent *e = readdir(d))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void expect_rejected(const std::string &dir, const char *what, const std::string &path,
			    uint64_t size, uint32_t threads, bool devdax,
			    const PMemAllocatorConfig &c, const char *needle,
			    int want_errno = EINVAL)
{
	STEP("rejected: %s", what);
	int before = count_entries(dir);
	PMemAllocator *a = nullptr;
	bool threw = false;
	try {
		a = PMemAllocator::NewPMemAllocator(path, size, threads, devdax, c);
	} catch (...) {
		threw = true;
	}
	CHECK(!threw);
	CHECK(a == nullptr);
	const char *msg = PMemAllocator::ErrorMessage();
	CHECK(msg != nullptr && strstr(msg, needle) != nullptr);
	if (msg && !strstr(msg, needle))
		printf("    message: %s (wanted \"%s\")\n", msg, needle);
	CHECK_EQ(count_entries(dir), before);
	delete a;
	// The C call says the same with errno.
	pmemallocator_config cc = {c.bg_thread_interval, c.allocation_unit, c.max_allocation_size,
				   c.segment_size};
	errno = 0;
	CHECK(pmemallocator_new(path.c_str(), size, threads, devdax, &cc) == nullptr);
	CHECK_EQ(errno, want_errno);
	CHECK_EQ(count_entries(dir), before);
}

int main()
{
	setenv("PMEMALLOCATOR_QUIET", "1", 1);
	std::string dir = work_dir("invalid");
	std::string path = dir + "/pool";
	const uint64_t size = 64ULL << 20;
	PMemAllocatorConfig ok = make_config(64, 4096, 1 << 20);

	for (uint32_t unit : {0u, 1u, 4u, 12u, 48u, 100u}) {
		PMemAllocatorConfig c = ok;
		c.allocation_unit = unit;
		c.segment_size = 1 << 20;
		expect_rejected(dir, "unit not a power of two >= 8", path, size, 4, false, c,
				"allocation_unit");
	}
	PMemAllocatorConfig c = ok;
	c.segment_size = (1 << 20) + 32;
	expect_rejected(dir, "segment not a multiple of the unit", path, size, 4, false, c,
			"segment_size");
	c = ok;
	c.segment_size = 0;
	expect_rejected(dir, "segment 0", path, size, 4, false, c, "segment_size");
	c = ok;
	c.max_allocation_size = (1 << 20) + 1;
	expect_rejected(dir, "max allocation above the segment", path, size, 4, false, c,
			"max_allocation_size");
	c = ok;
	c.max_allocation_size = 0;
	expect_rejected(dir, "max allocation 0", path, size, 4, false, c, "max_allocation_size");
	expect_rejected(dir, "pool smaller than a segment", path, (1 << 20) - 1, 4, false, ok,
			"smaller than one segment");
	expect_rejected(dir, "no threads", path, size, 0, false, ok, "max_access_threads");
	expect_rejected(dir, "absurd thread count", path, size, 0xffffffffu, false, ok,
			"max_access_threads");
	for (float t : {0.0f, -1.0f, __builtin_nanf("")}) {
		c = ok;
		c.bg_thread_interval = t;
		expect_rejected(dir, "interval not positive", path, size, 4, false, c,
				"bg_thread_interval");
	}
	expect_rejected(dir, "missing directory", dir + "/no/such/dir/pool", size, 4, false, ok,
			"No such file or directory", ENOENT);
	expect_rejected(dir, "a directory as the pool", dir, size, 4, false, ok,
			"not a regular file");
	expect_rejected(dir, "empty path", "", size, 4, false, ok, "empty");
	expect_rejected(dir, "devdax path that does not exist", dir + "/dax0.0", size, 4, true,
			ok, "No such file", ENOENT);

	STEP("a regular file as a devdax path is rejected and left untouched");
	std::string file = dir + "/regular";
	int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(write(fd, "keep", 4), 4);
	close(fd);
	expect_rejected(dir, "devdax on a regular file", file, size, 4, true, ok,
			"Device DAX");
	struct stat st;
	CHECK(stat(file.c_str(), &st) == 0 && st.st_size == 4);
	expect_rejected(dir, "devdax on a character device that is not DAX", "/dev/null", size,
			4, true, ok, "Device DAX");
	expect_rejected(dir, "fsdax mode on a device", "/dev/null", size, 4, false, ok,
			"not a regular file");

	STEP("NULL arguments of the C functions");
	CHECK(pmemallocator_new(nullptr, size, 1, 0, nullptr) == nullptr);
	errno = 0;
	CHECK(pmemallocator_allocate(nullptr, 64) == nullptr);
	CHECK_EQ(errno, EINVAL);
	pmemallocator_free(nullptr, nullptr);
	pmemallocator_release(nullptr);
	pmemallocator_delete(nullptr);
	CHECK(pmemallocator_addr2offset(nullptr, &st) == PMEMALLOCATOR_NULL_OFFSET);
	CHECK(pmemallocator_offset2addr(nullptr, 0) == nullptr);
	errno = 0;
	CHECK_EQ(pmemallocator_get_stats(nullptr, nullptr), -1);
	CHECK_EQ(errno, EINVAL);

	STEP("a valid config right after works (NULL config means the defaults)");
	pmemallocator *h = pmemallocator_new(path.c_str(), 256ULL << 20, 2, 0, nullptr);
	CHECK(h != nullptr);
	pmemallocator_stats s;
	CHECK_EQ(pmemallocator_get_stats(h, &s), 0);
	CHECK_EQ(s.pool_size, 256ULL << 20);
	void *p = pmemallocator_allocate(h, 65536);
	CHECK(p != nullptr);
	CHECK(pmemallocator_allocate(h, 65537) == nullptr);
	pmemallocator_free(h, p);
	pmemallocator_delete(h);
	unlink(path.c_str());
	return finish();
}
