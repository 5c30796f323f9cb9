/*
 * kbs_rcar.c: the RCAR handshake of the KBS protocol v0 (Request,
 * Challenge, Attestation, Response), Trustee-compatible.
 *
 * POST /kbs/v0/auth: {version, tee, extra-params} opens an unattested
 * session (session.c) and answers its challenge nonce and the negotiated
 * runtime-data hash, with the session cookie. POST /kbs/v0/attest: the
 * evidence for that nonce, bound to the guest's TEE key by
 * HASH(JCS({additional-evidence, nonce, tee-pubkey})); a verified
 * attestation makes the session attested, files its token and TEE key in
 * the verified-token cache (sesscache.h) and answers {"token": jwt}.
 *
 * Every refusal is a 401 AttestationError ("RCAR handshake Auth/Attest
 * failed: <why>"), except 429 at the per-source cap of unattested
 * sessions, 413 for input that can never succeed (init-data or token over
 * its limit) and 503 while the session store is unreachable. Once /attest
 * has taken the nonce, any failure spends it: the guest runs /auth again.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../lib/initdata.h"
#include "../lib/jcs.h"
#include "../lib/jwe.h"
#include "../lib/jwk.h"
#include "../lib/log.h"
#include "../verifier/verifier.h"
#include "kbs_internal.h"
#include "observe.h"
#include "sesscache.h"
#include "trusteed.h"

/* Retry-After for a source at its unattested-session cap. */
#define KBS_BUSY_RETRY 10

/* The session cookie, on both answers of the handshake. */
static void
kbs_rcar_set_cookie(struct kbs_req *r, const struct session *s)
{
	char date[64];
	time_t t = (time_t)s->expires;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	/* No Path: the default path of /kbs/v0/auth is /kbs/v0, which also
	 * works behind a reverse proxy that adds a prefix. */
	http_response_header(r->resp, "Set-Cookie", "%s=%s; Expires=%s; "
	    "HttpOnly; SameSite=Strict%s", KBS_COOKIE, s->id, date,
	    r->http->tls ? "; Secure" : "");
}

static const char *
kbs_rcar_get_string(const json_t *obj, const char *key, struct error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		error_set(err, "missing field `%s`", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		error_set(err, "field `%s` must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* ------------------------------------------------------------- /auth */

/* Pick the runtime-data hash from the guest's offer: SHA-384 (what every
 * verifier defaults to) when offered, else SHA-512, SHA-256, SM3. */
static int
kbs_rcar_pick_hash(const json_t *extra, enum hash_alg *alg, int *negotiated,
    struct error *err)
{
	static const enum hash_alg pref[] = { HASH_SHA384, HASH_SHA512,
	    HASH_SHA256, HASH_SM3 };
	const json_t *list, *v;
	size_t i, j;

	*alg = HASH_SHA384;
	*negotiated = 0;
	if (!json_is_object(extra))
		return 0;
	list = json_object_get(extra, "supported-hash-algorithms");
	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return error_set(err, "supported-hash-algorithms must be an "
		    "array of strings");
	json_array_foreach(list, i, v)
		if (!json_is_string(v))
			return error_set(err, "supported-hash-algorithms must "
			    "be an array of strings");
	for (j = 0; j < ARRAY_SIZE(pref); j++) {
		json_array_foreach(list, i, v) {
			if (strcasecmp(json_string_value(v),
			    hash_alg_name(pref[j])) == 0) {
				*alg = pref[j];
				*negotiated = 1;
				return 0;
			}
		}
	}
	return error_set(err, "none of the offered hash algorithms is "
	    "supported (sha256, sha384, sha512, sm3)");
}

void
kbs_rcar_auth(struct kbs_req *r)
{
	struct error err;
	struct session s;
	const char *version, *tee;
	const json_t *extra;
	enum hash_alg alg;
	int negotiated, rc;
	json_t *body, *reply;
	char esc[64];

	body = kbs_body_json(r->http, &err);
	if (body == NULL)
		goto fail;
	if ((version = kbs_rcar_get_string(body, "version", &err)) == NULL ||
	    (tee = kbs_rcar_get_string(body, "tee", &err)) == NULL)
		goto fail;
	if ((extra = json_object_get(body, "extra-params")) == NULL) {
		error_set(&err, "missing field `extra-params`");
		goto fail;
	}
	if (strcmp(version, KBS_PROTOCOL_VERSION) != 0) {
		error_set(&err, "KBS Client Protocol Version Mismatch: expect "
		    "=%s while the request is %s", KBS_PROTOCOL_VERSION,
		    log_escape(version, esc, sizeof(esc)));
		goto fail;
	}
	if (!verifier_tee_known(tee)) {
		error_set(&err, "unknown TEE '%s'",
		    log_escape(tee, esc, sizeof(esc)));
		goto fail;
	}
	if (verifier_lookup(tee) == NULL) {
		error_set(&err, "TEE '%s' is not supported by this build", tee);
		goto fail;
	}
	if (strcmp(verifier_tee_class(tee), "cpu") != 0) {
		error_set(&err, "TEE '%s' is a device (class %s): attest with "
		    "the CPU TEE and send the device's evidence in "
		    "additional_evidence", tee, verifier_tee_class(tee));
		goto fail;
	}
	if (kbs_rcar_pick_hash(extra, &alg, &negotiated, &err) != 0)
		goto fail;
	if ((rc = session_new(tee, alg, &r->http->source, &s)) != 0) {
		if (rc == SESSION_BUSY) {
			json_decref(body);
			http_response_header(r->resp, "Retry-After", "%d",
			    KBS_BUSY_RETRY);
			http_problem(r->resp, 429, "TooManyRequests", "too many "
			    "unattested sessions from this address (limits."
			    "max_unattested_per_source = %d): attest or "
			    "abandon them first", r->ctx->cfg->limits.
			    max_unattested_per_source);
			return;
		}
		if (rc == SESSION_UNAVAILABLE) {
			json_decref(body);
			kbs_session_unavailable(r, "/auth");
			return;
		}
		error_set(&err, "cannot create a session");
		goto fail;
	}
	json_decref(body);
	reply = json_pack("{s:s, s:o}", "nonce", s.nonce, "extra-params",
	    negotiated ? json_pack("{s:s}", "selected-hash-algorithm",
	    hash_alg_name(alg)) : json_string(""));
	kbs_rcar_set_cookie(r, &s);
	kbs_json_reply(r->resp, reply);
	json_decref(reply);
	session_clear(&s);
	return;
fail:
	json_decref(body);
	http_problem(r->resp, 401, "AttestationError", "Attestation error: "
	    "RCAR handshake Auth failed: %s", err.msg);
}

/* ----------------------------------------------------------- /attest */

/* {"token": jwt}, written directly: a compact JWS is base64url and dots,
 * nothing to escape (jansson would look at every character). */
static void
kbs_rcar_token_reply(struct http_response *resp, const char *jwt)
{
	struct buf b = { 0 };
	size_t n = strlen(jwt);

	buf_reserve(&b, n + 12);
	buf_addstr(&b, "{\"token\":\"");
	buf_add(&b, jwt, n);
	buf_addstr(&b, "\"}");
	resp->status = 200;
	http_response_body(resp, "application/json", (const char *)b.data,
	    b.len);
	buf_wipe(&b);
}

struct kbs_rcar_attest_body {
	json_t *root;
	const char *nonce;
	json_t *tee_pubkey;		/* normalized, owned */
	struct jwe_key *tee_key;	/* tee_pubkey parsed, owned */
	const json_t *evidence;
	const char *additional;
	json_t *devices;		/* parsed additional_evidence, or NULL */
	struct initdata initdata;
	int has_initdata;
	size_t initdata_too_large;	/* its length, when over the limit */
};

static void
kbs_rcar_attest_body_free(struct kbs_rcar_attest_body *b)
{
	json_decref(b->root);
	json_decref(b->tee_pubkey);
	json_decref(b->devices);
	jwe_key_free(b->tee_key);
	if (b->has_initdata)
		initdata_clear(&b->initdata);
}

/*
 * Refuse at /attest a TEE key that resources could never be encrypted to,
 * rather than issuing a token that fails at every resource GET. The key,
 * parsed, goes into *out: the session's GETs encrypt to it (sesscache).
 */
static int
kbs_rcar_check_tee_pubkey(const json_t *tpk, struct jwe_key **out,
    struct error *err)
{
	const char *kty = json_string_value(json_object_get(tpk, "kty"));
	const char *alg = json_string_value(json_object_get(tpk, "alg"));
	const char *crv = json_string_value(json_object_get(tpk, "crv"));
	EVP_PKEY *k = NULL;
	int ok;

	if (kty == NULL || alg == NULL)
		return error_set(err, "kty and alg are required");
	if (strcmp(kty, "EC") == 0)
		ok = strcmp(alg, "ECDH-ES+A256KW") == 0 && crv != NULL &&
		    (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-521") == 0);
	else if (strcmp(kty, "RSA") == 0)
		ok = strcmp(alg, "RSA-OAEP-256") == 0 ||
		    strcmp(alg, "RSA1_5") == 0;
	else
		ok = 0;
	if (!ok)
		return error_set(err, "unsupported key (supported: EC P-256 or "
		    "P-521 with ECDH-ES+A256KW, RSA with RSA-OAEP-256 or "
		    "RSA1_5)");
	if (jwk_to_pkey(tpk, &k, err) != 0)
		return -1;
	if ((*out = jwe_key_adopt(k, alg, err)) == NULL)
		return -1;
	return 0;
}

/* Everything that can be checked before the nonce is consumed. */
static int
kbs_rcar_attest_parse(const struct http_request *req,
    struct kbs_rcar_attest_body *b, size_t max_initdata, struct error *err)
{
	const json_t *rd, *te, *id, *v;

	memset(b, 0, sizeof(*b));
	if ((b->root = kbs_body_json(req, err)) == NULL)
		return -1;
	rd = json_object_get(b->root, "runtime-data");
	if (!json_is_object(rd))
		return error_set(err, "field `runtime-data` must be an object");
	if ((b->nonce = kbs_rcar_get_string(rd, "nonce", err)) == NULL)
		return error_prefix(err, "runtime-data");
	v = json_object_get(rd, "tee-pubkey");
	if (!json_is_object(v))
		return error_set(err, "runtime-data: field `tee-pubkey` must "
		    "be an object");
	if ((b->tee_pubkey = jwk_tee_pubkey_normalize(v, err)) == NULL ||
	    kbs_rcar_check_tee_pubkey(b->tee_pubkey, &b->tee_key, err) != 0)
		return error_prefix(err, "runtime-data.tee-pubkey");
	te = json_object_get(b->root, "tee-evidence");
	if (!json_is_object(te))
		return error_set(err, "field `tee-evidence` must be an object");
	b->evidence = json_object_get(te, "primary_evidence");
	if (b->evidence == NULL)
		return error_set(err, "tee-evidence: missing field "
		    "`primary_evidence`");
	v = json_object_get(te, "additional_evidence");
	if (v == NULL)
		b->additional = "";
	else if (!json_is_string(v))
		return error_set(err, "tee-evidence: field "
		    "`additional_evidence` must be a string (\"\" or the "
		    "device evidence map serialized as JSON), not %s",
		    json_is_object(v) ? "an object" : "another JSON type");
	else
		b->additional = json_string_value(v);
	if (devices_parse(b->additional, strlen(b->additional), &b->devices,
	    err) != 0)
		return error_prefix(err, "tee-evidence");
	id = json_object_get(b->root, "init-data");
	if (id != NULL && !json_is_null(id)) {
		const char *fmt, *text;

		if (!json_is_object(id))
			return error_set(err, "field `init-data` must be an "
			    "object or null");
		if ((fmt = kbs_rcar_get_string(id, "format", err)) == NULL ||
		    (text = kbs_rcar_get_string(id, "body", err)) == NULL)
			return error_prefix(err, "init-data");
		if (strcmp(fmt, "toml") != 0)
			return error_set(err, "init-data: unsupported format "
			    "(only \"toml\" is accepted)");
		if (strlen(text) > max_initdata) {
			b->initdata_too_large = strlen(text);
			return error_set(err, "init-data is %zu bytes, over the "
			    "limit of %zu (limits.max_init_data)",
			    strlen(text), max_initdata);
		}
		if (initdata_parse(text, strlen(text), &b->initdata, err) != 0)
			return -1;
		b->has_initdata = 1;
	}
	return 0;
}

void
kbs_rcar_attest(struct kbs_req *r)
{
	const struct verifier_backend *v;
	struct verifier_input in;
	struct kbs_rcar_attest_body b;
	struct session s = { 0 };
	struct error err;
	char id[SESSION_ID_LEN + 2];
	uint8_t digest[HASH_MAX_SIZE];
	size_t dlen, clen;
	int rc;
	json_t *rdc = NULL, *claims = NULL, *app, *submods;
	json_t *tclaims = NULL;
	char *canon = NULL, *token = NULL, *payload = NULL;
	int taken = 0;

	memset(&b, 0, sizeof(b));
	if (http_request_cookie(r->http, KBS_COOKIE, id, sizeof(id)) != 0) {
		error_set(&err, "no %s cookie: run /auth first", KBS_COOKIE);
		goto fail;
	}
	if ((rc = session_known(id, &s)) != 0) {
		if (rc == SESSION_UNAVAILABLE)
			goto unavailable;
		/* A shared store forgets an unattested session with its
		 * spent nonce. */
		error_set(&err, "session not found, expired, or its challenge "
		    "nonce already used; run /auth again");
		goto fail;
	}
	session_clear(&s);
	if (kbs_rcar_attest_parse(r->http, &b, (size_t)r->ctx->cfg->limits.
	    max_init_data, &err) != 0) {
		if (b.initdata_too_large > 0)
			goto too_large;
		goto fail;
	}
	if ((rc = session_take_nonce(id, b.nonce, &s, &err)) != 0) {
		if (rc == SESSION_UNAVAILABLE)
			goto unavailable;
		goto fail;
	}
	taken = 1;	/* from here on, a failure spends the nonce */

	/* The binding: HASH(JCS({additional-evidence, nonce, tee-pubkey})). */
	rdc = json_pack("{s:s, s:s, s:O}", "additional-evidence",
	    b.additional, "nonce", b.nonce, "tee-pubkey", b.tee_pubkey);
	canon = rdc != NULL ? jcs_serialize(rdc, &clen) : NULL;
	if (canon == NULL || hash_digest(s.hash, canon, clen, digest,
	    &dlen) != 0) {
		error_set(&err, "cannot compute the runtime-data digest");
		goto fail;
	}
	v = verifier_lookup(s.tee);
	memset(&in, 0, sizeof(in));
	in.evidence = b.evidence;
	in.report_data = digest;
	in.report_data_len = dlen;
	if (b.has_initdata) {
		in.init_data_hash = b.initdata.digest;
		in.init_data_hash_len = b.initdata.digest_len;
	}
	in.now = now_unix();
	if (v == NULL || v->verify(&in, &claims, &err) != 0) {
		if (v == NULL)
			error_set(&err, "no verifier for TEE '%s'", s.tee);
		error_prefix(&err, "%s evidence rejected", s.tee);
		goto fail;
	}
	app = ear_appraisal(s.tee, claims, rdc,
	    b.has_initdata ? b.initdata.claims : NULL, NULL, &err);
	claims = NULL;
	if (app == NULL)
		goto fail;
	submods = json_pack("{s:o}", "cpu0", app);
	if (submods == NULL || devices_appraise(b.devices, b.nonce,
	    b.tee_pubkey, s.hash, NULL, in.now, submods, &err) != 0) {
		json_decref(submods);
		goto fail;
	}
	token = token_issue_claims(submods, &tclaims, &payload, &err);
	json_decref(submods);
	if (token == NULL)
		goto fail;
	/* Sessions keep the token: its size is bounded like the
	 * evidence that made it. */
	if (strlen(token) > (size_t)r->ctx->cfg->limits.max_token) {
		error_set(&err, "the attestation token would be %zu bytes, over "
		    "the limit of %d (limits.max_token): send less evidence "
		    "or init-data", strlen(token),
		    r->ctx->cfg->limits.max_token);
		goto too_large;
	}
	/* The token's cache key, computed once: the session keeps it for
	 * its GETs (session.token_key), the cache files the token under it. */
	sesscache_digest(token, strlen(token), s.token_key);
	s.token_keyed = 1;
	rc = session_set_attested_copy(&s, token);
	taken = 0;
	if (rc == SESSION_UNAVAILABLE)
		goto unavailable;
	if (rc == SESSION_SPENT) {
		/* Shared store: a row spent it (an attestation, a failed
		 * one, or the session cap's eviction). */
		error_set(&err, "the challenge nonce of this session was "
		    "already used, or the session was evicted; run /auth "
		    "again");
		goto fail;
	}
	/* The attestation log records what was signed without decoding
	 * the answer again; the session's GETs find the token verified,
	 * with its key. */
	attlog_note_token(token_jws_header(), tclaims,
	    token_jws_header_text(), payload);
	token_remember_key(s.token_key, strlen(token), tclaims, b.tee_key);
	tclaims = NULL;
	b.tee_key = NULL;
	log_info("attested: tee=%s devices=%zu session=%.8s peer=%s", s.tee,
	    json_object_size(b.devices), s.id, r->http->peer);
	kbs_rcar_set_cookie(r, &s);
	kbs_rcar_token_reply(r->resp, token);
	goto out;
unavailable:
	kbs_session_unavailable(r, "/attest");
	goto out;
too_large:
	/* Not a 401: re-attesting with the same input cannot succeed. */
	log_info("attestation refused: peer=%s: %s", r->http->peer, err.msg);
	http_problem(r->resp, 413, "PayloadTooLarge", "%s", err.msg);
	goto out;
fail:
	log_info("attestation refused: peer=%s: %s", r->http->peer, err.msg);
	http_problem(r->resp, 401, "AttestationError", "Attestation error: "
	    "RCAR handshake Attest failed: %s", err.msg);
out:
	if (taken)
		session_abandon(&s);
	secret_strfree(token);
	free(payload);
	free(canon);
	json_decref(rdc);
	json_decref(claims);
	json_decref(tclaims);
	kbs_rcar_attest_body_free(&b);
	session_clear(&s);
}
