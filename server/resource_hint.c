/*
 * resource_hint.c: the active version of each resource last seen by this
 * process (resource.h), so that a release can ask for the index row and
 * the value row it probably names in one store_get2 (on MariaDB one
 * statement instead of two round trips). Only a guess: the index row
 * read with it decides, and a wrong guess costs the read of the right
 * value row after. Direct-mapped by a keyed hash of the name (a
 * collision is a wrong guess); bounded, filled only by releases of
 * resources that exist.
 *
 * Each slot also keeps a keyed digest of the index row its version came
 * from: a release that reads the very same row again takes the active
 * version from the slot instead of parsing and checking the row's JSON
 * again (the same bytes give the same answer; the digest binds the name
 * too, and its key never leaves this process).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "resource.h"

#define RESOURCE_HINTS 4096
#define RESOURCE_HINT_DIGEST 16

static struct {
	pthread_mutex_t lock;
	pthread_once_t once;
	uint8_t key[crypto_shorthash_KEYBYTES];
	uint8_t dkey[crypto_generichash_KEYBYTES];
	struct {
		uint64_t h;
		int version;	/* 0 in an empty slot: no answer */
		uint8_t digest[RESOURCE_HINT_DIGEST];
	} e[RESOURCE_HINTS];
} resource_hint = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .once = PTHREAD_ONCE_INIT };

static void
resource_hint_init(void)
{
	crypto_shorthash_keygen(resource_hint.key);
	crypto_generichash_keygen(resource_hint.dkey);
}

/* Keyed BLAKE2b of the name (with its NUL) and the index row. */
static void
resource_hint_digest(const char *name, const uint8_t *row, size_t len,
    uint8_t out[RESOURCE_HINT_DIGEST])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, resource_hint.dkey,
	    sizeof(resource_hint.dkey), RESOURCE_HINT_DIGEST);
	crypto_generichash_update(&st, (const uint8_t *)name,
	    strlen(name) + 1);
	crypto_generichash_update(&st, row, len);
	crypto_generichash_final(&st, out, RESOURCE_HINT_DIGEST);
	sodium_memzero(&st, sizeof(st));
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

int
resource_hint_active(const char *name, const uint8_t *row, size_t len)
{
	uint64_t h = resource_hint_hash(name);
	uint8_t d[RESOURCE_HINT_DIGEST];
	int v = 0;

	resource_hint_digest(name, row, len, d);
	pthread_mutex_lock(&resource_hint.lock);
	if (resource_hint.e[h % RESOURCE_HINTS].h == h &&
	    memcmp(resource_hint.e[h % RESOURCE_HINTS].digest, d,
	    sizeof(d)) == 0)
		v = resource_hint.e[h % RESOURCE_HINTS].version;
	pthread_mutex_unlock(&resource_hint.lock);
	return v;
}

void
resource_hint_set(const char *name, int version, const uint8_t *row,
    size_t len)
{
	uint64_t h = resource_hint_hash(name);
	uint8_t d[RESOURCE_HINT_DIGEST];

	resource_hint_digest(name, row, len, d);
	pthread_mutex_lock(&resource_hint.lock);
	resource_hint.e[h % RESOURCE_HINTS].h = h;
	resource_hint.e[h % RESOURCE_HINTS].version = version;
	memcpy(resource_hint.e[h % RESOURCE_HINTS].digest, d, sizeof(d));
	pthread_mutex_unlock(&resource_hint.lock);
}
