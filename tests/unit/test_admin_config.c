/*
 * test_admin_config.c: the [admin] configuration (config_admin.c): the
 * simple form unchanged, the trustee form (identity providers, ACLs), and
 * errors reported with their line numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "adminfix.h"

static void
test_config_simple_form_unchanged(void **state)
{
	struct config cfg;

	(void)state;
	adminfix_load_ok("mode = \"bearer_jwt\"\npublic_keys = [\"k.pem\"]\n",
	    &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_BEARER_JWT);
	assert_int_equal(cfg.admin_trustee_form, 0);
	assert_int_equal(cfg.nadmin_keys, 1);
	assert_int_equal(cfg.nadmin_idps, 0);
	config_free(&cfg);
	adminfix_load_ok("mode = \"insecure_allow_all\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_INSECURE_ALLOW_ALL);
	config_free(&cfg);
}

static void
test_config_trustee_form(void **state)
{
	struct config cfg;
	char *want;

	(void)state;
	adminfix_load_ok("authorization_mode = \"AuthenticatedAuthorization\"\n"
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
	want = xasprintf("%s/keys/admins.jwks", adminfix_tmpdir);
	assert_string_equal(cfg.admin_idps[1].jwk_set, want);
	free(want);
	assert_int_equal(cfg.nadmin_acls, 2);
	assert_string_equal(cfg.admin_acls[1].role, "operator");
	config_free(&cfg);

	adminfix_load_ok("authorization_mode = \"DenyAll\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_DENY_ALL);
	config_free(&cfg);
	adminfix_load_ok("authorization_mode = \"InsecureAllowAll\"\n", &cfg);
	assert_int_equal(cfg.admin_mode, ADMIN_INSECURE_ALLOW_ALL);
	config_free(&cfg);
}

static void
test_config_errors(void **state)
{
	(void)state;
	/* Lines: 4 is the first line after "[admin]". */
	adminfix_expect_errors("authorization_mode = \"Open\"\n", 1,
	    "4: admin.authorization_mode: \"Open\" is not one of "
	    "\"InsecureAllowAll\", \"DenyAll\", \"AuthenticatedAuthorization\"",
	    NULL);
	adminfix_expect_errors("mode = \"deny_all\"\n"
	    "authorization_mode = \"DenyAll\"\n", 1,
	    "4: admin.mode and admin.authorization_mode", NULL);
	adminfix_expect_errors(
	    "authorization_mode = \"AuthenticatedAuthorization\"\n",
	    2, "4: admin.authorization_mode \"AuthenticatedAuthorization\" "
	    "needs [admin.authentication.bearer_jwt]",
	    "4: admin.authorization_mode \"AuthenticatedAuthorization\" "
	    "needs [admin.authorization.regex_acl]", NULL);
	adminfix_expect_errors("type = \"Simple\"\n", 2,
	    "4: admin.type: the legacy Trustee form is not supported", NULL);
	adminfix_expect_errors("authorization_mode = \"DenyAll\"\n"
	    "public_keys = [\"a.pem\"]\n", 1,
	    "5: admin.public_keys belongs to the simple form", NULL);
	adminfix_expect_errors("mode = \"deny_all\"\n"
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authorization needs authorization_mode = "
	    "\"AuthenticatedAuthorization\"", NULL);
	adminfix_expect_errors(
	    "authorization_mode = \"AuthenticatedAuthorization\"\n"
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
	adminfix_expect_errors(
	    "authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication]\n"
	    "type = \"BearerJwt\"\n"				/* 6 */
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authentication: unknown key 'type' (the legacy Trustee "
	    "form is not supported)", NULL);
	adminfix_expect_errors(
	    "authorization_mode = \"AuthenticatedAuthorization\"\n"
	    "[admin.authentication.bearer_jwt]\n"
	    "identity_providers = []\n"				/* 6 */
	    "[admin.authorization.regex_acl]\n"
	    "acls = []\n", 1,
	    "6: admin.authentication.bearer_jwt.identity_providers: expected "
	    "a non-empty array of tables, got an empty array", NULL);
	/* The simple form's own checks still hold. */
	adminfix_expect_errors("mode = \"bearer_jwt\"\npublic_keys = []\n", 1,
	    "5: admin.public_keys: must not be empty", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_simple_form_unchanged),
		cmocka_unit_test(test_config_trustee_form),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, adminfix_setup, adminfix_teardown);
}
