/*
 * cmd_attest.c: trusteectl playing a CoCo guest (attest, resource get):
 * auth + attest with the evidence of a real TEE (attest*.c) or the sample
 * TEE, bound to a fresh TEE key, then optionally one resource GET
 * decrypted with that key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/guest.h"
#include "../lib/httpc.h"
#include "attest.h"
#include "contract.h"
#include "trusteectl.h"

/* init-data TOML documents are small; the server caps bodies anyway. */
#define INIT_DATA_MAX	(1024u * 1024)

struct attest_opts {
	const char *tee;
	struct attest_cfg cfg;
	const char *evidence_out;	/* write the evidence sent here */
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
		{ "tcti", required_argument, NULL, 'C' },
		{ "ak-handle", required_argument, NULL, 'A' },
		{ "tsm-dir", required_argument, NULL, 'D' },
		{ "evidence-out", required_argument, NULL, 'E' },
		{ "imds-url", required_argument, NULL, 'I' },
		CTL_OPTS_END
	};
	unsigned long h;
	char *end;
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
		case 'C':
			o->cfg.tcti = optarg;
			break;
		case 'A':
			h = strtoul(optarg, &end, 16);
			if (*optarg == '\0' || *end != '\0' || h == 0 ||
			    h > 0xffffffffUL)
				return ctl_usage(ctx, "--ak-handle: expected a "
				    "hex TPM handle such as 0x81010002, got "
				    "'%s'", optarg);
			o->cfg.ak_handle = (uint32_t)h;
			break;
		case 'D':
			o->cfg.tsm_dir = optarg;
			break;
		case 'E':
			o->evidence_out = optarg;
			break;
		case 'I':
			if (strncmp(optarg, "http://", 7) != 0 &&
			    strncmp(optarg, "https://", 8) != 0)
				return ctl_usage(ctx, "--imds-url: expected an "
				    "http:// URL, got '%s'", optarg);
			o->cfg.imds_url = optarg;
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
	    (o->resource = contract_resource_path(resource)) == NULL)
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
	{
		const struct attester *a;
		struct error err;

		if (strcmp(o->tee, "auto") != 0 &&
		    attest_find(o->tee, &o->cfg, &a, &err) != 0)
			return ctl_usage(ctx, "--tee: %s", err.msg);
	}
	o->cfg.timeout_s = ctx->timeout_s;
	return -1;
}

/*
 * Report a guest-side failure. Transport errors (httpc names the origin
 * first: "https://host:port: connection failed") exit EXIT_CONN; a
 * refusal ("POST /kbs/v0/attest: 401 ...") or a local failure EXIT_FAIL.
 */
int
ctl_guest_fail(const struct error *err)
{
	int conn = strncmp(err->msg, "http://", 7) == 0 ||
	    strncmp(err->msg, "https://", 8) == 0;

	ctl_fail("%s", err->msg);
	return conn ? EXIT_CONN : EXIT_FAIL;
}

/* guest_attest_evidence's callback: the chosen attester. */
struct attest_call {
	const struct attester *a;
	const struct attest_cfg *cfg;
	const char *evidence_out;
};

static int
attest_call_evidence(void *arg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	const struct attest_call *ac = arg;
	char *text;
	int rc;

	if (ac->a->evidence(ac->cfg, rd, rdlen, evidence, err) != 0)
		return -1;
	if (ac->evidence_out == NULL)
		return 0;
	text = json_dumps(*evidence, JSON_INDENT(1));
	rc = text != NULL ? ctl_write_secret(ac->evidence_out, text,
	    strlen(text), err) : error_set(err, "cannot encode the evidence");
	free(text);
	if (rc != 0) {
		json_decref(*evidence);
		*evidence = NULL;
	}
	return rc;
}

int
ctl_guest_attest(struct guest *g, struct httpc *c, const char *tee_name,
    const struct attest_cfg *cfg, const char *evidence_out,
    const char *init_data, size_t init_len, struct error *err)
{
	struct attest_call ac = { NULL, cfg, evidence_out };

	if (attest_find(tee_name, cfg, &ac.a, err) != 0)
		return -1;
	return guest_attest_evidence(g, c, ac.a->tee, attest_call_evidence,
	    &ac, init_data, init_len, err);
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
	if (ctl_guest_attest(g, c, o->tee, &o->cfg, o->evidence_out,
	    (const char *)init, initlen, &err) == -1) {
		rc = ctl_guest_fail(&err);
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
			rc = ctl_guest_fail(&err);
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
