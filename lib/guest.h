/*
 * guest.h: the guest side of KBS protocol v0, as a CoCo guest (sample
 * attester) plays it: /auth, /attest with evidence bound to a fresh TEE
 * key, resource GET with the session cookie or the EAR token as Bearer,
 * JWE decryption. Used by `trusteectl attest` and the benchmark.
 */
#ifndef TRUSTEE_GUEST_H
#define TRUSTEE_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "httpc.h"
#include "util.h"

enum guest_key_alg {
	GUEST_KEY_P256,		/* EC P-256, ECDH-ES+A256KW (the guest default) */
	GUEST_KEY_P521,		/* EC P-521, ECDH-ES+A256KW */
	GUEST_KEY_RSA_OAEP256,	/* RSA-2048, RSA-OAEP-256 */
	GUEST_KEY_RSA1_5	/* RSA-2048, RSA1_5 */
};

struct guest;

/* Generate the TEE key pair. */
struct guest *guest_new(enum guest_key_alg alg, struct error *err);
void guest_free(struct guest *g);

/*
 * POST {url}/kbs/v0/auth then /kbs/v0/attest over c (which keeps the
 * session cookie): sends supported-hash-algorithms, honours
 * selected-hash-algorithm (SHA-384 when absent), binds
 * HASH(JCS({"additional-evidence":"","nonce","tee-pubkey"})) as sample
 * evidence report_data, and sends init-data {"format":"toml","body":...}
 * when init_data is non-NULL (else null). Stores the EAR token.
 * On a non-200 answer err reads "POST /kbs/v0/attest: 401 AttestationError: <detail>".
 */
int guest_attest(struct guest *g, struct httpc *c, const char *tee,
    const char *init_data, size_t init_data_len, struct error *err);

/*
 * An attester: the primary evidence (a new reference to any JSON value,
 * usually an object) binding report_data, the runtime-data digest of
 * rdlen bytes (the attester pads or truncates it as its TEE requires).
 * arg is the caller's. 0, or -1 with err set.
 */
typedef int (*guest_evidence_fn)(void *arg, const uint8_t *report_data,
    size_t rdlen, json_t **evidence, struct error *err);

/*
 * guest_attest with evidence from fn (guest_attest is this with the
 * sample attester: {"svn":"1","report_data":base64(digest)}). tee is the
 * KBS tee name sent to /auth ("snp", "tdx", "tpm", "az-snp-vtpm", ...).
 */
int guest_attest_evidence(struct guest *g, struct httpc *c, const char *tee,
    guest_evidence_fn fn, void *arg, const char *init_data,
    size_t init_data_len, struct error *err);

/* The EAR token from the last successful guest_attest (or NULL). */
const char *guest_token(const struct guest *g);

/*
 * GET {url}/kbs/v0/<path> (path like "resource/repo/type/tag"); with bearer
 * set, sends "Authorization: Bearer <token>" and no cookie, otherwise the
 * session cookie. Decrypts the JWE with the TEE key. *out is malloc'd
 * (release with secret_free(*out, *outlen)).
 */
int guest_get(struct guest *g, struct httpc *c, const char *path, int bearer,
    uint8_t **out, size_t *outlen, struct error *err);
/* guest_get with the plaintext only ever in locked memory (see
 * jwe_decrypt_locked); release *out with sodium_free. */
int guest_get_locked(struct guest *g, struct httpc *c, const char *path,
    int bearer, uint8_t **out, size_t *outlen, struct error *err);

/* Map a KBS problem response to "<status> <Type>: <detail>" in err.
 * Returns -1. Exposed for trusteectl's admin commands. */
int guest_problem(const char *what, const struct httpc_response *r,
    struct error *err);

#endif
