/*
 * Linked with -Wl,--wrap=vmemcache_add into the chapter's example (examples/chapter.c,
 * kept exactly as printed) where no /pmemfs exists: its "/pmemfs" becomes the directory
 * named by $VMEMCACHE_EXAMPLE_DIR. Every other path goes through unchanged.
 */
#include <libvmemcache.h>
#include <stdlib.h>
#include <string.h>

int __real_vmemcache_add(VMEMcache *cache, const char *path);

int __wrap_vmemcache_add(VMEMcache *cache, const char *path)
{
	const char *dir = getenv("VMEMCACHE_EXAMPLE_DIR");
	if (path && dir && strcmp(path, "/pmemfs") == 0)
		path = dir;
	return __real_vmemcache_add(cache, path);
}
