/*
 * cmd_rv.c: trusteectl rv add|list|get|revoke|import, the reference
 * values of the RVPS on /api/v1/reference-values (docs/api.md §6). A
 * name is any UTF-8 text (one percent-encoded path segment); a value is
 * any JSON. Listings show each value's state: valid, expired or revoked.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trusteectl.h"

#define ENVELOPE_MAX	(16u * 1024 * 1024)
#define DAYS_MAX	36500L

/* Check a name as the server will (1..256 bytes, no control chars). */
static int
rv_name_ok(struct ctx *ctx, const char *name, int *rc)
{
	const unsigned char *p;

	if (*name == '\0' || strlen(name) > 256) {
		*rc = ctl_usage(ctx, "NAME: expected 1 to 256 bytes");
		return 0;
	}
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*rc = ctl_usage(ctx, "NAME: control characters are "
			    "not allowed");
			return 0;
		}
	}
	return 1;
}

static char *
rv_uri(const char *name, const char *suffix)
{
	char *esc = apiclient_escape(name);
	char *uri = xasprintf("/api/v1/reference-values/%s%s", esc, suffix);

	free(esc);
	return uri;
}

/* "valid until ...", "revoked by X at T: reason", "expired at T". */
static void
print_record(const json_t *r)
{
	static const struct output_column fields[] = {
		{ "name", "name" }, { "state", "state" },
		{ "version", "version" }, { "created", "created" },
		{ "expires", "expiration" },
	}, revoked[] = {
		{ "revoked at", "at" }, { "revoked by", "by" },
		{ "reason", "reason" },
	};
	const json_t *rev = json_object_get(r, "revoked");
	char *v;

	output_kv_members(r, fields, ARRAY_SIZE(fields));
	if (json_is_object(rev))
		output_kv_members(rev, revoked, ARRAY_SIZE(revoked));
	/* Short values on one line, longer ones indented. */
	v = json_dumps(json_object_get(r, "value"), JSON_COMPACT |
	    JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (v != NULL && strlen(v) <= 64) {
		output_kv("value", v);
		free(v);
		return;
	}
	free(v);
	v = json_dumps(json_object_get(r, "value"), JSON_INDENT(2) |
	    JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	if (v != NULL)
		printf("value:\n%s\n", v);
	free(v);
}

int
cmd_rv_add(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expires", required_argument, NULL, 'e' },
		{ "days", required_argument, NULL, 'd' },
		CTL_OPTS_END_JSON
	};
	const char *expires = NULL, *days = NULL, *args[2], *name;
	char ts[TIME_RFC3339_LEN];
	json_error_t jerr;
	json_t *value, *body, *rec = NULL;
	int64_t exp = 0;
	long ndays;
	char *uri;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":jh", opts, &rc)) > 0) {
		if (ch == 'e')
			expires = optarg;
		else
			days = optarg;	/* 'd' */
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 2, args, argc - optind == 0 ?
	    "NAME and VALUE-JSON" : "VALUE-JSON")) != -1)
		return rc;
	name = args[0];
	if (!rv_name_ok(ctx, name, &rc))
		return rc;
	if (expires != NULL && days != NULL)
		return ctl_usage(ctx, "give --expires or --days, not both");
	if (expires != NULL && time_parse_rfc3339(expires, &exp) == -1)
		return ctl_usage(ctx, "--expires: expected an RFC 3339 time "
		    "(2026-12-31T00:00:00Z or 2026-12-31), got '%s'", expires);
	if (days != NULL) {
		if (ctl_parse_int(days, 1, DAYS_MAX, &ndays) == -1)
			return ctl_usage(ctx, "--days: expected 1-%ld, got "
			    "'%s'", DAYS_MAX, days);
		exp = now_unix() + (int64_t)ndays * 86400;
	}
	value = json_loads(args[1], JSON_DECODE_ANY, &jerr);
	if (value == NULL)
		return ctl_usage(ctx, "VALUE-JSON: not JSON (%s); a string "
		    "needs JSON quotes, e.g. '\"abc\"', a list '[\"a\",\"b\"]'",
		    jerr.text);
	body = json_pack("{s:o}", "value", value);
	if (exp != 0) {
		time_format_rfc3339(exp, ts);
		json_object_set_new(body, "expiration", json_string(ts));
	}
	uri = rv_uri(name, "");
	rc = apiclient_json(ctx, "PUT", uri, body, &rec);
	free(uri);
	json_decref(body);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(rec);
	else {
		char *n = output_sanitize(name, 0), *e;

		e = output_cell(json_object_get(rec, "expiration"));
		printf("%s: version %lld, valid until %s\n", n,
		    (long long)json_integer_value(json_object_get(rec,
		    "version")), e);
		free(n);
		free(e);
	}
	json_decref(rec);
	return rc;
}

int
cmd_rv_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		CTL_OPTS_END_JSON
	};
	static const struct output_column cols[] = {
		{ "NAME", "name" }, { "VERSION", "version" },
		{ "STATE", "state" }, { "EXPIRES", "expiration" },
		{ "VALUE", "value" },
	};
	const char *state = NULL;
	char *uri, *empty;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":jh", opts, &rc)) > 0) {
		/* 's' */
		if (strcmp(optarg, "valid") != 0 &&
		    strcmp(optarg, "expired") != 0 &&
		    strcmp(optarg, "revoked") != 0)
			return ctl_usage(ctx, "--state: expected valid, "
			    "expired or revoked, got '%s'", optarg);
		state = optarg;
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	uri = state != NULL ? xasprintf("/api/v1/reference-values?state=%s",
	    state) : xstrdup("/api/v1/reference-values");
	empty = xasprintf("no reference values%s%s", state ? " in state " :
	    "", state ? state : "");
	rc = apiclient_show_list(ctx, uri, cols, ARRAY_SIZE(cols), empty);
	free(empty);
	free(uri);
	return rc;
}

int
cmd_rv_get(struct ctx *ctx, int argc, char **argv)
{
	const char *args[1];
	char *uri;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, args, "NAME")) != -1)
		return rc;
	if (!rv_name_ok(ctx, args[0], &rc))
		return rc;
	uri = rv_uri(args[0], "");
	rc = apiclient_show(ctx, "GET", uri, NULL, 0, print_record);
	free(uri);
	return rc;
}

int
cmd_rv_revoke(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		CTL_OPTS_END_JSON
	};
	const char *reason = NULL, *name;
	json_t *body, *rec = NULL;
	char *uri;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":jh", opts, &rc)) > 0)
		reason = optarg;	/* 'r' */
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 1, &name, "NAME")) != -1)
		return rc;
	if (!rv_name_ok(ctx, name, &rc))
		return rc;
	if (reason == NULL || *reason == '\0')
		return ctl_usage(ctx, "missing --reason TEXT (recorded with "
		    "the revocation)");
	if ((body = json_pack("{s:s}", "reason", reason)) == NULL)
		return ctl_usage(ctx, "--reason: not UTF-8 text");
	uri = rv_uri(name, "/revoke");
	rc = apiclient_json(ctx, "POST", uri, body, &rec);
	free(uri);
	json_decref(body);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(rec);
	else {
		char *n = output_sanitize(name, 0);

		printf("%s: revoked\n", n);
		free(n);
	}
	json_decref(rec);
	return rc;
}

/* The names an import registered. */
static void
import_print(const json_t *res)
{
	const json_t *names = json_object_get(res, "names"), *n;
	size_t i;

	printf("imported %zu reference value%s\n", json_array_size(names),
	    json_array_size(names) == 1 ? "" : "s");
	json_array_foreach(names, i, n) {
		char *s = output_cell(n);

		printf("  %s\n", s);
		free(s);
	}
}

int
cmd_rv_import(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	json_error_t jerr;
	const char *args[1];
	uint8_t *data = NULL;
	size_t len = 0;
	json_t *env;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, args,
	    "ENVELOPE.json (or - for standard input)")) != -1)
		return rc;
	if (ctl_read_input(args[0], ENVELOPE_MAX, &data, &len, &err) == -1)
		return ctl_fail("%s", err.msg);
	env = json_loadb((const char *)data, len, 0, &jerr);
	if (!json_is_object(env)) {
		json_decref(env);
		free(data);
		return ctl_fail("%s: not a JSON object (an RVPS message "
		    "{\"version\":\"0.1.0\",\"type\":...,\"payload\":...}): "
		    "%s", args[0], jerr.text);
	}
	json_decref(env);
	rc = apiclient_show(ctx, "POST", "/api/v1/reference-values", data, len,
	    import_print);
	free(data);
	return rc;
}
