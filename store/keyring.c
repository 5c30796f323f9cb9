/*
 * keyring.c: the store's keys and the rows that hold them.
 *
 * Master key K_m (32 random bytes) is created with a new deployment (the
 * first start on an empty database) and exists outside process memory only
 * sealed: table _instances holds one row per instance, named by the
 * instance id (16 random bytes, hex in <state_dir>/instance-id, not
 * secret), whose value is that instance's sealer blob of K_m (seal.h).
 * Instances with different sealers thus share one database; each unseals
 * its own copy at start. From K_m (crypto_kdf, context "trusteeS"):
 *   subkey 1  name key: row ids (never rotated: ids must stay stable)
 *   subkey 2  data key version 1 (exactly the previous release's row key
 *             when K_m is its data.key, so its databases open unchanged)
 *   subkey 3  wrap key: wraps data keys >= 2 in _keys
 *   subkey 4  MAC key: authenticates _instances rows
 * Data keys of version >= 2 are random, created by rotation (rotate.c).
 * The current version (of new writes) is the highest in _keys, else 1;
 * the floor (the lowest not dropped) is in _keys too.
 *
 * Row layouts (all integers big-endian; ids are fixed so they can be found
 * before any key is known):
 *   _store      id 0^32: the key check row, a row sealed (store_row.c)
 *               under data key version 1 whose name and value are fixed
 *               strings: proves K_m before anything is read or written
 *   _keys       id 0^28 || u32 v: "TKEY" 0x01, u32 v, 24-byte nonce,
 *               XChaCha20-Poly1305(wrap key, data key v, ad =
 *               "trustee-datakey-v1" 0x00 u32 v); ord = creation ms
 *   _keys       id ff^32: the floor: "TKFL" 0x01, nonce, AEAD(wrap key,
 *               u32 floor, ad = "trustee-keyfloor-v1")
 *   _instances  id BLAKE2b-256("trustee-instance" 0x00 instance id):
 *               "TINS" 0x01, 16-byte instance id, i64 created, i64
 *               last_seen, u32 loaded (highest data-key version this
 *               instance has loaded: the heartbeat rotation waits on),
 *               u8 n, n bytes sealer description (printable ASCII),
 *               u32 m, m bytes sealed K_m (the seal.h envelope),
 *               32-byte BLAKE2b MAC (MAC key) of everything before it;
 *               ord = last_seen
 * The store-internal rows have kv = 0, so they never count as rows of a
 * data-key version.
 *
 * Memory: K_m and every derived key live in sodium_malloc'd pages
 * (guarded, mlock'ed), read-only once written, wiped by sodium_free.
 * Nothing here logs key material.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define KEY_MAGIC		"TKEY\x01"
#define KEY_MAGIC_LEN		5
#define KEY_AD			"trustee-datakey-v1"
#define KEY_ROW_LEN		(KEY_MAGIC_LEN + 4 + 24 + 32 + 16)
#define FLOOR_MAGIC		"TKFL\x01"
#define FLOOR_AD		"trustee-keyfloor-v1"
#define FLOOR_ROW_LEN		(KEY_MAGIC_LEN + 24 + 4 + 16)
#define INST_MAGIC		"TINS\x01"
#define INST_MAGIC_LEN		5
#define INST_FIXED_LEN		(INST_MAGIC_LEN + STORE_INSTANCE_ID_LEN + \
				    8 + 8 + 4)
#define INST_DESC_MAX		127
#define INST_SEALED_MAX		(64u * 1024)
#define INST_MAC_LEN		32
#define INST_ROW_PREFIX		"trustee-instance"
#define CHECK_NAME		"data-key-check"
#define CHECK_VALUE		"trustee data key check"
#define INSTANCE_FILE		"instance-id"
#define INSTANCE_SCAN_MAX	256

void
keyring_id_hex(const uint8_t id[STORE_INSTANCE_ID_LEN], char out[33])
{
	hex_encode(id, STORE_INSTANCE_ID_LEN, out);
}

/* ------------------------------------------------------------ memory */

static struct keyring_dkey *
kr_dkey_new(uint32_t version, int64_t created_ms, const uint8_t key[32])
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
	kr->slot[0] = kr_dkey_new(1, 0, v1);
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

/* ------------------------------------------------------------ _keys rows */

void
keyring_key_row_id(uint32_t version, uint8_t rid[STORE_ID_LEN])
{
	memset(rid, 0, STORE_ID_LEN);
	store_be32_put(rid + STORE_ID_LEN - 4, version);
}

void
keyring_floor_row_id(uint8_t rid[STORE_ID_LEN])
{
	memset(rid, 0xff, STORE_ID_LEN);
}

static size_t
kr_key_ad(uint32_t version, uint8_t ad[sizeof(KEY_AD) + 4])
{
	memcpy(ad, KEY_AD, sizeof(KEY_AD));	/* with its NUL */
	store_be32_put(ad + sizeof(KEY_AD), version);
	return sizeof(KEY_AD) + 4;
}

void
keyring_key_wrap(const struct keyring_master *m, uint32_t version,
    const uint8_t key[32], uint8_t **out, size_t *len)
{
	uint8_t ad[sizeof(KEY_AD) + 4], *b = xmalloc(KEY_ROW_LEN);
	size_t adlen = kr_key_ad(version, ad);

	memcpy(b, KEY_MAGIC, KEY_MAGIC_LEN);
	store_be32_put(b + KEY_MAGIC_LEN, version);
	randombytes_buf(b + KEY_MAGIC_LEN + 4, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(b + KEY_MAGIC_LEN + 28,
	    NULL, key, 32, ad, adlen, NULL, b + KEY_MAGIC_LEN + 4,
	    m->wrap_key);
	*out = b;
	*len = KEY_ROW_LEN;
}

int
keyring_key_parse(const uint8_t *b, size_t len, uint32_t *version,
    struct error *err)
{
	if (len != KEY_ROW_LEN)
		return error_set(err, "a data-key row has %zu bytes, not %d",
		    len, KEY_ROW_LEN);
	if (memcmp(b, KEY_MAGIC, KEY_MAGIC_LEN) != 0)
		return error_set(err, "a data-key row has an unknown format");
	*version = store_be32_get(b + KEY_MAGIC_LEN);
	if (*version < 2)
		return error_set(err, "a data-key row names version %" PRIu32
		    " (rows exist for versions 2 and up)", *version);
	return 0;
}

int
keyring_key_unwrap(const struct keyring_master *m, const uint8_t *b,
    size_t len, uint32_t *version, uint8_t key[32], struct error *err)
{
	uint8_t ad[sizeof(KEY_AD) + 4];
	size_t adlen;

	if (keyring_key_parse(b, len, version, err) != 0)
		return -1;
	adlen = kr_key_ad(*version, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL,
	    b + KEY_MAGIC_LEN + 28, 32 + 16, ad, adlen,
	    b + KEY_MAGIC_LEN + 4, m->wrap_key) != 0) {
		sodium_memzero(key, 32);
		return error_set(err, "data key version %" PRIu32 " failed "
		    "authentication (another deployment's key, or a tampered "
		    "_keys row)", *version);
	}
	return 0;
}

void
keyring_floor_wrap(const struct keyring_master *m, uint32_t floor,
    uint8_t **out, size_t *len)
{
	uint8_t pt[4], *b = xmalloc(FLOOR_ROW_LEN);

	store_be32_put(pt, floor);
	memcpy(b, FLOOR_MAGIC, KEY_MAGIC_LEN);
	randombytes_buf(b + KEY_MAGIC_LEN, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(b + KEY_MAGIC_LEN + 24,
	    NULL, pt, 4, (const uint8_t *)FLOOR_AD, sizeof(FLOOR_AD), NULL,
	    b + KEY_MAGIC_LEN, m->wrap_key);
	*out = b;
	*len = FLOOR_ROW_LEN;
}

int
keyring_floor_unwrap(const struct keyring_master *m, const uint8_t *b,
    size_t len, uint32_t *floor, struct error *err)
{
	uint8_t pt[4];

	if (len != FLOOR_ROW_LEN || memcmp(b, FLOOR_MAGIC, KEY_MAGIC_LEN) != 0)
		return error_set(err, "the data-key floor row is malformed");
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL,
	    b + KEY_MAGIC_LEN + 24, 4 + 16, (const uint8_t *)FLOOR_AD,
	    sizeof(FLOOR_AD), b + KEY_MAGIC_LEN, m->wrap_key) != 0)
		return error_set(err, "the data-key floor row failed "
		    "authentication");
	*floor = store_be32_get(pt);
	if (*floor == 0)
		return error_set(err, "the data-key floor row names version 0");
	return 0;
}

/* What a scan of _keys found. */
struct kr_scan {
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
kr_scan_cb(const char *table, const struct store_row *row, void *arg)
{
	struct kr_scan *s = arg;
	uint8_t floor_id[STORE_ID_LEN];
	uint32_t v;

	(void)table;
	keyring_floor_row_id(floor_id);
	if (memcmp(row->id, floor_id, STORE_ID_LEN) == 0) {
		if (keyring_floor_unwrap(s->m, row->blob, row->len, &s->floor,
		    s->err) != 0)
			s->bad = 1;
		return 0;
	}
	if (keyring_key_parse(row->blob, row->len, &v, s->err) != 0) {
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
	struct kr_scan s;
	uint8_t key[32];
	uint32_t current = 1, v;
	size_t i, j, nadd = 0, ndrop = 0;
	int rc, have;

	memset(&s, 0, sizeof(s));
	s.m = kr->m;
	s.floor = 1;
	s.err = err;
	pthread_mutex_lock(&kr->refresh_mu);
	rc = st->be->scan(st->handle, STORE_KEYS_TABLE, &all, kr_scan_cb, &s,
	    err);
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
			if (keyring_key_unwrap(kr->m, s.rows[i].blob,
			    s.rows[i].len, &v, key, err) != 0 ||
			    v != s.rows[i].version) {
				rc = STORE_CORRUPT;
				goto out;
			}
			if (nadd == KEYRING_SLOTS)
				break;
			add[nadd] = kr_dkey_new(v, s.rows[i].created_ms, key);
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

/* ------------------------------------------------------------ key check */

/* The key check row's key: data key version 1 from K_m, whatever the
 * floor (the check row never moves to another version). */
int
keyring_check(struct store *st, int create, struct error *err)
{
	static const uint8_t id[STORE_ID_LEN] = { 0 };
	struct keyring_dkey *v1;
	struct store_row row;
	uint8_t k[32], *blob = NULL, *val = NULL;
	size_t bloblen = 0, vlen = 0;
	struct error inner;
	int rc;

	crypto_kdf_derive_from_key(k, sizeof(k), STORE_SUBKEY_V1,
	    STORE_KDF_CONTEXT, st->kr.m->master);
	v1 = kr_dkey_new(1, 0, k);
	sodium_memzero(k, sizeof(k));
	if (v1 == NULL)
		return error_set(err, "store: cannot allocate secure memory");
	rc = st->be->get(st->handle, STORE_CHECK_TABLE, id, &row, err);
	if (rc < 0)
		goto out;
	if (rc == STORE_ABSENT) {
		if (!create) {
			rc = error_set(err, "store: %s has no key check row "
			    "(not a trusteed database, or it was tampered "
			    "with)", st->redacted);
			goto out;
		}
		store_row_seal(v1, STORE_CHECK_TABLE, id, CHECK_NAME,
		    strlen(CHECK_NAME), CHECK_VALUE, strlen(CHECK_VALUE),
		    &blob, &bloblen);
		memset(&row, 0, sizeof(row));
		row.blob = blob;
		row.len = bloblen;
		rc = st->be->put(st->handle, STORE_CHECK_TABLE, &row,
		    STORE_REV_ABSENT, NULL, err);
		free(blob);
		if (rc == STORE_ABSENT)		/* another instance won */
			rc = keyring_check(st, 0, err);
		goto out;
	}
	blob = (uint8_t *)row.blob;
	rc = store_row_open(v1->key, 1, STORE_CHECK_TABLE, id, CHECK_NAME,
	    blob, row.len, NULL, &val, &vlen, &inner);
	if (rc != 0) {
		free(blob);
		rc = error_set(err, "store: the master key does not open %s "
		    "(its key check row does not authenticate): the database "
		    "belongs to another deployment, or was tampered with",
		    st->redacted);
		goto out;
	}
	secret_free(val, vlen);
	/* The previous release's migration gave the row kv 1: make it the
	 * store's own (kv 0) so it never holds a data-key version. */
	if (row.kv != 0) {
		row.kv = 0;
		if (st->be->put(st->handle, STORE_CHECK_TABLE, &row, row.rev,
		    NULL, &inner) < 0)
			log_warnx("store: %s", inner.msg);
	}
	free(blob);
	rc = 0;
out:
	sodium_free(v1);
	return rc;
}

/* ------------------------------------------------------- _instances rows */

void
keyring_instance_row_id(const uint8_t id[STORE_INSTANCE_ID_LEN],
    uint8_t rid[STORE_ID_LEN])
{
	crypto_generichash_state h;
	static const uint8_t sep = 0;

	crypto_generichash_init(&h, NULL, 0, STORE_ID_LEN);
	crypto_generichash_update(&h, (const uint8_t *)INST_ROW_PREFIX,
	    strlen(INST_ROW_PREFIX));
	crypto_generichash_update(&h, &sep, 1);
	crypto_generichash_update(&h, id, STORE_INSTANCE_ID_LEN);
	crypto_generichash_final(&h, rid, STORE_ID_LEN);
}

void
keyring_instance_build(const struct keyring_master *m,
    const uint8_t id[STORE_INSTANCE_ID_LEN], int64_t created,
    int64_t last_seen, uint32_t loaded, const char *desc,
    const uint8_t *sealed, size_t sealed_len, uint8_t **out, size_t *len)
{
	size_t dlen = strnlen(desc, INST_DESC_MAX), n, i;
	uint8_t *b;

	n = INST_FIXED_LEN + 1 + dlen + 4 + sealed_len + INST_MAC_LEN;
	b = xmalloc(n);
	memcpy(b, INST_MAGIC, INST_MAGIC_LEN);
	memcpy(b + INST_MAGIC_LEN, id, STORE_INSTANCE_ID_LEN);
	store_be64_put(b + INST_MAGIC_LEN + 16, created);
	store_be64_put(b + INST_MAGIC_LEN + 24, last_seen);
	store_be32_put(b + INST_MAGIC_LEN + 32, loaded);
	b[INST_FIXED_LEN] = (uint8_t)dlen;
	for (i = 0; i < dlen; i++)	/* printable ASCII only */
		b[INST_FIXED_LEN + 1 + i] = desc[i] >= 0x20 && desc[i] < 0x7f ?
		    (uint8_t)desc[i] : '?';
	store_be32_put(b + INST_FIXED_LEN + 1 + dlen, (uint32_t)sealed_len);
	memcpy(b + INST_FIXED_LEN + 5 + dlen, sealed, sealed_len);
	crypto_generichash(b + n - INST_MAC_LEN, INST_MAC_LEN, b,
	    n - INST_MAC_LEN, m->mac_key, sizeof(m->mac_key));
	*out = b;
	*len = n;
}

int
keyring_instance_parse(const uint8_t *b, size_t len,
    struct keyring_instance *out, struct error *err)
{
	size_t dlen, off, i;
	uint32_t slen;

	memset(out, 0, sizeof(*out));
	if (len < INST_FIXED_LEN + 1 + 4 + INST_MAC_LEN)
		return error_set(err, "an instance row is truncated (%zu "
		    "bytes)", len);
	if (memcmp(b, INST_MAGIC, INST_MAGIC_LEN) != 0)
		return error_set(err, "an instance row has an unknown format");
	memcpy(out->id, b + INST_MAGIC_LEN, STORE_INSTANCE_ID_LEN);
	out->created = store_be64_get(b + INST_MAGIC_LEN + 16);
	out->last_seen = store_be64_get(b + INST_MAGIC_LEN + 24);
	out->loaded = store_be32_get(b + INST_MAGIC_LEN + 32);
	dlen = b[INST_FIXED_LEN];
	off = INST_FIXED_LEN + 1;
	if (dlen > INST_DESC_MAX || len - off < dlen + 4 + INST_MAC_LEN)
		return error_set(err, "an instance row's sealer description "
		    "is malformed");
	for (i = 0; i < dlen; i++) {
		if (b[off + i] < 0x20 || b[off + i] >= 0x7f)
			return error_set(err, "an instance row's sealer "
			    "description is not printable");
		out->desc[i] = (char)b[off + i];
	}
	out->desc[dlen] = '\0';
	off += dlen;
	slen = store_be32_get(b + off);
	off += 4;
	if (slen == 0 || slen > INST_SEALED_MAX ||
	    len - off != (size_t)slen + INST_MAC_LEN)
		return error_set(err, "an instance row's sealed key has a "
		    "bad length");
	out->sealed = b + off;
	out->sealed_len = slen;
	out->mac_off = off + slen;
	out->mac = b + out->mac_off;
	return 0;
}

int
keyring_instance_verify(const struct keyring_master *m, const uint8_t *b,
    const struct keyring_instance *in, struct error *err)
{
	uint8_t mac[INST_MAC_LEN];

	crypto_generichash(mac, sizeof(mac), b, in->mac_off, m->mac_key,
	    sizeof(m->mac_key));
	if (sodium_memcmp(mac, in->mac, INST_MAC_LEN) != 0)
		return error_set(err, "an instance row failed authentication "
		    "(tampered, or of another deployment)");
	return 0;
}

int
keyring_heartbeat(struct store *st, struct error *err)
{
	struct store_row row;
	uint8_t *blob;
	size_t len;
	uint32_t loaded;
	int64_t now = store_now_ms() / 1000;
	int rc;

	if (!st->has_instance)
		return 0;
	loaded = keyring_current(&st->kr);
	keyring_instance_build(st->kr.m, st->instance, st->instance_created,
	    now, loaded, st->sealer_desc, st->sealed, st->sealed_len, &blob,
	    &len);
	memset(&row, 0, sizeof(row));
	keyring_instance_row_id(st->instance, row.id);
	row.ord = now;
	row.blob = blob;
	row.len = len;
	rc = st->be->put(st->handle, STORE_INSTANCES_TABLE, &row,
	    STORE_REV_ANY, NULL, err);
	free(blob);
	if (rc == STORE_OK) {
		st->heartbeat_ms = store_mono_ms();
		st->heartbeat_loaded = loaded;
	}
	return rc;
}

/* ----------------------------------------------------------- instance-id */

int
keyring_instance_file(const char *state_dir, int create,
    uint8_t id[STORE_INSTANCE_ID_LEN], struct error *err)
{
	char *path, hex[2 * STORE_INSTANCE_ID_LEN + 2];
	uint8_t *text = NULL;
	size_t len = 0, n;
	int rc;

	if (state_dir == NULL)
		return error_set(err, "store: no state directory for the "
		    "instance id");
	path = xasprintf("%s/" INSTANCE_FILE, state_dir);
	rc = file_read_all(path, 128, &text, &len, err);
	if (rc == 0) {
		while (len > 0 && (text[len - 1] == '\n' ||
		    text[len - 1] == '\r'))
			text[--len] = '\0';
		if (len != 2 * STORE_INSTANCE_ID_LEN ||
		    hex_decode((const char *)text, id, STORE_INSTANCE_ID_LEN,
		    &n) != 0 || n != STORE_INSTANCE_ID_LEN)
			rc = error_set(err, "%s: expected %d hex digits (this "
			    "instance's id)", path, 2 * STORE_INSTANCE_ID_LEN);
		free(text);
		free(path);
		return rc;
	}
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		free(path);
		return -1;		/* err from file_read_all */
	}
	if (!create) {
		free(path);
		return 1;
	}
	randombytes_buf(id, STORE_INSTANCE_ID_LEN);
	hex_encode(id, STORE_INSTANCE_ID_LEN, hex);
	strcat(hex, "\n");
	rc = file_write_atomic(path, hex, strlen(hex), 0644, err);
	if (rc == 0)
		log_info("store: this instance's id is %.32s (%s)", hex, path);
	free(path);
	return rc;
}

/* -------------------------------------------------------------- opening */

/* Our _instances row: 0 found (*blob malloc'd), 1 absent, < 0. */
static int
kr_find_instance(struct store *st, const uint8_t id[STORE_INSTANCE_ID_LEN],
    struct store_row *row, struct error *err)
{
	uint8_t rid[STORE_ID_LEN];

	keyring_instance_row_id(id, rid);
	return st->be->get(st->handle, STORE_INSTANCES_TABLE, rid, row, err);
}

static int
kr_count_cb(const char *table, const struct store_row *row, void *arg)
{
	(void)table;
	(void)row;
	(*(size_t *)arg)++;
	return 0;
}

/* Rows in table (or in every table: NULL), counting at most max. */
static int
kr_rows(struct store *st, const char *table, size_t max, size_t *n,
    struct error *err)
{
	struct store_scan q = { 0 };

	*n = 0;
	q.limit = max;
	return st->be->scan(st->handle, table, &q, kr_count_cb, n, err);
}

/* Unseal K_m from an _instances row with our sealer. */
static int
kr_unseal(struct store *st, const struct store_row *row, uint8_t master[32],
    struct keyring_instance *in, struct error *err)
{
	char idhex[33];
	size_t len = 0;
	int rc;

	if (keyring_instance_parse(row->blob, row->len, in, err) != 0)
		return error_prefix(err, "store: %s", st->redacted);
	rc = seal_unwrap(st->seal, in->sealed, in->sealed_len, master, 32,
	    &len, err);
	if (rc == 0 && len != 32) {
		sodium_memzero(master, 32);
		rc = error_set(err, "the sealed master key has %zu bytes, not "
		    "32", len);
	}
	if (rc != 0) {
		keyring_id_hex(in->id, idhex);
		return error_prefix(err, "store: cannot unseal this instance's "
		    "master key (instance %s, sealed by %s)", idhex,
		    in->desc[0] != '\0' ? in->desc : "?");
	}
	return 0;
}

/* The legacy data.key of the previous release: exactly 32 bytes, 0600. */
static int
kr_legacy_key(const char *path, uint8_t key[32], struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (file_check_secret(path, err) != 0)
		return -1;
	if (file_read_all(path, 64, &data, &len, err) != 0)
		return -1;
	if (len != 32) {
		secret_free(data, len);
		return error_set(err, "%s: a data key file holds exactly 32 "
		    "bytes, found %zu", path, len);
	}
	memcpy(key, data, 32);
	secret_free(data, len);
	return 0;
}

/* Seal K_m with our sealer, remember the blob and write our row. */
int
keyring_enrol(struct store *st, struct error *err)
{
	uint8_t *blob = NULL;
	size_t len = 0;

	if (seal_wrap(st->seal, st->kr.m->master, 32, &blob, &len, err) != 0)
		return error_prefix(err, "store: sealing the master key");
	st->sealed = blob;
	st->sealed_len = len;
	st->has_instance = 1;
	st->instance_created = store_now_ms() / 1000;
	return keyring_heartbeat(st, err);
}

static void
kr_describe(struct store *st)
{
	const struct sealer *s;
	struct error err;

	s = seal_lookup(st->seal->kind, &err);
	if (s == NULL) {
		snprintf(st->sealer_desc, sizeof(st->sealer_desc), "%s",
		    st->seal->kind != NULL ? st->seal->kind : "?");
		return;
	}
	s->describe(st->seal, st->sealer_desc, sizeof(st->sealer_desc));
	st->sealer_insecure = s->insecure;
}

/* The whole database is empty (a new deployment may start here). */
static int
kr_empty(struct store *st, int *empty, struct error *err)
{
	size_t n;
	int rc = kr_rows(st, NULL, 1, &n, err);

	*empty = n == 0;
	return rc;
}

/* Found our row: unseal, check, load the versions. */
static int
kr_open_found(struct store *st, struct store_row *row, struct error *err)
{
	struct keyring_instance in;
	uint8_t master[32];
	int rc;

	rc = kr_unseal(st, row, master, &in, err);
	if (rc != 0)
		return rc;
	rc = keyring_init(&st->kr, master, err);
	sodium_memzero(master, sizeof(master));
	if (rc != 0)
		return rc;
	if (keyring_instance_verify(st->kr.m, row->blob, &in, err) != 0)
		return error_prefix(err, "store: %s: this instance's row",
		    st->redacted);
	if (keyring_check(st, 0, err) != 0)
		return -1;
	st->sealed = xmalloc(in.sealed_len);
	memcpy(st->sealed, in.sealed, in.sealed_len);
	st->sealed_len = in.sealed_len;
	st->instance_created = in.created;
	st->has_instance = 1;
	return 0;
}

int
keyring_open(struct store *st, const struct store_options *o,
    struct error *err)
{
	struct store_row row;
	uint8_t master[32];
	char idhex[33];
	size_t ninst = 0;
	int rc, have_id, empty = 0, legacy, locked = 0, attempt;

	st->seal = o->seal;
	kr_describe(st);
	for (attempt = 0; attempt < 2; attempt++) {
		have_id = keyring_instance_file(o->state_dir, 0, st->instance,
		    err);
		if (have_id < 0)
			goto fail;
		if (have_id == 0) {
			rc = kr_find_instance(st, st->instance, &row, err);
			if (rc < 0)
				goto fail_rc;
			if (rc == STORE_OK) {
				rc = kr_open_found(st, &row, err);
				free((void *)row.blob);
				if (rc != 0)
					goto fail_rc;
				goto loaded;
			}
		}
		if (kr_rows(st, STORE_INSTANCES_TABLE, INSTANCE_SCAN_MAX,
		    &ninst, err) < 0 || kr_empty(st, &empty, err) < 0)
			goto fail;
		if (empty && o->create && !locked) {
			/* Two instances starting on one empty database:
			 * the second waits and looks again. */
			rc = st->be->lock(st->handle, "init", st->timeout_ms,
			    err);
			if (rc < 0)
				goto fail_rc;
			if (rc == STORE_ABSENT) {
				error_set(err, "store: %s: timed out waiting "
				    "for another instance to initialise it",
				    st->redacted);
				goto fail;
			}
			locked = 1;
			continue;
		}
		break;
	}
	if (empty) {
		if (!o->create) {
			error_set(err, "store: %s is empty and this is not a "
			    "start that may create a deployment",
			    st->redacted);
			goto fail;
		}
		if (keyring_instance_file(o->state_dir, 1, st->instance,
		    err) < 0)
			goto fail;
		randombytes_buf(master, sizeof(master));
		rc = keyring_init(&st->kr, master, err);
		sodium_memzero(master, sizeof(master));
		if (rc != 0 || keyring_check(st, 1, err) != 0 ||
		    keyring_enrol(st, err) != 0)
			goto fail;
		keyring_id_hex(st->instance, idhex);
		log_info("store: %s: created a new deployment (instance %s, "
		    "master key sealed by %s)", st->redacted, idhex,
		    st->sealer_desc);
		goto loaded;
	}
	legacy = 0;
	if (ninst == 0) {
		memset(&row, 0, sizeof(row));
		rc = st->be->get(st->handle, STORE_CHECK_TABLE,
		    (const uint8_t[STORE_ID_LEN]){ 0 }, &row, err);
		if (rc < 0)
			goto fail_rc;
		free((void *)row.blob);
		legacy = rc == STORE_OK;
	}
	if (legacy) {
		/* Written by the previous release: K_m is its data.key. */
		if (st->seal->kind == NULL ||
		    strcmp(st->seal->kind, "file") != 0 ||
		    st->seal->key_file == NULL) {
			error_set(err, "store: %s was written by an earlier "
			    "trusteed under a plain data key file; start once "
			    "with [sealer] kind = \"file\" and key_file naming "
			    "that file to adopt it, then add a TEE-sealed "
			    "instance with --join-request/--join",
			    st->redacted);
			goto fail;
		}
		if (kr_legacy_key(st->seal->key_file, master, err) != 0) {
			error_prefix(err, "store: %s was written by an earlier "
			    "trusteed; its data key file", st->redacted);
			goto fail;
		}
		rc = keyring_init(&st->kr, master, err);
		sodium_memzero(master, sizeof(master));
		if (rc != 0 || keyring_check(st, 0, err) != 0)
			goto fail;
		if (keyring_instance_file(o->state_dir, 1, st->instance,
		    err) < 0 || keyring_enrol(st, err) != 0)
			goto fail;
		log_info("store: %s: adopted the database of an earlier "
		    "trusteed (master key now sealed by %s)", st->redacted,
		    st->sealer_desc);
		goto loaded;
	}
	if (have_id == 0) {
		keyring_id_hex(st->instance, idhex);
		error_set(err, "store: %s belongs to another deployment: this "
		    "instance (%s, from %s/" INSTANCE_FILE ") is not among "
		    "its %zu instance(s); to add it, run `trusteed "
		    "--join-request FILE` here and `trusteectl key export "
		    "--for FILE` on a running instance", st->redacted, idhex,
		    o->state_dir, ninst);
	} else
		error_set(err, "store: %s already holds a deployment (%zu "
		    "instance(s)) and this state directory has no instance id; "
		    "to add this instance, run `trusteed --join-request FILE` "
		    "here and `trusteectl key export --for FILE` on a running "
		    "instance", st->redacted, ninst);
	goto fail;
loaded:
	if (locked)
		st->be->unlock(st->handle, "init");
	rc = keyring_refresh(st, err);
	if (rc != 0)
		return error_prefix(err, "store: %s: loading data keys",
		    st->redacted);
	return 0;
fail:
	rc = STORE_ERROR;
fail_rc:
	if (locked)
		st->be->unlock(st->handle, "init");
	return rc;
}

/* ------------------------------------------------------------ status */

struct kr_inst_ctx {
	struct store *st;
	struct store_key_status *out;
	int64_t now;
	int64_t live_s;
};

static int
kr_inst_cb(const char *table, const struct store_row *row, void *arg)
{
	struct kr_inst_ctx *c = arg;
	struct store_key_status *o = c->out;
	struct keyring_instance in;
	struct error err;
	size_t i;

	(void)table;
	if (o->ninstances == STORE_INSTANCES_MAX)
		return 1;
	if (keyring_instance_parse(row->blob, row->len, &in, &err) != 0 ||
	    keyring_instance_verify(c->st->kr.m, row->blob, &in, &err) != 0)
		return 0;	/* store check reports it */
	i = o->ninstances++;
	keyring_id_hex(in.id, o->instances[i].id);
	snprintf(o->instances[i].sealer, sizeof(o->instances[i].sealer), "%s",
	    in.desc);
	o->instances[i].created = in.created;
	o->instances[i].last_seen = in.last_seen;
	o->instances[i].loaded = in.loaded;
	o->instances[i].live = c->now - in.last_seen <= c->live_s;
	o->instances[i].self = c->st->has_instance &&
	    memcmp(in.id, c->st->instance, STORE_INSTANCE_ID_LEN) == 0;
	return 0;
}

int64_t
keyring_live_seconds(const struct store *st)
{
	/* Heartbeats come every 5 polls (watch.c); four missed ones. */
	int64_t s = (int64_t)st->poll_ms * 20 / 1000;

	return s < 10 ? 10 : s;
}

int
store_key_status(struct store *st, struct store_key_status *out,
    struct error *err)
{
	struct store_kv_count counts[STORE_KEY_VERSIONS_MAX + 1];
	struct kr_inst_ctx c = { st, out, store_now_ms() / 1000,
	    keyring_live_seconds(st) };
	struct store_scan all = { 0 };
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->current = keyring_current(&st->kr);
	out->oldest = keyring_floor(&st->kr);
	rc = st->be->count(st->handle, NULL, counts, ARRAY_SIZE(counts), &n,
	    err);
	if (rc != STORE_OK)
		return rc;
	for (i = 0; i < n && out->nversions < STORE_KEY_VERSIONS_MAX; i++) {
		if (counts[i].kv == 0)
			continue;	/* the store's own rows */
		out->versions[out->nversions].version = counts[i].kv;
		out->versions[out->nversions].rows = counts[i].rows;
		out->nversions++;
	}
	rc = st->be->scan(st->handle, STORE_INSTANCES_TABLE, &all, kr_inst_cb,
	    &c, err);
	if (rc != STORE_OK)
		return rc;
	pthread_mutex_lock(&st->thr_mu);
	out->unreadable = st->rot_unreadable;
	snprintf(out->detail, sizeof(out->detail), "%s", st->rot_detail);
	out->state = out->current == out->oldest ? "idle" :
	    strcmp(st->rot_state, "waiting") == 0 ? "waiting for instances" :
	    strcmp(st->rot_state, "draining") == 0 ? "draining" : "rotating";
	pthread_mutex_unlock(&st->thr_mu);
	return 0;
}
