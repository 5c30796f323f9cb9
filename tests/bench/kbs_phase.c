/*
 * kbs_phase.c: one phase of kbsbench. kbs_phase_run starts --concurrency
 * worker threads (kbs_worker.c), lets them connect and prepare untimed,
 * samples usage (kbs_sample.c), times the operations until the count,
 * --duration-limit or --max-errors ends them, and fills a struct
 * kbs_result (latency percentiles, errors, server and client CPU); it
 * reports the phase's errors, mismatches and a short count on stderr.
 * kbs_phase_run_sessions adds the RSS per live session (a warm-up, then
 * the measured run). The workers share the phase through kbs_phase_take
 * (the next operation slot) and kbs_phase_error (count an error, keep
 * the first message). kbs_phase_info names the phases.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/admintoken.h"
#include "kbs.h"

const struct kbs_phase_info kbs_phase_info[] = {
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

const size_t kbs_phase_ninfo = sizeof(kbs_phase_info) /
    sizeof(kbs_phase_info[0]);

/* Count an error; keep the first message for the report; stop the phase
 * once --max-errors is reached. */
void
kbs_phase_error(struct kbs_phase *ph, const char *msg)
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
int
kbs_phase_take(struct kbs_phase *ph)
{
	if (atomic_load(&ph->stop))
		return 0;
	if (now_mono_ns() >= ph->deadline_ns)
		return 0;
	return atomic_fetch_add(&ph->next, 1) < ph->total;
}

static int
kbs_phase_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile (permille: 500 = p50) of a sorted array, in
 * ms. Integer arithmetic, so p90 of 10 values is the 9th, not the 10th. */
static double
kbs_phase_percentile_ms(const uint64_t *v, size_t n, unsigned permille)
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

/* Run total operations of kind (secret: the stored bytes the GETs must
 * return) and fill *res; 0, or -1 (message on stderr) when the phase
 * could not start. A thread that cannot be created exits with status 1. */
int
kbs_phase_run(const struct kbs_options *o, enum kbs_phase_kind kind,
    uint64_t total, const uint8_t *secret, size_t secret_len,
    struct kbs_result *res)
{
	struct kbs_phase ph;
	struct kbs_worker *w;
	struct kbs_sample u0, u1;
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
		    (int)o->duration_s + KBS_ADMIN_TTL_S, &err)) == NULL) {
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
		if (pthread_create(&w[started].tid, NULL, kbs_worker_main,
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
	kbs_sample_take(o, &u0);
	t0 = now_mono_ns();
	ph.deadline_ns = t0 + (uint64_t)o->duration_s * 1000000000ULL;
	for (i = 0; i < n; i++)
		w[i].keygen_ns = w[i].nkeygen = 0;
	pthread_barrier_wait(&ph.go);
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	t1 = now_mono_ns();
	kbs_sample_take(o, &u1);

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
	qsort(all, nall, sizeof(*all), kbs_phase_cmp_u64);

	memset(res, 0, sizeof(*res));
	res->kind = kind;
	res->count = nall;
	res->errors = atomic_load(&ph.errors);
	res->mismatches = atomic_load(&ph.mismatches);
	res->items = atomic_load(&ph.items);
	res->wall_s = (double)(t1 - t0) / 1e9;
	res->p50 = kbs_phase_percentile_ms(all, nall, 500);
	res->p90 = kbs_phase_percentile_ms(all, nall, 900);
	res->p99 = kbs_phase_percentile_ms(all, nall, 990);
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
		    "%s\n", kbs_phase_info[kind].name, res->errors,
		    atomic_load(&ph.stop) ? " (stopped at --max-errors)" : "",
		    ph.first_err);
	if (res->mismatches > 0)
		fprintf(stderr, "kbsbench: %s: FATAL: %" PRIu64 " plaintext "
		    "mismatch(es)\n", kbs_phase_info[kind].name,
		    res->mismatches);
	if (res->count < total && res->errors == 0)
		fprintf(stderr, "kbsbench: %s: %" PRIu64 " of %" PRIu64
		    " operations done before --duration-limit\n",
		    kbs_phase_info[kind].name, res->count, total);
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
int
kbs_phase_run_sessions(const struct kbs_options *o,
    enum kbs_phase_kind kind, uint64_t total, struct kbs_result *res,
    struct kbs_sessions *ss)
{
	struct kbs_result warm;
	uint64_t nwarm = total / 10 > 0 ? total / 10 : 1;

	memset(ss, 0, sizeof(*ss));
	if (kbs_phase_run(o, kind, nwarm, NULL, 0, &warm) != 0)
		return -1;
	if (kbs_phase_run(o, kind, total, NULL, 0, res) != 0)
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
