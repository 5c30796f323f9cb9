/*
 * datakey.c: the rows of _keys, which hold the data keys of version >= 2
 * and the floor.
 *
 * Data keys of version >= 2 are random, created by rotation (rotate.c),
 * and exist outside process memory only wrapped under the wrap key
 * (keyring.c); version 1 is derived from K_m and has no row. Layouts (all
 * integers big-endian; ids are fixed so they can be found before any key
 * is known):
 *   id 0^28 || u32 v: "TKEY" 0x01, u32 v, 24-byte nonce,
 *        XChaCha20-Poly1305(wrap key, data key v, ad =
 *        "trustee-datakey-v1" 0x00 u32 v); ord = creation ms
 *   id ff^32: the floor (the lowest version not dropped): "TKFL" 0x01,
 *        nonce, AEAD(wrap key, u32 floor, ad = "trustee-keyfloor-v1")
 * Both have kv = 0 (a store-internal row).
 *
 * The parsers take untrusted bytes (fuzzed: fuzz_keyring). An unwrapped
 * key lands in the caller's 32-byte buffer: wiped here when it fails
 * authentication, by the caller after use. Nothing here logs key
 * material.
 */
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "store_internal.h"

#define KEY_MAGIC		"TKEY\x01"
#define KEY_MAGIC_LEN		5
#define KEY_AD			"trustee-datakey-v1"
#define KEY_ROW_LEN		(KEY_MAGIC_LEN + 4 + 24 + 32 + 16)
#define FLOOR_MAGIC		"TKFL\x01"
#define FLOOR_AD		"trustee-keyfloor-v1"
#define FLOOR_ROW_LEN		(KEY_MAGIC_LEN + 24 + 4 + 16)

void
datakey_row_id(uint32_t version, uint8_t rid[STORE_ID_LEN])
{
	memset(rid, 0, STORE_ID_LEN);
	store_be32_put(rid + STORE_ID_LEN - 4, version);
}

void
datakey_floor_row_id(uint8_t rid[STORE_ID_LEN])
{
	memset(rid, 0xff, STORE_ID_LEN);
}

static size_t
datakey_ad(uint32_t version, uint8_t ad[sizeof(KEY_AD) + 4])
{
	memcpy(ad, KEY_AD, sizeof(KEY_AD));	/* with its NUL */
	store_be32_put(ad + sizeof(KEY_AD), version);
	return sizeof(KEY_AD) + 4;
}

void
datakey_wrap(const struct keyring_master *m, uint32_t version,
    const uint8_t key[32], uint8_t **out, size_t *len)
{
	uint8_t ad[sizeof(KEY_AD) + 4], *b = xmalloc(KEY_ROW_LEN);
	size_t adlen = datakey_ad(version, ad);

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
datakey_parse(const uint8_t *b, size_t len, uint32_t *version,
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
datakey_unwrap(const struct keyring_master *m, const uint8_t *b,
    size_t len, uint32_t *version, uint8_t key[32], struct error *err)
{
	uint8_t ad[sizeof(KEY_AD) + 4];
	size_t adlen;

	if (datakey_parse(b, len, version, err) != 0)
		return -1;
	adlen = datakey_ad(*version, ad);
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
datakey_floor_wrap(const struct keyring_master *m, uint32_t floor,
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
datakey_floor_unwrap(const struct keyring_master *m, const uint8_t *b,
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
