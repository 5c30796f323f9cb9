/*
 * jwe_internal.h: what the JWE files share. lib/jwe.c builds responses
 * (server side), lib/jwe_decrypt.c reads them (guest side),
 * lib/jwe_alg.c holds the algorithms both use and lib/jwe_header.c the
 * guest's canonical form of the protected header. Private to those
 * files; everything else uses jwe.h.
 */
#ifndef TRUSTEE_JWE_INTERNAL_H
#define TRUSTEE_JWE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "util.h"

#define JWE_ALG_ECDH		"ECDH-ES+A256KW"
#define JWE_ALG_OAEP		"RSA-OAEP-256"
#define JWE_ALG_RSA15		"RSA1_5"
#define JWE_ENC			"A256GCM"
#define JWE_CEK_LEN		32
#define JWE_KEK_LEN		32
#define JWE_IV_LEN		12
#define JWE_TAG_LEN		16
#define JWE_WRAPPED_LEN		(JWE_CEK_LEN + 8)	/* RFC 3394 */
#define JWE_Z_MAX		66			/* P-521 */

enum jwe_alg { JWE_ECDH_ES_A256KW, JWE_RSA_OAEP_256, JWE_RSA1_5 };

/* -------------------------------------------------------------- jwe_alg.c */

/* The alg named by its JOSE name; -1 for any other name. */
int jwe_alg_from_name(const char *alg, enum jwe_alg *out);
/* JOSE curve name of an EC key usable with ECDH-ES+A256KW, else NULL. */
const char *jwe_alg_pkey_crv(EVP_PKEY *pkey);
/* Z = ECDH(priv, peer); peer must come from jwk_to_pkey (validated). */
int jwe_alg_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[JWE_Z_MAX],
    size_t *zlen);
/* The KEK from Z by the Concat KDF (AlgorithmID ECDH-ES+A256KW, empty
 * PartyUInfo/PartyVInfo). */
int jwe_alg_concat_kdf(const uint8_t *z, size_t zlen,
    uint8_t kek[JWE_KEK_LEN]);
/* AES-256 key wrap (enc=1) or unwrap (enc=0), RFC 3394. */
int jwe_alg_aes_kw(int enc, const uint8_t kek[JWE_KEK_LEN],
    const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
    size_t *outlen);
/* AES-256-GCM encryption (enc=1, tag written) or decryption (enc=0, tag
 * checked); out has room for inlen bytes. */
int jwe_alg_gcm(int enc, const uint8_t cek[JWE_CEK_LEN],
    const uint8_t iv[JWE_IV_LEN], const char *aad, size_t aadlen,
    const uint8_t *in, size_t inlen, uint8_t *out,
    uint8_t tag[JWE_TAG_LEN]);
/* RSA encryption (enc=1) or decryption of the CEK with alg's padding. */
int jwe_alg_rsa(int enc, enum jwe_alg alg, EVP_PKEY *key, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen);

/* ------------------------------------------------------------------ jwe.c */

/* ----------------------------------------------------------- jwe_header.c */

/* The AAD the guest computes for a protected header whose "alg" and
 * "enc" are strings: malloc'd base64url text, or NULL when the header
 * nests too deeply for serde_json. */
char *jwe_header_canonical_aad(const json_t *hdr);

#endif
