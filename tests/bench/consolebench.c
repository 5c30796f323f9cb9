/*
 * consolebench.c: how fast the console's API calls stay with a large
 * store: fills an encrypted SQLite store with N attestation log entries
 * (default 100,000; realistic records with a decoded EAR token, 15 %
 * refusals) and M resources (default 10,000), then runs every call the
 * console's pages make, in process through api_handle with a console
 * session cookie (session lookup, user check, CSRF rules included, no
 * TLS), and prints p50/p99/max per call.
 *
 * Usage: consolebench [--entries N] [--resources M] [--iterations K]
 *                     [--dir DIR] [--json]
 * DIR holds the scratch database (default /dev/shm when it exists, so the
 * fill does not wait for a disk's fsyncs; the measured calls only read).
 * Exit status 0 when every call answered 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/api.h"
#include "../../server/audit.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/policy.h"
#include "../../server/resource.h"
#include "../../server/trusteed.h"

static const char *const bench_tees[] = { "sample", "snp", "tdx",
	"az-snp-vtpm" };

static struct config bench_cfg;
static struct kbs_context bench_ctx;
static char bench_cookie[128];
static int bench_failures;

static json_t *
bench_record(long i)
{
	const char *tee = bench_tees[i % 4];
	int refused = i % 100 < 15;
	char src[32], jti[40];
	json_t *r, *claims, *vec;

	snprintf(src, sizeof(src), "10.%ld.%ld.%ld", (i / 65536) % 256,
	    (i / 256) % 256, i % 256);
	snprintf(jti, sizeof(jti), "%032lx", i);
	claims = json_pack("{s:{s:s, s:s, s:{s:i, s:i}, s:b, s:s}, "
	    "s:s, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}}", tee,
	    "svn", "1", "launch_digest", "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	    "c0ffee00c0ffee00", "platform_version", "major", 1, "minor", 55,
	    "debug", 0, "measurement", "8f3b9e2a61d04c57b1a3f0e9d2c8b7a6958473"
	    "6251403f2e1d0c", "report_data", "uZzbiflbEM43UkQO4jQm03FTyk0qEaEovGO"
	    "x2qbeLufH+lqkNB5aPwPplo9iSt+T", "runtime_data_claims",
	    "additional-evidence", "", "nonce", "ZwXyHQKq0MIZef03CbVrGzv7tVxO+6"
	    "xG+wkhbKZOSbA=", "tee-pubkey", "kty", "EC", "crv", "P-256", "alg",
	    "ECDH-ES+A256KW", "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
	    "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
	vec = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
	    "instance-identity", 0, "configuration", 2, "executables", 3,
	    "file-system", 0, "hardware", 2, "runtime-opaque", 0,
	    "storage-opaque", 0, "sourced-data", 0);
	r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "endpoint",
	    "/kbs/v0/attest", "tee", tee, "source", src, "verdict", refused ?
	    "refused" : i % 10 == 1 ? "warning" : "affirming", "reason",
	    refused ? "tdx evidence rejected: TCB status OutOfDate is not "
	    "accepted by the policy" : "");
	if (refused) {
		json_object_set_new(r, "claims", claims);
		json_object_set_new(r, "trust_vector", json_null());
		json_decref(vec);
	} else {
		json_object_set_new(r, "trust_vector", json_deep_copy(vec));
		json_object_set_new(r, "policy_id", json_string("default"));
		json_object_set_new(r, "token", json_pack("{s:s, s:I, s:I}",
		    "jti", jti, "exp", (json_int_t)1800000300, "iat",
		    (json_int_t)1800000000));
		json_object_set_new(r, "ear", json_pack("{s:{s:s, s:s, s:s}, "
		    "s:{s:s, s:I, s:I, s:s, s:s, s:s, s:{s:{s:s, s:o, s:s, "
		    "s:o}}}}", "header", "alg", "ES256", "typ", "JWT", "kid",
		    "ear-key-1", "payload", "eat_profile", "tag:github.com,2024:"
		    "confidential-containers/Trustee", "iat", (json_int_t)
		    1800000000, "exp", (json_int_t)1800000300, "jti", jti, "iss",
		    "CoCo-Attestation-Service", "ear.verifier-id", "trusteed",
		    "submods", "cpu0", "ear.status", "affirming",
		    "ear.trustworthiness-vector", vec,
		    "ear.appraisal-policy-id", "default",
		    "ear.veraison.annotated-evidence", claims));
	}
	json_object_set_new(r, "latency_us", json_integer(4000 + i % 3000));
	return r;
}

static void
bench_fill(long entries, long resources)
{
	struct error err;
	char name[64], val[64];
	uint64_t t0 = now_mono_ns();
	json_t *r;
	long i;

	for (i = 0; i < entries; i++) {
		r = bench_record(i);
		if (attlog_append(r, NULL, &err) != 0)
			fatalx("attlog_append: %s", err.msg);
		json_decref(r);
	}
	fprintf(stderr, "consolebench: %ld attestation log entries in %.1f s\n",
	    entries, (double)(now_mono_ns() - t0) / 1e9);
	t0 = now_mono_ns();
	for (i = 0; i < resources; i++) {
		snprintf(name, sizeof(name), "repo%ld/type%ld/tag%ld", i % 20,
		    (i / 20) % 25, i);
		randombytes_buf(val, 32);
		if (resource_put(bench_ctx.store, name, val, 32, NULL, "bench",
		    NULL, NULL, &err) != 0)
			fatalx("resource_put: %s", err.msg);
	}
	fprintf(stderr, "consolebench: %ld resources in %.1f s\n", resources,
	    (double)(now_mono_ns() - t0) / 1e9);
}

/* One GET through api_handle with the console cookie; returns ns and the
 * body (when want_body). */
static uint64_t
bench_call(const char *target, char **body)
{
	struct http_request req;
	struct http_response resp;
	struct http_header h[1];
	char *path = xstrdup(target), *q;
	uint64_t t0;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = HTTP_M_GET;
	req.method_name = "GET";
	req.target = (char *)target;
	if ((q = strchr(path, '?')) != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	req.path = path;
	h[0].name = "Cookie";
	h[0].value = bench_cookie;
	req.headers = h;
	req.nheaders = 1;
	req.body = (uint8_t *)"";
	snprintf(req.peer, sizeof(req.peer), "127.0.0.1:1");
	req.tls = 1;
	t0 = now_mono_ns();
	api_handle(&req, &resp, &bench_ctx);
	t0 = now_mono_ns() - t0;
	if (resp.status != 200) {
		bench_failures++;
		fprintf(stderr, "consolebench: %s answered %d: %.*s\n", target,
		    resp.status, (int)resp.body.len, (char *)resp.body.data);
	}
	if (body != NULL)
		*body = buf_cstr(&resp.body);
	else
		buf_free(&resp.body);
	buf_free(&resp.headers);
	free(path);
	return t0;
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct bench_case {
	const char *name;
	char *target;
	int iterations;
};

static json_t *
bench_run(const struct bench_case *c, int json)
{
	uint64_t *ns = xcalloc((size_t)c->iterations, sizeof(*ns));
	double p50, p99, max;
	int i;

	bench_call(c->target, NULL);		/* warm */
	for (i = 0; i < c->iterations; i++)
		ns[i] = bench_call(c->target, NULL);
	qsort(ns, (size_t)c->iterations, sizeof(*ns), bench_cmp);
	p50 = (double)ns[c->iterations / 2] / 1e6;
	p99 = (double)ns[(c->iterations * 99) / 100 < c->iterations ?
	    (c->iterations * 99) / 100 : c->iterations - 1] / 1e6;
	max = (double)ns[c->iterations - 1] / 1e6;
	free(ns);
	if (!json)
		printf("%-44s %6d %9.2f %9.2f %9.2f\n", c->name, c->iterations,
		    p50, p99, max);
	return json_pack("{s:s, s:s, s:i, s:f, s:f, s:f}", "call", c->name,
	    "target", c->target, "iterations", c->iterations, "p50_ms", p50,
	    "p99_ms", p99, "max_ms", max);
}

/* A member of the first item of a list answer. */
static char *
bench_first(const char *target, const char *member)
{
	char *body = NULL, *out;
	const char *v;
	json_t *j;

	bench_call(target, &body);
	j = json_loads(body, 0, NULL);
	v = json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "items"), 0), member));
	out = xstrdup(v != NULL ? v : "");
	json_decref(j);
	free(body);
	return out;
}

static char *
bench_cursor(const char *target)
{
	char *body = NULL, *out;
	const char *v;
	json_t *j;

	bench_call(target, &body);
	j = json_loads(body, 0, NULL);
	v = json_string_value(json_object_get(j, "next_cursor"));
	out = xstrdup(v != NULL ? v : "");
	json_decref(j);
	free(body);
	return out;
}

int
main(int argc, char **argv)
{
	long entries = 100000, resources = 10000;
	int iterations = 200, json = 0, i;
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	struct console_auth_config cc = { 1, 3600, 86400,
	    { 10, 3, 60, 900 } };
	char tok[CONSESS_TOKEN_LEN + 1], *db, *id, *cursor, *res, *deep;
	struct consess s;
	struct error err;
	uint8_t key[32];
	json_t *out;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
			entries = atol(argv[++i]);
		else if (strcmp(argv[i], "--resources") == 0 && i + 1 < argc)
			resources = atol(argv[++i]);
		else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = atoi(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: consolebench [--entries N] "
			    "[--resources M] [--iterations K] [--dir DIR] "
			    "[--json]\n");
			return 2;
		}
	}
	if (entries < 1 || resources < 1 || iterations < 10)
		fatalx("entries, resources >= 1 and iterations >= 10");
	log_init("consolebench", LOG_LVL_WARN);
	if (sodium_init() < 0)
		fatalx("libsodium");
	config_defaults(&bench_cfg);
	db = xasprintf("%s/consolebench.%ld.db", dir, (long)getpid());
	randombytes_buf(key, sizeof(key));
	bench_ctx.cfg = &bench_cfg;
	bench_ctx.store = store_open_key(&store_backend_sqlite, db, key, &err);
	if (bench_ctx.store == NULL || audit_init(bench_ctx.store, &err) != 0 ||
	    rvps_init(bench_ctx.store, &err) != 0 ||
	    policy_init(bench_ctx.store, &bench_cfg, &err) != 0 ||
	    token_init(bench_ctx.store, 300, &err) != 0 ||
	    attlog_init(bench_ctx.store, (size_t)entries, 3650L * 86400, 0,
	    &err) != 0 || console_auth_init(bench_ctx.store, &cc, &err) != 0 ||
	    users_add("bench", "admin", "bench-password", 14, "bench",
	    &err) != 0)
		fatalx("setup: %s", err.msg);
	metrics_init(&bench_cfg, bench_ctx.store);
	stats_init();
	bench_fill(entries, resources);
	for (i = 0; i < 200; i++)
		audit_record("bench (admin)", "resource.put", "repo/type/tag",
		    "ok", "");
	if (consess_create("bench", 1, "127.0.0.1", now_unix(), tok, &s,
	    &err) != 0)
		fatalx("session: %s", err.msg);
	snprintf(bench_cookie, sizeof(bench_cookie), "%s=%s", CONSOLE_COOKIE,
	    tok);

	id = bench_first("/api/v1/attestations?limit=1", "id");
	cursor = bench_cursor("/api/v1/attestations?limit=1000");
	res = bench_first("/api/v1/resources?limit=1&prefix=repo7/", "name");
	deep = xasprintf("/api/v1/attestations?limit=50&cursor=%s", cursor);
	{
		const struct bench_case cases[] = {
			{ "session check (GET /whoami)", "/api/v1/whoami",
			    iterations },
			{ "dashboard (GET /stats)", "/api/v1/stats",
			    iterations },
			{ "log, first page (50)",
			    "/api/v1/attestations?limit=50", iterations },
			{ "log, next page (after 1000)", deep, iterations },
			{ "log, verdict=refused (50)",
			    "/api/v1/attestations?limit=50&verdict=refused",
			    iterations },
			{ "log, tee+source: 1 match in 100k",
			    "/api/v1/attestations?limit=50&tee=tdx&source="
			    "10.0.1.6", iterations },
			{ "log, entry detail", xasprintf(
			    "/api/v1/attestations/%s", id), iterations },
			{ "resources, first page (1000)",
			    "/api/v1/resources?limit=1000", iterations / 10 },
			{ "resources, prefix repo7/ (1000)",
			    "/api/v1/resources?limit=1000&prefix=repo7/",
			    iterations / 10 },
			{ "resource detail", xasprintf("/api/v1/resources/%s",
			    res), iterations },
			{ "resource versions", xasprintf(
			    "/api/v1/resources/%s/versions", res), iterations },
			{ "audit, first page (50)", "/api/v1/audit?limit=50",
			    iterations },
			{ "policies", "/api/v1/policies", iterations },
			{ "reference values", "/api/v1/reference-values",
			    iterations },
		};
		size_t k;

		if (!json) {
			printf("consolebench: %ld attestation log entries, %ld "
			    "resources, console session, in process\n",
			    entries, resources);
			printf("%-44s %6s %9s %9s %9s\n", "call", "n",
			    "p50 ms", "p99 ms", "max ms");
		}
		out = json_array();
		for (k = 0; k < ARRAY_SIZE(cases); k++)
			json_array_append_new(out, bench_run(&cases[k], json));
		if (json) {
			json_t *o = json_pack("{s:I, s:I, s:o}", "entries",
			    (json_int_t)entries, "resources",
			    (json_int_t)resources, "calls", out);

			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else
			json_decref(out);
	}
	free(id);
	free(cursor);
	free(res);
	free(deep);
	console_auth_shutdown();
	attlog_shutdown();
	token_shutdown();
	policy_shutdown();
	rvps_shutdown();
	audit_shutdown();
	store_close(bench_ctx.store);
	for (i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", db, i == 0 ? "" : i == 1 ? "-wal" :
		    "-shm");

		unlink(p);
		free(p);
	}
	free(db);
	return bench_failures == 0 ? 0 : 1;
}
