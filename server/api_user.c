/*
 * api_user.c: /api/v1/users (admin only) and /api/v1/account/password
 * (the console user's own password), docs/api.md §7a, on top of users.c.
 * Passwords arrive in JSON bodies and are wiped from the parsed body
 * before it is freed; they never reach a log or the audit trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "api.h"
#include "console.h"

static void
api_user_free_body(json_t *body)
{
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v)
		if (json_is_string(v) && strstr(k, "password") != NULL)
			sodium_memzero((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
	json_decref(body);
}

/* A string member (required): NULL after a 400 reply. */
static const char *
api_user_string(struct api_req *r, const json_t *body, const char *name)
{
	const json_t *v = json_object_get(body, name);

	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v)) {
		api_problem(r, 400, "BadRequest", "member '%s' (a string) is "
		    "required", name);
		return NULL;
	}
	return json_string_value(v);
}

/* The answer to a failed users_* call (console.h's codes). */
static void
api_user_fail(struct api_req *r, int rc, const struct error *err)
{
	if (rc == PASSWORD_BUSY) {
		http_response_header(r->resp, "Retry-After", "1");
		api_problem(r, 503, "Unavailable", "%s", err->msg);
	} else if (rc == 1)
		api_problem(r, 404, "NotFound", "no such user");
	else if (rc == USERS_INVALID)
		api_problem(r, 400, "BadRequest", "%s", err->msg);
	else if (rc == USERS_CONFLICT)
		api_problem(r, 409, "Conflict", "%s", err->msg);
	else
		api_store_error(r, "the user store", rc, err);
}

/* Reply with the user's public view (status). */
static void
api_user_reply(struct api_req *r, int status, const char *name)
{
	struct error err;
	json_t *u;
	int rc = users_get(name, &u, &err);

	if (rc != 0) {
		api_user_fail(r, rc, &err);
		return;
	}
	api_reply(r, status, u);
}

void
api_users_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", NULL };
	struct error err;
	json_t *items;
	size_t limit, bad;
	char *after = NULL, last[USERS_NAME_MAX + 1] = "";
	int more, rc;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &after) != 0)
		return;
	rc = users_list(after, limit, &items, &more, &bad, &err);
	free(after);
	if (rc != 0) {
		api_store_error(r, "listing users", rc, &err);
		return;
	}
	if (bad > 0)
		log_warnx("api: listing users: %zu row%s failed authentication "
		    "and were skipped (`trusteectl store check` names them)",
		    bad, bad == 1 ? "" : "s");
	if (json_array_size(items) > 0)
		snprintf(last, sizeof(last), "%s", json_string_value(
		    json_object_get(json_array_get(items,
		    json_array_size(items) - 1), "name")));
	api_page_reply(r, items, more, last);
}

void
api_user_add(struct api_req *r)
{
	static const char *const members[] = { "name", "role", "password",
	    NULL };
	const char *name, *role, *pw;
	struct error err;
	json_t *body;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	if ((name = api_user_string(r, body, "name")) == NULL ||
	    (role = api_user_string(r, body, "role")) == NULL ||
	    (pw = api_user_string(r, body, "password")) == NULL)
		goto out;
	rc = users_add(name, role, pw, strlen(pw), r->id.actor, &err);
	if (rc == 1) {
		api_problem(r, 409, "Conflict", "user '%s' exists", name);
		goto out;
	}
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		goto out;
	}
	api_audit(r, "user.add", name, "ok", role);
	api_user_reply(r, 201, name);
out:
	api_user_free_body(body);
}

void
api_user_get(struct api_req *r)
{
	if (api_query_only(r, NULL) != 0)
		return;
	api_user_reply(r, 200, r->param[0]);
}

void
api_user_delete(struct api_req *r)
{
	struct error err;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	rc = users_delete(r->param[0], &err);
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		return;
	}
	if (consess_delete_user(r->param[0], &err) < 0)
		log_warnx("api: ending the sessions of a deleted user: %s",
		    err.msg);
	loginguard_reset_user(r->param[0]);
	api_audit(r, "user.delete", r->param[0], "ok", "");
	api_reply(r, 204, NULL);
}

void
api_user_password(struct api_req *r)
{
	static const char *const members[] = { "password", NULL };
	struct error err;
	const char *pw;
	json_t *body;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	if ((pw = api_user_string(r, body, "password")) == NULL)
		goto out;
	rc = users_set_password(r->param[0], pw, strlen(pw), r->id.actor,
	    &err);
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		goto out;
	}
	if (consess_delete_user(r->param[0], &err) < 0)
		log_warnx("api: ending sessions after a password change: %s",
		    err.msg);
	loginguard_reset_user(r->param[0]);
	api_audit(r, "user.password", r->param[0], "ok", "");
	api_user_reply(r, 200, r->param[0]);
out:
	api_user_free_body(body);
}

void
api_user_role(struct api_req *r)
{
	static const char *const members[] = { "role", NULL };
	struct error err;
	const char *role;
	json_t *body;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    (body = api_body_object(r, members, 0)) == NULL)
		return;
	if ((role = api_user_string(r, body, "role")) == NULL)
		goto out;
	rc = users_set_role(r->param[0], role, r->id.actor, &err);
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		goto out;
	}
	api_audit(r, "user.role", r->param[0], "ok", role);
	api_user_reply(r, 200, r->param[0]);
out:
	json_decref(body);
}

static void
api_user_able(struct api_req *r, int disabled)
{
	struct error err;
	json_t *body;
	int rc;

	if (api_query_only(r, NULL) != 0 ||
	    (body = api_body_object(r, (const char *const[]){ NULL }, 1)) ==
	    NULL)
		return;
	json_decref(body);
	rc = users_set_disabled(r->param[0], disabled, r->id.actor, &err);
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		return;
	}
	if (disabled && consess_delete_user(r->param[0], &err) < 0)
		log_warnx("api: ending the sessions of a disabled user: %s",
		    err.msg);
	if (!disabled)
		loginguard_reset_user(r->param[0]);
	api_audit(r, disabled ? "user.disable" : "user.enable", r->param[0],
	    "ok", "");
	api_user_reply(r, 200, r->param[0]);
}

void
api_user_disable(struct api_req *r)
{
	api_user_able(r, 1);
}

void
api_user_enable(struct api_req *r)
{
	api_user_able(r, 0);
}

/* POST /api/v1/account/password {"current","password"}: a console user
 * changes their own password; every session of theirs ends. */
void
api_account_password(struct api_req *r)
{
	static const char *const members[] = { "current_password",
	    "password", NULL };
	char role[USERS_ROLE_MAX];
	const char *cur, *pw;
	struct error err;
	json_t *body;
	int64_t pwgen;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	if (!r->console) {
		api_problem(r, 400, "BadRequest", "only a console user has a "
		    "password: admin keys have none");
		return;
	}
	if ((body = api_body_object(r, members, 0)) == NULL)
		return;
	if ((cur = api_user_string(r, body, "current_password")) == NULL ||
	    (pw = api_user_string(r, body, "password")) == NULL)
		goto out;
	rc = users_authenticate(r->id.sub, cur, strlen(cur), role, &pwgen,
	    &err);
	if (rc == 1) {
		api_audit(r, "account.password", r->id.sub, "denied",
		    "wrong current password");
		api_problem(r, 403, "Forbidden", "the current password is "
		    "wrong");
		goto out;
	}
	if (rc == 0)
		rc = users_set_password(r->id.sub, pw, strlen(pw), r->id.actor,
		    &err);
	if (rc != 0) {
		api_user_fail(r, rc, &err);
		goto out;
	}
	if (consess_delete_user(r->id.sub, &err) < 0)
		log_warnx("api: ending sessions after a password change: %s",
		    err.msg);
	api_audit(r, "account.password", r->id.sub, "ok", "");
	api_reply(r, 204, NULL);
out:
	api_user_free_body(body);
}
