/*
 * mariadb_conn.c: the MariaDB backend's handle and connection pool:
 * the DSN and session setup, connecting, taking and giving back pooled
 * connections, statement helpers, the classification of failures
 * (mariadb_conn_kind) and the retry rules every operation runs under
 * (mariadb_conn_run). The operations are in store_mariadb.c,
 * mariadb_scan.c and mariadb_lock.c.
 *
 * A handle is a pool of up to STORE_MARIADB_POOL connections, each with
 * its own prepared statements (prepared on first use). An operation takes
 * an idle connection (connecting when needed), runs one autocommit
 * statement, and gives the connection back; a committed InnoDB statement
 * is durable when innodb_flush_log_at_trx_commit = 1 (open warns
 * otherwise, in mariadb_schema.c). A named lock pins the connection that
 * took it until unlock, since GET_LOCK belongs to a session.
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
 * on one node sees what another node acknowledged.
 *
 * The password is copied into sodium-guarded memory for reconnects and
 * wiped at close; error messages name the redacted DSN only.
 */
#include <errno.h>
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

#include "mariadb_int.h"

#define STORE_MARIADB_RETRIES	16	/* attempts after a deadlock */
#define STORE_MARIADB_DDL_TIMEOUT_S	3600	/* one migration step */

static pthread_once_t mariadb_conn_once = PTHREAD_ONCE_INIT;
static int mariadb_conn_lib_ok;

/* mysql_library_init is not thread-safe: once per process. */
static void
mariadb_conn_lib_init(void)
{
	mariadb_conn_lib_ok = mysql_library_init(0, NULL, NULL) == 0;
}

void
mariadb_conn_deadline(int ms, struct timespec *ts)
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
int
mariadb_conn_left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (ms > INT32_MAX ? INT32_MAX : (int)ms) : 0;
}

enum store_mariadb_kind
mariadb_conn_kind(unsigned int code)
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
void
mariadb_conn_disconnect(struct store_mariadb_conn *c)
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
	for (i = 0; i <= STORE_MARIADB_MANY; i++) {
		if (c->many[i] != NULL)
			mysql_stmt_close(c->many[i]);
		c->many[i] = NULL;
		if (c->many_new[i] != NULL)
			mysql_stmt_close(c->many_new[i]);
		c->many_new[i] = NULL;
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
mariadb_conn_alive(struct store_mariadb_conn *c)
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

void
mariadb_conn_fail_db(struct store_mariadb_conn *c, MYSQL *db)
{
	c->err_no = mysql_errno(db);
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", mysql_error(db));
}

void
mariadb_conn_fail_stmt(struct store_mariadb_conn *c, MYSQL_STMT *stmt)
{
	c->err_no = mysql_stmt_errno(stmt);
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", mysql_stmt_error(stmt));
}

/*
 * Connect c (not connected) with deadline bounding the connect, and set
 * up its session. ddl: a connection for migrations, without statement
 * time limits. Returns 0, -1 (credentials, unknown database...) or -2.
 */
int
mariadb_conn_connect(struct store_mariadb *m, struct store_mariadb_conn *c,
    const struct timespec *deadline, int ddl, struct error *err)
{
	unsigned int ct, rt, zero = 0, proto = MYSQL_PROTOCOL_SOCKET;
	my_bool off = 0, on = 1;
	unsigned int code;
	MYSQL *db;
	int left = mariadb_conn_left_ms(deadline);

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
		return mariadb_conn_kind(code) == KIND_FAIL ? STORE_ERROR :
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
void
mariadb_conn_checkin(struct store_mariadb *m, struct store_mariadb_conn *c)
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
int
mariadb_conn_checkout(struct store_mariadb *m, const struct timespec *deadline,
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
	if (c->db != NULL && !mariadb_conn_alive(c))
		mariadb_conn_disconnect(c);
	if (c->db == NULL &&
	    (rc = mariadb_conn_connect(m, c, deadline, 0, err)) != 0) {
		mariadb_conn_checkin(m, c);
		return rc;
	}
	*out = c;
	return 0;
}

/* The prepared statement for sql on c (prepared on first use); NULL with
 * c->err_* set on failure. */
MYSQL_STMT *
mariadb_conn_prepare(struct store_mariadb_conn *c, MYSQL_STMT **slot,
    const char *sql)
{
	MYSQL_STMT *stmt;

	if (*slot != NULL)
		return *slot;
	if ((stmt = mysql_stmt_init(c->db)) == NULL) {
		mariadb_conn_fail_db(c, c->db);
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		mysql_stmt_close(stmt);
		return NULL;
	}
	*slot = stmt;
	return stmt;
}

/* Bind, execute; 0 or -1 with c->err_* set. */
int
mariadb_conn_exec(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params)
{
	if ((params != NULL && mysql_stmt_bind_param(stmt, params) != 0) ||
	    mysql_stmt_execute(stmt) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		return -1;
	}
	return 0;
}

/* Execute a query and read its whole result, so that the connection is
 * free again whatever the caller does with the rows; the caller ends
 * with mysql_stmt_free_result. */
int
mariadb_conn_select(struct store_mariadb_conn *c, MYSQL_STMT *stmt,
    MYSQL_BIND *params)
{
	if (mariadb_conn_exec(c, stmt, params) == -1)
		return -1;
	if (mysql_stmt_store_result(stmt) != 0) {
		mariadb_conn_fail_stmt(c, stmt);
		mysql_stmt_free_result(stmt);
		return -1;
	}
	return 0;
}

/*
 * Run a call on a pooled connection with the retry rules of the file
 * comment, within timeout_ms.
 */
int
mariadb_conn_run(struct store_mariadb *m, const struct store_mariadb_call *k,
    struct error *err)
{
	struct store_mariadb_conn *c;
	struct timespec deadline, pause;
	enum store_mariadb_kind kind;
	int rc, attempt = 0, resent = 0;

	mariadb_conn_deadline(m->timeout_ms, &deadline);
	for (;;) {
		if ((rc = mariadb_conn_checkout(m, &deadline, &c, err)) != 0)
			return rc;
		c->err_no = 0;
		c->err_msg[0] = '\0';
		rc = k->fn(m, c, k->arg);
		if (rc >= 0) {
			mariadb_conn_checkin(m, c);
			return rc;
		}
		kind = mariadb_conn_kind(c->err_no);
		error_set(err, "mariadb: %s: %s table '%s': %s (%u)",
		    m->redacted, k->what,
		    k->table != NULL ? k->table : "*", c->err_msg, c->err_no);
		/* A client-side failure leaves the session in doubt. */
		if (kind == KIND_NOTSENT || kind == KIND_GONE ||
		    (kind == KIND_FAIL && c->err_no >= 2000))
			mariadb_conn_disconnect(c);
		mariadb_conn_checkin(m, c);
		switch (kind) {
		case KIND_RETRY:
			if (++attempt >= STORE_MARIADB_RETRIES ||
			    mariadb_conn_left_ms(&deadline) == 0) {
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
			    mariadb_conn_left_ms(&deadline) > 0) {
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

/* ------------------------------------------------------------ handle */

int
mariadb_conn_open(const struct store_dsn *dsn, struct store_mariadb **out,
    struct error *err)
{
	struct store_mariadb *m;
	pthread_condattr_t ca;
	const char *redacted;
	uint8_t h[8];
	char hex[17];
	double st;

	*out = NULL;
	redacted = dsn->redacted != NULL ? dsn->redacted : "mariadb";
	if (dsn->user == NULL || dsn->user[0] == '\0' ||
	    dsn->database == NULL || dsn->database[0] == '\0')
		return error_set(err, "mariadb: %s: the DSN needs a user and a "
		    "database", redacted);
	if (sodium_init() < 0)
		return error_set(err, "mariadb: libsodium failed to "
		    "initialise");
	pthread_once(&mariadb_conn_once, mariadb_conn_lib_init);
	if (!mariadb_conn_lib_ok)
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
	mariadb_group_init(&m->group);
	*out = m;
	return 0;
}

void
mariadb_conn_close(struct store_mariadb *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < STORE_MARIADB_POOL; i++)
		mariadb_conn_disconnect(&m->conns[i]);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	mariadb_group_destroy(&m->group);
	if (m->password != NULL)
		sodium_free(m->password);	/* wipes */
	free(m->host);
	free(m->user);
	free(m->database);
	free(m->socket);
	free(m->redacted);
	free(m);
}
