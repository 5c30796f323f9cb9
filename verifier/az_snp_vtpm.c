/*
 * az_snp_vtpm.c: the az-snp-vtpm verifier, an Azure SEV-SNP confidential
 * VM attesting through its paravisor's vTPM (reference/
 * attestation-service.md §1.6).
 *
 * Chain of trust: AMD ARK -> ASK -> VCEK signs the SNP report (inside the
 * HCL report) whose REPORT_DATA[0..32] is SHA-256 of the HCL variable
 * data, which holds the vTPM attestation key HCLAkPub, which signs the
 * TPM quote whose extraData is the session's report data and whose PCR
 * digest covers the reported PCRs (PCR8: init data).
 *
 * Order of checks: every signature and chain first (vTPM quote signature
 * and PCR digest, SNP report and VCEK chain and TCB, the HCL binding),
 * then the caller's values (report data vs. the quote nonce, v2
 * user-data, init data vs. PCR8), so a wrong nonce is reported as such
 * only for otherwise genuine evidence. Trustee checks the nonce earlier;
 * the accept/reject outcome is the same.
 *
 * Claims (Trustee's layout, every value a string): policy_abi_major,
 * policy_abi_minor, policy_smt_allowed, policy_migrate_ma,
 * policy_debug_allowed, policy_single_socket, reported_tcb_bootloader,
 * reported_tcb_tee, reported_tcb_snp, reported_tcb_microcode,
 * platform_tsme_enabled, platform_smt_enabled, measurement (standard
 * base64), tpm{pcrNN: hex}; hoisted report_data = hex(quote nonce) and
 * init_data = hex(PCR8). Ours: vmpl (decimal string) of the SNP report,
 * which the verifier does not judge (the policy does, as for snp).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "hcl.h"
#include "snp.h"
#include "tpm.h"
#include "verifier.h"

static json_t *
az_snp_vtpm_report_claims(const struct snp_report *r)
{
	json_t *c = json_object();
	char num[16], *m;

#define AZ_SNP_NUM(name, v) do {					\
		snprintf(num, sizeof(num), "%u", (unsigned)(v));	\
		json_object_set_new(c, name, json_string(num));		\
	} while (0)
#define AZ_SNP_BOOL(name, v)						\
	json_object_set_new(c, name, json_string((v) ? "true" : "false"))

	AZ_SNP_NUM("policy_abi_major", SNP_POLICY_ABI_MAJOR(r->policy));
	AZ_SNP_NUM("policy_abi_minor", SNP_POLICY_ABI_MINOR(r->policy));
	AZ_SNP_BOOL("policy_smt_allowed", r->policy & SNP_POLICY_SMT);
	AZ_SNP_BOOL("policy_migrate_ma", r->policy & SNP_POLICY_MIGRATE_MA);
	AZ_SNP_BOOL("policy_debug_allowed", r->policy & SNP_POLICY_DEBUG);
	AZ_SNP_BOOL("policy_single_socket",
	    r->policy & SNP_POLICY_SINGLE_SOCKET);
	AZ_SNP_NUM("reported_tcb_bootloader", r->reported_tcb.bootloader);
	AZ_SNP_NUM("reported_tcb_tee", r->reported_tcb.tee);
	AZ_SNP_NUM("reported_tcb_snp", r->reported_tcb.snp);
	AZ_SNP_NUM("reported_tcb_microcode", r->reported_tcb.microcode);
	AZ_SNP_BOOL("platform_tsme_enabled",
	    r->platform_info & SNP_PLATFORM_TSME_EN);
	AZ_SNP_BOOL("platform_smt_enabled",
	    r->platform_info & SNP_PLATFORM_SMT_EN);
	AZ_SNP_NUM("vmpl", r->vmpl);
#undef AZ_SNP_NUM
#undef AZ_SNP_BOOL
	m = b64_encode(r->measurement, sizeof(r->measurement), B64_STD);
	json_object_set_new(c, "measurement", json_string(m));
	free(m);
	return c;
}

static int
az_snp_vtpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	struct hcl_evidence e;
	struct hcl_report h;
	struct tpm_attest att;
	struct snp_report *r = NULL;
	struct snp_certs certs;
	json_t *c = NULL;
	int rc = -1;

	*claims = NULL;
	if (hcl_vtpm_open(in, "az-snp-vtpm", 0, HCL_REPORT_TYPE_SNP, &e, &h,
	    &att, err) != 0)
		return -1;

	/* The SNP report inside the HCL report, under the VCEK. */
	r = xmalloc(sizeof(*r));
	if (snp_report_parse(h.hw_report, SNP_REPORT_SIZE, r, err) != 0) {
		error_prefix(err, "SNP report in the HCL report");
		goto out;
	}
	memset(&certs, 0, sizeof(certs));
	certs.vek = e.hw;
	certs.vek_len = e.hw_len;
	if (snp_report_verify(r, &certs, in->now, err) != 0) {
		error_prefix(err, "SNP report in the HCL report");
		goto out;
	}
	c = az_snp_vtpm_report_claims(r);
	rc = hcl_vtpm_finish(in, &e, &h, &att, r->report_data,
	    sizeof(r->report_data), "SNP report", c, claims, err);
	free(r);
	return rc;
out:
	free(r);
	hcl_report_free(&h);
	hcl_evidence_free(&e);
	return -1;
}

const struct verifier_backend verifier_az_snp_vtpm = {
	.tee = "az-snp-vtpm",
	.tee_class = "cpu",
	.verify = az_snp_vtpm_verify,
};
