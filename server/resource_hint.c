/*
 * resource_hint.c: the active version of each resource last seen by this
 * process (resource.h), so that a release can ask for the index row and
 * the value row it probably names in one store_get2 (on MariaDB one
 * statement instead of two round trips). Only a guess: the index row
 * read with it decides, and a wrong guess costs the read of the right
 * value row after. Direct-mapped by a keyed hash of the name (a
 * collision is a wrong guess); bounded, filled only by releases of
 * resources that exist.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "resource.h"

#define RESOURCE_HINTS 4096

static struct {
	pthread_mutex_t lock;
	pthread_once_t once;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct {
		uint64_t h;
		int version;
	} e[RESOURCE_HINTS];
} resource_hint = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .once = PTHREAD_ONCE_INIT };

static void
resource_hint_init(void)
{
	crypto_shorthash_keygen(resource_hint.key);
}

static uint64_t
resource_hint_hash(const char *name)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	pthread_once(&resource_hint.once, resource_hint_init);
	crypto_shorthash(h, (const uint8_t *)name, strlen(name),
	    resource_hint.key);
	memcpy(&v, h, sizeof(v));
	return v;
}

int
resource_hint_get(const char *name)
{
	uint64_t h = resource_hint_hash(name);
	int v = 0;

	pthread_mutex_lock(&resource_hint.lock);
	if (resource_hint.e[h % RESOURCE_HINTS].h == h)
		v = resource_hint.e[h % RESOURCE_HINTS].version;
	pthread_mutex_unlock(&resource_hint.lock);
	return v;
}

void
resource_hint_set(const char *name, int version)
{
	uint64_t h = resource_hint_hash(name);

	pthread_mutex_lock(&resource_hint.lock);
	resource_hint.e[h % RESOURCE_HINTS].h = h;
	resource_hint.e[h % RESOURCE_HINTS].version = version;
	pthread_mutex_unlock(&resource_hint.lock);
}
