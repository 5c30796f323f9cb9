/*
 * hash.h: the hash algorithms named by the KBS protocol and init-data
 * (kbs-types HashAlgorithm serde names, exactly lowercase).
 */
#ifndef TRUSTEE_HASH_H
#define TRUSTEE_HASH_H

#include <stddef.h>
#include <stdint.h>

enum hash_alg { HASH_SHA256, HASH_SHA384, HASH_SHA512, HASH_SM3 };
#define HASH_MAX_SIZE 64

/* Exact names "sha256" "sha384" "sha512" "sm3"; -1 otherwise. */
int hash_alg_from_name(const char *name, enum hash_alg *out);
const char *hash_alg_name(enum hash_alg a);
size_t hash_alg_size(enum hash_alg a);
/* out must hold HASH_MAX_SIZE bytes. Returns 0, or -1 if the digest is
 * unavailable in this OpenSSL. */
int hash_digest(enum hash_alg a, const void *data, size_t len,
    uint8_t out[HASH_MAX_SIZE], size_t *outlen);

#endif
