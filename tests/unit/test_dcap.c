/*
 * test_dcap.c: Intel DCAP verification (verifier/dcap*.c, tdx.c, sgx.c)
 * against the real vectors in tests/vectors (or
 * $TRUSTEE_TESTVECTORS): tdx-v4-uptodate, tdx-v5-td15-tcb-notsupported,
 * sgx-v3-collateral, tdx-v4-azure-nocollateral, tdx-v4-ccel, the negative
 * vectors neg-tdx-v4-mrtd and neg-tdx-tcbinfo-tamper. Each vector is
 * verified at a time inside its collateral window (read from its
 * expected.json), through the collateral directory, the collateral JSON
 * file forms (dcap-qvl object and an Intel PCS-tool bundle built here from
 * the vector files) and a PCCS served by a local python script; claim
 * values are compared with expected.json. Negative cases check the
 * precise error by substring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "b64.h"
#include "ccel.h"
#include "dcap.h"
#include "dcap_internal.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"

/* The middle of a vector's collateral validity window. */
static int64_t
window_mid(const json_t *exp)
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

static void
use_collateral(const char *collateral, const char *pccs, const char *cache)
{
	struct verifier_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dcap_collateral = collateral;
	cfg.dcap_pccs_url = pccs;
	cfg.dcap_cache_dir = cache;
	verifier_configure(&cfg);
	dcap_cache_flush();
}

static json_t *
evidence(const uint8_t *q, size_t len)
{
	char *b = b64_encode(q, len, B64_STD);
	json_t *e = json_pack("{s:s}", "quote", b);

	free(b);
	return e;
}

static int
verify_with(const struct verifier_backend *be, const uint8_t *q, size_t len,
    int64_t now, const uint8_t *rd, size_t rdlen, const uint8_t *id,
    size_t idlen, json_t **claims, struct error *err)
{
	json_t *ev = evidence(q, len);
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

static void
expect_fail(const struct verifier_backend *be, const uint8_t *q, size_t len,
    int64_t now, const char *needle)
{
	json_t *c = NULL;
	struct error err;

	assert_int_equal(verify_with(be, q, len, now, NULL, 0, NULL, 0, &c,
	    &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static const char *
jstr(const json_t *o, const char *path)
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

static void
assert_claim(const json_t *claims, const char *path, const char *want)
{
	const char *got = jstr(claims, path);

	if (strcmp(got, want) != 0)
		fail_msg("claim %s = %s, expected %s", path, got, want);
}

/* "0400" etc: a little-endian u16 as Trustee prints it. */
static void
le16hex(json_int_t v, char out[5])
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	hex_encode(b, 2, out);
}

/* Every TD claim of expected.json, in Trustee's names. */
static void
check_tdx_claims(const json_t *claims, const json_t *exp)
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
		assert_claim(claims, map[i][1], json_string_value(e));
		n++;
	}
	assert_true(n >= 15);
	le16hex(json_integer_value(json_object_get(eh, "version")), v);
	assert_claim(claims, "quote/header/version", v);
	assert_claim(claims, "quote/header/att_key_type", "0200");
	assert_claim(claims, "quote/header/tee_type", "81000000");
	assert_claim(claims, "quote/header/vendor_id",
	    json_string_value(json_object_get(eh, "qe_vendor_id")));
	assert_claim(claims, "quote/header/user_data",
	    json_string_value(json_object_get(eh, "user_data")));
	if (json_integer_value(json_object_get(eh, "version")) == 5) {
		assert_claim(claims, "quote/type", strcmp(json_string_value(
		    json_object_get(ec, "body_type")), "td15") == 0 ? "0300" :
		    "0200");
		assert_non_null(json_object_get(json_object_get(claims,
		    "quote"), "size"));
	} else {
		assert_null(json_object_get(json_object_get(claims, "quote"),
		    "type"));
	}
	assert_claim(claims, "report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	assert_claim(claims, "init_data", json_string_value(
	    json_object_get(eb, "mr_config_id")));
}

static void
check_supplemental(const json_t *c, const json_t *exp, const char *status)
{
	const json_t *pck = json_object_get(json_object_get(exp, "claims"),
	    "pck_certificate_tcb");
	const json_t *cc = json_object_get(exp, "collateral_checks");
	json_int_t st = json_integer_value(json_object_get(pck, "sgx_type"));
	static const char *const types[] = { "Standard", "Scalable",
		"Scalable with Integrity" };

	assert_claim(c, "tcb_status", status);
	assert_claim(c, "tcb_status_current", status);
	assert_claim(c, "collateral_expiration_status", "0");
	assert_claim(c, "platform_provider_id",
	    json_string_value(json_object_get(pck, "ppid")));
	assert_claim(c, "sgx_type", types[st]);
	assert_int_equal(json_is_boolean(json_object_get(c,
	    "is_dynamic_platform")), st > 0);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "tcb_eval_num")), json_integer_value(json_object_get(
	    json_object_get(cc, "tcb_info"), "tcbEvaluationDataNumber")));
	assert_true(json_is_integer(json_object_get(c, "pck_crl_num")));
	assert_true(json_is_integer(json_object_get(c, "root_ca_crl_num")));
	/* SHA-384 of the Intel root's public point (as QVL reports it). */
	assert_claim(c, "root_key_id", "46e403bd34f05a3f2817ab9badcaacc7ffc98e0f"
	    "261008cd30dae936cace18d5dcf58eef31463613de1570d516200993");
	/* Root CA notBefore is the earliest issue date. */
	assert_claim(c, "earliest_issue_date", "2018-05-21T10:45:10Z");
	assert_claim(c, "earliest_expiration_date", json_string_value(
	    json_object_get(json_object_get(cc, "collateral_validity_window"),
	    "not_after")));
	assert_true(json_is_array(json_object_get(c, "advisory_ids")));
	assert_non_null(json_object_get(c, "tcb_date"));
	assert_non_null(json_object_get(c, "latest_issue_date"));
}

/* ---- fixtures ------------------------------------------------------------ */

struct vec {
	uint8_t *quote;
	size_t len;
	json_t *exp;
	int64_t now;
	char *dir;
};

static struct vec tdx4, tdx5, sgx3, azure;

static void
vec_load(struct vec *v, const char *name)
{
	char *rel = xasprintf("%s/quote.bin", name);

	v->quote = testutil_vec_read(rel, &v->len);
	free(rel);
	rel = xasprintf("%s/expected.json", name);
	v->exp = testutil_vec_json(rel);
	free(rel);
	v->dir = testutil_vec_path(name);
	if (json_object_get(v->exp, "collateral_checks") != NULL)
		v->now = window_mid(v->exp);
}

static void
vec_free(struct vec *v)
{
	free(v->quote);
	json_decref(v->exp);
	free(v->dir);
	memset(v, 0, sizeof(*v));
}

static int
setup(void **state)
{
	(void)state;
	vec_load(&tdx4, "tdx-v4-uptodate");
	vec_load(&tdx5, "tdx-v5-td15-tcb-notsupported");
	vec_load(&sgx3, "sgx-v3-collateral");
	vec_load(&azure, "tdx-v4-azure-nocollateral");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vec_free(&tdx4);
	vec_free(&tdx5);
	vec_free(&sgx3);
	vec_free(&azure);
	use_collateral(NULL, NULL, NULL);
	verifier_configure(NULL);
	return 0;
}

/* A scratch directory (removed by rm_rf). */
static char *
scratch(void)
{
	return testutil_tmpdir("test_dcap");
}

static void
rm_rf(char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

/* ---- parsing --------------------------------------------------------------- */

static void
test_parse_vectors(void **state)
{
	struct vec *all[] = { &tdx4, &tdx5, &sgx3, &azure };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(all); i++) {
		const json_t *qc = json_object_get(all[i]->exp, "quote_checks");
		struct dcap_quote q;
		struct error err;

		assert_int_equal(dcap_quote_parse(all[i]->quote, all[i]->len,
		    &q, &err), 0);
		assert_int_equal(q.version, json_integer_value(json_object_get(
		    all[i]->exp, "quote_version")));
		assert_int_equal(q.att_key_type, 2);
		assert_int_equal(q.signed_len, json_integer_value(
		    json_object_get(qc, "signed_region_bytes")));
		assert_int_equal(q.trailing_len, json_integer_value(
		    json_object_get(qc, "trailing_bytes_after_signature_data")));
		assert_int_equal(q.qe_auth_len, 32);
		assert_true(q.pck_chain_len > 1000);
	}
}

static void
mutate_expect_parse_error(const struct vec *v, size_t off, uint8_t val,
    const char *needle)
{
	uint8_t *m = xmalloc(v->len);
	struct dcap_quote q;
	struct error err;

	memcpy(m, v->quote, v->len);
	m[off] = val;
	assert_int_equal(dcap_quote_parse(m, v->len, &q, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
	free(m);
}

static void
test_parse_errors(void **state)
{
	struct dcap_quote q;
	struct error err;
	uint8_t *m;
	size_t i;

	(void)state;
	/* Every strict prefix is rejected. */
	for (i = 0; i < sgx3.len; i += (i < 700 ? 1 : 97)) {
		assert_int_equal(dcap_quote_parse(sgx3.quote, i, &q, &err), -1);
		assert_non_null(strstr(err.msg, "truncated"));
	}
	for (i = 0; i < tdx5.len; i += 61)
		assert_int_equal(dcap_quote_parse(tdx5.quote, i, &q, &err), -1);
	/* Trailing garbage: appended bytes, or non-zero padding. */
	m = xmalloc(sgx3.len + 3);
	memcpy(m, sgx3.quote, sgx3.len);
	memcpy(m + sgx3.len, "XYZ", 3);
	assert_int_equal(dcap_quote_parse(m, sgx3.len + 3, &q, &err), -1);
	assert_non_null(strstr(err.msg, "trailing garbage"));
	free(m);
	mutate_expect_parse_error(&tdx4, tdx4.len - 5, 1, "trailing garbage");
	/* Header fields. */
	mutate_expect_parse_error(&tdx4, 0, 6, "unsupported quote version 6");
	mutate_expect_parse_error(&tdx4, 0, 3, "TEE type 0x81");
	mutate_expect_parse_error(&sgx3, 0, 4, "TEE type 0x0");
	mutate_expect_parse_error(&tdx4, 2, 3, "attestation key type 3");
	mutate_expect_parse_error(&tdx4, 4, 0x80, "TEE type 0x80");
	mutate_expect_parse_error(&tdx5, 48, 1, "body type 1");
	mutate_expect_parse_error(&tdx5, 50, 0x49, "body size");
	/* Certification data type and sizes (v4: type at 632 + 4 + 128). */
	mutate_expect_parse_error(&tdx4, 764, 5,
	    "certification data type 5");
	mutate_expect_parse_error(&tdx4, 766, 0x47, "certification data size");
	mutate_expect_parse_error(&tdx4, 633, 0x20, "signature data length");
	/* SGX v3: the QE report follows the key directly; type 5 after the
	 * auth data (432 + 4 + 128 + 384 + 64 + 2 + 32 = 1046). */
	mutate_expect_parse_error(&sgx3, 1046, 6,
	    "unsupported certification data type 6");
	mutate_expect_parse_error(&sgx3, 1012, 0x21, "certification data type");
}

/* ---- PCK extension ---------------------------------------------------------- */

static void
test_pck_ext(void **state)
{
	struct dcap_quote q;
	struct error err;
	STACK_OF(X509) *sk;
	X509 *leaf;
	const ASN1_OCTET_STRING *os = NULL;
	struct dcap_pck_ext e;
	const json_t *pck = json_object_get(json_object_get(tdx4.exp,
	    "claims"), "pck_certificate_tcb");
	const json_t *svns = json_object_get(pck, "sgx_tcb_comp_svns");
	uint8_t *d;
	size_t n, i;
	int idx;
	char hex[64];

	(void)state;
	assert_int_equal(dcap_quote_parse(tdx4.quote, tdx4.len, &q, &err), 0);
	sk = dcap_pem_chain(q.pck_chain, q.pck_chain_len, 3, &err);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 3);
	leaf = sk_X509_value(sk, 0);
	for (idx = 0; idx < X509_get_ext_count(leaf); idx++) {
		X509_EXTENSION *x = X509_get_ext(leaf, idx);
		char oid[64];

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(x), 1);
		if (strcmp(oid, "1.2.840.113741.1.13.1") == 0)
			os = X509_EXTENSION_get_data(x);
	}
	assert_non_null(os);
	n = (size_t)ASN1_STRING_length(os);
	d = xmalloc(n);
	memcpy(d, ASN1_STRING_get0_data(os), n);
	assert_int_equal(dcap_pck_ext_parse(d, n, &e, &err), 0);
	hex_encode(e.fmspc, 6, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "fmspc")));
	hex_encode(e.ppid, 16, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "ppid")));
	hex_encode(e.cpusvn, 16, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "cpusvn")));
	assert_int_equal(e.pcesvn, json_integer_value(json_object_get(pck,
	    "pcesvn")));
	assert_int_equal(e.sgx_type, json_integer_value(json_object_get(pck,
	    "sgx_type")));
	for (i = 0; i < 16; i++)
		assert_int_equal(e.comp_svn[i],
		    json_integer_value(json_array_get(svns, i)));
	assert_true(e.has_platform_instance_id);
	assert_true(e.has_configuration);
	/* Every truncation fails cleanly; so do corrupted lengths. */
	for (i = 0; i < n; i++) {
		struct dcap_pck_ext e2;

		assert_int_equal(dcap_pck_ext_parse(d, i, &e2, &err), -1);
	}
	d[1] ^= 0x40;
	assert_int_equal(dcap_pck_ext_parse(d, n, &e, &err), -1);
	free(d);
	sk_X509_pop_free(sk, X509_free);
	/* Minimal crafted extension lacking FMSPC etc. */
	{
		static const uint8_t tiny[] = { 0x30, 0x00 };

		assert_int_equal(dcap_pck_ext_parse(tiny, sizeof(tiny), &e,
		    &err), -1);
		assert_non_null(strstr(err.msg, "missing PPID"));
	}
}

/* ---- collateral JSON ------------------------------------------------------- */

static void
test_collateral_json(void **state)
{
	size_t off, len, n;
	uint8_t sig[64];
	json_t *v;
	struct error err;
	char *t;
	struct dcap_tcb_info *ti;
	struct dcap_qe_identity *qi;
	uint8_t *body = testutil_vec_read("tdx-v4-uptodate/tcb_info.json", &n);

	(void)state;
	assert_int_equal(dcap_signed_json_split((char *)body, n, "tcbInfo",
	    &off, &len, sig, &v, &err), 0);
	assert_int_equal(memcmp(body + off, "{\"id\":\"TDX\"", 11), 0);
	assert_int_equal(body[off + len - 1], '}');
	assert_int_equal(dcap_tcb_info_from_json(v, &ti, &err), 0);
	assert_true(ti->is_tdx);
	assert_int_equal(ti->version, 3);
	assert_int_equal(ti->eval_num, 17);
	assert_true(ti->nmodules >= 1);
	assert_true(ti->nlevels >= 1);
	assert_true(ti->levels[0].has_tdx);
	dcap_tcb_info_free(ti);
	json_decref(v);
	free(body);
	body = testutil_vec_read("sgx-v3-collateral/qe_identity.json", &n);
	assert_int_equal(dcap_signed_json_split((char *)body, n,
	    "enclaveIdentity", &off, &len, sig, &v, &err), 0);
	assert_int_equal(dcap_qe_identity_from_json(v, &qi, &err), 0);
	assert_false(qi->is_td_qe);
	assert_int_equal(qi->isvprodid, 1);
	assert_int_equal(qi->levels[0].isvsvn, 8);
	dcap_qe_identity_free(qi);
	json_decref(v);
	free(body);

	/* Malformed bodies. */
	t = "{\"tcbInfo\":{\"a\":1},\"tcbInfo\":{\"a\":2},\"signature\":\"00\"}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	t = "{\"tcbInfo\":{\"a\":1}}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	assert_non_null(strstr(err.msg, "signature"));
	t = "{\"tcbInfo\":[1],\"signature\":\"00\"}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	v = json_pack("{s:s, s:i}", "id", "TDX", "version", 2);
	assert_int_equal(dcap_tcb_info_from_json(v, &ti, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported version 2"));
	json_decref(v);
	v = json_pack("{s:s}", "id", "QVE");
	assert_int_equal(dcap_qe_identity_from_json(v, &qi, &err), -1);
	json_decref(v);
}

/* ---- TCB rules on synthetic data -------------------------------------------------- */

static uint8_t syn_body[DCAP_TD15_BODY_LEN];
static uint8_t syn_qe[DCAP_SGX_REPORT_LEN];

/* A TD 1.5 quote with TEE_TCB_SVN (isvsvn, major, comp2) and
 * TEE_TCB_SVN2 likewise; QE MRSIGNER ab.., ISVPRODID 2, ISVSVN qesvn. */
static void
syn_quote(struct dcap_quote *q, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn)
{
	memset(q, 0, sizeof(*q));
	memset(syn_body, 0, sizeof(syn_body));
	memcpy(syn_body, svn, 3);
	memcpy(syn_body + 584, svn2, 3);
	memset(syn_qe, 0, sizeof(syn_qe));
	memset(syn_qe + 128, 0xab, 32);
	syn_qe[48] = 0x11;
	syn_qe[256] = 2;
	syn_qe[258] = (uint8_t)qesvn;
	q->version = td15 ? 5 : 4;
	q->att_key_type = 2;
	q->tee_type = DCAP_TEE_TYPE_TDX;
	q->body_kind = td15 ? DCAP_BODY_TD15 : DCAP_BODY_TD10;
	q->body = syn_body;
	q->body_len = td15 ? DCAP_TD15_BODY_LEN : DCAP_TD10_BODY_LEN;
	q->tee_tcb_svn = syn_body;
	q->qe_report = syn_qe;
}

static json_t *
syn_level(int sgx0, int pcesvn, int tdx2, const char *status,
    const char *date, const char *adv)
{
	json_t *sgx = json_array(), *tdx = json_array(), *l;
	int i;

	for (i = 0; i < 16; i++) {
		json_array_append_new(sgx, json_pack("{s:i}", "svn",
		    i == 0 ? sgx0 : 0));
		json_array_append_new(tdx, json_pack("{s:i}", "svn",
		    i == 0 ? 9 : i == 2 ? tdx2 : 0));
	}
	l = json_pack("{s:{s:o, s:i, s:o}, s:s, s:s}", "tcb",
	    "sgxtcbcomponents", sgx, "pcesvn", pcesvn, "tdxtcbcomponents", tdx,
	    "tcbDate", date, "tcbStatus", status);
	if (adv != NULL)
		json_object_set_new(l, "advisoryIDs", json_pack("[s]", adv));
	return l;
}

static struct dcap_tcb_info *
syn_tcb_info(json_t *levels, const char *mod_status_old)
{
	json_t *v = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:i, "
	    "s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:[{s:{s:i}, s:s, "
	    "s:s}, {s:{s:i}, s:s, s:s, s:[s]}]}], s:o}",
	    "id", "TDX", "version", 3, "issueDate", "2030-01-01T00:00:00Z",
	    "nextUpdate", "2030-02-01T00:00:00Z", "fmspc", "10203040506A",
	    "pceId", "0000", "tcbType", 0, "tcbEvaluationDataNumber", 7,
	    "tdxModule", "mrsigner", "00000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000",
	    "attributes", "0000000000000000", "attributesMask",
	    "FFFFFFFFFFFFFFFF",
	    "tdxModuleIdentities", "id", "TDX_01", "mrsigner",
	    "000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000",
	    "attributes", "0000000000000000", "attributesMask",
	    "FFFFFFFFFFFFFFFF", "tcbLevels", "tcb", "isvsvn", 5, "tcbDate",
	    "2029-06-01T00:00:00Z", "tcbStatus", "UpToDate", "tcb", "isvsvn",
	    2, "tcbDate", "2028-06-01T00:00:00Z", "tcbStatus", mod_status_old,
	    "advisoryIDs", "SA-MOD", "tcbLevels", levels);
	struct dcap_tcb_info *ti = NULL;
	struct error err;

	assert_non_null(v);
	if (dcap_tcb_info_from_json(v, &ti, &err) != 0)
		fail_msg("%s", err.msg);
	json_decref(v);
	return ti;
}

static void
syn_qe_identity(struct dcap_qe_identity *qi, struct dcap_isv_level lv[2],
    const char *old_status)
{
	memset(qi, 0, sizeof(*qi));
	memset(lv, 0, 2 * sizeof(*lv));
	qi->is_td_qe = 1;
	qi->version = 2;
	memset(qi->miscselect_mask, 0xff, 4);
	qi->attributes[0] = 0x11;
	memset(qi->attributes_mask, 0xff, 8);
	qi->attributes_mask[0] = 0xfb;
	memset(qi->mrsigner, 0xab, 32);
	qi->isvprodid = 2;
	lv[0].isvsvn = 4;
	lv[0].tcb_date = 1900000000;
	lv[0].status = DCAP_ST_UPTODATE;
	lv[1].isvsvn = 1;
	lv[1].tcb_date = 1800000000;
	lv[1].status = strcmp(old_status, "Revoked") == 0 ? DCAP_ST_REVOKED :
	    DCAP_ST_OUTOFDATE;
	qi->levels = lv;
	qi->nlevels = 2;
}

static const char *
syn_eval(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn, int sgx0, const char *old_q,
    struct error *err)
{
	static char out[64];
	struct dcap_quote q;
	struct dcap_pck_ext p;
	struct dcap_qe_identity qi;
	struct dcap_isv_level lv[2];
	struct dcap_tcb_result r;

	syn_quote(&q, td15, svn, svn2, qesvn);
	syn_qe_identity(&qi, lv, old_q);
	memset(&p, 0, sizeof(p));
	p.comp_svn[0] = (uint8_t)sgx0;
	p.pcesvn = 10;
	memcpy(p.fmspc, ti->fmspc, 6);
	if (dcap_tcb_evaluate(&q, &p, ti, &qi, &r, err) != 0)
		return NULL;
	snprintf(out, sizeof(out), "%s/%s", dcap_status_name(r.status),
	    dcap_status_name(r.status_current));
	json_decref(r.advisory_ids);
	json_decref(r.advisory_ids_current);
	return out;
}

static void
expect_status(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn, int sgx0, const char *old_q,
    const char *want)
{
	struct error err;
	const char *got = syn_eval(ti, td15, svn, svn2, qesvn, sgx0, old_q,
	    &err);

	if (got == NULL)
		fail_msg("evaluation failed: %s (expected %s)", err.msg, want);
	if (strcmp(got, want) != 0)
		fail_msg("status %s, expected %s", got, want);
}

static void
expect_tcb_error(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    int qesvn, int sgx0, const char *old_q, const char *needle)
{
	struct error err;

	if (syn_eval(ti, td15, svn, svn, qesvn, sgx0, old_q, &err) != NULL)
		fail_msg("evaluation passed, expected \"%s\"", needle);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void
test_tcb_rules(void **state)
{
	/* Levels, highest first: (sgx comp0, pcesvn, tdx comp2, status). */
	json_t *levels = json_pack("[o, o, o, o]",
	    syn_level(5, 10, 4, "UpToDate", "2029-06-01T00:00:00Z", NULL),
	    syn_level(5, 10, 2, "ConfigurationNeeded", "2029-01-01T00:00:00Z",
	    "SA-CFG"),
	    syn_level(3, 10, 0, "SWHardeningNeeded", "2028-01-01T00:00:00Z",
	    "SA-SW"),
	    syn_level(1, 10, 0, "Revoked", "2020-01-01T00:00:00Z", NULL));
	struct dcap_tcb_info *ti = syn_tcb_info(levels, "OutOfDate");
	const uint8_t cur[3] = { 5, 1, 4 }, old[3] = { 3, 1, 4 };
	const uint8_t oldcfg[3] = { 3, 1, 2 }, cfg[3] = { 5, 1, 2 };
	const uint8_t major0[3] = { 9, 0, 4 }, unknown[3] = { 5, 2, 4 };
	const uint8_t low2[3] = { 5, 1, 1 };

	(void)state;
	/* TDX components from index 2 when the module major is not 0 (the
	 * level's component 0 is 9 > 5). */
	expect_status(ti, 0, cur, cur, 4, 5, "OutOfDate",
	    "UpToDate/UpToDate");
	expect_status(ti, 0, cfg, cfg, 4, 5, "OutOfDate",
	    "ConfigurationNeeded/ConfigurationNeeded");
	/* SGX components decide first: comp0 4 -> SWHardeningNeeded level. */
	expect_status(ti, 0, cur, cur, 4, 4, "OutOfDate",
	    "SWHardeningNeeded/SWHardeningNeeded");
	/* TDX module OutOfDate (isvsvn 3 < 5). */
	expect_status(ti, 0, old, old, 4, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	expect_status(ti, 0, oldcfg, oldcfg, 4, 5, "OutOfDate",
	    "OutOfDateConfigurationNeeded/OutOfDateConfigurationNeeded");
	/* QE OutOfDate (ISVSVN 2 < 4). */
	expect_status(ti, 0, cur, cur, 2, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	/* TD 1.5: launched on an old module, running the latest one. */
	expect_status(ti, 1, old, cur, 4, 5, "OutOfDate",
	    "TDRelaunchAdvised/UpToDate");
	expect_status(ti, 1, oldcfg, cur, 4, 5, "OutOfDate",
	    "TDRelaunchAdvisedConfigurationNeeded/UpToDate");
	/* The running module must also reach the latest level's TDX
	 * component 2. */
	expect_status(ti, 1, oldcfg, cfg, 4, 5, "OutOfDate",
	    "OutOfDateConfigurationNeeded/ConfigurationNeeded");
	/* ... but not when the QE is out of date. */
	expect_status(ti, 1, old, cur, 2, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	/* Errors. */
	expect_tcb_error(ti, 0, cur, 4, 1, "OutOfDate", "Revoked");
	expect_tcb_error(ti, 0, cur, 4, 0, "OutOfDate", "NotSupported");
	/* TDX component 2 too low for the first SGX-matching levels. */
	expect_status(ti, 0, low2, low2, 4, 5, "OutOfDate",
	    "SWHardeningNeeded/SWHardeningNeeded");
	expect_tcb_error(ti, 0, cur, 0, 5, "OutOfDate", "QE TCB not supported");
	expect_tcb_error(ti, 0, cur, 1, 5, "Revoked", "QE TCB status is "
	    "Revoked");
	expect_tcb_error(ti, 0, unknown, 4, 5, "OutOfDate", "TDX_02");
	expect_status(ti, 0, major0, major0, 4, 5, "OutOfDate",
	    "UpToDate/UpToDate");
	syn_body[64] = 1;
	{
		struct error err;
		struct dcap_quote q;
		struct dcap_pck_ext p;
		struct dcap_qe_identity qi;
		struct dcap_isv_level lv[2];
		struct dcap_tcb_result r;

		syn_quote(&q, 0, major0, major0, 4);
		syn_body[64] = 1;	/* MRSIGNERSEAM */
		syn_qe_identity(&qi, lv, "OutOfDate");
		memset(&p, 0, sizeof(p));
		p.comp_svn[0] = 5;
		p.pcesvn = 10;
		memcpy(p.fmspc, ti->fmspc, 6);
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "MRSIGNERSEAM"));
		syn_body[64] = 0;
		syn_qe[128] = 0;	/* QE MRSIGNER */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "QE identity mismatch: QE "
		    "MRSIGNER"));
		syn_qe[128] = 0xab;
		syn_qe[256] = 3;
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "ISVPRODID 3"));
		syn_qe[256] = 2;
		syn_qe[48] = 0x13;	/* a masked-in attribute bit */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "ATTRIBUTES"));
		syn_qe[48] = 0x15;	/* bit 2 is masked out: accepted */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    0);
		assert_int_equal(json_array_size(r.advisory_ids), 0);
		json_decref(r.advisory_ids);
		json_decref(r.advisory_ids_current);
		p.fmspc[0] ^= 1;
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "FMSPC"));
	}
	dcap_tcb_info_free(ti);
}

/* ---- full verification: directory form -------------------------------------- */

static void
test_tdx_v4_uptodate(void **state)
{
	json_t *c = NULL;
	struct error err;
	uint8_t rd[64], id[48];
	struct dcap_quote q;

	(void)state;
	use_collateral(tdx4.dir, NULL, NULL);
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	check_tdx_claims(c, tdx4.exp);
	check_supplemental(c, tdx4.exp, "UpToDate");
	assert_int_equal(json_array_size(json_object_get(c, "advisory_ids")),
	    0);
	assert_claim(c, "tcb_date", "2024-03-13T00:00:00Z");
	assert_true(json_is_boolean(json_object_get(json_object_get(c,
	    "td_attributes"), "debug")));
	assert_true(json_is_false(json_object_get(json_object_get(c,
	    "td_attributes"), "debug")));
	assert_true(json_is_true(json_object_get(json_object_get(c,
	    "td_attributes"), "septve_disable")));
	assert_non_null(json_object_get(c, "platform_instance_id"));
	assert_null(json_object_get(c, "uefi_event_logs"));
	json_decref(c);

	/* Bindings: the quote's own report data and a zero MRCONFIGID. */
	assert_int_equal(dcap_quote_parse(tdx4.quote, tdx4.len, &q, &err), 0);
	memcpy(rd, q.report_data, 64);
	memset(id, 0, sizeof(id));
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, id, 32, &c, &err), 0);
	json_decref(c);
	/* A 48-byte SHA-384 expectation padded/truncated like Trustee. */
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, id, 48, &c, &err), 0);
	json_decref(c);
	rd[63] ^= 1;
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, NULL, 0, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	/* Shorter expected report data is zero padded: must not match. */
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, q.report_data, 32, NULL, 0, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	id[0] = 1;
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, id, 32, &c, &err), -1);
	assert_non_null(strstr(err.msg, "init data hash does not match "
	    "MRCONFIGID"));

	/* The internal API the Azure verifier uses. */
	assert_int_equal(dcap_verify_td_quote(tdx4.quote, tdx4.len, tdx4.now,
	    &q, &c, &err), 0);
	assert_null(json_object_get(c, "report_data"));
	assert_null(json_object_get(c, "init_data"));
	assert_claim(c, "tcb_status", "UpToDate");
	assert_int_equal(q.version, 4);
	json_decref(c);
	/* An SGX quote is not a TD quote. */
	assert_int_equal(dcap_verify_td_quote(sgx3.quote, sgx3.len, tdx4.now,
	    &q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "expected a TDX"));
}

static void
test_tdx_v5_notsupported(void **state)
{
	struct dcap_quote q;
	struct error err;
	json_t *c;
	const json_t *eb = json_object_get(json_object_get(tdx5.exp, "claims"),
	    "body");

	(void)state;
	use_collateral(tdx5.dir, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(tdx5.exp,
	    "expected_tcb_status")), "NotSupported");
	/* Every signature and chain is valid: the failure is the TCB. */
	expect_fail(&verifier_tdx, tdx5.quote, tdx5.len, tdx5.now,
	    "TCB level not supported (NotSupported)");
	expect_fail(&verifier_tdx, tdx5.quote, tdx5.len, tdx5.now,
	    "FMSPC 90c06f000000");
	/* The TD 1.5 quote claims themselves. */
	assert_int_equal(dcap_quote_parse(tdx5.quote, tdx5.len, &q, &err), 0);
	assert_int_equal(q.body_kind, DCAP_BODY_TD15);
	c = dcap_tdx_quote_claims(&q);
	assert_claim(c, "quote/type", "0300");
	assert_claim(c, "quote/size", "88020000");
	assert_claim(c, "quote/body/tee_tcb_svn2", json_string_value(
	    json_object_get(eb, "tee_tcb_svn2")));
	assert_claim(c, "quote/body/mr_servicetd", json_string_value(
	    json_object_get(eb, "mr_servicetd")));
	assert_claim(c, "quote/header/version", "0500");
	json_decref(c);
}

static void
test_sgx_v3(void **state)
{
	json_t *c = NULL, *adv;
	struct error err;
	const json_t *ec = json_object_get(sgx3.exp, "claims");
	const json_t *eb = json_object_get(ec, "body");
	const json_t *eh = json_object_get(ec, "header");
	const char *attr;
	char a[17], v[5];
	uint8_t cid[64];

	(void)state;
	use_collateral(sgx3.dir, NULL, NULL);
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	check_supplemental(c, sgx3.exp, "ConfigurationAndSWHardeningNeeded");
	adv = json_object_get(c, "advisory_ids");
	assert_int_equal(json_array_size(adv), 2);
	assert_string_equal(json_string_value(json_array_get(adv, 0)),
	    "INTEL-SA-00289");
	assert_string_equal(json_string_value(json_array_get(adv, 1)),
	    "INTEL-SA-00615");
	assert_null(json_object_get(c, "platform_instance_id"));
	le16hex(3, v);
	assert_claim(c, "header/version", v);
	assert_claim(c, "header/att_key_type", "0200");
	assert_claim(c, "header/att_key_data_0", "00000000");
	le16hex(json_integer_value(json_object_get(eh, "qe_svn")), v);
	assert_claim(c, "header/qe_svn", v);
	le16hex(json_integer_value(json_object_get(eh, "pce_svn")), v);
	assert_claim(c, "header/pce_svn", v);
	assert_claim(c, "header/vendor_id", json_string_value(
	    json_object_get(eh, "qe_vendor_id")));
	assert_claim(c, "header/user_data", json_string_value(
	    json_object_get(eh, "user_data")));
	assert_claim(c, "body/cpu_svn", json_string_value(
	    json_object_get(eb, "cpusvn")));
	assert_claim(c, "body/misc_select", json_string_value(
	    json_object_get(eb, "miscselect")));
	attr = json_string_value(json_object_get(eb, "attributes"));
	snprintf(a, sizeof(a), "%.16s", attr);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(c, "body"), "attributes.flags")), a);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(c, "body"), "attributes.xfrm")), attr + 16);
	assert_claim(c, "body/mr_enclave", json_string_value(
	    json_object_get(eb, "mrenclave")));
	assert_claim(c, "body/mr_signer", json_string_value(
	    json_object_get(eb, "mrsigner")));
	assert_claim(c, "body/config_id", json_string_value(
	    json_object_get(eb, "config_id")));
	assert_claim(c, "body/isv_ext_prod_id", json_string_value(
	    json_object_get(eb, "isv_ext_prod_id")));
	assert_claim(c, "body/isv_family_id", json_string_value(
	    json_object_get(eb, "isv_family_id")));
	le16hex(json_integer_value(json_object_get(eb, "isvprodid")), v);
	assert_claim(c, "body/isv_prod_id", v);
	le16hex(json_integer_value(json_object_get(eb, "isvsvn")), v);
	assert_claim(c, "body/isv_svn", v);
	le16hex(json_integer_value(json_object_get(eb, "config_svn")), v);
	assert_claim(c, "body/config_svn", v);
	assert_claim(c, "body/report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	assert_claim(c, "report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	assert_claim(c, "init_data", json_string_value(
	    json_object_get(eb, "config_id")));
	json_decref(c);
	/* Report data "Hello, world!" zero padded; CONFIGID binding. */
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, (const uint8_t *)"Hello, world!", 13, NULL, 0, &c,
	    &err), 0);
	json_decref(c);
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, (const uint8_t *)"Hello, world?", 13, NULL, 0, &c,
	    &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	memset(cid, 0, sizeof(cid));
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, cid, 64, &c, &err), 0);
	json_decref(c);
	cid[5] = 9;
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, cid, 32, &c, &err), -1);
	assert_non_null(strstr(err.msg, "init data hash does not match "
	    "CONFIGID"));
	/* The TDX backend refuses an SGX quote and vice versa. */
	expect_fail(&verifier_tdx, sgx3.quote, sgx3.len, sgx3.now,
	    "expected a TDX");
	expect_fail(&verifier_sgx, tdx4.quote, tdx4.len, sgx3.now,
	    "expected an SGX");
}

/* ---- negatives --------------------------------------------------------------- */

static void
flip_expect(const struct vec *v, const struct verifier_backend *be,
    size_t off, const char *needle)
{
	uint8_t *m = xmalloc(v->len);

	memcpy(m, v->quote, v->len);
	m[off] ^= 0x01;
	expect_fail(be, m, v->len, v->now, needle);
	free(m);
}

static void
test_negatives(void **state)
{
	uint8_t *neg;
	size_t nlen;
	char *dir;
	const char *files[] = { "tcb_info_issuer_chain.pem", "qe_identity.json",
		"qe_identity_issuer_chain.pem", "pck_crl.der",
		"pck_crl_issuer_chain.pem", "root_ca_crl.der" };
	char *src, *dst;
	size_t i;
	struct error err;

	(void)state;
	use_collateral(tdx4.dir, NULL, NULL);
	/* neg-tdx-v4-mrtd: only the quote signature breaks. */
	neg = testutil_vec_read("neg-tdx-v4-mrtd/quote.bin", &nlen);
	expect_fail(&verifier_tdx, neg, nlen, tdx4.now, "quote signature");
	free(neg);
	/* Flipped bytes: header, body, signature, QE report, QE signature,
	 * QE auth data, attestation key. */
	flip_expect(&tdx4, &verifier_tdx, 30, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 600, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 640, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 10,
	    "QE report signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 384 + 5,
	    "QE report signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 384 + 64 + 2 + 3,
	    "QE report data binding");
	flip_expect(&tdx4, &verifier_tdx, 636 + 64 + 7, "");
	flip_expect(&sgx3, &verifier_sgx, 100, "quote signature");
	flip_expect(&sgx3, &verifier_sgx, 436 + 128 + 20,
	    "QE report signature");
	/* Truncated and trailing garbage through the verifier. */
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len - 100, tdx4.now,
	    "truncated");
	expect_fail(&verifier_tdx, tdx4.quote, 40, tdx4.now, "truncated");
	{
		uint8_t *m = xmalloc(tdx4.len);

		memcpy(m, tdx4.quote, tdx4.len);
		m[tdx4.len - 1] = 0x41;
		expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "trailing garbage");
		m[tdx4.len - 1] = 0;
		m[0] = 7;
		expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "unsupported quote version 7");
		m[0] = 4;
		m[2] = 1;
		expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "attestation key type 1");
		free(m);
	}
	/*
	 * Verification at the real current time: every signature still
	 * checks, and the expired collateral is reported in the claims
	 * (Trustee/QVL semantics) for the policy to judge.
	 */
	{
		json_t *c = NULL;
		struct error e2;
		const char *first;

		assert_int_equal(verify_with(&verifier_tdx, tdx4.quote,
		    tdx4.len, now_unix(), NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "1");
		first = json_string_value(json_array_get(json_object_get(c,
		    "collateral_expired"), 0));
		assert_non_null(first);
		assert_string_equal(first, "TCB info (TDX, FMSPC "
		    "b0c06f000000) nextUpdate 2025-07-19T10:16:03Z");
		json_decref(c);
		assert_int_equal(verify_with(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "0");
		assert_null(json_object_get(c, "collateral_expired"));
		json_decref(c);
	}
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, 1750000000,
	    "collateral not yet valid");
	use_collateral(sgx3.dir, NULL, NULL);
	{
		json_t *c = NULL;
		struct error e2;

		assert_int_equal(verify_with(&verifier_sgx, sgx3.quote,
		    sgx3.len, now_unix(), NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "1");
		json_decref(c);
	}
	/* Bad evidence JSON. */
	{
		struct verifier_input in;
		json_t *c = NULL, *ev = json_pack("{s:s}", "quote", "!!");

		memset(&in, 0, sizeof(in));
		in.evidence = ev;
		in.now = tdx4.now;
		assert_int_equal(verifier_tdx.verify(&in, &c, &err), -1);
		assert_non_null(strstr(err.msg, "base64"));
		json_decref(ev);
		ev = json_pack("{s:i}", "quote", 1);
		in.evidence = ev;
		assert_int_equal(verifier_sgx.verify(&in, &c, &err), -1);
		json_decref(ev);
	}

	/* neg-tdx-tcbinfo-tamper: the base vector's collateral with the
	 * tampered TCB info. */
	dir = scratch();
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		src = xasprintf("%s/%s", tdx4.dir, files[i]);
		dst = xasprintf("%s/%s", dir, files[i]);
		assert_int_equal(symlink(src, dst), 0);
		free(src);
		free(dst);
	}
	src = testutil_vec_path("neg-tdx-tcbinfo-tamper/tcb_info.json");
	dst = xasprintf("%s/tcb_info.json", dir);
	assert_int_equal(symlink(src, dst), 0);
	free(src);
	free(dst);
	use_collateral(dir, NULL, NULL);
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "TCB info signature");
	/* A QE identity in place of the TCB info, wrong-kind collateral. */
	dst = xasprintf("%s/tcb_info.json", dir);
	unlink(dst);
	src = xasprintf("%s/qe_identity.json", tdx4.dir);
	assert_int_equal(symlink(src, dst), 0);
	free(src);
	free(dst);
	dcap_cache_flush();
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now, "tcbInfo");
	/* SGX collateral for a TDX quote. */
	use_collateral(sgx3.dir, NULL, NULL);
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now, "SGX");
	/* Missing collateral files / no configuration. */
	use_collateral(dir, NULL, NULL);
	dst = xasprintf("%s/root_ca_crl.der", dir);
	unlink(dst);
	free(dst);
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "root_ca_crl.der");
	use_collateral(NULL, NULL, NULL);
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "no DCAP collateral configured");
	rm_rf(dir);
}

/* A quote with content changed (set bits) but not re-signed. */
static void
forge_expect(const struct vec *v, const struct verifier_backend *be,
    size_t off, uint8_t bits, const char *needle)
{
	uint8_t *m = xmalloc(v->len);

	memcpy(m, v->quote, v->len);
	assert_true((m[off] & bits) != bits);
	m[off] |= bits;
	expect_fail(be, m, v->len, v->now, needle);
	free(m);
}

/*
 * Forged content is refused for its signature, never for the field: a
 * TD with the DEBUG attribute, another MRTD or TCB SVN; an SGX enclave
 * with DEBUG set or another MRENCLAVE. (Signatures and chains come first:
 * the content checks, TCB level and bindings, see only genuine quotes.)
 */
static void
test_forged_content(void **state)
{
	(void)state;
	use_collateral(tdx4.dir, NULL, NULL);
	forge_expect(&tdx4, &verifier_tdx, 48 + 120, 0x01, "quote signature");
	forge_expect(&tdx4, &verifier_tdx, 48 + 136, 0x40, "quote signature");
	forge_expect(&tdx4, &verifier_tdx, 48 + 0, 0x40, "quote signature");
	forge_expect(&tdx5, &verifier_tdx, 48 + 6 + 120, 0x01,
	    "quote signature");
	use_collateral(sgx3.dir, NULL, NULL);
	forge_expect(&sgx3, &verifier_sgx, 48 + 48, 0x02, "quote signature");
	forge_expect(&sgx3, &verifier_sgx, 48 + 64, 0x80, "quote signature");
	/* the Azure TD quote, without any collateral: still the signature */
	forge_expect(&azure, &verifier_tdx, 48 + 120, 0x01, "quote signature");
}

static void
test_azure_nocollateral(void **state)
{
	json_t *c = NULL;
	struct error err;
	struct dcap_quote q;

	(void)state;
	/* Signatures, QE binding and PCK chain pass; no collateral exists
	 * for FMSPC 00806f050000, so no TCB status can be computed. */
	use_collateral(tdx4.dir, NULL, NULL);
	assert_int_equal(dcap_verify_td_quote(azure.quote, azure.len,
	    tdx4.now, &q, &c, &err), -1);
	assert_null(c);
	if (strstr(err.msg, "no collateral for FMSPC 00806f050000") == NULL)
		fail_msg("unexpected error: %s", err.msg);
	/* The quote claims (report_data = SHA-256(HCL runtime JSON) || 0). */
	assert_int_equal(dcap_quote_parse(azure.quote, azure.len, &q, &err), 0);
	c = dcap_tdx_quote_claims(&q);
	assert_claim(c, "quote/body/report_data", json_string_value(
	    json_object_get(json_object_get(json_object_get(azure.exp,
	    "claims"), "body"), "report_data")));
	json_decref(c);
}

/* ---- tdx-v4-ccel: claims vs Trustee, event log --------------------------------- */

static void
test_ccel_vector(void **state)
{
	size_t qlen, llen, i;
	uint8_t *quote = testutil_vec_read("tdx-v4-ccel/quote.bin", &qlen);
	uint8_t *log = testutil_vec_read("tdx-v4-ccel/ccel.bin", &llen);
	json_t *want = testutil_vec_json("tdx-v4-ccel/trustee-claims.json");
	json_t *c, *events = NULL;
	struct dcap_quote q, fake;
	struct error err;
	STACK_OF(X509) *sk;
	X509 *leaf;
	struct dcap_pck_ext e;
	uint8_t rtmr[4][48], rev[16];
	char hex[33];
	int idx;

	(void)state;
	assert_int_equal(dcap_quote_parse(quote, qlen, &q, &err), 0);
	c = dcap_tdx_quote_claims(&q);
	assert_true(json_equal(json_object_get(c, "quote"),
	    json_object_get(want, "quote")));
	assert_true(json_equal(json_object_get(c, "td_attributes"),
	    json_object_get(want, "td_attributes")));
	json_decref(c);
	/* platform_instance_id: the extension's bytes reversed. */
	sk = dcap_pem_chain(q.pck_chain, q.pck_chain_len, 3, &err);
	assert_non_null(sk);
	leaf = sk_X509_value(sk, 0);
	for (idx = 0; idx < X509_get_ext_count(leaf); idx++) {
		X509_EXTENSION *x = X509_get_ext(leaf, idx);
		const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(x);
		char oid[64];

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(x), 1);
		if (strcmp(oid, "1.2.840.113741.1.13.1") == 0)
			assert_int_equal(dcap_pck_ext_parse(
			    ASN1_STRING_get0_data(os),
			    (size_t)ASN1_STRING_length(os), &e, &err), 0);
	}
	sk_X509_pop_free(sk, X509_free);
	assert_true(e.has_platform_instance_id);
	for (i = 0; i < 16; i++)
		rev[i] = e.platform_instance_id[15 - i];
	hex_encode(rev, 16, hex);
	assert_string_equal(hex, json_string_value(json_object_get(want,
	    "platform_instance_id")));
	/* This CCEL does not replay to this quote's RTMRs: rejected. */
	assert_int_equal(tdx_check_eventlog(&q, log, llen, &events, &err), -1);
	assert_null(events);
	if (strstr(err.msg, "does not match the quote") == NULL &&
	    strstr(err.msg, "CC event log") == NULL)
		fail_msg("unexpected error: %s", err.msg);
	/* A quote whose RTMRs are the replayed values: accepted, and the
	 * events become uefi_event_logs. */
	if (ccel_replay(log, llen, rtmr, NULL, &err) == 0) {
		fake = q;
		for (i = 0; i < 4; i++)
			fake.rtmr[i] = rtmr[i];
		assert_int_equal(tdx_check_eventlog(&fake, log, llen, &events,
		    &err), 0);
		assert_true(json_is_array(events));
		assert_true(json_array_size(events) > 0);
		assert_non_null(json_object_get(json_array_get(events, 0),
		    "type_name"));
		json_decref(events);
	}
	json_decref(want);
	free(quote);
	free(log);
}

/* ---- file forms ------------------------------------------------------------------ */

static char *
read_text(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	uint8_t *d;
	struct error err;

	if (file_read_all(p, 1 << 20, &d, len, &err) != 0)
		fail_msg("%s", err.msg);
	free(p);
	return (char *)d;
}

static json_t *
hex_of_file(const char *dir, const char *name)
{
	size_t n;
	char *d = read_text(dir, name, &n);
	json_t *j = dcap_json_hex((uint8_t *)d, n);

	free(d);
	return j;
}

static json_t *
urlenc_of_file(const char *dir, const char *name)
{
	size_t n, i;
	char *d = read_text(dir, name, &n);
	struct buf b = { 0 };
	json_t *j;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.')
			buf_add(&b, &ch, 1);
		else
			buf_printf(&b, "%%%02X", ch);
	}
	j = json_stringn((char *)b.data, b.len);
	buf_free(&b);
	free(d);
	return j;
}

static json_t *
json_of_file(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);

	assert_non_null(j);
	free(p);
	return j;
}

/* An Intel PCS Client Tool bundle built from a vector's files. */
static char *
make_pcstool_bundle(const struct vec *v, const char *fmspc, int tdx,
    int platform)
{
	json_t *col = json_object(), *ti = json_object(), *crl, *certs, *root;
	char *dir = scratch(), *path = xasprintf("%s/bundle.json", dir);

	json_object_set_new(ti, "fmspc", json_string(fmspc));
	json_object_set_new(ti, tdx ? "tdx_tcbinfo" : "sgx_tcbinfo",
	    json_of_file(v->dir, "tcb_info.json"));
	json_object_set_new(col, "tcbinfos", json_pack("[o]", ti));
	json_object_set_new(col, tdx ? "tdqeidentity" : "qeidentity",
	    json_of_file(v->dir, "qe_identity.json"));
	crl = json_object();
	json_object_set_new(crl, platform ? "platformCrl" : "processorCrl",
	    hex_of_file(v->dir, "pck_crl.der"));
	json_object_set_new(col, "pckcacrl", crl);
	json_object_set_new(col, "rootcacrl", hex_of_file(v->dir,
	    "root_ca_crl.der"));
	certs = json_object();
	json_object_set_new(certs, "TCB-Info-Issuer-Chain",
	    urlenc_of_file(v->dir, "tcb_info_issuer_chain.pem"));
	json_object_set_new(certs, "SGX-Enclave-Identity-Issuer-Chain",
	    urlenc_of_file(v->dir, "qe_identity_issuer_chain.pem"));
	json_object_set_new(certs, "SGX-PCK-Certificate-Issuer-Chain",
	    json_pack("{s:o}", platform ? "PLATFORM" : "PROCESSOR",
	    urlenc_of_file(v->dir, "pck_crl_issuer_chain.pem")));
	json_object_set_new(col, "certificates", certs);
	root = json_pack("{s:o}", "collaterals", col);
	assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
	json_decref(root);
	free(dir);
	return path;
}

static void
test_file_forms(void **state)
{
	json_t *c = NULL;
	struct error err;
	char *p, *d;

	(void)state;
	/* dcap-qvl QuoteCollateralV3 object (signed texts as strings). */
	p = xasprintf("%s/collateral-source.json", tdx4.dir);
	use_collateral(p, NULL, NULL);
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	check_tdx_claims(c, tdx4.exp);
	check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	free(p);
	p = xasprintf("%s/collateral-source.json", sgx3.dir);
	use_collateral(p, NULL, NULL);
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	assert_claim(c, "tcb_status", "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	free(p);

	/* Intel PCS Client Tool bundle (pretty-printed, objects). */
	p = make_pcstool_bundle(&tdx4, "B0C06F000000", 1, 1);
	use_collateral(p, NULL, NULL);
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	check_tdx_claims(c, tdx4.exp);
	check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	expect_fail(&verifier_tdx, azure.quote, azure.len, tdx4.now,
	    "no TDX TCB info for FMSPC 00806f050000");
	d = xstrdup(p);
	*strrchr(d, '/') = 0;
	rm_rf(d);
	free(p);
	p = make_pcstool_bundle(&sgx3, "00a067110000", 0, 0);
	use_collateral(p, NULL, NULL);
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	assert_claim(c, "tcb_status", "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	d = xstrdup(p);
	*strrchr(d, '/') = 0;
	rm_rf(d);
	free(p);
}

/* ---- PCCS ------------------------------------------------------------------------ */

static const char pccs_py[] =
"import sys, os, binascii, urllib.parse\n"
"from http.server import HTTPServer, BaseHTTPRequestHandler\n"
"root = sys.argv[1]\n"
"def rd(v, n):\n"
"    return open(os.path.join(root, v, n), 'rb').read()\n"
"def chain(v, n):\n"
"    return urllib.parse.quote(rd(v, n).decode(), safe='')\n"
"MAP = {}\n"
"for tee, v, fm in (('tdx', 'tdx-v4-uptodate', 'B0C06F000000'),\n"
"                   ('sgx', 'sgx-v3-collateral', '00A067110000')):\n"
"    MAP['/%s/certification/v4/tcb?fmspc=%s&update=early' % (tee, fm)] = \\\n"
"        (rd(v, 'tcb_info.json'), 'TCB-Info-Issuer-Chain',\n"
"         chain(v, 'tcb_info_issuer_chain.pem'))\n"
"    MAP['/%s/certification/v4/qe/identity?update=early' % tee] = \\\n"
"        (rd(v, 'qe_identity.json'), 'SGX-Enclave-Identity-Issuer-Chain',\n"
"         chain(v, 'qe_identity_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/pckcrl?ca=platform&encoding=der'] = \\\n"
"    (rd('tdx-v4-uptodate', 'pck_crl.der'), 'SGX-PCK-CRL-Issuer-Chain',\n"
"     chain('tdx-v4-uptodate', 'pck_crl_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/pckcrl?ca=processor&encoding=der'] = \\\n"
"    (rd('sgx-v3-collateral', 'pck_crl.der'), 'SGX-PCK-CRL-Issuer-Chain',\n"
"     chain('sgx-v3-collateral', 'pck_crl_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/rootcacrl'] = \\\n"
"    (binascii.hexlify(rd('tdx-v4-uptodate', 'root_ca_crl.der')), None, None)\n"
"class H(BaseHTTPRequestHandler):\n"
"    def do_GET(self):\n"
"        e = MAP.get(self.path)\n"
"        if e is None:\n"
"            self.send_response(404); self.send_header('Content-Length', '0')\n"
"            self.end_headers(); return\n"
"        self.send_response(200)\n"
"        if e[1]: self.send_header(e[1], e[2])\n"
"        self.send_header('Content-Length', str(len(e[0])))\n"
"        self.end_headers(); self.wfile.write(e[0])\n"
"    def log_message(self, *a): pass\n"
"s = HTTPServer(('127.0.0.1', 0), H)\n"
"print(s.server_address[1], flush=True)\n"
"s.serve_forever()\n";

static pid_t
pccs_start(int *port)
{
	int fd[2];
	pid_t pid;
	char line[32];
	ssize_t n;
	size_t got = 0;
	char *abs = testutil_vec_path("");

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/usr/bin/python3", "python3", "-c", pccs_py, abs,
		    (char *)NULL);
		_exit(127);
	}
	free(abs);
	close(fd[1]);
	while (got < sizeof(line) - 1 && (n = read(fd[0], line + got, 1)) == 1
	    && line[got] != '\n')
		got++;
	line[got] = 0;
	close(fd[0]);
	*port = atoi(line);
	return pid;
}

static void
pccs_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static void
test_pccs(void **state)
{
	int port;
	pid_t pid;
	char *url, *cache = scratch();
	json_t *c = NULL;
	struct error err;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	pid = pccs_start(&port);
	assert_true(port > 0);
	/* The configured path is ignored, as Trustee does. */
	url = xasprintf("http://127.0.0.1:%d/sgx/certification/v4/", port);
	use_collateral(NULL, url, cache);
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	check_tdx_claims(c, tdx4.exp);
	check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	assert_int_equal(verify_with(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	assert_claim(c, "tcb_status", "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	/* No collateral for this FMSPC: the service answers 404. */
	expect_fail(&verifier_tdx, azure.quote, azure.len, tdx4.now,
	    "HTTP 404");
	pccs_stop(pid);
	/* The service is gone: the disk cache answers. */
	use_collateral(NULL, url, cache);
	assert_int_equal(verify_with(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	assert_claim(c, "tcb_status", "UpToDate");
	json_decref(c);
	/* ... and without a cache nothing can be fetched. */
	use_collateral(NULL, url, NULL);
	expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now, "PCCS");
	free(url);
	rm_rf(cache);
}

/* ---- wrap_raw, caches, threads --------------------------------------------------- */

static void
test_wrap_raw(void **state)
{
	json_t *ev = NULL;
	struct error err;
	const char *b;
	uint8_t *d;
	size_t n;

	(void)state;
	assert_non_null(verifier_tdx.wrap_raw);
	assert_int_equal(verifier_tdx.wrap_raw(tdx4.quote, tdx4.len, &ev,
	    &err), 0);
	assert_int_equal(json_object_size(ev), 1);
	b = json_string_value(json_object_get(ev, "quote"));
	assert_int_equal(b64_decode(b, strlen(b), B64_STD, &d, &n), 0);
	assert_int_equal(n, tdx4.len);
	assert_memory_equal(d, tdx4.quote, n);
	free(d);
	json_decref(ev);
	assert_int_equal(verifier_sgx.wrap_raw(sgx3.quote, sgx3.len, &ev,
	    &err), 0);
	json_decref(ev);
	assert_int_equal(verifier_tdx.wrap_raw(sgx3.quote, sgx3.len, &ev,
	    &err), -1);
	assert_int_equal(verifier_sgx.wrap_raw(tdx5.quote, tdx5.len, &ev,
	    &err), -1);
	assert_int_equal(verifier_tdx.wrap_raw(tdx4.quote, 100, &ev, &err), -1);
}

static void *
verify_thread(void *arg)
{
	int i, *fails = arg;

	for (i = 0; i < 25; i++) {
		json_t *c = NULL;
		struct error err;
		const struct vec *v = i % 2 ? &tdx4 : &sgx3;
		const struct verifier_backend *be = i % 2 ? &verifier_tdx :
		    &verifier_sgx;
		struct verifier_input in;
		json_t *ev = evidence(v->quote, v->len);

		memset(&in, 0, sizeof(in));
		in.evidence = ev;
		in.now = v->now;
		if (be->verify(&in, &c, &err) != 0)
			(*fails)++;
		json_decref(c);
		json_decref(ev);
		if (i == 12)
			dcap_cache_flush();
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	int fails[4] = { 0 }, i;
	char *p, *dir = scratch();
	const char *names[] = { "tcb_info.json", "tcb_info_issuer_chain.pem",
		"qe_identity.json", "qe_identity_issuer_chain.pem",
		"pck_crl.der", "pck_crl_issuer_chain.pem", "root_ca_crl.der" };
	size_t j;

	(void)state;
	/* One directory serving two platforms via FMSPC sub-directories. */
	for (j = 0; j < ARRAY_SIZE(names); j++) {
		char *s, *d;

		p = xasprintf("%s/b0c06f000000", dir);
		mkdir(p, 0700);
		s = xasprintf("%s/%s", tdx4.dir, names[j]);
		d = xasprintf("%s/%s", p, names[j]);
		assert_int_equal(symlink(s, d), 0);
		free(s);
		free(d);
		free(p);
		p = xasprintf("%s/00a067110000", dir);
		mkdir(p, 0700);
		s = xasprintf("%s/%s", sgx3.dir, names[j]);
		d = xasprintf("%s/%s", p, names[j]);
		assert_int_equal(symlink(s, d), 0);
		free(s);
		free(d);
		free(p);
	}
	use_collateral(dir, NULL, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, verify_thread,
		    &fails[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(fails[i], 0);
	}
	/* Warm and cold give the same claims. */
	{
		json_t *a = NULL, *b = NULL;
		struct error err;

		assert_int_equal(verify_with(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &a, &err), 0);
		dcap_cache_flush();
		assert_int_equal(verify_with(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &b, &err), 0);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
	rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vectors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_pck_ext),
		cmocka_unit_test(test_collateral_json),
		cmocka_unit_test(test_tcb_rules),
		cmocka_unit_test(test_tdx_v4_uptodate),
		cmocka_unit_test(test_tdx_v5_notsupported),
		cmocka_unit_test(test_sgx_v3),
		cmocka_unit_test(test_negatives),
		cmocka_unit_test(test_forged_content),
		cmocka_unit_test(test_azure_nocollateral),
		cmocka_unit_test(test_ccel_vector),
		cmocka_unit_test(test_file_forms),
		cmocka_unit_test(test_pccs),
		cmocka_unit_test(test_wrap_raw),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
