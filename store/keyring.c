/*
 * keyring.c: the keys of an open store, in memory.
 *
 * Master key K_m (32 random bytes) is created with a new deployment and
 * exists outside process memory only sealed, once per instance (master.c,
 * instance.c). From K_m (crypto_kdf, context "trusteeS"):
 *   subkey 1  name key: row ids (never rotated: ids must stay stable)
 *   subkey 2  data key version 1 (exactly the previous release's row key
 *             when K_m is its data.key, so its databases open unchanged)
 *   subkey 3  wrap key: wraps data keys >= 2 in _keys (datakey.c)
 *   subkey 4  MAC key: authenticates _instances rows (instance.c)
 *   subkey 64 + p  the key of store_derive_key's purpose p (users of the
 *             store: the KBS challenge key), never used by the store
 * Data keys of version >= 2 are random, created by rotation (rotate.c);
 * keyring_refresh loads them from _keys. The current version (of new
 * writes) is the highest in _keys, else 1; the floor (the lowest not
 * dropped) is in _keys too, and versions below it leave memory.
 *
 * Locking: kr->lock (writer-preferring) guards the current version, the
 * floor and the slots; a caller of keyring_acquire holds it for reading
 * while it uses the key. One refresh runs at a time (refresh_mu).
 *
 * Memory: K_m and every derived key live in sodium_malloc'd pages
 * (guarded, mlock'ed), read-only once written, wiped by sodium_free.
 * Nothing here logs key material.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_internal.h"

/* ------------------------------------------------------------ memory */

struct keyring_dkey *
keyring_dkey_new(uint32_t version, int64_t created_ms, const uint8_t key[32])
{
	struct keyring_dkey *dk = sodium_malloc(sizeof(*dk));

	if (dk == NULL)
		return NULL;
	dk->version = version;
	dk->created_ms = created_ms;
	memcpy(dk->key, key, 32);
	sodium_mprotect_readonly(dk);
	return dk;
}

int
keyring_init(struct keyring *kr, const uint8_t master[32], struct error *err)
{
	pthread_rwlockattr_t attr;
	struct keyring_master *m;
	uint8_t v1[32];

	memset(kr, 0, sizeof(*kr));
	m = sodium_malloc(sizeof(*m));
	if (m == NULL)
		return error_set(err, "store: cannot allocate secure memory "
		    "for keys");
	memcpy(m->master, master, 32);
	crypto_kdf_derive_from_key(m->name_key, sizeof(m->name_key),
	    STORE_SUBKEY_NAME, STORE_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(m->wrap_key, sizeof(m->wrap_key),
	    STORE_SUBKEY_WRAP, STORE_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(m->mac_key, sizeof(m->mac_key),
	    STORE_SUBKEY_MAC, STORE_KDF_CONTEXT, master);
	sodium_mprotect_readonly(m);
	crypto_kdf_derive_from_key(v1, sizeof(v1), STORE_SUBKEY_V1,
	    STORE_KDF_CONTEXT, master);
	kr->slot[0] = keyring_dkey_new(1, 0, v1);
	sodium_memzero(v1, sizeof(v1));
	if (kr->slot[0] == NULL) {
		sodium_free(m);
		return error_set(err, "store: cannot allocate secure memory "
		    "for keys");
	}
	kr->m = m;
	kr->current = kr->floor = 1;
	/* A writer (a new version) must not wait behind a stream of rows
	 * being opened. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&kr->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&kr->refresh_mu, NULL);
	return 0;
}

void
keyring_free(struct keyring *kr)
{
	size_t i;

	if (kr->m == NULL)
		return;
	for (i = 0; i < KEYRING_SLOTS; i++)
		sodium_free(kr->slot[i]);
	sodium_free(kr->m);
	pthread_rwlock_destroy(&kr->lock);
	pthread_mutex_destroy(&kr->refresh_mu);
	memset(kr, 0, sizeof(*kr));
}

const struct keyring_dkey *
keyring_acquire(struct keyring *kr, uint32_t v)
{
	size_t i;

	pthread_rwlock_rdlock(&kr->lock);
	if (v == 0)
		v = kr->current;
	for (i = 0; i < KEYRING_SLOTS; i++)
		if (kr->slot[i] != NULL && kr->slot[i]->version == v)
			return kr->slot[i];
	pthread_rwlock_unlock(&kr->lock);
	return NULL;
}

void
keyring_release(struct keyring *kr)
{
	pthread_rwlock_unlock(&kr->lock);
}

uint32_t
keyring_current(struct keyring *kr)
{
	uint32_t v;

	pthread_rwlock_rdlock(&kr->lock);
	v = kr->current;
	pthread_rwlock_unlock(&kr->lock);
	return v;
}

uint32_t
keyring_floor(struct keyring *kr)
{
	uint32_t v;

	pthread_rwlock_rdlock(&kr->lock);
	v = kr->floor;
	pthread_rwlock_unlock(&kr->lock);
	return v;
}

/* ------------------------------------------------------- loading _keys */

/* What a scan of _keys found. */
struct keyring_scan {
	const struct keyring_master *m;
	uint32_t floor;
	struct {
		uint32_t version;
		int64_t created_ms;
		uint8_t *blob;
		size_t len;
	} rows[KEYRING_SLOTS * 2];
	size_t n;
	int bad;
	struct error *err;
};

static int
keyring_scan_row(const char *table, const struct store_row *row, void *arg)
{
	struct keyring_scan *s = arg;
	uint8_t floor_id[STORE_ID_LEN];
	uint32_t v;

	(void)table;
	datakey_floor_row_id(floor_id);
	if (memcmp(row->id, floor_id, STORE_ID_LEN) == 0) {
		if (datakey_floor_unwrap(s->m, row->blob, row->len, &s->floor,
		    s->err) != 0)
			s->bad = 1;
		return 0;
	}
	if (datakey_parse(row->blob, row->len, &v, s->err) != 0) {
		s->bad = 1;
		return 0;
	}
	if (s->n == ARRAY_SIZE(s->rows)) {
		error_set(s->err, "more than %zu data-key versions in _keys",
		    ARRAY_SIZE(s->rows));
		s->bad = 1;
		return 1;
	}
	s->rows[s->n].version = v;
	s->rows[s->n].created_ms = row->ord;
	s->rows[s->n].blob = xmalloc(row->len);
	memcpy(s->rows[s->n].blob, row->blob, row->len);
	s->rows[s->n].len = row->len;
	s->n++;
	return 0;
}

int
keyring_refresh(struct store *st, struct error *err)
{
	struct keyring *kr = &st->kr;
	struct keyring_dkey *add[KEYRING_SLOTS], *drop[KEYRING_SLOTS];
	struct store_scan all = { 0 };
	struct keyring_scan s;
	uint8_t key[32];
	uint32_t current = 1, v;
	size_t i, j, nadd = 0, ndrop = 0;
	int rc, have;

	memset(&s, 0, sizeof(s));
	s.m = kr->m;
	s.floor = 1;
	s.err = err;
	pthread_mutex_lock(&kr->refresh_mu);
	rc = st->be->scan(st->handle, STORE_KEYS_TABLE, &all, keyring_scan_row,
	    &s, err);
	if (rc == STORE_OK && s.bad)
		rc = STORE_CORRUPT;
	if (rc != STORE_OK)
		goto out;
	/* Unwrap the versions not loaded yet, at or above the floor. */
	for (i = 0; i < s.n; i++) {
		v = s.rows[i].version;
		if (v < s.floor)
			continue;
		pthread_rwlock_rdlock(&kr->lock);
		for (have = 0, j = 0; j < KEYRING_SLOTS; j++)
			if (kr->slot[j] != NULL && kr->slot[j]->version == v)
				have = 1;
		pthread_rwlock_unlock(&kr->lock);
		if (!have) {
			if (datakey_unwrap(kr->m, s.rows[i].blob,
			    s.rows[i].len, &v, key, err) != 0 ||
			    v != s.rows[i].version) {
				rc = STORE_CORRUPT;
				goto out;
			}
			if (nadd == KEYRING_SLOTS)
				break;
			add[nadd] = keyring_dkey_new(v, s.rows[i].created_ms,
			    key);
			sodium_memzero(key, sizeof(key));
			if (add[nadd] == NULL) {
				rc = error_set(err, "store: cannot allocate "
				    "secure memory for keys");
				goto out;
			}
			nadd++;
		}
		if (v > current)
			current = v;
	}
	pthread_rwlock_wrlock(&kr->lock);
	for (i = 0; i < KEYRING_SLOTS; i++) {
		if (kr->slot[i] != NULL && kr->slot[i]->version < s.floor) {
			drop[ndrop++] = kr->slot[i];
			kr->slot[i] = NULL;
		}
	}
	for (i = 0, j = 0; i < nadd; i++) {
		while (j < KEYRING_SLOTS && kr->slot[j] != NULL)
			j++;
		if (j == KEYRING_SLOTS) {
			drop[ndrop++] = add[i];	/* full: cannot happen with
						 * one rotation at a time */
			continue;
		}
		kr->slot[j] = add[i];
	}
	/* Only versions actually loaded become current. */
	for (i = 0, v = 0; i < KEYRING_SLOTS; i++)
		if (kr->slot[i] != NULL && kr->slot[i]->version <= current &&
		    kr->slot[i]->version > v)
			v = kr->slot[i]->version;
	if (v != 0)
		kr->current = v;
	kr->floor = s.floor;
	pthread_rwlock_unlock(&kr->lock);
	for (i = 0; i < ndrop; i++)
		sodium_free(drop[i]);
	if (v == 0)
		rc = error_set(err, "store: no data key at or above version "
		    "%" PRIu32 " is available", s.floor);
out:
	pthread_mutex_unlock(&kr->refresh_mu);
	for (i = 0; i < s.n; i++)
		free(s.rows[i].blob);
	return rc;
}

void
store_derive_key(struct store *st, enum store_purpose purpose,
    uint8_t out[32])
{
	crypto_kdf_derive_from_key(out, 32, STORE_SUBKEY_PURPOSE +
	    (uint64_t)purpose, STORE_KDF_CONTEXT, st->kr.m->master);
}
