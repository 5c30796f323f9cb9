/*
 * test_devices.c: the additional (device) evidence of /kbs/v0/attest
 * (server/devices.c) with the real policies and RVPS: parsing the
 * additional_evidence string, binding each device to its own runtime
 * data, submod naming (gpu0, gpu1 after cpu0), the contraindicated
 * appraisal of a device this build cannot verify (ear_unverified), and
 * the default GPU policy's rules for sampledevice and for locally
 * verified NVIDIA claims (lua-policies/default_gpu.lua).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/jcs.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/policy.h"
#include "../../server/trusteed.h"
#include "../../verifier/verifier.h"
#include "testutil.h"

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
	f->st = testutil_store_new("test_devices", f->dir, sizeof(f->dir),
	    f->db, sizeof(f->db));
	config_defaults(&f->cfg);
	if (rvps_init(f->st, &err) != 0 ||
	    policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("init: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	policy_shutdown();
	rvps_shutdown();
	config_free(&f->cfg);
	testutil_store_free(f->st, f->dir, f->db);
	free(f);
	return 0;
}

static void
add_rv(const char *name, const char *value_json)
{
	struct error err = { "" };
	json_t *v = testutil_json(value_json);

	if (rvps_add(name, v, 0, "test", NULL, &err) != 0)
		fail_msg("rvps_add %s: %s", name, err.msg);
	json_decref(v);
}

#define NONCE "q7vT0oXkLhJ3N9m2yZc8Wq1e4R5t6Y7u8I9o0P1a2S3="

static json_t *
tee_pubkey(void)
{
	return testutil_json("{\"alg\": \"ECDH-ES+A256KW\", \"crv\": "
	    "\"P-256\", \"kty\": \"EC\", \"x\": \"AAAA\", \"y\": \"BBBB\"}");
}

/* std base64 of HASH(JCS({"nonce", "tee-pubkey"})) with alg. */
static char *
device_report_data(enum hash_alg alg, const char *nonce)
{
	json_t *tpk = tee_pubkey();
	json_t *rd = json_pack("{s:s, s:o}", "nonce", nonce, "tee-pubkey",
	    tpk);
	uint8_t d[HASH_MAX_SIZE];
	size_t clen, dlen;
	char *c = jcs_serialize(rd, &clen), *b;

	assert_int_equal(hash_digest(alg, c, clen, d, &dlen), 0);
	b = b64_encode(d, dlen, B64_STD);
	free(c);
	json_decref(rd);
	return b;
}

/* Run devices_parse + devices_appraise; returns rc, submods filled. */
static int
appraise(const char *additional, enum hash_alg alg, json_t *submods,
    struct error *err)
{
	json_t *map = NULL, *tpk = tee_pubkey();
	int rc;

	rc = devices_parse(additional, strlen(additional), &map, err);
	if (rc == 0)
		rc = devices_appraise(map, NONCE, tpk, alg, NULL,
		    1780000000, submods, err);
	json_decref(map);
	json_decref(tpk);
	return rc;
}

static const char *
status(const json_t *submods, const char *name)
{
	return json_string_value(json_object_get(json_object_get(submods,
	    name), "ear.status"));
}

static json_int_t
claim(const json_t *submods, const char *name, const char *c)
{
	return json_integer_value(json_object_get(json_object_get(
	    json_object_get(submods, name), "ear.trustworthiness-vector"), c));
}

static void
test_parse(void **state)
{
	static const struct {
		const char *s, *needle;
	} bad[] = {
		{ "{", "not JSON" },
		{ "[1]", "must hold a JSON object" },
		{ "\"x\"", "not JSON" },
		{ "{\"gpu\": {}}", "unknown TEE 'gpu'" },
		{ "{\"nvidia\": {}, \"nvidia\": {}}", "duplicate" },
	};
	struct error err;
	json_t *map = (json_t *)1;
	const char *k;
	json_t *v;
	size_t i = 0;

	(void)state;
	assert_int_equal(devices_parse("", 0, &map, &err), 0);
	assert_null(map);
	assert_int_equal(devices_parse("{}", 2, &map, &err), 0);
	assert_int_equal(json_object_size(map), 0);
	json_decref(map);
	/* the order sent is kept (it names the submods) */
	assert_int_equal(devices_parse("{\"sampledevice\": 1, \"nvidia\": 2, "
	    "\"cca\": 3}", 42, &map, &err), 0);
	json_object_foreach(map, k, v) {
		static const char *const want[] = { "sampledevice", "nvidia",
		    "cca" };

		assert_string_equal(k, want[i++]);
	}
	json_decref(map);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		map = NULL;
		assert_int_equal(devices_parse(bad[i].s, strlen(bad[i].s), &map,
		    &err), -1);
		assert_null(map);
		if (strstr(err.msg, bad[i].needle) == NULL)
			fail_msg("\"%s\": error \"%s\" lacks \"%s\"", bad[i].s,
			    err.msg, bad[i].needle);
	}
}

static void
test_sampledevice_binding(void **state)
{
	struct error err;
	json_t *submods;
	char *rd = device_report_data(HASH_SHA384, NONCE), *add;
	char *rd512 = device_report_data(HASH_SHA512, NONCE);
	char *other = device_report_data(HASH_SHA384, "another nonce");
	const json_t *ae;

	(void)state;
	add = xasprintf("{\"sampledevice\": {\"svn\": \"2\", \"report_data\": "
	    "\"%s\"}}", rd);
	submods = json_pack("{s:{}}", "cpu0");
	if (appraise(add, HASH_SHA384, submods, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_object_size(submods), 2);
	/* no RV: the defaults, contraindicated */
	assert_string_equal(status(submods, "gpu0"), "contraindicated");
	assert_int_equal(claim(submods, "gpu0", "hardware"), 97);
	ae = json_object_get(json_object_get(submods, "gpu0"),
	    "ear.veraison.annotated-evidence");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    ae, "sampledevice"), "svn")), "2");
	assert_string_equal(json_string_value(json_object_get(ae,
	    "report_data")), rd);
	/* the device's runtime data: nonce and tee-pubkey only */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    ae, "runtime_data_claims"), "nonce")), NONCE);
	assert_null(json_object_get(json_object_get(ae, "runtime_data_claims"),
	    "additional-evidence"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    submods, "gpu0"), "ear.appraisal-policy-id")), "default");
	json_decref(submods);

	/* RV device_svn decides: hardware 2, warning */
	add_rv("device_svn", "[\"2\"]");
	submods = json_object();
	if (appraise(add, HASH_SHA384, submods, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(claim(submods, "gpu0", "hardware"), 2);
	assert_string_equal(status(submods, "gpu0"), "warning");
	json_decref(submods);

	/* bound with the session's hash algorithm */
	submods = json_object();
	assert_int_equal(appraise(add, HASH_SHA512, submods, &err), -1);
	assert_non_null(strstr(err.msg, "additional evidence 'sampledevice' "
	    "rejected: report data mismatch"));
	free(add);
	add = xasprintf("{\"sampledevice\": {\"svn\": \"2\", \"report_data\": "
	    "\"%s\"}}", rd512);
	assert_int_equal(appraise(add, HASH_SHA512, submods, &err), 0);
	json_decref(submods);
	free(add);

	/* bound to another nonce */
	add = xasprintf("{\"sampledevice\": {\"svn\": \"2\", \"report_data\": "
	    "\"%s\"}}", other);
	submods = json_object();
	assert_int_equal(appraise(add, HASH_SHA384, submods, &err), -1);
	assert_non_null(strstr(err.msg, "'sampledevice' rejected: report data "
	    "mismatch"));
	json_decref(submods);
	free(add);

	/* malformed device evidence names the device */
	submods = json_object();
	assert_int_equal(appraise("{\"sampledevice\": [1]}", HASH_SHA384,
	    submods, &err), -1);
	assert_non_null(strstr(err.msg, "'sampledevice' rejected: "
	    "sampledevice evidence is not a JSON object"));
	json_decref(submods);
	free(rd);
	free(rd512);
	free(other);
}

static void
test_unverifiable(void **state)
{
	struct error err;
	json_t *submods = json_pack("{s:{}}", "cpu0"), *app, *ev, *list, *dev;
	char *rd = device_report_data(HASH_SHA384, NONCE), *add, *s;

	(void)state;
	/* a TEE without a verifier here, and a sample device */
	add = xasprintf("{\"hygondcu\": {\"attestation_reports\": []}, "
	    "\"sampledevice\": {\"svn\": \"2\", \"report_data\": \"%s\"}}",
	    rd);
	if (appraise(add, HASH_SHA384, submods, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_object_size(submods), 3);
	app = json_object_get(submods, "dcu0");
	assert_non_null(app);
	assert_string_equal(status(submods, "dcu0"), "contraindicated");
	assert_int_equal(claim(submods, "dcu0", "hardware"), 97);
	assert_int_equal(claim(submods, "dcu0", "executables"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    app, "ear.trustee.unverified"), "tee")), "hygondcu");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(app, "ear.trustee.unverified"), "reason")),
	    "no verifier for TEE 'hygondcu' in this build"));
	assert_int_equal(json_object_size(json_object_get(app,
	    "ear.veraison.annotated-evidence")), 0);
	assert_non_null(json_object_get(submods, "gpu0"));
	json_decref(submods);
	free(add);

	/* NVIDIA: a Hopper that fails (wrong binding) refuses; Blackwell
	 * devices alone are listed as unverifiable gpu0, gpu1 */
	ev = testutil_vec_json("nvidia-hopper-coco/evidence.json");
	list = json_object_get(ev, "device_evidence_list");
	s = json_dumps(ev, JSON_COMPACT);
	add = xasprintf("{\"nvidia\": %s}", s);
	free(s);
	submods = json_object();
	assert_int_equal(appraise(add, HASH_SHA384, submods, &err), -1);
	assert_non_null(strstr(err.msg, "additional evidence 'nvidia' "
	    "rejected: device_evidence_list[0] (Hopper): report data "
	    "mismatch"));
	json_decref(submods);
	free(add);
	dev = json_array_get(list, 0);
	json_object_set_new(dev, "arch", json_string("Blackwell"));
	json_array_append_new(list, json_deep_copy(dev));
	s = json_dumps(ev, JSON_COMPACT);
	add = xasprintf("{\"nvidia\": %s}", s);
	free(s);
	submods = json_pack("{s:{}}", "cpu0");
	if (appraise(add, HASH_SHA384, submods, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(status(submods, "gpu0"), "contraindicated");
	assert_string_equal(status(submods, "gpu1"), "contraindicated");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(json_object_get(submods, "gpu1"),
	    "ear.trustee.unverified"), "reason")), "not verifiable locally"));
	json_decref(submods);
	free(add);
	json_decref(ev);
	free(rd);

	/* naming: the first free number per class */
	submods = json_object();
	assert_int_equal(ear_submod_add(submods, "gpu", json_object(), &err),
	    0);
	assert_int_equal(ear_submod_add(submods, "gpu", json_object(), &err),
	    0);
	assert_int_equal(ear_submod_add(submods, "switch", json_object(),
	    &err), 0);
	assert_non_null(json_object_get(submods, "gpu1"));
	assert_non_null(json_object_get(submods, "switch0"));
	json_decref(submods);
}

/* The default GPU policy on locally verified NVIDIA claims. */
static void
test_gpu_policy_local_nvidia(void **state)
{
	struct error err = { "" };
	json_t *in, *ext = NULL;
	int v[8];

	(void)state;
	in = testutil_json("{\"nvidia\": {\"arch\": \"Hopper\", \"uuid\": "
	    "\"u\", \"measurements\": {\"1\": \"00\", \"2\": \"ab12\", \"3\": "
	    "\"cd34\"}, \"config\": {\"driver_version\": \"580.95.05\", "
	    "\"vbios_version\": \"96.00.74.00.1a\"}}}");
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[4], 97);
	assert_int_equal(v[2], 33);
	json_decref(ext);
	add_rv("allowed_vbios_versions", "[\"96.00.74.00.1a\"]");
	add_rv("allowed_driver_versions", "[\"580.95.05\"]");
	/* versions alone: hardware, but the measurements are unchecked */
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[4], 2);
	assert_int_equal(v[2], 33);
	assert_int_equal(v[1], 36);
	json_decref(ext);
	/* golden measurements that match (either case, list or string) */
	add_rv("nvidia_gpu_measurements", "{\"2\": [\"ffff\", \"AB12\"], "
	    "\"3\": \"cd34\"}");
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[4], 2);
	assert_int_equal(v[2], 2);
	assert_int_equal(v[1], 2);
	json_decref(ext);
	/* one that does not, one that is missing */
	add_rv("nvidia_gpu_measurements", "{\"2\": \"ab12\", \"3\": \"0000\"}");
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[2], 33);
	json_decref(ext);
	add_rv("nvidia_gpu_measurements", "{\"2\": \"ab12\", \"9\": \"00\"}");
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[2], 33);
	json_decref(ext);
	add_rv("nvidia_gpu_measurements", "{}");
	assert_int_equal(policy_appraise("default", "gpu", in, v, &ext, &err),
	    0);
	assert_int_equal(v[2], 33);
	json_decref(ext);
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_sampledevice_binding,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unverifiable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gpu_policy_local_nvidia,
		    setup, teardown),
	};

	log_init("test_devices", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
