/*
 * store_scan.c: the store's calls over many rows of a table (store.h):
 * paged scans with an opaque cursor (store_scan), a whole table page by
 * page (store_list), purge and counts.
 *
 * Contracts: a scan opens every row as store.c's reads do
 * (store_open_row) and also checks that the sealed name hashes to the
 * row's id; with the query's skip, it walks the page's ids (the
 * backend's ids_only) and then reads only the rows skip does not know
 * (get_many, or get row by row), in scan order, leaving out any deleted
 * meanwhile; a row that fails is logged and reported to the bad callback,
 * never to the row callback, and the scan goes on. The cursor is
 * "c1." + base64url(i64be ord || id) of the last row seen, handed out
 * when the callback stopped the page or the page was full; it is opaque
 * to callers and checked when read back. A page holds at most
 * STORE_PAGE_MAX rows (STORE_PAGE_DEFAULT when the query says 0);
 * store_list holds one page of STORE_LIST_BATCH rows in memory at a time.
 * purge deletes up to limit rows that expired or fall below ord_before
 * and tells other instances (store_wrote) when it deleted any.
 */
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define STORE_CURSOR_TAG	"c1."
#define STORE_CURSOR_RAW	(8 + STORE_ID_LEN)
#define STORE_PAGE_DEFAULT	100
#define STORE_PAGE_MAX		10000
#define STORE_LIST_BATCH	512

/* The cursor after (ord, id): "c1." + base64url(i64be ord || id). */
static void
store_scan_cursor_make(int64_t ord, const uint8_t id[STORE_ID_LEN], char *out)
{
	uint8_t raw[STORE_CURSOR_RAW];

	store_be64_put(raw, ord);
	memcpy(raw + 8, id, STORE_ID_LEN);
	memcpy(out, STORE_CURSOR_TAG, strlen(STORE_CURSOR_TAG));
	sodium_bin2base64(out + strlen(STORE_CURSOR_TAG), STORE_CURSOR_MAX -
	    strlen(STORE_CURSOR_TAG), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int
store_scan_cursor_parse(const char *c, int64_t *ord, uint8_t id[STORE_ID_LEN],
    struct error *err)
{
	uint8_t raw[STORE_CURSOR_RAW];
	size_t n = 0;
	const char *end = NULL;

	if (strncmp(c, STORE_CURSOR_TAG, strlen(STORE_CURSOR_TAG)) != 0 ||
	    sodium_base642bin(raw, sizeof(raw), c + strlen(STORE_CURSOR_TAG),
	    strlen(c) - strlen(STORE_CURSOR_TAG), NULL, &n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(raw) || *end != '\0')
		return error_set(err, "store: bad cursor");
	*ord = store_be64_get(raw);
	memcpy(id, raw + 8, STORE_ID_LEN);
	return 0;
}

struct store_scan_ctx {
	struct store *st;
	const char *table;
	int (*skip)(int64_t ord, uint64_t tag, void *arg);
	store_row_cb cb;
	store_bad_cb bad;
	void *arg;
	size_t seen;
	int stopped;
	int64_t last_ord;
	uint8_t last_id[STORE_ID_LEN];
	/* With skip: the rows it does not know, to be read (ids_only). */
	uint8_t (*want)[STORE_ID_LEN];
	size_t nwant;
	struct error *err;
};

/* Open row and hand it to the callback (a bad one to bad); 1 when the
 * callback stopped the scan. */
static int
store_scan_open(struct store_scan_ctx *c, const struct store_row *row)
{
	struct store_meta meta;
	uint8_t check[STORE_ID_LEN], *val;
	char *name, hex[STORE_ID_HEX_LEN + 1];
	struct error rerr;
	size_t vlen;
	int rc, stop = 0;

	rc = store_open_row(c->st, c->table, row, NULL, &name, &val, &vlen,
	    &rerr);
	if (rc == 0) {
		/* The sealed name must hash to the id the row is stored
		 * under (the id is authenticated too; this keeps the two
		 * consistent). */
		store_row_id(c->st->kr.m->name_key, c->table, name,
		    strlen(name), check);
		if (!secret_equal(check, row->id, STORE_ID_LEN)) {
			rc = store_row_corrupt(&rerr, c->table, row->id,
			    "failed authentication (wrong data key or "
			    "tampered database)");
			secret_free(val, vlen);
			secret_strfree(name);
		}
	}
	if (rc != 0) {
		log_warnx("%s", rerr.msg);
		hex_encode(row->id, STORE_ID_LEN, hex);
		if (c->bad != NULL)
			c->bad(c->table, hex, rerr.msg, c->arg);
		return 0;
	}
	meta.ord = row->ord;
	meta.exp = row->exp;
	meta.rev = row->rev;
	meta.kv = row->kv;
	meta.tag = store_id_tag(row->id);
	stop = c->cb(name, val, vlen, &meta, c->arg);
	secret_free(val, vlen);
	secret_strfree(name);
	if (stop)
		c->stopped = 1;
	return stop;
}

static int
store_scan_row(const char *table, const struct store_row *row, void *arg)
{
	struct store_scan_ctx *c = arg;

	(void)table;	/* the scan is of c->table */
	c->seen++;
	c->last_ord = row->ord;
	memcpy(c->last_id, row->id, STORE_ID_LEN);
	return store_scan_open(c, row);
}

/* An ids_only row of a scan with skip: noted for reading unless skip
 * knows it. */
static int
store_scan_id(const char *table, const struct store_row *row, void *arg)
{
	struct store_scan_ctx *c = arg;

	(void)table;
	c->seen++;
	c->last_ord = row->ord;
	memcpy(c->last_id, row->id, STORE_ID_LEN);
	if (!c->skip(row->ord, store_id_tag(row->id), c->arg))
		memcpy(c->want[c->nwant++], row->id, STORE_ID_LEN);
	return 0;
}

/* backend.h's get_many for a backend without it: get row by row. */
static int
store_scan_get_each(struct store *st, const char *table,
    const uint8_t (*id)[STORE_ID_LEN], size_t n, struct store_row *rows,
    int *found, struct error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = st->be->get(st->handle, table, id[i], &rows[i], err);
		if (rc < 0) {
			while (i-- > 0)
				if (found[i])
					free((void *)rows[i].blob);
			return rc;
		}
		found[i] = rc == STORE_OK;
	}
	return STORE_OK;
}

/*
 * Read the rows store_scan_id noted, STORE_GET_MANY_MAX at a time (one
 * statement each where the backend can), and open them in scan order; a
 * row deleted meanwhile is left out. When the callback stops, the cursor
 * is moved back to that row.
 */
static int
store_scan_wanted(struct store_scan_ctx *c, struct error *err)
{
	struct store_row rows[STORE_GET_MANY_MAX];
	int found[STORE_GET_MANY_MAX];
	size_t at, n, i;
	int rc;

	for (at = 0; at < c->nwant && !c->stopped; at += n) {
		n = c->nwant - at < STORE_GET_MANY_MAX ? c->nwant - at :
		    STORE_GET_MANY_MAX;
		rc = c->st->be->get_many != NULL ?
		    c->st->be->get_many(c->st->handle, c->table, c->want + at,
		    n, rows, found, err) :
		    store_scan_get_each(c->st, c->table, c->want + at, n, rows,
		    found, err);
		if (rc != STORE_OK)
			return rc;
		for (i = 0; i < n; i++) {
			if (found[i] && !c->stopped &&
			    store_scan_open(c, &rows[i])) {
				c->last_ord = rows[i].ord;
				memcpy(c->last_id, rows[i].id, STORE_ID_LEN);
			}
			if (found[i])
				free((void *)rows[i].blob);
		}
	}
	return STORE_OK;
}

int
store_scan(struct store *st, const char *table, const struct store_page *q,
    store_row_cb cb, store_bad_cb bad, void *arg, char *next_cursor,
    struct error *err)
{
	struct store_scan_ctx c;
	struct store_scan bq;
	uint64_t t0;
	int64_t ot0;
	int rc;

	if (next_cursor != NULL)
		next_cursor[0] = '\0';
	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	memset(&bq, 0, sizeof(bq));
	bq.desc = q->desc;
	bq.limit = q->limit == 0 ? STORE_PAGE_DEFAULT : q->limit;
	if (bq.limit > STORE_PAGE_MAX)
		return error_set(err, "store: a page holds at most %d rows",
		    STORE_PAGE_MAX);
	if (q->cursor != NULL && q->cursor[0] != '\0') {
		if (store_scan_cursor_parse(q->cursor, &bq.after_ord, bq.after_id,
		    err) != 0)
			return STORE_ERROR;
		bq.have_after = 1;
	}
	bq.ord_range = q->ord_range;
	bq.ord_min = q->ord_min;
	bq.ord_max = q->ord_max;
	bq.live_only = q->live_only;
	bq.now_s = store_now_ms() / 1000;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.table = table;
	c.skip = q->skip;
	c.cb = cb;
	c.bad = bad;
	c.arg = arg;
	c.err = err;
	t0 = store_timing_start();
	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	if (q->skip == NULL)
		rc = st->be->scan(st->handle, table, &bq, store_scan_row, &c,
		    err);
	else {
		/* The ids first, then only the rows skip does not know. */
		bq.ids_only = 1;
		c.want = xmalloc(bq.limit * sizeof(*c.want));
		rc = st->be->scan(st->handle, table, &bq, store_scan_id, &c,
		    err);
		if (rc == STORE_OK)
			rc = store_scan_wanted(&c, err);
		free(c.want);
	}
	outage_note(st, rc, ot0);
	store_timing_end(STORE_OP_SCAN, t0, rc);
	if (rc != STORE_OK)
		return rc;
	if (next_cursor != NULL && (c.stopped || c.seen == bq.limit))
		store_scan_cursor_make(c.last_ord, c.last_id, next_cursor);
	return STORE_OK;
}

/* store_list over pages, so memory stays bounded by one page. */
struct store_list_ctx {
	store_list_cb cb;
	void *arg;
	int stop;
};

static int
store_list_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct store_list_ctx *c = arg;

	(void)meta;
	c->stop = c->cb(name, val, len, c->arg);
	return c->stop;
}

int
store_list(struct store *st, const char *table, store_list_cb cb, void *arg,
    struct error *err)
{
	struct store_list_ctx c = { cb, arg, 0 };
	struct store_page q;
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = STORE_LIST_BATCH;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(st, table, &q, store_list_row, NULL, &c, next,
		    err);
		if (rc != STORE_OK)
			return rc;
		if (c.stop || next[0] == '\0')
			return 0;
		memcpy(cursor, next, sizeof(cursor));
	}
}

int
store_purge(struct store *st, const char *table, int64_t ord_before,
    size_t limit, size_t *n, struct error *err)
{
	uint64_t t0;
	int64_t ot0;
	int rc;

	*n = 0;
	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	t0 = store_timing_start();
	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	rc = st->be->purge(st->handle, table, store_now_ms() / 1000,
	    ord_before, limit, n, err);
	rowcache_wrote(st->cache, table);
	outage_note(st, rc, ot0);
	if (rc != STORE_OK || *n > 0)
		rc = store_wrote(st, table, rc, err);
	return store_timing_end(STORE_OP_PURGE, t0, rc);
}

int
store_count(struct store *st, const char *table, uint64_t *n,
    struct error *err)
{
	struct store_kv_count counts[STORE_KEY_VERSIONS_MAX + 1];
	size_t k = 0, i;
	uint64_t t0;
	int64_t ot0;
	int rc;

	*n = 0;
	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	t0 = store_timing_start();
	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	rc = st->be->count(st->handle, table, counts, ARRAY_SIZE(counts), &k,
	    err);
	outage_note(st, rc, ot0);
	for (i = 0; rc == STORE_OK && i < k; i++)
		*n += counts[i].rows;
	return store_timing_end(STORE_OP_COUNT, t0, rc);
}
