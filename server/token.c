/*
 * token.c: EAR attestation tokens (draft-ietf-rats-ear, as Trustee's
 * attestation service emits them): ES256 JWTs signed by a P-256 key that
 * is created on first start and kept in the encrypted store, so tokens
 * survive restarts and every instance sharing the store signs alike.
 * The public key is published as a JWKS for relying parties.
 *
 * The private key in memory: its scalar lives in OpenSSL's secure heap
 * (tls_secure_heap_init, called before token_init), the PEM passes only
 * through a secure-heap BIO (creation) or the store's plaintext buffer,
 * wiped at once (loading); token_shutdown frees it, which wipes it.
 *
 * Verified tokens are remembered in the verified-token cache
 * (sesscache.c): token_check verifies a token only the first time it is
 * presented, and /attest remembers the tokens it issues (it built their
 * claims, there is nothing to verify). An attested session's own token
 * (token_check_own) is parsed, not verified, when not cached. The cache is flushed whenever the
 * signing key is (re)loaded or dropped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../lib/b64.h"
#include "../lib/jwk.h"
#include "../lib/jcs.h"
#include "../lib/jwe.h"
#include "../lib/jws.h"
#include "../lib/log.h"
#include "sesscache.h"
#include "trusteed.h"

#define TOKEN_KEY_TABLE "keys"
#define TOKEN_KEY_NAME "ear-signer"

static EVP_PKEY *token_key;
static json_t *token_header;	/* {"typ","alg","jwk","kid"} */
static char *token_jwks_text;
static char *token_header_text;	/* token_header, serialized */
static char *token_header_b64;	/* the same as a token's first part */
static int token_lifetime = 300;

/* Private key from its PKCS#8 PEM held in memory. */
static EVP_PKEY *
token_key_from_pem(const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k;

	if (bio == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return k;
}

static int
token_key_create(struct store *st, struct error *err)
{
	BIO *bio;
	BUF_MEM *mem;
	int rc;

	token_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (token_key == NULL)
		return error_set(err, "cannot generate the EAR signing key");
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, token_key, NULL,
	    NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return error_set(err, "cannot encode the EAR signing key");
	}
	BIO_get_mem_ptr(bio, &mem);
	/* Insert-only: of instances starting together on one database,
	 * one key wins and the others load it (storecore). */
	rc = store_put_ex(st, TOKEN_KEY_TABLE, TOKEN_KEY_NAME, mem->data,
	    mem->length, 0, 0, STORE_REV_ABSENT, NULL, err);
	BIO_free(bio);
	if (rc == 0)
		log_info("created the EAR token signing key (P-256)");
	else if (rc == STORE_ABSENT) {
		EVP_PKEY_free(token_key);
		token_key = NULL;
	}
	return rc;
}

/* RFC 7638 thumbprint of an EC JWK, b64url: the key id. */
static char *
token_thumbprint(const json_t *jwk)
{
	char *members, *kid;
	uint8_t digest[HASH_MAX_SIZE];
	size_t dlen;

	members = xasprintf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", json_string_value(json_object_get(jwk, "crv")),
	    json_string_value(json_object_get(jwk, "x")),
	    json_string_value(json_object_get(jwk, "y")));
	if (hash_digest(HASH_SHA256, members, strlen(members), digest,
	    &dlen) != 0) {
		free(members);
		return NULL;
	}
	free(members);
	kid = b64_encode(digest, dlen, B64_URL_NOPAD);
	return kid;
}

int
token_init(struct store *st, int lifetime_s, struct error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	json_t *jwk, *pub;
	char *kid;
	int rc;

	token_lifetime = lifetime_s;
	sesscache_flush();
	rc = store_get(st, TOKEN_KEY_TABLE, TOKEN_KEY_NAME, &pem, &len, err);
	if (rc == STORE_ABSENT && (rc = token_key_create(st, err)) ==
	    STORE_ABSENT)	/* created by another instance meanwhile */
		rc = store_get(st, TOKEN_KEY_TABLE, TOKEN_KEY_NAME, &pem, &len,
		    err);
	if (rc < 0)
		return error_prefix(err, "loading the EAR signing key");
	if (rc == 0 && pem != NULL) {
		token_key = token_key_from_pem(pem, len);
		secret_free(pem, len);
		if (token_key == NULL || !EVP_PKEY_is_a(token_key, "EC"))
			return error_set(err, "the stored EAR signing key is "
			    "not a valid P-256 key");
	} else if (rc != 0)
		return error_set(err, "the EAR signing key vanished while "
		    "loading it");

	jwk = jwk_from_pkey(token_key, "ES256");
	if (jwk == NULL)
		return error_set(err, "cannot export the EAR signing key");
	kid = token_thumbprint(jwk);
	if (kid == NULL) {
		json_decref(jwk);
		return error_set(err, "cannot compute the key id");
	}
	token_header = json_pack("{s:s, s:s, s:O, s:s}", "typ", "JWT",
	    "alg", "ES256", "jwk", jwk, "kid", kid);
	pub = json_deep_copy(jwk);
	json_object_set_new(pub, "kid", json_string(kid));
	json_object_set_new(pub, "use", json_string("sig"));
	pub = json_pack("{s:[o]}", "keys", pub);
	token_jwks_text = pub != NULL ? jcs_compact(pub, NULL) : NULL;
	/* What jws_sign serializes the header to: the same call. */
	token_header_text = token_header != NULL ?
	    jcs_compact(token_header, NULL) : NULL;
	token_header_b64 = token_header_text != NULL ?
	    b64_encode((const uint8_t *)token_header_text,
	    strlen(token_header_text), B64_URL_NOPAD) : NULL;
	json_decref(pub);
	json_decref(jwk);
	free(kid);
	if (token_header == NULL || token_jwks_text == NULL ||
	    token_header_text == NULL || token_header_b64 == NULL)
		return error_set(err, "cannot build the token header");
	return 0;
}

void
token_shutdown(void)
{
	sesscache_flush();
	EVP_PKEY_free(token_key);
	token_key = NULL;
	json_decref(token_header);
	token_header = NULL;
	free(token_jwks_text);
	token_jwks_text = NULL;
	free(token_header_text);
	token_header_text = NULL;
	free(token_header_b64);
	token_header_b64 = NULL;
}

char *
token_issue(json_t *submods, struct error *err)
{
	return token_issue_claims(submods, NULL, NULL, err);
}

char *
token_issue_claims(json_t *submods, json_t **claims_out, char **payload_out,
    struct error *err)
{
	json_t *claims;
	char *payload, *jwt;
	int64_t now = now_unix();

	/* Member order as rust-ear emits it: eat_profile, iat,
	 * ear.verifier-id, submods, then the extensions exp and iss. */
	claims = json_pack("{s:s, s:I, s:{s:s, s:s}, s:O, s:I, s:s}",
	    "eat_profile", "tag:github.com,2024:confidential-containers/Trustee",
	    "iat", (json_int_t)now,
	    "ear.verifier-id",
	    "developer", "https://confidentialcontainers.org",
	    "build", "trusteed " TRUSTEE_VERSION,
	    "submods", submods,
	    "exp", (json_int_t)(now + token_lifetime),
	    "iss", "CoCo-Attestation-Service");
	if (claims == NULL) {
		error_set(err, "cannot build the token claims");
		return NULL;
	}
	payload = jcs_compact(claims, NULL);
	if (payload == NULL) {
		json_decref(claims);
		error_set(err, "cannot serialize the token claims");
		return NULL;
	}
	jwt = jws_sign(token_key, token_header, payload, strlen(payload), err);
	if (jwt != NULL && payload_out != NULL)
		*payload_out = payload;
	else
		free(payload);
	if (jwt != NULL && claims_out != NULL)
		*claims_out = claims;
	else
		json_decref(claims);
	return jwt;
}

/*
 * token_verify, or with own a token this deployment made itself: one
 * that /attest issued here, or that an attested session's sealed store
 * row holds. Such a row's AEAD proves that an instance holding the
 * deployment's keys wrote it, and instances write only tokens they
 * signed, so its signature is not checked again; it must still carry
 * the current signing key's header (a token signed before the key was
 * replaced is refused, as token_verify refuses it) and an unexpired exp.
 */
static int
token_open(const char *jwt, size_t len, int own, json_t **claims,
    struct error *err)
{
	struct jws *j;
	json_t *exp;
	size_t hlen = token_header_b64 != NULL ? strlen(token_header_b64) : 0;

	*claims = NULL;
	if (own && (hlen == 0 || len <= hlen ||
	    memcmp(jwt, token_header_b64, hlen) != 0 || jwt[hlen] != '.'))
		return error_set(err, "token not signed by this trustee's "
		    "current key");
	j = jws_parse(jwt, len, err);
	if (j == NULL)
		return -1;
	if (strcmp(j->alg, "ES256") != 0) {
		error_set(err, "token alg %s is not ES256", j->alg);
		goto fail;
	}
	if (!own && jws_verify(j, token_key, err) != 0) {
		error_prefix(err, "token not signed by this trustee");
		goto fail;
	}
	exp = json_object_get(j->payload, "exp");
	if (!json_is_integer(exp)) {
		error_set(err, "token has no integer exp claim");
		goto fail;
	}
	if (json_integer_value(exp) <= now_unix()) {
		error_set(err, "token expired");
		goto fail;
	}
	*claims = json_incref(j->payload);
	jws_free(j);
	return 0;
fail:
	jws_free(j);
	return -1;
}

int
token_verify(const char *jwt, size_t len, json_t **claims, struct error *err)
{
	return token_open(jwt, len, 0, claims, err);
}

/* What a cache entry is estimated to hold: the parsed claims take about
 * three times the token's text in jansson objects; the TEE key, its
 * OpenSSL objects. */
static size_t
token_cache_bytes(size_t jwt_len, const struct jwe_key *k)
{
	return 3 * jwt_len + (k != NULL ? 2048 : 0);
}

const json_t *
token_tee_pubkey(const json_t *claims)
{
	return json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(claims, "submods"), "cpu0"),
	    "ear.veraison.annotated-evidence"), "runtime_data_claims"),
	    "tee-pubkey");
}

_Static_assert(SESSION_TOKEN_KEY_LEN == SESSCACHE_KEY_LEN,
    "a session's token key is the verified-token cache's key");

void
token_remember_key(const uint8_t key[SESSION_TOKEN_KEY_LEN], size_t len,
    json_t *claims, struct jwe_key *tee_key)
{
	json_t *exp = json_object_get(claims, "exp");

	if (!json_is_integer(exp)) {
		json_decref(claims);
		jwe_key_free(tee_key);
		return;
	}
	sesscache_release(sesscache_put(key, claims, tee_key,
	    json_integer_value(exp), token_cache_bytes(len, tee_key),
	    now_unix()));
}

void
token_remember(const char *jwt, size_t len, json_t *claims,
    struct jwe_key *tee_key)
{
	uint8_t key[SESSCACHE_KEY_LEN];

	sesscache_digest(jwt, len, key);
	token_remember_key(key, len, claims, tee_key);
}

/* token_check given the token's cache key; own: a token of the
 * deployment's own (token_open). */
static int
token_check_at(const char *jwt, size_t len,
    const uint8_t key[SESSION_TOKEN_KEY_LEN], int own,
    struct sesscache_ent **out, struct error *err)
{
	struct error kerr;
	struct jwe_key *k;
	json_t *claims;
	int64_t now = now_unix();

	if ((*out = sesscache_get(key, now)) != NULL)
		return 0;
	if (token_open(jwt, len, own, &claims, err) != 0)
		return -1;
	/* A key the claims name but that cannot be used is NULL here; the
	 * resource GET reports why when it needs the key. */
	k = jwe_key_new(token_tee_pubkey(claims), &kerr);
	*out = sesscache_put(key, claims, k, json_integer_value(json_object_get(
	    claims, "exp")), token_cache_bytes(len, k), now);
	return 0;
}

int
token_check(const char *jwt, size_t len, struct sesscache_ent **out,
    struct error *err)
{
	uint8_t key[SESSCACHE_KEY_LEN];

	sesscache_digest(jwt, len, key);
	return token_check_at(jwt, len, key, 0, out, err);
}

int
token_check_own(const char *jwt, size_t len,
    const uint8_t *key, struct sesscache_ent **out, struct error *err)
{
	uint8_t digest[SESSCACHE_KEY_LEN];

	if (key == NULL) {
		sesscache_digest(jwt, len, digest);
		key = digest;
	}
	return token_check_at(jwt, len, key, 1, out, err);
}

const json_t *
token_jws_header(void)
{
	return token_header;
}

const char *
token_jws_header_text(void)
{
	return token_header_text;
}

const char *
token_jwks(void)
{
	return token_jwks_text;
}
