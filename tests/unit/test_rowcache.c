/*
 * test_rowcache.c: the cache of sealed rows (store/rowcache.c through
 * store_cache and store_get): it serves only on the embedded store's
 * daemon handle, every kind of write through the handle is seen by the
 * next read, reads racing writes never see a value older than the last
 * acknowledged write, and rotation (re-sealing, dropping a version)
 * leaves every read working. On a database another handle writes, rows
 * are served only under a lease (store/lease.c): once the other handle's
 * writer has settled, no read sees the row as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
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

#define T "resource_data"

static int
setup_exclusive(void **state)
{
	return storefix_setup(state, "test_rowcache", 1, 1000);
}

static int
setup_shared(void **state)
{
	return storefix_setup(state, "test_rowcache_shared", 0, 1000);
}

/* Two handles on one file, each with a leased cache of LEASE_MS. */
#define LEASE_MS 1500
static int
setup_leased(void **state)
{
	int rc = storefix_setup(state, "test_rowcache_lease", 0, 1000);
	struct fixture *f = *state;

	f->o.lease_ms = LEASE_MS;
	return rc;
}

static int
setup_leased_short(void **state)
{
	int rc = storefix_setup(state, "test_rowcache_lease2", 0, 1000);
	struct fixture *f = *state;

	f->o.lease_ms = 40;
	return rc;
}

static void
put(struct store *st, const char *table, const char *name, const char *val)
{
	struct error err = { "" };

	if (store_put(st, table, name, val, strlen(val), &err) != 0)
		fail_msg("put %s/%s: %s", table, name, err.msg);
}

/* The value of name, or "" when absent. */
static char *
get(struct store *st, const char *table, const char *name)
{
	struct error err = { "" };
	uint8_t *v;
	size_t len;
	char *s;
	int rc = store_get(st, table, name, &v, &len, &err);

	if (rc == 1)
		return xstrdup("");
	if (rc != 0)
		fail_msg("get %s/%s: %s", table, name, err.msg);
	s = xmalloc(len + 1);
	memcpy(s, v, len);
	s[len] = '\0';
	secret_free(v, len);
	return s;
}

static void
assert_get(struct store *st, const char *table, const char *name,
    const char *want)
{
	char *got = get(st, table, name);

	if (strcmp(got, want) != 0)
		fail_msg("%s/%s: got '%s', want '%s'", table, name, got, want);
	free(got);
}

static uint64_t
hits(struct store *st)
{
	struct store_info in;

	store_info(st, &in);
	return in.cache_hits;
}

/* Every write path of the store, each followed by a read. */
static void
test_writes_are_seen(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_info in;
	struct store_item items[2];
	char id[STORE_ID_HEX_LEN + 1];
	uint64_t rev = 0, h;
	size_t n;

	f->st = storefix_open(f);
	store_info(f->st, &in);
	assert_int_equal(in.cache, 1);
	assert_int_equal(store_cache(f->st, T, &err), 0);

	put(f->st, T, "a", "v1");
	assert_get(f->st, T, "a", "v1");	/* fills */
	h = hits(f->st);
	assert_get(f->st, T, "a", "v1");
	assert_int_equal(hits(f->st), h + 1);

	/* plain put */
	put(f->st, T, "a", "v2");
	assert_get(f->st, T, "a", "v2");
	assert_get(f->st, T, "a", "v2");
	/* compare-and-swap, with the meta of a hit */
	{
		struct store_meta m;
		uint8_t *v;
		size_t len;

		assert_int_equal(store_get_ex(f->st, T, "a", &v, &len, &m,
		    &err), 0);
		secret_free(v, len);
		assert_int_equal(store_put_ex(f->st, T, "a", "v3", 2, 0, 0,
		    m.rev, &rev, &err), 0);
		assert_true(rev > m.rev);
	}
	assert_get(f->st, T, "a", "v3");
	/* delete */
	assert_int_equal(store_delete(f->st, T, "a", &err), 0);
	assert_get(f->st, T, "a", "");
	put(f->st, T, "a", "v4");
	assert_get(f->st, T, "a", "v4");
	/* put_many */
	items[0] = (struct store_item){ .name = "a", .val = "v5", .len = 2 };
	items[1] = (struct store_item){ .name = "b", .val = "w1", .len = 2 };
	assert_int_equal(store_put_many(f->st, T, items, 2, &err), 0);
	assert_get(f->st, T, "a", "v5");
	assert_get(f->st, T, "b", "w1");
	/* delete by row id */
	assert_int_equal(store_row_id_hex(f->st, T, "b", id, &err), 0);
	assert_int_equal(store_delete_id(f->st, T, id, &err), 0);
	assert_get(f->st, T, "b", "");
	/* purge (every row has ord 0 < 1) */
	assert_get(f->st, T, "a", "v5");
	assert_int_equal(store_purge(f->st, T, 1, 100, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_get(f->st, T, "a", "");
}

/* Tables not asked for, and handles that are not the only writer, are
 * never served from memory. */
static void
test_only_where_provable(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	f->st = storefix_open(f);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	put(f->st, "other", "x", "1");
	assert_get(f->st, "other", "x", "1");
	assert_get(f->st, "other", "x", "1");
	assert_int_equal(hits(f->st), 0);
	/* Expiring rows are not kept either. */
	assert_int_equal(store_put_ex(f->st, T, "e", "1", 1, 0, 4102444800,
	    STORE_REV_ANY, NULL, &err), 0);
	assert_get(f->st, T, "e", "1");
	assert_get(f->st, T, "e", "1");
	assert_int_equal(hits(f->st), 0);
}

/* Two handles on one file without the daemon lock (two instances). */
static void
test_shared_handle_never_caches(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_info in;

	f->st = storefix_open(f);
	f->st2 = storefix_open(f);
	store_info(f->st, &in);
	assert_int_equal(in.cache, 0);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	put(f->st, T, "k", "1");
	assert_get(f->st, T, "k", "1");
	put(f->st2, T, "k", "2");
	assert_get(f->st, T, "k", "2");
	assert_int_equal(hits(f->st), 0);
}

/*
 * A leased handle answers from memory only within a lease its poll gave,
 * and a write on the other handle is visible to it once that writer has
 * settled. (The lease is long enough that no pause of this machine
 * between a poll and the read after it outlasts it.)
 */
static void
test_lease(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_info in;
	uint64_t h;

	f->st = storefix_open(f);
	f->st2 = storefix_open(f);
	store_info(f->st, &in);
	assert_int_equal(in.cache, 1);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	assert_int_equal(store_cache(f->st2, T, &err), 0);
	put(f->st2, T, "k", "1");
	store_settle();
	/* No lease yet: read from the database (and kept). */
	assert_get(f->st, T, "k", "1");
	assert_get(f->st, T, "k", "1");
	assert_int_equal(hits(f->st), 0);
	/* A poll gives a lease: now from memory. */
	assert_int_equal(store_lease_poll(f->st), 1);
	assert_get(f->st, T, "k", "1");
	assert_get(f->st, T, "k", "1");
	assert_true(hits(f->st) >= 1);
	/* A write there, settled: its lease here has run out. */
	put(f->st2, T, "k", "2");
	store_settle();
	h = hits(f->st);
	assert_get(f->st, T, "k", "2");
	assert_int_equal(hits(f->st), h);
	/* The next poll sees the write, drops what it held and renews. */
	assert_int_equal(store_lease_poll(f->st), 1);
	assert_get(f->st, T, "k", "2");
	assert_get(f->st, T, "k", "2");
	assert_true(hits(f->st) > h);
	/* A deletion likewise. */
	assert_int_equal(store_delete(f->st2, T, "k", &err), 0);
	store_settle();
	assert_get(f->st, T, "k", "");
	assert_int_equal(store_lease_poll(f->st), 1);
	assert_get(f->st, T, "k", "");
	/* Own writes are seen at once, lease or not. */
	put(f->st, T, "k", "3");
	assert_get(f->st, T, "k", "3");
	store_settle();
}

static uint64_t
waits(struct store *st)
{
	struct store_info in;

	store_info(st, &in);
	return in.lease_waits;
}

/* Run sql on the fixture's database (beside the store's handles). */
static void
sql(struct fixture *f, const char *q)
{
	sqlite3 *h;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
	sqlite3_close(h);
}

static int
sql_count(struct fixture *f, const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int n;

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/*
 * The registry of lease holders: a write waits out a lease only while
 * another handle is noted as giving leases. A handle is noted by its
 * first poll and leaves at store_lease_release (the poller does that
 * once lookups stopped), after which it answers nothing from memory until
 * it is noted again. Notes older than LEASE_LIVE_MS (30 s) do not count;
 * a first note forgets those older than an hour.
 */
static void
test_lease_registry(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint64_t h;

	f->st = storefix_open(f);
	f->st2 = storefix_open(f);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	assert_int_equal(store_cache(f->st2, T, &err), 0);
	/* Nobody holds a lease: no wait. */
	put(f->st2, T, "k", "1");
	store_settle();
	assert_int_equal(waits(f->st2), 0);
	/* st's poll notes it: st2's writes wait, st's own do not. */
	assert_int_equal(store_lease_poll(f->st), 1);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM gen WHERE tbl "
	    "LIKE 'lease:%'"), 1);
	assert_get(f->st, T, "k", "1");
	put(f->st2, T, "k", "2");
	store_settle();
	assert_int_equal(waits(f->st2), 1);
	put(f->st, T, "mine", "x");
	store_settle();
	assert_int_equal(waits(f->st), 0);
	assert_get(f->st, T, "k", "2");
	/* st leaves: no more waits, and st serves nothing from memory. */
	store_lease_release(f->st);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM gen WHERE tbl "
	    "LIKE 'lease:%'"), 0);
	put(f->st2, T, "k", "3");
	store_settle();
	assert_int_equal(waits(f->st2), 1);
	h = hits(f->st);
	assert_get(f->st, T, "k", "3");
	assert_get(f->st, T, "k", "3");
	assert_int_equal(hits(f->st), h);
	/* A note 31 s old (a holder that stopped without leaving) does
	 * not count; a young one does. */
	sql(f, "INSERT INTO gen(tbl, n) VALUES('lease:gone', " NOW_MS
	    " - 31000), ('lease:ancient', " NOW_MS " - 7200000)");
	put(f->st2, T, "k", "4");
	store_settle();
	assert_int_equal(waits(f->st2), 1);
	sql(f, "UPDATE gen SET n = " NOW_MS " - 20000 WHERE tbl = "
	    "'lease:gone'");
	put(f->st2, T, "k", "5");
	store_settle();
	assert_int_equal(waits(f->st2), 2);
	/* st noted again: it forgets the hour-old note, keeps the other. */
	assert_int_equal(store_lease_poll(f->st), 1);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM gen WHERE tbl = "
	    "'lease:ancient'"), 0);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM gen WHERE tbl = "
	    "'lease:gone'"), 1);
	assert_get(f->st, T, "k", "5");
	h = hits(f->st);
	assert_get(f->st, T, "k", "5");
	assert_true(hits(f->st) > h);
}

/* Readers hammer one row while it is rewritten: once a put returned,
 * no read that starts later sees an older value. */
struct race {
	struct store *st;
	_Atomic int stop;
	_Atomic int acked;	/* the last value whose put was acknowledged */
	_Atomic int stale;
	_Atomic long reads;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	char *got;
	int floor;

	while (!atomic_load(&r->stop)) {
		floor = atomic_load(&r->acked);
		got = get(r->st, T, "hot");
		if (atoi(got) < floor)
			atomic_fetch_add(&r->stale, 1);
		free(got);
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

/* Poll as the lease poller does (a leased reader). */
static void *
lease_poller(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		store_lease_poll(r->st);
		usleep(10000);
	}
	return NULL;
}

/*
 * Two readers (and, with poll, a lease poller) on reader while writer
 * rewrites "hot" n times, each put settled before it counts as
 * acknowledged: no read that starts after an acknowledgement sees an
 * older value, and reader itself reads the new one at once. Some reads
 * must have come from memory.
 */
static void
race_run(struct store *reader, struct store *writer, int n, int poll)
{
	struct race r = { 0 };
	pthread_t th[3];
	char v[16];
	int i;

	put(writer, T, "hot", "0");
	store_settle();
	r.st = reader;
	assert_int_equal(pthread_create(&th[0], NULL, poll ? lease_poller :
	    race_reader, &r), 0);
	for (i = 1; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_reader,
		    &r), 0);
	for (i = 1; i <= n; i++) {
		snprintf(v, sizeof(v), "%d", i);
		put(writer, T, "hot", v);
		store_settle();
		atomic_store(&r.acked, i);
		assert_get(reader, T, "hot", v);
	}
	atomic_store(&r.stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&r.stale), 0);
	assert_true(atomic_load(&r.reads) > 0);
	assert_true(hits(reader) > 0);
}

static void
test_race_never_stale(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	f->st = storefix_open(f);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	race_run(f->st, f->st, 400, 0);
}

/* The same across two handles with leased caches. */
static void
test_lease_race_never_stale(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	f->st = storefix_open(f);
	f->st2 = storefix_open(f);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	assert_int_equal(store_cache(f->st2, T, &err), 0);
	race_run(f->st, f->st2, 40, 1);
}

/* Rotation re-seals every row and drops the old key version: cached
 * rows sealed under it must not break a read. */
static void
test_rotation(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char name[32], val[32];
	uint32_t v;
	int i, done = 0, rounds = 0;

	f->st = storefix_open(f);
	assert_int_equal(store_cache(f->st, T, &err), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		snprintf(val, sizeof(val), "value %d", i);
		put(f->st, T, name, val);
		assert_get(f->st, T, name, val);
	}
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	/* Dropping waits a little after the last re-seal (rotate.c). */
	while (!done && rounds++ < 2000) {
		assert_int_equal(store_rotate_step(f->st, 7, &done, &err), 0);
		if (!done)
			usleep(2000);
		for (i = 0; i < 50; i += 7) {
			snprintf(name, sizeof(name), "r%d", i);
			snprintf(val, sizeof(val), "value %d", i);
			assert_get(f->st, T, name, val);
		}
	}
	assert_true(done);
	assert_int_equal(keyring_floor(&f->st->kr), v);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		snprintf(val, sizeof(val), "value %d", i);
		assert_get(f->st, T, name, val);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_are_seen,
		    setup_exclusive, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_only_where_provable,
		    setup_exclusive, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_shared_handle_never_caches,
		    setup_shared, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_race_never_stale,
		    setup_exclusive, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_rotation,
		    setup_exclusive, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_lease,
		    setup_leased, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_lease_registry,
		    setup_leased, storefix_teardown),
		cmocka_unit_test_setup_teardown(test_lease_race_never_stale,
		    setup_leased_short, storefix_teardown),
	};

	log_init("test_rowcache", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
