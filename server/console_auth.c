/*
 * console_auth.c: login, logout and session endpoints of the console, and
 * the console-cookie path of /api/v1 authentication (console.h).
 *
 * Login: JSON {"username","password"} only (a cross-site HTML form cannot
 * send application/json), Origin and Sec-Fetch-Site checked when the
 * browser sends them; the login guard decides before any password work;
 * wrong password, unknown and disabled users answer the same 401.
 * A session's CSRF token travels in the login/session answers and must
 * come back in X-CSRF-Token on every state-changing request made with
 * the cookie; the cookie itself is SameSite=Strict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../lib/log.h"
#include "audit.h"
#include "console.h"
#include "observe.h"

#define CONSOLE_BODY_MAX 4096
#define CONSOLE_RETRY_AFTER_S 5		/* a 503 for a store outage */

static struct console_auth_config console_cfg;

int
console_auth_init(struct store *st, const struct console_auth_config *cfg,
    struct error *err)
{
	console_cfg = *cfg;
	loginguard_init(&cfg->guard);
	if (!cfg->enabled)
		return 0;
	if (users_init(st, err) != 0 ||
	    consess_init(st, cfg->idle_s, cfg->lifetime_s, err) != 0)
		return -1;
	return 0;
}

void
console_auth_shutdown(void)
{
	consess_shutdown();
	users_shutdown();
}

void
console_auth_source(const char *peer, char *out, size_t cap)
{
	const char *colon;
	size_t n;

	if (peer[0] == '[') {
		const char *end = strchr(peer, ']');

		n = end != NULL ? (size_t)(end - peer - 1) : strlen(peer);
		snprintf(out, cap, "%.*s", (int)n, peer + 1);
		return;
	}
	colon = strrchr(peer, ':');
	n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);
	snprintf(out, cap, "%.*s", (int)n, peer);
}

/* -1 (with err) when the browser says the request comes from elsewhere:
 * an Origin other than this host, or Sec-Fetch-Site cross-site. */
static int
console_auth_same_origin(const struct http_request *req, struct error *err)
{
	const char *origin = http_request_header(req, "Origin");
	const char *site = http_request_header(req, "Sec-Fetch-Site");
	const char *host = http_request_header(req, "Host");
	const char *scheme = req->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);

	if (site != NULL && strcasecmp(site, "cross-site") == 0)
		return error_set(err, "cross-site request refused");
	if (origin == NULL)
		return 0;
	if (host == NULL || strncasecmp(origin, scheme, sl) != 0 ||
	    strcasecmp(origin + sl, host) != 0)
		return error_set(err, "request from another origin refused");
	return 0;
}

static void
console_auth_cookie(struct http_response *resp, const char *token)
{
	if (token != NULL)
		http_response_header(resp, "Set-Cookie", "%s=%s; Path=/; "
		    "Secure; HttpOnly; SameSite=Strict", CONSOLE_COOKIE, token);
	else
		http_response_header(resp, "Set-Cookie", "%s=; Path=/; Secure; "
		    "HttpOnly; SameSite=Strict; Max-Age=0", CONSOLE_COOKIE);
}

static void
console_auth_json(struct http_response *resp, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (s == NULL) {
		http_problem(resp, 500, "InternalError", "cannot serialize");
		return;
	}
	resp->status = status;
	http_response_body(resp, "application/json", s, strlen(s));
	secret_strfree(s);
}

/* The answer to a store failure (rc < 0) while doing what. */
static void
console_auth_store_problem(struct http_response *resp, const char *what,
    int rc, const struct error *err)
{
	log_warnx("console: %s: %s", what, err->msg);
	if (rc == STORE_UNAVAILABLE) {
		http_response_header(resp, "Retry-After", "%d",
		    CONSOLE_RETRY_AFTER_S);
		http_problem(resp, 503, "ServiceUnavailable", "%s: the database "
		    "is unavailable; retry later", what);
	} else if (rc == STORE_CORRUPT)
		http_problem(resp, 500, "IntegrityError", "%s: %s (see "
		    "`trusteectl store check`)", what, err->msg);
	else
		http_problem(resp, 500, "InternalError", "%s failed (see the "
		    "server log)", what);
}

/* The session answer; the role is the user's current one. */
static json_t *
console_auth_session_json(const struct consess *s, const char *role)
{
	char exp[TIME_RFC3339_LEN], idle[TIME_RFC3339_LEN];

	time_format_rfc3339(s->expires, exp);
	time_format_rfc3339(s->idle_expires, idle);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "user", s->user,
	    "role", role, "csrf", s->csrf, "expires", exp, "idle_expires",
	    idle, "idle_timeout", consess_idle_s());
}

static int
console_auth_is_json(const struct http_request *req)
{
	const char *ct = http_request_header(req, "Content-Type");
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * The login body: exactly {"username": str, "password": str}. 0 with
 * *user and *pw pointing into *root; -1 with the reason. Shared with the
 * fuzz target through console_auth_login.
 */
static int
console_auth_login_body(const struct http_request *req, json_t **root,
    const char **user, const char **pw, size_t *pwlen, struct error *err)
{
	json_error_t jerr;
	const json_t *u, *p;

	*root = NULL;
	if (req->body_len == 0 || req->body_len > CONSOLE_BODY_MAX)
		return error_set(err, "the body must be a JSON object of at "
		    "most %d bytes", CONSOLE_BODY_MAX);
	*root = json_loadb((const char *)req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*root))
		return error_set(err, "the body must be a JSON object");
	u = json_object_get(*root, "username");
	p = json_object_get(*root, "password");
	if (json_object_size(*root) != 2 || !json_is_string(u) ||
	    !json_is_string(p))
		return error_set(err, "the body must be {\"username\": "
		    "string, \"password\": string}");
	if (json_string_length(u) == 0 || json_string_length(u) >
	    USERS_NAME_MAX || strlen(json_string_value(u)) !=
	    json_string_length(u))
		return error_set(err, "username has 1 to %d bytes",
		    USERS_NAME_MAX);
	if (json_string_length(p) == 0 || json_string_length(p) >
	    PASSWORD_MAX)
		return error_set(err, "password has 1 to %d bytes",
		    PASSWORD_MAX);
	*user = json_string_value(u);
	*pw = json_string_value(p);
	*pwlen = json_string_length(p);
	return 0;
}

static void
console_auth_wipe_body(json_t *root)
{
	json_t *p = json_object_get(root, "password");

	/* jansson owns the bytes; wipe them before the free. */
	if (json_is_string(p))
		sodium_memzero((char *)(uintptr_t)json_string_value(p),
		    json_string_length(p));
	json_decref(root);
}

void
console_auth_login(struct http_request *req, struct http_response *resp,
    void *arg)
{
	struct consess s;
	struct error err;
	json_t *root = NULL;
	const char *user = NULL, *pw = NULL;
	char source[64], role[USERS_ROLE_MAX], token[CONSESS_TOKEN_LEN + 1];
	char actor[128], esc[80];
	size_t pwlen = 0;
	int64_t now = now_unix(), now_ms = loginguard_now_ms(), pwgen;
	int wait, locked = 0, rc;

	(void)arg;
	console_auth_source(req->peer, source, sizeof(source));
	if (!console_cfg.enabled) {
		http_problem(resp, 404, "InvalidRequestPath", "the console is "
		    "disabled ([console] enabled = false)");
		return;
	}
	if (console_auth_same_origin(req, &err) != 0) {
		http_problem(resp, 403, "Forbidden", "%s", err.msg);
		return;
	}
	if (!console_auth_is_json(req)) {
		http_problem(resp, 415, "UnsupportedMediaType", "login takes "
		    "Content-Type: application/json");
		return;
	}
	if (console_auth_login_body(req, &root, &user, &pw, &pwlen,
	    &err) != 0) {
		console_auth_wipe_body(root);
		http_problem(resp, 400, "BadRequest", "%s", err.msg);
		return;
	}
	/* Per source: a token of the shared login rate (RL_LOGIN) before
	 * any password work; a login that succeeds gives it back, so only
	 * failures use the rate up. */
	if (ratelimit_take(RL_LOGIN, &req->source, &wait) != 0) {
		console_auth_wipe_body(root);
		ratelimit_note(RL_EV_LOGIN, &req->source);
		metrics_login("throttled");
		http_response_header(resp, "Retry-After", "%d", wait);
		http_problem(resp, 429, "TooManyRequests", "too many failed "
		    "logins from this address: try again in %d second%s", wait,
		    wait == 1 ? "" : "s");
		return;
	}
	wait = loginguard_check(user, now_ms, &locked);
	if (wait > 0) {
		ratelimit_give_back(RL_LOGIN, &req->source);
		console_auth_wipe_body(root);
		metrics_login("throttled");
		log_info("console: login throttled: peer=%s", req->peer);
		http_response_header(resp, "Retry-After", "%d", wait);
		http_problem(resp, 429, "TooManyRequests", "%s: try again in %d "
		    "second%s", locked ? "too many failed logins: locked" :
		    "too many failed logins", wait, wait == 1 ? "" : "s");
		return;
	}
	rc = users_authenticate(user, pw, pwlen, role, &pwgen, &err);
	if (rc != 1)	/* not a failed login: the token goes back */
		ratelimit_give_back(RL_LOGIN, &req->source);
	snprintf(actor, sizeof(actor), "console peer=%s", source);
	if (rc == PASSWORD_BUSY) {
		console_auth_wipe_body(root);
		http_response_header(resp, "Retry-After", "1");
		http_problem(resp, 503, "Unavailable", "%s", err.msg);
		return;
	}
	if (rc < 0) {
		console_auth_wipe_body(root);
		console_auth_store_problem(resp, "login", rc, &err);
		return;
	}
	if (rc != 0) {
		loginguard_failure(user, now_ms);
		metrics_login("failed");
		audit_record(actor, "console.login", log_escape(user, esc,
		    sizeof(esc)), "denied", "wrong user name or password");
		console_auth_wipe_body(root);
		http_problem(resp, 401, "Unauthenticated", "wrong user name or "
		    "password");
		return;
	}
	loginguard_success(user, now_ms);
	if ((rc = consess_create(user, pwgen, source, now, token, &s,
	    &err)) != 0) {
		console_auth_wipe_body(root);
		console_auth_store_problem(resp, "creating the session", rc,
		    &err);
		return;
	}
	metrics_login("ok");
	audit_record(actor, "console.login", user, "ok", role);
	console_auth_cookie(resp, token);
	console_auth_json(resp, 200, console_auth_session_json(&s, role));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(&s, sizeof(s));
	console_auth_wipe_body(root);
}

/*
 * The session named by the request's cookie, with its user checked: 0
 * (*s, role filled), 1 none or ended, -1 store error. *token gets the
 * cookie value.
 */
static int
console_auth_current(const struct http_request *req, char *token,
    size_t cap, struct consess *s, char role[USERS_ROLE_MAX],
    struct error *err)
{
	struct error derr;
	int rc;

	if (http_request_cookie(req, CONSOLE_COOKIE, token, cap) != 0)
		return 1;
	rc = consess_lookup(token, now_unix(), s, err);
	if (rc != 0)
		return rc;
	rc = users_session_check(s->user, s->pwgen, role, err);
	if (rc == 1)
		consess_delete(token, &derr);
	return rc;
}

void
console_auth_session(struct http_request *req, struct http_response *resp,
    void *arg)
{
	struct consess s;
	struct error err;
	char token[CONSESS_TOKEN_LEN + 2], role[USERS_ROLE_MAX];
	int rc;

	(void)arg;
	if (!console_cfg.enabled) {
		http_problem(resp, 404, "InvalidRequestPath", "the console is "
		    "disabled");
		return;
	}
	rc = console_auth_current(req, token, sizeof(token), &s, role, &err);
	sodium_memzero(token, sizeof(token));
	if (rc < 0) {
		console_auth_store_problem(resp, "session lookup", rc, &err);
		return;
	}
	if (rc != 0) {
		http_problem(resp, 401, "Unauthenticated", "no console session: "
		    "log in");
		return;
	}
	http_response_header(resp, "Cache-Control", "no-store");
	console_auth_json(resp, 200, console_auth_session_json(&s, role));
	sodium_memzero(&s, sizeof(s));
}

void
console_auth_logout(struct http_request *req, struct http_response *resp,
    void *arg)
{
	struct consess s;
	struct error err;
	char token[CONSESS_TOKEN_LEN + 2], role[USERS_ROLE_MAX];
	char actor[USERS_NAME_MAX + USERS_ROLE_MAX + 8];
	int rc;

	(void)arg;
	if (!console_cfg.enabled) {
		http_problem(resp, 404, "InvalidRequestPath", "the console is "
		    "disabled");
		return;
	}
	rc = console_auth_current(req, token, sizeof(token), &s, role, &err);
	if (rc != 0) {
		sodium_memzero(token, sizeof(token));
		if (rc < 0) {
			console_auth_store_problem(resp, "session lookup", rc,
			    &err);
			return;
		}
		console_auth_cookie(resp, NULL);
		http_problem(resp, 401, "Unauthenticated", "no console "
		    "session");
		return;
	}
	if (console_auth_same_origin(req, &err) != 0 ||
	    !consess_csrf_ok(&s, http_request_header(req,
	    CONSOLE_CSRF_HEADER))) {
		sodium_memzero(token, sizeof(token));
		http_problem(resp, 403, "Forbidden", "CSRF token missing or "
		    "wrong (send the session's csrf in %s)",
		    CONSOLE_CSRF_HEADER);
		return;
	}
	rc = consess_delete(token, &err);
	sodium_memzero(token, sizeof(token));
	if (rc < 0) {
		console_auth_store_problem(resp, "logout", rc, &err);
		return;
	}
	snprintf(actor, sizeof(actor), "%s (%s)", s.user, role);
	audit_record(actor, "console.logout", s.user, "ok", "");
	console_auth_cookie(resp, NULL);
	resp->status = 204;
	sodium_memzero(&s, sizeof(s));
}

int
console_auth_applies(const struct http_request *req)
{
	char token[CONSESS_TOKEN_LEN + 2];
	int has;

	if (!console_cfg.enabled ||
	    http_request_header(req, "Authorization") != NULL)
		return 0;
	has = http_request_cookie(req, CONSOLE_COOKIE, token,
	    sizeof(token)) == 0;
	sodium_memzero(token, sizeof(token));
	return has;
}

enum admin_result
console_auth_api(const struct http_request *req, struct admin_identity *id,
    struct error *err)
{
	struct consess s;
	char token[CONSESS_TOKEN_LEN + 2], role[USERS_ROLE_MAX];
	int rc;

	memset(id, 0, sizeof(*id));
	rc = console_auth_current(req, token, sizeof(token), &s, role, err);
	sodium_memzero(token, sizeof(token));
	if (rc < 0) {
		error_prefix(err, "console session lookup failed");
		return rc == STORE_UNAVAILABLE ? ADMIN_UNAVAILABLE :
		    rc == STORE_CORRUPT ? ADMIN_CORRUPT : ADMIN_ERROR;
	}
	if (rc != 0) {
		error_set(err, "the console session has expired or ended: log "
		    "in again");
		return ADMIN_UNAUTHENTICATED;
	}
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		if (console_auth_same_origin(req, err) != 0) {
			sodium_memzero(&s, sizeof(s));
			return ADMIN_FORBIDDEN;
		}
		if (!consess_csrf_ok(&s, http_request_header(req,
		    CONSOLE_CSRF_HEADER))) {
			sodium_memzero(&s, sizeof(s));
			error_set(err, "CSRF token missing or wrong (send the "
			    "session's csrf in %s)", CONSOLE_CSRF_HEADER);
			return ADMIN_FORBIDDEN;
		}
	}
	snprintf(id->role, sizeof(id->role), "%s", role);
	snprintf(id->sub, sizeof(id->sub), "%s", s.user);
	snprintf(id->actor, sizeof(id->actor), "%s (%s)", s.user, role);
	id->exp = s.expires;
	sodium_memzero(&s, sizeof(s));
	return ADMIN_OK;
}
