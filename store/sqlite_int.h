/*
 * sqlite_int.h: what the files of the SQLite backend share, for them
 * only: store/store_sqlite.c (the backend table and the operations by
 * key), store/sqlite_conn.c (the handle: the file, the connection, its
 * prepared statements, the classification of failures),
 * store/sqlite_schema.c (schema creation and migration at open),
 * store/sqlite_scan.c (scan, count, purge) and store/sqlite_lock.c (the
 * daemon lock and the named locks).
 *
 * A handle (struct store_sqlite) is one connection: s->lock guards the
 * connection and every statement, s->locks_mu the named locks' slots.
 * Return values follow backend.h: STORE_OK, STORE_ABSENT, STORE_ERROR
 * (-1), STORE_UNAVAILABLE (-2).
 */
#ifndef TRUSTEE_SQLITE_INT_H
#define TRUSTEE_SQLITE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "backend.h"

#define STORE_SQLITE_LOCKS	8	/* named locks held at once */

struct store_sqlite_lock {
	char name[STORE_TABLE_MAX + 1];
	int fd;				/* -1 when the slot is free */
};

struct store_sqlite {
	sqlite3 *db;
	char *path;
	int timeout_ms;
	int lock_fd;			/* exclusive daemon lock, or -1 */
	pthread_mutex_t lock;		/* guards db and every statement */
	sqlite3_stmt *put_any;
	sqlite3_stmt *put_many;		/* put_any without RETURNING */
	sqlite3_stmt *put_new;
	sqlite3_stmt *put_rev;
	sqlite3_stmt *get;
	sqlite3_stmt *del_any;
	sqlite3_stmt *del_rev;
	sqlite3_stmt *gen_bump;
	sqlite3_stmt *gen_get;
	pthread_mutex_t locks_mu;	/* guards locks[] */
	struct store_sqlite_lock locks[STORE_SQLITE_LOCKS];
};

/* A row copied out of a statement, so callbacks run unlocked. */
struct store_sqlite_row {
	char table[STORE_TABLE_MAX + 1];
	struct store_row row;
	uint8_t *blob;
};

/* The columns a row query selects, in the order store_sqlite_row_copy
 * reads them. */
#define STORE_SQLITE_COLS "tbl, id, kv, ord, exp, rev, blob"
/* A scan's ids_only: the same shape from the (tbl, ord, id) index. */
#define STORE_SQLITE_COLS_IDS "tbl, id, 0, ord, 0, 0, NULL"

/* ----------------------------------------------------- sqlite_conn.c */

/* backend.h open and close. */
int sqlite_conn_open(const struct store_dsn *dsn, void **handle,
    struct error *err);
void sqlite_conn_close(void *handle);
/* err = "sqlite: <path>: <what>: <SQLite's message>" of the connection's
 * last call; STORE_UNAVAILABLE for a lock held past the busy timeout
 * (SQLITE_BUSY, SQLITE_LOCKED), else STORE_ERROR. */
int sqlite_conn_fail(struct store_sqlite *s, const char *what,
    struct error *err);

/* ---------------------------------------------------- store_sqlite.c */

/* Copy the current row of a SELECT STORE_SQLITE_COLS statement into out
 * (blob malloc'd); 0, or -1 with err set for an impossible table name or
 * id. */
int store_sqlite_row_copy(struct store_sqlite *s, sqlite3_stmt *stmt,
    struct store_sqlite_row *out, struct error *err);

/* ----------------------------------------------------- sqlite_scan.c */

/* backend.h scan, count and purge. */
int sqlite_scan_rows(void *handle, const char *table,
    const struct store_scan *q, store_backend_row_cb cb, void *arg,
    struct error *err);
int sqlite_scan_count(void *handle, const char *table,
    struct store_kv_count *out, size_t max, size_t *n, struct error *err);
int sqlite_scan_purge(void *handle, const char *table, int64_t exp_before,
    int64_t ord_before, size_t limit, size_t *n, struct error *err);

/* --------------------------------------------------- sqlite_schema.c */

/* Create the schema, or migrate an older one forward: 0, or with err
 * set and nothing changed, -1 (a newer schema, or SQLite failed) or
 * STORE_UNAVAILABLE (the database stayed locked past the busy timeout). */
int sqlite_schema_init(struct store_sqlite *s, struct error *err);

/* ----------------------------------------------------- sqlite_lock.c */

/* Take the daemon lock, "<s->path>.lock", into s->lock_fd: 0, or -1 with
 * err set (another trusteed holds it, naming its pid when it can). */
int sqlite_lock_daemon(struct store_sqlite *s, struct error *err);
/* backend.h lock and unlock. */
int sqlite_lock_acquire(void *handle, const char *name, int timeout_ms,
    struct error *err);
void sqlite_lock_release(void *handle, const char *name);

#endif
