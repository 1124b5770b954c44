// Rebalancing: a pool filled by two threads and emptied by a third is merged by the
// background thread and refilled by a fourth; a thread's cached space comes back when it
// exits or calls Release().
#include "common.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

static const uint64_t kPool = 64ULL << 20;

// Waits (polling, up to `limit` background intervals) until nothing is pending and the
// background thread has merged at least `merges` times; returns the stats then.
static pmemallocator_stats settle(PMemAllocator *a, uint64_t merges, float interval, int limit)
{
	pmemallocator_stats s = a->Stats();
	for (int i = 0; i < limit * 10; i++) {
		s = a->Stats();
		if (s.pending_free == 0 && s.bg_merges >= merges)
			break;
		std::this_thread::sleep_for(std::chrono::duration<double>(interval / 10));
	}
	return s;
}

static void fill_free_refill(const std::string &dir)
{
	STEP("fill from 2 threads, free from a 3rd, background merge, refill from a 4th");
	std::string path = dir + "/rb.pool";
	const float interval = 0.05f;
	PMemAllocatorConfig c = make_config(64, 4096, 1 << 20, interval);
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, kPool, 8, false, c);
	REQUIRE(a != nullptr);
	std::vector<void *> blocks[2];
	std::atomic<int> filled{0};
	std::atomic<bool> done{false};
	auto filler = [&](std::vector<void *> *v, uint64_t seed) {
		for (void *p; (p = a->Allocate(256)) != nullptr;) {
			fill(p, 256, seed + v->size());
			v->push_back(p);
		}
		filled++;
		// stay alive, holding the slot, until the refill is done
		while (!done.load())
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
	};
	std::thread f0(filler, &blocks[0], 0), f1(filler, &blocks[1], 1ULL << 40);
	while (filled.load() < 2)
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
	uint64_t first = blocks[0].size() + blocks[1].size();
	CHECK((double)first * 256 >= 0.9 * kPool);
	uint64_t bad = 0;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < blocks[k].size(); i++)
			bad += !intact(blocks[k][i], 256, (k ? 1ULL << 40 : 0) + i);
	CHECK_EQ(bad, 0);
	pmemallocator_stats s0 = a->Stats();
	std::atomic<bool> freed{false};
	std::thread freer([&] {
		for (auto &v : blocks)
			for (void *p : v)
				a->Free(p);
		freed = true;
		// stays alive: what it handed over must suffice, its small cache stays with it
		while (!done.load())
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
	});
	while (!freed.load())
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
	pmemallocator_stats s = settle(a, s0.bg_merges + 1, interval, 100);
	CHECK_EQ(s.pending_free, 0);
	CHECK(s.bg_merges > s0.bg_merges);
	// all but the freer's cache (at most 128 KiB of lists + 16 stashed blocks) came back
	CHECK(s.shared_free + (128 << 10) + 16 * 256 >= first * 256);
	// neighbours were merged: the largest extent is far beyond one 256 B block
	CHECK(s.largest_free >= 8 * c.segment_size);
	uint64_t merges_before = s.merges;
	std::vector<void *> again;
	std::thread refill([&] {
		for (void *p; (p = a->Allocate(256)) != nullptr;) {
			fill(p, 256, 7 + again.size());
			again.push_back(p);
		}
	});
	refill.join();
	CHECK((double)again.size() >= 0.95 * first);
	// the refill found merged space; it did not have to merge on its own
	CHECK_EQ(a->Stats().merges, merges_before);
	bad = 0;
	for (size_t i = 0; i < again.size(); i++)
		bad += !intact(again[i], 256, 7 + i);
	CHECK_EQ(bad, 0);
	done = true;
	f0.join();
	f1.join();
	freer.join();
	delete a;
	unlink(path.c_str());
}

static void exit_and_release(const std::string &dir)
{
	STEP("a thread's cached blocks and segment come back at exit and on Release()");
	std::string path = dir + "/exit.pool";
	const float interval = 0.05f;
	PMemAllocatorConfig c = make_config(64, 4096, 4 << 20, interval);
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, kPool, 4, false, c);
	REQUIRE(a != nullptr);
	uint64_t total = a->Stats().shared_free;
	CHECK(total >= a->Stats().data_size);

	// A thread takes a segment, allocates and frees a little (all of it stays cached).
	std::thread t([a] {
		std::vector<void *> v;
		for (int i = 0; i < 100; i++)
			v.push_back(a->Allocate(512));
		for (void *p : v)
			a->Free(p);
	});
	t.join();
	pmemallocator_stats s = settle(a, 1, interval, 100);
	CHECK_EQ(s.threads, 0);
	CHECK_EQ(s.shared_free, total); // every byte is back in the shared pool
	CHECK_EQ(s.largest_free, total); // and merged into one extent again

	// Release() from a live thread does the same.
	pmemallocator_stats during{}, after{};
	std::thread r([&] {
		std::vector<void *> v;
		for (int i = 0; i < 100; i++)
			v.push_back(a->Allocate(300));
		for (void *p : v)
			a->Free(p);
		during = a->Stats();
		a->Release();
		after = settle(a, during.bg_merges + 1, interval, 100);
	});
	r.join();
	CHECK_EQ(during.threads, 1);
	CHECK(during.shared_free < total);
	CHECK_EQ(after.threads, 0);
	CHECK_EQ(after.shared_free, total);
	CHECK_EQ(after.largest_free, total);
	delete a;
	unlink(path.c_str());
}

int main()
{
	std::string dir = work_dir("rebalance");
	fill_free_refill(dir);
	exit_and_release(dir);
	return finish();
}
