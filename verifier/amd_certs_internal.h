/*
 * amd_certs_internal.h: what the amd_certs*.c files share with each
 * other: the certificate loader and the cache of verified VEK chains.
 * Not an API: amd_certs.h is the interface (itself internal to the SNP
 * verifier).
 */
#ifndef TRUSTEE_AMD_CERTS_INTERNAL_H
#define TRUSTEE_AMD_CERTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "amd_certs.h"

#define AMD_CERT_MAX		(64 * 1024)	/* largest VEK file read */

/* ---- amd_certs_ext.c ---- */

/* Parse DER or PEM (at most AMD_CERT_MAX bytes) into an X509; DER must be
 * consumed exactly. NULL with err naming what. */
X509 *amd_certs_load(const uint8_t *buf, size_t len, const char *what,
    struct error *err);

/* ---- amd_certs_cache.c: verified VEK chains by SHA-256 of the DER ---- */

/* 1 and *out (with its own pkey reference) when key is cached, else 0. */
int amd_certs_cache_get(const uint8_t key[SHA256_DIGEST_LENGTH],
    struct amd_vek *out);
/* Cache a copy of v (taking a pkey reference) under key, evicting the
 * least recently used entry when full; a no-op when key is there. */
void amd_certs_cache_put(const uint8_t key[SHA256_DIGEST_LENGTH],
    const struct amd_vek *v);

#endif
