/*
 * stats.c: the dashboard's numbers (GET /api/v1/stats, observe.h): a ring
 * of STATS_MINUTES per-minute slots with attestations by TEE and verdict,
 * releases and denials, request counts and a latency histogram with
 * log-scale buckets (4 per doubling from 10 us, so a quantile is off by at
 * most 19 %), plus the top denial reasons since start. In memory, per
 * process, behind one mutex (a handful of integer adds per request).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "console.h"
#include "observe.h"

#define STATS_LAT_BUCKETS 84
#define STATS_LAT_BASE_NS 10000.0	/* 10 us */
#define STATS_REASON_LEN 200
#define STATS_TOP 10
#define STATS_SOON_S (30 * 86400)	/* collateral "expires soon" */

struct stats_minute {
	int64_t minute;			/* unix time / 60 */
	uint32_t att[OBSERVE_TEES][OBSERVE_NVERDICTS];
	uint32_t allowed, denied, requests;
	uint32_t lat[STATS_LAT_BUCKETS];
};

struct stats_reason {
	char text[STATS_REASON_LEN + 1];
	uint64_t count;
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_minute stats_ring[STATS_MINUTES];
static struct stats_reason stats_reasons[STATS_REASONS];

void
stats_init(void)
{
	pthread_mutex_lock(&stats_lock);
	memset(stats_ring, 0, sizeof(stats_ring));
	memset(stats_reasons, 0, sizeof(stats_reasons));
	pthread_mutex_unlock(&stats_lock);
}

/* The slot for now, cleared when it held an older minute. Caller holds
 * the lock. */
static struct stats_minute *
stats_slot(int64_t now)
{
	int64_t minute = now / 60;
	struct stats_minute *s = &stats_ring[minute % STATS_MINUTES];

	if (s->minute != minute) {
		memset(s, 0, sizeof(*s));
		s->minute = minute;
	}
	return s;
}

static int
stats_lat_bucket(uint64_t ns)
{
	double x = (double)ns / STATS_LAT_BASE_NS;
	int b;

	if (x <= 1)
		return 0;
	b = (int)ceil(4 * log2(x));
	return b >= STATS_LAT_BUCKETS ? STATS_LAT_BUCKETS - 1 : b;
}

static double
stats_lat_upper_ms(int b)
{
	return STATS_LAT_BASE_NS * pow(2, b / 4.0) / 1e6;
}

void
stats_request(uint64_t ns, int64_t now)
{
	struct stats_minute *s;

	pthread_mutex_lock(&stats_lock);
	s = stats_slot(now);
	s->requests++;
	s->lat[stats_lat_bucket(ns)]++;
	pthread_mutex_unlock(&stats_lock);
}

void
stats_attestation(int tee, enum observe_verdict v, int64_t now)
{
	if (tee < 0 || tee >= OBSERVE_TEES || (unsigned)v >= OBSERVE_NVERDICTS)
		return;
	pthread_mutex_lock(&stats_lock);
	stats_slot(now)->att[tee][v]++;
	pthread_mutex_unlock(&stats_lock);
}

void
stats_denial_reason(const char *reason)
{
	struct stats_reason *r, *low = NULL;
	char text[STATS_REASON_LEN + 1];
	size_t i;

	if (reason == NULL || reason[0] == '\0')
		return;
	snprintf(text, sizeof(text), "%s", reason);
	pthread_mutex_lock(&stats_lock);
	for (i = 0; i < STATS_REASONS; i++) {
		r = &stats_reasons[i];
		if (r->count > 0 && strcmp(r->text, text) == 0) {
			r->count++;
			pthread_mutex_unlock(&stats_lock);
			return;
		}
		if (low == NULL || r->count < low->count)
			low = r;
	}
	/* A new reason takes the least frequent slot (space-saving count:
	 * it inherits that count, so a flood of distinct reasons cannot push
	 * a frequent one out). */
	low->count++;
	memcpy(low->text, text, sizeof(text));
	pthread_mutex_unlock(&stats_lock);
}

void
stats_release(int allowed, const char *reason, int64_t now)
{
	struct stats_minute *s;

	pthread_mutex_lock(&stats_lock);
	s = stats_slot(now);
	if (allowed)
		s->allowed++;
	else
		s->denied++;
	pthread_mutex_unlock(&stats_lock);
	if (!allowed)
		stats_denial_reason(reason);
}

/* Quantile q of a bucket histogram, ms; -1 when empty. */
static double
stats_quantile(const uint32_t *lat, double q)
{
	uint64_t total = 0, cum = 0, want;
	int b;

	for (b = 0; b < STATS_LAT_BUCKETS; b++)
		total += lat[b];
	if (total == 0)
		return -1;
	want = (uint64_t)ceil(q * (double)total);
	if (want == 0)
		want = 1;
	for (b = 0; b < STATS_LAT_BUCKETS; b++) {
		cum += lat[b];
		if (cum >= want)
			return stats_lat_upper_ms(b);
	}
	return stats_lat_upper_ms(STATS_LAT_BUCKETS - 1);
}

int
stats_latency_quantile(double q, double *ms)
{
	uint32_t sum[STATS_LAT_BUCKETS] = { 0 };
	int64_t minute = now_unix() / 60;
	int i, b;

	pthread_mutex_lock(&stats_lock);
	for (i = 0; i < STATS_MINUTES; i++)
		if (stats_ring[i].minute > minute - STATS_MINUTES)
			for (b = 0; b < STATS_LAT_BUCKETS; b++)
				sum[b] += stats_ring[i].lat[b];
	pthread_mutex_unlock(&stats_lock);
	*ms = stats_quantile(sum, q);
	return *ms < 0 ? -1 : 0;
}

static json_t *
stats_ms(double v)
{
	return v < 0 ? json_null() : json_real(round(v * 1000) / 1000);
}

static int
stats_reason_cmp(const void *a, const void *b)
{
	const struct stats_reason *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 :
	    strcmp(x->text, y->text);
}

/* ------------------------------------------------------------ data key */

static pthread_mutex_t stats_key_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_key stats_key_last;
static int64_t stats_key_when;

void
stats_key(struct store *st, int64_t now, struct stats_key *out)
{
	struct store_key_status ks;
	struct store_info info;
	struct error err;
	size_t i;

	memset(out, 0, sizeof(*out));
	store_info(st, &info);
	out->version = info.key_version;
	out->oldest = info.key_oldest;
	out->progress = 1.0;
	snprintf(out->state, sizeof(out->state), "idle");
	if (info.key_version == info.key_oldest)
		return;
	snprintf(out->state, sizeof(out->state), "rotating");
	pthread_mutex_lock(&stats_key_lock);
	if (stats_key_last.counted && now - stats_key_when <
	    STATS_KEY_RECOUNT_S && stats_key_last.version == out->version) {
		*out = stats_key_last;
		out->oldest = info.key_oldest;
		pthread_mutex_unlock(&stats_key_lock);
		return;
	}
	pthread_mutex_unlock(&stats_key_lock);
	if (store_key_status(st, &ks, &err) != 0) {
		log_debug("stats: data-key status: %s", err.msg);
		return;
	}
	snprintf(out->state, sizeof(out->state), "%s", ks.state);
	for (i = 0; i < ks.nversions; i++) {
		out->rows_total += ks.versions[i].rows;
		if (ks.versions[i].version < ks.current)
			out->rows_left += ks.versions[i].rows;
	}
	out->progress = out->rows_total > 0 ? 1.0 - (double)out->rows_left /
	    (double)out->rows_total : 1.0;
	out->counted = 1;
	pthread_mutex_lock(&stats_key_lock);
	stats_key_last = *out;
	stats_key_when = now;
	pthread_mutex_unlock(&stats_key_lock);
}

/* Health: store probe, sealer, data key, collateral. */
static json_t *
stats_health(const struct kbs_context *ctx, int64_t now)
{
	struct error err;
	uint8_t *val = NULL;
	size_t len = 0, i;
	uint64_t t0 = now_mono_ns();
	json_t *h, *store, *sealer, *coll, *it, *rot;
	const char *kind = ctx->cfg->sealer != NULL ? ctx->cfg->sealer : "file";
	struct store_info info;
	struct stats_key k;
	int rc;

	rc = store_get(ctx->store, "health", "probe", &val, &len, &err);
	secret_free(val, len);
	store_info(ctx->store, &info);
	store = json_pack("{s:b, s:s, s:f}", "ok", rc >= 0, "type",
	    info.backend, "probe_ms", (double)(now_mono_ns() - t0) / 1e6);
	if (rc < 0)
		json_object_set_new(store, "error", json_string(err.msg));
	sealer = json_pack("{s:s, s:s}", "kind", kind, "description",
	    info.sealer);
	if (info.insecure_sealer || strcmp(kind, "file") == 0)
		json_object_set_new(sealer, "warning", json_string(
		    "development sealer: the master key is sealed by a plain "
		    "key file"));
	coll = collateral_items(ctx->cfg, now);
	json_array_foreach(coll, i, it) {
		int64_t t = json_integer_value(json_object_get(it,
		    "expires_unix"));

		json_object_set_new(it, "days_left", json_integer(
		    (t - now) / 86400));
		json_object_set_new(it, "status", json_string(t <= now ?
		    "expired" : t - now <= STATS_SOON_S ? "soon" : "ok"));
	}
	stats_key(ctx->store, now, &k);
	rot = json_pack("{s:s, s:f, s:I}", "state", k.state, "progress",
	    k.progress, "oldest_version", (json_int_t)k.oldest);
	if (k.counted)
		json_object_set_new(rot, "rows_left", json_integer(
		    (json_int_t)k.rows_left));
	h = json_pack("{s:o, s:o, s:{s:I, s:o}, s:o}", "store", store,
	    "sealer", sealer, "data_key", "version", (json_int_t)k.version,
	    "rotation", rot, "collateral", coll);
	return h;
}

json_t *
stats_json(const struct kbs_context *ctx, int64_t now)
{
	struct stats_minute ring[STATS_MINUTES];
	struct stats_reason top[STATS_REASONS];
	uint32_t all[STATS_LAT_BUCKETS] = { 0 };
	int64_t minute = now / 60, mn;
	json_t *minutes, *byv, *byt, *series, *allowed, *denied, *requests;
	json_t *p50, *p99, *reasons, *o;
	char t[TIME_RFC3339_LEN];
	uint64_t total = 0;
	int i, k, v, b;

	pthread_mutex_lock(&stats_lock);
	memcpy(ring, stats_ring, sizeof(ring));
	memcpy(top, stats_reasons, sizeof(top));
	pthread_mutex_unlock(&stats_lock);

	minutes = json_array();
	allowed = json_array();
	denied = json_array();
	requests = json_array();
	p50 = json_array();
	p99 = json_array();
	byv = json_object();
	byt = json_object();
	series = json_array();
	for (v = 0; v < OBSERVE_NVERDICTS; v++)
		json_object_set_new(byv, observe_verdict_names[v],
		    json_array());
	for (i = STATS_MINUTES - 1; i >= 0; i--) {
		const struct stats_minute *s;
		struct stats_minute zero;

		mn = minute - i;
		s = &ring[mn % STATS_MINUTES];
		if (s->minute != mn) {
			memset(&zero, 0, sizeof(zero));
			s = &zero;
		}
		time_format_rfc3339(mn * 60, t);
		json_array_append_new(minutes, json_string(t));
		json_array_append_new(allowed, json_integer(s->allowed));
		json_array_append_new(denied, json_integer(s->denied));
		json_array_append_new(requests, json_integer(s->requests));
		json_array_append_new(p50, stats_ms(stats_quantile(s->lat,
		    0.5)));
		json_array_append_new(p99, stats_ms(stats_quantile(s->lat,
		    0.99)));
		for (b = 0; b < STATS_LAT_BUCKETS; b++)
			all[b] += s->lat[b];
		for (v = 0; v < OBSERVE_NVERDICTS; v++) {
			uint32_t c = 0;

			for (k = 0; k < OBSERVE_TEES; k++)
				c += s->att[k][v];
			total += c;
			json_array_append_new(json_object_get(byv,
			    observe_verdict_names[v]), json_integer(c));
		}
	}
	/* Per TEE (only TEEs seen in the window) and per TEE x verdict. */
	for (k = 0; k < OBSERVE_TEES; k++) {
		json_t *tarr = json_array();
		uint64_t tsum = 0;

		for (i = STATS_MINUTES - 1; i >= 0; i--) {
			const struct stats_minute *s;
			uint32_t c = 0;

			mn = minute - i;
			s = &ring[mn % STATS_MINUTES];
			if (s->minute == mn)
				for (v = 0; v < OBSERVE_NVERDICTS; v++)
					c += s->att[k][v];
			tsum += c;
			json_array_append_new(tarr, json_integer(c));
		}
		if (tsum > 0)
			json_object_set_new(byt, observe_tee_names[k], tarr);
		else
			json_decref(tarr);
		for (v = 0; tsum > 0 && v < OBSERVE_NVERDICTS; v++) {
			json_t *arr = json_array();
			uint64_t vsum = 0;

			for (i = STATS_MINUTES - 1; i >= 0; i--) {
				const struct stats_minute *s;

				mn = minute - i;
				s = &ring[mn % STATS_MINUTES];
				json_array_append_new(arr, json_integer(
				    s->minute == mn ? s->att[k][v] : 0));
				vsum += s->minute == mn ? s->att[k][v] : 0;
			}
			if (vsum > 0)
				json_array_append_new(series, json_pack(
				    "{s:s, s:s, s:o}", "tee",
				    observe_tee_names[k], "verdict",
				    observe_verdict_names[v], "counts", arr));
			else
				json_decref(arr);
		}
	}
	qsort(top, STATS_REASONS, sizeof(top[0]), stats_reason_cmp);
	reasons = json_array();
	for (i = 0; i < STATS_TOP && top[i].count > 0; i++)
		json_array_append_new(reasons, json_pack("{s:s, s:I}",
		    "reason", top[i].text, "count", (json_int_t)top[i].count));
	time_format_rfc3339(now, t);
	o = json_pack("{s:s, s:i, s:o, s:{s:I, s:o, s:o, s:o}, "
	    "s:{s:o, s:o}, s:o, s:{s:o, s:o, s:o, s:o}, s:o, "
	    "s:{s:I, s:I}, s:{s:I}, s:o}",
	    "now", t, "window_minutes", STATS_MINUTES, "minutes", minutes,
	    "attestations", "total", (json_int_t)total, "by_verdict", byv,
	    "by_tee", byt, "series", series,
	    "releases", "allowed", allowed, "denied", denied,
	    "requests", requests,
	    "latency_ms", "p50", p50, "p99", p99, "window_p50",
	    stats_ms(stats_quantile(all, 0.5)), "window_p99",
	    stats_ms(stats_quantile(all, 0.99)),
	    "top_denial_reasons", reasons,
	    "sessions", "console", (json_int_t)consess_count(now),
	    "attestation", (json_int_t)session_count(),
	    "attestation_log", "entries", (json_int_t)attlog_count(),
	    "health", stats_health(ctx, now));
	return o;
}
