/*
 * mariadb_schema.c: the MariaDB backend's schema, created or migrated
 * when a handle opens (mariadb_schema_ensure).
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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "../lib/log.h"
#include "mariadb_int.h"

#define STORE_MARIADB_SCHEMA	2
#define STORE_MARIADB_SCHEMA_WAIT_MS	30000	/* for another migration */

/*
 * Schema creation (the current version) and forward migrations:
 * migrations[i] brings version i + 1 to i + 2. Version 1 is the layout
 * the SQLite backend had before revisions, rows(tbl, id, blob): no
 * release wrote it to MariaDB, but a v1 database copied over by hand
 * migrates like SQLite's. Every statement may run twice.
 */
static const char *const mariadb_schema_create[] = {
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

static const char *const mariadb_schema_migrate_1_2[] = {
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

static const char *const *const mariadb_schema_migrations[] = {
	mariadb_schema_migrate_1_2,
};

/* Run one plain statement on c; 0 or -1 with err set. */
static int
mariadb_schema_query(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *sql, const char *what, struct error *err)
{
	if (mysql_query(c->db, sql) != 0) {
		mariadb_conn_fail_db(c, c->db);
		return error_set(err, "mariadb: %s: %s: %s (%u)", m->redacted,
		    what, c->err_msg, c->err_no);
	}
	return 0;
}

/* The first column of the first row of a query as an integer; *found 0
 * when there was no row or it was NULL. */
static int
mariadb_schema_query_int(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *sql, const char *what, long long *v, int *found,
    struct error *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *end;

	*v = 0;
	*found = 0;
	if (mariadb_schema_query(m, c, sql, what, err) == -1)
		return -1;
	if ((res = mysql_store_result(c->db)) == NULL) {
		mariadb_conn_fail_db(c, c->db);
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
mariadb_schema_version(struct store_mariadb *m, struct store_mariadb_conn *c,
    long long *version, struct error *err)
{
	long long n;
	int found;

	if (mariadb_schema_query_int(m, c, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
	    "TABLE_NAME = 'meta'", "reading the schema", &n, &found,
	    err) == -1)
		return -1;
	if (n == 0) {
		*version = 0;
		return 0;
	}
	if (mariadb_schema_query_int(m, c, "SELECT v FROM meta WHERE "
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
mariadb_schema_step(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *const *sqls, long long to, struct error *err)
{
	char sql[160];
	size_t i;

	for (i = 0; sqls[i] != NULL; i++)
		if (mariadb_schema_query(m, c, sqls[i], "changing the schema",
		    err) == -1)
			return -1;
	snprintf(sql, sizeof(sql), "UPDATE meta SET v = %lld WHERE "
	    "k = 'schema_version'", to);
	if (mariadb_schema_query(m, c, sql, "writing table 'meta'",
	    err) == -1 ||
	    mariadb_schema_query(m, c, "INSERT INTO meta (k, v) VALUES "
	    "('schema_changes', 1) ON DUPLICATE KEY UPDATE v = v + 1",
	    "writing table 'meta'", err) == -1)
		return -1;
	return 0;
}

/* Create the current schema, or migrate an older one, on a connection
 * without statement time limits. */
static int
mariadb_schema_upgrade(struct store_mariadb *m, struct store_mariadb_conn *c,
    long long version, struct error *err)
{
	if (version == 0) {
		/* meta first, at version 0 ("being created"): an
		 * interrupted creation is redone at the next open. */
		if (mariadb_schema_query(m, c, "CREATE TABLE IF NOT EXISTS "
		    "meta ( k VARCHAR(64) CHARACTER SET ascii COLLATE "
		    "ascii_bin NOT NULL, v BIGINT NOT NULL, PRIMARY KEY (k)"
		    ") ENGINE=InnoDB", "creating the schema", err) == -1 ||
		    mariadb_schema_query(m, c, "INSERT IGNORE INTO meta (k, v) "
		    "VALUES ('schema_version', 0)", "creating the schema",
		    err) == -1 ||
		    mariadb_schema_step(m, c, mariadb_schema_create,
		    STORE_MARIADB_SCHEMA, err) == -1)
			return -1;
		log_info("mariadb: %s: schema version %d created", m->redacted,
		    STORE_MARIADB_SCHEMA);
		return 0;
	}
	for (; version < STORE_MARIADB_SCHEMA; version++) {
		if (mariadb_schema_step(m, c,
		    mariadb_schema_migrations[version - 1], version + 1,
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
int
mariadb_schema_ensure(struct store_mariadb *m, struct error *err)
{
	struct store_mariadb_conn *c, *ddl;
	struct timespec deadline;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	long long version = 0, flush = 1, wsrep = 0;
	int rc, found, locked = 0;

	c = xcalloc(1, sizeof(*c));
	ddl = xcalloc(1, sizeof(*ddl));
	mariadb_conn_deadline(m->timeout_ms, &deadline);
	if ((rc = mariadb_conn_connect(m, c, &deadline, 0, err)) != 0)
		goto done;
	mariadb_lock_name(m, "#schema", lname, sizeof(lname));
	rc = mariadb_lock_get(m, c, lname, m->timeout_ms >
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
	if (mariadb_schema_version(m, c, &version, err) == -1)
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
		mariadb_conn_deadline(m->timeout_ms, &deadline);
		if ((rc = mariadb_conn_connect(m, ddl, &deadline, 1,
		    err)) != 0)
			goto done;
		rc = STORE_ERROR;
		if (mariadb_schema_upgrade(m, ddl, version, err) == -1)
			goto done;
	}
	if (mariadb_schema_query_int(m, c, "SELECT "
	    "@@innodb_flush_log_at_trx_commit", "reading the settings", &flush,
	    &found, err) == -1)
		goto done;
	if (mariadb_schema_query_int(m, c, "SELECT @@wsrep_on",
	    "reading the settings", &wsrep, &found, err) == -1)
		wsrep = 0;	/* a server built without wsrep */
	if (flush != 1 && !wsrep)
		log_warnx("mariadb: %s: innodb_flush_log_at_trx_commit is "
		    "%lld, not 1: acknowledged writes may be lost in a crash",
		    m->redacted, flush);
	rc = STORE_OK;
done:
	if (rc != STORE_OK && c->err_no != 0 && mariadb_conn_kind(c->err_no) !=
	    KIND_FAIL)
		rc = STORE_UNAVAILABLE;
	if (rc != STORE_OK && ddl->err_no != 0 &&
	    mariadb_conn_kind(ddl->err_no) != KIND_FAIL)
		rc = STORE_UNAVAILABLE;
	/* Closing the session releases the schema lock. */
	(void)locked;
	mariadb_conn_disconnect(ddl);
	mariadb_conn_disconnect(c);
	free(ddl);
	free(c);
	return rc;
}
