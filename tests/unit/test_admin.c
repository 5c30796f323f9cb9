/*
 * test_admin.c: admin authentication and authorization (admin.c), the
 * [admin] configuration (config_admin.c, both forms, errors with line numbers),
 * the native API's route and role table (api.c), the Rego detector
 * (api_policy.c), versioned resources (resource*.c) and the audit trail
 * (audit.c) over a scratch SQLite store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/jwk.h"
#include "../../lib/jws.h"
#include "../../lib/log.h"
#include "../../server/api.h"
#include "../../server/audit.h"
#include "../../server/resource.h"
#include "../../server/trusteed.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/test_admin.XXXXXX";

/* Keys: Ed25519, P-256, P-384, RSA-2048, and an untrusted Ed25519. */
enum { K_ED, K_P256, K_P384, K_RSA, K_OTHER, K_N };
static EVP_PKEY *keys[K_N];
static char *pubpem[K_N];

/* ---------------------------------------------------------------- helpers */

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *
write_file(const char *name, const char *content)
{
	return testutil_write_file(tmpdir, name, content);
}

static void
remove_file(char *path)
{
	unlink(path);
	free(path);
}

/* config_load with stderr captured; returns what was printed. */
static char *
load_capture(const char *path, struct config *cfg, int *nerr)
{
	struct testutil_capture c;

	testutil_stderr_begin(&c);
	*nerr = config_load(path, cfg);
	return testutil_stderr_end(&c);
}

static const char conf_head[] =
    "[http_server]\n"				/* 1 */
    "insecure_http = true\n"			/* 2 */
    "[admin]\n";				/* 3 */

/* Load conf_head + text; expect n errors and every needle (each
 * "<line>: <text>") in the report. */
static void
expect_errors(const char *text, int n, ...)
{
	char *body = xasprintf("%s%s", conf_head, text);
	char *path = write_file("c.toml", body), *out;
	struct config cfg;
	const char *needle;
	va_list ap;
	int nerr;

	config_defaults(&cfg);
	out = load_capture(path, &cfg, &nerr);
	if (nerr != n)
		fail_msg("expected %d errors, got %d:\n%s", n, nerr, out);
	va_start(ap, n);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		char *want = xasprintf("%s:%s", path, needle);

		if (strstr(out, want) == NULL)
			fail_msg("report lacks \"%s\":\n%s", want, out);
		free(want);
	}
	va_end(ap);
	free(out);
	config_free(&cfg);
	remove_file(path);
	free(body);
}

static int
load_ok(const char *text, struct config *cfg)
{
	char *body = xasprintf("%s%s", conf_head, text);
	char *path = write_file("ok.toml", body), *out;
	int nerr;

	config_defaults(cfg);
	out = load_capture(path, cfg, &nerr);
	if (nerr != 0)
		fail_msg("unexpected errors:\n%s", out);
	free(out);
	remove_file(path);
	free(body);
	return nerr;
}

static EVP_PKEY *
keygen(int which)
{
	switch (which) {
	case K_ED:
	case K_OTHER:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case K_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case K_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
}

/* A compact JWS over claims (a JSON text) with key k; extra header
 * members from hdr_extra (a JSON object text or NULL). */
static char *
mint(int k, const char *claims, const char *hdr_extra)
{
	struct error err;
	json_t *h = json_pack("{s:s, s:s}", "alg", jws_alg_for_key(keys[k]),
	    "typ", "JWT");
	char *tok;

	if (hdr_extra != NULL) {
		json_t *x = json_loads(hdr_extra, 0, NULL);

		assert_non_null(x);
		json_object_update(h, x);
		json_decref(x);
	}
	tok = jws_sign(keys[k], h, claims, strlen(claims), &err);
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

static int
setup(void **state)
{
	int i;
	char name[32];

	(void)state;
	log_init("test_admin", LOG_LVL_ERROR);
	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL)
		return -1;
	for (i = 0; i < K_N; i++) {
		FILE *f;

		keys[i] = keygen(i);
		if (keys[i] == NULL)
			return -1;
		snprintf(name, sizeof(name), "key%d.pem", i);
		pubpem[i] = tpath(name);
		f = fopen(pubpem[i], "w");
		if (f == NULL || PEM_write_PUBKEY(f, keys[i]) != 1)
			return -1;
		fclose(f);
	}
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	admin_shutdown();
	for (i = 0; i < K_N; i++) {
		unlink(pubpem[i]);
		free(pubpem[i]);
		EVP_PKEY_free(keys[i]);
	}
	return rmdir(tmpdir);
}

/* ------------------------------------------------------------ config */

static void
test_config_simple_form_unchanged(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("mode = \"bearer_jwt\"\npublic_keys = [\"k.pem\"]\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_BEARER_JWT);
	assert_int_equal(cfg.admin_trustee_form, 0);
	assert_int_equal(cfg.nadmin_keys, 1);
	assert_int_equal(cfg.nadmin_idps, 0);
	config_free(&cfg);
	load_ok("mode = \"insecure_allow_all\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_INSECURE_ALLOW_ALL);
	config_free(&cfg);
}

static void
test_config_trustee_form(void **state)
{
	struct config cfg;
	char *want;

	(void)state;
	load_ok("authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication.bearer_jwt]\n"
	    "identity_providers = [\n"
	    "  { issuer = \"TrusteeInDocker\", audience = \"KBS\", "
	    "public_key_uri = \"file:///etc/trustee/a.pem\" },\n"
	    "  { jwk_set_uri = \"keys/admins.jwks\" },\n"
	    "]\n"
	    "[admin.authorization.regex_acl]\n"
	    "acls = [\n"
	    "  { role = \"admin\", allowed_endpoints = \"^/kbs/.+$\" },\n"
	    "  { role = \"operator\", allowed_endpoints = "
	    "\"^/kbs/v0/(resource|resource-policy)/?.*$\" },\n"
	    "]\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_AUTHENTICATED);
	assert_int_equal(cfg.admin_trustee_form, 1);
	assert_int_equal(cfg.nadmin_idps, 2);
	assert_string_equal(cfg.admin_idps[0].issuer, "TrusteeInDocker");
	assert_string_equal(cfg.admin_idps[0].audience, "KBS");
	assert_string_equal(cfg.admin_idps[0].public_key, "/etc/trustee/a.pem");
	assert_null(cfg.admin_idps[0].jwk_set);
	assert_null(cfg.admin_idps[1].issuer);
	want = xasprintf("%s/keys/admins.jwks", tmpdir);
	assert_string_equal(cfg.admin_idps[1].jwk_set, want);
	free(want);
	assert_int_equal(cfg.nadmin_acls, 2);
	assert_string_equal(cfg.admin_acls[1].role, "operator");
	config_free(&cfg);

	load_ok("authorization_mode = \"DenyAll\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_DENY_ALL);
	config_free(&cfg);
	load_ok("authorization_mode = \"InsecureAllowAll\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_INSECURE_ALLOW_ALL);
	config_free(&cfg);
}

static void
test_config_errors(void **state)
{
	(void)state;
	/* Lines: 4 is the first line after "[admin]". */
	expect_errors("authorization_mode = \"Open\"\n", 1,
	    "4: admin.authorization_mode: \"Open\" is not one of "
	    "\"InsecureAllowAll\", \"DenyAll\", \"AuthenticatedAuthorization\"",
	    NULL);
	expect_errors("mode = \"deny_all\"\n"
	    "authorization_mode = \"DenyAll\"\n", 1,
	    "4: admin.mode and admin.authorization_mode", NULL);
	expect_errors("authorization_mode = \"AuthenticatedAuthorization\"\n",
	    2, "4: admin.authorization_mode \"AuthenticatedAuthorization\" "
	    "needs [admin.authentication.bearer_jwt]",
	    "4: admin.authorization_mode \"AuthenticatedAuthorization\" "
	    "needs [admin.authorization.regex_acl]", NULL);
	expect_errors("type = \"Simple\"\n", 2,
	    "4: admin.type: the legacy Trustee form is not supported", NULL);
	expect_errors("authorization_mode = \"DenyAll\"\n"
	    "public_keys = [\"a.pem\"]\n", 1,
	    "5: admin.public_keys belongs to the simple form", NULL);
	expect_errors("mode = \"deny_all\"\n"
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authorization needs authorization_mode = "
	    "\"AuthenticatedAuthorization\"", NULL);
	expect_errors("authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication.bearer_jwt]\n"		/* 5 */
	    "identity_providers = [\n"				/* 6 */
	    "  { public_key_uri = \"https://idp.example/key.pem\" },\n"
	    "  { issuer = \"x\" },\n"				/* 8 */
	    "  { public_key_uri = \"a.pem\", colour = \"red\" },\n"
	    "  { public_key_uri = 5 },\n"			/* 10 */
	    "]\n"
	    "[admin.authorization.regex_acl]\n"		/* 12 */
	    "acls = [\n"					/* 13 */
	    "  { role = \"admin\", allowed_endpoints = \"/kbs/.*\" },\n"
	    "  { role = \"admin\", allowed_endpoints = \"^/kbs/(a$\" },\n"
	    "  { role = \"admin\" },\n"			/* 16 */
	    "  \"admin\",\n"					/* 17 */
	    "]\n", 8,
	    "7: admin.authentication.bearer_jwt.identity_providers[0]: "
	    "\"https://idp.example/key.pem\": fetching keys over the network "
	    "is not supported offline",
	    "8: admin.authentication.bearer_jwt.identity_providers[1]: needs "
	    "public_key_uri and/or jwk_set_uri",
	    "9: admin.authentication.bearer_jwt.identity_providers[2]: "
	    "unknown key 'colour'",
	    "10: admin.authentication.bearer_jwt.identity_providers[3]."
	    "public_key_uri: expected a non-empty string, got an integer",
	    "14: admin.authorization.regex_acl.acls[0].allowed_endpoints: the "
	    "regex must be anchored: start with ^/kbs and end with $",
	    "15: admin.authorization.regex_acl.acls[1].allowed_endpoints: not "
	    "a POSIX extended regular expression",
	    "16: admin.authorization.regex_acl.acls[2]: needs role and "
	    "allowed_endpoints",
	    "17: admin.authorization.regex_acl.acls[3]: expected a table",
	    NULL);
	expect_errors("authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication]\n"
	    "type = \"BearerJwt\"\n"				/* 6 */
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authentication: unknown key 'type' (the legacy Trustee "
	    "form is not supported)", NULL);
	expect_errors("authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication.bearer_jwt]\n"
	    "identity_providers = []\n"				/* 6 */
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authentication.bearer_jwt.identity_providers: expected "
	    "a non-empty array of tables, got an empty array", NULL);
	/* The simple form's own checks still hold. */
	expect_errors("mode = \"bearer_jwt\"\npublic_keys = []\n", 1,
	    "5: admin.public_keys: must not be empty", NULL);
}

/* ------------------------------------------------------ authentication */

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
		cfg.admin_keys[cfg.nadmin_keys++] = xstrdup(pubpem[va_arg(ap,
		    int)]);
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
	cfg.admin_keys[cfg.nadmin_keys++] = xstrdup(pubpem[K_ED]);
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
	expect_errors("max_token_lifetime = 10\nmode = \"deny_all\"\n", 1,
	    "4: admin.max_token_lifetime", NULL);
	load_ok("max_token_lifetime = 3600\npublic_keys = [\"/x.pem\"]\n",
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
	j = jwk_from_pkey(keys[K_P384], "ES384");
	json_object_set_new(j, "kid", json_string("k384"));
	jwks = json_pack("{s:[o, o, {s:s, s:s, s:s, s:s}]}", "keys", j,
	    jwk_from_pkey(keys[K_RSA], "RS256"), "kty", "oct", "use", "enc",
	    "k", "AAAA", "kid", "enc-key");
	js = json_dumps(jwks, 0);
	json_decref(jwks);
	jwks_path = write_file("admins.jwks", js);
	free(js);

	config_defaults(&cfg);
	cfg.admin_mode = ADMIN_AUTHENTICATED;
	cfg.admin_trustee_form = 1;
	cfg.admin_idps[0].issuer = xstrdup("TrusteeInDocker");
	cfg.admin_idps[0].audience = xstrdup("KBS");
	cfg.admin_idps[0].public_key = xstrdup(pubpem[K_ED]);
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
	remove_file(jwks_path);
}

static void
test_init_errors(void **state)
{
	struct config cfg;
	struct error err;
	char *bad = write_file("bad.pem", "not a key\n");
	char *badjwks = write_file("bad.jwks", "{\"keys\":[{\"kty\":\"EC\"}]}");

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
	remove_file(bad);
	remove_file(badjwks);
}

/* ------------------------------------------------------------ API roles */

static void
test_api_routes_and_roles(void **state)
{
	(void)state;
	/* auditor: reads, token decoding, audit; never writes or tests. */
	assert_int_equal(api_route_check("auditor", HTTP_M_GET,
	    "/api/v1/resources"), 0);
	assert_int_equal(api_route_check("auditor", HTTP_M_HEAD,
	    "/api/v1/resources/a/b/c"), 0);
	assert_int_equal(api_route_check("auditor", HTTP_M_PUT,
	    "/api/v1/resources/a/b/c"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_DELETE,
	    "/api/v1/resources/a/b/c"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_POST,
	    "/api/v1/resources/a/b/c/restore"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_GET,
	    "/api/v1/policies/attestation/default_cpu"), 0);
	assert_int_equal(api_route_check("auditor", HTTP_M_PUT,
	    "/api/v1/policies/attestation/default_cpu"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_POST,
	    "/api/v1/policies/resource/resource-policy/test"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_POST,
	    "/api/v1/reference-values"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_POST,
	    "/api/v1/reference-values/x/revoke"), 403);
	assert_int_equal(api_route_check("auditor", HTTP_M_POST,
	    "/api/v1/tokens/verify"), 0);
	assert_int_equal(api_route_check("auditor", HTTP_M_GET,
	    "/api/v1/audit"), 0);
	/* operator: everything but the audit trail. */
	assert_int_equal(api_route_check("operator", HTTP_M_PUT,
	    "/api/v1/resources/a/b/c"), 0);
	assert_int_equal(api_route_check("operator", HTTP_M_POST,
	    "/api/v1/policies/attestation/x/restore"), 0);
	assert_int_equal(api_route_check("operator", HTTP_M_GET,
	    "/api/v1/audit"), 403);
	/* admin: everything. */
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/audit"), 0);
	assert_int_equal(api_route_check("admin", HTTP_M_PUT,
	    "/api/v1/reference-values/a%2Fb"), 0);
	/* unknown roles: only whoami. */
	assert_int_equal(api_route_check("guest", HTTP_M_GET,
	    "/api/v1/whoami"), 0);
	assert_int_equal(api_route_check("guest", HTTP_M_GET,
	    "/api/v1/health"), 403);
	assert_int_equal(api_route_check("Admin", HTTP_M_GET,
	    "/api/v1/resources"), 403);
	/* Routing: 404 before 405 before 403. */
	assert_int_equal(api_route_check("guest", HTTP_M_GET,
	    "/api/v1/nothing"), 404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET, "/api/v1"), 404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET, "/api/v1/"),
	    404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/resources/"), 404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/resources//b/c"), 404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/resources/a/b/c/d"), 404);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/resources/a/b/c/d/e/f/g/h/i"), 404);
	assert_int_equal(api_route_check("guest", HTTP_M_POST,
	    "/api/v1/health"), 405);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/resources/a/b/c/restore"), 405);
	assert_int_equal(api_route_check("admin", HTTP_M_OTHER,
	    "/api/v1/resources"), 405);
	assert_int_equal(api_route_check("admin", HTTP_M_GET,
	    "/api/v1/tokens/decode"), 405);
}

static void
test_api_percent_decode(void **state)
{
	char *s;

	(void)state;
	s = api_percent_decode("a%2Fb%20c%7e", 12);
	assert_string_equal(s, "a/b c~");
	free(s);
	assert_null(api_percent_decode("a%2", 3));
	assert_null(api_percent_decode("a%", 2));
	assert_null(api_percent_decode("%zz", 3));
	assert_null(api_percent_decode("%00", 3));
	s = api_percent_decode("plain+x", 7);
	assert_string_equal(s, "plain+x");
	free(s);
}

static void
test_rego_detection(void **state)
{
	static const char rego1[] = "package policy\ndefault allow = false\n";
	static const char rego2[] = "# comment\n\n  package\tpolicy\n";
	static const char lua1[] = "-- package policy\nreturn function() end\n";
	static const char lua2[] = "local package = 1\nreturn function() end";
	static const char lua3[] = "packages = {}\n";

	(void)state;
	assert_true(api_policy_looks_rego(rego1, strlen(rego1)));
	assert_true(api_policy_looks_rego(rego2, strlen(rego2)));
	assert_false(api_policy_looks_rego(lua1, strlen(lua1)));
	assert_false(api_policy_looks_rego(lua2, strlen(lua2)));
	assert_false(api_policy_looks_rego(lua3, strlen(lua3)));
	assert_false(api_policy_looks_rego("", 0));
	assert_false(api_policy_looks_rego("package", 7));
}

/* ------------------------------------------------- resources and audit */

static struct store *
open_store(char **dbpath)
{
	struct error err;
	uint8_t key[32];
	struct store *st;

	randombytes_buf(key, sizeof(key));
	*dbpath = tpath("t.db");
	unlink(*dbpath);
	st = store_open_key(&store_backend_sqlite, *dbpath, key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static void
close_store(struct store *st, char *dbpath)
{
	store_close(st);
	testutil_db_unlink(dbpath);
	free(dbpath);
}

static void
test_resource_versions(void **state)
{
	struct error err;
	char *db, v[16];
	struct store *st = open_store(&db);
	json_t *meta, *items;
	uint8_t *val;
	size_t len;
	int created, i;

	(void)state;
	assert_int_equal(resource_name_check("a/b/c", &err), 0);
	assert_int_equal(resource_name_check("a/b", &err), -1);
	assert_int_equal(resource_name_check("a/b/c/d", &err), -1);
	assert_int_equal(resource_name_check(".a/b/c", &err), -1);
	assert_int_equal(resource_name_check("a//c", &err), -1);
	assert_int_equal(resource_name_check("a/b/c d", &err), -1);
	assert_int_equal(resource_put(st, "a/b", "x", 1, NULL, "t", NULL,
	    NULL, &err), -1);

	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    1);
	assert_int_equal(resource_put(st, "r/k/one", "v1", 2, NULL,
	    "alice (admin)", &meta, &created, &err), 0);
	assert_true(created);
	assert_int_equal(json_integer_value(json_object_get(meta, "version")),
	    1);
	assert_string_equal(json_string_value(json_object_get(meta,
	    "created_by")), "alice (admin)");
	assert_string_equal(json_string_value(json_object_get(meta,
	    "content_type")), "application/octet-stream");
	assert_null(json_object_get(meta, "sha256"));
	json_decref(meta);
	/* Twelve more versions: only the last RESOURCE_KEEP stay. */
	for (i = 2; i <= 13; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(resource_put(st, "r/k/one", v, strlen(v),
		    "text/plain", "bob (operator)", NULL, &created, &err), 0);
		assert_false(created);
	}
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "v13", 3);
	secret_free(val, len);
	assert_int_equal(resource_read_versions(st, "r/k/one", &items, &err),
	    0);
	assert_int_equal(json_array_size(items), RESOURCE_KEEP);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    items, 0), "version")), 13);
	assert_true(json_is_true(json_object_get(json_array_get(items, 0),
	    "active")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    items, RESOURCE_KEEP - 1), "version")), 4);
	json_decref(items);
	/* Restore: a dropped version is gone, a kept one comes back. */
	assert_int_equal(resource_restore(st, "r/k/one", 2, "t", NULL, &err),
	    2);
	assert_int_equal(resource_restore(st, "r/x/one", 5, "t", NULL, &err),
	    1);
	assert_int_equal(resource_restore(st, "r/k/one", 5, "carol", &meta,
	    &err), 0);
	assert_int_equal(json_integer_value(json_object_get(meta, "version")),
	    14);
	assert_int_equal(json_integer_value(json_object_get(meta, "size")), 2);
	json_decref(meta);
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_memory_equal(val, "v5", 2);
	secret_free(val, len);
	/* A release remembers the index row it checked: the very same row
	 * is not parsed again, any other row is (here one that is not an
	 * index at all, then the right one again). */
	{
		uint8_t *row, *row2;
		size_t rlen, rlen2;

		assert_int_equal(store_get(st, "resource_index", "r/k/one",
		    &row, &rlen, &err), 0);
		assert_int_equal(resource_hint_active("r/k/one", row, rlen),
		    14);
		assert_int_equal(resource_hint_active("r/k/two", row, rlen),
		    0);
		assert_int_equal(resource_hint_active("r/k/one", row,
		    rlen - 1), 0);
		assert_int_equal(store_put(st, "resource_index", "r/k/one",
		    "{\"active\":14}", 13, &err), 0);
		assert_int_equal(resource_read_value(st, "r/k/one", &val, &len,
		    &err), STORE_CORRUPT);
		assert_non_null(strstr(err.msg, "malformed"));
		assert_int_equal(store_put(st, "resource_index", "r/k/one",
		    row, rlen, &err), 0);
		assert_int_equal(resource_read_value(st, "r/k/one", &val, &len,
		    &err), 0);
		assert_memory_equal(val, "v5", 2);
		secret_free(val, len);
		assert_int_equal(store_get(st, "resource_index", "r/k/one",
		    &row2, &rlen2, &err), 0);
		assert_int_equal(resource_hint_active("r/k/one", row2, rlen2),
		    14);
		/* A version recorded from another row replaces the digest. */
		resource_hint_set("r/k/one", 14, row2, rlen2 - 1);
		assert_int_equal(resource_hint_active("r/k/one", row2, rlen2),
		    0);
		assert_int_equal(resource_hint_active("r/k/one", row2,
		    rlen2 - 1), 14);
		assert_int_equal(resource_hint_get("r/k/one"), 14);
		secret_free(row, rlen);
		secret_free(row2, rlen2);
	}
	/* Listing with prefix and pages. */
	assert_int_equal(resource_put(st, "r/k/two", "", 0, NULL, "t", NULL,
	    NULL, &err), 0);
	assert_int_equal(resource_put(st, "s/k/one", "z", 1, NULL, "t", NULL,
	    NULL, &err), 0);
	assert_int_equal(resource_list(st, NULL, NULL, 2, &items, &i, NULL, &err),
	    0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(i);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 1), "name")), "r/k/two");
	json_decref(items);
	assert_int_equal(resource_list(st, NULL, "r/k/two", 2, &items, &i,
	    NULL, &err), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_false(i);
	json_decref(items);
	assert_int_equal(resource_list(st, "r/", NULL, 10, &items, &i, NULL,
	    &err),
	    0);
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);
	/* Delete removes every version. */
	assert_int_equal(resource_delete(st, "r/k/one", &err), 0);
	assert_int_equal(resource_delete(st, "r/k/one", &err), 1);
	assert_int_equal(resource_read_meta(st, "r/k/one", &meta, &err), 1);
	assert_int_equal(store_get(st, "resource_data", "r/k/one@14", &val,
	    &len, &err), 1);
	/* Releases guess the active version they saw last (14 here): a
	 * deleted name is absent, a new history is read right. */
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    1);
	assert_int_equal(resource_put(st, "r/k/one", "again", 5, NULL, "t",
	    NULL, &created, &err), 0);
	assert_true(created);
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_int_equal(len, 5);
	assert_memory_equal(val, "again", 5);
	secret_free(val, len);
	close_store(st, db);
}

static void
test_resource_migration(void **state)
{
	struct error err;
	char *db;
	struct store *st = open_store(&db);
	uint8_t *val;
	size_t len;
	json_t *meta;

	(void)state;
	/* Rows written by the previous format. */
	assert_int_equal(store_put(st, "resources", "default/key/old", "sec",
	    3, &err), 0);
	assert_int_equal(store_put(st, "resources", "bad name", "x", 1, &err),
	    0);
	assert_int_equal(resource_migrate(st, &err), 0);
	assert_int_equal(resource_read_value(st, "default/key/old", &val, &len,
	    &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "sec", 3);
	secret_free(val, len);
	assert_int_equal(resource_read_meta(st, "default/key/old", &meta, &err),
	    0);
	assert_string_equal(json_string_value(json_object_get(meta,
	    "created_by")), "migrated");
	json_decref(meta);
	assert_int_equal(store_get(st, "resources", "default/key/old", &val,
	    &len, &err), 1);
	/* Idempotent. */
	assert_int_equal(resource_migrate(st, &err), 0);
	close_store(st, db);
}

static void
test_audit_trail(void **state)
{
	struct audit_filter f;
	struct error err;
	char *db, cursor[64];
	struct store *st = open_store(&db);
	json_t *items;
	int more;

	(void)state;
	audit_record("nobody", "early", "x", "ok", NULL);	/* not open */
	assert_int_equal(audit_init(st, &err), 0);
	audit_record("alice (admin)", "resource.put", "a/b/c", "ok", NULL);
	audit_record("bob (operator)", "policy.put", "resource/resource-policy",
	    "error", "[string]:3: syntax error");
	audit_record("alice (admin)", "resource.delete", "a/b/c", "ok", NULL);
	audit_record("guest", "resource.get", "a/b/\xff", "denied", "policy");
	assert_int_equal(audit_list(NULL, 10, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 4);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 0), "action")), "resource.get");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 3), "action")), "resource.put");
	assert_true(strcmp(json_string_value(json_object_get(json_array_get(
	    items, 0), "id")), json_string_value(json_object_get(
	    json_array_get(items, 1), "id"))) > 0);
	json_decref(items);
	/* Pages by cursor. */
	assert_int_equal(audit_list(NULL, 2, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(more);
	snprintf(cursor, sizeof(cursor), "%s", json_string_value(
	    json_object_get(json_array_get(items, 1), "id")));
	json_decref(items);
	assert_int_equal(audit_list(cursor, 2, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 1), "action")), "resource.put");
	json_decref(items);
	/* Filters. */
	memset(&f, 0, sizeof(f));
	f.action_prefix = "resource.";
	f.actor = "alice (admin)";
	assert_int_equal(audit_list(NULL, 10, &f, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);
	memset(&f, 0, sizeof(f));
	f.since = now_unix() + 3600;
	assert_int_equal(audit_list(NULL, 10, &f, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	/* Records survive a restart of the module. */
	audit_shutdown();
	assert_int_equal(audit_init(st, &err), 0);
	assert_int_equal(audit_list(NULL, 10, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 4);
	json_decref(items);
	audit_shutdown();
	close_store(st, db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_simple_form_unchanged),
		cmocka_unit_test(test_config_trustee_form),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_simple_mode_tokens),
		cmocka_unit_test(test_token_lifetime),
		cmocka_unit_test(test_deny_and_insecure),
		cmocka_unit_test(test_kbs_simple_requires_admin_role),
		cmocka_unit_test(test_trustee_form_idps_and_acls),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_api_routes_and_roles),
		cmocka_unit_test(test_api_percent_decode),
		cmocka_unit_test(test_rego_detection),
		cmocka_unit_test(test_resource_versions),
		cmocka_unit_test(test_resource_migration),
		cmocka_unit_test(test_audit_trail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
