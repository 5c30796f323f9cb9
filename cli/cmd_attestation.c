/*
 * cmd_attestation.c: trusteectl attestation list|show, the attestation
 * log over /api/v1/attestations (docs/api.md §7b).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trusteectl.h"

static void
attestation_list_print(const json_t *page)
{
	static const struct output_column cols[] = {
		{ "ID", "id" }, { "TIME", "time" }, { "TEE", "tee" },
		{ "SOURCE", "source" }, { "VERDICT", "verdict" },
		{ "REASON", "reason" },
	};

	output_page(page, cols, ARRAY_SIZE(cols),
	    "no attestation log entries match");
}

int
cmd_attestation_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, 't' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "source", required_argument, NULL, 'S' },
		CTL_WINDOW_OPTS,
		CTL_OPTS_END_JSON
	};
	struct ctl_window w = { NULL, NULL, CTL_WINDOW_LIMIT };
	const char *tee = NULL, *verdict = NULL, *source = NULL;
	struct buf q = { 0 };
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":n:jh", opts, &rc)) > 0) {
		switch (ch) {
		case 't':
			tee = optarg;
			break;
		case 'v':
			verdict = optarg;
			break;
		case 'S':
			source = optarg;
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
	buf_printf(&q, "/api/v1/attestations?limit=%ld", w.limit);
	apiclient_query_add(&q, "tee", tee);
	apiclient_query_add(&q, "verdict", verdict);
	apiclient_query_add(&q, "source", source);
	apiclient_query_add(&q, "since", w.since);
	apiclient_query_add(&q, "until", w.until);
	rc = apiclient_show(ctx, "GET", buf_cstr(&q), NULL, 0,
	    attestation_list_print);
	buf_free(&q);
	return rc;
}

static void
attestation_show_print(const json_t *rec)
{
	static const struct output_column f[] = {
		{ "id", "id" }, { "time", "time" }, { "endpoint", "endpoint" },
		{ "tee", "tee" }, { "source", "source" },
		{ "verdict", "verdict" }, { "reason", "reason" },
		{ "trust_vector", "trust_vector" }, { "policy_id", "policy_id" },
		{ "token", "token" }, { "latency_us", "latency_us" },
	};

	output_kv_members(rec, f, ARRAY_SIZE(f));
	if (json_object_get(rec, "claims") != NULL &&
	    !json_is_null(json_object_get(rec, "claims"))) {
		printf("claims:\n");
		output_json(json_object_get(rec, "claims"));
	}
}

int
cmd_attestation_show(struct ctx *ctx, int argc, char **argv)
{
	const char *id;
	char *esc, *path;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, &id, "ID")) != -1)
		return rc;
	esc = apiclient_escape(id);
	path = xasprintf("/api/v1/attestations/%s", esc);
	free(esc);
	rc = apiclient_show(ctx, "GET", path, NULL, 0, attestation_show_print);
	free(path);
	return rc;
}
