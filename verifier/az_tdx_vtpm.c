/*
 * az_tdx_vtpm.c: the az-tdx-vtpm verifier, an Azure TDX confidential VM
 * attesting through its paravisor's vTPM (reference/
 * attestation-service.md §1.7).
 *
 * Chain of trust: Intel SGX Root CA -> PCK -> QE -> attestation key signs
 * the TD quote (fully verified by dcap.c: chain, CRLs, collateral, QE
 * identity, TCB level), whose REPORTDATA[0..32] is SHA-256 of the HCL
 * variable data, which holds the vTPM attestation key HCLAkPub, which
 * signs the TPM quote whose extraData is the session's report data.
 *
 * As for Azure SNP, the TD quote's REPORTDATA and MRCONFIGID are not
 * compared with the expected values (the vTPM carries them); the TDREPORT
 * inside the HCL report is not used (its MAC is only verifiable on the
 * platform); there is no event log. Order of checks: vTPM quote signature
 * and PCR digest, TD quote, HCL binding, then report data, v2 user-data,
 * init data (PCR8).
 *
 * Claims: the TDX claims of dcap.c (quote.*, td_attributes.*,
 * platform_instance_id, DCAP supplemental), tpm{pcrNN}; hoisted
 * report_data = hex(quote nonce), init_data = hex(PCR8).
 */
#include <stdlib.h>
#include <string.h>

#include "dcap.h"
#include "hcl.h"
#include "tpm.h"
#include "verifier.h"

static int
az_tdx_vtpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	struct hcl_evidence e;
	struct hcl_report h;
	struct tpm_attest att;
	struct dcap_quote q;
	json_t *c = NULL;

	*claims = NULL;
	if (hcl_vtpm_open(in, "az-tdx-vtpm", 1, HCL_REPORT_TYPE_TDX, &e, &h,
	    &att, err) != 0)
		return -1;
	if (dcap_verify_td_quote(e.hw, e.hw_len, in->now, &q, &c, err) != 0) {
		error_prefix(err, "TD quote");
		json_decref(c);
		hcl_report_free(&h);
		hcl_evidence_free(&e);
		return -1;
	}
	return hcl_vtpm_finish(in, &e, &h, &att, q.report_data, 64,
	    "TD quote", c, claims, err);
}

const struct verifier_backend verifier_az_tdx_vtpm = {
	.tee = "az-tdx-vtpm",
	.tee_class = "cpu",
	.verify = az_tdx_vtpm_verify,
};
