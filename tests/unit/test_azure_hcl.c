/*
 * test_azure_hcl.c: the Azure HCL report parser (verifier/hcl.c) on the
 * real tdx-v4-azure-nocollateral vector: the report's fields, its
 * HCLAkPub and its binding to the TD quote; every malformed or
 * mismatched report refused with a precise error; and the init-data
 * binding through PCR8.
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

/* ------------------------------------------------- HCL report parsing */

static void
test_hcl_real_report(void **state)
{
	struct error err = { "" };
	struct hcl_report r;
	uint8_t *hcl, *quote, *pem;
	size_t hlen, qlen, plen;
	EVP_PKEY *want;
	BIO *bio;

	(void)state;
	hcl = testutil_vec_read(AZ_TDX_DIR "/hcl_report.bin", &hlen);
	quote = testutil_vec_read(AZ_TDX_DIR "/quote.bin", &qlen);
	pem = testutil_vec_read(AZ_TDX_DIR "/hcl_ak_pub.pem", &plen);
	assert_int_equal(hlen, 2600);

	assert_int_equal(hcl_report_parse(hcl, hlen, HCL_REPORT_TYPE_TDX, &r,
	    &err), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.report_type, HCL_REPORT_TYPE_TDX);
	assert_int_equal(r.hash_type, HCL_HASH_SHA256);
	assert_int_equal(r.req_data_size, 1221);
	assert_int_equal(r.var_data_len, 1201);
	assert_int_equal(r.report_size, HCL_VAR_DATA_OFF + 1201);
	assert_int_equal(r.hw_report_len, HCL_TDREPORT_LEN);
	assert_ptr_equal(r.var_data, hcl + HCL_VAR_DATA_OFF);

	/* The AK from the HCLAkPub JWK is the key in hcl_ak_pub.pem. */
	bio = BIO_new_mem_buf(pem, (int)plen);
	want = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(want);
	assert_non_null(r.ak_pub);
	assert_int_equal(EVP_PKEY_eq(r.ak_pub, want), 1);
	EVP_PKEY_free(want);

	/* SHA-256(var data) is what the TD quote signs in REPORTDATA, and
	 * the TDREPORT inside the HCL report carries the same. */
	assert_true(qlen > QUOTE_V4_REPORT_DATA_OFF + 64);
	assert_memory_equal(r.var_data_sha256,
	    quote + QUOTE_V4_REPORT_DATA_OFF, 32);
	assert_int_equal(hcl_check_var_data_hash(&r,
	    quote + QUOTE_V4_REPORT_DATA_OFF, 64, "TD quote", &err), 0);
	assert_memory_equal(r.hw_report_data,
	    quote + QUOTE_V4_REPORT_DATA_OFF, 64);

	/* user-data is 64 zero bytes in this report. */
	{
		uint8_t zero[64] = { 0 }, one[32] = { 1 };

		assert_non_null(r.user_data_hex);
		assert_int_equal(hcl_check_user_data(&r, zero, 64, &err), 0);
		assert_int_equal(hcl_check_user_data(&r, zero, 32, &err), 0);
		assert_int_equal(hcl_check_user_data(&r, one, 32, &err), -1);
		azurefix_assert_err_has(&err, "report data does not match");
		assert_int_equal(hcl_check_user_data(&r, zero, 48, &err), 0);
	}
	hcl_report_free(&r);

	/* Wrong expected type. */
	assert_int_equal(hcl_report_parse(hcl, hlen, HCL_REPORT_TYPE_SNP, &r,
	    &err), -1);
	azurefix_assert_err_has(&err, "expected 2 (SNP)");
	/* Any type accepted with 0. */
	assert_int_equal(hcl_report_parse(hcl, hlen, 0, &r, &err), 0);
	hcl_report_free(&r);

	free(hcl);
	free(quote);
	free(pem);
}

static void
test_hcl_negative(void **state)
{
	struct error err = { "" };
	struct hcl_report r;
	uint8_t *hcl, *m;
	size_t hlen;
	uint8_t quote_rd[32];

	(void)state;
	hcl = testutil_vec_read(AZ_TDX_DIR "/hcl_report.bin", &hlen);
	m = xmalloc(hlen);

	/* Truncated: shorter than the fixed part, and cut inside the
	 * variable data. */
	assert_int_equal(hcl_report_parse(hcl, 0, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "truncated");
	assert_int_equal(hcl_report_parse(hcl, HCL_VAR_DATA_OFF - 1, 0, &r,
	    &err), -1);
	azurefix_assert_err_has(&err, "truncated");
	assert_int_equal(hcl_report_parse(hcl, HCL_VAR_DATA_OFF + 1200, 0,
	    &r, &err), -1);
	azurefix_assert_err_has(&err, "overflows");
	assert_int_equal(hcl_report_parse(NULL, 0, 0, &r, &err), -1);

	/* Bad magic. */
	memcpy(m, hcl, hlen);
	m[0] = 'X';
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "bad signature");

	/* Variable data size overflow: past the buffer, huge, zero. */
	memcpy(m, hcl, hlen);
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 16,
	    (uint32_t)(hlen - HCL_VAR_DATA_OFF + 1));
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "overflows");
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 16, 0xffffffffu);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "out of range");
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 16, 0);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	/* Shorter than the JSON: the JSON is cut. */
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 16, 1000);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "not JSON");
	/* Longer, into the zero padding: parses (NULs stripped), but the
	 * hash no longer matches what the TEE signed. */
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 16, 1210);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), 0);
	memcpy(quote_rd, hcl + HCL_HW_REPORT_OFF +
	    HCL_TDREPORT_REPORT_DATA_OFF, 32);
	assert_int_equal(hcl_check_var_data_hash(&r, quote_rd, 32, "TD quote",
	    &err), -1);
	hcl_report_free(&r);

	/* Report type and hash type. */
	memcpy(m, hcl, hlen);
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 8, 3);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "neither SNP");
	memcpy(m, hcl, hlen);
	azurefix_put_le32(m + HCL_REQ_DATA_OFF + 12, 2);
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "hash type 2");

	/* Tampered variable data that still parses: vmUniqueId "6332..." ->
	 * "7332...": the hash no longer matches the signed report data. */
	memcpy(m, hcl, hlen);
	{
		char *p = memmem(m + HCL_VAR_DATA_OFF, 1201,
		    "6332533D", 8);

		assert_non_null(p);
		*p = '7';
	}
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), 0);
	assert_int_equal(hcl_check_var_data_hash(&r, quote_rd, 32, "TD quote",
	    &err), -1);
	azurefix_assert_err_has(&err, "not bound to the TD quote");
	hcl_report_free(&r);

	/* Tampered AK modulus (still base64url): a different key. */
	memcpy(m, hcl, hlen);
	{
		char *p = memmem(m + HCL_VAR_DATA_OFF, 1201, "yJsXgg", 6);

		assert_non_null(p);
		p[1] = 'K';
	}
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), 0);
	assert_int_equal(hcl_check_var_data_hash(&r, quote_rd, 32, "TD quote",
	    &err), -1);
	hcl_report_free(&r);

	/* Renamed AK: no HCLAkPub. */
	memcpy(m, hcl, hlen);
	{
		char *p = memmem(m + HCL_VAR_DATA_OFF, 1201, "HCLAkPub", 8);

		assert_non_null(p);
		p[3] = 'X';
	}
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "HCLAkPub");

	/* Broken JSON. */
	memcpy(m, hcl, hlen);
	m[HCL_VAR_DATA_OFF] = '[';
	assert_int_equal(hcl_report_parse(m, hlen, 0, &r, &err), -1);
	azurefix_assert_err_has(&err, "not JSON");

	free(m);
	free(hcl);
}

/* The init-data binding through PCR8. */
static void
test_hcl_init_data(void **state)
{
	struct error err = { "" };
	uint8_t expected[32], buf[64], pcr8[32];

	(void)state;
	memset(expected, 0xab, sizeof(expected));
	memset(buf, 0, 32);
	memcpy(buf + 32, expected, 32);
	SHA256(buf, 64, pcr8);
	assert_int_equal(hcl_check_init_data(pcr8, expected, 32, &err), 0);
	expected[31] ^= 1;
	assert_int_equal(hcl_check_init_data(pcr8, expected, 32, &err), -1);
	azurefix_assert_err_has(&err, "does not match PCR8");
	assert_int_equal(hcl_check_init_data(pcr8, expected, 48, &err), -1);
	azurefix_assert_err_has(&err, "32 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hcl_real_report),
		cmocka_unit_test(test_hcl_negative),
		cmocka_unit_test(test_hcl_init_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
