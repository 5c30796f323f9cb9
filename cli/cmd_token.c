/*
 * cmd_token.c: trusteectl token decode|verify, for EAR attestation tokens
 * (and any compact JWS).
 *
 * decode works offline: it parses the JWT and shows header, times, the
 * EAR appraisals and the payload; it checks nothing.
 * verify checks the signature against the server's published keys
 * (GET /.well-known/jwks.json, the key named by the header "kid"; the
 * "jwk" the token carries in its header is never trusted) and the
 * exp/nbf/iat times, then shows the same summary. Exit 1 when the token
 * does not verify.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../lib/jwk.h"
#include "../lib/jws.h"
#include "trusteectl.h"

/* Tokens with verbose evidence (GPU) reach a few hundred KiB. */
#define TOKEN_MAX	(4u * 1024 * 1024)
/* Clock skew tolerated on exp/nbf/iat, as Trustee's verifier allows. */
#define TOKEN_LEEWAY	60

/*
 * The token from its operand: "-" is standard input, an existing file is
 * read, anything else is the token itself. Surrounding whitespace is
 * dropped. Returns a malloc'd string or NULL after printing why.
 */
static char *
token_load(const char *arg)
{
	struct error err = { "" };
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, start = 0;

	if (strcmp(arg, "-") == 0 || stat(arg, &st) == 0) {
		if (ctl_read_input(arg, TOKEN_MAX, &data, &len, &err) == -1) {
			ctl_fail("%s", err.msg);
			return NULL;
		}
	} else {
		len = strlen(arg);
		data = (uint8_t *)xstrdup(arg);
	}
	while (start < len && strchr(" \t\r\n", data[start]) != NULL)
		start++;
	while (len > start && strchr(" \t\r\n", data[len - 1]) != NULL)
		len--;
	if (len == start) {
		free(data);
		ctl_fail("%s: empty token", strcmp(arg, "-") == 0 ?
		    "standard input" : arg);
		return NULL;
	}
	memmove(data, data + start, len - start);
	data[len - start] = '\0';
	return (char *)data;
}

/* "2026-11-22T16:00:00Z (in 4m)" / "(expired 2h ago)" style times. */
static void
print_time(const char *key, const json_t *v, int64_t now, int is_exp)
{
	char ts[TIME_RFC3339_LEN], line[96];
	int64_t t, d;

	if (v == NULL)
		return;
	if (!json_is_integer(v)) {
		output_kv_json(key, v);
		return;
	}
	t = json_integer_value(v);
	time_format_rfc3339(t, ts);
	d = t - now;
	if (is_exp && d <= 0)
		snprintf(line, sizeof(line), "%s (expired %llds ago)", ts,
		    (long long)-d);
	else if (is_exp)
		snprintf(line, sizeof(line), "%s (in %llds)", ts,
		    (long long)d);
	else
		snprintf(line, sizeof(line), "%s", ts);
	output_kv(key, line);
}

/* The AR4SI vector as "name=value ..." (only non-zero claims). */
static char *
vector_text(const json_t *vec)
{
	struct buf b = { 0 };
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)vec, k, v) {
		if (json_is_integer(v) && json_integer_value(v) == 0)
			continue;
		if (b.len > 0)
			buf_addstr(&b, " ");
		if (json_is_integer(v))
			buf_printf(&b, "%s=%lld", k,
			    (long long)json_integer_value(v));
		else
			buf_printf(&b, "%s=?", k);
	}
	if (b.len == 0)
		return xstrdup("(all 0)");
	return buf_cstr(&b);
}

/* Human summary of a parsed token (header, times, EAR submods, payload). */
static void
token_summary(const struct jws *j)
{
	const json_t *p = j->payload, *sub, *app;
	const char *name;
	int64_t now = now_unix();
	char *txt;

	output_kv("alg", j->alg);
	output_kv_json("kid", json_object_get(j->header, "kid"));
	output_kv_json("issuer", json_object_get(p, "iss"));
	output_kv_json("profile", json_object_get(p, "eat_profile"));
	print_time("issued", json_object_get(p, "iat"), now, 0);
	print_time("not before", json_object_get(p, "nbf"), now, 0);
	print_time("expires", json_object_get(p, "exp"), now, 1);
	sub = json_object_get(p, "submods");
	json_object_foreach((json_t *)sub, name, app) {
		char *n = output_sanitize(name, 40), *st;
		const json_t *s = json_object_get(app, "ear.status");

		st = output_cell(s);
		txt = vector_text(json_object_get(app,
		    "ear.trustworthiness-vector"));
		printf("submod %s: status %s; %s\n", n, st, txt);
		free(n);
		free(st);
		free(txt);
	}
	printf("claims:\n");
	/* JSON escapes control characters; ENSURE_ASCII also the C1 set. */
	txt = json_dumps(p, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	if (txt != NULL)
		printf("%s\n", txt);
	free(txt);
}

/* Options of both subcommands: --json, --help, and (verify only, when
 * jwks is not NULL) --jwks. Returns -1 to go on. */
static int
token_opts(struct ctx *ctx, int argc, char **argv, const char **arg,
    int *jwks)
{
	static const struct option opts[] = {
		{ "jwks", no_argument, NULL, 'J' },
		CTL_OPTS_END_JSON
	};
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":jh", opts, &rc)) > 0) {
		/* 'J' */
		if (jwks == NULL)
			return ctl_usage(ctx, "unknown option '--jwks'");
		*jwks = 1;
	}
	if (ch == -1)
		return rc;
	return ctl_operands(ctx, argc, argv, 1, arg, "TOKEN (a token, a "
	    "file, or - for standard input)");
}

static struct jws *
token_parse(const char *arg)
{
	struct error err = { "" };
	struct jws *j;
	char *tok;

	if ((tok = token_load(arg)) == NULL)
		return NULL;
	j = jws_parse(tok, strlen(tok), &err);
	free(tok);
	if (j == NULL)
		ctl_fail("not a JWT: %s", err.msg);
	return j;
}

int
cmd_token_decode(struct ctx *ctx, int argc, char **argv)
{
	const char *arg = NULL;
	struct jws *j;
	json_t *out;
	int rc;

	if ((rc = token_opts(ctx, argc, argv, &arg, NULL)) != -1)
		return rc;
	if ((j = token_parse(arg)) == NULL)
		return EXIT_FAIL;
	if (ctx->json) {
		out = json_pack("{s:O, s:O}", "header", j->header, "claims",
		    j->payload);
		rc = output_json(out);
		json_decref(out);
	} else {
		token_summary(j);
		rc = EXIT_OK;
	}
	jws_free(j);
	return rc;
}

/*
 * Verify j against the JWKS keys: the one whose "kid" equals the header's,
 * or, when the header names none, each key in turn. Then the times.
 * Returns 0 or -1 with the reason; *kid_used names the key.
 */
static int
token_check(const struct jws *j, const json_t *jwks, const char **kid_used,
    struct error *err)
{
	const char *kid = json_string_value(json_object_get(j->header, "kid"));
	const json_t *keys = json_object_get(jwks, "keys"), *k;
	const json_t *exp, *nbf, *iat;
	struct error verr = { "" };
	int64_t now = now_unix();
	size_t i, tried = 0;
	int ok = 0;

	if (!json_is_array(keys))
		return error_set(err, "the server's JWKS has no \"keys\" "
		    "array");
	json_array_foreach(keys, i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));
		EVP_PKEY *pk = NULL;

		if (kid != NULL && (kk == NULL || strcmp(kk, kid) != 0))
			continue;
		tried++;
		if (jwk_to_pkey(k, &pk, &verr) == -1)
			continue;
		ok = jws_verify(j, pk, &verr) == 0;
		EVP_PKEY_free(pk);
		if (ok) {
			*kid_used = kk;
			break;
		}
	}
	if (!ok && tried == 0)
		return error_set(err, "no key with kid \"%s\" in the server's "
		    "JWKS (%zu keys): not issued by this server, or its "
		    "signing key was rotated out", kid != NULL ? kid : "",
		    json_array_size(keys));
	if (!ok)
		return error_set(err, "signature does not verify: %s",
		    verr.msg);
	exp = json_object_get(j->payload, "exp");
	nbf = json_object_get(j->payload, "nbf");
	iat = json_object_get(j->payload, "iat");
	if (!json_is_integer(exp))
		return error_set(err, "signature valid, but the token has no "
		    "integer exp claim");
	if (json_integer_value(exp) + TOKEN_LEEWAY <= now)
		return error_set(err, "signature valid, but the token expired "
		    "%llds ago", (long long)(now - json_integer_value(exp)));
	if (nbf != NULL && (!json_is_integer(nbf) ||
	    json_integer_value(nbf) - TOKEN_LEEWAY > now))
		return error_set(err, "signature valid, but the token is not "
		    "valid yet (nbf)");
	if (iat != NULL && (!json_is_integer(iat) ||
	    json_integer_value(iat) - TOKEN_LEEWAY > now))
		return error_set(err, "signature valid, but the token was "
		    "issued in the future (iat)");
	return 0;
}

/*
 * Ask the server (POST /api/v1/tokens/verify): it checks the token as the
 * KBS does. Returns an exit code; prints the verdict.
 */
static int
verify_on_server(struct ctx *ctx, const struct jws *j, const char *tok)
{
	json_t *body, *res = NULL;
	const char *why;
	int rc;

	body = json_pack("{s:s}", "token", tok);
	if (body == NULL)
		return ctl_fail("the token is not text");
	rc = apiclient_json(ctx, "POST", "/api/v1/tokens/verify", body, &res);
	json_decref(body);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json)
		output_json(res);
	if (!json_is_true(json_object_get(res, "valid"))) {
		char *w;

		why = json_string_value(json_object_get(res, "error"));
		w = output_sanitize(why != NULL ? why : "(no reason given)", 0);
		rc = ctl_fail("token does not verify: %s", w);
		free(w);
	} else if (!ctx->json) {
		printf("valid: verified by the server\n");
		token_summary(j);
	}
	json_decref(res);
	return rc;
}

/* Verify against GET /.well-known/jwks.json. Returns an exit code. */
static int
verify_jwks(struct ctx *ctx, const struct jws *j)
{
	struct error err = { "" };
	const char *kid = NULL;
	json_t *jwks = NULL, *out;
	int rc;

	rc = apiclient_call(ctx, "GET", "/.well-known/jwks.json", 0, NULL,
	    NULL, 0, &jwks);
	if (rc != EXIT_OK)
		return rc;
	if (token_check(j, jwks, &kid, &err) == -1) {
		rc = ctl_fail("token does not verify: %s", err.msg);
		if (ctx->json) {
			out = json_pack("{s:b, s:s, s:O, s:O}", "valid", 0,
			    "error", err.msg, "header", j->header, "claims",
			    j->payload);
			output_json(out);
			json_decref(out);
		}
	} else if (ctx->json) {
		out = json_pack("{s:b, s:s?, s:O, s:O}", "valid", 1, "kid",
		    kid, "header", j->header, "claims", j->payload);
		rc = output_json(out);
		json_decref(out);
	} else {
		char *k = output_sanitize(kid, 0);

		printf("valid: signed by the server's key %s (JWKS); not "
		    "expired\n", k);
		free(k);
		token_summary(j);
	}
	json_decref(jwks);
	return rc;
}

int
cmd_token_verify(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	const char *arg = NULL;
	struct jws *j;
	char *tok;
	int rc, jwks = 0;

	if ((rc = token_opts(ctx, argc, argv, &arg, &jwks)) != -1)
		return rc;
	if ((tok = token_load(arg)) == NULL)
		return EXIT_FAIL;
	if ((j = jws_parse(tok, strlen(tok), &err)) == NULL) {
		free(tok);
		return ctl_fail("not a JWT: %s", err.msg);
	}
	if (jwks || ctx->admin_key == NULL)
		rc = verify_jwks(ctx, j);
	else
		rc = verify_on_server(ctx, j, tok);
	free(tok);
	jws_free(j);
	return rc;
}
