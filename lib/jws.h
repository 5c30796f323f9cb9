/*
 * jws.h: compact JWS (JWT) signing and verification.
 * Algorithms: ES256 ES384 ES512 (raw r||s signatures), EdDSA (Ed25519),
 * RS256 RS384 RS512, PS256. The key type must match the algorithm
 * (no "alg confusion": an RSA key never verifies an HS/ES token).
 */
#ifndef TRUSTEE_JWS_H
#define TRUSTEE_JWS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "util.h"

struct jws {
	json_t *header;		/* decoded protected header (object) */
	json_t *payload;	/* decoded payload (object) */
	const char *alg;	/* header "alg" (points into header) */
	char *signing_input;	/* "b64hdr.b64payload" */
	size_t signing_input_len;
	uint8_t *sig;		/* decoded signature */
	size_t sig_len;
};

/* The JOSE alg for a signing key: "ES256" (P-256), "ES384", "ES512",
 * "EdDSA", "RS256" (RSA); NULL if unsupported. */
const char *jws_alg_for_key(EVP_PKEY *key);

/*
 * Sign: header is serialized as given (compact, insertion order; it must
 * hold "alg" matching the key), payload is the exact JSON text to sign.
 * Returns a malloc'd compact JWS, or NULL with err set.
 */
char *jws_sign(EVP_PKEY *key, const json_t *header, const char *payload,
    size_t payload_len, struct error *err);

/*
 * Parse a compact JWS: exactly three b64url (no padding) parts, header and
 * payload JSON objects (duplicate keys rejected), header "alg" a string.
 * Does not verify. Returns NULL with err set on malformed input.
 */
struct jws *jws_parse(const char *token, size_t len, struct error *err);
void jws_free(struct jws *j);

/* Verify the signature with key, requiring header alg to equal the alg the
 * key implies (for RSA keys: RS256/384/512 or PS256). 0 if valid. */
int jws_verify(const struct jws *j, EVP_PKEY *key, struct error *err);

#endif
