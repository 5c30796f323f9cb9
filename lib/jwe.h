/*
 * jwe.h: the KBS resource response (flattened JWE JSON, RFC 7516).
 * Content encryption is always A256GCM (12-byte IV, 16-byte tag);
 * key management by the TEE key's "alg":
 *   EC P-256 / P-521 "ECDH-ES+A256KW" (ephemeral ECDH, Concat KDF SHA-256
 *     with AlgorithmID = alg and empty apu/apv, AES-256 key wrap),
 *   RSA "RSA-OAEP-256" (SHA-256 + MGF1-SHA-256), RSA "RSA1_5".
 * The protected header is compact JSON with "alg", "enc" first, then the
 * other members (and nested keys) sorted: {"alg","enc","epk":{crv,kty,x,y}}.
 * The output members are protected, encrypted_key, iv, ciphertext, tag
 * (b64url, no padding); "aad" is never emitted.
 */
#ifndef TRUSTEE_JWE_H
#define TRUSTEE_JWE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "util.h"

/* Encrypt pt to the TEE public key given as a TeePubKey JWK object.
 * Returns the malloc'd JSON text, or NULL with err set (unsupported alg,
 * curve or key encoding: the caller maps that to JweError). */
char *jwe_encrypt(const json_t *tee_pubkey, const uint8_t *pt, size_t ptlen,
    struct error *err);

/*
 * The same in two steps, for a key that receives many responses: parse
 * and check the TeePubKey once (every check and error of jwe_encrypt
 * happens here), then encrypt to it. A jwe_key is immutable: threads may
 * encrypt to one key at the same time. jwe_key_free(NULL) is fine.
 */
struct jwe_key;
struct jwe_key *jwe_key_new(const json_t *tee_pubkey, struct error *err);
/* A key already parsed and validated (jwk_to_pkey) with its TeePubKey
 * "alg": takes over pkey (freed on failure too). NULL with err when the
 * key does not fit alg (ECDH-ES+A256KW: P-256 or P-521; RSA: at most
 * 4096 bits). */
struct jwe_key *jwe_key_adopt(EVP_PKEY *pkey, const char *alg,
    struct error *err);
void jwe_key_free(struct jwe_key *k);
char *jwe_encrypt_key(const struct jwe_key *k, const uint8_t *pt,
    size_t ptlen, struct error *err);

/* Decrypt a flattened JWE with the recipient's private key (guest side,
 * used by trusteectl attest and the tests). *pt is malloc'd; release it
 * with secret_free(*pt, *ptlen). */
int jwe_decrypt(const char *jwe, size_t len, EVP_PKEY *priv, uint8_t **pt,
    size_t *ptlen, struct error *err);
/* jwe_decrypt into locked memory (sodium_malloc: mlock'd, guarded):
 * for keys that must never reach swap (LUKS passphrases). Release *pt
 * with sodium_free (which wipes it). */
int jwe_decrypt_locked(const char *jwe, size_t len, EVP_PKEY *priv,
    uint8_t **pt, size_t *ptlen, struct error *err);

#endif
