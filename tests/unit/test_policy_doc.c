/*
 * test_policy_doc.c: stored policies: uploads refused for their syntax,
 * shape, encoding or id (nothing stored), versions, restore, get and
 * list, dry runs that store nothing, and the engine without a store
 * (the shipped defaults, read-only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/embedded.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/policy.h"
#include "../../server/policy_internal.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "policyfix.h"

static int
setup(void **state)
{
	return policyfix_setup(state, "test_policy_doc");
}

static void
test_syntax_and_shape_errors(void **state)
{
	struct error err = { "" };
	json_t *vers = NULL;
	char *text = NULL;
	size_t len;
	int ver = 0, before;

	(void)state;
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	before = (int)json_array_size(vers);
	json_decref(vers);

	assert_int_equal(policyfix_put_resource(
	    "return function(claims, request)\n"
	    "  local x =\nend\n", &err), -1);
	policyfix_assert_contains(err.msg, "syntax error at line 3");
	assert_int_equal(policyfix_put_resource("-- comment\nreturn 42\n",
	    &err), -1);
	policyfix_assert_contains(err.msg, "must return a function");
	assert_int_equal(policyfix_put_resource("error('at top')\n", &err), -1);
	policyfix_assert_contains(err.msg, "error at line 1: at top");
	assert_int_equal(policyfix_put_resource("\x1bLuaT garbage", &err), -1);
	policyfix_assert_contains(err.msg, "binary chunk");
	assert_int_equal(policyfix_put_resource("return function() end\xff",
	    &err), -1);
	policyfix_assert_contains(err.msg, "UTF-8");
	assert_int_equal(policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return\0x", 8, "t", &ver, NULL, &err), -1);
	policyfix_assert_contains(err.msg, "NUL");
	assert_int_equal(policy_put(POLICY_ATTESTATION, "../etc", "return "
	    "function() end", 21, "t", &ver, NULL, &err), -1);
	policyfix_assert_contains(err.msg, "invalid attestation policy id");
	assert_int_equal(policy_put(POLICY_RESOURCE, "other", "return "
	    "function() end", 21, "t", &ver, NULL, &err), -1);

	/* nothing stored, the active policy unchanged */
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	assert_int_equal((int)json_array_size(vers), before);
	json_decref(vers);
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 0,
	    &text, &len, &err), 0);
	assert_string_equal(text, policyfix_shipped("resource_default.lua"));
	free(text);
}

static void
test_versions_and_restore(void **state)
{
	struct error err = { "" };
	const char *v2 = "return function() return false, 'version two' end";
	char reason[POLICY_REASON_MAX], *text = NULL;
	json_t *vers = NULL, *list = NULL;
	json_t *req = policyfix_request_for("resource");
	json_t *c = policyfix_claims_for("snp", "affirming", 2);
	size_t len;
	int ver = 0, nv = 0;

	(void)state;
	assert_int_equal(policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID, v2,
	    strlen(v2), "alice", &ver, NULL, &err), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	assert_string_equal(reason, "version two");

	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	assert_int_equal(json_array_size(vers), 2);
	assert_true(json_is_false(json_object_get(json_array_get(vers, 0),
	    "active")));
	assert_true(json_is_true(json_object_get(json_array_get(vers, 1),
	    "active")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    vers, 1), "created_by")), "alice");
	assert_int_equal(json_string_length(json_object_get(json_array_get(
	    vers, 1), "sha256")), 64);
	json_decref(vers);

	assert_int_equal(policy_restore(POLICY_RESOURCE, POLICY_RESOURCE_ID, 1,
	    "bob", &nv, &err), 0);
	assert_int_equal(nv, 3);
	assert_int_equal(policyfix_decide(c, req, reason), 1);
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 2,
	    &text, &len, &err), 0);
	assert_string_equal(text, v2);
	free(text);
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 9,
	    &text, &len, &err), 1);
	assert_int_equal(policy_restore(POLICY_RESOURCE, POLICY_RESOURCE_ID, 9,
	    "bob", &nv, &err), 1);
	assert_int_equal(policy_get(POLICY_ATTESTATION, "nope_cpu", 0, &text,
	    &len, &err), 1);
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    vers, 2), "restored_from")), 1);
	json_decref(vers);

	assert_int_equal(policy_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "id")), "default_cpu");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 2), "kind")), "resource");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    list, 2), "active_version")), 3);
	json_decref(list);
	json_decref(c);
	json_decref(req);
}

static void
test_dry_run(void **state)
{
	struct error err = { "" };
	json_t *in = policyfix_sample_input(), *res = NULL, *rin;
	const char *pol = "return function(claims, request)\n"
	    "trustee.log('plugin', request.plugin, 42, {}, nil)\n"
	    "return request['resource-path'][1] == 'repo', 'looked at ' .. "
	    "request['resource-path'][1]\nend";
	const char *logs = "return function() for i = 1, 500 do "
	    "trustee.log(i) end return false end";
	json_t *vers = NULL;
	int before;

	(void)state;
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	before = (int)json_array_size(vers);
	json_decref(vers);

	/* stored default_cpu, active version */
	assert_int_equal(policy_test(POLICY_ATTESTATION, NULL, 0,
	    "default_cpu", 0, in, &res, &err), 0);
	assert_string_equal(json_string_value(json_object_get(res, "status")),
	    "contraindicated");
	policyfix_assert_contains(json_string_value(json_object_get(res,
	    "reason")), "hardware 97 (contraindicated)");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    res, "result"), "configuration")), 2);
	json_decref(res);

	/* any text; log lines captured; nothing stored */
	rin = json_pack("{s:o, s:o}", "claims", policyfix_claims_for("snp",
	    "affirming", 2), "request", policyfix_request_for("resource"));
	assert_int_equal(policy_test(POLICY_RESOURCE, pol, strlen(pol), NULL,
	    0, rin, &res, &err), 0);
	assert_true(json_is_true(json_object_get(res, "result")));
	assert_string_equal(json_string_value(json_object_get(res, "reason")),
	    "looked at repo");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    res, "log"), 0)), "plugin resource 42 table nil");
	json_decref(res);
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	assert_int_equal((int)json_array_size(vers), before);
	json_decref(vers);

	/* a syntax error in a dry run is a result, not a failure */
	assert_int_equal(policy_test(POLICY_RESOURCE, "return function(\n",
	    17, NULL, 0, rin, &res, &err), 0);
	policyfix_assert_contains(policyfix_res_error(res),
	    "syntax error at line 2");
	json_decref(res);
	/* log lines are bounded */
	assert_int_equal(policy_test(POLICY_RESOURCE, logs, strlen(logs),
	    NULL, 0, rin, &res, &err), 0);
	assert_int_equal(json_array_size(json_object_get(res, "log")),
	    PLUA_LOG_LINES + 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    res, "log"), PLUA_LOG_LINES)), "(400 more log lines dropped)");
	json_decref(res);
	/* bad arguments */
	assert_int_equal(policy_test(POLICY_RESOURCE, NULL, 0, "nope", 0, rin,
	    &res, &err), -1);
	assert_int_equal(policy_test(POLICY_ATTESTATION, NULL, 0,
	    "default_cpu", 42, in, &res, &err), -1);
	json_decref(rin);
	json_decref(in);
}

static void
test_health_and_no_store(void **state)
{
	struct error err = { "" };
	json_t *list = NULL, *in = policyfix_sample_input();
	char *text = NULL;
	size_t len;
	int v[8];

	(void)state;
	assert_int_equal(policy_health(&err), 0);
	policy_shutdown();
	/* without policy_init: the shipped defaults, read-only */
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_int_equal(policy_get(POLICY_ATTESTATION, "default_cpu", 0,
	    &text, &len, &err), 0);
	assert_string_equal(text, policyfix_shipped("default_cpu.lua"));
	free(text);
	assert_int_equal(policy_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);
	assert_int_equal(policyfix_put_resource("return function() end",
	    &err), -1);
	policyfix_assert_contains(err.msg, "no policy store");
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syntax_and_shape_errors,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_restore,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_health_and_no_store, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_doc", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
