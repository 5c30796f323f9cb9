/*
 * test_jws_verify.c: compact JWS verification refusals: tampered tokens,
 * alg/key confusion, RSA keys below 2048 bits, and signatures of the
 * wrong size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "jws.h"
#include "util.h"
#include "jwsfix.h"

static void
test_tampered(void **state)
{
	struct error err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(algs); i++) {
		EVP_PKEY *key = keys[algs[i].key];
		char *tok, *other, *mixed, *hdr;
		const char *dot1, *dot2, *odot2;
		struct jws *j;

		tok = jwsfix_sign_token(key, algs[i].alg, test_payload);
		other = jwsfix_sign_token(key, algs[i].alg,
		    "{\"sub\":\"admin\"}");
		dot1 = strchr(tok, '.');
		dot2 = strchr(dot1 + 1, '.');
		odot2 = strchr(strchr(other, '.') + 1, '.');

		/* Payload of one token with the signature of the other. */
		mixed = xasprintf("%.*s%s", (int)(odot2 - other), other, dot2);
		j = jws_parse(mixed, strlen(mixed), &err);
		assert_non_null(j);
		jwsfix_assert_verify_fails(j, key, "does not verify");
		jws_free(j);
		free(mixed);

		/* The same header fields in another order: other bytes. */
		hdr = xasprintf("{\"typ\":\"JWT\",\"alg\":\"%s\"}",
		    algs[i].alg);
		mixed = jwsfix_token3(hdr, test_payload, dot2 + 1);
		free(hdr);
		j = jws_parse(mixed, strlen(mixed), &err);
		assert_non_null(j);
		jwsfix_assert_verify_fails(j, key, "does not verify");
		jws_free(j);
		free(mixed);

		/* Every single-bit flip of the first and last signature
		 * byte. */
		j = jws_parse(tok, strlen(tok), &err);
		assert_non_null(j);
		for (int bit = 0; bit < 8; bit++) {
			j->sig[0] ^= (uint8_t)(1 << bit);
			assert_int_equal(jws_verify(j, key, &err), -1);
			j->sig[0] ^= (uint8_t)(1 << bit);
			j->sig[j->sig_len - 1] ^= (uint8_t)(1 << bit);
			assert_int_equal(jws_verify(j, key, &err), -1);
			j->sig[j->sig_len - 1] ^= (uint8_t)(1 << bit);
		}
		/* A flipped signing-input byte. */
		j->signing_input[dot1 - tok + 3] ^= 1;
		assert_int_equal(jws_verify(j, key, &err), -1);
		j->signing_input[dot1 - tok + 3] ^= 1;
		assert_int_equal(jws_verify(j, key, &err), 0);
		jws_free(j);
		free(tok);
		free(other);
	}
}

static void
test_alg_key_mismatch(void **state)
{
	struct error err = { "" };
	struct jws *j;
	json_t *hdr;
	char *tok;

	(void)state;
	/* ES256 token, P-384 key. */
	tok = jwsfix_sign_token(keys[K_P256], "ES256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	jwsfix_assert_verify_fails(j, keys[K_P384],
	    "ES256 needs curve prime256v1");
	jwsfix_assert_verify_fails(j, keys[K_RSA], "ES256 needs an EC key");
	jwsfix_assert_verify_fails(j, keys[K_ED25519], "ES256 needs an EC key");
	jws_free(j);
	free(tok);

	/* RS256 header, EC key. */
	tok = jwsfix_sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	jwsfix_assert_verify_fails(j, keys[K_P256], "RS256 needs an RSA key");
	jws_free(j);
	free(tok);

	/* EdDSA with an RSA key. */
	tok = jwsfix_sign_token(keys[K_ED25519], "EdDSA", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	jwsfix_assert_verify_fails(j, keys[K_RSA],
	    "EdDSA needs an Ed25519 key");
	jws_free(j);
	free(tok);

	/* ES512 token against a P-256 key, ES384 against P-521. */
	tok = jwsfix_sign_token(keys[K_P521], "ES512", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	jwsfix_assert_verify_fails(j, keys[K_P256], "needs curve secp521r1");
	jws_free(j);
	free(tok);

	/* A PS256 signature relabelled RS256 (by hand: the header is
	 * signed, so only a forged struct can carry it). */
	tok = jwsfix_sign_token(keys[K_RSA], "PS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->alg = "RS256";
	jwsfix_assert_verify_fails(j, keys[K_RSA], "does not verify");
	j->alg = "HS256";
	jwsfix_assert_verify_fails(j, keys[K_RSA], "unsupported alg \"HS256\"");
	j->alg = "none";
	jwsfix_assert_verify_fails(j, keys[K_RSA], "unsupported alg \"none\"");
	j->alg = "es256";
	jwsfix_assert_verify_fails(j, keys[K_P256],
	    "unsupported alg \"es256\"");
	jws_free(j);
	free(tok);

	/* jws_sign refuses a header alg the key cannot make. */
	hdr = json_pack("{s:s}", "alg", "ES384");
	assert_null(jws_sign(keys[K_P256], hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "ES384 needs curve secp384r1"));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "EdDSA");
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "none");
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("{s:i}", "alg", 1);
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "\"alg\" missing or not a string"));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "ES256");
	assert_null(jws_sign(NULL, hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("[s]", "ES256");
	assert_null(jws_sign(keys[K_P256], hdr, "{}", 2, &err));
	json_decref(hdr);
}

/* RFC 7518 §3.3: RSA below 2048 bits is refused both ways. */
static void
test_rsa_too_small(void **state)
{
	struct error err = { "" };
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	json_t *hdr = json_pack("{s:s}", "alg", "RS256");
	struct jws *j;
	char *tok;

	(void)state;
	assert_non_null(small);
	assert_null(jws_sign(small, hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "1024 bits is below the 2048-bit"));
	tok = jwsfix_sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	jwsfix_assert_verify_fails(j, small, "below the 2048-bit minimum");
	jws_free(j);
	free(tok);
	json_decref(hdr);
	EVP_PKEY_free(small);
}

/* Signatures of the wrong size never reach OpenSSL: in particular a DER
 * ECDSA signature (what a naive signer emits) is refused. */
static void
test_signature_length(void **state)
{
	struct error err = { "" };
	struct jws *j;
	uint8_t *saved;
	size_t saved_len;
	char *tok;

	(void)state;
	tok = jwsfix_sign_token(keys[K_P256], "ES256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	saved = j->sig;
	saved_len = j->sig_len;
	j->sig_len = 63;
	jwsfix_assert_verify_fails(j, keys[K_P256], "signature is 63 bytes, "
	    "expected 64");
	j->sig = xcalloc(1, 72);
	j->sig_len = 72;
	jwsfix_assert_verify_fails(j, keys[K_P256], "signature is 72 bytes");
	/* All-zero r and s of the right size: well-formed, invalid. */
	j->sig_len = 64;
	jwsfix_assert_verify_fails(j, keys[K_P256], "does not verify");
	free(j->sig);
	j->sig = saved;
	j->sig_len = saved_len;
	assert_int_equal(jws_verify(j, keys[K_P256], &err), 0);
	jws_free(j);
	free(tok);

	tok = jwsfix_sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->sig_len = 255;
	jwsfix_assert_verify_fails(j, keys[K_RSA], "signature is 255 bytes, "
	    "expected 256");
	jws_free(j);
	free(tok);

	tok = jwsfix_sign_token(keys[K_ED25519], "EdDSA", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->sig_len = 63;
	jwsfix_assert_verify_fails(j, keys[K_ED25519], "signature is 63 bytes");
	jws_free(j);
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg_key_mismatch),
		cmocka_unit_test(test_rsa_too_small),
		cmocka_unit_test(test_signature_length),
	};

	return cmocka_run_group_tests(tests, jwsfix_setup,
	    jwsfix_teardown);
}
