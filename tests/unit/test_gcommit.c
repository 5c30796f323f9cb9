/*
 * test_gcommit.c: group commit (server/gcommit.c) on a real SQLite store:
 * queued rows are committed by a flush and by the stop (what SIGTERM
 * does), as few batches as the flushes ask for, several tables and
 * repeated names in one batch, the queue's bound (a refused put is the
 * caller's to write), rows the store refuses are counted as lost without
 * holding up the others, and threads queueing at once.
 *
 * The delays here are long (60 s) on purpose: nothing may depend on the
 * writer's timer, only on flush and stop, so no test waits or times.
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

#include "../../lib/log.h"
#include "../../server/gcommit.h"
#include "../../server/trusteed.h"
#include "testutil.h"

#define LONG_DELAY_MS	60000

struct fixture {
	char dir[64], db[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->st = testutil_store_new("test_gcommit", f->dir, sizeof(f->dir),
	    f->db, sizeof(f->db));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	testutil_store_free(f->st, f->dir, f->db);
	free(f);
	return 0;
}

/* The row's value, or NULL when absent (caller frees). */
static char *
get(struct fixture *f, const char *table, const char *name)
{
	struct error err = { "" };
	uint8_t *v;
	size_t len;
	char *s;
	int rc = store_get(f->st, table, name, &v, &len, &err);

	if (rc == STORE_ABSENT)
		return NULL;
	if (rc != 0)
		fail_msg("store_get: %s", err.msg);
	s = xstrndup((const char *)v, len);
	secret_free(v, len);
	return s;
}

static void
put(struct gcommit *g, const char *table, const char *name, const char *v)
{
	assert_int_equal(gcommit_put(g, table, name, v, strlen(v), 7, 0), 0);
}

static void
test_flush_commits_in_one_batch(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", LONG_DELAY_MS, 0, 0);
	struct gcommit_stats st;
	char name[16], *v;
	int i;

	assert_non_null(g);
	gcommit_flush(g);		/* nothing queued: returns */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		put(g, "audit_guest", name, name);
	}
	/* Queued, not written before the delay or a flush. */
	gcommit_stats(g, &st);
	assert_int_equal(st.queued, 100);
	assert_int_equal(st.batches, 0);
	assert_null(get(f, "audit_guest", "r0"));
	gcommit_flush(g);
	gcommit_stats(g, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.rows, 100);
	assert_int_equal(st.batches, 1);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		v = get(f, "audit_guest", name);
		assert_non_null(v);
		assert_string_equal(v, name);
		free(v);
	}
	gcommit_free(g);
	gcommit_free(NULL);
}

/* Stopping (trusteed's SIGTERM path) commits whatever is queued. */
static void
test_stop_commits(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", LONG_DELAY_MS, 0, 0);
	char *v;

	assert_non_null(g);
	put(g, "attestations", "a1", "one");
	put(g, "attestations", "a2", "two");
	assert_null(get(f, "attestations", "a1"));
	gcommit_free(g);
	v = get(f, "attestations", "a1");
	assert_non_null(v);
	assert_string_equal(v, "one");
	free(v);
	v = get(f, "attestations", "a2");
	assert_string_equal(v, "two");
	free(v);
}

/* Rows of several tables in one batch; a name put twice: the later value
 * wins; the store's meta columns are kept. */
static void
test_tables_and_repeats(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", LONG_DELAY_MS, 0, 0);
	struct store_meta meta;
	struct error err = { "" };
	uint8_t *raw;
	size_t len;
	char *v;

	assert_non_null(g);
	put(g, "audit_guest", "x", "first");
	put(g, "attestations", "y", "other table");
	put(g, "audit_guest", "x", "second");
	assert_int_equal(gcommit_put(g, "audit_guest", "z", "e", 1, 42,
	    4000000000), 0);
	gcommit_flush(g);
	v = get(f, "audit_guest", "x");
	assert_string_equal(v, "second");
	free(v);
	v = get(f, "attestations", "y");
	assert_string_equal(v, "other table");
	free(v);
	assert_int_equal(store_get_ex(f->st, "audit_guest", "z", &raw, &len,
	    &meta, &err), 0);
	assert_int_equal(meta.ord, 42);
	assert_int_equal(meta.exp, 4000000000);
	secret_free(raw, len);
	gcommit_free(g);
}

/* The bound: a full queue refuses (the caller writes the row itself). */
static void
test_bound(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", LONG_DELAY_MS, 0, 100);
	struct gcommit_stats st;
	char big[61];

	assert_non_null(g);
	memset(big, 'b', 60);
	big[60] = '\0';
	assert_int_equal(gcommit_put(g, "audit_guest", "a", big, 60, 0, 0), 0);
	assert_int_equal(gcommit_put(g, "audit_guest", "b", big, 60, 0, 0),
	    -1);
	/* A table name the store could never have. */
	assert_int_equal(gcommit_put(g, "a_table_name_longer_than_the_limit",
	    "c", "x", 1, 0, 0), -1);
	gcommit_stats(g, &st);
	assert_int_equal(st.refused, 1);
	gcommit_flush(g);
	/* Room again. */
	assert_int_equal(gcommit_put(g, "audit_guest", "b", big, 60, 0, 0), 0);
	gcommit_free(g);
	free(get(f, "audit_guest", "b"));
}

/* A batch the store refuses (not as unavailable) is lost and counted;
 * the rows of other tables in the same batch are written. */
static void
test_refused_rows_dropped(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", LONG_DELAY_MS, 0, 0);
	struct gcommit_stats st;
	char *v;

	assert_non_null(g);
	put(g, "_keys", "k", "reserved table");
	put(g, "audit_guest", "ok", "kept");
	gcommit_flush(g);
	gcommit_stats(g, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.rows, 1);
	v = get(f, "audit_guest", "ok");
	assert_string_equal(v, "kept");
	free(v);
	gcommit_free(g);
}

struct thread_arg {
	struct gcommit *g;
	int id;
	int refused;
};

static void *
writer(void *p)
{
	struct thread_arg *a = p;
	char name[32];
	int i;

	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "t%d-%d", a->id, i);
		if (gcommit_put(a->g, "audit_guest", name, name, strlen(name),
		    i, 0) != 0)
			a->refused++;
		if (i % 100 == 99)
			gcommit_flush(a->g);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct gcommit *g = gcommit_new(f->st, "test", 5, 0, 0);
	struct thread_arg a[4];
	pthread_t t[4];
	char name[32], *v;
	uint64_t n = 0;
	struct error err = { "" };
	int i, j;

	assert_non_null(g);
	for (i = 0; i < 4; i++) {
		a[i].g = g;
		a[i].id = i;
		a[i].refused = 0;
		assert_int_equal(pthread_create(&t[i], NULL, writer, &a[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].refused, 0);
	}
	gcommit_free(g);
	assert_int_equal(store_count(f->st, "audit_guest", &n, &err), 0);
	assert_int_equal(n, 2000);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 500; j += 97) {
			snprintf(name, sizeof(name), "t%d-%d", i, j);
			v = get(f, "audit_guest", name);
			assert_non_null(v);
			assert_string_equal(v, name);
			free(v);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flush_commits_in_one_batch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_commits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tables_and_repeats, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_rows_dropped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	log_init("test_gcommit", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
