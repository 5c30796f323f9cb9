/*
 * audit.c: the audit trail in the encrypted store, in two tables so that
 * guests cannot push admin actions out:
 *   "audit"        admin actions (and anything not from a guest), kept for
 *                  a retention period (the row's exp column), however much
 *                  guest traffic there is;
 *   "audit_guest"  guest events (actor "guest ..."), at most a fixed
 *                  number of rows (the oldest are purged), and aggregated:
 *                  an event equal to one recorded in the last
 *                  AUDIT_AGG_WINDOW_MS (same action, target, outcome,
 *                  reason and actor, the peer's port aside) only counts up
 *                  that record's "count" and "last_time"; beyond a budget
 *                  of new guest records per minute, events are counted in
 *                  one "audit.suppressed" record per minute instead.
 * Every row is sealed like any other. Row name = the record id
 * "<16 hex digits: unix ms>-<8 hex digits: sequence>" (sorts as a string
 * in time order); the row's ord column is (ms << 20 | seq & 0xfffff), so a
 * listing pages both tables newest first by ord without any list kept in
 * memory, and instances sharing one database see each other's records.
 *
 * Per instance: the aggregation table, the per-minute budget and the
 * guest row count check (every AUDIT_GUEST_CHECK inserts) are this
 * process's; with several instances the cap holds approximately (each
 * purges what exceeds it when it checks).
 *
 * Every event is also a log line (audit_log): at info level when it
 * made a record of its own, at debug level when it was counted into one.
 *
 * The previous layout (one table "audit", ord 0) is converted once at
 * start: guest events move to audit_guest, admin records get their ord
 * and retention.
 *
 * Durability. An admin record is written before audit_record returns
 * (the admin API acknowledges a change only once it is audited, and an
 * acknowledged write is durable). Guest records (release decisions and
 * their aggregated counts) are group-committed (gcommit.h): queued and
 * written together, one transaction per AUDIT_BATCH_MS, so a resource GET
 * does not wait for, or pay, a durable commit of its own. Exactly: a
 * guest record is durable at most AUDIT_BATCH_MS (plus the commit) after
 * the GET it records was answered; a clean stop (SIGTERM: audit_shutdown)
 * writes everything queued first; a crash loses at most the guest records
 * of that last interval. A listing (audit_list) commits what is queued
 * before it reads. When the queue is full a guest record is written
 * directly, as before.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../lib/jcs.h"
#include "../lib/log.h"
#include "audit.h"
#include "gcommit.h"
#include "trusteed.h"

#define AUDIT_TABLE		"audit"
#define AUDIT_GUEST_TABLE	"audit_guest"
#define AUDIT_ID_LEN		25	/* 16 + 1 + 8 */
#define AUDIT_FIELD_MAX		1024	/* bytes kept per text field */
#define AUDIT_AGG_SLOTS		1024
#define AUDIT_AGG_WINDOW_MS	60000
#define AUDIT_GUEST_CHECK	100	/* inserts between count checks */
#define AUDIT_PURGE_EVERY_MS	(3600 * 1000)
#define AUDIT_SCAN_BUDGET	20000	/* rows one listing may read */
#define AUDIT_BATCH_MS		100	/* guest records: group commit delay */

/* One recent guest record that equal events count into. */
struct audit_agg {
	uint8_t key[16];
	char id[AUDIT_ID_LEN + 1];
	int64_t ord;
	int64_t first_ms;
	int64_t last_ms;
	int64_t written_ms;	/* when the row last got the count */
	uint64_t count;
	uint64_t written_count;
	json_t *rec;		/* the record as stored */
};

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *audit_store;
static struct gcommit *audit_batch;	/* guest records; NULL: direct */
static struct audit_limits audit_lim = {
	AUDIT_ADMIN_RETENTION_DAYS, AUDIT_GUEST_KEEP, AUDIT_GUEST_PER_MINUTE
};
static uint32_t audit_seq;
static uint64_t audit_last_ms;
static struct audit_agg audit_agg[AUDIT_AGG_SLOTS];
static struct audit_agg audit_suppressed;
static int64_t audit_minute;		/* minute of the budget below */
static uint32_t audit_minute_new;	/* new guest records this minute */
static uint32_t audit_guest_inserts;
static int64_t audit_last_purge_ms;

void
audit_configure(const struct audit_limits *lim)
{
	pthread_mutex_lock(&audit_lock);
	if (lim != NULL)
		audit_lim = *lim;
	pthread_mutex_unlock(&audit_lock);
}

static int
audit_is_guest(const char *actor)
{
	return actor != NULL && strncmp(actor, "guest", 5) == 0 &&
	    (actor[5] == '\0' || actor[5] == ' ');
}

static int64_t
audit_ord_of(uint64_t ms, uint32_t seq)
{
	return (int64_t)(ms << 20 | (seq & 0xfffff));
}

/* "<16 hex>-<8 hex>" to its ord; -1 if malformed. */
static int
audit_id_ord(const char *s, int64_t *ord)
{
	uint64_t ms = 0;
	uint32_t seq = 0;
	size_t i;
	int d;

	if (s == NULL || strlen(s) != AUDIT_ID_LEN || s[16] != '-')
		return -1;
	for (i = 0; i < AUDIT_ID_LEN; i++) {
		if (i == 16)
			continue;
		d = hex_digit_value((unsigned char)s[i]);
		if (d < 0 || (s[i] >= 'A' && s[i] <= 'F'))
			return -1;
		if (i < 16)
			ms = ms << 4 | (uint64_t)d;
		else
			seq = seq << 4 | (uint32_t)d;
	}
	if (ms >= (uint64_t)1 << 43)
		return -1;
	*ord = audit_ord_of(ms, seq);
	return 0;
}

static json_t *
audit_text(const char *s)
{
	json_t *v;
	size_t n;

	if (s == NULL)
		return json_string("");
	n = strnlen(s, AUDIT_FIELD_MAX);
	/* Invalid UTF-8 (or a cut inside a character) is kept readable. */
	v = json_stringn(s, n);
	return v != NULL ? v : json_string("(not UTF-8)");
}

/* A fresh time-ordered id and its ord. Caller holds audit_lock. */
static void
audit_new_id(char id[AUDIT_ID_LEN + 1], int64_t *ord, uint64_t *ms_out)
{
	struct timespec ts;
	uint64_t ms;
	uint32_t seq;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms < audit_last_ms)
		ms = audit_last_ms;	/* keep ids increasing */
	audit_last_ms = ms;
	seq = audit_seq++;
	snprintf(id, AUDIT_ID_LEN + 1, "%016" PRIx64 "-%08" PRIx32, ms, seq);
	*ord = audit_ord_of(ms, seq);
	*ms_out = ms;
}

/* Store a record as (table, id) with its ord and expiry. Caller holds
 * audit_lock. */
static int
audit_put(const char *table, const char *id, int64_t ord, int64_t exp,
    const json_t *rec)
{
	struct error err;
	char *s = jcs_compact(rec, NULL);
	int rc;

	if (s == NULL) {
		log_warnx("audit: cannot serialize a record");
		return -1;
	}
	/* Guest records wait for the next group commit; a full queue (or
	 * an admin record) is written now. */
	if (audit_batch != NULL && strcmp(table, AUDIT_GUEST_TABLE) == 0 &&
	    gcommit_put(audit_batch, table, id, s, strlen(s), ord, exp) == 0) {
		free(s);
		return 0;
	}
	rc = store_put_ex(audit_store, table, id, s, strlen(s), ord, exp,
	    STORE_REV_ANY, NULL, &err);
	free(s);
	if (rc != 0)
		log_warnx("audit: cannot store a record: %s", err.msg);
	return rc;
}

/* The ord of the last row a scan visits. */
static int
audit_cut_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	(void)name;
	(void)val;
	(void)len;
	*(int64_t *)arg = m->ord;
	return 0;
}

/* Drop the oldest guest records beyond the cap (checked every
 * AUDIT_GUEST_CHECK inserts, so the table exceeds it by at most that). */
static void
audit_guest_cap(void)
{
	struct store_page q;
	struct error err;
	char next[STORE_CURSOR_MAX];
	uint64_t n = 0, excess;
	size_t purged;
	int64_t last = INT64_MIN;

	if (++audit_guest_inserts % AUDIT_GUEST_CHECK != 0)
		return;
	/* Count what is queued too, so the cap holds as without batching
	 * (one commit every AUDIT_GUEST_CHECK new records). */
	gcommit_flush(audit_batch);
	if (store_count(audit_store, AUDIT_GUEST_TABLE, &n, &err) != 0 ||
	    n <= (uint64_t)audit_lim.guest_keep)
		return;
	excess = n - (uint64_t)audit_lim.guest_keep;
	/* The excess is the oldest rows: find the ord where it ends. */
	memset(&q, 0, sizeof(q));
	q.limit = excess > 10000 ? 10000 : (size_t)excess;
	if (store_scan(audit_store, AUDIT_GUEST_TABLE, &q, audit_cut_row, NULL,
	    &last, next, &err) != 0 || last == INT64_MIN) {
		log_warnx("audit: finding old guest records: %s", err.msg);
		return;
	}
	if (store_purge(audit_store, AUDIT_GUEST_TABLE, last + 1, q.limit,
	    &purged, &err) != 0)
		log_warnx("audit: dropping old guest records: %s", err.msg);
}

/* Admin records past their retention (hourly). */
static void
audit_retention(int64_t now_ms)
{
	struct error err;
	size_t n;

	if (now_ms - audit_last_purge_ms < AUDIT_PURGE_EVERY_MS)
		return;
	audit_last_purge_ms = now_ms;
	/* By time of writing (ord), so a shorter retention applies to old
	 * records too. */
	if (store_purge(audit_store, AUDIT_TABLE, audit_ord_of((uint64_t)(now_ms
	    - (int64_t)audit_lim.admin_retention_days * 86400 * 1000), 0),
	    10000, &n, &err) != 0)
		log_warnx("audit: dropping expired records: %s", err.msg);
	else if (n > 0)
		log_info("audit: %zu admin record(s) past the retention of %d "
		    "days dropped", n, audit_lim.admin_retention_days);
}

/* The aggregation key: every field but the peer's port. */
static void
audit_agg_key(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason, uint8_t key[16])
{
	crypto_generichash_state h;
	const char *fields[5] = { actor, action, target, outcome, reason };
	const char *port;
	size_t i, n;

	crypto_generichash_init(&h, NULL, 0, 16);
	for (i = 0; i < 5; i++) {
		const char *f = fields[i] != NULL ? fields[i] : "";

		n = strnlen(f, AUDIT_FIELD_MAX);
		if (i == 0 && (port = strrchr(f, ':')) != NULL &&
		    strstr(f, "peer=") != NULL)
			n = (size_t)(port - f);
		crypto_generichash_update(&h, (const uint8_t *)f, n);
		crypto_generichash_update(&h, (const uint8_t *)"", 1);
	}
	crypto_generichash_final(&h, key, 16);
}

/* Rewrite an aggregated record with its count when due. */
static void
audit_agg_flush(struct audit_agg *a, int64_t now_ms, int force)
{
	char when[TIME_RFC3339_LEN];

	if (a->rec == NULL || a->count == a->written_count)
		return;
	/* Powers of two at once, otherwise at most once a second. */
	if (!force && (a->count & (a->count - 1)) != 0 &&
	    now_ms - a->written_ms < 1000)
		return;
	time_format_rfc3339(a->last_ms / 1000, when);
	json_object_set_new(a->rec, "count", json_integer((json_int_t)
	    a->count));
	json_object_set_new(a->rec, "last_time", json_string(when));
	if (audit_put(AUDIT_GUEST_TABLE, a->id, a->ord, 0, a->rec) == 0) {
		a->written_count = a->count;
		a->written_ms = now_ms;
	}
}

static void
audit_agg_clear(struct audit_agg *a)
{
	json_decref(a->rec);
	memset(a, 0, sizeof(*a));
}

static json_t *
audit_rec(const char *id, uint64_t ms, const char *actor, const char *action,
    const char *target, const char *outcome, const char *reason)
{
	char when[TIME_RFC3339_LEN];

	time_format_rfc3339((int64_t)(ms / 1000), when);
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", id,
	    "time", when, "actor", audit_text(actor), "action",
	    audit_text(action), "target", audit_text(target), "outcome",
	    audit_text(outcome), "reason", audit_text(reason));
}

/* A guest event. Caller holds audit_lock. 1 when it made a new record
 * (or tried to), 0 when it was counted into one (aggregated or over the
 * minute's budget). */
static int
audit_guest(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason)
{
	struct audit_agg *a;
	uint8_t key[16];
	uint64_t ms;
	int64_t now_ms, ord;
	char id[AUDIT_ID_LEN + 1];

	now_ms = (int64_t)(now_mono_ns() / 1000000);
	audit_agg_key(actor, action, target, outcome, reason, key);
	a = &audit_agg[(key[0] | key[1] << 8) % AUDIT_AGG_SLOTS];
	if (a->rec != NULL && memcmp(a->key, key, sizeof(key)) == 0 &&
	    now_ms - a->first_ms < AUDIT_AGG_WINDOW_MS) {
		a->count++;
		a->last_ms = (int64_t)(time(NULL)) * 1000;
		audit_agg_flush(a, now_ms, 0);
		return 0;
	}
	/* A new record: within this minute's budget? */
	if (now_ms / 60000 != audit_minute) {
		audit_agg_flush(&audit_suppressed, now_ms, 1);
		audit_agg_clear(&audit_suppressed);
		audit_minute = now_ms / 60000;
		audit_minute_new = 0;
	}
	if (audit_minute_new >= (uint32_t)audit_lim.guest_per_minute) {
		a = &audit_suppressed;
		if (a->rec == NULL) {
			audit_new_id(a->id, &a->ord, &ms);
			a->rec = audit_rec(a->id, ms, "guest", "audit.suppressed",
			    "", "suppressed", "more new guest events this "
			    "minute than [audit] guest_records_per_minute; "
			    "counted here");
			a->first_ms = now_ms;
			a->count = 0;
			a->written_count = (uint64_t)-1;
		}
		a->count++;
		a->last_ms = (int64_t)(time(NULL)) * 1000;
		audit_agg_flush(a, now_ms, 0);
		return 0;
	}
	audit_minute_new++;
	audit_agg_flush(a, now_ms, 1);
	audit_agg_clear(a);
	audit_new_id(id, &ord, &ms);
	a->rec = audit_rec(id, ms, actor, action, target, outcome, reason);
	if (a->rec == NULL || audit_put(AUDIT_GUEST_TABLE, id, ord, 0,
	    a->rec) != 0) {
		audit_agg_clear(a);
		return 1;
	}
	memcpy(a->key, key, sizeof(key));
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->ord = ord;
	a->first_ms = a->written_ms = now_ms;
	a->last_ms = (int64_t)ms;
	a->count = a->written_count = 1;
	audit_guest_cap();
	return 1;
}

/*
 * The log line of an event: at info level when it made a record of its
 * own (every admin action; a guest event that is not counted into an
 * earlier equal one), else at debug level, so the log is as aggregated
 * as the trail and a flood of equal guest requests does not flood it.
 */
static void
audit_log(int fresh, const char *actor, const char *action,
    const char *target, const char *outcome, const char *reason)
{
	char esc[256], line[2048];

	if (!fresh && !log_enabled(LOG_LVL_DEBUG))
		return;
	snprintf(line, sizeof(line), "audit: %s %s %s %s%s%s",
	    actor ? actor : "-", action ? action : "-", log_escape(target ?
	    target : "-", esc, sizeof(esc)), outcome ? outcome : "-",
	    reason && *reason ? ": " : "", reason && *reason ? reason : "");
	if (fresh)
		log_info("%s", line);
	else
		log_debug("%s (counted into an earlier equal record)", line);
}

void
audit_record(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason)
{
	char id[AUDIT_ID_LEN + 1];
	json_t *rec;
	uint64_t ms;
	int64_t ord;
	int fresh;

	pthread_mutex_lock(&audit_lock);
	if (audit_store == NULL) {
		pthread_mutex_unlock(&audit_lock);
		audit_log(1, actor, action, target, outcome, reason);
		return;
	}
	if (audit_is_guest(actor)) {
		fresh = audit_guest(actor, action, target, outcome, reason);
		pthread_mutex_unlock(&audit_lock);
		audit_log(fresh, actor, action, target, outcome, reason);
		return;
	}
	audit_log(1, actor, action, target, outcome, reason);
	audit_new_id(id, &ord, &ms);
	rec = audit_rec(id, ms, actor, action, target, outcome, reason);
	if (rec != NULL)
		audit_put(AUDIT_TABLE, id, ord, (int64_t)(ms / 1000) +
		    (int64_t)audit_lim.admin_retention_days * 86400, rec);
	json_decref(rec);
	audit_retention((int64_t)ms);
	pthread_mutex_unlock(&audit_lock);
}

void
audit_flush(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&audit_lock);
	batch = audit_batch;
	pthread_mutex_unlock(&audit_lock);
	gcommit_flush(batch);
}

/* ------------------------------------------------------------ startup */

/* Rows of the previous layout (ord 0): collected, then rewritten. */
static int
audit_old_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	json_t *rec;

	(void)m;
	rec = json_loadb((const char *)val, len, 0, NULL);
	if (json_is_object(rec))
		json_object_set_new(rec, "_name", json_string(name));
	json_array_append_new(arg, rec != NULL ? rec : json_null());
	return 0;
}

static int
audit_convert(struct error *err)
{
	struct store_page q;
	char next[STORE_CURSOR_MAX];
	json_t *old = json_array(), *rec;
	int64_t ord, exp;
	size_t i, moved = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	q.ord_range = 1;	/* ord 0: written before the conversion */
	q.limit = 10000;
	for (;;) {
		size_t before = moved;

		json_array_clear(old);
		rc = store_scan(audit_store, AUDIT_TABLE, &q, audit_old_row,
		    NULL, old, next, err);
		if (rc != 0)
			break;
		json_array_foreach(old, i, rec) {
			char name[AUDIT_ID_LEN + 1];

			snprintf(name, sizeof(name), "%s", json_string_value(
			    json_object_get(rec, "_name")) != NULL ?
			    json_string_value(json_object_get(rec, "_name")) :
			    "");
			if (audit_id_ord(name, &ord) != 0)
				continue;
			json_object_del(rec, "_name");
			if (audit_is_guest(json_string_value(json_object_get(
			    rec, "actor")))) {
				if (audit_put(AUDIT_GUEST_TABLE, name, ord, 0,
				    rec) == 0)
					store_delete(audit_store, AUDIT_TABLE,
					    name, err);
			} else {
				exp = (ord >> 20) / 1000 + (int64_t)
				    audit_lim.admin_retention_days * 86400;
				audit_put(AUDIT_TABLE, name, ord, exp, rec);
			}
			moved++;
		}
		/* Converted rows leave ord 0, so scan again from the start;
		 * stop when a pass converts nothing (rows it cannot read). */
		if (next[0] == '\0' || moved == before)
			break;
	}
	json_decref(old);
	if (rc == 0 && moved > 0)
		log_info("audit: %zu record(s) of the previous layout converted",
		    moved);
	return rc;
}

int
audit_init(struct store *st, struct error *err)
{
	int rc;

	pthread_mutex_lock(&audit_lock);
	audit_store = st;
	audit_seq = randombytes_uniform(1u << 20);
	audit_last_ms = 0;
	audit_guest_inserts = 0;
	audit_last_purge_ms = 0;
	rc = audit_convert(err);
	if (rc != 0) {
		audit_store = NULL;
		pthread_mutex_unlock(&audit_lock);
		return error_prefix(err, "audit");
	}
	/* Without the writer thread guest records are written directly. */
	audit_batch = gcommit_new(st, "audit", AUDIT_BATCH_MS, 4096,
	    (size_t)2 << 20);
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

void
audit_shutdown(void)
{
	int64_t now_ms = (int64_t)(now_mono_ns() / 1000000);
	struct gcommit *batch;
	size_t i;

	pthread_mutex_lock(&audit_lock);
	if (audit_store != NULL) {
		for (i = 0; i < AUDIT_AGG_SLOTS; i++)
			audit_agg_flush(&audit_agg[i], now_ms, 1);
		audit_agg_flush(&audit_suppressed, now_ms, 1);
	}
	for (i = 0; i < AUDIT_AGG_SLOTS; i++)
		audit_agg_clear(&audit_agg[i]);
	audit_agg_clear(&audit_suppressed);
	audit_minute = 0;
	audit_minute_new = 0;
	audit_store = NULL;
	batch = audit_batch;
	audit_batch = NULL;
	pthread_mutex_unlock(&audit_lock);
	/* Everything queued, the counts flushed above included, is written
	 * before the store closes. */
	gcommit_free(batch);
}

/* ------------------------------------------------------------ listing */

static int
audit_matches(const json_t *rec, const struct audit_filter *f)
{
	const char *action = json_string_value(json_object_get(rec, "action"));
	const char *actor = json_string_value(json_object_get(rec, "actor"));

	if (f == NULL)
		return 1;
	if (f->action_prefix != NULL && (action == NULL ||
	    strncmp(action, f->action_prefix, strlen(f->action_prefix)) != 0))
		return 0;
	if (f->actor != NULL && (actor == NULL || strcmp(actor, f->actor) != 0))
		return 0;
	return 1;
}

/* Matching records of one table, newest first, within an ord range. */
struct audit_pick {
	const struct audit_filter *f;
	json_t *out;		/* [record...] with "_ord" */
	size_t want;
};

static int
audit_pick_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct audit_pick *p = arg;
	json_t *rec;

	(void)name;
	rec = json_loadb((const char *)val, len, 0, NULL);
	if (json_is_object(rec) && audit_matches(rec, p->f)) {
		json_object_set_new(rec, "_ord", json_integer(m->ord));
		json_array_append_new(p->out, rec);
		return json_array_size(p->out) >= p->want;
	}
	json_decref(rec);
	return 0;
}

/* Costs O(rows read until want records matched): a page without filters
 * reads about limit rows of each table. */
static int
audit_pick(const char *table, int64_t ord_min, int64_t ord_max,
    struct audit_pick *p, struct error *err)
{
	struct store_page q;
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	int rc;

	memset(&q, 0, sizeof(q));
	q.desc = 1;
	q.ord_range = 1;
	q.ord_min = ord_min;
	q.ord_max = ord_max;
	q.limit = p->want < 500 ? p->want : 500;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(audit_store, table, &q, audit_pick_row, NULL,
		    p, next, err);
		if (rc != 0 || next[0] == '\0' ||
		    json_array_size(p->out) >= p->want)
			return rc;
		memcpy(cursor, next, sizeof(cursor));
	}
}

static int
audit_ord_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "_ord"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "_ord"));

	return x < y ? 1 : x > y ? -1 : 0;
}

int
audit_list(const char *before, size_t limit, const struct audit_filter *f,
    json_t **items, int *more, struct error *err)
{
	struct audit_pick adm = { 0 }, gst = { 0 };
	struct gcommit *batch;
	json_t **all, *rec;
	int64_t ord_max = INT64_MAX, ord_min = INT64_MIN, now_ms;
	size_t n = 0, i;
	int rc;

	*items = NULL;
	*more = 0;
	pthread_mutex_lock(&audit_lock);
	if (audit_store == NULL) {
		pthread_mutex_unlock(&audit_lock);
		return error_set(err, "the audit trail is not open");
	}
	/* Counts of aggregated records become visible now. */
	now_ms = (int64_t)(now_mono_ns() / 1000000);
	for (i = 0; i < AUDIT_AGG_SLOTS; i++)
		audit_agg_flush(&audit_agg[i], now_ms, 1);
	audit_agg_flush(&audit_suppressed, now_ms, 1);
	batch = audit_batch;
	pthread_mutex_unlock(&audit_lock);
	/* Queued guest records too (outside the lock: GETs go on). */
	gcommit_flush(batch);
	if (before != NULL) {
		if (audit_id_ord(before, &ord_max) != 0)
			return error_set(err, "bad cursor");
		ord_max--;
	}
	if (f != NULL && f->since > 0)
		ord_min = audit_ord_of((uint64_t)f->since * 1000, 0);
	if (f != NULL && f->until > 0 && audit_ord_of((uint64_t)(f->until +
	    1) * 1000, 0) - 1 < ord_max)
		ord_max = audit_ord_of((uint64_t)(f->until + 1) * 1000, 0) - 1;
	adm.f = gst.f = f;
	adm.want = gst.want = limit + 1;
	adm.out = json_array();
	gst.out = json_array();
	if ((rc = audit_pick(AUDIT_TABLE, ord_min, ord_max, &adm, err)) != 0 ||
	    (rc = audit_pick(AUDIT_GUEST_TABLE, ord_min, ord_max, &gst,
	    err)) != 0) {
		json_decref(adm.out);
		json_decref(gst.out);
		return rc;
	}
	/* Merge newest first. */
	all = xcalloc(json_array_size(adm.out) + json_array_size(gst.out) + 1,
	    sizeof(*all));
	json_array_foreach(adm.out, i, rec)
		all[n++] = rec;
	json_array_foreach(gst.out, i, rec)
		all[n++] = rec;
	qsort(all, n, sizeof(*all), audit_ord_cmp);
	*items = json_array();
	for (i = 0; i < n && i < limit; i++) {
		rec = json_deep_copy(all[i]);
		json_object_del(rec, "_ord");
		json_array_append_new(*items, rec);
	}
	*more = n > limit;
	free(all);
	json_decref(adm.out);
	json_decref(gst.out);
	return 0;
}
