/*
 * test_rotate.c: online data-key rotation (rotate.c) and following other
 * instances' writes (watch.c), on SQLite with the file sealer. Two store
 * handles opened without the daemon lock on one file play two instances
 * sharing a database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../store/store_internal.h"
#include "testutil.h"
#include "storefix.h"

#define NROWS 300

static int
setup(void **state)
{
	return storefix_setup(state, "test_rotate", 0, 100);
}

static void
put(struct store *st, const char *table, const char *name, const char *val)
{
	struct error err = { "" };

	if (store_put_ex(st, table, name, val, strlen(val), 7, 0,
	    STORE_REV_ANY, NULL, &err) != 0)
		fail_msg("put %s/%s: %s", table, name, err.msg);
}

static void
assert_value(struct store *st, const char *table, const char *name,
    const char *val)
{
	struct error err = { "" };
	uint8_t *got;
	size_t len;

	if (store_get(st, table, name, &got, &len, &err) != 0)
		fail_msg("get %s/%s: %s", table, name, err.msg);
	if (len != strlen(val) || memcmp(got, val, len) != 0)
		fail_msg("%s/%s: got '%.*s', want '%s'", table, name, (int)len,
		    (const char *)got, val);
	secret_free(got, len);
}

static void
fill(struct store *st, int n, const char *tag)
{
	static const char *const tables[] = { "resource", "policies",
	    "audit" };
	char name[32], val[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "row%d", i);
		snprintf(val, sizeof(val), "%s value %d", tag, i);
		put(st, tables[i % 3], name, val);
	}
}

static void
check_all(struct store *st, int n, const char *tag)
{
	static const char *const tables[] = { "resource", "policies",
	    "audit" };
	char name[32], val[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "row%d", i);
		snprintf(val, sizeof(val), "%s value %d", tag, i);
		assert_value(st, tables[i % 3], name, val);
	}
}

static uint64_t
rows_at(struct store *st, uint32_t v)
{
	struct store_key_status ks;
	struct error err = { "" };
	size_t i;

	if (store_key_status(st, &ks, &err) != 0)
		fail_msg("key status: %s", err.msg);
	for (i = 0; i < ks.nversions; i++)
		if (ks.versions[i].version == v)
			return ks.versions[i].rows;
	return 0;
}

/* Run rotation steps until done (bounded). */
static void
rotate_until_done(struct store *st)
{
	struct error err = { "" };
	int done = 0, i;

	for (i = 0; i < 2000 && !done; i++) {
		if (store_rotate_step(st, 100, &done, &err) < 0)
			fail_msg("rotate step: %s", err.msg);
		if (!done)
			usleep(2000);
	}
	assert_true(done);
}

static int
db_count(const char *db, const char *where)
{
	sqlite3 *h;
	sqlite3_stmt *stmt;
	char *sql = xasprintf("SELECT count(*) FROM rows WHERE %s", where);
	int n;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	free(sql);
	return n;
}

/* ----------------------------------------------------------- rotation */

static void
test_rotate_basic(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_key_status ks;
	uint32_t v;

	f->st = storefix_open(f);
	fill(f->st, NROWS, "first");
	assert_int_equal(rows_at(f->st, 1), NROWS);
	assert_int_equal(store_key_status(f->st, &ks, &err), 0);
	assert_string_equal(ks.state, "idle");
	assert_int_equal(ks.current, 1);
	assert_int_equal(ks.ninstances, 1);
	assert_int_equal(ks.instances[0].self, 1);
	assert_int_equal(ks.instances[0].live, 1);

	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	assert_int_equal(v, 2);
	/* A second rotation waits for the first to finish. */
	assert_int_equal(store_rotate(f->st, &v, &err), STORE_ERROR);
	assert_non_null(strstr(err.msg, "still in progress (300 rows"));
	/* New writes use version 2 at once; old rows still read. */
	put(f->st, "resource", "fresh", "new");
	assert_int_equal(rows_at(f->st, 2), 1);
	check_all(f->st, NROWS, "first");
	assert_int_equal(store_key_status(f->st, &ks, &err), 0);
	assert_int_equal(ks.current, 2);
	assert_int_equal(ks.oldest, 1);
	assert_string_not_equal(ks.state, "idle");
	assert_int_equal(ks.instances[0].loaded, 2);

	rotate_until_done(f->st);
	assert_int_equal(rows_at(f->st, 1), 0);
	assert_int_equal(rows_at(f->st, 2), NROWS + 1);
	assert_int_equal(store_key_status(f->st, &ks, &err), 0);
	assert_string_equal(ks.state, "idle");
	assert_int_equal(ks.oldest, 2);
	check_all(f->st, NROWS, "first");
	assert_value(f->st, "resource", "fresh", "new");

	/* Again: version 3, and version 2's wrapped key is deleted. */
	assert_int_equal(db_count(f->db, "tbl = '_keys'"), 2);
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	assert_int_equal(v, 3);
	rotate_until_done(f->st);
	assert_int_equal(rows_at(f->st, 3), NROWS + 1);
	/* v3's row and the floor row. */
	assert_int_equal(db_count(f->db, "tbl = '_keys'"), 2);
	assert_int_equal(db_count(f->db, "tbl = '_keys' AND id = "
	    "x'0000000000000000000000000000000000000000000000000000000000000002'"),
	    0);
	store_close(f->st);

	/* After a restart the floor and the current version are loaded. */
	f->o.create = 0;
	f->st = storefix_open(f);
	assert_int_equal(keyring_current(&f->st->kr), 3);
	assert_int_equal(keyring_floor(&f->st->kr), 3);
	check_all(f->st, NROWS, "first");
}

/* A row sealed under a dropped version is an integrity error. */
static void
test_dropped_version(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t *got;
	size_t len;
	uint32_t v;

	f->st = storefix_open(f);
	put(f->st, "resource", "a", "one");
	testutil_db_exec(f->db, "CREATE TABLE saved AS SELECT * FROM rows "
	    "WHERE tbl = 'resource'");
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	rotate_until_done(f->st);
	/* Put the version-1 row back, as an attacker (or a stale backup)
	 * would. */
	testutil_db_exec(f->db, "UPDATE rows SET blob = (SELECT blob FROM "
	    "saved), kv = 1 WHERE tbl = 'resource'");
	assert_int_equal(store_get(f->st, "resource", "a", &got, &len, &err),
	    STORE_CORRUPT);
	assert_non_null(strstr(err.msg, "of table 'resource' is sealed under "
	    "data key version 1, which was dropped"));
}

/* Writers racing the rotation worker: every row ends with its last
 * written value, under the new version. */
struct writer {
	struct store *st;
	int stop;
	int writes;
	char msg[512];
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	struct error err = { "" };
	char name[32], val[64];
	int i = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST)) {
		snprintf(name, sizeof(name), "row%d", (i * 3) % NROWS);
		snprintf(val, sizeof(val), "second value %d", (i * 3) % NROWS);
		if (store_put_ex(w->st, "resource", name, val, strlen(val), 7,
		    0, STORE_REV_ANY, NULL, &err) != 0) {
			snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
			break;
		}
		w->writes++;
		i++;
	}
	return NULL;
}

static void
test_rotate_concurrent_writes(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct writer w = { 0 };
	pthread_t t;
	char name[32], val[64];
	uint32_t v;
	int i;

	f->st = storefix_open(f);
	fill(f->st, NROWS, "first");
	w.st = f->st;
	assert_int_equal(pthread_create(&t, NULL, writer_run, &w), 0);
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	rotate_until_done(f->st);
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	if (w.msg[0] != '\0')
		fail_msg("writer: %s", w.msg);
	assert_true(w.writes > 0);
	assert_int_equal(rows_at(f->st, 1), 0);
	/* Rows the writer reached hold its value, the others the first. */
	for (i = 0; i < NROWS; i++) {
		snprintf(name, sizeof(name), "row%d", i);
		if (i % 3 == 0 && i / 3 < w.writes)
			snprintf(val, sizeof(val), "second value %d", i);
		else
			snprintf(val, sizeof(val), "first value %d", i);
		assert_value(f->st, i % 3 == 0 ? "resource" : i % 3 == 1 ?
		    "policies" : "audit", name, val);
	}
}

/* A row that fails authentication keeps its version alive until it is
 * dealt with; the status says so. */
static void
test_rotate_blocked_by_corrupt_row(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_key_status ks;
	int done = 0, i;
	uint32_t v;

	f->st = storefix_open(f);
	fill(f->st, 30, "first");
	testutil_db_exec(f->db, "UPDATE rows SET blob = substr(blob, 1, 40) || "
	    "CASE substr(blob, 41, 1) WHEN x'00' THEN x'ff' ELSE x'00' END || "
	    "substr(blob, 42) WHERE tbl = 'audit' AND id IN (SELECT id FROM "
	    "rows WHERE tbl = 'audit' LIMIT 1)");
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(store_rotate_step(f->st, 100, &done, &err), 0);
	assert_false(done);
	assert_int_equal(rows_at(f->st, 1), 1);
	assert_int_equal(store_key_status(f->st, &ks, &err), 0);
	assert_int_equal(ks.unreadable, 1);
	assert_string_equal(ks.state, "rotating");
	assert_non_null(strstr(ks.detail, "cannot be re-sealed"));
	/* Removing the bad row lets it finish. */
	testutil_db_exec(f->db, "DELETE FROM rows WHERE tbl = 'audit' AND "
	    "kv = 1");
	rotate_until_done(f->st);
}

static void
test_rotate_waits_for_instances(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_key_status ks;
	struct store_row row;
	uint8_t other[16], *blob;
	size_t len;
	int done = 0, i;
	uint32_t v;

	f->st = storefix_open(f);
	fill(f->st, 10, "first");
	/* Another live instance that has loaded version 1 only. */
	memset(other, 0x42, sizeof(other));
	instance_build(f->st->kr.m, other, 1, now_unix(), 1,
	    "file (other)", (const uint8_t *)"x", 1, &blob, &len);
	memset(&row, 0, sizeof(row));
	instance_row_id(other, row.id);
	row.blob = blob;
	row.len = len;
	assert_int_equal(f->st->be->put(f->st->handle, "_instances", &row,
	    STORE_REV_ANY, NULL, &err), 0);
	free(blob);

	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(store_rotate_step(f->st, 100, &done, &err), 0);
	assert_false(done);
	assert_int_equal(rows_at(f->st, 1), 0);	/* all re-sealed ... */
	assert_int_equal(store_key_status(f->st, &ks, &err), 0);
	assert_string_equal(ks.state, "waiting for instances");
	assert_non_null(strstr(ks.detail, "42424242424242424242424242424242"));
	assert_int_equal(keyring_floor(&f->st->kr), 1);	/* ... not dropped */

	/* It reports version 2: the drop goes ahead (after the grace). */
	instance_build(f->st->kr.m, other, 1, now_unix(), 2,
	    "file (other)", (const uint8_t *)"x", 1, &blob, &len);
	row.blob = blob;
	row.len = len;
	assert_int_equal(f->st->be->put(f->st->handle, "_instances", &row,
	    STORE_REV_ANY, NULL, &err), 0);
	free(blob);
	rotate_until_done(f->st);
	assert_int_equal(keyring_floor(&f->st->kr), 2);
}

/* With the background threads, a rotation completes by itself. */
static void
test_rotate_background(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_key_status ks;
	uint32_t v;
	int i;

	f->o.background = 1;
	f->st = storefix_open(f);
	fill(f->st, 300, "first");
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	for (i = 0; i < 500; i++) {
		assert_int_equal(store_key_status(f->st, &ks, &err), 0);
		if (strcmp(ks.state, "idle") == 0)
			break;
		usleep(20000);
	}
	assert_string_equal(ks.state, "idle");
	assert_int_equal(ks.oldest, 2);
	check_all(f->st, 300, "first");
}

/* -------------------------------------------------------------- watch */

struct seen {
	int calls;
	char table[40];
};

static void
watch_cb(const char *table, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	snprintf(s->table, sizeof(s->table), "%s", table);
}

static void
test_watch_two_instances(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct seen a = { 0 }, b = { 0 };
	uint32_t v;

	f->st = storefix_open(f);
	f->o.create = 0;
	f->st2 = storefix_open(f);	/* no daemon lock: a second instance */
	assert_int_equal(store_watch(f->st, "policies", watch_cb, &a, &err),
	    0);
	assert_int_equal(store_watch(f->st2, "policies", watch_cb, &b, &err),
	    0);

	/* B writes: A is told, B is not (its own write). */
	put(f->st2, "policies", "p", "text");
	store_poll(f->st);
	store_poll(f->st);
	store_poll(f->st2);
	store_poll(f->st2);
	assert_int_equal(a.calls, 1);
	assert_string_equal(a.table, "policies");
	assert_int_equal(b.calls, 0);
	/* Unwatched tables do not count. */
	put(f->st2, "resource", "r", "x");
	store_poll(f->st);
	assert_int_equal(a.calls, 1);
	/* Deletes too. */
	assert_int_equal(store_delete(f->st2, "policies", "p", &err), 0);
	store_poll(f->st);
	store_poll(f->st);
	assert_int_equal(a.calls, 2);

	/* A rotates: B reads A's new rows at once (it loads version 2 on
	 * meeting it), and takes it for its own writes after a poll. */
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	put(f->st, "resource", "fromA", "v2 row");
	assert_value(f->st2, "resource", "fromA", "v2 row");
	store_poll(f->st2);
	assert_int_equal(keyring_current(&f->st2->kr), 2);
	put(f->st2, "resource", "fromB", "b");
	assert_int_equal(rows_at(f->st, 2), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotate_basic, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_dropped_version, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_concurrent_writes,
		    setup,  storefix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rotate_blocked_by_corrupt_row, setup,  storefix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rotate_waits_for_instances, setup,  storefix_teardown),
		cmocka_unit_test_setup_teardown(test_rotate_background, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_watch_two_instances,
		    setup,  storefix_teardown),
	};

	log_init("test_rotate", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
