/*
 * test_backend_scan.c: the storage backend contract (store/backend.h) for
 * walking rows: scan order by (ord, id), cursors, ranges and limits,
 * ids_only, kv
 * filters, expiry, the all-tables scan, counts, and purge.
 * Runs on SQLite, and on MariaDB under
 * tests/integration/test_mariadb_backend.py (befix.h: the environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "befix.h"

/* Ordering by (ord, id), both directions, cursors, ranges, limits. */
static void
test_scan_order(void **state)
{
	struct fixture *f = *state;
	struct store_scan q;
	struct befix_seen s;
	unsigned i;

	/* ids 1..6 with ord 30, 10, 20, 10, 30, 20 */
	static const int64_t ords[] = { 30, 10, 20, 10, 30, 20 };
	for (i = 0; i < 6; i++)
		assert_int_equal(befix_put(f, "log", i + 1, ords[i], 0, 1, "v",
		    STORE_REV_ANY, NULL), STORE_OK);
	assert_int_equal(befix_put(f, "other", 9, 0, 0, 1, "v", STORE_REV_ANY,
	    NULL), STORE_OK);

	memset(&q, 0, sizeof(q));
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 6);
	{
		static const unsigned want[] = { 2, 4, 3, 6, 1, 5 };
		assert_memory_equal(s.ids, want, sizeof(want));
	}
	q.desc = 1;
	befix_scan(f, "log", &q, &s);
	{
		static const unsigned want[] = { 5, 1, 6, 3, 4, 2 };
		assert_memory_equal(s.ids, want, sizeof(want));
	}
	/* Pages of two, ascending, by cursor. */
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[1], 4);
	q.have_after = 1;
	q.after_ord = 10;
	befix_id(q.after_id, 4);
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
	assert_int_equal(s.ids[1], 6);
	/* Descending from a cursor. */
	q.desc = 1;
	q.after_ord = 20;
	befix_id(q.after_id, 3);
	q.limit = 0;
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 4);
	assert_int_equal(s.ids[1], 2);
	/* An ord range. */
	memset(&q, 0, sizeof(q));
	q.ord_range = 1;
	q.ord_min = 20;
	q.ord_max = 20;
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
	assert_int_equal(s.ids[1], 6);
	/* A callback may stop the walk. */
	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	{
		struct error err = { "" };
		assert_int_equal(f->be->scan(f->h, "log", &q, befix_seen_cb, &s,
		    &err), STORE_OK);
	}
	assert_int_equal(s.n, 3);
}

/* kv filters, expiry, the all-tables scan with its cursor, and counts. */
static void
test_scan_kv_live_all(void **state)
{
	struct fixture *f = *state;
	struct store_kv_count c[8];
	struct error err = { "" };
	struct store_scan q;
	struct befix_seen s;
	size_t n = 0;

	assert_int_equal(befix_put(f, "a", 1, 0, 0, 1, "v", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(befix_put(f, "a", 2, 0, 100, 2, "v", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(befix_put(f, "b", 3, 0, 0, 1, "v", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(befix_put(f, "b", 4, 0, 200, 3, "v", STORE_REV_ANY,
	    NULL), 0);

	memset(&q, 0, sizeof(q));
	q.kv_below = 2;
	befix_scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.tables[0], "a");
	assert_int_equal(s.ids[0], 1);
	assert_string_equal(s.tables[1], "b");
	assert_int_equal(s.ids[1], 3);

	memset(&q, 0, sizeof(q));
	q.live_only = 1;
	q.now_s = 150;		/* row 2 (exp 100) is dead, row 4 not */
	befix_scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 3);
	assert_int_equal(s.ids[2], 4);

	/* All tables, paged through the (table, ord, id) cursor. */
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	befix_scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 3);
	q.have_after = 1;
	snprintf(q.after_table, sizeof(q.after_table), "%s", s.tables[2]);
	q.after_ord = 0;
	befix_id(q.after_id, s.ids[2]);
	befix_scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.tables[0], "b");
	assert_int_equal(s.ids[0], 4);

	assert_int_equal(f->be->count(f->h, NULL, c, 8, &n, &err), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(c[0].kv, 1);
	assert_int_equal(c[0].rows, 2);
	assert_int_equal(c[1].kv, 2);
	assert_int_equal(c[1].rows, 1);
	assert_int_equal(c[2].kv, 3);
	assert_int_equal(c[2].rows, 1);
	assert_int_equal(f->be->count(f->h, "a", c, 8, &n, &err), STORE_OK);
	assert_int_equal(n, 2);
	/* max bounds the output, not the call */
	assert_int_equal(f->be->count(f->h, NULL, c, 1, &n, &err), STORE_OK);
	assert_int_equal(n, 1);
}

/* An ids_only row: its ord and blob length. */
struct ids_row {
	int64_t ord;
	size_t len;
	int n;
};

static int
ids_row_cb(const char *table, const struct store_row *row, void *arg)
{
	struct ids_row *got = arg;

	assert_string_equal(table, "log");
	assert_int_equal(row->id[STORE_ID_LEN - 1], 4);	/* ord 0: 4, 8, 12 */
	got->ord = row->ord;
	got->len = row->len;
	got->n++;
	return 0;
}

/* ids_only: the same rows in the same order and pages, with table, id
 * and ord, and no blob. */
static void
test_scan_ids_only(void **state)
{
	struct fixture *f = *state;
	struct store_scan q;
	struct befix_seen a, b;
	unsigned i;

	for (i = 1; i <= 12; i++)
		assert_int_equal(befix_put(f, "log", i, (int64_t)(i % 4) * 10,
		    0, 2, "a value of some length", STORE_REV_ANY, NULL),
		    STORE_OK);
	memset(&q, 0, sizeof(q));
	befix_scan(f, "log", &q, &a);
	q.ids_only = 1;
	befix_scan(f, "log", &q, &b);
	assert_int_equal(b.n, 12);
	assert_memory_equal(a.ids, b.ids, sizeof(a.ids));
	/* A descending page in a range, after a cursor. */
	q.desc = 1;
	q.limit = 3;
	q.ord_range = 1;
	q.ord_min = 10;
	q.ord_max = 30;
	q.have_after = 1;
	q.after_ord = 30;
	befix_id(q.after_id, 7);
	q.ids_only = 0;
	befix_scan(f, "log", &q, &a);
	q.ids_only = 1;
	befix_scan(f, "log", &q, &b);
	assert_int_equal(b.n, 3);
	assert_memory_equal(a.ids, b.ids, sizeof(a.ids));
	/* What an ids_only row holds. */
	memset(&q, 0, sizeof(q));
	q.ids_only = 1;
	q.limit = 1;
	{
		struct error err = { "" };
		struct ids_row got = { 0, 0, 0 };

		assert_int_equal(f->be->scan(f->h, "log", &q, ids_row_cb, &got,
		    &err), STORE_OK);
		assert_int_equal(got.n, 1);
		assert_int_equal(got.ord, 0);
		assert_int_equal(got.len, 0);
	}
}

/* Purge by expiry and by ord, bounded by limit. */
static void
test_purge(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_scan q;
	struct befix_seen s;
	size_t n = 0;
	unsigned i;

	for (i = 1; i <= 5; i++)	/* exp 10..50 */
		assert_int_equal(befix_put(f, "sess", i, 0, 10 * i, 1, "v",
		    STORE_REV_ANY, NULL), 0);
	assert_int_equal(befix_put(f, "sess", 6, 0, 0, 1, "v", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(f->be->purge(f->h, "sess", 30, INT64_MIN, 2, &n,
	    &err), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f->be->purge(f->h, "sess", 30, INT64_MIN, 100, &n,
	    &err), STORE_OK);
	assert_int_equal(n, 1);
	memset(&q, 0, sizeof(q));
	befix_scan(f, "sess", &q, &s);
	assert_int_equal(s.n, 3);	/* 4, 5 and the immortal 6 */

	for (i = 1; i <= 4; i++)
		assert_int_equal(befix_put(f, "log", i, 100 * i, 0, 1, "v",
		    STORE_REV_ANY, NULL), 0);
	assert_int_equal(f->be->purge(f->h, "log", 0, 300, 100, &n, &err),
	    STORE_OK);
	assert_int_equal(n, 2);
	befix_scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scan_order, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_kv_live_all,
		    befix_setup, befix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_ids_only, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_purge, befix_setup,
		    befix_teardown),
	};

	return befix_main("test_backend_scan", BEFIX_SQLITE | BEFIX_MARIADB,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
