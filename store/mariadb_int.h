/*
 * mariadb_int.h: what the files of the MariaDB backend share, for them
 * only: store/store_mariadb.c (the backend table and the operations by
 * key), store/mariadb_scan.c (scan, count, purge), store/mariadb_lock.c
 * (named locks), store/mariadb_bind.c (statement parameters and result
 * rows), store/mariadb_conn.c (the handle, its connection pool, the
 * failure classification and the retry rules), store/mariadb_group.c
 * (concurrent inserts-if-absent sharing a statement) and
 * store/mariadb_schema.c (schema creation and migration at open).
 *
 * A handle (struct store_mariadb) is a pool of up to STORE_MARIADB_POOL
 * connections; an operation is a struct store_mariadb_call run by
 * mariadb_conn_run on one pooled connection. Return values follow
 * backend.h: STORE_OK, STORE_ABSENT, STORE_ERROR (-1), STORE_UNAVAILABLE
 * (-2); functions that work on one connection report -1 with c->err_*
 * set and leave the classification to their caller.
 */
#ifndef TRUSTEE_MARIADB_INT_H
#define TRUSTEE_MARIADB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mysql.h>

#include "backend.h"

#define STORE_MARIADB_POOL	16	/* connections per handle */
#define STORE_MARIADB_LOCKS	4	/* named locks held at once */
#define STORE_MARIADB_SCANS	256	/* scan statement shapes (8 flags) */
#define STORE_MARIADB_MANY	8	/* rows per multi-row statement */
/* The bytes of row values one multi-row statement carries at most (far
 * below max_allowed_packet's 16 MiB default; a larger row goes alone). */
#define STORE_MARIADB_MANY_BYTES ((size_t)1 << 20)
#define STORE_MARIADB_LOCK_NAME	64	/* GET_LOCK's limit */

/* The columns a row query selects, in the order mariadb_bind_out binds;
 * a scan's ids_only selects the same shape from the (tbl, ord, id)
 * index alone. */
#define STORE_MARIADB_COLS "tbl, id, kv, ord, exp, rev, `blob`"
#define STORE_MARIADB_COLS_IDS "tbl, id, 0, ord, 0, 0, ''"

/* The statements every connection prepares on first use (their SQL is
 * in the file whose operations run them). */
enum store_mariadb_sql {
	SQL_PUT_ANY,
	SQL_PUT_NEW,
	SQL_PUT_REV,
	SQL_GET,
	SQL_GET2,
	SQL_GET_MANY,
	SQL_DEL_ANY,
	SQL_DEL_REV,
	SQL_COUNT_ALL,
	SQL_COUNT_TBL,
	SQL_PURGE,
	SQL_GEN_BUMP,
	SQL_GEN_GET,
	SQL_HOLDER_BEAT,
	SQL_HOLDER_FORGET,
	SQL_HOLDER_DROP,
	SQL_HOLDER_OTHERS,
	SQL_GET_LOCK,
	SQL_RELEASE_LOCK,
	SQL_N
};

/* One pooled connection; db NULL when not connected. */
struct store_mariadb_conn {
	MYSQL *db;
	MYSQL_STMT *stmt[SQL_N];
	MYSQL_STMT *scan[STORE_MARIADB_SCANS];
	MYSQL_STMT *many[STORE_MARIADB_MANY + 1];	/* by row count, 2.. */
	MYSQL_STMT *many_new[STORE_MARIADB_MANY + 1];	/* mariadb_group.c */
	int busy;			/* taken by an operation or a lock */
	unsigned int err_no;		/* the last statement's failure */
	char err_msg[256];
};

struct store_mariadb_lock {
	char name[STORE_TABLE_MAX + 1];
	struct store_mariadb_conn *conn;	/* NULL: the slot is free */
	int reserved;			/* taken while its GET_LOCK waits */
};

/* Inserts-if-absent waiting to share a statement (mariadb_group.c). */
struct mariadb_group_req;
struct mariadb_group {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* a batch finished */
	struct mariadb_group_req *head, *tail;	/* queued, in order */
	int busy;			/* a batch is running */
};

struct store_mariadb {
	char *host;
	char *user;
	char *database;
	char *socket;
	char *password;			/* sodium_malloc'd, or NULL */
	size_t password_len;
	char *redacted;
	unsigned port;
	int timeout_ms;
	unsigned io_timeout_s;		/* Connector/C read/write backstop */
	char session_sql[256];
	char lock_prefix[STORE_MARIADB_LOCK_NAME + 1];
	pthread_mutex_t mu;		/* guards the busy flags and locks[] */
	pthread_cond_t cv;		/* a connection was given back */
	struct store_mariadb_conn conns[STORE_MARIADB_POOL];
	struct store_mariadb_lock locks[STORE_MARIADB_LOCKS];
	struct mariadb_group group;
};

/* A row copied out of a result (blob malloc'd), so that it outlives the
 * statement and the connection. */
struct store_mariadb_row {
	char table[STORE_TABLE_MAX + 1];
	struct store_row row;
	uint8_t *blob;
};

/* The result columns of a STORE_MARIADB_COLS query. */
struct store_mariadb_out {
	MYSQL_BIND b[7];
	char tbl[STORE_TABLE_MAX + 2];
	unsigned long tbl_len;
	uint8_t id[STORE_ID_LEN + 1];
	unsigned long id_len;
	uint32_t kv;
	int64_t ord;
	int64_t exp;
	uint64_t rev;
	unsigned long blob_len;
	my_bool trunc[7];
	my_bool null[7];
};

/* How a failed statement is handled. */
enum store_mariadb_kind {
	KIND_FAIL,	/* an error: report -1 */
	KIND_NOTSENT,	/* the request was not run: drop the connection,
			 * sending it again is safe */
	KIND_GONE,	/* the connection died; the outcome is unknown */
	KIND_RETRY,	/* deadlock / certification conflict: rolled back */
	KIND_BUSY,	/* timeout, not ready, read-only: report -2 */
};

/* What an operation needs; fn runs the statements on a connection and
 * returns STORE_OK, STORE_ABSENT, or -1 with c->err_* set. */
struct store_mariadb_call {
	const char *what;		/* for messages: "put into" */
	const char *table;		/* NULL: every table */
	int resend;			/* may be sent again after a loss */
	int (*fn)(struct store_mariadb *, struct store_mariadb_conn *,
	    void *);
	void *arg;
};

/* ------------------------------------------------ mariadb_conn.c */

/*
 * A handle for dsn, not yet connected (the pool connects on demand); the
 * password is copied into sodium-guarded memory. 0 or -1 with err set.
 * mariadb_conn_close closes every pooled connection and wipes the
 * password; NULL is allowed.
 */
int mariadb_conn_open(const struct store_dsn *dsn, struct store_mariadb **out,
    struct error *err);
void mariadb_conn_close(struct store_mariadb *m);

/* A CLOCK_MONOTONIC deadline ms from now, and what is left of one. */
void mariadb_conn_deadline(int ms, struct timespec *ts);
int mariadb_conn_left_ms(const struct timespec *deadline);

/* How a failure with this client or server error code is handled. */
enum store_mariadb_kind mariadb_conn_kind(unsigned int code);

/*
 * Connect c (not connected) with deadline bounding the connect, and set
 * up its session. ddl: a connection for migrations, without statement
 * time limits. Returns 0, -1 (credentials, unknown database...) or -2.
 */
int mariadb_conn_connect(struct store_mariadb *m, struct store_mariadb_conn *c,
    const struct timespec *deadline, int ddl, struct error *err);
/* Close a connection and its statements (the server drops its locks). */
void mariadb_conn_disconnect(struct store_mariadb_conn *c);

/*
 * Take a connection, preferring one already connected; wait for one
 * until the deadline. The connection returned is connected and open.
 * mariadb_conn_checkin gives it back.
 */
int mariadb_conn_checkout(struct store_mariadb *m,
    const struct timespec *deadline, struct store_mariadb_conn **out,
    struct error *err);
void mariadb_conn_checkin(struct store_mariadb *m,
    struct store_mariadb_conn *c);

/* Record the last failure of db or stmt in c->err_*. */
void mariadb_conn_fail_db(struct store_mariadb_conn *c, MYSQL *db);
void mariadb_conn_fail_stmt(struct store_mariadb_conn *c, MYSQL_STMT *stmt);

/* The prepared statement for sql on c (prepared on first use into *slot);
 * NULL with c->err_* set on failure. */
MYSQL_STMT *mariadb_conn_prepare(struct store_mariadb_conn *c,
    MYSQL_STMT **slot, const char *sql);
/* Bind, execute; 0 or -1 with c->err_* set. */
int mariadb_conn_exec(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params);
/* Execute a query and read its whole result, so that the connection is
 * free again whatever the caller does with the rows; the caller ends
 * with mysql_stmt_free_result. */
int mariadb_conn_select(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params);

/*
 * Run a call on a pooled connection with the retry rules of
 * mariadb_conn.c's file comment, within m->timeout_ms: STORE_OK,
 * STORE_ABSENT, STORE_ERROR or STORE_UNAVAILABLE, with err set on failure.
 */
int mariadb_conn_run(struct store_mariadb *m,
    const struct store_mariadb_call *k, struct error *err);

/* ------------------------------------------------ store_mariadb.c */

/* The prepared INSERT of n rows' values (2..STORE_MARIADB_MANY; each
 * bound by mariadb_bind_row, rev 1) followed by tail (e.g. an ON
 * DUPLICATE KEY clause, or ""), prepared on first use into *slot. */
MYSQL_STMT *store_mariadb_many_prepare(struct store_mariadb_conn *c,
    MYSQL_STMT **slot, size_t n, const char *tail);
/* One put as backend.h's put, in a statement of its own. */
int store_mariadb_put_one(struct store_mariadb *m, const char *table,
    const struct store_row *row, uint64_t expect_rev, uint64_t *rev,
    struct error *err);

/* ----------------------------------------------- mariadb_group.c */

void mariadb_group_init(struct mariadb_group *g);
void mariadb_group_destroy(struct mariadb_group *g);
/*
 * Insert row into table if absent (put with STORE_REV_ABSENT; the new
 * row's revision is 1), sharing one statement with the inserts other
 * threads make meanwhile: STORE_OK, STORE_ABSENT (the row was there),
 * STORE_ERROR or STORE_UNAVAILABLE with err set, as the insert alone.
 */
int mariadb_group_put_new(struct store_mariadb *m, const char *table,
    const struct store_row *row, struct error *err);

/* ---------------------------------------------- mariadb_schema.c */

/*
 * Bring the schema to the current version under the "schema" GET_LOCK
 * (waiting for another instance's migration); a newer schema is refused
 * before anything is written. STORE_OK, STORE_ERROR or STORE_UNAVAILABLE.
 */
int mariadb_schema_ensure(struct store_mariadb *m, struct error *err);

/* ----------------------------------------------- mariadb_bind.c */

/* Bind a parameter to the caller's value (not copied: it must live
 * until the statement has run). */
void mariadb_bind_str(MYSQL_BIND *b, const char *s);
void mariadb_bind_blob(MYSQL_BIND *b, const void *p, size_t len);
/* The six parameters of a row's values, in the order of
 * STORE_MARIADB_COLS without rev: tbl, id, kv, ord, exp, blob. */
void mariadb_bind_row(MYSQL_BIND b[6], const char *table,
    const struct store_row *r);
void mariadb_bind_i64(MYSQL_BIND *b, const int64_t *v);
void mariadb_bind_u64(MYSQL_BIND *b, const uint64_t *v);
void mariadb_bind_u32(MYSQL_BIND *b, const uint32_t *v);
/* Bind the result of a STORE_MARIADB_COLS query to o; 0 or -1 with
 * c->err_* set. */
int mariadb_bind_out(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    struct store_mariadb_out *o);
/*
 * Fetch the next row through o into out (blob malloc'd). 0 a row, 1 no
 * more rows, -1 with c->err_* set (err_no 0 for a row with an impossible
 * table name or id).
 */
int mariadb_bind_fetch_row(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    struct store_mariadb_out *o, struct store_mariadb_row *out);

/* ----------------------------------------------- mariadb_scan.c */

/* backend.h scan, count and purge. */
int mariadb_scan_rows(void *handle, const char *table,
    const struct store_scan *q, store_backend_row_cb cb, void *arg,
    struct error *err);
int mariadb_scan_count(void *handle, const char *table,
    struct store_kv_count *out, size_t max, size_t *n, struct error *err);
int mariadb_scan_purge(void *handle, const char *table, int64_t exp_before,
    int64_t ord_before, size_t limit, size_t *n, struct error *err);

/* ----------------------------------------------- mariadb_lock.c */

/* The GET_LOCK name of a store lock name (qualified by database). */
void mariadb_lock_name(struct store_mariadb *m, const char *name,
    char *out, size_t cap);
/*
 * GET_LOCK on c, waiting up to wait_ms in steps shorter than the
 * statement time limit. 0 taken, 1 busy, -1 with c->err_* set.
 */
int mariadb_lock_get(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *lname, int wait_ms);
/* backend.h lock and unlock. */
int mariadb_lock_acquire(void *handle, const char *name, int timeout_ms,
    struct error *err);
void mariadb_lock_release(void *handle, const char *name);

#endif
