/*
 * kbs.c: the KBS protocol v0 (Trustee-compatible) under /kbs/v0/: its
 * route table, the dispatch by plugin name (routes.c sends every /kbs/v0
 * request here), the preflight (rate limits and body caps before a body
 * is read) and the reply helpers the handlers share. The handlers live in
 * kbs_rcar.c (/auth, /attest), kbs_resource.c (resource GET) and
 * kbs_admin.c (the admin compatibility endpoints, ROUTE_ADMIN routes).
 *
 * Status codes follow Trustee so that unmodified CoCo guests react the way
 * they do against Trustee: 404 only for an unknown plugin, 401 for every
 * other refusal (only a 401 makes a guest re-attest). Every error carries
 * a JSON problem body {type, detail}; unlike Trustee, the detail says why.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/jcs.h"
#include "../lib/log.h"
#include "api.h"
#include "kbs_internal.h"
#include "trusteed.h"

#define KBS_PREFIX "/kbs/v0/"
/* Body cap of every route but evidence and admin uploads. */
#define KBS_SMALL_BODY (16 * 1024)

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

/* Built-in names first, as Trustee dispatches them; a built-in name with
 * another method falls through to the plugin lookup (404). */
static const struct kbs_route kbs_routes[] = {
	{ HTTP_M_POST, "auth", 0, kbs_rcar_auth },
	{ HTTP_M_POST, "attest", 0, kbs_rcar_attest },
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

void
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
