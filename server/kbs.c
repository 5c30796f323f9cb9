/*
 * kbs.c: the KBS protocol v0 (Trustee-compatible) under /kbs/v0/,
 * dispatched by plugin name from its own table (routes.c sends every
 * /kbs/v0 request here). The admin compatibility endpoints (ROUTE_ADMIN
 * routes) live in kbs_admin.c.
 *
 * Status codes follow Trustee so that unmodified CoCo guests react the way
 * they do against Trustee: 404 only for an unknown plugin, 401 for every
 * other refusal (only a 401 makes a guest re-attest). Every error carries
 * a JSON problem body {type, detail}; unlike Trustee, the detail says why.
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
#include "api.h"
#include "audit.h"
#include "kbs_internal.h"
#include "observe.h"
#include "policy.h"
#include "resource.h"
#include "sesscache.h"
#include "trusteed.h"

#define KBS_PREFIX "/kbs/v0/"
#define KBS_COOKIE "kbs-session-id"
/* Body cap of every route but evidence and admin uploads. */
#define KBS_SMALL_BODY (16 * 1024)
/* Retry-After for a source at its unattested-session cap. */
#define KBS_BUSY_RETRY 10
/* Retry-After when the (shared) session store cannot be reached. */
#define KBS_UNAVAILABLE_RETRY 5

enum {
	ROUTE_ADMIN = 1 << 0,	/* admin JWT required */
};

typedef void (*kbs_route_fn)(struct kbs_req *);

struct kbs_route {
	enum http_method method;
	const char *plugin;
	int flags;
	kbs_route_fn run;
};

static void kbs_auth(struct kbs_req *);
static void kbs_attest(struct kbs_req *);
static void kbs_resource_get(struct kbs_req *);

/* Built-in names first, as Trustee dispatches them; a built-in name with
 * another method falls through to the plugin lookup (404). */
static const struct kbs_route kbs_routes[] = {
	{ HTTP_M_POST, "auth", 0, kbs_auth },
	{ HTTP_M_POST, "attest", 0, kbs_attest },
	{ HTTP_M_POST, "attestation-policy", ROUTE_ADMIN,
	    kbs_admin_attestation_policy_set },
	{ HTTP_M_GET, "reference-value", ROUTE_ADMIN,
	    kbs_admin_reference_value_get },
	{ HTTP_M_POST, "reference-value", ROUTE_ADMIN,
	    kbs_admin_reference_value_set },
	{ HTTP_M_POST, "resource-policy", ROUTE_ADMIN,
	    kbs_admin_resource_policy_set },
	{ HTTP_M_GET, "resource-policy", ROUTE_ADMIN,
	    kbs_admin_resource_policy_list },
	{ HTTP_M_GET, "resource", 0, kbs_resource_get },
	{ HTTP_M_POST, "resource", ROUTE_ADMIN, kbs_admin_resource_put },
	{ HTTP_M_DELETE, "resource", ROUTE_ADMIN, kbs_admin_resource_delete },
};

/* Plugins that exist, for telling "wrong method" from "unknown plugin". */
static const char *const kbs_plugins[] = { "resource" };

/* ------------------------------------------------------------ helpers */

void
kbs_json_reply(struct http_response *resp, json_t *body)
{
	size_t len;
	char *s = jcs_compact(body, &len);

	if (s == NULL) {
		http_problem(resp, 500, "SerdeError", "Serialize/Deserialize "
		    "failed");
		return;
	}
	resp->status = 200;
	http_response_body(resp, "application/json", s, len);
	free(s);
}

static void
kbs_set_cookie(struct kbs_req *r, const struct session *s)
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

/* The shared session store is unreachable (SESSION_UNAVAILABLE): a 503
 * the guest retries, never a 401 that would send it back to /auth. */
static void
kbs_session_unavailable(struct kbs_req *r, const char *what)
{
	log_warnx("%s: the session store is unavailable (peer=%s)", what,
	    r->http->peer);
	http_response_header(r->resp, "Retry-After", "%d",
	    KBS_UNAVAILABLE_RETRY);
	http_problem(r->resp, 503, "ServiceUnavailable", "%s: the session "
	    "store is unavailable; retry later", what);
}

/* Parse a request body as a JSON object; NULL with a reason otherwise. */
json_t *
kbs_body_json(const struct http_request *req, struct error *err)
{
	json_error_t jerr;
	json_t *v;

	if (req->body_len == 0) {
		error_set(err, "empty request body");
		return NULL;
	}
	v = json_loadb((const char *)req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		error_set(err, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		error_set(err, "request body is not a JSON object");
		return NULL;
	}
	return v;
}

static const char *
kbs_get_string(const json_t *obj, const char *key, struct error *err)
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
kbs_pick_hash(const json_t *extra, enum hash_alg *alg, int *negotiated,
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

static void
kbs_auth(struct kbs_req *r)
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
	if ((version = kbs_get_string(body, "version", &err)) == NULL ||
	    (tee = kbs_get_string(body, "tee", &err)) == NULL)
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
	if (kbs_pick_hash(extra, &alg, &negotiated, &err) != 0)
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
	kbs_set_cookie(r, &s);
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
kbs_token_reply(struct http_response *resp, const char *jwt)
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

struct kbs_attest_body {
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
kbs_attest_body_free(struct kbs_attest_body *b)
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
kbs_check_tee_pubkey(const json_t *tpk, struct jwe_key **out,
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
kbs_attest_parse(const struct http_request *req, struct kbs_attest_body *b,
    size_t max_initdata, struct error *err)
{
	const json_t *rd, *te, *id, *v;

	memset(b, 0, sizeof(*b));
	if ((b->root = kbs_body_json(req, err)) == NULL)
		return -1;
	rd = json_object_get(b->root, "runtime-data");
	if (!json_is_object(rd))
		return error_set(err, "field `runtime-data` must be an object");
	if ((b->nonce = kbs_get_string(rd, "nonce", err)) == NULL)
		return error_prefix(err, "runtime-data");
	v = json_object_get(rd, "tee-pubkey");
	if (!json_is_object(v))
		return error_set(err, "runtime-data: field `tee-pubkey` must "
		    "be an object");
	if ((b->tee_pubkey = jwk_tee_pubkey_normalize(v, err)) == NULL ||
	    kbs_check_tee_pubkey(b->tee_pubkey, &b->tee_key, err) != 0)
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
		if ((fmt = kbs_get_string(id, "format", err)) == NULL ||
		    (text = kbs_get_string(id, "body", err)) == NULL)
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

static void
kbs_attest(struct kbs_req *r)
{
	const struct verifier_backend *v;
	struct verifier_input in;
	struct kbs_attest_body b;
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
	if (kbs_attest_parse(r->http, &b, (size_t)r->ctx->cfg->limits.
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
		error_set(&err, "the challenge nonce of this session was "
		    "already used; run /auth again");
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
	kbs_set_cookie(r, &s);
	kbs_token_reply(r->resp, token);
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
	kbs_attest_body_free(&b);
	session_clear(&s);
}

/* --------------------------------------------------------- resource */

/* Trustee's rule: exactly repo/type/tag, each [A-Za-z0-9_-][A-Za-z0-9_.-]*. */
int
kbs_resource_name(struct kbs_req *r, char *out, size_t cap,
    struct error *err)
{
	int i;

	if (r->segc != 3)
		return error_set(err, "invalid resource path: expected "
		    "<repository>/<type>/<tag>, got %d segment(s)", r->segc);
	for (i = 0; i < 3; i++) {
		const char *p = r->segv[i];

		if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
		    "wxyz0123456789_-.") != strlen(p) || p[0] == '.' ||
		    strlen(p) > 128)
			return error_set(err, "invalid resource path: segment "
			    "%d must match [A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}",
			    i + 1);
	}
	snprintf(out, cap, "%s/%s/%s", r->segv[0], r->segv[1], r->segv[2]);
	return 0;
}

/* A query component, percent- and '+'-decoded; NULL when the result is
 * not valid UTF-8 or holds a NUL (the policy must see what was sent). */
static json_t *
kbs_policy_qstr(const char *s, size_t len)
{
	char *o = xmalloc(len + 1);
	size_t i, n = 0;
	int hi, lo;
	json_t *j;

	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			o[n++] = ' ';
		} else if (s[i] == '%' && i + 2 < len &&
		    (hi = hex_digit_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_digit_value((unsigned char)s[i + 2])) >= 0) {
			o[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			o[n++] = s[i];
		}
	}
	j = memchr(o, '\0', n) == NULL ? json_stringn(o, n) : NULL;
	free(o);
	return j;
}

/*
 * The request as the resource policy sees it: {"plugin", "resource-path":
 * [segments], "query": {k: v} (decoded; the last of repeated keys wins),
 * "method"}. NULL with a reason when it cannot be represented faithfully.
 */
static json_t *
kbs_policy_request(const struct kbs_req *r, struct error *err)
{
	const char *q = r->http->query, *amp, *eq;
	json_t *path, *query, *req, *k, *v;
	size_t len;
	int i, n = 0;

	path = json_array();
	query = json_object();
	req = json_pack("{s:s?, s:o, s:o, s:s?}", "plugin", r->plugin,
	    "resource-path", path, "query", query, "method",
	    r->http->method_name);
	if (req == NULL)
		goto bad;
	for (i = 0; i < r->segc; i++) {
		if ((v = json_string(r->segv[i])) == NULL) {
			error_set(err, "resource path segment %d is not valid "
			    "UTF-8", i + 1);
			goto fail;
		}
		json_array_append_new(path, v);
	}
	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		len = amp != NULL ? (size_t)(amp - q) : strlen(q);
		if (len > 0) {
			if (++n > 64) {
				error_set(err, "more than 64 query parameters");
				goto fail;
			}
			eq = memchr(q, '=', len);
			k = kbs_policy_qstr(q, eq != NULL ? (size_t)(eq - q) :
			    len);
			v = eq != NULL ? kbs_policy_qstr(eq + 1,
			    len - (size_t)(eq - q) - 1) : json_string("");
			if (k == NULL || v == NULL) {
				json_decref(k);
				json_decref(v);
				error_set(err, "query parameter %d is not valid "
				    "UTF-8", n);
				goto fail;
			}
			json_object_set_new(query, json_string_value(k), v);
			json_decref(k);
		}
		q = amp != NULL ? amp + 1 : NULL;
	}
	return req;
bad:
	error_set(err, "request is not valid UTF-8");
fail:
	json_decref(req);
	return NULL;
}

/*
 * The resource policy (policy.h, Lua): it sees the verified token claims
 * and the request. 0 when it allows; -1 when it denies or fails, with its
 * reason in err (for the problem detail and the audit record);
 * STORE_UNAVAILABLE when the policy could not be loaded. On success
 * err->msg holds the policy's reason for allowing.
 */
static int
kbs_policy_allows(struct kbs_req *r, const json_t *claims,
    struct error *err)
{
	char reason[POLICY_REASON_MAX];
	struct error perr;
	json_t *req;
	int allowed = 0, rc;

	if ((req = kbs_policy_request(r, err)) == NULL)
		return -1;
	rc = policy_resource(claims, req, &allowed, reason, &perr);
	json_decref(req);
	if (rc == STORE_UNAVAILABLE) {
		error_set(err, "%s", reason);
		return rc;
	}
	if (rc != 0 || !allowed)
		return error_set(err, "%s", reason);
	log_debug("resource policy allows %s/%d segment(s) for peer=%s: %s",
	    r->plugin, r->segc, r->http->peer, reason);
	error_set(err, "%s", reason);
	return 0;
}

/* Audit one release decision: actor = the guest's session (or "bearer"
 * when the token came in the Authorization header) and address. */
static void
kbs_audit_release(struct kbs_req *r, const struct session *s,
    const char *outcome, const char *reason)
{
	char actor[128], target[400];
	size_t n = 0;
	int i;

	snprintf(actor, sizeof(actor), "guest %s%.8s peer=%s",
	    s->token != NULL ? "session=" : "bearer", s->token != NULL ?
	    s->id : "", r->http->peer);
	target[0] = '\0';
	for (i = 0; i < r->segc && n < sizeof(target); i++)
		n += (size_t)snprintf(target + n, sizeof(target) - n, "%s%s",
		    i > 0 ? "/" : "", r->segv[i]);
	audit_record(actor, "resource.get", target, outcome, reason);
}

/*
 * A resource release. The token (the session's, or a Bearer token) goes
 * through the verified-token cache: the session store is asked whether
 * the session exists on every GET (session_get), the token's signature
 * only the first time it is seen (token_check); its claims and the parsed
 * TEE key come from the cache, so a GET costs the policy, the store read
 * and the JWE.
 */
static void
kbs_resource_get(struct kbs_req *r)
{
	struct session s = { 0 };
	struct sesscache_ent *ent = NULL;
	struct error err;
	const char *auth, *token = NULL;
	char id[SESSION_ID_LEN + 2], name[400], reason[POLICY_REASON_MAX];
	const json_t *claims, *tpk = NULL;
	const struct jwe_key *tk;
	uint8_t *val = NULL;
	size_t len = 0;
	char *jwe = NULL;
	int rc;

	rc = -1;
	if (http_request_cookie(r->http, KBS_COOKIE, id, sizeof(id)) == 0 &&
	    (rc = session_get(id, &s)) == 0 && s.state == SESSION_ATTESTED)
		token = s.token;
	if (token == NULL) {
		auth = http_request_header(r->http, "Authorization");
		if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
			token = auth + 7;
	}
	if (token == NULL && rc == SESSION_UNAVAILABLE) {
		kbs_session_unavailable(r, "resource");
		goto out;
	}
	if (token == NULL) {
		http_problem(r->resp, 401, "TokenNotFound", "Attestation Token "
		    "not found: attest first, or send Authorization: Bearer "
		    "<token>");
		goto out;
	}
	if ((token == s.token && s.token_keyed ? token_check_key(token,
	    strlen(token), s.token_key, &ent, &err) : token_check(token,
	    strlen(token), &ent, &err)) != 0) {
		http_problem(r->resp, 401, "TokenVerifierError", "Token "
		    "Verifier error: %s", err.msg);
		goto out;
	}
	claims = sesscache_claims(ent);
	if ((rc = kbs_policy_allows(r, claims, &err)) == STORE_UNAVAILABLE) {
		log_warnx("resource policy: %s", err.msg);
		http_response_header(r->resp, "Retry-After", "%d",
		    KBS_UNAVAILABLE_RETRY);
		http_problem(r->resp, 503, "ServiceUnavailable", "the resource "
		    "policy cannot be loaded now (the database is "
		    "unavailable); retry later");
		goto out;
	}
	if (rc != 0) {
		kbs_audit_release(r, &s, "denied", err.msg);
		http_problem(r->resp, 401, "PolicyDeny", "Access denied by "
		    "policy: %s", err.msg);
		goto out;
	}
	/* On success err holds the policy's reason for allowing. */
	snprintf(reason, sizeof(reason), "%s", err.msg);
	if (kbs_resource_name(r, name, sizeof(name), &err) != 0) {
		http_problem(r->resp, 401, "PluginInternalError", "%s",
		    err.msg);
		goto out;
	}
	/* Without a parsed key, jwe_encrypt below says what is wrong. */
	if ((tk = sesscache_tee_key(ent)) == NULL &&
	    !json_is_object(tpk = token_tee_pubkey(claims))) {
		http_problem(r->resp, 401, "TokenVerifierError", "Token "
		    "Verifier error: no tee-pubkey in the token claims");
		goto out;
	}
	rc = resource_read_value(r->ctx->store, name, &val, &len, &err);
	if (rc == STORE_UNAVAILABLE || rc == STORE_CORRUPT) {
		/* storecore: an outage is retried later; a tampered row is
		 * that item's problem only (the log names table and row). */
		log_warnx("resource %s: %s", name, err.msg);
		if (rc == STORE_UNAVAILABLE)
			http_response_header(r->resp, "Retry-After", "5");
		http_problem(r->resp, rc == STORE_UNAVAILABLE ? 503 : 500,
		    rc == STORE_UNAVAILABLE ? "ServiceUnavailable" :
		    "IntegrityError", "resource %s cannot be read now (%s)",
		    name, rc == STORE_UNAVAILABLE ? "the database is "
		    "unavailable" : "integrity error: see the server log");
		goto out;
	}
	if (rc != 0) {
		if (rc < 0)
			log_warnx("resource %s: %s", name, err.msg);
		http_problem(r->resp, 401, "PluginInternalError", rc > 0 ?
		    "resource %s not found" : "resource %s cannot be read",
		    name);
		goto out;
	}
	jwe = tk != NULL ? jwe_encrypt_key(tk, val, len, &err) :
	    jwe_encrypt(tpk, val, len, &err);
	if (jwe == NULL) {
		http_problem(r->resp, 401, "JweError", "JWE failed: %s",
		    err.msg);
		goto out;
	}
	/* The audit record logs the release at info level (audit.c). */
	log_debug("released resource %s to peer=%s", name, r->http->peer);
	kbs_audit_release(r, &s, "allowed", reason);
	r->resp->status = 200;
	http_response_body(r->resp, "application/json", jwe, strlen(jwe));
out:
	free(jwe);
	secret_free(val, len);
	sesscache_release(ent);
	session_clear(&s);
}

/* --------------------------------------------------------- dispatch */

static void
kbs_dispatch(struct kbs_req *r, char *rest)
{
	const struct kbs_route *route = NULL;
	struct error err;
	char *seg, *save = NULL;
	char esc[80];
	size_t i;

	/* Split on '/', dropping empty segments (guests send "//"). */
	r->plugin = "";
	for (seg = strtok_r(rest, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (r->plugin[0] == '\0') {
			r->plugin = seg;
			continue;
		}
		if (r->segc == KBS_MAX_SEGMENTS) {
			http_problem(r->resp, 401, "PluginInternalError",
			    "invalid resource path: too many segments");
			return;
		}
		r->segv[r->segc++] = seg;
	}
	for (i = 0; i < ARRAY_SIZE(kbs_routes); i++) {
		if (kbs_routes[i].method == r->http->method &&
		    strcmp(kbs_routes[i].plugin, r->plugin) == 0) {
			route = &kbs_routes[i];
			break;
		}
	}
	if (route == NULL) {
		for (i = 0; i < ARRAY_SIZE(kbs_plugins); i++)
			if (strcmp(kbs_plugins[i], r->plugin) == 0)
				break;
		if (i < ARRAY_SIZE(kbs_plugins))
			http_problem(r->resp, 401, "PluginInternalError",
			    "method %s is not supported by plugin %s",
			    r->http->method_name, r->plugin);
		else
			http_problem(r->resp, 404, "PluginNotFound",
			    "Plugin %s not found",
			    log_escape(r->plugin, esc, sizeof(esc)));
		return;
	}
	if (route->flags & ROUTE_ADMIN) {
		if (admin_authorize_kbs(r->http, &r->admin, &err) != 0) {
			log_info("admin request refused: peer=%s: %s",
			    r->http->peer, err.msg);
			http_problem(r->resp, 401, "AdminAuthAccess", "admin "
			    "access denied for endpoint %s: %s", r->plugin,
			    err.msg);
			return;
		}
	}
	route->run(r);
}

/* ------------------------------------------------------- preflight */

/* The announced body length: Content-Length, SIZE_MAX when chunked. */
static size_t
kbs_preflight_announced(const struct http_request *req)
{
	const char *cl = http_request_header(req, "Content-Length");

	if (http_request_header(req, "Transfer-Encoding") != NULL)
		return SIZE_MAX;
	/* http_scan.c let through only 1*DIGIT. */
	return cl != NULL ? (size_t)strtoull(cl, NULL, 10) : 0;
}

/* Is this /kbs/v0 request an admin route (ROUTE_ADMIN)? */
static int
kbs_preflight_kbs_admin(const struct http_request *req)
{
	const char *p = req->path + strlen(KBS_PREFIX);
	size_t n, i;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	for (i = 0; i < ARRAY_SIZE(kbs_routes); i++)
		if (kbs_routes[i].method == req->method &&
		    strlen(kbs_routes[i].plugin) == n &&
		    strncmp(kbs_routes[i].plugin, p, n) == 0)
			return (kbs_routes[i].flags & ROUTE_ADMIN) != 0;
	return 0;
}

void
kbs_preflight(const struct http_request *req, struct http_preflight *pf,
    void *arg)
{
	static const enum ratelimit_event ev[RL_NCLASS] = {
		[RL_AUTH] = RL_EV_AUTH, [RL_ATTEST] = RL_EV_ATTEST,
		[RL_ATTESTATION] = RL_EV_ATTESTATION, [RL_LOGIN] = RL_EV_LOGIN,
	};
	const struct kbs_context *ctx = arg;
	const struct config_limits *lim = &ctx->cfg->limits;
	enum ratelimit_class cls = RL_NCLASS;
	size_t admin_max = pf->max_body;
	struct admin_identity id;
	struct error err;
	int admin = 0, retry;

	pf->max_body = KBS_SMALL_BODY;
	if (strcmp(req->path, KBS_PREFIX "auth") == 0 &&
	    req->method == HTTP_M_POST)
		cls = RL_AUTH;
	else if (strcmp(req->path, KBS_PREFIX "attest") == 0 &&
	    req->method == HTTP_M_POST) {
		cls = RL_ATTEST;
		pf->max_body = (size_t)lim->max_evidence_body;
	} else if (strcmp(req->path, "/attestation") == 0 &&
	    req->method == HTTP_M_POST) {
		cls = RL_ATTESTATION;
		pf->max_body = (size_t)lim->max_evidence_body;
	} else if (strncmp(req->path, API_PREFIX "/", strlen(API_PREFIX) + 1)
	    == 0)
		admin = 1;
	else if (strncmp(req->path, KBS_PREFIX, strlen(KBS_PREFIX)) == 0)
		admin = kbs_preflight_kbs_admin(req);

	if (cls != RL_NCLASS && ratelimit_take(cls, &req->source, &retry) != 0) {
		ratelimit_note(ev[cls], &req->source);
		pf->status = 429;
		pf->type = "TooManyRequests";
		pf->retry_after = retry;
		snprintf(pf->detail, sizeof(pf->detail), "too many requests to "
		    "%s from this address; retry after %d s", req->path,
		    retry);
		return;
	}
	/* Large bodies only for admin uploads, and only once the admin
	 * token verified (the handler checks it again, with the body). */
	if (admin && kbs_preflight_announced(req) > pf->max_body) {
		if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) == 0 ?
		    admin_authenticate(req, &id, &err) == ADMIN_OK :
		    admin_authorize_kbs(req, &id, &err) == 0)
			pf->max_body = admin_max;
		else
			snprintf(pf->note, sizeof(pf->note), "without a valid "
			    "admin token");
	}
}

void
kbs_handle(struct http_request *req, struct http_response *resp, void *arg)
{
	struct kbs_req r;
	char *rest;

	memset(&r, 0, sizeof(r));
	r.http = req;
	r.resp = resp;
	r.ctx = arg;
	if (strncmp(req->path, KBS_PREFIX, strlen(KBS_PREFIX)) != 0) {
		http_problem(resp, 404, "InvalidRequestPath", "Request path "
		    "is invalid: no such endpoint");
		return;
	}
	rest = xstrdup(req->path + strlen(KBS_PREFIX));
	kbs_dispatch(&r, rest);
	free(rest);
}
