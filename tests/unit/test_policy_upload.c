/*
 * test_policy_upload.c: the upload check: a policy is run on the
 * built-in sample inputs before it is stored (refused when it fails on
 * every input or overruns its budget on any; stored with a warning when
 * it fails on some), and those sample inputs have the shape of the
 * claims the verifiers emit today.
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

#include "../../verifier/verifier.h"
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
	return policyfix_setup(state, "test_policy_upload");
}

static json_t *
embedded_json(const char *path)
{
	const unsigned char *t;
	size_t len;
	json_t *j;

	t = embedded_get(path, &len);
	if (t == NULL)
		fail_msg("%s is not embedded", path);
	j = json_loadb((const char *)t, len, 0, NULL);
	if (j == NULL)
		fail_msg("%s is not JSON", path);
	return j;
}

/* The sample inputs are the claims the verifiers emit today: same names,
 * same types (a renamed claim makes the check stale, and this fails). */
static void
assert_same_shape(const char *what, const json_t *sample, const json_t *real)
{
	const char *k;
	json_t *v;

	if (json_object_size(sample) != json_object_size(real))
		fail_msg("%s: %zu claims in the sample input, %zu from the "
		    "verifier", what, json_object_size(sample),
		    json_object_size(real));
	json_object_foreach((json_t *)real, k, v) {
		json_t *s = json_object_get(sample, k);

		if (s == NULL)
			fail_msg("%s: claim %s missing from the sample input",
			    what, k);
		if (json_typeof(s) != json_typeof(v) &&
		    !(json_is_boolean(s) && json_is_boolean(v)))
			fail_msg("%s: claim %s has another type", what, k);
	}
}

static void
test_upload_inputs_current(void **state)
{
	struct error err = { "" };
	json_t *ev, *claims = NULL, *in, *chain, *ent, *bytes;
	uint8_t *report, *vek;
	size_t rlen, vlen, i;

	(void)state;
	/* SNP: the Milan vector with its VCEK in the evidence */
	report = testutil_vec_read("snp-milan-vcek/report.bin", &rlen);
	vek = testutil_vec_read("snp-milan-vcek/vcek.der", &vlen);
	if (verifier_snp.wrap_raw(report, rlen, &ev, &err) != 0)
		fail_msg("wrap_raw: %s", err.msg);
	bytes = json_array();
	for (i = 0; i < vlen; i++)
		json_array_append_new(bytes, json_integer(vek[i]));
	ent = json_pack("{s:s, s:o}", "cert_type", "VCEK", "data", bytes);
	chain = json_pack("[o]", ent);
	json_object_set_new(ev, "cert_chain", chain);
	if (testutil_run_verifier(&verifier_snp, ev, NULL, 0, NULL, 0,
	    INT64_C(1767225600), &claims, &err) != 0)
		fail_msg("snp: %s", err.msg);
	json_object_del(claims, "report_data");
	json_object_del(claims, "init_data");
	in = embedded_json("lua-policies/inputs/attestation-cpu-snp.json");
	assert_same_shape("snp", json_object_get(in, "snp"), claims);
	assert_true(json_equal(json_object_get(in, "snp"), claims));
	json_decref(in);
	json_decref(claims);
	json_decref(ev);
	free(report);
	free(vek);

	/* TPM: the RSA quote vector */
	report = testutil_vec_read("tpm-quote-rsa/evidence.json", &rlen);
	ev = json_loadb((const char *)report, rlen, 0, NULL);
	assert_non_null(ev);
	if (testutil_run_verifier(&verifier_tpm, ev, NULL, 0, NULL, 0,
	    INT64_C(1767225600), &claims, &err) != 0)
		fail_msg("tpm: %s", err.msg);
	json_object_del(claims, "report_data");
	json_object_del(claims, "init_data");
	in = embedded_json("lua-policies/inputs/attestation-cpu-tpm.json");
	assert_same_shape("tpm", json_object_get(in, "tpm"), claims);
	json_decref(in);
	json_decref(claims);
	json_decref(ev);
	free(report);
}

static int
put_checked(enum policy_kind kind, const char *id, const char *text,
    json_t *warnings, struct error *err)
{
	int v = 0;

	return policy_put(kind, id, text, strlen(text), "test", &v, warnings,
	    err);
}

static void
test_upload_check(void **state)
{
	static const char *const shipped_attestation[] = { "default_cpu.lua",
	    "default_gpu.lua" };
	static const char *const shipped_resource[] = { "resource_default.lua",
	    "allow_all.lua", "deny_all.lua", "affirming.lua",
	    "example_init_data.lua", "example_per_repository.lua" };
	struct error err = { "" };
	json_t *w = json_array();
	char *before = NULL, *after = NULL;
	size_t len, i;

	(void)state;
	/* every shipped policy passes without a warning */
	for (i = 0; i < ARRAY_SIZE(shipped_attestation); i++) {
		if (put_checked(POLICY_ATTESTATION, "default_cpu",
		    policyfix_shipped(shipped_attestation[i]), w, &err) != 0)
			fail_msg("%s: %s", shipped_attestation[i], err.msg);
		assert_int_equal(json_array_size(w), 0);
	}
	for (i = 0; i < ARRAY_SIZE(shipped_resource); i++) {
		if (put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
		    policyfix_shipped(shipped_resource[i]), w, &err) != 0)
			fail_msg("%s: %s", shipped_resource[i], err.msg);
		assert_int_equal(json_array_size(w), 0);
	}
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 0,
	    &before, &len, &err), 0);

	/* a run-time failure on every input: refused with input and line */
	assert_int_equal(put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return function(claims, request)\n"
	    "  local home = os.getenv('HOME')\n"
	    "  return true, home\nend\n", w, &err), -1);
	policyfix_assert_contains(err.msg,
	    "fails on every built-in sample input");
	policyfix_assert_contains(err.msg,
	    "a request with a sample TEE's token");
	policyfix_assert_contains(err.msg, "error at line 2");
	policyfix_assert_contains(err.msg, "global 'os'");
	assert_int_equal(json_array_size(w), 0);
	assert_int_equal(put_checked(POLICY_ATTESTATION, "default_cpu",
	    "return function(input)\n\n  return {trust_vector = "
	    "{hardware = input.x.y}}\nend\n", w, &err), -1);
	policyfix_assert_contains(err.msg,
	    "a sample TEE's claims: error at line 3");
	/* a malformed result everywhere */
	assert_int_equal(put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return function() return 'yes' end", w, &err), -1);
	policyfix_assert_contains(err.msg, "malformed result");
	/* a budget overrun on any one input */
	assert_int_equal(put_checked(POLICY_ATTESTATION, "default_cpu",
	    "return function(input) if input.tdx then while true do end end "
	    "return {trust_vector = {}} end", w, &err), -1);
	policyfix_assert_contains(err.msg,
	    "exceeds its budget on a TDX guest's claims");
	policyfix_assert_contains(err.msg, "instruction budget exceeded");
	assert_int_equal(put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return function(c, r) local s = ('('):rep(1e5) "
	    "return s:find('%b()') ~= nil, 'x' end", w, &err), -1);
	policyfix_assert_contains(err.msg, "while pattern matching");

	/* nothing of that was stored */
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 0,
	    &after, &len, &err), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* a failure on some inputs only: stored, with a warning each */
	assert_int_equal(put_checked(POLICY_ATTESTATION, "default_cpu",
	    "return function(input)\n  if input.snp then\n"
	    "    return {trust_vector = {hardware = 2}, annotations = "
	    "input.snp.nosuch.x}\n  end\n  return {trust_vector = {}}\nend\n",
	    w, &err), 0);
	assert_int_equal(json_array_size(w), 1);
	policyfix_assert_contains(json_string_value(json_array_get(w, 0)),
	    "fails on an SNP guest's claims");
	policyfix_assert_contains(json_string_value(json_array_get(w, 0)),
	    "error at line 3");
	json_array_clear(w);
	/* gpu policies see the gpu inputs: failing on the sample device
	 * only is a warning, failing on every gpu input a refusal */
	assert_int_equal(put_checked(POLICY_ATTESTATION, "x_gpu",
	    "return function(input) return {trust_vector = "
	    "{hardware = input.nvidia.arch and 2}} end", w, &err), 0);
	assert_int_equal(json_array_size(w), 1);
	policyfix_assert_contains(json_string_value(json_array_get(w, 0)),
	    "fails on a sample device's claims");
	json_array_clear(w);
	assert_int_equal(put_checked(POLICY_ATTESTATION, "y_gpu",
	    "return function(input) return {trust_vector = "
	    "{hardware = input.nosuch.x}} end", w, &err), -1);
	json_decref(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload_inputs_current,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_upload_check, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_upload", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
