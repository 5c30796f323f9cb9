/*
 * kbs.h: the shared types and cross-file functions of kbsbench, the load
 * generator for trusteed's KBS protocol (kbsbench.c describes what it
 * measures). Prototypes are grouped by the file that defines them:
 *   kbs_options.c  command line (exits 2 on a usage error)
 *   kbs_setup.c    the bench resource through the admin API
 *   kbs_phase.c    one phase: its threads, counters and result
 *   kbs_worker.c   one worker thread of a phase
 *   kbs_sample.c   CPU and memory samples of the server and of kbsbench
 *   kbs_report.c   the table and the JSON report
 * Only kbsbench links these files; they are not part of a library.
 */
#ifndef TRUSTEE_KBS_H
#define TRUSTEE_KBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../../lib/guest.h"
#include "../../lib/httpc.h"
#include "../../lib/util.h"

#define KBS_RESOURCE_PATH	"bench/kbs/secret"
#define KBS_REQ_TIMEOUT_S	30
#define KBS_ADMIN_TTL_S		300

enum kbs_phase_kind {
	PHASE_AUTH, PHASE_ATTEST, PHASE_FLOWS, PHASE_GETS, PHASE_BEARER_SEEN,
	PHASE_BEARER_FIRST, PHASE_ADMIN
};

/* Per phase kind: its name (--only, reports), throughput unit and a
 * one-line description (JSON "what"). */
struct kbs_phase_info {
	const char *name;
	const char *unit;
	const char *what;
};

struct kbs_options {
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
	uint64_t resources;	/* 0: KBS_RESOURCE_PATH; else benchres
				 * 0..N-1 */
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
struct kbs_phase {
	enum kbs_phase_kind kind;
	const struct kbs_options *opt;
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

struct kbs_worker {
	pthread_t tid;
	struct kbs_phase *ph;
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
struct kbs_sample {
	uint64_t srv_ticks;
	uint64_t srv_sys_ticks;	/* of which in the kernel */
	uint64_t srv_hwm_kib;
	uint64_t srv_anon_kib;
	int srv_ok;
	double self_cpu_s;
};

struct kbs_result {
	enum kbs_phase_kind kind;
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
struct kbs_sessions {
	int have;
	uint64_t count;
	int64_t anon_delta_kib;
	double bytes_per_session;
};

/* kbs_options.c */
void	kbs_options_parse(int, char **, struct kbs_options *);
int	kbs_options_wanted(const struct kbs_options *, enum kbs_phase_kind,
	    uint64_t);

/* kbs_setup.c */
int	kbs_setup_resource(const struct kbs_options *, const char *,
	    const uint8_t *, size_t, struct error *);

/* kbs_phase.c */
extern const struct kbs_phase_info kbs_phase_info[];
extern const size_t kbs_phase_ninfo;
void	kbs_phase_error(struct kbs_phase *, const char *);
int	kbs_phase_take(struct kbs_phase *);
int	kbs_phase_run(const struct kbs_options *, enum kbs_phase_kind,
	    uint64_t, const uint8_t *, size_t, struct kbs_result *);
int	kbs_phase_run_sessions(const struct kbs_options *,
	    enum kbs_phase_kind, uint64_t, struct kbs_result *,
	    struct kbs_sessions *);

/* kbs_worker.c */
void	*kbs_worker_main(void *);

/* kbs_sample.c */
int	kbs_sample_proc(pid_t, uint64_t *, uint64_t *, uint64_t *,
	    uint64_t *, struct error *);
void	kbs_sample_take(const struct kbs_options *, struct kbs_sample *);

/* kbs_report.c */
void	kbs_report_table(FILE *, const struct kbs_options *,
	    const struct kbs_result *, size_t, const struct kbs_sessions *);
int	kbs_report_json(const struct kbs_options *,
	    const struct kbs_result *, size_t, const struct kbs_sessions *);

#endif
