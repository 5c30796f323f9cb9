/*
 * api_store.c: the data keys and the store's integrity (docs/api.md §7):
 *   GET    /api/v1/keys                  data-key versions, rows per
 *                                        version, rotation progress,
 *                                        instances and their heartbeats
 *   POST   /api/v1/keys/rotate           start a rotation (202)
 *   POST   /api/v1/keys/export           the master key wrapped to a join
 *                                        request's key (a join file)
 *   POST   /api/v1/store/check           authenticate every row
 *   DELETE /api/v1/store/rows/{table}/{id}  delete a row by id (repair)
 * No handler returns key material in clear: export answers the join file,
 * which only the requesting instance can open.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "api.h"

#define API_CHECK_PROBLEMS_MAX 1000

static json_t *
api_key_status_json(const struct store_key_status *ks)
{
	json_t *vers = json_array(), *inst = json_array();
	size_t i;

	for (i = 0; i < ks->nversions; i++)
		json_array_append_new(vers, json_pack("{s:I, s:I}", "version",
		    (json_int_t)ks->versions[i].version, "rows",
		    (json_int_t)ks->versions[i].rows));
	for (i = 0; i < ks->ninstances; i++)
		json_array_append_new(inst, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:I, s:b, s:b}", "id", ks->instances[i].id, "sealer",
		    ks->instances[i].sealer, "created",
		    (json_int_t)ks->instances[i].created, "last_seen",
		    (json_int_t)ks->instances[i].last_seen, "loaded_version",
		    (json_int_t)ks->instances[i].loaded, "live",
		    ks->instances[i].live, "self", ks->instances[i].self));
	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:I, s:o}",
	    "current_version", (json_int_t)ks->current, "oldest_version",
	    (json_int_t)ks->oldest, "state", ks->state, "detail", ks->detail,
	    "versions", vers, "unreadable_rows", (json_int_t)ks->unreadable,
	    "instances", inst);
}

void
api_keys_status(struct api_req *r)
{
	struct store_key_status ks;
	struct error err;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	rc = store_key_status(r->ctx->store, &ks, &err);
	if (rc != 0) {
		api_store_error(r, "reading the key status", rc, &err);
		return;
	}
	api_reply(r, 200, api_key_status_json(&ks));
}

void
api_keys_rotate(struct api_req *r)
{
	struct store_key_status ks;
	struct error err;
	uint32_t v;
	char target[32];
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	rc = store_rotate(r->ctx->store, &v, &err);
	if (rc == STORE_ERROR && strstr(err.msg, "in progress") != NULL) {
		api_audit(r, "key.rotate", "", "denied", err.msg);
		api_problem(r, 409, "Conflict", "%s", err.msg);
		return;
	}
	if (rc != 0) {
		api_audit(r, "key.rotate", "", "error", err.msg);
		api_store_error(r, "rotating the data key", rc, &err);
		return;
	}
	snprintf(target, sizeof(target), "version %" PRIu32, v);
	api_audit(r, "key.rotate", target, "ok", NULL);
	if (store_key_status(r->ctx->store, &ks, &err) != 0) {
		api_reply(r, 202, json_pack("{s:I}", "current_version",
		    (json_int_t)v));
		return;
	}
	api_reply(r, 202, api_key_status_json(&ks));
}

void
api_keys_export(struct api_req *r)
{
	struct error err;
	char *out = NULL;
	json_t *j;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	if (!api_is_json(r, 1)) {
		api_problem(r, 415, "UnsupportedMediaType", "send the join "
		    "request (JSON) as the body");
		return;
	}
	rc = store_join_export(r->ctx->store, r->http->body,
	    r->http->body_len, &out, &err);
	if (rc == STORE_ERROR && strncmp(err.msg, "join request", 12) == 0) {
		api_problem(r, 400, "BadRequest", "%s", err.msg);
		return;
	}
	if (rc != 0) {
		api_audit(r, "key.export", "", "error", err.msg);
		api_store_error(r, "exporting the master key", rc, &err);
		return;
	}
	j = json_loads(out, 0, NULL);
	secret_strfree(out);
	api_audit(r, "key.export", json_string_value(json_object_get(j,
	    "instance")), "ok", "master key wrapped to the instance's join "
	    "key");
	api_reply(r, 200, j);
}

struct api_check {
	json_t *problems;
	uint64_t n;
};

static void
api_check_bad(const char *table, const char *id_hex, const char *reason,
    void *arg)
{
	struct api_check *c = arg;

	if (c->n++ < API_CHECK_PROBLEMS_MAX)
		json_array_append_new(c->problems, json_pack("{s:s, s:s, s:s}",
		    "table", table, "row", id_hex, "detail", reason));
}

void
api_store_check(struct api_req *r)
{
	struct api_check c = { json_array(), 0 };
	struct error err;
	uint64_t rows = 0, bad = 0;
	char reason[64];
	int rc;

	if (api_query_only(r, NULL) != 0) {
		json_decref(c.problems);
		return;
	}
	rc = store_check(r->ctx->store, api_check_bad, &c, &rows, &bad, &err);
	if (rc != 0) {
		json_decref(c.problems);
		api_store_error(r, "checking the store", rc, &err);
		return;
	}
	snprintf(reason, sizeof(reason), "%" PRIu64 " rows, %" PRIu64 " bad",
	    rows, bad);
	api_audit(r, "store.check", "", bad == 0 ? "ok" : "problems", reason);
	api_reply(r, 200, json_pack("{s:I, s:I, s:o, s:b}", "rows",
	    (json_int_t)rows, "bad_rows", (json_int_t)bad, "problems",
	    c.problems, "truncated", bad > API_CHECK_PROBLEMS_MAX));
}

void
api_store_row_delete(struct api_req *r)
{
	struct error err;
	char target[STORE_ID_HEX_LEN + 40];
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	snprintf(target, sizeof(target), "%.32s/%.64s", r->param[0],
	    r->param[1]);
	rc = store_delete_id(r->ctx->store, r->param[0], r->param[1], &err);
	if (rc == STORE_ERROR && strncmp(err.msg, "store: ", 7) == 0) {
		api_problem(r, 400, "BadRequest", "%s", err.msg + 7);
		return;
	}
	if (rc < 0) {
		api_audit(r, "store.delete_row", target, "error", err.msg);
		api_store_error(r, "deleting the row", rc, &err);
	} else if (rc == STORE_ABSENT)
		api_problem(r, 404, "NotFound", "no row %s", target);
	else {
		api_audit(r, "store.delete_row", target, "ok", NULL);
		api_reply(r, 204, NULL);
	}
}
