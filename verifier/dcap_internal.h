/*
 * dcap_internal.h: what the dcap*.c files share with each other, with
 * tdx.c / sgx.c and with the unit test and fuzzers. Not a stable API: use
 * dcap.h from outside the DCAP code.
 */
#ifndef TRUSTEE_DCAP_INTERNAL_H
#define TRUSTEE_DCAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "dcap.h"

/* ---- dcap_pck.c: the PCK certificate's SGX extension -------------------- */

/* OID 1.2.840.113741.1.13.1 and what the verifier needs from it. */
struct dcap_pck_ext {
	uint8_t ppid[16];
	uint8_t comp_svn[16];		/* SGX TCB components 1..16 */
	uint16_t pcesvn;
	uint8_t cpusvn[16];
	uint8_t pceid[2];
	uint8_t fmspc[6];
	int sgx_type;			/* 0 Standard, 1 Scalable, 2 ...Integrity */
	int has_platform_instance_id;	/* platform CA certificates only */
	uint8_t platform_instance_id[16];	/* as in the certificate */
	int has_configuration;
	int dynamic_platform, cached_keys, smt_enabled;
};

/*
 * Parse the DER value (the OCTET STRING contents) of the SGX extension
 * with a bounded, non-recursive DER reader. PPID, TCB (16 components,
 * PCESVN, CPUSVN), PCE-ID, FMSPC and SGX type are required; unknown
 * entries are skipped; every length is checked.
 */
int dcap_pck_ext_parse(const uint8_t *der, size_t len,
    struct dcap_pck_ext *out, struct error *err);

/* ---- dcap_collateral.c: TCB info / QE identity JSON ---------------------- */

enum dcap_status {
	DCAP_ST_UPTODATE = 0,
	DCAP_ST_SWHARDENING,
	DCAP_ST_CONFIG,
	DCAP_ST_CONFIG_SWHARDENING,
	DCAP_ST_OUTOFDATE,
	DCAP_ST_OUTOFDATE_CONFIG,
	DCAP_ST_REVOKED,
	DCAP_ST_TD_RELAUNCH,
	DCAP_ST_TD_RELAUNCH_CONFIG,
	DCAP_ST_NOT_SUPPORTED
};

/* Trustee / Intel PCS name of a status ("UpToDate", ...). */
const char *dcap_status_name(enum dcap_status s);

#define DCAP_MAX_LEVELS		128
#define DCAP_MAX_ADVISORIES	64
#define DCAP_MAX_MODULE_IDS	16

struct dcap_advisories {
	size_t n;
	char **ids;			/* malloc'd strings */
};

struct dcap_tcb_level {
	uint8_t sgx_svn[16];
	uint16_t pcesvn;
	int has_tdx;
	uint8_t tdx_svn[16];
	int64_t tcb_date;
	enum dcap_status status;
	struct dcap_advisories adv;
};

/* QE identity and TDX module identity levels. */
struct dcap_isv_level {
	uint16_t isvsvn;
	int64_t tcb_date;
	enum dcap_status status;
	struct dcap_advisories adv;
};

struct dcap_module_identity {
	char id[16];			/* "TDX_01" ... (upper case) */
	uint8_t mrsigner[48];
	uint8_t attributes[8];
	uint8_t attributes_mask[8];
	size_t nlevels;
	struct dcap_isv_level *levels;
};

struct dcap_tcb_info {
	int is_tdx;			/* id "TDX" (else "SGX") */
	int version;			/* 2 or 3 */
	int64_t issue_date, next_update;
	uint8_t fmspc[6];
	uint8_t pceid[2];
	int tcb_type;
	uint32_t eval_num;
	size_t nlevels;
	struct dcap_tcb_level *levels;
	int has_tdx_module;
	uint8_t module_mrsigner[48];
	uint8_t module_attributes[8];
	uint8_t module_attributes_mask[8];
	size_t nmodules;
	struct dcap_module_identity *modules;
};

struct dcap_qe_identity {
	int is_td_qe;			/* id "TD_QE" (else "QE") */
	int version;
	int64_t issue_date, next_update;
	uint32_t eval_num;
	uint8_t miscselect[4], miscselect_mask[4];
	uint8_t attributes[16], attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	size_t nlevels;
	struct dcap_isv_level *levels;
};

/*
 * A signed JSON body {"tcbInfo"|"enclaveIdentity": {...}, "signature":
 * "hex"}: signed_off / signed_len locate the exact bytes of the member
 * value inside text (what the signature covers), sig gets the 64-byte raw
 * r||s. The parsed member is returned as a new jansson value.
 */
int dcap_signed_json_split(const char *text, size_t len, const char *member,
    size_t *signed_off, size_t *signed_len, uint8_t sig[64], json_t **value,
    struct error *err);

/* Build from the member value (already signature-checked or not). */
int dcap_tcb_info_from_json(const json_t *v, struct dcap_tcb_info **out,
    struct error *err);
int dcap_qe_identity_from_json(const json_t *v, struct dcap_qe_identity **out,
    struct error *err);
void dcap_tcb_info_free(struct dcap_tcb_info *t);
void dcap_qe_identity_free(struct dcap_qe_identity *q);

/* ---- dcap_tcb.c: matching ------------------------------------------------ */

struct dcap_tcb_result {
	enum dcap_status status;	/* final (launch) status */
	int64_t tcb_date;
	json_t *advisory_ids;		/* new array of strings */
	enum dcap_status status_current;	/* current platform TCB */
	int64_t tcb_date_current;
	json_t *advisory_ids_current;
};

/*
 * QE identity and TCB level evaluation as Intel's QVL does it (see
 * dcap_tcb.c). -1 with the precise reason for mismatches, Revoked and
 * NotSupported; otherwise res is filled (caller json_decref()s the
 * arrays).
 */
int dcap_tcb_evaluate(const struct dcap_quote *q,
    const struct dcap_pck_ext *pck, const struct dcap_tcb_info *ti,
    const struct dcap_qe_identity *qi, struct dcap_tcb_result *res,
    struct error *err);

/* ---- dcap_quote.c: claims ------------------------------------------------ */

/* Trustee's TDX claims for the quote alone: {quote{header, body, [type,
 * size]}, td_attributes{...}}. */
json_t *dcap_tdx_quote_claims(const struct dcap_quote *q);
/* Trustee's SGX claims for the quote alone: {header{...}, body{...}}. */
json_t *dcap_sgx_quote_claims(const struct dcap_quote *q);
/* hex of n bytes as a new JSON string. */
json_t *dcap_json_hex(const uint8_t *p, size_t n);
/*
 * The request bindings of a verified quote (sgx.c, tdx.c): report_data
 * (when not NULL) regularized to 64 bytes vs REPORTDATA; init_data_hash
 * (when not NULL) regularized to the quote's config field: 64 vs CONFIGID
 * for an SGX body, 48 vs MRCONFIGID for a TD body. 0, or -1 naming the
 * field and both values in hex.
 */
int dcap_check_bindings(const struct dcap_quote *q, const uint8_t *report_data,
    size_t report_data_len, const uint8_t *init_data_hash,
    size_t init_data_hash_len, struct error *err);
/*
 * Wrap a raw quote as evidence {"quote": base64}, after checking that it
 * parses and has TEE type tee_type; what is the failure text, e.g. "not
 * an SGX quote". 0 or -1.
 */
int dcap_wrap_raw_quote(const uint8_t *buf, size_t len, uint32_t tee_type,
    const char *what, json_t **evidence, struct error *err);

/* ---- dcap_util.c: shared crypto helpers --------------------------------- */

/* ECDSA P-256 / SHA-256 verify of a raw r||s signature. 1 valid, 0 not,
 * -1 internal error. */
int dcap_ecdsa_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
    const uint8_t sig[64]);
/* A P-256 public key from raw X||Y (64 bytes), or NULL. */
EVP_PKEY *dcap_p256_from_raw(const uint8_t xy[64]);
/* The pinned Intel SGX Root CA (parsed once; do not free), or NULL. */
X509 *dcap_pinned_root(void);
/*
 * Split a PEM bundle strictly into DER certificates: only
 * CERTIFICATE blocks, only whitespace between and after them, trailing
 * NUL bytes allowed. At most max certificates. Caller frees with
 * sk_X509_pop_free(..., X509_free).
 */
STACK_OF(X509) *dcap_pem_chain(const uint8_t *pem, size_t len, int max,
    struct error *err);
/* Strict standard base64 decode (fast; for public data). *out is malloc'd
 * and NUL-terminated. 0 or -1. */
int dcap_b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen);
/* SHA-256 (a pre-fetched implementation). 0 or -1. */
int dcap_sha256(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[32]);
/* ASN1_TIME -> unix seconds; -1 on failure. */
int dcap_asn1_time(const ASN1_TIME *t, int64_t *out);
/* The CN of a name into out (truncated), "?" if none. */
void dcap_name_cn(const X509_NAME *n, char *out, size_t cap);

/* ---- dcap_source.c: unverified collateral bytes ------------------------ */

struct dcap_raw {
	struct buf tcb_info;		/* {"tcbInfo": ..., "signature": ...} */
	struct buf tcb_chain;		/* PEM: TCB signing cert, root */
	struct buf qe_identity;		/* {"enclaveIdentity": ..., ...} */
	struct buf qe_chain;		/* PEM */
	struct buf pck_crl;		/* DER */
	struct buf pck_crl_chain;	/* PEM, may be empty */
	struct buf root_crl;		/* DER */
	char *desc;			/* where it came from, for messages */
};

/* "dir:PATH", "file:PATH" or "pccs:URL" from verifier_get_config(). */
int dcap_source_key(char *out, size_t cap, struct error *err);
/* Fetch the collateral for (tee, FMSPC, PCK CA kind) from a source. */
int dcap_source_fetch(const char *key, int tdx, const uint8_t fmspc[6],
    int platform_ca, struct dcap_raw *r, struct error *err);
void dcap_raw_free(struct dcap_raw *r);

/* ---- tdx.c: event log -------------------------------------------------- */

/*
 * Replay a CCEL against the quote's RTMR0..3: on success *events is the
 * uefi_event_logs array. Mismatch: error naming the RTMR and both values.
 */
int tdx_check_eventlog(const struct dcap_quote *q, const uint8_t *log,
    size_t len, json_t **events, struct error *err);

#endif
