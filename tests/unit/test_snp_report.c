/*
 * test_snp_report.c: AMD SEV-SNP reports and evidence the verifier
 * refuses: flipped bytes (the vector neg-snp-milan-measurement among
 * them), report data and init data that do not match, truncated or
 * malformed reports, forged fields, and malformed evidence JSON. Each
 * case checks the precise error by substring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"
#include "snpfix.h"

static void
test_flipped_byte(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE];
	json_t *ev, *claims = NULL;
	struct error err;
	size_t offs[] = { 0x00 + 4, 0x50, 0x90, 0x1a0, 0x1f0, 0x2a0,
	    0x2e8 + 5 };
	struct snp_report r;
	struct snp_certs c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		memcpy(buf, milan.report, sizeof(buf));
		buf[offs[i]] ^= 0x01;
		ev = snpfix_evidence_for(buf, sizeof(buf), milan.vek,
		    milan.vek_len, "VCEK");
		snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK,
		    &claims, &err), &err, "report signature");
		assert_null(claims);
		json_decref(ev);
	}
	/* a reserved byte inside the signed region: the JSON form drops
	 * reserved bytes (as the sev crate does), the raw form keeps them */
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x29f] ^= 0x80;
	assert_int_equal(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature");
	ev = snpfix_evidence_for(buf, sizeof(buf), milan.vek, milan.vek_len,
	    "VCEK");
	assert_int_equal(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), 0);
	json_decref(claims);
	claims = NULL;
	json_decref(ev);
	/* the vector with MEASUREMENT[0] flipped */
	ev = snpfix_evidence_for(neg_report, neg_report_len, milan.vek,
	    milan.vek_len, "VCEK");
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err,
	    "report signature (ECDSA P-384/SHA-384 over bytes "
	    "0x000..0x29F) does not verify under the VCEK key");
	json_decref(ev);
	/* the unsigned r/s padding must be zero */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x2a0 + 60] = 1;
	ev = snpfix_evidence_for(buf, sizeof(buf), milan.vek, milan.vek_len,
	    "VCEK");
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "bytes 48..71 are not zero");
	json_decref(ev);
}

static void
test_binding(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	uint8_t rd[64] = { 1, 2, 3, 4, 6 }, id[32] = { 0 };

	(void)state;
	ev = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	snpfix_assert_err(snpfix_run_verify(ev, rd, sizeof(rd), NULL, 0, T_OK,
	    &claims, &err), &err,
	    "report data does not match the expected value "
	    "(nonce/session binding)");
	assert_null(claims);
	/* longer than 64: truncated, so a 65th byte does not matter */
	{
		uint8_t big[65] = { 1, 2, 3, 4, 5 };

		big[64] = 0xff;
		assert_int_equal(snpfix_run_verify(ev, big, sizeof(big), NULL,
		    0, T_OK, &claims, &err), 0);
		json_decref(claims);
		claims = NULL;
	}
	id[0] = 0xaa;
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, id, sizeof(id), T_OK,
	    &claims, &err), &err, "init data hash does not match HOST_DATA");
	/* a 48-byte hash is truncated to 32: still all-zero must match */
	{
		uint8_t id48[48] = { 0 };

		id48[40] = 0x55;	/* beyond 32: ignored */
		assert_int_equal(snpfix_run_verify(ev, NULL, 0, id48,
		    sizeof(id48), T_OK, &claims, &err), 0);
		json_decref(claims);
	}
	json_decref(ev);
}

static void
test_structure(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE + 1];
	struct snp_report r;
	struct error err;
	json_t *ev;

	(void)state;
	snpfix_assert_err(snp_report_parse(milan.report, 1183, &r, &err), &err,
	    "truncated");
	snpfix_assert_err(snp_report_parse(milan.report, 0, &r, &err), &err,
	    "truncated");
	memcpy(buf, milan.report, SNP_REPORT_SIZE);
	buf[SNP_REPORT_SIZE] = 0;
	snpfix_assert_err(snp_report_parse(buf, sizeof(buf), &r, &err), &err,
	    "1 trailing bytes");
	ev = NULL;
	snpfix_assert_err(verifier_snp.wrap_raw(buf, sizeof(buf), &ev, &err),
	    &err, "trailing");
	assert_null(ev);
	buf[0x0f] = 0x80;	/* policy bit 63: no JSON integer for it */
	snpfix_assert_err(verifier_snp.wrap_raw(buf, SNP_REPORT_SIZE, &ev,
	    &err), &err, "bit 63 set");
	assert_null(ev);
	buf[0x0f] = 0;
	buf[0] = 1;
	snpfix_assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err),
	    &err, "unsupported SNP report version 1");
	buf[0] = 6;
	snpfix_assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err),
	    &err, "unsupported SNP report version 6");
	buf[0] = 2;
	buf[3] = 1;	/* 0x01000002 */
	snpfix_assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err),
	    &err, "unsupported SNP report version 16777218");
}

static void
test_report_fields(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE];
	struct snp_report r;
	struct snp_certs c;
	struct error err;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	/*
	 * Forged content (VMPL 1, another cpuid) without re-signing: refused
	 * for the signature, never for the field. The VMPL of a genuine
	 * report is not the verifier's business (a claim for the policy);
	 * an unknown processor is refused only once the report is genuine.
	 */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x30] = 1;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature (ECDSA P-384/SHA-384 over bytes 0x000..0x29F) "
	    "does not verify under the VCEK key");
	{
		json_t *ev = snpfix_evidence_for(buf, sizeof(buf), milan.vek,
		    milan.vek_len, "VCEK"), *claims = NULL;

		snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK,
		    &claims, &err), &err, "report signature");
		assert_null(claims);
		json_decref(ev);
	}
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.vmpl = 2;	/* as from a guest behind an SVSM: judged by policy */
	assert_int_equal(snp_report_verify(&r, &c, T_OK, &err), 0);
	{
		json_t *claims = snp_report_claims(&r);

		assert_int_equal(json_integer_value(json_object_get(claims,
		    "vmpl")), 2);
		json_decref(claims);
	}
	memcpy(buf, genoa.report, sizeof(buf));
	buf[0x188] = 0x17;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature");
	/* sig_algo must be 1 */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x34] = 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "signature algorithm 2 is not supported");
	/* signing_key must be VCEK or VLEK */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x48] = 2 << 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "neither VCEK (0) nor VLEK (1)");
	/* a VLEK-signed report cannot be verified with a VCEK */
	buf[0x48] = 1 << 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "signed with a VLEK (key_info signing_key 1), but the "
	    "certificate is a VCEK");
	/* unknown processor, in a genuine report (the parsed field) */
	memset(&c, 0, sizeof(c));
	c.vek = genoa.vek;
	c.vek_len = genoa.vek_len;
	assert_int_equal(snp_report_parse(genoa.report, genoa.report_len, &r,
	    &err), 0);
	r.cpuid_fam_id = 0x17;
	r.product = SNP_PRODUCT_UNKNOWN;
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "unsupported processor: cpuid family 0x17");
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;

	/*
	 * The TCB and hwID checks run after the signature; exercise them by
	 * changing the parsed fields (not the signed bytes).
	 */
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.reported_tcb.raw ^= (uint64_t)1 << 56;	/* microcode 68 -> 69 */
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "VCEK TCB does not match REPORTED_TCB: ucodeSPL is 68 in the "
	    "certificate, 69 in the report");
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.reported_tcb.raw ^= 1;			/* bootloader 2 -> 3 */
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "blSPL is 2 in the certificate, 3 in the report");
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.chip_id[63] ^= 1;
	snpfix_assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "VCEK hwID does not match the report's CHIP_ID");
}

/* ---- evidence JSON errors ---- */

static void
test_json_errors(void **state)
{
	json_t *ev, *rep, *claims = NULL;
	struct error err;

	(void)state;
	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_del(rep, "measurement");
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "attestation_report: measurement is missing");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_array_set_new(json_object_get(rep, "chip_id"), 3,
	    json_integer(256));
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "chip_id[3] is not a byte");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_array_remove(json_object_get(rep, "report_data"), 0);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "report_data has 63 bytes, expected 64");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_set_new(json_object_get(rep, "reported_tcb"), "fmc",
	    json_integer(1));
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "fmc is set, but the processor is not a Turin");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_set_new(rep, "version", json_integer(1));
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "unsupported SNP report version 1");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_string("x"));
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "cert_chain is neither null nor an array");
	json_decref(ev);

	ev = json_pack("{s:i}", "x", 1);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "no attestation_report");
	json_decref(ev);
	assert_null(claims);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_flipped_byte, snpfix_reset),
		cmocka_unit_test_setup(test_binding, snpfix_reset),
		cmocka_unit_test_setup(test_structure, snpfix_reset),
		cmocka_unit_test_setup(test_report_fields, snpfix_reset),
		cmocka_unit_test_setup(test_json_errors, snpfix_reset),
	};

	return cmocka_run_group_tests_name("snp_report", tests, snpfix_setup,
	    snpfix_teardown);
}
