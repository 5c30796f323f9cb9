/*
 * test_jws_parse.c: compact JWS parsing refusals: critical header
 * parameters and malformed tokens, each with an error that says why.
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
test_crit_refused(void **state)
{
	struct error err = { "" };
	json_t *hdr = json_pack("{s:s,s:[s],s:b}", "alg", "ES256", "crit",
	    "exp", "exp", 1);
	struct jws *j;
	char *tok;

	(void)state;
	tok = jws_sign(keys[K_P256], hdr, test_payload, strlen(test_payload),
	    &err);
	assert_non_null(tok);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	jwsfix_assert_verify_fails(j, keys[K_P256], "\"crit\"");
	jws_free(j);
	free(tok);
	json_decref(hdr);
}

static void
test_malformed(void **state)
{
	const char *sig;
	char *good, *t, *hdr_pad, *pay;
	struct error err = { "" };
	struct jws *j;

	(void)state;
	good = jwsfix_sign_token(keys[K_P256], "ES256", test_payload);
	sig = strrchr(good, '.') + 1;
	pay = b64_encode(test_payload, strlen(test_payload), B64_URL_NOPAD);

	jwsfix_assert_parse_fails("", "found 1");
	jwsfix_assert_parse_fails("abc", "found 1");
	jwsfix_assert_parse_fails("eyJhbGciOiJFUzI1NiJ9.e30", "found 2");
	t = xasprintf("%s.x", good);
	jwsfix_assert_parse_fails(t, "found 4");
	free(t);
	t = xasprintf("%s.", good);
	jwsfix_assert_parse_fails(t, "found 4");
	free(t);
	t = xasprintf(".%s.%s", pay, sig);
	jwsfix_assert_parse_fails(t, "header: empty");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9..%s", sig);
	jwsfix_assert_parse_fails(t, "payload: empty");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"}", test_payload, "");
	jwsfix_assert_parse_fails(t, "signature: empty");
	free(t);

	/* Padding in any part ({"alg":"ES256"} is 15 bytes: "==" would
	 * be its std padding; {"alg":"ES25"} is 14 bytes: one "="). */
	hdr_pad = xasprintf("eyJhbGciOiJFUzI1NiJ9=.%s.%s", pay, sig);
	jwsfix_assert_parse_fails(hdr_pad, "header: not base64url");
	free(hdr_pad);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s=.%s", pay, sig);
	jwsfix_assert_parse_fails(t, "payload: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s==", pay, sig);
	jwsfix_assert_parse_fails(t, "signature: not base64url");
	free(t);
	/* Standard alphabet, whitespace, junk, non-canonical last char. */
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s", pay, "ab+/");
	jwsfix_assert_parse_fails(t, "signature: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9 .%s.%s", pay, sig);
	jwsfix_assert_parse_fails(t, "header: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s\n", pay, sig);
	jwsfix_assert_parse_fails(t, "signature: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s", pay, "A");
	jwsfix_assert_parse_fails(t, "signature: not base64url");
	free(t);
	/* "e30" is {}; "e31" has stray low bits in its last character. */
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.e31.%s", sig);
	jwsfix_assert_parse_fails(t, "payload: not base64url");
	free(t);

	/* JSON problems. */
	t = jwsfix_token3("[\"alg\",\"ES256\"]", test_payload, sig);
	jwsfix_assert_parse_fails(t, "header: not a JSON object");
	free(t);
	t = jwsfix_token3("\"ES256\"", test_payload, sig);
	jwsfix_assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"", test_payload, sig);
	jwsfix_assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"} x", test_payload, sig);
	jwsfix_assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = jwsfix_token3("{\"typ\":\"JWT\"}", test_payload, sig);
	jwsfix_assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = jwsfix_token3("{\"alg\":256}", test_payload, sig);
	jwsfix_assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = jwsfix_token3("{\"alg\":null}", test_payload, sig);
	jwsfix_assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = jwsfix_token3("{\"alg\":\"none\"}", test_payload, sig);
	jwsfix_assert_parse_fails(t, "alg \"none\"");
	free(t);
	t = xasprintf("eyJhbGciOiJub25lIn0.%s.", pay);
	jwsfix_assert_parse_fails(t, "alg \"none\"");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\",\"alg\":\"none\"}", test_payload,
	    sig);
	jwsfix_assert_parse_fails(t,
	    "header: invalid JSON: duplicate object key");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"}",
	    "{\"sub\":\"a\",\"sub\":\"b\"}", sig);
	jwsfix_assert_parse_fails(t,
	    "payload: invalid JSON: duplicate object key");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"}", "[1,2]", sig);
	jwsfix_assert_parse_fails(t, "payload: not a JSON object");
	free(t);
	t = jwsfix_token3("{\"alg\":\"ES256\"}", "{\"a\":\"\\u0000\"}", sig);
	jwsfix_assert_parse_fails(t, "payload: invalid JSON");
	free(t);

	/* len is honoured: the token is not read past it, and a NUL
	 * inside the counted length is not accepted. */
	j = jws_parse(good, strlen(good) - 1, &err);
	assert_null(j);
	t = xasprintf("%sXYZ", good);
	j = jws_parse(t, strlen(good), &err);
	assert_non_null(j);
	assert_int_equal(jws_verify(j, keys[K_P256], &err), 0);
	jws_free(j);
	free(t);
	t = xstrdup(good);
	t[5] = '\0';
	assert_null(jws_parse(t, strlen(good), &err));
	free(t);

	assert_null(jws_parse(NULL, 0, &err));
	jws_free(NULL);
	assert_int_equal(jws_verify(NULL, keys[K_P256], &err), -1);
	free(pay);
	free(good);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crit_refused),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, jwsfix_setup,
	    jwsfix_teardown);
}
