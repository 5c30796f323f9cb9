/*
 * jwe.c: the KBS resource response, a flattened JWE (RFC 7516) with
 * A256GCM content encryption, built exactly as Trustee builds it and
 * decrypted exactly as the guest-components client decrypts it.
 *
 * The byte-level details matter for interoperability with real guests:
 *   - the protected header is compact JSON in the order alg, enc, then the
 *     other members sorted (nested keys sorted too), because the guest
 *     does not use the received "protected" string as AAD but re-serializes
 *     the parsed header with serde_json and base64url-encodes that;
 *   - the GCM AAD is the ASCII of the base64url "protected" string;
 *   - the ECDH-ES Concat KDF uses AlgorithmID = "ECDH-ES+A256KW" and empty
 *     PartyUInfo/PartyVInfo whatever "apu"/"apv" say.
 * See kbs-server.md §3 and guest-client.md §3.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "b64.h"
#include "jcs.h"
#include "jwe.h"
#include "jwk.h"
#include "log.h"
#include "util.h"

#define JWE_ALG_ECDH		"ECDH-ES+A256KW"
#define JWE_ALG_OAEP		"RSA-OAEP-256"
#define JWE_ALG_RSA15		"RSA1_5"
#define JWE_ENC			"A256GCM"
#define JWE_CEK_LEN		32
#define JWE_KEK_LEN		32
#define JWE_IV_LEN		12
#define JWE_TAG_LEN		16
#define JWE_WRAPPED_LEN		(JWE_CEK_LEN + 8)	/* RFC 3394 */
#define JWE_Z_MAX		66			/* P-521 */
/* The Rust rsa crate Trustee uses refuses larger moduli. */
#define JWE_RSA_MAX_BITS	4096
/* serde_json's recursion limit: deeper headers fail in the guest. */
#define JWE_HEADER_MAX_DEPTH	128
/* Largest chunk handed to one EVP_*Update call (they take an int). */
#define JWE_CHUNK		(1 << 30)
#define JWE_B64URL_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

enum jwe_alg { JWE_ECDH_ES_A256KW, JWE_RSA_OAEP_256, JWE_RSA1_5 };

static int
jwe_alg_from_name(const char *alg, enum jwe_alg *out)
{
	if (strcmp(alg, JWE_ALG_ECDH) == 0)
		*out = JWE_ECDH_ES_A256KW;
	else if (strcmp(alg, JWE_ALG_OAEP) == 0)
		*out = JWE_RSA_OAEP_256;
	else if (strcmp(alg, JWE_ALG_RSA15) == 0)
		*out = JWE_RSA1_5;
	else
		return -1;
	return 0;
}

/* JOSE curve name of an EC key usable with ECDH-ES+A256KW, else NULL. */
static const char *
jwe_pkey_crv(EVP_PKEY *pkey)
{
	char group[64];

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) != 1)
		return NULL;
	if (strcmp(group, "prime256v1") == 0)
		return "P-256";
	if (strcmp(group, "secp521r1") == 0)
		return "P-521";
	return NULL;
}

/* String member of a JSON object; NULL with err set ("<what>.<name>: ...")
 * when absent, not a string, or holding a NUL. */
static const char *
jwe_member_string(const json_t *obj, const char *what, const char *name,
    struct error *err)
{
	const json_t *v = json_object_get(obj, name);

	if (v == NULL) {
		error_set(err, "%s.%s: missing", what, name);
		return NULL;
	}
	if (!json_is_string(v)) {
		error_set(err, "%s.%s: not a string", what, name);
		return NULL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		error_set(err, "%s.%s: contains a NUL character", what, name);
		return NULL;
	}
	return json_string_value(v);
}

/* Algorithms fetched once per process (an implicit fetch per call is a
 * method-store lookup under a lock); NULL members fall back to the
 * implicit EVP_aes_256_wrap() etc. */
static struct {
	pthread_once_t once;
	EVP_CIPHER *wrap, *gcm;
	EVP_MD *sha256;
} jwe_algs = { PTHREAD_ONCE_INIT, NULL, NULL, NULL };

static void
jwe_algs_fetch(void)
{
	jwe_algs.wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	jwe_algs.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	jwe_algs.sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ERR_clear_error();
}

static const EVP_CIPHER *
jwe_cipher_wrap(void)
{
	pthread_once(&jwe_algs.once, jwe_algs_fetch);
	return jwe_algs.wrap != NULL ? jwe_algs.wrap : EVP_aes_256_wrap();
}

static const EVP_CIPHER *
jwe_cipher_gcm(void)
{
	pthread_once(&jwe_algs.once, jwe_algs_fetch);
	return jwe_algs.gcm != NULL ? jwe_algs.gcm : EVP_aes_256_gcm();
}

static const EVP_MD *
jwe_md_sha256(void)
{
	pthread_once(&jwe_algs.once, jwe_algs_fetch);
	return jwe_algs.sha256 != NULL ? jwe_algs.sha256 : EVP_sha256();
}

/*
 * Z = ECDH(priv, peer): the x-coordinate, 32 (P-256) or 66 (P-521) bytes.
 * Contract: peer came from jwk_to_pkey, which already validated the point,
 * so OpenSSL's own peer validation (a second full public-key check on
 * every resource request) is skipped.
 */
static int
jwe_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[JWE_Z_MAX], size_t *zlen)
{
	EVP_PKEY_CTX *ctx;
	size_t n = JWE_Z_MAX;
	int rc = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, z, &n) == 1) {
		*zlen = n;
		rc = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/*
 * RFC 7518 §4.6.2 Concat KDF, one SHA-256 round (keydatalen 256):
 *   SHA-256(00000001 || Z || u32be(14) || "ECDH-ES+A256KW" ||
 *           u32be(0) || u32be(0) || u32be(256))
 * i.e. empty PartyUInfo/PartyVInfo, as both Trustee and the guest do.
 */
static int
jwe_concat_kdf(const uint8_t *z, size_t zlen, uint8_t kek[JWE_KEK_LEN])
{
	static const char algid[] = JWE_ALG_ECDH;
	uint8_t in[4 + JWE_Z_MAX + 4 + sizeof(algid) - 1 + 12];
	unsigned int mdlen = 0;
	size_t n = 0;
	int rc;

	if (zlen > JWE_Z_MAX)
		return -1;
	memcpy(in + n, "\x00\x00\x00\x01", 4);
	n += 4;
	memcpy(in + n, z, zlen);
	n += zlen;
	memcpy(in + n, "\x00\x00\x00\x0e", 4);
	n += 4;
	memcpy(in + n, algid, sizeof(algid) - 1);
	n += sizeof(algid) - 1;
	memcpy(in + n, "\x00\x00\x00\x00" "\x00\x00\x00\x00" "\x00\x00\x01\x00",
	    12);
	n += 12;
	rc = EVP_Digest(in, n, kek, &mdlen, jwe_md_sha256(), NULL) == 1 &&
	    mdlen == JWE_KEK_LEN ? 0 : -1;
	OPENSSL_cleanse(in, sizeof(in));
	return rc;
}

/* AES-256 key wrap (RFC 3394, default IV): enc=1 wraps 32 -> 40 bytes,
 * enc=0 unwraps 40 -> 32 and fails on an integrity check mismatch. */
static int
jwe_aes_kw(int enc, const uint8_t kek[JWE_KEK_LEN], const uint8_t *in,
    size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, f = 0, rc = -1;

	if (inlen > 64 || outcap < (enc ? inlen + 8 : inlen))
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(ctx, jwe_cipher_wrap(), NULL, kek, NULL,
	    enc) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1 && n > 0 &&
	    EVP_CipherFinal_ex(ctx, out + n, &f) == 1) {
		*outlen = (size_t)n + (size_t)f;
		rc = 0;
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* AES-256-GCM with a 12-byte IV and a detached 16-byte tag. enc=1:
 * in=plaintext, tag is written; enc=0: in=ciphertext, tag is checked.
 * out has room for inlen bytes. */
static int
jwe_gcm(int enc, const uint8_t cek[JWE_CEK_LEN], const uint8_t iv[JWE_IV_LEN],
    const char *aad, size_t aadlen, const uint8_t *in, size_t inlen,
    uint8_t *out, uint8_t tag[JWE_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	size_t off;
	int n, chunk, rc = -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, jwe_cipher_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, JWE_IV_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, cek, iv, enc) != 1)
		goto out;
	for (off = 0; off < aadlen; off += (size_t)chunk) {
		chunk = aadlen - off > JWE_CHUNK ? JWE_CHUNK :
		    (int)(aadlen - off);
		if (EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad + off,
		    chunk) != 1)
			goto out;
	}
	for (off = 0; off < inlen; off += (size_t)chunk) {
		chunk = inlen - off > JWE_CHUNK ? JWE_CHUNK :
		    (int)(inlen - off);
		if (EVP_CipherUpdate(ctx, out + off, &n, in + off,
		    chunk) != 1 || n != chunk)
			goto out;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, JWE_TAG_LEN,
	    tag) != 1)
		goto out;
	/* GCM is a stream mode: Final writes nothing, it checks the tag. */
	if (EVP_CipherFinal_ex(ctx, out + inlen, &n) != 1 || n != 0)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, JWE_TAG_LEN,
	    tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* RSA encrypt (enc=1) or decrypt of the CEK with the padding alg asks. */
static int
jwe_rsa(int enc, enum jwe_alg alg, EVP_PKEY *key, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx;
	int rc = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
		return -1;
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) !=
	    1)
		goto out;
	if (alg == JWE_RSA_OAEP_256) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
			goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if ((enc ? EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) :
	    EVP_PKEY_decrypt(ctx, out, outlen, in, inlen)) == 1)
		rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/*
 * Server side.
 */

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
	if (jwe_ecdh(eph, k->pkey, z, &zlen) != 0) {
		error_set(err, "jwe: ECDH with the tee-pubkey failed");
		goto out;
	}
	if (jwe_concat_kdf(z, zlen, kek) != 0 ||
	    jwe_aes_kw(1, kek, cek, JWE_CEK_LEN, ek, JWE_WRAPPED_LEN,
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
	if ((alg = jwe_member_string(tee_pubkey, "tee-pubkey", "alg",
	    err)) == NULL ||
	    (kty = jwe_member_string(tee_pubkey, "tee-pubkey", "kty",
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
		if ((crv = jwe_member_string(tee_pubkey, "tee-pubkey", "crv",
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
		if ((crv = jwe_pkey_crv(pkey)) == NULL) {
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
		if (jwe_rsa(1, k->alg, k->pkey, cek, sizeof(cek), ek,
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
	if (jwe_gcm(1, cek, iv, (const char *)out.data + out.len - protlen,
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

/*
 * Guest side.
 */

/*
 * A double the way serde_json (ryu) writes it: the shortest digits that
 * read back to the same value, laid out as 1.0, 0.001, 1e16, 1.5e-7.
 * Shortest digits come from "%.*e" at increasing precision, which agrees
 * with ryu except perhaps for ties at the rounding-interval edge; headers
 * with fractional numbers do not occur in this protocol.
 */
static void
jwe_ser_real(struct buf *b, double d)
{
	char tmp[64], digits[24];
	int prec, e, ndig = 0, k, kk, i;
	char *p;

	if (d == 0) {
		buf_addstr(b, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	p = tmp;
	if (*p == '-') {
		buf_addstr(b, "-");
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[ndig++] = *p;
	e = atoi(p + 1);
	while (ndig > 1 && digits[ndig - 1] == '0')
		ndig--;
	digits[ndig] = '\0';
	k = e - (ndig - 1);	/* value = digits * 10^k */
	kk = e + 1;		/* 10^(kk-1) <= |value| < 10^kk */
	if (k >= 0 && kk <= 16) {
		buf_addstr(b, digits);
		for (i = 0; i < k; i++)
			buf_addstr(b, "0");
		buf_addstr(b, ".0");
	} else if (kk > 0 && kk <= 16) {
		buf_add(b, digits, (size_t)kk);
		buf_addstr(b, ".");
		buf_addstr(b, digits + kk);
	} else if (kk > -5 && kk <= 0) {
		buf_addstr(b, "0.");
		for (i = 0; i < -kk; i++)
			buf_addstr(b, "0");
		buf_addstr(b, digits);
	} else if (ndig == 1) {
		buf_printf(b, "%se%d", digits, kk - 1);
	} else {
		buf_printf(b, "%c.%se%d", digits[0], digits + 1, kk - 1);
	}
}

struct jwe_member {
	const char *key;
	size_t len;
	const json_t *value;
};

/* serde_json's Map is a BTreeMap<String, _>: byte-wise key order. */
static int
jwe_member_cmp(const void *a, const void *b)
{
	const struct jwe_member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The members of obj, sorted, minus alg and enc when skip_alg_enc. */
static struct jwe_member *
jwe_sorted_members(const json_t *obj, int skip_alg_enc, size_t *count)
{
	struct jwe_member *keys;
	const char *key;
	json_t *value;
	size_t n = 0;

	keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	json_object_foreach((json_t *)obj, key, value) {
		if (skip_alg_enc && (strcmp(key, "alg") == 0 ||
		    strcmp(key, "enc") == 0))
			continue;
		keys[n].key = key;
		keys[n].len = strlen(key);
		keys[n].value = value;
		n++;
	}
	qsort(keys, n, sizeof(*keys), jwe_member_cmp);
	*count = n;
	return keys;
}

static int
jwe_ser_value(struct buf *b, const json_t *v, int depth)
{
	struct jwe_member *keys;
	size_t i, n;

	if (depth > JWE_HEADER_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		keys = jwe_sorted_members(v, 0, &n);
		buf_addstr(b, "{");
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addstr(b, ",");
			jcs_append_string(b, keys[i].key, keys[i].len);
			buf_addstr(b, ":");
			if (jwe_ser_value(b, keys[i].value, depth + 1) != 0) {
				free(keys);
				return -1;
			}
		}
		buf_addstr(b, "}");
		free(keys);
		return 0;
	case JSON_ARRAY:
		buf_addstr(b, "[");
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_addstr(b, ",");
			if (jwe_ser_value(b, json_array_get(v, i),
			    depth + 1) != 0)
				return -1;
		}
		buf_addstr(b, "]");
		return 0;
	case JSON_STRING:
		jcs_append_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_REAL:
		jwe_ser_real(b, json_real_value(v));
		return 0;
	case JSON_TRUE:
		buf_addstr(b, "true");
		return 0;
	case JSON_FALSE:
		buf_addstr(b, "false");
		return 0;
	case JSON_NULL:
		buf_addstr(b, "null");
		return 0;
	}
	return -1;
}

/*
 * The AAD the guest computes (ProtectedHeader::generate_aad): the header
 * re-serialized as {"alg":..,"enc":..,<other members sorted>} compact,
 * then base64url without padding. Returns a malloc'd string or NULL.
 */
static char *
jwe_canonical_aad(const json_t *hdr)
{
	const json_t *alg = json_object_get(hdr, "alg");
	const json_t *enc = json_object_get(hdr, "enc");
	struct jwe_member *keys;
	struct buf b = { 0 };
	size_t i, n;
	char *aad = NULL;

	buf_addstr(&b, "{\"alg\":");
	jcs_append_string(&b, json_string_value(alg), json_string_length(alg));
	buf_addstr(&b, ",\"enc\":");
	jcs_append_string(&b, json_string_value(enc), json_string_length(enc));
	keys = jwe_sorted_members(hdr, 1, &n);
	for (i = 0; i < n; i++) {
		buf_addstr(&b, ",");
		jcs_append_string(&b, keys[i].key, keys[i].len);
		buf_addstr(&b, ":");
		if (jwe_ser_value(&b, keys[i].value, 2) != 0)
			goto out;
	}
	buf_addstr(&b, "}");
	aad = b64_encode(b.data, b.len, B64_URL_NOPAD);
out:
	free(keys);
	buf_free(&b);
	return aad;
}

/* Base64url (no padding) member of the JWE. */
static int
jwe_get_b64(const json_t *jwe, const char *name, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const char *s;

	if ((s = jwe_member_string(jwe, "jwe", name, err)) == NULL)
		return -1;
	/* libsodium 1.0.18 lets bytes >= 0x80 through inside a quantum. */
	if (s[strspn(s, JWE_B64URL_ALPHABET)] != '\0' ||
	    b64_decode(s, strlen(s), B64_URL_NOPAD, out, outlen) != 0)
		return error_set(err, "jwe.%s: not base64url without padding",
		    name);
	return 0;
}

/* ECDH-ES+A256KW: recover the CEK from epk and encrypted_key. */
static int
jwe_unwrap_ecdh(const json_t *hdr, EVP_PKEY *priv, const uint8_t *ek,
    size_t eklen, uint8_t cek[JWE_CEK_LEN], struct error *err)
{
	const json_t *epk = json_object_get(hdr, "epk");
	const char *mycrv, *crv, *x, *y;
	char ex[48];
	json_t *jwk = NULL;
	EVP_PKEY *peer = NULL;
	uint8_t z[JWE_Z_MAX], kek[JWE_KEK_LEN], out[JWE_WRAPPED_LEN];
	size_t zlen = 0, outlen = 0;
	int rc = -1;

	if ((mycrv = jwe_pkey_crv(priv)) == NULL)
		return error_set(err, "jwe: %s needs a P-256 or P-521 private "
		    "key", JWE_ALG_ECDH);
	if (!json_is_object(epk))
		return error_set(err, "jwe header.epk: missing or not an "
		    "object");
	if ((crv = jwe_member_string(epk, "jwe header.epk", "crv",
	    err)) == NULL ||
	    (x = jwe_member_string(epk, "jwe header.epk", "x", err)) == NULL ||
	    (y = jwe_member_string(epk, "jwe header.epk", "y", err)) == NULL)
		return -1;
	if (strcmp(crv, mycrv) != 0)
		return error_set(err, "jwe header.epk.crv: \"%s\" does not "
		    "match the private key's curve %s",
		    log_escape(crv, ex, sizeof(ex)), mycrv);
	/* epk.kty is not checked by the guest either. */
	jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", crv,
	    "x", x, "y", y);
	if (jwk == NULL || jwk_to_pkey(jwk, &peer, err) != 0) {
		error_prefix(err, "jwe header.epk");
		goto out;
	}
	if (eklen != JWE_WRAPPED_LEN) {
		error_set(err, "jwe.encrypted_key: %zu bytes, expected %d",
		    eklen, JWE_WRAPPED_LEN);
		goto out;
	}
	if (jwe_ecdh(priv, peer, z, &zlen) != 0 ||
	    jwe_concat_kdf(z, zlen, kek) != 0) {
		error_set(err, "jwe: ECDH key agreement failed");
		goto out;
	}
	if (jwe_aes_kw(0, kek, ek, eklen, out, sizeof(out), &outlen) != 0 ||
	    outlen != JWE_CEK_LEN) {
		error_set(err, "jwe.encrypted_key: AES key unwrap failed "
		    "(wrong key or corrupted data)");
		goto out;
	}
	memcpy(cek, out, JWE_CEK_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_free(peer);
	json_decref(jwk);
	return rc;
}

static int
jwe_unwrap_rsa(enum jwe_alg a, EVP_PKEY *priv, const uint8_t *ek,
    size_t eklen, uint8_t cek[JWE_CEK_LEN], struct error *err)
{
	uint8_t *out;
	size_t cap, outlen;
	int rc = -1;

	if (!EVP_PKEY_is_a(priv, "RSA"))
		return error_set(err, "jwe: %s needs an RSA private key",
		    a == JWE_RSA1_5 ? JWE_ALG_RSA15 : JWE_ALG_OAEP);
	if (a == JWE_RSA1_5)
		log_debug("jwe: decrypting a deprecated RSA1_5 response");
	cap = outlen = (size_t)EVP_PKEY_get_size(priv);
	out = xmalloc(cap);
	if (jwe_rsa(0, a, priv, ek, eklen, out, &outlen) != 0)
		error_set(err, "jwe.encrypted_key: RSA decryption failed");
	else if (outlen != JWE_CEK_LEN)
		error_set(err, "jwe.encrypted_key: decrypts to a %zu-byte key, "
		    "expected %d", outlen, JWE_CEK_LEN);
	else {
		memcpy(cek, out, JWE_CEK_LEN);
		rc = 0;
	}
	secret_free(out, cap);
	return rc;
}

/* jwe_decrypt; with locked set the plaintext goes straight into
 * sodium_malloc memory (locked, guarded) instead of the heap. */
static int
jwe_decrypt_to(const char *jwe, size_t len, EVP_PKEY *priv, int locked,
    uint8_t **pt, size_t *ptlen, struct error *err)
{
	json_t *root = NULL, *hdr = NULL, *aadm;
	json_error_t jerr;
	uint8_t *prot = NULL, *ek = NULL, *iv = NULL, *ct = NULL, *tag = NULL;
	uint8_t *out = NULL, cek[JWE_CEK_LEN];
	size_t protlen, eklen, ivlen, ctlen, taglen;
	const char *alg;
	char *aad = NULL, ex[48];
	enum jwe_alg a;
	int rc = -1;

	*pt = NULL;
	*ptlen = 0;
	if ((root = json_loadb(jwe, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		error_set(err, "jwe: invalid JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		error_set(err, "jwe: not a JSON object");
		goto out;
	}
	if (jwe_get_b64(root, "protected", &prot, &protlen, err) != 0 ||
	    jwe_get_b64(root, "encrypted_key", &ek, &eklen, err) != 0 ||
	    jwe_get_b64(root, "iv", &iv, &ivlen, err) != 0 ||
	    jwe_get_b64(root, "ciphertext", &ct, &ctlen, err) != 0 ||
	    jwe_get_b64(root, "tag", &tag, &taglen, err) != 0)
		goto out;
	/* Optional and unused by the guest, but it must be a string. */
	if ((aadm = json_object_get(root, "aad")) != NULL &&
	    !json_is_string(aadm)) {
		error_set(err, "jwe.aad: not a string");
		goto out;
	}
	if ((hdr = json_loadb((const char *)prot, protlen,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		error_set(err, "jwe.protected: invalid JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(hdr)) {
		error_set(err, "jwe.protected: not a JSON object");
		goto out;
	}
	if ((alg = jwe_member_string(hdr, "jwe header", "alg", err)) == NULL ||
	    jwe_member_string(hdr, "jwe header", "enc", err) == NULL)
		goto out;
	if (jwe_alg_from_name(alg, &a) != 0) {
		error_set(err, "jwe header.alg: unsupported algorithm \"%s\"",
		    log_escape(alg, ex, sizeof(ex)));
		goto out;
	}
	/* "enc" is not checked, as in the guest: content is always A256GCM. */
	if (ivlen != JWE_IV_LEN) {
		error_set(err, "jwe.iv: %zu bytes, expected %d", ivlen,
		    JWE_IV_LEN);
		goto out;
	}
	if (taglen != JWE_TAG_LEN) {
		error_set(err, "jwe.tag: %zu bytes, expected %d", taglen,
		    JWE_TAG_LEN);
		goto out;
	}
	if ((aad = jwe_canonical_aad(hdr)) == NULL) {
		error_set(err, "jwe.protected: nested too deeply");
		goto out;
	}
	if ((a == JWE_ECDH_ES_A256KW ? jwe_unwrap_ecdh(hdr, priv, ek, eklen,
	    cek, err) : jwe_unwrap_rsa(a, priv, ek, eklen, cek, err)) != 0)
		goto out;
	if (!locked)
		out = xmalloc(ctlen);
	else if ((out = sodium_malloc(ctlen > 0 ? ctlen : 1)) == NULL) {
		error_set(err, "jwe: cannot allocate locked memory for the "
		    "plaintext");
		goto out;
	}
	if (jwe_gcm(0, cek, iv, aad, strlen(aad), ct, ctlen, out, tag) != 0) {
		error_set(err, "jwe: AES-256-GCM authentication failed");
		if (locked)
			sodium_free(out);
		else
			secret_free(out, ctlen);
		goto out;
	}
	*pt = out;
	*ptlen = ctlen;
	rc = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	ERR_clear_error();
	json_decref(root);
	json_decref(hdr);
	free(prot);
	free(ek);
	free(iv);
	free(ct);
	free(tag);
	free(aad);
	return rc;
}

int
jwe_decrypt(const char *jwe, size_t len, EVP_PKEY *priv, uint8_t **pt,
    size_t *ptlen, struct error *err)
{
	return jwe_decrypt_to(jwe, len, priv, 0, pt, ptlen, err);
}

int
jwe_decrypt_locked(const char *jwe, size_t len, EVP_PKEY *priv, uint8_t **pt,
    size_t *ptlen, struct error *err)
{
	return jwe_decrypt_to(jwe, len, priv, 1, pt, ptlen, err);
}
