/*
 * api_resource.c: /api/v1/resources (docs/api.md §4). Values are
 * write-only here, with one exception: an admin may ask for one value
 * explicitly (POST .../reveal), and every such request is audited.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "api.h"
#include "resource.h"


/* "<repo>/<type>/<tag>" from the three wildcard segments, checked. */
static int
api_resource_name(struct api_req *r, char *out, size_t cap)
{
	struct error err;

	snprintf(out, cap, "%s/%s/%s", r->param[0], r->param[1], r->param[2]);
	if (resource_name_check(out, &err) != 0) {
		api_problem(r, 400, "BadRequest", "%s", err.msg);
		return -1;
	}
	return 0;
}

void
api_resources_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", "prefix", NULL };
	struct error err;
	json_t *items, *problems = NULL, *cur = json_null();
	size_t limit;
	char *after = NULL, *c;
	int more, rc;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &after) != 0)
		return;
	rc = resource_list(r->ctx->store, api_query(r, "prefix"), after, limit,
	    &items, &more, &problems, &err);
	free(after);
	if (rc != 0) {
		api_store_error(r, "listing resources", rc, &err);
		return;
	}
	if (more && json_array_size(items) > 0) {
		const char *last = json_string_value(json_object_get(
		    json_array_get(items, json_array_size(items) - 1), "name"));

		c = b64_encode(last, strlen(last), B64_URL_NOPAD);
		cur = json_string(c);
		free(c);
	}
	/* Index rows that fail authentication are skipped, and named here
	 * so an admin can find and repair them (docs/api.md §4). */
	if (json_array_size(problems) > 0)
		api_reply(r, 200, json_pack("{s:o, s:o, s:o}", "items", items,
		    "next_cursor", cur, "problems", problems));
	else {
		json_decref(problems);
		api_reply(r, 200, json_pack("{s:o, s:o}", "items", items,
		    "next_cursor", cur));
	}
}

void
api_resource_get(struct api_req *r)
{
	char name[RESOURCE_NAME_MAX + 8];
	struct error err;
	json_t *meta;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0)
		return;
	rc = resource_read_meta(r->ctx->store, name, &meta, &err);
	if (rc < 0)
		api_store_error(r, "reading a resource", rc, &err);
	else if (rc == 1)
		api_problem(r, 404, "NotFound", "resource %s not found", name);
	else
		api_reply(r, 200, meta);
}

/* The value of a JSON-form PUT: "value" (UTF-8 text) or "value_base64". */
static int
api_resource_json_value(struct api_req *r, const json_t *body, uint8_t **val,
    size_t *len, const char **ct)
{
	const json_t *v = json_object_get(body, "value");
	const json_t *b = json_object_get(body, "value_base64");
	const json_t *c = json_object_get(body, "content_type");

	if ((v == NULL) == (b == NULL)) {
		api_problem(r, 400, "BadRequest", "the JSON form takes exactly "
		    "one of 'value' (a string) and 'value_base64'");
		return -1;
	}
	if (c != NULL && (!json_is_string(c) ||
	    !resource_content_type_ok(json_string_value(c)))) {
		api_problem(r, 400, "BadRequest", "'content_type' must be a "
		    "string of 1..%d printable ASCII characters",
		    RESOURCE_CT_MAX);
		return -1;
	}
	*ct = c != NULL ? json_string_value(c) : NULL;
	if (v != NULL) {
		if (!json_is_string(v)) {
			api_problem(r, 400, "BadRequest", "'value' must be a "
			    "string (use 'value_base64' for bytes)");
			return -1;
		}
		*len = json_string_length(v);
		*val = xmalloc(*len + 1);
		memcpy(*val, json_string_value(v), *len);
		return 0;
	}
	if (!json_is_string(b) || b64_decode(json_string_value(b),
	    json_string_length(b), B64_STD, val, len) != 0) {
		api_problem(r, 400, "BadRequest", "'value_base64' must be "
		    "standard base64 with padding");
		return -1;
	}
	return 0;
}

void
api_resource_put(struct api_req *r)
{
	static const char *const members[] = { "value", "value_base64",
	    "content_type", NULL };
	char name[RESOURCE_NAME_MAX + 8], ctbuf[RESOURCE_CT_MAX + 1];
	const char *ct = NULL;
	struct error err;
	json_t *body = NULL, *meta = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int created = 0, json_form, rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0)
		return;
	json_form = api_is_json(r, 0);
	if (json_form) {
		if ((body = api_body_object(r, members, 0)) == NULL)
			return;
		if (api_resource_json_value(r, body, &val, &len, &ct) != 0)
			goto out;
	} else {
		api_content_type(r, ctbuf, sizeof(ctbuf));
		ct = ctbuf[0] != '\0' ? ctbuf : NULL;
		if (ct != NULL && !resource_content_type_ok(ct)) {
			api_problem(r, 400, "BadRequest", "the Content-Type "
			    "must be printable ASCII");
			return;
		}
	}
	if ((rc = resource_put(r->ctx->store, name, json_form ? val :
	    r->http->body, json_form ? len : r->http->body_len, ct, r->id.actor,
	    &meta, &created, &err)) != 0) {
		api_audit(r, "resource.put", name, "error", err.msg);
		api_store_error(r, "storing the resource", rc, &err);
		goto out;
	}
	api_audit(r, "resource.put", name, "ok", NULL);
	api_reply(r, created ? 201 : 200, meta);
out:
	secret_free(val, len);
	json_decref(body);
}

void
api_resource_delete(struct api_req *r)
{
	char name[RESOURCE_NAME_MAX + 8];
	struct error err;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0)
		return;
	rc = resource_delete(r->ctx->store, name, &err);
	if (rc < 0) {
		api_audit(r, "resource.delete", name, "error", err.msg);
		api_store_error(r, "deleting the resource", rc, &err);
	} else if (rc == 1)
		api_problem(r, 404, "NotFound", "resource %s not found", name);
	else {
		api_audit(r, "resource.delete", name, "ok", NULL);
		api_reply(r, 204, NULL);
	}
}

void
api_resource_versions(struct api_req *r)
{
	char name[RESOURCE_NAME_MAX + 8];
	struct error err;
	json_t *items;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0)
		return;
	rc = resource_read_versions(r->ctx->store, name, &items, &err);
	if (rc < 0)
		api_store_error(r, "reading resource versions", rc, &err);
	else if (rc == 1)
		api_problem(r, 404, "NotFound", "resource %s not found", name);
	else
		api_page_reply(r, items, 0, NULL);
}

void
api_resource_restore(struct api_req *r)
{
	static const char *const members[] = { "version", NULL };
	char name[RESOURCE_NAME_MAX + 8], reason[64];
	struct error err;
	json_t *body, *meta = NULL;
	long long version;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	if (api_int_member(r, body, "version", 1, INT32_MAX - 1, &version)
	    != 0) {
		json_decref(body);
		return;
	}
	json_decref(body);
	rc = resource_restore(r->ctx->store, name, (int)version, r->id.actor,
	    &meta, &err);
	snprintf(reason, sizeof(reason), "from version %lld", version);
	if (rc < 0) {
		api_audit(r, "resource.restore", name, "error", err.msg);
		api_store_error(r, "restoring the resource", rc, &err);
	} else if (rc == 1)
		api_problem(r, 404, "NotFound", "resource %s not found", name);
	else if (rc == 2)
		api_problem(r, 404, "NotFound", "resource %s has no kept "
		    "version %lld (the last %d are kept)", name, version,
		    RESOURCE_KEEP);
	else {
		api_audit(r, "resource.restore", name, "ok", reason);
		api_reply(r, 200, meta);
	}
}

/*
 * POST resources/<repo>/<type>/<tag>/generate {"bytes": N, "content_type"?}:
 * a random value of N bytes (API_GENERATE_MIN..MAX, default
 * API_GENERATE_DEFAULT) made here and stored as a new version, e.g. a
 * volume key. It is never in a request or an answer: only attested guests
 * ever receive it (docs/volumes.md).
 */
void
api_resource_generate(struct api_req *r)
{
	static const char *const members[] = { "bytes", "content_type",
	    NULL };
	char name[RESOURCE_NAME_MAX + 8], reason[48];
	const json_t *ct;
	struct error err;
	json_t *body, *meta = NULL;
	long long n = API_GENERATE_DEFAULT;
	uint8_t *val;
	int created = 0;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0 ||
	    (body = api_body_object(r, members, 1)) == NULL)
		return;
	if (json_object_get(body, "bytes") != NULL &&
	    api_int_member(r, body, "bytes", API_GENERATE_MIN,
	    API_GENERATE_MAX, &n) != 0) {
		json_decref(body);
		return;
	}
	ct = json_object_get(body, "content_type");
	if (ct != NULL && (!json_is_string(ct) ||
	    !resource_content_type_ok(json_string_value(ct)))) {
		api_problem(r, 400, "BadRequest", "'content_type' must be a "
		    "string of 1..%d printable ASCII characters",
		    RESOURCE_CT_MAX);
		json_decref(body);
		return;
	}
	if ((val = sodium_malloc((size_t)n)) == NULL) {
		error_set(&err, "no locked memory for %lld bytes", n);
		api_internal(r, "generating the resource", &err);
		json_decref(body);
		return;
	}
	randombytes_buf(val, (size_t)n);
	snprintf(reason, sizeof(reason), "generated, %lld random bytes", n);
	if (resource_put(r->ctx->store, name, val, (size_t)n,
	    ct != NULL ? json_string_value(ct) : NULL, r->id.actor, &meta,
	    &created, &err) != 0) {
		api_audit(r, "resource.generate", name, "error", err.msg);
		api_internal(r, "storing the resource", &err);
	} else {
		api_audit(r, "resource.generate", name, "ok", reason);
		api_reply(r, created ? 201 : 200, meta);
	}
	sodium_free(val);
	json_decref(body);
}

/* POST /api/v1/resources/{r}/{t}/{g}/reveal {"reason"?}: the active value,
 * for role admin only, audited as resource.reveal (with the reason). */
void
api_resource_reveal(struct api_req *r)
{
	static const char *const members[] = { "reason", NULL };
	char name[RESOURCE_NAME_MAX + 8];
	struct error err;
	const json_t *why;
	json_t *body, *meta = NULL, *out, *text;
	uint8_t *val = NULL;
	size_t len = 0;
	char *b64;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    api_resource_name(r, name, sizeof(name)) != 0 ||
	    (body = api_body_object(r, members, 1)) == NULL)
		return;
	why = json_object_get(body, "reason");
	if (why != NULL && (!json_is_string(why) ||
	    json_string_length(why) > 1024)) {
		api_problem(r, 400, "BadRequest", "'reason' is a string of at "
		    "most 1024 bytes");
		json_decref(body);
		return;
	}
	rc = resource_read_meta(r->ctx->store, name, &meta, &err);
	if (rc == 0)
		rc = resource_read_value(r->ctx->store, name, &val, &len, &err);
	if (rc != 0) {
		if (rc > 0)
			api_problem(r, 404, "NotFound", "resource %s not found",
			    name);
		else
			api_internal(r, "reading the resource", &err);
		json_decref(meta);
		json_decref(body);
		return;
	}
	api_audit(r, "resource.reveal", name, "ok", why != NULL ?
	    json_string_value(why) : "");
	b64 = b64_encode(val, len, B64_STD);
	text = memchr(val, '\0', len) == NULL ? json_stringn((const char *)val,
	    len) : NULL;
	out = json_pack("{s:s, s:O, s:s, s:o}", "name", name, "version",
	    json_object_get(meta, "version"), "value_base64", b64, "value",
	    text != NULL ? text : json_null());
	secret_strfree(b64);
	secret_free(val, len);
	json_decref(meta);
	json_decref(body);
	http_response_header(r->resp, "Cache-Control", "no-store");
	api_reply(r, 200, out);
}
