/*
 * dcapfix.h: the fixture of the DCAP unit tests (test_dcap_*.c): the
 * real vectors of tests/vectors (or $TRUSTEE_TESTVECTORS) loaded by the
 * group setup dcapfix_setup into tdx4 (tdx-v4-uptodate), tdx5
 * (tdx-v5-td15-tcb-notsupported), sgx3 (sgx-v3-collateral) and azure
 * (tdx-v4-azure-nocollateral): each quote, its expected.json, its
 * directory and a time in the middle of its collateral window (now);
 * dcapfix_teardown frees them and clears the verifier configuration.
 * Helpers configure the collateral source (directory, file, PCCS, cache),
 * run the TDX or SGX backend on a quote, check an error by substring, and
 * compare claims with a vector's expected.json in Trustee's names.
 * Header-only; include after <cmocka.h>. Every helper fails the running
 * test on error.
 */
#ifndef TRUSTEE_DCAPFIX_H
#define TRUSTEE_DCAPFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "dcap.h"
#include "dcap_internal.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"

/* The middle of a vector's collateral validity window. */
static inline int64_t
dcapfix_window_mid(const json_t *exp)
{
	const json_t *w = json_object_get(json_object_get(exp,
	    "collateral_checks"), "collateral_validity_window");
	int64_t a, b;

	assert_non_null(w);
	assert_int_equal(time_parse_rfc3339(json_string_value(
	    json_object_get(w, "not_before")), &a), 0);
	assert_int_equal(time_parse_rfc3339(json_string_value(
	    json_object_get(w, "not_after")), &b), 0);
	assert_true(a < b);
	return a + (b - a) / 2;
}

static inline void
dcapfix_use_collateral(const char *collateral, const char *pccs,
    const char *cache)
{
	struct verifier_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dcap_collateral = collateral;
	cfg.dcap_pccs_url = pccs;
	cfg.dcap_cache_dir = cache;
	verifier_configure(&cfg);
	dcap_cache_flush();
}

static inline json_t *
dcapfix_evidence(const uint8_t *q, size_t len)
{
	char *b = b64_encode(q, len, B64_STD);
	json_t *e = json_pack("{s:s}", "quote", b);

	free(b);
	return e;
}

static inline int
dcapfix_verify(const struct verifier_backend *be, const uint8_t *q, size_t len,
    int64_t now, const uint8_t *rd, size_t rdlen, const uint8_t *id,
    size_t idlen, json_t **claims, struct error *err)
{
	json_t *ev = dcapfix_evidence(q, len);
	int rc;

	rc = testutil_run_verifier(be, ev, rd, rdlen, id, idlen, now, claims,
	    err);
	json_decref(ev);
	if (rc == 0)
		assert_non_null(*claims);
	else
		assert_null(*claims);
	return rc;
}

static inline void
dcapfix_expect_fail(const struct verifier_backend *be, const uint8_t *q,
    size_t len, int64_t now, const char *needle)
{
	json_t *c = NULL;
	struct error err;

	assert_int_equal(dcapfix_verify(be, q, len, now, NULL, 0, NULL, 0, &c,
	    &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static inline const char *
dcapfix_jstr(const json_t *o, const char *path)
{
	char buf[256], *p, *save = NULL;
	const json_t *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save))
		v = json_object_get(v, p);
	if (!json_is_string(v))
		fail_msg("claim %s missing or not a string", path);
	return json_string_value(v);
}

static inline void
dcapfix_assert_claim(const json_t *claims, const char *path, const char *want)
{
	const char *got = dcapfix_jstr(claims, path);

	if (strcmp(got, want) != 0)
		fail_msg("claim %s = %s, expected %s", path, got, want);
}

/* "0400" etc: a little-endian u16 as Trustee prints it. */
static inline void
dcapfix_le16hex(json_int_t v, char out[5])
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	hex_encode(b, 2, out);
}

/* Every TD claim of expected.json, in Trustee's names. */
static inline void
dcapfix_check_tdx_claims(const json_t *claims, const json_t *exp)
{
	static const char *const map[][2] = {
		{ "tee_tcb_svn", "quote/body/tcb_svn" },
		{ "mr_seam", "quote/body/mr_seam" },
		{ "mr_signer_seam", "quote/body/mrsigner_seam" },
		{ "seam_attributes", "quote/body/seam_attributes" },
		{ "td_attributes", "quote/body/td_attributes" },
		{ "xfam", "quote/body/xfam" },
		{ "mr_td", "quote/body/mr_td" },
		{ "mr_config_id", "quote/body/mr_config_id" },
		{ "mr_owner", "quote/body/mr_owner" },
		{ "mr_owner_config", "quote/body/mr_owner_config" },
		{ "rtmr0", "quote/body/rtmr_0" },
		{ "rtmr1", "quote/body/rtmr_1" },
		{ "rtmr2", "quote/body/rtmr_2" },
		{ "rtmr3", "quote/body/rtmr_3" },
		{ "report_data", "quote/body/report_data" },
		{ "tee_tcb_svn2", "quote/body/tee_tcb_svn2" },
		{ "mr_servicetd", "quote/body/mr_servicetd" },
	};
	const json_t *ec = json_object_get(exp, "claims");
	const json_t *eb = json_object_get(ec, "body");
	const json_t *eh = json_object_get(ec, "header");
	char v[5];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		const json_t *e = json_object_get(eb, map[i][0]);

		if (e == NULL)
			continue;
		dcapfix_assert_claim(claims, map[i][1], json_string_value(e));
		n++;
	}
	assert_true(n >= 15);
	dcapfix_le16hex(json_integer_value(json_object_get(eh, "version")), v);
	dcapfix_assert_claim(claims, "quote/header/version", v);
	dcapfix_assert_claim(claims, "quote/header/att_key_type", "0200");
	dcapfix_assert_claim(claims, "quote/header/tee_type", "81000000");
	dcapfix_assert_claim(claims, "quote/header/vendor_id",
	    json_string_value(json_object_get(eh, "qe_vendor_id")));
	dcapfix_assert_claim(claims, "quote/header/user_data",
	    json_string_value(json_object_get(eh, "user_data")));
	if (json_integer_value(json_object_get(eh, "version")) == 5) {
		dcapfix_assert_claim(claims, "quote/type",
		    strcmp(json_string_value(json_object_get(ec,
		    "body_type")), "td15") == 0 ? "0300" : "0200");
		assert_non_null(json_object_get(json_object_get(claims,
		    "quote"), "size"));
	} else {
		assert_null(json_object_get(json_object_get(claims, "quote"),
		    "type"));
	}
	dcapfix_assert_claim(claims, "report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	dcapfix_assert_claim(claims, "init_data", json_string_value(
	    json_object_get(eb, "mr_config_id")));
}

static inline void
dcapfix_check_supplemental(const json_t *c, const json_t *exp,
    const char *status)
{
	const json_t *pck = json_object_get(json_object_get(exp, "claims"),
	    "pck_certificate_tcb");
	const json_t *cc = json_object_get(exp, "collateral_checks");
	json_int_t st = json_integer_value(json_object_get(pck, "sgx_type"));
	static const char *const types[] = { "Standard", "Scalable",
		"Scalable with Integrity" };

	dcapfix_assert_claim(c, "tcb_status", status);
	dcapfix_assert_claim(c, "tcb_status_current", status);
	dcapfix_assert_claim(c, "collateral_expiration_status", "0");
	dcapfix_assert_claim(c, "platform_provider_id",
	    json_string_value(json_object_get(pck, "ppid")));
	dcapfix_assert_claim(c, "sgx_type", types[st]);
	assert_int_equal(json_is_boolean(json_object_get(c,
	    "is_dynamic_platform")), st > 0);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "tcb_eval_num")), json_integer_value(json_object_get(
	    json_object_get(cc, "tcb_info"), "tcbEvaluationDataNumber")));
	assert_true(json_is_integer(json_object_get(c, "pck_crl_num")));
	assert_true(json_is_integer(json_object_get(c, "root_ca_crl_num")));
	/* SHA-384 of the Intel root's public point (as QVL reports it). */
	dcapfix_assert_claim(c, "root_key_id",
	    "46e403bd34f05a3f2817ab9badcaacc7ffc98e0f"
	    "261008cd30dae936cace18d5dcf58eef31463613de1570d516200993");
	/* Root CA notBefore is the earliest issue date. */
	dcapfix_assert_claim(c, "earliest_issue_date", "2018-05-21T10:45:10Z");
	dcapfix_assert_claim(c, "earliest_expiration_date", json_string_value(
	    json_object_get(json_object_get(cc, "collateral_validity_window"),
	    "not_after")));
	assert_true(json_is_array(json_object_get(c, "advisory_ids")));
	assert_non_null(json_object_get(c, "tcb_date"));
	assert_non_null(json_object_get(c, "latest_issue_date"));
}

/* ---- fixtures ------------------------------------------------------------ */

struct dcapfix_vec {
	uint8_t *quote;
	size_t len;
	json_t *exp;
	int64_t now;
	char *dir;
};

static struct dcapfix_vec tdx4, tdx5, sgx3, azure;

static inline void
dcapfix_vec_load(struct dcapfix_vec *v, const char *name)
{
	char *rel = xasprintf("%s/quote.bin", name);

	v->quote = testutil_vec_read(rel, &v->len);
	free(rel);
	rel = xasprintf("%s/expected.json", name);
	v->exp = testutil_vec_json(rel);
	free(rel);
	v->dir = testutil_vec_path(name);
	if (json_object_get(v->exp, "collateral_checks") != NULL)
		v->now = dcapfix_window_mid(v->exp);
}

static inline void
dcapfix_vec_free(struct dcapfix_vec *v)
{
	free(v->quote);
	json_decref(v->exp);
	free(v->dir);
	memset(v, 0, sizeof(*v));
}

static inline int
dcapfix_setup(void **state)
{
	(void)state;
	dcapfix_vec_load(&tdx4, "tdx-v4-uptodate");
	dcapfix_vec_load(&tdx5, "tdx-v5-td15-tcb-notsupported");
	dcapfix_vec_load(&sgx3, "sgx-v3-collateral");
	dcapfix_vec_load(&azure, "tdx-v4-azure-nocollateral");
	return 0;
}

static inline int
dcapfix_teardown(void **state)
{
	(void)state;
	dcapfix_vec_free(&tdx4);
	dcapfix_vec_free(&tdx5);
	dcapfix_vec_free(&sgx3);
	dcapfix_vec_free(&azure);
	dcapfix_use_collateral(NULL, NULL, NULL);
	verifier_configure(NULL);
	return 0;
}

/* A scratch directory (removed by dcapfix_rm_rf). */
static inline char *
dcapfix_scratch(void)
{
	return testutil_tmpdir("test_dcap");
}

static inline void
dcapfix_rm_rf(char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

#endif
