/*
 * test_backend.c: the storage backend contract (store/backend.h), one set
 * of cases run against every backend: SQLite always, MariaDB when
 * $TRUSTEE_TEST_MARIADB_DSN names a private server the test harness
 * started (see tests/integration/mariadb.py); a missing server fails
 * under CI=true and is skipped otherwise.
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

#include "../../lib/log.h"
#include "../../store/backend.h"
#include "testutil.h"

struct fixture {
	const struct store_backend *be;
	struct store_dsn dsn;
	char dir[64];
	char path[128];
	void *h;
};

static void
id_of(uint8_t id[STORE_ID_LEN], unsigned n)
{
	memset(id, 0, STORE_ID_LEN);
	id[STORE_ID_LEN - 2] = (uint8_t)(n >> 8);
	id[STORE_ID_LEN - 1] = (uint8_t)n;
}

static int
put(struct fixture *f, const char *table, unsigned n, int64_t ord,
    int64_t exp, uint32_t kv, const char *blob, uint64_t expect,
    uint64_t *rev)
{
	struct store_row r = { .kv = kv, .ord = ord, .exp = exp,
	    .blob = (const uint8_t *)blob, .len = strlen(blob) };
	struct error err = { "" };
	int rc;

	id_of(r.id, n);
	rc = f->be->put(f->h, table, &r, expect, rev, &err);
	if (rc < 0)
		print_error("put: %s\n", err.msg);
	return rc;
}

/* The scan callback collects the low id bytes in visiting order. */
struct seen {
	unsigned ids[64];
	char tables[64][STORE_TABLE_MAX + 1];
	size_t n;
	size_t stop_after;
};

static int
seen_cb(const char *table, const struct store_row *row, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64) {
		s->ids[s->n] = (unsigned)row->id[STORE_ID_LEN - 2] << 8 |
		    row->id[STORE_ID_LEN - 1];
		snprintf(s->tables[s->n], sizeof(s->tables[s->n]), "%s",
		    table);
	}
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

static void
scan(struct fixture *f, const char *table, const struct store_scan *q,
    struct seen *s)
{
	struct error err = { "" };

	memset(s, 0, sizeof(*s));
	if (f->be->scan(f->h, table, q, seen_cb, s, &err) != STORE_OK)
		fail_msg("scan: %s", err.msg);
}

static int
setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err = { "" };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_backend.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp");
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	f->be = &store_backend_sqlite;
	f->dsn.scheme = "sqlite";
	f->dsn.path = f->path;
	f->dsn.timeout_ms = 2000;
	f->dsn.redacted = f->path;
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	f->be->close(f->h);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Upsert, insert-only and compare-and-swap puts, with revisions. */
static void
test_put_get_rev(void **state)
{
	struct fixture *f = *state;
	struct store_row r;
	struct error err = { "" };
	uint8_t id[STORE_ID_LEN];
	uint64_t rev = 0;

	assert_int_equal(put(f, "t", 1, 5, 0, 1, "one", STORE_REV_ANY, &rev),
	    STORE_OK);
	assert_int_equal(rev, 1);
	assert_int_equal(put(f, "t", 1, 6, 0, 2, "two", STORE_REV_ANY, &rev),
	    STORE_OK);
	assert_int_equal(rev, 2);
	/* Insert-only on an existing row: the condition fails. */
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "x", STORE_REV_ABSENT, &rev),
	    STORE_ABSENT);
	assert_int_equal(put(f, "t", 2, 0, 0, 1, "new", STORE_REV_ABSENT,
	    &rev), STORE_OK);
	assert_int_equal(rev, 1);
	/* CAS with a stale and with the current revision. */
	assert_int_equal(put(f, "t", 1, 7, 9, 3, "three", 1, &rev),
	    STORE_ABSENT);
	assert_int_equal(put(f, "t", 1, 7, 9, 3, "three", 2, &rev), STORE_OK);
	assert_int_equal(rev, 3);
	/* CAS on an absent row fails too. */
	assert_int_equal(put(f, "t", 3, 0, 0, 1, "x", 1, NULL), STORE_ABSENT);

	id_of(id, 1);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.blob, "three", 5);
	assert_int_equal(r.kv, 3);
	assert_int_equal(r.ord, 7);
	assert_int_equal(r.exp, 9);
	assert_int_equal(r.rev, 3);
	free((void *)r.blob);
	/* The same id in another table is another row. */
	assert_int_equal(f->be->get(f->h, "u", id, &r, &err), STORE_ABSENT);
	id_of(id, 3);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_ABSENT);
}

/* Unconditional and revision-checked deletes: exactly one of two
 * deleters of the same revision wins. */
static void
test_delete(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t id[STORE_ID_LEN];
	uint64_t rev = 0;

	id_of(id, 1);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_ABSENT);
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "a", STORE_REV_ANY, &rev),
	    STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, rev + 1, &err),
	    STORE_ABSENT);
	assert_int_equal(f->be->del(f->h, "t", id, rev, &err), STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, rev, &err), STORE_ABSENT);
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "a", STORE_REV_ANY, NULL),
	    STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_OK);
}

/* Ordering by (ord, id), both directions, cursors, ranges, limits. */
static void
test_scan_order(void **state)
{
	struct fixture *f = *state;
	struct store_scan q;
	struct seen s;
	unsigned i;

	/* ids 1..6 with ord 30, 10, 20, 10, 30, 20 */
	static const int64_t ords[] = { 30, 10, 20, 10, 30, 20 };
	for (i = 0; i < 6; i++)
		assert_int_equal(put(f, "log", i + 1, ords[i], 0, 1, "v",
		    STORE_REV_ANY, NULL), STORE_OK);
	assert_int_equal(put(f, "other", 9, 0, 0, 1, "v", STORE_REV_ANY,
	    NULL), STORE_OK);

	memset(&q, 0, sizeof(q));
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 6);
	{
		static const unsigned want[] = { 2, 4, 3, 6, 1, 5 };
		assert_memory_equal(s.ids, want, sizeof(want));
	}
	q.desc = 1;
	scan(f, "log", &q, &s);
	{
		static const unsigned want[] = { 5, 1, 6, 3, 4, 2 };
		assert_memory_equal(s.ids, want, sizeof(want));
	}
	/* Pages of two, ascending, by cursor. */
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[1], 4);
	q.have_after = 1;
	q.after_ord = 10;
	id_of(q.after_id, 4);
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
	assert_int_equal(s.ids[1], 6);
	/* Descending from a cursor. */
	q.desc = 1;
	q.after_ord = 20;
	id_of(q.after_id, 3);
	q.limit = 0;
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 4);
	assert_int_equal(s.ids[1], 2);
	/* An ord range. */
	memset(&q, 0, sizeof(q));
	q.ord_range = 1;
	q.ord_min = 20;
	q.ord_max = 20;
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
	assert_int_equal(s.ids[1], 6);
	/* A callback may stop the walk. */
	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	{
		struct error err = { "" };
		assert_int_equal(f->be->scan(f->h, "log", &q, seen_cb, &s,
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
	struct seen s;
	size_t n = 0;

	assert_int_equal(put(f, "a", 1, 0, 0, 1, "v", STORE_REV_ANY, NULL), 0);
	assert_int_equal(put(f, "a", 2, 0, 100, 2, "v", STORE_REV_ANY, NULL),
	    0);
	assert_int_equal(put(f, "b", 3, 0, 0, 1, "v", STORE_REV_ANY, NULL), 0);
	assert_int_equal(put(f, "b", 4, 0, 200, 3, "v", STORE_REV_ANY, NULL),
	    0);

	memset(&q, 0, sizeof(q));
	q.kv_below = 2;
	scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.tables[0], "a");
	assert_int_equal(s.ids[0], 1);
	assert_string_equal(s.tables[1], "b");
	assert_int_equal(s.ids[1], 3);

	memset(&q, 0, sizeof(q));
	q.live_only = 1;
	q.now_s = 150;		/* row 2 (exp 100) is dead, row 4 not */
	scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 3);
	assert_int_equal(s.ids[2], 4);

	/* All tables, paged through the (table, ord, id) cursor. */
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	scan(f, NULL, &q, &s);
	assert_int_equal(s.n, 3);
	q.have_after = 1;
	snprintf(q.after_table, sizeof(q.after_table), "%s", s.tables[2]);
	q.after_ord = 0;
	id_of(q.after_id, s.ids[2]);
	scan(f, NULL, &q, &s);
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

/* Purge by expiry and by ord, bounded by limit. */
static void
test_purge(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_scan q;
	struct seen s;
	size_t n = 0;
	unsigned i;

	for (i = 1; i <= 5; i++)	/* exp 10..50 */
		assert_int_equal(put(f, "sess", i, 0, 10 * i, 1, "v",
		    STORE_REV_ANY, NULL), 0);
	assert_int_equal(put(f, "sess", 6, 0, 0, 1, "v", STORE_REV_ANY, NULL),
	    0);
	assert_int_equal(f->be->purge(f->h, "sess", 30, INT64_MIN, 2, &n,
	    &err), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f->be->purge(f->h, "sess", 30, INT64_MIN, 100, &n,
	    &err), STORE_OK);
	assert_int_equal(n, 1);
	memset(&q, 0, sizeof(q));
	scan(f, "sess", &q, &s);
	assert_int_equal(s.n, 3);	/* 4, 5 and the immortal 6 */

	for (i = 1; i <= 4; i++)
		assert_int_equal(put(f, "log", i, 100 * i, 0, 1, "v",
		    STORE_REV_ANY, NULL), 0);
	assert_int_equal(f->be->purge(f->h, "log", 0, 300, 100, &n, &err),
	    STORE_OK);
	assert_int_equal(n, 2);
	scan(f, "log", &q, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
}

static void
test_generations(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint64_t g = 99;

	assert_int_equal(f->be->gen_get(f->h, "policies", &g, &err), STORE_OK);
	assert_int_equal(g, 0);
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_OK);
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_OK);
	assert_int_equal(f->be->gen_get(f->h, "policies", &g, &err), STORE_OK);
	assert_int_equal(g, 2);
	assert_int_equal(f->be->gen_get(f->h, "rv", &g, &err), STORE_OK);
	assert_int_equal(g, 0);
}

struct lock_arg {
	struct fixture *f;
	int rc;
};

static void *
lock_thread(void *p)
{
	struct lock_arg *a = p;
	struct error err = { "" };

	a->rc = a->f->be->lock(a->f->h, "rotate", 100, &err);
	if (a->rc == STORE_OK)
		a->f->be->unlock(a->f->h, "rotate");
	return NULL;
}

/* A held named lock is busy for everyone else until released. */
static void
test_lock(void **state)
{
	struct fixture *f = *state;
	struct lock_arg a = { f, -9 };
	struct error err = { "" };
	pthread_t t;

	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);
	pthread_create(&t, NULL, lock_thread, &a);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, STORE_ABSENT);
	f->be->unlock(f->h, "rotate");
	pthread_create(&t, NULL, lock_thread, &a);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, STORE_OK);
}

/* Durable across close and reopen; the schema is not re-created. */
static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];

	assert_int_equal(put(f, "t", 7, 1, 2, 3, "kept", STORE_REV_ANY, NULL),
	    0);
	f->be->close(f->h);
	f->h = NULL;
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), 0);
	id_of(id, 7);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "kept", 4);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
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
	id_of(id, 5);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "old", 3);
	assert_int_equal(r.kv, 1);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
	assert_int_equal(put(f, "t", 5, 0, 0, 2, "new", 1, NULL), STORE_OK);
}

#define BACKEND_TESTS(setup) \
	cmocka_unit_test_setup_teardown(test_put_get_rev, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_delete, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_scan_order, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_scan_kv_live_all, setup, \
	    teardown), \
	cmocka_unit_test_setup_teardown(test_purge, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_generations, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_lock, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_reopen, setup, teardown)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		BACKEND_TESTS(setup_sqlite),
		cmocka_unit_test_setup_teardown(test_sqlite_exclusive,
		    setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_migrate_v1,
		    setup_sqlite, teardown),
	};

	log_init("test_backend", LOG_LVL_ERROR);
	return cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
}
