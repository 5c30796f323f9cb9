/*
 * amd_certs_cache.c: the cache of verified VEK chains. A verified VEK
 * (keyed by SHA-256 of its DER) keeps its public key, product line, kind,
 * AMD extensions and the validity windows of its chain, so a warm
 * verification needs no RSA work. Bounded (LRU), guarded by one mutex
 * held only for the lookup/insert itself; entries hand out their own
 * pkey references.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "amd_certs_internal.h"

#define AMD_CACHE_MAX		128		/* verified VEK chains */

struct amd_cache_entry {
	int used;
	uint64_t stamp;
	uint8_t key[SHA256_DIGEST_LENGTH];
	struct amd_vek vek;
};

static pthread_mutex_t amd_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct amd_cache_entry amd_cache[AMD_CACHE_MAX];
static uint64_t amd_cache_clock;

void
amd_vek_clear(struct amd_vek *v)
{
	EVP_PKEY_free(v->pkey);
	memset(v, 0, sizeof(*v));
}

int
amd_certs_cache_get(const uint8_t key[SHA256_DIGEST_LENGTH],
    struct amd_vek *out)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		struct amd_cache_entry *e = &amd_cache[i];

		if (e->used && memcmp(e->key, key, SHA256_DIGEST_LENGTH) == 0) {
			*out = e->vek;
			EVP_PKEY_up_ref(out->pkey);
			e->stamp = ++amd_cache_clock;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&amd_cache_lock);
	return found;
}

void
amd_certs_cache_put(const uint8_t key[SHA256_DIGEST_LENGTH],
    const struct amd_vek *v)
{
	struct amd_cache_entry *slot = NULL;
	EVP_PKEY *old = NULL;
	size_t i;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		struct amd_cache_entry *e = &amd_cache[i];

		if (e->used && memcmp(e->key, key, SHA256_DIGEST_LENGTH) == 0) {
			slot = NULL;	/* another thread was first */
			goto out;
		}
		if (!e->used) {
			if (slot == NULL || slot->used)
				slot = e;
		} else if (slot == NULL ||
		    (slot->used && e->stamp < slot->stamp)) {
			slot = e;
		}
	}
	if (slot != NULL) {
		if (slot->used)
			old = slot->vek.pkey;
		slot->used = 1;
		slot->stamp = ++amd_cache_clock;
		memcpy(slot->key, key, SHA256_DIGEST_LENGTH);
		slot->vek = *v;
		EVP_PKEY_up_ref(slot->vek.pkey);
	}
out:
	pthread_mutex_unlock(&amd_cache_lock);
	EVP_PKEY_free(old);
}

void
amd_certs_cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		if (amd_cache[i].used)
			EVP_PKEY_free(amd_cache[i].vek.pkey);
		memset(&amd_cache[i], 0, sizeof(amd_cache[i]));
	}
	pthread_mutex_unlock(&amd_cache_lock);
}
