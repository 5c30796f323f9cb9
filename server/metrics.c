/*
 * metrics.c: GET /metrics in the Prometheus text format (0.0.4).
 *
 * Trustee's metric names (kbs-server.md §10) come first so existing
 * dashboards keep working, with two deliberate differences: the
 * kbs_resource_* counters carry no resource_path label (a client-chosen
 * string must never become a label value: trustee issue #543), and
 * kbs_http_request_size_bytes observes request sizes only, with the
 * response sizes in kbs_http_response_size_bytes. kbs_http_active_connections
 * counts requests being handled. Our own metrics are prefixed trustee_.
 * Every label value comes from a fixed list in this program.
 *
 * Counters are updated with relaxed atomic adds from any worker; a scrape
 * reads them without stopping anyone, so a scrape may see one request in
 * the count but not yet in the histogram sum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "console.h"
#include "observe.h"
#include "policy.h"
#include "sesscache.h"

#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define GET(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* ----------------------------------------------------------- histograms */

#define HIST_MAX_BUCKETS 16

struct hist {
	const double *le;		/* upper bounds, seconds or bytes */
	int n;
	uint64_t counts[HIST_MAX_BUCKETS];	/* per bucket, not cumulative;
						 * [n] is +Inf */
	uint64_t count;
	uint64_t sum;			/* nanoseconds or bytes */
};

static const double le_kbs_duration[] = { 0.0005, 0.001, 0.005, 0.01, 0.05,
	0.5, 1 };
static const double le_kbs_size[] = { 32, 128, 512, 2048, 8192 };
static const double le_plugin[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1 };
static const double le_ours[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
static const double le_store[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
	0.0025, 0.005, 0.01, 0.025, 0.1, 1 };

#define HIST(le) { (le), (int)ARRAY_SIZE(le), { 0 }, 0, 0 }

/* value: ns for durations (scale 1e9) or bytes (scale 1). */
static void
hist_observe(struct hist *h, uint64_t value, double scale)
{
	double x = (double)value / scale;
	int i;

	for (i = 0; i < h->n && x > h->le[i]; i++)
		;
	ADD(&h->counts[i], 1);
	ADD(&h->count, 1);
	ADD(&h->sum, value);
}

/* ------------------------------------------------------------- the state */

const char *const metrics_route_names[MR_NROUTES] = {
	"kbs_auth", "kbs_attest", "kbs_resource", "kbs_admin", "kbs_other",
	"attestation", "api", "console", "console_api", "public", "unknown"
};

static const char *const metrics_login_results[] = { "ok", "failed",
	"throttled" };

static struct {
	/* Trustee's */
	uint64_t kbs_requests;
	struct hist kbs_duration, kbs_req_size, kbs_resp_size;
	int64_t inflight;
	uint64_t res_reads, res_writes, res_deletes;
	uint64_t pol_evals, pol_approvals, pol_violations, pol_errors;
	uint64_t att_requests, att_errors;
	uint64_t att_success[OBSERVE_TEES], att_failure[OBSERVE_TEES];
	uint64_t auth_requests, auth_successes, auth_errors;
	uint64_t plugin_requests, plugin_errors;
	struct hist plugin_duration;
	/* ours */
	uint64_t http[MR_NROUTES][5];	/* by status class 1xx..5xx */
	struct hist http_duration[MR_NROUTES];
	uint64_t verifications[OBSERVE_TEES][OBSERVE_NVERDICTS];
	struct hist verification_duration[OBSERVE_TEES];
	uint64_t policy_ok, policy_failed;
	struct hist policy_duration;
	struct hist store_duration[STORE_NOPS];
	uint64_t logins[ARRAY_SIZE(metrics_login_results)];
	uint64_t releases[2];		/* denied, allowed */
} m;

static const struct config *metrics_cfg;
static struct store *metrics_st;

void
metrics_init(const struct config *cfg, struct store *st)
{
	size_t i;

	memset(&m, 0, sizeof(m));
	m.kbs_duration = (struct hist)HIST(le_kbs_duration);
	m.kbs_req_size = (struct hist)HIST(le_kbs_size);
	m.kbs_resp_size = (struct hist)HIST(le_kbs_size);
	m.plugin_duration = (struct hist)HIST(le_plugin);
	m.policy_duration = (struct hist)HIST(le_ours);
	for (i = 0; i < MR_NROUTES; i++)
		m.http_duration[i] = (struct hist)HIST(le_ours);
	for (i = 0; i < OBSERVE_TEES; i++)
		m.verification_duration[i] = (struct hist)HIST(le_ours);
	for (i = 0; i < STORE_NOPS; i++)
		m.store_duration[i] = (struct hist)HIST(le_store);
	metrics_cfg = cfg;
	metrics_st = st;
	store_set_timing(metrics_store);
}

/* ----------------------------------------------------------- observers */

void
metrics_request(enum metrics_route route, int status, size_t req_bytes,
    size_t resp_bytes, uint64_t ns)
{
	int cls = status / 100 - 1, ok = status >= 200 && status < 300;

	if (m.kbs_duration.le == NULL)
		return;			/* not initialised (tools) */
	if ((unsigned)route >= MR_NROUTES)
		route = MR_UNKNOWN;
	if (cls < 0 || cls > 4)
		cls = 4;
	ADD(&m.http[route][cls], 1);
	hist_observe(&m.http_duration[route], ns, 1e9);
	switch (route) {
	case MR_KBS_AUTH:
		ADD(&m.auth_requests, 1);
		ADD(ok ? &m.auth_successes : &m.auth_errors, 1);
		break;
	case MR_KBS_RESOURCE:
		ADD(&m.plugin_requests, 1);
		if (!ok)
			ADD(&m.plugin_errors, 1);
		else
			ADD(&m.res_reads, 1);
		hist_observe(&m.plugin_duration, ns, 1e9);
		break;
	default:
		break;
	}
	if (route <= MR_KBS_OTHER) {	/* every /kbs path, as Trustee */
		ADD(&m.kbs_requests, 1);
		hist_observe(&m.kbs_duration, ns, 1e9);
		hist_observe(&m.kbs_req_size, req_bytes, 1);
		hist_observe(&m.kbs_resp_size, resp_bytes, 1);
	}
}

void
metrics_inflight(int delta)
{
	ADD(&m.inflight, delta);
}

void
metrics_attestation(int tee, enum observe_verdict v, uint64_t ns)
{
	if (tee < 0 || tee >= OBSERVE_TEES)
		tee = OBSERVE_TEES - 1;
	if ((unsigned)v >= OBSERVE_NVERDICTS)
		v = OBSERVE_REFUSED;
	ADD(&m.att_requests, 1);
	if (v == OBSERVE_REFUSED) {
		ADD(&m.att_errors, 1);
		ADD(&m.att_failure[tee], 1);
	} else
		ADD(&m.att_success[tee], 1);
	ADD(&m.verifications[tee][v], 1);
	if (m.kbs_duration.le != NULL)
		hist_observe(&m.verification_duration[tee], ns, 1e9);
}

void
metrics_release(int allowed)
{
	ADD(&m.releases[allowed ? 1 : 0], 1);
	ADD(&m.pol_evals, 1);
	ADD(allowed ? &m.pol_approvals : &m.pol_violations, 1);
}

void
metrics_policy_error(void)
{
	ADD(&m.pol_errors, 1);
}

void
metrics_resource_write(int deleted)
{
	ADD(deleted ? &m.res_deletes : &m.res_writes, 1);
}

void
metrics_policy(uint64_t ns, int ok)
{
	ADD(ok ? &m.policy_ok : &m.policy_failed, 1);
	if (m.policy_duration.le != NULL)
		hist_observe(&m.policy_duration, ns, 1e9);
}

void
metrics_store(enum store_op op, uint64_t ns)
{
	if (m.kbs_duration.le == NULL || op < 0 || op >= STORE_NOPS)
		return;
	hist_observe(&m.store_duration[op], ns, 1e9);
}

void
metrics_login(const char *result)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(metrics_login_results); i++)
		if (strcmp(result, metrics_login_results[i]) == 0)
			ADD(&m.logins[i], 1);
}

/* ------------------------------------------------------------ exposition */

static void
metrics_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_value(struct buf *b, const char *name, const char *labels,
    uint64_t v)
{
	buf_printf(b, "%s%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (unsigned long long)v);
}

/* One histogram's samples; labels may be "" or "a=\"b\"". */
static void
metrics_hist(struct buf *b, const char *name, const char *labels,
    const struct hist *h, double scale)
{
	uint64_t cum = 0;
	int i;

	for (i = 0; i <= h->n; i++) {
		cum += GET(&h->counts[i]);
		if (i < h->n)
			buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
			    labels, labels[0] ? "," : "", h->le[i],
			    (unsigned long long)cum);
		else
			buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
			    labels, labels[0] ? "," : "",
			    (unsigned long long)cum);
	}
	buf_printf(b, "%s_sum%s%s%s %.9g\n", name, labels[0] ? "{" : "",
	    labels, labels[0] ? "}" : "", (double)GET(&h->sum) / scale);
	buf_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "",
	    labels, labels[0] ? "}" : "", (unsigned long long)GET(&h->count));
}

static void
metrics_trustee(struct buf *b)
{
	char l[128];
	int i;

	metrics_head(b, "kbs_build_info", "gauge", "Build information.");
	buf_printf(b, "kbs_build_info{version=\"%s\",git_hash=\"\","
	    "build_date=\"\"} 1\n", TRUSTEE_VERSION);
	metrics_head(b, "kbs_http_requests_total", "counter",
	    "HTTP requests under /kbs.");
	metrics_value(b, "kbs_http_requests_total", "", GET(&m.kbs_requests));
	metrics_head(b, "kbs_http_request_duration_seconds", "histogram",
	    "Duration of HTTP requests under /kbs.");
	metrics_hist(b, "kbs_http_request_duration_seconds", "",
	    &m.kbs_duration, 1e9);
	metrics_head(b, "kbs_http_request_size_bytes", "histogram",
	    "Size of HTTP request bodies under /kbs.");
	metrics_hist(b, "kbs_http_request_size_bytes", "", &m.kbs_req_size,
	    1);
	metrics_head(b, "kbs_http_response_size_bytes", "histogram",
	    "Size of HTTP response bodies under /kbs.");
	metrics_hist(b, "kbs_http_response_size_bytes", "", &m.kbs_resp_size,
	    1);
	metrics_head(b, "kbs_http_active_connections", "gauge",
	    "Requests being handled.");
	buf_printf(b, "kbs_http_active_connections %lld\n",
	    (long long)GET(&m.inflight));
	metrics_head(b, "kbs_resource_reads_total", "counter",
	    "Resources released (no per-path label: bounded labels).");
	metrics_value(b, "kbs_resource_reads_total", "", GET(&m.res_reads));
	metrics_head(b, "kbs_resource_writes_total", "counter",
	    "Resource versions written by admins.");
	metrics_value(b, "kbs_resource_writes_total", "", GET(&m.res_writes));
	metrics_head(b, "kbs_resource_deletes_total", "counter",
	    "Resources deleted by admins.");
	metrics_value(b, "kbs_resource_deletes_total", "",
	    GET(&m.res_deletes));
	metrics_head(b, "kbs_policy_evaluations_total", "counter",
	    "Resource policy decisions.");
	metrics_value(b, "kbs_policy_evaluations_total", "",
	    GET(&m.pol_evals));
	metrics_head(b, "kbs_policy_approvals_total", "counter",
	    "Resource policy approvals.");
	metrics_value(b, "kbs_policy_approvals_total", "",
	    GET(&m.pol_approvals));
	metrics_head(b, "kbs_policy_violations_total", "counter",
	    "Resource policy denials.");
	metrics_value(b, "kbs_policy_violations_total", "",
	    GET(&m.pol_violations));
	metrics_head(b, "kbs_policy_errors_total", "counter",
	    "Resource policy runs that failed (error, budget, bad result).");
	metrics_value(b, "kbs_policy_errors_total", "", GET(&m.pol_errors));
	metrics_head(b, "kbs_attestation_requests_total", "counter",
	    "Attestation requests (/kbs/v0/attest and /attestation).");
	metrics_value(b, "kbs_attestation_requests_total", "",
	    GET(&m.att_requests));
	metrics_head(b, "kbs_attestation_errors_total", "counter",
	    "Attestation requests refused.");
	metrics_value(b, "kbs_attestation_errors_total", "",
	    GET(&m.att_errors));
	metrics_head(b, "kbs_attestation_successes_total", "counter",
	    "Attestation tokens issued, by TEE.");
	for (i = 0; i < OBSERVE_TEES; i++) {
		snprintf(l, sizeof(l), "tee_type=\"%s\"", observe_tee_names[i]);
		metrics_value(b, "kbs_attestation_successes_total", l,
		    GET(&m.att_success[i]));
	}
	metrics_head(b, "kbs_attestation_failures_total", "counter",
	    "Attestations refused, by TEE.");
	for (i = 0; i < OBSERVE_TEES; i++) {
		snprintf(l, sizeof(l), "tee_type=\"%s\"", observe_tee_names[i]);
		metrics_value(b, "kbs_attestation_failures_total", l,
		    GET(&m.att_failure[i]));
	}
	metrics_head(b, "kbs_auth_requests_total", "counter",
	    "Requests to /kbs/v0/auth.");
	metrics_value(b, "kbs_auth_requests_total", "", GET(&m.auth_requests));
	metrics_head(b, "kbs_auth_successes_total", "counter",
	    "Challenges issued.");
	metrics_value(b, "kbs_auth_successes_total", "",
	    GET(&m.auth_successes));
	metrics_head(b, "kbs_auth_errors_total", "counter",
	    "Refused /kbs/v0/auth requests.");
	metrics_value(b, "kbs_auth_errors_total", "", GET(&m.auth_errors));
	metrics_head(b, "kbs_plugin_requests_total", "counter",
	    "Guest requests to a plugin.");
	metrics_value(b, "kbs_plugin_requests_total", "plugin_name="
	    "\"resource\"", GET(&m.plugin_requests));
	metrics_head(b, "kbs_plugin_errors_total", "counter",
	    "Guest requests to a plugin that failed.");
	metrics_value(b, "kbs_plugin_errors_total", "plugin_name="
	    "\"resource\"", GET(&m.plugin_errors));
	metrics_head(b, "kbs_plugin_request_duration_seconds", "histogram",
	    "Duration of guest plugin requests.");
	metrics_hist(b, "kbs_plugin_request_duration_seconds",
	    "plugin_name=\"resource\"", &m.plugin_duration, 1e9);
}

static void
metrics_ours(struct buf *b, int64_t now)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx",
	    "5xx" };
	struct policy_stats ps;
	struct sesscache_stats sc;
	json_t *coll, *it;
	char l[160];
	size_t i, j;

	metrics_head(b, "trustee_build_info", "gauge", "Build information.");
	buf_printf(b, "trustee_build_info{version=\"%s\"} 1\n",
	    TRUSTEE_VERSION);
	metrics_head(b, "trustee_http_requests_total", "counter",
	    "Answered requests by route class and status class.");
	for (i = 0; i < MR_NROUTES; i++)
		for (j = 0; j < 5; j++) {
			if (GET(&m.http[i][j]) == 0 && j != 1)
				continue;
			snprintf(l, sizeof(l), "route=\"%s\",code=\"%s\"",
			    metrics_route_names[i], classes[j]);
			metrics_value(b, "trustee_http_requests_total", l,
			    GET(&m.http[i][j]));
		}
	metrics_head(b, "trustee_http_request_duration_seconds", "histogram",
	    "Time from a complete request to its answer, by route class.");
	for (i = 0; i < MR_NROUTES; i++) {
		snprintf(l, sizeof(l), "route=\"%s\"", metrics_route_names[i]);
		metrics_hist(b, "trustee_http_request_duration_seconds", l,
		    &m.http_duration[i], 1e9);
	}
	metrics_head(b, "trustee_verifications_total", "counter",
	    "Attestation outcomes by TEE and result (the EAR status, or "
	    "refused).");
	for (i = 0; i < OBSERVE_TEES; i++)
		for (j = 0; j < OBSERVE_NVERDICTS; j++) {
			snprintf(l, sizeof(l), "tee=\"%s\",result=\"%s\"",
			    observe_tee_names[i], observe_verdict_names[j]);
			metrics_value(b, "trustee_verifications_total", l,
			    GET(&m.verifications[i][j]));
		}
	metrics_head(b, "trustee_verification_duration_seconds", "histogram",
	    "Time to answer an attestation request, by TEE.");
	for (i = 0; i < OBSERVE_TEES; i++) {
		snprintf(l, sizeof(l), "tee=\"%s\"", observe_tee_names[i]);
		metrics_hist(b, "trustee_verification_duration_seconds", l,
		    &m.verification_duration[i], 1e9);
	}
	metrics_head(b, "trustee_policy_evaluation_duration_seconds",
	    "histogram", "Attestation policy run time.");
	metrics_hist(b, "trustee_policy_evaluation_duration_seconds", "",
	    &m.policy_duration, 1e9);
	metrics_head(b, "trustee_policy_evaluations_total", "counter",
	    "Attestation policy runs by outcome.");
	metrics_value(b, "trustee_policy_evaluations_total", "result=\"ok\"",
	    GET(&m.policy_ok));
	metrics_value(b, "trustee_policy_evaluations_total", "result="
	    "\"error\"", GET(&m.policy_failed));
	policy_stats(&ps);
	metrics_head(b, "trustee_policy_engine_states", "gauge",
	    "Live Lua states.");
	metrics_value(b, "trustee_policy_engine_states", "", ps.states_live);
	metrics_head(b, "trustee_policy_engine_compiles_total", "counter",
	    "Policy chunk cache misses.");
	metrics_value(b, "trustee_policy_engine_compiles_total", "",
	    ps.compiles);
	sesscache_stats(&sc);
	metrics_head(b, "trustee_policy_decisions_reused_total", "counter",
	    "Resource policy decisions reused for the same token and "
	    "request (the policy not run again).");
	metrics_value(b, "trustee_policy_decisions_reused_total", "",
	    sc.memo_hits);
	metrics_head(b, "trustee_releases_total", "counter",
	    "Resource release decisions.");
	metrics_value(b, "trustee_releases_total", "result=\"allowed\"",
	    GET(&m.releases[1]));
	metrics_value(b, "trustee_releases_total", "result=\"denied\"",
	    GET(&m.releases[0]));
	metrics_head(b, "trustee_store_operation_duration_seconds",
	    "histogram", "Store calls by operation (a scan is one page, "
	    "with its decryption).");
	for (i = 0; i < STORE_NOPS; i++) {
		snprintf(l, sizeof(l), "op=\"%s\"", store_op_names[i]);
		metrics_hist(b, "trustee_store_operation_duration_seconds", l,
		    &m.store_duration[i], 1e9);
	}
	if (metrics_st != NULL) {
		struct store_info si;

		store_info(metrics_st, &si);
		metrics_head(b, "trustee_store_cache_reads_total", "counter",
		    "Reads of cached store tables (resource rows), answered "
		    "from memory (hit) or by the database (miss).");
		metrics_value(b, "trustee_store_cache_reads_total",
		    "result=\"hit\"", si.cache_hits);
		metrics_value(b, "trustee_store_cache_reads_total",
		    "result=\"miss\"", si.cache_misses);
		metrics_head(b, "trustee_store_lease_waits_total", "counter",
		    "Writes of cached store tables that waited out a lease "
		    "another instance may hold before they answered.");
		metrics_value(b, "trustee_store_lease_waits_total", "",
		    si.lease_waits);
	}
	metrics_head(b, "trustee_sealer_info", "gauge",
	    "The sealer that holds the data key.");
	/* The sealer name is one of config_store.c's fixed choices. */
	buf_printf(b, "trustee_sealer_info{kind=\"%s\"} 1\n",
	    metrics_cfg != NULL && metrics_cfg->sealer != NULL ?
	    metrics_cfg->sealer : "file");
	if (metrics_st != NULL) {
		struct stats_key k;

		stats_key(metrics_st, now, &k);
		metrics_head(b, "trustee_data_key_version", "gauge",
		    "Data-key version of new writes.");
		buf_printf(b, "trustee_data_key_version %u\n", k.version);
		metrics_head(b, "trustee_data_key_oldest_version", "gauge",
		    "Oldest data-key version still in use (below the "
		    "current one while rotating).");
		buf_printf(b, "trustee_data_key_oldest_version %u\n",
		    k.oldest);
		metrics_head(b, "trustee_data_key_rotation_in_progress",
		    "gauge", "1 while rows are re-sealed under a new data "
		    "key.");
		buf_printf(b, "trustee_data_key_rotation_in_progress %d\n",
		    k.version != k.oldest);
		metrics_head(b, "trustee_data_key_rotation_rows_left", "gauge",
		    "Rows still sealed under older data-key versions (0 when "
		    "idle).");
		buf_printf(b, "trustee_data_key_rotation_rows_left %llu\n",
		    (unsigned long long)k.rows_left);
	}
	metrics_head(b, "trustee_collateral_expiry_timestamp_seconds", "gauge",
	    "Earliest expiry of the verifier collateral of each kind.");
	if (metrics_cfg != NULL) {
		static const char *const kinds[] = { "dcap_tcb_info",
		    "dcap_qe_identity", "dcap_pck_crl", "dcap_root_ca_crl",
		    "snp_certificate" };
		int64_t best[ARRAY_SIZE(kinds)] = { 0 };

		coll = collateral_items(metrics_cfg, now);
		json_array_foreach(coll, i, it) {
			const char *k = json_string_value(json_object_get(it,
			    "kind"));
			int64_t t = json_integer_value(json_object_get(it,
			    "expires_unix"));

			for (j = 0; k != NULL && j < ARRAY_SIZE(kinds); j++)
				if (strcmp(k, kinds[j]) == 0 && (best[j] == 0 ||
				    t < best[j]))
					best[j] = t;
		}
		json_decref(coll);
		for (j = 0; j < ARRAY_SIZE(kinds); j++)
			if (best[j] != 0)
				buf_printf(b, "trustee_collateral_expiry_"
				    "timestamp_seconds{kind=\"%s\"} %lld\n",
				    kinds[j], (long long)best[j]);
	}
	metrics_head(b, "trustee_console_logins_total", "counter",
	    "Console login attempts by result.");
	for (i = 0; i < ARRAY_SIZE(metrics_login_results); i++) {
		snprintf(l, sizeof(l), "result=\"%s\"",
		    metrics_login_results[i]);
		metrics_value(b, "trustee_console_logins_total", l,
		    GET(&m.logins[i]));
	}
	metrics_head(b, "trustee_console_sessions", "gauge",
	    "Live console sessions.");
	metrics_value(b, "trustee_console_sessions", "", consess_count(now));
	metrics_head(b, "trustee_attestation_sessions", "gauge",
	    "Open KBS protocol sessions.");
	metrics_value(b, "trustee_attestation_sessions", "", session_count());
	metrics_head(b, "trustee_attestation_log_entries", "gauge",
	    "Rows in the attestation log (a count of the store's, at most 10 s "
	    "old).");
	metrics_value(b, "trustee_attestation_log_entries", "",
	    attlog_count());
}

void
metrics_handle(struct http_request *req, struct http_response *resp,
    void *arg)
{
	struct buf b = { 0 };

	(void)req;
	(void)arg;
	metrics_trustee(&b);
	metrics_ours(&b, now_unix());
	resp->status = 200;
	http_response_header(resp, "Cache-Control", "no-store");
	http_response_body(resp, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	buf_free(&b);
}
