/*
 * jwe_decrypt.c: the guest side of the KBS resource response: a
 * flattened JWE (RFC 7516) checked and decrypted exactly as the
 * guest-components client does it, so that what trusteectl attest and
 * the tests accept is what a real guest accepts. Every member is
 * bounds- and type-checked before use; "enc" is not checked (content is
 * always A256GCM, as in the guest); the AAD is the guest's re-serialized
 * header (lib/jwe_header.c). The CEK is wiped on every path.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "b64.h"
#include "jwe.h"
#include "jwe_internal.h"
#include "jwk.h"
#include "log.h"
#include "util.h"

#define JWE_B64URL_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Base64url (no padding) member of the JWE. */
static int
jwe_decrypt_get_b64(const json_t *jwe, const char *name, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const char *s;

	if ((s = jwk_member_string(jwe, "jwe", name, err)) == NULL)
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
jwe_decrypt_unwrap_ecdh(const json_t *hdr, EVP_PKEY *priv, const uint8_t *ek,
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

	if ((mycrv = jwe_alg_pkey_crv(priv)) == NULL)
		return error_set(err, "jwe: %s needs a P-256 or P-521 private "
		    "key", JWE_ALG_ECDH);
	if (!json_is_object(epk))
		return error_set(err, "jwe header.epk: missing or not an "
		    "object");
	if ((crv = jwk_member_string(epk, "jwe header.epk", "crv",
	    err)) == NULL ||
	    (x = jwk_member_string(epk, "jwe header.epk", "x", err)) == NULL ||
	    (y = jwk_member_string(epk, "jwe header.epk", "y", err)) == NULL)
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
	if (jwe_alg_ecdh(priv, peer, z, &zlen) != 0 ||
	    jwe_alg_concat_kdf(z, zlen, kek) != 0) {
		error_set(err, "jwe: ECDH key agreement failed");
		goto out;
	}
	if (jwe_alg_aes_kw(0, kek, ek, eklen, out, sizeof(out), &outlen) != 0 ||
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
jwe_decrypt_unwrap_rsa(enum jwe_alg a, EVP_PKEY *priv, const uint8_t *ek,
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
	if (jwe_alg_rsa(0, a, priv, ek, eklen, out, &outlen) != 0)
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
	if (jwe_decrypt_get_b64(root, "protected", &prot, &protlen, err) != 0 ||
	    jwe_decrypt_get_b64(root, "encrypted_key", &ek, &eklen, err) != 0 ||
	    jwe_decrypt_get_b64(root, "iv", &iv, &ivlen, err) != 0 ||
	    jwe_decrypt_get_b64(root, "ciphertext", &ct, &ctlen, err) != 0 ||
	    jwe_decrypt_get_b64(root, "tag", &tag, &taglen, err) != 0)
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
	if ((alg = jwk_member_string(hdr, "jwe header", "alg", err)) == NULL ||
	    jwk_member_string(hdr, "jwe header", "enc", err) == NULL)
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
	if ((aad = jwe_header_canonical_aad(hdr)) == NULL) {
		error_set(err, "jwe.protected: nested too deeply");
		goto out;
	}
	if ((a == JWE_ECDH_ES_A256KW ?
	    jwe_decrypt_unwrap_ecdh(hdr, priv, ek, eklen, cek, err) :
	    jwe_decrypt_unwrap_rsa(a, priv, ek, eklen, cek, err)) != 0)
		goto out;
	if (!locked)
		out = xmalloc(ctlen);
	else if ((out = sodium_malloc(ctlen > 0 ? ctlen : 1)) == NULL) {
		error_set(err, "jwe: cannot allocate locked memory for the "
		    "plaintext");
		goto out;
	}
	if (jwe_alg_gcm(0, cek, iv, aad, strlen(aad), ct, ctlen, out,
	    tag) != 0) {
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
