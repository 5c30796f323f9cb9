/*
 * api_policy.c: /api/v1/policies (docs/api.md §5), on top of the Lua
 * policy engine's interface (policy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "api.h"
#include "policy.h"

#define API_POLICY_ID_MAX 128

int
api_policy_looks_rego(const char *text, size_t len)
{
	size_t i = 0, n;

	/* Skip blank lines and comments ('#' for Rego, "--" for Lua). */
	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t' ||
		    text[i] == '\r' || text[i] == '\n'))
			i++;
		if (i < len && text[i] == '#') {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	n = len - i;
	return n > 8 && memcmp(text + i, "package", 7) == 0 &&
	    (text[i + 7] == ' ' || text[i + 7] == '\t');
}

/* kind and id from the first two wildcard segments; -1 after a reply. */
static int
api_policy_target(struct api_req *r, enum policy_kind *kind)
{
	const char *k = r->param[0], *id = r->param[1];
	size_t n = strlen(id);

	if (strcmp(k, "attestation") == 0)
		*kind = POLICY_ATTESTATION;
	else if (strcmp(k, "resource") == 0)
		*kind = POLICY_RESOURCE;
	else {
		api_problem(r, 404, "NotFound", "unknown policy kind (expected "
		    "attestation or resource)");
		return -1;
	}
	if (n == 0 || n > API_POLICY_ID_MAX || id[0] == '.' ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-.") != n) {
		api_problem(r, 400, "BadRequest", "invalid policy id: it must "
		    "match [A-Za-z0-9_-][A-Za-z0-9_.-]{0,%d}",
		    API_POLICY_ID_MAX - 1);
		return -1;
	}
	return 0;
}

static const char *
api_policy_kind_name(enum policy_kind k)
{
	return k == POLICY_RESOURCE ? "resource" : "attestation";
}

/* The sort and cursor key of a policy summary: "<kind>/<id>". */
static const char *
api_policy_key(const json_t *it, char *buf, size_t cap)
{
	const char *k = json_string_value(json_object_get(it, "kind"));
	const char *id = json_string_value(json_object_get(it, "id"));

	snprintf(buf, cap, "%s/%s", k ? k : "", id ? id : "");
	return buf;
}

static int
api_policy_cmp(const void *a, const void *b)
{
	char x[300], y[300];

	return strcmp(api_policy_key(*(json_t *const *)a, x, sizeof(x)),
	    api_policy_key(*(json_t *const *)b, y, sizeof(y)));
}

void
api_policies_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", "kind", NULL };
	const char *kind = api_query(r, "kind");
	struct error err;
	json_t *all = NULL, *sel, *it, **v;
	size_t limit, i, n = 0;
	char *after = NULL;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &after) != 0)
		return;
	if (kind != NULL && strcmp(kind, "attestation") != 0 &&
	    strcmp(kind, "resource") != 0) {
		free(after);
		api_problem(r, 400, "BadRequest", "kind must be attestation "
		    "or resource");
		return;
	}
	if (policy_list(&all, &err) != 0 || !json_is_array(all)) {
		free(after);
		json_decref(all);
		api_internal(r, "listing policies", &err);
		return;
	}
	v = xcalloc(json_array_size(all) + 1, sizeof(*v));
	json_array_foreach(all, i, it)
		if (kind == NULL || (json_is_string(json_object_get(it,
		    "kind")) && strcmp(kind, json_string_value(
		    json_object_get(it, "kind"))) == 0))
			v[n++] = it;
	qsort(v, n, sizeof(*v), api_policy_cmp);
	sel = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sel, v[i]);
	api_page_array(r, sel, api_policy_key, limit, after);
	json_decref(sel);
	free(v);
	free(after);
	json_decref(all);
}

/* The active version's number, or 0 when unknown. */
static long long
api_policy_active(enum policy_kind kind, const char *id)
{
	struct error err;
	json_t *vers = NULL, *e;
	long long active = 0;
	size_t i;

	if (policy_versions(kind, id, &vers, &err) != 0) {
		json_decref(vers);
		return 0;
	}
	json_array_foreach(vers, i, e)
		if (json_is_true(json_object_get(e, "active")))
			active = json_integer_value(json_object_get(e,
			    "version"));
	json_decref(vers);
	return active;
}

void
api_policy_get(struct api_req *r)
{
	static const char *const q[] = { "version", NULL };
	const char *vs = api_query(r, "version");
	enum policy_kind kind;
	struct error err;
	long long version = 0, active;
	char *text = NULL, *end;
	size_t len = 0;
	json_t *out;
	int rc;

	if (api_query_only(r, q) != 0 || api_policy_target(r, &kind) != 0)
		return;
	if (vs != NULL) {
		version = strtoll(vs, &end, 10);
		if (vs[0] < '1' || vs[0] > '9' || *end != '\0' ||
		    version > INT32_MAX) {
			api_problem(r, 400, "BadRequest", "version must be a "
			    "positive integer");
			return;
		}
	}
	rc = policy_get(kind, r->param[1], (int)version, &text, &len, &err);
	if (rc < 0) {
		api_internal(r, "reading the policy", &err);
		return;
	}
	if (rc == 1) {
		api_problem(r, 404, "NotFound", "%s policy %s%s not found",
		    api_policy_kind_name(kind), r->param[1], vs != NULL ?
		    " (at that version)" : "");
		return;
	}
	active = api_policy_active(kind, r->param[1]);
	out = json_pack("{s:s, s:s, s:I, s:b, s:s%}", "kind",
	    api_policy_kind_name(kind), "id", r->param[1], "version",
	    (json_int_t)(version != 0 ? version : active), "active",
	    version == 0 || version == active, "policy", text, len);
	free(text);
	if (out == NULL) {
		api_problem(r, 500, "InternalError", "the stored policy text "
		    "is not UTF-8");
		return;
	}
	api_reply(r, 200, out);
}

int
api_policy_store(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int *version, json_t *warnings,
    struct error *err)
{
	if (memchr(text, '\0', len) != NULL)
		return error_set(err, "the policy text contains a NUL byte");
	if (api_policy_looks_rego(text, len))
		return error_set(err, "this looks like a Rego policy; trusteed "
		    "policies are Lua (see docs/policies.md)");
	if (kind == POLICY_RESOURCE && strcmp(id, POLICY_RESOURCE_ID) != 0)
		return error_set(err, "the resource policy's id is %s",
		    POLICY_RESOURCE_ID);
	return policy_put(kind, id, text, len, who, version, warnings, err);
}

void
api_policy_put(struct api_req *r)
{
	static const char *const members[] = { "policy", "type", NULL };
	enum policy_kind kind;
	struct error err;
	const char *text, *type;
	char ct[128], target[300];
	json_t *body = NULL, *warnings = NULL, *out;
	size_t len;
	int version = 0;

	if (api_query_only(r, NULL) != 0 || api_policy_target(r, &kind) != 0)
		return;
	snprintf(target, sizeof(target), "%s/%s", api_policy_kind_name(kind),
	    r->param[1]);
	api_content_type(r, ct, sizeof(ct));
	if (strcmp(ct, "application/json") == 0 || ct[0] == '\0') {
		if ((body = api_body_object(r, members, 0)) == NULL)
			return;
		type = json_string_value(json_object_get(body, "type"));
		if (json_object_get(body, "type") != NULL && (type == NULL ||
		    (strcmp(type, "lua") != 0 && strcmp(type, "rego") != 0 &&
		    strcmp(type, "opa") != 0))) {
			api_problem(r, 400, "BadRequest", "'type' must be "
			    "\"lua\"");
			goto out;
		}
		if (type != NULL && strcmp(type, "lua") != 0) {
			api_problem(r, 400, "PolicyInvalid", "policy type "
			    "\"%s\" is not supported: trusteed policies are "
			    "Lua (see docs/policies.md)", type);
			goto out;
		}
		if (!json_is_string(json_object_get(body, "policy"))) {
			api_problem(r, 400, "BadRequest", "member 'policy' "
			    "(the Lua text) is required");
			goto out;
		}
		text = json_string_value(json_object_get(body, "policy"));
		len = json_string_length(json_object_get(body, "policy"));
	} else if (strcmp(ct, "text/plain") == 0 ||
	    strcmp(ct, "text/x-lua") == 0 ||
	    strcmp(ct, "application/x-lua") == 0) {
		text = (const char *)r->http->body;
		len = r->http->body_len;
	} else {
		api_problem(r, 415, "UnsupportedMediaType", "send the policy as "
		    "application/json {\"policy\": ...} or as text/plain");
		return;
	}
	warnings = json_array();
	if (api_policy_store(kind, r->param[1], text, len, r->id.actor,
	    &version, warnings, &err) != 0) {
		api_audit(r, "policy.put", target, "error", err.msg);
		api_problem(r, 400, "PolicyInvalid", "%s", err.msg);
		goto out;
	}
	api_audit(r, "policy.put", target, "ok", json_array_size(warnings) >
	    0 ? "stored with warnings from the upload check" : NULL);
	out = json_pack("{s:s, s:s, s:i}", "kind", api_policy_kind_name(kind),
	    "id", r->param[1], "version", version);
	if (out != NULL && json_array_size(warnings) > 0)
		json_object_set(out, "warnings", warnings);
	api_reply(r, 200, out);
out:
	json_decref(warnings);
	json_decref(body);
}

static int
api_version_desc(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "version"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "version"));

	return x > y ? -1 : x < y;
}

void
api_policy_versions(struct api_req *r)
{
	enum policy_kind kind;
	struct error err;
	json_t *vers = NULL, *out, **v, *e;
	char *text = NULL;
	size_t len = 0, i, n;
	int rc;

	if (api_query_only(r, NULL) != 0 || api_policy_target(r, &kind) != 0)
		return;
	rc = policy_get(kind, r->param[1], 0, &text, &len, &err);
	free(text);
	if (rc == 1) {
		api_problem(r, 404, "NotFound", "%s policy %s not found",
		    api_policy_kind_name(kind), r->param[1]);
		return;
	}
	if (rc < 0 || policy_versions(kind, r->param[1], &vers, &err) != 0 ||
	    !json_is_array(vers)) {
		json_decref(vers);
		api_internal(r, "reading policy versions", &err);
		return;
	}
	n = json_array_size(vers);
	v = xcalloc(n + 1, sizeof(*v));
	json_array_foreach(vers, i, e)
		v[i] = e;
	qsort(v, n, sizeof(*v), api_version_desc);
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(vers);
	api_page_reply(r, out, 0, NULL);
}

void
api_policy_restore(struct api_req *r)
{
	static const char *const members[] = { "version", NULL };
	enum policy_kind kind;
	struct error err;
	json_t *body;
	long long version;
	char *text = NULL, target[300], reason[64];
	size_t len = 0;
	int rc, nv = 0;

	if (api_query_only(r, NULL) != 0 || api_policy_target(r, &kind) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	rc = api_int_member(r, body, "version", 1, INT32_MAX, &version);
	json_decref(body);
	if (rc != 0)
		return;
	snprintf(target, sizeof(target), "%s/%s", api_policy_kind_name(kind),
	    r->param[1]);
	rc = policy_get(kind, r->param[1], (int)version, &text, &len, &err);
	free(text);
	if (rc < 0) {
		api_internal(r, "reading the policy", &err);
		return;
	}
	if (rc == 1) {
		api_problem(r, 404, "NotFound", "%s policy %s has no version "
		    "%lld", api_policy_kind_name(kind), r->param[1], version);
		return;
	}
	snprintf(reason, sizeof(reason), "from version %lld", version);
	if (policy_restore(kind, r->param[1], (int)version, r->id.actor, &nv,
	    &err) != 0) {
		api_audit(r, "policy.restore", target, "error", err.msg);
		api_problem(r, 400, "PolicyInvalid", "%s", err.msg);
		return;
	}
	api_audit(r, "policy.restore", target, "ok", reason);
	api_reply(r, 200, json_pack("{s:s, s:s, s:i}", "kind",
	    api_policy_kind_name(kind), "id", r->param[1], "version", nv));
}

void
api_policy_test(struct api_req *r)
{
	static const char *const members[] = { "input", "policy", "version",
	    NULL };
	enum policy_kind kind;
	struct error err;
	const json_t *input, *pol;
	json_t *body, *result = NULL;
	long long version = 0;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (api_query_only(r, NULL) != 0 || api_policy_target(r, &kind) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	input = json_object_get(body, "input");
	pol = json_object_get(body, "policy");
	if (!json_is_object(input)) {
		api_problem(r, 400, "BadRequest", "member 'input' (an object) "
		    "is required");
		goto out;
	}
	if (pol != NULL && !json_is_string(pol)) {
		api_problem(r, 400, "BadRequest", "'policy' must be the Lua "
		    "text (a string)");
		goto out;
	}
	if (pol != NULL && json_object_get(body, "version") != NULL) {
		api_problem(r, 400, "BadRequest", "give 'policy' or "
		    "'version', not both");
		goto out;
	}
	if (json_object_get(body, "version") != NULL && api_int_member(r,
	    body, "version", 1, INT32_MAX, &version) != 0)
		goto out;
	if (pol != NULL && api_policy_looks_rego(json_string_value(pol),
	    json_string_length(pol))) {
		api_problem(r, 400, "PolicyInvalid", "this looks like a Rego "
		    "policy; trusteed policies are Lua (see docs/policies.md)");
		goto out;
	}
	if (pol == NULL) {
		rc = policy_get(kind, r->param[1], (int)version, &text, &len,
		    &err);
		free(text);
		if (rc < 0) {
			api_internal(r, "reading the policy", &err);
			goto out;
		}
		if (rc == 1) {
			api_problem(r, 404, "NotFound", "%s policy %s%s not "
			    "found", api_policy_kind_name(kind), r->param[1],
			    version != 0 ? " (at that version)" : "");
			goto out;
		}
	}
	if (policy_test(kind, pol != NULL ? json_string_value(pol) : NULL,
	    pol != NULL ? json_string_length(pol) : 0, pol != NULL ? NULL :
	    r->param[1], (int)version, input, &result, &err) != 0) {
		api_problem(r, 400, "BadRequest", "%s", err.msg);
		goto out;
	}
	api_reply(r, 200, result);
out:
	json_decref(body);
}
