/*
 * nvidia_internal.h: what the nvidia*.c files share with each other (the
 * verified-chain record and cache, the FWID of a parsed certificate, the
 * measurement claims). Not a stable API: nvidia.h is what the tests and
 * fuzzers use.
 */
#ifndef TRUSTEE_NVIDIA_INTERNAL_H
#define TRUSTEE_NVIDIA_INTERNAL_H

#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "nvidia.h"
#include "spdm.h"

/* ---- nvidia_chain.c: device certificate chains ---- */

/* A verified chain: what the cache holds. */
struct nvidia_chain {
	uint8_t key[32];		/* SHA-256 of the base64 chain text */
	EVP_PKEY *leaf;			/* EC P-384 (own reference) */
	uint8_t fwid[NVIDIA_FWID_LEN];
	int64_t not_before, not_after;	/* intersection over the chain */
	char leaf_cn[64];
	uint64_t stamp;
	int used;
};

/*
 * The verified chain of a device (cached by SHA-256 of d->certificate):
 * it verifies to the pinned NVIDIA Device Identity CA (times are NOT
 * checked: c->not_before/not_after are for the caller), the leaf holds an
 * ECDSA P-384 key and exactly one SHA-384 FWID. c->leaf is a new
 * reference the caller frees.
 */
int nvidia_chain_get(const struct nvidia_device *d, struct nvidia_chain *c,
    struct error *err);

/* ---- nvidia_fwid.c: the FWID extension ---- */

/* The one SHA-384 FWID of x's extension 2.23.133.5.4.1 (see
 * nvidia_cert_fwid in nvidia.h). */
int nvidia_fwid_x509(X509 *x, uint8_t fwid[NVIDIA_FWID_LEN],
    struct error *err);

/* ---- nvidia_claims.c ---- */

/* {"<index>": hex of the value, ...} for the report's measurement
 * blocks. New reference. */
json_t *nvidia_claims_measurements(const struct spdm_measurements *m);

#endif
