/*
 * sqlite_schema.c: the SQLite backend's schema, created or migrated when
 * a handle opens (sqlite_schema_init).
 *
 * The database holds rows(tbl, id, blob, kv, ord, exp, rev) with the
 * indexes backend.h lists, meta(k, v) with schema_version, and gen(tbl,
 * n) for the tables' generation counters. A new database gets the
 * current schema; an older one is migrated forward one version at a
 * time; both in one IMMEDIATE transaction, so a second process opening
 * the file at the same moment waits and then finds the current version.
 * A database whose schema is newer than this build is refused and left
 * untouched. (tests/package/run.sh reads STORE_SQLITE_SCHEMA from this
 * file.)
 */
#include <sqlite3.h>

#include "../lib/log.h"
#include "sqlite_int.h"

#define STORE_SQLITE_SCHEMA	2

/*
 * Forward migrations: migrations[i] brings schema version i + 1 to
 * i + 2. Version 1 had rows(tbl, id, blob); every row in it was sealed
 * under data-key version 1.
 */
static const char *const sqlite_schema_migrations[] = {
	/* 1 -> 2 */
	"ALTER TABLE rows ADD COLUMN kv INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rows ADD COLUMN ord INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rows ADD COLUMN exp INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE rows ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;"
	"UPDATE rows SET kv = 1;",
};

static const char sqlite_schema_v2[] =
    "CREATE TABLE rows("
    " tbl TEXT NOT NULL,"
    " id BLOB NOT NULL,"
    " blob BLOB NOT NULL,"
    " kv INTEGER NOT NULL DEFAULT 0,"
    " ord INTEGER NOT NULL DEFAULT 0,"
    " exp INTEGER NOT NULL DEFAULT 0,"
    " rev INTEGER NOT NULL DEFAULT 1,"
    " PRIMARY KEY(tbl, id)) WITHOUT ROWID;";

/*
 * Indexes and tables every version >= 2 has (idempotent). The key-version
 * and expiry indexes end in ord, not in the primary key (whose id is a
 * keyed hash, so random): rows written in time order (the attestation
 * log, the audit trail) then append to these indexes instead of dirtying
 * a random page of each per row. Earlier releases' rows_kv and rows_exp
 * (the same columns ending in the id) are replaced.
 */
static const char sqlite_schema_common[] =
    "CREATE INDEX IF NOT EXISTS rows_ord ON rows(tbl, ord, id);"
    "DROP INDEX IF EXISTS rows_kv;"
    "DROP INDEX IF EXISTS rows_exp;"
    "CREATE INDEX IF NOT EXISTS rows_kv_ord ON rows(kv, tbl, ord);"
    "CREATE INDEX IF NOT EXISTS rows_exp_ord ON rows(tbl, exp, ord);"
    "CREATE TABLE IF NOT EXISTS gen("
    " tbl TEXT PRIMARY KEY NOT NULL,"
    " n INTEGER NOT NULL);";

/* 0 and the version; a database without a meta table is new (0). */
static int
sqlite_schema_version(struct store_sqlite *s, sqlite3_int64 *version,
    struct error *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*version = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'meta'", -1, &stmt, NULL) !=
	    SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return sqlite_conn_fail(s, "reading the schema", err);
	}
	rc = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == 0)
		return 0;
	if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_version'", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return sqlite_conn_fail(s, "reading the schema version", err);
	}
	*version = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

/*
 * Create the schema, or migrate an older one forward, in one IMMEDIATE
 * transaction: a second process opening the file at the same moment
 * waits, then finds the current version. A newer database is left
 * untouched.
 */
int
sqlite_schema_init(struct store_sqlite *s, struct error *err)
{
	sqlite3_int64 version = 0;
	char *sql;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sqlite_conn_fail(s, "starting schema transaction", err);
	if (sqlite_schema_version(s, &version, err) != 0)
		goto fail;
	if (version > STORE_SQLITE_SCHEMA) {
		error_set(err, "sqlite: %s: database schema version %lld is "
		    "newer than this trusteed supports (%d)", s->path,
		    (long long)version, STORE_SQLITE_SCHEMA);
		goto fail;
	}
	if (version == 0) {
		if (sqlite3_exec(s->db, "CREATE TABLE meta("
		    " k TEXT PRIMARY KEY NOT NULL, v INTEGER NOT NULL);",
		    NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, sqlite_schema_v2, NULL, NULL,
		    NULL) != SQLITE_OK) {
			sqlite_conn_fail(s, "creating the schema", err);
			goto fail;
		}
	} else {
		for (; version < STORE_SQLITE_SCHEMA; version++) {
			if (sqlite3_exec(s->db,
			    sqlite_schema_migrations[version - 1], NULL, NULL,
			    NULL) != SQLITE_OK) {
				sqlite_conn_fail(s, "migrating the schema",
				    err);
				goto fail;
			}
			log_info("sqlite: %s: schema migrated to version %lld",
			    s->path, (long long)version + 1);
		}
	}
	sql = sqlite3_mprintf("%s INSERT INTO meta(k, v) "
	    "VALUES('schema_version', %d) ON CONFLICT(k) DO UPDATE SET "
	    "v = excluded.v;", sqlite_schema_common,
	    STORE_SQLITE_SCHEMA);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		sqlite_conn_fail(s, "creating the schema", err);
		goto fail;
	}
	sqlite3_free(sql);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite_conn_fail(s, "committing the schema", err);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
