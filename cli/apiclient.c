/*
 * apiclient.c: one request to trusteed's JSON admin API (/api/v1/...) and
 * the mapping of its outcome onto trusteectl's exit codes.
 *
 * Contract (shared by every admin command):
 *  - EXIT_OK     a 2xx answer; the parsed JSON body (if any) is returned.
 *  - EXIT_FAIL   the server answered and said no (4xx other than 401,
 *                5xx): the problem's type, detail and any extra members
 *                are printed as "trusteectl: METHOD PATH: STATUS Type:
 *                detail".
 *  - EXIT_CONN   the server could not be reached (connection, TLS,
 *                timeout) or did not accept our credentials (401).
 *  - EXIT_USAGE  no admin key was given for a request that needs one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/admintoken.h"
#include "../lib/httpc.h"
#include "trusteectl.h"

/* Problem members already shown in the first line. */
static const char *const problem_core[] = {
	"type", "title", "status", "detail", "instance"
};

static int
is_core_member(const char *k)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(problem_core); i++)
		if (strcmp(problem_core[i], k) == 0)
			return 1;
	return 0;
}

/*
 * Print the refusal in resp for "what": the problem detail (RFC 9457
 * {type,title,status,detail,...} or the KBS {type,detail}), then every
 * extra member as "  key: value" (e.g. the line of a policy compile
 * error), or the raw body when it is not a JSON object.
 */
static void
print_problem(const char *what, const struct httpc_response *resp,
    const json_t *body)
{
	const char *type, *detail, *slash, *k;
	char *t, *d, *raw;
	json_t *v;

	type = json_string_value(json_object_get(body, "type"));
	detail = json_string_value(json_object_get(body, "detail"));
	if (detail == NULL)
		detail = json_string_value(json_object_get(body, "title"));
	if (detail == NULL)
		detail = json_string_value(json_object_get(body, "error"));
	if (detail == NULL) {
		raw = output_sanitize(resp->body.len > 0 ?
		    (const char *)resp->body.data : "(empty body)", 400);
		ctl_fail("%s: %d: %s", what, resp->status, raw);
		free(raw);
		return;
	}
	if (type != NULL && (slash = strrchr(type, '/')) != NULL)
		type = slash + 1;
	t = output_sanitize(type, 100);
	d = output_sanitize(detail, 0);
	if (type != NULL && *type != '\0' && strcmp(type, "about:blank") != 0)
		ctl_fail("%s: %d %s: %s", what, resp->status, t, d);
	else
		ctl_fail("%s: %d: %s", what, resp->status, d);
	free(t);
	free(d);
	json_object_foreach((json_t *)body, k, v) {
		char *key, *val;

		if (is_core_member(k))
			continue;
		key = output_sanitize(k, 40);
		val = output_cell(v);
		if (json_is_array(v) || json_is_object(v)) {
			char *full = json_dumps(v, JSON_COMPACT);

			free(val);
			val = output_sanitize(full != NULL ? full : "?", 0);
			free(full);
		}
		fprintf(stderr, "  %s: %s\n", key, val);
		free(key);
		free(val);
	}
}

static int
status_exit(int status)
{
	if (status >= 200 && status < 300)
		return EXIT_OK;
	if (status == 401)
		return EXIT_CONN;
	return EXIT_FAIL;
}

char *
apiclient_escape(const char *s)
{
	struct buf b = { 0 };
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~')
			buf_add(&b, p, 1);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	return b.len ? buf_cstr(&b) : xstrdup("");
}

void
apiclient_query_add(struct buf *b, const char *name, const char *value)
{
	char *esc;

	if (value == NULL)
		return;
	esc = apiclient_escape(value);
	buf_printf(b, "&%s=%s", name, esc);
	free(esc);
}

int
apiclient_call(struct ctx *ctx, const char *method, const char *path,
    int flags, const char *ctype, const void *body, size_t len,
    json_t **out)
{
	struct httpc_response resp = { 0 };
	struct error err = { "" };
	const char *hdrs[4] = { NULL, NULL, NULL, NULL };
	char *auth = NULL, *ct = NULL, *what;
	json_t *j = NULL;
	struct httpc *c;
	int n = 0, rc;

	if (out != NULL)
		*out = NULL;
	if ((flags & API_AUTH) && ctx->admin_key == NULL)
		return ctl_usage(ctx, "an admin key is needed: give "
		    "--admin-key FILE (before the command) or set "
		    "TRUSTEE_ADMIN_KEY");
	if ((c = ctx_http(ctx)) == NULL)
		return ctx->http_rc;
	if (flags & API_AUTH) {
		char *jwt = admintoken_make(ctx->admin_key, ctx->role,
		    ADMIN_TOKEN_TTL, &err);

		if (jwt == NULL)
			return ctl_fail("%s", err.msg);
		auth = xasprintf("Authorization: Bearer %s", jwt);
		secret_strfree(jwt);
		hdrs[n++] = auth;
	}
	if (body != NULL) {
		ct = xasprintf("Content-Type: %s", ctype != NULL ? ctype :
		    "application/json");
		hdrs[n++] = ct;
	}
	hdrs[n++] = "Accept: application/json";
	what = xasprintf("%s %s", method, path);
	if (httpc_request(c, method, path, hdrs, body, len, &resp,
	    &err) == -1) {
		rc = EXIT_CONN;
		ctl_fail("%s: %s", what, err.msg);
		goto out;
	}
	if (resp.body.len > 0)
		j = json_loadb((const char *)resp.body.data, resp.body.len,
		    JSON_DECODE_ANY, NULL);
	rc = status_exit(resp.status);
	if (resp.status == 503 && (flags & API_ACCEPT_503) && j != NULL)
		rc = EXIT_OK;
	if (rc != EXIT_OK) {
		print_problem(what, &resp, j);
		/* The body still reaches a caller that asked for it (status
		 * reports a 503 health document). */
		if ((flags & API_KEEP_ERROR_BODY) && out != NULL && j != NULL) {
			*out = j;
			j = NULL;
		}
		goto out;
	}
	if (resp.body.len > 0 && j == NULL && (flags & API_RAW) == 0) {
		rc = ctl_fail("%s: %d answer is not JSON", what, resp.status);
		goto out;
	}
	if (out != NULL) {
		if ((flags & API_RAW) && j == NULL)
			j = json_stringn((const char *)resp.body.data,
			    resp.body.len);
		*out = j;
		j = NULL;
	}
out:
	json_decref(j);
	httpc_response_clear(&resp);
	secret_strfree(auth);
	free(ct);
	free(what);
	return rc;
}

int
apiclient_json(struct ctx *ctx, const char *method, const char *path,
    const json_t *body, json_t **out)
{
	char *txt = NULL;
	int rc;

	if (body != NULL && (txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return ctl_fail("cannot encode the request body");
	rc = apiclient_call(ctx, method, path, API_AUTH, NULL, txt,
	    txt != NULL ? strlen(txt) : 0, out);
	free(txt);
	return rc;
}

int
apiclient_list(struct ctx *ctx, const char *path, json_t **items)
{
	json_t *all = json_array(), *page = NULL;
	char *cursor = NULL, *uri;
	int rc = EXIT_OK, pages;

	*items = NULL;
	for (pages = 0; pages < API_MAX_PAGES; pages++) {
		const json_t *next;

		if (cursor != NULL)
			uri = xasprintf("%s%scursor=%s", path,
			    strchr(path, '?') != NULL ? "&" : "?", cursor);
		else
			uri = xstrdup(path);
		rc = apiclient_json(ctx, "GET", uri, NULL, &page);
		free(uri);
		free(cursor);
		cursor = NULL;
		if (rc != EXIT_OK)
			break;
		if (!json_is_array(json_object_get(page, "items"))) {
			rc = ctl_fail("GET %s: answer has no \"items\" array",
			    path);
			break;
		}
		json_array_extend(all, json_object_get(page, "items"));
		next = json_object_get(page, "next_cursor");
		if (json_is_string(next) && json_string_length(next) > 0)
			cursor = apiclient_escape(json_string_value(next));
		json_decref(page);
		page = NULL;
		if (cursor == NULL)
			break;
	}
	if (rc == EXIT_OK && cursor != NULL)
		rc = ctl_fail("GET %s: more than %d pages; narrow the query",
		    path, API_MAX_PAGES);
	free(cursor);
	json_decref(page);
	if (rc != EXIT_OK) {
		json_decref(all);
		return rc;
	}
	*items = all;
	return EXIT_OK;
}

int
apiclient_print_list(const json_t *items)
{
	json_t *doc = json_pack("{s:O, s:n}", "items", items, "next_cursor");
	int rc = output_json(doc);

	json_decref(doc);
	return rc;
}

int
apiclient_show_list(struct ctx *ctx, const char *path,
    const struct output_column *cols, size_t ncols, const char *empty)
{
	json_t *items = NULL;
	int rc;

	if ((rc = apiclient_list(ctx, path, &items)) != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = apiclient_print_list(items);
	else
		output_items(items, cols, ncols, empty);
	json_decref(items);
	return rc;
}

int
apiclient_show(struct ctx *ctx, const char *method, const char *path,
    const void *body, size_t len, void (*print)(const json_t *answer))
{
	json_t *answer = NULL;
	int rc;

	if ((rc = apiclient_call(ctx, method, path, API_AUTH, NULL, body, len,
	    &answer)) != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(answer);
	else
		print(answer);
	json_decref(answer);
	return rc;
}
