/*
 * verifier.h: evidence -> claims, one file per TEE behind one table.
 * Claim names and layout follow Trustee's verifiers
 * (reference/attestation-service.md §1) so that policies and tokens read
 * the same.
 *
 * Contract for every backend:
 * - verification is pure: no global state but the caches below, which are
 *   thread-safe; the time to verify at is a parameter (in->now);
 * - on success *claims is a new object of raw verifier claims with
 *   "report_data" / "init_data" included, exactly as Trustee's verifier
 *   emits them (ear.c hoists them);
 * - on failure -1 with a precise, human-readable reason in err (what was
 *   checked, what was expected, what was found), never a partial pass;
 * - a wrong report data or init-data hash is an error whose message says
 *   so ("report data does not match ..."), after every signature and chain
 *   check has passed.
 */
#ifndef TRUSTEE_VERIFIER_H
#define TRUSTEE_VERIFIER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../lib/util.h"

/* Where verifiers find what the evidence does not carry. All optional;
 * strings are borrowed for the process lifetime. */
struct verifier_config {
	const char *snp_cert_cache;	/* dir: <dir>/vcek/<hwid>/...der */
	const char *snp_kds_url;	/* AMD KDS base URL; NULL: no fetch */
	const char *snp_vek_file;	/* a VCEK/VLEK to use (CLI --vcek) */
	const char *dcap_collateral;	/* PCS v4 body dir or PCS-tool JSON */
	const char *dcap_pccs_url;	/* PCCS/PCS base URL; NULL: none */
	const char *dcap_cache_dir;	/* cache of PCCS answers */
};

/* Set once at startup (trusteed, trusteectl) before any verify call;
 * NULL restores the defaults (all unset). The struct is copied. */
void verifier_configure(const struct verifier_config *cfg);
const struct verifier_config *verifier_get_config(void);

struct verifier_input {
	const json_t *evidence;			/* primary evidence JSON */
	const uint8_t *report_data;		/* expected, or NULL */
	size_t report_data_len;
	const uint8_t *init_data_hash;		/* expected, or NULL */
	size_t init_data_hash_len;
	int64_t now;				/* verify as of this time */
};

/*
 * What a verifier found for one device, for backends whose evidence
 * describes several devices (nvidia's device_evidence_list): the device's
 * claims, or, when this build cannot verify that kind of device (e.g. an
 * NVIDIA Blackwell GPU in local mode), no claims and the reason. An
 * unverifiable device is not an error: the caller lists it with a
 * contraindicated appraisal. Malformed or failing evidence is an error.
 */
#define VERIFIER_DEVICES_MAX 16
#define VERIFIER_REASON_MAX 256

struct verifier_device {
	const char *tee_class;			/* static: "gpu", "switch" */
	json_t *claims;				/* owned, or NULL */
	char reason[VERIFIER_REASON_MAX];	/* when claims is NULL */
};

struct verifier_backend {
	const char *tee;			/* kbs-types serde name */
	const char *tee_class;			/* "cpu", "gpu", ... */
	/* One piece of evidence, one claims object (for a multi-device
	 * backend: evidence describing exactly one verifiable device). */
	int (*verify)(const struct verifier_input *in, json_t **claims,
	    struct error *err);
	/* NULL, or the multi-device form: out[0..*n) (at most cap) in the
	 * evidence's order; on -1 nothing is left in out. */
	int (*verify_devices)(const struct verifier_input *in,
	    struct verifier_device *out, size_t cap, size_t *n,
	    struct error *err);
	/*
	 * Raw binary evidence as captured by other tools (an SNP report, a
	 * DCAP quote, a TPMS_ATTEST): wrap it into this TEE's evidence JSON
	 * (certificates then come from the configuration: snp_vek_file,
	 * snp_cert_cache, ...). NULL when the TEE has no raw form. *evidence
	 * is a new reference.
	 */
	int (*wrap_raw)(const uint8_t *buf, size_t len, json_t **evidence,
	    struct error *err);
};

/* The backend for a TEE name, or NULL when this build has none. */
const struct verifier_backend *verifier_lookup(const char *tee);
/* 1 if tee is a name kbs-types knows (whether or not we can verify it). */
int verifier_tee_known(const char *tee);
/* The class of a TEE name kbs-types knows, as Trustee's verifiers emit it
 * ("cpu", "gpu", "dcu", "nvidia-dpu"), whether or not this build has its
 * verifier; NULL for an unknown name. */
const char *verifier_tee_class(const char *tee);
/*
 * Run a backend on one piece of evidence, whatever its form: the
 * multi-device backends through verify_devices, the others as one device
 * of the backend's class. out holds VERIFIER_DEVICES_MAX entries; free
 * them with verifier_devices_clear. 0, or -1 with err (out left empty).
 */
int verifier_verify_all(const struct verifier_backend *b,
    const struct verifier_input *in, struct verifier_device *out, size_t *n,
    struct error *err);
void verifier_devices_clear(struct verifier_device *d, size_t n);
/* Guess the TEE of raw binary evidence ("snp", "tdx", "sgx", "tpm"), or
 * NULL. */
const char *verifier_detect_raw(const uint8_t *buf, size_t len);

/* Zero-pad or truncate src into dst (Trustee's regularize_data). */
void verifier_regularize(const uint8_t *src, size_t srclen, uint8_t *dst,
    size_t dstlen);

/* The backends (one file each). */
extern const struct verifier_backend verifier_sample;
extern const struct verifier_backend verifier_sampledevice;	/* sampledevice.c */
extern const struct verifier_backend verifier_nvidia;		/* nvidia.c */
extern const struct verifier_backend verifier_snp;		/* snp.c */
extern const struct verifier_backend verifier_tdx;		/* tdx.c */
extern const struct verifier_backend verifier_sgx;		/* sgx.c */
extern const struct verifier_backend verifier_tpm;		/* tpm.c */
extern const struct verifier_backend verifier_az_snp_vtpm;	/* az_snp_vtpm.c */
extern const struct verifier_backend verifier_az_tdx_vtpm;	/* az_tdx_vtpm.c */

#endif
