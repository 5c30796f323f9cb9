/*
 * jwe.c: the KBS resource response, a flattened JWE (RFC 7516) with
 * A256GCM content encryption, built exactly as Trustee builds it (server
 * side; lib/jwe_decrypt.c is the guest side, lib/jwe_alg.c the
 * cryptography both use).
 *
 * The byte-level details matter for interoperability with real guests:
 *   - the protected header is compact JSON in the order alg, enc, then the
 *     other members sorted (nested keys sorted too), because the guest
 *     does not use the received "protected" string as AAD but re-serializes
 *     the parsed header with serde_json and base64url-encodes that
 *     (lib/jwe_header.c);
 *   - the GCM AAD is the ASCII of the base64url "protected" string;
 *   - the ECDH-ES Concat KDF uses AlgorithmID = "ECDH-ES+A256KW" and empty
 *     PartyUInfo/PartyVInfo whatever "apu"/"apv" say.
 * See kbs-server.md §3 and guest-client.md §3.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "b64.h"
#include "jwe.h"
#include "jwe_internal.h"
#include "jwk.h"
#include "log.h"
#include "util.h"

/* The Rust rsa crate Trustee uses refuses larger moduli. */
#define JWE_RSA_MAX_BITS	4096

/*
 * A recipient: the TEE public key parsed, validated and classified once,
 * then used for any number of responses (the session cache keeps one per
 * verified token). Immutable after jwe_key_new, so threads share it: an
 * EVP_PKEY that is only read is thread-safe in OpenSSL 3.
 */
struct jwe_key {
	enum jwe_alg alg;
	const char *crv;	/* "P-256" / "P-521" (ECDH-ES), else NULL */
	size_t coord;		/* EC coordinate bytes: 32 / 66 */
	EVP_PKEY *pkey;
};

/* A fresh key on the peer's curve. The peer serves as the parameter
 * template so the curve group is not rebuilt from its name each time. */
static EVP_PKEY *
jwe_ephemeral(EVP_PKEY *peer, const char *group)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	EVP_PKEY *k = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &k) != 1) {
		EVP_PKEY_free(k);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	}
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* The ephemeral public point as base64url x and y (fixed-length
 * coordinates): from the SEC1 uncompressed encoding, 0x04 || x || y,
 * without a detour through BIGNUMs; jwk_from_pkey if the key would
 * encode otherwise. */
static int
jwe_epk_coords(EVP_PKEY *eph, size_t coord, struct buf *hdr)
{
	uint8_t pt[1 + 2 * JWE_Z_MAX];
	char x[JWE_Z_MAX * 2], y[JWE_Z_MAX * 2];
	size_t n = 0;
	json_t *epk;

	if (EVP_PKEY_get_octet_string_param(eph,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n) == 1 &&
	    n == 1 + 2 * coord && pt[0] == 0x04) {
		b64url_public(x, pt + 1, coord);
		b64url_public(y, pt + 1 + coord, coord);
		buf_printf(hdr, "\"x\":\"%s\",\"y\":\"%s\"}}", x, y);
		return 0;
	}
	ERR_clear_error();
	if ((epk = jwk_from_pkey(eph, NULL)) == NULL)
		return -1;
	buf_printf(hdr, "\"x\":\"%s\",\"y\":\"%s\"}}",
	    json_string_value(json_object_get(epk, "x")),
	    json_string_value(json_object_get(epk, "y")));
	json_decref(epk);
	return 0;
}

/* ECDH-ES+A256KW: ephemeral key, KEK, wrapped CEK; the header gets the
 * ephemeral public key with fixed-length coordinates. */
static int
jwe_wrap_ecdh(const struct jwe_key *k, const uint8_t cek[JWE_CEK_LEN],
    struct buf *hdr, uint8_t *ek, size_t *eklen, struct error *err)
{
	const char *group = strcmp(k->crv, "P-256") == 0 ? "prime256v1" :
	    "secp521r1";
	EVP_PKEY *eph = NULL;
	uint8_t z[JWE_Z_MAX], kek[JWE_KEK_LEN];
	size_t zlen = 0;
	int rc = -1;

	if ((eph = jwe_ephemeral(k->pkey, group)) == NULL) {
		error_set(err, "jwe: generating the ephemeral %s key failed",
		    k->crv);
		goto out;
	}
	if (jwe_alg_ecdh(eph, k->pkey, z, &zlen) != 0) {
		error_set(err, "jwe: ECDH with the tee-pubkey failed");
		goto out;
	}
	if (jwe_alg_concat_kdf(z, zlen, kek) != 0 ||
	    jwe_alg_aes_kw(1, kek, cek, JWE_CEK_LEN, ek, JWE_WRAPPED_LEN,
	    eklen) != 0 || *eklen != JWE_WRAPPED_LEN) {
		error_set(err, "jwe: wrapping the content key failed");
		goto out;
	}
	/* Sorted keys crv, kty, x, y; the values are base64url or fixed
	 * names, so nothing needs escaping. */
	buf_printf(hdr, "{\"alg\":\"%s\",\"enc\":\"%s\",\"epk\":"
	    "{\"crv\":\"%s\",\"kty\":\"EC\",", JWE_ALG_ECDH, JWE_ENC,
	    k->crv);
	if (jwe_epk_coords(eph, k->coord, hdr) != 0) {
		error_set(err, "jwe: exporting the ephemeral key failed");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	EVP_PKEY_free(eph);
	ERR_clear_error();
	return rc;
}

struct jwe_key *
jwe_key_new(const json_t *tee_pubkey, struct error *err)
{
	const char *alg, *kty, *crv = NULL;
	char ex[48];
	enum jwe_alg a;
	EVP_PKEY *peer = NULL;

	if (!json_is_object(tee_pubkey)) {
		error_set(err, "tee-pubkey: not a JSON object");
		return NULL;
	}
	if ((alg = jwk_member_string(tee_pubkey, "tee-pubkey", "alg",
	    err)) == NULL ||
	    (kty = jwk_member_string(tee_pubkey, "tee-pubkey", "kty",
	    err)) == NULL)
		return NULL;
	if (jwe_alg_from_name(alg, &a) != 0) {
		error_set(err, "tee-pubkey.alg: unsupported algorithm \"%s\" "
		    "(expected %s, %s or %s)", log_escape(alg, ex, sizeof(ex)),
		    JWE_ALG_ECDH, JWE_ALG_OAEP, JWE_ALG_RSA15);
		return NULL;
	}
	if (a == JWE_ECDH_ES_A256KW) {
		if (strcmp(kty, "EC") != 0) {
			error_set(err, "tee-pubkey: unsupported key type "
			    "\"%s\" for %s (expected EC)",
			    log_escape(kty, ex, sizeof(ex)), alg);
			return NULL;
		}
		if ((crv = jwk_member_string(tee_pubkey, "tee-pubkey", "crv",
		    err)) == NULL)
			return NULL;
		if (strcmp(crv, "P-256") != 0 && strcmp(crv, "P-521") != 0) {
			error_set(err, "tee-pubkey.crv: unsupported curve "
			    "\"%s\" for %s (expected P-256 or P-521)",
			    log_escape(crv, ex, sizeof(ex)), alg);
			return NULL;
		}
	} else if (strcmp(kty, "RSA") != 0) {
		error_set(err, "tee-pubkey: unsupported key type \"%s\" for %s "
		    "(expected RSA)", log_escape(kty, ex, sizeof(ex)), alg);
		return NULL;
	}
	if (jwk_to_pkey(tee_pubkey, &peer, err) != 0) {
		error_prefix(err, "tee-pubkey");
		return NULL;
	}
	return jwe_key_adopt(peer, alg, err);
}

struct jwe_key *
jwe_key_adopt(EVP_PKEY *pkey, const char *alg, struct error *err)
{
	struct jwe_key *k;
	const char *crv = NULL;
	enum jwe_alg a;

	if (jwe_alg_from_name(alg, &a) != 0) {
		error_set(err, "tee-pubkey.alg: unsupported algorithm");
		goto fail;
	}
	if (a == JWE_ECDH_ES_A256KW) {
		if ((crv = jwe_alg_pkey_crv(pkey)) == NULL) {
			error_set(err, "tee-pubkey: %s needs a P-256 or P-521 "
			    "key", JWE_ALG_ECDH);
			goto fail;
		}
	} else if (!EVP_PKEY_is_a(pkey, "RSA")) {
		error_set(err, "tee-pubkey: %s needs an RSA key", alg);
		goto fail;
	} else if (EVP_PKEY_get_bits(pkey) > JWE_RSA_MAX_BITS) {
		error_set(err, "tee-pubkey.n: unsupported %d-bit RSA modulus "
		    "(at most %d bits)", EVP_PKEY_get_bits(pkey),
		    JWE_RSA_MAX_BITS);
		goto fail;
	}
	k = xcalloc(1, sizeof(*k));
	k->alg = a;
	k->pkey = pkey;
	if (crv != NULL) {
		k->crv = crv;
		k->coord = strcmp(crv, "P-256") == 0 ? 32 : 66;
	}
	return k;
fail:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	return NULL;
}

void
jwe_key_free(struct jwe_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

char *
jwe_encrypt_key(const struct jwe_key *k, const uint8_t *pt, size_t ptlen,
    struct error *err)
{
	uint8_t cek[JWE_CEK_LEN], iv[JWE_IV_LEN], tag[JWE_TAG_LEN];
	uint8_t rnd[JWE_CEK_LEN + JWE_IV_LEN];
	uint8_t ekbuf[JWE_WRAPPED_LEN], *ek = ekbuf, *ct = NULL;
	size_t eklen = 0, protlen;
	struct buf hdr = { 0 }, out = { 0 };
	char *ret = NULL;

	/* OpenSSL's per-thread private DRBG, which the ephemeral key below
	 * draws from anyway: no system call of its own (libsodium's
	 * randombytes_buf is one getrandom(2) per call). */
	if (RAND_priv_bytes(rnd, sizeof(rnd)) != 1) {
		error_set(err, "jwe: no random bytes for the content key");
		return NULL;
	}
	memcpy(cek, rnd, sizeof(cek));
	memcpy(iv, rnd + sizeof(cek), sizeof(iv));
	sodium_memzero(rnd, sizeof(rnd));
	if (k->alg == JWE_ECDH_ES_A256KW) {
		if (jwe_wrap_ecdh(k, cek, &hdr, ek, &eklen, err) != 0)
			goto out;
	} else {
		if (k->alg == JWE_RSA1_5)
			log_warnx("jwe: encrypting to a deprecated RSA1_5 "
			    "tee-pubkey");
		eklen = (size_t)EVP_PKEY_get_size(k->pkey);
		ek = xmalloc(eklen);
		if (jwe_alg_rsa(1, k->alg, k->pkey, cek, sizeof(cek), ek,
		    &eklen) != 0) {
			error_set(err, "jwe: RSA encryption of the content key "
			    "failed");
			goto out;
		}
		buf_printf(&hdr, "{\"alg\":\"%s\",\"enc\":\"%s\"}",
		    k->alg == JWE_RSA1_5 ? JWE_ALG_RSA15 : JWE_ALG_OAEP,
		    JWE_ENC);
	}

	/* One buffer for the whole answer; the AAD is the base64url text of
	 * the protected header itself (RFC 7516 §5.1 step 14), read from
	 * that buffer. */
	buf_addstr(&out, "{\"protected\":\"");
	protlen = out.len;
	b64url_public_add(&out, hdr.data, hdr.len);
	protlen = out.len - protlen;
	ct = xmalloc(ptlen > 0 ? ptlen : 1);
	if (jwe_alg_gcm(1, cek, iv, (const char *)out.data + out.len - protlen,
	    protlen, pt, ptlen, ct, tag) != 0) {
		error_set(err, "jwe: AES-256-GCM encryption failed");
		goto out;
	}
	buf_addstr(&out, "\",\"encrypted_key\":\"");
	b64url_public_add(&out, ek, eklen);
	buf_addstr(&out, "\",\"iv\":\"");
	b64url_public_add(&out, iv, sizeof(iv));
	buf_addstr(&out, "\",\"ciphertext\":\"");
	b64url_public_add(&out, ct, ptlen);
	buf_addstr(&out, "\",\"tag\":\"");
	b64url_public_add(&out, tag, sizeof(tag));
	buf_addstr(&out, "\"}");
	ret = buf_cstr(&out);
	out.data = NULL;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	ERR_clear_error();
	buf_free(&hdr);
	buf_free(&out);
	if (ek != ekbuf)
		free(ek);
	free(ct);
	return ret;
}

char *
jwe_encrypt(const json_t *tee_pubkey, const uint8_t *pt, size_t ptlen,
    struct error *err)
{
	struct jwe_key *k = jwe_key_new(tee_pubkey, err);
	char *out;

	if (k == NULL)
		return NULL;
	out = jwe_encrypt_key(k, pt, ptlen, err);
	jwe_key_free(k);
	return out;
}
