/*
 * api.h: the native JSON admin API under /api/v1/ (docs/api.md): the entry
 * point for kbs.c, and the helpers shared by api.c and the per-area
 * handler files (api_resource.c, api_policy.c, api_rv.c).
 */
#ifndef TRUSTEE_API_H
#define TRUSTEE_API_H

#include <stddef.h>
#include <jansson.h>

#include "trusteed.h"
#include "policy.h"

#define API_PREFIX "/api/v1"
#define API_MAX_SEGMENTS 8
#define API_MAX_PARAMS 4
#define API_DEFAULT_LIMIT 100
#define API_MAX_LIMIT 1000
#define API_RETRY_AFTER_S 5	/* Retry-After of a 503 for a store outage */

/* Built-in roles (docs/api.md §2.2) as route permission bits. */
enum {
	API_R_ADMIN = 1 << 0,
	API_R_OPERATOR = 1 << 1,
	API_R_AUDITOR = 1 << 2,
	API_R_ANY = 1 << 3	/* any authenticated role, even unknown ones */
};
#define API_R_READ (API_R_ADMIN | API_R_OPERATOR | API_R_AUDITOR)
#define API_R_WRITE (API_R_ADMIN | API_R_OPERATOR)

/* One request being handled. */
struct api_req {
	struct http_request *http;
	struct http_response *resp;
	struct kbs_context *ctx;
	struct admin_identity id;
	char *param[API_MAX_PARAMS];	/* decoded wildcard segments */
	int nparam;
	json_t *query;			/* {name: value}, decoded */
	int console;			/* authenticated by a console session */
};

/* Handle a request whose path is /api/v1 or starts with /api/v1/. */
void api_handle(struct http_request *req, struct http_response *resp,
    struct kbs_context *ctx);

/*
 * The routing and role decision alone (for tests): 0 when role may call
 * method on path, else the status the API answers before any handler
 * runs: 404 (no route), 405 (wrong method), 403 (role not allowed).
 */
int api_route_check(const char *role, enum http_method method,
    const char *path);

/* ------------------------------------------------------------ helpers */

/* Reply with status and body (the reference is consumed; NULL: no body). */
void api_reply(struct api_req *r, int status, json_t *body);
void api_problem(struct api_req *r, int status, const char *type,
    const char *fmt, ...) ATTR_PRINTF(4, 5);
/* A store/engine failure: logged with the detail, 500 without it. */
void api_internal(struct api_req *r, const char *what,
    const struct error *err);
/*
 * A failure with a store.h code: STORE_UNAVAILABLE answers 503 with
 * Retry-After (type ServiceUnavailable), STORE_CORRUPT 500 of type
 * IntegrityError whose detail names the table and row id (err holds no
 * secret), anything else api_internal.
 */
void api_store_error(struct api_req *r, const char *what, int rc,
    const struct error *err);
/* Refuse (400) any query parameter not in the NULL-terminated list. */
int api_query_only(struct api_req *r, const char *const *allowed);
/* A decoded query parameter, or NULL. */
const char *api_query(const struct api_req *r, const char *name);
/* limit and cursor (decoded, malloc'd, NULL when absent); -1 after a
 * 400 reply. */
int api_page(struct api_req *r, size_t *limit, char **after);
/* Reply {"items": items, "next_cursor": more ? cursor(last_key) : null}
 * (items consumed). */
void api_page_reply(struct api_req *r, json_t *items, int more,
    const char *last_key);
/* Page through an array sorted by key: items after `after`, at most
 * limit; key(item) gives each item's sort key. Replies (items borrowed). */
void api_page_array(struct api_req *r, const json_t *items,
    const char *(*key)(const json_t *item, char *buf, size_t cap),
    size_t limit, const char *after);
/* 1 if the request's Content-Type is application/json (or absent when
 * absent_is_json), else 0. */
int api_is_json(const struct api_req *r, int absent_is_json);
/* The Content-Type without parameters, lowercased, in buf ("" if none). */
const char *api_content_type(const struct api_req *r, char *buf,
    size_t cap);
/*
 * The body as a JSON object whose members are all in `allowed`
 * (NULL-terminated). empty_ok: an empty body is {}. NULL after a 400/415
 * reply.
 */
json_t *api_body_object(struct api_req *r, const char *const *allowed,
    int empty_ok);
/* Integer member (JSON integer) in min..max; -1 after a 400 reply. */
int api_int_member(struct api_req *r, const json_t *obj, const char *name,
    long long min, long long max, long long *out);
/* Record an audit entry as the calling admin. */
void api_audit(struct api_req *r, const char *action, const char *target,
    const char *outcome, const char *reason);
/* Decode %XX escapes (no '+' rule) into a new string; NULL when an escape
 * is malformed or decodes to NUL. */
char *api_percent_decode(const char *s, size_t len);

/* ------------------------------------------------------------ handlers */

/* api_resource.c */
void api_resources_list(struct api_req *r);
void api_resource_get(struct api_req *r);
void api_resource_put(struct api_req *r);
void api_resource_delete(struct api_req *r);
void api_resource_versions(struct api_req *r);
void api_resource_restore(struct api_req *r);
/* Sizes of a value made by POST .../generate. */
#define API_GENERATE_MIN	16
#define API_GENERATE_MAX	4096
#define API_GENERATE_DEFAULT	32
void api_resource_generate(struct api_req *r);
void api_resource_reveal(struct api_req *r);

/* api_policy.c */
void api_policies_list(struct api_req *r);
void api_policy_get(struct api_req *r);
void api_policy_put(struct api_req *r);
void api_policy_versions(struct api_req *r);
void api_policy_restore(struct api_req *r);
void api_policy_test(struct api_req *r);
/* Shared with kbs.c's compatibility endpoints: 1 if text looks like Rego
 * (its first code line is a `package` declaration). */
int api_policy_looks_rego(const char *text, size_t len);
/*
 * Check and store policy text for kind/id (PUT and the /kbs/v0
 * compatibility endpoints): NUL bytes and Rego are refused with a clear
 * message, the resource policy's id must be POLICY_RESOURCE_ID, then
 * policy_put compiles it and runs it on the built-in sample inputs. 0 and
 * *version (warnings, when not NULL, gets a message per sample input the
 * policy fails on); -1 with the reason (a 400).
 */
int api_policy_store(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int *version, json_t *warnings,
    struct error *err);

/* api_store.c */
void api_keys_status(struct api_req *r);
void api_keys_rotate(struct api_req *r);
void api_keys_export(struct api_req *r);
void api_store_check(struct api_req *r);
void api_store_row_delete(struct api_req *r);

/* api_rv.c */
void api_rv_list(struct api_req *r);
void api_rv_import(struct api_req *r);
void api_rv_get(struct api_req *r);
void api_rv_put(struct api_req *r);
void api_rv_revoke(struct api_req *r);

/* api_user.c */
void api_users_list(struct api_req *r);
void api_user_add(struct api_req *r);
void api_user_get(struct api_req *r);
void api_user_delete(struct api_req *r);
void api_user_password(struct api_req *r);
void api_user_role(struct api_req *r);
void api_user_disable(struct api_req *r);
void api_user_enable(struct api_req *r);
void api_account_password(struct api_req *r);

/* api_attestation.c */
void api_attestations_list(struct api_req *r);
void api_attestation_get(struct api_req *r);
void api_stats(struct api_req *r);

#endif
