/*
 * attlog_index.c: the attestation log's index in memory of every row's
 * summary (id, time, TEE, verdict, source; attlog_internal.h), so that a
 * page with a TEE, verdict or source filter (attlog_read.c) reads only
 * the rows it returns (a filter matching 1 row in 100,000 would
 * otherwise decrypt them all).
 *
 * The index is built by one scan at start (attlog_index_load), holds at
 * most keep + ATTLOG_SLACK entries, gets this process's appends, and
 * follows other instances (attlog_index_changed, store_watch's callback
 * on the store's poller thread): each time another instance writes, the
 * rows from ATTLOG_FOLLOW_MS before the newest row another instance wrote
 * onward are read and the missing ones added (the margin covers batches
 * of several writers committing a little out of order). A catch-up
 * reads only the rows the index does not know: the scan walks the
 * range's ids and the index's entries, by ord and store tag, tell which
 * to skip (this process's own rows, those an earlier catch-up read), so
 * each row another instance wrote is fetched and opened about once. Every
 * ATTLOG_SWEEP_S such a catch-up reads from ATTLOG_WINDOW_MS before the
 * newest known row instead (a write that took its time to commit, a
 * writer whose clock is behind), and every ATTLOG_REBUILD_S while others
 * write the whole index is rebuilt: every row's id and ord listed, the
 * rows it does not know read, the entries whose rows were not listed
 * dropped. So a row another instance wrote is listed about (1 s poll +
 * ATTLOG_FOLLOW_MS) / 1 s + 1 times, and once per rebuild (its id and
 * ord only), and read once: a filtered page shows it within a poll, or
 * a sweep when it came late, and unfiltered pages read the store. A row
 * the index names but another instance dropped is forgotten when a page
 * finds it gone (attlog_index_forget), or at the next rebuild.
 *
 * The index is under attlog_state.lock; scans of the store run without
 * it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "attlog_internal.h"

#define ATTLOG_SCAN_PAGE 500
#define ATTLOG_SLACK 1000		/* index entries beyond keep */
#define ATTLOG_WINDOW_MS ((int64_t)30000)
#define ATTLOG_FOLLOW_MS ((int64_t)2000)
#define ATTLOG_SWEEP_S 30
#define ATTLOG_REBUILD_S 600

static struct {
	struct attlog_ix ix;
	int64_t hw;			/* highest ord the index knows */
	int foreign;			/* others wrote since the last build */
	int64_t built_mono_ms;		/* when the index was last built */
	int64_t follow_from;		/* the next catch-up reads from here */
	int64_t swept_mono_ms;		/* the last catch-up of the window */
	int rebuilding;
	uint64_t rows_read;		/* opened by catch-ups */
} idx;

static int64_t
attlog_index_mono_ms(void)
{
	return (int64_t)(now_mono_ns() / 1000000);
}

/* ------------------------------------------------------- the sorted array */

void
attlog_index_free(struct attlog_ix *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

static void
attlog_index_push(struct attlog_ix *ix, const struct attlog_ent *e)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 1024;
		ix->v = xrealloc(ix->v, ix->cap * sizeof(*ix->v));
	}
	ix->v[ix->n++] = *e;
}

static const char *
attlog_index_id_at(const void *ctx, size_t i)
{
	return ((const struct attlog_ix *)ctx)->v[i].id;
}

/* The position of id (or where it would go); *found. */
static size_t
attlog_index_find(const struct attlog_ix *ix, const char *id, int *found)
{
	return sorted_find(id, ix->n, attlog_index_id_at, ix, found);
}

/* Insert in order unless present (appends are the usual case): 1 when
 * inserted, 0 when present. */
static int
attlog_index_insert(struct attlog_ix *ix, const struct attlog_ent *e)
{
	size_t at;
	int found;

	if (ix->n == 0 || strcmp(ix->v[ix->n - 1].id, e->id) < 0) {
		attlog_index_push(ix, e);
		return 1;
	}
	at = attlog_index_find(ix, e->id, &found);
	if (found)
		return 0;
	attlog_index_push(ix, e);	/* grow */
	memmove(ix->v + at + 1, ix->v + at, (ix->n - 1 - at) *
	    sizeof(*ix->v));
	ix->v[at] = *e;
	return 1;
}

static void
attlog_index_remove(struct attlog_ix *ix, const char *id)
{
	size_t at;
	int found;

	at = attlog_index_find(ix, id, &found);
	if (!found)
		return;
	memmove(ix->v + at, ix->v + at + 1, (ix->n - at - 1) *
	    sizeof(*ix->v));
	ix->n--;
}

/* Drop the first n entries. */
static void
attlog_index_drop(struct attlog_ix *ix, size_t n)
{
	if (n > ix->n)
		n = ix->n;
	if (n == 0)
		return;
	memmove(ix->v, ix->v + n, (ix->n - n) * sizeof(*ix->v));
	ix->n -= n;
}

/* ------------------------------------------------------ the log's index */

void
attlog_index_take_locked(struct attlog_ix *ix, int64_t hw)
{
	attlog_index_free(&idx.ix);
	idx.ix = *ix;
	memset(ix, 0, sizeof(*ix));
	idx.hw = hw;
	idx.foreign = 0;
	idx.rebuilding = 0;
	idx.built_mono_ms = idx.swept_mono_ms = attlog_index_mono_ms();
	idx.follow_from = hw > ATTLOG_WINDOW_MS ? hw - ATTLOG_WINDOW_MS : 0;
}

void
attlog_index_clear_locked(void)
{
	attlog_index_free(&idx.ix);
}

void
attlog_index_add_locked(const struct attlog_ent *e)
{
	attlog_index_insert(&idx.ix, e);
	if (e->ord > idx.hw)
		idx.hw = e->ord;
	if (idx.ix.n > attlog_state.keep + ATTLOG_SLACK)
		attlog_index_trim_locked(0);
}

void
attlog_index_trim_locked(int64_t ord_before)
{
	size_t n = 0;

	while (n < idx.ix.n && idx.ix.v[n].ord < ord_before)
		n++;
	if (idx.ix.n - n > attlog_state.keep + ATTLOG_SLACK)
		n = idx.ix.n - attlog_state.keep - ATTLOG_SLACK;
	attlog_index_drop(&idx.ix, n);
}

int64_t
attlog_index_above_nth(uint64_t rows, uint64_t n)
{
	int64_t ord = 0;

	pthread_mutex_lock(&attlog_state.lock);
	if (idx.ix.n >= rows)		/* the index knows every row */
		ord = idx.ix.v[n - 1].ord + 1;
	pthread_mutex_unlock(&attlog_state.lock);
	return ord;
}

static int
attlog_index_matches(const struct attlog_ent *e,
    const struct attlog_filter *f, int tee)
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

size_t
attlog_index_select(const char *before, const struct attlog_filter *f,
    int tee, char (*ids)[ATTLOG_ID_LEN + 1], size_t max)
{
	size_t n = 0, at;
	int found;

	pthread_mutex_lock(&attlog_state.lock);
	at = before[0] != '\0' ? attlog_index_find(&idx.ix, before, &found) :
	    idx.ix.n;
	while (at-- > 0 && n < max)
		if (attlog_index_matches(&idx.ix.v[at], f, tee))
			memcpy(ids[n++], idx.ix.v[at].id, sizeof(ids[0]));
	pthread_mutex_unlock(&attlog_state.lock);
	return n;
}

void
attlog_index_forget(const char *id)
{
	pthread_mutex_lock(&attlog_state.lock);
	attlog_index_remove(&idx.ix, id);
	pthread_mutex_unlock(&attlog_state.lock);
}

/* ------------------------------------------------------ scanning the store */

/* Summaries of rows from ord_min on, in ord order, into ix (not sorted
 * by id yet); hw the highest ord seen. */
struct attlog_index_scan {
	struct attlog_ix *ix;
	int64_t hw;
	size_t bad;
	/* A catch-up: the rows the index knows from its start on (ord
	 * order), which it skips unread. */
	struct attlog_known *known;
	size_t nknown;
};

struct attlog_known {
	int64_t ord;
	uint64_t tag;
	int listed;		/* the scan came across its row */
};

/* The first of n elements of size bytes at v, in ord order, whose
 * int64_t at offset off (its ord) is >= ord; n when none is. */
static size_t
attlog_index_ord_bound(const void *v, size_t n, size_t size, size_t off,
    int64_t ord)
{
	size_t lo = 0, hi = n, mid;
	int64_t o;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		memcpy(&o, (const char *)v + mid * size + off, sizeof(o));
		if (o < ord)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The known row with this ord and tag, or NULL (tag 0, unknown, never
 * matches). */
static struct attlog_known *
attlog_index_known_find(const struct attlog_index_scan *l, int64_t ord,
    uint64_t tag)
{
	size_t i;

	if (tag == 0)
		return NULL;
	i = attlog_index_ord_bound(l->known, l->nknown, sizeof(*l->known),
	    offsetof(struct attlog_known, ord), ord);
	for (; i < l->nknown && l->known[i].ord == ord; i++)
		if (l->known[i].tag == tag)
			return &l->known[i];
	return NULL;
}

static int
attlog_index_scan_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_index_scan *l = arg;
	struct attlog_ent e;
	json_t *rec;

	if (!attlog_row_id_valid(name))
		return 0;
	rec = attlog_row_summary_parse(val, len);
	if (attlog_row_ent(name, rec, &e) == 0) {
		e.tag = meta->tag;
		attlog_index_push(l->ix, &e);
		if (e.ord > l->hw)
			l->hw = e.ord;
	} else
		l->bad++;
	json_decref(rec);
	return 0;
}

/* store_page.skip of a catch-up or rebuild: whether the index knew the
 * row with this ord and tag when the scan began (noted as listed). */
static int
attlog_index_scan_skip(int64_t ord, uint64_t tag, void *arg)
{
	struct attlog_known *k = attlog_index_known_find(arg, ord, tag);

	if (k == NULL)
		return 0;
	k->listed = 1;
	return 1;
}

static int
attlog_index_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attlog_ent *)a)->id,
	    ((const struct attlog_ent *)b)->id);
}

/* Every row with ord >= ord_min into l->ix, sorted by id at the end. */
static int
attlog_index_scan(struct store *st, int64_t ord_min,
    struct attlog_index_scan *l, struct error *err)
{
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct store_page q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = ATTLOG_SCAN_PAGE;
	q.ord_range = 1;
	q.ord_min = ord_min;
	q.ord_max = INT64_MAX;
	q.skip = l->known != NULL ? attlog_index_scan_skip : NULL;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(st, ATTLOG_TABLE, &q, attlog_index_scan_cb,
		    NULL, l, next, err);
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
		qsort(l->ix->v, l->ix->n, sizeof(*l->ix->v), attlog_index_cmp);
	return 0;
}

int
attlog_index_load(struct store *st, struct attlog_ix *ix, int64_t *hw,
    struct error *err)
{
	struct attlog_index_scan l = { ix, 0, 0, NULL, 0 };
	int rc;

	rc = attlog_index_scan(st, 0, &l, err);
	*hw = l.hw;
	return rc;
}

/* ------------------------------------------------- following other writers */

/* The (ord, tag) of the index's entries with ord >= from into l->known
 * (ord order: the index is in id order, whose first part is the ord). */
static void
attlog_index_known_from_locked(int64_t from, struct attlog_index_scan *l)
{
	size_t lo, i;

	lo = attlog_index_ord_bound(idx.ix.v, idx.ix.n, sizeof(*idx.ix.v),
	    offsetof(struct attlog_ent, ord), from);
	l->nknown = idx.ix.n - lo;
	l->known = l->nknown > 0 ? xmalloc(l->nknown * sizeof(*l->known)) :
	    NULL;
	for (i = 0; i < l->nknown; i++) {
		l->known[i].ord = idx.ix.v[lo + i].ord;
		l->known[i].tag = idx.ix.v[lo + i].tag;
		l->known[i].listed = 0;
	}
}

/* The index, entries whose rows a rebuild's scan (l) did not list
 * dropped, unless from start on (this process's own rows may wait in a
 * group-committed batch, not yet in the store), merged with got (sorted
 * by id, the rows the scan read). */
static void
attlog_index_merge_locked(struct attlog_ix *got,
    const struct attlog_index_scan *l, int64_t start)
{
	struct attlog_ix out = { 0 };
	const struct attlog_known *k;
	const struct attlog_ent *e;
	size_t i = 0, j = 0;
	int c;

	out.cap = idx.ix.n + got->n;
	out.v = out.cap > 0 ? xmalloc(out.cap * sizeof(*out.v)) : NULL;
	while (i < idx.ix.n || j < got->n) {
		if (i == idx.ix.n)
			c = 1;
		else if (j == got->n)
			c = -1;
		else
			c = strcmp(idx.ix.v[i].id, got->v[j].id);
		if (c > 0) {
			out.v[out.n++] = got->v[j++];
			continue;
		}
		if (c == 0)
			j++;
		e = &idx.ix.v[i++];
		k = attlog_index_known_find(l, e->ord, e->tag);
		if (k == NULL || k->listed || e->ord >= start)
			out.v[out.n++] = *e;
	}
	attlog_index_free(&idx.ix);
	idx.ix = out;
}

/* Build the whole index again (off the request path), reading only the
 * rows it does not know: the scan lists every row's id and ord, skips
 * the rows the index knows, reads the others, and the entries whose
 * rows it did not list go (attlog_index_merge_locked). */
static void
attlog_index_rebuild(struct store *st)
{
	struct attlog_ix got = { 0 };
	struct attlog_index_scan l = { &got, 0, 0, NULL, 0 };
	struct error err;
	int64_t start = (int64_t)time(NULL) * 1000 - ATTLOG_WINDOW_MS;

	pthread_mutex_lock(&attlog_state.lock);
	attlog_index_known_from_locked(INT64_MIN, &l);
	pthread_mutex_unlock(&attlog_state.lock);
	if (attlog_index_scan(st, 0, &l, &err) != 0) {
		log_warnx("attestation log: rebuilding the index: %s", err.msg);
		free(l.known);
		attlog_index_free(&got);
		return;
	}
	pthread_mutex_lock(&attlog_state.lock);
	if (attlog_state.st == st) {	/* not shut down meanwhile */
		idx.rows_read += got.n + l.bad;
		attlog_index_merge_locked(&got, &l, start);
		if (l.hw > idx.hw)
			idx.hw = l.hw;
		idx.foreign = 0;
		idx.built_mono_ms = idx.swept_mono_ms = attlog_index_mono_ms();
		if (idx.hw - ATTLOG_WINDOW_MS > idx.follow_from)
			idx.follow_from = idx.hw - ATTLOG_WINDOW_MS;
		attlog_index_trim_locked(attlog_age_floor(now_unix()));
	}
	pthread_mutex_unlock(&attlog_state.lock);
	free(l.known);
	attlog_index_free(&got);
}

/* Add the rows other instances wrote since the last catch-up (from
 * idx.follow_from), or every ATTLOG_SWEEP_S those of the window. */
static void
attlog_index_catch_up(struct store *st)
{
	struct attlog_ix got = { 0 };
	struct attlog_index_scan l = { &got, 0, 0, NULL, 0 };
	struct error err;
	int64_t from, window, newest = INT64_MIN, now = attlog_index_mono_ms();
	size_t i;
	int sweep;

	pthread_mutex_lock(&attlog_state.lock);
	window = idx.hw > ATTLOG_WINDOW_MS ? idx.hw - ATTLOG_WINDOW_MS : 0;
	sweep = now - idx.swept_mono_ms >= (int64_t)ATTLOG_SWEEP_S * 1000;
	from = sweep || idx.follow_from < window ? window : idx.follow_from;
	attlog_index_known_from_locked(from, &l);
	pthread_mutex_unlock(&attlog_state.lock);
	if (attlog_index_scan(st, from, &l, &err) != 0) {
		log_warnx("attestation log: following other instances: %s",
		    err.msg);
		free(l.known);
		attlog_index_free(&got);
		return;
	}
	free(l.known);
	pthread_mutex_lock(&attlog_state.lock);
	idx.rows_read += got.n + l.bad;
	/* This process inserts its own rows as it writes them: a row new
	 * here is another instance's. */
	for (i = 0; attlog_state.st == st && i < got.n; i++)
		if (attlog_index_insert(&idx.ix, &got.v[i]) &&
		    got.v[i].ord > newest)
			newest = got.v[i].ord;
	if (newest != INT64_MIN && newest - ATTLOG_FOLLOW_MS > idx.follow_from)
		idx.follow_from = newest - ATTLOG_FOLLOW_MS;
	if (sweep)
		idx.swept_mono_ms = now;
	if (l.hw > idx.hw)
		idx.hw = l.hw;
	attlog_index_trim_locked(attlog_age_floor(now_unix()));
	pthread_mutex_unlock(&attlog_state.lock);
	attlog_index_free(&got);
}

uint64_t
attlog_index_rows_read(size_t *entries)
{
	uint64_t n;

	pthread_mutex_lock(&attlog_state.lock);
	n = idx.rows_read;
	if (entries != NULL)
		*entries = idx.ix.n;
	pthread_mutex_unlock(&attlog_state.lock);
	return n;
}

void
attlog_index_sweep_next(int rebuild)
{
	pthread_mutex_lock(&attlog_state.lock);
	if (rebuild)
		idx.built_mono_ms = INT64_MIN / 2;
	else
		idx.swept_mono_ms = INT64_MIN / 2;
	pthread_mutex_unlock(&attlog_state.lock);
}

void
attlog_index_changed(const char *table, void *arg)
{
	struct store *st = arg;
	int rebuild;

	(void)table;
	pthread_mutex_lock(&attlog_state.lock);
	if (attlog_state.st != st || idx.rebuilding) {
		pthread_mutex_unlock(&attlog_state.lock);
		return;
	}
	idx.foreign = 1;
	rebuild = attlog_index_mono_ms() - idx.built_mono_ms >=
	    (int64_t)ATTLOG_REBUILD_S * 1000;
	idx.rebuilding = 1;
	attlog_state.rows_when = 0;	/* recount */
	pthread_mutex_unlock(&attlog_state.lock);
	if (rebuild)
		attlog_index_rebuild(st);
	else
		attlog_index_catch_up(st);
	pthread_mutex_lock(&attlog_state.lock);
	idx.rebuilding = 0;
	pthread_mutex_unlock(&attlog_state.lock);
}
