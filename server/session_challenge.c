/*
 * session_challenge.c: stateless KBS challenges for sessions in a shared
 * store (session_shared.c). /auth then writes nothing: the nonce it
 * hands out says what the session is (TEE, hash, expiry) and carries a
 * MAC that binds this to the session id, under a key that every instance
 * sharing the store derives alike (store_derive_key). /attest, on any
 * instance, reads the session back from the nonce the guest echoes and
 * spends it by inserting the session's row (insert if absent), so that
 * of several /attests of one nonce exactly one wins.
 *
 * Nonce: 32 bytes, standard base64 (44 characters, the shape of a random
 * nonce):
 *   u8 format (SC_FORMAT) | be32 expires (unix s) | u8 hash (SC_HASH) |
 *   12 bytes TEE name, NUL padded | 14 bytes MAC
 * MAC: keyed BLAKE2b-128 (crypto_generichash) over SC_LABEL, a NUL, the
 * 32-character id and the nonce's first 18 bytes; its first 14 bytes.
 *
 * Freshness: the MAC is a keyed function of the random id, so before
 * /auth nobody without the key can predict the 112 bits of a nonce that
 * depend on it. Forgery: a nonce that passes for an id needs the key (or
 * 2^112 tries). The rest (format, expiry, TEE, hash) is public, as it is
 * in every answer to /auth.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "session_internal.h"

#define SC_FORMAT	0x5c
#define SC_TEE_LEN	12
#define SC_FIELDS	(1 + 4 + 1 + SC_TEE_LEN)
#define SC_MAC_LEN	14
#define SC_LEN		(SC_FIELDS + SC_MAC_LEN)
#define SC_LABEL	"trustee kbs challenge v1"

/* Hash codes on the wire, apart from enum hash_alg's values. */
static const struct {
	enum hash_alg alg;
	uint8_t code;
} sc_hash[] = {
	{ HASH_SHA256, 1 }, { HASH_SHA384, 2 }, { HASH_SHA512, 3 },
	{ HASH_SM3, 4 },
};

_Static_assert(SC_LEN == 32, "a challenge nonce is 32 bytes");
_Static_assert(SESSION_NONCE_LEN == 44, "base64 of 32 bytes");

static void
session_challenge_mac(const uint8_t key[32], const char *id,
    const uint8_t fields[SC_FIELDS], uint8_t mac[SC_MAC_LEN])
{
	crypto_generichash_state h;
	uint8_t full[crypto_generichash_BYTES_MIN];

	crypto_generichash_init(&h, key, 32, sizeof(full));
	crypto_generichash_update(&h, (const uint8_t *)SC_LABEL,
	    sizeof(SC_LABEL));	/* with its NUL */
	crypto_generichash_update(&h, (const uint8_t *)id, SESSION_ID_LEN);
	crypto_generichash_update(&h, fields, SC_FIELDS);
	crypto_generichash_final(&h, full, sizeof(full));
	memcpy(mac, full, SC_MAC_LEN);
	sodium_memzero(&h, sizeof(h));
}

int
session_challenge_mint(const uint8_t key[32], struct session *s)
{
	uint8_t b[SC_LEN];
	size_t tl = strlen(s->tee), i;
	uint8_t code = 0;
	char *text;

	for (i = 0; i < sizeof(sc_hash) / sizeof(sc_hash[0]); i++)
		if (sc_hash[i].alg == s->hash)
			code = sc_hash[i].code;
	if (tl == 0 || tl > SC_TEE_LEN || code == 0 ||
	    strlen(s->id) != SESSION_ID_LEN ||
	    s->expires <= 0 || s->expires > UINT32_MAX)
		return -1;
	memset(b, 0, sizeof(b));
	b[0] = SC_FORMAT;
	for (i = 0; i < 4; i++)
		b[1 + i] = (uint8_t)((uint64_t)s->expires >> (8 * (3 - i)));
	b[5] = code;
	memcpy(b + 6, s->tee, tl);
	session_challenge_mac(key, s->id, b, b + SC_FIELDS);
	text = b64_encode(b, sizeof(b), B64_STD);
	memcpy(s->nonce, text, SESSION_NONCE_LEN);
	s->nonce[SESSION_NONCE_LEN] = '\0';
	free(text);
	return 0;
}

int
session_challenge_open(const uint8_t key[32], const char *id,
    const char *nonce, struct session *out)
{
	uint8_t *b = NULL, mac[SC_MAC_LEN];
	size_t len = 0, i;
	uint64_t exp = 0;
	int rc = -1;

	if (strlen(id) != SESSION_ID_LEN || strlen(nonce) != SESSION_NONCE_LEN ||
	    b64_decode(nonce, SESSION_NONCE_LEN, B64_STD, &b, &len) != 0)
		return -1;
	if (len != SC_LEN || b[0] != SC_FORMAT)
		goto out;
	session_challenge_mac(key, id, b, mac);
	if (!secret_equal(mac, b + SC_FIELDS, SC_MAC_LEN))
		goto out;
	/* Authentic: the fields are ours, but check them as if not. */
	for (i = 0; i < 4; i++)
		exp = exp << 8 | b[1 + i];
	for (i = 0; i < sizeof(sc_hash) / sizeof(sc_hash[0]); i++)
		if (sc_hash[i].code == b[5])
			break;
	if (i == sizeof(sc_hash) / sizeof(sc_hash[0]) || b[6] == '\0')
		goto out;
	memset(out, 0, sizeof(*out));
	memcpy(out->id, id, SESSION_ID_LEN + 1);
	memcpy(out->tee, b + 6, SC_TEE_LEN);	/* tee[32]: stays terminated */
	out->hash = sc_hash[i].alg;
	out->expires = (int64_t)exp;
	out->state = SESSION_AUTHED;
	memcpy(out->nonce, nonce, SESSION_NONCE_LEN + 1);
	out->rev = STORE_REV_ABSENT;
	rc = 0;
out:
	free(b);
	return rc;
}
