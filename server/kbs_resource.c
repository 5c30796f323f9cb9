/*
 * kbs_resource.c: GET /kbs/v0/resource/<repository>/<type>/<tag>, the
 * release of a secret to an attested guest (Trustee-compatible), and the
 * resource-path rule the admin resource routes share (kbs_admin.c).
 *
 * A release needs a verified attestation token (the session's, by cookie,
 * or Authorization: Bearer), a resource policy that allows it, and a
 * stored value; the value goes back as a JWE encrypted to the TEE key the
 * token names. Every refusal is a 401 (TokenNotFound, TokenVerifierError,
 * PolicyDeny, PluginInternalError, JweError) so that the guest
 * re-attests; a 503 with Retry-After when the session store, the policy
 * or the value cannot be read now, a 500 for a tampered row. Each policy
 * decision is audited (audit.h).
 *
 * This is the server's hot path: its helpers stay static here, with their
 * only caller, so that the compiler can inline them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../lib/jwe.h"
#include "../lib/log.h"
#include "audit.h"
#include "kbs_internal.h"
#include "policy.h"
#include "resource.h"
#include "sesscache.h"
#include "trusteed.h"

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
kbs_resource_policy_qstr(const char *s, size_t len)
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
kbs_resource_policy_request(const struct kbs_req *r, struct error *err)
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
			k = kbs_resource_policy_qstr(q, eq != NULL ?
			    (size_t)(eq - q) : len);
			v = eq != NULL ? kbs_resource_policy_qstr(eq + 1,
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

/* Add one length-prefixed field (NULL: length ~0) to a memo key. */
static void
kbs_resource_memo_field(crypto_generichash_state *h, const char *v)
{
	uint64_t n = v != NULL ? strlen(v) : UINT64_MAX;

	crypto_generichash_update(h, (const uint8_t *)&n, sizeof(n));
	if (v != NULL)
		crypto_generichash_update(h, (const uint8_t *)v, (size_t)n);
}

/* The key a decision is kept under with the token's claims
 * (sesscache_memo_*): the policy stamp and every request field the
 * policy sees, as sent (plugin, method, path segments, raw query). */
static void
kbs_resource_memo_key(const struct kbs_req *r,
    const uint8_t stamp[POLICY_STAMP_LEN],
    uint8_t key[SESSCACHE_MEMO_KEY_LEN])
{
	crypto_generichash_state h;
	int i;

	crypto_generichash_init(&h, NULL, 0, SESSCACHE_MEMO_KEY_LEN);
	crypto_generichash_update(&h, stamp, POLICY_STAMP_LEN);
	kbs_resource_memo_field(&h, r->plugin);
	kbs_resource_memo_field(&h, r->http->method_name);
	kbs_resource_memo_field(&h, r->http->query);
	for (i = 0; i < r->segc; i++)
		kbs_resource_memo_field(&h, r->segv[i]);
	crypto_generichash_final(&h, key, SESSCACHE_MEMO_KEY_LEN);
}

/*
 * The resource policy (policy.h, Lua): it sees the verified token claims
 * (ent's) and the request. 0 when it allows; -1 when it denies or fails,
 * with its reason in err (for the problem detail and the audit record);
 * STORE_UNAVAILABLE when the policy could not be loaded. On success
 * err->msg holds the policy's reason for allowing.
 *
 * A decision that depended only on its inputs (policy_resource's stamp)
 * is kept with the token's claims, under the stamp and the request, and
 * reused while the active policy and budgets are the same: a guest's
 * GETs of one resource run the policy once per token.
 */
static int
kbs_resource_policy_allows(struct kbs_req *r, struct sesscache_ent *ent,
    struct error *err)
{
	char reason[POLICY_REASON_MAX];
	uint8_t now[POLICY_STAMP_LEN], stamp[POLICY_STAMP_LEN],
	    key[SESSCACHE_MEMO_KEY_LEN];
	struct error perr;
	json_t *req;
	int allowed = 0, rc, keyed = 0;

	/* A token's first request has nothing kept yet: no key to make. */
	if (sesscache_memo_any(ent) && policy_resource_stamp(now, &perr) ==
	    0) {
		kbs_resource_memo_key(r, now, key);
		keyed = 1;
		if (sesscache_memo_get(ent, key, &allowed, reason,
		    sizeof(reason)))
			goto decided;
	}
	if ((req = kbs_resource_policy_request(r, err)) == NULL)
		return -1;
	rc = policy_resource(sesscache_claims(ent), req, &allowed, reason,
	    stamp, &perr);
	json_decref(req);
	if (rc == STORE_UNAVAILABLE) {
		error_set(err, "%s", reason);
		return rc;
	}
	if (rc != 0)
		return error_set(err, "%s", reason);
	if (!sodium_is_zero(stamp, sizeof(stamp))) {
		/* Made under another stamp than looked up: its own key. */
		if (!keyed || memcmp(now, stamp, sizeof(now)) != 0)
			kbs_resource_memo_key(r, stamp, key);
		sesscache_memo_put(ent, key, allowed, reason);
	}
decided:
	if (!allowed)
		return error_set(err, "%s", reason);
	log_debug("resource policy allows %s/%d segment(s) for peer=%s: %s",
	    r->plugin, r->segc, r->http->peer, reason);
	error_set(err, "%s", reason);
	return 0;
}

/* Audit one release decision: actor = the guest's session (or "bearer"
 * when the token came in the Authorization header) and address. */
static void
kbs_resource_audit(struct kbs_req *r, const struct session *s,
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
 * the session exists on every GET (session_get), a Bearer token's
 * signature only the first time it is seen (token_check; a session's own
 * token is not verified again, token_check_own); its claims and the parsed
 * TEE key come from the cache, so a GET costs the policy, the store read
 * and the JWE.
 */
void
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
	if ((token == s.token ? token_check_own(token, strlen(token),
	    s.token_keyed ? s.token_key : NULL, &ent, &err) :
	    token_check(token, strlen(token), &ent, &err)) != 0) {
		http_problem(r->resp, 401, "TokenVerifierError", "Token "
		    "Verifier error: %s", err.msg);
		goto out;
	}
	claims = sesscache_claims(ent);
	if ((rc = kbs_resource_policy_allows(r, ent, &err)) ==
	    STORE_UNAVAILABLE) {
		log_warnx("resource policy: %s", err.msg);
		http_response_header(r->resp, "Retry-After", "%d",
		    KBS_UNAVAILABLE_RETRY);
		http_problem(r->resp, 503, "ServiceUnavailable", "the resource "
		    "policy cannot be loaded now (the database is "
		    "unavailable); retry later");
		goto out;
	}
	if (rc != 0) {
		kbs_resource_audit(r, &s, "denied", err.msg);
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
	kbs_resource_audit(r, &s, "allowed", reason);
	r->resp->status = 200;
	http_response_body(r->resp, "application/json", jwe, strlen(jwe));
out:
	free(jwe);
	secret_free(val, len);
	sesscache_release(ent);
	session_clear(&s);
}
