/*
 * attlog.c: the attestation log (observe.h): one sealed row per
 * attestation outcome in table "attestations", ord = its time (unix ms),
 * so the store itself keeps the log in time order. This file opens and
 * closes the log, writes its rows and enforces retention; it owns the
 * state the log's files share (attlog_internal.h). A row's id and value
 * are attlog_row.c's, the index in memory of every row's summary
 * attlog_index.c's, pages and lookups attlog_read.c's. Observing a
 * request and building its record (attlog_begin ... attlog_end), and the
 * TEE and verdict names, are attlog_observe.c's. All store access of the
 * log is in these files.
 *
 * Rows are group-committed (gcommit.h, ATTLOG_BATCH_MS): an attestation
 * does not wait for, or pay, a durable commit of its own. A row is
 * durable at most ATTLOG_BATCH_MS (plus the commit) after the answer; a
 * clean stop writes every queued row; a crash loses at most that last
 * interval. Reads and retention commit what is queued first.
 *
 * Ids and ords strictly increase in a process, and this process's rows
 * commit in ord order (what other instances' catch-up relies on).
 *
 * Retention (attlog_expire, on the daemon's housekeeping timer): rows
 * older than max_age go by store_purge on ord; beyond keep rows, the
 * oldest go by store_purge below the ord the index (or a scan) gives.
 * Rows written by an earlier version (ord 0) get their ord from their id
 * at start.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../lib/log.h"
#include "attlog_internal.h"
#include "gcommit.h"

#define ATTLOG_PURGE_BATCH 5000
#define ATTLOG_PURGE_ROUNDS 10
#define ATTLOG_COUNT_EVERY_S 10
#define ATTLOG_BATCH_MS 100		/* group commit delay */
#define ATTLOG_BATCH_ROWS 4096		/* rows queued at most */

struct attlog_state attlog_state = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .keep = 100000, .max_age = 30 * 86400 };

/* This file's own state, under attlog_state.lock. */
static struct {
	struct gcommit *batch;		/* NULL: rows written directly */
	uint64_t last_ms;		/* ids keep increasing */
	uint32_t seq;
	uint64_t rows;			/* store_count, cached */
} own;

struct store *
attlog_store(void)
{
	struct store *st;

	pthread_mutex_lock(&attlog_state.lock);
	st = attlog_state.st;
	pthread_mutex_unlock(&attlog_state.lock);
	return st;
}

int64_t
attlog_age_floor(int64_t now)
{
	return (now - attlog_state.max_age) * 1000;
}

/* ------------------------------------------------ rows of earlier versions */

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

	if (!attlog_row_id_valid(name))
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
			if (rc == STORE_OK &&
			    attlog_row_id_parse(g.names[i], &ms)) {
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

/* ------------------------------------------------------------- the API */

int
attlog_init(struct store *st, size_t keep, int64_t max_age_s, int follow,
    struct error *err)
{
	struct attlog_ix ix = { 0 };
	int64_t hw = 0;
	int rc;

	if ((rc = attlog_migrate(st, err)) != 0 ||
	    (rc = attlog_index_load(st, &ix, &hw, err)) != 0) {
		attlog_index_free(&ix);
		error_prefix(err, "attestation log");
		return rc;
	}
	pthread_mutex_lock(&attlog_state.lock);
	attlog_state.st = st;
	attlog_state.keep = keep;
	attlog_state.max_age = max_age_s;
	own.seq = randombytes_uniform(1u << 24);
	own.last_ms = 0;
	own.rows = ix.n;
	attlog_state.rows_when = 0;
	attlog_index_take_locked(&ix, hw);
	attlog_index_trim_locked(attlog_age_floor(now_unix()));
	/* Without the writer thread rows are written directly. */
	own.batch = gcommit_new(st, "attestation log", ATTLOG_BATCH_MS,
	    ATTLOG_BATCH_ROWS, (size_t)8 << 20);
	pthread_mutex_unlock(&attlog_state.lock);
	if (follow && (rc = store_watch(st, ATTLOG_TABLE, attlog_index_changed,
	    st, err)) != 0) {
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

	pthread_mutex_lock(&attlog_state.lock);
	batch = own.batch;
	own.batch = NULL;
	pthread_mutex_unlock(&attlog_state.lock);
	/* Every queued row is written before the store closes. */
	gcommit_free(batch);
	pthread_mutex_lock(&attlog_state.lock);
	attlog_state.st = NULL;
	attlog_index_clear_locked();
	pthread_mutex_unlock(&attlog_state.lock);
}

void
attlog_flush(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&attlog_state.lock);
	batch = own.batch;
	pthread_mutex_unlock(&attlog_state.lock);
	gcommit_flush(batch);
}

size_t
attlog_count(void)
{
	struct store *st;
	struct error err;
	uint64_t n;
	size_t out;

	pthread_mutex_lock(&attlog_state.lock);
	st = attlog_state.st;
	if (st == NULL || (attlog_state.rows_when != 0 && now_unix() -
	    attlog_state.rows_when < ATTLOG_COUNT_EVERY_S)) {
		out = (size_t)own.rows;
		pthread_mutex_unlock(&attlog_state.lock);
		return out;
	}
	attlog_state.rows_when = now_unix();
	pthread_mutex_unlock(&attlog_state.lock);
	if (store_count(st, ATTLOG_TABLE, &n, &err) == STORE_OK) {
		pthread_mutex_lock(&attlog_state.lock);
		own.rows = n;
		pthread_mutex_unlock(&attlog_state.lock);
	}
	pthread_mutex_lock(&attlog_state.lock);
	out = (size_t)own.rows;
	pthread_mutex_unlock(&attlog_state.lock);
	return out;
}

/* ------------------------------------------------------------ retention */

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

/* The retention pass repeats while the store is away: warn once a minute. */
static struct log_limit attlog_retention_lim;

static int64_t
attlog_count_floor(struct store *st, uint64_t rows)
{
	struct attlog_nth t;
	struct store_page q;
	struct error err;
	uint64_t excess;
	int64_t ord;

	if (rows <= attlog_state.keep)
		return 0;
	excess = rows - attlog_state.keep;
	if (excess > ATTLOG_PURGE_BATCH * ATTLOG_PURGE_ROUNDS)
		excess = ATTLOG_PURGE_BATCH * ATTLOG_PURGE_ROUNDS;
	ord = attlog_index_above_nth(rows, excess);
	if (ord != 0)
		return ord;
	memset(&q, 0, sizeof(q));
	q.limit = excess > 10000 ? 10000 : (size_t)excess;
	t.left = q.limit;
	t.ord = 0;
	if (store_scan(st, ATTLOG_TABLE, &q, attlog_nth_cb, NULL, &t, NULL,
	    &err) != STORE_OK) {
		log_warnx_limited(&attlog_retention_lim, 60, "attestation "
		    "log: retention: %s", err.msg);
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
			log_warnx_limited(&attlog_retention_lim, 60,
			    "attestation log: retention: %s", err.msg);
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

	st = attlog_store();
	if (st == NULL)
		return 0;
	attlog_flush();
	floor = attlog_age_floor(now);
	n = attlog_purge(st, floor);
	if (store_count(st, ATTLOG_TABLE, &rows, &err) == STORE_OK &&
	    rows > attlog_state.keep) {
		int64_t f = attlog_count_floor(st, rows);
		size_t m = f != 0 ? attlog_purge(st, f) : 0;

		n += m;
		rows -= m < rows ? m : rows;
		if (f > floor)
			floor = f;
	}
	pthread_mutex_lock(&attlog_state.lock);
	attlog_index_trim_locked(floor);
	own.rows = rows;
	attlog_state.rows_when = now_unix();
	pthread_mutex_unlock(&attlog_state.lock);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* ------------------------------------------------------------- writing */

int
attlog_append(json_t *rec, const char *ear, struct error *err)
{
	char id[ATTLOG_ID_LEN + 1], when[TIME_RFC3339_LEN];
	struct attlog_ent e;
	struct timespec ts;
	uint64_t ms;
	char *s;
	int rc;

	pthread_mutex_lock(&attlog_state.lock);
	if (attlog_state.st == NULL) {
		pthread_mutex_unlock(&attlog_state.lock);
		return error_set(err, "the attestation log is not open");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Ids and ords strictly increase in a process (a burst of more
	 * than 1000 a second runs a little ahead of the clock), so a page
	 * of the store's scan is in id order too. */
	if (ms <= own.last_ms)
		ms = own.last_ms + 1;
	own.last_ms = ms;
	snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32, ms,
	    own.seq++ & 0xffffffffu);
	time_format_rfc3339((int64_t)(ms / 1000), when);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	if (attlog_row_ent(id, rec, &e) != 0) {
		pthread_mutex_unlock(&attlog_state.lock);
		return error_set(err, "attestation log: incomplete record");
	}
	/* For following other instances: a catch-up skips this row unread
	 * (attlog_index.c). 0 (never matched) should the store refuse. */
	if (store_row_tag(attlog_state.st, ATTLOG_TABLE, id, &e.tag, err) != 0)
		e.tag = 0;
	s = attlog_row_value(rec, ear);
	if (s == NULL) {
		pthread_mutex_unlock(&attlog_state.lock);
		return error_set(err, "attestation log: cannot serialize");
	}
	/* Under the lock: this process's rows commit in ord order, which
	 * is what other instances' catch-up relies on. */
	if (own.batch != NULL && gcommit_put(own.batch, ATTLOG_TABLE, id, s,
	    strlen(s), (int64_t)ms, 0) == 0)
		rc = 0;
	else
		rc = store_put_ex(attlog_state.st, ATTLOG_TABLE, id, s,
		    strlen(s), (int64_t)ms, 0, STORE_REV_ABSENT, NULL, err);
	free(s);
	if (rc == STORE_ABSENT)
		rc = error_set(err, "attestation log: id %s is taken", id);
	if (rc == 0) {
		attlog_index_add_locked(&e);
		own.rows++;
	}
	pthread_mutex_unlock(&attlog_state.lock);
	return rc;
}
