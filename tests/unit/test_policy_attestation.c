/*
 * test_policy_attestation.c: the shipped attestation policies
 * (lua-policies/default_cpu.lua, default_gpu.lua) and ear.c's appraisal
 * with them: the trustworthiness vectors per TEE with and without
 * reference values, expired and revoked reference values, the
 * identifiers extension, and a failing policy's refusal.
 *
 * The expected vectors for the sample TEE are the ones
 * reference/attestation-service.md §2 states for Trustee's default
 * policy.
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
	return policyfix_setup(state, "test_policy_attestation");
}

static const char *
status_of(const int v[8])
{
	static const char *const order[] = { "none", "affirming", "warning",
	    "contraindicated" };
	int worst = 0, i, r;

	for (i = 0; i < 8; i++)
		for (r = 0; r < 4; r++)
			if (strcmp(ear_tier(v[i]), order[r]) == 0 && r > worst)
				worst = r;
	return order[worst];
}

static void
assert_vector(const int v[8], int ii, int conf, int exec, int fs, int hw,
    int ro, int so, int sd)
{
	const int want[8] = { ii, conf, exec, fs, hw, ro, so, sd };
	int i;

	for (i = 0; i < 8; i++)
		if (v[i] != want[i])
			fail_msg("claim %s: got %d, want %d",
			    presult_claim_names[i], v[i], want[i]);
}

static void
add_sample_rvs(void)
{
	policyfix_add_rv("svn", "[\"1\"]", 0);
	policyfix_add_rv("launch_digest", "[\"abcde\"]", 0);
	policyfix_add_rv("major_version", "1", 0);
	policyfix_add_rv("minimum_minor_version", "1", 0);
}

static void
test_sample_without_rvs(void **state)
{
	json_t *in = policyfix_sample_input(), *ext = NULL, *id;
	int v[8];

	(void)state;
	policyfix_appraise(in, v, &ext);
	/* reference §2: executables 33, hardware 97, configuration 2 */
	assert_vector(v, 0, 2, 33, 0, 97, 0, 0, 0);
	assert_string_equal(status_of(v), "contraindicated");
	id = json_object_get(ext, "ear.trustee.identifiers");
	assert_non_null(id);
	assert_true(json_is_object(json_object_get(id, "validated")));
	assert_int_equal(json_object_size(json_object_get(id, "validated")), 0);
	json_decref(ext);

	/* debug on: configuration stays "unavailable" */
	json_object_set_new(json_object_get(in, "sample"), "debug",
	    json_true());
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_CONF], 36);
	json_decref(in);
}

static void
test_sample_with_rvs(void **state)
{
	json_t *in = policyfix_sample_input();
	int v[8];

	(void)state;
	add_sample_rvs();
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	assert_string_equal(status_of(v), "affirming");

	/* a different svn is not in the list */
	json_object_set_new(json_object_get(in, "sample"), "svn",
	    json_string("2"));
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_int_equal(v[C_EXEC], 3);
	/* minor 4 below a minimum of 5 */
	json_object_set_new(json_object_get(in, "sample"), "svn",
	    json_string("1"));
	policyfix_add_rv("minimum_minor_version", "5", 0);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	policyfix_add_rv("minimum_minor_version", "4", 0);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 2);
	/* a major version given as a list is not equal to 1 (Rego ==) */
	policyfix_add_rv("major_version", "[1]", 0);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	json_decref(in);
}

static void
test_expired_and_revoked_rvs(void **state)
{
	struct error err = { "" };
	json_t *in = policyfix_sample_input();
	int64_t now = now_unix();
	int v[8];

	(void)state;
	add_sample_rvs();
	policyfix_add_rv("launch_digest", "[\"abcde\"]", now + 3600);
	policyfix_appraise(in, v, NULL);
	assert_string_equal(status_of(v), "affirming");

	/* evaluated two hours later, launch_digest has expired */
	plua_test_clock(now + 7200);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 33);
	assert_string_equal(status_of(v), "warning");
	plua_test_clock(0);
	policyfix_appraise(in, v, NULL);
	assert_string_equal(status_of(v), "affirming");

	/* revoking svn takes the hardware claim back to unrecognized */
	if (rvps_revoke("svn", "test", "compromised", &err) != 0)
		fail_msg("rvps_revoke: %s", err.msg);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_string_equal(status_of(v), "contraindicated");
	json_decref(in);
}

static void
test_other_tees(void **state)
{
	json_t *in;
	int v[8];

	(void)state;
	/* se: whenever present */
	in = testutil_json("{\"se\": {\"cuid\": \"00\"}, \"report_data\": \"\"}");
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_decref(in);

	/* tpm without trusted AK: hardware 2, configuration 0 */
	in = testutil_json("{\"tpm\": {\"ak_public\": \"AK\", \"pcr11\": \"ab\"}}");
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 0, 33, 0, 2, 0, 0, 0);
	policyfix_add_rv("tpm_pcr11", "[\"ab\"]", 0);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 33);
	policyfix_add_rv("trusted_aks", "[\"AK\"]", 0);
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 3);
	json_decref(in);

	/* sgx: no rules, the defaults */
	in = testutil_json("{\"sgx\": {\"body\": {\"mr_enclave\": \"00\"}}}");
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 36, 33, 0, 97, 0, 0, 0);
	json_decref(in);

	/* snp: debug/migrate off without the RVs: configuration 3 */
	in = testutil_json("{\"snp\": {\"measurement\": \"aa\", \"vmpl\": 0, "
	    "\"reported_tcb_bootloader\": 3, \"reported_tcb_microcode\": 209, "
	    "\"reported_tcb_snp\": 20, \"reported_tcb_tee\": 0, "
	    "\"policy_debug_allowed\": false, \"policy_migrate_ma\": false, "
	    "\"platform_smt_enabled\": true, \"platform_tsme_enabled\": false, "
	    "\"policy_abi_major\": 0, \"policy_abi_minor\": 0, "
	    "\"policy_single_socket\": false, \"policy_smt_allowed\": true}}");
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 3, 33, 0, 97, 0, 0, 0);
	policyfix_add_rv("snp_launch_measurement", "[\"aa\"]", 0);
	policyfix_add_rv("snp_bootloader", "[3]", 0);
	policyfix_add_rv("snp_microcode", "[209]", 0);
	policyfix_add_rv("snp_snp_svn", "[20]", 0);
	policyfix_add_rv("snp_tee_svn", "[0]", 0);
	policyfix_add_rv("snp_smt_enabled", "true", 0);
	policyfix_add_rv("snp_tsme_enabled", "false", 0);
	policyfix_add_rv("snp_guest_abi_major", "0", 0);
	policyfix_add_rv("snp_guest_abi_minor", "0", 0);
	policyfix_add_rv("snp_single_socket", "false", 0);
	policyfix_add_rv("snp_smt_allowed", "true", 0);
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_object_set_new(json_object_get(in, "snp"), "policy_debug_allowed",
	    json_true());
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_CONF], 36);

	/* VMPL: 0 only by default, refused otherwise (as Trustee's verifier
	 * does); an SVSM deployment admits its VMPL with RV(snp_vmpl) */
	{
		struct error err = { "" };
		json_t *ext = NULL;

		json_object_set_new(json_object_get(in, "snp"), "vmpl",
		    json_integer(2));
		assert_int_equal(policy_appraise("default", "cpu", in, v, &ext,
		    &err), -1);
		policyfix_assert_contains(err.msg,
		    "the SNP report comes from VMPL 2");
		json_object_del(json_object_get(in, "snp"), "vmpl");
		assert_int_equal(policy_appraise("default", "cpu", in, v, &ext,
		    &err), -1);
		policyfix_assert_contains(err.msg, "VMPL nil");
		policyfix_add_rv("snp_vmpl", "[2, 3]", 0);
		json_object_set_new(json_object_get(in, "snp"), "vmpl",
		    json_integer(2));
		policyfix_appraise(in, v, NULL);
		assert_int_equal(v[C_HW], 2);
		json_object_set_new(json_object_get(in, "snp"), "vmpl",
		    json_integer(0));
		assert_int_equal(policy_appraise("default", "cpu", in, v, &ext,
		    &err), -1);
		policyfix_assert_contains(err.msg, "VMPL 0");
		policyfix_add_rv("snp_vmpl", "0", 0);
		policyfix_appraise(in, v, NULL);
	}
	json_decref(in);

	/* tdx: RTMRs only -> 4; with kernel + cmdline events -> 3 */
	in = testutil_json("{\"tdx\": {\"quote\": {\"header\": {\"tee_type\": "
	    "\"81000000\", \"vendor_id\": \"939a7233f79c4ca9940a0db3957f0607\"},"
	    " \"body\": {\"mr_td\": \"m\", \"rtmr_1\": \"r1\", \"rtmr_2\": "
	    "\"r2\", \"xfam\": \"e7\"}}, \"td_attributes\": {\"debug\": false},"
	    " \"tcb_status\": \"UpToDate\", \"collateral_expiration_status\": "
	    "\"0\", \"uefi_event_logs\": [{\"type_name\": "
	    "\"EV_EFI_BOOT_SERVICES_APPLICATION\", \"details\": "
	    "{\"device_paths\": [\"PciRoot\", \"File(kernel)\"]}, \"digests\": "
	    "[{\"alg\": \"SHA-384\", \"digest\": \"k\"}]}, {\"type_name\": "
	    "\"EV_EVENT_TAG\", \"details\": {\"string\": "
	    "\"LOADED_IMAGE::LoadOptions\"}, \"digests\": [{\"alg\": "
	    "\"SHA-384\", \"digest\": \"p\"}]}]}}");
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 36, 33, 0, 97, 0, 0, 0);
	policyfix_add_rv("rtmr_1", "[\"r1\"]", 0);
	policyfix_add_rv("rtmr_2", "[\"r2\"]", 0);
	policyfix_add_rv("mr_td", "[\"m\"]", 0);
	policyfix_add_rv("xfam", "[\"e7\"]", 0);
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 2, 4, 0, 2, 0, 0, 0);
	policyfix_add_rv("tdvfkernel", "\"k\"", 0);
	policyfix_add_rv("tdvfkernelparams", "\"p\"", 0);
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_object_set_new(json_object_get(in, "tdx"), "tcb_status",
	    json_string("OutOfDate"));
	policyfix_appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	json_decref(in);

	/* az-snp-vtpm: string claims, nested tpm PCRs */
	in = testutil_json("{\"az-snp-vtpm\": {\"measurement\": \"bWVhcw==\", "
	    "\"vmpl\": \"0\", "
	    "\"tpm\": {\"pcr11\": \"p11\"}, \"reported_tcb_bootloader\": \"3\","
	    " \"reported_tcb_microcode\": \"209\", \"reported_tcb_snp\": "
	    "\"20\", \"reported_tcb_tee\": \"0\"}}");
	policyfix_add_rv("measurement", "[\"bWVhcw==\"]", 0);
	policyfix_add_rv("snp_pcr11", "[\"p11\"]", 0);
	policyfix_add_rv("tcb_bootloader", "[\"3\"]", 0);
	policyfix_add_rv("tcb_microcode", "[\"209\"]", 0);
	policyfix_add_rv("tcb_snp", "[\"20\"]", 0);
	policyfix_add_rv("tcb_tee", "[\"0\"]", 0);
	policyfix_appraise(in, v, NULL);
	assert_vector(v, 0, 36, 3, 0, 2, 0, 0, 0);
	json_decref(in);
}

static void
test_identifiers_extension(void **state)
{
	json_t *in = policyfix_sample_input(), *ext = NULL, *val;

	(void)state;
	json_object_set_new(in, "init_data", json_string("abc"));
	json_object_set_new(in, "init_data_claims", testutil_json("{"
	    "\"agent_policy_claims\": {\"containers\": ["
	    "{\"OCI\": {\"Annotations\": {\"io.kubernetes.cri.image-name\": "
	    "\"registry/b:1\"}, \"Process\": {\"User\": {\"UID\": 1000}}}},"
	    "{\"OCI\": {\"Annotations\": {\"io.kubernetes.cri.image-name\": "
	    "\"registry/a:1\"}, \"Process\": {\"User\": {\"UID\": 0}}}},"
	    "{\"OCI\": {\"Annotations\": {\"io.kubernetes.cri.image-name\": "
	    "\"registry/a:1\"}}}]}}"));
	policyfix_appraise(in, (int[8]){ 0 }, &ext);
	val = json_object_get(json_object_get(ext, "ear.trustee.identifiers"),
	    "validated");
	{
		json_t *want = testutil_json("[0, 1000, \"registry/a:1\", "
		    "\"registry/b:1\"]");

		if (!json_equal(val, want)) {
			char *s = json_dumps(val, 0);

			fail_msg("identifiers: %s", s);
		}
		json_decref(want);
	}
	json_decref(ext);
	json_decref(in);
}

static void
test_default_gpu(void **state)
{
	struct error err = { "" };
	json_t *in, *ext = NULL;
	int v[8];

	(void)state;
	in = testutil_json("{\"sampledevice\": {\"svn\": \"1\"}}");
	if (policy_appraise("default", "gpu", in, v, &ext, &err) != 0)
		fail_msg("default_gpu: %s", err.msg);
	assert_vector(v, 0, 36, 33, 0, 97, 0, 0, 0);
	json_decref(ext);
	/* svn in RV(device_svn): hardware 2 (docs/devices.md) */
	policyfix_add_rv("device_svn", "[\"1\"]", 0);
	if (policy_appraise("default", "gpu", in, v, &ext, &err) != 0)
		fail_msg("default_gpu: %s", err.msg);
	assert_vector(v, 0, 36, 33, 0, 2, 0, 0, 0);
	json_decref(ext);
	json_decref(in);

	in = testutil_json("{\"nvidia\": {\"x-nvidia-overall-att-result\": true, "
	    "\"x-nvidia-gpu-vbios-version\": \"96.00\", "
	    "\"x-nvidia-gpu-driver-version\": \"550.1\"}}");
	policyfix_add_rv("allowed_vbios_versions", "[\"96.00\"]", 0);
	policyfix_add_rv("allowed_driver_versions", "[\"550.1\"]", 0);
	if (policy_appraise("default", "gpu", in, v, &ext, &err) != 0)
		fail_msg("default_gpu: %s", err.msg);
	assert_vector(v, 0, 2, 2, 0, 2, 0, 0, 0);
	json_decref(ext);
	json_object_set_new(json_object_get(in, "nvidia"),
	    "x-nvidia-overall-att-result", json_false());
	if (policy_appraise("default", "gpu", in, v, &ext, &err) != 0)
		fail_msg("default_gpu: %s", err.msg);
	assert_int_equal(v[C_HW], 97);
	json_decref(ext);
	json_decref(in);

	/* no policy for an unknown class: an error that names it */
	in = testutil_json("{}");
	assert_int_equal(policy_appraise("default", "dcu", in, v, &ext, &err),
	    -1);
	policyfix_assert_contains(err.msg, "default_dcu");
	json_decref(in);
}

static void
test_ear_appraisal(void **state)
{
	struct error err = { "" };
	json_t *claims, *rdc, *app;
	const char *bad = "return function(input) if input.sample then "
	    "error('refused: ' .. input.sample.svn) end return "
	    "{trust_vector = {}} end";
	int ver;

	(void)state;
	claims = testutil_json("{\"svn\": \"1\", \"report_data\": \"AAAA\", "
	    "\"launch_digest\": \"abcde\", \"platform_version\": {\"major\": 1,"
	    " \"minor\": 4}, \"debug\": false}");
	rdc = testutil_json("{\"nonce\": \"n\", \"tee-pubkey\": {}}");
	app = ear_appraisal("sample", claims, rdc, NULL, NULL, &err);
	if (app == NULL)
		fail_msg("ear_appraisal: %s", err.msg);
	assert_string_equal(json_string_value(json_object_get(app,
	    "ear.status")), "contraindicated");
	assert_string_equal(json_string_value(json_object_get(app,
	    "ear.appraisal-policy-id")), "default");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    app, "ear.trustworthiness-vector"), "hardware")), 97);
	assert_non_null(json_object_get(app, "ear.trustee.identifiers"));
	assert_non_null(json_object_get(json_object_get(app,
	    "ear.veraison.annotated-evidence"), "sample"));
	json_decref(app);

	/* a failing attestation policy refuses with its reason */
	if (policy_put(POLICY_ATTESTATION, "default_cpu", bad, strlen(bad),
	    "test", &ver, NULL, &err) != 0)
		fail_msg("policy_put: %s", err.msg);
	claims = testutil_json("{\"svn\": \"7\"}");
	app = ear_appraisal("sample", claims, rdc, NULL, "default", &err);
	assert_null(app);
	policyfix_assert_contains(err.msg, "default_cpu");
	policyfix_assert_contains(err.msg, "error at line 1");
	policyfix_assert_contains(err.msg, "refused: 7");
	json_decref(rdc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sample_without_rvs, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_sample_with_rvs, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_expired_and_revoked_rvs,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_other_tees, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_identifiers_extension,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_default_gpu, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_ear_appraisal, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_attestation", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
