/*
 * cmd_policy.c: trusteectl policy list|get|set|test|versions|restore on
 * /api/v1/policies (docs/api.md §5). A policy is named by --kind
 * (attestation, the default, or resource) and --id (default_cpu, or
 * resource-policy for the resource kind).
 *
 * A Lua compile error from the server ("[string "id"]:7: ...") is shown
 * with the offending line of the local file, and exits 1.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trusteectl.h"

/* Policies are small Lua chunks; the server caps bodies at 2 MiB. */
#define POLICY_FILE_MAX		(4u * 1024 * 1024)
#define INPUT_FILE_MAX		(16u * 1024 * 1024)
#define VERSION_MAX		2147483647L

#define DEFAULT_ATTESTATION_ID	"default_cpu"
#define RESOURCE_POLICY_ID	"resource-policy"

/* What a policy command was given. */
struct popts {
	const char *kind;	/* "attestation" | "resource" */
	const char *id;
	long version;		/* 0: not given */
	const char *out;	/* policy get --out */
	const char *input;	/* policy test --input */
	const char *operand;	/* FILE or VERSION */
};

enum {
	P_KIND = 1 << 0, P_ID = 1 << 1, P_VERSION = 1 << 2, P_OUT = 1 << 3,
	P_INPUT = 1 << 4,
	P_ANY_KIND = 1 << 5	/* no --kind: every kind (policy list) */
};

/*
 * Parse the options allowed by mask and at most one operand (required
 * when need is set; named what). Returns -1 to go on, else an exit code.
 */
static int
popts_parse(struct ctx *ctx, int argc, char **argv, unsigned mask, int need,
    const char *what, struct popts *o)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "id", required_argument, NULL, 'i' },
		{ "version", required_argument, NULL, 'V' },
		{ "out", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'I' },
		CTL_OPTS_END_JSON
	};
	unsigned bit;
	int ch, rc;

	memset(o, 0, sizeof(*o));
	while ((ch = ctl_getopt(ctx, argc, argv, ":jh", opts, &rc)) > 0) {
		bit = ch == 'k' ? P_KIND : ch == 'i' ? P_ID : ch == 'V' ?
		    P_VERSION : ch == 'o' ? P_OUT : ch == 'I' ? P_INPUT : 0;
		if (bit != 0 && (mask & bit) == 0)
			return ctl_usage(ctx, "unknown option '%s'",
			    argv[optind - 1]);
		switch (ch) {
		case 'k':
			if (strcmp(optarg, "attestation") != 0 &&
			    strcmp(optarg, "resource") != 0)
				return ctl_usage(ctx, "--kind: expected "
				    "attestation or resource, got '%s'",
				    optarg);
			o->kind = optarg;
			break;
		case 'i':
			if (*optarg == '\0')
				return ctl_usage(ctx, "--id: empty id");
			o->id = optarg;
			break;
		case 'V':
			if (ctl_parse_int(optarg, 1, VERSION_MAX,
			    &o->version) == -1)
				return ctl_usage(ctx, "--version: expected a "
				    "positive integer, got '%s'", optarg);
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'I':
			o->input = optarg;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if (optind < argc)
		o->operand = argv[optind++];
	if (optind < argc)
		return ctl_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (need && o->operand == NULL)
		return ctl_usage(ctx, "missing %s", what);
	if (!need && what == NULL && o->operand != NULL)
		return ctl_usage(ctx, "unexpected argument '%s'", o->operand);
	if ((mask & P_KIND) && !(mask & P_ANY_KIND) && o->kind == NULL)
		o->kind = "attestation";
	if ((mask & P_ID) && o->id == NULL)
		o->id = o->kind != NULL && strcmp(o->kind, "resource") == 0 ?
		    RESOURCE_POLICY_ID : DEFAULT_ATTESTATION_ID;
	return -1;
}

/* "/api/v1/policies/<kind>/<id><suffix>" with the id escaped. */
static char *
policy_uri(const struct popts *o, const char *suffix)
{
	char *id = apiclient_escape(o->id);
	char *uri = xasprintf("/api/v1/policies/%s/%s%s", o->kind, id,
	    suffix);

	free(id);
	return uri;
}

/*
 * The Lua line number in an engine message: "[string \"id\"]:7: ..." (Lua's
 * own form) or "... at line 7: ..."; 0 when there is none.
 */
static long
error_line(const char *msg)
{
	const char *p;
	long n = 0;

	if (msg == NULL)
		return 0;
	if ((p = strstr(msg, "]:")) != NULL)
		p += 2;
	else {
		/* The word "line", not the end of "deadline". */
		for (p = strstr(msg, "line "); p != NULL && p != msg &&
		    p[-1] != ' '; p = strstr(p + 1, "line "))
			;
		if (p == NULL)
			return 0;
		p += 5;
	}
	for (; isdigit((unsigned char)*p) && n < 10000000; p++)
		n = n * 10 + (*p - '0');
	return n;
}

/*
 * After a policy error message msg about the text of file: when msg names
 * a line, print that line of the file as "FILE:7: <text>" on stderr.
 */
static void
show_error_line(const char *msg, const char *file, const char *text)
{
	const char *line = text;
	char *raw, *safe, *fname;
	long n = error_line(msg), i;

	if (n < 1 || text == NULL)
		return;
	for (i = 1; i < n && line != NULL; i++) {
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (line == NULL)
		return;
	raw = xstrndup(line, strcspn(line, "\r\n"));
	safe = output_sanitize(raw, 0);
	fname = output_sanitize(strcmp(file, "-") == 0 ? "(stdin)" : file, 0);
	fprintf(stderr, "%s:%ld: %s\n", fname, n, safe);
	free(raw);
	free(safe);
	free(fname);
}

/* show_error_line for the "detail" of a problem body (may be NULL). */
static void
show_problem_line(const json_t *problem, const char *file, const char *text)
{
	show_error_line(json_string_value(json_object_get(problem, "detail")),
	    file, text);
}

int
cmd_policy_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct output_column cols[] = {
		{ "KIND", "kind" }, { "ID", "id" },
		{ "VERSION", "active_version" }, { "UPDATED", "updated" },
		{ "UPDATED-BY", "updated_by" },
	};
	struct popts o;
	char *uri;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ANY_KIND, 0, NULL,
	    &o)) != -1)
		return rc;
	uri = o.kind != NULL ? xasprintf("/api/v1/policies?kind=%s", o.kind) :
	    xstrdup("/api/v1/policies");
	rc = apiclient_show_list(ctx, uri, cols, ARRAY_SIZE(cols),
	    "no policies");
	free(uri);
	return rc;
}

int
cmd_policy_get(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	struct popts o;
	json_t *pol = NULL;
	const char *text;
	char *uri, *full;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ID | P_VERSION |
	    P_OUT, 0, NULL, &o)) != -1)
		return rc;
	uri = policy_uri(&o, "");
	if (o.version > 0) {
		full = xasprintf("%s?version=%ld", uri, o.version);
		free(uri);
		uri = full;
	}
	rc = apiclient_json(ctx, "GET", uri, NULL, &pol);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	text = json_string_value(json_object_get(pol, "policy"));
	if (ctx->json)
		rc = output_json(pol);
	else if (text == NULL)
		rc = ctl_fail("the answer has no \"policy\" text");
	else if (o.out != NULL && strcmp(o.out, "-") != 0) {
		if (file_write_atomic(o.out, text, strlen(text), 0644,
		    &err) == -1)
			rc = ctl_fail("%s", err.msg);
		else
			fprintf(stderr, "%s/%s version %lld written to %s\n",
			    o.kind, o.id, (long long)json_integer_value(
			    json_object_get(pol, "version")), o.out);
	} else
		output_text_block(text, strlen(text));
	json_decref(pol);
	return rc;
}

int
cmd_policy_set(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	struct popts o;
	uint8_t *text = NULL;
	size_t len = 0;
	json_t *res = NULL;
	char *uri;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ID, 1,
	    "FILE (Lua policy text, or - for standard input)", &o)) != -1)
		return rc;
	if (ctl_read_input(o.operand, POLICY_FILE_MAX, &text, &len,
	    &err) == -1)
		return ctl_fail("%s", err.msg);
	uri = policy_uri(&o, "");
	rc = apiclient_call(ctx, "PUT", uri, API_AUTH | API_KEEP_ERROR_BODY,
	    "text/x-lua", text, len, &res);
	free(uri);
	if (rc != EXIT_OK) {
		show_problem_line(res, o.operand, (const char *)text);
		goto out;
	}
	if (ctx->json)
		rc = output_json(res);
	else
		printf("%s/%s: version %lld is active\n", o.kind, o.id,
		    (long long)json_integer_value(json_object_get(res,
		    "version")));
out:
	json_decref(res);
	free(text);
	return rc;
}

/* Print a policy test result; returns the exit code it implies. */
static int
print_test(const char *kind, const json_t *r)
{
	const json_t *result = json_object_get(r, "result");
	const json_t *log = json_object_get(r, "log"), *l;
	const char *error = json_string_value(json_object_get(r, "error"));
	int resource = strcmp(kind, "resource") == 0;
	size_t i;

	if (resource && json_is_boolean(result))
		output_kv("result", json_is_true(result) ? "allowed" :
		    "denied");
	else
		output_kv_json("result", result);
	if (json_object_get(r, "status") != NULL)
		output_kv_json("status", json_object_get(r, "status"));
	output_kv_json("reason", json_object_get(r, "reason"));
	if (error != NULL)
		output_kv("error", error);
	if (json_array_size(log) > 0) {
		printf("log:\n");
		json_array_foreach(log, i, l) {
			char *s = output_cell(l);

			printf("  %s\n", s);
			free(s);
		}
	}
	if (error != NULL || (resource && !json_is_true(result)))
		return EXIT_FAIL;
	return EXIT_OK;
}

int
cmd_policy_test(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	json_error_t jerr;
	struct popts o;
	uint8_t *text = NULL, *in = NULL;
	size_t len = 0, inlen = 0;
	json_t *body = NULL, *input, *res = NULL;
	char *uri = NULL;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ID | P_VERSION |
	    P_INPUT, 0, "FILE", &o)) != -1)
		return rc;
	if (o.input == NULL)
		return ctl_usage(ctx, "missing --input INPUT.json");
	if (o.operand != NULL && o.version > 0)
		return ctl_usage(ctx, "give either --version N (a stored "
		    "version) or FILE (text to try), not both");
	if (ctl_read_input(o.input, INPUT_FILE_MAX, &in, &inlen, &err) == -1)
		return ctl_fail("%s", err.msg);
	input = json_loadb((const char *)in, inlen, JSON_DECODE_ANY, &jerr);
	free(in);
	if (input == NULL)
		return ctl_fail("%s: not JSON: line %d: %s", o.input,
		    jerr.line, jerr.text);
	body = json_pack("{s:o}", "input", input);
	if (o.operand != NULL) {
		json_t *t;

		if (ctl_read_input(o.operand, POLICY_FILE_MAX, &text, &len,
		    &err) == -1) {
			rc = ctl_fail("%s", err.msg);
			goto out;
		}
		if ((t = json_stringn((const char *)text, len)) == NULL) {
			rc = ctl_fail("%s: not UTF-8 text", o.operand);
			goto out;
		}
		json_object_set_new(body, "policy", t);
	}
	if (o.version > 0)
		json_object_set_new(body, "version", json_integer(o.version));
	uri = policy_uri(&o, "/test");
	{
		char *txt = json_dumps(body, JSON_COMPACT);

		if (txt == NULL) {
			rc = ctl_fail("cannot encode the request");
			goto out;
		}
		rc = apiclient_call(ctx, "POST", uri, API_AUTH |
		    API_KEEP_ERROR_BODY, "application/json", txt, strlen(txt),
		    &res);
		free(txt);
	}
	if (rc != EXIT_OK) {
		if (o.operand != NULL)
			show_problem_line(res, o.operand, (const char *)text);
		goto out;
	}
	if (ctx->json) {
		rc = output_json(res);
		if (rc == EXIT_OK && (json_object_get(res, "error") != NULL ||
		    (strcmp(o.kind, "resource") == 0 &&
		    !json_is_true(json_object_get(res, "result")))))
			rc = EXIT_FAIL;
	} else
		rc = print_test(o.kind, res);
	/* A FILE that does not compile may come back as a result with an
	 * "error" (not a 400): point at its line all the same. */
	if (o.operand != NULL)
		show_error_line(json_string_value(json_object_get(res,
		    "error")), o.operand, (const char *)text);
out:
	json_decref(body);
	json_decref(res);
	free(text);
	free(uri);
	return rc;
}

int
cmd_policy_versions(struct ctx *ctx, int argc, char **argv)
{
	static const struct output_column cols[] = {
		{ "VERSION", "version" }, { "ACTIVE", "active" },
		{ "CREATED", "created" }, { "CREATED-BY", "created_by" },
		{ "SHA256", "sha256" },
	};
	struct popts o;
	char *uri;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ID, 0, NULL,
	    &o)) != -1)
		return rc;
	uri = policy_uri(&o, "/versions");
	rc = apiclient_show_list(ctx, uri, cols, ARRAY_SIZE(cols), NULL);
	free(uri);
	return rc;
}

int
cmd_policy_restore(struct ctx *ctx, int argc, char **argv)
{
	struct popts o;
	json_t *body, *res = NULL;
	long version;
	char *uri;
	int rc;

	if ((rc = popts_parse(ctx, argc, argv, P_KIND | P_ID, 1, "VERSION",
	    &o)) != -1)
		return rc;
	if (ctl_parse_int(o.operand, 1, VERSION_MAX, &version) == -1)
		return ctl_usage(ctx, "VERSION: expected a positive integer, "
		    "got '%s'", o.operand);
	uri = policy_uri(&o, "/restore");
	body = json_pack("{s:I}", "version", (json_int_t)version);
	rc = apiclient_json(ctx, "POST", uri, body, &res);
	json_decref(body);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(res);
	else
		printf("%s/%s: version %ld restored as version %lld\n", o.kind,
		    o.id, version, (long long)json_integer_value(
		    json_object_get(res, "version")));
	json_decref(res);
	return rc;
}
