/*
 * cmd_admin.c: trusteectl commands on the admin API (keygen, resource
 * put/delete). Admin requests carry a fresh short-lived JWT signed with
 * --admin-key as "Authorization: Bearer".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/admintoken.h"
#include "../lib/guest.h"
#include "../lib/httpc.h"
#include "trusteectl.h"

/* Largest --file accepted; the server's own cap (2 MiB by default)
 * answers anything between with a 413 problem. */
#define RESOURCE_FILE_MAX	(64u * 1024 * 1024)

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

/*
 * Send one admin request on the resource at rpath (already checked).
 * Returns an exit code; on success the caller prints the outcome.
 */
static int
admin_resource(struct ctx *ctx, const char *method, const char *rpath,
    const void *body, size_t len)
{
	struct httpc_response resp = { 0 };
	struct error err = { "" };
	const char *hdrs[3] = { NULL, NULL, NULL };
	char *jwt, *auth, *uri, *what;
	struct httpc *c;
	int rc = EXIT_FAIL;

	if (ctx->admin_key == NULL)
		return ctl_usage(ctx, "an admin key is needed: give "
		    "--admin-key FILE (before the command) or set "
		    "TRUSTEE_ADMIN_KEY");
	if ((c = ctx_http(ctx)) == NULL)
		return EXIT_FAIL;
	jwt = admintoken_make(ctx->admin_key, ADMIN_ROLE, ADMIN_TOKEN_TTL,
	    &err);
	if (jwt == NULL)
		return ctl_fail("%s", err.msg);
	auth = xasprintf("Authorization: Bearer %s", jwt);
	secret_strfree(jwt);
	hdrs[0] = auth;
	if (strcmp(method, "POST") == 0)
		hdrs[1] = "Content-Type: application/octet-stream";
	uri = xasprintf("/kbs/v0/resource/%s", rpath);
	what = xasprintf("%s %s", method, uri);
	if (httpc_request(c, method, uri, hdrs, body, len, &resp, &err) == -1)
		ctl_fail("%s", err.msg);
	else if (resp.status != 200) {
		guest_problem(what, &resp, &err);
		ctl_fail("%s", err.msg);
	} else
		rc = EXIT_OK;
	httpc_response_clear(&resp);
	secret_strfree(auth);
	free(uri);
	free(what);
	return rc;
}

/* The single REPO/TYPE/TAG operand, or NULL after a usage message. */
static const char *
path_operand(struct ctx *ctx, int argc, char **argv, int *rc)
{
	const char *p;

	if (optind >= argc) {
		*rc = ctl_usage(ctx, "missing REPO/TYPE/TAG");
		return NULL;
	}
	if (optind + 1 < argc) {
		*rc = ctl_usage(ctx, "unexpected argument '%s'",
		    argv[optind + 1]);
		return NULL;
	}
	if ((p = ctl_resource_path(argv[optind])) == NULL) {
		*rc = ctl_usage(ctx, "invalid resource path '%s': expected "
		    "REPO/TYPE/TAG, each of A-Z a-z 0-9 _ . -", argv[optind]);
		return NULL;
	}
	return p;
}

int
cmd_resource_put(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "value", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct error err = { "" };
	const char *file = NULL, *value = NULL, *rpath;
	uint8_t *data = NULL;
	size_t len = 0;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'V':
			value = optarg;
			break;
		case 'h':
			return ctl_help(ctx);
		default:
			return ctl_bad_option(ctx, ch, argv);
		}
	}
	if ((rpath = path_operand(ctx, argc, argv, &rc)) == NULL)
		return rc;
	if ((file == NULL) == (value == NULL))
		return ctl_usage(ctx, "give exactly one of --file FILE and "
		    "--value STRING");
	if (file != NULL) {
		if (file_read_all(file, RESOURCE_FILE_MAX, &data, &len,
		    &err) == -1)
			return ctl_fail("%s", err.msg);
		rc = admin_resource(ctx, "POST", rpath, data, len);
		secret_free(data, len);
	} else {
		len = strlen(value);
		rc = admin_resource(ctx, "POST", rpath, value, len);
	}
	if (rc == EXIT_OK)
		printf("stored %s (%zu bytes)\n", rpath, len);
	return rc;
}

int
cmd_resource_delete(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rpath;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h')
			return ctl_help(ctx);
		return ctl_bad_option(ctx, ch, argv);
	}
	if ((rpath = path_operand(ctx, argc, argv, &rc)) == NULL)
		return rc;
	rc = admin_resource(ctx, "DELETE", rpath, NULL, 0);
	if (rc == EXIT_OK)
		printf("deleted %s\n", rpath);
	return rc;
}
