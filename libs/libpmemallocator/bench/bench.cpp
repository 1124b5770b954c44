// Speed and space figures of PMemAllocator, with a file-backed memkind kind as the reference.
//
//   bench pairs ours|memkind THREADS DIR     Allocate+Free pairs of 64 B-4 KiB; prints ops/s
//   bench space DIR                          fill / free / refill with 256 B blocks
//
// Each thread keeps a window of 32 live blocks: every step frees the oldest and allocates a
// new one of a random size, writing its first and last word. run.sh alternates the two
// allocators round by round and takes medians.
#include "memkind.h"
#include "pmem_allocator.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <time.h>
#include <thread>
#include <unistd.h>
#include <vector>

static const uint64_t kTotalPairs = 16000000;
static const int kWindow = 32;

struct Rng {
	uint64_t s;
	uint64_t next()
	{
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		return s;
	}
};

static uint64_t rand_size(Rng &r) { return 64 + r.next() % (4096 - 64 + 1); }

static double thread_cpu()
{
	timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Returns pairs per second of wall time; *cpu_rate gets pairs per CPU second (the sum of
// the threads' CPU times), which other load on the machine disturbs less.
template <typename A, typename F>
static double run_pairs(int threads, A alloc, F dealloc, double *cpu_rate)
{
	std::atomic<uint64_t> cpu_ns{0};
	uint64_t per = kTotalPairs / threads;
	std::atomic<int> ready{0};
	std::atomic<bool> go{false};
	std::atomic<uint64_t> failures{0};
	std::vector<std::thread> ts;
	for (int t = 0; t < threads; t++) {
		ts.emplace_back([&, t] {
			Rng r{0x9e3779b97f4a7c15ULL * (t + 1)};
			void *win[kWindow] = {};
			ready++;
			while (!go.load())
				;
			double c0 = thread_cpu();
			for (uint64_t i = 0; i < per; i++) {
				int k = i % kWindow;
				if (win[k])
					dealloc(win[k]);
				uint64_t s = rand_size(r);
				void *p = alloc(s);
				win[k] = p;
				if (p == nullptr) {
					failures++;
					continue;
				}
				static_cast<uint64_t *>(p)[0] = i;
				static_cast<char *>(p)[s - 1] = 1;
			}
			for (int k = 0; k < kWindow; k++)
				if (win[k])
					dealloc(win[k]);
			cpu_ns += (uint64_t)((thread_cpu() - c0) * 1e9);
		});
	}
	while (ready.load() < threads)
		std::this_thread::yield();
	auto t0 = std::chrono::steady_clock::now();
	go = true;
	for (auto &th : ts)
		th.join();
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	if (failures.load()) {
		std::fprintf(stderr, "bench: %llu allocations failed\n",
			     (unsigned long long)failures.load());
		std::exit(1);
	}
	*cpu_rate = (double)(per * threads) / (cpu_ns.load() * 1e-9);
	return (double)(per * threads) / secs;
}

static int pairs(const char *which, int threads, const std::string &dir)
{
	double ops, cpu;
	if (std::strcmp(which, "ours") == 0) {
		std::string path = dir + "/pairs.pool";
		PMemAllocatorConfig config; // the defaults: 64 B units, 128 MiB segments
		PMemAllocator *a =
		    PMemAllocator::NewPMemAllocator(path, 8ULL << 30, 32, false, config);
		if (a == nullptr)
			return 1;
		ops = run_pairs(threads, [a](uint64_t s) { return a->Allocate(s); },
				[a](void *p) { a->Free(p); }, &cpu);
		delete a;
		unlink(path.c_str());
	} else {
		memkind_t kind;
		if (memkind_create_pmem(dir.c_str(), 0, &kind) != 0)
			return 1;
		ops = run_pairs(threads,
				[kind](uint64_t s) { return memkind_malloc(kind, s); },
				[kind](void *p) { memkind_free(kind, p); }, &cpu);
		memkind_destroy_kind(kind);
	}
	std::printf("%.0f %.0f\n", ops, cpu);
	return 0;
}

static int space(const std::string &dir)
{
	const uint64_t pool = 1ULL << 30;
	PMemAllocatorConfig config;
	config.bg_thread_interval = 0.5f;
	config.segment_size = 16ULL << 20;
	std::string path = dir + "/space.pool";
	PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, pool, 8, false, config);
	if (a == nullptr)
		return 1;
	std::vector<void *> blocks[2];
	auto fill = [a](std::vector<void *> &v) {
		for (void *p; (p = a->Allocate(256)) != nullptr;)
			v.push_back(p);
	};
	std::thread f0(fill, std::ref(blocks[0])), f1(fill, std::ref(blocks[1]));
	f0.join();
	f1.join();
	uint64_t first = blocks[0].size() + blocks[1].size();
	// The freeing thread stays alive (keeping its small cache) until the refill is done.
	std::atomic<bool> freed{false}, done{false};
	std::thread freer([&] {
		for (auto &v : blocks)
			for (void *p : v)
				a->Free(p);
		freed = true;
		while (!done.load())
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
	});
	while (!freed.load())
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	auto t0 = std::chrono::steady_clock::now();
	std::this_thread::sleep_for(std::chrono::milliseconds(1000)); // 2 intervals
	pmemallocator_stats s = a->Stats();
	std::vector<void *> again;
	std::thread refill(fill, std::ref(again));
	refill.join();
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	done = true;
	freer.join();
	std::printf("fill %.2f%% of the pool (%llu x 256 B)\n", 100.0 * first * 256 / pool,
		    (unsigned long long)first);
	std::printf("refill %.2f%% of the first fill, %.2f s after the frees (2 intervals + refill)\n",
		    100.0 * again.size() / first, secs);
	std::printf("before the refill: %llu bytes pending, %llu background merges, largest free extent %llu\n",
		    (unsigned long long)s.pending_free, (unsigned long long)s.bg_merges,
		    (unsigned long long)s.largest_free);
	std::printf("dram %llu bytes = %.4f%% of the pool; block maps in the pool %.3f%%\n",
		    (unsigned long long)s.dram_size, 100.0 * s.dram_size / pool,
		    100.0 * s.metadata_size / pool);
	delete a;
	unlink(path.c_str());
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && std::strcmp(argv[1], "pairs") == 0)
		return pairs(argv[2], std::atoi(argv[3]), argv[4]);
	if (argc == 3 && std::strcmp(argv[1], "space") == 0)
		return space(argv[2]);
	std::fprintf(stderr, "usage: bench pairs ours|memkind THREADS DIR | bench space DIR\n");
	return 2;
}
