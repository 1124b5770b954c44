/*
 * PMemAllocator: KVDK-style allocator over one persistent-memory file (C++ interface).
 *
 * Not memkind's pmem_allocator.h (an STL allocator): this is the standalone PMemAllocator
 * of KVDK's design, a class over the C functions of pmemallocator.h. Build with
 * `pkg-config --cflags --libs pmemallocator`.
 *
 *   PMemAllocatorConfig config;            // or PMemAllocatorHint: the same type
 *   PMemAllocator *a = PMemAllocator::NewPMemAllocator(path, size, threads, false, config);
 *   void *p = a->Allocate(1024);
 *   a->Free(p);
 *   delete a;
 */
#ifndef PMEM_ALLOCATOR_HPP
#define PMEM_ALLOCATOR_HPP

#include <cstdint>
#include <new>
#include <string>

#include "pmemallocator.h"

// bg_thread_interval: seconds between background merges of freed space (> 0)
// allocation_unit: smallest unit, a power of two >= 8
// max_allocation_size: largest request (recommended <= allocation_unit * 1024)
// segment_size: space a thread takes at a time; >= max_allocation_size (recommended
//   >= 128x) and a multiple of allocation_unit
struct PMemAllocatorConfig {
	float bg_thread_interval = 1.0f;
	uint32_t allocation_unit = 64;
	uint64_t max_allocation_size = 64ULL << 10;
	uint64_t segment_size = 128ULL << 20;
};

// The name used by the README's example.
typedef PMemAllocatorConfig PMemAllocatorHint;

constexpr uint64_t kPMemNullOffset = PMEMALLOCATOR_NULL_OFFSET;

class PMemAllocator {
public:
	// nullptr (with a message on stderr and in ErrorMessage()) for invalid arguments or a
	// pool that cannot be mapped. Never throws.
	static PMemAllocator *NewPMemAllocator(const std::string &pmem_file, uint64_t pmem_size,
					       uint32_t max_access_threads, bool devdax_mode,
					       const PMemAllocatorConfig &config) noexcept
	{
		pmemallocator_config c;
		c.bg_thread_interval = config.bg_thread_interval;
		c.allocation_unit = config.allocation_unit;
		c.max_allocation_size = config.max_allocation_size;
		c.segment_size = config.segment_size;
		pmemallocator *h = pmemallocator_new(pmem_file.c_str(), pmem_size,
						     max_access_threads, devdax_mode ? 1 : 0, &c);
		if (h == nullptr)
			return nullptr;
		PMemAllocator *a = new (std::nothrow) PMemAllocator(h);
		if (a == nullptr)
			pmemallocator_delete(h);
		return a;
	}

	// Joins the background thread and unmaps the pool.
	~PMemAllocator() { pmemallocator_delete(h_); }

	PMemAllocator(const PMemAllocator &) = delete;
	PMemAllocator &operator=(const PMemAllocator &) = delete;

	// Aligned to allocation_unit; nullptr for 0, above max_allocation_size, when full, or
	// for a thread beyond max_access_threads.
	void *Allocate(uint64_t size) noexcept { return pmemallocator_allocate(h_, size); }

	// nullptr and foreign addresses are ignored.
	void Free(void *addr) noexcept { pmemallocator_free(h_, addr); }

	// The calling thread hands back its cached space and thread slot.
	void Release() noexcept { pmemallocator_release(h_); }

	// Offsets are byte offsets in the pool file, so references can be stored in it.
	uint64_t addr2offset(const void *addr) const noexcept
	{
		return pmemallocator_addr2offset(h_, addr);
	}
	void *offset2addr(uint64_t offset) const noexcept
	{
		return pmemallocator_offset2addr(h_, offset);
	}
	template <typename T> T *offset2addr(uint64_t offset) const noexcept
	{
		return static_cast<T *>(offset2addr(offset));
	}

	struct pmemallocator_stats Stats() const noexcept
	{
		struct pmemallocator_stats s{};
		pmemallocator_get_stats(h_, &s);
		return s;
	}

	// The calling thread's last error message.
	static const char *ErrorMessage() noexcept { return pmemallocator_errormsg(); }

	pmemallocator *c_handle() const noexcept { return h_; }

private:
	explicit PMemAllocator(pmemallocator *h) noexcept : h_(h) {}
	pmemallocator *h_;
};

#endif /* PMEM_ALLOCATOR_HPP */
