/*
 * observe.h: what the daemon records about its own work: the attestation
 * log (attlog.c, in the encrypted store, read by attlog_read.c; its
 * records built by attlog_observe.c), the Prometheus counters behind
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

/* The TEE names the counters know (kbs-types names; attlog_observe.c);
 * anything else is counted as "other", so a client can never add a label
 * value. */
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
 * time-ordered id "<16 hex: unix ms>-<8 hex>" (as audit.c), ord = that
 * time in ms, value:
 *   {"id","time","endpoint","tee","source","verdict","reason",
 *    "trust_vector": {...} | null, "submods": {name: {"status",
 *    "trust_vector","policy_id"}}, "policy_id", "token": {"jti","exp",
 *    "iat"} | null, "ear": {"header","payload"} | null (the decoded token
 *    without its signature: never a usable credential),
 *    "claims": <attestation policy input> | null, "latency_us"}
 * "claims" is kept when no token carries them (a refusal after the
 * evidence verified) and dropped when larger than ATTLOG_CLAIMS_MAX.
 * Pages come from the store's ordered scans; filtered pages from an index
 * of summaries that follows other instances (attlog_read.c and
 * attlog_index.c say how).
 * Retention: at most `keep` rows and none older than max_age_s, enforced
 * by attlog_expire (store_purge).
 */
#define ATTLOG_CLAIMS_MAX ((size_t)64 * 1024)
#define ATTLOG_REASON_MAX 1024

/* follow: keep the index current with what other instances sharing the
 * store write (store_watch; costs a generation bump per append, so the
 * daemon asks for it on shared databases only). Rows of an earlier
 * version get their ord here. 0 or < 0 (the store's codes). */
int attlog_init(struct store *st, size_t keep, int64_t max_age_s,
    int follow, struct error *err);
void attlog_shutdown(void);

/* Append one record (the fields above); used by attlog_end, the
 * benchmark and tests. ear: NULL, or the JSON text of the record's "ear"
 * member, which rec then lacks (written as given: the caller vouches
 * that it is one JSON object). 0 or < 0. */
int attlog_append(json_t *rec, const char *ear, struct error *err);

/* Retention (count and age, by the store's purge); returns how many rows
 * went. */
int attlog_expire(int64_t now);
/* Rows in the log (a count of the store's, at most 10 s old). */
size_t attlog_count(void);
/* Write the rows still waiting for their group commit now (attlog.c;
 * reads and attlog_shutdown do it themselves). */
void attlog_flush(void);
/* (tests) The index's next catch-up with other instances is a sweep of
 * the whole window, as every ATTLOG_SWEEP_S, or with rebuild a rebuild,
 * as every ATTLOG_REBUILD_S (attlog_index.c). */
void attlog_index_sweep_next(int rebuild);
/* (tests) Rows the index's catch-ups and rebuilds have opened so far:
 * rows it knew already (this process wrote them, or an earlier catch-up
 * read them) are skipped unopened; *entries (when not NULL) the index's
 * size. */
uint64_t attlog_index_rows_read(size_t *entries);

/* ----------------------------------------------------------- attlog_read.c */

#define ATTLOG_CURSOR_MAX (STORE_CURSOR_MAX + 2)
#define ATTLOG_BAD_CURSOR (-10)

struct attlog_filter {
	const char *tee;		/* exact */
	int verdict;			/* -1: any */
	const char *source;		/* exact address */
	int64_t since, until;		/* unix s, inclusive; 0: open */
};
/*
 * One page of summaries (no claims, no ear), newest first, at most
 * limit, continuing at cursor (NULL: the newest; else a next value
 * returned by an earlier call with the same filters). next receives the
 * cursor of the following page, "" at the end. *problems: rows that
 * could not be read ({"table","id","reason"}; skipped). 0,
 * ATTLOG_BAD_CURSOR, or the store's codes.
 */
int attlog_read_page(const char *cursor, size_t limit,
    const struct attlog_filter *f, json_t **items,
    char next[ATTLOG_CURSOR_MAX], json_t **problems, struct error *err);
/* The whole record (claims derived from the EAR when not stored): 0, 1
 * unknown id, < 0 (STORE_CORRUPT names the row). */
int attlog_read_record(const char *id, json_t **rec, struct error *err);

/* -------------------------------------------------------- attlog_observe.c */

/* One observation, filled around a request by routes.c; attlog_end builds
 * the record above from it and hands it to attlog_append. */
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
	char *token_ear;		/* {"header","payload"}: its text */
};
/* Start observing the current thread's request (sets a thread-local
 * pointer that attlog_note_input fills). */
void attlog_begin(struct attlog_obs *o, const char *endpoint,
    const struct http_request *req);
/* ear.c: the attestation policy's input for tee (a reference is taken
 * for the first call of the request; no-op outside attlog_begin). */
void attlog_note_input(const char *tee, const json_t *input);
/* The handler: the protected header and claims of the token it issued,
 * and their texts exactly as signed, so attlog_end need not decode the
 * answer again (references taken; the claims must stay unmodified; the
 * texts are copied; no-op outside attlog_begin). The record's "ear" is
 * {"header":header_text,"payload":payload_text}: what the token's segments
 * decode to, not the claims serialized again. */
void attlog_note_token(const json_t *header, const json_t *claims,
    const char *header_text, const char *payload_text);
/* Record the outcome from the answer (200: the EAR token in the body;
 * otherwise the problem's detail is the reason) and end the
 * observation. *verdict and *tee_index get what was recorded (for the
 * counters). */
void attlog_end(struct attlog_obs *o, const struct http_request *req,
    const struct http_response *resp, enum observe_verdict *verdict,
    int *tee_index);

/* --------------------------------------------------------------- metrics.c */

/* The route classes /metrics and the dashboard count (routes.c). */
enum metrics_route {
	MR_KBS_AUTH, MR_KBS_ATTEST, MR_KBS_RESOURCE, MR_KBS_ADMIN,
	MR_KBS_OTHER, MR_ATTESTATION, MR_API, MR_CONSOLE, MR_CONSOLE_API,
	MR_PUBLIC, MR_UNKNOWN, MR_NROUTES
};
extern const char *const metrics_route_names[MR_NROUTES];

/* cfg and st are kept for the scrapes; st may be NULL (no data-key
 * figures). Installs the store's timing hook (store_set_timing). */
void metrics_init(const struct config *cfg, struct store *st);
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
/* One store call (the store layer's timing hook). */
void metrics_store(enum store_op op, uint64_t ns);
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
/*
 * The data key as the dashboard and /metrics show it (store_info): the
 * version of new writes and the oldest still in use; while they differ
 * (a rotation), the rows still under older versions and in all, from
 * store_key_status at most every STATS_KEY_RECOUNT_S (counting every row
 * costs a scan of the row index; nothing is counted when idle).
 */
#define STATS_KEY_RECOUNT_S 5
struct stats_key {
	uint32_t version, oldest;
	char state[32];			/* "idle", "rotating", "waiting for
					 * instances", "draining" */
	uint64_t rows_left, rows_total;
	double progress;		/* 0..1 (1 when idle) */
	int counted;			/* rows_* are known */
};
void stats_key(struct store *st, int64_t now, struct stats_key *out);

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
