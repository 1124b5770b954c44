/* Built against the system's libpmem.h and libpmem.so.1, then run with ours in its place.
 * Argument "ours" or "system" says which library the run must have bound to, judged by the
 * wording of pmem_check_version's refusal; second argument: a scratch directory. */
#include <errno.h>
#include <libpmem.h>
#include <string.h>

#include "../../harness/check.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int want_ours = strcmp(argv[1], "ours") == 0;
	const char *m = pmem_check_version(PMEM_MAJOR_VERSION + 1, 0);
	int ours = m && strstr(m, "this libpmem implements") != NULL;
	CHECK_MSG(m != NULL, "version mismatch not reported");
	CHECK_MSG(ours == want_ours, "bound to the wrong library: \"%s\"", m ? m : "");
	CHECK_MSG(pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION) == NULL, "own version");

	char p[4096];
	snprintf(p, sizeof(p), "%s/dropin", argv[2]);
	size_t ml;
	int ip;
	char *a = pmem_map_file(p, 1 << 20, PMEM_FILE_CREATE, 0600, &ml, &ip);
	CHECK_MSG(a != NULL, "map: %s", pmem_errormsg());
	if (!a)
		return finish();
	static char src[1 << 16];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 13);
	pmem_memcpy_persist(a + 1, src, sizeof(src));
	pmem_memset(a + 100000, 0x42, 5000, PMEM_F_MEM_NONTEMPORAL);
	pmem_memmove(a + 2, a + 1, 1000, PMEM_F_MEM_NODRAIN);
	pmem_drain();
	CHECK_MSG(pmem_msync(a, ml) == 0, "msync");
	CHECK_MSG(pmem_unmap(a, ml) == 0, "unmap");
	a = pmem_map_file(p, 0, 0, 0, &ml, &ip);
	CHECK_MSG(a != NULL, "re-map");
	if (!a)
		return finish();
	CHECK_MSG(memcmp(a + 2, src, 1000) == 0 && memcmp(a + 1002, src + 1001, sizeof(src) - 1001) == 0,
		"read back copy");
	CHECK_MSG(a[100000] == 0x42 && a[104999] == 0x42 && a[105000] == 0, "read back fill");
	pmem_unmap(a, ml);
	errno = 0;
	CHECK_MSG(pmem_map_file(p, 4096, 0, 0, NULL, NULL) == NULL && errno == EINVAL, "error case");
	return finish();
}
