/*
 * policyfix.h: the fixture and helpers of the policy engine's unit tests
 * (test_policy_*.c): each test runs against a fresh encrypted SQLite
 * store with the RVPS and the policy engine on it, as trusteed does.
 * Header-only; include after testutil.h, rvps/rvps.h, server/policy.h,
 * server/policy_internal.h and server/trusteed.h (and lib/embedded.h).
 * Each file's setup calls policyfix_setup with its name; teardown is
 * policyfix_teardown. Every helper fails the running test on an error
 * it does not return.
 */
#ifndef TRUSTEE_POLICYFIX_H
#define TRUSTEE_POLICYFIX_H

/* The trustworthiness claims in the order of presult_claim_names. */
enum { C_II, C_CONF, C_EXEC, C_FS, C_HW, C_RO, C_SO, C_SD };

struct fixture {
	char dir[64];
	char db[128];
	struct store *st;
	struct config cfg;
};

/* The setup of a test: a fresh encrypted SQLite store (under
 * /tmp/NAME.XXXXXX) with the RVPS and the policy engine on it, the test
 * clock off. */
static inline int
policyfix_setup(void **state, const char *name)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = { "" };

	assert_non_null(f);
	f->st = testutil_store_new(name, f->dir, sizeof(f->dir),
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

static inline int
policyfix_teardown(void **state)
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

/* The transformed claims of a sample attestation (reference §2). */
static inline json_t *
policyfix_sample_input(void)
{
	return testutil_json("{\"sample\": {\"svn\": \"1\", \"launch_digest\": "
	    "\"abcde\", \"platform_version\": {\"major\": 1, \"minor\": 4}, "
	    "\"debug\": false}, \"report_data\": \"AAAA\", "
	    "\"runtime_data_claims\": {\"nonce\": \"n\"}}");
}

/* Appraise input with default_cpu; fails the test on a policy error. */
static inline void
policyfix_appraise(const json_t *input, int v[8], json_t **ext)
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

/* Add a reference value (value_json is its JSON text); fails the test
 * on an error. */
static inline void
policyfix_add_rv(const char *name, const char *value_json,
    int64_t expiration)
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

/* A token's claims with one cpu0 appraisal of tee with status. */
static inline json_t *
policyfix_claims_for(const char *tee, const char *status, int hw)
{
	return json_pack("{s:{s:{s:s, s:{s:i, s:i, s:i}, s:{s:{}}}}}",
	    "submods", "cpu0", "ear.status", status,
	    "ear.trustworthiness-vector", "hardware", hw, "executables", 3,
	    "configuration", 2, "ear.veraison.annotated-evidence", tee);
}

/* A GET request of repo/type/tag to plugin. */
static inline json_t *
policyfix_request_for(const char *plugin)
{
	return json_pack("{s:s, s:[sss], s:{}, s:s}", "plugin", plugin,
	    "resource-path", "repo", "type", "tag", "query", "method", "GET");
}

/* Decide with the stored resource policy; returns allowed (-1 = the
 * policy failed) and copies the reason. */
static inline int
policyfix_decide(const json_t *claims, const json_t *req,
    char reason[POLICY_REASON_MAX])
{
	struct error err = { "" };
	int allowed = 0;

	if (policy_resource(claims, req, &allowed, reason, NULL, &err) != 0) {
		assert_string_equal(reason, err.msg);
		return -1;
	}
	return allowed;
}

/* Store text as the resource policy; policy_put's rc and err. */
static inline int
policyfix_put_resource(const char *text, struct error *err)
{
	int v = 0;

	return policy_put(POLICY_RESOURCE, POLICY_RESOURCE_ID, text,
	    strlen(text), "test", &v, NULL, err);
}

/* Store text as the resource policy; fails the test on an error. */
static inline void
policyfix_put_resource_ok(const char *text)
{
	struct error err = { "" };

	if (policyfix_put_resource(text, &err) != 0)
		fail_msg("policy_put: %s", err.msg);
}

/* The text of the shipped policy lua-policies/NAME (embedded). */
static inline const char *
policyfix_shipped(const char *name)
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

/* Fails the test unless needle is in hay. */
static inline void
policyfix_assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* policy_test of an attestation policy text; returns the result object. */
static inline json_t *
policyfix_dry_attestation(const char *text, const json_t *input)
{
	struct error err = { "" };
	json_t *res = NULL;

	if (policy_test(POLICY_ATTESTATION, text, strlen(text), NULL, 0, input,
	    &res, &err) != 0)
		fail_msg("policy_test: %s", err.msg);
	return res;
}

/* The "error" member of a dry run's result (NULL: none). */
static inline const char *
policyfix_res_error(const json_t *res)
{
	return json_string_value(json_object_get(res, "error"));
}

#endif
