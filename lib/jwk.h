/*
 * jwk.h: JSON Web Keys <-> OpenSSL EVP_PKEY, for the key types the KBS
 * protocol and its admin tokens use.
 */
#ifndef TRUSTEE_JWK_H
#define TRUSTEE_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include "util.h"

/*
 * Public key from a JWK object. Accepts
 *   {"kty":"EC","crv":"P-256"|"P-384"|"P-521","x":b64url,"y":b64url}
 *     (coordinates exactly 32/48/66 bytes, point on the curve),
 *   {"kty":"RSA","n":b64url,"e":b64url} (2048..8192-bit modulus),
 *   {"kty":"OKP","crv":"Ed25519","x":b64url(32)}.
 * Other members are ignored. Errors name the offending member.
 */
int jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct error *err);

/* Public JWK of a key, members in this order:
 *   EC:  kty, crv, alg (if non-NULL), x, y    (fixed-length coordinates)
 *   RSA: kty, alg (if non-NULL), n, e
 *   OKP: kty, crv, alg (if non-NULL), x
 * Returns a new reference, or NULL for an unsupported key. */
json_t *jwk_from_pkey(EVP_PKEY *pkey, const char *alg);

/*
 * The KBS TeePubKey (kbs-types): keep only the modelled members, checking
 * that each is a string, as both Trustee and the guest re-serialize it:
 *   EC:  {kty, crv, alg, x, y}   RSA: {kty, alg, n, e}   AKP: {kty, alg, pub}
 * Returns a new object (for hashing with JCS), or NULL with err set.
 */
json_t *jwk_tee_pubkey_normalize(const json_t *in, struct error *err);

/* The string member `name` of obj, or NULL with err set ("<what>.<name>:
 * missing / not a string / contains a NUL character"). Strings with an
 * embedded NUL are refused, so that C string comparisons downstream see
 * the whole value. */
const char *jwk_member_string(const json_t *obj, const char *what,
    const char *name, struct error *err);

#endif
