/*
 * store_mariadb.c: the MariaDB (and Galera) backend of the store
 * (backend.h), through MariaDB Connector/C: the backend table, and the
 * operations addressed by key: a row by table and id (put, put_many,
 * get, get2, get_many, del; a put that inserts only if absent shares a
 * statement with concurrent ones, mariadb_group.c) and a table's
 * generation counter (gen_bump, gen_get).
 * Each operation is a struct store_mariadb_call that mariadb_conn_run
 * runs on a pooled connection with the failure and retry rules of
 * mariadb_conn.c; the operations over many rows (scan, count, purge) are
 * in mariadb_scan.c, the named locks in mariadb_lock.c, the parameter
 * and row bindings in mariadb_bind.c. The schema the statements assume
 * is created and migrated by mariadb_schema.c when the handle opens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "mariadb_int.h"

/* The server's clock, in ms since the epoch (signed: it is subtracted
 * from). */
#define STORE_MARIADB_NOW_MS \
	"CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"

/* Eight parameters; SQL_GET_MANY has eight times eight. */
#define SQL_Q8 "?, ?, ?, ?, ?, ?, ?, ?"
_Static_assert(STORE_GET_MANY_MAX == 64, "SQL_GET_MANY lists 64 ids");

/* The statements of this file's operations (the others are prepared by
 * mariadb_scan.c and mariadb_lock.c). */
static const char *const store_mariadb_sql[SQL_N] = {
	/* LAST_INSERT_ID(expr) hands the new revision of an update back
	 * without a second statement; an insert reports 1 affected row. */
	[SQL_PUT_ANY] = "INSERT INTO `rows` (" STORE_MARIADB_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE "
	    "kv = VALUES(kv), ord = VALUES(ord), exp = VALUES(exp), "
	    "`blob` = VALUES(`blob`), rev = LAST_INSERT_ID(rev + 1)",
	[SQL_PUT_NEW] = "INSERT INTO `rows` (" STORE_MARIADB_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, 1, ?)",
	[SQL_PUT_REV] = "UPDATE `rows` SET kv = ?, ord = ?, exp = ?, "
	    "`blob` = ?, rev = rev + 1 WHERE tbl = ? AND id = ? AND rev = ?",
	[SQL_GET] = "SELECT " STORE_MARIADB_COLS " FROM `rows` "
	    "WHERE tbl = ? AND id = ?",
	[SQL_GET2] = "SELECT " STORE_MARIADB_COLS " FROM `rows` "
	    "WHERE (tbl = ? AND id = ?) OR (tbl = ? AND id = ?)",
	[SQL_GET_MANY] = "SELECT " STORE_MARIADB_COLS " FROM `rows` "
	    "WHERE tbl = ? AND id IN (" SQL_Q8 ", " SQL_Q8 ", " SQL_Q8 ", "
	    SQL_Q8 ", " SQL_Q8 ", " SQL_Q8 ", " SQL_Q8 ", " SQL_Q8 ")",
	[SQL_DEL_ANY] = "DELETE FROM `rows` WHERE tbl = ? AND id = ?",
	[SQL_DEL_REV] = "DELETE FROM `rows` WHERE tbl = ? AND id = ? AND "
	    "rev = ?",
	[SQL_GEN_BUMP] = "INSERT INTO gen (tbl, n) VALUES (?, 1) "
	    "ON DUPLICATE KEY UPDATE n = n + 1",
	[SQL_GEN_GET] = "SELECT n FROM gen WHERE tbl = ?",
	/* Lease holders: gen rows named STORE_HOLDER_PREFIX..., n = the
	 * server's clock in ms when the holder was last noted. */
	[SQL_HOLDER_BEAT] = "INSERT INTO gen (tbl, n) VALUES (?, "
	    STORE_MARIADB_NOW_MS ") ON DUPLICATE KEY UPDATE n = VALUES(n)",
	[SQL_HOLDER_FORGET] = "DELETE FROM gen WHERE tbl LIKE '"
	    STORE_HOLDER_PREFIX "%' AND n < " STORE_MARIADB_NOW_MS " - ?",
	[SQL_HOLDER_DROP] = "DELETE FROM gen WHERE tbl = ?",
	[SQL_HOLDER_OTHERS] = "SELECT COUNT(*) FROM gen WHERE tbl LIKE '"
	    STORE_HOLDER_PREFIX "%' AND tbl <> ? AND n > "
	    STORE_MARIADB_NOW_MS " - ?",
};

/* ------------------------------------------------------------ rows */

struct store_mariadb_put {
	const char *table;
	const struct store_row *row;
	uint64_t expect;
	uint64_t rev;
};

static int
store_mariadb_put_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_put *p = arg;
	const struct store_row *r = p->row;
	enum store_mariadb_sql q = p->expect == STORE_REV_ANY ? SQL_PUT_ANY :
	    p->expect == STORE_REV_ABSENT ? SQL_PUT_NEW : SQL_PUT_REV;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[7];
	my_ulonglong n;

	(void)m;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	if (q == SQL_PUT_REV) {
		mariadb_bind_u32(&b[0], &r->kv);
		mariadb_bind_i64(&b[1], &r->ord);
		mariadb_bind_i64(&b[2], &r->exp);
		mariadb_bind_blob(&b[3], r->blob, r->len);
		mariadb_bind_str(&b[4], p->table);
		mariadb_bind_blob(&b[5], r->id, STORE_ID_LEN);
		mariadb_bind_u64(&b[6], &p->expect);
	} else
		mariadb_bind_row(b, p->table, r);
	if (mariadb_conn_exec(c, stmt, b) == -1)
		return q == SQL_PUT_NEW && c->err_no == ER_DUP_ENTRY ?
		    STORE_ABSENT : -1;
	n = mysql_stmt_affected_rows(stmt);
	switch (q) {
	case SQL_PUT_ANY:
		/* 1: inserted; 2: updated, rev = LAST_INSERT_ID(rev + 1). */
		p->rev = n == 2 ? mysql_stmt_insert_id(stmt) : 1;
		return STORE_OK;
	case SQL_PUT_NEW:
		p->rev = 1;
		return STORE_OK;
	default:
		/* Found rows: 1 exactly when the revision matched (and rev
		 * changes, so "matched but unchanged" cannot happen). */
		if (n != 1)
			return STORE_ABSENT;
		p->rev = p->expect + 1;
		return STORE_OK;
	}
}

int
store_mariadb_put_one(struct store_mariadb *m, const char *table,
    const struct store_row *row, uint64_t expect_rev, uint64_t *rev,
    struct error *err)
{
	struct store_mariadb_put p = { table, row, expect_rev, 0 };
	struct store_mariadb_call k = { "put into", table,
	    expect_rev == STORE_REV_ANY, store_mariadb_put_fn, &p };
	int rc;

	rc = mariadb_conn_run(m, &k, err);
	if (rc == STORE_OK && rev != NULL)
		*rev = p.rev;
	return rc;
}

/* An insert-if-absent shares a statement with concurrent ones
 * (mariadb_group.c). */
static int
store_mariadb_put(void *handle, const char *table, const struct store_row *row,
    uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	struct store_mariadb *m = handle;
	int rc;

	if (row->len > UINT32_MAX)
		return error_set(err, "mariadb: %s: put into table '%s': row "
		    "of %zu bytes is too large", m->redacted, table, row->len);
	if (expect_rev != STORE_REV_ABSENT)
		return store_mariadb_put_one(m, table, row, expect_rev, rev,
		    err);
	rc = mariadb_group_put_new(m, table, row, err);
	if (rc == STORE_OK && rev != NULL)
		*rev = 1;
	return rc;
}

struct store_mariadb_many {
	const char *table;
	const struct store_row *rows;
	size_t n;
};

MYSQL_STMT *
store_mariadb_many_prepare(struct store_mariadb_conn *c, MYSQL_STMT **slot,
    size_t n, const char *tail)
{
	char sql[1024];
	size_t i, off;

	if (*slot != NULL)
		return *slot;
	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO `rows` ("
	    STORE_MARIADB_COLS ") VALUES ");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s(?, ?, "
		    "?, ?, ?, 1, ?)", i > 0 ? ", " : "");
	snprintf(sql + off, sizeof(sql) - off, "%s", tail);
	return mariadb_conn_prepare(c, slot, sql);
}

/* Upsert rows[0..n) (2..STORE_MARIADB_MANY) in one statement: rev
 * counted up as SQL_PUT_ANY does (a row named twice is updated by its
 * second occurrence, as by two statements); without LAST_INSERT_ID, as
 * the group commit reads no revision. */
static int
store_mariadb_many_put(struct store_mariadb_conn *c, const char *table,
    const struct store_row *rows, size_t n)
{
	MYSQL_BIND b[6 * STORE_MARIADB_MANY];
	MYSQL_STMT *stmt;
	size_t i;

	if ((stmt = store_mariadb_many_prepare(c, &c->many[n], n,
	    " ON DUPLICATE KEY UPDATE kv = VALUES(kv), ord = VALUES(ord), "
	    "exp = VALUES(exp), `blob` = VALUES(`blob`), rev = rev + 1")) ==
	    NULL)
		return -1;
	for (i = 0; i < n; i++)
		mariadb_bind_row(&b[6 * i], table, &rows[i]);
	return mariadb_conn_exec(c, stmt, b) == -1 ? -1 : STORE_OK;
}

/* All the rows in one transaction: one commit (one redo-log flush) for
 * the batch, up to STORE_MARIADB_MANY rows (and STORE_MARIADB_MANY_BYTES)
 * per statement, so one round trip for several rows. A failure rolls
 * back what this call wrote; a lost connection took its transaction with
 * it. */
static int
store_mariadb_many_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_many *g = arg;
	struct store_mariadb_put p = { g->table, NULL, STORE_REV_ANY, 0 };
	size_t i, k, bytes;
	int rc;

	if (mysql_query(c->db, "START TRANSACTION") != 0) {
		mariadb_conn_fail_db(c, c->db);
		return -1;
	}
	for (i = 0; i < g->n; i += k) {
		bytes = g->rows[i].len;
		for (k = 1; k < STORE_MARIADB_MANY && i + k < g->n &&
		    bytes + g->rows[i + k].len <= STORE_MARIADB_MANY_BYTES; k++)
			bytes += g->rows[i + k].len;
		if (k == 1) {
			p.row = &g->rows[i];
			rc = store_mariadb_put_fn(m, c, &p);
		} else
			rc = store_mariadb_many_put(c, g->table, &g->rows[i],
			    k);
		if (rc != STORE_OK)
			goto fail;
	}
	if (mysql_commit(c->db) != 0) {
		mariadb_conn_fail_db(c, c->db);
		return -1;
	}
	return STORE_OK;
fail:
	/* Keep the statement's failure; the rollback is best effort. */
	(void)mysql_rollback(c->db);
	return -1;
}

/* Group commit (backend.h put_many). Upserts only: sent again whole after
 * a connection loss, which is safe. */
static int
store_mariadb_put_many(void *handle, const char *table,
    const struct store_row *rows, size_t n, struct error *err)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_many g = { table, rows, n };
	struct store_mariadb_call k = { "put into", table, 1,
	    store_mariadb_many_fn, &g };
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].len > UINT32_MAX)
			return error_set(err, "mariadb: %s: put into table "
			    "'%s': row of %zu bytes is too large", m->redacted,
			    table, rows[i].len);
	return mariadb_conn_run(m, &k, err);
}

struct store_mariadb_get {
	const char *table;
	const uint8_t *id;
	struct store_mariadb_row out;
};

static int
store_mariadb_get_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_get *g = arg;
	struct store_mariadb_out o;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[2];
	int rc;

	(void)m;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[SQL_GET],
	    store_mariadb_sql[SQL_GET])) == NULL)
		return -1;
	mariadb_bind_str(&b[0], g->table);
	mariadb_bind_blob(&b[1], g->id, STORE_ID_LEN);
	if (mariadb_conn_select(c, stmt, b) == -1)
		return -1;
	if (mariadb_bind_out(c, stmt, &o) == -1) {
		mysql_stmt_free_result(stmt);
		return -1;
	}
	rc = mariadb_bind_fetch_row(c, stmt, &o, &g->out);
	mysql_stmt_free_result(stmt);
	return rc == 1 ? STORE_ABSENT : rc;
}

static int
store_mariadb_get(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], struct store_row *row, struct error *err)
{
	struct store_mariadb_get g;
	struct store_mariadb_call k = { "get from", table, 1,
	    store_mariadb_get_fn, &g };
	int rc;

	memset(row, 0, sizeof(*row));
	memset(&g, 0, sizeof(g));
	g.table = table;
	g.id = id;
	rc = mariadb_conn_run(handle, &k, err);
	if (rc == STORE_OK)
		*row = g.out.row;
	return rc;
}

/*
 * A set of rows asked for by (table, id) in one statement (get2,
 * get_many): sql is SQL_GET2 (two pairs) or SQL_GET_MANY (one table,
 * STORE_GET_MANY_MAX ids, the unused places repeating the first id).
 */
struct store_mariadb_getn {
	enum store_mariadb_sql sql;
	const char *const *table;	/* n of them */
	const uint8_t *const *id;
	size_t n;
	struct store_mariadb_row *out;	/* n */
	int *found;			/* n */
};

static void
store_mariadb_getn_clear(struct store_mariadb_getn *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (g->found[i])
			free(g->out[i].blob);
		g->found[i] = 0;
		memset(&g->out[i], 0, sizeof(g->out[i]));
	}
}

/* Each row the statement returns goes to the request(s) it answers. */
static int
store_mariadb_getn_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_getn *g = arg;
	struct store_mariadb_out o;
	struct store_mariadb_row r;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1 + STORE_GET_MANY_MAX];
	size_t i;
	int p = 0, rc, used;

	(void)m;
	store_mariadb_getn_clear(g);	/* a retried call starts over */
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[g->sql],
	    store_mariadb_sql[g->sql])) == NULL)
		return -1;
	if (g->sql == SQL_GET2) {
		for (i = 0; i < 2; i++) {
			mariadb_bind_str(&b[p++], g->table[i]);
			mariadb_bind_blob(&b[p++], g->id[i], STORE_ID_LEN);
		}
	} else {
		mariadb_bind_str(&b[p++], g->table[0]);
		for (i = 0; i < STORE_GET_MANY_MAX; i++)
			mariadb_bind_blob(&b[p++], g->id[i < g->n ? i : 0],
			    STORE_ID_LEN);
	}
	if (mariadb_conn_select(c, stmt, b) == -1)
		return -1;
	if (mariadb_bind_out(c, stmt, &o) == -1) {
		mysql_stmt_free_result(stmt);
		return -1;
	}
	while ((rc = mariadb_bind_fetch_row(c, stmt, &o, &r)) == 0) {
		used = 0;
		for (i = 0; i < g->n; i++) {
			if (g->found[i] || strcmp(r.table, g->table[i]) != 0 ||
			    memcmp(r.row.id, g->id[i], STORE_ID_LEN) != 0)
				continue;
			g->out[i] = r;
			if (used) {	/* the same row asked for twice */
				g->out[i].blob = xmalloc(r.row.len > 0 ?
				    r.row.len : 1);
				memcpy(g->out[i].blob, r.blob, r.row.len);
				g->out[i].row.blob = g->out[i].blob;
			}
			g->found[i] = 1;
			used = 1;
		}
		if (!used)
			free(r.blob);
	}
	mysql_stmt_free_result(stmt);
	if (rc == -1)
		store_mariadb_getn_clear(g);
	return rc == -1 ? -1 : STORE_OK;
}

/* Run g; rows[i] and found[i] as backend.h's get2 and get_many say. */
static int
store_mariadb_getn(void *handle, struct store_mariadb_getn *g,
    struct store_row *rows, int *found, struct error *err)
{
	struct store_mariadb_call k = { "get from", g->table[0], 1,
	    store_mariadb_getn_fn, g };
	size_t i;
	int rc;

	memset(g->found, 0, g->n * sizeof(*g->found));
	memset(g->out, 0, g->n * sizeof(*g->out));
	rc = mariadb_conn_run(handle, &k, err);
	if (rc != STORE_OK)
		store_mariadb_getn_clear(g);
	for (i = 0; i < g->n; i++) {
		memset(&rows[i], 0, sizeof(rows[i]));
		found[i] = g->found[i];
		if (found[i])
			rows[i] = g->out[i].row;
	}
	return rc;
}

static int
store_mariadb_get2(void *handle, const char *const table[2],
    const uint8_t *const id[2], struct store_row rows[2], int found[2],
    struct error *err)
{
	struct store_mariadb_row out[2];
	int f[2];
	struct store_mariadb_getn g = { SQL_GET2, table, id, 2, out, f };

	return store_mariadb_getn(handle, &g, rows, found, err);
}

static int
store_mariadb_get_many(void *handle, const char *table,
    const uint8_t (*id)[STORE_ID_LEN], size_t n, struct store_row *rows,
    int *found, struct error *err)
{
	struct store_mariadb_row out[STORE_GET_MANY_MAX];
	const char *tables[STORE_GET_MANY_MAX];
	const uint8_t *ids[STORE_GET_MANY_MAX];
	int f[STORE_GET_MANY_MAX];
	struct store_mariadb_getn g = { SQL_GET_MANY, tables, ids, n, out, f };
	size_t i;

	if (n == 0 || n > STORE_GET_MANY_MAX)
		return error_set(err, "mariadb: get_many of %zu rows", n);
	for (i = 0; i < n; i++) {
		tables[i] = table;
		ids[i] = id[i];
	}
	return store_mariadb_getn(handle, &g, rows, found, err);
}

struct store_mariadb_del {
	const char *table;
	const uint8_t *id;
	uint64_t expect;
};

static int
store_mariadb_del_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_del *d = arg;
	enum store_mariadb_sql q = d->expect == STORE_REV_ANY ? SQL_DEL_ANY :
	    SQL_DEL_REV;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[3];

	(void)m;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	mariadb_bind_str(&b[0], d->table);
	mariadb_bind_blob(&b[1], d->id, STORE_ID_LEN);
	mariadb_bind_u64(&b[2], &d->expect);
	if (mariadb_conn_exec(c, stmt, b) == -1)
		return -1;
	return mysql_stmt_affected_rows(stmt) > 0 ? STORE_OK : STORE_ABSENT;
}

static int
store_mariadb_del(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], uint64_t expect_rev, struct error *err)
{
	struct store_mariadb_del d = { table, id, expect_rev };
	/* Sent twice, a delete that worked would report "absent". */
	struct store_mariadb_call k = { "delete from", table, 0,
	    store_mariadb_del_fn, &d };

	return mariadb_conn_run(handle, &k, err);
}

/* ------------------------------------------------ generation counters */

struct store_mariadb_gen {
	const char *table;
	uint64_t n;
};

static int
store_mariadb_gen_bump_fn(struct store_mariadb *m,
    struct store_mariadb_conn *c, void *arg)
{
	struct store_mariadb_gen *g = arg;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1];

	(void)m;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[SQL_GEN_BUMP],
	    store_mariadb_sql[SQL_GEN_BUMP])) == NULL)
		return -1;
	mariadb_bind_str(&b[0], g->table);
	return mariadb_conn_exec(c, stmt, b) == -1 ? -1 : STORE_OK;
}

static int
store_mariadb_gen_bump(void *handle, const char *table, struct error *err)
{
	struct store_mariadb_gen g = { table, 0 };
	/* An extra bump only makes readers look once more. */
	struct store_mariadb_call k = { "generation bump of", table, 1,
	    store_mariadb_gen_bump_fn, &g };

	return mariadb_conn_run(handle, &k, err);
}

/* Run the one-row, one-column query c->stmt[q] with params b: *n its
 * value, 0 when there is no row. */
static int
store_mariadb_select_u64(struct store_mariadb_conn *c, enum store_mariadb_sql q,
    MYSQL_BIND *b, uint64_t *n)
{
	MYSQL_STMT *stmt;
	MYSQL_BIND r[1];
	int rc;

	*n = 0;
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	if (mariadb_conn_select(c, stmt, b) == -1)
		return -1;
	mariadb_bind_u64(&r[0], n);
	if (mysql_stmt_bind_result(stmt, r) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	rc = mysql_stmt_fetch(stmt);
	if (rc == 1)
		mariadb_conn_fail_stmt(c, stmt);
	mysql_stmt_free_result(stmt);
	if (rc == MYSQL_NO_DATA)
		*n = 0;
	return rc == 0 || rc == MYSQL_NO_DATA ? STORE_OK : -1;
}

static int
store_mariadb_gen_get_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_gen *g = arg;
	MYSQL_BIND b[1];

	(void)m;
	mariadb_bind_str(&b[0], g->table);
	return store_mariadb_select_u64(c, SQL_GEN_GET, b, &g->n);
}

static int
store_mariadb_gen_get(void *handle, const char *table, uint64_t *n,
    struct error *err)
{
	struct store_mariadb_gen g = { table, 0 };
	struct store_mariadb_call k = { "generation of", table, 1,
	    store_mariadb_gen_get_fn, &g };
	int rc;

	rc = mariadb_conn_run(handle, &k, err);
	*n = rc == STORE_OK ? g.n : 0;
	return rc;
}

/* ------------------------------------------------------ lease holders */

struct store_mariadb_holder {
	enum store_holder_op op;
	const char *holder;
	int64_t ms;
	uint64_t n;
};

/* Run c->stmt[q] with the holder name and, unless ms is NULL, ms. */
static int
store_mariadb_holder_exec(struct store_mariadb_conn *c,
    enum store_mariadb_sql q, const char *holder, const int64_t *ms)
{
	MYSQL_STMT *stmt;
	MYSQL_BIND b[2];
	MYSQL_BIND *p = b;

	if ((stmt = mariadb_conn_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	if (holder != NULL)
		mariadb_bind_str(p++, holder);
	if (ms != NULL)
		mariadb_bind_i64(p, ms);
	return mariadb_conn_exec(c, stmt, b) == -1 ? -1 : STORE_OK;
}

static int
store_mariadb_holder_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_holder *h = arg;
	MYSQL_BIND b[2];

	(void)m;
	switch (h->op) {
	case STORE_HOLDER_BEAT:
		if (store_mariadb_holder_exec(c, SQL_HOLDER_BEAT, h->holder,
		    NULL) == -1)
			return -1;
		return h->ms > 0 ? store_mariadb_holder_exec(c,
		    SQL_HOLDER_FORGET, NULL, &h->ms) : STORE_OK;
	case STORE_HOLDER_DROP:
		return store_mariadb_holder_exec(c, SQL_HOLDER_DROP, h->holder,
		    NULL);
	case STORE_HOLDER_OTHERS:
		mariadb_bind_str(&b[0], h->holder);
		mariadb_bind_i64(&b[1], &h->ms);
		return store_mariadb_select_u64(c, SQL_HOLDER_OTHERS, b,
		    &h->n);
	}
	return -1;
}

static int
store_mariadb_holder(void *handle, enum store_holder_op op, const char *holder,
    int64_t ms, uint64_t *n, struct error *err)
{
	struct store_mariadb_holder h = { op, holder, ms, 0 };
	/* Each is idempotent: noting, forgetting and counting again. */
	struct store_mariadb_call k = { "lease holders in", "gen", 1,
	    store_mariadb_holder_fn, &h };
	int rc;

	rc = mariadb_conn_run(handle, &k, err);
	if (n != NULL)
		*n = rc == STORE_OK ? h.n : 0;
	return rc;
}

/* ------------------------------------------------------------ handle */

static int
store_mariadb_open(const struct store_dsn *dsn, void **handle,
    struct error *err)
{
	struct store_mariadb *m;
	int rc;

	*handle = NULL;
	if ((rc = mariadb_conn_open(dsn, &m, err)) != 0)
		return rc;
	if ((rc = mariadb_schema_ensure(m, err)) != 0) {
		mariadb_conn_close(m);
		return rc;
	}
	*handle = m;
	return 0;
}

static void
store_mariadb_close(void *handle)
{
	mariadb_conn_close(handle);
}

const struct store_backend store_backend_mariadb = {
	.name = "mariadb",
	.open = store_mariadb_open,
	.close = store_mariadb_close,
	.put = store_mariadb_put,
	.put_many = store_mariadb_put_many,
	.get = store_mariadb_get,
	.get2 = store_mariadb_get2,
	.get_many = store_mariadb_get_many,
	.del = store_mariadb_del,
	.scan = mariadb_scan_rows,
	.count = mariadb_scan_count,
	.purge = mariadb_scan_purge,
	.gen_bump = store_mariadb_gen_bump,
	.gen_get = store_mariadb_gen_get,
	.holder = store_mariadb_holder,
	.lock = mariadb_lock_acquire,
	.unlock = mariadb_lock_release,
};
