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

/* ---- dcap_x509.c: chains, validity windows, CRLs ----------------------- */

/* 1 when a and b have the same DER encoding. */
int dcap_x509_der_equal(X509 *a, X509 *b);
/*
 * Verify sk[0] up to the pinned root, the other certificates of sk being
 * untrusted intermediates. A self-issued certificate in sk must be
 * byte-identical to the pinned root. Times are not checked here (the
 * callers check every window at each verification time). what names the
 * chain in messages.
 */
int dcap_x509_verify_to_root(STACK_OF(X509) *sk, const char *what,
    struct error *err);
/* x's notBefore / notAfter as unix seconds and its CN into cn. */
int dcap_x509_cert_times(X509 *x, int64_t *nb, int64_t *na, char *cn,
    size_t cap, struct error *err);
/* 0 when from <= now <= to, else "<kind> expired: ..." / "<kind> not yet
 * valid: ..." naming what and the bound (from_name / to_name). */
int dcap_x509_check_window(const char *kind, const char *what, int64_t from,
    int64_t to, const char *from_name, const char *to_name, int64_t now,
    struct error *err);
/* The CRL number extension, 0 when absent or negative. */
long dcap_x509_crl_number(X509_CRL *crl);
/* A whole DER CRL (at most 16 MiB) with thisUpdate and nextUpdate, or
 * NULL naming what. */
X509_CRL *dcap_x509_crl_parse(const struct buf *b, const char *what,
    int64_t *this_upd, int64_t *next_upd, struct error *err);
/* -1 naming x (CN, serial) and crlname when crl revokes x, else 0. */
int dcap_x509_crl_check_cert(X509_CRL *crl, X509 *x, const char *crlname,
    struct error *err);

/* ---- dcap_cache.c: the verified-material caches ----------------------- */

/* Verified PCK material (immutable once cached but for refs, dead,
 * last_use, crl_gen, which the cache mutex guards). */
struct dcap_pck_entry {
	uint8_t *mat;			/* att key .. end of PCK chain */
	size_t mat_len;
	int refs, dead;
	uint64_t last_use;
	EVP_PKEY *att;			/* attestation key */
	struct dcap_pck_ext ext;
	int platform_ca;		/* 1 Platform CA, 0 Processor CA */
	X509 *leaf, *inter;
	int64_t nb[3], na[3];		/* leaf, intermediate, root */
	char cn[3][64];
	uint64_t crl_gen;		/* collateral gen that cleared it */
};

/* Verified collateral (immutable once cached but for refs, dead,
 * last_use). */
struct dcap_coll_entry {
	char key[512];
	int refs, dead;
	uint64_t last_use, loaded_ns, gen;
	int pccs;
	struct dcap_tcb_info *tcb;
	struct dcap_qe_identity *qe;
	X509_CRL *pck_crl, *root_crl;
	X509 *pck_crl_issuer;		/* from its issuer chain, or NULL */
	int64_t signer_nb[2], signer_na[2];	/* TCB info, QE identity */
	char signer_cn[2][64];
	int64_t pck_crl_this, pck_crl_next, root_crl_this, root_crl_next;
	long pck_crl_num, root_crl_num;
	char *desc;
};

/* Free an entry that is in no cache (NULL is fine). */
void dcap_cache_pck_free(struct dcap_pck_entry *e);
void dcap_cache_coll_free(struct dcap_coll_entry *e);
/* The cached PCK material of exactly these bytes (a new reference), or
 * NULL. */
struct dcap_pck_entry *dcap_cache_pck_lookup(const uint8_t *mat, size_t len);
/* Insert e (refs 1 for the caller); an equal entry inserted meanwhile
 * wins and is returned instead (e is then freed). */
struct dcap_pck_entry *dcap_cache_pck_insert(struct dcap_pck_entry *e);
/*
 * The collateral cached under key while its time to live lasts (a new
 * reference), else built from src by dcap_material_coll_build and cached
 * (replacing an entry of that key), or NULL with the reason.
 */
struct dcap_coll_entry *dcap_cache_coll_get(const char *key, const char *src,
    int tdx, const uint8_t fmspc[6], int platform_ca, struct error *err);
/* Drop a reference from a lookup, insert or get. */
void dcap_cache_pck_release(struct dcap_pck_entry *e);
void dcap_cache_coll_release(struct dcap_coll_entry *e);
/* p->crl_gen under the cache mutex: the collateral generation whose CRLs
 * last cleared p's chain. */
uint64_t dcap_cache_crl_gen(const struct dcap_pck_entry *p);
void dcap_cache_set_crl_gen(struct dcap_pck_entry *p, uint64_t gen);

/* ---- dcap_material.c: building and checking cached material ------------ */

/* Verify a quote's PCK material (mat = attestation key .. end of the PCK
 * chain) into a new uncached entry. */
int dcap_material_pck_build(const struct dcap_quote *q, const uint8_t *mat,
    size_t mat_len, struct dcap_pck_entry **out, struct error *err);
/* Fetch and verify the collateral of (tdx, fmspc, platform_ca) from src
 * into a new uncached entry under key. */
int dcap_material_coll_build(const char *key, const char *src, int tdx,
    const uint8_t fmspc[6], int platform_ca, struct dcap_coll_entry **out,
    struct error *err);
/*
 * The per-call checks of collateral c against PCK material p at now:
 * every window (an item past its nextUpdate / notAfter is appended to
 * expired, not failed; not yet valid fails), then, unless c's generation
 * already cleared p, revocation of p's chain by c's CRLs.
 */
int dcap_material_coll_check(struct dcap_coll_entry *c,
    struct dcap_pck_entry *p, int64_t now, json_t *expired,
    struct error *err);

/* ---- tdx.c: event log -------------------------------------------------- */

/*
 * Replay a CCEL against the quote's RTMR0..3: on success *events is the
 * uefi_event_logs array. Mismatch: error naming the RTMR and both values.
 */
int tdx_check_eventlog(const struct dcap_quote *q, const uint8_t *log,
    size_t len, json_t **events, struct error *err);

#endif
