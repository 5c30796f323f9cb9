/*
 * sqlite_conn.c: the SQLite backend's handle (sqlite_conn_open and
 * sqlite_conn_close, the backend's open and close): the database file,
 * its one connection with its pragmas, the schema (sqlite_schema.c), the
 * statements of the operations by key, prepared once at open (the SQL is
 * here; store_sqlite.c binds ?1 tbl, ?2 id, ?3 kv, ?4 ord, ?5 exp, ?6
 * blob and ?7 or ?3 the expected revision), and the classification of
 * SQLite's failures (sqlite_conn_fail).
 *
 * One connection, opened NOMUTEX, guarded by s->lock: the statements are
 * point lookups that finish in microseconds, so a pool would only add
 * state. WAL lets `sqlite3` and backups read while trusteed writes
 * (a filesystem that refuses WAL is logged, not fatal); synchronous=FULL
 * makes every acknowledged write durable (a commit fsyncs the WAL).
 *
 * The file holds sealed rows only, but it is still created 0600 and an
 * existing one that is group/world accessible is refused: an operator who
 * loosened it should hear about it. SQLite gives the -wal and -shm files
 * the permissions of the database file. With dsn->exclusive the open
 * takes the daemon lock (sqlite_lock.c) before it opens the database.
 * sqlite_conn_close finalizes the statements, closes the connection (the
 * last one checkpoints and removes the WAL) and drops every lock; it
 * takes a handle that failed half-way through open.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../lib/log.h"
#include "sqlite_int.h"

/* A failure of the connection's last call (sqlite_int.h). */
int
sqlite_conn_fail(struct store_sqlite *s, const char *what, struct error *err)
{
	int code = sqlite3_errcode(s->db);

	error_set(err, "sqlite: %s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
	/* A lock held past the busy timeout is "try again later". */
	return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ?
	    STORE_UNAVAILABLE : STORE_ERROR;
}

/* Create the file 0600 when missing (SQLite would honour the umask
 * instead); refuse an existing one that is too open. */
static int
sqlite_conn_prepare_file(const char *path, struct error *err)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		if (errno != EEXIST)
			return error_set(err, "sqlite: %s: %s", path,
			    strerror(errno));
		return file_check_secret(path, err);
	}
	/* An unusual umask may have removed the owner's write bit. */
	if (fchmod(fd, 0600) == -1) {
		error_set(err, "sqlite: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
sqlite_conn_pragmas(struct store_sqlite *s, struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode = NULL;
	int rc;

	if (sqlite3_busy_timeout(s->db, s->timeout_ms) != SQLITE_OK)
		return sqlite_conn_fail(s, "setting busy_timeout", err);
	/* journal_mode answers with the mode in effect: WAL can be refused
	 * (e.g. on a filesystem without shared memory). */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &stmt,
	    NULL) != SQLITE_OK)
		return sqlite_conn_fail(s, "setting journal_mode", err);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(stmt, 0);
	if (rc != SQLITE_ROW) {
		sqlite_conn_fail(s, "setting journal_mode", err);
		sqlite3_finalize(stmt);
		return -1;
	}
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warnx("sqlite: %s: journal_mode is %s, not wal", s->path,
		    mode != NULL ? mode : "unknown");
	sqlite3_finalize(stmt);
	/* A page cache of 16 MiB (the default is 2 MiB): the indexes of a
	 * large store stay in memory instead of being read again (one
	 * pread per page) by every lookup and insert. Statement journals
	 * in memory: an upsert inside a batch's transaction otherwise
	 * copies every page it changes to a file in /var/tmp first (a few
	 * pages per statement, freed when it ends). */
	if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON;PRAGMA cache_size=-16384;"
	    "PRAGMA temp_store=MEMORY;", NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_conn_fail(s, "setting pragmas", err);
	return 0;
}

static int
sqlite_conn_prepare(struct store_sqlite *s, const char *sql,
    sqlite3_stmt **stmt, struct error *err)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt,
	    NULL) != SQLITE_OK)
		return sqlite_conn_fail(s, "preparing a statement", err);
	return 0;
}

int
sqlite_conn_open(const struct store_dsn *dsn, void **handle,
    struct error *err)
{
	struct store_sqlite *s;
	size_t i;
	int rc = -1;

	*handle = NULL;
	if (dsn->path == NULL || dsn->path[0] == '\0')
		return error_set(err, "sqlite: no database path");
	if (sqlite_conn_prepare_file(dsn->path, err) == -1)
		return -1;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(dsn->path);
	s->timeout_ms = dsn->timeout_ms > 0 ? dsn->timeout_ms : 5000;
	s->lock_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->locks_mu, NULL);
	for (i = 0; i < STORE_SQLITE_LOCKS; i++)
		s->locks[i].fd = -1;
	if (dsn->exclusive && sqlite_lock_daemon(s, err) != 0)
		goto fail;
	/* NOMUTEX: s->lock already serialises every use of the connection. */
	if (sqlite3_open_v2(dsn->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			error_set(err, "sqlite: %s: cannot open", dsn->path);
		else
			sqlite_conn_fail(s, "opening", err);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* A busy database is STORE_UNAVAILABLE (-2): a failure too. */
	if ((rc = sqlite_conn_pragmas(s, err)) != 0 ||
	    (rc = sqlite_schema_init(s, err)) != 0)
		goto fail;
	rc = -1;
	/* put_many: the same upsert without RETURNING, whose results SQLite
	 * would collect in a temporary table for nobody to read. */
	if (sqlite_conn_prepare(s, "INSERT INTO rows(tbl, id, kv, ord, exp, "
	    "rev, blob) VALUES(?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(tbl, id) "
	    "DO UPDATE SET kv = excluded.kv, ord = excluded.ord, "
	    "exp = excluded.exp, rev = rows.rev + 1, blob = excluded.blob "
	    "RETURNING rev", &s->put_any, err) != 0 ||
	    sqlite_conn_prepare(s, "INSERT INTO rows(tbl, id, kv, ord, exp, "
	    "rev, blob) VALUES(?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(tbl, id) "
	    "DO UPDATE SET kv = excluded.kv, ord = excluded.ord, "
	    "exp = excluded.exp, rev = rows.rev + 1, blob = excluded.blob",
	    &s->put_many, err) != 0 ||
	    sqlite_conn_prepare(s, "INSERT INTO rows(tbl, id, kv, ord, exp, "
	    "rev, blob) VALUES(?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(tbl, id) "
	    "DO NOTHING RETURNING rev", &s->put_new, err) != 0 ||
	    sqlite_conn_prepare(s, "UPDATE rows SET kv = ?3, ord = ?4, "
	    "exp = ?5, rev = rev + 1, blob = ?6 WHERE tbl = ?1 AND id = ?2 AND "
	    "rev = ?7 RETURNING rev", &s->put_rev, err) != 0 ||
	    sqlite_conn_prepare(s, "SELECT " STORE_SQLITE_COLS " FROM rows "
	    "WHERE tbl = ?1 AND id = ?2", &s->get, err) != 0 ||
	    sqlite_conn_prepare(s, "DELETE FROM rows WHERE tbl = ?1 AND "
	    "id = ?2", &s->del_any, err) != 0 ||
	    sqlite_conn_prepare(s, "DELETE FROM rows WHERE tbl = ?1 AND "
	    "id = ?2 AND rev = ?3", &s->del_rev, err) != 0 ||
	    sqlite_conn_prepare(s, "INSERT INTO gen(tbl, n) VALUES(?1, 1) "
	    "ON CONFLICT(tbl) DO UPDATE SET n = n + 1", &s->gen_bump,
	    err) != 0 ||
	    sqlite_conn_prepare(s, "SELECT n FROM gen WHERE tbl = ?1",
	    &s->gen_get, err) != 0)
		goto fail;
	*handle = s;
	return 0;
fail:
	sqlite_conn_close(s);
	return rc;
}

void
sqlite_conn_close(void *handle)
{
	struct store_sqlite *s = handle;
	size_t i;

	if (s == NULL)
		return;
	sqlite3_finalize(s->put_any);
	sqlite3_finalize(s->put_many);
	sqlite3_finalize(s->put_new);
	sqlite3_finalize(s->put_rev);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->del_any);
	sqlite3_finalize(s->del_rev);
	sqlite3_finalize(s->gen_bump);
	sqlite3_finalize(s->gen_get);
	/* The last connection to close checkpoints and removes the WAL. */
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("sqlite: %s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	for (i = 0; i < STORE_SQLITE_LOCKS; i++)
		if (s->locks[i].fd >= 0)
			close(s->locks[i].fd);
	if (s->lock_fd != -1)
		close(s->lock_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->locks_mu);
	free(s->path);
	free(s);
}
