/*
 * store_row.c: the sealed row format. A row is sealed with
 * XChaCha20-Poly1305-IETF under one data-key version (keyring.c), with
 * its table and row id in the associated data, so a blob copied to
 * another table or row id fails authentication.
 *
 * Row id = BLAKE2b-256(key = name key, table || 0x00 || name).
 *
 * Format 2 (written since data-key rotation and padding):
 *   offset  0   1 byte    format, 2
 *   offset  1   4 bytes   data-key version, u32 big-endian
 *   offset  5  24 bytes   random nonce
 *   offset 29   p+16      ciphertext and tag of the padded plaintext
 *                         u32be name_len || u32be value_len || name ||
 *                         value || zero bytes up to p
 *   associated data = "trustee-row-v2" 0x00 table 0x00 id u32be(version)
 *   so the header's version is authenticated too.
 * Format 1 (the previous release; read, never written):
 *   the same header with format 1, ciphertext of u32be name_len || name ||
 *   value, associated data "trustee-row-v1" 0x00 table 0x00 id.
 *
 * Padding (format 2): the plaintext (8 + name + value bytes) is padded to
 * a size class so the database shows only the class, not the exact length:
 *   up to 64 bytes          64
 *   up to 4096 bytes        the next power of two
 *   above                   Padme (Nikitin et al., PETS 2019): with
 *                           E = floor(log2(n)), S = floor(log2(E)) + 1,
 *                           round n up to a multiple of 2^(E - S): at
 *                           most 1/16 overhead here (E >= 12), and a
 *                           length class leaks O(log log n) bits.
 *
 * Opening a row checks (in constant time) that the name sealed inside is
 * the name asked for, which catches substitution even if two names ever
 * hashed to the same id. Plaintext exists only in buffers wiped before
 * release.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define ROW_FORMAT_V1	1
#define ROW_FORMAT_V2	2
#define ROW_NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ROW_TAG_LEN	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define ROW_HDR_LEN	(1 + 4 + ROW_NONCE_LEN)
/* Smallest possible row of either format: header, a 1-byte name, tag. */
#define ROW_MIN_LEN	(ROW_HDR_LEN + 4 + 1 + ROW_TAG_LEN)
#define ROW_AD_V1	"trustee-row-v1"
#define ROW_AD_V2	"trustee-row-v2"
/* Prefix and its NUL, table, NUL, id, version. */
#define ROW_AD_MAX \
	(sizeof(ROW_AD_V2) + STORE_TABLE_MAX + 1 + STORE_ID_LEN + 4)
#define ROW_PAD_MIN	64
#define ROW_PAD_POW2_MAX 4096

static unsigned
row_log2(size_t n)
{
	unsigned e = 0;

	while (n >>= 1)
		e++;
	return e;
}

size_t
store_row_padded(size_t n)
{
	size_t p, mask;
	unsigned e, s;

	if (n <= ROW_PAD_MIN)
		return ROW_PAD_MIN;
	if (n <= ROW_PAD_POW2_MAX) {
		for (p = ROW_PAD_MIN; p < n; p <<= 1)
			;
		return p;
	}
	e = row_log2(n);
	s = row_log2(e) + 1;
	mask = ((size_t)1 << (e - s)) - 1;
	return (n + mask) & ~mask;
}

int
store_row_corrupt(struct error *err, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *fmt, ...)
{
	char hex[STORE_ID_HEX_LEN + 1], what[256];
	va_list ap;

	hex_encode(id, STORE_ID_LEN, hex);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	error_set(err, "store: row %s of table '%s' %s", hex, table, what);
	return STORE_CORRUPT;
}

void
store_row_id(const uint8_t name_key[32], const char *table, const char *name,
    size_t nlen, uint8_t id[STORE_ID_LEN])
{
	crypto_generichash_state h;
	static const uint8_t sep = 0;

	crypto_generichash_init(&h, name_key, crypto_generichash_KEYBYTES,
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
row_ad(int format, const char *table, const uint8_t id[STORE_ID_LEN],
    uint32_t version, uint8_t *ad)
{
	const char *prefix = format == ROW_FORMAT_V1 ? ROW_AD_V1 : ROW_AD_V2;
	size_t tlen = strlen(table), n;

	n = strlen(prefix) + 1;
	memcpy(ad, prefix, n);		/* with its NUL */
	memcpy(ad + n, table, tlen);
	n += tlen;
	ad[n++] = 0;
	memcpy(ad + n, id, STORE_ID_LEN);
	n += STORE_ID_LEN;
	if (format == ROW_FORMAT_V2) {
		store_be32_put(ad + n, version);
		n += 4;
	}
	return n;
}

#ifdef STORE_TEST_ROW_FORMAT_V1
/*
 * Test builds only (-DSTORE_TEST_ROW_FORMAT_V1: the "older" package of
 * tests/package/run.sh): seal in format 1, as the previous release did,
 * so that an upgrade meets rows the new build must read and re-seal.
 */
static void
store_row_seal_v1(const struct keyring_dkey *dk, const char *table,
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
	store_be32_put(out + 1, dk->version);
	randombytes_buf(out + 5, ROW_NONCE_LEN);
	adlen = row_ad(ROW_FORMAT_V1, table, id, dk->version, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + ROW_HDR_LEN, &clen,
	    pt, ptlen, ad, adlen, NULL, out + 5, dk->key);
	secret_free(pt, ptlen);
	*blob = out;
	*bloblen = ROW_HDR_LEN + (size_t)clen;
}
#endif

void
store_row_seal(const struct keyring_dkey *dk, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *name, size_t nlen,
    const void *val, size_t vlen, uint8_t **blob, size_t *bloblen)
{
	uint8_t ad[ROW_AD_MAX], *pt, *out;
	size_t ptlen = store_row_padded(8 + nlen + vlen), adlen;
	unsigned long long clen;

#ifdef STORE_TEST_ROW_FORMAT_V1
	store_row_seal_v1(dk, table, id, name, nlen, val, vlen, blob, bloblen);
	return;
#endif

	/* Zeroed: the padding. */
	pt = xcalloc(1, ptlen);
	store_be32_put(pt, (uint32_t)nlen);
	store_be32_put(pt + 4, (uint32_t)vlen);
	memcpy(pt + 8, name, nlen);
	if (vlen > 0)
		memcpy(pt + 8 + nlen, val, vlen);

	out = xmalloc(ROW_HDR_LEN + ptlen + ROW_TAG_LEN);
	out[0] = ROW_FORMAT_V2;
	store_be32_put(out + 1, dk->version);
	randombytes_buf(out + 5, ROW_NONCE_LEN);
	adlen = row_ad(ROW_FORMAT_V2, table, id, dk->version, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + ROW_HDR_LEN, &clen,
	    pt, ptlen, ad, adlen, NULL, out + 5, dk->key);
	secret_free(pt, ptlen);

	*blob = out;
	*bloblen = ROW_HDR_LEN + (size_t)clen;
}

uint32_t
store_row_version(const uint8_t *blob, size_t len)
{
	if (blob == NULL || len < ROW_MIN_LEN ||
	    (blob[0] != ROW_FORMAT_V1 && blob[0] != ROW_FORMAT_V2))
		return 0;
	return store_be32_get(blob + 1);
}

int
store_row_open(const uint8_t key[32], uint32_t key_version, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *want_name,
    const uint8_t *blob, size_t len, char **name_out, uint8_t **val,
    size_t *vlen, struct error *err)
{
	uint8_t ad[ROW_AD_MAX], *pt = NULL;
	unsigned long long ptlen = 0;
	size_t cap = 0, adlen, nlen, n, hdr;
	uint32_t kv;
	int rc = STORE_CORRUPT, format;

	*val = NULL;
	*vlen = 0;
	if (name_out != NULL)
		*name_out = NULL;
	if (len < ROW_MIN_LEN)
		return store_row_corrupt(err, table, id, "is truncated (%zu "
		    "bytes)", len);
	format = blob[0];
	if (format != ROW_FORMAT_V1 && format != ROW_FORMAT_V2)
		return store_row_corrupt(err, table, id, "has unknown format "
		    "version %d", format);
	kv = store_be32_get(blob + 1);
	if (kv != key_version)
		return store_row_corrupt(err, table, id, "is sealed under "
		    "data key version %" PRIu32 ", not %" PRIu32, kv,
		    key_version);

	/* Room for the plaintext and a terminating NUL. */
	cap = len - ROW_HDR_LEN - ROW_TAG_LEN + 1;
	pt = xmalloc(cap);
	adlen = row_ad(format, table, id, kv, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
	    blob + ROW_HDR_LEN, len - ROW_HDR_LEN, ad, adlen, blob + 5,
	    key) != 0) {
		store_row_corrupt(err, table, id, "failed authentication "
		    "(wrong data key or tampered database)");
		goto done;
	}

	/* Authentic, so written by us; still decode defensively. */
	hdr = format == ROW_FORMAT_V1 ? 4 : 8;
	if (ptlen < hdr) {
		store_row_corrupt(err, table, id, "holds a malformed name");
		goto done;
	}
	nlen = store_be32_get(pt);
	if (nlen == 0 || nlen > STORE_NAME_MAX || nlen > ptlen - hdr ||
	    memchr(pt + hdr, 0, nlen) != NULL) {
		store_row_corrupt(err, table, id, "holds a malformed name");
		goto done;
	}
	if (format == ROW_FORMAT_V1)
		n = (size_t)ptlen - hdr - nlen;
	else {
		n = store_be32_get(pt + 4);
		if (n > ptlen - hdr - nlen) {
			store_row_corrupt(err, table, id, "holds a malformed "
			    "value length");
			goto done;
		}
	}
	if (want_name != NULL) {
		/* Only the length can leak, and the caller knows it. */
		if (strlen(want_name) != nlen ||
		    !secret_equal(pt + hdr, want_name, nlen)) {
			store_row_corrupt(err, table, id, "failed "
			    "authentication (wrong data key or tampered "
			    "database)");
			goto done;
		}
	}
	if (name_out != NULL)
		*name_out = xstrndup((const char *)pt + hdr, nlen);

	memmove(pt, pt + hdr + nlen, n);
	/* Wipe the name, padding and stale tail; pt[n] becomes the NUL. */
	sodium_memzero(pt + n, cap - n);
	*val = pt;
	*vlen = n;
	pt = NULL;
	rc = 0;
done:
	secret_free(pt, cap);
	return rc;
}
