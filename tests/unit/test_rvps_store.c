/*
 * test_rvps_store.c: the RVPS on the encrypted store: records persist
 * across a reopen with their rows encrypted, rows written by another
 * trusteed sharing the store are picked up by a reload (a damaged one is
 * reported), and a store failure midway through a registration restores
 * the rows already written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/b64.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "rvpsfix.h"

static int
setup(void **state)
{
	return rvpsfix_setup(state, "test_rvps_store");
}

static void
test_persistence(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec;

	rvpsfix_add_ok("p/one", "[1]", 0);
	rvpsfix_add_ok("p/one", "[2]", 0);
	rvpsfix_add_ok("p:two", "\"t\"", now + 50);
	assert_int_equal(rvps_revoke("p:two", "bob", "why", &err), 0);

	rvps_shutdown();
	assert_null(rvps_query("p/one", now));	/* nothing loaded */
	assert_int_equal(rvps_add("x", json_true(), 0, NULL, NULL, &err), -1);
	rvpsfix_assert_msg(&err, "not open");
	store_close(f->st);
	f->st = rvpsfix_open_store(f);
	assert_int_equal(rvps_init(f->st, &err), 0);

	rvpsfix_assert_query("p/one", now, "[2]");
	rvpsfix_assert_query("p:two", now, NULL);
	assert_int_equal(rvps_get("p:two", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "state"), "revoked");
	assert_int_equal(rvpsfix_time_member(rec, "expiration"), now + 50);
	json_decref(rec);
	rvpsfix_add_ok("p/one", "[3]", 0);
	assert_int_equal(rvps_get("p/one", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    3);
	json_decref(rec);
	assert_int_equal(rvpsfix_count_records(now), 2);

	/* the rows are encrypted: no name or value in the database file */
	{
		uint8_t *db = NULL;
		size_t len = 0;

		rvps_shutdown();
		store_close(f->st);
		assert_int_equal(file_read_all(f->db, 64 << 20, &db, &len,
		    &err), 0);
		assert_null(memmem(db, len, "p/one", 5));
		assert_null(memmem(db, len, "p:two", 5));
		free(db);
		f->st = rvpsfix_open_store(f);
		assert_int_equal(rvps_init(f->st, &err), 0);
	}
}

/* Rows written by another trusteed sharing the store are picked up by a
 * reload (rvps_list, rvps_reload); a damaged row is reported. */
static void
test_store_is_truth(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	int64_t now = now_unix();
	const char *row = "{\"name\":\"ext\",\"version\":4,\"value\":[\"e\"],"
	    "\"created\":\"2024-01-01T00:00:00Z\",\"expiration\":"
	    "\"9000-01-01T00:00:00Z\",\"added_by\":\"peer\",\"revoked\":null}";
	json_t *list;

	rvpsfix_add_ok("own", "1", 0);
	assert_int_equal(store_put(f->st, "rv", "ext", row, strlen(row),
	    &err), 0);
	rvpsfix_assert_query("ext", now, NULL);	/* not yet seen */
	assert_int_equal(rvps_reload(&err), 0);
	rvpsfix_assert_query("ext", now, "[\"e\"]");
	rvpsfix_add_ok("ext", "[\"f\"]", 0);	/* continues its versions */
	assert_int_equal(rvps_list(now, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(list, 0), "version")), 5);
	json_decref(list);

	/* revoked elsewhere: seen after rvps_list */
	row = "{\"name\":\"own\",\"version\":1,\"value\":1,\"created\":"
	    "\"2024-01-01T00:00:00Z\",\"expiration\":\"9000-01-01T00:00:00Z\","
	    "\"added_by\":\"\",\"revoked\":{\"by\":\"peer\",\"at\":"
	    "\"2024-01-02T00:00:00Z\",\"reason\":\"r\"}}";
	assert_int_equal(store_put(f->st, "rv", "own", row, strlen(row),
	    &err), 0);
	rvpsfix_assert_query("own", now, "1");
	assert_int_equal(rvps_list(now, &list, &err), 0);
	json_decref(list);
	rvpsfix_assert_query("own", now, NULL);

	/* a malformed row: the reload fails, naming it; queries go on */
	row = "{\"name\":\"bad\",\"version\":0}";
	assert_int_equal(store_put(f->st, "rv", "bad", row, strlen(row),
	    &err), 0);
	assert_int_equal(rvps_reload(&err), -1);
	rvpsfix_assert_msg(&err, "'bad'");
	rvpsfix_assert_msg(&err, "version");
	rvpsfix_assert_query("ext", now, "[\"f\"]");
	/* a row under another name */
	row = "{\"name\":\"zzz\",\"version\":1,\"value\":1,\"created\":"
	    "\"2024-01-01T00:00:00Z\",\"expiration\":\"9000-01-01T00:00:00Z\","
	    "\"added_by\":\"\",\"revoked\":null}";
	assert_int_equal(store_put(f->st, "rv", "bad", row, strlen(row),
	    &err), 0);
	assert_int_equal(rvps_reload(&err), -1);
	rvpsfix_assert_msg(&err, "another name");
	assert_int_equal(store_delete(f->st, "rv", "bad", &err), 0);
	assert_int_equal(rvps_reload(&err), 0);
}

/* A store failure midway through a registration restores the rows
 * already written: the database refuses the second history row. */
static void
test_rollback(void **state)
{
	struct fixture *f = *state;
	const char *payload = "{\"a\":2,\"b\":3,\"c\":4}";
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;
	char *env;

	rvpsfix_add_ok("a", "1", 0);
	testutil_db_exec(f->db, "CREATE TRIGGER boom BEFORE INSERT ON rows WHEN "
	    "NEW.tbl = 'rv_history' AND (SELECT count(*) FROM rows WHERE "
	    "tbl = 'rv_history') >= 2 BEGIN SELECT RAISE(ABORT, 'boom'); "
	    "END;");
	env = rvpsfix_envelope(NULL, "sample", payload, strlen(payload),
	    B64_STD);
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), -1);
	rvpsfix_assert_msg(&err, "storing 'b' failed (nothing was stored)");
	rvpsfix_assert_msg(&err, "boom");
	rvpsfix_assert_query("a", now, "1");
	rvpsfix_assert_query("b", now, NULL);
	assert_int_equal(rvps_reload(&err), 0);	/* the store agrees */
	rvpsfix_assert_query("a", now, "1");
	rvpsfix_assert_query("b", now, NULL);
	assert_int_equal(rvps_get("a", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	json_decref(rec);
	assert_int_equal(rvps_get("b", now, &rec, &err), 1);
	assert_int_equal(rvps_history("a", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 1);
	json_decref(hist);
	assert_int_equal(rvps_history("b", now, &hist, &err), 1);

	testutil_db_exec(f->db, "DROP TRIGGER boom;");
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), 0);
	free(env);
	rvpsfix_assert_query("a", now, "2");
	rvpsfix_assert_query("c", now, "4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_persistence, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_store_is_truth, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup,
		    rvpsfix_teardown),
	};

	log_init("test_rvps_store", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
