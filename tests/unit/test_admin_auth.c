/*
 * test_admin_auth.c: admin authentication and authorization (admin.c):
 * bearer tokens signed by each key type in simple mode, token lifetimes
 * and extreme time claims, deny and insecure modes, the admin role the
 * KBS-compatible simple mode requires, identity providers and ACLs of the
 * trustee form, admin_init's errors. Tokens are minted here and presented
 * in fake requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/b64.h"
#include "../../lib/jwk.h"

#include "adminfix.h"

/* A compact JWS over claims (a JSON text) with key k; extra header
 * members from hdr_extra (a JSON object text or NULL). */
static char *
mint(int k, const char *claims, const char *hdr_extra)
{
	struct error err;
	json_t *h = json_pack("{s:s, s:s}", "alg",
	    jws_alg_for_key(adminfix_keys[k]), "typ", "JWT");
	char *tok;

	if (hdr_extra != NULL) {
		json_t *x = json_loads(hdr_extra, 0, NULL);

		assert_non_null(x);
		json_object_update(h, x);
		json_decref(x);
	}
	tok = jws_sign(adminfix_keys[k], h, claims, strlen(claims), &err);
	if (tok == NULL)
		fail_msg("jws_sign: %s", err.msg);
	json_decref(h);
	return tok;
}

static char *
claims_role(const char *role, long long exp_delta, const char *extra)
{
	return xasprintf("{\"role\":\"%s\",\"exp\":%lld%s%s}", role,
	    (long long)now_unix() + exp_delta, extra ? "," : "",
	    extra ? extra : "");
}

/* A request carrying "Authorization: Bearer tok" (tok may be NULL). */
struct fake_req {
	struct http_request req;
	struct http_header hdr;
	char *auth;
};

static void
fake_req(struct fake_req *f, const char *tok, enum http_method m,
    const char *target)
{
	memset(f, 0, sizeof(*f));
	f->req.method = m;
	f->req.method_name = m == HTTP_M_GET ? "GET" : m == HTTP_M_POST ?
	    "POST" : m == HTTP_M_PUT ? "PUT" : "DELETE";
	f->req.target = (char *)target;
	f->req.path = (char *)target;
	snprintf(f->req.peer, sizeof(f->req.peer), "test");
	if (tok != NULL) {
		f->auth = xasprintf("Bearer %s", tok);
		f->hdr.name = "Authorization";
		f->hdr.value = f->auth;
		f->req.headers = &f->hdr;
		f->req.nheaders = 1;
	}
}

static void
fake_free(struct fake_req *f)
{
	free(f->auth);
}

/* admin_authenticate for a token; returns the result, *id and err. */
static enum admin_result
authn(const char *tok, struct admin_identity *id, struct error *err)
{
	struct fake_req f;
	enum admin_result rc;

	fake_req(&f, tok, HTTP_M_GET, "/api/v1/whoami");
	rc = admin_authenticate(&f.req, id, err);
	fake_free(&f);
	return rc;
}

static void
expect_refused(const char *tok, const char *needle)
{
	struct admin_identity id;
	struct error err;

	assert_int_equal(authn(tok, &id, &err), ADMIN_UNAUTHENTICATED);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err.msg, needle);
	assert_string_equal(id.role, "");
}

static void
init_simple(enum admin_mode mode, int nkeys, ...)
{
	struct config cfg;
	struct error err;
	va_list ap;
	int i;

	config_defaults(&cfg);
	cfg.admin_mode = mode;
	va_start(ap, nkeys);
	for (i = 0; i < nkeys; i++)
		cfg.admin_keys[cfg.nadmin_keys++] = xstrdup(
		    adminfix_pubpem[va_arg(ap, int)]);
	va_end(ap);
	if (admin_init(&cfg, &err) != 0)
		fail_msg("admin_init: %s", err.msg);
	config_free(&cfg);
}

/* A token with these time claims (NULL: left out), signed by K_ED. */
static char *
timed(const char *exp, const char *nbf, const char *iat)
{
	char *c = xasprintf("{\"role\":\"admin\"%s%s%s%s%s%s}",
	    exp ? ",\"exp\":" : "", exp ? exp : "", nbf ? ",\"nbf\":" : "",
	    nbf ? nbf : "", iat ? ",\"iat\":" : "", iat ? iat : "");
	char *t = mint(K_ED, c, NULL);

	free(c);
	return t;
}

static char *
num(long long v)
{
	return xasprintf("%lld", v);
}

/*
 * Extreme exp/nbf/iat values never overflow (the sanitizer build aborts
 * on signed overflow), and a token living longer than [admin]
 * max_token_lifetime (24 h by default) is refused, by exp - now and by
 * exp - iat.
 */
static void
test_token_lifetime(void **state)
{
	struct admin_identity id;
	struct error err;
	struct config cfg;
	long long now = (long long)now_unix();
	char *t, *a, *b;

	(void)state;
	init_simple(ADMIN_BEARER_JWT, 1, K_ED);
	t = timed("9223372036854775807", NULL, NULL);
	expect_refused(t, "token lifetime too long: it expires in");
	free(t);
	t = timed("-9223372036854775808", NULL, NULL);
	expect_refused(t, "expired");
	free(t);
	a = num(now + 300);
	t = timed(a, "-9223372036854775808", "-9223372036854775808");
	expect_refused(t, "exp - iat is more than 86400 s");
	free(t);
	t = timed(a, "9223372036854775807", NULL);
	expect_refused(t, "nbf");
	free(t);
	t = timed(a, "-9223372036854775808", NULL);	/* long valid */
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	free(a);
	/* ten years, as some setups issue: refused, with the key named */
	a = num(now + 10LL * 365 * 86400);
	b = num(now);
	t = timed(a, NULL, b);
	expect_refused(t, "max_token_lifetime");
	free(t);
	free(a);
	/* 24 h exactly is fine; 25 h by iat is not, though 2 h are left */
	a = num(now + 86400);
	t = timed(a, NULL, b);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	free(a);
	free(b);
	a = num(now + 7200);
	b = num(now - 23 * 3600);
	t = timed(a, NULL, b);
	expect_refused(t, "exp - iat is more than 86400 s");
	free(t);
	free(a);
	free(b);

	/* configured: 10 minutes */
	config_defaults(&cfg);
	cfg.admin_keys[cfg.nadmin_keys++] = xstrdup(adminfix_pubpem[K_ED]);
	cfg.admin_max_token_lifetime_s = 600;
	if (admin_init(&cfg, &err) != 0)
		fail_msg("admin_init: %s", err.msg);
	config_free(&cfg);
	a = num(now + 900);
	t = timed(a, NULL, NULL);
	expect_refused(t, "at most 600 s are accepted");
	free(t);
	free(a);
	a = num(now + 600);
	t = timed(a, NULL, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	free(a);
	admin_shutdown();

	/* the config key, its range and its default */
	config_defaults(&cfg);
	assert_int_equal(cfg.admin_max_token_lifetime_s, 86400);
	config_free(&cfg);
	adminfix_expect_errors("max_token_lifetime = 10\nmode = \"deny_all\"\n",
	    1, "4: admin.max_token_lifetime", NULL);
	adminfix_load_ok(
	    "max_token_lifetime = 3600\npublic_keys = [\"/x.pem\"]\n",
	    &cfg);
	assert_int_equal(cfg.admin_max_token_lifetime_s, 3600);
	config_free(&cfg);
}

static void
test_simple_mode_tokens(void **state)
{
	struct admin_identity id;
	struct error err;
	char *c, *t;
	int k;

	(void)state;
	init_simple(ADMIN_BEARER_JWT, 4, K_ED, K_P256, K_P384, K_RSA);
	assert_string_equal(admin_mode_name(), "bearer_jwt");
	for (k = K_ED; k <= K_RSA; k++) {
		c = claims_role("operator", 300, "\"sub\":\"alice\"");
		t = mint(k, c, NULL);
		assert_int_equal(authn(t, &id, &err), ADMIN_OK);
		assert_string_equal(id.role, "operator");
		assert_string_equal(id.sub, "alice");
		assert_string_equal(id.actor, "alice (operator)");
		assert_true(id.exp > now_unix());
		free(t);
		free(c);
	}
	/* No sub: the actor is the role alone. */
	c = claims_role("admin", 300, NULL);
	t = mint(K_ED, c, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	assert_string_equal(id.actor, "(admin)");
	free(t);
	free(c);
	/* Untrusted key, expired, leeway, nbf, role problems. */
	c = claims_role("admin", 300, NULL);
	t = mint(K_OTHER, c, NULL);
	expect_refused(t, "trusted admin key");
	free(t);
	free(c);
	c = claims_role("admin", -3600, NULL);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "expired");
	free(t);
	free(c);
	c = claims_role("admin", -30, NULL);	/* within the 60 s leeway */
	t = mint(K_ED, c, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	free(c);
	c = xasprintf("{\"role\":\"admin\",\"exp\":%lld,\"nbf\":%lld}",
	    (long long)now_unix() + 600, (long long)now_unix() + 300);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "nbf");
	free(t);
	free(c);
	c = xasprintf("{\"exp\":%lld}", (long long)now_unix() + 60);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "missing required `role` claim");
	free(t);
	free(c);
	c = xasprintf("{\"role\":[\"admin\"],\"exp\":%lld}",
	    (long long)now_unix() + 60);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "must be a string");
	free(t);
	free(c);
	c = xasprintf("{\"role\":\"admin\",\"exp\":\"%lld\"}",
	    (long long)now_unix() + 60);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "no integer exp");
	free(t);
	free(c);
	c = xasprintf("{\"role\":\"ad\\nmin\",\"exp\":%lld}",
	    (long long)now_unix() + 60);
	t = mint(K_ED, c, NULL);
	expect_refused(t, "not a valid role name");
	free(t);
	free(c);
	expect_refused(NULL, "missing bearer token");
	expect_refused("abc.def", "malformed token");
	/* Algorithm confusion: an ES256 header on an Ed25519 signature. */
	c = claims_role("admin", 300, NULL);
	t = mint(K_ED, c, NULL);
	{
		static const char h[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
		char *hb = b64_encode(h, strlen(h), B64_URL_NOPAD);
		char *forged = xasprintf("%s%s", hb, strchr(t, '.'));

		expect_refused(forged, "trusted admin key");
		free(forged);
		free(hb);
	}
	free(t);
	free(c);
	admin_shutdown();
}

static void
test_deny_and_insecure(void **state)
{
	struct admin_identity id;
	struct error err;
	struct fake_req f;
	char *c = claims_role("admin", 300, NULL), *t;

	(void)state;
	init_simple(ADMIN_DENY_ALL, 1, K_ED);
	t = mint(K_ED, c, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_FORBIDDEN);
	assert_non_null(strstr(err.msg, "deny_all"));
	fake_req(&f, t, HTTP_M_POST, "/kbs/v0/resource/a/b/c");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), -1);
	fake_free(&f);
	admin_shutdown();

	init_simple(ADMIN_INSECURE_ALLOW_ALL, 0);
	assert_int_equal(authn(NULL, &id, &err), ADMIN_OK);
	assert_string_equal(id.role, "admin");
	assert_string_equal(id.actor, "anonymous");
	fake_req(&f, NULL, HTTP_M_DELETE, "/kbs/v0/resource/a/b/c");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), 0);
	fake_free(&f);
	admin_shutdown();
	free(t);
	free(c);
}

static void
test_kbs_simple_requires_admin_role(void **state)
{
	struct admin_identity id;
	struct error err;
	struct fake_req f;
	char *c, *t;

	(void)state;
	init_simple(ADMIN_BEARER_JWT, 1, K_P256);
	c = claims_role("operator", 300, NULL);
	t = mint(K_P256, c, NULL);
	fake_req(&f, t, HTTP_M_POST, "/kbs/v0/resource/a/b/c");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), -1);
	assert_non_null(strstr(err.msg, "role 'operator' not allowed"));
	fake_free(&f);
	free(t);
	free(c);
	c = claims_role("admin", 300, NULL);
	t = mint(K_P256, c, NULL);
	fake_req(&f, t, HTTP_M_POST, "/kbs/v0/resource/a/b/c");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), 0);
	fake_free(&f);
	free(t);
	free(c);
	admin_shutdown();
}

/* The Trustee form: identity providers with iss/aud/kid, then ACLs. */
static void
test_trustee_form_idps_and_acls(void **state)
{
	struct config cfg;
	struct admin_identity id;
	struct error err;
	struct fake_req f;
	json_t *jwks, *j;
	char *js, *jwks_path, *c, *t;

	(void)state;
	/* JWKS holding the P-384 key under kid "k384" and the RSA key. */
	j = jwk_from_pkey(adminfix_keys[K_P384], "ES384");
	json_object_set_new(j, "kid", json_string("k384"));
	jwks = json_pack("{s:[o, o, {s:s, s:s, s:s, s:s}]}", "keys", j,
	    jwk_from_pkey(adminfix_keys[K_RSA], "RS256"), "kty", "oct", "use",
	    "enc", "k", "AAAA", "kid", "enc-key");
	js = json_dumps(jwks, 0);
	json_decref(jwks);
	jwks_path = adminfix_write("admins.jwks", js);
	free(js);

	config_defaults(&cfg);
	cfg.admin_mode = ADMIN_AUTHENTICATED;
	cfg.admin_trustee_form = 1;
	cfg.admin_idps[0].issuer = xstrdup("TrusteeInDocker");
	cfg.admin_idps[0].audience = xstrdup("KBS");
	cfg.admin_idps[0].public_key = xstrdup(adminfix_pubpem[K_ED]);
	cfg.admin_idps[1].jwk_set = xstrdup(jwks_path);
	cfg.nadmin_idps = 2;
	cfg.admin_acls[0].role = xstrdup("admin");
	cfg.admin_acls[0].regex = xstrdup("^/kbs/.+$");
	cfg.admin_acls[1].role = xstrdup("operator");
	cfg.admin_acls[1].regex = xstrdup("^/kbs/v0/resource/[a-z]+/.*$");
	cfg.nadmin_acls = 2;
	if (admin_init(&cfg, &err) != 0)
		fail_msg("admin_init: %s", err.msg);
	config_free(&cfg);
	assert_string_equal(admin_mode_name(), "AuthenticatedAuthorization");

	/* Ed25519 IdP: iss and aud must match. */
	c = claims_role("admin", 300, "\"iss\":\"TrusteeInDocker\","
	    "\"aud\":[\"other\",\"KBS\"]");
	t = mint(K_ED, c, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	free(c);
	c = claims_role("admin", 300, "\"iss\":\"Someone\",\"aud\":\"KBS\"");
	t = mint(K_ED, c, NULL);
	expect_refused(t, "iss");
	free(t);
	free(c);
	c = claims_role("admin", 300, "\"iss\":\"TrusteeInDocker\"");
	t = mint(K_ED, c, NULL);
	expect_refused(t, "aud");
	free(t);
	free(c);
	/* JWKS IdP: kid selects the key; a wrong kid does not verify. */
	c = claims_role("operator", 300, NULL);
	t = mint(K_P384, c, "{\"kid\":\"k384\"}");
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	free(t);
	t = mint(K_P384, c, "{\"kid\":\"nope\"}");
	expect_refused(t, "trusted admin key");
	free(t);
	t = mint(K_RSA, c, NULL);
	assert_int_equal(authn(t, &id, &err), ADMIN_OK);
	assert_string_equal(id.role, "operator");
	free(t);
	t = mint(K_P256, c, NULL);
	expect_refused(t, "trusted admin key");
	free(t);

	/* ACLs: operator may touch resources with a lowercase repo only. */
	t = mint(K_RSA, c, NULL);
	fake_req(&f, t, HTTP_M_POST, "/kbs/v0/resource/repo/key/1");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), 0);
	fake_free(&f);
	fake_req(&f, t, HTTP_M_POST, "/kbs/v0/resource-policy");
	assert_int_equal(admin_authorize_kbs(&f.req, &id, &err), -1);
	assert_non_null(strstr(err.msg, "role 'operator' not allowed for "
	    "path /kbs/v0/resource-policy"));
	fake_free(&f);
	free(t);
	free(c);
	assert_true(admin_acl_allows("admin", "/kbs/v0/resource-policy"));
	assert_true(admin_acl_allows("admin", "/kbs/v0/x?y=z"));
	assert_false(admin_acl_allows("admin", "/kbs/"));
	assert_false(admin_acl_allows("admin", "/api/v1/resources"));
	assert_false(admin_acl_allows("Admin", "/kbs/v0/x"));
	assert_true(admin_acl_allows("operator", "/kbs/v0/resource/ab/c"));
	assert_false(admin_acl_allows("operator", "/kbs/v0/resource/AB/c"));
	/* The regex sees the query too (as Trustee's does). */
	assert_true(admin_acl_allows("operator",
	    "/kbs/v0/resource/ab/c?x=1"));
	assert_false(admin_acl_allows("operator", "/kbs/v0/resource/"));
	assert_false(admin_acl_allows("guest", "/kbs/v0/resource/ab/c"));
	admin_shutdown();
	adminfix_remove(jwks_path);
}

static void
test_init_errors(void **state)
{
	struct config cfg;
	struct error err;
	char *bad = adminfix_write("bad.pem", "not a key\n");
	char *badjwks = adminfix_write("bad.jwks",
	    "{\"keys\":[{\"kty\":\"EC\"}]}");

	(void)state;
	config_defaults(&cfg);
	cfg.admin_mode = ADMIN_BEARER_JWT;
	cfg.admin_keys[cfg.nadmin_keys++] = xstrdup(bad);
	assert_int_equal(admin_init(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "not a PEM public key"));
	config_free(&cfg);

	config_defaults(&cfg);
	cfg.admin_mode = ADMIN_AUTHENTICATED;
	cfg.admin_idps[0].jwk_set = xstrdup(badjwks);
	cfg.nadmin_idps = 1;
	assert_int_equal(admin_init(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "identity provider 1"));
	assert_non_null(strstr(err.msg, "keys[0]"));
	config_free(&cfg);
	adminfix_remove(bad);
	adminfix_remove(badjwks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_mode_tokens),
		cmocka_unit_test(test_token_lifetime),
		cmocka_unit_test(test_deny_and_insecure),
		cmocka_unit_test(test_kbs_simple_requires_admin_role),
		cmocka_unit_test(test_trustee_form_idps_and_acls),
		cmocka_unit_test(test_init_errors),
	};

	return cmocka_run_group_tests(tests, adminfix_setup, adminfix_teardown);
}
