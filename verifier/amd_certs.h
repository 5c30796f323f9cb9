/*
 * amd_certs.h: AMD SEV-SNP certificate handling for snp_report_verify.c
 * (internal): the pinned ARK/ASK/ASVK per product line, the VCEK/VLEK
 * chain check with a bounded, thread-safe cache of verified chains, the
 * AMD X.509 extensions (TCB SPLs, hwID) read by a small bounded DER
 * reader, and the lookup of a VCEK in the configuration, the offline
 * cache or AMD KDS.
 */
#ifndef TRUSTEE_AMD_CERTS_H
#define TRUSTEE_AMD_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "../lib/util.h"
#include "snp.h"

/* The AMD extensions of a VCEK/VLEK (1.3.6.1.4.1.3704.1.3.x, .1.4). */
struct amd_vek_ext {
	int has_bl, has_tee, has_snp, has_ucode, has_fmc;
	uint8_t bl, tee, snp, ucode, fmc;
	size_t hwid_len;		/* 0: no hwID extension */
	uint8_t hwid[64];
};

/*
 * An extension value holding a DER INTEGER 0..255 (leading 0x00 octets
 * allowed, negative refused, nothing trailing). 0 or -1 with err.
 */
int amd_certs_ext_int(const uint8_t *p, size_t len, uint8_t *out,
    struct error *err);
/*
 * An hwID extension value: the raw bytes (64, or 8 for Turin) or a DER
 * OCTET STRING holding them. 0 or -1 with err.
 */
int amd_certs_ext_hwid(const uint8_t *p, size_t len, uint8_t out[64],
    size_t *outlen, struct error *err);
/* Read the AMD extensions of a DER (or PEM) certificate. */
int amd_certs_vek_ext(const uint8_t *cert, size_t len,
    struct amd_vek_ext *out, struct error *err);

/* A verified VEK chain (what the cache holds). */
struct amd_vek {
	EVP_PKEY *pkey;			/* EC P-384 public key (owned ref) */
	enum snp_product product;	/* line whose pinned ARK anchors it */
	enum snp_signing_key kind;	/* VCEK (under ASK) or VLEK (ASVK) */
	int64_t not_before;		/* intersection of the chain's windows */
	int64_t not_after;
	struct amd_vek_ext ext;
};

/*
 * Verify a VEK (DER or PEM) up to the pinned ARK of `want` (UNKNOWN: any
 * line whose pinned ASK/ASVK signs it). ask/ark (may be NULL): from the
 * evidence; an ARK must verify under the pinned ARK's key, an ASK under
 * the pinned ARK. Validity is NOT checked here (the caller checks
 * [not_before, not_after] at its time). Cached by SHA-256 of the VEK DER
 * when no evidence ASK differing from the pinned one is involved.
 * *out gets its own pkey reference: amd_vek_clear it.
 */
int amd_certs_vek_verify(const uint8_t *vek, size_t vek_len,
    const uint8_t *ask, size_t ask_len, const uint8_t *ark, size_t ark_len,
    enum snp_product want, struct amd_vek *out, struct error *err);
void amd_vek_clear(struct amd_vek *v);
void amd_certs_cache_clear(void);

/*
 * Find a VCEK for a report without one: snp_vek_file, then the offline
 * cache snp_cert_cache, then AMD KDS (snp_kds_url). *der is malloc'd.
 * product UNKNOWN: KDS is asked for Milan then Genoa.
 */
int amd_certs_find_vek(const struct snp_report *r, uint8_t **der,
    size_t *der_len, struct error *err);

#endif
