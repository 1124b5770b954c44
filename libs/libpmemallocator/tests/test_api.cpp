// Single-thread semantics: defaults, the pool file, size limits, alignment, data integrity,
// offsets that are file offsets, filling the pool, reusing an existing file.
#include "common.hpp"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <type_traits>
#include <vector>

static void defaults()
{
	STEP("a default config has the documented values; the two names are one type");
	PMemAllocatorConfig c;
	CHECK(c.bg_thread_interval == 1.0f);
	CHECK_EQ(c.allocation_unit, 64);
	CHECK_EQ(c.max_allocation_size, 64 << 10);
	CHECK_EQ(c.segment_size, 128 << 20);
	CHECK((std::is_same<PMemAllocatorConfig, PMemAllocatorHint>::value));
	pmemallocator_config cc;
	memset(&cc, 0xff, sizeof cc);
	pmemallocator_config_default(&cc);
	CHECK(cc.bg_thread_interval == c.bg_thread_interval);
	CHECK_EQ(cc.allocation_unit, c.allocation_unit);
	CHECK_EQ(cc.max_allocation_size, c.max_allocation_size);
	CHECK_EQ(cc.segment_size, c.segment_size);
	CHECK_EQ(sizeof(pmemallocator_config), sizeof(PMemAllocatorConfig));
}

static void basics(const std::string &dir)
{
	STEP("pool file of pmem_size, sparse; limits; alignment; Free(nullptr)");
	std::string path = dir + "/basic.pool";
	const uint64_t size = 256ULL << 20;
	PMemAllocatorConfig c = make_config(64, 4096, 4 << 20);
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, size, 4, false, c);
	REQUIRE(a != nullptr);
	struct stat st;
	REQUIRE(stat(path.c_str(), &st) == 0);
	CHECK_EQ(st.st_size, size);
	CHECK((uint64_t)st.st_blocks * 512 < size / 4); // sparse
	pmemallocator_stats s = a->Stats();
	CHECK_EQ(s.pool_size, size);
	CHECK(s.data_size >= size / 100 * 99);
	CHECK_EQ(s.is_pmem, 0); // not a DAX file system here

	CHECK(a->Allocate(0) == nullptr);
	CHECK(a->Allocate(4097) == nullptr);
	CHECK(a->Allocate(UINT64_MAX) == nullptr);
	void *big = a->Allocate(4096);
	CHECK(big != nullptr);
	a->Free(big);
	a->Free(nullptr);
	int local;
	a->Free(&local); // not ours: ignored
	STEP("interior and misaligned pointers are ignored, the block stays intact");
	char *blk = static_cast<char *>(a->Allocate(256));
	REQUIRE(blk != nullptr);
	fill(blk, 256, 5);
	a->Free(blk + 64);  // unit aligned but inside the block
	a->Free(blk + 1);   // not unit aligned
	a->Free(blk + (size << 1)); // beyond the pool
	char *next = static_cast<char *>(a->Allocate(64));
	CHECK(next != nullptr && (next >= blk + 256 || next + 64 <= blk));
	CHECK(intact(blk, 256, 5));
	a->Free(next);
	a->Free(blk);
	for (uint64_t sz : {1ULL, 7ULL, 8ULL, 63ULL, 64ULL, 65ULL, 100ULL, 1000ULL, 4095ULL}) {
		void *p = a->Allocate(sz);
		CHECK(p != nullptr);
		CHECK_EQ((uintptr_t)p % 64, 0);
		a->Free(p);
	}
	delete a;
	CHECK(exists(path)); // the pool is a named file that stays
	unlink(path.c_str());
}

static void integrity(const std::string &dir)
{
	STEP("blocks do not overlap and keep their data");
	std::string path = dir + "/data.pool";
	PMemAllocatorConfig c = make_config(32, 8192, 1 << 20);
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 64ULL << 20, 2, false, c);
	REQUIRE(a != nullptr);
	struct B {
		char *p;
		uint64_t size, seed;
	};
	std::vector<B> live;
	uint64_t seed = 1, bad = 0, misaligned = 0;
	srand(7);
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 3000; i++) {
			uint64_t sz = 1 + rand() % 8192;
			char *p = static_cast<char *>(a->Allocate(sz));
			if (!p) {
				bad++;
				continue;
			}
			misaligned += (uintptr_t)p % 32 != 0;
			fill(p, sz, seed);
			live.push_back({p, sz, seed++});
		}
		// free every other block, verifying it first
		std::vector<B> keep;
		for (size_t i = 0; i < live.size(); i++) {
			if (!intact(live[i].p, live[i].size, live[i].seed))
				bad++;
			if (i % 2)
				a->Free(live[i].p);
			else
				keep.push_back(live[i]);
		}
		live.swap(keep);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(misaligned, 0);
	std::sort(live.begin(), live.end(), [](const B &x, const B &y) { return x.p < y.p; });
	uint64_t overlaps = 0;
	for (size_t i = 1; i < live.size(); i++)
		overlaps += live[i - 1].p + live[i - 1].size > live[i].p;
	CHECK_EQ(overlaps, 0);
	for (auto &b : live) {
		if (!intact(b.p, b.size, b.seed))
			bad++;
		a->Free(b.p);
	}
	CHECK_EQ(bad, 0);
	delete a;
	unlink(path.c_str());
}

static void offsets(const std::string &dir)
{
	STEP("offsets are byte offsets of the pool file");
	std::string path = dir + "/off.pool";
	const uint64_t size = 32ULL << 20;
	PMemAllocator *a =
	    PMemAllocator::NewPMemAllocator(path, size, 1, false, make_config(64, 4096, 1 << 20));
	REQUIRE(a != nullptr);
	char *p = static_cast<char *>(a->Allocate(200));
	REQUIRE(p != nullptr);
	fill(p, 200, 42);
	uint64_t off = a->addr2offset(p);
	CHECK(off != kPMemNullOffset);
	CHECK(off < size);
	CHECK(a->offset2addr(off) == p);
	CHECK(a->offset2addr<char>(off) == p);
	CHECK(a->addr2offset(nullptr) == kPMemNullOffset);
	int local;
	CHECK(a->addr2offset(&local) == kPMemNullOffset);
	CHECK(a->offset2addr(size) == nullptr);
	CHECK(a->offset2addr(kPMemNullOffset) == nullptr);
	CHECK(a->offset2addr(0) == pmemallocator_base(a->c_handle()));
	// The same bytes are in the file at that offset (MAP_SHARED mapping of the file).
	int fd = open(path.c_str(), O_RDONLY);
	REQUIRE(fd >= 0);
	char buf[200];
	CHECK_EQ(pread(fd, buf, sizeof buf, off), 200);
	CHECK(intact(buf, 200, 42));
	close(fd);
	a->Free(p);
	delete a;
	unlink(path.c_str());
}

static void full(const std::string &dir)
{
	STEP("a full pool returns nullptr; freed space is reused");
	std::string path = dir + "/full.pool";
	const uint64_t size = 16ULL << 20;
	PMemAllocator *a =
	    PMemAllocator::NewPMemAllocator(path, size, 1, false, make_config(64, 4096, 1 << 20));
	REQUIRE(a != nullptr);
	std::vector<void *> v;
	for (void *p; (p = a->Allocate(256)) != nullptr;)
		v.push_back(p);
	CHECK((double)v.size() * 256 >= 0.9 * size);
	CHECK((double)v.size() * 256 <= size);
	CHECK(a->Allocate(256) == nullptr);
	CHECK(strstr(PMemAllocator::ErrorMessage(), "full") != nullptr);
	// the last partial segments may still hold a few smaller blocks
	std::vector<void *> small;
	for (void *p; (p = a->Allocate(64)) != nullptr;)
		small.push_back(p);
	CHECK(small.size() < 1000);
	CHECK(a->Allocate(64) == nullptr);
	a->Free(v.back());
	v.pop_back();
	void *again = a->Allocate(256);
	CHECK(again != nullptr);
	v.push_back(again);
	// Freed small blocks merge into larger ones: free 64 neighbours, then ask for 4 KiB.
	std::sort(v.begin(), v.end());
	CHECK(a->Allocate(4096) == nullptr);
	for (int i = 0; i < 64; i++)
		a->Free(v[1000 + i]);
	a->Release(); // hand the thread's cache to the shared pool
	void *merged = a->Allocate(4096);
	CHECK(merged != nullptr);
	CHECK(merged >= v[1000] && merged <= v[1063]);
	delete a;
	unlink(path.c_str());
}

static void existing_file(const std::string &dir)
{
	STEP("an existing file is resized and reused from scratch");
	std::string path = dir + "/old.pool";
	int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	std::vector<char> junk(1 << 20, 0x5a);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(write(fd, junk.data(), junk.size()), (ssize_t)junk.size());
	close(fd);
	const uint64_t size = 8ULL << 20;
	PMemAllocator *a =
	    PMemAllocator::NewPMemAllocator(path, size, 1, false, make_config(64, 4096, 1 << 20));
	REQUIRE(a != nullptr);
	struct stat st;
	CHECK(stat(path.c_str(), &st) == 0 && (uint64_t)st.st_size == size);
	uint64_t n = 0;
	std::vector<void *> v;
	for (void *p; (p = a->Allocate(1024)) != nullptr; n++) {
		fill(p, 1024, n);
		v.push_back(p);
	}
	CHECK((double)n * 1024 >= 0.9 * size);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++)
		bad += !intact(v[i], 1024, i);
	CHECK_EQ(bad, 0);
	// Sizes come from the block maps: old bytes there would show up now.
	for (void *p : v)
		a->Free(p);
	a->Release();
	CHECK(a->Stats().pending_free >= n * 1024);
	std::vector<void *> w;
	for (void *p; (p = a->Allocate(3000)) != nullptr;) {
		fill(p, 3000, w.size());
		w.push_back(p);
	}
	CHECK((double)w.size() * 3000 >= 0.85 * size);
	for (uint64_t i = 0; i < w.size(); i++)
		bad += !intact(w[i], 3000, i);
	CHECK_EQ(bad, 0);
	delete a;
	unlink(path.c_str());
}

static void unit_alignment(const std::string &dir)
{
	STEP("units larger than the mapping's alignment still align blocks");
	std::string path = dir + "/align.pool";
	for (uint32_t unit : {8u, 4096u, 4u << 20}) {
		uint64_t seg = (uint64_t)unit * 16;
		PMemAllocator *a = PMemAllocator::NewPMemAllocator(
		    path, std::max<uint64_t>(seg * 4, 8 << 20), 1, false,
		    make_config(unit, unit * 2, seg));
		REQUIRE(a != nullptr);
		for (uint64_t sz : {(uint64_t)1, (uint64_t)unit, (uint64_t)unit + 1}) {
			void *p = a->Allocate(sz);
			CHECK(p != nullptr);
			CHECK_EQ((uintptr_t)p % unit, 0);
			if (p)
				memset(p, 1, sz);
		}
		delete a;
		unlink(path.c_str());
	}
}

static void crash_and_reopen(const std::string &dir)
{
	STEP("a process killed while using the pool: the file is reopened and starts empty");
	std::string path = dir + "/crash.pool";
	const uint64_t size = 16ULL << 20;
	PMemAllocatorConfig c = make_config(64, 4096, 1 << 20);
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, size, 2, false, c);
		if (!a)
			_exit(3);
		for (int i = 0; i < 20000; i++) {
			void *p = a->Allocate(512);
			if (!p)
				break;
			memset(p, 0xee, 512);
			if (i % 3 == 0)
				a->Free(p);
		}
		kill(getpid(), SIGKILL); // no destructor, no unmap
		_exit(4);
	}
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(exists(path));
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, size, 2, false, c);
	REQUIRE(a != nullptr);
	uint64_t n = 0;
	std::vector<void *> v;
	for (void *p; (p = a->Allocate(512)) != nullptr; n++) {
		fill(p, 512, n);
		v.push_back(p);
	}
	CHECK((double)n * 512 >= 0.9 * size);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++)
		bad += !intact(v[i], 512, i);
	CHECK_EQ(bad, 0);
	delete a;
	unlink(path.c_str());
}

int main()
{
	std::string dir = work_dir("api");
	defaults();
	basics(dir);
	integrity(dir);
	offsets(dir);
	full(dir);
	existing_file(dir);
	unit_alignment(dir);
	crash_and_reopen(dir);
	return finish();
}
