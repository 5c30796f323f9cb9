/*
 * attest.h: trusteectl's attesters, the guest side of each TEE. Each
 * builds its evidence exactly as the CoCo attestation-agent does for that
 * TEE (reference/guest-client.md §2.4, §4), so trusteed (and Trustee)
 * verify it like an AA's:
 *
 *   sample       {"svn":"1","report_data":base64(digest)}
 *   snp          {"attestation_report": <sev crate serde of the 1184-byte
 *                report>, "cert_chain": [{"cert_type","data":[bytes]}] |
 *                null}; REPORT_DATA = digest zero-padded to 64; from
 *                configfs-tsm (outblob + the auxblob certificate table)
 *                or /dev/sev-guest SNP_GET_EXT_REPORT (VMPL 0)
 *   tdx          {"cc_eventlog": base64(CCEL data) | null, "quote":
 *                base64(TD quote)}; REPORTDATA = digest padded to 64;
 *                from configfs-tsm or /dev/tdx_guest (TDREPORT + the
 *                GetQuote request to the host's quote generation service)
 *   tpm          {"tpm_quote": {"signature": base64(TPMT_SIGNATURE),
 *                "message": base64(TPMS_ATTEST), "pcrs": [hex x 24]},
 *                "ak_public": base64(DER SPKI)}; qualifyingData = digest
 *                padded to 64 (32 when the TPM's TPM2B_DATA is smaller);
 *                SHA-256 PCRs 0..23; the AK at a persistent handle
 *   az-snp-vtpm, az-tdx-vtpm
 *                {"version":2, "tpm_quote": {"signature": hex, "message":
 *                hex, "pcrs": [hex x 24]}, "hcl_report": base64url,
 *                "vcek" | "td_quote": base64url}; the HCL report from vTPM
 *                NV 0x01400001 after writing the digest to NV 0x01400002,
 *                the quote by the vTPM AK 0x81000003 with the digest as
 *                nonce, the VCEK / TD quote from Azure IMDS
 *
 * The functions below "_parse"/"_build" are pure (no devices) and are
 * exposed for the unit tests and fuzzers; everything that touches a
 * device or a TPM takes a struct attest_cfg naming where to look.
 */
#ifndef TRUSTEECTL_ATTEST_H
#define TRUSTEECTL_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

#define ATTEST_TSM_DIR		"/sys/kernel/config/tsm/report"
#define ATTEST_SEV_DEV		"/dev/sev-guest"
#define ATTEST_TDX_DEV		"/dev/tdx_guest"
#define ATTEST_CCEL_PATH	"/sys/firmware/acpi/tables/data/CCEL"
#define ATTEST_IMDS_URL		"http://169.254.169.254"
#define ATTEST_TPM_AK_HANDLE	0x81010002u	/* the AA's default */
#define ATTEST_AZ_AK_HANDLE	0x81000003u	/* Azure vTPM's HCL AK */
#define ATTEST_AZ_HCL_NV	0x01400001u	/* the HCL report */
#define ATTEST_AZ_USER_NV	0x01400002u	/* report data for it */
#define ATTEST_REPORT_DATA_MAX	64

/* Where the attesters look (NULL / 0: the defaults above, or the
 * environment as the AA reads it: AA_TPM_AK_HANDLE, TPM2TOOLS_TCTI). */
struct attest_cfg {
	const char *tcti;	/* tss2 TCTI, as tpm2-tools take it:
				   "device:/dev/tpmrm0", "swtpm:port=2321",
				   "mssim:host=h,port=p", "tabrmd" */
	uint32_t ak_handle;	/* TPM AK persistent handle */
	const char *tsm_dir;	/* configfs-tsm report directory, or one
				   entry of it (a directory with a
				   "provider" file), e.g. made by hand */
	const char *sev_dev;
	const char *tdx_dev;
	const char *ccel;	/* the CC event log table data */
	const char *imds_url;	/* Azure IMDS base URL */
	int timeout_s;		/* IMDS requests */
};

struct attester {
	const char *name;	/* --tee */
	const char *tee;	/* KBS tee name sent to /auth */
	/* 1 if this platform is present (for --tee auto). */
	int (*detect)(const struct attest_cfg *cfg);
	/* The evidence for report data rd (rdlen <= 64 bytes). */
	int (*evidence)(const struct attest_cfg *cfg, const uint8_t *rd,
	    size_t rdlen, json_t **evidence, struct error *err);
};

/*
 * The attester named name (sample, snp, tdx, tpm, az-snp-vtpm,
 * az-tdx-vtpm), or with "auto" the first present in the AA's order (tdx,
 * az-tdx-vtpm, az-snp-vtpm, snp, tpm). Unlike the AA, auto never falls
 * back to sample: it fails saying what it looked for.
 */
int attest_find(const char *name, const struct attest_cfg *cfg,
    const struct attester **out, struct error *err);
/* The names attest_find knows, for help texts ("auto, sample, ..."). */
const char *attest_names(void);

/* Copy rd into out[n], zero-padded; -1 if rdlen > n (err says so). */
int attest_pad(const uint8_t *rd, size_t rdlen, uint8_t *out, size_t n,
    const char *what, struct error *err);

/* ---- attest_tsm.c: Linux configfs-tsm reports (kernel >= 6.7) */

/* What one report entry gave. */
struct attest_tsm_report {
	char provider[32];	/* "sev_guest", "tdx_guest", ... (no '\n') */
	uint8_t *outblob;
	size_t outblob_len;
	uint8_t *auxblob;	/* NULL when absent or empty */
	size_t auxblob_len;
};
void attest_tsm_report_clear(struct attest_tsm_report *r);

/* The provider attribute's text: one name of [a-z0-9_] and an optional
 * final newline. */
int attest_tsm_provider_parse(const char *text, size_t len, char *out,
    size_t cap, struct error *err);
/* The generation attribute: a decimal u32 and an optional newline. */
int attest_tsm_generation_parse(const char *text, size_t len, uint32_t *out,
    struct error *err);

/* The provider of the configfs-tsm directory in cfg (a fresh entry is
 * made and removed), into out; -1 when there is no usable configfs-tsm. */
int attest_tsm_provider(const struct attest_cfg *cfg, char *out, size_t cap,
    struct error *err);
/*
 * One report: make a fresh entry (or use the given one), check its
 * provider is want ("sev_guest", "tdx_guest"), write privlevel 0 when the
 * attribute exists (SEV: VMPL 0), write inblob (64 bytes), read outblob,
 * auxblob (when present) and generation (must be 1: another writer
 * raced us otherwise), remove the entry we made.
 */
int attest_tsm_get(const struct attest_cfg *cfg, const char *want,
    const uint8_t inblob[64], struct attest_tsm_report *r,
    struct error *err);

/* ---- attest_snp.c */

/* The certificate table (GHCB spec: entries {GUID, u32 offset, u32
 * length} up to an all-zero entry, then the certificates, offsets from the
 * table start) as the AA's cert_chain: an array of {"cert_type":
 * "VCEK"|"VLEK"|"ASK"|"ARK"|"CRL"|{"OTHER": uuid}, "data": [bytes]}. An
 * empty buffer or an empty table gives JSON null. */
int attest_snp_certs_parse(const uint8_t *table, size_t len,
    json_t **cert_chain, struct error *err);
/* The SNP evidence object from a raw report and an optional certificate
 * table (NULL/0: "cert_chain": null). */
int attest_snp_evidence_build(const uint8_t *report, size_t len,
    const uint8_t *certs, size_t certs_len, json_t **evidence,
    struct error *err);
/* The report inside an SNP_GET_EXT_REPORT response (MSG_REPORT_RSP:
 * u32 status, u32 report_size, 24 reserved, the report). */
int attest_snp_resp_parse(const uint8_t *resp, size_t len,
    const uint8_t **report, size_t *report_len, struct error *err);

/* ---- attest_tdx.c */

/* The GetQuote request for the host's quote generation service: a
 * big-endian u32 length, then the QGS message (header {u16 major 1, u16
 * minor 0, u32 type 0, u32 size, u32 error 0}, u32 report_size 1024, u32
 * id_list_size 0, the TDREPORT). out must hold 4 + 1048 bytes. */
#define ATTEST_TDX_QGS_REQ_LEN	(4 + 16 + 8 + 1024)
void attest_tdx_qgs_request(const uint8_t tdreport[1024],
    uint8_t out[ATTEST_TDX_QGS_REQ_LEN]);
/* The quote in a QGS response (after the 4-byte length): header type 1
 * (GET_QUOTE_RESP), error 0, selected_id_size, quote_size, id, quote.
 * *quote points into resp. */
int attest_tdx_qgs_response(const uint8_t *resp, size_t len,
    const uint8_t **quote, size_t *quote_len, struct error *err);
/* The TDX evidence object: the quote (checked to be a v4/v5 TDX quote)
 * and the CC event log (NULL: null). */
int attest_tdx_evidence_build(const uint8_t *quote, size_t len,
    const uint8_t *ccel, size_t ccel_len, json_t **evidence,
    struct error *err);

/* ---- attest_tpm.c (tss2 ESAPI) */

struct attest_tpm;

/* Open the TPM named by cfg (--tcti, else $TPM2TOOLS_TCTI, else
 * /dev/tpmrm0, /dev/tpm0). */
struct attest_tpm *attest_tpm_open(const struct attest_cfg *cfg,
    struct error *err);
void attest_tpm_close(struct attest_tpm *t);
/* The AK at handle: its public key as DER SubjectPublicKeyInfo
 * (malloc'd). */
int attest_tpm_ak_spki(struct attest_tpm *t, uint32_t handle, uint8_t **der,
    size_t *len, struct error *err);
/*
 * A quote by the AK at handle over SHA-256 PCRs 0..23 with
 * qualifyingData nonce: *msg the TPMS_ATTEST, *sig the marshalled
 * TPMT_SIGNATURE, pcrs the 24 PCR values read after the quote and
 * checked against its pcrDigest (re-quoted when a PCR moved meanwhile).
 */
struct attest_tpm_quote {
	uint8_t *msg;
	size_t msg_len;
	uint8_t *sig;		/* TPMT_SIGNATURE */
	size_t sig_len;
	uint8_t *rsa_sig;	/* the bare RSASSA signature, or NULL */
	size_t rsa_sig_len;
	uint8_t pcrs[24][32];
};
int attest_tpm_quote(struct attest_tpm *t, uint32_t handle,
    const uint8_t *nonce, size_t nonce_len, struct attest_tpm_quote *q,
    struct error *err);
void attest_tpm_quote_clear(struct attest_tpm_quote *q);
/* Whether the NV index exists (1), not (0). */
int attest_tpm_nv_exists(struct attest_tpm *t, uint32_t index);
/* Read a whole NV index (owner auth) into *out (malloc'd). */
int attest_tpm_nv_read(struct attest_tpm *t, uint32_t index, uint8_t **out,
    size_t *len, struct error *err);
/* Write data to an owner NV index, defining it (owner read/write) when
 * missing or of another size. */
int attest_tpm_nv_write(struct attest_tpm *t, uint32_t index,
    const uint8_t *data, size_t len, struct error *err);

/* The DER SubjectPublicKeyInfo of a TPMT_PUBLIC (RSA, or ECC on NIST
 * P-256/P-384) given in its marshalled TPM2B_PUBLIC form. */
int attest_tpm_public_to_spki(const uint8_t *tpm2b_public, size_t len,
    uint8_t **der, size_t *derlen, struct error *err);
/* The "tpm" evidence object. */
json_t *attest_tpm_evidence_build(const struct attest_tpm_quote *q,
    const uint8_t *spki, size_t spki_len);

/* ---- attest_az.c */

/* The Azure HCL report's hardware report type (2 SNP, 4 TDX) from its
 * header; -1 when it is not an HCL report. */
int attest_az_hcl_type(const uint8_t *hcl, size_t len);
/* The Azure evidence object (version 2). hw: SNP the VCEK DER, TDX the
 * TD quote. */
json_t *attest_az_evidence_build(const struct attest_tpm_quote *q,
    const uint8_t *hcl, size_t hcl_len, int tdx, const uint8_t *hw,
    size_t hw_len);
/* The VCEK (DER) from an IMDS THIM answer {"vcekCert": PEM, ...}. */
int attest_az_thim_vcek(const uint8_t *body, size_t len, uint8_t **der,
    size_t *derlen, struct error *err);
/* The TD quote from an IMDS /acc/tdquote answer {"quote": base64url}. */
int attest_az_tdquote(const uint8_t *body, size_t len, uint8_t **quote,
    size_t *quote_len, struct error *err);

/* The attesters (attest.c holds the table). */
extern const struct attester attest_sample, attest_snp, attest_tdx,
    attest_tpm, attest_az_snp, attest_az_tdx;

#endif
