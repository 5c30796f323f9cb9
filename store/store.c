/*
 * store.c: the encrypted row store, on top of a backend that only moves
 * opaque bytes (store.h).
 *
 * Keys. The 32-byte data key from the sealer is never used directly. Two
 * subkeys are derived with crypto_kdf_derive_from_key, context "trusteeS":
 *   subkey 1, the name key: keys the BLAKE2b hash that turns names into
 *             row ids, so the backend never sees a name;
 *   subkey 2, the row key: the XChaCha20-Poly1305 key that seals rows.
 * They live in sodium_malloc'd memory (guard pages, no swap), read-only
 * once derived, and are wiped by sodium_free in store_close. The data key
 * carries a version number (1 until key rotation exists) that every row
 * records, so rotation can tell which key sealed a row.
 *
 * Row id = BLAKE2b-256(key = name key, table || 0x00 || name).
 *
 * Blob format, version 1:
 *   offset  0   1 byte    format version, 1
 *   offset  1   4 bytes   data key version, u32 big-endian
 *   offset  5  24 bytes   random nonce
 *   offset 29   n+16      XChaCha20-Poly1305-IETF ciphertext and tag of
 *                         u32be name_len || name || value
 *   associated data = "trustee-row-v1" || 0x00 || table || 0x00 || row id
 * A blob copied into another table or under another row id fails
 * authentication; opening a row also checks (in constant time) that the
 * name sealed inside is the name asked for, which catches substitution
 * even if two names ever hashed to the same id. The five header bytes are
 * not authenticated on their own: they only choose how to open the row,
 * and a forged choice (other format, other key) cannot authenticate.
 *
 * Tables whose name starts with '_' belong to the store itself: "_store"
 * holds the key check row that makes store_open refuse a wrong data key.
 *
 * Plaintext (names and values) only exists in buffers that are wiped on
 * every path before release.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "backend.h"
#include "store.h"

#define ROW_FORMAT_V1	1
#define ROW_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ROW_TAG_LEN	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define ROW_HDR_LEN	(1 + 4 + ROW_NONCE_LEN)
/* Smallest possible row: header, name_len, a 1-byte name, the tag. */
#define ROW_MIN_LEN	(ROW_HDR_LEN + 4 + 1 + ROW_TAG_LEN)
#define ROW_AD_PREFIX	"trustee-row-v1"
/* Prefix and its NUL, table, NUL, id. */
#define ROW_AD_MAX \
	(sizeof(ROW_AD_PREFIX) + STORE_TABLE_MAX + 1 + STORE_ID_LEN)

#define STORE_TABLE_MAX		32
#define STORE_NAME_MAX		1024
/* Values are secrets, policies, keys and records: far below this. The
 * cap keeps every size computation away from overflow and fits the
 * default packet limit of the MariaDB backend to come. */
#define STORE_VALUE_MAX		(16u * 1024 * 1024 - 4096)

#define STORE_KDF_CONTEXT	"trusteeS"
#define STORE_SUBKEY_NAME	1
#define STORE_SUBKEY_ROW	2
#define STORE_KEY_VERSION	1

/* The key check row (see store_key_check) lives in a table of its own
 * under a fixed id: tables starting with '_' are the store's. */
#define STORE_CHECK_TABLE	"_store"
#define STORE_CHECK_NAME	"data-key-check"
#define STORE_CHECK_VALUE	"trustee data key check"

/* One generation of the data key; key rotation will keep several. */
struct store_keyset {
	uint32_t version;
	uint8_t name_key[crypto_generichash_KEYBYTES];
	uint8_t row_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

struct store {
	const struct store_backend *be;
	void *handle;
	struct store_keyset *keys;	/* sodium_malloc, read-only */
};

/* State of one store_list call, passed through the backend. */
struct store_list_ctx {
	const struct store_keyset *keys;
	const char *table;
	store_list_cb cb;
	void *arg;
	struct error *err;
	int failed;
};

#ifdef FUZZING
/* Exported only to the fuzzer (tests/fuzz/fuzz_store_row.c). */
int store_row_open(const uint8_t row_key[32], uint32_t key_version,
    const char *table, const uint8_t id[STORE_ID_LEN], const char *want_name,
    const uint8_t *blob, size_t len, char **name_out, uint8_t **val,
    size_t *vlen, struct error *err);
#define STORE_FUZZ_STATIC
#else
#define STORE_FUZZ_STATIC static
#endif

static void
store_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
store_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int
store_auth_error(struct error *err, const char *table)
{
	return error_set(err, "store: row in table '%s' failed authentication "
	    "(wrong data key or tampered database)", table);
}

/* Tables come from the daemon's code, but check anyway: the table name
 * goes into the associated data and to the backend as text. */
static int
store_check_table(const char *table, struct error *err)
{
	char esc[80];
	size_t i;

	if (table == NULL || table[0] == '\0')
		return error_set(err, "store: empty table name");
	if (table[0] == '_')
		return error_set(err, "store: table name '%s' is reserved",
		    log_escape(table, esc, sizeof(esc)));
	for (i = 0; table[i] != '\0'; i++) {
		if (i >= STORE_TABLE_MAX || !((table[i] >= 'a' &&
		    table[i] <= 'z') || table[i] == '_'))
			return error_set(err, "store: invalid table name '%s' "
			    "(want [a-z_]{1,%d})",
			    log_escape(table, esc, sizeof(esc)),
			    STORE_TABLE_MAX);
	}
	return 0;
}

/* Names are any bytes but NUL, 1..1024 of them. The name itself is left
 * out of messages: it may be sensitive and is not ours to log. */
static int
store_check_name(const char *name, size_t *len, struct error *err)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return error_set(err, "store: empty row name");
	n = strnlen(name, STORE_NAME_MAX + 1);
	if (n > STORE_NAME_MAX)
		return error_set(err, "store: row name longer than %d bytes",
		    STORE_NAME_MAX);
	*len = n;
	return 0;
}

static void
store_row_id(const struct store_keyset *ks, const char *table,
    const char *name, size_t nlen, uint8_t id[STORE_ID_LEN])
{
	crypto_generichash_state h;
	static const uint8_t sep = 0;

	crypto_generichash_init(&h, ks->name_key, sizeof(ks->name_key),
	    STORE_ID_LEN);
	crypto_generichash_update(&h, (const uint8_t *)table, strlen(table));
	crypto_generichash_update(&h, &sep, 1);
	crypto_generichash_update(&h, (const uint8_t *)name, nlen);
	crypto_generichash_final(&h, id, STORE_ID_LEN);
	/* The state holds the keyed BLAKE2b block derived from the name key. */
	sodium_memzero(&h, sizeof(h));
}

/* Fill ad (ROW_AD_MAX bytes) for a validated table; returns its length. */
static size_t
store_row_ad(const char *table, const uint8_t id[STORE_ID_LEN], uint8_t *ad)
{
	size_t tlen = strlen(table), n = 0;

	memcpy(ad, ROW_AD_PREFIX, sizeof(ROW_AD_PREFIX));	/* with NUL */
	n += sizeof(ROW_AD_PREFIX);
	memcpy(ad + n, table, tlen);
	n += tlen;
	ad[n++] = 0;
	memcpy(ad + n, id, STORE_ID_LEN);
	return n + STORE_ID_LEN;
}

/* Seal one row into a malloc'd blob (see the format above). */
static void
store_row_seal(const struct store_keyset *ks, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *name, size_t nlen,
    const void *val, size_t vlen, uint8_t **blob, size_t *bloblen)
{
	uint8_t ad[ROW_AD_MAX], *pt, *out;
	size_t ptlen = 4 + nlen + vlen, adlen;
	unsigned long long clen;

	pt = xmalloc(ptlen);
	store_be32_put(pt, (uint32_t)nlen);
	memcpy(pt + 4, name, nlen);
	if (vlen > 0)
		memcpy(pt + 4 + nlen, val, vlen);

	out = xmalloc(ROW_HDR_LEN + ptlen + ROW_TAG_LEN);
	out[0] = ROW_FORMAT_V1;
	store_be32_put(out + 1, ks->version);
	randombytes_buf(out + 5, ROW_NONCE_LEN);
	adlen = store_row_ad(table, id, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + ROW_HDR_LEN, &clen,
	    pt, ptlen, ad, adlen, NULL, out + 5, ks->row_key);
	secret_free(pt, ptlen);

	*blob = out;
	*bloblen = ROW_HDR_LEN + (size_t)clen;
}

/*
 * Open a blob read from row id of table. want_name: the name the caller
 * looked up (must match the sealed one), or NULL to accept any and return
 * it in *name_out (malloc'd; release with secret_strfree). On success
 * *val is malloc'd, holds *vlen bytes followed by a NUL that is not
 * counted, and is released with secret_free(*val, *vlen).
 */
STORE_FUZZ_STATIC int
store_row_open(const uint8_t row_key[32], uint32_t key_version,
    const char *table, const uint8_t id[STORE_ID_LEN], const char *want_name,
    const uint8_t *blob, size_t len, char **name_out, uint8_t **val,
    size_t *vlen, struct error *err)
{
	uint8_t ad[ROW_AD_MAX], *pt = NULL;
	unsigned long long ptlen = 0;
	size_t cap = 0, adlen, nlen, n;
	uint32_t kv;
	int rc = -1;

	*val = NULL;
	*vlen = 0;
	if (name_out != NULL)
		*name_out = NULL;
	if (len < ROW_MIN_LEN)
		return error_set(err, "store: row in table '%s' is truncated "
		    "(%zu bytes)", table, len);
	if (blob[0] != ROW_FORMAT_V1)
		return error_set(err, "store: row in table '%s' has unknown "
		    "format version %u", table, blob[0]);
	kv = store_be32_get(blob + 1);
	if (kv != key_version)
		return error_set(err, "store: row in table '%s' is sealed "
		    "under data key version %" PRIu32 ", but the loaded data "
		    "key is version %" PRIu32, table, kv, key_version);

	/* Room for the plaintext and a terminating NUL. */
	cap = len - ROW_HDR_LEN - ROW_TAG_LEN + 1;
	pt = xmalloc(cap);
	adlen = store_row_ad(table, id, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
	    blob + ROW_HDR_LEN, len - ROW_HDR_LEN, ad, adlen, blob + 5,
	    row_key) != 0) {
		store_auth_error(err, table);
		goto done;
	}

	/* Authentic, so written by us; still decode defensively. */
	nlen = store_be32_get(pt);
	if (nlen == 0 || nlen > STORE_NAME_MAX || nlen > ptlen - 4 ||
	    memchr(pt + 4, 0, nlen) != NULL) {
		error_set(err, "store: row in table '%s' holds a malformed "
		    "name", table);
		goto done;
	}
	if (want_name != NULL) {
		/* Only the length can leak, and the caller knows it. */
		if (strlen(want_name) != nlen ||
		    !secret_equal(pt + 4, want_name, nlen)) {
			store_auth_error(err, table);
			goto done;
		}
	}
	if (name_out != NULL)
		*name_out = xstrndup((const char *)pt + 4, nlen);

	n = (size_t)ptlen - 4 - nlen;
	memmove(pt, pt + 4 + nlen, n);
	/* Wipe the name and the stale tail; pt[n] becomes the NUL. */
	sodium_memzero(pt + n, cap - n);
	*val = pt;
	*vlen = n;
	pt = NULL;
	rc = 0;
done:
	secret_free(pt, cap);
	return rc;
}

/* Backend calls with the columns this file sets today (data-key version
 * 1, no ordering, no expiry). */
static int
store_be_put(struct store *st, const char *table, const uint8_t id[STORE_ID_LEN],
    const uint8_t *blob, size_t len, struct error *err)
{
	struct store_row row = { .kv = st->keys->version, .blob = blob,
	    .len = len };

	memcpy(row.id, id, STORE_ID_LEN);
	return st->be->put(st->handle, table, &row, STORE_REV_ANY, NULL,
	    err) == STORE_OK ? 0 : -1;
}

static int
store_be_get(struct store *st, const char *table, const uint8_t id[STORE_ID_LEN],
    uint8_t **blob, size_t *len, struct error *err)
{
	struct store_row row;
	int rc;

	*blob = NULL;
	*len = 0;
	rc = st->be->get(st->handle, table, id, &row, err);
	if (rc != STORE_OK)
		return rc < 0 ? -1 : 1;
	*blob = (uint8_t *)row.blob;
	*len = row.len;
	return 0;
}

/*
 * Row ids depend on the data key, so under a wrong key every lookup would
 * just find nothing, and callers that create what is missing (the token
 * signing key, say) would quietly fork the state. So the first open seals
 * a check row under a fixed id, and every later open must authenticate
 * it: a wrong key fails here, loudly, before anything is read or written.
 */
static int
store_key_check(struct store *st, struct error *err)
{
	static const uint8_t id[STORE_ID_LEN] = { 0 };
	uint8_t *blob = NULL, *val = NULL;
	size_t bloblen = 0, vlen = 0;
	struct error inner;
	int rc;

	rc = store_be_get(st, STORE_CHECK_TABLE, id, &blob, &bloblen, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		store_row_seal(st->keys, STORE_CHECK_TABLE, id,
		    STORE_CHECK_NAME, strlen(STORE_CHECK_NAME),
		    STORE_CHECK_VALUE, strlen(STORE_CHECK_VALUE), &blob,
		    &bloblen);
		rc = store_be_put(st, STORE_CHECK_TABLE, id, blob, bloblen,
		    err);
		free(blob);
		return rc;
	}
	rc = store_row_open(st->keys->row_key, st->keys->version,
	    STORE_CHECK_TABLE, id, STORE_CHECK_NAME, blob, bloblen, NULL, &val,
	    &vlen, &inner);
	free(blob);
	if (rc == -1)
		return error_set(err, "store: wrong data key for this database "
		    "(its key check row does not authenticate; or the "
		    "database was tampered with)");
	secret_free(val, vlen + 1);
	return 0;
}

struct store *
store_open(const struct store_backend *backend, const char *path,
    const uint8_t data_key[32], struct error *err)
{
	struct store *st;
	struct store_keyset *ks;
	struct store_dsn dsn = { .scheme = "sqlite", .path = path,
	    .timeout_ms = 5000, .redacted = path };

	if (backend == NULL) {
		error_set(err, "store: no storage backend");
		return NULL;
	}
	if (sodium_init() < 0) {
		error_set(err, "store: libsodium failed to initialise");
		return NULL;
	}
	ks = sodium_malloc(sizeof(*ks));
	if (ks == NULL) {
		error_set(err, "store: cannot allocate secure memory for keys");
		return NULL;
	}
	ks->version = STORE_KEY_VERSION;
	crypto_kdf_derive_from_key(ks->name_key, sizeof(ks->name_key),
	    STORE_SUBKEY_NAME, STORE_KDF_CONTEXT, data_key);
	crypto_kdf_derive_from_key(ks->row_key, sizeof(ks->row_key),
	    STORE_SUBKEY_ROW, STORE_KDF_CONTEXT, data_key);
	sodium_mprotect_readonly(ks);

	st = xcalloc(1, sizeof(*st));
	st->be = backend;
	st->keys = ks;
	if (backend->open(&dsn, &st->handle, err) == -1 ||
	    store_key_check(st, err) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->handle != NULL)
		st->be->close(st->handle);
	/* sodium_free wipes the pages; it lifts the read-only protection
	 * itself. */
	sodium_free(st->keys);
	free(st);
}

int
store_put(struct store *st, const char *table, const char *name,
    const void *val, size_t len, struct error *err)
{
	uint8_t id[STORE_ID_LEN], *blob;
	size_t nlen, bloblen;
	int rc;

	if (store_check_table(table, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return -1;
	if (len > STORE_VALUE_MAX)
		return error_set(err, "store: value of %zu bytes for table "
		    "'%s' exceeds the limit of %u bytes", len, table,
		    STORE_VALUE_MAX);
	if (len > 0 && val == NULL)
		return error_set(err, "store: no value");
	store_row_id(st->keys, table, name, nlen, id);
	store_row_seal(st->keys, table, id, name, nlen, val, len, &blob,
	    &bloblen);
	rc = store_be_put(st, table, id, blob, bloblen, err);
	free(blob);
	return rc;
}

int
store_get(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct error *err)
{
	uint8_t id[STORE_ID_LEN], *blob = NULL;
	size_t nlen, bloblen = 0;
	int rc;

	*val = NULL;
	*len = 0;
	if (store_check_table(table, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return -1;
	store_row_id(st->keys, table, name, nlen, id);
	rc = store_be_get(st, table, id, &blob, &bloblen, err);
	if (rc != 0)
		return rc;
	rc = store_row_open(st->keys->row_key, st->keys->version, table, id,
	    name, blob, bloblen, NULL, val, len, err);
	free(blob);
	return rc;
}

int
store_delete(struct store *st, const char *table, const char *name,
    struct error *err)
{
	uint8_t id[STORE_ID_LEN];
	size_t nlen;
	int rc;

	if (store_check_table(table, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return -1;
	store_row_id(st->keys, table, name, nlen, id);
	rc = st->be->del(st->handle, table, id, STORE_REV_ANY, err);
	return rc < 0 ? -1 : rc;
}

/* Backend callback: open one row and hand its name and value to the
 * caller. Any failure stops the walk and is reported by store_list. */
static int
store_list_row(const char *table, const struct store_row *row, void *arg)
{
	struct store_list_ctx *ctx = arg;
	const uint8_t *id = row->id, *blob = row->blob;
	size_t len = row->len;
	uint8_t check[STORE_ID_LEN], *val;

	(void)table;	/* the scan is of ctx->table */
	char *name;
	size_t vlen;
	int stop;

	if (store_row_open(ctx->keys->row_key, ctx->keys->version, ctx->table,
	    id, NULL, blob, len, &name, &val, &vlen, ctx->err) == -1) {
		ctx->failed = 1;
		return 1;
	}
	/* The sealed name must hash to the id the row is stored under (the
	 * id is authenticated too; this keeps the two consistent). */
	store_row_id(ctx->keys, ctx->table, name, strlen(name), check);
	if (!secret_equal(check, id, STORE_ID_LEN)) {
		store_auth_error(ctx->err, ctx->table);
		ctx->failed = 1;
		stop = 1;
	} else
		stop = ctx->cb(name, val, vlen, ctx->arg);
	secret_free(val, vlen + 1);
	secret_strfree(name);
	return stop;
}

int
store_list(struct store *st, const char *table, store_list_cb cb, void *arg,
    struct error *err)
{
	struct store_list_ctx ctx = {
		.keys = st->keys,
		.table = table,
		.cb = cb,
		.arg = arg,
		.err = err,
	};
	struct store_scan all = { 0 };

	if (store_check_table(table, err) == -1)
		return -1;
	if (st->be->scan(st->handle, table, &all, store_list_row, &ctx,
	    err) != STORE_OK)
		return -1;
	return ctx.failed ? -1 : 0;
}

/* Every backend compiled in; the MariaDB one joins here. */
static const struct store_backend *const store_backends[] = {
	&store_backend_sqlite,
};

const struct store_backend *
store_backend_lookup(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	}
	return NULL;
}
