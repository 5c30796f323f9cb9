/*
 * test_guest_runtime.c: hash negotiation from the KBS challenge and the
 * runtime-data digest of the guest protocol (lib/guest.c), against the
 * guest-client.md section 2.5 vector, and its member order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "guestfix.h"

#define GUEST_X "Z4DF_HAnXixwYaDnh3uxdN6t65iHAn8_qDZUFYun9Qw"
#define GUEST_Y "PLqMNLw10g6B9zCsHHvW1mGpQvkMapylXFEvnkoAEmY"

static enum hash_alg
hash_from(const char *extra_json, int want_rc, const char *want_err)
{
	struct error err = { "" };
	enum hash_alg a = HASH_SM3;
	json_t *j = json_loads(extra_json, JSON_DECODE_ANY, NULL);
	int rc;

	assert_non_null(j);
	rc = guest_hash_from_challenge(j, &a, &err);
	json_decref(j);
	assert_int_equal(rc, want_rc);
	if (want_err != NULL && strstr(err.msg, want_err) == NULL)
		fail_msg("%s: error '%s' lacks '%s'", extra_json, err.msg,
		    want_err);
	return a;
}

static void
test_hash_negotiation(void **state)
{
	(void)state;
	/* Trustee sends "" (not an object): SHA-384. */
	assert_int_equal(hash_from("\"\"", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("null", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("{}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("{\"other\":1}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"sha384\"}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"SHA512\"}", 0, NULL), HASH_SHA512);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"sha256\"}", 0, NULL), HASH_SHA256);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"Sm3\"}", 0, NULL), HASH_SM3);
	hash_from("{\"selected-hash-algorithm\":\"md5\"}", -1,
	    "unknown algorithm 'md5'");
	hash_from("{\"selected-hash-algorithm\":384}", -1, "not a string");
	hash_from("{\"selected-hash-algorithm\":\"sha384-and-more\"}", -1,
	    "unknown algorithm");
}

static json_t *
vector_jwk(void)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
	    "crv", "P-256", "alg", "ECDH-ES+A256KW", "x", GUEST_X,
	    "y", GUEST_Y);

	assert_non_null(j);
	return j;
}

static void
digest_is(enum hash_alg a, const char *want_b64)
{
	struct error err = { "" };
	uint8_t d[HASH_MAX_SIZE];
	size_t n = 0;
	json_t *jwk = vector_jwk();
	char *got;

	if (guest_runtime_digest(jwk, GUESTFIX_ZERO_NONCE, a, d, &n, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, hash_alg_size(a));
	got = b64_encode(d, n, B64_STD);
	assert_string_equal(got, want_b64);
	free(got);
	json_decref(jwk);
}

/* guest-client.md §2.5: P-256 key d=42, nonce = 32 zero bytes. */
static void
test_runtime_digest_vector(void **state)
{
	(void)state;
	digest_is(HASH_SHA384,
	    "BMZlsnt4uYlvp5m5q4yyxWQvbgLSsbeVPXCjTgvPiiJwuQtlzgn2RjJpiImB+xul");
	digest_is(HASH_SHA256, "zLHRjBF4jBYAh3uBOe1LfUmsIeAKXrY2y6Ii47APXt0=");
	digest_is(HASH_SHA512, "sU7pB20p/ubSl74hGsL2ayHqr7GWtRWEwKkbVVW2xtpjU8"
	    "jrvHpjTu0JC+TSLVbpIAlyPtpJGRQtIb+al3NgKQ==");
}

/* The JWK member order must not matter (JCS sorts). */
static void
test_runtime_digest_order(void **state)
{
	struct error err = { "" };
	uint8_t a[HASH_MAX_SIZE], b[HASH_MAX_SIZE];
	size_t na, nb;
	json_t *j1 = vector_jwk();
	json_t *j2 = json_pack("{s:s, s:s, s:s, s:s, s:s}", "y", GUEST_Y,
	    "x", GUEST_X, "kty", "EC", "alg", "ECDH-ES+A256KW", "crv", "P-256");

	(void)state;
	assert_int_equal(guest_runtime_digest(j1, GUESTFIX_ZERO_NONCE,
	    HASH_SHA384, a, &na, &err), 0);
	assert_int_equal(guest_runtime_digest(j2, GUESTFIX_ZERO_NONCE,
	    HASH_SHA384, b, &nb, &err), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	/* A different nonce gives a different digest. */
	assert_int_equal(guest_runtime_digest(j1, "AQ==", HASH_SHA384, b,
	    &nb, &err), 0);
	assert_memory_not_equal(a, b, na);
	json_decref(j1);
	json_decref(j2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_negotiation),
		cmocka_unit_test(test_runtime_digest_vector),
		cmocka_unit_test(test_runtime_digest_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
