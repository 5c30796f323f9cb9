/*
 * kbsbench.c: a load generator for trusteed's KBS protocol.
 *
 * Setup stores a random resource bench/kbs/secret through the admin API.
 * Phase "flows" then runs complete guest flows (auth, attest, one resource
 * GET with the session cookie) from --concurrency threads; phase "gets"
 * attests once per thread and repeats resource GETs on that session. Every
 * plaintext is checked against the stored bytes. Both phases are bounded by
 * a count and by --duration-limit. With --pid the server's CPU time
 * (/proc/PID/stat utime+stime) and peak RSS (/proc/PID/status VmHWM) are
 * sampled around each phase; the client's own CPU time (getrusage) is
 * reported too, because client and server usually share the machine.
 *
 * Exit status: 0 all operations succeeded, 1 some operation failed or a
 * plaintext mismatched (or setup failed), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <event2/thread.h>
#include <jansson.h>
#include <sodium.h>

#include "../../lib/admintoken.h"
#include "../../lib/guest.h"
#include "../../lib/httpc.h"
#include "../../lib/log.h"
#include "../../lib/util.h"

#define RESOURCE_PATH	"bench/kbs/secret"
#define REQ_TIMEOUT_S	30
#define ADMIN_TTL_S	300
/* A thread that cannot attest this many times in a row gives up, so a
 * server that refuses everything does not keep a thread spinning. */
#define ATTEST_TRIES	3

enum phase_kind { PHASE_FLOWS, PHASE_GETS };

struct options {
	const char *url;
	const char *cacert;
	const char *admin_key;
	unsigned concurrency;
	uint64_t flows;
	uint64_t gets;
	unsigned duration_s;
	pid_t pid;		/* 0: no server sampling */
	enum guest_key_alg alg;
	const char *alg_name;
	size_t resource_size;
	uint64_t max_errors;
	int json;
};

/* Shared by the workers of one phase. */
struct phase {
	const char *name;
	const char *unit;
	enum phase_kind kind;
	const struct options *opt;
	const uint8_t *secret;	/* the stored resource bytes */
	size_t secret_len;
	uint64_t total;
	uint64_t deadline_ns;
	atomic_uint_fast64_t next;	/* next operation index to take */
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t mismatches;
	atomic_int stop;	/* set once max_errors is reached */
	/* ready: workers are connected (and, for gets, attested); main
	 * then samples usage and sets deadline_ns; go: the timed part
	 * starts. The barriers also publish deadline_ns to the workers. */
	pthread_barrier_t ready, go;
	pthread_mutex_t err_lock;
	char first_err[sizeof(((struct error *)0)->msg)];
};

struct worker {
	pthread_t tid;
	struct phase *ph;
	struct httpc *c;
	uint64_t *lat;		/* ns, one per successful operation */
	size_t nlat, cap;
	uint64_t keygen_ns;	/* client-side key generation time */
	uint64_t nkeygen;
};

/* Resource sampling of the server process (when --pid) and of ourselves. */
struct usage {
	uint64_t srv_ticks;
	uint64_t srv_hwm_kib;
	int srv_ok;
	double self_cpu_s;
};

struct result {
	const char *name;
	const char *unit;
	uint64_t count;		/* successful operations */
	uint64_t errors;
	uint64_t mismatches;
	double wall_s;
	double p50, p90, p99, max;	/* ms */
	double keygen_ms_avg;	/* flows only, client side */
	int have_srv;
	double srv_cpu_s;
	double srv_hwm_mib;
	double self_cpu_s;
};

static void __attribute__((noreturn))
usage_exit(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "kbsbench: %s\n", msg);
	fprintf(stderr,
	    "usage: kbsbench --url URL --cacert FILE --admin-key FILE\n"
	    "    [--concurrency N] [--flows N] [--gets N] [--duration-limit S]"
	    "\n"
	    "    [--pid PID] [--key-alg p256|p521|rsa-oaep-256]\n"
	    "    [--resource-size BYTES] [--max-errors N] [--json]\n");
	exit(2);
}

/* Strict unsigned parse with bounds; exits on a bad value. */
static uint64_t
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	return v;
bad:
	fprintf(stderr, "kbsbench: %s: '%s' is not an integer in [%" PRIu64
	    ", %" PRIu64 "]\n", opt, s, min, max);
	exit(2);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_URL = 256, OPT_CACERT, OPT_ADMIN_KEY, OPT_CONC, OPT_FLOWS,
		OPT_GETS, OPT_DURATION, OPT_PID, OPT_ALG, OPT_SIZE,
		OPT_MAXERR, OPT_JSON, OPT_HELP
	};
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "admin-key", required_argument, NULL, OPT_ADMIN_KEY },
		{ "concurrency", required_argument, NULL, OPT_CONC },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "gets", required_argument, NULL, OPT_GETS },
		{ "duration-limit", required_argument, NULL, OPT_DURATION },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "key-alg", required_argument, NULL, OPT_ALG },
		{ "resource-size", required_argument, NULL, OPT_SIZE },
		{ "max-errors", required_argument, NULL, OPT_MAXERR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->concurrency = 16;
	o->flows = 2000;
	o->gets = 20000;
	o->duration_s = 60;
	o->alg = GUEST_KEY_P256;
	o->alg_name = "p256";
	o->resource_size = 64;
	o->max_errors = 100;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_URL:
			o->url = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_ADMIN_KEY:
			o->admin_key = optarg;
			break;
		case OPT_CONC:
			o->concurrency = (unsigned)parse_u64("--concurrency",
			    optarg, 1, 1024);
			break;
		case OPT_FLOWS:
			o->flows = parse_u64("--flows", optarg, 0, 100000000);
			break;
		case OPT_GETS:
			o->gets = parse_u64("--gets", optarg, 0, 100000000);
			break;
		case OPT_DURATION:
			o->duration_s = (unsigned)parse_u64("--duration-limit",
			    optarg, 1, 86400);
			break;
		case OPT_PID:
			o->pid = (pid_t)parse_u64("--pid", optarg, 1, INT_MAX);
			break;
		case OPT_ALG:
			if (strcmp(optarg, "p256") == 0)
				o->alg = GUEST_KEY_P256;
			else if (strcmp(optarg, "p521") == 0)
				o->alg = GUEST_KEY_P521;
			else if (strcmp(optarg, "rsa-oaep-256") == 0)
				o->alg = GUEST_KEY_RSA_OAEP256;
			else
				usage_exit("--key-alg: expected p256, p521 or "
				    "rsa-oaep-256");
			o->alg_name = optarg;
			break;
		case OPT_SIZE:
			o->resource_size = (size_t)parse_u64("--resource-size",
			    optarg, 1, 16 * 1024 * 1024);
			break;
		case OPT_MAXERR:
			o->max_errors = parse_u64("--max-errors", optarg, 1,
			    UINT64_MAX);
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case 'h':
		case OPT_HELP:
			usage_exit(NULL);
		default:
			usage_exit(NULL);
		}
	}
	if (optind != argc)
		usage_exit("unexpected argument");
	if (o->url == NULL || o->cacert == NULL || o->admin_key == NULL)
		usage_exit("--url, --cacert and --admin-key are required");
}

/*
 * Read utime+stime (clock ticks) from /proc/PID/stat and VmHWM (KiB) from
 * /proc/PID/status. The command name in stat may hold spaces or ')', so
 * fields are counted from the last ')'.
 */
static int
proc_sample(pid_t pid, uint64_t *ticks, uint64_t *hwm_kib, struct error *err)
{
	char path[64], line[256];
	uint8_t *stat = NULL;
	size_t len;
	unsigned long long ut, st;
	const char *p;
	FILE *f = NULL;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (file_read_all(path, 65536, &stat, &len, err) == -1)
		return -1;
	p = strrchr((char *)stat, ')');
	/* After ')': state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime ... */
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u"
	    " %*u %*u %llu %llu", &ut, &st) != 2) {
		free(stat);
		return error_set(err, "%s: cannot parse utime/stime", path);
	}
	free(stat);
	*ticks = ut + st;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return error_set(err, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long kib;

		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
			*hwm_kib = kib;
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found)
		return error_set(err, "%s: no VmHWM line", path);
	return 0;
}

static double
self_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
usage_sample(const struct options *o, struct usage *u)
{
	struct error err;

	memset(u, 0, sizeof(*u));
	u->self_cpu_s = self_cpu_seconds();
	if (o->pid == 0)
		return;
	if (proc_sample(o->pid, &u->srv_ticks, &u->srv_hwm_kib, &err) == -1)
		fprintf(stderr, "kbsbench: warning: %s\n", err.msg);
	else
		u->srv_ok = 1;
}

/* Count an error; keep the first message for the report; stop the phase
 * once --max-errors is reached. */
static void
phase_error(struct phase *ph, const char *msg)
{
	uint64_t n = atomic_fetch_add(&ph->errors, 1) + 1;

	if (n == 1) {
		pthread_mutex_lock(&ph->err_lock);
		snprintf(ph->first_err, sizeof(ph->first_err), "%s", msg);
		pthread_mutex_unlock(&ph->err_lock);
	}
	if (n >= ph->opt->max_errors)
		atomic_store(&ph->stop, 1);
}

/* Take the next operation slot; 0 when the count, the time limit or the
 * error limit ends the phase. */
static int
phase_take(struct phase *ph)
{
	if (atomic_load(&ph->stop))
		return 0;
	if (now_mono_ns() >= ph->deadline_ns)
		return 0;
	return atomic_fetch_add(&ph->next, 1) < ph->total;
}

static void
worker_record(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->lat = xrealloc(w->lat, w->cap * sizeof(*w->lat));
	}
	w->lat[w->nlat++] = ns;
}

/*
 * After a failed request the keep-alive connection may be dead or hold a
 * half-read response, so a fresh one is used for the next operation.
 */
static int
worker_reconnect(struct worker *w, struct error *err)
{
	httpc_free(w->c);
	w->c = httpc_new(w->ph->opt->url, w->ph->opt->cacert, REQ_TIMEOUT_S,
	    err);
	return w->c == NULL ? -1 : 0;
}

/* GET the bench resource and compare it with the stored bytes. Returns 0
 * ok, -1 request error (err set), 1 plaintext mismatch. */
static int
worker_get_verify(struct worker *w, struct guest *g, struct error *err)
{
	struct phase *ph = w->ph;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int rc;

	if (guest_get(g, w->c, "resource/" RESOURCE_PATH, 0, &pt, &ptlen,
	    err) == -1)
		return -1;
	rc = (ptlen == ph->secret_len &&
	    secret_equal(pt, ph->secret, ptlen)) ? 0 : 1;
	secret_free(pt, ptlen);
	return rc;
}

static struct guest *
worker_new_guest(struct worker *w, struct error *err)
{
	uint64_t t0 = now_mono_ns();
	struct guest *g;

	g = guest_new(w->ph->opt->alg, err);
	w->keygen_ns += now_mono_ns() - t0;
	w->nkeygen++;
	return g;
}

/* Latency covers auth + attest + GET (+ JWE decryption), not the TEE key
 * generation, which a real guest does once and which is client cost. */
static void
worker_flows(struct worker *w)
{
	struct phase *ph = w->ph;
	struct error err;

	while (phase_take(ph)) {
		struct guest *g;
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (w->c == NULL && worker_reconnect(w, &err) == -1) {
			phase_error(ph, err.msg);
			continue;
		}
		if ((g = worker_new_guest(w, &err)) == NULL) {
			phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		rc = guest_attest(g, w->c, "sample", NULL, 0, &err);
		if (rc == 0)
			rc = worker_get_verify(w, g, &err);
		t1 = now_mono_ns();
		guest_free(g);
		if (rc == -1) {
			phase_error(ph, err.msg);
			httpc_free(w->c);
			w->c = NULL;
		} else if (rc == 1) {
			atomic_fetch_add(&ph->mismatches, 1);
			phase_error(ph, "plaintext differs from the stored "
			    "resource");
		} else
			worker_record(w, t1 - t0);
	}
}

/* Attest once before the timed part of the "gets" phase. */
static struct guest *
worker_attest_session(struct worker *w, struct error *err)
{
	struct guest *g = NULL;
	int i;

	for (i = 0; i < ATTEST_TRIES; i++) {
		if (w->c == NULL && worker_reconnect(w, err) == -1)
			continue;
		if ((g = worker_new_guest(w, err)) == NULL)
			continue;
		if (guest_attest(g, w->c, "sample", NULL, 0, err) == 0)
			return g;
		guest_free(g);
		g = NULL;
		httpc_free(w->c);
		w->c = NULL;
	}
	return NULL;
}

/* GETs on the attested cookie session; after a failure the session is
 * re-established (untimed) before the next GET. */
static void
worker_gets(struct worker *w, struct guest *g)
{
	struct phase *ph = w->ph;
	struct error err;

	while (phase_take(ph)) {
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (g == NULL && (g = worker_attest_session(w, &err)) == NULL) {
			phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		rc = worker_get_verify(w, g, &err);
		t1 = now_mono_ns();
		if (rc == -1) {
			phase_error(ph, err.msg);
			guest_free(g);
			g = NULL;
			httpc_free(w->c);
			w->c = NULL;
		} else if (rc == 1) {
			atomic_fetch_add(&ph->mismatches, 1);
			phase_error(ph, "plaintext differs from the stored "
			    "resource");
		} else
			worker_record(w, t1 - t0);
	}
	guest_free(g);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase *ph = w->ph;
	struct guest *g = NULL;
	struct error err;

	err.msg[0] = '\0';
	if (worker_reconnect(w, &err) == -1)
		phase_error(ph, err.msg);
	if (ph->kind == PHASE_GETS && w->c != NULL &&
	    (g = worker_attest_session(w, &err)) == NULL)
		phase_error(ph, err.msg);
	pthread_barrier_wait(&ph->ready);
	pthread_barrier_wait(&ph->go);
	if (ph->kind == PHASE_FLOWS)
		worker_flows(w);
	else
		worker_gets(w, g);
	httpc_free(w->c);
	w->c = NULL;
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile (permille: 500 = p50) of a sorted array, in
 * ms. Integer arithmetic, so p90 of 10 values is the 9th, not the 10th. */
static double
percentile_ms(const uint64_t *v, size_t n, unsigned permille)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(((uint64_t)n * permille + 999) / 1000);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1e6;
}

static int
run_phase(const struct options *o, enum phase_kind kind, uint64_t total,
    const uint8_t *secret, size_t secret_len, struct result *res)
{
	struct phase ph;
	struct worker *w;
	struct usage u0, u1;
	uint64_t *all = NULL, t0, t1, keygen_ns = 0, nkeygen = 0;
	size_t nall = 0, i;
	unsigned n, started;

	memset(&ph, 0, sizeof(ph));
	ph.kind = kind;
	ph.name = kind == PHASE_FLOWS ? "flows" : "gets";
	ph.unit = kind == PHASE_FLOWS ? "flows/s" : "GETs/s";
	ph.opt = o;
	ph.secret = secret;
	ph.secret_len = secret_len;
	ph.total = total;
	atomic_init(&ph.next, 0);
	atomic_init(&ph.errors, 0);
	atomic_init(&ph.mismatches, 0);
	atomic_init(&ph.stop, 0);
	pthread_mutex_init(&ph.err_lock, NULL);
	n = o->concurrency;
	if (pthread_barrier_init(&ph.ready, NULL, n + 1) != 0 ||
	    pthread_barrier_init(&ph.go, NULL, n + 1) != 0) {
		fprintf(stderr, "kbsbench: pthread_barrier_init failed\n");
		return -1;
	}
	/* The untimed setup (connect, attest for gets) must not hit the
	 * deadline; the real one is set between the barriers. */
	ph.deadline_ns = UINT64_MAX;
	w = xcalloc(n, sizeof(*w));
	for (started = 0; started < n; started++) {
		w[started].ph = &ph;
		if (pthread_create(&w[started].tid, NULL, worker_main,
		    &w[started]) != 0) {
			fprintf(stderr, "kbsbench: pthread_create failed\n");
			/* The barrier needs n+1 arrivals: fail hard rather
			 * than deadlock. */
			exit(1);
		}
	}
	pthread_barrier_wait(&ph.ready);
	usage_sample(o, &u0);
	t0 = now_mono_ns();
	ph.deadline_ns = t0 + (uint64_t)o->duration_s * 1000000000ULL;
	pthread_barrier_wait(&ph.go);
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	t1 = now_mono_ns();
	usage_sample(o, &u1);

	for (i = 0; i < n; i++) {
		nall += w[i].nlat;
		keygen_ns += w[i].keygen_ns;
		nkeygen += w[i].nkeygen;
	}
	all = xcalloc(nall ? nall : 1, sizeof(*all));
	nall = 0;
	for (i = 0; i < n; i++) {
		if (w[i].nlat > 0)
			memcpy(all + nall, w[i].lat,
			    w[i].nlat * sizeof(*all));
		nall += w[i].nlat;
		free(w[i].lat);
	}
	qsort(all, nall, sizeof(*all), cmp_u64);

	memset(res, 0, sizeof(*res));
	res->name = ph.name;
	res->unit = ph.unit;
	res->count = nall;
	res->errors = atomic_load(&ph.errors);
	res->mismatches = atomic_load(&ph.mismatches);
	res->wall_s = (double)(t1 - t0) / 1e9;
	res->p50 = percentile_ms(all, nall, 500);
	res->p90 = percentile_ms(all, nall, 900);
	res->p99 = percentile_ms(all, nall, 990);
	res->max = nall ? (double)all[nall - 1] / 1e6 : 0;
	res->keygen_ms_avg = nkeygen ? (double)keygen_ns / 1e6 /
	    (double)nkeygen : 0;
	res->self_cpu_s = u1.self_cpu_s - u0.self_cpu_s;
	if (u0.srv_ok && u1.srv_ok) {
		long tck = sysconf(_SC_CLK_TCK);

		res->have_srv = 1;
		res->srv_cpu_s = (double)(u1.srv_ticks - u0.srv_ticks) /
		    (double)(tck > 0 ? tck : 100);
		res->srv_hwm_mib = (double)u1.srv_hwm_kib / 1024.0;
	}
	if (res->errors > 0)
		fprintf(stderr, "kbsbench: %s: %" PRIu64 " error(s)%s; first: "
		    "%s\n", ph.name, res->errors,
		    atomic_load(&ph.stop) ? " (stopped at --max-errors)" : "",
		    ph.first_err);
	if (res->mismatches > 0)
		fprintf(stderr, "kbsbench: %s: FATAL: %" PRIu64 " plaintext "
		    "mismatch(es)\n", ph.name, res->mismatches);
	free(all);
	free(w);
	pthread_barrier_destroy(&ph.ready);
	pthread_barrier_destroy(&ph.go);
	pthread_mutex_destroy(&ph.err_lock);
	return 0;
}

/* Admin POST or DELETE of the bench resource. */
static int
admin_resource(const struct options *o, const char *method,
    const uint8_t *data, size_t len, struct error *err)
{
	struct httpc *c = NULL;
	struct httpc_response resp;
	char *tok = NULL, *auth = NULL, what[128];
	const char *hdrs[3];
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	snprintf(what, sizeof(what), "%s /kbs/v0/resource/" RESOURCE_PATH,
	    method);
	if ((tok = admintoken_make(o->admin_key, "admin", ADMIN_TTL_S,
	    err)) == NULL)
		goto out;
	auth = xasprintf("Authorization: Bearer %s", tok);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/octet-stream";
	hdrs[2] = NULL;
	if ((c = httpc_new(o->url, o->cacert, REQ_TIMEOUT_S, err)) == NULL)
		goto out;
	if (httpc_request(c, method, "/kbs/v0/resource/" RESOURCE_PATH, hdrs,
	    data, len, &resp, err) == -1) {
		error_prefix(err, "%s", what);
		goto out;
	}
	if (resp.status != 200) {
		guest_problem(what, &resp, err);
		goto out;
	}
	rc = 0;
out:
	httpc_response_clear(&resp);
	httpc_free(c);
	secret_strfree(auth);
	secret_strfree(tok);
	return rc;
}

static void
print_table(FILE *f, const struct options *o, const struct result *r,
    size_t nr)
{
	size_t i;

	fprintf(f, "kbsbench: %s, concurrency %u, key %s, resource %zu bytes"
	    "%s\n", o->url, o->concurrency, o->alg_name, o->resource_size,
	    o->pid ? "" : " (no --pid: server CPU/RSS not sampled)");
	fprintf(f, "%-6s %8s %6s %8s %10s %9s %9s %9s %9s %9s %10s %10s %9s "
	    "%10s\n", "phase", "count", "errors", "wall_s", "ops/s",
	    "p50_ms", "p90_ms", "p99_ms", "max_ms", "srv_cpu_s", "srv_us/op",
	    "srv_rssMiB", "cli_cpu_s", "cli_us/op");
	for (i = 0; i < nr; i++) {
		const struct result *x = &r[i];
		double tp = x->wall_s > 0 ? (double)x->count / x->wall_s : 0;
		double cli_op = x->count ? x->self_cpu_s * 1e6 /
		    (double)x->count : 0;
		char scpu[32] = "-", sop[32] = "-", srss[32] = "-";

		if (x->have_srv) {
			snprintf(scpu, sizeof(scpu), "%.2f", x->srv_cpu_s);
			snprintf(sop, sizeof(sop), "%.0f", x->count ?
			    x->srv_cpu_s * 1e6 / (double)x->count : 0);
			snprintf(srss, sizeof(srss), "%.1f", x->srv_hwm_mib);
		}
		fprintf(f, "%-6s %8" PRIu64 " %6" PRIu64 " %8.2f %10.1f %9.2f "
		    "%9.2f %9.2f %9.2f %9s %10s %10s %9.2f %10.0f\n", x->name,
		    x->count, x->errors, x->wall_s, tp, x->p50, x->p90, x->p99,
		    x->max, scpu, sop, srss, x->self_cpu_s, cli_op);
		if (x->mismatches > 0)
			fprintf(f, "%-6s FATAL: %" PRIu64 " plaintext "
			    "mismatch(es)\n", x->name, x->mismatches);
	}
	for (i = 0; i < nr; i++)
		if (strcmp(r[i].name, "flows") == 0)
			fprintf(f, "client TEE key generation (not in flow "
			    "latency): %.2f ms per key\n", r[i].keygen_ms_avg);
}

static int
print_json(const struct options *o, const struct result *r, size_t nr)
{
	json_t *root, *phases;
	char *s;
	size_t i;

	root = json_pack("{s:s, s:I, s:s, s:I, s:I}", "url", o->url,
	    "concurrency", (json_int_t)o->concurrency, "key_alg",
	    o->alg_name, "resource_size", (json_int_t)o->resource_size,
	    "duration_limit_s", (json_int_t)o->duration_s);
	phases = json_array();
	if (root == NULL || phases == NULL)
		goto fail;
	for (i = 0; i < nr; i++) {
		const struct result *x = &r[i];
		json_t *p;

		p = json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:s, "
		    "s:{s:f, s:f, s:f, s:f}, s:f, s:f}",
		    "name", x->name,
		    "count", (json_int_t)x->count,
		    "errors", (json_int_t)x->errors,
		    "mismatches", (json_int_t)x->mismatches,
		    "wall_s", x->wall_s,
		    "throughput", x->wall_s > 0 ?
		    (double)x->count / x->wall_s : 0.0,
		    "throughput_unit", x->unit,
		    "latency_ms", "p50", x->p50, "p90", x->p90, "p99", x->p99,
		    "max", x->max,
		    "client_cpu_s", x->self_cpu_s,
		    "client_cpu_us_per_op", x->count ?
		    x->self_cpu_s * 1e6 / (double)x->count : 0.0);
		if (p == NULL)
			goto fail;
		if (x->have_srv) {
			json_object_set_new(p, "server_cpu_s",
			    json_real(x->srv_cpu_s));
			json_object_set_new(p, "server_cpu_us_per_op",
			    json_real(x->count ? x->srv_cpu_s * 1e6 /
			    (double)x->count : 0.0));
			json_object_set_new(p, "server_peak_rss_mib",
			    json_real(x->srv_hwm_mib));
		}
		if (strcmp(x->name, "flows") == 0)
			json_object_set_new(p, "client_keygen_ms_per_key",
			    json_real(x->keygen_ms_avg));
		json_array_append_new(phases, p);
	}
	json_object_set_new(root, "phases", phases);
	phases = NULL;
	if ((s = json_dumps(root, JSON_COMPACT)) == NULL)
		goto fail;
	printf("%s\n", s);
	free(s);
	json_decref(root);
	return 0;
fail:
	fprintf(stderr, "kbsbench: cannot build the JSON report\n");
	json_decref(phases);
	json_decref(root);
	return -1;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct result res[2];
	struct error err;
	uint8_t *secret = NULL;
	size_t nres = 0, i;
	int status = 0;

	parse_options(argc, argv, &o);
	log_init("kbsbench", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "kbsbench: sodium_init failed\n");
		return 1;
	}
	/* Each thread owns its own event base, but libevent's globals are
	 * only safe to share once locking is enabled. */
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "kbsbench: evthread_use_pthreads failed\n");
		return 1;
	}

	if (o.pid != 0) {
		uint64_t ticks, hwm;

		/* Fail now rather than print a warning for every sample. */
		if (proc_sample(o.pid, &ticks, &hwm, &err) == -1) {
			fprintf(stderr, "kbsbench: --pid: %s\n", err.msg);
			return 1;
		}
	}
	secret = xmalloc(o.resource_size);
	randombytes_buf(secret, o.resource_size);
	if (admin_resource(&o, "POST", secret, o.resource_size, &err) == -1) {
		fprintf(stderr, "kbsbench: setup: %s\n", err.msg);
		secret_free(secret, o.resource_size);
		return 1;
	}

	if (o.flows > 0 && run_phase(&o, PHASE_FLOWS, o.flows, secret,
	    o.resource_size, &res[nres]) == 0)
		nres++;
	if (o.gets > 0 && run_phase(&o, PHASE_GETS, o.gets, secret,
	    o.resource_size, &res[nres]) == 0)
		nres++;
	if (nres < (size_t)((o.flows > 0) + (o.gets > 0)))
		status = 1;
	for (i = 0; i < nres; i++)
		if (res[i].errors > 0 || res[i].mismatches > 0)
			status = 1;

	print_table(o.json ? stderr : stdout, &o, res, nres);
	if (o.json && print_json(&o, res, nres) == -1)
		status = 1;

	if (admin_resource(&o, "DELETE", NULL, 0, &err) == -1)
		fprintf(stderr, "kbsbench: warning: cleanup: %s\n", err.msg);
	secret_free(secret, o.resource_size);
	return status;
}
