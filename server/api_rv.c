/*
 * api_rv.c: /api/v1/reference-values (docs/api.md §6), on top of the
 * RVPS interface (rvps/rvps.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "api.h"

/* The decoded name segment: 1..RVPS_NAME_MAX bytes, UTF-8, no control
 * characters. -1 after a 400 reply. */
static int
api_rv_name(struct api_req *r, const char **name)
{
	const char *n = r->param[0];
	size_t len = strlen(n), i;
	json_t *probe;

	*name = n;
	for (i = 0; i < len; i++)
		if ((unsigned char)n[i] < 0x20 || n[i] == 0x7f)
			break;
	probe = len > 0 && len <= RVPS_NAME_MAX && i == len ?
	    json_stringn(n, len) : NULL;
	if (probe == NULL) {
		api_problem(r, 400, "BadRequest", "invalid reference value "
		    "name: 1..%d bytes of UTF-8 without control characters "
		    "(percent-encode it in the path)", RVPS_NAME_MAX);
		return -1;
	}
	json_decref(probe);
	return 0;
}

static const char *
api_rv_key(const json_t *it, char *buf, size_t cap)
{
	const char *n = json_string_value(json_object_get(it, "name"));

	(void)buf;
	(void)cap;
	return n != NULL ? n : "";
}

void
api_rv_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", "state", NULL };
	const char *state = api_query(r, "state");
	struct error err;
	json_t *all = NULL, *sel, *it;
	size_t limit, i;
	char *after = NULL;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &after) != 0)
		return;
	if (state != NULL && strcmp(state, "valid") != 0 &&
	    strcmp(state, "expired") != 0 && strcmp(state, "revoked") != 0) {
		free(after);
		api_problem(r, 400, "BadRequest", "state must be valid, "
		    "expired or revoked");
		return;
	}
	if (rvps_list(now_unix(), &all, &err) != 0 || !json_is_array(all)) {
		free(after);
		json_decref(all);
		api_internal(r, "listing reference values", &err);
		return;
	}
	sel = json_array();
	json_array_foreach(all, i, it) {
		const char *s = json_string_value(json_object_get(it,
		    "state"));

		if (state == NULL || (s != NULL && strcmp(s, state) == 0))
			json_array_append(sel, it);
	}
	api_page_array(r, sel, api_rv_key, limit, after);
	json_decref(sel);
	json_decref(all);
	free(after);
}

void
api_rv_import(struct api_req *r)
{
	struct error err;
	json_t *names = NULL;

	if (api_query_only(r, NULL) != 0)
		return;
	if (!api_is_json(r, 1)) {
		api_problem(r, 415, "UnsupportedMediaType", "the RVPS envelope "
		    "is JSON (Content-Type: application/json)");
		return;
	}
	if (rvps_register((const char *)r->http->body, r->http->body_len,
	    r->id.actor, &names, &err) != 0) {
		api_audit(r, "rv.import", "", "error", err.msg);
		api_problem(r, 400, "ReferenceValueInvalid", "%s", err.msg);
		return;
	}
	if (names == NULL)
		names = json_array();
	api_audit(r, "rv.import", "", "ok", NULL);
	api_reply(r, 200, json_pack("{s:o}", "names", names));
}

void
api_rv_get(struct api_req *r)
{
	const char *name;
	struct error err;
	json_t *rec = NULL;
	char esc[80];
	int rc;

	if (api_query_only(r, NULL) != 0 || api_rv_name(r, &name) != 0)
		return;
	rc = rvps_get(name, now_unix(), &rec, &err);
	if (rc < 0)
		api_internal(r, "reading the reference value", &err);
	else if (rc == 1)
		api_problem(r, 404, "NotFound", "reference value '%s' not "
		    "found", log_escape(name, esc, sizeof(esc)));
	else
		api_reply(r, 200, rec);
}

void
api_rv_put(struct api_req *r)
{
	static const char *const members[] = { "value", "expiration", NULL };
	const char *name, *exps;
	struct error err;
	json_t *body, *rec = NULL, *old = NULL;
	int64_t exp = 0;
	int existed;

	if (api_query_only(r, NULL) != 0 || api_rv_name(r, &name) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	if (json_object_get(body, "value") == NULL) {
		api_problem(r, 400, "BadRequest", "member 'value' (any JSON) "
		    "is required");
		goto out;
	}
	if (json_object_get(body, "expiration") != NULL) {
		exps = json_string_value(json_object_get(body, "expiration"));
		if (exps == NULL || time_parse_rfc3339(exps, &exp) != 0) {
			api_problem(r, 400, "BadRequest", "'expiration' must "
			    "be an RFC 3339 time such as "
			    "2026-01-31T00:00:00Z");
			goto out;
		}
		if (exp <= now_unix()) {
			api_problem(r, 400, "ReferenceValueInvalid",
			    "'expiration' is in the past");
			goto out;
		}
	}
	existed = rvps_get(name, now_unix(), &old, &err) == 0;
	json_decref(old);
	if (rvps_add(name, json_object_get(body, "value"), exp, r->id.actor,
	    &rec, &err) != 0) {
		api_audit(r, "rv.put", name, "error", err.msg);
		api_problem(r, 400, "ReferenceValueInvalid", "%s", err.msg);
		goto out;
	}
	api_audit(r, "rv.put", name, "ok", NULL);
	if (rec == NULL && rvps_get(name, now_unix(), &rec, &err) != 0)
		rec = json_object();
	api_reply(r, existed ? 200 : 201, rec);
out:
	json_decref(body);
}

void
api_rv_revoke(struct api_req *r)
{
	static const char *const members[] = { "reason", NULL };
	const char *name, *reason = "";
	struct error err;
	json_t *body, *rec = NULL;
	char esc[80];
	int rc;

	if (api_query_only(r, NULL) != 0 || api_rv_name(r, &name) != 0 ||
	    (body = api_body_object(r, members, 1)) == NULL)
		return;
	if (json_object_get(body, "reason") != NULL) {
		reason = json_string_value(json_object_get(body, "reason"));
		if (reason == NULL || strlen(reason) > 1024) {
			api_problem(r, 400, "BadRequest", "'reason' must be a "
			    "string of at most 1024 bytes");
			goto out;
		}
	}
	rc = rvps_revoke(name, r->id.actor, reason, &err);
	if (rc < 0) {
		api_audit(r, "rv.revoke", name, "error", err.msg);
		api_internal(r, "revoking the reference value", &err);
	} else if (rc == 1)
		api_problem(r, 404, "NotFound", "reference value '%s' not "
		    "found", log_escape(name, esc, sizeof(esc)));
	else {
		api_audit(r, "rv.revoke", name, "ok", reason);
		if (rvps_get(name, now_unix(), &rec, &err) != 0)
			rec = json_object();
		api_reply(r, 200, rec);
	}
out:
	json_decref(body);
}
