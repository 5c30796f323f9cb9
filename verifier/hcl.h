/*
 * hcl.h: the Azure confidential VM "HCL report" (the attestation report
 * the paravisor stores in vTPM NV index 0x01400001), shared by the
 * az-snp-vtpm and az-tdx-vtpm verifiers (reference/attestation-service.md
 * §1.6, §1.7).
 *
 * Layout (all integers little-endian):
 *   0x000  header: "HCLA", version u32, report_size u32, request_type u32,
 *          status u32, reserved[3] u32                           (32 bytes)
 *   0x020  hardware report: an SNP ATTESTATION_REPORT (1184 bytes) or a
 *          TDX TDREPORT (1024 bytes, zero-padded to 1184)
 *   0x4C0  IGVM request data: data_size u32, version u32, report_type u32
 *          (2 = SNP, 4 = TDX), report_data_hash_type u32 (1 = SHA-256),
 *          variable_data_size u32                                (20 bytes)
 *   0x4D4  variable data (variable_data_size bytes): JSON
 *          {"keys":[{"kid":"HCLAkPub","kty":"RSA","n","e"}, ...],
 *           "vm-configuration":{...}, "user-data":"<hex>"}
 *
 * The binding that makes it trustworthy: the hardware report's
 * REPORT_DATA[0..32] (SNP) or the TD quote's REPORTDATA[0..32] (TDX) is
 * SHA-256 of the variable data, so the AK public key in it is vouched for
 * by the TEE; the AK in turn signs the vTPM quote.
 */
#ifndef TRUSTEE_HCL_H
#define TRUSTEE_HCL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "../lib/util.h"

#define HCL_HEADER_LEN		0x20
#define HCL_HW_REPORT_OFF	0x20
#define HCL_HW_REPORT_LEN	1184		/* the SNP report size */
#define HCL_TDREPORT_LEN	1024
#define HCL_REQ_DATA_OFF	0x4C0
#define HCL_REQ_DATA_LEN	20
#define HCL_VAR_DATA_OFF	0x4D4
#define HCL_VAR_DATA_MAX	(64u * 1024)	/* JWKs + config: ~1.2 KiB */

#define HCL_REPORT_TYPE_SNP	2
#define HCL_REPORT_TYPE_TDX	4
#define HCL_HASH_SHA256		1

/* TDREPORT offsets (REPORTMACSTRUCT, then TEE_TCB_INFO, then TDINFO). */
#define HCL_TDREPORT_REPORT_DATA_OFF	128
#define HCL_TDREPORT_MR_TD_OFF		(512 + 16)

/*
 * A parsed HCL report. Pointers point into the buffer given to
 * hcl_report_parse (borrowed); var_json and ak_pub are owned (released by
 * hcl_report_free).
 */
struct hcl_report {
	const uint8_t *raw;
	size_t raw_len;
	uint32_t version;
	uint32_t report_size;
	uint32_t request_type;
	uint32_t status;
	uint32_t report_type;		/* HCL_REPORT_TYPE_* */
	uint32_t req_data_size;
	uint32_t req_version;
	uint32_t hash_type;		/* HCL_HASH_SHA256 */
	const uint8_t *hw_report;	/* HCL_HW_REPORT_LEN bytes at 0x20 */
	size_t hw_report_len;		/* 1184 (SNP) or 1024 (TDREPORT) */
	const uint8_t *hw_report_data;	/* the 64-byte REPORT_DATA in it */
	const uint8_t *var_data;
	size_t var_data_len;
	uint8_t var_data_sha256[32];
	json_t *var_json;		/* the variable data, parsed */
	EVP_PKEY *ak_pub;		/* from the HCLAkPub JWK (RSA) */
	const char *user_data_hex;	/* "user-data", or NULL (in var_json) */
};

/*
 * Parse an HCL report: magic "HCLA", report type SNP or TDX (and, when
 * expect_type is not 0, equal to it), hash type SHA-256, variable data
 * within the buffer and at most HCL_VAR_DATA_MAX bytes, a JSON object
 * with a "keys" array holding an RSA JWK with kid "HCLAkPub" (becomes
 * r->ak_pub) and optional string "user-data". Bytes after the variable
 * data (the NV index is padded) are ignored. 0, or -1 with the field and
 * offset in err (r is then released).
 */
int hcl_report_parse(const uint8_t *buf, size_t len, uint32_t expect_type,
    struct hcl_report *r, struct error *err);
void hcl_report_free(struct hcl_report *r);

/*
 * The TEE binding: report_data (the first 32 bytes of a signed hardware
 * report's REPORT_DATA, or of the TD quote's) must equal SHA-256 of the
 * variable data. what names the source for the message ("SNP report",
 * "TD quote").
 */
int hcl_check_var_data_hash(const struct hcl_report *r,
    const uint8_t *report_data, size_t report_data_len, const char *what,
    struct error *err);

/*
 * Evidence v2's extra binding: "user-data" must be present and hex, and
 * its first expected_len bytes must equal expected.
 */
int hcl_check_user_data(const struct hcl_report *r, const uint8_t *expected,
    size_t expected_len, struct error *err);

/*
 * Azure vTPM evidence (both TEEs), decoded (reference §1.6, §1.7):
 *   v2/v1 {"version":2|1, "tpm_quote":{"signature":hex, "message":hex,
 *          "pcrs":[hex...]}, "hcl_report":base64url, <hw>:base64url}
 *   v0    {<quote>:{"signature":[u8], "message":[u8], "pcrs":[[u8]...]},
 *          <report>:[u8], <hw>:...}
 * with, for SNP, v1/v2 hw "vcek" (DER, base64url) and v0 quote "quote",
 * report "report", hw "vcek" (a PEM string); for TDX hw "td_quote" and v0
 * quote "tpm_quote", report "hcl_report". Every buffer is owned.
 */
#define HCL_MAX_PCRS		24

struct hcl_evidence {
	int version;			/* 0, 1 or 2 */
	uint8_t *tpm_sig;		/* raw RSASSA signature */
	size_t tpm_sig_len;
	uint8_t *tpm_msg;		/* TPMS_ATTEST */
	size_t tpm_msg_len;
	uint8_t pcrs[HCL_MAX_PCRS][32];	/* SHA-256 bank, in quote order */
	size_t npcrs;
	uint8_t *hcl;			/* the HCL report */
	size_t hcl_len;
	uint8_t *hw;			/* SNP: the VCEK (DER or PEM); TDX: quote */
	size_t hw_len;
};

/* tdx: 0 for az-snp-vtpm field names, 1 for az-tdx-vtpm. */
int hcl_evidence_parse(const json_t *ev, int tdx, struct hcl_evidence *e,
    struct error *err);
void hcl_evidence_free(struct hcl_evidence *e);

/*
 * Init-data binding through the vTPM: PCR8 must equal
 * SHA-256(32 zero bytes || expected) (extended once from zero); expected
 * must be exactly 32 bytes (a SHA-256 init-data digest).
 */
int hcl_check_init_data(const uint8_t pcr8[32], const uint8_t *expected,
    size_t expected_len, struct error *err);

/*
 * The vTPM quote (needs tpm.h): parse e->tpm_msg, verify the bare
 * RSASSA-PKCS1-v1_5 / SHA-256 signature with HCLAkPub, and check the PCR
 * digest against e->pcrs (exactly the selected PCRs, SHA-256 bank).
 */
struct tpm_attest;
struct verifier_input;
int hcl_verify_tpm_quote(const struct hcl_evidence *e,
    const struct hcl_report *h, struct tpm_attest *att, struct error *err);

/*
 * The common start of the Azure vTPM verifiers: the expected report data
 * (the vTPM quote nonce) must be given; then the evidence is parsed (tdx
 * as for hcl_evidence_parse), the HCL report (of report_type) and the
 * vTPM quote (hcl_verify_tpm_quote). tee names the verifier in messages.
 * On success the caller releases h and e (hcl_report_free,
 * hcl_evidence_free); on failure nothing is left to release.
 */
int hcl_vtpm_open(const struct verifier_input *in, const char *tee, int tdx,
    uint32_t report_type, struct hcl_evidence *e, struct hcl_report *h,
    struct tpm_attest *att, struct error *err);

/*
 * The common end of the Azure vTPM verifiers, once the hardware report
 * (what: "SNP report", "TD quote") is verified: its report data must
 * bind the HCL variable data (hcl_check_var_data_hash), then
 * hcl_check_bindings() adds to c. On success *claims = c; on failure c is
 * released. h and e are released in either case.
 */
int hcl_vtpm_finish(const struct verifier_input *in, struct hcl_evidence *e,
    struct hcl_report *h, const struct tpm_attest *att,
    const uint8_t *hw_report_data, size_t hw_report_data_len,
    const char *what, json_t *c, json_t **claims, struct error *err);

/*
 * The caller's values, once every signature has been checked: report
 * data == the quote's extraData exactly; for evidence v2 also the HCL
 * user-data prefix; init data (when given) against PCR8. Then adds
 * "tpm": {"pcrNN"}, "report_data" (hex of the nonce) and "init_data"
 * (hex of PCR8, when quoted) to claims.
 */
int hcl_check_bindings(const struct verifier_input *in,
    const struct hcl_evidence *e, const struct hcl_report *h,
    const struct tpm_attest *att, json_t *claims, struct error *err);

#endif
