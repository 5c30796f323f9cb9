/*
 * policybench.c: what policy evaluation costs per attestation and per
 * resource request, in process (no HTTP): the shipped default_cpu policy
 * on a sample TEE's claims with its reference values registered (the RVPS
 * on an encrypted SQLite store, as trusteed runs it), and the default
 * resource policy on an affirming token's claims. Prints µs p50/p99 per
 * evaluation and evaluations/s, single-threaded and with several threads,
 * and the number of Lua states created, which must stay at one per thread
 * (no state per request).
 *
 * Usage: policybench [--iterations N] [--threads T] [--json]
 * Exit status 0 when every evaluation gave the expected answer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/policy.h"
#include "../../server/trusteed.h"

struct bench_phase {
	const char *name;
	int resource;		/* 0: default_cpu appraisal */
	int threads;
	long iterations;	/* per thread */
	uint64_t *ns;		/* one sample per evaluation */
	int failures;
	double wall_s;
	uint64_t states_before, states_after;
};

struct bench_worker {
	struct bench_phase *ph;
	long first;
	int failures;
};

static json_t *bench_input, *bench_claims, *bench_request;

static json_t *
bench_json(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fatalx("bad JSON: %s", jerr.text);
	return j;
}

static int
bench_one(int resource)
{
	char reason[POLICY_REASON_MAX];
	struct error err;
	json_t *ext = NULL;
	int v[8], allowed = 0;

	if (resource)
		return policy_resource(bench_claims, bench_request, &allowed,
		    reason, NULL, &err) == 0 && allowed ? 0 : -1;
	if (policy_appraise("default", "cpu", bench_input, v, &ext,
	    &err) != 0)
		return -1;
	json_decref(ext);
	/* affirming: executables 3, hardware 2, configuration 2 */
	return v[2] == 3 && v[4] == 2 && v[1] == 2 ? 0 : -1;
}

static void *
bench_worker(void *arg)
{
	struct bench_worker *w = arg;
	long i;
	uint64_t t0;

	for (i = 0; i < w->ph->iterations; i++) {
		t0 = now_mono_ns();
		if (bench_one(w->ph->resource) != 0)
			w->failures++;
		w->ph->ns[w->first + i] = now_mono_ns() - t0;
	}
	return NULL;
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
bench_run(struct bench_phase *ph)
{
	struct bench_worker w[64];
	pthread_t t[64];
	struct policy_stats st;
	uint64_t t0;
	long total = ph->iterations * ph->threads;
	int i;

	ph->ns = calloc((size_t)total, sizeof(*ph->ns));
	if (ph->ns == NULL)
		fatalx("out of memory");
	policy_stats(&st);
	ph->states_before = st.states_created;
	t0 = now_mono_ns();
	for (i = 0; i < ph->threads; i++) {
		w[i].ph = ph;
		w[i].first = i * ph->iterations;
		w[i].failures = 0;
		if (pthread_create(&t[i], NULL, bench_worker, &w[i]) != 0)
			fatalx("pthread_create failed");
	}
	for (i = 0; i < ph->threads; i++) {
		pthread_join(t[i], NULL);
		ph->failures += w[i].failures;
	}
	ph->wall_s = (double)(now_mono_ns() - t0) / 1e9;
	policy_stats(&st);
	ph->states_after = st.states_created;
	qsort(ph->ns, (size_t)total, sizeof(*ph->ns), bench_cmp);
}

static double
bench_pct(const struct bench_phase *ph, double p)
{
	long n = ph->iterations * ph->threads;
	long i = (long)(p * (double)(n - 1));

	return (double)ph->ns[i] / 1000.0;
}

static void
bench_rv(const char *name, const char *value)
{
	struct error err;
	json_t *v = bench_json(value);

	if (rvps_add(name, v, 0, "policybench", NULL, &err) != 0)
		fatalx("rvps_add %s: %s", name, err.msg);
	json_decref(v);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/policybench.XXXXXX", db[128];
	struct bench_phase ph[4];
	struct policy_stats st;
	struct config cfg;
	struct error err;
	struct store *sto;
	uint8_t key[32];
	long iterations = 20000;
	int threads = 4, json = 0, i, nph, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = atol(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: policybench [--iterations N] "
			    "[--threads T] [--json]\n");
			return 2;
		}
	}
	if (iterations < 10 || threads < 1 || threads > 64) {
		fprintf(stderr, "policybench: --iterations >= 10, --threads "
		    "1..64\n");
		return 2;
	}
	log_init("policybench", LOG_LVL_WARN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(db, sizeof(db), "%s/trustee.db", dir);
	randombytes_buf(key, sizeof(key));
	if ((sto = store_open_key(&store_backend_sqlite, db, key, &err)) == NULL)
		fatalx("store_open: %s", err.msg);
	config_defaults(&cfg);
	if (rvps_init(sto, &err) != 0 || policy_init(sto, &cfg, &err) != 0)
		fatalx("init: %s", err.msg);
	bench_rv("svn", "[\"1\"]");
	bench_rv("launch_digest", "[\"abcde\"]");
	bench_rv("major_version", "1");
	bench_rv("minimum_minor_version", "1");
	bench_input = bench_json("{\"sample\": {\"svn\": \"1\", "
	    "\"launch_digest\": \"abcde\", \"platform_version\": {\"major\": 1,"
	    " \"minor\": 4}, \"debug\": false}, \"report_data\": \"AAAA\", "
	    "\"runtime_data_claims\": {\"nonce\": \"bm9uY2U=\", \"tee-pubkey\":"
	    " {\"kty\": \"EC\", \"crv\": \"P-256\", \"alg\": \"ECDH-ES+A256KW\","
	    " \"x\": \"AAAA\", \"y\": \"AAAA\"}}}");
	bench_claims = bench_json("{\"submods\": {\"cpu0\": {\"ear.status\": "
	    "\"affirming\", \"ear.trustworthiness-vector\": {\"executables\": "
	    "3, \"hardware\": 2, \"configuration\": 2}, "
	    "\"ear.veraison.annotated-evidence\": {\"snp\": {}}}}, "
	    "\"iat\": 1, \"exp\": 2}");
	bench_request = bench_json("{\"plugin\": \"resource\", "
	    "\"resource-path\": [\"default\", \"key\", \"one\"], \"query\": {},"
	    " \"method\": \"GET\"}");

	memset(ph, 0, sizeof(ph));
	ph[0] = (struct bench_phase){ "default_cpu (sample, RVs)", 0, 1,
	    iterations, NULL, 0, 0, 0, 0 };
	ph[1] = (struct bench_phase){ "resource_default", 1, 1, iterations,
	    NULL, 0, 0, 0, 0 };
	ph[2] = (struct bench_phase){ "default_cpu threaded", 0, threads,
	    iterations / threads, NULL, 0, 0, 0, 0 };
	ph[3] = (struct bench_phase){ "resource threaded", 1, threads,
	    iterations / threads, NULL, 0, 0, 0, 0 };
	nph = 4;
	/* warm up: one state per thread is created on first use */
	for (i = 0; i < nph; i++)
		bench_run(&ph[i]);

	if (!json) {
		printf("%-28s %7s %8s %8s %9s %10s %8s %8s\n", "phase",
		    "threads", "p50_us", "p99_us", "max_us", "evals/s",
		    "evals", "states+");
	}
	for (i = 0; i < nph; i++) {
		long n = ph[i].iterations * ph[i].threads;
		double rate = ph[i].wall_s > 0 ? (double)n / ph[i].wall_s : 0;

		if (json)
			printf("{\"phase\":\"%s\",\"threads\":%d,\"evals\":%ld,"
			    "\"p50_us\":%.1f,\"p99_us\":%.1f,\"evals_per_s\":"
			    "%.0f,\"states_created\":%llu,\"failures\":%d}\n",
			    ph[i].name, ph[i].threads, n, bench_pct(&ph[i],
			    0.50), bench_pct(&ph[i], 0.99), rate,
			    (unsigned long long)(ph[i].states_after -
			    ph[i].states_before), ph[i].failures);
		else
			printf("%-28s %7d %8.1f %8.1f %9.1f %10.0f %8ld "
			    "%8llu\n", ph[i].name, ph[i].threads,
			    bench_pct(&ph[i], 0.50), bench_pct(&ph[i], 0.99),
			    bench_pct(&ph[i], 1.0), rate, n,
			    (unsigned long long)(ph[i].states_after -
			    ph[i].states_before));
		if (ph[i].failures > 0) {
			fprintf(stderr, "policybench: %s: %d wrong answers\n",
			    ph[i].name, ph[i].failures);
			rc = 1;
		}
		/* a new state only for a thread's first evaluation */
		if (ph[i].states_after - ph[i].states_before >
		    (uint64_t)ph[i].threads) {
			fprintf(stderr, "policybench: %s created %llu Lua "
			    "states for %d thread(s)\n", ph[i].name,
			    (unsigned long long)(ph[i].states_after -
			    ph[i].states_before), ph[i].threads);
			rc = 1;
		}
		free(ph[i].ns);
	}
	policy_stats(&st);
	if (!json)
		printf("Lua states created in total: %llu for %llu evaluations "
		    "(one per thread; %llu compiles)\n",
		    (unsigned long long)st.states_created,
		    (unsigned long long)st.evaluations,
		    (unsigned long long)st.compiles);
	json_decref(bench_input);
	json_decref(bench_claims);
	json_decref(bench_request);
	policy_shutdown();
	rvps_shutdown();
	store_close(sto);
	config_free(&cfg);
	for (i = 0; i < 4; i++) {
		static const char *const sfx[] = { "", "-wal", "-shm",
		    "-journal" };
		char p[160];

		snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return rc;
}
