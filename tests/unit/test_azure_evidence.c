/*
 * test_azure_evidence.c: the forms of Azure vTPM evidence on the real
 * tdx-v4-azure-nocollateral vector: the v0 evidence file (JSON byte
 * arrays) decodes to exactly the separate vector files, the v1/v2
 * encoding (hex TPM members, base64url blobs) to the same data, and raw
 * evidence detection (verifier.c) tells each kind of report and quote
 * apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/b64.h"
#include "../../lib/jwk.h"
#include "../../lib/util.h"
#include "../../verifier/hcl.h"
#include "../../verifier/tpm.h"
#include "../../verifier/verifier.h"
#include "testutil.h"
#include "azurefix.h"

/* The v0 evidence file decodes to exactly the separate vector files. */
static void
test_hcl_evidence_v0(void **state)
{
	struct error err = { "" };
	struct hcl_evidence e;
	uint8_t *hcl, *quote, *att, *sig, *pcrs;
	size_t hlen, qlen, alen, slen, plen, i;
	json_t *ev = testutil_vec_json(AZ_TDX_DIR "/evidence.json");
	char *line, *save = NULL;

	(void)state;
	hcl = testutil_vec_read(AZ_TDX_DIR "/hcl_report.bin", &hlen);
	quote = testutil_vec_read(AZ_TDX_DIR "/quote.bin", &qlen);
	att = testutil_vec_read(AZ_TDX_DIR "/tpm_quote_attest.bin", &alen);
	sig = testutil_vec_read(AZ_TDX_DIR "/tpm_quote_sig.bin", &slen);
	pcrs = testutil_vec_read(AZ_TDX_DIR "/tpm_pcrs_sha256.txt", &plen);

	assert_int_equal(hcl_evidence_parse(ev, 1, &e, &err), 0);
	assert_int_equal(e.version, 0);
	assert_int_equal(e.hcl_len, hlen);
	assert_memory_equal(e.hcl, hcl, hlen);
	assert_int_equal(e.hw_len, qlen);
	assert_memory_equal(e.hw, quote, qlen);
	assert_int_equal(e.tpm_msg_len, alen);
	assert_memory_equal(e.tpm_msg, att, alen);
	assert_int_equal(e.tpm_sig_len, slen);
	assert_memory_equal(e.tpm_sig, sig, slen);
	assert_int_equal(e.npcrs, 24);
	for (i = 0, line = strtok_r((char *)pcrs, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		char hex[65];

		assert_true(i < 24);
		hex_encode(e.pcrs[i], 32, hex);
		assert_string_equal(hex, line);
	}
	assert_int_equal(i, 24);
	hcl_evidence_free(&e);

	/* The same evidence with the az-snp-vtpm field names is refused
	 * (no "quote"). */
	assert_int_equal(hcl_evidence_parse(ev, 0, &e, &err), -1);
	azurefix_assert_err_has(&err, "`quote`");

	/* Broken members. */
	{
		json_t *c = json_deep_copy(ev);

		json_array_set_new(json_object_get(c, "hcl_report"), 3,
		    json_integer(256));
		assert_int_equal(hcl_evidence_parse(c, 1, &e, &err), -1);
		azurefix_assert_err_has(&err, "hcl_report[3]");
		json_decref(c);
		c = json_deep_copy(ev);
		json_array_append_new(json_object_get(json_object_get(c,
		    "tpm_quote"), "pcrs"), json_array());
		assert_int_equal(hcl_evidence_parse(c, 1, &e, &err), -1);
		azurefix_assert_err_has(&err, "pcrs");
		json_decref(c);
		c = json_deep_copy(ev);
		json_object_del(c, "td_quote");
		assert_int_equal(hcl_evidence_parse(c, 1, &e, &err), -1);
		azurefix_assert_err_has(&err, "td_quote");
		json_decref(c);
		c = json_deep_copy(ev);
		json_object_set_new(c, "version", json_integer(3));
		assert_int_equal(hcl_evidence_parse(c, 1, &e, &err), -1);
		azurefix_assert_err_has(&err, "version");
		json_decref(c);
	}
	json_decref(ev);
	free(hcl);
	free(quote);
	free(att);
	free(sig);
	free(pcrs);
}

/* v1/v2 encoding (hex TPM members, base64url blobs) of the same data. */
static json_t *
evidence_v2_from_v0(const json_t *v0, int version, int pad)
{
	struct error err = { "" };
	struct hcl_evidence e;
	json_t *out, *q, *pcrs;
	char *s, hex[65];
	size_t i;

	assert_int_equal(hcl_evidence_parse(v0, 1, &e, &err), 0);
	pcrs = json_array();
	for (i = 0; i < e.npcrs; i++) {
		hex_encode(e.pcrs[i], 32, hex);
		json_array_append_new(pcrs, json_string(hex));
	}
	q = json_object();
	s = xmalloc(2 * e.tpm_sig_len + 1);
	hex_encode(e.tpm_sig, e.tpm_sig_len, s);
	json_object_set_new(q, "signature", json_string(s));
	free(s);
	s = xmalloc(2 * e.tpm_msg_len + 1);
	hex_encode(e.tpm_msg, e.tpm_msg_len, s);
	json_object_set_new(q, "message", json_string(s));
	free(s);
	json_object_set_new(q, "pcrs", pcrs);
	out = json_object();
	json_object_set_new(out, "version", json_integer(version));
	json_object_set_new(out, "tpm_quote", q);
	s = b64_encode(e.hcl, e.hcl_len, pad ? B64_URL : B64_URL_NOPAD);
	json_object_set_new(out, "hcl_report", json_string(s));
	free(s);
	s = b64_encode(e.hw, e.hw_len, pad ? B64_URL : B64_URL_NOPAD);
	json_object_set_new(out, "td_quote", json_string(s));
	free(s);
	hcl_evidence_free(&e);
	return out;
}

static void
test_hcl_evidence_v2(void **state)
{
	struct error err = { "" };
	struct hcl_evidence a, b;
	json_t *v0 = testutil_vec_json(AZ_TDX_DIR "/evidence.json"), *v2;

	(void)state;
	assert_int_equal(hcl_evidence_parse(v0, 1, &a, &err), 0);
	for (int pad = 0; pad < 2; pad++) {
		v2 = evidence_v2_from_v0(v0, 2 - pad, pad);
		assert_int_equal(hcl_evidence_parse(v2, 1, &b, &err), 0);
		assert_int_equal(b.version, 2 - pad);
		assert_int_equal(b.hcl_len, a.hcl_len);
		assert_memory_equal(b.hcl, a.hcl, a.hcl_len);
		assert_int_equal(b.hw_len, a.hw_len);
		assert_memory_equal(b.hw, a.hw, a.hw_len);
		assert_int_equal(b.tpm_msg_len, a.tpm_msg_len);
		assert_memory_equal(b.tpm_msg, a.tpm_msg, a.tpm_msg_len);
		assert_int_equal(b.npcrs, a.npcrs);
		assert_memory_equal(b.pcrs, a.pcrs, sizeof(a.pcrs));
		hcl_evidence_free(&b);
		/* Not hex. */
		json_object_set_new(json_object_get(v2, "tpm_quote"),
		    "message", json_string("zz"));
		assert_int_equal(hcl_evidence_parse(v2, 1, &b, &err), -1);
		azurefix_assert_err_has(&err, "tpm_quote.message");
		json_decref(v2);
	}
	hcl_evidence_free(&a);
	json_decref(v0);
}

/* Raw evidence detection (verifier.c). */
static void
test_detect_raw(void **state)
{
	uint8_t *d;
	size_t len;
	uint8_t buf[1184];

	(void)state;
	d = testutil_vec_read("snp-milan-vcek/report.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "snp");
	assert_null(verifier_detect_raw(d, len - 1));
	memcpy(buf, d, sizeof(buf));
	buf[0x34] = 2;				/* sig_algo */
	assert_null(verifier_detect_raw(buf, sizeof(buf)));
	memcpy(buf, d, sizeof(buf));
	buf[0] = 6;				/* version */
	assert_null(verifier_detect_raw(buf, sizeof(buf)));
	free(d);
	d = testutil_vec_read("snp-genoa-vcek-2/report.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "snp");
	free(d);
	d = testutil_vec_read("tdx-v4-uptodate/quote.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "tdx");
	assert_string_equal(verifier_detect_raw(d, 48), "tdx");
	assert_null(verifier_detect_raw(d, 47));
	d[2] = 3;				/* att_key_type */
	assert_null(verifier_detect_raw(d, len));
	free(d);
	d = testutil_vec_read("tdx-v5-td15-tcb-notsupported/quote.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "tdx");
	d[4] = 0x82;				/* tee_type */
	assert_null(verifier_detect_raw(d, len));
	free(d);
	d = testutil_vec_read("sgx-v3-collateral/quote.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "sgx");
	free(d);
	d = testutil_vec_read("tpm-quote-rsa/quote_attest.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "tpm");
	free(d);
	d = testutil_vec_read(AZ_TDX_DIR "/tpm_quote_attest.bin", &len);
	assert_string_equal(verifier_detect_raw(d, len), "tpm");
	free(d);
	d = testutil_vec_read(AZ_TDX_DIR "/hcl_report.bin", &len);
	assert_null(verifier_detect_raw(d, len));
	free(d);
	assert_null(verifier_detect_raw(NULL, 0));
	assert_null(verifier_detect_raw((const uint8_t *)"\xff\x54\x43", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hcl_evidence_v0),
		cmocka_unit_test(test_hcl_evidence_v2),
		cmocka_unit_test(test_detect_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
