/*
 * cmd_resource.c: trusteectl resource put|delete|list|versions|info|
 * restore, on the native admin API (/api/v1/resources, docs/api.md §4).
 * Values are write-only there: only metadata is ever shown. Fetching a
 * value as a guest is `resource get` (cmd_attest.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "contract.h"
#include "trusteectl.h"

/* Largest --file accepted; the server's own cap (2 MiB by default)
 * answers anything between with a 413 problem. */
#define RESOURCE_FILE_MAX	(64u * 1024 * 1024)
/* Version numbers the CLI accepts (the server says which exist). */
#define VERSION_MAX		2147483647L

/* Check "REPO/TYPE/TAG" arg; NULL after a usage message (*rc). */
static const char *
resource_name(struct ctx *ctx, const char *arg, int *rc)
{
	const char *p = contract_resource_path(arg);

	if (p == NULL)
		*rc = ctl_usage(ctx, "invalid resource path '%s': expected "
		    "REPO/TYPE/TAG, each of A-Z a-z 0-9 _ . -", arg);
	return p;
}

/* After a command's own options: exactly one operand, REPO/TYPE/TAG,
 * checked into *rpath. Returns -1 to go on, else an exit code. */
static int
resource_operand(struct ctx *ctx, int argc, char **argv, const char **rpath)
{
	const char *arg;
	int rc;

	if ((rc = ctl_operands(ctx, argc, argv, 1, &arg, "REPO/TYPE/TAG")) !=
	    -1)
		return rc;
	if ((*rpath = resource_name(ctx, arg, &rc)) == NULL)
		return rc;
	return -1;
}

/*
 * Options --json and --help, and one operand REPO/TYPE/TAG, checked into
 * *rpath; *uri (malloc'd) is then its /api/v1/resources URI with suffix.
 * Returns -1 to go on, else an exit code.
 */
static int
resource_opts(struct ctx *ctx, int argc, char **argv, const char *suffix,
    const char **rpath, char **uri)
{
	const char *arg;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, &arg,
	    "REPO/TYPE/TAG")) != -1)
		return rc;
	if ((*rpath = resource_name(ctx, arg, &rc)) == NULL)
		return rc;
	*uri = xasprintf("/api/v1/resources/%s%s", *rpath, suffix);
	return -1;
}

/* Print a resource metadata object as "key: value" lines. */
static void
print_meta(const json_t *m)
{
	static const struct output_column fields[] = {
		{ "name", "name" }, { "version", "version" },
		{ "size", "size" }, { "created", "created" },
		{ "created by", "created_by" }, { "type", "content_type" },
		{ "versions", "versions" },
	};

	output_kv_members(m, fields, ARRAY_SIZE(fields));
}

int
cmd_resource_put(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "value", required_argument, NULL, 'V' },
		{ "content-type", required_argument, NULL, 'T' },
		CTL_OPTS_END_JSON
	};
	struct error err = { "" };
	const char *file = NULL, *value = NULL, *rpath, *ctype = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	json_t *meta = NULL;
	char *uri;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":f:jh", opts, &rc)) > 0) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'V':
			value = optarg;
			break;
		case 'T':
			ctype = optarg;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = resource_operand(ctx, argc, argv, &rpath)) != -1)
		return rc;
	if ((file == NULL) == (value == NULL))
		return ctl_usage(ctx, "give exactly one of --file FILE and "
		    "--value STRING");
	if (ctype != NULL && (strncmp(ctype, "application/json", 16) == 0 ||
	    strpbrk(ctype, "\r\n") != NULL))
		return ctl_usage(ctx, "--content-type: '%s' cannot be used "
		    "(the server reads application/json bodies as a request "
		    "object)", ctype);
	if (file != NULL) {
		if (ctl_read_input(file, RESOURCE_FILE_MAX, &data, &len,
		    &err) == -1)
			return ctl_fail("%s", err.msg);
	} else {
		len = strlen(value);
		data = (uint8_t *)xstrdup(value);
	}
	uri = xasprintf("/api/v1/resources/%s", rpath);
	rc = apiclient_call(ctx, "PUT", uri, API_AUTH, ctype != NULL ? ctype :
	    "application/octet-stream", data, len, &meta);
	secret_free(data, len);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(meta);
	else {
		json_t *v = json_object_get(meta, "version");

		if (json_is_integer(v))
			printf("stored %s (%zu bytes), version %lld\n", rpath,
			    len, (long long)json_integer_value(v));
		else
			printf("stored %s (%zu bytes)\n", rpath, len);
	}
	json_decref(meta);
	return rc;
}

int
cmd_resource_delete(struct ctx *ctx, int argc, char **argv)
{
	const char *rpath;
	char *uri = NULL;
	int rc;

	if ((rc = resource_opts(ctx, argc, argv, "", &rpath, &uri)) != -1)
		return rc;
	rc = apiclient_call(ctx, "DELETE", uri, API_AUTH, NULL, NULL, 0, NULL);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:b}", "name", rpath, "deleted",
		    1);

		rc = output_json(o);
		json_decref(o);
	} else
		printf("deleted %s\n", rpath);
	return rc;
}

int
cmd_resource_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		CTL_OPTS_END_JSON
	};
	static const struct output_column cols[] = {
		{ "NAME", "name" }, { "VERSION", "version" },
		{ "SIZE", "size" }, { "VERSIONS", "versions" },
		{ "CREATED", "created" }, { "CREATED-BY", "created_by" },
	};
	const char *prefix = NULL;
	char *uri, *esc;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":p:jh", opts, &rc)) > 0)
		prefix = optarg;	/* 'p' */
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (prefix != NULL) {
		esc = apiclient_escape(prefix);
		uri = xasprintf("/api/v1/resources?prefix=%s", esc);
		free(esc);
	} else
		uri = xstrdup("/api/v1/resources");
	rc = apiclient_show_list(ctx, uri, cols, ARRAY_SIZE(cols),
	    prefix != NULL ? "no resources with that prefix" : "no resources");
	free(uri);
	return rc;
}

int
cmd_resource_versions(struct ctx *ctx, int argc, char **argv)
{
	static const struct output_column cols[] = {
		{ "VERSION", "version" }, { "ACTIVE", "active" },
		{ "SIZE", "size" }, { "CREATED", "created" },
		{ "CREATED-BY", "created_by" }, { "TYPE", "content_type" },
	};
	const char *rpath;
	char *uri = NULL;
	int rc;

	if ((rc = resource_opts(ctx, argc, argv, "/versions", &rpath,
	    &uri)) != -1)
		return rc;
	rc = apiclient_show_list(ctx, uri, cols, ARRAY_SIZE(cols), NULL);
	free(uri);
	return rc;
}

int
cmd_resource_info(struct ctx *ctx, int argc, char **argv)
{
	const char *rpath;
	char *uri = NULL;
	int rc;

	if ((rc = resource_opts(ctx, argc, argv, "", &rpath, &uri)) != -1)
		return rc;
	rc = apiclient_show(ctx, "GET", uri, NULL, 0, print_meta);
	free(uri);
	return rc;
}

int
cmd_resource_restore(struct ctx *ctx, int argc, char **argv)
{
	const char *args[2], *rpath;
	json_t *meta = NULL, *body;
	char *uri;
	long version;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 2, args,
	    "REPO/TYPE/TAG and VERSION")) != -1)
		return rc;
	if ((rpath = resource_name(ctx, args[0], &rc)) == NULL)
		return rc;
	if (ctl_parse_int(args[1], 1, VERSION_MAX, &version) == -1)
		return ctl_usage(ctx, "VERSION: expected a positive integer, "
		    "got '%s'", args[1]);
	uri = xasprintf("/api/v1/resources/%s/restore", rpath);
	body = json_pack("{s:I}", "version", (json_int_t)version);
	rc = apiclient_json(ctx, "POST", uri, body, &meta);
	json_decref(body);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(meta);
	else {
		printf("restored %s version %ld as version %lld\n", rpath,
		    version, (long long)json_integer_value(
		    json_object_get(meta, "version")));
	}
	json_decref(meta);
	return rc;
}

/*
 * resource generate: the server makes the value (a random key) itself; it
 * is never sent to or shown by trusteectl, only released to attested
 * guests.
 */
int
cmd_resource_generate(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "content-type", required_argument, NULL, 'T' },
		CTL_OPTS_END_JSON
	};
	const char *rpath, *ctype = NULL;
	long bytes = RESOURCE_GENERATE_DEFAULT;
	json_t *body, *meta = NULL, *v;
	char *uri, *text;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":b:jh", opts, &rc)) > 0) {
		switch (ch) {
		case 'b':
			if (ctl_parse_int(optarg, RESOURCE_GENERATE_MIN,
			    RESOURCE_GENERATE_MAX, &bytes) == -1)
				return ctl_usage(ctx, "--bytes: expected "
				    "%d..%d, got '%s'", RESOURCE_GENERATE_MIN,
				    RESOURCE_GENERATE_MAX, optarg);
			break;
		case 'T':
			ctype = optarg;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = resource_operand(ctx, argc, argv, &rpath)) != -1)
		return rc;
	body = json_pack("{s:I}", "bytes", (json_int_t)bytes);
	if (ctype != NULL)
		json_object_set_new(body, "content_type", json_string(ctype));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	uri = xasprintf("/api/v1/resources/%s/generate", rpath);
	rc = apiclient_call(ctx, "POST", uri, API_AUTH, NULL, text,
	    strlen(text), &meta);
	free(uri);
	free(text);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(meta);
	else {
		v = json_object_get(meta, "version");
		printf("generated %s (%ld random bytes, made and kept by the "
		    "server), version %lld\n", rpath, bytes,
		    json_is_integer(v) ? (long long)json_integer_value(v) : 0);
	}
	json_decref(meta);
	return rc;
}
