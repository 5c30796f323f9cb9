/*
 * fuzz_hcl.c: the Azure HCL report parser and the vTPM evidence decoder
 * on arbitrary input.
 *
 * Input starting with '{' is Azure vTPM evidence JSON (decoded with both
 * the az-snp-vtpm and az-tdx-vtpm field names; a decoded HCL report is
 * then parsed too); anything else is an HCL report.
 *
 * Invariants checked (abort on violation):
 *   - a parsed report's pointers lie inside the input: hardware report at
 *     0x20, variable data at 0x4D4 within the buffer;
 *   - var_data_sha256 is SHA-256 of exactly those bytes, so the binding
 *     check accepts them and rejects the same bytes with one bit flipped;
 *   - an accepted report has an AK and a SNP or TDX report type;
 *   - a decoded evidence has 1..24 PCRs and version 0, 1 or 2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "../../lib/util.h"
#include "../../verifier/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_report(const uint8_t *data, size_t size)
{
	struct error err = { "" };
	struct hcl_report r;
	uint8_t h[32], rd[64];

	if (hcl_report_parse(data, size, 0, &r, &err) != 0)
		return;
	if (r.raw != data || r.hw_report != data + HCL_HW_REPORT_OFF ||
	    r.var_data != data + HCL_VAR_DATA_OFF ||
	    r.var_data_len > size - HCL_VAR_DATA_OFF || r.ak_pub == NULL)
		abort();
	if (r.report_type != HCL_REPORT_TYPE_SNP &&
	    r.report_type != HCL_REPORT_TYPE_TDX)
		abort();
	if (r.hw_report_data < r.hw_report ||
	    r.hw_report_data + 64 > r.hw_report + HCL_HW_REPORT_LEN)
		abort();
	SHA256(r.var_data, r.var_data_len, h);
	if (memcmp(h, r.var_data_sha256, 32) != 0)
		abort();
	memset(rd, 0, sizeof(rd));
	memcpy(rd, h, 32);
	if (hcl_check_var_data_hash(&r, rd, sizeof(rd), "fuzz", &err) != 0)
		abort();
	rd[size % 32] ^= 0x01;
	if (hcl_check_var_data_hash(&r, rd, sizeof(rd), "fuzz", &err) == 0)
		abort();
	(void)hcl_check_user_data(&r, rd, 32, &err);
	(void)hcl_check_user_data(&r, rd, 0, &err);
	hcl_report_free(&r);
}

static void
fuzz_evidence(const uint8_t *data, size_t size)
{
	struct error err = { "" };
	struct hcl_evidence e;
	json_t *j;
	int tdx;

	j = json_loadb((const char *)data, size, 0, NULL);
	if (j == NULL)
		return;
	for (tdx = 0; tdx < 2; tdx++) {
		if (hcl_evidence_parse(j, tdx, &e, &err) != 0)
			continue;
		if (e.npcrs < 1 || e.npcrs > HCL_MAX_PCRS || e.version < 0 ||
		    e.version > 2 || e.tpm_sig == NULL || e.tpm_msg == NULL ||
		    e.hcl == NULL || e.hw == NULL)
			abort();
		fuzz_report(e.hcl, e.hcl_len);
		hcl_evidence_free(&e);
	}
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == '{')
		fuzz_evidence(data, size);
	else
		fuzz_report(data, size);
	return 0;
}
