/*
 * test_dcap_verify.c: full DCAP verification of the real vectors
 * (verifier/dcap*.c, tdx.c, sgx.c) through a collateral directory, at a
 * time inside each vector's collateral window: every claim compared with
 * expected.json (tdx-v4-uptodate, sgx-v3-collateral), the report data
 * and init data bindings, a TCB level not supported
 * (tdx-v5-td15-tcb-notsupported), a quote without collateral
 * (tdx-v4-azure-nocollateral), and tdx-v4-ccel's claims against
 * Trustee's and its event log. Vectors: dcapfix.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccel.h"
#include "dcapfix.h"

/* ---- full verification: directory form -------------------------------------- */

static void
test_tdx_v4_uptodate(void **state)
{
	json_t *c = NULL;
	struct error err;
	uint8_t rd[64], id[48];
	struct dcap_quote q;

	(void)state;
	dcapfix_use_collateral(tdx4.dir, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_check_tdx_claims(c, tdx4.exp);
	dcapfix_check_supplemental(c, tdx4.exp, "UpToDate");
	assert_int_equal(json_array_size(json_object_get(c, "advisory_ids")),
	    0);
	dcapfix_assert_claim(c, "tcb_date", "2024-03-13T00:00:00Z");
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
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, id, 32, &c, &err), 0);
	json_decref(c);
	/* A 48-byte SHA-384 expectation padded/truncated like Trustee. */
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, id, 48, &c, &err), 0);
	json_decref(c);
	rd[63] ^= 1;
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, rd, 64, NULL, 0, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	/* Shorter expected report data is zero padded: must not match. */
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, q.report_data, 32, NULL, 0, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	id[0] = 1;
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, id, 32, &c, &err), -1);
	assert_non_null(strstr(err.msg, "init data hash does not match "
	    "MRCONFIGID"));

	/* The internal API the Azure verifier uses. */
	assert_int_equal(dcap_verify_td_quote(tdx4.quote, tdx4.len, tdx4.now,
	    &q, &c, &err), 0);
	assert_null(json_object_get(c, "report_data"));
	assert_null(json_object_get(c, "init_data"));
	dcapfix_assert_claim(c, "tcb_status", "UpToDate");
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
	dcapfix_use_collateral(tdx5.dir, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(tdx5.exp,
	    "expected_tcb_status")), "NotSupported");
	/* Every signature and chain is valid: the failure is the TCB. */
	dcapfix_expect_fail(&verifier_tdx, tdx5.quote, tdx5.len, tdx5.now,
	    "TCB level not supported (NotSupported)");
	dcapfix_expect_fail(&verifier_tdx, tdx5.quote, tdx5.len, tdx5.now,
	    "FMSPC 90c06f000000");
	/* The TD 1.5 quote claims themselves. */
	assert_int_equal(dcap_quote_parse(tdx5.quote, tdx5.len, &q, &err), 0);
	assert_int_equal(q.body_kind, DCAP_BODY_TD15);
	c = dcap_tdx_quote_claims(&q);
	dcapfix_assert_claim(c, "quote/type", "0300");
	dcapfix_assert_claim(c, "quote/size", "88020000");
	dcapfix_assert_claim(c, "quote/body/tee_tcb_svn2", json_string_value(
	    json_object_get(eb, "tee_tcb_svn2")));
	dcapfix_assert_claim(c, "quote/body/mr_servicetd", json_string_value(
	    json_object_get(eb, "mr_servicetd")));
	dcapfix_assert_claim(c, "quote/header/version", "0500");
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
	dcapfix_use_collateral(sgx3.dir, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_check_supplemental(c, sgx3.exp,
	    "ConfigurationAndSWHardeningNeeded");
	adv = json_object_get(c, "advisory_ids");
	assert_int_equal(json_array_size(adv), 2);
	assert_string_equal(json_string_value(json_array_get(adv, 0)),
	    "INTEL-SA-00289");
	assert_string_equal(json_string_value(json_array_get(adv, 1)),
	    "INTEL-SA-00615");
	assert_null(json_object_get(c, "platform_instance_id"));
	dcapfix_le16hex(3, v);
	dcapfix_assert_claim(c, "header/version", v);
	dcapfix_assert_claim(c, "header/att_key_type", "0200");
	dcapfix_assert_claim(c, "header/att_key_data_0", "00000000");
	dcapfix_le16hex(json_integer_value(json_object_get(eh, "qe_svn")), v);
	dcapfix_assert_claim(c, "header/qe_svn", v);
	dcapfix_le16hex(json_integer_value(json_object_get(eh, "pce_svn")), v);
	dcapfix_assert_claim(c, "header/pce_svn", v);
	dcapfix_assert_claim(c, "header/vendor_id", json_string_value(
	    json_object_get(eh, "qe_vendor_id")));
	dcapfix_assert_claim(c, "header/user_data", json_string_value(
	    json_object_get(eh, "user_data")));
	dcapfix_assert_claim(c, "body/cpu_svn", json_string_value(
	    json_object_get(eb, "cpusvn")));
	dcapfix_assert_claim(c, "body/misc_select", json_string_value(
	    json_object_get(eb, "miscselect")));
	attr = json_string_value(json_object_get(eb, "attributes"));
	snprintf(a, sizeof(a), "%.16s", attr);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(c, "body"), "attributes.flags")), a);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(c, "body"), "attributes.xfrm")), attr + 16);
	dcapfix_assert_claim(c, "body/mr_enclave", json_string_value(
	    json_object_get(eb, "mrenclave")));
	dcapfix_assert_claim(c, "body/mr_signer", json_string_value(
	    json_object_get(eb, "mrsigner")));
	dcapfix_assert_claim(c, "body/config_id", json_string_value(
	    json_object_get(eb, "config_id")));
	dcapfix_assert_claim(c, "body/isv_ext_prod_id", json_string_value(
	    json_object_get(eb, "isv_ext_prod_id")));
	dcapfix_assert_claim(c, "body/isv_family_id", json_string_value(
	    json_object_get(eb, "isv_family_id")));
	dcapfix_le16hex(json_integer_value(json_object_get(eb,
	    "isvprodid")), v);
	dcapfix_assert_claim(c, "body/isv_prod_id", v);
	dcapfix_le16hex(json_integer_value(json_object_get(eb, "isvsvn")), v);
	dcapfix_assert_claim(c, "body/isv_svn", v);
	dcapfix_le16hex(json_integer_value(json_object_get(eb,
	    "config_svn")), v);
	dcapfix_assert_claim(c, "body/config_svn", v);
	dcapfix_assert_claim(c, "body/report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	dcapfix_assert_claim(c, "report_data", json_string_value(
	    json_object_get(eb, "report_data")));
	dcapfix_assert_claim(c, "init_data", json_string_value(
	    json_object_get(eb, "config_id")));
	json_decref(c);
	/* Report data "Hello, world!" zero padded; CONFIGID binding. */
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, (const uint8_t *)"Hello, world!", 13, NULL, 0, &c,
	    &err), 0);
	json_decref(c);
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, (const uint8_t *)"Hello, world?", 13, NULL, 0, &c,
	    &err), -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	memset(cid, 0, sizeof(cid));
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, cid, 64, &c, &err), 0);
	json_decref(c);
	cid[5] = 9;
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, cid, 32, &c, &err), -1);
	assert_non_null(strstr(err.msg, "init data hash does not match "
	    "CONFIGID"));
	/* The TDX backend refuses an SGX quote and vice versa. */
	dcapfix_expect_fail(&verifier_tdx, sgx3.quote, sgx3.len, sgx3.now,
	    "expected a TDX");
	dcapfix_expect_fail(&verifier_sgx, tdx4.quote, tdx4.len, sgx3.now,
	    "expected an SGX");
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
	dcapfix_use_collateral(tdx4.dir, NULL, NULL);
	assert_int_equal(dcap_verify_td_quote(azure.quote, azure.len,
	    tdx4.now, &q, &c, &err), -1);
	assert_null(c);
	if (strstr(err.msg, "no collateral for FMSPC 00806f050000") == NULL)
		fail_msg("unexpected error: %s", err.msg);
	/* The quote claims (report_data = SHA-256(HCL runtime JSON) || 0). */
	assert_int_equal(dcap_quote_parse(azure.quote, azure.len, &q, &err), 0);
	c = dcap_tdx_quote_claims(&q);
	dcapfix_assert_claim(c, "quote/body/report_data", json_string_value(
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tdx_v4_uptodate),
		cmocka_unit_test(test_tdx_v5_notsupported),
		cmocka_unit_test(test_sgx_v3),
		cmocka_unit_test(test_azure_nocollateral),
		cmocka_unit_test(test_ccel_vector),
	};

	return cmocka_run_group_tests(tests, dcapfix_setup, dcapfix_teardown);
}
