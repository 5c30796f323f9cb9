/*
 * test_snp_chain.c: the AMD SEV-SNP verifier's certificate chain: an
 * ASK/ARK carried in the evidence (and refused when not pinned), a VCEK
 * of the wrong processor or not a VCEK at all, the VCEK's validity
 * window, and the DER reader of the VCEK's TCB and hwID extensions.
 * Negative cases check the precise error by substring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amd_certs.h"
#include "embedded.h"
#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"
#include "snpfix.h"

/* The evidence may carry the ASK and ARK (here the vector's KDS chain). */
static void
test_evidence_ask_ark(void **state)
{
	json_t *ev = snpfix_evidence_for(milan.report, milan.report_len,
	    milan.vek, milan.vek_len, "VCEK");
	json_t *claims = NULL;
	struct error err;
	size_t len;
	const unsigned char *pem;
	uint8_t *bad;

	(void)state;
	snpfix_chain_add(ev, "ASK", milan_ask_der, (size_t)milan_ask_len);
	snpfix_chain_add(ev, "ARK", milan_ark_der, (size_t)milan_ark_len);
	if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("milan with ASK/ARK: %s", err.msg);
	json_decref(claims);
	json_decref(ev);

	/* an ARK that is not the pinned one is refused */
	ev = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	pem = embedded_get("verifier/roots/amd/genoa/ark.pem", &len);
	snpfix_chain_add(ev, "ARK", pem, len);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "ARK");
	json_decref(ev);

	/* an ASK not signed by any pinned ARK is refused */
	ev = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	bad = xmalloc((size_t)milan_ask_len);
	memcpy(bad, milan_ask_der, (size_t)milan_ask_len);
	bad[milan_ask_len - 10] ^= 1;	/* inside the signature */
	snpfix_chain_add(ev, "ASK", bad, (size_t)milan_ask_len);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "not signed by any pinned AMD ARK");
	free(bad);
	json_decref(ev);

	/* the Genoa ASK with a Milan VCEK */
	ev = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	pem = embedded_get("verifier/roots/amd/genoa/ask.pem", &len);
	snpfix_chain_add(ev, "ASK", pem, len);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "not signed by the pinned ASK/ASVK of Genoa");
	json_decref(ev);
}

static void
test_wrong_chain(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	struct snp_report r;
	struct snp_certs c;

	(void)state;
	/* Genoa report (cpuid says Genoa) with the Milan VCEK */
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	snpfix_chain_add(ev, "VCEK", milan.vek, milan.vek_len);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "not signed by the pinned ASK/ASVK of Genoa");
	json_decref(ev);
	/* the same through a warm cache (Milan VCEK cached as Milan) */
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	assert_int_equal(snp_report_verify(&r, &c, T_OK, &err), 0);
	assert_int_equal(snp_report_parse(genoa.report, genoa.report_len, &r,
	    &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "chains to Milan, but the report is from a Genoa processor");

	/* Milan v2 report with the Genoa VCEK: it chains (to Genoa) but
	 * the signature is not by that key */
	ev = snpfix_evidence_for(milan.report, milan.report_len, genoa.vek,
	    genoa.vek_len, "VCEK");
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "does not verify under the VCEK key");
	json_decref(ev);

	/* not a certificate at all */
	ev = snpfix_evidence_for(milan.report, milan.report_len,
	    (const uint8_t *)"garbage", 7, "VCEK");
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "not a DER or PEM X.509 certificate");
	json_decref(ev);

	/* a pinned RSA cert posing as the VCEK */
	{
		size_t len;
		const unsigned char *pem = embedded_get(
		    "verifier/roots/amd/milan/ask.pem", &len);

		ev = snpfix_evidence_for(milan.report, milan.report_len, pem,
		    len, "VCEK");
		snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK,
		    &claims, &err), &err, "expected EC P-384");
		json_decref(ev);
	}
}

static void
test_validity(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	int64_t t;

	(void)state;
	ev = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	assert_int_equal(time_parse_rfc3339("2029-09-24T00:55:29Z", &t), 0);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, t, &claims,
	    &err), &err,
	    "has expired at 2029-09-24T00:55:29Z (valid until "
	    "2029-09-24T00:55:28Z)");
	assert_int_equal(time_parse_rfc3339("2029-09-24T00:55:28Z", &t), 0);
	assert_int_equal(snpfix_run_verify(ev, NULL, 0, NULL, 0, t, &claims,
	    &err), 0);
	json_decref(claims);
	assert_int_equal(time_parse_rfc3339("2022-09-24T00:55:27Z", &t), 0);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, t, &claims,
	    &err), &err, "not yet valid at 2022-09-24T00:55:27Z");
	json_decref(ev);
	/* Genoa: not valid before 2025-05-27 */
	assert_int_equal(time_parse_rfc3339("2025-01-01T00:00:00Z", &t), 0);
	snpfix_assert_err(snpfix_run_verify(genoa_evidence, NULL, 0, NULL, 0, t,
	    &claims, &err), &err, "not yet valid");
	assert_int_equal(time_parse_rfc3339("2040-01-01T00:00:00Z", &t), 0);
	snpfix_assert_err(snpfix_run_verify(genoa_evidence, NULL, 0, NULL, 0, t,
	    &claims, &err), &err, "expired");
}

/* ---- the DER extension reader ---- */

static void
test_ext_reader(void **state)
{
	static const uint8_t i1[] = { 0x02, 0x01, 0x0a };
	static const uint8_t i2[] = { 0x02, 0x02, 0x00, 0xd9 };
	static const uint8_t neg[] = { 0x02, 0x01, 0xd9 };
	static const uint8_t big[] = { 0x02, 0x02, 0x01, 0x00 };
	static const uint8_t trail[] = { 0x02, 0x01, 0x01, 0x00 };
	static const uint8_t notint[] = { 0x04, 0x01, 0x01 };
	static const uint8_t longlen[] = { 0x02, 0x81, 0x01, 0x01 };
	uint8_t v, raw[66], hw[64];
	size_t n;
	struct error err;
	struct amd_vek_ext e;

	(void)state;
	assert_int_equal(amd_certs_ext_int(i1, sizeof(i1), &v, &err), 0);
	assert_int_equal(v, 10);
	assert_int_equal(amd_certs_ext_int(i2, sizeof(i2), &v, &err), 0);
	assert_int_equal(v, 0xd9);
	snpfix_assert_err(amd_certs_ext_int(neg, sizeof(neg), &v, &err), &err,
	    "negative");
	snpfix_assert_err(amd_certs_ext_int(big, sizeof(big), &v, &err), &err,
	    "exceeds 255");
	snpfix_assert_err(amd_certs_ext_int(trail, sizeof(trail), &v, &err),
	    &err, "does not match");
	snpfix_assert_err(amd_certs_ext_int(notint, sizeof(notint), &v, &err),
	    &err, "not a DER INTEGER");
	snpfix_assert_err(amd_certs_ext_int(longlen, sizeof(longlen), &v, &err),
	    &err, "long-form");
	snpfix_assert_err(amd_certs_ext_int(i1, 2, &v, &err), &err,
	    "too short");

	memset(raw, 0x5a, sizeof(raw));
	assert_int_equal(amd_certs_ext_hwid(raw, 64, hw, &n, &err), 0);
	assert_int_equal(n, 64);
	raw[0] = 0x04;
	raw[1] = 64;
	assert_int_equal(amd_certs_ext_hwid(raw, 66, hw, &n, &err), 0);
	assert_int_equal(n, 64);
	assert_int_equal(hw[0], 0x5a);
	snpfix_assert_err(amd_certs_ext_hwid(raw, 65, hw, &n, &err), &err,
	    "hwID extension is 65 bytes");

	/* the vectors' VCEKs */
	assert_int_equal(amd_certs_vek_ext(milan.vek, milan.vek_len, &e, &err),
	    0);
	assert_true(e.has_bl && e.has_tee && e.has_snp && e.has_ucode);
	assert_false(e.has_fmc);
	assert_int_equal(e.bl, 2);
	assert_int_equal(e.snp, 5);
	assert_int_equal(e.ucode, 68);
	assert_int_equal(e.hwid_len, 64);
	assert_memory_equal(e.hwid, milan.report + 0x1a0, 64);
	assert_int_equal(amd_certs_vek_ext(genoa.vek, genoa.vek_len, &e, &err),
	    0);
	assert_int_equal(e.bl, 10);
	assert_int_equal(e.snp, 23);
	assert_int_equal(e.ucode, 25);
	assert_memory_equal(e.hwid, genoa.report + 0x1a0, 64);
	snpfix_assert_err(amd_certs_vek_ext(genoa.vek, genoa.vek_len - 1, &e,
	    &err), &err, "not a DER or PEM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_evidence_ask_ark, snpfix_reset),
		cmocka_unit_test_setup(test_wrong_chain, snpfix_reset),
		cmocka_unit_test_setup(test_validity, snpfix_reset),
		cmocka_unit_test_setup(test_ext_reader, snpfix_reset),
	};

	return cmocka_run_group_tests_name("snp_chain", tests, snpfix_setup,
	    snpfix_teardown);
}
