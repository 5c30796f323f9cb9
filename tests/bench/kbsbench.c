/*
 * kbsbench.c: a load generator for trusteed's KBS protocol.
 *
 * Setup stores a random resource bench/kbs/secret through the admin API.
 * Then, each phase bounded by a count and by --duration-limit, from
 * --concurrency threads (one keep-alive TLS connection each):
 *   auth, attest   live sessions: /auth only (unattested sessions), then
 *                  /auth + /attest (attested ones); the server's resident
 *                  anonymous memory is read before and after each (after
 *                  a warm-up of a tenth as many), giving RSS per session;
 *   flows          complete guest flows (auth, attest, one GET with the
 *                  session cookie);
 *   gets           cookie GETs on a session attested before the clock;
 *   bearer_seen    GETs with the EAR token as Bearer (no cookie), the
 *                  token presented once before the clock;
 *   bearer_first   Bearer GETs, each with a token never presented before
 *                  (attested before the clock, one per GET);
 *   admin_pages    GETs of an admin API list page, following next_cursor
 *                  and starting again after the last page (--admin-gets).
 * With --url2 (a second instance sharing the first one's database), each
 * worker also holds a connection to it and the guest moves between the
 * two as behind a load balancer without sticky sessions: a flow attests
 * on one instance and GETs with its cookie on the other, alternating;
 * GETs alternate between the instances with the same session cookie.
 * Every plaintext is checked against the stored bytes; with --resources N
 * the GETs fetch random ones of N resources loaded by fillbench (see
 * benchres.h). With --pid the server's CPU time (/proc/PID/stat
 * utime+stime), peak RSS (VmHWM) and resident anonymous memory (RssAnon)
 * are sampled; the client's own CPU time (getrusage) is reported too,
 * because client and server usually share the machine.
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
#include "benchres.h"

#define RESOURCE_PATH	"bench/kbs/secret"
#define REQ_TIMEOUT_S	30
#define ADMIN_TTL_S	300
/* A thread that cannot attest this many times in a row gives up, so a
 * server that refuses everything does not keep a thread spinning. */
#define ATTEST_TRIES	3
/* The KBS protocol version lib/guest.c speaks; /auth alone needs it. */
#define KBS_AUTH_BODY	"{\"version\":\"0.4.0\",\"tee\":\"sample\"," \
			"\"extra-params\":\"\"}"

enum phase_kind {
	PHASE_AUTH, PHASE_ATTEST, PHASE_FLOWS, PHASE_GETS, PHASE_BEARER_SEEN,
	PHASE_BEARER_FIRST, PHASE_ADMIN
};

static const struct phase_info {
	const char *name;
	const char *unit;
	const char *what;
} phase_info[] = {
	[PHASE_AUTH] = { "auth", "sessions/s", "POST /auth: one unattested "
	    "session" },
	[PHASE_ATTEST] = { "attest", "sessions/s", "POST /auth + /attest: "
	    "one attested session" },
	[PHASE_FLOWS] = { "flows", "flows/s", "full flow: /auth + /attest + "
	    "cookie GET" },
	[PHASE_GETS] = { "gets", "GETs/s", "cookie GET on an attested "
	    "session" },
	[PHASE_BEARER_SEEN] = { "bearer_seen", "GETs/s", "Bearer GET, token "
	    "presented before" },
	[PHASE_BEARER_FIRST] = { "bearer_first", "GETs/s", "Bearer GET, "
	    "token presented for the first time" },
	[PHASE_ADMIN] = { "admin_pages", "pages/s", "admin API list page "
	    "(following next_cursor)" },
};

struct options {
	const char *url;
	const char *url2;	/* a second instance, or NULL */
	const char *cacert;
	const char *admin_key;
	unsigned concurrency;
	uint64_t sessions;	/* PHASE_AUTH */
	uint64_t attested;	/* PHASE_ATTEST */
	uint64_t flows;
	uint64_t gets;
	uint64_t bearer_gets;	/* PHASE_BEARER_SEEN */
	uint64_t bearer_first;
	uint64_t admin_gets;
	const char *admin_path;
	uint64_t resources;	/* 0: RESOURCE_PATH; else benchres 0..N-1 */
	const char *only;	/* run only this phase (by name), or NULL */
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
	enum phase_kind kind;
	const struct options *opt;
	const uint8_t *secret;	/* the stored resource bytes */
	size_t secret_len;
	const char *admin_auth;	/* PHASE_ADMIN: "Authorization: Bearer .." */
	uint64_t total;
	uint64_t deadline_ns;
	atomic_uint_fast64_t next;	/* next operation index to take */
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t mismatches;
	atomic_uint_fast64_t items;	/* PHASE_ADMIN: list items seen */
	atomic_int stop;	/* set once max_errors is reached */
	/* ready: workers are connected (and, for the GET phases, attested);
	 * main then samples usage and sets deadline_ns; go: the timed part
	 * starts. The barriers also publish deadline_ns to the workers. */
	pthread_barrier_t ready, go;
	pthread_mutex_t err_lock;
	char first_err[sizeof(((struct error *)0)->msg)];
};

struct worker {
	pthread_t tid;
	struct phase *ph;
	struct httpc *c;
	struct httpc *c2;	/* --url2 */
	uint64_t turn;		/* alternates c and c2 */
	uint64_t quota;		/* PHASE_BEARER_FIRST: tokens to prepare */
	struct guest **pool;	/* PHASE_BEARER_FIRST: attested guests */
	size_t npool;
	uint64_t *lat;		/* ns, one per successful operation */
	size_t nlat, cap;
	uint64_t keygen_ns;	/* client-side key generation time */
	uint64_t nkeygen;
};

/* Resource sampling of the server process (when --pid) and of ourselves. */
struct usage {
	uint64_t srv_ticks;
	uint64_t srv_sys_ticks;	/* of which in the kernel */
	uint64_t srv_hwm_kib;
	uint64_t srv_anon_kib;
	int srv_ok;
	double self_cpu_s;
};

struct result {
	enum phase_kind kind;
	uint64_t count;		/* successful operations */
	uint64_t errors;
	uint64_t mismatches;
	uint64_t items;		/* admin_pages: list items received */
	double wall_s;
	double p50, p90, p99, max;	/* ms */
	double keygen_ms_avg;	/* flows only, client side */
	int have_srv;
	double srv_cpu_s;
	double srv_sys_s;	/* of srv_cpu_s, system time */
	double srv_hwm_mib;
	int64_t srv_anon_delta_kib;	/* RssAnon after - before */
	double self_cpu_s;
};

/* RSS growth per live session (phases auth and attest). */
struct sessions {
	int have;
	uint64_t count;
	int64_t anon_delta_kib;
	double bytes_per_session;
};

static void __attribute__((noreturn))
usage_exit(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "kbsbench: %s\n", msg);
	fprintf(stderr,
	    "usage: kbsbench --url URL [--url2 URL] --cacert FILE --admin-key FILE\n"
	    "    [--concurrency N] [--sessions N] [--attested-sessions N]\n"
	    "    [--flows N] [--gets N] [--bearer-gets N] [--bearer-first N]\n"
	    "    [--admin-gets N] [--admin-path PATH] [--resources N]\n"
	    "    [--only PHASE] [--duration-limit S] [--pid PID]\n"
	    "    [--key-alg p256|p521|rsa-oaep-256] [--resource-size BYTES]\n"
	    "    [--max-errors N] [--json]\n");
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
		OPT_MAXERR, OPT_JSON, OPT_HELP, OPT_SESSIONS, OPT_ATTESTED,
		OPT_BEARER, OPT_BEARER_FIRST, OPT_ADMIN_GETS, OPT_ADMIN_PATH,
		OPT_RESOURCES, OPT_ONLY, OPT_URL2
	};
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "url2", required_argument, NULL, OPT_URL2 },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "admin-key", required_argument, NULL, OPT_ADMIN_KEY },
		{ "concurrency", required_argument, NULL, OPT_CONC },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "attested-sessions", required_argument, NULL, OPT_ATTESTED },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "gets", required_argument, NULL, OPT_GETS },
		{ "bearer-gets", required_argument, NULL, OPT_BEARER },
		{ "bearer-first", required_argument, NULL, OPT_BEARER_FIRST },
		{ "admin-gets", required_argument, NULL, OPT_ADMIN_GETS },
		{ "admin-path", required_argument, NULL, OPT_ADMIN_PATH },
		{ "resources", required_argument, NULL, OPT_RESOURCES },
		{ "only", required_argument, NULL, OPT_ONLY },
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
	o->sessions = 20000;
	o->attested = 2000;
	o->flows = 2000;
	o->gets = 20000;
	o->bearer_gets = 10000;
	o->bearer_first = 2000;
	o->admin_path = "/api/v1/resources?limit=100";
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
		case OPT_URL2:
			o->url2 = optarg;
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
		case OPT_SESSIONS:
			o->sessions = parse_u64("--sessions", optarg, 0,
			    150000);
			break;
		case OPT_ATTESTED:
			o->attested = parse_u64("--attested-sessions", optarg,
			    0, 150000);
			break;
		case OPT_FLOWS:
			o->flows = parse_u64("--flows", optarg, 0, 100000000);
			break;
		case OPT_GETS:
			o->gets = parse_u64("--gets", optarg, 0, 100000000);
			break;
		case OPT_BEARER:
			o->bearer_gets = parse_u64("--bearer-gets", optarg, 0,
			    100000000);
			break;
		case OPT_BEARER_FIRST:
			o->bearer_first = parse_u64("--bearer-first", optarg,
			    0, 150000);
			break;
		case OPT_ADMIN_GETS:
			o->admin_gets = parse_u64("--admin-gets", optarg, 0,
			    100000000);
			break;
		case OPT_ADMIN_PATH:
			if (optarg[0] != '/')
				usage_exit("--admin-path: must start with /");
			o->admin_path = optarg;
			break;
		case OPT_RESOURCES:
			o->resources = parse_u64("--resources", optarg, 0,
			    UINT32_MAX);
			break;
		case OPT_ONLY:
			o->only = optarg;
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
	if (o->only != NULL) {
		size_t i;

		for (i = 0; i < sizeof(phase_info) / sizeof(phase_info[0]); i++)
			if (strcmp(o->only, phase_info[i].name) == 0)
				break;
		if (i == sizeof(phase_info) / sizeof(phase_info[0]))
			usage_exit("--only: not a phase name");
	}
}

/* Whether a phase runs: its count is not 0 and --only allows it. */
static int
phase_wanted(const struct options *o, enum phase_kind kind, uint64_t total)
{
	return total > 0 && (o->only == NULL ||
	    strcmp(o->only, phase_info[kind].name) == 0);
}

/*
 * Read utime+stime (clock ticks) from /proc/PID/stat, and VmHWM and
 * RssAnon (KiB) from /proc/PID/status. The command name in stat may hold
 * spaces or ')', so fields are counted from the last ')'.
 */
static int
proc_sample(pid_t pid, uint64_t *ticks, uint64_t *sys_ticks,
    uint64_t *hwm_kib, uint64_t *anon_kib, struct error *err)
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
	*sys_ticks = st;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return error_set(err, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long kib;

		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
			*hwm_kib = kib;
			found |= 1;
		} else if (sscanf(line, "RssAnon: %llu kB", &kib) == 1) {
			*anon_kib = kib;
			found |= 2;
		}
	}
	fclose(f);
	if (found != 3)
		return error_set(err, "%s: no VmHWM or RssAnon line", path);
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
	if (proc_sample(o->pid, &u->srv_ticks, &u->srv_sys_ticks,
	    &u->srv_hwm_kib, &u->srv_anon_kib, &err) == -1)
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
	httpc_free(w->c2);
	w->c2 = NULL;
	w->c = httpc_new(w->ph->opt->url, w->ph->opt->cacert, REQ_TIMEOUT_S,
	    err);
	if (w->c != NULL && w->ph->opt->url2 != NULL &&
	    (w->c2 = httpc_new(w->ph->opt->url2, w->ph->opt->cacert,
	    REQ_TIMEOUT_S, err)) == NULL) {
		httpc_free(w->c);
		w->c = NULL;
	}
	return w->c == NULL ? -1 : 0;
}

static void
worker_drop_connection(struct worker *w)
{
	httpc_free(w->c);
	httpc_free(w->c2);
	w->c = w->c2 = NULL;
}

/* The connection of the next step: c, or with --url2 c and c2 in turn. */
static struct httpc *
worker_next_conn(struct worker *w)
{
	if (w->c2 == NULL)
		return w->c;
	return w->turn++ & 1 ? w->c2 : w->c;
}

/* The other connection than c (c itself without --url2), holding c's
 * session cookie: the guest's next request goes to the other instance. */
static struct httpc *
worker_other_conn(struct worker *w, struct httpc *c)
{
	struct httpc *o;

	if (w->c2 == NULL)
		return c;
	o = c == w->c ? w->c2 : w->c;
	httpc_copy_cookie(o, c);
	return o;
}

/* GET one resource (the bench secret, or a random one of --resources)
 * and compare it with its stored bytes. Returns 0 ok, -1 request error
 * (err set), 1 plaintext mismatch. */
static int
worker_get_verify(struct worker *w, struct guest *g, int bearer,
    struct httpc *c, struct error *err)
{
	struct phase *ph = w->ph;
	char name[BENCHRES_NAME_MAX], path[BENCHRES_NAME_MAX + 16];
	uint8_t want[BENCHRES_VALUE_LEN], *pt = NULL;
	const uint8_t *expect = ph->secret;
	size_t ptlen = 0, explen = ph->secret_len;
	int rc;

	if (ph->opt->resources > 0) {
		benchres_name(randombytes_uniform(
		    (uint32_t)ph->opt->resources), name);
		benchres_value(name, want);
		expect = want;
		explen = sizeof(want);
		snprintf(path, sizeof(path), "resource/%s", name);
	} else
		snprintf(path, sizeof(path), "resource/" RESOURCE_PATH);
	if (guest_get(g, c, path, bearer, &pt, &ptlen, err) == -1)
		return -1;
	rc = (ptlen == explen && secret_equal(pt, expect, ptlen)) ? 0 : 1;
	secret_free(pt, ptlen);
	return rc;
}

/* Count a GET that did not give the stored bytes. */
static void
worker_get_failed(struct worker *w, int rc, const char *msg)
{
	struct phase *ph = w->ph;

	if (rc == 1) {
		atomic_fetch_add(&ph->mismatches, 1);
		phase_error(ph, "plaintext differs from the stored resource");
	} else
		phase_error(ph, msg);
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

/* POST /auth alone: one more unattested session on the server. The
 * connection sends no cookie, so every request makes a new session. */
static int
worker_auth_only(struct worker *w, struct error *err)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json", NULL
	};
	struct httpc_response resp;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	httpc_set_cookies(w->c, 0);
	if (httpc_request(w->c, "POST", "/kbs/v0/auth", hdrs, KBS_AUTH_BODY,
	    strlen(KBS_AUTH_BODY), &resp, err) == -1)
		goto out;
	if (resp.status != 200) {
		guest_problem("POST /kbs/v0/auth", &resp, err);
		goto out;
	}
	rc = 0;
out:
	httpc_response_clear(&resp);
	return rc;
}

/* Phases auth, attest and flows: one new session per operation. Latency
 * covers the requests (+ the GET's JWE decryption), not the TEE key
 * generation, which a real guest does once and which is client cost. */
static void
worker_sessions(struct worker *w)
{
	struct phase *ph = w->ph;
	struct error err;

	while (phase_take(ph)) {
		struct guest *g = NULL;
		struct httpc *c;
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (w->c == NULL && worker_reconnect(w, &err) == -1) {
			phase_error(ph, err.msg);
			continue;
		}
		if (ph->kind != PHASE_AUTH &&
		    (g = worker_new_guest(w, &err)) == NULL) {
			phase_error(ph, err.msg);
			continue;
		}
		c = worker_next_conn(w);
		t0 = now_mono_ns();
		if (ph->kind == PHASE_AUTH)
			rc = worker_auth_only(w, &err);
		else
			rc = guest_attest(g, c, "sample", NULL, 0, &err);
		if (rc == 0 && ph->kind == PHASE_FLOWS)
			rc = worker_get_verify(w, g, 0, worker_other_conn(w, c),
			    &err);
		t1 = now_mono_ns();
		guest_free(g);
		if (rc == 0)
			worker_record(w, t1 - t0);
		else {
			worker_get_failed(w, rc, err.msg);
			if (rc == -1)
				worker_drop_connection(w);
		}
	}
}

/* Attest once, untimed. With bearer set the token is then presented once
 * as Bearer, so the timed GETs all use a token the server has seen. */
static struct guest *
worker_attest_session(struct worker *w, int bearer, struct error *err)
{
	struct guest *g = NULL;
	int i, rc;

	for (i = 0; i < ATTEST_TRIES; i++) {
		if (w->c == NULL && worker_reconnect(w, err) == -1)
			continue;
		if ((g = worker_new_guest(w, err)) == NULL)
			continue;
		rc = guest_attest(g, w->c, "sample", NULL, 0, err);
		if (rc == 0 && bearer)
			rc = worker_get_verify(w, g, 1, w->c, err);
		if (rc == 0)
			return g;
		if (rc == 1)
			error_set(err, "plaintext differs from the stored "
			    "resource");
		guest_free(g);
		g = NULL;
		worker_drop_connection(w);
	}
	return NULL;
}

/* Phases gets and bearer_seen: GETs on one attested session (cookie) or
 * token (Bearer); after a failure the session is re-established (untimed)
 * before the next GET. */
static void
worker_gets(struct worker *w, struct guest *g)
{
	struct phase *ph = w->ph;
	int bearer = ph->kind == PHASE_BEARER_SEEN;
	struct error err;

	while (phase_take(ph)) {
		struct httpc *c;
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (g == NULL && (g = worker_attest_session(w, bearer,
		    &err)) == NULL) {
			phase_error(ph, err.msg);
			continue;
		}
		c = worker_next_conn(w);
		if (c != w->c)
			httpc_copy_cookie(c, w->c);
		t0 = now_mono_ns();
		rc = worker_get_verify(w, g, bearer, c, &err);
		t1 = now_mono_ns();
		if (rc == 0)
			worker_record(w, t1 - t0);
		else {
			worker_get_failed(w, rc, err.msg);
			if (rc == -1) {
				guest_free(g);
				g = NULL;
				worker_drop_connection(w);
			}
		}
	}
	guest_free(g);
}

/* Phase bearer_first, untimed part: attest quota guests; their tokens
 * have never been presented as Bearer. */
static void
worker_fill_pool(struct worker *w)
{
	struct error err;
	uint64_t i;

	w->pool = xcalloc(w->quota ? w->quota : 1, sizeof(*w->pool));
	for (i = 0; i < w->quota && !atomic_load(&w->ph->stop); i++) {
		struct guest *g;

		err.msg[0] = '\0';
		if ((g = worker_attest_session(w, 0, &err)) == NULL) {
			phase_error(w->ph, err.msg);
			continue;
		}
		w->pool[w->npool++] = g;
	}
}

/* Phase bearer_first: one GET per prepared token, each token used once. */
static void
worker_bearer_first(struct worker *w)
{
	struct phase *ph = w->ph;
	struct error err;
	size_t i;

	for (i = 0; i < w->npool; i++) {
		uint64_t t0, t1;
		int rc;

		if (atomic_load(&ph->stop) || now_mono_ns() >= ph->deadline_ns)
			break;
		err.msg[0] = '\0';
		if (w->c == NULL && worker_reconnect(w, &err) == -1) {
			phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		rc = worker_get_verify(w, w->pool[i], 1, worker_next_conn(w),
		    &err);
		t1 = now_mono_ns();
		if (rc == 0)
			worker_record(w, t1 - t0);
		else {
			worker_get_failed(w, rc, err.msg);
			if (rc == -1)
				worker_drop_connection(w);
		}
	}
	for (i = 0; i < w->npool; i++)
		guest_free(w->pool[i]);
	free(w->pool);
	w->pool = NULL;
	w->npool = 0;
}

/* One admin list page: GET base (+ cursor), check 200 and the JSON
 * shape, return the next cursor (NULL after the last page) in *next. */
static int
worker_admin_page(struct worker *w, const char *cursor, char **next,
    size_t *nitems, struct error *err)
{
	struct phase *ph = w->ph;
	const char *base = ph->opt->admin_path;
	const char *hdrs[2] = { ph->admin_auth, NULL };
	struct httpc_response resp;
	json_t *body = NULL, *items, *nc;
	json_error_t jerr;
	char *path;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	*next = NULL;
	path = cursor == NULL ? xstrdup(base) : xasprintf("%s%scursor=%s",
	    base, strchr(base, '?') != NULL ? "&" : "?", cursor);
	if (httpc_request(w->c, "GET", path, hdrs, NULL, 0, &resp, err) == -1)
		goto out;
	if (resp.status != 200) {
		guest_problem(path, &resp, err);
		goto out;
	}
	body = json_loadb(resp.body.data != NULL ? (const char *)
	    resp.body.data : "", resp.body.len, 0, &jerr);
	items = json_object_get(body, "items");
	nc = json_object_get(body, "next_cursor");
	if (!json_is_array(items) || (nc != NULL && !json_is_null(nc) &&
	    !json_is_string(nc))) {
		error_set(err, "GET %s: not a {\"items\", \"next_cursor\"} "
		    "page", path);
		goto out;
	}
	*nitems = json_array_size(items);
	if (json_is_string(nc))
		*next = xstrdup(json_string_value(nc));
	rc = 0;
out:
	json_decref(body);
	httpc_response_clear(&resp);
	free(path);
	return rc;
}

/* Phase admin_pages: walk the list page by page, then start again. */
static void
worker_admin(struct worker *w)
{
	struct phase *ph = w->ph;
	struct error err;
	char *cursor = NULL;

	while (phase_take(ph)) {
		char *next = NULL;
		size_t n = 0;
		uint64_t t0, t1;

		err.msg[0] = '\0';
		if (w->c == NULL && worker_reconnect(w, &err) == -1) {
			phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		if (worker_admin_page(w, cursor, &next, &n, &err) == -1) {
			t1 = 0;
			phase_error(ph, err.msg);
			worker_drop_connection(w);
		} else {
			t1 = now_mono_ns();
			worker_record(w, t1 - t0);
			atomic_fetch_add(&ph->items, n);
		}
		free(cursor);
		cursor = next;
	}
	free(cursor);
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
	if ((ph->kind == PHASE_GETS || ph->kind == PHASE_BEARER_SEEN) &&
	    w->c != NULL && (g = worker_attest_session(w,
	    ph->kind == PHASE_BEARER_SEEN, &err)) == NULL)
		phase_error(ph, err.msg);
	if (ph->kind == PHASE_BEARER_FIRST)
		worker_fill_pool(w);
	pthread_barrier_wait(&ph->ready);
	pthread_barrier_wait(&ph->go);
	switch (ph->kind) {
	case PHASE_AUTH:
	case PHASE_ATTEST:
	case PHASE_FLOWS:
		worker_sessions(w);
		break;
	case PHASE_GETS:
	case PHASE_BEARER_SEEN:
		worker_gets(w, g);
		break;
	case PHASE_BEARER_FIRST:
		worker_bearer_first(w);
		break;
	case PHASE_ADMIN:
		worker_admin(w);
		break;
	}
	worker_drop_connection(w);
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
	struct error err;
	uint64_t *all = NULL, t0, t1, keygen_ns = 0, nkeygen = 0;
	char *tok = NULL, *auth = NULL;
	size_t nall = 0, i;
	unsigned n, started;

	memset(&ph, 0, sizeof(ph));
	ph.kind = kind;
	ph.opt = o;
	ph.secret = secret;
	ph.secret_len = secret_len;
	ph.total = total;
	atomic_init(&ph.next, 0);
	atomic_init(&ph.errors, 0);
	atomic_init(&ph.mismatches, 0);
	atomic_init(&ph.items, 0);
	atomic_init(&ph.stop, 0);
	pthread_mutex_init(&ph.err_lock, NULL);
	if (kind == PHASE_ADMIN) {
		if ((tok = admintoken_make(o->admin_key, "admin",
		    (int)o->duration_s + ADMIN_TTL_S, &err)) == NULL) {
			fprintf(stderr, "kbsbench: admin token: %s\n",
			    err.msg);
			return -1;
		}
		auth = xasprintf("Authorization: Bearer %s", tok);
		ph.admin_auth = auth;
	}
	n = o->concurrency;
	if (pthread_barrier_init(&ph.ready, NULL, n + 1) != 0 ||
	    pthread_barrier_init(&ph.go, NULL, n + 1) != 0) {
		fprintf(stderr, "kbsbench: pthread_barrier_init failed\n");
		return -1;
	}
	/* The untimed setup (connect, attest) must not hit the deadline;
	 * the real one is set between the barriers. */
	ph.deadline_ns = UINT64_MAX;
	w = xcalloc(n, sizeof(*w));
	for (started = 0; started < n; started++) {
		w[started].ph = &ph;
		w[started].quota = total / n + (started < total % n);
		if (pthread_create(&w[started].tid, NULL, worker_main,
		    &w[started]) != 0) {
			fprintf(stderr, "kbsbench: pthread_create failed\n");
			/* The barrier needs n+1 arrivals: fail hard rather
			 * than deadlock. */
			exit(1);
		}
	}
	pthread_barrier_wait(&ph.ready);
	/* Errors of the untimed setup count; the key generation of the
	 * setup does not (only flows report it). */
	usage_sample(o, &u0);
	t0 = now_mono_ns();
	ph.deadline_ns = t0 + (uint64_t)o->duration_s * 1000000000ULL;
	for (i = 0; i < n; i++)
		w[i].keygen_ns = w[i].nkeygen = 0;
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
	res->kind = kind;
	res->count = nall;
	res->errors = atomic_load(&ph.errors);
	res->mismatches = atomic_load(&ph.mismatches);
	res->items = atomic_load(&ph.items);
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
		res->srv_sys_s = (double)(u1.srv_sys_ticks -
		    u0.srv_sys_ticks) / (double)(tck > 0 ? tck : 100);
		res->srv_hwm_mib = (double)u1.srv_hwm_kib / 1024.0;
		res->srv_anon_delta_kib = (int64_t)u1.srv_anon_kib -
		    (int64_t)u0.srv_anon_kib;
	}
	if (res->errors > 0)
		fprintf(stderr, "kbsbench: %s: %" PRIu64 " error(s)%s; first: "
		    "%s\n", phase_info[kind].name, res->errors,
		    atomic_load(&ph.stop) ? " (stopped at --max-errors)" : "",
		    ph.first_err);
	if (res->mismatches > 0)
		fprintf(stderr, "kbsbench: %s: FATAL: %" PRIu64 " plaintext "
		    "mismatch(es)\n", phase_info[kind].name, res->mismatches);
	if (res->count < total && res->errors == 0)
		fprintf(stderr, "kbsbench: %s: %" PRIu64 " of %" PRIu64
		    " operations done before --duration-limit\n",
		    phase_info[kind].name, res->count, total);
	free(all);
	free(w);
	secret_strfree(auth);
	secret_strfree(tok);
	pthread_barrier_destroy(&ph.ready);
	pthread_barrier_destroy(&ph.go);
	pthread_mutex_destroy(&ph.err_lock);
	return 0;
}

/*
 * RSS per live session: a warm-up run of a tenth as many sessions (so
 * arenas, TLS buffers and caches have grown), then the measured run; its
 * RssAnon growth divided by the sessions it created. The sessions stay
 * alive (they expire after the server's session lifetime, 300 s by
 * default). Glibc keeps freed memory, so transient allocations of the
 * requests are reused rather than counted.
 */
static int
run_sessions(const struct options *o, enum phase_kind kind, uint64_t total,
    struct result *res, struct sessions *ss)
{
	struct result warm;
	uint64_t nwarm = total / 10 > 0 ? total / 10 : 1;

	memset(ss, 0, sizeof(*ss));
	if (run_phase(o, kind, nwarm, NULL, 0, &warm) != 0)
		return -1;
	if (run_phase(o, kind, total, NULL, 0, res) != 0)
		return -1;
	res->errors += warm.errors;
	if (res->have_srv && res->count > 0) {
		ss->have = 1;
		ss->count = res->count;
		ss->anon_delta_kib = res->srv_anon_delta_kib;
		ss->bytes_per_session = (double)res->srv_anon_delta_kib *
		    1024.0 / (double)res->count;
	}
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

static double
result_rate(const struct result *x)
{
	return x->wall_s > 0 ? (double)x->count / x->wall_s : 0;
}

static double
result_srv_us(const struct result *x)
{
	return x->count ? x->srv_cpu_s * 1e6 / (double)x->count : 0;
}

static void
print_table(FILE *f, const struct options *o, const struct result *r,
    size_t nr, const struct sessions *ss)
{
	size_t i;

	fprintf(f, "kbsbench: %s, concurrency %u, key %s, resource %s"
	    "%s\n", o->url, o->concurrency, o->alg_name, o->resources ?
	    "random of --resources (32 bytes)" : "bench/kbs/secret",
	    o->pid ? "" : " (no --pid: server CPU/RSS not sampled)");
	fprintf(f, "%-12s %8s %6s %8s %10s %9s %9s %9s %9s %9s %10s %10s %9s "
	    "%10s\n", "phase", "count", "errors", "wall_s", "ops/s",
	    "p50_ms", "p90_ms", "p99_ms", "max_ms", "srv_cpu_s", "srv_us/op",
	    "srv_rssMiB", "cli_cpu_s", "cli_us/op");
	for (i = 0; i < nr; i++) {
		const struct result *x = &r[i];
		double cli_op = x->count ? x->self_cpu_s * 1e6 /
		    (double)x->count : 0;
		char scpu[32] = "-", sop[32] = "-", srss[32] = "-";

		if (x->have_srv) {
			snprintf(scpu, sizeof(scpu), "%.2f", x->srv_cpu_s);
			snprintf(sop, sizeof(sop), "%.0f", result_srv_us(x));
			snprintf(srss, sizeof(srss), "%.1f", x->srv_hwm_mib);
		}
		fprintf(f, "%-12s %8" PRIu64 " %6" PRIu64 " %8.2f %10.1f "
		    "%9.2f %9.2f %9.2f %9.2f %9s %10s %10s %9.2f %10.0f\n",
		    phase_info[x->kind].name, x->count, x->errors, x->wall_s,
		    result_rate(x), x->p50, x->p90, x->p99, x->max, scpu, sop,
		    srss, x->self_cpu_s, cli_op);
		if (x->mismatches > 0)
			fprintf(f, "%-12s FATAL: %" PRIu64 " plaintext "
			    "mismatch(es)\n", phase_info[x->kind].name,
			    x->mismatches);
	}
	for (i = 0; i < nr; i++)
		if (r[i].kind == PHASE_FLOWS)
			fprintf(f, "client TEE key generation (not in flow "
			    "latency): %.2f ms per key\n", r[i].keygen_ms_avg);
	for (i = 0; i < 2; i++)
		if (ss[i].have)
			fprintf(f, "RSS per live %s session: %.0f bytes "
			    "(RssAnon %+" PRId64 " KiB over %" PRIu64
			    " sessions)\n", i == 0 ? "unattested" : "attested",
			    ss[i].bytes_per_session, ss[i].anon_delta_kib,
			    ss[i].count);
}

static json_t *
json_sessions(const struct sessions *s)
{
	if (!s->have)
		return json_null();
	return json_pack("{s:I, s:I, s:f}", "count", (json_int_t)s->count,
	    "rss_anon_delta_kib", (json_int_t)s->anon_delta_kib,
	    "bytes_per_session", s->bytes_per_session);
}

static int
print_json(const struct options *o, const struct result *r, size_t nr,
    const struct sessions *ss)
{
	json_t *root, *phases;
	char *s;
	size_t i;

	root = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:{s:o, s:o}}",
	    "url", o->url,
	    "concurrency", (json_int_t)o->concurrency, "key_alg",
	    o->alg_name, "resource_size", (json_int_t)o->resource_size,
	    "resources", (json_int_t)o->resources,
	    "duration_limit_s", (json_int_t)o->duration_s,
	    "sessions", "unattested", json_sessions(&ss[0]), "attested",
	    json_sessions(&ss[1]));
	phases = json_array();
	if (root == NULL || phases == NULL)
		goto fail;
	for (i = 0; i < nr; i++) {
		const struct result *x = &r[i];
		json_t *p;

		p = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:s, "
		    "s:{s:f, s:f, s:f, s:f}, s:f, s:f}",
		    "name", phase_info[x->kind].name,
		    "what", phase_info[x->kind].what,
		    "count", (json_int_t)x->count,
		    "errors", (json_int_t)x->errors,
		    "mismatches", (json_int_t)x->mismatches,
		    "wall_s", x->wall_s,
		    "throughput", result_rate(x),
		    "throughput_unit", phase_info[x->kind].unit,
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
			    json_real(result_srv_us(x)));
			json_object_set_new(p, "server_sys_cpu_s",
			    json_real(x->srv_sys_s));
			json_object_set_new(p, "server_peak_rss_mib",
			    json_real(x->srv_hwm_mib));
			json_object_set_new(p, "server_rss_anon_delta_kib",
			    json_integer(x->srv_anon_delta_kib));
		}
		if (x->kind == PHASE_FLOWS)
			json_object_set_new(p, "client_keygen_ms_per_key",
			    json_real(x->keygen_ms_avg));
		if (x->kind == PHASE_ADMIN) {
			json_object_set_new(p, "admin_path",
			    json_string(o->admin_path));
			json_object_set_new(p, "items",
			    json_integer((json_int_t)x->items));
		}
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
	static const enum phase_kind timed[] = {
		PHASE_FLOWS, PHASE_GETS, PHASE_BEARER_SEEN, PHASE_BEARER_FIRST,
		PHASE_ADMIN
	};
	struct options o;
	struct result res[8];
	struct sessions ss[2];
	struct error err;
	uint8_t *secret = NULL;
	size_t nres = 0, nwant = 0, i;
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
		uint64_t ticks, sys, hwm, anon;

		/* Fail now rather than print a warning for every sample. */
		if (proc_sample(o.pid, &ticks, &sys, &hwm, &anon, &err) ==
		    -1) {
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

	memset(ss, 0, sizeof(ss));
	if (phase_wanted(&o, PHASE_AUTH, o.sessions)) {
		nwant++;
		if (run_sessions(&o, PHASE_AUTH, o.sessions, &res[nres],
		    &ss[0]) == 0)
			nres++;
	}
	if (phase_wanted(&o, PHASE_ATTEST, o.attested)) {
		nwant++;
		if (run_sessions(&o, PHASE_ATTEST, o.attested, &res[nres],
		    &ss[1]) == 0)
			nres++;
	}
	for (i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
		uint64_t total = timed[i] == PHASE_FLOWS ? o.flows :
		    timed[i] == PHASE_GETS ? o.gets :
		    timed[i] == PHASE_BEARER_SEEN ? o.bearer_gets :
		    timed[i] == PHASE_BEARER_FIRST ? o.bearer_first :
		    o.admin_gets;

		if (!phase_wanted(&o, timed[i], total))
			continue;
		nwant++;
		if (run_phase(&o, timed[i], total, secret, o.resource_size,
		    &res[nres]) == 0)
			nres++;
	}
	if (nres < nwant)
		status = 1;
	for (i = 0; i < nres; i++)
		if (res[i].errors > 0 || res[i].mismatches > 0 ||
		    res[i].count == 0)
			status = 1;

	print_table(o.json ? stderr : stdout, &o, res, nres, ss);
	if (o.json && print_json(&o, res, nres, ss) == -1)
		status = 1;

	if (admin_resource(&o, "DELETE", NULL, 0, &err) == -1)
		fprintf(stderr, "kbsbench: warning: cleanup: %s\n", err.msg);
	secret_free(secret, o.resource_size);
	return status;
}
