/*
 * attlog_read.c: reading the attestation log (observe.h): pages of
 * summaries, newest first, and one whole record by id.
 *
 *   - a page without a TEE, verdict or source filter is one paged scan of
 *     the store, newest first, over the ord range the time filters give,
 *     with the store's opaque cursor: what every instance sharing the
 *     store wrote, O(page) rows read; its cursor is "s<store cursor>";
 *   - a page with such a filter takes its ids from the index in memory
 *     (attlog_index.c) and reads only those rows; its cursor is
 *     "i<id of the last row returned>". A row the index names but
 *     another instance dropped is skipped and forgotten.
 * A page shows what was answered: the rows waiting for their group
 * commit are written first (attlog_flush), as is a row asked for by id
 * that the store does not have yet. Rows that do not read back are
 * skipped and named in the page's "problems".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "attlog_internal.h"

#define ATTLOG_PROBLEMS_MAX 20

/* A row that could not be read, for the answer's "problems". */
static void
attlog_read_problem(json_t *problems, const char *id_hex, const char *reason)
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
attlog_read_row(struct store *st, const char *id, int summary, json_t **rec,
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
	*rec = summary ? attlog_row_summary_parse(val, len) :
	    attlog_row_record_parse(val, len);
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
struct attlog_read_scan {
	json_t *items;
	json_t *problems;
};

static int
attlog_read_scan_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct attlog_read_scan *p = arg;
	json_t *rec;

	(void)meta;
	rec = attlog_row_summary_parse(val, len);
	if (json_is_object(rec) && attlog_row_id_valid(name))
		json_array_append_new(p->items, attlog_row_summary(rec));
	else
		log_warnx("attestation log: skipping a malformed row");
	json_decref(rec);
	return 0;
}

static void
attlog_read_scan_bad(const char *table, const char *id_hex,
    const char *reason, void *arg)
{
	struct attlog_read_scan *p = arg;

	(void)table;
	attlog_read_problem(p->problems, id_hex, reason);
}

static int
attlog_read_page_store(struct store *st, const char *cursor, size_t limit,
    const struct attlog_filter *f, json_t *items, json_t *problems,
    char *next, struct error *err)
{
	char snext[STORE_CURSOR_MAX];
	struct attlog_read_scan p = { items, problems };
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
	rc = store_scan(st, ATTLOG_TABLE, &q, attlog_read_scan_cb,
	    attlog_read_scan_bad, &p, snext, err);
	if (rc == STORE_ERROR && strstr(err->msg, "bad cursor") != NULL)
		return ATTLOG_BAD_CURSOR;
	if (rc == STORE_OK && snext[0] != '\0')
		snprintf(next, ATTLOG_CURSOR_MAX, "s%s", snext);
	return rc;
}

/* Filtered pages: ids from the index (newest first, strictly older than
 * the id `before`), then each row read. */
static int
attlog_read_page_index(struct store *st, const char *before, size_t limit,
    const struct attlog_filter *f, int tee, json_t *items, json_t *problems,
    char *next, struct error *err)
{
	char (*ids)[ATTLOG_ID_LEN + 1] = xcalloc(limit + 1, sizeof(*ids));
	char pos[ATTLOG_ID_LEN + 1], hex[STORE_ID_HEX_LEN + 1];
	struct error ierr;
	json_t *rec;
	size_t i, n, got = 0;
	int more = 0, rc = 0;

	snprintf(pos, sizeof(pos), "%s", before != NULL ? before : "");
	while (got < limit && rc == 0) {
		/* Up to the page's rest, plus one to know if more follow. */
		n = attlog_index_select(pos, f, tee, ids, limit - got + 1);
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (got == limit) {
				more = 1;	/* the extra one */
				break;
			}
			snprintf(pos, sizeof(pos), "%s", ids[i]);
			rc = attlog_read_row(st, ids[i], 1, &rec, err);
			if (rc == STORE_ABSENT) {
				/* Dropped by another instance's retention. */
				attlog_index_forget(ids[i]);
				rc = 0;
				continue;
			}
			if (rc == STORE_CORRUPT) {
				if (store_row_id_hex(st, ATTLOG_TABLE, ids[i],
				    hex, &ierr) != 0)
					snprintf(hex, sizeof(hex), "?");
				attlog_read_problem(problems, hex, err->msg);
				rc = 0;
				continue;
			}
			if (rc != 0)
				break;
			json_array_append_new(items, attlog_row_summary(rec));
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
attlog_read_page(const char *cursor, size_t limit,
    const struct attlog_filter *f, json_t **items,
    char next[ATTLOG_CURSOR_MAX], json_t **problems, struct error *err)
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
	st = attlog_store();
	if (st == NULL)
		return error_set(err, "the attestation log is not open");
	attlog_flush();		/* a page shows what was answered */
	*items = json_array();
	*problems = json_array();
	if (tee < 0 && f->verdict < 0 && f->source == NULL) {
		if (cursor != NULL && cursor[0] != 's')
			rc = ATTLOG_BAD_CURSOR;
		else
			rc = attlog_read_page_store(st, cursor != NULL ?
			    cursor + 1 : NULL, limit, f, *items, *problems,
			    next, err);
	} else if (cursor != NULL && (cursor[0] != 'i' ||
	    !attlog_row_id_valid(cursor + 1)))
		rc = ATTLOG_BAD_CURSOR;
	else
		rc = attlog_read_page_index(st, cursor != NULL ? cursor + 1 :
		    NULL, limit, f, tee, *items, *problems, next, err);
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
attlog_read_record(const char *id, json_t **rec, struct error *err)
{
	struct store *st;
	const json_t *sub, *ann;
	const char *name;
	int rc;

	*rec = NULL;
	if (!attlog_row_id_valid(id))
		return 1;
	st = attlog_store();
	if (st == NULL)
		return error_set(err, "the attestation log is not open");
	rc = attlog_read_row(st, id, 0, rec, err);
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
