/*
 * tpm.h: TPM 2.0 quotes (TCG TPM 2.0 Library Part 2 structures): bounded
 * parsers for TPMS_ATTEST (quote), TPML_PCR_SELECTION and TPMT_SIGNATURE,
 * signature verification with an attestation key (AK), the PCR digest
 * check and the init-data PCR8 check (tpm_parse.c, tpm_quote.c). Used by
 * the "tpm" verifier (tpm.c) and by the Azure vTPM verifiers
 * (az_*_vtpm.c), which compare the nonce themselves (Azure: exact; tpm:
 * regularized, see tpm.c).
 *
 * All multi-byte TPM fields are big-endian. Parsed structures point into
 * the caller's buffer (no copies): keep the buffer alive while using them.
 * Every function returns 0 or -1 with a precise reason in err.
 */
#ifndef TRUSTEE_TPM_H
#define TRUSTEE_TPM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "../lib/util.h"

#define TPM_GENERATED_VALUE	0xff544347u
#define TPM_ST_ATTEST_QUOTE	0x8018u

#define TPM_ALG_RSA		0x0001u
#define TPM_ALG_SHA1		0x0004u
#define TPM_ALG_SHA256		0x000bu
#define TPM_ALG_SHA384		0x000cu
#define TPM_ALG_SHA512		0x000du
#define TPM_ALG_NULL		0x0010u
#define TPM_ALG_RSASSA		0x0014u
#define TPM_ALG_RSAPSS		0x0016u
#define TPM_ALG_ECDSA		0x0018u
#define TPM_ALG_ECC		0x0023u

#define TPM_MAX_PCR_BANKS	16	/* TPML_PCR_SELECTION entries */
#define TPM_MAX_SELECT		4	/* sizeofSelect: PCRs 0..31 */
#define TPM_MAX_PCRS		(8 * TPM_MAX_SELECT)
#define TPM_MAX_DIGEST		64	/* sizeof(TPMU_HA) */

/* One TPMS_PCR_SELECTION. */
struct tpm_pcr_bank {
	uint16_t hash;			/* TPM_ALG_ID of the bank */
	uint8_t size_of_select;		/* 1..TPM_MAX_SELECT */
	uint8_t select[TPM_MAX_SELECT];	/* bit i of byte j: PCR 8j+i */
};

struct tpm_pcr_selection {
	uint32_t count;
	struct tpm_pcr_bank bank[TPM_MAX_PCR_BANKS];
};

/* A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. */
struct tpm_attest {
	uint32_t magic;
	uint16_t type;
	const uint8_t *qualified_signer;	/* TPM2B_NAME body */
	size_t qualified_signer_len;
	const uint8_t *extra_data;		/* the nonce (TPM2B_DATA) */
	size_t extra_data_len;			/* 0..TPM_MAX_DIGEST */
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	uint8_t safe;
	uint64_t firmware_version;
	struct tpm_pcr_selection pcr_select;
	const uint8_t *pcr_digest;		/* TPM2B_DIGEST body */
	size_t pcr_digest_len;
};

/* A parsed TPMT_SIGNATURE. */
struct tpm_signature {
	uint16_t sig_alg;	/* TPM_ALG_RSASSA / RSAPSS / ECDSA */
	uint16_t hash_alg;	/* TPM_ALG_SHA256 / SHA384 */
	const uint8_t *sig;	/* RSA: the signature (TPM2B) */
	size_t sig_len;
	const uint8_t *r, *s;	/* ECDSA: big-endian integers (TPM2B) */
	size_t r_len, s_len;
};

/* TPMS_ATTEST (quote) exactly filling buf: no trailing bytes. */
int tpm_attest_parse(const uint8_t *buf, size_t len, struct tpm_attest *out,
    struct error *err);
/* TPML_PCR_SELECTION exactly filling buf. */
int tpm_pcr_selection_parse(const uint8_t *buf, size_t len,
    struct tpm_pcr_selection *out, struct error *err);
/* TPMT_SIGNATURE exactly filling buf: RSASSA / RSAPSS / ECDSA with SHA-256
 * or SHA-384; anything else is refused. */
int tpm_signature_parse(const uint8_t *buf, size_t len,
    struct tpm_signature *out, struct error *err);

/*
 * The PCRs a selection names, in quote order (banks in order, PCR indices
 * ascending within a bank): idx[i] and the bank's hash alg hash[i]
 * (either array may be NULL). *n gets the count (<= max). Errors when
 * more than max PCRs are selected.
 */
int tpm_pcr_selection_list(const struct tpm_pcr_selection *sel,
    unsigned *idx, uint16_t *hash, size_t max, size_t *n, struct error *err);

/* Digest size of a TPM hash algorithm (0 if not supported). */
size_t tpm_hash_size(uint16_t alg);

/*
 * An AK public key from DER SubjectPublicKeyInfo: RSA (2048..4096 bits)
 * or EC on P-256 / P-384. A new reference.
 */
EVP_PKEY *tpm_ak_from_spki(const uint8_t *der, size_t len,
    struct error *err);
/* An RSA public key from big-endian modulus and exponent (Azure's
 * HCLAkPub JWK). A new reference. */
EVP_PKEY *tpm_rsa_pubkey(const uint8_t *n, size_t nlen, const uint8_t *e,
    size_t elen, struct error *err);

/*
 * Verify a TPMT_SIGNATURE over msg (the TPMS_ATTEST bytes) with ak: the
 * scheme must fit the key (RSASSA/RSAPSS need RSA, ECDSA needs EC) and
 * the digest is the scheme's hash of msg. RSAPSS accepts any salt length
 * (TPMs use the maximum; the TCG spec allows either).
 */
int tpm_signature_verify(const struct tpm_signature *sig, const uint8_t *msg,
    size_t msglen, EVP_PKEY *ak, struct error *err);
/* Verify a bare RSASSA-PKCS1-v1_5 / SHA-256 signature (Azure's
 * tpm_quote.signature) over msg with an RSA ak. */
int tpm_verify_rsassa_sha256(const uint8_t *sig, size_t siglen,
    const uint8_t *msg, size_t msglen, EVP_PKEY *ak, struct error *err);

/*
 * The PCR digest check: pcrs holds n reported PCR values of pcr_len bytes
 * each, in quote order (tpm_pcr_selection_list). They must be exactly
 * the selected PCRs (n == number selected, pcr_len == the bank's digest
 * size) and H(pcrs[0] || ... || pcrs[n-1]) == pcrDigest, where H is the
 * hash whose size is pcrDigest's (SHA-256, -384 or -512; the AK scheme's
 * hash, as the TPM computes it).
 */
int tpm_pcr_digest_check(const struct tpm_attest *a, const uint8_t *pcrs,
    size_t n, size_t pcr_len, struct error *err);

/*
 * The PCR8 value that binds an init-data digest: SHA256(32 zero bytes ||
 * expected), i.e. one extend of a zeroed PCR. 0, or -1 if hashing failed.
 */
int tpm_init_data_pcr8(const uint8_t expected[32], uint8_t pcr8[32]);

/*
 * Init-data binding (Trustee): pcr8 (32 bytes, SHA-256 bank) ==
 * SHA256(32 zero bytes || expected); expected must be exactly 32 bytes
 * (a sha256 init-data digest), else an error saying so.
 */
int tpm_init_data_check(const uint8_t pcr8[32], const uint8_t *expected,
    size_t expected_len, struct error *err);

/*
 * Everything a quote check needs, for the tpm and Azure verifiers:
 * parse message (TPMS_ATTEST) into *out, verify the signature (sig is a
 * TPMT_SIGNATURE, or with sig_raw_rsassa a bare RSASSA/SHA-256
 * signature) with ak, and check pcrDigest against the reported pcrs
 * (see tpm_pcr_digest_check). The nonce (out->extra_data) is left to
 * the caller. Order: signature (over the raw message), parse, PCR
 * digest, so any change to a signed message fails as a signature.
 */
struct tpm_quote_in {
	const uint8_t *message;
	size_t message_len;
	const uint8_t *sig;
	size_t sig_len;
	int sig_raw_rsassa;
	EVP_PKEY *ak;
	const uint8_t *pcrs;	/* n_pcrs * pcr_len bytes, quote order */
	size_t n_pcrs;
	size_t pcr_len;
};
int tpm_quote_verify(const struct tpm_quote_in *in, struct tpm_attest *out,
    struct error *err);

/*
 * Add "pcrNN" (two digits, the PCR index) = lowercase hex claims to obj
 * for the reported pcrs of a verified quote (same order as for
 * tpm_pcr_digest_check). Returns 0, or -1 if the selection cannot be
 * listed.
 */
int tpm_pcr_claims(json_t *obj, const struct tpm_attest *a,
    const uint8_t *pcrs, size_t n, size_t pcr_len, struct error *err);

/*
 * Build Trustee "tpm" evidence JSON ({"ak_public", "tpm_quote":
 * {"signature", "message", "pcrs"}}) from raw tool outputs: attest =
 * TPMS_ATTEST (tpm2_quote -m), sig = TPMT_SIGNATURE (tpm2_quote -s),
 * ak = the AK public key as DER SPKI or PEM "PUBLIC KEY", pcrs = the
 * PCR values as hex text (whitespace/newline/comma separated, optional
 * "0x"), in quote order. The inputs are checked for form only (parsed),
 * not verified. *evidence is a new reference.
 */
int tpm_evidence_build(const uint8_t *attest, size_t attest_len,
    const uint8_t *sig, size_t sig_len, const uint8_t *ak, size_t ak_len,
    const char *pcrs_text, json_t **evidence, struct error *err);

#endif
