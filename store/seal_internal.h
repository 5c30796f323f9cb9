/*
 * seal_internal.h: what the sealers share (seal.c) and what the unit tests
 * and the fuzzer reach below the struct sealer table: every sealer's
 * payload parser, SNP request building with an injectable guest-request
 * function, passphrase sealing with chosen argon2id parameters. For
 * store/seal*.c, tests/unit/test_seal*.c and tests/fuzz/fuzz_seal_blob.c
 * only.
 *
 * Every payload starts with a format version byte (1) and is parsed as
 * untrusted bytes: a parser reads nothing out of bounds, accepts nothing
 * trailing, fills err with a precise reason, and never touches a TPM,
 * a device or a file.
 */
#ifndef TRUSTEE_SEAL_INTERNAL_H
#define TRUSTEE_SEAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/sev-guest.h>

#include "seal.h"

/* No sealer's payload comes near this (tpm2 is the largest: under 1.5
 * KiB); the cap keeps hostile lengths away from every size computation. */
#define SEAL_PAYLOAD_MAX	65536

/* XChaCha20-Poly1305 as every software-keyed sealer uses it. */
#define SEAL_KEY_LEN		32
#define SEAL_NONCE_LEN		24
#define SEAL_TAG_LEN		16
/* A box is nonce || ciphertext || tag of a 1..SEAL_SECRET_MAX secret. */
#define SEAL_BOX_MIN		(SEAL_NONCE_LEN + 1 + SEAL_TAG_LEN)
#define SEAL_BOX_MAX		(SEAL_NONCE_LEN + SEAL_SECRET_MAX + SEAL_TAG_LEN)

/* ----------------------------------------------------------------- seal.c */

/* Bounds-checked reader over untrusted bytes: every get returns -1 (and
 * consumes nothing) when fewer bytes are left than asked for. Integers
 * are big-endian. */
struct seal_rd {
	const uint8_t *p;
	size_t left;
};
int seal_rd_u8(struct seal_rd *r, uint8_t *v);
int seal_rd_u16(struct seal_rd *r, uint16_t *v);
int seal_rd_u32(struct seal_rd *r, uint32_t *v);
int seal_rd_u64(struct seal_rd *r, uint64_t *v);
int seal_rd_bytes(struct seal_rd *r, size_t n, const uint8_t **v);

void seal_put_u8(struct buf *b, uint8_t v);
void seal_put_u16(struct buf *b, uint16_t v);
void seal_put_u32(struct buf *b, uint32_t v);
void seal_put_u64(struct buf *b, uint64_t v);

/* Check a box length (SEAL_BOX_MIN..SEAL_BOX_MAX); who names the sealer. */
int seal_box_check(const char *who, size_t box_len, struct error *err);
/* Append a box of secret (1..SEAL_SECRET_MAX bytes) under key, with ad as
 * associated data, to out. */
void seal_box_close(const uint8_t key[SEAL_KEY_LEN], const uint8_t *ad,
    size_t ad_len, const uint8_t *secret, size_t len, struct buf *out);
/* Open a box (length already checked) into out (capacity cap). 0, or -1
 * when it does not authenticate (out then holds nothing) or cap is too
 * small (err says so; an authentication failure leaves err alone so the
 * caller can say what it means for its sealer). */
int seal_box_open(const uint8_t key[SEAL_KEY_LEN], const uint8_t *ad,
    size_t ad_len, const uint8_t *box, size_t box_len, uint8_t *out,
    size_t cap, size_t *len, struct error *err);
/* The sealer contract on input secrets: 1..SEAL_SECRET_MAX bytes. */
int seal_secret_check(const char *who, size_t len, struct error *err);

/* ------------------------------------------------------------ seal_file.c */

/*
 * Payload, version 1:
 *   1 byte   version (1)
 *   box      nonce || XChaCha20-Poly1305(secret) || tag
 *   key = crypto_kdf_derive_from_key(1, "tsealfil", the key file's 32
 *         bytes); associated data = the version byte.
 */
#define SEAL_FILE_V1		1
struct seal_file_payload {
	const uint8_t *hdr;	/* associated data */
	size_t hdr_len;
	const uint8_t *box;
	size_t box_len;
};
int seal_file_payload_parse(const uint8_t *p, size_t len,
    struct seal_file_payload *out, struct error *err);

/* ------------------------------------------------------ seal_passphrase.c */

/*
 * Payload, version 1 (26-byte header, then the box):
 *   1 byte   version (1)
 *   1 byte   KDF (1 = argon2id v1.3, crypto_pwhash_ALG_ARGON2ID13)
 *   4 bytes  opslimit (iterations), u32 big-endian
 *   4 bytes  memlimit in KiB, u32 big-endian
 *  16 bytes  salt
 *   box      nonce || XChaCha20-Poly1305(secret) || tag
 *   key = argon2id(passphrase, salt, opslimit, memlimit); associated
 *   data = the 26 header bytes. The tag is the canary: a wrong
 *   passphrase (or altered parameters) cannot authenticate.
 */
#define SEAL_PASSPHRASE_V1		1
#define SEAL_PASSPHRASE_KDF_ARGON2ID	1
#define SEAL_PASSPHRASE_SALT_LEN	16
#define SEAL_PASSPHRASE_HDR_LEN		(1 + 1 + 4 + 4 + SEAL_PASSPHRASE_SALT_LEN)
/* Defaults for new seals: 64 MiB, 3 passes. */
#define SEAL_PASSPHRASE_OPS_DEFAULT	3
#define SEAL_PASSPHRASE_MEM_KIB_DEFAULT	(64u * 1024)
/* What unseal accepts from the (untrusted) payload: from libsodium's
 * minimum up to 32 passes and 1 GiB, so a doctored row cannot make the
 * daemon spend minutes or all its memory before failing. */
#define SEAL_PASSPHRASE_OPS_MAX		32
#define SEAL_PASSPHRASE_MEM_KIB_MAX	(1024u * 1024)
/* Longest passphrase read (bytes, after the final newline is dropped). */
#define SEAL_PASSPHRASE_MAX		1024

struct seal_passphrase_payload {
	uint8_t kdf;
	uint32_t opslimit;
	uint32_t memlimit_kib;
	const uint8_t *salt;
	const uint8_t *hdr;	/* associated data */
	size_t hdr_len;
	const uint8_t *box;
	size_t box_len;
};
int seal_passphrase_payload_parse(const uint8_t *p, size_t len,
    struct seal_passphrase_payload *out, struct error *err);
/* seal() with chosen argon2id parameters (the tests use cheap ones). */
int seal_passphrase_seal_params(const struct seal_config *cfg,
    uint32_t opslimit, uint32_t memlimit_kib, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err);

/* ------------------------------------------------------------- seal_snp.c */

/*
 * SNP_GET_DERIVED_KEY, from the Linux uapi <linux/sev-guest.h> and the
 * SEV-SNP firmware ABI (MSG_KEY_REQ / MSG_KEY_RSP). The request and the
 * response are checked against the ABI's sizes and offsets at compile
 * time (seal_snp.c).
 *
 * GUEST_FIELD_SELECT bits (ABI: "which data will be mixed into the
 * derived key"):
 */
#define SEAL_SNP_FIELD_POLICY		(1u << 0)	/* guest policy */
#define SEAL_SNP_FIELD_IMAGE_ID		(1u << 1)
#define SEAL_SNP_FIELD_FAMILY_ID	(1u << 2)
#define SEAL_SNP_FIELD_MEASUREMENT	(1u << 3)	/* launch digest */
#define SEAL_SNP_FIELD_GUEST_SVN	(1u << 4)
#define SEAL_SNP_FIELD_TCB_VERSION	(1u << 5)
#define SEAL_SNP_FIELD_LAUNCH_MIT	(1u << 6)	/* message version 2 */
/* Bits a message-version-1 request can carry (bit 6 needs version 2,
 * whose request has a field the uapi struct lacks). */
#define SEAL_SNP_FIELD_KNOWN_V1		0x3fu
/* What every seal uses and every unseal requires: another launch
 * measurement or another guest policy (debug allowed, SMT, migration
 * agent, minimum ABI...) derives another key. See seal_snp.c. */
#define SEAL_SNP_FIELD_REQUIRED \
	(SEAL_SNP_FIELD_POLICY | SEAL_SNP_FIELD_MEASUREMENT)
#define SEAL_SNP_ROOT_VCEK		0	/* ROOT_KEY_SELECT bit 0 */
#define SEAL_SNP_ROOT_VMRK		1
#define SEAL_SNP_MSG_VERSION		1
#define SEAL_SNP_KEY_LEN		32	/* MSG_KEY_RSP DERIVED_KEY */
#define SEAL_SNP_RSP_KEY_OFFSET		0x20

/* The key request inputs, as recorded in the payload. */
struct seal_snp_params {
	uint32_t root_key_select;
	uint64_t field_select;
	uint32_t vmpl;
	uint32_t guest_svn;
	uint64_t tcb_version;
};

/*
 * Payload, version 1 (30-byte header, then the box):
 *   1 byte   version (1)
 *   1 byte   guest request message version (1)
 *   4 bytes  ROOT_KEY_SELECT, u32 big-endian (0: VCEK; VMRK refused)
 *   8 bytes  GUEST_FIELD_SELECT, u64 big-endian (must include 0x9)
 *   4 bytes  VMPL, u32 big-endian (0..3)
 *   4 bytes  GUEST_SVN, u32 big-endian
 *   8 bytes  TCB_VERSION, u64 big-endian
 *   box      nonce || XChaCha20-Poly1305(secret) || tag
 *   key = crypto_kdf_derive_from_key(1, "tsealsnp", DERIVED_KEY);
 *   associated data = the 30 header bytes.
 */
#define SEAL_SNP_V1		1
#define SEAL_SNP_HDR_LEN	(1 + 1 + 4 + 8 + 4 + 4 + 8)
struct seal_snp_payload {
	uint8_t msg_version;
	struct seal_snp_params params;
	const uint8_t *hdr;	/* associated data */
	size_t hdr_len;
	const uint8_t *box;
	size_t box_len;
};
int seal_snp_payload_parse(const uint8_t *p, size_t len,
    struct seal_snp_payload *out, struct error *err);

/* The parameters every new seal uses (VCEK, policy + measurement, VMPL 0,
 * no SVN, no TCB). */
void seal_snp_params_default(struct seal_snp_params *params);
/* Fill the ioctl argument and its MSG_KEY_REQ for params, pointing at
 * req and resp (zeroed here). */
void seal_snp_request_build(const struct seal_snp_params *params,
    struct snp_derived_key_req *req, struct snp_derived_key_resp *resp,
    struct snp_guest_request_ioctl *ioc);
/* Take the key out of a MSG_KEY_RSP: 0, or -1 when its STATUS is not 0. */
int seal_snp_response_key(const struct snp_derived_key_resp *resp,
    uint8_t key[SEAL_SNP_KEY_LEN], struct error *err);

/* Issue one guest request: what seal_snp_ioctl does on /dev/sev-guest; a
 * test passes a fake. Returns 0 with *resp filled, or -1 with err set. */
typedef int (*seal_snp_request_fn)(void *arg, const char *device,
    struct snp_guest_request_ioctl *ioc, struct error *err);
int seal_snp_ioctl(void *arg, const char *device,
    struct snp_guest_request_ioctl *ioc, struct error *err);
int seal_snp_seal_with(seal_snp_request_fn fn, void *arg,
    const struct seal_config *cfg, const uint8_t *secret, size_t len,
    uint8_t **payload, size_t *payload_len, struct error *err);
int seal_snp_unseal_with(seal_snp_request_fn fn, void *arg,
    const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err);

/* ------------------------------------------------------------ seal_tpm2.c */

/*
 * Payload, version 1:
 *   1 byte   version (1)
 *   1 byte   primary key template (1: the TCG ECC P-256 storage key in
 *            the owner hierarchy, re-created at every use)
 *   2 bytes  PCR bank, TPM2_ALG_ID u16 big-endian (0: no PCR binding)
 *   1 byte   number n of PCRs (0..24; 0 iff no bank)
 *   n bytes  PCR indices, strictly ascending, each < 24
 *   n * d    the PCR values at sealing (d = the bank's digest size), in
 *            index order: the policy was computed from them, and unseal
 *            names the ones that changed
 *   2 bytes  length, u16 big-endian, then TPM2B_PUBLIC (tss2-mu)
 *   2 bytes  length, u16 big-endian, then TPM2B_PRIVATE (tss2-mu)
 * The sealed object is a KEYEDHASH data object, fixedTPM|fixedParent;
 * with PCRs its authPolicy is PolicyPCR over those values and
 * userWithAuth is clear, without PCRs it has an empty auth value.
 */
#define SEAL_TPM2_V1			1
#define SEAL_TPM2_TEMPLATE_ECC_SRK	1
#define SEAL_TPM2_PCR_COUNT		24
#define SEAL_TPM2_DIGEST_MAX		64

struct seal_tpm2_pcrs {
	uint16_t alg;		/* TPM2_ALG_SHA1/256/384/512; 0 = none */
	uint8_t n;
	uint8_t idx[SEAL_TPM2_PCR_COUNT];
};

/* "sha256:0,7" (one bank; indices 0..23, any order, no repeats) or NULL
 * / "" for none. */
int seal_tpm2_pcrs_parse(const char *s, struct seal_tpm2_pcrs *out,
    struct error *err);
/* "sha256:0,7" (or "none") into buf. */
void seal_tpm2_pcrs_format(const struct seal_tpm2_pcrs *pcrs, char *buf,
    size_t cap);
/* Digest size of a PCR bank, 0 when unsupported. */
size_t seal_tpm2_digest_len(uint16_t alg);

struct seal_tpm2_payload {
	uint8_t template_id;
	struct seal_tpm2_pcrs pcrs;
	const uint8_t *pcr_values;	/* pcrs.n * digest_len bytes */
	size_t digest_len;
	const uint8_t *pub;		/* marshalled TPM2B_PUBLIC */
	size_t pub_len;
	const uint8_t *priv;		/* marshalled TPM2B_PRIVATE */
	size_t priv_len;
};
/* Parse the framing and unmarshal both TPM2B (which must be exactly as
 * long as framed); checks the object is a sealed data object whose
 * attributes match the PCR choice. */
int seal_tpm2_payload_parse(const uint8_t *p, size_t len,
    struct seal_tpm2_payload *out, struct error *err);

#endif
