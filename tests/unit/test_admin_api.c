/*
 * test_admin_api.c: the native API's route and role table (api.c), its
 * percent-decoding of path segments, and the Rego detector (api_policy.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../server/api.h"

#include "adminfix.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_routes_and_roles),
		cmocka_unit_test(test_api_percent_decode),
		cmocka_unit_test(test_rego_detection),
	};

	return cmocka_run_group_tests(tests, adminfix_setup, adminfix_teardown);
}
