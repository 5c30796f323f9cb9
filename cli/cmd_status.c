/*
 * cmd_status.c: trusteectl status, the server's health in one screen.
 * With an admin key: GET /api/v1/health (docs/api.md §7), one line per
 * component; without one: the unauthenticated liveness probe /healthz.
 * Exit 0 only when the server is healthy, 1 when it answers but is
 * degraded, 3 when it cannot be reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trusteectl.h"

/* "sqlite", "mode bearer_jwt", "tees: sample, snp", warnings, errors. */
static char *
component_detail(const json_t *c)
{
	struct buf b = { 0 };
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)c, k, v) {
		char *cell;

		if (strcmp(k, "ok") == 0)
			continue;
		if (b.len > 0)
			buf_addstr(&b, "; ");
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			buf_printf(&b, "%s: ", k);
			json_array_foreach(v, i, e) {
				cell = json_is_string(e) ? output_sanitize(
				    json_string_value(e), 0) : output_cell(e);
				buf_printf(&b, "%s%s", i ? ", " : "", cell);
				free(cell);
			}
			continue;
		}
		cell = json_is_string(v) ? output_sanitize(json_string_value(v),
		    0) : output_cell(v);
		if (strcmp(k, "type") == 0)
			buf_addstr(&b, cell);
		else
			buf_printf(&b, "%s: %s", k, cell);
		free(cell);
	}
	return b.len ? buf_cstr(&b) : xstrdup("");
}

static int
status_liveness(struct ctx *ctx)
{
	json_t *res = NULL;
	int rc;

	rc = apiclient_call(ctx, "GET", "/healthz", API_RAW, NULL, NULL, 0,
	    &res);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:O}", "status", "ok", "healthz",
		    res);

		rc = output_json(o);
		json_decref(o);
	} else
		printf("status:      ok (liveness only: give --admin-key for "
		    "the components)\n");
	json_decref(res);
	return rc;
}

int
cmd_status(struct ctx *ctx, int argc, char **argv)
{
	json_t *h = NULL, *comps, *c;
	const char *status, *name;
	struct table *t;
	int rc, healthy;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (ctx->admin_key == NULL)
		return status_liveness(ctx);
	rc = apiclient_call(ctx, "GET", "/api/v1/health", API_AUTH |
	    API_ACCEPT_503, NULL, NULL, 0, &h);
	if (rc != EXIT_OK)
		return rc;
	status = json_string_value(json_object_get(h, "status"));
	healthy = status != NULL && strcmp(status, "ok") == 0;
	comps = json_object_get(h, "components");
	if (ctx->json)
		output_json(h);
	else {
		output_kv("status", status != NULL ? status : "(missing)");
		output_kv_json("version", json_object_get(h, "version"));
		t = table_new(3, "COMPONENT", "OK", "DETAIL");
		json_object_foreach(comps, name, c) {
			char *d = component_detail(c);

			table_add_whole(t, name, json_is_true(json_object_get(c,
			    "ok")) ? "yes" : "NO", d);
			free(d);
		}
		table_print(t, stdout);
		table_free(t);
	}
	json_object_foreach(comps, name, c)
		if (!json_is_true(json_object_get(c, "ok")))
			healthy = 0;
	if (!healthy) {
		char *s = output_sanitize(status, 40);

		rc = ctl_fail("server is not healthy (status %s)", s);
		free(s);
	}
	json_decref(h);
	return rc;
}
