/*
 * test_backend_sqlite.c: what only the SQLite backend (store/backend.h)
 * does: one daemon per database file, an open that waits out a busy
 * lock or fails, the schema-1 migration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "befix.h"

/* A database another connection holds locked past the busy timeout: the
 * open fails (it may not go on without its schema check), and works once
 * the lock is gone. */
static void
test_sqlite_busy_open(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	sqlite3 *other;
	void *h = NULL;

	d.timeout_ms = 100;
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_true(f->be->open(&d, &h, &err) < 0);
	assert_null(h);
	assert_non_null(strstr(err.msg, "schema"));
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(f->be->open(&d, &h, &err), 0);
	f->be->close(h);
}

/* SQLite only: one daemon per embedded database. */
static void
test_sqlite_exclusive(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	void *h1 = NULL, *h2 = NULL;
	char want[64];

	d.exclusive = 1;
	assert_int_equal(f->be->open(&d, &h1, &err), 0);
	assert_int_equal(f->be->open(&d, &h2, &err), -1);
	assert_null(h2);
	assert_non_null(strstr(err.msg, "is in use by another trusteed"));
	snprintf(want, sizeof(want), "pid %ld", (long)getpid());
	assert_non_null(strstr(err.msg, want));
	f->be->close(h1);
	assert_int_equal(f->be->open(&d, &h2, &err), 0);
	f->be->close(h2);
}

/* SQLite only: a schema-1 database (rows(tbl, id, blob)) migrates. */
static void
test_sqlite_migrate_v1(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];

	f->be->close(f->h);
	f->h = NULL;
	unlink(f->path);
	testutil_db_exec(f->path, "CREATE TABLE meta(k TEXT PRIMARY KEY NOT "
	    "NULL, v INTEGER NOT NULL); INSERT INTO meta VALUES("
	    "'schema_version', 1); CREATE TABLE rows(tbl TEXT NOT NULL, id "
	    "BLOB NOT NULL, blob BLOB NOT NULL, PRIMARY KEY(tbl, id)) WITHOUT "
	    "ROWID; INSERT INTO rows VALUES('t', "
	    "x'0000000000000000000000000000000000000000000000000000000000000005'"
	    ", x'6f6c64')");
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), 0);
	befix_id(id, 5);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "old", 3);
	assert_int_equal(r.kv, 1);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
	assert_int_equal(befix_put(f, "t", 5, 0, 0, 2, "new", 1, NULL),
	    STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sqlite_exclusive,
		    befix_setup_sqlite, befix_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_busy_open,
		    befix_setup_sqlite, befix_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_migrate_v1,
		    befix_setup_sqlite, befix_teardown),
	};

	return befix_main("test_backend_sqlite", BEFIX_SQLITE,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
