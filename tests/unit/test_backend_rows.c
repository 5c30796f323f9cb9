/*
 * test_backend_rows.c: the storage backend contract (store/backend.h) for
 * rows: upsert, insert-only and compare-and-swap puts with revisions,
 * get2, get_many, put_many, revision-checked deletes, durability across reopen.
 * Runs on SQLite, and on MariaDB under
 * tests/integration/test_mariadb_backend.py (befix.h: the environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "befix.h"

/* Upsert, insert-only and compare-and-swap puts, with revisions. */
static void
test_put_get_rev(void **state)
{
	struct fixture *f = *state;
	struct store_row r;
	struct error err = { "" };
	uint8_t id[STORE_ID_LEN];
	uint64_t rev = 0;

	assert_int_equal(befix_put(f, "t", 1, 5, 0, 1, "one", STORE_REV_ANY,
	    &rev), STORE_OK);
	assert_int_equal(rev, 1);
	assert_int_equal(befix_put(f, "t", 1, 6, 0, 2, "two", STORE_REV_ANY,
	    &rev), STORE_OK);
	assert_int_equal(rev, 2);
	/* Insert-only on an existing row: the condition fails. */
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "x", STORE_REV_ABSENT,
	    &rev), STORE_ABSENT);
	assert_int_equal(befix_put(f, "t", 2, 0, 0, 1, "new", STORE_REV_ABSENT,
	    &rev), STORE_OK);
	assert_int_equal(rev, 1);
	/* CAS with a stale and with the current revision. */
	assert_int_equal(befix_put(f, "t", 1, 7, 9, 3, "three", 1, &rev),
	    STORE_ABSENT);
	assert_int_equal(befix_put(f, "t", 1, 7, 9, 3, "three", 2, &rev),
	    STORE_OK);
	assert_int_equal(rev, 3);
	/* CAS on an absent row fails too. */
	assert_int_equal(befix_put(f, "t", 3, 0, 0, 1, "x", 1, NULL),
	    STORE_ABSENT);

	befix_id(id, 1);
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
	befix_id(id, 3);
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
	assert_int_equal(befix_put(f, "t", 1, 5, 0, 1, "one", STORE_REV_ANY,
	    NULL), STORE_OK);
	assert_int_equal(befix_put(f, "u", 1, 6, 0, 1, "uno", STORE_REV_ANY,
	    NULL), STORE_OK);
	assert_int_equal(befix_put(f, "t", 2, 7, 0, 2, "two", STORE_REV_ANY,
	    NULL), STORE_OK);
	befix_id(a, 1);
	befix_id(b, 2);
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

/* get_many, where the backend has it (MariaDB; SQLite leaves it to
 * store.c): up to STORE_GET_MANY_MAX rows of one table in one statement,
 * in the order asked, each found or absent on its own, another table's
 * row with the same id not found, an id asked for twice. */
static void
test_get_many(void **state)
{
	struct fixture *f = *state;
	struct store_row r[STORE_GET_MANY_MAX];
	struct error err = { "" };
	uint8_t ids[STORE_GET_MANY_MAX][STORE_ID_LEN];
	char v[16];
	int found[STORE_GET_MANY_MAX];
	unsigned i;

	if (f->be->get_many == NULL) {
		assert_string_equal(f->be->name, "sqlite");
		return;
	}
	/* t/1..70 with ord 100 + n, except the multiples of 5. */
	for (i = 1; i <= 70; i++) {
		if (i % 5 == 0)
			continue;
		snprintf(v, sizeof(v), "v%u", i);
		assert_int_equal(befix_put(f, "t", i, 100 + i, 0, 1, v,
		    STORE_REV_ANY, NULL), STORE_OK);
	}
	assert_int_equal(befix_put(f, "u", 5, 1, 0, 1, "other table",
	    STORE_REV_ANY, NULL), STORE_OK);
	/* 64 ids, 66 down to 3. */
	for (i = 0; i < STORE_GET_MANY_MAX; i++)
		befix_id(ids[i], 66 - i);
	if (f->be->get_many(f->h, "t", ids, STORE_GET_MANY_MAX, r, found,
	    &err) != STORE_OK)
		fail_msg("get_many: %s", err.msg);
	for (i = 0; i < STORE_GET_MANY_MAX; i++) {
		unsigned n = 66 - i;

		assert_int_equal(found[i], n % 5 != 0);
		if (!found[i]) {
			assert_null(r[i].blob);
			continue;
		}
		snprintf(v, sizeof(v), "v%u", n);
		assert_int_equal(r[i].len, strlen(v));
		assert_memory_equal(r[i].blob, v, strlen(v));
		assert_int_equal(r[i].ord, 100 + n);
		assert_memory_equal(r[i].id, ids[i], STORE_ID_LEN);
		free((void *)r[i].blob);
	}
	/* Fewer ids, one of them twice: two copies. */
	befix_id(ids[0], 7);
	befix_id(ids[1], 9);
	befix_id(ids[2], 7);
	if (f->be->get_many(f->h, "t", ids, 3, r, found, &err) != STORE_OK)
		fail_msg("get_many: %s", err.msg);
	assert_true(found[0] && found[1] && found[2]);
	assert_ptr_not_equal(r[0].blob, r[2].blob);
	assert_memory_equal(r[2].blob, "v7", 2);
	assert_memory_equal(r[1].blob, "v9", 2);
	for (i = 0; i < 3; i++)
		free((void *)r[i].blob);
	/* Out of bounds. */
	assert_int_equal(f->be->get_many(f->h, "t", ids, 0, r, found, &err),
	    STORE_ERROR);
	assert_int_equal(f->be->get_many(f->h, "t", ids,
	    STORE_GET_MANY_MAX + 1, r, found, &err), STORE_ERROR);
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

	befix_id(id, 1);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_ABSENT);
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "a", STORE_REV_ANY,
	    &rev), STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, rev + 1, &err),
	    STORE_ABSENT);
	assert_int_equal(f->be->del(f->h, "t", id, rev, &err), STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, rev, &err), STORE_ABSENT);
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "a", STORE_REV_ANY,
	    NULL), STORE_OK);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_OK);
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
	assert_int_equal(befix_put(f, "t", 3, 0, 0, 1, "old", STORE_REV_ANY,
	    NULL), STORE_OK);
	memset(rows, 0, sizeof(rows));
	for (i = 0; i < 40; i++) {
		snprintf(text[i], sizeof(text[i]), "row %zu", i);
		befix_id(rows[i].id, (unsigned)i);
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
			befix_id(b[i].id, 100 + (unsigned)i);
			b[i].kv = 2;
			b[i].ord = 50 + (int64_t)i;
			b[i].exp = 77;
			b[i].blob = big[i];
			b[i].len = sizeof(big[i]);
		}
		befix_id(b[3].id, 200);
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

/* Durable across close and reopen; the schema is not re-created. */
static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];

	assert_int_equal(befix_put(f, "t", 7, 1, 2, 3, "kept", STORE_REV_ANY,
	    NULL), 0);
	f->be->close(f->h);
	f->h = NULL;
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), 0);
	befix_id(id, 7);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "kept", 4);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_rev, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_get2, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_get_many, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_delete, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_put_many, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_reopen, befix_setup,
		    befix_teardown),
	};

	return befix_main("test_backend_rows", BEFIX_SQLITE | BEFIX_MARIADB,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
