/*
 * mariadb_scan.c: the MariaDB backend's operations over many rows of a
 * table (backend.h scan, count, purge), each one statement run by
 * mariadb_conn_run; the single-row operations are in store_mariadb.c.
 *
 * Contracts: a scan copies every selected row and gives the connection
 * back before it runs the callback, so a callback may use the store; a
 * retried scan starts over. The scan statement is built from the query's
 * shape (one bit per optional clause) and prepared once per shape and
 * connection (c->scan[]). count groups by kv, at most max groups, in kv
 * order. purge deletes up to limit rows that expired or fall below an
 * ord, and may be sent again after a lost connection (it deletes what is
 * still due).
 */
#include <stdlib.h>

#include <mysql.h>

#include "mariadb_int.h"

static const char mariadb_scan_count_all_sql[] = "SELECT kv, COUNT(*) "
    "FROM `rows` GROUP BY kv ORDER BY kv";
static const char mariadb_scan_count_tbl_sql[] = "SELECT kv, COUNT(*) "
    "FROM `rows` WHERE tbl = ? GROUP BY kv ORDER BY kv";
static const char mariadb_scan_purge_sql[] = "DELETE FROM `rows` WHERE "
    "tbl = ? AND ((exp > 0 AND exp <= ?) OR ord < ?) LIMIT ?";

/* The scan statement's shape: one bit per optional clause. */
static unsigned
mariadb_scan_shape(const char *table, const struct store_scan *q)
{
	return (table != NULL) | (q->desc ? 2 : 0) | (q->have_after ? 4 : 0) |
	    (q->ord_range ? 8 : 0) | (q->kv_below != 0 ? 16 : 0) |
	    (q->live_only ? 32 : 0) | (q->limit > 0 ? 64 : 0) |
	    (q->ids_only ? 128 : 0);
}

/* The SQL of a scan shape; parameters are bound by mariadb_scan_rows_fn
 * in the order the clauses appear. The cursor comparison is spelt out
 * (no row constructors) so that the (tbl, ord, id) index serves it. */
static char *
mariadb_scan_sql(unsigned shape)
{
	const char *cmp = shape & 2 ? "<" : ">", *dir = shape & 2 ? " DESC" :
	    "";
	struct buf b = { 0 };

	buf_printf(&b, "SELECT %s FROM `rows` WHERE 1", shape & 128 ?
	    STORE_MARIADB_COLS_IDS : STORE_MARIADB_COLS);
	if (shape & 1)
		buf_addstr(&b, " AND tbl = ?");
	if (shape & 8)
		buf_addstr(&b, " AND ord BETWEEN ? AND ?");
	if (shape & 16)
		buf_addstr(&b, " AND kv < ?");
	if (shape & 32)
		buf_addstr(&b, " AND (exp = 0 OR exp > ?)");
	if ((shape & 5) == 5)
		buf_printf(&b, " AND (ord %s ? OR (ord = ? AND id %s ?))",
		    cmp, cmp);
	else if (shape & 4)
		buf_printf(&b, " AND (tbl %s ? OR (tbl = ? AND (ord %s ? OR "
		    "(ord = ? AND id %s ?))))", cmp, cmp, cmp);
	if (shape & 1)
		buf_printf(&b, " ORDER BY ord%s, id%s", dir, dir);
	else
		buf_printf(&b, " ORDER BY tbl%s, ord%s, id%s", dir, dir, dir);
	if (shape & 64)
		buf_addstr(&b, " LIMIT ?");
	return buf_cstr(&b);
}

struct mariadb_scan_rows {
	const char *table;
	const struct store_scan *q;
	struct store_mariadb_row *rows;
	size_t n;
	size_t cap;
};

static void
mariadb_scan_rows_free(struct store_mariadb_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].blob);
	free(rows);
}

static int
mariadb_scan_rows_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct mariadb_scan_rows *s = arg;
	const struct store_scan *q = s->q;
	unsigned shape = mariadb_scan_shape(s->table, q);
	struct store_mariadb_out o;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[12];
	uint64_t limit = q->limit;
	uint32_t kv_below = q->kv_below;
	char *sql;
	int p = 0, rc;

	(void)m;
	/* A retry starts from scratch. */
	mariadb_scan_rows_free(s->rows, s->n);
	s->rows = NULL;
	s->n = s->cap = 0;
	sql = mariadb_scan_sql(shape);
	stmt = mariadb_conn_prepare(c, &c->scan[shape], sql);
	free(sql);
	if (stmt == NULL)
		return -1;
	if (shape & 1)
		mariadb_bind_str(&b[p++], s->table);
	if (shape & 8) {
		mariadb_bind_i64(&b[p++], &q->ord_min);
		mariadb_bind_i64(&b[p++], &q->ord_max);
	}
	if (shape & 16)
		mariadb_bind_u32(&b[p++], &kv_below);
	if (shape & 32)
		mariadb_bind_i64(&b[p++], &q->now_s);
	if ((shape & 5) == 4) {
		mariadb_bind_str(&b[p++], q->after_table);
		mariadb_bind_str(&b[p++], q->after_table);
	}
	if (shape & 4) {
		mariadb_bind_i64(&b[p++], &q->after_ord);
		mariadb_bind_i64(&b[p++], &q->after_ord);
		mariadb_bind_blob(&b[p++], q->after_id, STORE_ID_LEN);
	}
	if (shape & 64)
		mariadb_bind_u64(&b[p++], &limit);
	if (mariadb_conn_select(c, stmt, p > 0 ? b : NULL) == -1)
		return -1;
	if (mariadb_bind_out(c, stmt, &o) == -1) {
		mysql_stmt_free_result(stmt);
		return -1;
	}
	for (;;) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			s->rows = xrealloc(s->rows, s->cap * sizeof(*s->rows));
		}
		rc = mariadb_bind_fetch_row(c, stmt, &o, &s->rows[s->n]);
		if (rc != 0)
			break;
		s->n++;
	}
	mysql_stmt_free_result(stmt);
	return rc == 1 ? STORE_OK : -1;
}

/* Copy the selected rows, give the connection back, then run the
 * callbacks, so a callback may use the store. */
int
mariadb_scan_rows(void *handle, const char *table, const struct store_scan *q,
    store_backend_row_cb cb, void *arg, struct error *err)
{
	struct mariadb_scan_rows s = { table, q, NULL, 0, 0 };
	struct store_mariadb_call k = { "scan of", table, 1,
	    mariadb_scan_rows_fn, &s };
	size_t i;
	int rc;

	rc = mariadb_conn_run(handle, &k, err);
	for (i = 0; rc == STORE_OK && i < s.n; i++) {
		if (cb(s.rows[i].table, &s.rows[i].row, arg) != 0)
			break;
	}
	mariadb_scan_rows_free(s.rows, s.n);
	return rc;
}

struct mariadb_scan_count {
	const char *table;
	struct store_kv_count *out;
	size_t max;
	size_t n;
};

static int
mariadb_scan_count_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct mariadb_scan_count *n = arg;
	enum store_mariadb_sql q = n->table != NULL ? SQL_COUNT_TBL :
	    SQL_COUNT_ALL;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1], r[2];
	uint32_t kv = 0;
	uint64_t rows = 0;
	int rc;

	(void)m;
	n->n = 0;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[q], n->table != NULL ?
	    mariadb_scan_count_tbl_sql : mariadb_scan_count_all_sql)) == NULL)
		return -1;
	if (n->table != NULL)
		mariadb_bind_str(&b[0], n->table);
	if (mariadb_conn_select(c, stmt, n->table != NULL ? b : NULL) == -1)
		return -1;
	mariadb_bind_u32(&r[0], &kv);
	mariadb_bind_u64(&r[1], &rows);
	if (mysql_stmt_bind_result(stmt, r) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(stmt)) == 0) {
		if (n->n < n->max) {
			n->out[n->n].kv = kv;
			n->out[n->n].rows = rows;
			n->n++;
		}
	}
	if (rc != MYSQL_NO_DATA)
		mariadb_conn_fail_stmt(c, stmt);
	mysql_stmt_free_result(stmt);
	return rc == MYSQL_NO_DATA ? STORE_OK : -1;
}

int
mariadb_scan_count(void *handle, const char *table,
    struct store_kv_count *out, size_t max, size_t *n, struct error *err)
{
	struct mariadb_scan_count c = { table, out, max, 0 };
	struct store_mariadb_call k = { "count of", table, 1,
	    mariadb_scan_count_fn, &c };
	int rc;

	rc = mariadb_conn_run(handle, &k, err);
	*n = rc == STORE_OK ? c.n : 0;
	return rc;
}

struct mariadb_scan_purge {
	const char *table;
	int64_t exp_before;
	int64_t ord_before;
	uint64_t limit;
	size_t n;
};

static int
mariadb_scan_purge_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct mariadb_scan_purge *p = arg;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[4];

	(void)m;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[SQL_PURGE],
	    mariadb_scan_purge_sql)) == NULL)
		return -1;
	mariadb_bind_str(&b[0], p->table);
	mariadb_bind_i64(&b[1], &p->exp_before);
	mariadb_bind_i64(&b[2], &p->ord_before);
	mariadb_bind_u64(&b[3], &p->limit);
	if (mariadb_conn_exec(c, stmt, b) == -1)
		return -1;
	p->n = (size_t)mysql_stmt_affected_rows(stmt);
	return STORE_OK;
}

int
mariadb_scan_purge(void *handle, const char *table, int64_t exp_before,
    int64_t ord_before, size_t limit, size_t *n, struct error *err)
{
	struct mariadb_scan_purge p = { table, exp_before, ord_before, limit,
	    0 };
	/* Sent twice, a purge deletes what is still due: the same rows. */
	struct store_mariadb_call k = { "purge of", table, 1,
	    mariadb_scan_purge_fn, &p };
	int rc;

	rc = mariadb_conn_run(handle, &k, err);
	*n = rc == STORE_OK ? p.n : 0;
	return rc;
}

