/*
 * jwsfix.h: the fixture of the compact JWS unit tests (test_jws_*.c):
 * the group setup jwsfix_setup makes fresh keys (keys[K_*]: P-256,
 * P-384, P-521, Ed25519, RSA-2048, and a second P-256 and RSA key),
 * jwsfix_teardown frees them; algs lists every alg with its key and
 * signature length, test_payload a JSON payload. Helpers sign a token,
 * build one from three raw parts, and check that parse or verify fails
 * with an error that mentions a given text. Header-only; include after
 * <cmocka.h>. Every helper fails the running test on error.
 */
#ifndef TRUSTEE_JWSFIX_H
#define TRUSTEE_JWSFIX_H

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "jws.h"
#include "util.h"

enum { K_P256, K_P384, K_P521, K_ED25519, K_RSA, K_P256B, K_RSAB, K_COUNT };

static EVP_PKEY *keys[K_COUNT];

static const struct {
	const char *alg;
	int key;
	size_t sig_len;
} algs[] = {
	{ "ES256", K_P256, 64 },
	{ "ES384", K_P384, 96 },
	{ "ES512", K_P521, 132 },
	{ "EdDSA", K_ED25519, 64 },
	{ "RS256", K_RSA, 256 },
	{ "RS384", K_RSA, 256 },
	{ "RS512", K_RSA, 256 },
	{ "PS256", K_RSA, 256 },
};

static const char test_payload[] = "{\"sub\":\"guest\",\"n\":1}";

static inline int
jwsfix_setup(void **state)
{
	(void)state;
	keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_P256B] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_RSAB] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (size_t i = 0; i < K_COUNT; i++) {
		if (keys[i] == NULL)
			return -1;
	}
	return 0;
}

static inline int
jwsfix_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < K_COUNT; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

static inline char *
jwsfix_sign_token(EVP_PKEY *key, const char *alg, const char *payload)
{
	struct error err = { "" };
	json_t *hdr = json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
	char *tok;

	tok = jws_sign(key, hdr, payload, strlen(payload), &err);
	if (tok == NULL)
		fail_msg("jws_sign %s: %s", alg, err.msg);
	json_decref(hdr);
	return tok;
}

/* Parse must fail and the error must mention want. */
static inline void
jwsfix_assert_parse_fails(const char *tok, const char *want)
{
	struct error err = { "" };
	struct jws *j;

	j = jws_parse(tok, strlen(tok), &err);
	if (j != NULL)
		fail_msg("parsed malformed token %s", tok);
	if (strstr(err.msg, want) == NULL)
		fail_msg("token %s: error \"%s\" lacks \"%s\"", tok, err.msg,
		    want);
}

/* Verify must fail and the error must mention want. */
static inline void
jwsfix_assert_verify_fails(const struct jws *j, EVP_PKEY *key, const char *want)
{
	struct error err = { "" };

	assert_int_equal(jws_verify(j, key, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
}

/* Token from three raw parts (each b64url-encoded here). */
static inline char *
jwsfix_token3(const char *hdr, const char *payload, const char *sig64)
{
	char *h = b64_encode(hdr, strlen(hdr), B64_URL_NOPAD);
	char *p = b64_encode(payload, strlen(payload), B64_URL_NOPAD);
	char *t = xasprintf("%s.%s.%s", h, p, sig64);

	free(h);
	free(p);
	return t;
}

#endif
