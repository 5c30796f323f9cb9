/*
 * api.c: the native JSON admin API under /api/v1/ (docs/api.md): one route
 * table, authentication and the built-in role check before any handler
 * runs, the helpers every handler uses (problems, query, pagination, JSON
 * bodies, audit), and the small handlers (whoami, health, tokens, audit).
 *
 * Order of decisions for every request: route (404 InvalidRequestPath),
 * method (405 + Allow), authentication (401 / 403 DenyAll), role (403),
 * then the handler, which checks the query and body (400/415) and the
 * named object (404). A caller that may not use a route therefore learns
 * nothing about what exists.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/b64.h"
#include "../lib/jcs.h"
#include "../lib/jws.h"
#include "../lib/log.h"
#include "../verifier/verifier.h"
#include "api.h"
#include "audit.h"
#include "console.h"
#include "policy.h"

typedef void (*api_fn)(struct api_req *);

struct api_route {
	enum http_method method;
	const char *pattern;		/* segments after /api/v1/, '*' = any */
	unsigned roles;
	api_fn run;
};

static void api_whoami(struct api_req *);
static void api_health(struct api_req *);
static void api_token_decode(struct api_req *);
static void api_token_verify(struct api_req *);
static void api_audit_list(struct api_req *);

static const struct api_route api_routes[] = {
	{ HTTP_M_GET, "whoami", API_R_ANY, api_whoami },
	{ HTTP_M_GET, "health", API_R_READ, api_health },
	{ HTTP_M_GET, "resources", API_R_READ, api_resources_list },
	{ HTTP_M_GET, "resources/*/*/*", API_R_READ, api_resource_get },
	{ HTTP_M_PUT, "resources/*/*/*", API_R_WRITE, api_resource_put },
	{ HTTP_M_DELETE, "resources/*/*/*", API_R_WRITE, api_resource_delete },
	{ HTTP_M_GET, "resources/*/*/*/versions", API_R_READ,
	    api_resource_versions },
	{ HTTP_M_POST, "resources/*/*/*/restore", API_R_WRITE,
	    api_resource_restore },
	{ HTTP_M_POST, "resources/*/*/*/generate", API_R_WRITE,
	    api_resource_generate },
	{ HTTP_M_GET, "policies", API_R_READ, api_policies_list },
	{ HTTP_M_GET, "policies/*/*", API_R_READ, api_policy_get },
	{ HTTP_M_PUT, "policies/*/*", API_R_WRITE, api_policy_put },
	{ HTTP_M_GET, "policies/*/*/versions", API_R_READ,
	    api_policy_versions },
	{ HTTP_M_POST, "policies/*/*/restore", API_R_WRITE,
	    api_policy_restore },
	{ HTTP_M_POST, "policies/*/*/test", API_R_WRITE, api_policy_test },
	{ HTTP_M_GET, "reference-values", API_R_READ, api_rv_list },
	{ HTTP_M_POST, "reference-values", API_R_WRITE, api_rv_import },
	{ HTTP_M_GET, "reference-values/*", API_R_READ, api_rv_get },
	{ HTTP_M_PUT, "reference-values/*", API_R_WRITE, api_rv_put },
	{ HTTP_M_POST, "reference-values/*/revoke", API_R_WRITE,
	    api_rv_revoke },
	{ HTTP_M_POST, "tokens/decode", API_R_READ, api_token_decode },
	{ HTTP_M_POST, "tokens/verify", API_R_READ, api_token_verify },
	{ HTTP_M_GET, "audit", API_R_ADMIN | API_R_AUDITOR, api_audit_list },
	/* The console's additions (docs/api.md §7a, §7b). */
	{ HTTP_M_POST, "resources/*/*/*/reveal", API_R_ADMIN,
	    api_resource_reveal },
	{ HTTP_M_GET, "attestations", API_R_READ, api_attestations_list },
	{ HTTP_M_GET, "attestations/*", API_R_READ, api_attestation_get },
	{ HTTP_M_GET, "stats", API_R_READ, api_stats },
	{ HTTP_M_GET, "users", API_R_ADMIN, api_users_list },
	{ HTTP_M_POST, "users", API_R_ADMIN, api_user_add },
	{ HTTP_M_GET, "users/*", API_R_ADMIN, api_user_get },
	{ HTTP_M_DELETE, "users/*", API_R_ADMIN, api_user_delete },
	{ HTTP_M_POST, "users/*/password", API_R_ADMIN, api_user_password },
	{ HTTP_M_POST, "users/*/role", API_R_ADMIN, api_user_role },
	{ HTTP_M_POST, "users/*/disable", API_R_ADMIN, api_user_disable },
	{ HTTP_M_POST, "users/*/enable", API_R_ADMIN, api_user_enable },
	{ HTTP_M_POST, "account/password", API_R_READ, api_account_password },
	{ HTTP_M_GET, "keys", API_R_READ, api_keys_status },
	{ HTTP_M_POST, "keys/rotate", API_R_ADMIN, api_keys_rotate },
	{ HTTP_M_POST, "keys/export", API_R_ADMIN, api_keys_export },
	{ HTTP_M_POST, "store/check", API_R_ADMIN | API_R_AUDITOR,
	    api_store_check },
	{ HTTP_M_DELETE, "store/rows/*/*", API_R_ADMIN, api_store_row_delete },
};

static const char *const api_method_names[] = {
	[HTTP_M_GET] = "GET", [HTTP_M_HEAD] = "HEAD", [HTTP_M_POST] = "POST",
	[HTTP_M_PUT] = "PUT", [HTTP_M_DELETE] = "DELETE",
	[HTTP_M_OTHER] = "OTHER"
};

/* ------------------------------------------------------------ helpers */

void
api_reply(struct api_req *r, int status, json_t *body)
{
	size_t len;
	char *s;

	r->resp->status = status;
	if (body == NULL)
		return;
	/* A list page is hundreds of records: jcs.h says why not jansson. */
	s = jcs_compact(body, &len);
	json_decref(body);
	if (s == NULL) {
		http_problem(r->resp, 500, "InternalError", "cannot serialize "
		    "the response");
		return;
	}
	http_response_body(r->resp, "application/json", s, len);
	free(s);
}

void
api_problem(struct api_req *r, int status, const char *type,
    const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_problem(r->resp, status, type, "%s", detail);
}

void
api_internal(struct api_req *r, const char *what, const struct error *err)
{
	log_warnx("api: %s %s: %s: %s", r->http->method_name, r->http->path,
	    what, err != NULL ? err->msg : "");
	api_problem(r, 500, "InternalError", "%s failed (see the server log)",
	    what);
}

void
api_store_error(struct api_req *r, const char *what, int rc,
    const struct error *err)
{
	if (rc == STORE_UNAVAILABLE) {
		log_warnx("api: %s %s: %s: %s", r->http->method_name,
		    r->http->path, what, err != NULL ? err->msg : "");
		http_response_header(r->resp, "Retry-After", "%d",
		    API_RETRY_AFTER_S);
		api_problem(r, 503, "ServiceUnavailable", "%s: the database is "
		    "unavailable; retry later", what);
	} else if (rc == STORE_CORRUPT) {
		log_warnx("api: %s %s: %s: %s", r->http->method_name,
		    r->http->path, what, err != NULL ? err->msg : "");
		api_problem(r, 500, "IntegrityError", "%s: %s (see `trusteectl "
		    "store check`; deleting or rewriting the item repairs it)",
		    what, err != NULL ? err->msg : "");
	} else
		api_internal(r, what, err);
}

char *
api_percent_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return NULL;
		}
		hi = isxdigit((unsigned char)s[i + 1]) ? s[i + 1] : -1;
		lo = isxdigit((unsigned char)s[i + 2]) ? s[i + 2] : -1;
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		hi = isdigit(hi) ? hi - '0' : (tolower(hi) - 'a' + 10);
		lo = isdigit(lo) ? lo - '0' : (tolower(lo) - 'a' + 10);
		if (hi == 0 && lo == 0) {
			free(out);
			return NULL;
		}
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	return out;
}

/* Parse the query string into r->query; -1 on a malformed one. */
static int
api_parse_query(struct api_req *r, struct error *err)
{
	const char *q = r->http->query, *amp, *eq;
	char *k, *v;
	size_t n;

	r->query = json_object();
	if (q == NULL)
		return 0;
	while (*q != '\0') {
		amp = strchr(q, '&');
		n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		if (n > 0) {
			eq = memchr(q, '=', n);
			k = api_percent_decode(q, eq != NULL ?
			    (size_t)(eq - q) : n);
			v = eq != NULL ? api_percent_decode(eq + 1,
			    n - (size_t)(eq - q) - 1) : xstrdup("");
			if (k == NULL || v == NULL || k[0] == '\0' ||
			    json_object_get(r->query, k) != NULL ||
			    json_object_set_new(r->query, k, json_string(v))) {
				int dup = k != NULL && k[0] != '\0' &&
				    json_object_get(r->query, k) != NULL;

				free(k);
				free(v);
				return error_set(err, dup ? "query parameter "
				    "given twice" : "malformed query string");
			}
			free(k);
			free(v);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

int
api_query_only(struct api_req *r, const char *const *allowed)
{
	const char *k;
	json_t *v;
	char esc[64];
	size_t i;

	json_object_foreach(r->query, k, v) {
		for (i = 0; allowed != NULL && allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed == NULL || allowed[i] == NULL) {
			api_problem(r, 400, "BadRequest", "unknown query "
			    "parameter '%s'", log_escape(k, esc, sizeof(esc)));
			return -1;
		}
	}
	return 0;
}

const char *
api_query(const struct api_req *r, const char *name)
{
	return json_string_value(json_object_get(r->query, name));
}

int
api_page(struct api_req *r, size_t *limit, char **after)
{
	const char *l = api_query(r, "limit"), *c = api_query(r, "cursor");
	uint8_t *dec = NULL;
	size_t dlen;
	char *end;
	long v;

	*limit = API_DEFAULT_LIMIT;
	*after = NULL;
	if (l != NULL) {
		v = strtol(l, &end, 10);
		if (l[0] < '0' || l[0] > '9' || *end != '\0' || v < 1 ||
		    v > API_MAX_LIMIT) {
			api_problem(r, 400, "BadRequest", "limit must be an "
			    "integer in 1..%d", API_MAX_LIMIT);
			return -1;
		}
		*limit = (size_t)v;
	}
	if (c != NULL) {
		if (c[0] == '\0' || b64_decode(c, strlen(c), B64_URL_NOPAD,
		    &dec, &dlen) != 0 || dlen == 0 ||
		    memchr(dec, '\0', dlen) != NULL) {
			free(dec);
			api_problem(r, 400, "BadRequest", "cursor is not a "
			    "value returned as next_cursor");
			return -1;
		}
		*after = (char *)dec;
	}
	return 0;
}

void
api_page_reply(struct api_req *r, json_t *items, int more,
    const char *last_key)
{
	json_t *cur = json_null();

	if (more && last_key != NULL) {
		char *c = b64_encode(last_key, strlen(last_key),
		    B64_URL_NOPAD);

		cur = json_string(c);
		free(c);
	}
	api_reply(r, 200, json_pack("{s:o, s:o}", "items", items,
	    "next_cursor", cur));
}

void
api_page_array(struct api_req *r, const json_t *items,
    const char *(*key)(const json_t *item, char *buf, size_t cap),
    size_t limit, const char *after)
{
	json_t *out = json_array(), *it;
	char buf[512], last[512] = "";
	size_t i;
	int more = 0;

	json_array_foreach(items, i, it) {
		const char *k = key(it, buf, sizeof(buf));

		if (after != NULL && strcmp(k, after) <= 0)
			continue;
		if (json_array_size(out) == limit) {
			more = 1;
			break;
		}
		json_array_append(out, it);
		snprintf(last, sizeof(last), "%s", k);
	}
	api_page_reply(r, out, more, last);
}

const char *
api_content_type(const struct api_req *r, char *buf, size_t cap)
{
	const char *ct = http_request_header(r->http, "Content-Type");
	size_t i;

	buf[0] = '\0';
	if (ct == NULL)
		return buf;
	while (*ct == ' ')
		ct++;
	for (i = 0; i + 1 < cap && ct[i] != '\0' && ct[i] != ';' &&
	    ct[i] != ' '; i++)
		buf[i] = (char)tolower((unsigned char)ct[i]);
	buf[i] = '\0';
	return buf;
}

int
api_is_json(const struct api_req *r, int absent_is_json)
{
	char ct[128];

	api_content_type(r, ct, sizeof(ct));
	if (ct[0] == '\0')
		return absent_is_json;
	return strcmp(ct, "application/json") == 0;
}

json_t *
api_body_object(struct api_req *r, const char *const *allowed, int empty_ok)
{
	json_error_t jerr;
	const char *k;
	json_t *v, *m;
	char esc[64];
	size_t i;

	if (!api_is_json(r, 1)) {
		api_problem(r, 415, "UnsupportedMediaType", "this endpoint "
		    "takes Content-Type: application/json");
		return NULL;
	}
	if (r->http->body_len == 0) {
		if (empty_ok)
			return json_object();
		api_problem(r, 400, "BadRequest", "empty request body: a JSON "
		    "object is required");
		return NULL;
	}
	v = json_loadb((const char *)r->http->body, r->http->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		api_problem(r, 400, "BadRequest", "invalid JSON at line %d "
		    "column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_problem(r, 400, "BadRequest", "the request body must be a "
		    "JSON object");
		return NULL;
	}
	json_object_foreach(v, k, m) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL) {
			api_problem(r, 400, "BadRequest", "unknown member "
			    "'%s' in the request body", log_escape(k, esc,
			    sizeof(esc)));
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

int
api_int_member(struct api_req *r, const json_t *obj, const char *name,
    long long min, long long max, long long *out)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		api_problem(r, 400, "BadRequest", "member '%s' must be an "
		    "integer in %lld..%lld", name, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

void
api_audit(struct api_req *r, const char *action, const char *target,
    const char *outcome, const char *reason)
{
	audit_record(r->id.actor, action, target, outcome, reason);
}

/* ------------------------------------------------------------ routing */

static unsigned
api_role_bit(const char *role)
{
	if (strcmp(role, "admin") == 0)
		return API_R_ADMIN;
	if (strcmp(role, "operator") == 0)
		return API_R_OPERATOR;
	if (strcmp(role, "auditor") == 0)
		return API_R_AUDITOR;
	return 0;
}

static int
api_role_allowed(const struct api_route *rt, const char *role)
{
	return (rt->roles & API_R_ANY) != 0 ||
	    (rt->roles & api_role_bit(role)) != 0;
}

/* Split path (after API_PREFIX) into segments; -1 if not a clean path
 * (empty segment, too many). Modifies buf. */
static int
api_split(char *buf, char **seg, int *nseg)
{
	char *p = buf, *slash;

	*nseg = 0;
	if (*p != '/')
		return -1;
	p++;
	for (;;) {
		if (*nseg == API_MAX_SEGMENTS)
			return -1;
		slash = strchr(p, '/');
		if (slash != NULL)
			*slash = '\0';
		if (*p == '\0')
			return -1;
		seg[(*nseg)++] = p;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

static int
api_pattern_matches(const char *pattern, char **seg, int nseg)
{
	const char *p = pattern;
	size_t n;
	int i;

	for (i = 0; i < nseg; i++) {
		n = strcspn(p, "/");
		if (n == 0)
			return 0;
		if (!(n == 1 && p[0] == '*') && (strlen(seg[i]) != n ||
		    strncmp(seg[i], p, n) != 0))
			return 0;
		p += n;
		if (*p == '/')
			p++;
		else if (i + 1 < nseg)
			return 0;
	}
	return *p == '\0';
}

static int
api_method_matches(enum http_method route, enum http_method req)
{
	return route == req || (route == HTTP_M_GET && req == HTTP_M_HEAD);
}

/* Find the route; 0 and *out, or 404/405 (allow filled for 405). */
static int
api_route_find(char *path, enum http_method method,
    const struct api_route **out, char **seg, int *nseg, char *allow,
    size_t cap)
{
	size_t i, n = 0;
	int known = 0;
	char *buf;

	*out = NULL;
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
		return 404;
	buf = path + strlen(API_PREFIX);
	if (api_split(buf, seg, nseg) != 0)
		return 404;
	allow[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(api_routes); i++) {
		if (!api_pattern_matches(api_routes[i].pattern, seg, *nseg))
			continue;
		known = 1;
		if (api_method_matches(api_routes[i].method, method)) {
			*out = &api_routes[i];
			return 0;
		}
		n += (size_t)snprintf(allow + n, n < cap ? cap - n : 0, "%s%s%s",
		    n > 0 ? ", " : "", api_method_names[api_routes[i].method],
		    api_routes[i].method == HTTP_M_GET ? ", HEAD" : "");
		if (n >= cap)
			n = cap - 1;
	}
	return known ? 405 : 404;
}

int
api_route_check(const char *role, enum http_method method, const char *path)
{
	const struct api_route *rt;
	char *seg[API_MAX_SEGMENTS], allow[128], *copy = xstrdup(path);
	int nseg, rc;

	rc = api_route_find(copy, method, &rt, seg, &nseg, allow,
	    sizeof(allow));
	if (rc == 0 && !api_role_allowed(rt, role))
		rc = 403;
	free(copy);
	return rc;
}

void
api_handle(struct http_request *req, struct http_response *resp,
    struct kbs_context *ctx)
{
	const struct api_route *rt;
	struct api_req r;
	struct error err;
	char *seg[API_MAX_SEGMENTS], allow[128], *copy, esc[64];
	const char *p;
	int nseg, rc, i, retry;

	memset(&r, 0, sizeof(r));
	r.http = req;
	r.resp = resp;
	r.ctx = ctx;
	copy = xstrdup(req->path);
	rc = api_route_find(copy, req->method, &rt, seg, &nseg, allow,
	    sizeof(allow));
	if (rc == 404) {
		api_problem(&r, 404, "InvalidRequestPath", "no such endpoint: "
		    "see docs/api.md for the routes under " API_PREFIX "/");
		goto out;
	}
	if (rc == 405) {
		http_response_header(resp, "Allow", "%s", allow);
		api_problem(&r, 405, "MethodNotAllowed", "method %s is not "
		    "allowed here (allowed: %s)", log_escape(req->method_name,
		    esc, sizeof(esc)), allow);
		goto out;
	}
	/* A console session cookie (without an Authorization header)
	 * authenticates like a bearer token; roles are checked alike. */
	r.console = console_auth_applies(req);
	switch (r.console ? console_auth_api(req, &r.id, &err) :
	    admin_authenticate(req, &r.id, &err)) {
	case ADMIN_OK:
		break;
	case ADMIN_FORBIDDEN:
		api_problem(&r, 403, "Forbidden", "%s", err.msg);
		goto out;
	case ADMIN_UNAVAILABLE:
		api_store_error(&r, "console session lookup", STORE_UNAVAILABLE,
		    &err);
		goto out;
	case ADMIN_CORRUPT:
		api_store_error(&r, "console session lookup", STORE_CORRUPT,
		    &err);
		goto out;
	case ADMIN_ERROR:
		api_internal(&r, "console session lookup", &err);
		goto out;
	default:
		/* A presented admin token that fails is a failed admin
		 * login: it costs a token of the source's login rate
		 * (RL_LOGIN, as console logins), and a source past that rate
		 * is told to wait. */
		if (!r.console && http_request_header(req, "Authorization") !=
		    NULL && ratelimit_take(RL_LOGIN, &req->source,
		    &retry) != 0) {
			ratelimit_note(RL_EV_LOGIN, &req->source);
			http_response_header(resp, "Retry-After", "%d", retry);
			api_problem(&r, 429, "TooManyRequests", "too many failed "
			    "admin logins from this address: try again in %d "
			    "second%s", retry, retry == 1 ? "" : "s");
			goto out;
		}
		log_info("api: %s %s refused: peer=%s: %s", req->method_name,
		    req->path, req->peer, err.msg);
		if (!r.console)
			http_response_header(resp, "WWW-Authenticate",
			    "Bearer");
		api_problem(&r, 401, "Unauthenticated", "%s", err.msg);
		goto out;
	}
	if (!api_role_allowed(rt, r.id.role)) {
		api_audit(&r, "admin.denied", req->path, "denied",
		    "role not allowed");
		api_problem(&r, 403, "Forbidden", "role '%s' may not %s %s",
		    log_escape(r.id.role, esc, sizeof(esc)),
		    api_method_names[rt->method], rt->pattern);
		goto out;
	}
	/* Wildcard segments, percent-decoded. */
	for (i = 0, p = rt->pattern; i < nseg; i++) {
		if (p[0] == '*' && (p[1] == '/' || p[1] == '\0') &&
		    r.nparam < API_MAX_PARAMS) {
			r.param[r.nparam] = api_percent_decode(seg[i],
			    strlen(seg[i]));
			if (r.param[r.nparam] == NULL) {
				api_problem(&r, 400, "BadRequest", "path "
				    "segment %d: malformed %%-escape", i + 1);
				goto out;
			}
			r.nparam++;
		}
		p += strcspn(p, "/");
		if (*p == '/')
			p++;
	}
	if (api_parse_query(&r, &err) != 0) {
		api_problem(&r, 400, "BadRequest", "%s", err.msg);
		goto out;
	}
	rt->run(&r);
out:
	for (i = 0; i < r.nparam; i++)
		free(r.param[i]);
	json_decref(r.query);
	free(copy);
}

/* ------------------------------------------------------ small handlers */

static void
api_whoami(struct api_req *r)
{
	if (api_query_only(r, NULL) != 0)
		return;
	api_reply(r, 200, json_pack("{s:s, s:o, s:s, s:s, s:o}",
	    "actor", r->id.actor,
	    "sub", r->id.sub[0] != '\0' ? json_string(r->id.sub) : json_null(),
	    "role", r->id.role, "mode", r->console ? "console" :
	    admin_mode_name(),
	    "exp", r->id.exp != 0 ? json_integer(r->id.exp) : json_null()));
}

/* Every TEE name kbs-types knows, in the order health lists them. */
static const char *const api_tees[] = {
	"sample", "snp", "tdx", "sgx", "tpm", "az-snp-vtpm", "az-tdx-vtpm",
	"cca", "csv", "se", "hygondcu", "nvidia", "sampledevice"
};

static void
api_health(struct api_req *r)
{
	struct store_key_status ks;
	struct store_info info;
	struct error err;
	json_t *comp, *tees, *c;
	uint8_t *val = NULL;
	size_t len = 0, i;
	uint64_t old;
	int ok = 1, rc;

	if (api_query_only(r, NULL) != 0)
		return;
	comp = json_object();
	/* Store: one authenticated read of a row that never exists. */
	rc = store_get(r->ctx->store, "health", "probe", &val, &len, &err);
	secret_free(val, len);
	store_info(r->ctx->store, &info);
	c = json_pack("{s:b, s:s, s:s, s:s, s:I}", "ok", rc >= 0, "type",
	    info.backend, "dsn", info.dsn, "instance", info.instance,
	    "key_version", (json_int_t)info.key_version);
	if (rc < 0) {
		json_object_set_new(c, "error", json_string(err.msg));
		ok = 0;
	} else if (info.key_oldest != info.key_version &&
	    store_key_status(r->ctx->store, &ks, &err) == 0 &&
	    ks.current != ks.oldest) {
		/* A rotation: how many rows are still under older keys. */
		for (i = 0, old = 0; i < ks.nversions; i++)
			if (ks.versions[i].version < ks.current)
				old += ks.versions[i].rows;
		json_object_set_new(c, "rotation", json_pack("{s:s, s:I, s:I, "
		    "s:I}", "state", ks.state, "to_version",
		    (json_int_t)ks.current, "oldest_version",
		    (json_int_t)ks.oldest, "rows_left", (json_int_t)old));
	}
	json_object_set_new(comp, "store", c);
	c = json_pack("{s:b, s:s, s:s}", "ok", 1, "type",
	    r->ctx->cfg->sealer != NULL ? r->ctx->cfg->sealer : "",
	    "description", info.sealer);
	if (info.insecure_sealer)
		json_object_set_new(c, "warning", json_string("development "
		    "sealer: the master key is sealed by a plain key file; "
		    "use a TEE sealer in production"));
	json_object_set_new(comp, "sealer", c);
	if (policy_health(&err) == 0)
		c = json_pack("{s:b}", "ok", 1);
	else {
		c = json_pack("{s:b, s:s}", "ok", 0, "error", err.msg);
		ok = 0;
	}
	json_object_set_new(comp, "policy", c);
	tees = json_array();
	for (i = 0; i < ARRAY_SIZE(api_tees); i++)
		if (verifier_lookup(api_tees[i]) != NULL)
			json_array_append_new(tees, json_string(api_tees[i]));
	json_object_set_new(comp, "verifiers", json_pack("{s:b, s:o}", "ok",
	    json_array_size(tees) > 0, "tees", tees));
	if (json_array_size(json_object_get(json_object_get(comp, "verifiers"),
	    "tees")) == 0)
		ok = 0;
	json_object_set_new(comp, "admin", json_pack("{s:b, s:s}", "ok", 1,
	    "mode", admin_mode_name()));
	api_reply(r, ok ? 200 : 503, json_pack("{s:s, s:s, s:o}", "status",
	    ok ? "ok" : "degraded", "version", TRUSTEE_VERSION, "components",
	    comp));
}

static const char *
api_token_body(struct api_req *r, json_t **body)
{
	static const char *const members[] = { "token", NULL };
	const json_t *t;

	if (api_query_only(r, NULL) != 0)
		return NULL;
	if ((*body = api_body_object(r, members, 0)) == NULL)
		return NULL;
	t = json_object_get(*body, "token");
	if (!json_is_string(t) || json_string_length(t) == 0) {
		api_problem(r, 400, "BadRequest", "member 'token' (a compact "
		    "JWT string) is required");
		json_decref(*body);
		*body = NULL;
		return NULL;
	}
	return json_string_value(t);
}

static void
api_token_decode(struct api_req *r)
{
	struct error err, verr;
	const char *tok;
	json_t *body = NULL, *claims = NULL, *out;
	struct jws *j;

	if ((tok = api_token_body(r, &body)) == NULL)
		return;
	j = jws_parse(tok, strlen(tok), &err);
	if (j == NULL) {
		api_problem(r, 400, "BadRequest", "not a decodable compact "
		    "JWS: %s", err.msg);
		json_decref(body);
		return;
	}
	out = json_pack("{s:O, s:O}", "header", j->header, "claims",
	    j->payload);
	if (token_verify(tok, strlen(tok), &claims, &verr) == 0)
		json_object_set_new(out, "verified", json_true());
	else {
		json_object_set_new(out, "verified", json_false());
		json_object_set_new(out, "error", json_string(verr.msg));
	}
	json_decref(claims);
	jws_free(j);
	json_decref(body);
	api_reply(r, 200, out);
}

static void
api_token_verify(struct api_req *r)
{
	struct error err;
	const char *tok;
	json_t *body = NULL, *claims = NULL;

	if ((tok = api_token_body(r, &body)) == NULL)
		return;
	if (token_verify(tok, strlen(tok), &claims, &err) == 0)
		api_reply(r, 200, json_pack("{s:b, s:o}", "valid", 1,
		    "claims", claims));
	else
		api_reply(r, 200, json_pack("{s:b, s:s}", "valid", 0,
		    "error", err.msg));
	json_decref(body);
}

static int
api_time_query(struct api_req *r, const char *name, int64_t *t)
{
	const char *s = api_query(r, name);

	*t = 0;
	if (s == NULL)
		return 0;
	if (time_parse_rfc3339(s, t) != 0) {
		api_problem(r, 400, "BadRequest", "%s must be an RFC 3339 "
		    "time such as 2025-01-31T12:00:00Z", name);
		return -1;
	}
	return 0;
}

static void
api_audit_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", "action",
	    "actor", "since", "until", NULL };
	struct audit_filter f;
	struct error err;
	json_t *items;
	size_t limit;
	char *after = NULL, last[64] = "";
	int more, rc;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &after) != 0)
		return;
	memset(&f, 0, sizeof(f));
	f.action_prefix = api_query(r, "action");
	f.actor = api_query(r, "actor");
	if (api_time_query(r, "since", &f.since) != 0 ||
	    api_time_query(r, "until", &f.until) != 0) {
		free(after);
		return;
	}
	if ((rc = audit_list(after, limit, &f, &items, &more, &err)) != 0) {
		free(after);
		if (strcmp(err.msg, "bad cursor") == 0)
			api_problem(r, 400, "BadRequest", "cursor is not a "
			    "value returned as next_cursor");
		else
			api_store_error(r, "reading the audit trail", rc, &err);
		return;
	}
	free(after);
	if (json_array_size(items) > 0)
		snprintf(last, sizeof(last), "%s", json_string_value(
		    json_object_get(json_array_get(items,
		    json_array_size(items) - 1), "id")));
	api_page_reply(r, items, more, last);
}
