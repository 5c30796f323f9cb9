/*
 * test_guest_protocol.c: the guest protocol (lib/guest.c) end to end
 * against the in-process server (guestfix.h): attestation and resource
 * reads with each key type and hash, cookies and Bearer tokens, the
 * errors it reports, and the rendering of the problems a KBS returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "guestfix.h"

static void
problem_is(int status, const char *body, size_t len, const char *want)
{
	struct httpc_response r = { 0 };
	struct error err = { "" };

	r.status = status;
	buf_add(&r.body, body, len);
	buf_cstr(&r.body);
	assert_int_equal(guest_problem("GET /kbs/v0/resource/a/b/c", &r,
	    &err), -1);
	assert_string_equal(err.msg, want);
	httpc_response_clear(&r);
}

static void
test_problem_render(void **state)
{
	static const char p1[] = "{\"type\":\"https://github.com/"
	    "confidential-containers/kbs/errors/PluginInternalError\","
	    "\"detail\":\"resource a/b/c not found\"}";
	static const char p2[] = "{\"type\":\"PolicyDeny\",\"detail\":"
	    "\"line\\nbreak\"}";
	static const char p3[] = "{\"type\":\"x/TokenNotFound\"}";
	static const char bin[] = "oops\x01\xff";
	char big[600], want[400];

	(void)state;
	problem_is(401, p1, sizeof(p1) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401 PluginInternalError: resource a/b/c not found");
	problem_is(401, p2, sizeof(p2) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401 PolicyDeny: line\\x0abreak");
	/* JSON, but not a problem: quoted as text. */
	problem_is(401, p3, sizeof(p3) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401: {\"type\":\"x/TokenNotFound\"}");
	problem_is(500, bin, sizeof(bin) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "500: oops\\x01\\xff");
	problem_is(404, "", 0, "GET /kbs/v0/resource/a/b/c: 404 (empty "
	    "response body)");
	/* A long non-JSON body is cut at 200 bytes. */
	memset(big, 'A', sizeof(big));
	snprintf(want, sizeof(want), "GET /kbs/v0/resource/a/b/c: 502: "
	    "%.200s...", big);
	problem_is(502, big, sizeof(big), want);
	/* An embedded NUL does not end the quote early. */
	problem_is(500, "a\0b", 3, "GET /kbs/v0/resource/a/b/c: 500: "
	    "a\\x00b");
}

static void
guest_round(struct guestfix_srv *s, enum guest_key_alg alg, const char *sel,
    int bearer, const char *init)
{
	struct error err = { "" };
	struct httpc *c = guestfix_client(s, "", 5);
	struct guest *g = guest_new(alg, &err);
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int before = s->attest_ok;

	assert_non_null(g);
	snprintf(s->sel, sizeof(s->sel), "%s", sel);
	assert_null(guest_token(g));
	if (guest_attest(g, c, "sample", init, init ? strlen(init) : 0,
	    &err) != 0)
		fail_msg("guest_attest: %s", err.msg);
	assert_int_equal(s->attest_ok, before + 1);
	assert_string_equal(guest_token(g), s->token);
	if (guest_get(g, c, "resource/a/b/c", bearer, &pt, &ptlen, &err) != 0)
		fail_msg("guest_get: %s", err.msg);
	assert_int_equal(ptlen, sizeof(GUESTFIX_SECRET) - 1);
	assert_memory_equal(pt, GUESTFIX_SECRET, ptlen);
	secret_free(pt, ptlen);
	/* Bearer mode leaves the cookie setting as it was. */
	assert_int_equal(httpc_cookies_enabled(c), 1);

	/* Not found: the problem is rendered, nothing returned. */
	assert_int_equal(guest_get(g, c, "resource/a/b/x", bearer, &pt, &ptlen,
	    &err), -1);
	assert_null(pt);
	assert_string_equal(err.msg, "GET /kbs/v0/resource/a/b/x: 401 "
	    "PluginInternalError: resource not found");
	guest_free(g);
	httpc_free(c);
}

static void
test_guest_flow(void **state)
{
	struct guestfix_srv *s = *state;

	guest_round(s, GUEST_KEY_P256, "", 0, NULL);
	guest_round(s, GUEST_KEY_P256, "sha512", 1, "version = \"0.1.0\"\n");
	guest_round(s, GUEST_KEY_P521, "SHA256", 1, NULL);
	guest_round(s, GUEST_KEY_RSA_OAEP256, "sha384", 0, NULL);
	guest_round(s, GUEST_KEY_RSA1_5, "", 1, NULL);
	guest_free(NULL);
}

static void
test_guest_errors(void **state)
{
	struct guestfix_srv *s = *state;
	struct error err = { "" };
	struct httpc *c = guestfix_client(s, "", 5);
	struct guest *g = guest_new(GUEST_KEY_P256, &err);
	uint8_t *pt;
	size_t ptlen;

	assert_non_null(g);
	s->sel[0] = '\0';
	/* No token yet: bearer mode refuses before sending. */
	assert_int_equal(guest_get(g, c, "resource/a/b/c", 1, &pt, &ptlen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "no attestation token"));
	/* No session cookie: the server's 401 problem comes through. */
	assert_int_equal(guest_get(g, c, "/resource/a/b/c", 0, &pt, &ptlen,
	    &err), -1);
	assert_string_equal(err.msg, "GET /kbs/v0/resource/a/b/c: 401 "
	    "TokenNotFound: no token");
	/* A server picking a hash the client does not know. */
	snprintf(s->sel, sizeof(s->sel), "md5");
	assert_int_equal(guest_attest(g, c, "sample", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "POST /kbs/v0/auth: challenge: "
	    "extra-params.selected-hash-algorithm: unknown algorithm 'md5'");
	s->sel[0] = '\0';
	/* A tee the mock does not expect: its /auth refusal is shown. */
	assert_int_equal(guest_attest(g, c, "tdx", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "POST /kbs/v0/auth: 401 "
	    "AttestationError: bad request");
	/* init-data must be text. */
	assert_int_equal(guest_attest(g, c, "sample", "\xff\xfe", 2, &err), -1);
	assert_string_equal(err.msg, "init-data: not valid UTF-8 text");
	assert_null(guest_token(g));
	guest_free(g);
	httpc_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_render),
		cmocka_unit_test_setup_teardown(test_guest_flow,
		    guestfix_setup, guestfix_teardown),
		cmocka_unit_test_setup_teardown(test_guest_errors,
		    guestfix_setup, guestfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
