/* Compiled as C99 and as C++11: libpmem.h declares the API with libpmem 1.x's exact
 * prototypes (each is assigned to a pointer of the expected type, so a mismatch does not
 * compile) and its macros have libpmem 1.x's values and types. */
#include <libpmem.h>
#include <stddef.h>
#include <string.h>

#include "../../harness/check.h"

#define SAME_TYPE_SIZE(a, b) (sizeof(a) == sizeof(b))

int main(void)
{
	void *(*map_file)(const char *, size_t, int, mode_t, size_t *, int *) = pmem_map_file;
	int (*unmap)(void *, size_t) = pmem_unmap;
	int (*is_pmem)(const void *, size_t) = pmem_is_pmem;
	void (*persist)(const void *, size_t) = pmem_persist;
	int (*msync_)(const void *, size_t) = pmem_msync;
	int (*has_auto_flush)(void) = pmem_has_auto_flush;
	void (*flush)(const void *, size_t) = pmem_flush;
	void (*deep_flush)(const void *, size_t) = pmem_deep_flush;
	int (*deep_drain)(const void *, size_t) = pmem_deep_drain;
	int (*deep_persist)(const void *, size_t) = pmem_deep_persist;
	void (*drain)(void) = pmem_drain;
	int (*has_hw_drain)(void) = pmem_has_hw_drain;
	void *(*move_p)(void *, const void *, size_t) = pmem_memmove_persist;
	void *(*copy_p)(void *, const void *, size_t) = pmem_memcpy_persist;
	void *(*set_p)(void *, int, size_t) = pmem_memset_persist;
	void *(*move_n)(void *, const void *, size_t) = pmem_memmove_nodrain;
	void *(*copy_n)(void *, const void *, size_t) = pmem_memcpy_nodrain;
	void *(*set_n)(void *, int, size_t) = pmem_memset_nodrain;
	void *(*move)(void *, const void *, size_t, unsigned) = pmem_memmove;
	void *(*copy)(void *, const void *, size_t, unsigned) = pmem_memcpy;
	void *(*set)(void *, int, size_t, unsigned) = pmem_memset;
	const char *(*check_version)(unsigned, unsigned) = pmem_check_version;
	const char *(*errormsg)(void) = pmem_errormsg;
	typedef void (*fn)(void);
	fn all[] = {(fn)map_file, (fn)unmap, (fn)is_pmem, (fn)persist, (fn)msync_,
		(fn)has_auto_flush, (fn)flush, (fn)deep_flush, (fn)deep_drain, (fn)deep_persist,
		(fn)drain, (fn)has_hw_drain, (fn)move_p, (fn)copy_p, (fn)set_p, (fn)move_n,
		(fn)copy_n, (fn)set_n, (fn)move, (fn)copy, (fn)set, (fn)check_version, (fn)errormsg};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK_MSG(all[i] != NULL, "function %zu", i);

	CHECK_MSG(PMEM_MAJOR_VERSION == 1 && PMEM_MINOR_VERSION == 1, "version macros");
	CHECK_MSG(PMEM_FILE_CREATE == 1 && PMEM_FILE_EXCL == 2 && PMEM_FILE_SPARSE == 4 &&
		PMEM_FILE_TMPFILE == 8, "file flags");
	CHECK_MSG(SAME_TYPE_SIZE(PMEM_FILE_CREATE, int) && (PMEM_FILE_CREATE - 2) < 0, "file flags are int");
	CHECK_MSG(PMEM_F_MEM_NODRAIN == 1u && PMEM_F_MEM_NONTEMPORAL == 2u &&
		PMEM_F_MEM_TEMPORAL == 4u && PMEM_F_MEM_WC == 8u && PMEM_F_MEM_WB == 16u &&
		PMEM_F_MEM_NOFLUSH == 32u && PMEM_F_MEM_VALID_FLAGS == 63u, "mem flags");
	CHECK_MSG((PMEM_F_MEM_NODRAIN - 2) > 0, "mem flags are unsigned");
	CHECK_MSG(PMEM_MIN_PART == 2u * 1024 * 1024 && sizeof(PMEM_MIN_PART) == sizeof(size_t), "PMEM_MIN_PART");
	CHECK_MSG(pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION) == NULL, "version check");
	return finish();
}
