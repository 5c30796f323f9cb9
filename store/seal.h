/*
 * seal.h: sealers, which wrap the store's master key so that it exists
 * outside process memory only in a form this TEE (or this operator) alone
 * can unwrap. One file per sealer (seal_<name>.c) behind one table.
 *
 * The store layer calls a sealer twice in an instance's life: seal() when
 * the instance first gets the master key (a new deployment, or joining
 * one), and unseal() at every start. The sealed blob is kept in the
 * database (table "_instances", keyed by the instance id), so instances
 * with different sealers can share one database.
 *
 * Sealed blob format (seal.c; every sealer's payload sits inside it):
 *   offset 0   6 bytes   magic "TSEAL\x01"
 *   offset 6   1 byte    length n of the sealer name (1..16)
 *   offset 7   n bytes   sealer name ("tpm2", "snp", "passphrase", "file")
 *   offset 7+n 4 bytes   payload length, u32 big-endian
 *   then                 the payload (sealer-specific, self-describing:
 *                        e.g. argon2id parameters and salt, TPM2B_PUBLIC
 *                        and TPM2B_PRIVATE with the PCR selection, the SNP
 *                        derived-key field selection), nothing after it.
 * seal_blob_parse checks the envelope with bounds checks (fuzzed);
 * unseal() parses its payload as untrusted bytes (the database is not
 * trusted) and must fail cleanly, without reading out of bounds, on any
 * malformed or truncated payload.
 *
 * Contracts for every sealer:
 * - secrets in and out are at most SEAL_SECRET_MAX bytes; the unsealed
 *   secret is written into the caller's buffer (sodium_malloc'd by the
 *   store layer), and every temporary copy is wiped;
 * - a wrong passphrase, another TPM, PCRs extended since sealing, another
 *   SNP launch measurement: unseal fails with a message that says which
 *   (e.g. "tpm2: unseal refused: PCR policy not satisfied (sha256:0,7
 *   changed since sealing)"), never with garbage key material;
 * - nothing is logged but the sealer's kind and non-secret parameters.
 */
#ifndef TRUSTEE_SEAL_H
#define TRUSTEE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define SEAL_SECRET_MAX		64
#define SEAL_NAME_MAX		16

/* [sealer] configuration (config_store.c fills it; strings are borrowed). */
struct seal_config {
	const char *kind;		/* "tpm2", "snp", "passphrase", "file";
					 * "tdx" is refused by seal_lookup */
	/* tpm2 */
	const char *tpm2_tcti;		/* tss2 TCTI string as tpm2-tools take
					 * it ("device:/dev/tpmrm0",
					 * "swtpm:host=127.0.0.1,port=2321");
					 * NULL = "device:/dev/tpmrm0" */
	const char *tpm2_pcrs;		/* "sha256:0,1,7" or NULL: no PCR
					 * binding */
	/* snp */
	const char *snp_device;		/* NULL = "/dev/sev-guest" */
	/* passphrase: the first that is set is used */
	int passphrase_fd;		/* -1 = none (read once, then closed;
					 * so set -1 when unset: a zeroed
					 * config would read stdin) */
	const char *passphrase_file;	/* 0600 file */
	const char *passphrase_credential; /* systemd credential name, read
					 * from $CREDENTIALS_DIRECTORY */
	/* file (development only) */
	const char *key_file;		/* 0600 file with 32 random bytes */
	int create;			/* file: create the key file if absent */
};

struct sealer {
	const char *name;
	/* Wrap secret (len <= SEAL_SECRET_MAX) into *payload (malloc'd). */
	int (*seal)(const struct seal_config *cfg, const uint8_t *secret,
	    size_t len, uint8_t **payload, size_t *payload_len,
	    struct error *err);
	/* Unwrap payload into out (capacity cap), *len bytes. */
	int (*unseal)(const struct seal_config *cfg, const uint8_t *payload,
	    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
	    struct error *err);
	/* One line for logs, health and `trusteectl status`, without
	 * secrets: "tpm2 (device:/dev/tpmrm0, PCRs sha256:0,7)". */
	void (*describe)(const struct seal_config *cfg, char *buf, size_t cap);
	/* 1 for sealers that bind nothing to the TEE ("file"): a warning at
	 * start, in /api/v1/health and in `trusteectl status`. */
	int insecure;
};

/* ------------------------------------------------------------------ seal.c */

/* The sealer named kind, or NULL with err set ("tdx" gets a message that
 * no TDX sealing key exists and points to tpm2 (vTPM) or passphrase). */
const struct sealer *seal_lookup(const char *kind, struct error *err);
/* seal with cfg->kind and wrap the payload in the envelope above. */
int seal_wrap(const struct seal_config *cfg, const uint8_t *secret,
    size_t len, uint8_t **blob, size_t *blob_len, struct error *err);
/* Parse the envelope; the sealer it names must be cfg->kind (a blob
 * sealed by another kind is refused, naming both); then unseal. */
int seal_unwrap(const struct seal_config *cfg, const uint8_t *blob,
    size_t blob_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err);
/* Envelope parsing alone: the sealer name (into name, SEAL_NAME_MAX + 1)
 * and the payload's position. 0, or -1 with a precise reason. */
int seal_blob_parse(const uint8_t *blob, size_t blob_len, char *name,
    const uint8_t **payload, size_t *payload_len, struct error *err);

extern const struct sealer seal_tpm2;
extern const struct sealer seal_snp;
extern const struct sealer seal_passphrase;
extern const struct sealer seal_file;

#endif
