// The README's example as a program: the lines between the markers are the README's,
// unchanged. The pool path comes from the command line (default /mnt/pmem0/allocator_pool);
// the pool file is removed at the end. Build:
//   c++ readme_example.cpp $(pkg-config --cflags --libs pmemallocator)
#include "pmem_allocator.hpp"

#include <cstdio>
#include <cstring>
#include <unistd.h>

int main(int argc, char **argv)
{
	std::string path(argc > 1 ? argv[1] : "/mnt/pmem0/allocator_pool");
	// --- README example ---
	PMemAllocatorHint hint;
	PMemAllocator *allocator = PMemAllocator::NewPMemAllocator(path, 100ULL << 30, 32, false, hint);
	void *ptr = allocator->Allocate(1024);
	// do some thin with ptr
	allocator->Free(ptr);
	// --- end ---
	if (allocator == nullptr)
		return 1;
	// Use it a little more: store a string, find it again through its offset.
	char *p = static_cast<char *>(allocator->Allocate(64));
	if (p == nullptr)
		return 1;
	std::strcpy(p, "hello from the pool");
	uint64_t off = allocator->addr2offset(p);
	std::printf("allocated at offset %llu: %s\n", (unsigned long long)off,
		    allocator->offset2addr<char>(off));
	allocator->Free(p);
	delete allocator;
	unlink(path.c_str());
	return 0;
}
