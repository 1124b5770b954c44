/*
 * libpmemallocator: a KVDK-style allocator over one persistent-memory file.
 *
 * The C interface of libpmemallocator.so.0. C++ programs normally use the PMemAllocator
 * class of pmem_allocator.hpp, which is built on these functions. Build with
 * `pkg-config --cflags --libs pmemallocator`.
 *
 * A pool is one file on a DAX file system (created sparse if missing, resized to
 * pmem_size) or a Device DAX device, mapped with libpmem's rules (MAP_SYNC where offered).
 * Its content does not survive the allocator: each pmemallocator_new starts empty.
 */
#ifndef PMEMALLOCATOR_H
#define PMEMALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Offset that names no byte of the pool (KVDK's null offset). */
#define PMEMALLOCATOR_NULL_OFFSET UINT64_MAX

/* Same layout as PMemAllocatorConfig. */
struct pmemallocator_config {
	float bg_thread_interval;     /* seconds between background merges, > 0 (1.0) */
	uint32_t allocation_unit;     /* power of two >= 8 (64) */
	uint64_t max_allocation_size; /* 1 ..= segment_size (65536) */
	uint64_t segment_size;        /* multiple of allocation_unit (128 MiB) */
};

struct pmemallocator_stats {
	uint64_t pool_size;     /* bytes of the pool file */
	uint64_t data_size;     /* bytes usable for blocks */
	uint64_t metadata_size; /* bytes of the pool before the data (block maps) */
	uint64_t dram_size;     /* DRAM used for bookkeeping */
	uint64_t shared_free;   /* free bytes in the shared pool (after the last merge) */
	uint64_t largest_free;  /* largest free extent in the shared pool */
	uint64_t pending_free;  /* bytes handed back and waiting for the next merge */
	uint64_t merges;        /* merges done (background and on demand) */
	uint64_t bg_merges;     /* merges done by the background thread */
	uint32_t threads;       /* threads holding a slot now */
	int is_pmem;            /* 1 when MAP_SYNC or Device DAX */
};

typedef struct pmemallocator pmemallocator;

/* Fills *config with the defaults shown above. */
void pmemallocator_config_default(struct pmemallocator_config *config);

/* NULL with a message (pmemallocator_errormsg(), also on stderr) for invalid arguments
 * (errno EINVAL) or a pool that cannot be opened or mapped (errno from the system, e.g.
 * ENOENT for a missing directory); no file is left behind then. config NULL: the defaults.
 * max_access_threads: 1 ..= 65536. */
pmemallocator *pmemallocator_new(const char *pmem_file, uint64_t pmem_size,
				 uint32_t max_access_threads, int devdax_mode,
				 const struct pmemallocator_config *config);

/* Joins the background thread and unmaps the pool. */
void pmemallocator_delete(pmemallocator *allocator);

/* A block of at least size bytes aligned to allocation_unit. NULL for 0, above
 * max_allocation_size, when the pool is full, or for a thread beyond max_access_threads. */
void *pmemallocator_allocate(pmemallocator *allocator, uint64_t size);

/* NULL and addresses that are not blocks of this allocator are ignored. */
void pmemallocator_free(pmemallocator *allocator, void *addr);

/* The calling thread hands back its cached space and its thread slot (also done when the
 * thread exits). */
void pmemallocator_release(pmemallocator *allocator);

/* Byte offset in the pool file, PMEMALLOCATOR_NULL_OFFSET for addresses outside it. */
uint64_t pmemallocator_addr2offset(const pmemallocator *allocator, const void *addr);
/* Address of a byte offset, NULL outside the pool. */
void *pmemallocator_offset2addr(const pmemallocator *allocator, uint64_t offset);
/* Address of offset 0. */
void *pmemallocator_base(const pmemallocator *allocator);

/* 0, or -1 with errno EINVAL for NULL arguments. */
int pmemallocator_get_stats(const pmemallocator *allocator, struct pmemallocator_stats *out);

/* The calling thread's last error message ("" if none). */
const char *pmemallocator_errormsg(void);

#ifdef __cplusplus
}
#endif

#endif /* PMEMALLOCATOR_H */
