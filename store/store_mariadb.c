/*
 * store_mariadb.c: the MariaDB (and Galera) backend of the store
 * (backend.h), through MariaDB Connector/C.
 *
 * The schema is SQLite's, in InnoDB tables that each have a primary key
 * (Galera replicates nothing else): `rows` (tbl, id BINARY(32), kv, ord,
 * exp, rev, `blob` LONGBLOB) with the indexes backend.h lists, `meta`
 * (schema_version, schema_changes) and `gen`. Forward migrations run at
 * open under GET_LOCK, so instances starting together migrate once; every
 * step is also idempotent (IF NOT EXISTS), because DDL commits on its
 * own and a crash may interrupt a migration between steps. A database
 * whose schema is newer than this build is refused before anything is
 * written.
 *
 * A handle is a pool of up to STORE_MARIADB_POOL connections, each with
 * its own prepared statements (prepared on first use). An operation takes
 * an idle connection (connecting when needed), runs one autocommit
 * statement, and gives the connection back; a committed InnoDB statement
 * is durable when innodb_flush_log_at_trx_commit = 1 (open warns
 * otherwise). A named lock pins the connection that took it until
 * unlock, since GET_LOCK belongs to a session.
 *
 * Failures and time: every operation has a deadline of dsn->timeout_ms
 * for taking a connection and connecting; the server aborts a statement
 * at max_statement_time and lock waits at innodb_lock_wait_timeout (80%
 * of the timeout); Connector/C's connect, read and write timeouts (whole
 * seconds, rounded up) catch a server or a network that hangs. A
 * lost or refused connection, a timeout, a Galera node that is not
 * ready (WSREP not prepared), a read-only server, a full server: -2
 * (STORE_UNAVAILABLE), and the connection is dropped, so the next
 * operation reconnects and service resumes by itself. A pooled
 * connection whose server closed it (restart) is noticed before use,
 * without a round trip, and replaced. A statement is sent again on a
 * fresh connection only when it cannot have run twice to a different
 * effect: when the first one was never sent or never run (a Galera node
 * that is not ready refuses it), or when it is a read or an
 * unconditional write. A deadlock, which is also how Galera reports a
 * certification conflict, rolled the statement back: it is retried up to
 * STORE_MARIADB_RETRIES times within the deadline.
 *
 * Galera: sessions set wsrep_sync_wait so a read or a compare-and-swap
 * on one node sees what another node acknowledged. GET_LOCK is local to
 * a node (Galera does not replicate it): instances on different nodes do
 * not exclude each other, so callers of lock() must stay correct without
 * it (the store inserts with STORE_REV_ABSENT and re-seals by CAS).
 *
 * The password is copied into sodium-guarded memory for reconnects and
 * wiped at close; error messages name the redacted DSN only.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <sodium.h>

#include "../lib/log.h"
#include "backend.h"

#define STORE_MARIADB_SCHEMA	2
#define STORE_MARIADB_POOL	16	/* connections per handle */
#define STORE_MARIADB_LOCKS	4	/* named locks held at once */
#define STORE_MARIADB_RETRIES	16	/* attempts after a deadlock */
#define STORE_MARIADB_SCANS	128	/* scan statement shapes (7 flags) */
#define STORE_MARIADB_SCHEMA_WAIT_MS	30000	/* for another migration */
#define STORE_MARIADB_DDL_TIMEOUT_S	3600	/* one migration step */
#define STORE_MARIADB_LOCK_NAME	64	/* GET_LOCK's limit */

/* The statements every connection prepares on first use. */
enum store_mariadb_sql {
	SQL_PUT_ANY,
	SQL_PUT_NEW,
	SQL_PUT_REV,
	SQL_GET,
	SQL_DEL_ANY,
	SQL_DEL_REV,
	SQL_COUNT_ALL,
	SQL_COUNT_TBL,
	SQL_PURGE,
	SQL_GEN_BUMP,
	SQL_GEN_GET,
	SQL_GET_LOCK,
	SQL_RELEASE_LOCK,
	SQL_N
};

#define STORE_MARIADB_COLS "tbl, id, kv, ord, exp, rev, `blob`"

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
	[SQL_DEL_ANY] = "DELETE FROM `rows` WHERE tbl = ? AND id = ?",
	[SQL_DEL_REV] = "DELETE FROM `rows` WHERE tbl = ? AND id = ? AND "
	    "rev = ?",
	[SQL_COUNT_ALL] = "SELECT kv, COUNT(*) FROM `rows` GROUP BY kv "
	    "ORDER BY kv",
	[SQL_COUNT_TBL] = "SELECT kv, COUNT(*) FROM `rows` WHERE tbl = ? "
	    "GROUP BY kv ORDER BY kv",
	[SQL_PURGE] = "DELETE FROM `rows` WHERE tbl = ? AND ((exp > 0 AND "
	    "exp <= ?) OR ord < ?) LIMIT ?",
	[SQL_GEN_BUMP] = "INSERT INTO gen (tbl, n) VALUES (?, 1) "
	    "ON DUPLICATE KEY UPDATE n = n + 1",
	[SQL_GEN_GET] = "SELECT n FROM gen WHERE tbl = ?",
	[SQL_GET_LOCK] = "SELECT GET_LOCK(?, ?)",
	[SQL_RELEASE_LOCK] = "SELECT RELEASE_LOCK(?)",
};

/*
 * Schema creation (the current version) and forward migrations:
 * migrations[i] brings version i + 1 to i + 2. Version 1 is the layout
 * the SQLite backend had before revisions, rows(tbl, id, blob): no
 * release wrote it to MariaDB, but a v1 database copied over by hand
 * migrates like SQLite's. Every statement may run twice.
 */
static const char *const store_mariadb_create[] = {
	"CREATE TABLE IF NOT EXISTS `rows` ("
	" tbl VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" id BINARY(32) NOT NULL,"
	" kv INT UNSIGNED NOT NULL DEFAULT 0,"
	" ord BIGINT NOT NULL DEFAULT 0,"
	" exp BIGINT NOT NULL DEFAULT 0,"
	" rev BIGINT UNSIGNED NOT NULL DEFAULT 1,"
	" `blob` LONGBLOB NOT NULL,"
	" PRIMARY KEY (tbl, id),"
	" KEY rows_ord (tbl, ord, id),"
	" KEY rows_kv (kv),"
	" KEY rows_exp (tbl, exp)"
	") ENGINE=InnoDB",
	"CREATE TABLE IF NOT EXISTS gen ("
	" tbl VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" n BIGINT UNSIGNED NOT NULL,"
	" PRIMARY KEY (tbl)"
	") ENGINE=InnoDB",
	NULL
};

static const char *const store_mariadb_migrate_1_2[] = {
	"ALTER TABLE `rows`"
	" ADD COLUMN IF NOT EXISTS kv INT UNSIGNED NOT NULL DEFAULT 0,"
	" ADD COLUMN IF NOT EXISTS ord BIGINT NOT NULL DEFAULT 0,"
	" ADD COLUMN IF NOT EXISTS exp BIGINT NOT NULL DEFAULT 0,"
	" ADD COLUMN IF NOT EXISTS rev BIGINT UNSIGNED NOT NULL DEFAULT 1,"
	" ADD INDEX IF NOT EXISTS rows_ord (tbl, ord, id),"
	" ADD INDEX IF NOT EXISTS rows_kv (kv),"
	" ADD INDEX IF NOT EXISTS rows_exp (tbl, exp)",
	/* Every v1 row was sealed under data-key version 1. */
	"UPDATE `rows` SET kv = 1 WHERE kv = 0",
	"CREATE TABLE IF NOT EXISTS gen ("
	" tbl VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" n BIGINT UNSIGNED NOT NULL,"
	" PRIMARY KEY (tbl)"
	") ENGINE=InnoDB",
	NULL
};

static const char *const *const store_mariadb_migrations[] = {
	store_mariadb_migrate_1_2,
};

/* One pooled connection; db NULL when not connected. */
struct store_mariadb_conn {
	MYSQL *db;
	MYSQL_STMT *stmt[SQL_N];
	MYSQL_STMT *scan[STORE_MARIADB_SCANS];
	int busy;			/* taken by an operation or a lock */
	unsigned int err_no;		/* the last statement's failure */
	char err_msg[256];
};

struct store_mariadb_lock {
	char name[STORE_TABLE_MAX + 1];
	struct store_mariadb_conn *conn;	/* NULL: the slot is free */
	int reserved;			/* taken while its GET_LOCK waits */
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

/* A copied row (scan), so callbacks run with no connection held. */
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

static void store_mariadb_close(void *handle);

static pthread_once_t store_mariadb_once = PTHREAD_ONCE_INIT;
static int store_mariadb_lib_ok;

/* mysql_library_init is not thread-safe: once per process. */
static void
store_mariadb_lib_init(void)
{
	store_mariadb_lib_ok = mysql_library_init(0, NULL, NULL) == 0;
}

static void
store_mariadb_deadline(int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds until the deadline; 0 when it has passed. */
static int
store_mariadb_left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (ms > INT32_MAX ? INT32_MAX : (int)ms) : 0;
}

static enum store_mariadb_kind
store_mariadb_kind(unsigned int code)
{
	switch (code) {
	case CR_SERVER_GONE_ERROR:	/* the request could not be sent */
	case ER_UNKNOWN_COM_ERROR:	/* WSREP has not yet prepared node */
		return KIND_NOTSENT;
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_UNKNOWN_HOST:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case ER_SERVER_SHUTDOWN:
	case ER_NORMAL_SHUTDOWN:
	case ER_CONNECTION_KILLED:
		return KIND_GONE;
	case ER_LOCK_DEADLOCK:
		return KIND_RETRY;
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_STATEMENT_TIMEOUT:
	case ER_QUERY_INTERRUPTED:
	case ER_LOCK_ABORTED:
	case ER_OPTION_PREVENTS_STATEMENT:	/* --read-only */
	case ER_READ_ONLY_MODE:
	case ER_CON_COUNT_ERROR:
	case ER_TOO_MANY_USER_CONNECTIONS:
	/* A commit the server could not complete: a Galera node that left
	 * the primary component ("provider status: Not connected to Primary
	 * Component"), a full disk. Nothing was written. */
	case ER_ERROR_DURING_COMMIT:
		return KIND_BUSY;
	default:
		return KIND_FAIL;
	}
}

/* Close a connection and its statements (the server drops its locks). */
static void
store_mariadb_disconnect(struct store_mariadb_conn *c)
{
	size_t i;

	for (i = 0; i < SQL_N; i++) {
		if (c->stmt[i] != NULL)
			mysql_stmt_close(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	for (i = 0; i < STORE_MARIADB_SCANS; i++) {
		if (c->scan[i] != NULL)
			mysql_stmt_close(c->scan[i]);
		c->scan[i] = NULL;
	}
	if (c->db != NULL)
		mysql_close(c->db);
	c->db = NULL;
}

/*
 * Whether a pooled, idle connection is still open: an idle session has
 * nothing to read, so a readable socket means the server closed it (a
 * restart, wait_timeout, a KILL) and sending on it would fail.
 */
static int
store_mariadb_alive(struct store_mariadb_conn *c)
{
	struct pollfd p;
	my_socket fd = mysql_get_socket(c->db);

	if (fd == MARIADB_INVALID_SOCKET)
		return 0;
	p.fd = fd;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) == 0;
}

static void
store_mariadb_fail_db(struct store_mariadb_conn *c, MYSQL *db)
{
	c->err_no = mysql_errno(db);
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", mysql_error(db));
}

static void
store_mariadb_fail_stmt(struct store_mariadb_conn *c, MYSQL_STMT *stmt)
{
	c->err_no = mysql_stmt_errno(stmt);
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", mysql_stmt_error(stmt));
}

/*
 * Connect c (not connected) with deadline bounding the connect, and set
 * up its session. ddl: a connection for migrations, without statement
 * time limits. Returns 0, -1 (credentials, unknown database...) or -2.
 */
static int
store_mariadb_connect(struct store_mariadb *m, struct store_mariadb_conn *c,
    const struct timespec *deadline, int ddl, struct error *err)
{
	unsigned int ct, rt, zero = 0, proto = MYSQL_PROTOCOL_SOCKET;
	my_bool off = 0, on = 1;
	unsigned int code;
	MYSQL *db;
	int left = store_mariadb_left_ms(deadline);

	ct = (unsigned)(left + 999) / 1000;
	if (ct == 0)
		ct = 1;
	rt = ddl ? STORE_MARIADB_DDL_TIMEOUT_S : m->io_timeout_s;
	if ((db = mysql_init(NULL)) == NULL)
		return error_set(err, "mariadb: %s: connecting: out of memory",
		    m->redacted);
	mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &rt);
	mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &rt);
	/* Reconnecting is ours to do: the library's would silently lose
	 * the session settings, the prepared statements and named locks. */
	mysql_options(db, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &zero);
	mysql_options(db, MYSQL_REPORT_DATA_TRUNCATION, &on);
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (m->socket != NULL)
		mysql_options(db, MYSQL_OPT_PROTOCOL, &proto);
	if (mysql_real_connect(db, m->socket != NULL ? "localhost" : m->host,
	    m->user, m->password, m->database, m->port, m->socket,
	    CLIENT_FOUND_ROWS) == NULL) {
		code = mysql_errno(db);
		error_set(err, "mariadb: %s: connecting: %s (%u)", m->redacted,
		    mysql_error(db), code);
		mysql_close(db);
		/* Wrong credentials or database: configuration, not weather. */
		return code == ER_ACCESS_DENIED_ERROR ||
		    code == ER_DBACCESS_DENIED_ERROR || code == ER_BAD_DB_ERROR ?
		    STORE_ERROR : STORE_UNAVAILABLE;
	}
	if (mysql_query(db, m->session_sql) != 0 || (ddl &&
	    mysql_query(db, "SET SESSION max_statement_time = 0") != 0)) {
		code = mysql_errno(db);
		error_set(err, "mariadb: %s: setting up the session: %s (%u)",
		    m->redacted, mysql_error(db), code);
		mysql_close(db);
		return store_mariadb_kind(code) == KIND_FAIL ? STORE_ERROR :
		    STORE_UNAVAILABLE;
	}
	/* Galera: reads, updates, deletes and inserts wait until this node
	 * has applied what the cluster committed before them. A server
	 * built without wsrep does not know the variable. */
	if (mysql_query(db, "SET SESSION wsrep_sync_wait = 7") != 0 &&
	    mysql_errno(db) != ER_UNKNOWN_SYSTEM_VARIABLE) {
		code = mysql_errno(db);
		error_set(err, "mariadb: %s: setting wsrep_sync_wait: %s (%u)",
		    m->redacted, mysql_error(db), code);
		mysql_close(db);
		return STORE_UNAVAILABLE;
	}
	c->db = db;
	return 0;
}

/* Give a connection back to the pool. */
static void
store_mariadb_checkin(struct store_mariadb *m, struct store_mariadb_conn *c)
{
	pthread_mutex_lock(&m->mu);
	c->busy = 0;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/*
 * Take a connection, preferring one already connected; wait for one
 * until the deadline. The connection returned is connected and open.
 */
static int
store_mariadb_checkout(struct store_mariadb *m, const struct timespec *deadline,
    struct store_mariadb_conn **out, struct error *err)
{
	struct store_mariadb_conn *c = NULL;
	size_t i;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&m->mu);
	for (;;) {
		for (i = 0; i < STORE_MARIADB_POOL; i++) {
			if (m->conns[i].busy)
				continue;
			if (c == NULL || (c->db == NULL &&
			    m->conns[i].db != NULL))
				c = &m->conns[i];
		}
		if (c != NULL)
			break;
		if (pthread_cond_timedwait(&m->cv, &m->mu, deadline) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&m->mu);
			error_set(err, "mariadb: %s: all %d connections are "
			    "busy", m->redacted, STORE_MARIADB_POOL);
			return STORE_UNAVAILABLE;
		}
	}
	c->busy = 1;
	pthread_mutex_unlock(&m->mu);
	if (c->db != NULL && !store_mariadb_alive(c))
		store_mariadb_disconnect(c);
	if (c->db == NULL &&
	    (rc = store_mariadb_connect(m, c, deadline, 0, err)) != 0) {
		store_mariadb_checkin(m, c);
		return rc;
	}
	*out = c;
	return 0;
}

/* The prepared statement for sql on c (prepared on first use); NULL with
 * c->err_* set on failure. */
static MYSQL_STMT *
store_mariadb_prepare(struct store_mariadb_conn *c, MYSQL_STMT **slot,
    const char *sql)
{
	MYSQL_STMT *stmt;

	if (*slot != NULL)
		return *slot;
	if ((stmt = mysql_stmt_init(c->db)) == NULL) {
		store_mariadb_fail_db(c, c->db);
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		store_mariadb_fail_stmt(c, stmt);
		mysql_stmt_close(stmt);
		return NULL;
	}
	*slot = stmt;
	return stmt;
}

/* Bind, execute; 0 or -1 with c->err_* set. */
static int
store_mariadb_exec(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params)
{
	if ((params != NULL && mysql_stmt_bind_param(stmt, params) != 0) ||
	    mysql_stmt_execute(stmt) != 0) {
		store_mariadb_fail_stmt(c, stmt);
		return -1;
	}
	return 0;
}

/* Execute a query and read its whole result, so that the connection is
 * free again whatever the caller does with the rows; the caller ends
 * with mysql_stmt_free_result. */
static int
store_mariadb_select(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params)
{
	if (store_mariadb_exec(c, stmt, params) == -1)
		return -1;
	if (mysql_stmt_store_result(stmt) != 0) {
		store_mariadb_fail_stmt(c, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	return 0;
}

static void
store_mariadb_bind_str(MYSQL_BIND *b, const char *s)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)(uintptr_t)s;
	b->buffer_length = strlen(s);
}

static void
store_mariadb_bind_blob(MYSQL_BIND *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)(uintptr_t)(p != NULL ? p : "");
	b->buffer_length = len;
}

static void
store_mariadb_bind_i64(MYSQL_BIND *b, const int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)(uintptr_t)v;
}

static void
store_mariadb_bind_u64(MYSQL_BIND *b, const uint64_t *v)
{
	store_mariadb_bind_i64(b, (const int64_t *)(const void *)v);
	b->is_unsigned = 1;
}

static void
store_mariadb_bind_u32(MYSQL_BIND *b, const uint32_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)(uintptr_t)v;
	b->is_unsigned = 1;
}

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

/*
 * Run a call on a pooled connection with the retry rules of the file
 * comment, within timeout_ms.
 */
static int
store_mariadb_run(struct store_mariadb *m, const struct store_mariadb_call *k,
    struct error *err)
{
	struct store_mariadb_conn *c;
	struct timespec deadline, pause;
	enum store_mariadb_kind kind;
	int rc, attempt = 0, resent = 0;

	store_mariadb_deadline(m->timeout_ms, &deadline);
	for (;;) {
		if ((rc = store_mariadb_checkout(m, &deadline, &c, err)) != 0)
			return rc;
		c->err_no = 0;
		c->err_msg[0] = '\0';
		rc = k->fn(m, c, k->arg);
		if (rc >= 0) {
			store_mariadb_checkin(m, c);
			return rc;
		}
		kind = store_mariadb_kind(c->err_no);
		error_set(err, "mariadb: %s: %s table '%s': %s (%u)",
		    m->redacted, k->what,
		    k->table != NULL ? k->table : "*", c->err_msg, c->err_no);
		/* A client-side failure leaves the session in doubt. */
		if (kind == KIND_NOTSENT || kind == KIND_GONE ||
		    (kind == KIND_FAIL && c->err_no >= 2000))
			store_mariadb_disconnect(c);
		store_mariadb_checkin(m, c);
		switch (kind) {
		case KIND_RETRY:
			if (++attempt >= STORE_MARIADB_RETRIES ||
			    store_mariadb_left_ms(&deadline) == 0) {
				error_prefix(err, "%d attempts (deadlock or "
				    "Galera certification conflict)", attempt);
				return STORE_UNAVAILABLE;
			}
			/* Random, growing pauses keep two nodes that update
			 * one hot row from colliding again and again. */
			pause.tv_sec = 0;
			pause.tv_nsec = (long)(1 + randombytes_uniform(1u <<
			    (attempt < 7 ? attempt : 7))) * 1000000L;
			nanosleep(&pause, NULL);
			continue;
		case KIND_NOTSENT:
		case KIND_GONE:
			if (!resent && (kind == KIND_NOTSENT || k->resend) &&
			    store_mariadb_left_ms(&deadline) > 0) {
				resent = 1;
				continue;
			}
			return STORE_UNAVAILABLE;
		case KIND_BUSY:
			return STORE_UNAVAILABLE;
		case KIND_FAIL:
			break;
		}
		return STORE_ERROR;
	}
}

/* ------------------------------------------------------------ rows */

/* Bind the result columns of a STORE_MARIADB_COLS query. */
static int
store_mariadb_bind_out(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
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
		store_mariadb_fail_stmt(c, stmt);
		return -1;
	}
	return 0;
}

/*
 * Fetch the next row into out (blob malloc'd). 0 a row, 1 no more rows,
 * -1 with c->err_* set. A row with an impossible table name or id is a
 * failure too (err_no 0: reported as an error, not as unavailable).
 */
static int
store_mariadb_fetch_row(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
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
		store_mariadb_fail_stmt(c, stmt);
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
			store_mariadb_fail_stmt(c, stmt);
			free(out->blob);
			out->blob = NULL;
			return -1;
		}
	}
	out->row.blob = out->blob;
	return 0;
}

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
	if ((stmt = store_mariadb_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	if (q == SQL_PUT_REV) {
		store_mariadb_bind_u32(&b[0], &r->kv);
		store_mariadb_bind_i64(&b[1], &r->ord);
		store_mariadb_bind_i64(&b[2], &r->exp);
		store_mariadb_bind_blob(&b[3], r->blob, r->len);
		store_mariadb_bind_str(&b[4], p->table);
		store_mariadb_bind_blob(&b[5], r->id, STORE_ID_LEN);
		store_mariadb_bind_u64(&b[6], &p->expect);
	} else {
		store_mariadb_bind_str(&b[0], p->table);
		store_mariadb_bind_blob(&b[1], r->id, STORE_ID_LEN);
		store_mariadb_bind_u32(&b[2], &r->kv);
		store_mariadb_bind_i64(&b[3], &r->ord);
		store_mariadb_bind_i64(&b[4], &r->exp);
		store_mariadb_bind_blob(&b[5], r->blob, r->len);
	}
	if (store_mariadb_exec(c, stmt, b) == -1)
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

static int
store_mariadb_put(void *handle, const char *table, const struct store_row *row,
    uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_put p = { table, row, expect_rev, 0 };
	struct store_mariadb_call k = { "put into", table,
	    expect_rev == STORE_REV_ANY, store_mariadb_put_fn, &p };
	int rc;

	if (row->len > UINT32_MAX)
		return error_set(err, "mariadb: %s: put into table '%s': row "
		    "of %zu bytes is too large", m->redacted, table, row->len);
	rc = store_mariadb_run(m, &k, err);
	if (rc == STORE_OK && rev != NULL)
		*rev = p.rev;
	return rc;
}

struct store_mariadb_many {
	const char *table;
	const struct store_row *rows;
	size_t n;
};

/* All the rows in one transaction: one commit (one redo-log flush) for
 * the batch. A failure rolls back what this call wrote; a lost connection
 * took its transaction with it. */
static int
store_mariadb_many_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_many *g = arg;
	struct store_mariadb_put p = { g->table, NULL, STORE_REV_ANY, 0 };
	size_t i;

	if (mysql_query(c->db, "START TRANSACTION") != 0) {
		store_mariadb_fail_db(c, c->db);
		return -1;
	}
	for (i = 0; i < g->n; i++) {
		p.row = &g->rows[i];
		if (store_mariadb_put_fn(m, c, &p) != STORE_OK)
			goto fail;
	}
	if (mysql_commit(c->db) != 0) {
		store_mariadb_fail_db(c, c->db);
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
	return store_mariadb_run(m, &k, err);
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
	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_GET],
	    store_mariadb_sql[SQL_GET])) == NULL)
		return -1;
	store_mariadb_bind_str(&b[0], g->table);
	store_mariadb_bind_blob(&b[1], g->id, STORE_ID_LEN);
	if (store_mariadb_select(c, stmt, b) == -1)
		return -1;
	if (store_mariadb_bind_out(c, stmt, &o) == -1) {
		mysql_stmt_free_result(stmt);
		return -1;
	}
	rc = store_mariadb_fetch_row(c, stmt, &o, &g->out);
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
	rc = store_mariadb_run(handle, &k, err);
	if (rc == STORE_OK)
		*row = g.out.row;
	return rc;
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
	if ((stmt = store_mariadb_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	store_mariadb_bind_str(&b[0], d->table);
	store_mariadb_bind_blob(&b[1], d->id, STORE_ID_LEN);
	store_mariadb_bind_u64(&b[2], &d->expect);
	if (store_mariadb_exec(c, stmt, b) == -1)
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

	return store_mariadb_run(handle, &k, err);
}

/* The scan statement's shape: one bit per optional clause. */
static unsigned
store_mariadb_scan_shape(const char *table, const struct store_scan *q)
{
	return (table != NULL) | (q->desc ? 2 : 0) | (q->have_after ? 4 : 0) |
	    (q->ord_range ? 8 : 0) | (q->kv_below != 0 ? 16 : 0) |
	    (q->live_only ? 32 : 0) | (q->limit > 0 ? 64 : 0);
}

/* The SQL of a scan shape; parameters are bound by store_mariadb_scan_fn
 * in the order the clauses appear. The cursor comparison is spelt out
 * (no row constructors) so that the (tbl, ord, id) index serves it. */
static char *
store_mariadb_scan_sql(unsigned shape)
{
	const char *cmp = shape & 2 ? "<" : ">", *dir = shape & 2 ? " DESC" :
	    "";
	struct buf b = { 0 };

	buf_addstr(&b, "SELECT " STORE_MARIADB_COLS " FROM `rows` WHERE 1");
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

struct store_mariadb_scan {
	const char *table;
	const struct store_scan *q;
	struct store_mariadb_row *rows;
	size_t n;
	size_t cap;
};

static void
store_mariadb_rows_free(struct store_mariadb_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].blob);
	free(rows);
}

static int
store_mariadb_scan_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_scan *s = arg;
	const struct store_scan *q = s->q;
	unsigned shape = store_mariadb_scan_shape(s->table, q);
	struct store_mariadb_out o;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[12];
	uint64_t limit = q->limit;
	uint32_t kv_below = q->kv_below;
	char *sql;
	int p = 0, rc;

	(void)m;
	/* A retry starts from scratch. */
	store_mariadb_rows_free(s->rows, s->n);
	s->rows = NULL;
	s->n = s->cap = 0;
	sql = store_mariadb_scan_sql(shape);
	stmt = store_mariadb_prepare(c, &c->scan[shape], sql);
	free(sql);
	if (stmt == NULL)
		return -1;
	if (shape & 1)
		store_mariadb_bind_str(&b[p++], s->table);
	if (shape & 8) {
		store_mariadb_bind_i64(&b[p++], &q->ord_min);
		store_mariadb_bind_i64(&b[p++], &q->ord_max);
	}
	if (shape & 16)
		store_mariadb_bind_u32(&b[p++], &kv_below);
	if (shape & 32)
		store_mariadb_bind_i64(&b[p++], &q->now_s);
	if ((shape & 5) == 4) {
		store_mariadb_bind_str(&b[p++], q->after_table);
		store_mariadb_bind_str(&b[p++], q->after_table);
	}
	if (shape & 4) {
		store_mariadb_bind_i64(&b[p++], &q->after_ord);
		store_mariadb_bind_i64(&b[p++], &q->after_ord);
		store_mariadb_bind_blob(&b[p++], q->after_id, STORE_ID_LEN);
	}
	if (shape & 64)
		store_mariadb_bind_u64(&b[p++], &limit);
	if (store_mariadb_select(c, stmt, p > 0 ? b : NULL) == -1)
		return -1;
	if (store_mariadb_bind_out(c, stmt, &o) == -1) {
		mysql_stmt_free_result(stmt);
		return -1;
	}
	for (;;) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			s->rows = xrealloc(s->rows, s->cap * sizeof(*s->rows));
		}
		rc = store_mariadb_fetch_row(c, stmt, &o, &s->rows[s->n]);
		if (rc != 0)
			break;
		s->n++;
	}
	mysql_stmt_free_result(stmt);
	return rc == 1 ? STORE_OK : -1;
}

/* Copy the selected rows, give the connection back, then run the
 * callbacks, so a callback may use the store. */
static int
store_mariadb_scan(void *handle, const char *table, const struct store_scan *q,
    store_backend_row_cb cb, void *arg, struct error *err)
{
	struct store_mariadb_scan s = { table, q, NULL, 0, 0 };
	struct store_mariadb_call k = { "scan of", table, 1,
	    store_mariadb_scan_fn, &s };
	size_t i;
	int rc;

	rc = store_mariadb_run(handle, &k, err);
	for (i = 0; rc == STORE_OK && i < s.n; i++) {
		if (cb(s.rows[i].table, &s.rows[i].row, arg) != 0)
			break;
	}
	store_mariadb_rows_free(s.rows, s.n);
	return rc;
}

struct store_mariadb_count {
	const char *table;
	struct store_kv_count *out;
	size_t max;
	size_t n;
};

static int
store_mariadb_count_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_count *n = arg;
	enum store_mariadb_sql q = n->table != NULL ? SQL_COUNT_TBL :
	    SQL_COUNT_ALL;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1], r[2];
	uint32_t kv = 0;
	uint64_t rows = 0;
	int rc;

	(void)m;
	n->n = 0;
	if ((stmt = store_mariadb_prepare(c, &c->stmt[q],
	    store_mariadb_sql[q])) == NULL)
		return -1;
	if (n->table != NULL)
		store_mariadb_bind_str(&b[0], n->table);
	if (store_mariadb_select(c, stmt, n->table != NULL ? b : NULL) == -1)
		return -1;
	store_mariadb_bind_u32(&r[0], &kv);
	store_mariadb_bind_u64(&r[1], &rows);
	if (mysql_stmt_bind_result(stmt, r) != 0) {
		store_mariadb_fail_stmt(c, stmt);
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
		store_mariadb_fail_stmt(c, stmt);
	mysql_stmt_free_result(stmt);
	return rc == MYSQL_NO_DATA ? STORE_OK : -1;
}

static int
store_mariadb_count(void *handle, const char *table,
    struct store_kv_count *out, size_t max, size_t *n, struct error *err)
{
	struct store_mariadb_count c = { table, out, max, 0 };
	struct store_mariadb_call k = { "count of", table, 1,
	    store_mariadb_count_fn, &c };
	int rc;

	rc = store_mariadb_run(handle, &k, err);
	*n = rc == STORE_OK ? c.n : 0;
	return rc;
}

struct store_mariadb_purge {
	const char *table;
	int64_t exp_before;
	int64_t ord_before;
	uint64_t limit;
	size_t n;
};

static int
store_mariadb_purge_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_purge *p = arg;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[4];

	(void)m;
	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_PURGE],
	    store_mariadb_sql[SQL_PURGE])) == NULL)
		return -1;
	store_mariadb_bind_str(&b[0], p->table);
	store_mariadb_bind_i64(&b[1], &p->exp_before);
	store_mariadb_bind_i64(&b[2], &p->ord_before);
	store_mariadb_bind_u64(&b[3], &p->limit);
	if (store_mariadb_exec(c, stmt, b) == -1)
		return -1;
	p->n = (size_t)mysql_stmt_affected_rows(stmt);
	return STORE_OK;
}

static int
store_mariadb_purge(void *handle, const char *table, int64_t exp_before,
    int64_t ord_before, size_t limit, size_t *n, struct error *err)
{
	struct store_mariadb_purge p = { table, exp_before, ord_before, limit,
	    0 };
	/* Sent twice, a purge deletes what is still due: the same rows. */
	struct store_mariadb_call k = { "purge of", table, 1,
	    store_mariadb_purge_fn, &p };
	int rc;

	rc = store_mariadb_run(handle, &k, err);
	*n = rc == STORE_OK ? p.n : 0;
	return rc;
}

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
	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_GEN_BUMP],
	    store_mariadb_sql[SQL_GEN_BUMP])) == NULL)
		return -1;
	store_mariadb_bind_str(&b[0], g->table);
	return store_mariadb_exec(c, stmt, b) == -1 ? -1 : STORE_OK;
}

static int
store_mariadb_gen_bump(void *handle, const char *table, struct error *err)
{
	struct store_mariadb_gen g = { table, 0 };
	/* An extra bump only makes readers look once more. */
	struct store_mariadb_call k = { "generation bump of", table, 1,
	    store_mariadb_gen_bump_fn, &g };

	return store_mariadb_run(handle, &k, err);
}

static int
store_mariadb_gen_get_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct store_mariadb_gen *g = arg;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1], r[1];
	int rc;

	(void)m;
	g->n = 0;
	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_GEN_GET],
	    store_mariadb_sql[SQL_GEN_GET])) == NULL)
		return -1;
	store_mariadb_bind_str(&b[0], g->table);
	if (store_mariadb_select(c, stmt, b) == -1)
		return -1;
	store_mariadb_bind_u64(&r[0], &g->n);
	if (mysql_stmt_bind_result(stmt, r) != 0) {
		store_mariadb_fail_stmt(c, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	rc = mysql_stmt_fetch(stmt);
	if (rc == 1)
		store_mariadb_fail_stmt(c, stmt);
	mysql_stmt_free_result(stmt);
	if (rc == MYSQL_NO_DATA)
		g->n = 0;
	return rc == 0 || rc == MYSQL_NO_DATA ? STORE_OK : -1;
}

static int
store_mariadb_gen_get(void *handle, const char *table, uint64_t *n,
    struct error *err)
{
	struct store_mariadb_gen g = { table, 0 };
	struct store_mariadb_call k = { "generation of", table, 1,
	    store_mariadb_gen_get_fn, &g };
	int rc;

	rc = store_mariadb_run(handle, &k, err);
	*n = rc == STORE_OK ? g.n : 0;
	return rc;
}

/* ------------------------------------------------------------ locks */

/* GET_LOCK names are global to the server: qualify ours by database. */
static void
store_mariadb_lock_name(struct store_mariadb *m, const char *name, char *out,
    size_t cap)
{
	snprintf(out, cap, "%s%s", m->lock_prefix, name);
}

/*
 * GET_LOCK on c, waiting up to wait_ms in steps shorter than the
 * statement time limit. 0 taken, 1 busy, -1 with c->err_* set.
 */
static int
store_mariadb_get_lock(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *lname, int wait_ms)
{
	struct timespec deadline;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[2], r[1];
	double secs;
	int64_t got;
	my_bool null;
	int left, step, rc;

	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_GET_LOCK],
	    store_mariadb_sql[SQL_GET_LOCK])) == NULL)
		return -1;
	store_mariadb_deadline(wait_ms, &deadline);
	for (;;) {
		left = store_mariadb_left_ms(&deadline);
		step = m->timeout_ms / 2 > 0 ? m->timeout_ms / 2 : 1;
		secs = (left < step ? left : step) / 1000.0;
		store_mariadb_bind_str(&b[0], lname);
		memset(&b[1], 0, sizeof(b[1]));
		b[1].buffer_type = MYSQL_TYPE_DOUBLE;
		b[1].buffer = &secs;
		if (store_mariadb_select(c, stmt, b) == -1)
			return -1;
		memset(r, 0, sizeof(r));
		got = 0;
		null = 0;
		r[0].buffer_type = MYSQL_TYPE_LONGLONG;
		r[0].buffer = &got;
		r[0].is_null = &null;
		if (mysql_stmt_bind_result(stmt, r) != 0 ||
		    (rc = mysql_stmt_fetch(stmt)) == 1) {
			store_mariadb_fail_stmt(c, stmt);
			mysql_stmt_free_result(stmt);
			return -1;
		}
		mysql_stmt_free_result(stmt);
		if (rc == 0 && !null && got == 1)
			return 0;
		if (rc != 0 || null) {
			c->err_no = 0;
			snprintf(c->err_msg, sizeof(c->err_msg),
			    "GET_LOCK(%s) failed", lname);
			return -1;
		}
		if (store_mariadb_left_ms(&deadline) == 0)
			return 1;
	}
}

static int
store_mariadb_lock(void *handle, const char *name, int timeout_ms,
    struct error *err)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_lock *slot = NULL;
	struct store_mariadb_conn *c;
	struct timespec deadline;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	size_t i;
	int rc;

	if (strlen(name) == 0 || strlen(name) > STORE_TABLE_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
		return error_set(err, "mariadb: %s: invalid lock name",
		    m->redacted);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < STORE_MARIADB_LOCKS && slot == NULL; i++)
		if (m->locks[i].conn == NULL && !m->locks[i].reserved)
			slot = &m->locks[i];
	if (slot != NULL)
		slot->reserved = 1;
	pthread_mutex_unlock(&m->mu);
	if (slot == NULL)
		return error_set(err, "mariadb: %s: lock '%s': too many named "
		    "locks held", m->redacted, name);
	store_mariadb_lock_name(m, name, lname, sizeof(lname));
	store_mariadb_deadline(m->timeout_ms, &deadline);
	if ((rc = store_mariadb_checkout(m, &deadline, &c, err)) != 0)
		goto done;
	rc = store_mariadb_get_lock(m, c, lname, timeout_ms > 0 ?
	    timeout_ms : 0);
	if (rc == 0) {
		pthread_mutex_lock(&m->mu);
		snprintf(slot->name, sizeof(slot->name), "%s", name);
		slot->conn = c;		/* pinned until unlock */
		slot->reserved = 0;
		pthread_mutex_unlock(&m->mu);
		return STORE_OK;
	}
	if (rc == 1) {
		store_mariadb_checkin(m, c);
		rc = STORE_ABSENT;
		goto done;
	}
	error_set(err, "mariadb: %s: lock '%s': %s (%u)", m->redacted, name,
	    c->err_msg, c->err_no);
	/* GET_LOCK answers NULL (err_no 0) when it is interrupted. */
	rc = store_mariadb_kind(c->err_no) == KIND_FAIL && c->err_no != 0 &&
	    c->err_no < 2000 ? STORE_ERROR : STORE_UNAVAILABLE;
	if (c->err_no >= 2000 || store_mariadb_kind(c->err_no) != KIND_FAIL)
		store_mariadb_disconnect(c);
	store_mariadb_checkin(m, c);
done:
	pthread_mutex_lock(&m->mu);
	slot->reserved = 0;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static void
store_mariadb_unlock(void *handle, const char *name)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_conn *c = NULL;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1];
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < STORE_MARIADB_LOCKS && c == NULL; i++) {
		if (m->locks[i].conn != NULL &&
		    strcmp(m->locks[i].name, name) == 0) {
			c = m->locks[i].conn;
			m->locks[i].conn = NULL;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (c == NULL)
		return;
	store_mariadb_lock_name(m, name, lname, sizeof(lname));
	store_mariadb_bind_str(&b[0], lname);
	/* A connection that failed held the lock no longer either. */
	if ((stmt = store_mariadb_prepare(c, &c->stmt[SQL_RELEASE_LOCK],
	    store_mariadb_sql[SQL_RELEASE_LOCK])) == NULL ||
	    store_mariadb_select(c, stmt, b) == -1) {
		log_warnx("mariadb: %s: unlock '%s': %s (%u); closing the "
		    "connection that held it", m->redacted, name, c->err_msg,
		    c->err_no);
		store_mariadb_disconnect(c);
	} else
		mysql_stmt_free_result(stmt);
	store_mariadb_checkin(m, c);
}

/* ------------------------------------------------------------ schema */

/* Run one plain statement on c; 0 or -1 with err set. */
static int
store_mariadb_query(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *sql, const char *what, struct error *err)
{
	if (mysql_query(c->db, sql) != 0) {
		store_mariadb_fail_db(c, c->db);
		return error_set(err, "mariadb: %s: %s: %s (%u)", m->redacted,
		    what, c->err_msg, c->err_no);
	}
	return 0;
}

/* The first column of the first row of a query as an integer; *found 0
 * when there was no row or it was NULL. */
static int
store_mariadb_query_int(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *sql, const char *what, long long *v, int *found,
    struct error *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *end;

	*v = 0;
	*found = 0;
	if (store_mariadb_query(m, c, sql, what, err) == -1)
		return -1;
	if ((res = mysql_store_result(c->db)) == NULL) {
		store_mariadb_fail_db(c, c->db);
		return error_set(err, "mariadb: %s: %s: %s (%u)", m->redacted,
		    what, c->err_msg, c->err_no);
	}
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL) {
		errno = 0;
		*v = strtoll(row[0], &end, 10);
		if (errno != 0 || end == row[0] || *end != '\0') {
			mysql_free_result(res);
			return error_set(err, "mariadb: %s: %s: not a number",
			    m->redacted, what);
		}
		*found = 1;
	}
	mysql_free_result(res);
	return 0;
}

/* The schema version: 0 for a database without a `meta` table. */
static int
store_mariadb_version(struct store_mariadb *m, struct store_mariadb_conn *c,
    long long *version, struct error *err)
{
	long long n;
	int found;

	if (store_mariadb_query_int(m, c, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
	    "TABLE_NAME = 'meta'", "reading the schema", &n, &found,
	    err) == -1)
		return -1;
	if (n == 0) {
		*version = 0;
		return 0;
	}
	if (store_mariadb_query_int(m, c, "SELECT v FROM meta WHERE "
	    "k = 'schema_version'", "reading table 'meta'", version, &found,
	    err) == -1)
		return -1;
	if (!found)
		return error_set(err, "mariadb: %s: table 'meta' has no "
		    "schema_version: not a trustee database", m->redacted);
	return 0;
}

/* Apply a list of statements and record the step in meta. */
static int
store_mariadb_step(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *const *sqls, long long to, struct error *err)
{
	char sql[160];
	size_t i;

	for (i = 0; sqls[i] != NULL; i++)
		if (store_mariadb_query(m, c, sqls[i], "changing the schema",
		    err) == -1)
			return -1;
	snprintf(sql, sizeof(sql), "UPDATE meta SET v = %lld WHERE "
	    "k = 'schema_version'", to);
	if (store_mariadb_query(m, c, sql, "writing table 'meta'", err) == -1 ||
	    store_mariadb_query(m, c, "INSERT INTO meta (k, v) VALUES "
	    "('schema_changes', 1) ON DUPLICATE KEY UPDATE v = v + 1",
	    "writing table 'meta'", err) == -1)
		return -1;
	return 0;
}

/* Create the current schema, or migrate an older one, on a connection
 * without statement time limits. */
static int
store_mariadb_upgrade(struct store_mariadb *m, struct store_mariadb_conn *c,
    long long version, struct error *err)
{
	if (version == 0) {
		/* meta first, at version 0 ("being created"): an
		 * interrupted creation is redone at the next open. */
		if (store_mariadb_query(m, c, "CREATE TABLE IF NOT EXISTS meta ("
		    " k VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin "
		    "NOT NULL, v BIGINT NOT NULL, PRIMARY KEY (k)"
		    ") ENGINE=InnoDB", "creating the schema", err) == -1 ||
		    store_mariadb_query(m, c, "INSERT IGNORE INTO meta (k, v) "
		    "VALUES ('schema_version', 0)", "creating the schema",
		    err) == -1 ||
		    store_mariadb_step(m, c, store_mariadb_create,
		    STORE_MARIADB_SCHEMA, err) == -1)
			return -1;
		log_info("mariadb: %s: schema version %d created", m->redacted,
		    STORE_MARIADB_SCHEMA);
		return 0;
	}
	for (; version < STORE_MARIADB_SCHEMA; version++) {
		if (store_mariadb_step(m, c,
		    store_mariadb_migrations[version - 1], version + 1,
		    err) == -1)
			return -1;
		log_info("mariadb: %s: schema migrated to version %lld",
		    m->redacted, version + 1);
	}
	return 0;
}

/*
 * Bring the schema to the current version under the "schema" GET_LOCK
 * (waiting up to STORE_MARIADB_SCHEMA_WAIT_MS for another instance's
 * migration); a newer schema is refused before anything is written.
 */
static int
store_mariadb_schema(struct store_mariadb *m, struct error *err)
{
	struct store_mariadb_conn *c, *ddl;
	struct timespec deadline;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	long long version = 0, flush = 1, wsrep = 0;
	int rc, found, locked = 0;

	c = xcalloc(1, sizeof(*c));
	ddl = xcalloc(1, sizeof(*ddl));
	store_mariadb_deadline(m->timeout_ms, &deadline);
	if ((rc = store_mariadb_connect(m, c, &deadline, 0, err)) != 0)
		goto done;
	store_mariadb_lock_name(m, "#schema", lname, sizeof(lname));
	rc = store_mariadb_get_lock(m, c, lname, m->timeout_ms >
	    STORE_MARIADB_SCHEMA_WAIT_MS ? m->timeout_ms :
	    STORE_MARIADB_SCHEMA_WAIT_MS);
	if (rc == -1 && c->err_no == ER_NOT_SUPPORTED_YET) {
		/* A Galera release that refuses GET_LOCK: the migration
		 * steps are idempotent and Galera orders DDL cluster-wide. */
		log_info("mariadb: %s: %s; migrating without the schema "
		    "lock", m->redacted, c->err_msg);
		c->err_no = 0;
		rc = 0;
	}
	if (rc != 0) {
		if (rc == 1)
			error_set(err, "mariadb: %s: another instance holds "
			    "the schema lock (migrating?) for too long",
			    m->redacted);
		else
			error_set(err, "mariadb: %s: taking the schema lock: "
			    "%s (%u)", m->redacted, c->err_msg, c->err_no);
		rc = STORE_UNAVAILABLE;
		goto done;
	}
	locked = 1;
	rc = STORE_ERROR;
	if (store_mariadb_version(m, c, &version, err) == -1)
		goto done;
	if (version > STORE_MARIADB_SCHEMA) {
		error_set(err, "mariadb: %s: database schema version %lld is "
		    "newer than this trusteed supports (%d)", m->redacted,
		    version, STORE_MARIADB_SCHEMA);
		goto done;
	}
	if (version < 0) {
		error_set(err, "mariadb: %s: invalid schema version %lld",
		    m->redacted, version);
		goto done;
	}
	if (version < STORE_MARIADB_SCHEMA) {
		store_mariadb_deadline(m->timeout_ms, &deadline);
		if ((rc = store_mariadb_connect(m, ddl, &deadline, 1,
		    err)) != 0)
			goto done;
		rc = STORE_ERROR;
		if (store_mariadb_upgrade(m, ddl, version, err) == -1)
			goto done;
	}
	if (store_mariadb_query_int(m, c, "SELECT "
	    "@@innodb_flush_log_at_trx_commit", "reading the settings", &flush,
	    &found, err) == -1)
		goto done;
	if (store_mariadb_query_int(m, c, "SELECT @@wsrep_on",
	    "reading the settings", &wsrep, &found, err) == -1)
		wsrep = 0;	/* a server built without wsrep */
	if (flush != 1 && !wsrep)
		log_warnx("mariadb: %s: innodb_flush_log_at_trx_commit is "
		    "%lld, not 1: acknowledged writes may be lost in a crash",
		    m->redacted, flush);
	rc = STORE_OK;
done:
	if (rc != STORE_OK && c->err_no != 0 && store_mariadb_kind(c->err_no) !=
	    KIND_FAIL)
		rc = STORE_UNAVAILABLE;
	if (rc != STORE_OK && ddl->err_no != 0 &&
	    store_mariadb_kind(ddl->err_no) != KIND_FAIL)
		rc = STORE_UNAVAILABLE;
	/* Closing the session releases the schema lock. */
	(void)locked;
	store_mariadb_disconnect(ddl);
	store_mariadb_disconnect(c);
	free(ddl);
	free(c);
	return rc;
}

/* ------------------------------------------------------------ handle */

static int
store_mariadb_open(const struct store_dsn *dsn, void **handle,
    struct error *err)
{
	struct store_mariadb *m;
	pthread_condattr_t ca;
	const char *redacted;
	uint8_t h[8];
	char hex[17];
	double st;
	int rc;

	*handle = NULL;
	redacted = dsn->redacted != NULL ? dsn->redacted : "mariadb";
	if (dsn->user == NULL || dsn->user[0] == '\0' ||
	    dsn->database == NULL || dsn->database[0] == '\0')
		return error_set(err, "mariadb: %s: the DSN needs a user and a "
		    "database", redacted);
	if (sodium_init() < 0)
		return error_set(err, "mariadb: libsodium failed to "
		    "initialise");
	pthread_once(&store_mariadb_once, store_mariadb_lib_init);
	if (!store_mariadb_lib_ok)
		return error_set(err, "mariadb: the client library failed to "
		    "initialise");

	m = xcalloc(1, sizeof(*m));
	m->host = dsn->host != NULL ? xstrdup(dsn->host) : NULL;
	m->user = xstrdup(dsn->user);
	m->database = xstrdup(dsn->database);
	m->socket = dsn->socket != NULL ? xstrdup(dsn->socket) : NULL;
	m->redacted = xstrdup(redacted);
	m->port = dsn->port;
	if (dsn->password != NULL) {
		m->password_len = strlen(dsn->password) + 1;
		if ((m->password = sodium_malloc(m->password_len)) == NULL) {
			free(m->redacted);
			free(m->socket);
			free(m->database);
			free(m->user);
			free(m->host);
			free(m);
			return error_set(err, "mariadb: out of memory");
		}
		memcpy(m->password, dsn->password, m->password_len);
	}
	m->timeout_ms = dsn->timeout_ms > 0 ? dsn->timeout_ms : 5000;
	/* The server gives up first (at 80% of the timeout), with a
	 * message; the client's timeouts, in whole seconds, catch a server
	 * or a network that hangs. */
	m->io_timeout_s = (unsigned)(m->timeout_ms + 999) / 1000;
	st = m->timeout_ms * 0.8 / 1000.0;
	snprintf(m->session_sql, sizeof(m->session_sql), "SET SESSION "
	    "autocommit = 1, sql_mode = 'STRICT_ALL_TABLES,"
	    "NO_ENGINE_SUBSTITUTION', max_statement_time = %.3f, "
	    "innodb_lock_wait_timeout = %u, lock_wait_timeout = %u", st,
	    st >= 1.0 ? (unsigned)st : 1, st >= 1.0 ? (unsigned)st : 1);
	/* "trustee/<database>/<name>", or a digest of a long database name
	 * (GET_LOCK names have at most 64 characters). */
	if (strlen(m->database) + 9 + STORE_TABLE_MAX <=
	    STORE_MARIADB_LOCK_NAME)
		snprintf(m->lock_prefix, sizeof(m->lock_prefix), "trustee/%s/",
		    m->database);
	else {
		crypto_generichash(h, sizeof(h), (const uint8_t *)m->database,
		    strlen(m->database), NULL, 0);
		hex_encode(h, sizeof(h), hex);
		snprintf(m->lock_prefix, sizeof(m->lock_prefix), "trustee/%s/",
		    hex);
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);

	if ((rc = store_mariadb_schema(m, err)) != 0) {
		store_mariadb_close(m);
		return rc;
	}
	*handle = m;
	return 0;
}

static void
store_mariadb_close(void *handle)
{
	struct store_mariadb *m = handle;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < STORE_MARIADB_POOL; i++)
		store_mariadb_disconnect(&m->conns[i]);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	if (m->password != NULL)
		sodium_free(m->password);	/* wipes */
	free(m->host);
	free(m->user);
	free(m->database);
	free(m->socket);
	free(m->redacted);
	free(m);
}

const struct store_backend store_backend_mariadb = {
	.name = "mariadb",
	.open = store_mariadb_open,
	.close = store_mariadb_close,
	.put = store_mariadb_put,
	.put_many = store_mariadb_put_many,
	.get = store_mariadb_get,
	.del = store_mariadb_del,
	.scan = store_mariadb_scan,
	.count = store_mariadb_count,
	.purge = store_mariadb_purge,
	.gen_bump = store_mariadb_gen_bump,
	.gen_get = store_mariadb_gen_get,
	.lock = store_mariadb_lock,
	.unlock = store_mariadb_unlock,
};
