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

#include "trusteectl.h"

/* Largest --file accepted; the server's own cap (2 MiB by default)
 * answers anything between with a 413 problem. */
#define RESOURCE_FILE_MAX	(64u * 1024 * 1024)
/* Version numbers the CLI accepts (the server says which exist). */
#define VERSION_MAX		2147483647L

/* Options every command here takes: --json and --help, plus extra. */
#define COMMON_OPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }

/* Check "REPO/TYPE/TAG" operand argv[i]; NULL after a usage message. */
static const char *
resource_name(struct ctx *ctx, const char *arg, int *rc)
{
	const char *p = ctl_resource_path(arg);

	if (p == NULL)
		*rc = ctl_usage(ctx, "invalid resource path '%s': expected "
		    "REPO/TYPE/TAG, each of A-Z a-z 0-9 _ . -", arg);
	return p;
}

/*
 * Parse the options of a command taking only COMMON_OPTS, and exactly
 * nargs operands (stored in args). Returns -1 to go on, else an exit code.
 */
static int
simple_opts(struct ctx *ctx, int argc, char **argv, int nargs,
    const char **args, const char *missing)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	int ch, i;

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
	if (argc - optind < nargs)
		return ctl_usage(ctx, "missing %s", missing);
	if (argc - optind > nargs)
		return ctl_usage(ctx, "unexpected argument '%s'",
		    argv[optind + nargs]);
	for (i = 0; i < nargs; i++)
		args[i] = argv[optind + i];
	return -1;
}

/* Print a resource metadata object as "key: value" lines. */
static void
print_meta(const json_t *m)
{
	output_kv_json("name", json_object_get(m, "name"));
	output_kv_json("version", json_object_get(m, "version"));
	output_kv_json("size", json_object_get(m, "size"));
	output_kv_json("created", json_object_get(m, "created"));
	output_kv_json("created by", json_object_get(m, "created_by"));
	output_kv_json("type", json_object_get(m, "content_type"));
	output_kv_json("versions", json_object_get(m, "versions"));
}

int
cmd_resource_put(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "value", required_argument, NULL, 'V' },
		{ "content-type", required_argument, NULL, 'T' },
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct error err = { "" };
	const char *file = NULL, *value = NULL, *rpath, *ctype = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	json_t *meta = NULL;
	char *uri;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":f:jh", opts, NULL)) != -1) {
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
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			return ctl_help(ctx);
		default:
			return ctl_bad_option(ctx, ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage(ctx, "missing REPO/TYPE/TAG");
	if (optind + 1 < argc)
		return ctl_usage(ctx, "unexpected argument '%s'",
		    argv[optind + 1]);
	if ((rpath = resource_name(ctx, argv[optind], &rc)) == NULL)
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
	const char *args[1], *rpath;
	char *uri;
	int rc;

	if ((rc = simple_opts(ctx, argc, argv, 1, args, "REPO/TYPE/TAG")) !=
	    -1)
		return rc;
	if ((rpath = resource_name(ctx, args[0], &rc)) == NULL)
		return rc;
	uri = xasprintf("/api/v1/resources/%s", rpath);
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
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *prefix = NULL;
	json_t *items = NULL, *it;
	struct table *t;
	char *uri, *esc;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":p:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			prefix = optarg;
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
	if (prefix != NULL) {
		esc = apiclient_escape(prefix);
		uri = xasprintf("/api/v1/resources?prefix=%s", esc);
		free(esc);
	} else
		uri = xstrdup("/api/v1/resources");
	rc = apiclient_list(ctx, uri, &items);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		rc = apiclient_print_list(items);
		json_decref(items);
		return rc;
	}
	t = table_new(6, "NAME", "VERSION", "SIZE", "VERSIONS", "CREATED",
	    "CREATED-BY");
	json_array_foreach(items, i, it)
		table_add_json(t, json_object_get(it, "name"),
		    json_object_get(it, "version"), json_object_get(it, "size"),
		    json_object_get(it, "versions"),
		    json_object_get(it, "created"),
		    json_object_get(it, "created_by"));
	if (table_rows(t) == 0)
		printf("no resources%s\n", prefix != NULL ?
		    " with that prefix" : "");
	else
		table_print(t, stdout);
	table_free(t);
	json_decref(items);
	return EXIT_OK;
}

int
cmd_resource_versions(struct ctx *ctx, int argc, char **argv)
{
	const char *args[1], *rpath;
	json_t *items = NULL, *it;
	struct table *t;
	char *uri;
	size_t i;
	int rc;

	if ((rc = simple_opts(ctx, argc, argv, 1, args, "REPO/TYPE/TAG")) !=
	    -1)
		return rc;
	if ((rpath = resource_name(ctx, args[0], &rc)) == NULL)
		return rc;
	uri = xasprintf("/api/v1/resources/%s/versions", rpath);
	rc = apiclient_list(ctx, uri, &items);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		rc = apiclient_print_list(items);
		json_decref(items);
		return rc;
	}
	t = table_new(6, "VERSION", "ACTIVE", "SIZE", "CREATED", "CREATED-BY",
	    "TYPE");
	json_array_foreach(items, i, it)
		table_add_json(t, json_object_get(it, "version"),
		    json_object_get(it, "active"), json_object_get(it, "size"),
		    json_object_get(it, "created"),
		    json_object_get(it, "created_by"),
		    json_object_get(it, "content_type"));
	table_print(t, stdout);
	table_free(t);
	json_decref(items);
	return EXIT_OK;
}

int
cmd_resource_info(struct ctx *ctx, int argc, char **argv)
{
	const char *args[1], *rpath;
	json_t *meta = NULL;
	char *uri;
	int rc;

	if ((rc = simple_opts(ctx, argc, argv, 1, args, "REPO/TYPE/TAG")) !=
	    -1)
		return rc;
	if ((rpath = resource_name(ctx, args[0], &rc)) == NULL)
		return rc;
	uri = xasprintf("/api/v1/resources/%s", rpath);
	rc = apiclient_json(ctx, "GET", uri, NULL, &meta);
	free(uri);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(meta);
	else
		print_meta(meta);
	json_decref(meta);
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

	if ((rc = simple_opts(ctx, argc, argv, 2, args,
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
