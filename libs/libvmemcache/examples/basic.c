/*
 * The README's example: a cache in a directory, a miss callback that fills the missing
 * key, put, get (with the value printed this time) and delete.
 *
 * usage: basic DIR
 */
#include <libvmemcache.h>
#include <stdio.h>
#include <string.h>

#define STR_AND_LEN(x) (x), strlen(x)

static void on_miss(VMEMcache *cache, const void *key, size_t key_size, void *arg)
{
	(void)arg;
	/* look the value up elsewhere; here every missing key gets the same one */
	vmemcache_put(cache, key, key_size, STR_AND_LEN("Cthulhu fthagn"));
}

static void get(VMEMcache *cache, const char *key)
{
	char buf[128];
	size_t vsize = 0;
	ssize_t len = vmemcache_get(cache, STR_AND_LEN(key), buf, sizeof(buf), 0, &vsize);
	if (len >= 0)
		printf("%s: %.*s (%zu bytes)\n", key, (int)len, buf, vsize);
	else
		printf("%s: not found (%s)\n", key, vmemcache_errormsg());
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	VMEMcache *cache = vmemcache_new();
	vmemcache_set_size(cache, 16 << 20);
	if (vmemcache_add(cache, dir)) {
		fprintf(stderr, "vmemcache_add: %s\n", vmemcache_errormsg());
		return 1;
	}
	get(cache, "meow");
	vmemcache_put(cache, STR_AND_LEN("bark"), STR_AND_LEN("Lorem ipsum"));
	get(cache, "bark");
	vmemcache_callback_on_miss(cache, on_miss, NULL);
	get(cache, "meow");
	vmemcache_delete(cache);
	return 0;
}
