// Threads: concurrent allocation with pattern checks, blocks freed by other threads than the
// ones that allocated them, the max_access_threads limit, Release() and thread exit giving
// a slot back, a pool smaller than threads x segment, and the background thread joined at
// destruction.
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

struct Block {
	char *p;
	uint64_t size, seed;
};

static void concurrent_patterns(const std::string &dir)
{
	STEP("8 threads allocate, fill, check and free, half of it across threads");
	std::string path = dir + "/mt.pool";
	PMemAllocatorConfig c = make_config(64, 16384, 2 << 20, 0.05f);
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 512ULL << 20, 16, false, c);
	REQUIRE(a != nullptr);
	const int T = 8;
	std::mutex m;
	std::deque<Block> handoff; // blocks for another thread to check and free
	std::atomic<uint64_t> bad{0}, failed{0}, misaligned{0};
	std::vector<std::vector<Block>> kept(T);
	std::vector<std::thread> ts;
	for (int t = 0; t < T; t++) {
		ts.emplace_back([&, t] {
			uint64_t r = 0x1234567 + t;
			std::vector<Block> mine;
			for (int i = 0; i < 20000; i++) {
				r = r * 6364136223846793005ULL + 1442695040888963407ULL;
				uint64_t sz = 1 + (r >> 33) % 16384;
				if ((r >> 20) % 4 == 0)
					sz = 1 + sz % 128;
				char *p = static_cast<char *>(a->Allocate(sz));
				if (!p) {
					failed++;
					continue;
				}
				misaligned += (uintptr_t)p % 64 != 0;
				uint64_t seed = ((uint64_t)t << 32) | i;
				fill(p, sz, seed);
				Block b{p, sz, seed};
				if (i % 2) {
					std::lock_guard<std::mutex> g(m);
					handoff.push_back(b);
				} else {
					mine.push_back(b);
				}
				if (i % 3 == 0 && !mine.empty()) {
					Block x = mine[(r >> 40) % mine.size()];
					std::swap(mine[(r >> 40) % mine.size()], mine.back());
					mine.pop_back();
					bad += !intact(x.p, x.size, x.seed);
					a->Free(x.p);
				}
				Block other{nullptr, 0, 0};
				{
					std::lock_guard<std::mutex> g(m);
					if (handoff.size() > 64) {
						other = handoff.front();
						handoff.pop_front();
					}
				}
				if (other.p) {
					bad += !intact(other.p, other.size, other.seed);
					a->Free(other.p);
				}
			}
			kept[t] = mine;
		});
	}
	for (auto &th : ts)
		th.join();
	CHECK_EQ(failed.load(), 0);
	CHECK_EQ(misaligned.load(), 0);
	CHECK_EQ(bad.load(), 0);
	std::vector<Block> all(handoff.begin(), handoff.end());
	for (auto &v : kept)
		all.insert(all.end(), v.begin(), v.end());
	std::sort(all.begin(), all.end(), [](const Block &x, const Block &y) { return x.p < y.p; });
	uint64_t overlaps = 0, corrupt = 0;
	for (size_t i = 0; i < all.size(); i++) {
		if (i && all[i - 1].p + all[i - 1].size > all[i].p)
			overlaps++;
		corrupt += !intact(all[i].p, all[i].size, all[i].seed);
	}
	CHECK_EQ(overlaps, 0);
	CHECK_EQ(corrupt, 0);
	CHECK(all.size() > 10000);
	CHECK_EQ(a->Stats().threads, 0); // every worker's slot went back at its exit
	for (auto &b : all)
		a->Free(b.p);
	CHECK_EQ(a->Stats().threads, 1); // the main thread's, for those frees
	delete a;
	unlink(path.c_str());
}

static void thread_limit(const std::string &dir)
{
	STEP("max_access_threads: the third thread gets nullptr until a slot is given back");
	std::string path = dir + "/limit.pool";
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 64ULL << 20, 2, false,
							   make_config(64, 4096, 1 << 20));
	REQUIRE(a != nullptr);
	std::mutex m;
	std::condition_variable cv;
	int stage = 0, holding = 0;
	auto holder = [&](bool release) {
		void *p = a->Allocate(100);
		std::unique_lock<std::mutex> g(m);
		holding += p != nullptr;
		cv.notify_all();
		cv.wait(g, [&] { return stage >= 1; });
		g.unlock();
		a->Free(p);
		if (release)
			a->Release();
		g.lock();
		holding--;
		cv.notify_all();
		cv.wait(g, [&] { return stage >= 2; });
	};
	std::thread h1(holder, true), h2(holder, false);
	{
		std::unique_lock<std::mutex> g(m);
		cv.wait(g, [&] { return holding == 2; });
	}
	CHECK_EQ(a->Stats().threads, 2);
	void *third = nullptr;
	std::string msg;
	std::thread t3([&] {
		third = a->Allocate(100);
		msg = PMemAllocator::ErrorMessage();
	});
	t3.join();
	CHECK(third == nullptr);
	CHECK(msg.find("max_access_threads") != std::string::npos);
	{
		std::unique_lock<std::mutex> g(m);
		stage = 1;
		cv.notify_all();
		cv.wait(g, [&] { return holding == 0; });
	}
	// h1 called Release(); h2 still holds its slot.
	CHECK_EQ(a->Stats().threads, 1);
	std::thread t4([&] {
		third = a->Allocate(100);
		a->Free(third);
	});
	t4.join();
	CHECK(third != nullptr);
	CHECK_EQ(a->Stats().threads, 1); // t4's slot went back at its exit
	{
		std::lock_guard<std::mutex> g(m);
		stage = 2;
		cv.notify_all();
	}
	h1.join();
	h2.join();
	CHECK_EQ(a->Stats().threads, 0);
	delete a;
	unlink(path.c_str());
}

static void small_pool_many_threads(const std::string &dir)
{
	STEP("pool of 2 segments, 8 threads: each thread gets a share");
	std::string path = dir + "/small.pool";
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 8ULL << 20, 8, false,
							   make_config(64, 4096, 4 << 20));
	REQUIRE(a != nullptr);
	std::atomic<int> ok{0};
	std::atomic<bool> hold{true};
	std::vector<std::thread> ts;
	std::atomic<int> started{0};
	for (int t = 0; t < 8; t++)
		ts.emplace_back([&, t] {
			void *p = a->Allocate(4096);
			if (p) {
				fill(p, 4096, t);
				ok++;
			}
			started++;
			while (hold.load())
				std::this_thread::sleep_for(std::chrono::milliseconds(1));
			if (p && intact(p, 4096, t))
				ok++;
			a->Free(p);
		});
	while (started.load() < 8)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	hold = false;
	for (auto &th : ts)
		th.join();
	CHECK_EQ(ok.load(), 16);
	delete a;
	unlink(path.c_str());
}

static void churn_small_pool(const std::string &dir)
{
	STEP("4 threads fill a small pool to the brim, check, pass half to a neighbour, repeat");
	std::string path = dir + "/churn.pool";
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 24ULL << 20, 4, false,
							   make_config(32, 8192, 1 << 20, 0.01f));
	REQUIRE(a != nullptr);
	const int T = 4, rounds = 6;
	std::mutex m;
	std::vector<std::vector<Block>> inbox(T);
	std::atomic<uint64_t> bad{0}, total{0};
	std::atomic<int> at_barrier{0};
	auto barrier = [&](int n) {
		at_barrier++;
		while (at_barrier.load() < n)
			std::this_thread::yield();
	};
	std::vector<std::thread> ts;
	for (int t = 0; t < T; t++)
		ts.emplace_back([&, t] {
			uint64_t r = 99 + t;
			for (int round = 0; round < rounds; round++) {
				std::vector<Block> mine;
				for (;;) {
					r = r * 6364136223846793005ULL + 1442695040888963407ULL;
					uint64_t sz = 1 + (r >> 33) % 8192;
					char *p = static_cast<char *>(a->Allocate(sz));
					if (!p)
						break;
					uint64_t seed = ((uint64_t)t << 48) | ((uint64_t)round << 40) | mine.size();
					fill(p, sz, seed);
					mine.push_back({p, sz, seed});
				}
				total += mine.size();
				barrier((round * 2 + 1) * T); // everybody is full
				std::vector<Block> give;
				for (size_t i = 0; i < mine.size(); i++) {
					bad += !intact(mine[i].p, mine[i].size, mine[i].seed);
					if (i % 2)
						give.push_back(mine[i]);
					else
						a->Free(mine[i].p);
				}
				{
					std::lock_guard<std::mutex> g(m);
					inbox[(t + 1) % T] = give;
				}
				barrier((round * 2 + 2) * T); // everybody has passed blocks on
				std::vector<Block> got;
				{
					std::lock_guard<std::mutex> g(m);
					got.swap(inbox[t]);
				}
				for (auto &b : got) {
					bad += !intact(b.p, b.size, b.seed);
					a->Free(b.p);
				}
			}
		});
	for (auto &th : ts)
		th.join();
	CHECK_EQ(bad.load(), 0);
	// each round filled most of the pool: 24 MiB in blocks of 4 KiB on average
	CHECK(total.load() > (uint64_t)rounds * 4000);
	pmemallocator_stats s = a->Stats();
	CHECK_EQ(s.threads, 0);
	delete a;
	unlink(path.c_str());
}

static void background_joined(const std::string &dir)
{
	STEP("the background thread runs while the allocator lives and is joined by delete");
	std::string path = dir + "/bg.pool";
	int before = threads_named("pmemalloc-bg");
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, 16ULL << 20, 1, false,
							   make_config(64, 4096, 1 << 20, 0.01f));
	REQUIRE(a != nullptr);
	// the thread names itself once it runs
	for (int i = 0; i < 1000 && threads_named("pmemalloc-bg") != before + 1; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	CHECK_EQ(threads_named("pmemalloc-bg"), before + 1);
	delete a;
	CHECK_EQ(threads_named("pmemalloc-bg"), before);
	unlink(path.c_str());
}

int main()
{
	std::string dir = work_dir("threads");
	concurrent_patterns(dir);
	thread_limit(dir);
	small_pool_many_threads(dir);
	churn_small_pool(dir);
	background_joined(dir);
	return finish();
}
