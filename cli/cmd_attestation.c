/*
 * cmd_attestation.c: trusteectl attestation list|show, the attestation
 * log over /api/v1/attestations (docs/api.md §7b).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trusteectl.h"

static void
attestation_query(struct buf *b, const char *name, const char *value)
{
	char *esc;

	if (value == NULL)
		return;
	esc = apiclient_escape(value);
	buf_printf(b, "&%s=%s", name, esc);
	free(esc);
}

static void
attestation_list_print(const json_t *page)
{
	static const struct output_column cols[] = {
		{ "ID", "id" }, { "TIME", "time" }, { "TEE", "tee" },
		{ "SOURCE", "source" }, { "VERDICT", "verdict" },
		{ "REASON", "reason" },
	};
	const json_t *items = json_object_get(page, "items");

	output_items(items, cols, ARRAY_SIZE(cols),
	    "no attestation log entries match");
	if (json_is_string(json_object_get(page, "next_cursor")))
		printf("(newest %zu shown; --limit N for more, up to 1000)\n",
		    json_array_size(items));
}

int
cmd_attestation_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, 't' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "source", required_argument, NULL, 'S' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		CTL_OPTS_END_JSON
	};
	const char *tee = NULL, *verdict = NULL, *source = NULL;
	const char *since = NULL, *until = NULL;
	struct buf q = { 0 };
	long limit = 50;
	int64_t tm;
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
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	buf_printf(&q, "/api/v1/attestations?limit=%ld", limit);
	attestation_query(&q, "tee", tee);
	attestation_query(&q, "verdict", verdict);
	attestation_query(&q, "source", source);
	attestation_query(&q, "since", since);
	attestation_query(&q, "until", until);
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
