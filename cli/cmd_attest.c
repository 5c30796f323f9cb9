/*
 * cmd_attest.c: trusteectl playing a CoCo guest (attest, resource get):
 * auth + attest with sample evidence bound to a fresh TEE key, then
 * optionally one resource GET decrypted with that key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/guest.h"
#include "../lib/httpc.h"
#include "trusteectl.h"

/* init-data TOML documents are small; the server caps bodies anyway. */
#define INIT_DATA_MAX	(1024u * 1024)

struct attest_opts {
	const char *tee;
	enum guest_key_alg alg;
	int bearer;
	const char *resource;	/* checked REPO/TYPE/TAG, or NULL */
	const char *init_data;	/* file */
	const char *out;
	const char *token_out;
	int print_token;
};

static int
key_alg_parse(const char *s, enum guest_key_alg *out)
{
	static const struct {
		const char *name;
		enum guest_key_alg alg;
	} tab[] = {
		{ "p256", GUEST_KEY_P256 }, { "p521", GUEST_KEY_P521 },
		{ "rsa-oaep-256", GUEST_KEY_RSA_OAEP256 },
		{ "rsa1_5", GUEST_KEY_RSA1_5 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		if (strcmp(s, tab[i].name) == 0) {
			*out = tab[i].alg;
			return 0;
		}
	}
	return -1;
}

/*
 * Options shared by attest and resource get; get takes the resource as
 * its operand instead of --resource and defaults --tee to sample.
 */
static int
parse_opts(struct ctx *ctx, int argc, char **argv, int is_get,
    struct attest_opts *o)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, 'T' },
		{ "key-alg", required_argument, NULL, 'a' },
		{ "rsa", no_argument, NULL, 'R' },
		{ "bearer", no_argument, NULL, 'b' },
		{ "resource", required_argument, NULL, 'r' },
		{ "init-data", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "token-out", required_argument, NULL, 'O' },
		{ "print-token", no_argument, NULL, 'P' },
		CTL_OPTS_END
	};
	const char *resource = NULL, *alg = NULL;
	int ch, rc, rsa = 0;

	memset(o, 0, sizeof(*o));
	o->alg = GUEST_KEY_P256;
	if (is_get)
		o->tee = "sample";
	while ((ch = ctl_getopt(ctx, argc, argv, ":o:h", opts, &rc)) > 0) {
		switch (ch) {
		case 'T':
			o->tee = optarg;
			break;
		case 'a':
			alg = optarg;
			break;
		case 'R':
			rsa = 1;
			break;
		case 'b':
			o->bearer = 1;
			break;
		case 'r':
			if (is_get)
				return ctl_usage(ctx, "unknown option "
				    "'--resource' (the resource is the "
				    "operand)");
			resource = optarg;
			break;
		case 'i':
			o->init_data = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'O':
			o->token_out = optarg;
			break;
		case 'P':
			o->print_token = 1;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if (is_get) {
		if (optind >= argc)
			return ctl_usage(ctx, "missing REPO/TYPE/TAG");
		resource = argv[optind++];
	}
	if (optind < argc)
		return ctl_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (o->tee == NULL)
		return ctl_usage(ctx, "missing --tee TEE");
	if (rsa && alg != NULL && strcmp(alg, "rsa-oaep-256") != 0)
		return ctl_usage(ctx, "--rsa conflicts with --key-alg %s", alg);
	if (rsa)
		o->alg = GUEST_KEY_RSA_OAEP256;
	else if (alg != NULL && key_alg_parse(alg, &o->alg) == -1)
		return ctl_usage(ctx, "--key-alg: expected p256, p521, "
		    "rsa-oaep-256 or rsa1_5, got '%s'", alg);
	if (resource != NULL &&
	    (o->resource = ctl_resource_path(resource)) == NULL)
		return ctl_usage(ctx, "invalid resource path '%s': expected "
		    "REPO/TYPE/TAG, each of A-Z a-z 0-9 _ . -", resource);
	if (o->resource == NULL) {
		if (o->bearer)
			return ctl_usage(ctx, "--bearer needs --resource");
		if (o->out != NULL)
			return ctl_usage(ctx, "--out needs --resource (use "
			    "--token-out for the token)");
	} else if (o->print_token && (o->out == NULL ||
	    strcmp(o->out, "-") == 0))
		return ctl_usage(ctx, "--print-token with a resource needs "
		    "--out FILE (stdout carries the token)");
	if (strcmp(o->tee, "sample") != 0)
		return ctl_usage(ctx, "evidence for TEE '%s' cannot be "
		    "produced here; only 'sample' is supported by trusteectl "
		    "attest", o->tee);
	return -1;
}

/*
 * Report a guest-side failure. Transport errors (httpc names the origin
 * first: "https://host:port: connection failed") exit EXIT_CONN; a
 * refusal ("POST /kbs/v0/attest: 401 ...") or a local failure EXIT_FAIL.
 */
static int
guest_fail(const struct error *err)
{
	int conn = strncmp(err->msg, "http://", 7) == 0 ||
	    strncmp(err->msg, "https://", 8) == 0;

	ctl_fail("%s", err->msg);
	return conn ? EXIT_CONN : EXIT_FAIL;
}

static int
run_guest(struct ctx *ctx, const struct attest_opts *o)
{
	struct error err = { "" };
	struct guest *g = NULL;
	struct httpc *c;
	uint8_t *init = NULL, *pt = NULL;
	size_t initlen = 0, ptlen = 0;
	const char *tok;
	char *line = NULL, *rpath = NULL;
	int rc = EXIT_FAIL;

	if (o->init_data != NULL && file_read_all(o->init_data,
	    INIT_DATA_MAX, &init, &initlen, &err) == -1)
		return ctl_fail("init-data: %s", err.msg);
	if ((c = ctx_http(ctx)) == NULL) {
		rc = ctx->http_rc;
		goto out;
	}
	if ((g = guest_new(o->alg, &err)) == NULL) {
		ctl_fail("%s", err.msg);
		goto out;
	}
	if (guest_attest(g, c, o->tee, (const char *)init, initlen,
	    &err) == -1) {
		rc = guest_fail(&err);
		goto out;
	}
	tok = guest_token(g);
	line = xasprintf("%s\n", tok);
	if (o->token_out != NULL &&
	    ctl_write_secret(o->token_out, line, strlen(line), &err) == -1) {
		ctl_fail("%s", err.msg);
		goto out;
	}
	if (o->print_token || (o->resource == NULL && o->token_out == NULL)) {
		if (ctl_write_secret(NULL, line, strlen(line), &err) == -1) {
			ctl_fail("%s", err.msg);
			goto out;
		}
	}
	if (o->resource != NULL) {
		rpath = xasprintf("resource/%s", o->resource);
		if (guest_get(g, c, rpath, o->bearer, &pt, &ptlen,
		    &err) == -1) {
			rc = guest_fail(&err);
			goto out;
		}
		if (ctl_write_secret(o->out, pt, ptlen, &err) == -1) {
			ctl_fail("%s", err.msg);
			goto out;
		}
	}
	rc = EXIT_OK;
out:
	secret_free(pt, ptlen);
	secret_free(init, initlen);
	secret_strfree(line);
	free(rpath);
	guest_free(g);
	return rc;
}

int
cmd_attest(struct ctx *ctx, int argc, char **argv)
{
	struct attest_opts o;
	int rc;

	if ((rc = parse_opts(ctx, argc, argv, 0, &o)) != -1)
		return rc;
	return run_guest(ctx, &o);
}

int
cmd_resource_get(struct ctx *ctx, int argc, char **argv)
{
	struct attest_opts o;
	int rc;

	if ((rc = parse_opts(ctx, argc, argv, 1, &o)) != -1)
		return rc;
	return run_guest(ctx, &o);
}
