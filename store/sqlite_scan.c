/*
 * sqlite_scan.c: the SQLite backend's operations over many rows of a
 * table (backend.h scan, count, purge), each one statement prepared for
 * the call and run under s->lock; the single-row operations are in
 * store_sqlite.c.
 *
 * Contracts: a scan copies every selected row under the lock and runs the
 * callback without it, so a callback may use the store (delete expired
 * rows, say); a callback that returns non-zero ends the scan. The scan
 * statement is built from the query (one clause per option, parameters
 * bound in the order the clauses appear); table NULL scans every table
 * in (tbl, ord, id) order. count groups by kv, at most max groups, in kv
 * order. purge deletes up to limit rows that expired or fall below an
 * ord.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "sqlite_int.h"

static void
sqlite_scan_rows_free(struct store_sqlite_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].blob);
	free(rows);
}

/* The SQL for a scan; parameters are bound by sqlite_scan_rows in the
 * order the clauses appear. */
static char *
sqlite_scan_sql(const char *table, const struct store_scan *q)
{
	const char *cmp = q->desc ? "<" : ">", *dir = q->desc ? " DESC" : "";
	struct buf b = { 0 };

	buf_printf(&b, "SELECT %s FROM rows WHERE 1", q->ids_only ?
	    STORE_SQLITE_COLS_IDS : STORE_SQLITE_COLS);
	if (table != NULL)
		buf_addstr(&b, " AND tbl = ?");
	if (q->ord_range)
		buf_addstr(&b, " AND ord BETWEEN ? AND ?");
	if (q->kv_below != 0)
		buf_addstr(&b, " AND kv < ?");
	if (q->live_only)
		buf_addstr(&b, " AND (exp = 0 OR exp > ?)");
	if (q->have_after)
		buf_printf(&b, table != NULL ? " AND (ord, id) %s (?, ?)" :
		    " AND (tbl, ord, id) %s (?, ?, ?)", cmp);
	if (table != NULL)
		buf_printf(&b, " ORDER BY ord%s, id%s", dir, dir);
	else
		buf_printf(&b, " ORDER BY tbl%s, ord%s, id%s", dir, dir, dir);
	if (q->limit > 0)
		buf_addstr(&b, " LIMIT ?");
	return buf_cstr(&b);
}

/* Copy the selected rows under the lock, then run the callbacks without
 * it, so a callback may use the store (delete expired rows, say). */
int
sqlite_scan_rows(void *handle, const char *table, const struct store_scan *q,
    store_backend_row_cb cb, void *arg, struct error *err)
{
	struct store_sqlite *s = handle;
	struct store_sqlite_row *rows = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0, cap = 0, i;
	char *sql;
	int step, rc = STORE_ERROR, p = 1, ok = 1;

	sql = sqlite_scan_sql(table, q);
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		rc = sqlite_conn_fail(s, "scan: preparing", err);
		goto unlock;
	}
	if (table != NULL)
		ok &= sqlite3_bind_text(stmt, p++, table, -1,
		    SQLITE_STATIC) == SQLITE_OK;
	if (q->ord_range) {
		ok &= sqlite3_bind_int64(stmt, p++, q->ord_min) == SQLITE_OK;
		ok &= sqlite3_bind_int64(stmt, p++, q->ord_max) == SQLITE_OK;
	}
	if (q->kv_below != 0)
		ok &= sqlite3_bind_int64(stmt, p++, q->kv_below) == SQLITE_OK;
	if (q->live_only)
		ok &= sqlite3_bind_int64(stmt, p++, q->now_s) == SQLITE_OK;
	if (q->have_after) {
		if (table == NULL)
			ok &= sqlite3_bind_text(stmt, p++, q->after_table, -1,
			    SQLITE_STATIC) == SQLITE_OK;
		ok &= sqlite3_bind_int64(stmt, p++, q->after_ord) == SQLITE_OK;
		ok &= sqlite3_bind_blob(stmt, p++, q->after_id, STORE_ID_LEN,
		    SQLITE_STATIC) == SQLITE_OK;
	}
	if (q->limit > 0)
		ok &= sqlite3_bind_int64(stmt, p++, q->limit > INT64_MAX ?
		    INT64_MAX : (sqlite3_int64)q->limit) == SQLITE_OK;
	if (!ok) {
		rc = sqlite_conn_fail(s, "scan: binding", err);
		goto unlock;
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		if (store_sqlite_row_copy(s, stmt, &rows[n], err) == -1)
			goto unlock;
		n++;
	}
	if (step != SQLITE_DONE) {
		error_set(err, "sqlite: %s: scan of table '%s': %s", s->path,
		    table != NULL ? table : "*", sqlite3_errmsg(s->db));
		rc = (step & 0xff) == SQLITE_BUSY ? STORE_UNAVAILABLE :
		    STORE_ERROR;
		goto unlock;
	}
	rc = STORE_OK;
unlock:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&s->lock);
	free(sql);
	for (i = 0; rc == STORE_OK && i < n; i++) {
		if (cb(rows[i].table, &rows[i].row, arg) != 0)
			break;
	}
	sqlite_scan_rows_free(rows, n);
	return rc;
}

int
sqlite_scan_count(void *handle, const char *table,
    struct store_kv_count *out, size_t max, size_t *n, struct error *err)
{
	struct store_sqlite *s = handle;
	sqlite3_stmt *stmt = NULL;
	int rc = STORE_ERROR, step;

	*n = 0;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, table != NULL ?
	    "SELECT kv, count(*) FROM rows WHERE tbl = ?1 GROUP BY kv "
	    "ORDER BY kv" : "SELECT kv, count(*) FROM rows GROUP BY kv "
	    "ORDER BY kv", -1, &stmt, NULL) != SQLITE_OK ||
	    (table != NULL && sqlite3_bind_text(stmt, 1, table, -1,
	    SQLITE_STATIC) != SQLITE_OK)) {
		rc = sqlite_conn_fail(s, "count", err);
		goto done;
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n < max) {
			out[*n].kv = (uint32_t)sqlite3_column_int64(stmt, 0);
			out[*n].rows = (uint64_t)sqlite3_column_int64(stmt, 1);
			(*n)++;
		}
	}
	if (step != SQLITE_DONE) {
		rc = sqlite_conn_fail(s, "count", err);
		goto done;
	}
	rc = STORE_OK;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
sqlite_scan_purge(void *handle, const char *table, int64_t exp_before,
    int64_t ord_before, size_t limit, size_t *n, struct error *err)
{
	struct store_sqlite *s = handle;
	sqlite3_stmt *stmt = NULL;
	int rc = STORE_ERROR;

	*n = 0;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM rows WHERE tbl = ?1 AND "
	    "id IN (SELECT id FROM rows WHERE tbl = ?1 AND ((exp > 0 AND "
	    "exp <= ?2) OR ord < ?3) LIMIT ?4)", -1, &stmt, NULL) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, exp_before) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 3, ord_before) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 4, limit > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)limit) != SQLITE_OK) {
		rc = sqlite_conn_fail(s, "purge: preparing", err);
		goto done;
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		rc = sqlite_conn_fail(s, "purge", err);
		goto done;
	}
	*n = (size_t)sqlite3_changes(s->db);
	rc = STORE_OK;
done:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
