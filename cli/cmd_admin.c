/*
 * cmd_admin.c: trusteectl keygen (the admin key pair whose private half
 * signs the short-lived admin JWTs of apiclient.c) and whoami.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/admintoken.h"
#include "trusteectl.h"

int
cmd_keygen(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct error err = { "" };
	const char *out = "admin.pem";
	int ch;

	while ((ch = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			return ctl_help(ctx);
		default:
			return ctl_bad_option(ctx, ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (*out == '\0')
		return ctl_usage(ctx, "--out: empty path");
	if (admintoken_keygen(out, NULL, &err) == -1)
		return ctl_fail("keygen: %s", err.msg);
	printf("%s\n%s.pub\n", out, out);
	return EXIT_OK;
}

int
cmd_whoami(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *me = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			return ctl_help(ctx);
		default:
			return ctl_bad_option(ctx, ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if ((rc = apiclient_json(ctx, "GET", "/api/v1/whoami", NULL,
	    &me)) != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(me);
	else {
		output_kv_json("actor", json_object_get(me, "actor"));
		output_kv_json("role", json_object_get(me, "role"));
		output_kv_json("sub", json_object_get(me, "sub"));
		output_kv_json("mode", json_object_get(me, "mode"));
		output_kv_time("expires", json_object_get(me, "exp"));
	}
	json_decref(me);
	return rc;
}

/* Append "&name=escaped(value)" to b when value is set. */
static void
query_add(struct buf *b, const char *name, const char *value)
{
	char *esc;

	if (value == NULL)
		return;
	esc = apiclient_escape(value);
	buf_printf(b, "&%s=%s", name, esc);
	free(esc);
}

int
cmd_audit(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "action", required_argument, NULL, 'a' },
		{ "actor", required_argument, NULL, 'A' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *action = NULL, *actor = NULL, *since = NULL, *until = NULL;
	struct buf q = { 0 };
	json_t *page = NULL, *items, *it;
	struct table *t;
	long limit = 50;
	int64_t tm;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":n:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			action = optarg;
			break;
		case 'A':
			actor = optarg;
			break;
		case 's':
		case 'u':
			if (time_parse_rfc3339(optarg, &tm) == -1)
				return ctl_usage(ctx, "--%s: expected an RFC "
				    "3339 time (2025-01-31T12:00:00Z), got "
				    "'%s'", ch == 's' ? "since" : "until",
				    optarg);
			if (ch == 's')
				since = optarg;
			else
				until = optarg;
			break;
		case 'n':
			if (ctl_parse_int(optarg, 1, 1000, &limit) == -1)
				return ctl_usage(ctx, "--limit: expected "
				    "1-1000, got '%s'", optarg);
			break;
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			return ctl_help(ctx);
		default:
			return ctl_bad_option(ctx, ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage(ctx, "unexpected argument '%s'", argv[optind]);
	buf_printf(&q, "/api/v1/audit?limit=%ld", limit);
	query_add(&q, "action", action);
	query_add(&q, "actor", actor);
	query_add(&q, "since", since);
	query_add(&q, "until", until);
	rc = apiclient_json(ctx, "GET", buf_cstr(&q), NULL, &page);
	buf_free(&q);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		rc = output_json(page);
		json_decref(page);
		return rc;
	}
	items = json_object_get(page, "items");
	t = table_new(6, "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME",
	    "REASON");
	json_array_foreach(items, i, it)
		table_add_json(t, json_object_get(it, "time"),
		    json_object_get(it, "actor"), json_object_get(it, "action"),
		    json_object_get(it, "target"),
		    json_object_get(it, "outcome"),
		    json_object_get(it, "reason"));
	if (table_rows(t) == 0)
		printf("no audit records match\n");
	else
		table_print(t, stdout);
	if (json_is_string(json_object_get(page, "next_cursor")))
		printf("(newest %zu shown; --limit N for more, up to 1000)\n",
		    table_rows(t));
	table_free(t);
	json_decref(page);
	return EXIT_OK;
}
