/*
 * observe.h: what the daemon records about its own work: the attestation
 * log (attlog.c, in the encrypted store), the Prometheus counters behind
 * /metrics (metrics.c), the per-minute series behind the console's
 * dashboard (stats.c) and the freshness of verifier collateral
 * (collateral.c). One section per file; functions carry the file's name.
 *
 * Everything here is fed from routes.c, which sees every request and its
 * answer, plus two small hooks: ear.c notes the attestation policy's
 * input (for the log) and the policy's run time (for the metrics).
 */
#ifndef TRUSTEE_OBSERVE_H
#define TRUSTEE_OBSERVE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trusteed.h"

/* The TEE names the counters know (kbs-types names); anything else is
 * counted as "other", so a client can never add a label value. */
#define OBSERVE_TEES 14
extern const char *const observe_tee_names[OBSERVE_TEES];
/* Index into observe_tee_names for tee (NULL or unknown: "other"). */
int observe_tee_index(const char *tee);

/* Verdicts of an attestation: ear.status of the worst appraisal, or
 * refused when no token was issued. */
enum observe_verdict {
	OBSERVE_AFFIRMING, OBSERVE_WARNING, OBSERVE_CONTRAINDICATED,
	OBSERVE_NONE, OBSERVE_REFUSED, OBSERVE_NVERDICTS
};
extern const char *const observe_verdict_names[OBSERVE_NVERDICTS];
/* -1 when v is not a verdict name. */
int observe_verdict_index(const char *v);

/* ---------------------------------------------------------------- attlog.c */

/*
 * The attestation log: one row per /kbs/v0/attest and /attestation
 * outcome in table "attestations" of the encrypted store, named by a
 * time-ordered id "<16 hex: unix ms>-<8 hex>" (as audit.c), value:
 *   {"id","time","endpoint","tee","source","verdict","reason",
 *    "trust_vector": {...} | null, "submods": {name: {"status",
 *    "trust_vector","policy_id"}}, "policy_id", "token": {"jti","exp",
 *    "iat"} | null, "ear": {"header","payload"} | null (the decoded token
 *    without its signature: never a usable credential),
 *    "claims": <attestation policy input> | null, "latency_us"}
 * "claims" is kept when no token carries them (a refusal after the
 * evidence verified) and dropped when larger than ATTLOG_CLAIMS_MAX.
 * A summary of every kept row is indexed in memory (per process, as the
 * audit trail), so filters and pages do not read rows they skip.
 * Retention: at most `keep` rows and none older than max_age_s.
 */
#define ATTLOG_CLAIMS_MAX ((size_t)64 * 1024)
#define ATTLOG_REASON_MAX 1024

int attlog_init(struct store *st, size_t keep, int64_t max_age_s,
    struct error *err);
void attlog_shutdown(void);

/* One observation, filled around a request by routes.c. */
struct attlog_obs {
	const char *endpoint;		/* "/kbs/v0/attest" or "/attestation" */
	char tee[32];			/* known beforehand, or "" */
	char source[64];		/* client address without port */
	uint64_t start_ns;
	json_t *input;			/* first policy input (noted) */
	char input_tee[32];
	json_t *token_header;		/* the issued token, noted */
	json_t *token_claims;
	size_t token_plen;		/* its payload's JSON length */
};
/* Start observing the current thread's request (sets a thread-local
 * pointer that attlog_note_input fills). */
void attlog_begin(struct attlog_obs *o, const char *endpoint,
    const struct http_request *req);
/* ear.c: the attestation policy's input for tee (a reference is taken
 * for the first call of the request; no-op outside attlog_begin). */
void attlog_note_input(const char *tee, const json_t *input);
/* The handler: the protected header and claims of the token it issued
 * (jwt), so attlog_end need not decode the answer again (references
 * taken; the claims must stay unmodified; no-op outside attlog_begin). */
void attlog_note_token(const json_t *header, const json_t *claims,
    const char *jwt);
/* Record the outcome from the answer (200: the EAR token in the body;
 * otherwise the problem's detail is the reason) and end the
 * observation. *verdict and *tee_index get what was recorded (for the
 * counters). */
void attlog_end(struct attlog_obs *o, const struct http_request *req,
    const struct http_response *resp, enum observe_verdict *verdict,
    int *tee_index);
/* Append one record (the fields above); used by attlog_end, the
 * benchmark and tests. 0 or -1. */
int attlog_append(json_t *rec, struct error *err);

struct attlog_filter {
	const char *tee;		/* exact */
	int verdict;			/* -1: any */
	const char *source;		/* exact address */
	int64_t since, until;		/* unix s, inclusive; 0: open */
};
/* Summaries (no claims, no ear) newest first, after the id `before`
 * (NULL: newest), at most limit; *more when further rows match. */
int attlog_list(const char *before, size_t limit,
    const struct attlog_filter *f, json_t **items, int *more,
    struct error *err);
/* The whole record (claims derived from the EAR when not stored): 0, 1
 * unknown id, -1. */
int attlog_get(const char *id, json_t **rec, struct error *err);
/* Drop rows beyond the retention (count and age); returns how many. */
int attlog_expire(int64_t now);
size_t attlog_count(void);
/* Write the rows still waiting for their group commit now (attlog.c;
 * reads and attlog_shutdown do it themselves). */
void attlog_flush(void);

/* --------------------------------------------------------------- metrics.c */

/* The route classes /metrics and the dashboard count (routes.c). */
enum metrics_route {
	MR_KBS_AUTH, MR_KBS_ATTEST, MR_KBS_RESOURCE, MR_KBS_ADMIN,
	MR_KBS_OTHER, MR_ATTESTATION, MR_API, MR_CONSOLE, MR_CONSOLE_API,
	MR_PUBLIC, MR_UNKNOWN, MR_NROUTES
};
extern const char *const metrics_route_names[MR_NROUTES];

void metrics_init(const struct config *cfg);
/* One answered request (routes.c): class, status, sizes, duration. */
void metrics_request(enum metrics_route route, int status, size_t req_bytes,
    size_t resp_bytes, uint64_t ns);
/* Requests being handled right now (Trustee's active connections gauge is
 * served from this). */
void metrics_inflight(int delta);
/* One attestation outcome. */
void metrics_attestation(int tee_index, enum observe_verdict v,
    uint64_t ns);
/* One resource release decision (allowed or denied by the policy). */
void metrics_release(int allowed);
/* A denial because the resource policy itself failed (error, budget,
 * malformed result: the messages policy.h names); also a violation, as
 * Trustee counts it. */
void metrics_policy_error(void);
/* Admin writes and deletes of resources (either API). */
void metrics_resource_write(int deleted);
/* One attestation policy run (ear.c). */
void metrics_policy(uint64_t ns, int ok);
/* One timed store call made by the console's modules (op: "get",
 * "put", "delete", "list"); the store layer may call it too. */
void metrics_store(const char *op, uint64_t ns);
/* One console login attempt: "ok", "failed", "throttled". */
void metrics_login(const char *result);
/* GET /metrics (Prometheus text exposition 0.0.4). */
void metrics_handle(struct http_request *req, struct http_response *resp,
    void *arg);

/* ----------------------------------------------------------------- stats.c */

/*
 * The dashboard's series: per minute over the last STATS_MINUTES,
 * attestations by TEE and verdict, releases and denials, request latency
 * (p50/p99 from a fine log-scale histogram); the top denial reasons;
 * live sessions; health. In memory, per process.
 */
#define STATS_MINUTES 60
#define STATS_REASONS 64

void stats_init(void);
void stats_request(uint64_t ns, int64_t now);
void stats_attestation(int tee_index, enum observe_verdict v, int64_t now);
/* A release decision; reason (for a denial) is counted among the top
 * reasons, cut to 200 bytes. Attestation refusals are counted there too. */
void stats_release(int allowed, const char *reason, int64_t now);
void stats_denial_reason(const char *reason);
/* The stats object of GET /api/v1/stats (docs/console.md). */
json_t *stats_json(const struct kbs_context *ctx, int64_t now);
/* 0 and the latency quantile q (0..1) in ms over the window, or -1. */
int stats_latency_quantile(double q, double *ms);

/* ------------------------------------------------------------ collateral.c */

/*
 * Expiry of the verifier collateral the configuration names: DCAP TCB
 * info, QE identity (nextUpdate) and CRLs (nextUpdate) under
 * [verifier] dcap_collateral, and the SEV-SNP certificates (notAfter)
 * under snp_cert_cache. Scanned at most every COLLATERAL_RESCAN_S.
 * Items: {"kind","file","expires" (RFC 3339),"expires_unix"}.
 */
#define COLLATERAL_RESCAN_S 300
#define COLLATERAL_MAX_ITEMS 64

json_t *collateral_items(const struct config *cfg, int64_t now);

#endif
