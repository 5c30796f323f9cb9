/*
 * test_backend.c: the storage backend contract (store/backend.h), one set
 * of cases run against every backend: SQLite always, MariaDB when
 * $TRUSTEE_TEST_MARIADB_DSN names a private server the test harness
 * started (tests/integration/test_mariadb_backend.py does, through
 * tests/integration/mariadb.py; CI runs that suite, whose prerequisites
 * fail under CI=true). Without the variable the MariaDB groups say
 * SKIPPED and are not counted.
 *
 * Environment (MariaDB):
 *   TRUSTEE_TEST_MARIADB_DSN   "socket=PATH;user=U;database=PREFIX" or
 *                              "host=H;port=N;user=U;database=PREFIX":
 *                              every case creates a fresh database
 *                              PREFIX_<pid>_<n> (the user needs CREATE
 *                              and DROP on it) and drops it afterwards;
 *                              ";app_user=A" names a second account with
 *                              only SELECT, INSERT, UPDATE and DELETE
 *                              there (same password)
 *   TRUSTEE_TEST_MARIADB_PASSWORD_FILE  the user's password (one line)
 *   TRUSTEE_TEST_MARIADB_CTL   a command that takes "stop", "start",
 *                              "freeze" or "thaw" for the server (the
 *                              outage cases are skipped without it)
 *   TRUSTEE_TEST_MARIADB_GALERA  three such DSNs separated by spaces,
 *                              one per node of a Galera cluster
 *   TRUSTEE_TEST_MARIADB_GALERA_CTL  as _CTL, taking "stop N", "kill N",
 *                              "start N" (node N counts from 1) and
 *                              "wait 1" (until the running nodes form
 *                              the cluster)
 *   TRUSTEE_TEST_BACKENDS      which groups run: a comma list of sqlite,
 *                              mariadb, galera (default: all)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../store/backend.h"
#include "testutil.h"

/* A MariaDB server as TRUSTEE_TEST_MARIADB_DSN describes it. */
struct mdb_conf {
	char *user;
	char *host;
	unsigned port;
	char *socket;
	char *prefix;		/* of the per-test database names */
	char *app_user;		/* only SELECT, INSERT, UPDATE, DELETE */
};

struct fixture {
	const struct store_backend *be;
	struct store_dsn dsn;
	char dir[64];
	char path[128];
	void *h;
	const struct mdb_conf *conf;	/* MariaDB: the server */
	char db[65];			/* MariaDB: this case's database */
	char redacted[320];
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

static void mdb_teardown(struct fixture *f);

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	f->be->close(f->h);
	if (f->conf != NULL) {
		mdb_teardown(f);
		free(f);
		return 0;
	}
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

/* get2, where the backend has it (MariaDB; SQLite leaves it to store.c):
 * two rows in one statement, each found or absent on its own, the same
 * id in two tables told apart, the same row asked for twice. */
static void
test_get2(void **state)
{
	struct fixture *f = *state;
	struct store_row r[2];
	struct error err = { "" };
	uint8_t a[STORE_ID_LEN], b[STORE_ID_LEN];
	const char *t[2];
	const uint8_t *ids[2];
	int found[2], i;

	if (f->be->get2 == NULL) {
		assert_string_equal(f->be->name, "sqlite");
		return;
	}
	assert_int_equal(put(f, "t", 1, 5, 0, 1, "one", STORE_REV_ANY, NULL),
	    STORE_OK);
	assert_int_equal(put(f, "u", 1, 6, 0, 1, "uno", STORE_REV_ANY, NULL),
	    STORE_OK);
	assert_int_equal(put(f, "t", 2, 7, 0, 2, "two", STORE_REV_ANY, NULL),
	    STORE_OK);
	id_of(a, 1);
	id_of(b, 2);
	/* t/2 and u/1 (listed in either order by the statement). */
	t[0] = "t";
	ids[0] = b;
	t[1] = "u";
	ids[1] = a;
	assert_int_equal(f->be->get2(f->h, t, ids, r, found, &err), STORE_OK);
	assert_true(found[0] && found[1]);
	assert_int_equal(r[0].len, 3);
	assert_memory_equal(r[0].blob, "two", 3);
	assert_int_equal(r[0].ord, 7);
	assert_int_equal(r[0].kv, 2);
	assert_memory_equal(r[1].blob, "uno", 3);
	assert_int_equal(r[1].ord, 6);
	for (i = 0; i < 2; i++)
		free((void *)r[i].blob);
	/* One absent: u/2. */
	ids[1] = b;
	assert_int_equal(f->be->get2(f->h, t, ids, r, found, &err), STORE_OK);
	assert_true(found[0] && !found[1]);
	assert_memory_equal(r[0].blob, "two", 3);
	assert_null(r[1].blob);
	free((void *)r[0].blob);
	/* Both absent. */
	t[0] = "v";
	assert_int_equal(f->be->get2(f->h, t, ids, r, found, &err), STORE_OK);
	assert_true(!found[0] && !found[1]);
	/* The same row twice: two copies. */
	t[0] = t[1] = "t";
	ids[0] = ids[1] = a;
	assert_int_equal(f->be->get2(f->h, t, ids, r, found, &err), STORE_OK);
	assert_true(found[0] && found[1]);
	assert_ptr_not_equal(r[0].blob, r[1].blob);
	for (i = 0; i < 2; i++) {
		assert_memory_equal(r[i].blob, "one", 3);
		free((void *)r[i].blob);
	}
}

/* put_many: n upserts in one transaction, each readable after, revisions
 * counted like single puts (an existing row is updated). */
static void
test_put_many(void **state)
{
	struct fixture *f = *state;
	struct store_row rows[40], r;
	struct error err = { "" };
	char text[40][16];
	size_t i;

	if (f->be->put_many == NULL)
		skip();
	assert_int_equal(put(f, "t", 3, 0, 0, 1, "old", STORE_REV_ANY, NULL),
	    STORE_OK);
	memset(rows, 0, sizeof(rows));
	for (i = 0; i < 40; i++) {
		snprintf(text[i], sizeof(text[i]), "row %zu", i);
		id_of(rows[i].id, (unsigned)i);
		rows[i].kv = 1;
		rows[i].ord = (int64_t)i;
		rows[i].blob = (const uint8_t *)text[i];
		rows[i].len = strlen(text[i]);
	}
	assert_int_equal(f->be->put_many(f->h, "t", rows, 0, &err), STORE_OK);
	assert_int_equal(f->be->put_many(f->h, "t", rows, 40, &err), STORE_OK);
	for (i = 0; i < 40; i++) {
		assert_int_equal(f->be->get(f->h, "t", rows[i].id, &r, &err),
		    STORE_OK);
		assert_int_equal(r.len, strlen(text[i]));
		assert_memory_equal(r.blob, text[i], r.len);
		assert_int_equal(r.ord, (int64_t)i);
		assert_int_equal(r.rev, i == 3 ? 2 : 1);
		free((void *)r.blob);
	}
	/* The same rows again: updates, all in one commit. */
	assert_int_equal(f->be->put_many(f->h, "t", rows, 40, &err), STORE_OK);
	assert_int_equal(f->be->get(f->h, "t", rows[0].id, &r, &err), STORE_OK);
	assert_int_equal(r.rev, 2);
	free((void *)r.blob);

	/* Rows large enough that MariaDB splits the batch (a 1 MiB
	 * statement: one row alone, then three in one statement), and one
	 * id twice: its second occurrence updates it, as a second put
	 * would. */
	{
		static uint8_t big[3][700 * 1024];
		struct store_row b[5];

		memset(b, 0, sizeof(b));
		for (i = 0; i < 3; i++) {
			memset(big[i], 'a' + (int)i, sizeof(big[i]));
			id_of(b[i].id, 100 + (unsigned)i);
			b[i].kv = 2;
			b[i].ord = 50 + (int64_t)i;
			b[i].exp = 77;
			b[i].blob = big[i];
			b[i].len = sizeof(big[i]);
		}
		id_of(b[3].id, 200);
		b[3].blob = (const uint8_t *)"first";
		b[3].len = 5;
		b[4] = b[3];
		b[4].ord = 9;
		b[4].blob = (const uint8_t *)"second";
		b[4].len = 6;
		assert_int_equal(f->be->put_many(f->h, "t", b, 5, &err),
		    STORE_OK);
		for (i = 0; i < 3; i++) {
			assert_int_equal(f->be->get(f->h, "t", b[i].id, &r,
			    &err), STORE_OK);
			assert_int_equal(r.len, sizeof(big[i]));
			assert_memory_equal(r.blob, big[i], r.len);
			assert_int_equal(r.kv, 2);
			assert_int_equal(r.ord, 50 + (int64_t)i);
			assert_int_equal(r.exp, 77);
			assert_int_equal(r.rev, 1);
			free((void *)r.blob);
		}
		assert_int_equal(f->be->get(f->h, "t", b[4].id, &r, &err),
		    STORE_OK);
		assert_int_equal(r.len, 6);
		assert_memory_equal(r.blob, "second", 6);
		assert_int_equal(r.ord, 9);
		assert_int_equal(r.rev, 2);
		free((void *)r.blob);
	}
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

/* Holders noted less than ms ago, other than holder. */
static uint64_t
holders(struct fixture *f, void *h, const char *holder, int64_t ms)
{
	struct error err = { "" };
	uint64_t n = 99;

	if (f->be->holder(h, STORE_HOLDER_OTHERS, holder, ms, &n, &err) !=
	    STORE_OK)
		fail_msg("holders: %s", err.msg);
	return n;
}

static void
holder_do(struct fixture *f, void *h, enum store_holder_op op,
    const char *holder, int64_t ms)
{
	struct error err = { "" };

	if (f->be->holder(h, op, holder, ms, NULL, &err) != STORE_OK)
		fail_msg("holder %d %s: %s", (int)op, holder, err.msg);
}

/*
 * The registry of lease holders (store/lease.c): a note counts for the
 * others, not for its holder; a note older than the window asked for
 * does not count; a drop forgets it; a beat with ms > 0 also forgets
 * every note older than ms. Generations are not holders.
 */
static void
test_holders(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	assert_non_null(f->be->holder);
	assert_int_equal(holders(f, f->h, "lease:a", 30000), 0);
	holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:a", 0);
	holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:a", 0);
	assert_int_equal(f->be->gen_bump(f->h, "resource_data", &err), 0);
	assert_int_equal(holders(f, f->h, "lease:a", 30000), 0);
	assert_int_equal(holders(f, f->h, "lease:b", 30000), 1);
	holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:b", 0);
	assert_int_equal(holders(f, f->h, "lease:a", 30000), 1);
	assert_int_equal(holders(f, f->h, "lease:c", 30000), 2);
	usleep(300000);
	assert_int_equal(holders(f, f->h, "lease:c", 100), 0);
	holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:c", 100);
	assert_int_equal(holders(f, f->h, "lease:z", 30000), 1);
	holder_do(f, f->h, STORE_HOLDER_DROP, "lease:c", 0);
	assert_int_equal(holders(f, f->h, "lease:z", 30000), 0);
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

/* ------------------------------------------------------------- MariaDB */

static struct mdb_conf mdb_server;	/* TRUSTEE_TEST_MARIADB_DSN */
static struct mdb_conf mdb_nodes[3];	/* TRUSTEE_TEST_MARIADB_GALERA */
static char *mdb_password;
static unsigned mdb_seq;
static int mdb_down;			/* an outage case left it down */

/* Parse "k=v;k=v" (user, host, port, socket, database); 0 or -1. */
static int
mdb_parse(const char *text, struct mdb_conf *c)
{
	char *copy = xstrdup(text), *save = NULL, *kv, *v;
	long port;

	memset(c, 0, sizeof(*c));
	for (kv = strtok_r(copy, ";", &save); kv != NULL;
	    kv = strtok_r(NULL, ";", &save)) {
		if ((v = strchr(kv, '=')) == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(kv, "user") == 0)
			c->user = xstrdup(v);
		else if (strcmp(kv, "host") == 0)
			c->host = xstrdup(v);
		else if (strcmp(kv, "socket") == 0)
			c->socket = xstrdup(v);
		else if (strcmp(kv, "database") == 0)
			c->prefix = xstrdup(v);
		else if (strcmp(kv, "app_user") == 0)
			c->app_user = xstrdup(v);
		else if (strcmp(kv, "port") == 0) {
			errno = 0;
			port = strtol(v, NULL, 10);
			if (errno != 0 || port <= 0 || port > 65535)
				goto bad;
			c->port = (unsigned)port;
		} else
			goto bad;
	}
	free(copy);
	if (c->user == NULL || c->prefix == NULL || strlen(c->prefix) > 40 ||
	    (c->socket == NULL && c->host == NULL))
		return -1;
	return 0;
bad:
	free(copy);
	return -1;
}

/* The password from TRUSTEE_TEST_MARIADB_PASSWORD_FILE (or NULL). */
static void
mdb_read_password(void)
{
	const char *pf = getenv("TRUSTEE_TEST_MARIADB_PASSWORD_FILE");
	struct error err = { "" };
	uint8_t *data = NULL;
	size_t len = 0;

	if (pf == NULL || pf[0] == '\0')
		return;
	if (file_read_all(pf, 4096, &data, &len, &err) != 0) {
		fprintf(stderr, "test_backend: %s\n", err.msg);
		exit(1);
	}
	data[strcspn((char *)data, "\r\n")] = '\0';
	mdb_password = (char *)data;
}

/* A raw client connection to c (database db, or none). */
static MYSQL *
mdb_connect(const struct mdb_conf *c, const char *db)
{
	MYSQL *my = mysql_init(NULL);
	unsigned int t = 10;

	assert_non_null(my);
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &t);
	if (mysql_real_connect(my, c->socket != NULL ? "localhost" : c->host,
	    c->user, mdb_password, db, c->port, c->socket, 0) == NULL)
		fail_msg("mariadb: connecting as %s: %s", c->user,
		    mysql_error(my));
	return my;
}

/* Run SQL statements (one at a time) on database db of c. */
static void
mdb_exec(const struct mdb_conf *c, const char *db, const char *sql)
{
	MYSQL *my = mdb_connect(c, db);

	if (mysql_query(my, sql) != 0)
		fail_msg("mariadb: %s: %s", sql, mysql_error(my));
	mysql_close(my);
}

/* The integer a query returns; -1 for no row or NULL. */
static long long
mdb_value(const struct mdb_conf *c, const char *db, const char *sql)
{
	MYSQL *my = mdb_connect(c, db);
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	long long v = -1;

	if (mysql_query(my, sql) != 0 || (res = mysql_store_result(my)) ==
	    NULL)
		fail_msg("mariadb: %s: %s", sql, mysql_error(my));
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(res);
	mysql_close(my);
	return v;
}

/* Run the harness command in $var with an argument. */
static void
mdb_ctl(const char *var, const char *action)
{
	const char *ctl = getenv(var);
	char *cmd;

	if (ctl == NULL || ctl[0] == '\0')
		fail_msg("%s is not set", var);
	cmd = xasprintf("%s %s", ctl, action);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
	free(cmd);
}

/* Fill f's DSN for a fresh database on c (created, not opened). */
static void
mdb_fixture(struct fixture *f, const struct mdb_conf *c, const char *db)
{
	char sql[128];

	f->be = &store_backend_mariadb;
	f->conf = c;
	if (db != NULL)
		snprintf(f->db, sizeof(f->db), "%s", db);
	else {
		snprintf(f->db, sizeof(f->db), "%s_%ld_%u", c->prefix,
		    (long)getpid(), ++mdb_seq);
		snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", f->db);
		mdb_exec(c, NULL, sql);
	}
	f->dsn.scheme = "mariadb";
	f->dsn.user = c->user;
	f->dsn.host = c->host;
	f->dsn.port = c->port;
	f->dsn.socket = c->socket;
	f->dsn.database = f->db;
	f->dsn.password = mdb_password;
	f->dsn.timeout_ms = 3000;
	if (c->socket != NULL)
		snprintf(f->redacted, sizeof(f->redacted),
		    "mariadb://%s@localhost/%s?socket=%s", c->user, f->db,
		    c->socket);
	else
		snprintf(f->redacted, sizeof(f->redacted),
		    "mariadb://%s@%s:%u/%s", c->user, c->host, c->port, f->db);
	f->dsn.redacted = f->redacted;
}

static void
mdb_teardown(struct fixture *f)
{
	char sql[128];

	if (mdb_down) {
		mdb_down = 0;
		mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "thaw");
		mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "start");
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->db);
	mdb_exec(f->conf, NULL, sql);
}

static int
setup_mariadb_raw(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	mdb_fixture(f, &mdb_server, NULL);
	*state = f;
	return 0;
}

static int
setup_mariadb(void **state)
{
	struct fixture *f;
	struct error err = { "" };

	setup_mariadb_raw(state);
	f = *state;
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open: %s", err.msg);
	return 0;
}

struct race {
	struct fixture *f;
	pthread_barrier_t *start;
	int op;			/* 0 CAS put, 1 CAS delete, 2 insert, 3 bump */
	uint64_t rev;
	void *h;		/* another handle, or NULL for f->h */
	int rc;
};

static void *
race_thread(void *p)
{
	struct race *r = p;
	struct store_row row = { .kv = 1, .blob = (const uint8_t *)"w",
	    .len = 1 };
	struct error err = { "" };
	void *h = r->h != NULL ? r->h : r->f->h;
	int i;

	id_of(row.id, 1);
	pthread_barrier_wait(r->start);
	switch (r->op) {
	case 0:
		r->rc = r->f->be->put(h, "t", &row, r->rev, NULL, &err);
		break;
	case 1:
		r->rc = r->f->be->del(h, "t", row.id, r->rev, &err);
		break;
	case 2:
		id_of(row.id, 2);
		r->rc = r->f->be->put(h, "t", &row, STORE_REV_ABSENT, NULL,
		    &err);
		break;
	default:
		for (i = 0, r->rc = 0; i < 10 && r->rc == 0; i++)
			r->rc = r->f->be->gen_bump(h, "g", &err);
	}
	if (r->rc < 0)
		print_error("race: %s\n", err.msg);
	return NULL;
}

/* Run n racers of one kind; returns how many got STORE_OK (and fails on
 * anything but OK or ABSENT). hs: the handles, alternating. */
static int
race(struct fixture *f, int op, uint64_t rev, void **hs, int nh, int n)
{
	pthread_t t[16];
	struct race r[16];
	pthread_barrier_t b;
	int i, won = 0;

	assert_true(n <= 16);
	pthread_barrier_init(&b, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		r[i] = (struct race){ f, &b, op, rev, hs[i % nh], -9 };
		pthread_create(&t[i], NULL, race_thread, &r[i]);
	}
	/* Join them all before any assertion leaves this function. */
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
	for (i = 0; i < n; i++) {
		assert_in_range(r[i].rc, STORE_OK, STORE_ABSENT);
		won += r[i].rc == STORE_OK;
	}
	return won;
}

/* Compare-and-swap under contention: of 16 threads (each on its own
 * pooled connection) with the same expected revision exactly one wins. */
static void
test_mariadb_cas_threads(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev = 0, g = 0;
	void *h = NULL;

	assert_int_equal(put(f, "t", 1, 0, 0, 1, "v", STORE_REV_ANY, &rev), 0);
	assert_int_equal(race(f, 0, rev, &h, 1, 16), 1);
	id_of(id, 1);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_int_equal(r.rev, rev + 1);
	free((void *)r.blob);
	/* One insert of a new row, one delete of a revision. */
	assert_int_equal(race(f, 2, 0, &h, 1, 16), 1);
	assert_int_equal(race(f, 1, rev + 1, &h, 1, 16), 1);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_ABSENT);
	/* 16 threads x 10 bumps: no lost increment. */
	assert_int_equal(race(f, 3, 0, &h, 1, 16), 16);
	assert_int_equal(f->be->gen_get(f->h, "g", &g, &err), STORE_OK);
	assert_int_equal(g, 160);
}

struct opener {
	struct fixture *f;
	pthread_barrier_t *start;
	void *h;
	int rc;
	struct error err;
};

static void *
opener_thread(void *p)
{
	struct opener *o = p;

	pthread_barrier_wait(o->start);
	o->rc = o->f->be->open(&o->f->dsn, &o->h, &o->err);
	return NULL;
}

/* Four handles opened at once; each must succeed. */
static void
open_together(struct fixture *f)
{
	struct opener o[4];
	pthread_t t[4];
	pthread_barrier_t b;
	int i;

	pthread_barrier_init(&b, NULL, 4);
	for (i = 0; i < 4; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].f = f;
		o[i].start = &b;
		pthread_create(&t[i], NULL, opener_thread, &o[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		if (o[i].rc != 0)
			fail_msg("open %d: %s", i, o[i].err.msg);
		f->be->close(o[i].h);
	}
	pthread_barrier_destroy(&b);
}

/* Instances starting together on an empty database create the schema
 * once (meta counts schema changes). */
static void
test_mariadb_create_once(void **state)
{
	struct fixture *f = *state;

	open_together(f);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_version'"), 2);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_changes'"), 1);
	/* Every table has a primary key and is InnoDB (Galera). */
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES t WHERE TABLE_SCHEMA = DATABASE() AND "
	    "(ENGINE <> 'InnoDB' OR NOT EXISTS (SELECT 1 FROM "
	    "information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = "
	    "t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND "
	    "c.CONSTRAINT_TYPE = 'PRIMARY KEY'))"), 0);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"), 3);
}

/* A schema-1 database (rows(tbl, id, blob)) migrates once when four
 * instances start together; its row keeps its bytes, kv 1, rev 1. */
static void
test_mariadb_migrate_v1_once(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];

	mdb_exec(f->conf, f->db, "CREATE TABLE meta (k VARCHAR(64) NOT NULL "
	    "PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB");
	mdb_exec(f->conf, f->db, "INSERT INTO meta VALUES ('schema_version', "
	    "1)");
	mdb_exec(f->conf, f->db, "CREATE TABLE `rows` (tbl VARCHAR(32) "
	    "CHARACTER SET ascii COLLATE ascii_bin NOT NULL, id BINARY(32) "
	    "NOT NULL, `blob` LONGBLOB NOT NULL, PRIMARY KEY (tbl, id)) "
	    "ENGINE=InnoDB");
	mdb_exec(f->conf, f->db, "INSERT INTO `rows` VALUES ('t', "
	    "x'0000000000000000000000000000000000000000000000000000000000000005'"
	    ", x'6f6c64')");
	open_together(f);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_version'"), 2);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT v FROM meta WHERE "
	    "k = 'schema_changes'"), 1);
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), 0);
	id_of(id, 5);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.blob, "old", 3);
	assert_int_equal(r.kv, 1);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
	assert_int_equal(put(f, "t", 5, 0, 0, 2, "new", 1, NULL), STORE_OK);
	assert_int_equal(f->be->gen_bump(f->h, "t", &err), STORE_OK);
}

/* A schema newer than this build: refused, nothing changed. */
static void
test_mariadb_newer_refused(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	mdb_exec(f->conf, f->db, "CREATE TABLE meta (k VARCHAR(64) NOT NULL "
	    "PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB");
	mdb_exec(f->conf, f->db, "INSERT INTO meta VALUES ('schema_version', "
	    "3)");
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), STORE_ERROR);
	assert_null(f->h);
	assert_non_null(strstr(err.msg, "newer than this trusteed supports"));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"), 1);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "meta"), 1);
	assert_int_equal(mdb_value(f->conf, f->db, "SELECT v FROM meta"), 3);
}

/* Errors name the backend and the redacted DSN, never the password; a
 * wrong password, an unknown database or a failing statement is an
 * error, not "unavailable". */
static void
test_mariadb_errors(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	void *h = NULL;

	d.password = "not-the-password";
	assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
	assert_null(h);
	assert_non_null(strstr(err.msg, "mariadb: "));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_null(strstr(err.msg, "not-the-password"));
	if (mdb_password != NULL && mdb_password[0] != '\0')
		assert_null(strstr(err.msg, mdb_password));
	d.password = mdb_password;
	d.database = "trustee_no_such_database";
	assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
	assert_non_null(strstr(err.msg, "trustee_no_such_database"));
	/* A statement that fails: an error (not "unavailable") naming the
	 * operation and the table. */
	mdb_exec(f->conf, f->db, "DROP TABLE gen");
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_ERROR);
	assert_non_null(strstr(err.msg, "generation bump of table 'policies'"));
	assert_non_null(strstr(err.msg, f->redacted));
	/* The connection is still good. */
	assert_int_equal(put(f, "t", 2, 0, 0, 1, "ok", STORE_REV_ANY, NULL), 0);
}

/* A daemon account without DDL privileges: refused clearly on an empty
 * database, and everything works once the schema exists. */
static void
test_mariadb_least_privilege(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	void *h = NULL;
	char fresh[80];

	if (f->conf->app_user == NULL) {
		print_message("no app_user in TRUSTEE_TEST_MARIADB_DSN\n");
		skip();
	}
	d.user = f->conf->app_user;
	/* The schema exists (setup opened it with the owner account). */
	assert_int_equal(f->be->open(&d, &h, &err), 0);
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "by owner", STORE_REV_ANY,
	    NULL), 0);
	id_of(id, 1);
	assert_int_equal(f->be->get(h, "t", id, &r, &err), STORE_OK);
	free((void *)r.blob);
	r.blob = (const uint8_t *)"by app";
	r.len = 6;
	assert_int_equal(f->be->put(h, "t", &r, 1, NULL, &err), STORE_OK);
	assert_int_equal(f->be->gen_bump(h, "t", &err), STORE_OK);
	assert_int_equal(f->be->lock(h, "rotate", 100, &err), STORE_OK);
	f->be->unlock(h, "rotate");
	assert_int_equal(f->be->del(h, "t", id, 2, &err), STORE_OK);
	f->be->close(h);
	h = NULL;
	/* An empty database: creating the schema needs CREATE. */
	snprintf(fresh, sizeof(fresh), "%s_x", f->db);
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", fresh);
		mdb_exec(f->conf, NULL, sql);
		d.database = fresh;
		assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
		assert_null(h);
		assert_non_null(strstr(err.msg, "creating the schema"));
		assert_non_null(strstr(err.msg, "denied"));
		snprintf(sql, sizeof(sql), "DROP DATABASE `%s`", fresh);
		mdb_exec(f->conf, NULL, sql);
	}
}

/* The server stops: every call answers STORE_UNAVAILABLE (none hangs);
 * it comes back: the same handle works again without reopening, also
 * for a lock held across the outage. Then the same with a server that
 * hangs (SIGSTOP), which only the timeouts can notice. */
static void
test_mariadb_outage(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	struct store_scan q;
	struct seen s;
	uint8_t id[STORE_ID_LEN];
	uint64_t g;

	if (getenv("TRUSTEE_TEST_MARIADB_CTL") == NULL) {
		print_message("TRUSTEE_TEST_MARIADB_CTL is not set\n");
		skip();
	}
	id_of(id, 1);
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "before", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);

	mdb_down = 1;
	mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "stop");
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err),
	    STORE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "mariadb: "));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_int_equal(put(f, "t", 2, 0, 0, 1, "x", STORE_REV_ANY, NULL),
	    STORE_UNAVAILABLE);
	assert_int_equal(put(f, "t", 2, 0, 0, 1, "x", 1, NULL),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->del(f->h, "t", id, 1, &err),
	    STORE_UNAVAILABLE);
	memset(&q, 0, sizeof(q));
	assert_int_equal(f->be->scan(f->h, "t", &q, seen_cb, &s, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->gen_get(f->h, "t", &g, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->lock(f->h, "other", 100, &err),
	    STORE_UNAVAILABLE);
	f->be->unlock(f->h, "rotate");	/* lost with its session anyway */

	mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "start");
	mdb_down = 0;
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "before", 6);
	free((void *)r.blob);
	assert_int_equal(put(f, "t", 1, 0, 0, 1, "after", 1, NULL), STORE_OK);
	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);
	f->be->unlock(f->h, "rotate");

	/* A hung server: the read timeout answers, then it thaws. */
	mdb_down = 1;
	mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "freeze");
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(put(f, "t", 3, 0, 0, 1, "x", STORE_REV_ABSENT, NULL),
	    STORE_UNAVAILABLE);
	mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "thaw");
	mdb_down = 0;
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "after", 5);
	assert_int_equal(r.rev, 2);
	free((void *)r.blob);
}

/* ------------------------------------------------------------- Galera */

/* Node 1 and node 2 of the cluster, one handle each, on one database. */
static int
setup_galera(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err = { "" };

	mdb_fixture(f, &mdb_nodes[0], NULL);
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open on node 1: %s", err.msg);
	*state = f;
	return 0;
}

static void *
galera_open(struct fixture *f, int node)
{
	struct fixture g;
	struct error err = { "" };
	void *h = NULL;

	memset(&g, 0, sizeof(g));
	mdb_fixture(&g, &mdb_nodes[node], f->db);
	if (f->be->open(&g.dsn, &h, &err) != 0)
		fail_msg("open on node %d: %s", node + 1, err.msg);
	return h;
}

static uint64_t
galera_read(struct fixture *f, void *h, unsigned n, const char *want)
{
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev;

	id_of(id, n);
	if (f->be->get(h, "t", id, &r, &err) != STORE_OK)
		fail_msg("get %u: %s", n, err.msg);
	assert_int_equal(r.len, strlen(want));
	assert_memory_equal(r.blob, want, r.len);
	rev = r.rev;
	free((void *)r.blob);
	return rev;
}

static int
galera_put(struct fixture *f, void *h, unsigned n, const char *blob,
    uint64_t expect)
{
	struct store_row r = { .kv = 1, .blob = (const uint8_t *)blob,
	    .len = strlen(blob) };
	struct error err = { "" };
	int rc;

	id_of(r.id, n);
	rc = f->be->put(h, "t", &r, expect, NULL, &err);
	if (rc < 0)
		print_error("put on %p: %s\n", h, err.msg);
	return rc;
}

/*
 * Writes on one node are read on another; compare-and-swap from two
 * nodes at once has one winner; a node killed (kill -9) and another
 * stopped: the handles on the surviving nodes keep working, the handle
 * on a stopped node answers STORE_UNAVAILABLE and works again, without
 * reopening, once its node has rejoined (and sees what it missed).
 */
static void
test_galera_nodes(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	void *h2 = galera_open(f, 1), *hs[2] = { f->h, h2 };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev, g = 0;
	unsigned i;
	int rc;

	assert_int_equal(galera_put(f, f->h, 1, "one", STORE_REV_ANY), 0);
	rev = galera_read(f, h2, 1, "one");
	assert_int_equal(rev, 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(race(f, 0, rev + i, hs, 2, 8), 1);
	rev = galera_read(f, f->h, 1, "w");
	assert_int_equal(rev, 6);
	assert_int_equal(race(f, 2, 0, hs, 2, 8), 1);
	assert_int_equal(race(f, 3, 0, hs, 2, 8), 8);
	assert_int_equal(f->be->gen_get(h2, "g", &g, &err), STORE_OK);
	assert_int_equal(g, 80);
	/* A lease holder noted on node 1 is counted on node 2 at once, and
	 * its drop there is seen on node 1 (causal reads). */
	holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:n1", 0);
	assert_int_equal(holders(f, h2, "lease:n2", 30000), 1);
	holder_do(f, h2, STORE_HOLDER_DROP, "lease:n1", 0);
	assert_int_equal(holders(f, f->h, "lease:n2", 30000), 0);

	/* kill -9 of node 3: until the others declare it dead (Galera's
	 * evs.suspect_timeout), commits wait, and a call answers in time,
	 * done or unavailable; then nodes 1 and 2 keep the quorum. */
	mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "kill 3");
	rc = galera_put(f, f->h, 9, "x", STORE_REV_ANY);
	assert_true(rc == STORE_OK || rc == STORE_UNAVAILABLE);
	mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "wait 1");
	for (i = 10; i < 30; i++) {
		assert_int_equal(galera_put(f, hs[i % 2], i, "during",
		    STORE_REV_ABSENT), 0);
		galera_read(f, hs[(i + 1) % 2], i, "during");
	}
	assert_int_equal(galera_put(f, h2, 1, "cas", rev), 0);
	assert_int_equal(galera_put(f, f->h, 1, "stale", rev), STORE_ABSENT);
	mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "start 3");

	/* Node 2 stops cleanly: its handle is unavailable, node 1's works. */
	mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "stop 2");
	id_of(id, 1);
	assert_int_equal(f->be->get(h2, "t", id, &r, &err), STORE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "mariadb: "));
	for (i = 30; i < 40; i++)
		assert_int_equal(galera_put(f, f->h, i, "alone",
		    STORE_REV_ANY), 0);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_OK);
	mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "start 2");
	/* The same handle, reconnected, sees what node 2 missed. */
	for (i = 30; i < 40; i++)
		galera_read(f, h2, i, "alone");
	assert_int_equal(f->be->get(h2, "t", id, &r, &err), STORE_ABSENT);
	/* A third handle on the rejoined node 3 sees everything. */
	{
		void *h3 = galera_open(f, 2);

		for (i = 10; i < 40; i++)
			galera_read(f, h3, i, i < 30 ? "during" : "alone");
		f->be->close(h3);
	}
	f->be->close(h2);
}

#define BACKEND_TESTS(setup) \
	cmocka_unit_test_setup_teardown(test_put_get_rev, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_get2, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_delete, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_put_many, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_scan_order, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_scan_kv_live_all, setup, \
	    teardown), \
	cmocka_unit_test_setup_teardown(test_purge, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_generations, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_holders, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_lock, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_reopen, setup, teardown)

/* Whether $TRUSTEE_TEST_BACKENDS (default: all) selects a group. */
static int
group_selected(const char *name)
{
	const char *sel = getenv("TRUSTEE_TEST_BACKENDS");
	char *copy, *save = NULL, *w;
	int found = 0;

	if (sel == NULL || sel[0] == '\0')
		return 1;
	copy = xstrdup(sel);
	for (w = strtok_r(copy, ",", &save); w != NULL && !found;
	    w = strtok_r(NULL, ",", &save))
		found = strcmp(w, name) == 0;
	free(copy);
	return found;
}

/* Parse the Galera nodes' DSNs (three, space-separated); 0 or -1. */
static int
galera_parse(const char *text)
{
	char *copy = xstrdup(text), *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (n == 3 || mdb_parse(w, &mdb_nodes[n]) == -1) {
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	return n == 3 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		BACKEND_TESTS(setup_sqlite),
		cmocka_unit_test_setup_teardown(test_sqlite_exclusive,
		    setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_busy_open,
		    setup_sqlite, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_migrate_v1,
		    setup_sqlite, teardown),
	};
	const struct CMUnitTest mariadb_tests[] = {
		BACKEND_TESTS(setup_mariadb),
		cmocka_unit_test_setup_teardown(test_mariadb_cas_threads,
		    setup_mariadb, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_create_once,
		    setup_mariadb_raw, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_migrate_v1_once,
		    setup_mariadb_raw, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_newer_refused,
		    setup_mariadb_raw, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_errors,
		    setup_mariadb, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_least_privilege,
		    setup_mariadb, teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_outage,
		    setup_mariadb, teardown),
	};
	const struct CMUnitTest galera_tests[] = {
		cmocka_unit_test_setup_teardown(test_galera_nodes,
		    setup_galera, teardown),
	};
	const char *dsn = getenv("TRUSTEE_TEST_MARIADB_DSN");
	const char *gdsn = getenv("TRUSTEE_TEST_MARIADB_GALERA");
	int failed = 0;

	log_init("test_backend", LOG_LVL_ERROR);
	if (group_selected("sqlite"))
		failed += cmocka_run_group_tests_name("sqlite", sqlite_tests,
		    NULL, NULL);
	if ((group_selected("mariadb") && dsn != NULL && dsn[0] != '\0') ||
	    (group_selected("galera") && gdsn != NULL && gdsn[0] != '\0'))
		mdb_read_password();
	if (!group_selected("mariadb"))
		;
	else if (dsn == NULL || dsn[0] == '\0')
		printf("# mariadb: SKIPPED: TRUSTEE_TEST_MARIADB_DSN is not set "
		    "(tests/integration/test_mariadb_backend.py sets it)\n");
	else if (mdb_parse(dsn, &mdb_server) == -1) {
		fprintf(stderr, "test_backend: TRUSTEE_TEST_MARIADB_DSN: "
		    "expected user=U;database=PREFIX and socket=PATH or "
		    "host=H;port=N\n");
		failed++;
	} else
		failed += cmocka_run_group_tests_name("mariadb", mariadb_tests,
		    NULL, NULL);
	if (!group_selected("galera") || gdsn == NULL || gdsn[0] == '\0')
		;
	else if (galera_parse(gdsn) == -1) {
		fprintf(stderr, "test_backend: TRUSTEE_TEST_MARIADB_GALERA: "
		    "expected three DSNs separated by spaces\n");
		failed++;
	} else
		failed += cmocka_run_group_tests_name("galera", galera_tests,
		    NULL, NULL);
	return failed != 0;
}
