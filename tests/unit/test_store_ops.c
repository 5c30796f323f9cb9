/*
 * test_store_ops.c: the store's operations over SQLite: put, get and
 * delete round trips of any bytes, tables kept apart, store_list and its
 * callback, table and row name rules, store_get2 (each row on its own),
 * the backend table, and two threads using one handle.
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
	return rowfix_setup(state, "test_store_ops");
}

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	static const uint8_t bin[] = { 0, 1, 2, 0, 0xff, 0x80, 0 };
	uint8_t *got;
	size_t glen;
	struct stat sb;

	f->st = rowfix_open_store(f, f->key);
	/* Created 0600. */
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(store_get(f->st, "resource", "a/b/c", &got, &glen,
	    &err), 1);
	assert_null(got);
	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 1);

	rowfix_put_str(f->st, "resource", "a/b/c", "first value");
	rowfix_assert_get(f->st, "resource", "a/b/c", "first value", 11);
	rowfix_put_str(f->st, "resource", "a/b/c", "second");
	rowfix_assert_get(f->st, "resource", "a/b/c", "second", 6);

	/* Binary values with NULs, and an empty value. */
	assert_int_equal(store_put(f->st, "resource", "bin", bin, sizeof(bin),
	    &err), 0);
	rowfix_assert_get(f->st, "resource", "bin", bin, sizeof(bin));
	assert_int_equal(store_put(f->st, "resource", "empty", NULL, 0, &err),
	    0);
	rowfix_assert_get(f->st, "resource", "empty", "", 0);

	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 0);
	assert_int_equal(store_get(f->st, "resource", "a/b/c", &got, &glen,
	    &err), 1);
	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 1);
	rowfix_assert_get(f->st, "resource", "bin", bin, sizeof(bin));
}

static void
test_tables_isolated(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t *got;
	size_t glen;

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "same", "in resource");
	rowfix_put_str(f->st, "policy", "same", "in policy");
	rowfix_assert_get(f->st, "resource", "same", "in resource", 11);
	rowfix_assert_get(f->st, "policy", "same", "in policy", 9);
	assert_int_equal(store_get(f->st, "session", "same", &got, &glen,
	    &err), 1);
	assert_int_equal(store_delete(f->st, "policy", "same", &err), 0);
	rowfix_assert_get(f->st, "resource", "same", "in resource", 11);
}

static void
test_list(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct rowfix_collect c;
	static const char *const all[] = { "k1=v1;", "dir/k2=v2;",
	    "k3=;" };

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "k1", "v1");
	rowfix_put_str(f->st, "resource", "dir/k2", "v2");
	rowfix_put_str(f->st, "resource", "k3", "");
	rowfix_put_str(f->st, "policy", "p", "policy text");

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	rowfix_assert_collected(&c, all, 3);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "users", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);

	/* A non-zero return stops the walk without an error. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 2);

	/* The callback may use the store (no lock held). */
	memset(&c, 0, sizeof(c));
	c.st = f->st;
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);
	rowfix_assert_get(f->st, "policy", "p", "policy text", 11);
}

static void
test_validation(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char name[1100];
	uint8_t *got;
	size_t glen;

	f->st = rowfix_open_store(f, f->key);
	assert_int_equal(store_put(f->st, "", "n", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: empty table name");
	assert_int_equal(store_put(f->st, "Resource", "n", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: invalid table name 'Resource' "
	    "(want [a-z_]{1,32})");
	assert_int_equal(store_get(f->st, "a-b", "n", &got, &glen, &err), -1);
	assert_int_equal(store_delete(f->st, "a b", "n", &err), -1);
	assert_int_equal(store_list(f->st, "x1", rowfix_collect_cb, NULL,
	    &err), -1);
	assert_int_equal(store_list(f->st, "_store", rowfix_collect_cb, NULL,
	    &err), -1);
	assert_string_equal(err.msg, "store: table name '_store' is reserved");
	/* 32 characters pass, 33 do not. */
	rowfix_put_str(f->st, "abcdefghijklmnopqrstuvwxyz_abcde", "n", "v");
	assert_int_equal(store_put(f->st, "abcdefghijklmnopqrstuvwxyz_abcdef",
	    "n", "v", 1, &err), -1);

	assert_int_equal(store_put(f->st, "resource", "", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: empty row name");
	memset(name, 'n', sizeof(name));
	name[1024] = '\0';
	rowfix_put_str(f->st, "resource", name, "long name");
	rowfix_assert_get(f->st, "resource", name, "long name", 9);
	name[1024] = 'n';
	name[1025] = '\0';
	assert_int_equal(store_put(f->st, "resource", name, "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: row name longer than 1024 bytes");
	/* Names are bytes, not text. */
	rowfix_put_str(f->st, "resource", "\x01\xff\xfe/\n", "odd");
	rowfix_assert_get(f->st, "resource", "\x01\xff\xfe/\n", "odd", 3);
}

/* store_get2 (on SQLite: the two reads of store_get): each row found,
 * absent or failing on its own; err names the failing one. */
static void
test_get2(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct rowfix_db_row rows[4];
	const char *t[2] = { "resource", "policy" };
	const char *n[2] = { "alpha", "alpha" };
	char ha[STORE_ID_HEX_LEN + 1], hb[STORE_ID_HEX_LEN + 1];
	uint8_t *v[2];
	size_t l[2];
	int rc[2], i, nrows, a = -1, b = -1;

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "alpha", "value of alpha");
	rowfix_put_str(f->st, "policy", "alpha", "policy alpha");
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 0);
	assert_int_equal(l[0], 14);
	assert_memory_equal(v[0], "value of alpha", 14);
	assert_int_equal(l[1], 12);
	assert_memory_equal(v[1], "policy alpha", 12);
	secret_free(v[0], l[0]);
	secret_free(v[1], l[1]);
	n[1] = "beta";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 1);
	assert_null(v[1]);
	secret_free(v[0], l[0]);
	/* Invalid arguments: nothing is read. */
	n[1] = "";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), STORE_ERROR);
	assert_null(v[0]);
	/* A row that fails authentication fails alone, and err says so:
	 * beta's row gets alpha's blob. */
	rowfix_put_str(f->st, "resource", "beta", "value of beta");
	assert_int_equal(store_row_id_hex(f->st, "resource", "alpha", ha,
	    &err), 0);
	assert_int_equal(store_row_id_hex(f->st, "resource", "beta", hb,
	    &err), 0);
	store_close(f->st);
	f->st = NULL;
	nrows = rowfix_db_rows(f->db, rows, 4);
	for (i = 0; i < nrows; i++) {
		char hex[65];

		hex_encode(rows[i].id, 32, hex);
		if (strcmp(hex, ha) == 0)
			a = i;
		if (strcmp(hex, hb) == 0)
			b = i;
	}
	assert_true(a >= 0 && b >= 0);
	rowfix_db_set_blob(f->db, "resource", rows[b].id, 32, rows[a].blob,
	    rows[a].len);
	f->st = rowfix_open_store(f, f->key);
	t[0] = t[1] = "resource";
	n[0] = "alpha";
	n[1] = "beta";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_memory_equal(v[0], "value of alpha", 14);
	secret_free(v[0], l[0]);
	assert_int_equal(rc[1], STORE_CORRUPT);
	assert_null(v[1]);
	assert_non_null(strstr(err.msg, AUTH_ERR_RESOURCE));
	assert_non_null(strstr(err.msg, hb));
}

static void
test_backend_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(store_backend_lookup("sqlite"), &store_backend_sqlite);
	assert_null(store_backend_lookup("mariadb-typo"));
	assert_null(store_backend_lookup(""));
	assert_null(store_backend_lookup(NULL));
}

struct worker {
	struct store *st;
	int id;
	int errors;
	char msg[512];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct error err = { "" };
	char name[64], val[64];
	uint8_t *got;
	size_t glen;
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "thread%d/row%d", w->id, i % 500);
		snprintf(val, sizeof(val), "value %d of thread %d", i, w->id);
		if (store_put(w->st, "session", name, val, strlen(val),
		    &err) != 0 ||
		    store_get(w->st, "session", name, &got, &glen, &err) != 0) {
			w->errors++;
			snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
			continue;
		}
		if (glen != strlen(val) || memcmp(got, val, glen) != 0)
			w->errors++;
		secret_free(got, glen);
	}
	return NULL;
}

static int
count_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	(void)name;
	(void)val;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_concurrency(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct worker w[2];
	pthread_t t[2];
	int i, rows = 0;

	f->st = rowfix_open_store(f, f->key);
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = f->st;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (w[i].errors != 0)
			fail_msg("thread %d: %d errors, last: %s", i,
			    w[i].errors, w[i].msg);
	}
	assert_int_equal(store_list(f->st, "session", count_cb, &rows, &err),
	    0);
	assert_int_equal(rows, 1000);
	rowfix_assert_get(f->st, "session", "thread1/row499",
	    "value 1999 of thread 1", 22);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_tables_isolated, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_list, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_get2, setup,
		    rowfix_teardown),
		cmocka_unit_test(test_backend_lookup),
		cmocka_unit_test_setup_teardown(test_concurrency, setup,
		    rowfix_teardown),
	};

	log_init("test_store_ops", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
