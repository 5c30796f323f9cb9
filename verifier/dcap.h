/*
 * dcap.h: Intel ECDSA DCAP quote verification (SGX quote v3, TDX quote v4
 * and v5 with TDX 1.0 / 1.5 bodies), shared by tdx.c, sgx.c and the Azure
 * TDX vTPM verifier (reference/attestation-service.md §1.4, §1.5, §1.7).
 *
 * Everything is written here on OpenSSL 3: quote parsing, the quote and
 * QE report signatures, the QE report-data binding, the PCK chain to the
 * pinned Intel SGX Root CA (verifier/roots/intel/intel_sgx_root_ca.pem),
 * the CRLs, the TCB info / QE identity signatures and validity windows,
 * QE identity matching and TCB level matching. Collateral comes from
 * verifier_get_config(): dcap_collateral (a directory of Intel PCS v4
 * bodies, or an Intel PCS-tool JSON bundle), else dcap_pccs_url (PCCS /
 * PCS v4, cached in dcap_cache_dir). Verified collateral and PCK chains are
 * cached in memory (thread-safe, bounded).
 */
#ifndef TRUSTEE_DCAP_H
#define TRUSTEE_DCAP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

#define DCAP_TEE_TYPE_SGX	0x00000000u
#define DCAP_TEE_TYPE_TDX	0x00000081u
#define DCAP_HEADER_LEN		48
#define DCAP_SGX_REPORT_LEN	384	/* SGX report body (also the QE report) */
#define DCAP_TD10_BODY_LEN	584
#define DCAP_TD15_BODY_LEN	648

enum dcap_body {
	DCAP_BODY_SGX = 1,	/* SGX enclave report body (quote v3) */
	DCAP_BODY_TD10 = 2,	/* TDX 1.0 TD report body (v4, or v5 type 2) */
	DCAP_BODY_TD15 = 3	/* TDX 1.5 TD report body (v5 type 3) */
};

/*
 * A parsed quote. Every pointer points INTO the buffer given to
 * dcap_quote_parse() (borrowed: valid while that buffer lives); nothing
 * is allocated, so there is nothing to free.
 */
struct dcap_quote {
	const uint8_t *raw;		/* the whole quote as given */
	size_t raw_len;
	uint16_t version;		/* 3, 4 or 5 */
	uint16_t att_key_type;		/* always 2 (ECDSA-256 with P-256) */
	uint32_t tee_type;		/* DCAP_TEE_TYPE_* */
	const uint8_t *header;		/* 48 bytes */
	enum dcap_body body_kind;
	uint16_t v5_body_type;		/* v5 only: 2 or 3 (else 0) */
	uint32_t v5_body_size;		/* v5 only: 584 or 648 (else 0) */
	const uint8_t *body;		/* SGX report body or TD report body */
	size_t body_len;
	size_t signed_len;		/* raw[0 .. signed_len) is signed */

	/* Signature data. */
	const uint8_t *signature;	/* 64: r || s big-endian */
	const uint8_t *att_key;		/* 64: X || Y of the attestation key */
	const uint8_t *qe_report;	/* 384: the QE's SGX report body */
	const uint8_t *qe_report_sig;	/* 64: r || s, by the PCK leaf */
	const uint8_t *qe_auth;		/* QE authentication data */
	size_t qe_auth_len;
	const uint8_t *pck_chain;	/* type-5 PEM chain (may end in NULs) */
	size_t pck_chain_len;
	size_t trailing_len;		/* zero padding after signature data */

	/* Convenience views into body (TDX bodies; NULL for SGX unless
	 * stated). */
	const uint8_t *report_data;	/* 64 (SGX and TDX) */
	const uint8_t *mr_config_id;	/* 48 (TDX) */
	const uint8_t *config_id;	/* 64 (SGX) */
	const uint8_t *tee_tcb_svn;	/* 16 (TDX) */
	const uint8_t *mr_td;		/* 48 (TDX) */
	const uint8_t *rtmr[4];		/* 48 each (TDX) */
};

/*
 * Parse a quote strictly: every length bounds-checked; version 3 (SGX,
 * tee_type 0) or 4/5 (TDX, tee_type 0x81); att_key_type 2; certification
 * data type 6 wrapping the QE report and a type-5 PEM chain (v4/v5), or
 * for v3 the QE report followed directly by type 5. Bytes after the
 * signature data are accepted only when they are all zero (the padding of
 * a fixed-size QGS buffer); anything else is rejected as trailing garbage.
 * Parsing only: no signature is checked. 0 or -1 with the offset and
 * field in err.
 */
int dcap_quote_parse(const uint8_t *buf, size_t len, struct dcap_quote *q,
    struct error *err);

/*
 * Verify a quote fully at time now: quote signature, QE report signature,
 * QE report-data binding, PCK chain + CRLs to the pinned root, collateral
 * (signatures, chains, windows), QE identity and TCB level. Report data
 * and MRCONFIGID / CONFIGID are NOT compared with anything here: that is
 * the caller's binding.
 *
 * expect_tee: DCAP_TEE_TYPE_TDX (quote v4/v5 only) or DCAP_TEE_TYPE_SGX
 * (v3 only). On success q is filled (pointing into quote[]) and *claims is
 * a new object in Trustee's layout for that TEE — for TDX:
 *   quote{header{...}, body{...}, [type, size]}, td_attributes{...},
 *   [platform_instance_id], tcb_status, collateral_expiration_status,
 *   advisory_ids, earliest_issue_date, latest_issue_date,
 *   earliest_expiration_date, tcb_date, pck_crl_num, root_ca_crl_num,
 *   tcb_eval_num, platform_provider_id, sgx_type, [is_dynamic_platform,
 *   is_cached_keys, is_smt_enabled], root_key_id, tcb_date_current,
 *   tcb_status_current, advisory_ids_current
 * for SGX: header{...}, body{...}, [platform_instance_id] + the same DCAP
 * supplemental claims. Neither "report_data"/"init_data" (the hoisted
 * ones) nor "uefi_event_logs" are added: tdx.c / sgx.c / az_tdx_vtpm.c add
 * what applies to them.
 *
 * -1 with a precise reason on any failure (which signature, which chain
 * element, which collateral item expired and when, Revoked, no matching
 * TCB level "NotSupported", no collateral for the FMSPC, ...).
 */
int dcap_verify_quote(const uint8_t *quote, size_t len, uint32_t expect_tee,
    int64_t now, struct dcap_quote *q, json_t **claims, struct error *err);

/* dcap_verify_quote() for a TD quote (v4 or v5): what az_tdx_vtpm.c uses. */
int dcap_verify_td_quote(const uint8_t *quote, size_t len, int64_t now,
    struct dcap_quote *q, json_t **claims, struct error *err);

/* Drop every cached collateral item and PCK chain (tests; config reload). */
void dcap_cache_flush(void);

#endif
