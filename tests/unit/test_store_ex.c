/*
 * test_store_ex.c: the store's calls with plain columns: insert-only and
 * compare-and-swap puts and deletes on the revision, paged scans with
 * cursors, ord ranges and tampered rows reported, counts, purges by
 * expiry and ord, and group commit (store_put_many).
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
	return rowfix_setup(state, "test_store_ex");
}

static void
test_ex_cas(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_meta m;
	uint64_t rev = 0, rev2 = 0;
	uint8_t *got;
	size_t glen;

	f->st = rowfix_open_store(f, f->key);
	/* Insert-only. */
	assert_int_equal(store_put_ex(f->st, "session", "s1", "a", 1, 42, 4000,
	    STORE_REV_ABSENT, &rev, &err), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(store_put_ex(f->st, "session", "s1", "b", 1, 42, 4000,
	    STORE_REV_ABSENT, &rev2, &err), STORE_ABSENT);
	rowfix_assert_get(f->st, "session", "s1", "a", 1);
	/* The plain columns come back. */
	assert_int_equal(store_get_ex(f->st, "session", "s1", &got, &glen, &m,
	    &err), 0);
	secret_free(got, glen);
	assert_int_equal(m.ord, 42);
	assert_int_equal(m.exp, 4000);
	assert_int_equal(m.rev, 1);
	assert_int_equal(m.kv, 1);
	/* Compare-and-swap on the revision. */
	assert_int_equal(store_put_ex(f->st, "session", "s1", "c", 1, 43, 0,
	    7, NULL, &err), STORE_ABSENT);
	assert_int_equal(store_put_ex(f->st, "session", "s1", "c", 1, 43, 0,
	    1, &rev, &err), 0);
	assert_int_equal(rev, 2);
	rowfix_assert_get(f->st, "session", "s1", "c", 1);
	/* Delete with the revision: a stale one loses. */
	assert_int_equal(store_delete_ex(f->st, "session", "s1", 1, &err),
	    STORE_ABSENT);
	assert_int_equal(store_delete_ex(f->st, "session", "s1", 2, &err), 0);
	assert_int_equal(store_delete_ex(f->st, "session", "s1", 2, &err),
	    STORE_ABSENT);
	assert_int_equal(store_get(f->st, "session", "s1", &got, &glen, &err),
	    1);
}

struct page_seen {
	char names[64][16];
	int n;
	char bad[8][STORE_ID_HEX_LEN + 1];
	int nbad;
	int stop_at;
};

static int
page_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct page_seen *p = arg;

	(void)val;
	(void)len;
	(void)m;
	snprintf(p->names[p->n++], sizeof(p->names[0]), "%s", name);
	return p->stop_at != 0 && p->n == p->stop_at;
}

static void
page_bad(const char *table, const char *id_hex, const char *reason,
    void *arg)
{
	struct page_seen *p = arg;

	assert_string_equal(table, "audit");
	assert_non_null(strstr(reason, "failed authentication"));
	snprintf(p->bad[p->nbad++], sizeof(p->bad[0]), "%s", id_hex);
}

static void
test_scan_pages(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_page q;
	struct page_seen p;
	struct rowfix_db_row rows[16];
	char name[16], cursor[STORE_CURSOR_MAX], next[STORE_CURSOR_MAX];
	char hex[STORE_ID_HEX_LEN + 1];
	uint64_t n;
	int i, pages, bad = -1;

	f->st = rowfix_open_store(f, f->key);
	/* ord 10, 20, ... 100 for r1..r10. */
	for (i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		assert_int_equal(store_put_ex(f->st, "audit", name, "x", 1,
		    i * 10, 0, STORE_REV_ANY, NULL, &err), 0);
	}
	assert_int_equal(store_count(f->st, "audit", &n, &err), 0);
	assert_int_equal(n, 10);

	/* Ascending pages of 3 with the cursor: r1..r10 in order. */
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	cursor[0] = '\0';
	for (pages = 0; pages < 10; pages++) {
		q.cursor = cursor;
		assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL,
		    &p, next, &err), 0);
		if (next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	assert_int_equal(pages, 3);	/* 3 + 3 + 3 + 1 */
	assert_int_equal(p.n, 10);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "r%d", i + 1);
		assert_string_equal(p.names[i], name);
	}

	/* Descending, within an ord range. */
	memset(&p, 0, sizeof(p));
	q.desc = 1;
	q.cursor = NULL;
	q.limit = 100;
	q.ord_range = 1;
	q.ord_min = 30;
	q.ord_max = 60;
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL, &p,
	    next, &err), 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(p.names[0], "r6");
	assert_string_equal(p.names[3], "r3");
	assert_string_equal(next, "");

	/* A callback that stops: the cursor continues after that row. */
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	q.limit = 100;
	p.stop_at = 4;
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL, &p,
	    next, &err), 0);
	assert_int_equal(p.n, 4);
	assert_string_not_equal(next, "");
	memset(&p, 0, sizeof(p));
	q.cursor = next;
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL, &p,
	    cursor, &err), 0);
	assert_int_equal(p.n, 6);
	assert_string_equal(p.names[0], "r5");

	/* Malformed cursors. */
	q.cursor = "c1.AAAA";
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL, &p,
	    next, &err), STORE_ERROR);
	assert_string_equal(err.msg, "store: bad cursor");
	q.cursor = "garbage";
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, NULL, &p,
	    next, &err), STORE_ERROR);

	/* A tampered row is skipped and reported with its id; the page
	 * goes on. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(rowfix_db_rows(f->db, rows, 16), 10);
	for (i = 0; i < 10; i++)
		if (strcmp(rows[i].tbl, "audit") == 0) {
			bad = i;
			break;
		}
	assert_true(bad >= 0);
	rows[bad].blob[40] ^= 1;
	rowfix_db_set_blob(f->db, "audit", rows[bad].id, 32, rows[bad].blob,
	    rows[bad].len);
	f->st = rowfix_open_store(f, f->key);
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, page_bad, &p,
	    next, &err), 0);
	assert_int_equal(p.n, 9);
	assert_int_equal(p.nbad, 1);
	hex_encode(rows[bad].id, 32, hex);
	assert_string_equal(p.bad[0], hex);
}

/* A scan that skips rows it knows by (ord, tag): what a follower of
 * another writer's log does. */
struct skip_seen {
	struct page_seen p;
	int64_t ord[2];
	uint64_t tag[2];
	int asked;
	int tag_mismatch;
	struct store *st;
};

static int
skip_known(int64_t ord, uint64_t tag, void *arg)
{
	struct skip_seen *k = arg;
	int i;

	k->asked++;
	for (i = 0; i < 2; i++)
		if (k->ord[i] == ord && k->tag[i] == tag)
			return 1;
	return 0;
}

static int
skip_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct skip_seen *k = arg;
	struct error err;
	uint64_t tag = 0;

	if (store_row_tag(k->st, "audit", name, &tag, &err) != 0 ||
	    tag != m->tag)
		k->tag_mismatch++;
	return page_cb(name, val, len, m, &k->p);
}

static void
test_scan_skip(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_page q;
	struct skip_seen k;
	struct store_meta m;
	char name[16], cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	uint8_t *got;
	size_t glen;
	int i, pages;

	f->st = rowfix_open_store(f, f->key);
	for (i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		assert_int_equal(store_put_ex(f->st, "audit", name, "x", 1,
		    i * 10, 0, STORE_REV_ANY, NULL, &err), 0);
	}
	memset(&k, 0, sizeof(k));
	k.st = f->st;
	k.ord[0] = 30;
	k.ord[1] = 70;
	assert_int_equal(store_row_tag(f->st, "audit", "r3", &k.tag[0], &err),
	    0);
	assert_int_equal(store_row_tag(f->st, "audit", "r7", &k.tag[1], &err),
	    0);
	assert_true(k.tag[0] != k.tag[1]);
	/* store_get_ex shows the same tag. */
	assert_int_equal(store_get_ex(f->st, "audit", "r3", &got, &glen, &m,
	    &err), 0);
	secret_free(got, glen);
	assert_true(m.tag == k.tag[0]);
	/* A tag is per table. */
	assert_int_equal(store_row_tag(f->st, "session", "r3", &m.tag, &err),
	    0);
	assert_true(m.tag != k.tag[0]);
	assert_int_equal(store_row_tag(f->st, "audit", "", &m.tag, &err),
	    STORE_ERROR);

	/* Pages of 3: skipped rows count towards a page, the cursor goes
	 * past them, the callback never sees them. */
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	q.skip = skip_known;
	for (pages = 0; pages < 10; pages++) {
		q.cursor = cursor;
		assert_int_equal(store_scan(f->st, "audit", &q, skip_cb, NULL,
		    &k, next, &err), 0);
		if (next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	assert_int_equal(pages, 3);	/* 10 rows: 3 + 3 + 3 + 1 */
	assert_int_equal(k.asked, 10);
	assert_int_equal(k.p.n, 8);
	assert_int_equal(k.tag_mismatch, 0);
	for (i = 0; i < k.p.n; i++) {
		assert_string_not_equal(k.p.names[i], "r3");
		assert_string_not_equal(k.p.names[i], "r7");
	}
	assert_string_equal(k.p.names[2], "r4");
	assert_string_equal(k.p.names[5], "r8");
	/* A callback that stops at r4 (the third row it sees): the cursor
	 * continues after r4, not after the page's last row. */
	memset(&k.p, 0, sizeof(k.p));
	k.p.stop_at = 3;
	q.cursor = NULL;
	q.limit = 100;
	assert_int_equal(store_scan(f->st, "audit", &q, skip_cb, NULL, &k,
	    next, &err), 0);
	assert_int_equal(k.p.n, 3);
	assert_string_equal(k.p.names[2], "r4");
	memset(&k.p, 0, sizeof(k.p));
	q.cursor = next;
	assert_int_equal(store_scan(f->st, "audit", &q, skip_cb, NULL, &k,
	    cursor, &err), 0);
	assert_int_equal(k.p.n, 5);
	assert_string_equal(k.p.names[0], "r5");
	/* The same ord with another tag is not skipped. */
	memset(&k.p, 0, sizeof(k.p));
	k.tag[0] ^= 1;
	q.cursor = NULL;
	assert_int_equal(store_scan(f->st, "audit", &q, skip_cb, NULL, &k,
	    next, &err), 0);
	assert_int_equal(k.p.n, 9);
}

static void
test_purge(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	int64_t now = now_unix();
	char name[16];
	size_t n;
	uint64_t count;
	int i;

	f->st = rowfix_open_store(f, f->key);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		/* s0..s3 expired, s4..s9 live; ord = i. */
		assert_int_equal(store_put_ex(f->st, "session", name, "x", 1, i,
		    i < 4 ? now - 10 : now + 1000, STORE_REV_ANY, NULL, &err),
		    0);
	}
	assert_int_equal(store_purge(f->st, "session", INT64_MIN, 2, &n, &err),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(store_purge(f->st, "session", INT64_MIN, 100, &n,
	    &err), 0);
	assert_int_equal(n, 2);
	/* By ord: everything below 6 (s4, s5 remain after expiry). */
	assert_int_equal(store_purge(f->st, "session", 6, 100, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_count(f->st, "session", &count, &err), 0);
	assert_int_equal(count, 4);
	assert_int_equal(store_purge(f->st, "_keys", 6, 100, &n, &err),
	    STORE_ERROR);
}

/* Group commit: many rows in one call, read back like any other. */
static void
test_put_many(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_item items[100];
	struct store_meta meta;
	char names[100][16], vals[100][16];
	uint8_t *v;
	size_t len;
	int i;

	f->st = rowfix_open_store(f, f->key);
	assert_int_equal(store_put_many(f->st, "audit", items, 0, &err), 0);
	for (i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "r%d", i);
		snprintf(vals[i], sizeof(vals[i]), "value %d", i);
		items[i].name = names[i];
		items[i].val = vals[i];
		items[i].len = strlen(vals[i]);
		items[i].ord = 1000 + i;
		items[i].exp = i % 2 ? 0 : 4000000000 + i;
	}
	assert_int_equal(store_put_many(f->st, "audit", items, 100, &err), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(store_get_ex(f->st, "audit", names[i], &v,
		    &len, &meta, &err), 0);
		assert_int_equal(len, strlen(vals[i]));
		assert_memory_equal(v, vals[i], len);
		assert_int_equal(meta.ord, 1000 + i);
		assert_int_equal(meta.exp, i % 2 ? 0 : 4000000000 + i);
		assert_int_equal(meta.rev, 1);
		secret_free(v, len);
	}
	/* Replacing, and a name twice in one batch: the later one wins. */
	items[0].val = "again";
	items[0].len = 5;
	items[1].name = names[0];
	items[1].val = "last";
	items[1].len = 4;
	assert_int_equal(store_put_many(f->st, "audit", items, 2, &err), 0);
	assert_int_equal(store_get_ex(f->st, "audit", names[0], &v, &len,
	    &meta, &err), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(v, "last", 4);
	assert_int_equal(meta.rev, 3);
	secret_free(v, len);
	/* One bad item: nothing of the batch is written. */
	items[0].name = "fresh-a";
	items[1].name = "";
	assert_int_equal(store_put_many(f->st, "audit", items, 2, &err),
	    STORE_ERROR);
	assert_int_equal(store_get(f->st, "audit", "fresh-a", &v, &len, &err),
	    STORE_ABSENT);
	/* The store's own tables are not for callers. */
	items[1].name = "fresh-b";
	assert_int_equal(store_put_many(f->st, "_keys", items, 2, &err),
	    STORE_ERROR);
	assert_int_equal(store_get(f->st, "audit", "fresh-a", &v, &len, &err),
	    STORE_ABSENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ex_cas, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_pages, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_skip, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_put_many, setup,
		    rowfix_teardown),
	};

	log_init("test_store_ex", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
