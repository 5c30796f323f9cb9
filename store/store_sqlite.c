/*
 * store_sqlite.c: the embedded SQLite backend of the store (backend.h):
 * the backend table and the operations addressed by key: a row by table
 * and id (put, put_many, get, del) and a table's generation counter
 * (gen_bump, gen_get). The handle, its connection and the prepared
 * statements these operations bind are sqlite_conn.c's; the operations
 * over many rows (scan, count, purge) are in sqlite_scan.c, the lock
 * files in sqlite_lock.c, the schema in sqlite_schema.c; what the
 * backend's files share in sqlite_int.h.
 *
 * Contracts: each operation runs its prepared statement under s->lock
 * and resets it (clearing the bindings, which point at the caller's
 * values) before it returns. put returns the row's new revision; with
 * an expected revision (or STORE_REV_ABSENT) it is conditional, and
 * STORE_ABSENT when the condition did not hold; put_many is one
 * transaction and one commit for all its rows, rolled back on any
 * failure. A statement that stayed busy past the busy timeout reports
 * STORE_UNAVAILABLE.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite_int.h"

static void
store_sqlite_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Bind (table, id) as ?1, ?2. The values outlive the statement's use:
 * every caller resets the statement before returning. */
static int
store_sqlite_bind_key(sqlite3_stmt *stmt, const char *table,
    const uint8_t id[STORE_ID_LEN])
{
	if (sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 2, id, STORE_ID_LEN, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -1;
	return 0;
}

/* Revisions are below 2^63 in practice; SQLite integers are signed. */
static int
store_sqlite_bind_rev(sqlite3_stmt *stmt, int i, uint64_t rev)
{
	return sqlite3_bind_int64(stmt, i, (sqlite3_int64)(rev &
	    INT64_MAX)) == SQLITE_OK ? 0 : -1;
}

static int
store_sqlite_put(void *handle, const char *table, const struct store_row *row,
    uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	struct store_sqlite *s = handle;
	sqlite3_stmt *stmt;
	int rc = STORE_ERROR, step;

	if (row->len > INT32_MAX)
		return error_set(err, "sqlite: %s: row of %zu bytes is too "
		    "large", s->path, row->len);
	stmt = expect_rev == STORE_REV_ANY ? s->put_any :
	    expect_rev == STORE_REV_ABSENT ? s->put_new : s->put_rev;
	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(stmt, table, row->id) == -1 ||
	    sqlite3_bind_int64(stmt, 3, row->kv) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 4, row->ord) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 5, row->exp) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 6, row->blob != NULL ? row->blob :
	    (const uint8_t *)"", (int)row->len, SQLITE_STATIC) != SQLITE_OK ||
	    (stmt == s->put_rev &&
	    store_sqlite_bind_rev(stmt, 7, expect_rev) == -1)) {
		rc = sqlite_conn_fail(s, "put: binding", err);
		goto done;
	}
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		if (rev != NULL)
			*rev = (uint64_t)sqlite3_column_int64(stmt, 0);
		step = sqlite3_step(stmt);
		rc = STORE_OK;
	} else if (step == SQLITE_DONE)
		rc = STORE_ABSENT;	/* the condition did not hold */
	if (step != SQLITE_DONE) {
		error_set(err, "sqlite: %s: put into table '%s': %s", s->path,
		    table, sqlite3_errmsg(s->db));
		rc = (step & 0xff) == SQLITE_BUSY ? STORE_UNAVAILABLE :
		    STORE_ERROR;
	}
done:
	store_sqlite_done(stmt);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Group commit (backend.h put_many): one IMMEDIATE transaction, one
 * commit (one WAL fsync) for n upserts; rolled back on any failure. */
static int
store_sqlite_put_many(void *handle, const char *table,
    const struct store_row *rows, size_t n, struct error *err)
{
	struct store_sqlite *s = handle;
	sqlite3_stmt *stmt = s->put_many;
	int rc = STORE_ERROR, step;
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].len > INT32_MAX)
			return error_set(err, "sqlite: %s: row of %zu bytes is "
			    "too large", s->path, rows[i].len);
	pthread_mutex_lock(&s->lock);
	if ((step = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		rc = sqlite_conn_fail(s, "put: starting a transaction", err);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (store_sqlite_bind_key(stmt, table, rows[i].id) == -1 ||
		    sqlite3_bind_int64(stmt, 3, rows[i].kv) != SQLITE_OK ||
		    sqlite3_bind_int64(stmt, 4, rows[i].ord) != SQLITE_OK ||
		    sqlite3_bind_int64(stmt, 5, rows[i].exp) != SQLITE_OK ||
		    sqlite3_bind_blob(stmt, 6, rows[i].blob != NULL ?
		    rows[i].blob : (const uint8_t *)"", (int)rows[i].len,
		    SQLITE_STATIC) != SQLITE_OK) {
			rc = sqlite_conn_fail(s, "put: binding", err);
			store_sqlite_done(stmt);
			goto fail;
		}
		step = sqlite3_step(stmt);
		store_sqlite_done(stmt);
		if (step != SQLITE_DONE) {
			error_set(err, "sqlite: %s: put into table '%s': %s",
			    s->path, table, sqlite3_errmsg(s->db));
			rc = (step & 0xff) == SQLITE_BUSY ? STORE_UNAVAILABLE :
			    STORE_ERROR;
			goto fail;
		}
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sqlite_conn_fail(s, "put: committing", err);
		goto fail;
	}
	pthread_mutex_unlock(&s->lock);
	return STORE_OK;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* A row of a query (sqlite_int.h). */
int
store_sqlite_row_copy(struct store_sqlite *s, sqlite3_stmt *stmt,
    struct store_sqlite_row *out, struct error *err)
{
	const void *p;
	const unsigned char *t;
	int bytes;

	t = sqlite3_column_text(stmt, 0);
	if (t == NULL || strlen((const char *)t) > STORE_TABLE_MAX)
		return error_set(err, "sqlite: %s: a row has an invalid table "
		    "name", s->path);
	snprintf(out->table, sizeof(out->table), "%s", (const char *)t);
	p = sqlite3_column_blob(stmt, 1);
	bytes = sqlite3_column_bytes(stmt, 1);
	if (p == NULL || bytes != STORE_ID_LEN)
		return error_set(err, "sqlite: %s: table '%s' holds a row "
		    "with a %d-byte id", s->path, out->table, bytes);
	memcpy(out->row.id, p, STORE_ID_LEN);
	out->row.kv = (uint32_t)sqlite3_column_int64(stmt, 2);
	out->row.ord = sqlite3_column_int64(stmt, 3);
	out->row.exp = sqlite3_column_int64(stmt, 4);
	out->row.rev = (uint64_t)sqlite3_column_int64(stmt, 5);
	/* column_blob before column_bytes, as SQLite documents. */
	p = sqlite3_column_blob(stmt, 6);
	bytes = sqlite3_column_bytes(stmt, 6);
	out->row.len = p != NULL && bytes > 0 ? (size_t)bytes : 0;
	out->blob = xmalloc(out->row.len > 0 ? out->row.len : 1);
	if (out->row.len > 0)
		memcpy(out->blob, p, out->row.len);
	out->row.blob = out->blob;
	return 0;
}

static int
store_sqlite_get(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], struct store_row *row, struct error *err)
{
	struct store_sqlite *s = handle;
	struct store_sqlite_row r;
	int rc = STORE_ERROR, step;

	memset(row, 0, sizeof(*row));
	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(s->get, table, id) == -1) {
		rc = sqlite_conn_fail(s, "get: binding", err);
		goto done;
	}
	step = sqlite3_step(s->get);
	if (step == SQLITE_DONE) {
		rc = STORE_ABSENT;
		goto done;
	}
	if (step != SQLITE_ROW) {
		error_set(err, "sqlite: %s: get from table '%s': %s", s->path,
		    table, sqlite3_errmsg(s->db));
		rc = (step & 0xff) == SQLITE_BUSY ? STORE_UNAVAILABLE :
		    STORE_ERROR;
		goto done;
	}
	if (store_sqlite_row_copy(s, s->get, &r, err) == 0) {
		*row = r.row;
		rc = STORE_OK;
	}
done:
	store_sqlite_done(s->get);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
store_sqlite_del(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], uint64_t expect_rev, struct error *err)
{
	struct store_sqlite *s = handle;
	sqlite3_stmt *stmt = expect_rev == STORE_REV_ANY ? s->del_any :
	    s->del_rev;
	int rc = STORE_ERROR, step;

	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(stmt, table, id) == -1 ||
	    (stmt == s->del_rev &&
	    store_sqlite_bind_rev(stmt, 3, expect_rev) == -1)) {
		rc = sqlite_conn_fail(s, "delete: binding", err);
		goto done;
	}
	step = sqlite3_step(stmt);
	if (step != SQLITE_DONE) {
		error_set(err, "sqlite: %s: delete from table '%s': %s",
		    s->path, table, sqlite3_errmsg(s->db));
		rc = (step & 0xff) == SQLITE_BUSY ? STORE_UNAVAILABLE :
		    STORE_ERROR;
		goto done;
	}
	rc = sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_ABSENT;
done:
	store_sqlite_done(stmt);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
store_sqlite_gen_bump(void *handle, const char *table, struct error *err)
{
	struct store_sqlite *s = handle;
	int rc = STORE_OK;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_bind_text(s->gen_bump, 1, table, -1, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_step(s->gen_bump) != SQLITE_DONE)
		rc = sqlite_conn_fail(s, "bumping a generation", err);
	store_sqlite_done(s->gen_bump);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
store_sqlite_gen_get(void *handle, const char *table, uint64_t *n,
    struct error *err)
{
	struct store_sqlite *s = handle;
	int rc = STORE_OK, step;

	*n = 0;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_bind_text(s->gen_get, 1, table, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		rc = sqlite_conn_fail(s, "reading a generation", err);
	else if ((step = sqlite3_step(s->gen_get)) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s->gen_get, 0);
	else if (step != SQLITE_DONE)
		rc = sqlite_conn_fail(s, "reading a generation", err);
	store_sqlite_done(s->gen_get);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The clock, in ms since the epoch, as SQL. */
#define STORE_SQLITE_NOW_MS \
	"CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/* Lease holders: gen rows named STORE_HOLDER_PREFIX..., n = the clock in
 * ms when the holder was last noted. Rare (a beat every few seconds, a
 * count per write of a leased table): prepared per call. */
static const char *const store_sqlite_holder_sql[] = {
	[STORE_HOLDER_BEAT] = "INSERT INTO gen(tbl, n) VALUES(?1, "
	    STORE_SQLITE_NOW_MS ") ON CONFLICT(tbl) DO UPDATE SET "
	    "n = excluded.n",
	[STORE_HOLDER_DROP] = "DELETE FROM gen WHERE tbl = ?1",
	[STORE_HOLDER_OTHERS] = "SELECT COUNT(*) FROM gen WHERE tbl LIKE '"
	    STORE_HOLDER_PREFIX "%' AND tbl <> ?1 AND n > "
	    STORE_SQLITE_NOW_MS " - ?2",
};
static const char store_sqlite_holder_forget[] = "DELETE FROM gen WHERE "
    "tbl LIKE '" STORE_HOLDER_PREFIX "%' AND n < " STORE_SQLITE_NOW_MS
    " - ?2";

/* Run one holder statement (?1 holder, ?2 ms); its first column to *n. */
static int
store_sqlite_holder_run(struct store_sqlite *s, const char *sql,
    const char *holder, int64_t ms, uint64_t *n, struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc = STORE_OK, step;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    (sqlite3_bind_parameter_index(stmt, "?1") > 0 &&
	    sqlite3_bind_text(stmt, 1, holder, -1, SQLITE_STATIC) !=
	    SQLITE_OK) || (sqlite3_bind_parameter_index(stmt, "?2") > 0 &&
	    sqlite3_bind_int64(stmt, 2, ms) != SQLITE_OK))
		rc = sqlite_conn_fail(s, "lease holders: preparing", err);
	else if ((step = sqlite3_step(stmt)) == SQLITE_ROW && n != NULL)
		*n = (uint64_t)sqlite3_column_int64(stmt, 0);
	else if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = sqlite_conn_fail(s, "lease holders", err);
	sqlite3_finalize(stmt);
	return rc;
}

static int
store_sqlite_holder(void *handle, enum store_holder_op op, const char *holder,
    int64_t ms, uint64_t *n, struct error *err)
{
	struct store_sqlite *s = handle;
	int rc;

	if (n != NULL)
		*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = store_sqlite_holder_run(s, store_sqlite_holder_sql[op], holder,
	    ms, n, err);
	if (rc == STORE_OK && op == STORE_HOLDER_BEAT && ms > 0)
		rc = store_sqlite_holder_run(s, store_sqlite_holder_forget,
		    holder, ms, NULL, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.open = sqlite_conn_open,
	.close = sqlite_conn_close,
	.put = store_sqlite_put,
	.get = store_sqlite_get,
	.del = store_sqlite_del,
	.scan = sqlite_scan_rows,
	.count = sqlite_scan_count,
	.purge = sqlite_scan_purge,
	.gen_bump = store_sqlite_gen_bump,
	.gen_get = store_sqlite_gen_get,
	.holder = store_sqlite_holder,
	.lock = sqlite_lock_acquire,
	.unlock = sqlite_lock_release,
	.put_many = store_sqlite_put_many,
};
