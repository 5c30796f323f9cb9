/*
 * fuzz_tpm_attest.c: the TPM 2.0 structure parsers and checks
 * (verifier/tpm*.c) on any bytes: TPMS_ATTEST, TPML_PCR_SELECTION and
 * TPMT_SIGNATURE, the PCR selection listing / digest check / claims on
 * what parses, signature verification against fixed RSA and EC keys (must
 * fail: the fuzzer cannot forge), and, when the input is JSON, the whole
 * "tpm" verifier.
 * Properties: no crash, no leak, a parsed structure only points inside
 * the input, a verification never succeeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tpm.h"
#include "verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_rsa, *fuzz_ec;

static void
fuzz_inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	if (n == 0)
		return;
	if (p < data || p + n > data + size)
		abort();
}

static void
fuzz_attest(const uint8_t *data, size_t size)
{
	struct tpm_attest a;
	struct error err;
	static uint8_t vals[TPM_MAX_PCRS * TPM_MAX_DIGEST];
	size_t n = 0;
	json_t *c;

	if (tpm_attest_parse(data, size, &a, &err) != 0)
		return;
	fuzz_inside(a.qualified_signer, a.qualified_signer_len, data, size);
	fuzz_inside(a.extra_data, a.extra_data_len, data, size);
	fuzz_inside(a.pcr_digest, a.pcr_digest_len, data, size);
	if (a.extra_data_len > TPM_MAX_DIGEST ||
	    a.pcr_digest_len > TPM_MAX_DIGEST)
		abort();
	if (tpm_pcr_selection_list(&a.pcr_select, NULL, NULL, TPM_MAX_PCRS,
	    &n, &err) != 0)
		return;
	(void)tpm_pcr_digest_check(&a, vals, n, 32, &err);
	c = json_object();
	(void)tpm_pcr_claims(c, &a, vals, n, 32, &err);
	json_decref(c);
}

static void
fuzz_sig(const uint8_t *data, size_t size)
{
	struct tpm_signature s;
	struct error err;

	if (tpm_signature_parse(data, size, &s, &err) != 0)
		return;
	fuzz_inside(s.sig, s.sig_len, data, size);
	fuzz_inside(s.r, s.r_len, data, size);
	fuzz_inside(s.s, s.s_len, data, size);
	if (tpm_signature_verify(&s, data, size, fuzz_rsa, &err) == 0 ||
	    tpm_signature_verify(&s, data, size, fuzz_ec, &err) == 0)
		abort();
}

static void
fuzz_json(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *ev = json_loadb((const char *)data, size, 0, &je), *c = NULL;
	static const uint8_t rd[48] = { 1, 2, 3 };
	static const uint8_t idh[32] = { 4, 5, 6 };
	struct verifier_input in = {
		.report_data = rd, .report_data_len = sizeof(rd),
		.init_data_hash = idh, .init_data_hash_len = sizeof(idh),
	};
	struct error err;

	if (ev == NULL)
		return;
	in.evidence = ev;
	if (verifier_tpm.verify(&in, &c, &err) == 0)
		abort();	/* no valid AK signature can come from here */
	if (c != NULL)
		abort();
	json_decref(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpm_pcr_selection sel;
	struct error err;

	if (fuzz_rsa == NULL) {
		fuzz_rsa = EVP_RSA_gen(2048);
		fuzz_ec = EVP_EC_gen("P-256");
		if (fuzz_rsa == NULL || fuzz_ec == NULL)
			abort();
	}
	fuzz_attest(data, size);
	(void)tpm_pcr_selection_parse(data, size, &sel, &err);
	fuzz_sig(data, size);
	fuzz_json(data, size);
	return 0;
}
