/*
 * routes.c: every route of trusteed in one table (routes[] below): what
 * the daemon answers, in the order it is matched. It is the one
 * http_handler_fn the HTTP front end calls. Around every handler it
 * adds the security headers, counts the request for /metrics and the
 * dashboard, and, for the two attestation endpoints, records the outcome
 * in the attestation log.
 *
 * Two areas route further in their own tables: /kbs/v0/... by plugin name
 * in kbs.c (auth, attest, resource, attestation-policy, reference-value,
 * resource-policy), and /api/v1/... by path pattern and role in api.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "console.h"
#include "observe.h"
#include "trusteed.h"

#define M(x) (1u << (x))
#define M_GET (M(HTTP_M_GET) | M(HTTP_M_HEAD))
#define M_POST M(HTTP_M_POST)
#define M_ANY 0u			/* the handler checks the method */

enum {
	ROUTE_PREFIX = 1 << 0,		/* path, or path + "/..." */
	ROUTE_OBSERVE_ATTEST = 1 << 1	/* /attestation: log the outcome */
};

struct route {
	const char *path;
	int flags;
	unsigned methods;
	enum metrics_route metric;
	http_handler_fn run;
	const char *what;		/* for the reader (and docs/api.md) */
};

static void routes_healthz(struct http_request *, struct http_response *,
    void *);
static void routes_readyz(struct http_request *, struct http_response *,
    void *);
static void routes_jwks(struct http_request *, struct http_response *,
    void *);
static void routes_attestation(struct http_request *, struct http_response *,
    void *);
static void routes_api(struct http_request *, struct http_response *,
    void *);

static const struct route routes[] = {
	/* Probes and public keys (unauthenticated). */
	{ "/healthz", 0, M_GET, MR_PUBLIC, routes_healthz,
	    "liveness: 200 while the process serves requests" },
	{ "/readyz", 0, M_GET, MR_PUBLIC, routes_readyz,
	    "readiness: 200 when the store answers and the data key is "
	    "unsealed, else 503" },
	{ "/metrics", 0, M_GET, MR_PUBLIC, metrics_handle,
	    "Prometheus text: Trustee's kbs_* metrics and ours (metrics.c)" },
	{ "/.well-known/jwks.json", 0, M_GET, MR_PUBLIC, routes_jwks,
	    "the EAR token signing key, for relying parties" },
	/* Attestation. */
	{ "/attestation", ROUTE_OBSERVE_ATTEST, M_POST, MR_ATTESTATION,
	    routes_attestation,
	    "Trustee's RESTful AS evaluate (attestation.c); logged" },
	{ "/kbs/v0", ROUTE_PREFIX, M_ANY, MR_KBS_OTHER, kbs_handle,
	    "the KBS protocol and Trustee's admin endpoints, by plugin "
	    "name (kbs.c); /kbs/v0/attest outcomes are logged" },
	/* Admin API (bearer admin token or console session). */
	{ "/api/v1", ROUTE_PREFIX, M_ANY, MR_API, routes_api,
	    "the native JSON admin API, by pattern and role (api.c)" },
	/* The console. */
	{ "/console/api/login", 0, M_POST, MR_CONSOLE_API, console_auth_login,
	    "console login: {username, password} -> session cookie" },
	{ "/console/api/logout", 0, M_POST, MR_CONSOLE_API,
	    console_auth_logout, "console logout (CSRF token required)" },
	{ "/console/api/session", 0, M_GET, MR_CONSOLE_API,
	    console_auth_session, "the console session: user, role, csrf" },
	{ "/console", ROUTE_PREFIX, M_GET, MR_CONSOLE, console_files_handle,
	    "the console's static files (console_files.c)" },
};

static const struct route *
routes_find(const char *path)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		n = strlen(routes[i].path);
		if (strncmp(path, routes[i].path, n) != 0)
			continue;
		if (path[n] == '\0' || ((routes[i].flags & ROUTE_PREFIX) &&
		    path[n] == '/'))
			return &routes[i];
	}
	return NULL;
}

static void
routes_allow(struct http_response *resp, unsigned methods)
{
	http_response_header(resp, "Allow", "%s",
	    methods == M_POST ? "POST" : "GET, HEAD");
}

/* ------------------------------------------------------ small handlers */

static void
routes_healthz(struct http_request *req, struct http_response *resp,
    void *arg)
{
	(void)req;
	(void)arg;
	resp->status = 200;
}

static void
routes_readyz(struct http_request *req, struct http_response *resp,
    void *arg)
{
	const struct kbs_context *ctx = arg;
	struct error err;
	uint8_t *val = NULL;
	size_t len = 0;
	json_t *o;
	char *s;
	int rc;

	(void)req;
	/* An authenticated read proves both: the store answers, and the
	 * unsealed data key opens its rows (the store checked it at
	 * open). */
	rc = store_get(ctx->store, "health", "probe", &val, &len, &err);
	secret_free(val, len);
	o = json_pack("{s:s, s:b, s:b}", "status", rc >= 0 ? "ready" :
	    "not ready", "store", rc >= 0, "key_unsealed", ctx->store != NULL);
	if (rc < 0)
		json_object_set_new(o, "error", json_string(err.msg));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	resp->status = rc >= 0 ? 200 : 503;
	if (s != NULL)
		http_response_body(resp, "application/json", s, strlen(s));
	free(s);
}

static void
routes_jwks(struct http_request *req, struct http_response *resp, void *arg)
{
	(void)req;
	(void)arg;
	resp->status = 200;
	http_response_body(resp, "application/json", token_jwks(),
	    strlen(token_jwks()));
}

static void
routes_attestation(struct http_request *req, struct http_response *resp,
    void *arg)
{
	(void)arg;
	attestation_handle(req, resp);
}

static void
routes_api(struct http_request *req, struct http_response *resp, void *arg)
{
	api_handle(req, resp, arg);
}

/* ------------------------------------------------------ observation */

/* The plugin name of a /kbs/v0 path (first non-empty segment, as kbs.c
 * splits it) into out. */
static void
routes_kbs_plugin(const char *path, char *out, size_t cap)
{
	const char *p = path + strlen("/kbs/v0");
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static enum metrics_route
routes_kbs_class(const struct http_request *req, const char *plugin)
{
	if (strcmp(plugin, "auth") == 0)
		return MR_KBS_AUTH;
	if (strcmp(plugin, "attest") == 0)
		return MR_KBS_ATTEST;
	if (strcmp(plugin, "resource") == 0 && req->method == HTTP_M_GET)
		return MR_KBS_RESOURCE;
	if (strcmp(plugin, "resource") == 0 ||
	    strcmp(plugin, "attestation-policy") == 0 ||
	    strcmp(plugin, "resource-policy") == 0 ||
	    strcmp(plugin, "reference-value") == 0)
		return MR_KBS_ADMIN;
	return MR_KBS_OTHER;
}

/* The "type" suffix and "detail" of a problem answer. */
static json_t *
routes_problem(const struct http_response *resp, const char **type,
    const char **detail)
{
	json_t *b = json_loadb((const char *)resp->body.data, resp->body.len,
	    0, NULL);
	const char *t = json_string_value(json_object_get(b, "type"));

	*type = t != NULL && strrchr(t, '/') != NULL ? strrchr(t, '/') + 1 :
	    "";
	*detail = json_string_value(json_object_get(b, "detail"));
	if (*detail == NULL)
		*detail = "";
	return b;
}

/* Release decisions (guest resource GETs) and admin resource writes. */
static void
routes_observe_resources(const struct http_request *req,
    const struct http_response *resp, enum metrics_route cls, int64_t now)
{
	static const char *const failed[] = { "error at line",
	    "syntax error", "malformed result", "instruction budget exceeded",
	    "memory limit exceeded" };
	const char *type, *detail, *d;
	json_t *b;
	size_t i;
	int st = resp->status;

	if (cls == MR_KBS_RESOURCE) {
		if (st == 200) {
			metrics_release(1);
			stats_release(1, NULL, now);
			return;
		}
		b = routes_problem(resp, &type, &detail);
		if (strcmp(type, "PolicyDeny") == 0) {
			d = strstr(detail, "policy: ");
			d = d != NULL ? d + 8 : detail;
			metrics_release(0);
			for (i = 0; i < ARRAY_SIZE(failed); i++)
				if (strncmp(d, failed[i], strlen(failed[i])) == 0)
					metrics_policy_error();
			stats_release(0, d, now);
		}
		json_decref(b);
		return;
	}
	if (st < 200 || st > 299)
		return;
	if (cls == MR_KBS_ADMIN && strncmp(req->path, "/kbs/v0/resource/",
	    17) == 0)
		metrics_resource_write(req->method == HTTP_M_DELETE);
	else if (cls == MR_API && strncmp(req->path, "/api/v1/resources/",
	    18) == 0 && (req->method == HTTP_M_PUT ||
	    req->method == HTTP_M_DELETE || (req->method == HTTP_M_POST &&
	    strlen(req->path) > 8 && strcmp(req->path + strlen(req->path) - 8,
	    "/restore") == 0)))
		metrics_resource_write(req->method == HTTP_M_DELETE);
}

/* ------------------------------------------------------------- entry */

void
routes_handle(struct http_request *req, struct http_response *resp,
    void *arg)
{
	const struct route *rt;
	enum metrics_route cls = MR_UNKNOWN;
	enum observe_verdict verdict;
	struct attlog_obs obs;
	char plugin[64] = "";
	uint64_t t0 = now_mono_ns(), ns;
	int64_t now;
	int attest = 0, tee;

	metrics_inflight(1);
	rt = routes_find(req->path);
	if (rt == NULL) {
		http_problem(resp, 404, "InvalidRequestPath", "Request path "
		    "is invalid: no such endpoint");
		goto done;
	}
	cls = rt->metric;
	if (rt->run == kbs_handle) {
		routes_kbs_plugin(req->path, plugin, sizeof(plugin));
		cls = routes_kbs_class(req, plugin);
		attest = cls == MR_KBS_ATTEST && req->method == HTTP_M_POST;
	}
	if (rt->methods != M_ANY && (rt->methods & M(req->method)) == 0) {
		routes_allow(resp, rt->methods);
		http_problem(resp, 405, "MethodNotAllowed", "use %s for %s",
		    rt->methods == M_POST ? "POST" : "GET", rt->path);
		goto done;
	}
	if (rt->flags & ROUTE_OBSERVE_ATTEST)
		attest = 1;
	if (attest)
		attlog_begin(&obs, cls == MR_KBS_ATTEST ? "/kbs/v0/attest" :
		    "/attestation", req);
	rt->run(req, resp, arg);
	if (attest) {
		const char *type, *detail;
		json_t *b;

		attlog_end(&obs, req, resp, &verdict, &tee);
		metrics_attestation(tee, verdict, now_mono_ns() - t0);
		stats_attestation(tee, verdict, now_unix());
		if (verdict == OBSERVE_REFUSED) {
			b = routes_problem(resp, &type, &detail);
			stats_denial_reason(detail[0] != '\0' ? detail :
			    "attestation refused");
			json_decref(b);
		}
	}
done:
	ns = now_mono_ns() - t0;
	now = now_unix();
	routes_observe_resources(req, resp, cls, now);
	http_security_headers(resp);
	metrics_request(cls, resp->status, req->body_len, resp->body.len, ns);
	stats_request(ns, now);
	metrics_inflight(-1);
}
