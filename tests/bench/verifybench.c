/*
 * verifybench.c: verifications per second of the attestation verifiers
 * on the real test vectors, with a warm cache.
 *
 * For each case the evidence is loaded and the verifier configured once
 * (VCEK, DCAP collateral directory), a fixed verification time inside the
 * vector's validity window is used, one verification warms the caches
 * (verified VEK chains, parsed collateral), then N verifications are
 * timed one by one. Printed per case: throughput, p50 and p99 latency,
 * and a machine-readable line
 *   RESULT tee=<tee> case=<name> n=<N> per_s=<x> p50_us=<x> p99_us=<x>
 *          wall_per_s=<x>
 * that tests/bench/verify.sh compares with `openssl speed`. per_s is N
 * over the CPU time this thread spent (CLOCK_THREAD_CPUTIME_ID), the same
 * divisor `openssl speed` uses by default (CPU time, not wall time), so
 * the two stay comparable on a busy machine; wall_per_s is N over the
 * summed wall-clock latencies, p50/p99 are wall-clock latencies.
 * Single-threaded: one verification at a time on one core.
 *
 * --cold drops the verifier's caches (DCAP collateral and PCK chains, SNP
 * VEK chains, NVIDIA device chains) before every verification, so each
 * one does all the work a verifier without a cache does: every
 * signature, chain and collateral parse (tests/bench/peers.sh compares
 * that with other verifiers). The time to drop the caches is not counted:
 * CPU time is summed around each verification only.
 * Cases marked peer-only run only when named with --case; a case with an
 * expected rejection counts a verification that fails with exactly that
 * reason as done (and any other outcome as a failure).
 * Usage: verifybench [--vectors DIR] [-n N] [--only TEE[,TEE...]]
 *                    [--case NAME[,NAME...]] [--cold]
 * DIR defaults to $TRUSTEE_TESTVECTORS, then tests/vectors. The RESULT
 * line ends with mode=warm|cold and outcome=accepted|rejected.
 * Exit status: 0, 1 if a verification failed, 2 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/util.h"
#include "../../verifier/dcap.h"
#include "../../verifier/nvidia.h"
#include "../../verifier/snp.h"
#include "../../verifier/verifier.h"

struct bench_case {
	const char *name;	/* label */
	const char *tee;
	const char *dir;	/* vector directory */
	const char *file;	/* evidence file in dir */
	int raw;		/* file is raw binary (wrap_raw) */
	int quote_json;		/* wrap a raw quote as {"quote": b64} */
	const char *vcek;	/* snp_vek_file, in dir */
	int collateral;		/* dcap_collateral = dir */
	const char *at;		/* verify at (inside the window) */
	const char *report_data_hex;	/* expected report data, or NULL */
	const char *expect_error;	/* expected rejection, or NULL */
	int peer_only;		/* only with --case */
};

static const struct bench_case bench_cases[] = {
	{ "snp-genoa-evidence-json", "snp", "snp-genoa-vcek-2",
	  "evidence.json", 0, 0, NULL, 0, "2026-01-01T00:00:00Z", NULL, NULL, 0 },
	{ "snp-milan-raw-vcek", "snp", "snp-milan-vcek", "report.bin", 1, 0,
	  "vcek.der", 0, "2026-01-01T00:00:00Z", NULL, NULL, 0 },
	{ "tdx-v4-uptodate", "tdx", "tdx-v4-uptodate", "quote.bin", 0, 1,
	  NULL, 1, "2025-07-04T00:00:00Z", NULL, NULL, 0 },
	{ "sgx-v3-collateral", "sgx", "sgx-v3-collateral", "quote.bin", 0, 1,
	  NULL, 1, "2025-07-04T00:00:00Z", NULL, NULL, 0 },
	{ "tpm-quote-rsa", "tpm", "tpm-quote-rsa", "evidence.json", 0, 0,
	  NULL, 0, "2026-01-01T00:00:00Z", NULL, NULL, 0 },
	/* One P-384 report signature per verification once the device
	 * chain is cached; the nonce binding is checked too. */
	{ "nvidia-hopper-h100", "nvidia", "nvidia-hopper-coco",
	  "evidence.json", 0, 0, NULL, 0, "2026-01-01T00:00:00Z",
	  "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec"
	  "e279b616efefc2aae21da80cf5581250", NULL, 0 },
	/* For tests/bench/peers.sh: every signature and chain is valid, the
	 * TCB level is not supported, so the verification is a rejection
	 * (dcap-qvl rejects it too). */
	{ "tdx-v5-td15-tcb-notsupported", "tdx", "tdx-v5-td15-tcb-notsupported",
	  "quote.bin", 0, 1, NULL, 1, "2026-03-01T00:00:00Z", NULL,
	  "TCB level not supported", 1 },
};

static int bench_cold;

/* Drop the verifier caches this case would use (--cold). */
static void
bench_drop_caches(const char *tee)
{
	if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0)
		dcap_cache_flush();
	else if (strcmp(tee, "snp") == 0)
		snp_cache_clear();
	else if (strcmp(tee, "nvidia") == 0)
		nvidia_cache_clear();
}

/* One verification: 0 done as expected (accepted, or rejected with the
 * expected reason), -1 otherwise with err set. */
static int
bench_verify_once(const struct bench_case *bc,
    const struct verifier_backend *b, const struct verifier_input *in,
    struct error *err)
{
	json_t *claims = NULL;
	int rc = b->verify(in, &claims, err);

	json_decref(claims);
	if (bc->expect_error == NULL)
		return rc == 0 ? 0 : -1;
	if (rc == 0)
		return error_set(err, "accepted, expected the rejection \"%s\"",
		    bc->expect_error);
	if (strstr(err->msg, bc->expect_error) == NULL)
		return error_prefix(err, "rejected, but not with \"%s\"",
		    bc->expect_error);
	return 0;
}

/* CPU time of the calling thread, in nanoseconds. */
static uint64_t
bench_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t
bench_percentile(const uint64_t *v, size_t n, unsigned pct)
{
	size_t k = (n * pct + 99) / 100;

	if (k == 0)
		k = 1;
	return v[k - 1];
}

static json_t *
bench_load(const struct bench_case *bc, const char *vecdir, char **vcek_path,
    char **coll_path, struct error *err)
{
	const struct verifier_backend *b = verifier_lookup(bc->tee);
	char *path = xasprintf("%s/%s/%s", vecdir, bc->dir, bc->file);
	json_t *ev = NULL;
	uint8_t *data;
	size_t len;

	*vcek_path = bc->vcek != NULL ? xasprintf("%s/%s/%s", vecdir, bc->dir,
	    bc->vcek) : NULL;
	*coll_path = bc->collateral ? xasprintf("%s/%s", vecdir, bc->dir) :
	    NULL;
	if (file_read_all(path, 16u << 20, &data, &len, err) != 0) {
		free(path);
		return NULL;
	}
	free(path);
	if (bc->raw) {
		struct verifier_config cfg = { 0 };

		cfg.snp_vek_file = *vcek_path;
		verifier_configure(&cfg);
		if (b->wrap_raw == NULL)
			error_set(err, "%s has no raw form", bc->tee);
		else
			(void)b->wrap_raw(data, len, &ev, err);
	} else if (bc->quote_json) {
		char *q = b64_encode(data, len, B64_STD);

		ev = json_pack("{s:s, s:n}", "quote", q, "cc_eventlog");
		free(q);
	} else {
		json_error_t jerr;

		ev = json_loadb((const char *)data, len, 0, &jerr);
		if (ev == NULL)
			error_set(err, "%s/%s: %s", bc->dir, bc->file,
			    jerr.text);
	}
	free(data);
	return ev;
}

static int
bench_run(const struct bench_case *bc, const char *vecdir, unsigned n)
{
	const struct verifier_backend *b = verifier_lookup(bc->tee);
	struct verifier_config cfg = { 0 };
	struct verifier_input in;
	struct error err = { "" };
	char *vcek = NULL, *coll = NULL;
	uint8_t rd[64];
	size_t rdlen = 0;
	uint64_t *lat, total = 0, t0, cpu0, cpu;
	json_t *ev;
	int64_t at;
	unsigned i;
	int rc = 1;

	if (b == NULL) {
		printf("%-24s skipped: no %s verifier in this build\n",
		    bc->name, bc->tee);
		return 0;
	}
	ev = bench_load(bc, vecdir, &vcek, &coll, &err);
	if (ev == NULL) {
		printf("%-24s FAILED to load: %s\n", bc->name, err.msg);
		goto out;
	}
	cfg.snp_vek_file = vcek;
	cfg.dcap_collateral = coll;
	verifier_configure(&cfg);
	if (time_parse_rfc3339(bc->at, &at) != 0)
		abort();
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.now = at;
	if (bc->report_data_hex != NULL &&
	    hex_decode(bc->report_data_hex, rd, sizeof(rd), &rdlen) == 0) {
		in.report_data = rd;
		in.report_data_len = rdlen;
	}
	/* Warm-up (fills the caches) and correctness check. */
	if (bench_verify_once(bc, b, &in, &err) != 0) {
		printf("%-24s FAILED: %s\n", bc->name, err.msg);
		goto out;
	}
	lat = xcalloc(n, sizeof(*lat));
	cpu = 0;
	for (i = 0; i < n; i++) {
		if (bench_cold)
			bench_drop_caches(bc->tee);
		cpu0 = bench_cpu_ns();
		t0 = now_mono_ns();
		if (bench_verify_once(bc, b, &in, &err) != 0) {
			printf("%-24s FAILED at iteration %u: %s\n", bc->name, i,
			    err.msg);
			free(lat);
			goto out;
		}
		lat[i] = now_mono_ns() - t0;
		cpu += bench_cpu_ns() - cpu0;
		total += lat[i];
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	{
		double per_s = cpu > 0 ? (double)n * 1e9 / (double)cpu : 0;
		double wall = total > 0 ? (double)n * 1e9 / (double)total : 0;
		double p50 = (double)bench_percentile(lat, n, 50) / 1e3;
		double p99 = (double)bench_percentile(lat, n, 99) / 1e3;
		const char *mode = bench_cold ? "cold" : "warm";
		const char *outcome = bc->expect_error ? "rejected" :
		    "accepted";

		printf("%-24s %-4s %7u verifications %9.1f /s (CPU time; "
		    "wall %9.1f /s)  p50 %8.1f us  p99 %8.1f us  %s, %s\n",
		    bc->name, bc->tee, n, per_s, wall, p50, p99, mode, outcome);
		printf("RESULT tee=%s case=%s n=%u per_s=%.1f p50_us=%.1f "
		    "p99_us=%.1f wall_per_s=%.1f mode=%s outcome=%s\n", bc->tee,
		    bc->name, n, per_s, p50, p99, wall, mode, outcome);
	}
	free(lat);
	rc = 0;
out:
	verifier_configure(NULL);
	json_decref(ev);
	free(vcek);
	free(coll);
	return rc;
}

static void
bench_usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: verifybench [--vectors DIR] [-n N] [--only TEE[,TEE...]]\n"
	    "                   [--case NAME[,NAME...]] [--cold]\n"
	    "  --vectors DIR  test vectors (default $TRUSTEE_TESTVECTORS, "
	    "then tests/vectors)\n"
	    "  -n N           timed verifications per case (default 2000)\n"
	    "  --only LIST    only these TEEs (snp, tdx, sgx, tpm, nvidia)\n"
	    "  --case LIST    only these cases (by name; includes the "
	    "peer-only ones)\n"
	    "  --cold         drop the verifier caches before every "
	    "verification\n");
	exit(code);
}

static int
bench_selected(const char *only, const char *tee)
{
	size_t n = strlen(tee);
	const char *p = only;

	if (only == NULL)
		return 1;
	while ((p = strstr(p, tee)) != NULL) {
		if ((p == only || p[-1] == ',') && (p[n] == '\0' ||
		    p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vectors", required_argument, NULL, 'V' },
		{ "only", required_argument, NULL, 'o' },
		{ "case", required_argument, NULL, 'c' },
		{ "cold", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *vecdir = getenv("TRUSTEE_TESTVECTORS"), *only = NULL;
	const char *cases = NULL;
	unsigned long n = 2000;
	char *end;
	size_t i, nrun = 0;
	int ch, rc = 0;

	if (vecdir == NULL || *vecdir == '\0')
		vecdir = "tests/vectors";
	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			vecdir = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'c':
			cases = optarg;
			break;
		case 'C':
			bench_cold = 1;
			break;
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end != '\0' || n == 0 || n > 10000000)
				bench_usage(2);
			break;
		case 'h':
			bench_usage(0);
			break;
		default:
			bench_usage(2);
		}
	}
	if (optind != argc)
		bench_usage(2);
	if (sodium_init() < 0)
		return 1;
	printf("verifybench: single-threaded, %s, fixed time inside "
	    "each vector's validity window; vectors %s\n", bench_cold ?
	    "cold (caches dropped before every verification)" : "warm cache",
	    vecdir);
	for (i = 0; i < ARRAY_SIZE(bench_cases); i++) {
		if (!bench_selected(only, bench_cases[i].tee) ||
		    !(cases != NULL ? bench_selected(cases,
		    bench_cases[i].name) : !bench_cases[i].peer_only))
			continue;
		nrun++;
		if (bench_run(&bench_cases[i], vecdir, (unsigned)n) != 0)
			rc = 1;
	}
	if (nrun == 0) {
		printf("verifybench: FAILED: no case selected\n");
		rc = 1;
	}
	printf("az-snp-vtpm / az-tdx-vtpm: skipped (no vector that verifies: "
	    "no az-snp vector; the az-tdx vector has no DCAP collateral)\n");
	return rc;
}
