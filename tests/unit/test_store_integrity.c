/*
 * test_store_integrity.c: what the store refuses: a wrong data key (the
 * key check row), rows swapped, copied to another table or malformed,
 * and database files that are too open, of a newer schema, not databases
 * or missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "../../store/store_internal.h"
#include "testutil.h"
#include "rowfix.h"

static int
setup(void **state)
{
	return rowfix_setup(state, "test_store_integrity");
}

#define WRONG_KEY_ERR "(its key check row does not authenticate): the " \
	"database belongs to another deployment, or was tampered with"

static void
reopen(struct fixture *f, const uint8_t key[32])
{
	store_close(f->st);
	f->st = rowfix_open_store(f, key);
}

static void
test_reopen_keys(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct rowfix_collect c;
	uint8_t other[32], *got;
	size_t glen;
	static const char *const one[] = { "n=value;" };

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "n", "value");
	reopen(f, f->key);
	rowfix_assert_get(f->st, "resource", "n", "value", 5);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	rowfix_assert_collected(&c, one, 1);

	/* A wrong key is refused at open by the key check row. */
	memcpy(other, f->key, sizeof(other));
	other[31] ^= 1;
	store_close(f->st);
	f->st = NULL;
	assert_null(store_open_key(&store_backend_sqlite, f->db, other, &err));
	assert_non_null(strstr(err.msg, WRONG_KEY_ERR));

	/* Without the check row (deleted behind our back), rows still do
	 * not open: list skips them; get hashes the name to another id and
	 * finds nothing. */
	testutil_db_exec(f->db, "DELETE FROM rows WHERE tbl = '_store'");
	f->st = rowfix_open_store(f, other);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(store_get(f->st, "resource", "n", &got, &glen, &err),
	    1);
	/* That open sealed a new check row under the other key, so now the
	 * right key is the one refused. */
	store_close(f->st);
	f->st = NULL;
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	assert_non_null(strstr(err.msg, WRONG_KEY_ERR));
}

static void
test_swapped_rows(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct rowfix_db_row rows[4];
	struct rowfix_collect c;

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "alpha", "value of alpha");
	rowfix_put_str(f->st, "resource", "beta", "value of beta");
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(rowfix_db_rows(f->db, rows, 4), 2);
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, rows[1].blob,
	    rows[1].len);
	rowfix_db_set_blob(f->db, "resource", rows[1].id, 32, rows[0].blob,
	    rows[0].len);

	f->st = rowfix_open_store(f, f->key);
	rowfix_assert_get_fails(f->st, "resource", "alpha", AUTH_ERR_RESOURCE);
	rowfix_assert_get_fails(f->st, "resource", "beta", AUTH_ERR_RESOURCE);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);
}

static void
test_copied_to_other_table(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct rowfix_db_row rows[4];
	struct rowfix_collect c;
	int i, res = -1, pol = -1;

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "n", "the secret");
	rowfix_put_str(f->st, "policy", "n", "harmless");
	store_close(f->st);
	f->st = NULL;

	/* Overwrite policy/n with resource/n's blob. */
	assert_int_equal(rowfix_db_rows(f->db, rows, 4), 2);
	for (i = 0; i < 2; i++) {
		if (strcmp(rows[i].tbl, "resource") == 0)
			res = i;
		else
			pol = i;
	}
	assert_true(res >= 0 && pol >= 0);
	rowfix_db_set_blob(f->db, "policy", rows[pol].id, 32, rows[res].blob,
	    rows[res].len);
	/* And a raw copy under the same id into a third table. */
	testutil_db_exec(f->db, "INSERT INTO rows(tbl, id, blob) SELECT 'audit', id, "
	    "blob FROM rows WHERE tbl = 'resource'");

	f->st = rowfix_open_store(f, f->key);
	rowfix_assert_get_fails(f->st, "policy", "n", "of table 'policy' "
	    "failed authentication (wrong data key or tampered database)");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "audit", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);
	rowfix_assert_get(f->st, "resource", "n", "the secret", 10);
}

static void
test_malformed_blobs(void **state)
{
	struct fixture *f = *state;
	struct rowfix_db_row rows[2];
	uint8_t b[4096];

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "n", "value");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(rowfix_db_rows(f->db, rows, 2), 1);

	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32,
	    (const uint8_t *)"\1", 1);
	f->st = rowfix_open_store(f, f->key);
	rowfix_assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' is truncated (1 bytes)");

	memcpy(b, rows[0].blob, (size_t)rows[0].len);
	b[0] = 3;
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	rowfix_assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' has unknown format version 3");

	/* The header's format is authenticated too: a format-2 row read as
	 * format 1 fails. */
	b[0] = 1;
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	rowfix_assert_get_fails(f->st, "resource", "n", AUTH_ERR_RESOURCE);

	/* A version that was never created: not loaded, not in _keys. */
	b[0] = 2;
	b[4] = 2;
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	rowfix_assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' is sealed under data key version 2, which "
	    "this deployment does not have");

	/* One flipped ciphertext bit. */
	b[4] = 1;
	b[40] ^= 0x04;
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	rowfix_assert_get_fails(f->st, "resource", "n", AUTH_ERR_RESOURCE);

	/* The version in the header is in the associated data: changing it
	 * to another loaded version is caught (covered by rotation tests:
	 * here only version 1 exists). */
	b[40] ^= 0x04;
	rowfix_db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	rowfix_assert_get(f->st, "resource", "n", "value", 5);
}

static void
test_db_file_checks(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char want[256];
	FILE *fp;

	/* A group/world readable file is refused before SQLite opens it. */
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(f->db, 0644), 0);
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	snprintf(want, sizeof(want), "%s: mode 0644 is too open", f->db);
	assert_non_null(strstr(err.msg, want));

	/* 0600 and empty: becomes a database. */
	assert_int_equal(chmod(f->db, 0600), 0);
	f->st = rowfix_open_store(f, f->key);
	store_close(f->st);
	f->st = NULL;

	/* A newer schema is left alone. */
	testutil_db_exec(f->db, "UPDATE meta SET v = 3 WHERE k = 'schema_version'");
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	snprintf(want, sizeof(want), "sqlite: %s: database schema version 3 "
	    "is newer than this trusteed supports (2)", f->db);
	assert_string_equal(err.msg, want);

	/* Not a database at all. */
	unlink(f->db);
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, but long enough to look at.\n"
	    "this is not an SQLite database, but long enough to look at.\n",
	    fp);
	fclose(fp);
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	assert_non_null(strstr(err.msg, "file is not a database"));

	/* Missing directory. */
	assert_null(store_open_key(&store_backend_sqlite, "/nonexistent/x.db",
	    f->key, &err));
	assert_string_equal(err.msg,
	    "sqlite: /nonexistent/x.db: No such file or directory");
	assert_null(store_open_key(&store_backend_sqlite, "", f->key, &err));
	assert_string_equal(err.msg, "sqlite: no database path");
	assert_null(store_open_key(NULL, f->db, f->key, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen_keys, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_swapped_rows, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_copied_to_other_table,
		    setup, rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_blobs, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_db_file_checks, setup,
		    rowfix_teardown),
	};

	log_init("test_store_integrity", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
