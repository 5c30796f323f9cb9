/*
 * store_sqlite.c: the embedded SQLite backend of the store (store.h).
 *
 * One database file, one table of opaque rows:
 *   rows(tbl TEXT, id BLOB, blob BLOB, PRIMARY KEY(tbl, id)) WITHOUT ROWID
 *   meta(k TEXT PRIMARY KEY, v INTEGER)	-- 'schema_version' = 1
 * One connection with its prepared statements, guarded by a mutex: the
 * store is shared by the event-loop threads, and its statements are point
 * lookups that finish in microseconds, so a pool would only add state.
 * WAL lets `sqlite3` and backups read while trusteed writes.
 *
 * The file holds sealed rows only, but it is still created 0600 and an
 * existing one that is group/world accessible is refused: an operator who
 * loosened it should hear about it. SQLite gives the -wal and -shm files
 * the permissions of the database file.
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
#include "backend.h"
#include "store.h"

#define STORE_SQLITE_SCHEMA	1
#define STORE_SQLITE_BUSY_MS	5000

struct store_sqlite {
	sqlite3 *db;
	char *path;
	pthread_mutex_t lock;		/* guards db and every statement */
	sqlite3_stmt *put;
	sqlite3_stmt *get;
	sqlite3_stmt *del;
	sqlite3_stmt *list;
};

/* A row copied out of the list statement, so callbacks run unlocked. */
struct store_sqlite_row {
	uint8_t id[STORE_ID_LEN];
	uint8_t *blob;
	size_t len;
};

static const char store_sqlite_schema[] =
    "CREATE TABLE IF NOT EXISTS meta("
    " k TEXT PRIMARY KEY NOT NULL,"
    " v INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('schema_version', 1);";

static const char store_sqlite_schema_rows[] =
    "CREATE TABLE IF NOT EXISTS rows("
    " tbl TEXT NOT NULL,"
    " id BLOB NOT NULL,"
    " blob BLOB NOT NULL,"
    " PRIMARY KEY(tbl, id)) WITHOUT ROWID;";

static void store_sqlite_close(void *handle);

static int
store_sqlite_fail(struct store_sqlite *s, const char *what, struct error *err)
{
	return error_set(err, "sqlite: %s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
}

/* Create the file 0600 when missing (SQLite would honour the umask
 * instead); refuse an existing one that is too open. */
static int
store_sqlite_prepare_file(const char *path, struct error *err)
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
store_sqlite_pragmas(struct store_sqlite *s, struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode = NULL;
	int rc;

	if (sqlite3_busy_timeout(s->db, STORE_SQLITE_BUSY_MS) != SQLITE_OK)
		return store_sqlite_fail(s, "setting busy_timeout", err);
	/* journal_mode answers with the mode in effect: WAL can be refused
	 * (e.g. on a filesystem without shared memory). */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &stmt,
	    NULL) != SQLITE_OK)
		return store_sqlite_fail(s, "setting journal_mode", err);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(stmt, 0);
	if (rc != SQLITE_ROW) {
		store_sqlite_fail(s, "setting journal_mode", err);
		sqlite3_finalize(stmt);
		return -1;
	}
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warnx("sqlite: %s: journal_mode is %s, not wal", s->path,
		    mode != NULL ? mode : "unknown");
	sqlite3_finalize(stmt);
	if (sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL;"
	    "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK)
		return store_sqlite_fail(s, "setting pragmas", err);
	return 0;
}

/* Create the schema or check that an existing one is one we understand,
 * in one transaction so a newer database is left untouched. */
static int
store_sqlite_schema_init(struct store_sqlite *s, struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3_int64 version = 0;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_sqlite_fail(s, "starting schema transaction", err);
	if (sqlite3_exec(s->db, store_sqlite_schema, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_sqlite_fail(s, "creating schema", err);
		goto fail;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_version'", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		store_sqlite_fail(s, "reading schema version", err);
		goto fail;
	}
	version = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (version > STORE_SQLITE_SCHEMA) {
		error_set(err, "sqlite: %s: database schema version %lld is "
		    "newer than this trusteed supports (%d)", s->path,
		    (long long)version, STORE_SQLITE_SCHEMA);
		goto fail;
	}
	if (version < 1) {
		error_set(err, "sqlite: %s: invalid schema version %lld",
		    s->path, (long long)version);
		goto fail;
	}
	if (sqlite3_exec(s->db, store_sqlite_schema_rows, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_sqlite_fail(s, "creating schema", err);
		goto fail;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_sqlite_fail(s, "committing schema", err);
		goto fail;
	}
	return 0;
fail:
	sqlite3_finalize(stmt);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
store_sqlite_prepare(struct store_sqlite *s, const char *sql,
    sqlite3_stmt **stmt, struct error *err)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt,
	    NULL) != SQLITE_OK)
		return store_sqlite_fail(s, "preparing statement", err);
	return 0;
}

static int
store_sqlite_open(const char *dsn, void **handle, struct error *err)
{
	struct store_sqlite *s;

	*handle = NULL;
	if (dsn == NULL || dsn[0] == '\0')
		return error_set(err, "sqlite: no database path");
	if (store_sqlite_prepare_file(dsn, err) == -1)
		return -1;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(dsn);
	pthread_mutex_init(&s->lock, NULL);
	/* NOMUTEX: s->lock already serialises every use of the connection. */
	if (sqlite3_open_v2(dsn, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			error_set(err, "sqlite: %s: cannot open", dsn);
		else
			store_sqlite_fail(s, "opening", err);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (store_sqlite_pragmas(s, err) == -1 ||
	    store_sqlite_schema_init(s, err) == -1)
		goto fail;
	if (store_sqlite_prepare(s, "INSERT INTO rows(tbl, id, blob) "
	    "VALUES(?1, ?2, ?3) ON CONFLICT(tbl, id) DO UPDATE SET "
	    "blob = excluded.blob", &s->put, err) == -1 ||
	    store_sqlite_prepare(s, "SELECT blob FROM rows WHERE tbl = ?1 AND "
	    "id = ?2", &s->get, err) == -1 ||
	    store_sqlite_prepare(s, "DELETE FROM rows WHERE tbl = ?1 AND "
	    "id = ?2", &s->del, err) == -1 ||
	    store_sqlite_prepare(s, "SELECT id, blob FROM rows WHERE tbl = ?1 "
	    "ORDER BY id", &s->list, err) == -1)
		goto fail;
	*handle = s;
	return 0;
fail:
	store_sqlite_close(s);
	return -1;
}

static void
store_sqlite_close(void *handle)
{
	struct store_sqlite *s = handle;

	if (s == NULL)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->list);
	/* The last connection to close checkpoints and removes the WAL. */
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("sqlite: %s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
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

static void
store_sqlite_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static int
store_sqlite_put(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], const uint8_t *blob, size_t len,
    struct error *err)
{
	struct store_sqlite *s = handle;
	int rc = -1;

	if (len > INT32_MAX)
		return error_set(err, "sqlite: %s: row of %zu bytes is too "
		    "large", s->path, len);
	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(s->put, table, id) == -1 ||
	    sqlite3_bind_blob(s->put, 3, blob, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK) {
		store_sqlite_fail(s, "put: binding", err);
		goto done;
	}
	if (sqlite3_step(s->put) != SQLITE_DONE) {
		error_set(err, "sqlite: %s: put into table '%s': %s", s->path,
		    table, sqlite3_errmsg(s->db));
		goto done;
	}
	rc = 0;
done:
	store_sqlite_done(s->put);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
store_sqlite_get(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], uint8_t **blob, size_t *len,
    struct error *err)
{
	struct store_sqlite *s = handle;
	const void *p;
	int rc = -1, n, step;

	*blob = NULL;
	*len = 0;
	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(s->get, table, id) == -1) {
		store_sqlite_fail(s, "get: binding", err);
		goto done;
	}
	step = sqlite3_step(s->get);
	if (step == SQLITE_DONE) {
		rc = 1;
		goto done;
	}
	if (step != SQLITE_ROW) {
		error_set(err, "sqlite: %s: get from table '%s': %s", s->path,
		    table, sqlite3_errmsg(s->db));
		goto done;
	}
	/* column_blob before column_bytes, as SQLite documents. */
	p = sqlite3_column_blob(s->get, 0);
	n = sqlite3_column_bytes(s->get, 0);
	*blob = xmalloc(n > 0 ? (size_t)n : 1);
	if (n > 0 && p != NULL)
		memcpy(*blob, p, (size_t)n);
	*len = p != NULL ? (size_t)n : 0;
	rc = 0;
done:
	store_sqlite_done(s->get);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
store_sqlite_del(void *handle, const char *table,
    const uint8_t id[STORE_ID_LEN], struct error *err)
{
	struct store_sqlite *s = handle;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	if (store_sqlite_bind_key(s->del, table, id) == -1) {
		store_sqlite_fail(s, "delete: binding", err);
		goto done;
	}
	if (sqlite3_step(s->del) != SQLITE_DONE) {
		error_set(err, "sqlite: %s: delete from table '%s': %s",
		    s->path, table, sqlite3_errmsg(s->db));
		goto done;
	}
	rc = sqlite3_changes(s->db) > 0 ? 0 : 1;
done:
	store_sqlite_done(s->del);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void
store_sqlite_rows_free(struct store_sqlite_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].blob);
	free(rows);
}

/* Copy the table's rows under the lock, then run the callbacks without
 * it, so a callback may use the store (delete expired rows, say). */
static int
store_sqlite_list(void *handle, const char *table, store_backend_list_cb cb,
    void *arg, struct error *err)
{
	struct store_sqlite *s = handle;
	struct store_sqlite_row *rows = NULL, *r;
	size_t n = 0, cap = 0, i;
	const void *p;
	int step, bytes, rc = -1;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_bind_text(s->list, 1, table, -1, SQLITE_STATIC) !=
	    SQLITE_OK) {
		store_sqlite_fail(s, "list: binding", err);
		goto unlock;
	}
	while ((step = sqlite3_step(s->list)) == SQLITE_ROW) {
		p = sqlite3_column_blob(s->list, 0);
		bytes = sqlite3_column_bytes(s->list, 0);
		if (p == NULL || bytes != STORE_ID_LEN) {
			error_set(err, "sqlite: %s: table '%s' holds a row "
			    "with a %d-byte id", s->path, table, bytes);
			goto unlock;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		r = &rows[n++];
		memcpy(r->id, p, STORE_ID_LEN);
		p = sqlite3_column_blob(s->list, 1);
		bytes = sqlite3_column_bytes(s->list, 1);
		r->len = p != NULL && bytes > 0 ? (size_t)bytes : 0;
		r->blob = xmalloc(r->len > 0 ? r->len : 1);
		if (r->len > 0)
			memcpy(r->blob, p, r->len);
	}
	if (step != SQLITE_DONE) {
		error_set(err, "sqlite: %s: list table '%s': %s", s->path,
		    table, sqlite3_errmsg(s->db));
		goto unlock;
	}
	rc = 0;
unlock:
	store_sqlite_done(s->list);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; rc == 0 && i < n; i++) {
		if (cb(rows[i].id, rows[i].blob, rows[i].len, arg) != 0)
			break;
	}
	store_sqlite_rows_free(rows, n);
	return rc;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.put = store_sqlite_put,
	.get = store_sqlite_get,
	.del = store_sqlite_del,
	.list = store_sqlite_list,
};

/* Every backend compiled in; the MariaDB one joins here. */
static const struct store_backend *const store_backends[] = {
	&store_backend_sqlite,
};

const struct store_backend *
store_backend_lookup(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	}
	return NULL;
}
