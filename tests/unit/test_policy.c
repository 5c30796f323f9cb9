/*
 * test_policy.c: the Lua policy engine (server/policy*.c), the shipped
 * policies (lua-policies/), ear.c's use of them, and the sandbox.
 *
 * Each test runs against a fresh encrypted SQLite store with the RVPS on
 * it, as trusteed does. The expected vectors for the sample TEE are the
 * ones reference/attestation-service.md §2 states for Trustee's default
 * policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../verifier/verifier.h"
#include "../../lib/embedded.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/policy.h"
#include "../../server/policy_internal.h"
#include "../../server/trusteed.h"
#include "testutil.h"

enum { C_II, C_CONF, C_EXEC, C_FS, C_HW, C_RO, C_SO, C_SD };

struct fixture {
	char dir[64];
	char db[128];
	struct store *st;
	struct config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = { "" };

	assert_non_null(f);
	f->st = testutil_store_new("test_policy", f->dir, sizeof(f->dir),
	    f->db, sizeof(f->db));
	config_defaults(&f->cfg);
	if (rvps_init(f->st, &err) != 0)
		fail_msg("rvps_init: %s", err.msg);
	if (policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	plua_test_clock(0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	plua_test_clock(0);
	policy_shutdown();
	rvps_shutdown();
	config_free(&f->cfg);
	testutil_store_free(f->st, f->dir, f->db);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

/* The transformed claims of a sample attestation (reference §2). */
static json_t *
sample_input(void)
{
	return testutil_json("{\"sample\": {\"svn\": \"1\", \"launch_digest\": "
	    "\"abcde\", \"platform_version\": {\"major\": 1, \"minor\": 4}, "
	    "\"debug\": false}, \"report_data\": \"AAAA\", "
	    "\"runtime_data_claims\": {\"nonce\": \"n\"}}");
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

/* Appraise input with default_cpu; fails the test on a policy error. */
static void
appraise(const json_t *input, int v[8], json_t **ext)
{
	struct error err = { "" };
	json_t *e = NULL;

	if (policy_appraise("default", "cpu", input, v, &e, &err) != 0)
		fail_msg("policy_appraise: %s", err.msg);
	if (ext != NULL)
		*ext = e;
	else
		json_decref(e);
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
add_rv(const char *name, const char *value_json, int64_t expiration)
{
	struct error err = { "" };
	json_t *v = testutil_json(value_json);

	if (rvps_add(name, v, expiration, "test", NULL, &err) != 0) {
		json_decref(v);
		fail_msg("rvps_add %s (is the RVPS still the placeholder?): %s",
		    name, err.msg);
	}
	json_decref(v);
}

static void
add_sample_rvs(void)
{
	add_rv("svn", "[\"1\"]", 0);
	add_rv("launch_digest", "[\"abcde\"]", 0);
	add_rv("major_version", "1", 0);
	add_rv("minimum_minor_version", "1", 0);
}

/* A token's claims with one cpu0 appraisal of tee with status. */
static json_t *
claims_for(const char *tee, const char *status, int hw)
{
	return json_pack("{s:{s:{s:s, s:{s:i, s:i, s:i}, s:{s:{}}}}}",
	    "submods", "cpu0", "ear.status", status,
	    "ear.trustworthiness-vector", "hardware", hw, "executables", 3,
	    "configuration", 2, "ear.veraison.annotated-evidence", tee);
}

static json_t *
request_for(const char *plugin)
{
	return json_pack("{s:s, s:[sss], s:{}, s:s}", "plugin", plugin,
	    "resource-path", "repo", "type", "tag", "query", "method", "GET");
}

/* Decide with the stored resource policy; returns allowed (-1 = the
 * policy failed) and copies the reason. */
static int
decide(const json_t *claims, const json_t *req, char reason[POLICY_REASON_MAX])
{
	struct error err = { "" };
	int allowed = 0;

	if (policy_resource(claims, req, &allowed, reason, &err) != 0) {
		assert_string_equal(reason, err.msg);
		return -1;
	}
	return allowed;
}

static int
put_resource(const char *text, struct error *err)
{
	int v = 0;

	return policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID, text,
	    strlen(text), "test", &v, NULL, err);
}

static void
put_resource_ok(const char *text)
{
	struct error err = { "" };

	if (put_resource(text, &err) != 0)
		fail_msg("policy_put: %s", err.msg);
}

static const char *
shipped(const char *name)
{
	char path[128];
	size_t len;
	const unsigned char *t;

	snprintf(path, sizeof(path), "lua-policies/%s", name);
	t = embedded_get(path, &len);
	if (t == NULL)
		fail_msg("%s is not embedded", path);
	return (const char *)t;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* policy_test of an attestation policy text; returns the result object. */
static json_t *
dry_attestation(const char *text, const json_t *input)
{
	struct error err = { "" };
	json_t *res = NULL;

	if (policy_test(POLICY_ATTESTATION, text, strlen(text), NULL, 0, input,
	    &res, &err) != 0)
		fail_msg("policy_test: %s", err.msg);
	return res;
}

static const char *
res_error(const json_t *res)
{
	return json_string_value(json_object_get(res, "error"));
}

/* ---------------------------------------------------- default_cpu: sample */

static void
test_sample_without_rvs(void **state)
{
	json_t *in = sample_input(), *ext = NULL, *id;
	int v[8];

	(void)state;
	appraise(in, v, &ext);
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
	appraise(in, v, NULL);
	assert_int_equal(v[C_CONF], 36);
	json_decref(in);
}

static void
test_sample_with_rvs(void **state)
{
	json_t *in = sample_input();
	int v[8];

	(void)state;
	add_sample_rvs();
	appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	assert_string_equal(status_of(v), "affirming");

	/* a different svn is not in the list */
	json_object_set_new(json_object_get(in, "sample"), "svn",
	    json_string("2"));
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_int_equal(v[C_EXEC], 3);
	/* minor 4 below a minimum of 5 */
	json_object_set_new(json_object_get(in, "sample"), "svn",
	    json_string("1"));
	add_rv("minimum_minor_version", "5", 0);
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	add_rv("minimum_minor_version", "4", 0);
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 2);
	/* a major version given as a list is not equal to 1 (Rego ==) */
	add_rv("major_version", "[1]", 0);
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	json_decref(in);
}

static void
test_expired_and_revoked_rvs(void **state)
{
	struct error err = { "" };
	json_t *in = sample_input();
	int64_t now = now_unix();
	int v[8];

	(void)state;
	add_sample_rvs();
	add_rv("launch_digest", "[\"abcde\"]", now + 3600);
	appraise(in, v, NULL);
	assert_string_equal(status_of(v), "affirming");

	/* evaluated two hours later, launch_digest has expired */
	plua_test_clock(now + 7200);
	appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 33);
	assert_string_equal(status_of(v), "warning");
	plua_test_clock(0);
	appraise(in, v, NULL);
	assert_string_equal(status_of(v), "affirming");

	/* revoking svn takes the hardware claim back to unrecognized */
	if (rvps_revoke("svn", "test", "compromised", &err) != 0)
		fail_msg("rvps_revoke: %s", err.msg);
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_string_equal(status_of(v), "contraindicated");
	json_decref(in);
}

/* ------------------------------------------ default_cpu: other TEEs */

static void
test_other_tees(void **state)
{
	json_t *in;
	int v[8];

	(void)state;
	/* se: whenever present */
	in = testutil_json("{\"se\": {\"cuid\": \"00\"}, \"report_data\": \"\"}");
	appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_decref(in);

	/* tpm without trusted AK: hardware 2, configuration 0 */
	in = testutil_json("{\"tpm\": {\"ak_public\": \"AK\", \"pcr11\": \"ab\"}}");
	appraise(in, v, NULL);
	assert_vector(v, 0, 0, 33, 0, 2, 0, 0, 0);
	add_rv("tpm_pcr11", "[\"ab\"]", 0);
	appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 33);
	add_rv("trusted_aks", "[\"AK\"]", 0);
	appraise(in, v, NULL);
	assert_int_equal(v[C_EXEC], 3);
	json_decref(in);

	/* sgx: no rules, the defaults */
	in = testutil_json("{\"sgx\": {\"body\": {\"mr_enclave\": \"00\"}}}");
	appraise(in, v, NULL);
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
	appraise(in, v, NULL);
	assert_vector(v, 0, 3, 33, 0, 97, 0, 0, 0);
	add_rv("snp_launch_measurement", "[\"aa\"]", 0);
	add_rv("snp_bootloader", "[3]", 0);
	add_rv("snp_microcode", "[209]", 0);
	add_rv("snp_snp_svn", "[20]", 0);
	add_rv("snp_tee_svn", "[0]", 0);
	add_rv("snp_smt_enabled", "true", 0);
	add_rv("snp_tsme_enabled", "false", 0);
	add_rv("snp_guest_abi_major", "0", 0);
	add_rv("snp_guest_abi_minor", "0", 0);
	add_rv("snp_single_socket", "false", 0);
	add_rv("snp_smt_allowed", "true", 0);
	appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_object_set_new(json_object_get(in, "snp"), "policy_debug_allowed",
	    json_true());
	appraise(in, v, NULL);
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
		assert_contains(err.msg, "the SNP report comes from VMPL 2");
		json_object_del(json_object_get(in, "snp"), "vmpl");
		assert_int_equal(policy_appraise("default", "cpu", in, v, &ext,
		    &err), -1);
		assert_contains(err.msg, "VMPL nil");
		add_rv("snp_vmpl", "[2, 3]", 0);
		json_object_set_new(json_object_get(in, "snp"), "vmpl",
		    json_integer(2));
		appraise(in, v, NULL);
		assert_int_equal(v[C_HW], 2);
		json_object_set_new(json_object_get(in, "snp"), "vmpl",
		    json_integer(0));
		assert_int_equal(policy_appraise("default", "cpu", in, v, &ext,
		    &err), -1);
		assert_contains(err.msg, "VMPL 0");
		add_rv("snp_vmpl", "0", 0);
		appraise(in, v, NULL);
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
	appraise(in, v, NULL);
	assert_vector(v, 0, 36, 33, 0, 97, 0, 0, 0);
	add_rv("rtmr_1", "[\"r1\"]", 0);
	add_rv("rtmr_2", "[\"r2\"]", 0);
	add_rv("mr_td", "[\"m\"]", 0);
	add_rv("xfam", "[\"e7\"]", 0);
	appraise(in, v, NULL);
	assert_vector(v, 0, 2, 4, 0, 2, 0, 0, 0);
	add_rv("tdvfkernel", "\"k\"", 0);
	add_rv("tdvfkernelparams", "\"p\"", 0);
	appraise(in, v, NULL);
	assert_vector(v, 0, 2, 3, 0, 2, 0, 0, 0);
	json_object_set_new(json_object_get(in, "tdx"), "tcb_status",
	    json_string("OutOfDate"));
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	json_decref(in);

	/* az-snp-vtpm: string claims, nested tpm PCRs */
	in = testutil_json("{\"az-snp-vtpm\": {\"measurement\": \"bWVhcw==\", "
	    "\"vmpl\": \"0\", "
	    "\"tpm\": {\"pcr11\": \"p11\"}, \"reported_tcb_bootloader\": \"3\","
	    " \"reported_tcb_microcode\": \"209\", \"reported_tcb_snp\": "
	    "\"20\", \"reported_tcb_tee\": \"0\"}}");
	add_rv("measurement", "[\"bWVhcw==\"]", 0);
	add_rv("snp_pcr11", "[\"p11\"]", 0);
	add_rv("tcb_bootloader", "[\"3\"]", 0);
	add_rv("tcb_microcode", "[\"209\"]", 0);
	add_rv("tcb_snp", "[\"20\"]", 0);
	add_rv("tcb_tee", "[\"0\"]", 0);
	appraise(in, v, NULL);
	assert_vector(v, 0, 36, 3, 0, 2, 0, 0, 0);
	json_decref(in);
}

static void
test_identifiers_extension(void **state)
{
	json_t *in = sample_input(), *ext = NULL, *val;

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
	appraise(in, (int[8]){ 0 }, &ext);
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
	add_rv("device_svn", "[\"1\"]", 0);
	if (policy_appraise("default", "gpu", in, v, &ext, &err) != 0)
		fail_msg("default_gpu: %s", err.msg);
	assert_vector(v, 0, 36, 33, 0, 2, 0, 0, 0);
	json_decref(ext);
	json_decref(in);

	in = testutil_json("{\"nvidia\": {\"x-nvidia-overall-att-result\": true, "
	    "\"x-nvidia-gpu-vbios-version\": \"96.00\", "
	    "\"x-nvidia-gpu-driver-version\": \"550.1\"}}");
	add_rv("allowed_vbios_versions", "[\"96.00\"]", 0);
	add_rv("allowed_driver_versions", "[\"550.1\"]", 0);
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
	assert_contains(err.msg, "default_dcu");
	json_decref(in);
}

/* ----------------------------------------------------------- ear.c */

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
	assert_contains(err.msg, "default_cpu");
	assert_contains(err.msg, "error at line 1");
	assert_contains(err.msg, "refused: 7");
	json_decref(rdc);
}

/* ------------------------------------------------------ resource policy */

static void
test_resource_default(void **state)
{
	char reason[POLICY_REASON_MAX];
	json_t *req = request_for("resource"), *c;

	(void)state;
	c = claims_for("snp", "affirming", 2);
	assert_int_equal(decide(c, req, reason), 1);
	assert_contains(reason, "cpu0 affirming");
	json_decref(c);

	c = claims_for("tdx", "warning", 2);
	assert_int_equal(decide(c, req, reason), 1);
	json_decref(c);

	c = claims_for("sample", "affirming", 2);
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "sample TEE");
	json_decref(c);

	c = claims_for("snp", "contraindicated", 97);
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "contraindicated (hardware 97)");
	json_decref(c);

	c = claims_for("snp", "none", 0);
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "affirming or warning is required");
	json_decref(c);

	c = testutil_json("{\"submods\": {}}");
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "no appraisal");
	json_decref(c);

	c = claims_for("snp", "affirming", 2);
	json_decref(req);
	req = request_for("nebula-ca");
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "only the resource plugin");
	json_decref(req);
	json_decref(c);
}

static void
test_resource_shipped_variants(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char reason[POLICY_REASON_MAX];
	json_t *req = request_for("resource"), *other = request_for("x");
	json_t *c = claims_for("sample", "contraindicated", 97);

	put_resource_ok(shipped("allow_all.lua"));
	assert_int_equal(decide(c, req, reason), 1);
	assert_int_equal(decide(c, other, reason), 0);

	put_resource_ok(shipped("deny_all.lua"));
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "deny_all");

	put_resource_ok(shipped("affirming.lua"));
	assert_int_equal(decide(c, req, reason), 0);
	json_decref(c);
	c = claims_for("snp", "affirming", 2);
	assert_int_equal(decide(c, req, reason), 1);

	/* the examples compile and decide */
	put_resource_ok(shipped("example_per_repository.lua"));
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "no rule for repository repo");
	put_resource_ok(shipped("example_init_data.lua"));
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "init-data digest");

	/* the [policy] resource key picks the seed; a stored one wins */
	policy_shutdown();
	f->cfg.resource_policy = RPOLICY_DENY_ALL;
	if (policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "init-data");	/* still the stored one */
	json_decref(c);
	json_decref(req);
	json_decref(other);
}

static void
test_resource_seed_modes(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char reason[POLICY_REASON_MAX];
	json_t *req = request_for("resource");
	json_t *c = claims_for("sample", "contraindicated", 97);
	char db2[160];
	struct store *st2;
	uint8_t key[32] = { 1 };

	/* a fresh store seeded with allow_all (what --dev asks for) */
	policy_shutdown();
	snprintf(db2, sizeof(db2), "%s/second.db", f->dir);
	st2 = store_open_key(&store_backend_sqlite, db2, key, &err);
	assert_non_null(st2);
	f->cfg.resource_policy = RPOLICY_ALLOW_ALL;
	if (policy_init(st2, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(decide(c, req, reason), 1);
	assert_contains(reason, "allow_all");
	policy_shutdown();
	store_close(st2);
	unlink(db2);
	/* no store at all: the shipped defaults */
	f->cfg.resource_policy = RPOLICY_DEFAULT;
	if (policy_init(NULL, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(decide(c, req, reason), 0);
	assert_contains(reason, "sample TEE");
	policy_shutdown();
	if (policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	json_decref(c);
	json_decref(req);
}

/* ------------------------------------------------------------- sandbox */

struct escape {
	const char *name;
	const char *body;	/* inside function(claims, request) */
	const char *reason;	/* expected in the denial */
	const char *alt;	/* or this */
};

static const struct escape escapes[] = {
	{ "io.open", "local f = io.open('/etc/passwd') return true, f:read()",
	  "global 'io'", NULL },
	{ "os.execute", "os.execute('id') return true, 'escaped'",
	  "global 'os'", NULL },
	{ "require", "local os = require('os') return true, 'escaped'",
	  "global 'require'", NULL },
	{ "package", "return true, package.path", "global 'package'", NULL },
	{ "load bytecode", "local f = load(string.dump(function() end)) "
	  "return true, 'escaped'", "global 'load'", "field 'dump'" },
	{ "string.dump gone", "if string.dump == nil and ('').dump == nil "
	  "then error('no dump') end return true, 'escaped'", "no dump", NULL },
	{ "loadstring/dofile", "return true, dofile('/etc/passwd') or "
	  "loadstring('x')", "global 'dofile'", NULL },
	{ "debug", "return true, debug.getregistry()", "global 'debug'",
	  NULL },
	{ "collectgarbage", "collectgarbage('stop') return true, 'x'",
	  "global 'collectgarbage'", NULL },
	{ "print", "print('x') return true, 'x'", "global 'print'", NULL },
	{ "coroutine", "return true, coroutine.create(print)",
	  "global 'coroutine'", NULL },
	{ "string.rep bomb", "local s = string.rep('x', 1 << 30) "
	  "return true, s", "instruction budget exceeded", "memory limit" },
	{ "string.rep 64 MiB", "local s = string.rep('x', 64 << 20) "
	  "return true, #s", "memory limit exceeded", NULL },
	{ "string.rep of nothing", "local s = string.rep('', 1 << 60) "
	  "return true, s", "per evaluation) while string.rep",
	  NULL },
	{ "__len shifting", "local t = setmetatable({}, {__len = function() "
	  "return 1 << 50 end}) table.insert(t, 1, 'x') return true, 'x'",
	  "per evaluation) while shifting", NULL },
	{ "long string compares", "local a = string.rep('x', 4 << 20) "
	  "local b = a:sub(1) while true do local c = a == b end",
	  "time limit exceeded", "instruction budget exceeded" },
	{ "doubling", "local s = 'x' while true do s = s .. s end",
	  "memory limit exceeded", "instruction budget" },
	{ "string.format bomb", "local s = string.format('%099999999d', 1) "
	  "return true, s", "invalid conversion", "too long" },
	{ "string.format %p", "return false, string.format('%p', {})",
	  "%p", NULL },
	{ "deep recursion", "local function f(n) return 1 + f(n + 1) end "
	  "return true, f(1)", "stack overflow", "memory limit" },
	{ "C stack recursion", "local t = setmetatable({}, {__index = "
	  "function(t, k) return t[k] end}) return true, t.x",
	  "stack overflow", NULL },
	{ "infinite loop", "while true do end", "instruction budget exceeded",
	  NULL },
	{ "pcall loop", "while true do pcall(function() while true do end "
	  "end) end", "instruction budget exceeded", NULL },
	{ "pcall memory", "local ok = pcall(string.rep, 'x', 64 << 20) "
	  "while true do end", "instruction budget exceeded", NULL },
	{ "exponential pattern", "return true, tostring(string.find("
	  "string.rep('a', 40), 'a*a*a*a*a*a*a*a*a*b'))",
	  "per evaluation) while pattern matching", NULL },
	{ "table.insert shifting", "local t = {} for i = 1, 100000 do "
	  "t[i] = i end for i = 1, 1e9 do table.insert(t, 1, i) end",
	  "instruction budget exceeded", NULL },
	{ "concat copying", "local s = string.rep('x', 4 << 20) "
	  "for i = 1, 1e9 do local y = s .. i end",
	  "instruction budget exceeded", "memory limit" },
	{ "getmetatable('')", "local mt = getmetatable('') "
	  "if type(mt) == 'table' then mt.__index = {} return true, 'x' end "
	  "error('string metatable is ' .. tostring(mt))",
	  "string metatable is locked", NULL },
	{ "string metatable __index", "getmetatable('').__index.upper = nil "
	  "return true, 'escaped'", "attempt to index", NULL },
	{ "rawset(_G)", "rawset(_G, 'x', 1) return true, 'escaped'",
	  "global 'rawset'", NULL },
	{ "setmetatable(_ENV)", "setmetatable(_ENV, {}) return true, 'x'",
	  "protected metatable", NULL },
	{ "setmetatable(_G)", "setmetatable(_G, {__newindex = rawset}) "
	  "return true, 'x'", "protected metatable", NULL },
	{ "global assignment", "x = 1 return true, 'x'", "cannot assign 'x'",
	  NULL },
	{ "library write", "string.upper = nil return true, 'x'",
	  "cannot assign 'upper'", NULL },
	{ "library via pairs", "for k, v in pairs(string) do end "
	  "local f, s = pairs(string) s.upper = nil return true, 'x'",
	  "cannot assign 'upper'", NULL },
	{ "__gc", "setmetatable({}, {__gc = function() while true do end "
	  "end}) return true, 'x'", "__gc", NULL },
	{ "error object", "error({})", "raised a table", NULL },
	{ "huge result list", "local t = {} for i = 1, 100000 do t[i] = i "
	  "end return table.unpack(t)", "malformed result", NULL },
	{ "non-string reason", "return false, {}", "malformed result", NULL },
	{ "non-boolean", "return 1, 'x'", "malformed result", NULL },
};

static void
test_sandbox_escapes(void **state)
{
	char text[1024], reason[POLICY_REASON_MAX];
	struct policy_stats before, after;
	json_t *req = request_for("resource");
	json_t *good = claims_for("snp", "affirming", 2);
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(escapes); i++) {
		const struct escape *e = &escapes[i];

		/* the guard keeps the upload check's requests (other paths)
		 * away from the body, as a policy may */
		snprintf(text, sizeof(text), "return function(claims, request)"
		    " if request['resource-path'][1] ~= 'repo' then return "
		    "false, 'no' end\n%s\nend\n", e->body);
		put_resource_ok(text);
		r = decide(good, req, reason);
		if (r == 1)
			fail_msg("escape '%s' was allowed: %s", e->name,
			    reason);
		/* a slow (sanitizer) build may meet the wall limit first */
		if (strstr(reason, e->reason) == NULL &&
		    (e->alt == NULL || strstr(reason, e->alt) == NULL) &&
		    !(strstr(e->reason, "budget") != NULL &&
		    strstr(reason, "time limit exceeded") != NULL))
			fail_msg("escape '%s': reason \"%s\" lacks \"%s\"",
			    e->name, reason, e->reason);
		/* the engine keeps working: the default policy allows */
		put_resource_ok(shipped("resource_default.lua"));
		policy_stats(&before);
		r = decide(good, req, reason);
		if (r != 1)
			fail_msg("after '%s': %s", e->name, reason);
		policy_stats(&after);
		assert_int_equal(after.states_created, before.states_created);
	}
	/* the big reason is cut, the address is not shown */
	put_resource_ok("return function() return false, "
	    "tostring({}) .. string.rep('y', 100000) end");
	assert_int_equal(decide(good, req, reason), 0);
	assert_true(strlen(reason) < POLICY_REASON_MAX);
	assert_null(strstr(reason, "0x"));
	assert_contains(reason, "tableyyy");
	json_decref(good);
	json_decref(req);
}

static void
test_large_results(void **state)
{
	json_t *in = sample_input(), *res;

	(void)state;
	res = dry_attestation("return function() local t = {} "
	    "for i = 1, 100000 do t['k' .. i] = 1 end "
	    "return {trust_vector = t} end", in);
	assert_contains(res_error(res), "unknown claim name 'k");
	json_decref(res);
	res = dry_attestation("return function() return {trust_vector = {}, "
	    "annotations = string.rep('x', 2 << 20)} end", in);
	assert_contains(res_error(res), "larger than");
	json_decref(res);
	res = dry_attestation("return function() local t = {} t.t = t "
	    "return {trust_vector = {}, annotations = t} end", in);
	assert_contains(res_error(res), "nested deeper");
	json_decref(res);
	res = dry_attestation("return function() local t = {} "
	    "for i = 1, 20000 do t[i] = i end "
	    "return {trust_vector = {}, annotations = t} end", in);
	assert_contains(res_error(res), "more than");
	json_decref(res);
	json_decref(in);
}

static void
test_budget_discards_state(void **state)
{
	struct policy_stats a, b;
	json_t *in = sample_input(), *res;
	int v[8], i;

	(void)state;
	appraise(in, v, NULL);
	policy_stats(&a);
	for (i = 0; i < 200; i++)
		appraise(in, v, NULL);
	policy_stats(&b);
	/* one state per thread, reused: nothing created per evaluation */
	assert_int_equal(b.states_created, a.states_created);
	assert_int_equal(b.compiles, a.compiles);
	assert_true(b.evaluations >= a.evaluations + 200);

	res = dry_attestation("return function() while true do end end", in);
	assert_contains(res_error(res), "instruction budget");
	json_decref(res);
	policy_stats(&a);
	assert_int_equal(a.discards, b.discards + 1);
	appraise(in, v, NULL);
	policy_stats(&b);
	assert_int_equal(b.states_created, a.states_created + 1);
	json_decref(in);
}

/* A state per thread: other threads get their own and can evaluate
 * concurrently. */
static void *
thread_eval(void *arg)
{
	json_t *in = sample_input();
	int v[8], i, *ok = arg;
	json_t *ext = NULL;
	struct error err;

	*ok = 1;
	for (i = 0; i < 50; i++) {
		if (policy_appraise("default", "cpu", in, v, &ext, &err) != 0 ||
		    v[C_HW] != 97)
			*ok = 0;
		json_decref(ext);
	}
	json_decref(in);
	return NULL;
}

static void
test_threads(void **state)
{
	struct policy_stats a, b;
	pthread_t t[4];
	int ok[4], i;

	(void)state;
	policy_stats(&a);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_eval,
		    &ok[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(ok[i]);
	}
	policy_stats(&b);
	assert_int_equal(b.states_created, a.states_created + 4);
	/* freed at thread exit */
	assert_int_equal(b.states_live, a.states_live);
}

/* --------------------------------------------------- uploads, versions */

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

	assert_int_equal(put_resource("return function(claims, request)\n"
	    "  local x =\nend\n", &err), -1);
	assert_contains(err.msg, "syntax error at line 3");
	assert_int_equal(put_resource("-- comment\nreturn 42\n", &err), -1);
	assert_contains(err.msg, "must return a function");
	assert_int_equal(put_resource("error('at top')\n", &err), -1);
	assert_contains(err.msg, "error at line 1: at top");
	assert_int_equal(put_resource("\x1bLuaT garbage", &err), -1);
	assert_contains(err.msg, "binary chunk");
	assert_int_equal(put_resource("return function() end\xff", &err), -1);
	assert_contains(err.msg, "UTF-8");
	assert_int_equal(policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return\0x", 8, "t", &ver, NULL, &err), -1);
	assert_contains(err.msg, "NUL");
	assert_int_equal(policy_put(POLICY_ATTESTATION, "../etc", "return "
	    "function() end", 21, "t", &ver, NULL, &err), -1);
	assert_contains(err.msg, "invalid attestation policy id");
	assert_int_equal(policy_put(POLICY_RESOURCE, "other", "return "
	    "function() end", 21, "t", &ver, NULL, &err), -1);

	/* nothing stored, the active policy unchanged */
	assert_int_equal(policy_versions(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    &vers, &err), 0);
	assert_int_equal((int)json_array_size(vers), before);
	json_decref(vers);
	assert_int_equal(policy_get(POLICY_RESOURCE, POLICY_RESOURCE_ID, 0,
	    &text, &len, &err), 0);
	assert_string_equal(text, shipped("resource_default.lua"));
	free(text);
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
	json_t *in = sample_input(), *res;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "return function(input)\n%s\nend",
		    cases[i].body);
		res = dry_attestation(text, in);
		if (res_error(res) == NULL)
			fail_msg("case %zu (%s) passed", i, cases[i].body);
		if (strstr(res_error(res), cases[i].reason) == NULL ||
		    strstr(res_error(res), "malformed result") == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
			    res_error(res), cases[i].reason);
		assert_true(json_is_null(json_object_get(res, "result")));
		json_decref(res);
	}
	/* a valid result with extensions and annotations */
	res = dry_attestation("return function(input) return {trust_vector = "
	    "{hardware = 2, executables = 3.0, ['sourced-data'] = -1}, "
	    "extensions = {{name = 'ear.x', key = -70000, value = "
	    "{list = {1, trustee.null, 'a'}, empty = {}}}}, annotations = "
	    "{why = 'ok'}} end", in);
	assert_null(res_error(res));
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

static void
test_versions_and_restore(void **state)
{
	struct error err = { "" };
	const char *v2 = "return function() return false, 'version two' end";
	char reason[POLICY_REASON_MAX], *text = NULL;
	json_t *vers = NULL, *list = NULL, *req = request_for("resource");
	json_t *c = claims_for("snp", "affirming", 2);
	size_t len;
	int ver = 0, nv = 0;

	(void)state;
	assert_int_equal(policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID, v2,
	    strlen(v2), "alice", &ver, NULL, &err), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(decide(c, req, reason), 0);
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
	assert_int_equal(decide(c, req, reason), 1);
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
	json_t *in = sample_input(), *res = NULL, *rin;
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
	assert_contains(json_string_value(json_object_get(res, "reason")),
	    "hardware 97 (contraindicated)");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    res, "result"), "configuration")), 2);
	json_decref(res);

	/* any text; log lines captured; nothing stored */
	rin = json_pack("{s:o, s:o}", "claims", claims_for("snp", "affirming",
	    2), "request", request_for("resource"));
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
	assert_contains(res_error(res), "syntax error at line 2");
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
test_trustee_library(void **state)
{
	json_t *in = sample_input(), *res;
	const char *pol =
	    "local t = trustee\n"
	    "local function check(c, what) if not c then error(what, 2) end end\n"
	    "return function(input)\n"
	    "check(t.hex('\\1\\255') == '01ff', 'hex')\n"
	    "check(t.unhex('01FF') == '\\1\\255', 'unhex')\n"
	    "check(t.unhex('0g') == nil, 'unhex bad')\n"
	    "check(t.unhex('abc') == nil, 'unhex odd')\n"
	    "check(t.b64('hi?') == 'aGk/', 'b64')\n"
	    "check(t.b64url('hi?') == 'aGk_', 'b64url')\n"
	    "check(t.unb64('aGk/') == 'hi?', 'unb64 std')\n"
	    "check(t.unb64('aGk_') == 'hi?', 'unb64 url')\n"
	    "check(t.unb64('aGk') == 'hi', 'unb64 nopad')\n"
	    "check(t.unb64('a*') == nil, 'unb64 bad')\n"
	    "check(t.sha256('abc') == 'ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad', 'sha256')\n"
	    "check(#t.sha384('') == 96 and #t.sha512('') == 128, 'sha2')\n"
	    "check(t.parse_time('2025-01-02T03:04:05Z') == 1735787045, 'time')\n"
	    "check(t.parse_time('yesterday') == nil, 'time bad')\n"
	    "check(math.type(t.now()) == 'integer' and t.now() > 1700000000, "
	    "'now')\n"
	    "check(t.contains({'a', 1, {x = 1}}, 1.0), 'contains num')\n"
	    "check(t.contains({'a', {x = {1}}}, {x = {1}}), 'contains deep')\n"
	    "check(not t.contains(nil, 1) and not t.contains('abc', 'a'), "
	    "'contains nonlist')\n"
	    "check(t.equal({1, {a = 'b'}}, {1, {a = 'b'}}), 'equal')\n"
	    "check(not t.equal({1}, {1, 2}), 'not equal')\n"
	    "check(t.rv('nothing here') == nil, 'rv missing')\n"
	    "check(t.rv('svn')[1] == '1', 'rv')\n"
	    "check(tostring(t.null) == 'null', 'null')\n"
	    "check(input.runtime_data_claims.nonce == 'n', 'input')\n"
	    "check(input.sample.platform_version.minor == 4, 'int')\n"
	    "check(math.type(input.sample.platform_version.minor) == "
	    "'integer', 'int type')\n"
	    "check(select('#', string.byte('abc', 1, -1)) == 3, 'select')\n"
	    "check(('x'):rep(3) == 'xxx', 'methods')\n"
	    "check(string.format('%5.2f|%s', 1.5, 'a') == ' 1.50|a', 'fmt')\n"
	    "check(not pcall(t.rv, 42 == 0), 'rv arg')\n"
	    "local n = 0 for k in pairs(t) do n = n + 1 end\n"
	    "check(n >= 15, 'pairs on library')\n"
	    "check(_G.string == string and _VERSION == 'Lua 5.4', 'globals')\n"
	    "return {trust_vector = {hardware = 2}}\n"
	    "end\n";

	(void)state;
	add_rv("svn", "[\"1\"]", 0);
	res = dry_attestation(pol, in);
	if (res_error(res) != NULL)
		fail_msg("%s", res_error(res));
	json_decref(res);
	/* trustee.rv() argument errors carry the line */
	res = dry_attestation("return function()\nreturn trustee.rv(nil)\nend",
	    in);
	assert_contains(res_error(res), "error at line 2: bad argument #1");
	json_decref(res);
	json_decref(in);
}

/* ------------------------------------------------------- upload check */

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
		    shipped(shipped_attestation[i]), w, &err) != 0)
			fail_msg("%s: %s", shipped_attestation[i], err.msg);
		assert_int_equal(json_array_size(w), 0);
	}
	for (i = 0; i < ARRAY_SIZE(shipped_resource); i++) {
		if (put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
		    shipped(shipped_resource[i]), w, &err) != 0)
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
	assert_contains(err.msg, "fails on every built-in sample input");
	assert_contains(err.msg, "a request with a sample TEE's token");
	assert_contains(err.msg, "error at line 2");
	assert_contains(err.msg, "global 'os'");
	assert_int_equal(json_array_size(w), 0);
	assert_int_equal(put_checked(POLICY_ATTESTATION, "default_cpu",
	    "return function(input)\n\n  return {trust_vector = "
	    "{hardware = input.x.y}}\nend\n", w, &err), -1);
	assert_contains(err.msg, "a sample TEE's claims: error at line 3");
	/* a malformed result everywhere */
	assert_int_equal(put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return function() return 'yes' end", w, &err), -1);
	assert_contains(err.msg, "malformed result");
	/* a budget overrun on any one input */
	assert_int_equal(put_checked(POLICY_ATTESTATION, "default_cpu",
	    "return function(input) if input.tdx then while true do end end "
	    "return {trust_vector = {}} end", w, &err), -1);
	assert_contains(err.msg, "exceeds its budget on a TDX guest's claims");
	assert_contains(err.msg, "instruction budget exceeded");
	assert_int_equal(put_checked(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    "return function(c, r) local s = ('('):rep(1e5) "
	    "return s:find('%b()') ~= nil, 'x' end", w, &err), -1);
	assert_contains(err.msg, "while pattern matching");

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
	assert_contains(json_string_value(json_array_get(w, 0)),
	    "fails on an SNP guest's claims");
	assert_contains(json_string_value(json_array_get(w, 0)),
	    "error at line 3");
	json_array_clear(w);
	/* gpu policies see the gpu inputs: failing on the sample device
	 * only is a warning, failing on every gpu input a refusal */
	assert_int_equal(put_checked(POLICY_ATTESTATION, "x_gpu",
	    "return function(input) return {trust_vector = "
	    "{hardware = input.nvidia.arch and 2}} end", w, &err), 0);
	assert_int_equal(json_array_size(w), 1);
	assert_contains(json_string_value(json_array_get(w, 0)),
	    "fails on a sample device's claims");
	json_array_clear(w);
	assert_int_equal(put_checked(POLICY_ATTESTATION, "y_gpu",
	    "return function(input) return {trust_vector = "
	    "{hardware = input.nosuch.x}} end", w, &err), -1);
	json_decref(w);
}

static void
test_health_and_no_store(void **state)
{
	struct error err = { "" };
	json_t *list = NULL, *in = sample_input();
	char *text = NULL;
	size_t len;
	int v[8];

	(void)state;
	assert_int_equal(policy_health(&err), 0);
	policy_shutdown();
	/* without policy_init: the shipped defaults, read-only */
	appraise(in, v, NULL);
	assert_int_equal(v[C_HW], 97);
	assert_int_equal(policy_get(POLICY_ATTESTATION, "default_cpu", 0,
	    &text, &len, &err), 0);
	assert_string_equal(text, shipped("default_cpu.lua"));
	free(text);
	assert_int_equal(policy_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);
	assert_int_equal(put_resource("return function() end", &err), -1);
	assert_contains(err.msg, "no policy store");
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sample_without_rvs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sample_with_rvs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expired_and_revoked_rvs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_tees, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_identifiers_extension,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_gpu, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ear_appraisal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resource_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resource_shipped_variants,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_seed_modes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_escapes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_large_results, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_budget_discards_state,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_and_shape_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_results, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_restore,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trustee_library, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upload_inputs_current,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_health_and_no_store,
		    setup, teardown),
	};

	log_init("test_policy", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
