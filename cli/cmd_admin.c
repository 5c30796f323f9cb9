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
		CTL_OPTS_END
	};
	struct error err = { "" };
	const char *out = "admin.pem";
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":o:h", opts, &rc)) > 0)
		out = optarg;	/* 'o' */
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (*out == '\0')
		return ctl_usage(ctx, "--out: empty path");
	if (admintoken_keygen(out, NULL, &err) == -1)
		return ctl_fail("keygen: %s", err.msg);
	printf("%s\n%s.pub\n", out, out);
	return EXIT_OK;
}

static void
whoami_print(const json_t *me)
{
	static const struct output_column fields[] = {
		{ "actor", "actor" }, { "role", "role" }, { "sub", "sub" },
		{ "mode", "mode" },
	};

	output_kv_members(me, fields, ARRAY_SIZE(fields));
	output_kv_time("expires", json_object_get(me, "exp"));
}

int
cmd_whoami(struct ctx *ctx, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	return apiclient_show(ctx, "GET", "/api/v1/whoami", NULL, 0,
	    whoami_print);
}

/* One page of audit records as a table (newest first). */
static void
audit_print(const json_t *page)
{
	static const struct output_column cols[] = {
		{ "TIME", "time" }, { "ACTOR", "actor" },
		{ "ACTION", "action" }, { "TARGET", "target" },
		{ "OUTCOME", "outcome" }, { "REASON", "reason" },
	};

	output_page(page, cols, ARRAY_SIZE(cols), "no audit records match");
}

int
cmd_audit(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "action", required_argument, NULL, 'a' },
		{ "actor", required_argument, NULL, 'A' },
		CTL_WINDOW_OPTS,
		CTL_OPTS_END_JSON
	};
	struct ctl_window w = { NULL, NULL, CTL_WINDOW_LIMIT };
	const char *action = NULL, *actor = NULL;
	struct buf q = { 0 };
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":n:jh", opts, &rc)) > 0) {
		switch (ch) {
		case 'a':
			action = optarg;
			break;
		case 'A':
			actor = optarg;
			break;
		default:
			if ((rc = ctl_window_opt(ctx, ch, &w)) != -1)
				return rc;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	buf_printf(&q, "/api/v1/audit?limit=%ld", w.limit);
	apiclient_query_add(&q, "action", action);
	apiclient_query_add(&q, "actor", actor);
	apiclient_query_add(&q, "since", w.since);
	apiclient_query_add(&q, "until", w.until);
	rc = apiclient_show(ctx, "GET", buf_cstr(&q), NULL, 0, audit_print);
	buf_free(&q);
	return rc;
}
