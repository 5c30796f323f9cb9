/*
 * mariadb_bind.c: the MariaDB backend's bindings between C values and
 * prepared-statement parameters and results: parameter binders for the
 * types the statements use, and the result binding and fetch of the
 * STORE_MARIADB_COLS columns every row query selects.
 *
 * Contracts: a parameter binder points the bind at the caller's value,
 * which must outlive the execute (nothing is copied). A fetched row is
 * copied out of the statement (its blob malloc'd and owned by the
 * caller), so the result can be freed and the connection given back
 * before the row is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "mariadb_int.h"

void
mariadb_bind_str(MYSQL_BIND *b, const char *s)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)(uintptr_t)s;
	b->buffer_length = strlen(s);
}

void
mariadb_bind_blob(MYSQL_BIND *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)(uintptr_t)(p != NULL ? p : "");
	b->buffer_length = len;
}

void
mariadb_bind_row(MYSQL_BIND b[6], const char *table, const struct store_row *r)
{
	mariadb_bind_str(&b[0], table);
	mariadb_bind_blob(&b[1], r->id, STORE_ID_LEN);
	mariadb_bind_u32(&b[2], &r->kv);
	mariadb_bind_i64(&b[3], &r->ord);
	mariadb_bind_i64(&b[4], &r->exp);
	mariadb_bind_blob(&b[5], r->blob, r->len);
}

void
mariadb_bind_i64(MYSQL_BIND *b, const int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)(uintptr_t)v;
}

void
mariadb_bind_u64(MYSQL_BIND *b, const uint64_t *v)
{
	mariadb_bind_i64(b, (const int64_t *)(const void *)v);
	b->is_unsigned = 1;
}

void
mariadb_bind_u32(MYSQL_BIND *b, const uint32_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)(uintptr_t)v;
	b->is_unsigned = 1;
}

/* Bind the result columns of a STORE_MARIADB_COLS query. */
int
mariadb_bind_out(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    struct store_mariadb_out *o)
{
	MYSQL_BIND *b = o->b;
	size_t i;

	memset(b, 0, sizeof(o->b));
	b[0].buffer_type = MYSQL_TYPE_STRING;
	b[0].buffer = o->tbl;
	b[0].buffer_length = sizeof(o->tbl);
	b[0].length = &o->tbl_len;
	b[1].buffer_type = MYSQL_TYPE_BLOB;
	b[1].buffer = o->id;
	b[1].buffer_length = sizeof(o->id);
	b[1].length = &o->id_len;
	b[2].buffer_type = MYSQL_TYPE_LONG;
	b[2].buffer = &o->kv;
	b[2].is_unsigned = 1;
	b[3].buffer_type = MYSQL_TYPE_LONGLONG;
	b[3].buffer = &o->ord;
	b[4].buffer_type = MYSQL_TYPE_LONGLONG;
	b[4].buffer = &o->exp;
	b[5].buffer_type = MYSQL_TYPE_LONGLONG;
	b[5].buffer = &o->rev;
	b[5].is_unsigned = 1;
	/* No buffer: the length arrives with the row, then fetch_column. */
	b[6].buffer_type = MYSQL_TYPE_BLOB;
	b[6].length = &o->blob_len;
	for (i = 0; i < 7; i++) {
		b[i].error = &o->trunc[i];
		b[i].is_null = &o->null[i];
	}
	if (mysql_stmt_bind_result(stmt, b) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		return -1;
	}
	return 0;
}

/*
 * Fetch the next row into out (blob malloc'd). 0 a row, 1 no more rows,
 * -1 with c->err_* set. A row with an impossible table name or id is a
 * failure too (err_no 0: reported as an error, not as unavailable).
 */
int
mariadb_bind_fetch_row(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    struct store_mariadb_out *o, struct store_mariadb_row *out)
{
	MYSQL_BIND col;
	size_t i;
	int rc;

	o->blob_len = 0;
	rc = mysql_stmt_fetch(stmt);
	if (rc == MYSQL_NO_DATA)
		return 1;
	if (rc == 1) {
		mariadb_conn_fail_stmt(c, stmt);
		return -1;
	}
	for (i = 0; i < 6; i++) {
		if (o->null[i] || (rc == MYSQL_DATA_TRUNCATED && o->trunc[i]))
			break;
	}
	if (i < 6 || o->tbl_len > STORE_TABLE_MAX ||
	    o->id_len != STORE_ID_LEN) {
		c->err_no = 0;
		snprintf(c->err_msg, sizeof(c->err_msg), "a row has an "
		    "invalid table name or a %lu-byte id", o->id_len);
		return -1;
	}
	memcpy(out->table, o->tbl, o->tbl_len);
	out->table[o->tbl_len] = '\0';
	memcpy(out->row.id, o->id, STORE_ID_LEN);
	out->row.kv = o->kv;
	out->row.ord = o->ord;
	out->row.exp = o->exp;
	out->row.rev = o->rev;
	out->row.len = o->blob_len;
	out->blob = xmalloc(o->blob_len > 0 ? o->blob_len : 1);
	if (o->blob_len > 0) {
		memset(&col, 0, sizeof(col));
		col.buffer_type = MYSQL_TYPE_BLOB;
		col.buffer = out->blob;
		col.buffer_length = o->blob_len;
		if (mysql_stmt_fetch_column(stmt, &col, 6, 0) != 0) {
			mariadb_conn_fail_stmt(c, stmt);
			free(out->blob);
			out->blob = NULL;
			return -1;
		}
	}
	out->row.blob = out->blob;
	return 0;
}
