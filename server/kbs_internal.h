/*
 * kbs_internal.h: what kbs.c (route table, dispatch, reply helpers) and
 * its handlers share: kbs_rcar.c (/auth, /attest), kbs_resource.c
 * (resource GET) and kbs_admin.c (Trustee's admin compatibility
 * endpoints). Not a public interface: routes.c hands /kbs/v0 requests to
 * kbs_handle().
 */
#ifndef TRUSTEE_KBS_INTERNAL_H
#define TRUSTEE_KBS_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "trusteed.h"

#define KBS_MAX_SEGMENTS 16
#define KBS_COOKIE "kbs-session-id"
/* Retry-After when the (shared) session store cannot be reached. */
#define KBS_UNAVAILABLE_RETRY 5

/* One request under /kbs/v0/, as kbs_dispatch() splits it. */
struct kbs_req {
	struct http_request *http;
	struct http_response *resp;
	struct kbs_context *ctx;
	const char *plugin;
	char *segv[KBS_MAX_SEGMENTS];	/* path segments after the plugin */
	int segc;
	struct admin_identity admin;	/* on ROUTE_ADMIN routes */
};

/* Answer 200 with body serialized as compact JSON (500 SerdeError when
 * it cannot be serialized). Does not take ownership of body. */
void kbs_json_reply(struct http_response *resp, json_t *body);

/* Parse a request body as a JSON object; NULL with a reason otherwise. */
json_t *kbs_body_json(const struct http_request *req, struct error *err);

/* The shared session store is unreachable (SESSION_UNAVAILABLE): a 503
 * the guest retries, never a 401 that would send it back to /auth. what
 * names the endpoint in the log and the problem detail. */
void kbs_session_unavailable(struct kbs_req *r, const char *what);

/* Guest route handlers; each answers through r->resp. */
void kbs_rcar_auth(struct kbs_req *r);		/* POST auth (kbs_rcar.c) */
void kbs_rcar_attest(struct kbs_req *r);	/* POST attest (kbs_rcar.c) */
void kbs_resource_get(struct kbs_req *r);	/* GET resource */

/* kbs_resource.c. Trustee's rule: exactly repo/type/tag, each
 * [A-Za-z0-9_-][A-Za-z0-9_.-]*. Writes "repo/type/tag" to out; -1 with
 * the reason otherwise. */
int kbs_resource_name(struct kbs_req *r, char *out, size_t cap,
    struct error *err);

/* Admin route handlers (kbs_admin.c); kbs_dispatch() runs them only after
 * admin_authorize_kbs() succeeded. Each answers through r->resp. */
void kbs_admin_resource_put(struct kbs_req *r);
void kbs_admin_resource_delete(struct kbs_req *r);
void kbs_admin_attestation_policy_set(struct kbs_req *r);
void kbs_admin_resource_policy_set(struct kbs_req *r);
void kbs_admin_resource_policy_list(struct kbs_req *r);
void kbs_admin_reference_value_get(struct kbs_req *r);
void kbs_admin_reference_value_set(struct kbs_req *r);

#endif
