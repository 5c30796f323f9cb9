/*
 * test_jws_sign.c: compact JWS signing: the alg chosen for each key,
 * round trips for every alg (exact token layout, parse, verify, a wrong
 * key refused), randomized signatures, and the exact base64url
 * encoding of the parts.
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
test_alg_for_key(void **state)
{
	EVP_PKEY *k1, *x25519, *ed448;

	(void)state;
	assert_string_equal(jws_alg_for_key(keys[K_P256]), "ES256");
	assert_string_equal(jws_alg_for_key(keys[K_P384]), "ES384");
	assert_string_equal(jws_alg_for_key(keys[K_P521]), "ES512");
	assert_string_equal(jws_alg_for_key(keys[K_ED25519]), "EdDSA");
	assert_string_equal(jws_alg_for_key(keys[K_RSA]), "RS256");
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	assert_null(jws_alg_for_key(k1));
	assert_null(jws_alg_for_key(x25519));
	assert_null(jws_alg_for_key(ed448));
	assert_null(jws_alg_for_key(NULL));
	EVP_PKEY_free(k1);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(ed448);
}

/* Every alg: exact token layout, parse, verify, wrong key refused. */
static void
test_roundtrip(void **state)
{
	struct error err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(algs); i++) {
		EVP_PKEY *key = keys[algs[i].key], *other;
		char *tok, *hdr_json, *want_prefix;
		struct jws *j;

		tok = jwsfix_sign_token(key, algs[i].alg, test_payload);
		hdr_json = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}",
		    algs[i].alg);
		want_prefix = jwsfix_token3(hdr_json, test_payload, "");
		/* Header in insertion order, compact; payload as given. */
		assert_true(strncmp(tok, want_prefix,
		    strlen(want_prefix)) == 0);
		assert_null(strchr(tok, '='));

		j = jws_parse(tok, strlen(tok), &err);
		if (j == NULL)
			fail_msg("%s: %s", algs[i].alg, err.msg);
		assert_string_equal(j->alg, algs[i].alg);
		assert_int_equal(j->sig_len, algs[i].sig_len);
		assert_int_equal(j->signing_input_len, strlen(want_prefix) - 1);
		assert_memory_equal(j->signing_input, tok,
		    j->signing_input_len);
		assert_string_equal(json_string_value(json_object_get(
		    j->payload, "sub")), "guest");
		if (jws_verify(j, key, &err) != 0)
			fail_msg("%s: %s", algs[i].alg, err.msg);

		/* Same type, other key. */
		other = key == keys[K_RSA] ? keys[K_RSAB] :
		    key == keys[K_P256] ? keys[K_P256B] : NULL;
		if (other != NULL)
			jwsfix_assert_verify_fails(j, other, "does not verify");
		jws_free(j);
		free(tok);
		free(hdr_json);
		free(want_prefix);
	}
}

/* ECDSA and PSS are randomized: two signatures differ, both verify. */
static void
test_randomized_sigs(void **state)
{
	char *t1, *t2;

	(void)state;
	t1 = jwsfix_sign_token(keys[K_P256], "ES256", test_payload);
	t2 = jwsfix_sign_token(keys[K_P256], "ES256", test_payload);
	assert_string_not_equal(t1, t2);
	free(t1);
	free(t2);
	t1 = jwsfix_sign_token(keys[K_RSA], "PS256", test_payload);
	t2 = jwsfix_sign_token(keys[K_RSA], "PS256", test_payload);
	assert_string_not_equal(t1, t2);
	free(t1);
	free(t2);
	/* PKCS#1 v1.5 is deterministic. */
	t1 = jwsfix_sign_token(keys[K_RSA], "RS256", test_payload);
	t2 = jwsfix_sign_token(keys[K_RSA], "RS256", test_payload);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
}

/* The parts of a signed token are exactly the base64url (no padding) of
 * the header and payload, whatever the payload's length modulo 3. */
static void
test_encoding_lengths(void **state)
{
	char payload[80], *tok, *want, *dot;
	size_t n, dashes = 0;

	(void)state;
	for (n = 2; n < sizeof(payload); n++) {
		/* Bytes 0xfb..0xff encode to '-' and '_' (62 and 63). */
		memset(payload, (char)(0xfb + n % 5), n);
		payload[0] = '"';
		payload[n - 1] = '"';
		payload[n] = '\0';
		tok = jwsfix_sign_token(keys[K_P256], "ES256", payload);
		want = b64_encode(payload, n, B64_URL_NOPAD);
		dot = strchr(tok, '.');
		assert_non_null(dot);
		assert_int_equal(strncmp(dot + 1, want, strlen(want)), 0);
		assert_int_equal(dot[1 + strlen(want)], '.');
		dashes += strchr(want, '-') != NULL && strchr(want, '_') != NULL;
		free(want);
		free(tok);
	}
	assert_true(dashes > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg_for_key),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_randomized_sigs),
		cmocka_unit_test(test_encoding_lengths),
	};

	return cmocka_run_group_tests(tests, jwsfix_setup,
	    jwsfix_teardown);
}
