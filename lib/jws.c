/*
 * jws.c: compact JWS (RFC 7515) with the JWA (RFC 7518) and RFC 8037
 * signature algorithms we need for attestation tokens and admin tokens.
 *
 * Each alg is bound to exactly one key type (and for ECDSA one curve), so
 * a token can never pick how the verifier treats the key. ECDSA signatures
 * travel as fixed-width r||s and are converted to and from OpenSSL's DER.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "jcs.h"
#include "jws.h"
#include "util.h"

enum jws_kty { JWS_KTY_EC, JWS_KTY_OKP, JWS_KTY_RSA };

/* RFC 7518 §3.3: RSA keys for RS and PS algs must be at least 2048 bits. */
#define JWS_RSA_MIN_BITS 2048
/* Signature bytes jws_sign makes room for up front: ES512's 132 (longer
 * RSA signatures grow the buffer once). */
#define JWS_SIG_ROOM 132

static const struct jws_alg {
	const char *name;
	enum jws_kty kty;
	const char *md;		/* NULL for EdDSA (pure signature) */
	const char *curve;	/* OpenSSL group name for ECDSA */
	size_t coord;		/* ECDSA: bytes of r and of s */
	int pss;
} jws_algs[] = {
	{ "ES256", JWS_KTY_EC, "SHA256", "prime256v1", 32, 0 },
	{ "ES384", JWS_KTY_EC, "SHA384", "secp384r1", 48, 0 },
	{ "ES512", JWS_KTY_EC, "SHA512", "secp521r1", 66, 0 },
	{ "EdDSA", JWS_KTY_OKP, NULL, NULL, 0, 0 },
	{ "RS256", JWS_KTY_RSA, "SHA256", NULL, 0, 0 },
	{ "RS384", JWS_KTY_RSA, "SHA384", NULL, 0, 0 },
	{ "RS512", JWS_KTY_RSA, "SHA512", NULL, 0, 0 },
	{ "PS256", JWS_KTY_RSA, "SHA256", NULL, 0, 1 },
};

static const struct jws_alg *
jws_alg_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(jws_algs); i++) {
		if (strcmp(jws_algs[i].name, name) == 0)
			return &jws_algs[i];
	}
	return NULL;
}

/* The EC group name of key into buf, or -1 (and a placeholder) if it
 * has none. */
static int
jws_key_group(EVP_PKEY *key, char *buf, size_t cap)
{
	size_t n = 0;

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    buf, cap, &n) != 1) {
		snprintf(buf, cap, "an unnamed curve");
		return -1;
	}
	return 0;
}

const char *
jws_alg_for_key(EVP_PKEY *key)
{
	char group[64];
	size_t i;

	if (key == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return "EdDSA";
	if (EVP_PKEY_is_a(key, "RSA"))
		return "RS256";
	if (!EVP_PKEY_is_a(key, "EC") ||
	    jws_key_group(key, group, sizeof(group)) == -1)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(jws_algs); i++) {
		if (jws_algs[i].curve != NULL &&
		    strcmp(jws_algs[i].curve, group) == 0)
			return jws_algs[i].name;
	}
	return NULL;
}

/*
 * The alg entry for name if key is of the type (and curve, size) that
 * alg requires; otherwise NULL with err naming the mismatch.
 */
static const struct jws_alg *
jws_alg_check(const char *name, EVP_PKEY *key, struct error *err)
{
	const struct jws_alg *a;
	char group[64];

	if (key == NULL) {
		error_set(err, "JWS: no key");
		return NULL;
	}
	if ((a = jws_alg_lookup(name)) == NULL) {
		error_set(err, "JWS: unsupported alg \"%s\"", name);
		return NULL;
	}
	switch (a->kty) {
	case JWS_KTY_EC:
		if (!EVP_PKEY_is_a(key, "EC")) {
			error_set(err, "JWS: alg %s needs an EC key", a->name);
			return NULL;
		}
		if (jws_key_group(key, group, sizeof(group)) == -1 ||
		    strcmp(group, a->curve) != 0) {
			error_set(err, "JWS: alg %s needs curve %s, key is on %s",
			    a->name, a->curve, group);
			return NULL;
		}
		break;
	case JWS_KTY_OKP:
		if (!EVP_PKEY_is_a(key, "ED25519")) {
			error_set(err, "JWS: alg %s needs an Ed25519 key",
			    a->name);
			return NULL;
		}
		break;
	case JWS_KTY_RSA:
		if (!EVP_PKEY_is_a(key, "RSA")) {
			error_set(err, "JWS: alg %s needs an RSA key", a->name);
			return NULL;
		}
		if (EVP_PKEY_get_bits(key) < JWS_RSA_MIN_BITS) {
			error_set(err, "JWS: RSA key of %d bits is below the "
			    "%d-bit minimum", EVP_PKEY_get_bits(key),
			    JWS_RSA_MIN_BITS);
			return NULL;
		}
		break;
	}
	return a;
}

/* Set up ctx for alg a over key (sign or verify). */
static int
jws_ctx_init(EVP_MD_CTX *ctx, const struct jws_alg *a, EVP_PKEY *key,
    int sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (sign)
		ok = EVP_DigestSignInit_ex(ctx, &pctx, a->md, NULL, NULL, key,
		    NULL);
	else
		ok = EVP_DigestVerifyInit_ex(ctx, &pctx, a->md, NULL, NULL,
		    key, NULL);
	if (ok != 1)
		return -1;
	if (a->pss) {
		/* RFC 7518 §3.5: MGF1 with the same hash, salt = hash size. */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) != 1)
			return -1;
	} else if (a->kty == JWS_KTY_RSA) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			return -1;
	}
	return 0;
}

/* DER ECDSA-Sig-Value -> fixed-width r||s of 2 * coord bytes. */
static int
jws_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t coord,
    uint8_t *out)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)coord) == (int)coord &&
	    BN_bn2binpad(s, out + coord, (int)coord) == (int)coord)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

/* Fixed-width r||s -> malloc'd DER in *der. */
static int
jws_ecdsa_raw_to_der(const uint8_t *raw, size_t coord, uint8_t **der,
    size_t *derlen)
{
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char *p = NULL;
	int n, rc = -1;

	r = BN_bin2bn(raw, (int)coord, NULL);
	s = BN_bin2bn(raw + coord, (int)coord, NULL);
	if (r == NULL || s == NULL || (sig = ECDSA_SIG_new()) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;		/* owned by sig now */
	if ((n = i2d_ECDSA_SIG(sig, &p)) <= 0)
		goto out;
	*der = p;
	*derlen = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

/* Sign data with alg a; *sig is malloc'd in JWS form (raw r||s for EC). */
static int
jws_sign_raw(const struct jws_alg *a, EVP_PKEY *key, const char *data,
    size_t len, uint8_t **sig, size_t *siglen, struct error *err)
{
	EVP_MD_CTX *ctx;
	uint8_t *der = NULL;
	size_t derlen = 0;
	int rc = -1;

	*sig = NULL;
	*siglen = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return error_set(err, "JWS %s: out of memory", a->name);
	/* EVP_PKEY_get_size is the longest signature the key makes (what
	 * a first EVP_DigestSign without a buffer would say, after hashing
	 * the data once more). */
	if (jws_ctx_init(ctx, a, key, 1) == -1 ||
	    EVP_PKEY_get_size(key) <= 0) {
		error_set(err, "JWS %s: cannot set up signing with this key",
		    a->name);
		goto out;
	}
	derlen = (size_t)EVP_PKEY_get_size(key);
	der = xmalloc(derlen);
	if (EVP_DigestSign(ctx, der, &derlen, (const uint8_t *)data,
	    len) != 1) {
		error_set(err, "JWS %s: signing failed", a->name);
		goto out;
	}
	if (a->kty == JWS_KTY_EC) {
		*sig = xmalloc(2 * a->coord);
		if (jws_ecdsa_der_to_raw(der, derlen, a->coord, *sig) == -1) {
			free(*sig);
			*sig = NULL;
			error_set(err, "JWS %s: bad ECDSA signature from "
			    "OpenSSL", a->name);
			goto out;
		}
		*siglen = 2 * a->coord;
	} else {
		*sig = der;
		*siglen = derlen;
		der = NULL;
	}
	rc = 0;
out:
	free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

char *
jws_sign(EVP_PKEY *key, const json_t *header, const char *payload,
    size_t payload_len, struct error *err)
{
	const struct jws_alg *a;
	const char *alg;
	char *hdr = NULL, *out = NULL;
	struct buf input = { 0 };
	uint8_t *sig = NULL;
	size_t siglen = 0, hlen;

	if (!json_is_object(header)) {
		error_set(err, "JWS header: not a JSON object");
		return NULL;
	}
	alg = json_string_value(json_object_get(header, "alg"));
	if (alg == NULL) {
		error_set(err, "JWS header: \"alg\" missing or not a string");
		return NULL;
	}
	if ((a = jws_alg_check(alg, key, err)) == NULL)
		return NULL;
	/* Insertion order, no whitespace: what the caller built is what
	 * gets signed. */
	if ((hdr = jcs_compact(header, &hlen)) == NULL) {
		error_set(err, "JWS header: cannot serialize");
		return NULL;
	}
	/* One allocation for the whole token: its parts are encoded in
	 * place, with room for a signature of up to JWS_SIG_ROOM bytes. */
	buf_reserve(&input, B64URL_PUBLIC_CAP(hlen) +
	    B64URL_PUBLIC_CAP(payload_len) + B64URL_PUBLIC_CAP(JWS_SIG_ROOM));
	b64url_public_add(&input, hdr, hlen);
	buf_add(&input, ".", 1);
	b64url_public_add(&input, payload, payload_len);
	if (jws_sign_raw(a, key, (const char *)input.data, input.len, &sig,
	    &siglen, err) == -1)
		goto out;
	buf_add(&input, ".", 1);
	b64url_public_add(&input, sig, siglen);
	out = buf_cstr(&input);
	input.data = NULL;	/* ownership moves to the caller */
out:
	free(hdr);
	free(sig);
	buf_wipe(&input);
	return out;
}

/* Decode the b64url header or payload part and parse it as a JSON object
 * (duplicate keys refused: two "alg"s must not mean two things). */
static int
jws_part_json(const char *what, const char *s, size_t n, json_t **out,
    struct error *err)
{
	json_error_t jerr;
	uint8_t *raw = NULL;
	size_t rawlen = 0;

	*out = NULL;
	if (n == 0)
		return error_set(err, "JWS %s: empty", what);
	if (b64_decode(s, n, B64_URL_NOPAD, &raw, &rawlen) == -1)
		return error_set(err, "JWS %s: not base64url without padding",
		    what);
	*out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    &jerr);
	secret_free(raw, rawlen + 1);
	if (*out == NULL)
		return error_set(err, "JWS %s: invalid JSON: %s (at byte %d)",
		    what, jerr.text, jerr.position);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return error_set(err, "JWS %s: not a JSON object", what);
	}
	return 0;
}

struct jws *
jws_parse(const char *token, size_t len, struct error *err)
{
	const char *d1 = NULL, *d2 = NULL, *sig;
	struct jws *j;
	size_t i, siglen, parts = 1;

	if (token == NULL) {
		error_set(err, "JWS: no token");
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if (token[i] != '.')
			continue;
		if (++parts == 2)
			d1 = token + i;
		else if (parts == 3)
			d2 = token + i;
	}
	if (parts != 3) {
		error_set(err, "JWS: expected 3 '.'-separated parts, found %zu",
		    parts);
		return NULL;
	}
	sig = d2 + 1;
	siglen = len - (size_t)(sig - token);
	j = xcalloc(1, sizeof(*j));
	if (jws_part_json("header", token, (size_t)(d1 - token), &j->header,
	    err) == -1 ||
	    jws_part_json("payload", d1 + 1, (size_t)(d2 - d1 - 1),
	    &j->payload, err) == -1)
		goto fail;
	j->alg = json_string_value(json_object_get(j->header, "alg"));
	if (j->alg == NULL) {
		error_set(err, "JWS header: \"alg\" missing or not a string");
		goto fail;
	}
	if (strcmp(j->alg, "none") == 0) {
		error_set(err, "JWS header: alg \"none\" (unsecured JWS) is "
		    "not accepted");
		goto fail;
	}
	if (siglen == 0) {
		error_set(err, "JWS signature: empty");
		goto fail;
	}
	if (b64_decode(sig, siglen, B64_URL_NOPAD, &j->sig,
	    &j->sig_len) == -1) {
		error_set(err, "JWS signature: not base64url without padding");
		goto fail;
	}
	j->signing_input_len = (size_t)(d2 - token);
	j->signing_input = xstrndup(token, j->signing_input_len);
	return j;
fail:
	jws_free(j);
	return NULL;
}

void
jws_free(struct jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->header);
	json_decref(j->payload);
	/* The signing input is most of a bearer token. */
	secret_free(j->signing_input, j->signing_input_len);
	free(j->sig);
	free(j);
}

int
jws_verify(const struct jws *j, EVP_PKEY *key, struct error *err)
{
	const struct jws_alg *a;
	const uint8_t *sig;
	uint8_t *der = NULL;
	size_t siglen, want;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if (j == NULL || j->alg == NULL || j->signing_input == NULL ||
	    j->sig == NULL)
		return error_set(err, "JWS: incomplete token");
	if ((a = jws_alg_check(j->alg, key, err)) == NULL)
		return -1;
	/* RFC 7515 §4.1.11: we implement no extensions, so any "crit"
	 * means the token cannot be processed correctly. */
	if (j->header != NULL && json_object_get(j->header, "crit") != NULL)
		return error_set(err, "JWS header: \"crit\" extensions are not "
		    "supported");
	switch (a->kty) {
	case JWS_KTY_EC:
		want = 2 * a->coord;
		break;
	case JWS_KTY_OKP:
		want = 64;
		break;
	case JWS_KTY_RSA:
	default:
		want = (size_t)EVP_PKEY_get_size(key);
		break;
	}
	if (j->sig_len != want)
		return error_set(err, "JWS %s: signature is %zu bytes, expected "
		    "%zu", a->name, j->sig_len, want);
	sig = j->sig;
	siglen = j->sig_len;
	if (a->kty == JWS_KTY_EC) {
		if (jws_ecdsa_raw_to_der(j->sig, a->coord, &der, &siglen) == -1)
			return error_set(err, "JWS %s: cannot encode signature",
			    a->name);
		sig = der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		error_set(err, "JWS %s: out of memory", a->name);
		goto out;
	}
	if (jws_ctx_init(ctx, a, key, 0) == -1) {
		error_set(err, "JWS %s: cannot set up verification with this "
		    "key", a->name);
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, siglen,
	    (const uint8_t *)j->signing_input, j->signing_input_len) != 1) {
		error_set(err, "JWS %s: signature does not verify", a->name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}
