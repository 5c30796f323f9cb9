/*
 * test_azure_vtpm.c: the Azure vTPM verifiers (az_snp_vtpm.c,
 * az_tdx_vtpm.c) and their vTPM quote and bindings.
 *
 * Synthetic data (there is no az-snp-vtpm vector): HCL reports built here
 * around our own RSA attestation key and a TPMS_ATTEST signed with it, to
 * exercise the vTPM and binding logic. An SNP report inside them cannot
 * carry a real AMD signature, so the az-snp-vtpm tests show that
 * everything up to the SNP signature passes and that the SNP check then
 * rejects the report.
 *
 * Real data: the tdx-v4-azure-nocollateral vector. Its TD quote has no
 * collateral, so the full az-tdx-vtpm verification must stop at the DCAP
 * collateral step; every check before it runs on the real bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../../lib/b64.h"
#include "../../lib/jwk.h"
#include "../../lib/util.h"
#include "../../verifier/hcl.h"
#include "../../verifier/tpm.h"
#include "../../verifier/verifier.h"
#include "testutil.h"
#include "azurefix.h"

/* ------------------------------------------- synthetic vTPM evidence */

/*
 * A synthetic Azure vTPM world: our own RSA AK in an HCL report around a
 * given hardware report, a TPMS_ATTEST over 24 SHA-256 PCRs (PCR8 =
 * SHA-256(0^32 || init)) with extraData = nonce, signed with the AK
 * (RSASSA-PKCS1-v1_5 / SHA-256, as the Azure vTPM does).
 */
struct synth {
	EVP_PKEY *ak;
	uint8_t *hcl;
	size_t hcl_len;
	uint8_t attest[256];
	size_t attest_len;
	uint8_t sig[512];
	size_t sig_len;
	uint8_t pcrs[24][32];
	uint8_t nonce[64];
	size_t nonce_len;
	uint8_t init[32];
};

static void
put_be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
synth_sign(struct synth *s, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	s->sig_len = sizeof(s->sig);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    key), 1);
	assert_int_equal(EVP_DigestSign(md, s->sig, &s->sig_len, s->attest,
	    s->attest_len), 1);
	EVP_MD_CTX_free(md);
}

/* Build the TPMS_ATTEST for s->pcrs and s->nonce, and sign it. */
static void
synth_quote(struct synth *s)
{
	uint8_t *p = s->attest, all[24 * 32];
	size_t i;

	memcpy(p, "\xff\x54\x43\x47\x80\x18", 6);	/* magic, type */
	p += 6;
	put_be16(p, 34);				/* qualifiedSigner */
	p += 2;
	put_be16(p, 0x000b);
	memset(p + 2, 0x5a, 32);
	p += 34;
	put_be16(p, (unsigned)s->nonce_len);		/* extraData */
	memcpy(p + 2, s->nonce, s->nonce_len);
	p += 2 + s->nonce_len;
	memset(p, 0, 17);				/* clockInfo */
	p[16] = 1;
	p += 17;
	memset(p, 0x20, 8);				/* firmwareVersion */
	p += 8;
	memcpy(p, "\x00\x00\x00\x01\x00\x0b\x03\xff\xff\xff", 10);
	p += 10;					/* PCR selection */
	for (i = 0; i < 24; i++)
		memcpy(all + 32 * i, s->pcrs[i], 32);
	put_be16(p, 32);				/* pcrDigest */
	SHA256(all, sizeof(all), p + 2);
	p += 34;
	s->attest_len = (size_t)(p - s->attest);
	synth_sign(s, s->ak);
}

/* The HCL report: header, hw report (1184 bytes), request data, var data
 * {"keys":[HCLAkPub], "user-data": hex(user)}. */
static void
synth_hcl(struct synth *s, uint32_t type, const uint8_t *hw, size_t hwlen,
    const uint8_t *user, size_t userlen)
{
	json_t *jwk = jwk_from_pkey(s->ak, NULL), *var;
	char *vs, uhex[129];
	size_t vlen;

	assert_non_null(jwk);
	json_object_set_new(jwk, "kid", json_string("HCLAkPub"));
	var = json_pack("{s:[o], s:{s:b}}", "keys", jwk, "vm-configuration",
	    "tpm-enabled", 1);
	if (user != NULL) {
		hex_encode(user, userlen, uhex);
		json_object_set_new(var, "user-data", json_string(uhex));
	}
	vs = json_dumps(var, JSON_COMPACT);
	json_decref(var);
	vlen = strlen(vs);
	s->hcl_len = HCL_VAR_DATA_OFF + vlen + 64;
	s->hcl = xcalloc(1, s->hcl_len);
	memcpy(s->hcl, "HCLA", 4);
	azurefix_put_le32(s->hcl + 4, 2);
	azurefix_put_le32(s->hcl + 8, (uint32_t)(HCL_VAR_DATA_OFF + vlen));
	azurefix_put_le32(s->hcl + 12, 2);
	memcpy(s->hcl + HCL_HW_REPORT_OFF, hw, hwlen);
	azurefix_put_le32(s->hcl + HCL_REQ_DATA_OFF, (uint32_t)(20 + vlen));
	azurefix_put_le32(s->hcl + HCL_REQ_DATA_OFF + 4, 1);
	azurefix_put_le32(s->hcl + HCL_REQ_DATA_OFF + 8, type);
	azurefix_put_le32(s->hcl + HCL_REQ_DATA_OFF + 12, HCL_HASH_SHA256);
	azurefix_put_le32(s->hcl + HCL_REQ_DATA_OFF + 16, (uint32_t)vlen);
	memcpy(s->hcl + HCL_VAR_DATA_OFF, vs, vlen);
	free(vs);
}

static void
synth_init(struct synth *s, size_t nonce_len)
{
	uint8_t buf[64];
	size_t i;

	memset(s, 0, sizeof(*s));
	s->ak = EVP_RSA_gen(2048);
	assert_non_null(s->ak);
	for (i = 0; i < 24; i++)
		memset(s->pcrs[i], (int)i, 32);
	memset(s->init, 0x42, 32);
	memset(buf, 0, 32);
	memcpy(buf + 32, s->init, 32);
	SHA256(buf, 64, s->pcrs[8]);
	s->nonce_len = nonce_len;
	for (i = 0; i < nonce_len; i++)
		s->nonce[i] = (uint8_t)(0xa0 + i);
}

static void
synth_free(struct synth *s)
{
	EVP_PKEY_free(s->ak);
	free(s->hcl);
}

static char *
hexdup(const uint8_t *p, size_t n)
{
	char *s = xmalloc(2 * n + 1);

	hex_encode(p, n, s);
	return s;
}

/* v2 (or v1) evidence JSON; hwname "vcek" or "td_quote". */
static json_t *
synth_evidence(const struct synth *s, int version, const char *hwname,
    const uint8_t *hw, size_t hwlen)
{
	json_t *pcrs = json_array(), *ev;
	char *sig = hexdup(s->sig, s->sig_len);
	char *msg = hexdup(s->attest, s->attest_len);
	char *hcl = b64_encode(s->hcl, s->hcl_len, B64_URL);
	char *hwb = b64_encode(hw, hwlen, B64_URL_NOPAD);
	size_t i;

	for (i = 0; i < 24; i++) {
		char *h = hexdup(s->pcrs[i], 32);

		json_array_append_new(pcrs, json_string(h));
		free(h);
	}
	ev = json_pack("{s:i, s:{s:s, s:s, s:o}, s:s, s:s}", "version",
	    version, "tpm_quote", "signature", sig, "message", msg, "pcrs",
	    pcrs, "hcl_report", hcl, hwname, hwb);
	free(sig);
	free(msg);
	free(hcl);
	free(hwb);
	assert_non_null(ev);
	return ev;
}

/* The vTPM quote and the bindings on synthetic data: every check passes
 * for the right values and each fails for a wrong one. */
static void
test_hcl_tpm_bindings(void **state)
{
	struct error err = { "" };
	struct synth s;
	struct hcl_evidence e;
	struct hcl_report h;
	struct tpm_attest att;
	struct verifier_input in;
	uint8_t hw[HCL_HW_REPORT_LEN] = { 0 };
	json_t *ev, *claims;
	char hex[65];

	(void)state;
	synth_init(&s, 48);
	synth_quote(&s);
	synth_hcl(&s, HCL_REPORT_TYPE_TDX, hw, sizeof(hw), s.nonce, 64);
	ev = synth_evidence(&s, 2, "td_quote", hw, 16);
	assert_int_equal(hcl_evidence_parse(ev, 1, &e, &err), 0);
	assert_int_equal(e.version, 2);
	assert_int_equal(hcl_report_parse(e.hcl, e.hcl_len,
	    HCL_REPORT_TYPE_TDX, &h, &err), 0);
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), 0);
	assert_int_equal(att.extra_data_len, 48);

	memset(&in, 0, sizeof(in));
	in.report_data = s.nonce;
	in.report_data_len = 48;
	in.init_data_hash = s.init;
	in.init_data_hash_len = 32;
	claims = json_object();
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    0);
	hex_encode(s.pcrs[8], 32, hex);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "init_data")), hex);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(claims, "tpm"), "pcr08")), hex);
	assert_int_equal(json_object_size(json_object_get(claims, "tpm")), 24);
	{
		char *n = hexdup(s.nonce, 48);

		assert_string_equal(json_string_value(json_object_get(claims,
		    "report_data")), n);
		free(n);
	}
	json_decref(claims);

	/* Wrong nonce: exact compare (no padding, no truncation). */
	claims = json_object();
	in.report_data_len = 32;
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    -1);
	azurefix_assert_err_has(&err,
	    "report data does not match the vTPM quote");
	in.report_data_len = 48;
	s.nonce[0] ^= 1;
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    -1);
	azurefix_assert_err_has(&err,
	    "report data does not match the vTPM quote");
	s.nonce[0] ^= 1;
	/* Wrong init data, and not 32 bytes. */
	s.init[5] ^= 1;
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    -1);
	azurefix_assert_err_has(&err, "PCR8");
	s.init[5] ^= 1;
	in.init_data_hash_len = 48;
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    -1);
	azurefix_assert_err_has(&err, "32 bytes");
	in.init_data_hash_len = 32;
	json_decref(claims);
	hcl_report_free(&h);
	hcl_evidence_free(&e);
	json_decref(ev);

	/* v2: user-data must start with the report data. */
	free(s.hcl);
	{
		uint8_t other[64];

		memset(other, 0x77, sizeof(other));
		synth_hcl(&s, HCL_REPORT_TYPE_TDX, hw, sizeof(hw), other, 64);
	}
	ev = synth_evidence(&s, 2, "td_quote", hw, 16);
	assert_int_equal(hcl_evidence_parse(ev, 1, &e, &err), 0);
	assert_int_equal(hcl_report_parse(e.hcl, e.hcl_len, 0, &h, &err), 0);
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), 0);
	claims = json_object();
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    -1);
	azurefix_assert_err_has(&err, "user-data");
	/* ... which v1 evidence does not check. */
	e.version = 1;
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    0);
	json_decref(claims);

	/* A PCR that is not what was quoted. */
	e.pcrs[3][0] ^= 1;
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), -1);
	azurefix_assert_err_has(&err, "vTPM quote");
	e.pcrs[3][0] ^= 1;
	/* Fewer PCRs than selected. */
	e.npcrs = 23;
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), -1);
	e.npcrs = 24;
	/* The message changed after signing. */
	e.tpm_msg[10] ^= 1;
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), -1);
	azurefix_assert_err_has(&err, "vTPM quote");
	e.tpm_msg[10] ^= 1;
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), 0);
	hcl_report_free(&h);
	hcl_evidence_free(&e);
	json_decref(ev);

	/* Signed by another key than HCLAkPub. */
	{
		EVP_PKEY *other = EVP_RSA_gen(2048);

		synth_sign(&s, other);
		EVP_PKEY_free(other);
	}
	ev = synth_evidence(&s, 2, "td_quote", hw, 16);
	assert_int_equal(hcl_evidence_parse(ev, 1, &e, &err), 0);
	assert_int_equal(hcl_report_parse(e.hcl, e.hcl_len, 0, &h, &err), 0);
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), -1);
	azurefix_assert_err_has(&err, "vTPM quote");
	hcl_report_free(&h);
	hcl_evidence_free(&e);
	json_decref(ev);
	synth_free(&s);
}

/*
 * az-snp-vtpm end to end on synthetic evidence around the REAL Milan
 * report and VCEK (there is no Azure SNP vector): the vTPM quote, the
 * SNP signature, the VCEK chain and TCB all pass, and then the HCL
 * binding rejects it, because that report's REPORT_DATA is not
 * SHA-256(our variable data). Making REPORT_DATA match breaks the AMD
 * signature instead. So the whole path runs on real SNP data, but a
 * passing az-snp-vtpm verification cannot be shown without real Azure
 * evidence.
 */
static void
test_az_snp_vtpm_synthetic(void **state)
{
	struct error err = { "" };
	struct synth s;
	struct verifier_input in;
	uint8_t *report, *vcek;
	size_t rlen, vlen;
	json_t *ev, *claims = NULL;
	int64_t now;
	const struct verifier_backend *b = verifier_lookup("az-snp-vtpm");

	(void)state;
	assert_non_null(b);
	assert_int_equal(time_parse_rfc3339("2026-01-01T00:00:00Z", &now), 0);
	report = testutil_vec_read("snp-milan-vcek/report.bin", &rlen);
	vcek = testutil_vec_read("snp-milan-vcek/vcek.der", &vlen);
	assert_int_equal(rlen, HCL_HW_REPORT_LEN);
	synth_init(&s, 32);
	synth_quote(&s);
	synth_hcl(&s, HCL_REPORT_TYPE_SNP, report, rlen, s.nonce, 32);
	ev = synth_evidence(&s, 2, "vcek", vcek, vlen);

	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.now = now;
	/* Report data is required. */
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	assert_null(claims);
	azurefix_assert_err_has(&err, "report data");
	in.report_data = s.nonce;
	in.report_data_len = 32;
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	assert_null(claims);
	azurefix_assert_err_has(&err, "not bound to the SNP report");

	/* Forged content in the SNP report (VMPL 1), not re-signed: refused
	 * for the AMD signature, never for the VMPL (a claim the policy
	 * judges), and before the HCL binding. */
	{
		json_t *forged;

		s.hcl[HCL_HW_REPORT_OFF + 0x30] = 1;
		forged = synth_evidence(&s, 2, "vcek", vcek, vlen);
		in.evidence = forged;
		assert_int_equal(b->verify(&in, &claims, &err), -1);
		assert_null(claims);
		azurefix_assert_err_has(&err, "SNP report in the HCL report");
		azurefix_assert_err_has(&err, "report signature");
		json_decref(forged);
		s.hcl[HCL_HW_REPORT_OFF + 0x30] = 0;
		in.evidence = ev;
	}

	/* The same evidence for az-tdx-vtpm: no td_quote; with one, the
	 * HCL report type is wrong. */
	assert_int_equal(verifier_lookup("az-tdx-vtpm")->verify(&in, &claims,
	    &err), -1);
	azurefix_assert_err_has(&err, "td_quote");
	json_object_set_new(ev, "td_quote", json_string("AAAA"));
	assert_int_equal(verifier_lookup("az-tdx-vtpm")->verify(&in, &claims,
	    &err), -1);
	azurefix_assert_err_has(&err, "report type 2 (SNP)");
	json_decref(ev);

	/* REPORT_DATA = SHA-256(var data): the binding would hold, but the
	 * PSP's signature no longer does. */
	{
		struct hcl_report h;
		uint8_t *hcl = s.hcl;

		assert_int_equal(hcl_report_parse(hcl, s.hcl_len, 0, &h, &err),
		    0);
		memcpy(hcl + HCL_HW_REPORT_OFF + 0x50, h.var_data_sha256, 32);
		hcl_report_free(&h);
	}
	ev = synth_evidence(&s, 2, "vcek", vcek, vlen);
	in.evidence = ev;
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	azurefix_assert_err_has(&err, "SNP report in the HCL report");
	azurefix_assert_err_has(&err, "signature");
	json_decref(ev);

	/* A vTPM quote not signed by HCLAkPub is refused first. */
	s.attest[20] ^= 1;
	ev = synth_evidence(&s, 2, "vcek", vcek, vlen);
	in.evidence = ev;
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	azurefix_assert_err_has(&err, "vTPM quote");
	json_decref(ev);
	s.attest[20] ^= 1;

	/* v0 form: byte arrays and the VCEK as PEM; same outcome. */
	{
		json_t *q, *pcrs = json_array(), *arr;
		BIO *bio = BIO_new(BIO_s_mem());
		const uint8_t *dp = vcek;
		X509 *x = d2i_X509(NULL, &dp, (long)vlen);
		char *pem;
		long pemlen;
		size_t i;

		assert_non_null(x);
		PEM_write_bio_X509(bio, x);
		X509_free(x);
		pemlen = BIO_get_mem_data(bio, &pem);
		for (i = 0; i < 24; i++)
			json_array_append_new(pcrs, testutil_json_bytes(s.pcrs[i], 32));
		q = json_pack("{s:o, s:o, s:o}", "signature",
		    testutil_json_bytes(s.sig, s.sig_len), "message",
		    testutil_json_bytes(s.attest, s.attest_len), "pcrs", pcrs);
		arr = testutil_json_bytes(s.hcl, s.hcl_len);
		ev = json_pack("{s:o, s:o, s:s%}", "quote", q, "report", arr,
		    "vcek", pem, (size_t)pemlen);
		BIO_free(bio);
		assert_non_null(ev);
	}
	in.evidence = ev;
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	/* The patched REPORT_DATA above: the AMD signature fails. */
	azurefix_assert_err_has(&err, "signature");
	json_decref(ev);

	synth_free(&s);
	free(report);
	free(vcek);
}

/*
 * az-tdx-vtpm on the real Azure evidence: the vTPM quote verifies under
 * the real HCLAkPub with nonce "challenge" (checked directly), and the
 * verifier then stops at the TD quote, whose collateral is not available.
 */
static void
test_az_tdx_vtpm_real(void **state)
{
	struct error err = { "" };
	struct hcl_evidence e;
	struct hcl_report h;
	struct tpm_attest att;
	struct verifier_input in;
	json_t *ev = testutil_vec_json(AZ_TDX_DIR "/evidence.json");
	json_t *claims = NULL;
	const struct verifier_backend *b = verifier_lookup("az-tdx-vtpm");

	(void)state;
	assert_non_null(b);
	assert_int_equal(hcl_evidence_parse(ev, 1, &e, &err), 0);
	assert_int_equal(hcl_report_parse(e.hcl, e.hcl_len,
	    HCL_REPORT_TYPE_TDX, &h, &err), 0);
	assert_int_equal(hcl_verify_tpm_quote(&e, &h, &att, &err), 0);
	assert_int_equal(att.extra_data_len, 9);
	assert_memory_equal(att.extra_data, "challenge", 9);
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.report_data = (const uint8_t *)"challenge";
	in.report_data_len = 9;
	claims = json_object();
	assert_int_equal(hcl_check_bindings(&in, &e, &h, &att, claims, &err),
	    0);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "report_data")), "6368616c6c656e6765");
	json_decref(claims);
	claims = NULL;
	/* The TD quote's REPORT_DATA carries the HCL binding. */
	assert_int_equal(hcl_check_var_data_hash(&h, e.hw +
	    QUOTE_V4_REPORT_DATA_OFF, 64, "TD quote", &err), 0);
	hcl_report_free(&h);
	hcl_evidence_free(&e);

	/* No report data: refused up front. */
	in.report_data = NULL;
	in.report_data_len = 0;
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	azurefix_assert_err_has(&err, "report data");
	/* With it: stops at the TD quote (no collateral configured). */
	verifier_configure(NULL);
	in.report_data = (const uint8_t *)"challenge";
	in.report_data_len = 9;
	assert_int_equal(time_parse_rfc3339("2025-07-01T00:00:00Z", &in.now),
	    0);
	assert_int_equal(b->verify(&in, &claims, &err), -1);
	assert_null(claims);
	azurefix_assert_err_has(&err, "TD quote");
	/* A forged TD quote (the DEBUG attribute set, not re-signed): the
	 * quote signature, before any collateral is needed. */
	{
		json_t *forged = json_deep_copy(ev), *tq;
		size_t n;

		tq = json_object_get(forged, "td_quote");
		n = json_array_size(tq);
		assert_true(n > 48 + 120);
		json_array_set_new(tq, 48 + 120, json_integer(
		    json_integer_value(json_array_get(tq, 48 + 120)) | 1));
		in.evidence = forged;
		assert_int_equal(b->verify(&in, &claims, &err), -1);
		assert_null(claims);
		azurefix_assert_err_has(&err, "TD quote");
		azurefix_assert_err_has(&err, "quote signature");
		json_decref(forged);
		in.evidence = ev;
	}
	/* For az-snp-vtpm the v0 TDX field names do not fit. */
	assert_int_equal(verifier_lookup("az-snp-vtpm")->verify(&in, &claims,
	    &err), -1);
	azurefix_assert_err_has(&err, "`quote`");
	json_decref(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hcl_tpm_bindings),
		cmocka_unit_test(test_az_snp_vtpm_synthetic),
		cmocka_unit_test(test_az_tdx_vtpm_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
