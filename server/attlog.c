/*
 * attlog.c: the attestation log (observe.h): one sealed row per
 * attestation outcome in table "attestations", ord = its time (unix ms),
 * so the store itself keeps the log in time order.
 *
 * Reading:
 *   - a page without a TEE, verdict or source filter is one paged scan of
 *     the store, newest first, over the ord range the time filters give,
 *     with the store's opaque cursor: what every instance sharing the
 *     store wrote, O(page) rows read;
 *   - a page with such a filter goes through an index in memory of every
 *     row's summary (id, time, TEE, verdict, source), so that it reads
 *     only the rows it returns (a filter matching 1 row in 100,000 would
 *     otherwise decrypt them all). The index is built by one scan at
 *     start, holds at most keep + ATTLOG_SLACK entries, gets this
 *     process's appends, and follows other instances (store_watch, on the
 *     store's poller thread): each time another instance writes, the rows
 *     from ATTLOG_WINDOW_MS before the newest known one onward are read
 *     again and the missing ones added (the window covers a write that
 *     took its time to commit and clocks a little apart); every
 *     ATTLOG_REBUILD_S while others write, the whole index is rebuilt. A
 *     row the index names but another instance dropped is skipped and
 *     forgotten when read.
 * Retention (attlog_expire, on the daemon's housekeeping timer): rows
 * older than max_age go by store_purge on ord; beyond keep rows, the
 * oldest go by store_purge below the ord the index (or a scan) gives.
 * Rows written by an earlier version (ord 0) get their ord from their id
 * at start.
 *
 * All store access of the log is here. Observing a request and building
 * its record (attlog_begin ... attlog_end), and the TEE and verdict names,
 * are attlog_observe.c's.
 *
 * Rows are group-committed (gcommit.h, ATTLOG_BATCH_MS): an attestation
 * does not wait for, or pay, a durable commit of its own. A row is
 * durable at most ATTLOG_BATCH_MS (plus the commit) after the answer; a
 * clean stop writes every queued row; a crash loses at most that last
 * interval. Reads and retention commit what is queued first.
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
#include "gcommit.h"
#include "observe.h"

#define ATTLOG_TABLE "attestations"
#define ATTLOG_ID_LEN 25		/* 16 + 1 + 8 */
#define ATTLOG_SOURCE_MAX 48
#define ATTLOG_PURGE_BATCH 5000
#define ATTLOG_PURGE_ROUNDS 10
#define ATTLOG_SCAN_PAGE 500
#define ATTLOG_SLACK 1000		/* index entries beyond keep */
#define ATTLOG_WINDOW_MS ((int64_t)30000)
#define ATTLOG_REBUILD_S 600
#define ATTLOG_COUNT_EVERY_S 10
#define ATTLOG_PROBLEMS_MAX 20
#define ATTLOG_BATCH_MS 100		/* group commit delay */
#define ATTLOG_BATCH_ROWS 4096		/* rows queued at most */

struct attlog_ent {
	char id[ATTLOG_ID_LEN + 1];
	int64_t ord;			/* unix ms: the id's time */
	uint8_t tee;			/* observe_tee_index */
	uint8_t verdict;		/* enum observe_verdict */
	char source[ATTLOG_SOURCE_MAX];
};

/* A sorted (by id, which is by time) array of summaries. */
struct attlog_ix {
	struct attlog_ent *v;
	size_t n, cap;
};

static struct {
	pthread_mutex_t lock;
	struct store *st;
	struct gcommit *batch;		/* NULL: rows written directly */
	struct attlog_ix ix;
	size_t keep;
	int64_t max_age;		/* seconds */
	uint64_t last_ms;		/* ids keep increasing */
	uint32_t seq;
	int64_t hw;			/* highest ord the index knows */
	int foreign;			/* others wrote since the last build */
	int64_t built_mono_ms;		/* when the index was last built */
	int rebuilding;
	uint64_t rows;			/* store_count, cached */
	int64_t rows_when;
} al = { .lock = PTHREAD_MUTEX_INITIALIZER, .keep = 100000,
    .max_age = 30 * 86400 };

static int64_t
attlog_mono_ms(void)
{
	return (int64_t)(now_mono_ns() / 1000000);
}

/* ------------------------------------------------------------- the ids */

/* 1 when s is "<16 hex>-<8 hex>" (lowercase), *ms the time it names. */
static int
attlog_id_parse(const char *s, int64_t *ms)
{
	uint64_t v = 0;
	size_t i;

	if (strlen(s) != ATTLOG_ID_LEN || s[16] != '-')
		return 0;
	for (i = 0; i < ATTLOG_ID_LEN; i++) {
		int c = s[i];

		if (i == 16)
			continue;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
		if (i < 16)
			v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (v > (uint64_t)INT64_MAX)
		return 0;
	if (ms != NULL)
		*ms = (int64_t)v;
	return 1;
}

static int
attlog_id_valid(const char *s)
{
	return attlog_id_parse(s, NULL);
}

/* ------------------------------------------------------------- the index */

/* The summary of a record into e; -1 when the record is unusable. */
static int
attlog_ent_from(const char *id, const json_t *rec, struct attlog_ent *e)
{
	const char *src = json_string_value(json_object_get(rec, "source"));
	int v = observe_verdict_index(json_string_value(json_object_get(rec,
	    "verdict")));

	memset(e, 0, sizeof(*e));
	if (!json_is_object(rec) || v < 0 || !attlog_id_parse(id, &e->ord))
		return -1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->tee = (uint8_t)observe_tee_index(json_string_value(json_object_get(
	    rec, "tee")));
	e->verdict = (uint8_t)v;
	snprintf(e->source, sizeof(e->source), "%s", src != NULL ? src : "");
	return 0;
}

/*
 * A row's value is "<summary>\n<rest>": the summary members first as
 * their own JSON object, so pages and the index parse a few hundred
 * bytes instead of the whole record (claims and token run to kilobytes);
 * then the record's other members. The whole record is rest with the
 * summary's members added. Compact JSON never holds a raw newline. Rows
 * of earlier versions hold the whole record as rest (and so the summary
 * twice), or the record alone.
 */
static size_t
attlog_split(const uint8_t *val, size_t len)
{
	const uint8_t *nl = memchr(val, '\n', len);

	return nl != NULL ? (size_t)(nl - val) : len;
}

/* The summary object of a row's value, or NULL. */
static json_t *
attlog_parse_summary(const uint8_t *val, size_t len)
{
	return json_loadb((const char *)val, attlog_split(val, len), 0, NULL);
}

/* The whole record of a row's value, or NULL. */
static json_t *
attlog_parse_record(const uint8_t *val, size_t len)
{
	size_t k = attlog_split(val, len);
	json_t *sum, *rec;

	if (k == len)
		return json_loadb((const char *)val, len, 0, NULL);
	rec = json_loadb((const char *)val + k + 1, len - k - 1, 0, NULL);
	sum = json_loadb((const char *)val, k, 0, NULL);
	if (!json_is_object(rec) || !json_is_object(sum) ||
	    json_object_update_missing(rec, sum) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	json_decref(sum);
	return rec;
}

static json_t *attlog_summary(const json_t *rec);

static void
attlog_ix_free(struct attlog_ix *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

static void
attlog_ix_push(struct attlog_ix *ix, const struct attlog_ent *e)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 1024;
		ix->v = xrealloc(ix->v, ix->cap * sizeof(*ix->v));
	}
	ix->v[ix->n++] = *e;
}

/* The position of id (or where it would go); *found. */
static size_t
attlog_ix_find(const struct attlog_ix *ix, const char *id, int *found)
{
	size_t lo = 0, hi = ix->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ix->v[mid].id, id);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert in order unless present (appends are the usual case). */
static void
attlog_ix_add(struct attlog_ix *ix, const struct attlog_ent *e)
{
	size_t at;
	int found;

	if (ix->n == 0 || strcmp(ix->v[ix->n - 1].id, e->id) < 0) {
		attlog_ix_push(ix, e);
		return;
	}
	at = attlog_ix_find(ix, e->id, &found);
	if (found)
		return;
	attlog_ix_push(ix, e);		/* grow */
	memmove(ix->v + at + 1, ix->v + at, (ix->n - 1 - at) *
	    sizeof(*ix->v));
	ix->v[at] = *e;
}

static void
attlog_ix_remove(struct attlog_ix *ix, const char *id)
{
	size_t at;
	int found;

	at = attlog_ix_find(ix, id, &found);
	if (!found)
		return;
	memmove(ix->v + at, ix->v + at + 1, (ix->n - at - 1) *
	    sizeof(*ix->v));
	ix->n--;
}

/* Drop the first n entries. */
static void
attlog_ix_drop(struct attlog_ix *ix, size_t n)
{
	if (n > ix->n)
		n = ix->n;
	if (n == 0)
		return;
	memmove(ix->v, ix->v + n, (ix->n - n) * sizeof(*ix->v));
	ix->n -= n;
}

/* Keep the index within its bound: entries older than ord_before (or
 * beyond keep + ATTLOG_SLACK, oldest first) go. Caller holds al.lock. */
static void
attlog_ix_trim_locked(int64_t ord_before)
{
	size_t n = 0;

	while (n < al.ix.n && al.ix.v[n].ord < ord_before)
		n++;
	if (al.ix.n - n > al.keep + ATTLOG_SLACK)
		n = al.ix.n - al.keep - ATTLOG_SLACK;
	attlog_ix_drop(&al.ix, n);
}

static int64_t
attlog_age_floor(int64_t now)
{
	return (now - al.max_age) * 1000;
}

/* ------------------------------------------------------ scanning the store */

/* Summaries of rows from ord_min on, in ord order, into ix (not sorted
 * by id yet); *hw the highest ord seen. */
struct attlog_load {
	struct attlog_ix *ix;
	int64_t hw;
	size_t bad;
};

static int
attlog_load_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_load *l = arg;
	struct attlog_ent e;
	json_t *rec;

	(void)meta;
	if (!attlog_id_valid(name))
		return 0;
	rec = attlog_parse_summary(val, len);
	if (attlog_ent_from(name, rec, &e) == 0) {
		attlog_ix_push(l->ix, &e);
		if (e.ord > l->hw)
			l->hw = e.ord;
	} else
		l->bad++;
	json_decref(rec);
	return 0;
}

static int
attlog_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attlog_ent *)a)->id,
	    ((const struct attlog_ent *)b)->id);
}

/* Every row with ord >= ord_min into l->ix, sorted by id at the end. */
static int
attlog_load(struct store *st, int64_t ord_min, struct attlog_load *l,
    struct error *err)
{
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct store_page q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = ATTLOG_SCAN_PAGE;
	q.ord_range = 1;
	q.ord_min = ord_min;
	q.ord_max = INT64_MAX;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(st, ATTLOG_TABLE, &q, attlog_load_cb, NULL, l,
		    next, err);
		if (rc != STORE_OK)
			return rc;
		if (next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	if (l->bad > 0)
		log_warnx("attestation log: %zu malformed row%s skipped",
		    l->bad, l->bad == 1 ? "" : "s");
	if (l->ix->n > 1)
		qsort(l->ix->v, l->ix->n, sizeof(*l->ix->v), attlog_ent_cmp);
	return 0;
}

/* Rows of an earlier version have ord 0: give them the time of their id.
 * A page is collected, then rewritten (each only if unchanged). */
struct attlog_legacy {
	char (*names)[ATTLOG_ID_LEN + 1];
	uint8_t **vals;
	size_t *lens;
	uint64_t *revs;
	size_t n;
};

static int
attlog_legacy_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_legacy *g = arg;

	if (!attlog_id_valid(name))
		return 0;
	snprintf(g->names[g->n], sizeof(g->names[0]), "%s", name);
	g->vals[g->n] = xmalloc(len + 1);
	memcpy(g->vals[g->n], val, len);
	g->lens[g->n] = len;
	g->revs[g->n] = meta->rev;
	g->n++;
	return 0;
}

static int
attlog_migrate(struct store *st, struct error *err)
{
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct attlog_legacy g;
	struct store_page q;
	size_t i, done = 0;
	int64_t ms;
	int rc = STORE_OK;

	memset(&q, 0, sizeof(q));
	q.limit = 100;
	q.ord_range = 1;		/* ord 0 only */
	g.names = xcalloc(q.limit, sizeof(*g.names));
	g.vals = xcalloc(q.limit, sizeof(*g.vals));
	g.lens = xcalloc(q.limit, sizeof(*g.lens));
	g.revs = xcalloc(q.limit, sizeof(*g.revs));
	for (;;) {
		g.n = 0;
		q.cursor = cursor;
		rc = store_scan(st, ATTLOG_TABLE, &q, attlog_legacy_cb, NULL,
		    &g, next, err);
		for (i = 0; i < g.n; i++) {
			if (rc == STORE_OK && attlog_id_parse(g.names[i], &ms)) {
				rc = store_put_ex(st, ATTLOG_TABLE, g.names[i],
				    g.vals[i], g.lens[i], ms, 0, g.revs[i],
				    NULL, err);
				if (rc == STORE_ABSENT)	/* changed meanwhile */
					rc = STORE_OK;
				done += rc == STORE_OK;
			}
			secret_free(g.vals[i], g.lens[i]);
		}
		if (rc != STORE_OK || next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	free(g.names);
	free(g.vals);
	free(g.lens);
	free(g.revs);
	if (rc == STORE_OK && done > 0)
		log_info("attestation log: %zu row%s from an earlier version "
		    "ordered by time", done, done == 1 ? "" : "s");
	return rc;
}

/* ------------------------------------------------- following other writers */

/* Build the whole index again (off the request path); entries this
 * process added meanwhile (newer than the scan's start, less the window)
 * are kept. */
static void
attlog_rebuild(struct store *st)
{
	struct attlog_ix fresh = { 0 };
	struct attlog_load l = { &fresh, 0, 0 };
	struct error err;
	int64_t start = (int64_t)time(NULL) * 1000 - ATTLOG_WINDOW_MS;
	size_t i;

	if (attlog_load(st, 0, &l, &err) != 0) {
		log_warnx("attestation log: rebuilding the index: %s", err.msg);
		attlog_ix_free(&fresh);
		return;
	}
	pthread_mutex_lock(&al.lock);
	if (al.st != st) {		/* shut down meanwhile */
		pthread_mutex_unlock(&al.lock);
		attlog_ix_free(&fresh);
		return;
	}
	for (i = 0; i < al.ix.n; i++)
		if (al.ix.v[i].ord >= start)
			attlog_ix_add(&fresh, &al.ix.v[i]);
	attlog_ix_free(&al.ix);
	al.ix = fresh;
	if (l.hw > al.hw)
		al.hw = l.hw;
	al.foreign = 0;
	al.built_mono_ms = attlog_mono_ms();
	attlog_ix_trim_locked(attlog_age_floor(now_unix()));
	pthread_mutex_unlock(&al.lock);
}

/* Add the rows from ATTLOG_WINDOW_MS before the newest known on. */
static void
attlog_catch_up(struct store *st)
{
	struct attlog_ix got = { 0 };
	struct attlog_load l = { &got, 0, 0 };
	struct error err;
	int64_t from;
	size_t i;

	pthread_mutex_lock(&al.lock);
	from = al.hw > ATTLOG_WINDOW_MS ? al.hw - ATTLOG_WINDOW_MS : 0;
	pthread_mutex_unlock(&al.lock);
	if (attlog_load(st, from, &l, &err) != 0) {
		log_warnx("attestation log: following other instances: %s",
		    err.msg);
		attlog_ix_free(&got);
		return;
	}
	pthread_mutex_lock(&al.lock);
	for (i = 0; al.st == st && i < got.n; i++)
		attlog_ix_add(&al.ix, &got.v[i]);
	if (l.hw > al.hw)
		al.hw = l.hw;
	attlog_ix_trim_locked(attlog_age_floor(now_unix()));
	pthread_mutex_unlock(&al.lock);
	attlog_ix_free(&got);
}

/* store_watch: another instance wrote (or purged) the table. Runs on the
 * store's poller thread. */
static void
attlog_changed(const char *table, void *arg)
{
	struct store *st = arg;
	int rebuild;

	(void)table;
	pthread_mutex_lock(&al.lock);
	if (al.st != st || al.rebuilding) {
		pthread_mutex_unlock(&al.lock);
		return;
	}
	al.foreign = 1;
	rebuild = attlog_mono_ms() - al.built_mono_ms >=
	    (int64_t)ATTLOG_REBUILD_S * 1000;
	al.rebuilding = 1;
	al.rows_when = 0;		/* recount */
	pthread_mutex_unlock(&al.lock);
	if (rebuild)
		attlog_rebuild(st);
	else
		attlog_catch_up(st);
	pthread_mutex_lock(&al.lock);
	al.rebuilding = 0;
	pthread_mutex_unlock(&al.lock);
}

/* ------------------------------------------------------------- the API */

int
attlog_init(struct store *st, size_t keep, int64_t max_age_s, int follow,
    struct error *err)
{
	struct attlog_ix ix = { 0 };
	struct attlog_load l = { &ix, 0, 0 };
	int rc;

	if ((rc = attlog_migrate(st, err)) != 0 ||
	    (rc = attlog_load(st, 0, &l, err)) != 0) {
		attlog_ix_free(&ix);
		error_prefix(err, "attestation log");
		return rc;
	}
	pthread_mutex_lock(&al.lock);
	attlog_ix_free(&al.ix);
	al.ix = ix;
	al.st = st;
	al.keep = keep;
	al.max_age = max_age_s;
	al.hw = l.hw;
	al.seq = randombytes_uniform(1u << 24);
	al.last_ms = 0;
	al.foreign = 0;
	al.rebuilding = 0;
	al.built_mono_ms = attlog_mono_ms();
	al.rows = ix.n;
	al.rows_when = 0;
	attlog_ix_trim_locked(attlog_age_floor(now_unix()));
	/* Without the writer thread rows are written directly. */
	al.batch = gcommit_new(st, "attestation log", ATTLOG_BATCH_MS,
	    ATTLOG_BATCH_ROWS, (size_t)8 << 20);
	pthread_mutex_unlock(&al.lock);
	if (follow && (rc = store_watch(st, ATTLOG_TABLE, attlog_changed, st,
	    err)) != 0) {
		attlog_shutdown();
		error_prefix(err, "attestation log");
		return rc;
	}
	attlog_expire(now_unix());
	return 0;
}

void
attlog_shutdown(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&al.lock);
	batch = al.batch;
	al.batch = NULL;
	pthread_mutex_unlock(&al.lock);
	/* Every queued row is written before the store closes. */
	gcommit_free(batch);
	pthread_mutex_lock(&al.lock);
	al.st = NULL;
	attlog_ix_free(&al.ix);
	pthread_mutex_unlock(&al.lock);
}

void
attlog_flush(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&al.lock);
	batch = al.batch;
	pthread_mutex_unlock(&al.lock);
	gcommit_flush(batch);
}

size_t
attlog_count(void)
{
	struct store *st;
	struct error err;
	uint64_t n;
	size_t out;

	pthread_mutex_lock(&al.lock);
	st = al.st;
	if (st == NULL || (al.rows_when != 0 && now_unix() - al.rows_when <
	    ATTLOG_COUNT_EVERY_S)) {
		out = (size_t)al.rows;
		pthread_mutex_unlock(&al.lock);
		return out;
	}
	al.rows_when = now_unix();
	pthread_mutex_unlock(&al.lock);
	if (store_count(st, ATTLOG_TABLE, &n, &err) == STORE_OK) {
		pthread_mutex_lock(&al.lock);
		al.rows = n;
		pthread_mutex_unlock(&al.lock);
	}
	pthread_mutex_lock(&al.lock);
	out = (size_t)al.rows;
	pthread_mutex_unlock(&al.lock);
	return out;
}

/* The ord below which rows are beyond keep (0: none), from the index
 * when it holds enough rows, else from a scan of the oldest. */
struct attlog_nth {
	size_t left;
	int64_t ord;
};

static int
attlog_nth_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_nth *t = arg;

	(void)name;
	(void)val;
	(void)len;
	t->ord = meta->ord;
	return --t->left == 0;
}

static int64_t
attlog_count_floor(struct store *st, uint64_t rows)
{
	struct attlog_nth t;
	struct store_page q;
	struct error err;
	uint64_t excess;
	int64_t ord = 0;

	if (rows <= al.keep)
		return 0;
	excess = rows - al.keep;
	if (excess > ATTLOG_PURGE_BATCH * ATTLOG_PURGE_ROUNDS)
		excess = ATTLOG_PURGE_BATCH * ATTLOG_PURGE_ROUNDS;
	pthread_mutex_lock(&al.lock);
	if (al.ix.n >= rows)		/* the index knows every row */
		ord = al.ix.v[excess - 1].ord + 1;
	pthread_mutex_unlock(&al.lock);
	if (ord != 0)
		return ord;
	memset(&q, 0, sizeof(q));
	q.limit = excess > 10000 ? 10000 : (size_t)excess;
	t.left = q.limit;
	t.ord = 0;
	if (store_scan(st, ATTLOG_TABLE, &q, attlog_nth_cb, NULL, &t, NULL,
	    &err) != STORE_OK) {
		log_warnx("attestation log: retention: %s", err.msg);
		return 0;
	}
	return t.ord != 0 ? t.ord + 1 : 0;
}

/* Purge rows with ord < ord_before, in batches; returns how many went. */
static size_t
attlog_purge(struct store *st, int64_t ord_before)
{
	struct error err;
	size_t n, total = 0;
	int i;

	for (i = 0; i < ATTLOG_PURGE_ROUNDS; i++) {
		if (store_purge(st, ATTLOG_TABLE, ord_before,
		    ATTLOG_PURGE_BATCH, &n, &err) != STORE_OK) {
			log_warnx("attestation log: retention: %s", err.msg);
			break;
		}
		total += n;
		if (n < ATTLOG_PURGE_BATCH)
			break;
	}
	return total;
}

int
attlog_expire(int64_t now)
{
	struct store *st;
	struct error err;
	uint64_t rows;
	int64_t floor;
	size_t n;

	pthread_mutex_lock(&al.lock);
	st = al.st;
	pthread_mutex_unlock(&al.lock);
	if (st == NULL)
		return 0;
	attlog_flush();
	floor = attlog_age_floor(now);
	n = attlog_purge(st, floor);
	if (store_count(st, ATTLOG_TABLE, &rows, &err) == STORE_OK &&
	    rows > al.keep) {
		int64_t f = attlog_count_floor(st, rows);
		size_t m = f != 0 ? attlog_purge(st, f) : 0;

		n += m;
		rows -= m < rows ? m : rows;
		if (f > floor)
			floor = f;
	}
	pthread_mutex_lock(&al.lock);
	attlog_ix_trim_locked(floor);
	al.rows = rows;
	al.rows_when = now_unix();
	pthread_mutex_unlock(&al.lock);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/*
 * A row's value for rec (see attlog_split): the summary, a newline, then
 * rec's other members; ear, when not NULL, is the JSON text of the "ear"
 * member (rec has none then), spliced in as it is: the token's own
 * decoded header and payload, not serialized again. NULL when out of
 * memory.
 */
static char *
attlog_value(const json_t *rec, const char *ear)
{
	json_t *sum = attlog_summary(rec), *rest = json_object();
	const char *k;
	json_t *v;
	char *s1 = NULL, *s2 = NULL, *s = NULL;
	struct buf b = { 0 };
	size_t n;

	if (sum == NULL || rest == NULL)
		goto out;
	json_object_foreach((json_t *)rec, k, v)
		if (json_object_get(sum, k) == NULL &&
		    json_object_set(rest, k, v) != 0)
			goto out;
	s1 = jcs_compact(sum, NULL);
	s2 = jcs_compact(rest, NULL);
	if (s1 == NULL || s2 == NULL)
		goto out;
	/* Copied, not formatted: the texts are kilobytes. */
	buf_addstr(&b, s1);
	buf_add(&b, "\n", 1);
	n = strlen(s2);
	if (ear == NULL)
		buf_add(&b, s2, n);
	else {
		/* s2 is "{...}" or "{}": ear goes in before the brace. */
		buf_add(&b, s2, n - 1);
		if (n > 2)
			buf_add(&b, ",", 1);
		buf_add(&b, "\"ear\":", 6);
		buf_addstr(&b, ear);
		buf_add(&b, "}", 1);	/* buf keeps its text NUL-terminated */
	}
	s = (char *)b.data;
out:
	free(s1);
	free(s2);
	json_decref(sum);
	json_decref(rest);
	return s;
}

int
attlog_append(json_t *rec, const char *ear, struct error *err)
{
	char id[ATTLOG_ID_LEN + 1], when[TIME_RFC3339_LEN];
	struct attlog_ent e;
	struct timespec ts;
	uint64_t ms;
	char *s;
	int rc;

	pthread_mutex_lock(&al.lock);
	if (al.st == NULL) {
		pthread_mutex_unlock(&al.lock);
		return error_set(err, "the attestation log is not open");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Ids and ords strictly increase in a process (a burst of more
	 * than 1000 a second runs a little ahead of the clock), so a page
	 * of the store's scan is in id order too. */
	if (ms <= al.last_ms)
		ms = al.last_ms + 1;
	al.last_ms = ms;
	snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32, ms,
	    al.seq++ & 0xffffffffu);
	time_format_rfc3339((int64_t)(ms / 1000), when);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	if (attlog_ent_from(id, rec, &e) != 0) {
		pthread_mutex_unlock(&al.lock);
		return error_set(err, "attestation log: incomplete record");
	}
	s = attlog_value(rec, ear);
	if (s == NULL) {
		pthread_mutex_unlock(&al.lock);
		return error_set(err, "attestation log: cannot serialize");
	}
	/* Under the lock: this process's rows commit in ord order, which
	 * is what other instances' catch-up relies on. */
	if (al.batch != NULL && gcommit_put(al.batch, ATTLOG_TABLE, id, s,
	    strlen(s), (int64_t)ms, 0) == 0)
		rc = 0;
	else
		rc = store_put_ex(al.st, ATTLOG_TABLE, id, s, strlen(s),
		    (int64_t)ms, 0, STORE_REV_ABSENT, NULL, err);
	free(s);
	if (rc == STORE_ABSENT)
		rc = error_set(err, "attestation log: id %s is taken", id);
	if (rc == 0) {
		attlog_ix_add(&al.ix, &e);
		if (e.ord > al.hw)
			al.hw = e.ord;
		al.rows++;
		if (al.ix.n > al.keep + ATTLOG_SLACK)
			attlog_ix_trim_locked(0);
	}
	pthread_mutex_unlock(&al.lock);
	return rc;
}

static int
attlog_matches(const struct attlog_ent *e, const struct attlog_filter *f,
    int tee)
{
	if (tee >= 0 && e->tee != tee)
		return 0;
	if (f->verdict >= 0 && e->verdict != f->verdict)
		return 0;
	if (f->source != NULL && strcmp(f->source, e->source) != 0)
		return 0;
	if (f->since != 0 && e->ord < f->since * 1000)
		return 0;
	if (f->until != 0 && e->ord > f->until * 1000 + 999)
		return 0;
	return 1;
}

/* The summary members of a record (a new object). */
static json_t *
attlog_summary(const json_t *rec)
{
	static const char *const keys[] = { "id", "time", "endpoint", "tee",
	    "source", "verdict", "reason", "trust_vector", "policy_id",
	    "token", "latency_us" };
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(rec, keys[i]);

		json_object_set(o, keys[i], v != NULL ? v : json_null());
	}
	return o;
}

/* A row that could not be read, for the answer's "problems". */
static void
attlog_problem(json_t *problems, const char *id_hex, const char *reason)
{
	if (problems == NULL || json_array_size(problems) >=
	    ATTLOG_PROBLEMS_MAX)
		return;
	json_array_append_new(problems, json_pack("{s:s, s:s, s:s}", "table",
	    ATTLOG_TABLE, "id", id_hex, "reason", reason));
}

/* Read one row: its summary members only (summary) or the whole
 * record. */
static int
attlog_read(struct store *st, const char *id, int summary, json_t **rec,
    struct error *err)
{
	char hex[STORE_ID_HEX_LEN + 1];
	struct error ierr;
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*rec = NULL;
	rc = store_get(st, ATTLOG_TABLE, id, &val, &len, err);
	if (rc == STORE_ABSENT) {
		/* Perhaps still waiting for its group commit. */
		attlog_flush();
		rc = store_get(st, ATTLOG_TABLE, id, &val, &len, err);
	}
	if (rc != 0)
		return rc;
	*rec = summary ? attlog_parse_summary(val, len) :
	    attlog_parse_record(val, len);
	secret_free(val, len);
	if (!json_is_object(*rec)) {
		json_decref(*rec);
		*rec = NULL;
		if (store_row_id_hex(st, ATTLOG_TABLE, id, hex, &ierr) != 0)
			snprintf(hex, sizeof(hex), "?");
		error_set(err, "table %s, row %s: malformed entry",
		    ATTLOG_TABLE, hex);
		return STORE_CORRUPT;
	}
	return 0;
}

/* Unfiltered pages: the store's own scan, newest first. */
struct attlog_page {
	json_t *items;
	json_t *problems;
};

static int
attlog_page_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_page *p = arg;
	json_t *rec;

	(void)meta;
	rec = attlog_parse_summary(val, len);
	if (json_is_object(rec) && attlog_id_valid(name))
		json_array_append_new(p->items, attlog_summary(rec));
	else
		log_warnx("attestation log: skipping a malformed row");
	json_decref(rec);
	return 0;
}

static void
attlog_page_bad(const char *table, const char *id_hex, const char *reason,
    void *arg)
{
	struct attlog_page *p = arg;

	(void)table;
	attlog_problem(p->problems, id_hex, reason);
}

static int
attlog_list_store(struct store *st, const char *cursor, size_t limit,
    const struct attlog_filter *f, json_t *items, json_t *problems,
    char *next, struct error *err)
{
	char snext[STORE_CURSOR_MAX];
	struct attlog_page p = { items, problems };
	struct store_page q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.desc = 1;
	q.limit = limit;
	q.cursor = cursor;
	if (f->since != 0 || f->until != 0) {
		q.ord_range = 1;
		q.ord_min = f->since != 0 ? f->since * 1000 : INT64_MIN;
		q.ord_max = f->until != 0 ? f->until * 1000 + 999 : INT64_MAX;
	}
	rc = store_scan(st, ATTLOG_TABLE, &q, attlog_page_cb, attlog_page_bad,
	    &p, snext, err);
	if (rc == STORE_ERROR && strstr(err->msg, "bad cursor") != NULL)
		return ATTLOG_BAD_CURSOR;
	if (rc == STORE_OK && snext[0] != '\0')
		snprintf(next, ATTLOG_CURSOR_MAX, "s%s", snext);
	return rc;
}

/* Filtered pages: ids from the index (newest first, strictly older than
 * the id `before`), then each row read. */
static int
attlog_list_index(struct store *st, const char *before, size_t limit,
    const struct attlog_filter *f, int tee, json_t *items, json_t *problems,
    char *next, struct error *err)
{
	char (*ids)[ATTLOG_ID_LEN + 1] = xcalloc(limit + 1, sizeof(*ids));
	char pos[ATTLOG_ID_LEN + 1], hex[STORE_ID_HEX_LEN + 1];
	struct error ierr;
	json_t *rec;
	size_t i, n, got = 0, at;
	int found, more = 0, rc = 0;

	snprintf(pos, sizeof(pos), "%s", before != NULL ? before : "");
	while (got < limit && rc == 0) {
		/* Up to the page's rest, plus one to know if more follow. */
		n = 0;
		pthread_mutex_lock(&al.lock);
		at = pos[0] != '\0' ? attlog_ix_find(&al.ix, pos, &found) :
		    al.ix.n;
		while (at-- > 0 && n < limit - got + 1)
			if (attlog_matches(&al.ix.v[at], f, tee))
				memcpy(ids[n++], al.ix.v[at].id, sizeof(ids[0]));
		pthread_mutex_unlock(&al.lock);
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (got == limit) {
				more = 1;	/* the extra one */
				break;
			}
			snprintf(pos, sizeof(pos), "%s", ids[i]);
			rc = attlog_read(st, ids[i], 1, &rec, err);
			if (rc == STORE_ABSENT) {
				/* Dropped by another instance's retention. */
				pthread_mutex_lock(&al.lock);
				attlog_ix_remove(&al.ix, ids[i]);
				pthread_mutex_unlock(&al.lock);
				rc = 0;
				continue;
			}
			if (rc == STORE_CORRUPT) {
				if (store_row_id_hex(st, ATTLOG_TABLE, ids[i],
				    hex, &ierr) != 0)
					snprintf(hex, sizeof(hex), "?");
				attlog_problem(problems, hex, err->msg);
				rc = 0;
				continue;
			}
			if (rc != 0)
				break;
			json_array_append_new(items, attlog_summary(rec));
			json_decref(rec);
			got++;
		}
		if (more || n < limit - got + 1)
			break;
	}
	free(ids);
	if (rc == 0 && more && got > 0)
		snprintf(next, ATTLOG_CURSOR_MAX, "i%s", pos);
	return rc;
}

int
attlog_list(const char *cursor, size_t limit, const struct attlog_filter *f,
    json_t **items, char next[ATTLOG_CURSOR_MAX], json_t **problems,
    struct error *err)
{
	struct store *st;
	int tee = -1, rc;

	*items = NULL;
	*problems = NULL;
	next[0] = '\0';
	if (limit == 0)
		limit = 1;
	if (f->tee != NULL) {
		tee = observe_tee_index(f->tee);
		if (tee == OBSERVE_TEES - 1 && strcmp(f->tee, "other") != 0) {
			*items = json_array();
			return 0;
		}
	}
	pthread_mutex_lock(&al.lock);
	st = al.st;
	pthread_mutex_unlock(&al.lock);
	if (st == NULL)
		return error_set(err, "the attestation log is not open");
	attlog_flush();		/* a page shows what was answered */
	*items = json_array();
	*problems = json_array();
	if (tee < 0 && f->verdict < 0 && f->source == NULL) {
		if (cursor != NULL && cursor[0] != 's')
			rc = ATTLOG_BAD_CURSOR;
		else
			rc = attlog_list_store(st, cursor != NULL ? cursor + 1 :
			    NULL, limit, f, *items, *problems, next, err);
	} else if (cursor != NULL && (cursor[0] != 'i' ||
	    !attlog_id_valid(cursor + 1)))
		rc = ATTLOG_BAD_CURSOR;
	else
		rc = attlog_list_index(st, cursor != NULL ? cursor + 1 : NULL,
		    limit, f, tee, *items, *problems, next, err);
	if (rc == ATTLOG_BAD_CURSOR)
		error_set(err, "cursor is not a value returned as next_cursor "
		    "for this query");
	if (rc != 0) {
		json_decref(*items);
		json_decref(*problems);
		*items = *problems = NULL;
		next[0] = '\0';
	}
	return rc;
}

int
attlog_get(const char *id, json_t **rec, struct error *err)
{
	struct store *st;
	const json_t *sub, *ann;
	const char *name;
	int rc;

	*rec = NULL;
	if (!attlog_id_valid(id))
		return 1;
	pthread_mutex_lock(&al.lock);
	st = al.st;
	pthread_mutex_unlock(&al.lock);
	if (st == NULL)
		return error_set(err, "the attestation log is not open");
	rc = attlog_read(st, id, 0, rec, err);
	if (rc != 0)
		return rc;
	/* Claims travel in the token: the first appraisal's annotated
	 * evidence is the policy input. */
	if (json_is_null(json_object_get(*rec, "claims")) ||
	    json_object_get(*rec, "claims") == NULL) {
		json_object_foreach(json_object_get(json_object_get(
		    json_object_get(*rec, "ear"), "payload"), "submods"),
		    name, sub) {
			ann = json_object_get(sub,
			    "ear.veraison.annotated-evidence");
			if (json_is_object(ann)) {
				json_object_set(*rec, "claims", (json_t *)ann);
				json_object_set_new(*rec, "claims_from",
				    json_sprintf("ear submods.%s", name));
				break;
			}
		}
	}
	return 0;
}
