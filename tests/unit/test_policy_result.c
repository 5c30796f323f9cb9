/*
 * test_policy_result.c: the checks on what an attestation policy
 * returns: malformed results (claim names, ranges, types, extensions,
 * annotations) and too large ones are errors of the evaluation; a valid
 * result with extensions and annotations converts as documented.
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
	return policyfix_setup(state, "test_policy_result");
}

static void
test_large_results(void **state)
{
	json_t *in = policyfix_sample_input(), *res;

	(void)state;
	res = policyfix_dry_attestation("return function() local t = {} "
	    "for i = 1, 100000 do t['k' .. i] = 1 end "
	    "return {trust_vector = t} end", in);
	policyfix_assert_contains(policyfix_res_error(res),
	    "unknown claim name 'k");
	json_decref(res);
	res = policyfix_dry_attestation(
	    "return function() return {trust_vector = {}, "
	    "annotations = string.rep('x', 2 << 20)} end", in);
	policyfix_assert_contains(policyfix_res_error(res), "larger than");
	json_decref(res);
	res = policyfix_dry_attestation(
	    "return function() local t = {} t.t = t "
	    "return {trust_vector = {}, annotations = t} end", in);
	policyfix_assert_contains(policyfix_res_error(res), "nested deeper");
	json_decref(res);
	res = policyfix_dry_attestation("return function() local t = {} "
	    "for i = 1, 20000 do t[i] = i end "
	    "return {trust_vector = {}, annotations = t} end", in);
	policyfix_assert_contains(policyfix_res_error(res), "more than");
	json_decref(res);
	json_decref(in);
}

static void
test_malformed_results(void **state)
{
	static const struct {
		const char *body;
		const char *reason;
	} cases[] = {
		{ "return {trust_vector = {foo = 3}}",
		  "unknown claim name 'foo'" },
		{ "return {trust_vector = {hardware = 300}}",
		  "outside the AR4SI range" },
		{ "return {trust_vector = {hardware = -129}}",
		  "outside the AR4SI range" },
		{ "return {trust_vector = {hardware = 2.5}}",
		  "expected an integer" },
		{ "return {trust_vector = {hardware = '2'}}",
		  "expected an integer" },
		{ "return 42", "returned a number" },
		{ "return nil", "returned a nil" },
		{ "return {}", "no trust_vector" },
		{ "return {trust_vector = {}, extra = 1}",
		  "unknown field 'extra'" },
		{ "return {trust_vector = {}, extensions = {{name = "
		  "'ear.status', key = 1, value = 2}}}", "reserved" },
		{ "return {trust_vector = {}, extensions = {{name = 'x y', "
		  "key = 1}}}", "printable" },
		{ "return {trust_vector = {}, extensions = {{name = 'x', "
		  "key = 'k'}}}", "32-bit integer" },
		{ "return {trust_vector = {}, extensions = {{name = 'x', "
		  "key = 1, value = type}}}", "cannot be converted" },
		{ "return {trust_vector = {}, annotations = {1, nil, 3}}",
		  "holes" },
		{ "return {trust_vector = {}, annotations = {a = 1, 2}}",
		  "mixes" },
		{ "return {trust_vector = {}, annotations = 0/0}",
		  "not finite" },
		{ "return {trust_vector = {}, annotations = '\\xff'}",
		  "UTF-8" },
	};
	char text[512];
	json_t *in = policyfix_sample_input(), *res;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "return function(input)\n%s\nend",
		    cases[i].body);
		res = policyfix_dry_attestation(text, in);
		if (policyfix_res_error(res) == NULL)
			fail_msg("case %zu (%s) passed", i, cases[i].body);
		if (strstr(policyfix_res_error(res), cases[i].reason) == NULL ||
		    strstr(policyfix_res_error(res),
		    "malformed result") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
			    policyfix_res_error(res), cases[i].reason);
		assert_true(json_is_null(json_object_get(res, "result")));
		json_decref(res);
	}
	/* a valid result with extensions and annotations */
	res = policyfix_dry_attestation(
	    "return function(input) return {trust_vector = "
	    "{hardware = 2, executables = 3.0, ['sourced-data'] = -1}, "
	    "extensions = {{name = 'ear.x', key = -70000, value = "
	    "{list = {1, trustee.null, 'a'}, empty = {}}}}, annotations = "
	    "{why = 'ok'}} end", in);
	assert_null(policyfix_res_error(res));
	assert_string_equal(json_string_value(json_object_get(res, "status")),
	    "affirming");
	{
		json_t *want = testutil_json("{\"ear.x\": {\"list\": [1, null, \"a\"], "
		    "\"empty\": {}}, \"ear.trustee.annotations\": {\"why\": "
		    "\"ok\"}}");

		assert_true(json_equal(json_object_get(res, "extensions"),
		    want));
		json_decref(want);
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    res, "result"), "sourced-data")), -1);
	json_decref(res);
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_large_results, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_results, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_result", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
