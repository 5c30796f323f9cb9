/*
 * cmd_key.c: trusteectl key status|rotate|export and store
 * check|delete-row, over /api/v1/keys and /api/v1/store (docs/api.md §7):
 * data-key versions and rotation progress, joining a new instance, and
 * the store's integrity scan.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "trusteectl.h"

#define JOIN_REQUEST_MAX	(16u * 1024)
#define WAIT_POLL_US		500000

static void
key_status_print(const json_t *ks)
{
	static const struct output_column fields[] = {
		{ "current version", "current_version" },
		{ "oldest version", "oldest_version" },
		{ "state", "state" },
	}, vcols[] = {
		{ "VERSION", "version" }, { "ROWS", "rows" },
	}, icols[] = {
		{ "INSTANCE", "id" }, { "SEALER", "sealer" },
		{ "LOADED", "loaded_version" }, { "LIVE", "live" },
		{ "SELF", "self" },
	};
	const char *detail = json_string_value(json_object_get(ks, "detail"));

	output_kv_members(ks, fields, ARRAY_SIZE(fields));
	if (detail != NULL && detail[0] != '\0')
		output_kv("detail", detail);
	if (json_integer_value(json_object_get(ks, "unreadable_rows")) > 0)
		output_kv_json("unreadable rows", json_object_get(ks,
		    "unreadable_rows"));
	printf("\n");
	output_items(json_object_get(ks, "versions"), vcols,
	    ARRAY_SIZE(vcols), "no rows");
	printf("\n");
	output_items(json_object_get(ks, "instances"), icols,
	    ARRAY_SIZE(icols), "no instances");
}

int
cmd_key_status(struct ctx *ctx, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	return apiclient_show(ctx, "GET", "/api/v1/keys", NULL, 0,
	    key_status_print);
}

/* --wait: poll until the rotation is done, printing progress lines. */
static int
key_wait(struct ctx *ctx)
{
	json_t *ks = NULL, *v;
	size_t i;
	int rc;

	for (;;) {
		rc = apiclient_call(ctx, "GET", "/api/v1/keys", API_AUTH, NULL,
		    NULL, 0, &ks);
		if (rc != EXIT_OK)
			return rc;
		if (!ctx->json) {
			printf("%s:", json_string_value(json_object_get(ks,
			    "state")));
			json_array_foreach(json_object_get(ks, "versions"), i,
			    v)
				printf(" v%" JSON_INTEGER_FORMAT "=%"
				    JSON_INTEGER_FORMAT, json_integer_value(
				    json_object_get(v, "version")),
				    json_integer_value(json_object_get(v,
				    "rows")));
			printf("\n");
			fflush(stdout);
		}
		if (strcmp(json_string_value(json_object_get(ks, "state")),
		    "idle") == 0)
			break;
		json_decref(ks);
		ks = NULL;
		usleep(WAIT_POLL_US);
	}
	if (ctx->json)
		output_json(ks);
	json_decref(ks);
	return EXIT_OK;
}

int
cmd_key_rotate(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		CTL_OPTS_END_JSON
	};
	int ch, rc, wait = 0;

	while ((ch = ctl_getopt(ctx, argc, argv, ":wjh", opts, &rc)) > 0)
		wait = 1;	/* 'w' */
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (!wait)
		return apiclient_show(ctx, "POST", "/api/v1/keys/rotate", "{}",
		    2, key_status_print);
	rc = apiclient_call(ctx, "POST", "/api/v1/keys/rotate", API_AUTH,
	    NULL, "{}", 2, NULL);
	if (rc != EXIT_OK)
		return rc;
	return key_wait(ctx);
}

int
cmd_key_export(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		CTL_OPTS_END
	};
	const char *req = NULL, *out = NULL;
	struct error err = { "" };
	uint8_t *text = NULL;
	json_t *ans = NULL;
	char *s;
	size_t len;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":f:o:h", opts, &rc)) > 0) {
		if (ch == 'f')
			req = optarg;
		else
			out = optarg;
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (req == NULL)
		return ctl_usage(ctx, "--for FILE (the join request written by "
		    "`trusteed --join-request FILE`) is required");
	if (ctl_read_input(req, JOIN_REQUEST_MAX, &text, &len, &err) == -1)
		return ctl_fail("%s", err.msg);
	rc = apiclient_call(ctx, "POST", "/api/v1/keys/export", API_AUTH,
	    NULL, text, len, &ans);
	free(text);
	if (rc != EXIT_OK)
		return rc;
	s = json_dumps(ans, JSON_INDENT(2));
	json_decref(ans);
	if (s == NULL)
		return ctl_fail("cannot encode the join file");
	/* Not a secret in clear (it opens only with the joining instance's
	 * key), but there is no reason to let others read it either. */
	if (ctl_write_secret(out, s, strlen(s), &err) == -1) {
		free(s);
		return ctl_fail("%s", err.msg);
	}
	if (out == NULL)
		printf("\n");
	else
		fprintf(stderr, "join file written to %s: run `trusteed --join "
		    "%s` on the new instance\n", out, out);
	free(s);
	return EXIT_OK;
}

static void
store_check_print(const json_t *c)
{
	static const struct output_column cols[] = {
		{ "TABLE", "table" }, { "ROW", "row" }, { "PROBLEM", "detail" },
	};

	output_kv_json("rows", json_object_get(c, "rows"));
	output_kv_json("bad rows", json_object_get(c, "bad_rows"));
	if (json_array_size(json_object_get(c, "problems")) > 0) {
		printf("\n");
		output_items(json_object_get(c, "problems"), cols,
		    ARRAY_SIZE(cols), NULL);
	}
}

int
cmd_store_check(struct ctx *ctx, int argc, char **argv)
{
	json_t *ans = NULL;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	rc = apiclient_call(ctx, "POST", "/api/v1/store/check", API_AUTH, NULL,
	    "{}", 2, &ans);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		output_json(ans);
	else
		store_check_print(ans);
	if (json_integer_value(json_object_get(ans, "bad_rows")) > 0)
		rc = ctl_fail("%" JSON_INTEGER_FORMAT " row(s) fail their "
		    "integrity check", json_integer_value(json_object_get(ans,
		    "bad_rows")));
	json_decref(ans);
	return rc;
}

int
cmd_store_delete_row(struct ctx *ctx, int argc, char **argv)
{
	const char *args[2], *table, *id;
	char *path, *t, *i;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 2, args, "TABLE ROW-ID")) !=
	    -1)
		return rc;
	table = args[0];
	id = args[1];
	t = apiclient_escape(table);
	i = apiclient_escape(id);
	path = xasprintf("/api/v1/store/rows/%s/%s", t, i);
	free(t);
	free(i);
	rc = apiclient_call(ctx, "DELETE", path, API_AUTH, NULL, NULL, 0,
	    NULL);
	free(path);
	if (rc == EXIT_OK && !ctx->json)
		printf("deleted row %s of table %s\n", id, table);
	return rc;
}
