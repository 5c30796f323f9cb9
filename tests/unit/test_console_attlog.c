/*
 * test_console_attlog.c: the attestation log (attlog*.c) over a scratch
 * SQLite store: records written and read back page by page under every
 * filter (newest first, no repeats, cursors, retention, the index
 * rebuilt from the store, no source address in the file), the forms of
 * its rows (this version's and earlier ones'), and rows written by
 * another instance.
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

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "consolefix.h"

static json_t *
rec(const char *tee, const char *verdict, const char *source)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:n}",
	    "endpoint", "/kbs/v0/attest", "tee", tee, "verdict", verdict,
	    "source", source, "reason", verdict[0] == 'r' ? "nope" : "",
	    "trust_vector", "token", "ear", "claims");
}

/* The other instance (st) writes the row rec(tee, verdict, source) named
 * by ms and suffix, ordered by ms; with legacy as an earlier version
 * wrote rows (store_put: no order of its own). */
static void
put_row(struct store *st, int64_t ms, unsigned suffix, const char *tee,
    const char *verdict, const char *source, int legacy)
{
	struct error err;
	char id[32], *txt;
	json_t *r;

	snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)ms,
	    suffix);
	r = rec(tee, verdict, source);
	json_object_set_new(r, "id", json_string(id));
	txt = json_dumps(r, JSON_COMPACT);
	if (legacy)
		assert_int_equal(store_put(st, "attestations", id, txt,
		    strlen(txt), &err), 0);
	else
		assert_int_equal(store_put_ex(st, "attestations", id, txt,
		    strlen(txt), ms, 0, STORE_REV_ABSENT, NULL, &err), 0);
	free(txt);
	json_decref(r);
}

/* All pages of a query; returns the number of items, checks newest
 * first and that no id repeats. */
static size_t
attlog_walk(const struct attlog_filter *flt, size_t limit)
{
	char next[ATTLOG_CURSOR_MAX], cur[ATTLOG_CURSOR_MAX] = "";
	char last[64] = "~";
	json_t *items, *problems, *it;
	struct error err;
	size_t total = 0, i;

	do {
		assert_int_equal(attlog_read_page(cur[0] != '\0' ? cur :
		    NULL, limit, flt, &items, next, &problems, &err), 0);
		assert_true(json_array_size(items) <= limit);
		json_array_foreach(items, i, it) {
			const char *id = json_string_value(json_object_get(it,
			    "id"));

			assert_true(strcmp(id, last) < 0);
			snprintf(last, sizeof(last), "%s", id);
			total++;
		}
		assert_int_equal(json_array_size(problems), 0);
		json_decref(items);
		json_decref(problems);
		memcpy(cur, next, sizeof(cur));
	} while (cur[0] != '\0');
	return total;
}

static void
test_attlog(void **state)
{
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct store_meta meta;
	struct error err;
	json_t *items, *problems, *r, *one;
	char next[ATTLOG_CURSOR_MAX], id0[64];
	uint8_t *val;
	size_t len;
	int64_t ms;
	int i;

	assert_int_equal(attlog_init(f->st, 5, 86400, 0, &err), 0);
	for (i = 0; i < 7; i++) {
		r = rec(i % 2 ? "snp" : "tdx", i % 3 == 0 ? "refused" :
		    "affirming", i < 4 ? "10.0.0.1" : "10.0.0.2");
		if (i == 6)
			json_object_set_new(r, "claims", json_pack("{s:{s:s}}",
			    "tdx", "x", "<script>alert(1)</script>"));
		assert_int_equal(attlog_append(r, NULL, &err), 0);
		json_decref(r);
	}
	/* ord is the id's time. */
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_read_page(NULL, 1, &flt, &items, next,
	    &problems, &err), 0);
	snprintf(id0, sizeof(id0), "%s", json_string_value(json_object_get(
	    json_array_get(items, 0), "id")));
	json_decref(items);
	json_decref(problems);
	assert_int_equal(store_get_ex(f->st, "attestations", id0, &val, &len,
	    &meta, &err), 0);
	secret_free(val, len);
	id0[16] = '\0';
	ms = (int64_t)strtoull(id0, NULL, 16);
	assert_int_equal(meta.ord, ms);
	/* Retention by count is the housekeeping's: 5 of 7. */
	assert_int_equal(attlog_count(), 7);
	assert_int_equal(attlog_expire(now_unix()), 2);
	assert_int_equal(attlog_count(), 5);
	assert_int_equal(attlog_walk(&flt, 10), 5);
	assert_int_equal(attlog_walk(&flt, 2), 5);	/* store cursors */

	assert_int_equal(attlog_read_page(NULL, 2, &flt, &items, next,
	    &problems, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(next[0] == 's');
	/* Newest first; no claims in summaries. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 0), "source")), "10.0.0.2");
	assert_null(json_object_get(json_array_get(items, 0), "claims"));
	assert_int_equal(attlog_read_record(json_string_value(
	    json_object_get(json_array_get(items, 0), "id")), &one, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(one, "claims"), "tdx"), "x")),
	    "<script>alert(1)</script>");
	json_decref(one);
	json_decref(items);
	json_decref(problems);
	/* Filters (the index); i = 2..6 are kept. */
	flt.tee = "snp";
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 3, 5 */
	assert_int_equal(attlog_walk(&flt, 1), 2);	/* index cursors */
	flt.tee = NULL;
	flt.verdict = observe_verdict_index("refused");
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 3, 6 */
	flt.verdict = -1;
	flt.source = "10.0.0.1";
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 2, 3 */
	/* A cursor of one kind of query is refused by the other. */
	assert_int_equal(attlog_read_page("s-not-a-cursor", 10, &flt, &items,
	    next, &problems, &err), ATTLOG_BAD_CURSOR);
	flt.source = NULL;
	assert_int_equal(attlog_read_page("i0000000000000000-00000000", 10,
	    &flt, &items, next, &problems, &err), ATTLOG_BAD_CURSOR);
	assert_int_equal(attlog_read_page("sc1.bogus", 10, &flt, &items, next,
	    &problems, &err), ATTLOG_BAD_CURSOR);
	flt.tee = "no-such-tee";
	assert_int_equal(attlog_walk(&flt, 10), 0);
	flt.tee = NULL;
	/* Time filters: the store's ord range. */
	flt.since = now_unix() + 3600;
	assert_int_equal(attlog_walk(&flt, 10), 0);
	flt.since = now_unix() - 3600;
	flt.until = now_unix() + 3600;
	assert_int_equal(attlog_walk(&flt, 2), 5);
	flt.since = flt.until = 0;
	assert_int_equal(attlog_read_record("0000000000000000-00000000", &one,
	    &err), 1);
	assert_int_equal(attlog_read_record("../../etc", &one, &err), 1);
	/* The index is rebuilt from the store. */
	attlog_shutdown();
	assert_int_equal(attlog_init(f->st, 5, 86400, 0, &err), 0);
	assert_int_equal(attlog_count(), 5);
	flt.tee = "snp";
	assert_int_equal(attlog_walk(&flt, 10), 2);
	flt.tee = NULL;
	/* Retention by age. */
	assert_int_equal(attlog_expire(now_unix() + 86400 + 10), 5);
	assert_int_equal(attlog_count(), 0);
	flt.verdict = observe_verdict_index("refused");
	assert_int_equal(attlog_walk(&flt, 10), 0);
	attlog_shutdown();
	assert_false(consolefix_db_contains(f, "10.0.0.2"));
}

/* A row's forms: this version's "<summary>\n<rest>" with the ear
 * spliced in as given (also when rest holds nothing else), and the two
 * forms earlier versions wrote ("<summary>\n<record>", the record
 * alone) all read back as the whole record. */
static void
test_attlog_row_forms(void **state)
{
	static const char ear[] = "{\"header\":{\"alg\":\"ES256\"},"
	    "\"payload\":{\"iat\":1,\"submods\":{\"cpu0\":{}}}}";
	static const char *const summary_keys[] = { "id", "time",
	    "endpoint", "tee", "source", "verdict", "reason",
	    "trust_vector", "policy_id", "token", "latency_us" };
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct error err;
	json_t *items, *problems, *r, *one, *want_ear;
	char next[ATTLOG_CURSOR_MAX], id[32], *txt, *sum;
	int64_t ms = (int64_t)now_unix() * 1000 - 5000;
	size_t i, k;
	int form;

	assert_int_equal(attlog_init(f->st, 1000, 86400, 0, &err), 0);
	want_ear = json_loads(ear, 0, NULL);
	assert_non_null(want_ear);
	/* Spliced: with other members, and with none but the summary's. */
	r = rec("tdx", "affirming", "10.1.1.1");
	json_object_del(r, "ear");
	json_object_set_new(r, "submods", json_pack("{s:{s:s}}", "cpu0",
	    "status", "affirming"));
	assert_int_equal(attlog_append(r, ear, &err), 0);
	json_decref(r);
	r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "endpoint",
	    "/kbs/v0/attest", "tee", "snp", "verdict", "none", "source",
	    "10.1.1.2", "reason", "");
	assert_int_equal(attlog_append(r, ear, &err), 0);
	json_decref(r);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_read_page(NULL, 10, &flt, &items, next,
	    &problems, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	for (i = 0; i < 2; i++) {
		const json_t *it = json_array_get(items, i);

		assert_null(json_object_get(it, "ear"));
		assert_int_equal(attlog_read_record(json_string_value(
		    json_object_get(it, "id")), &one, &err), 0);
		assert_true(json_equal(json_object_get(one, "ear"), want_ear));
		for (k = 0; k < sizeof(summary_keys) /
		    sizeof(summary_keys[0]); k++)
			assert_true(json_equal(json_object_get(one,
			    summary_keys[k]), json_object_get(it,
			    summary_keys[k])));
		/* The newest is the one without submods. */
		assert_true((json_object_get(one, "submods") != NULL) ==
		    (i == 1));
		json_decref(one);
	}
	json_decref(items);
	json_decref(problems);

	/* Rows as earlier versions wrote them. */
	for (form = 0; form < 2; form++) {
		snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
		    (ms + form), 0x5150 + form);
		r = rec("sgx", "refused", "10.1.1.3");
		json_object_set_new(r, "id", json_string(id));
		json_object_set_new(r, "submods", json_object());
		txt = json_dumps(r, JSON_COMPACT);
		if (form == 0) {
			sum = txt;
			txt = xasprintf("{\"id\":\"%s\",\"tee\":\"sgx\"}\n%s",
			    id, sum);
			free(sum);
		}
		assert_int_equal(store_put_ex(f->st, "attestations", id, txt,
		    strlen(txt), ms + form, 0, STORE_REV_ABSENT, NULL, &err),
		    0);
		free(txt);
		assert_int_equal(attlog_read_record(id, &one, &err), 0);
		assert_true(json_equal(one, r));
		json_decref(one);
		json_decref(r);
	}
	json_decref(want_ear);
	attlog_shutdown();
}

static void
ignore_change(const char *table, void *arg)
{
	(void)table;
	(void)arg;
}

/* Another instance's rows (a second handle on the file) appear in
 * filtered pages once the watch has seen them; rows of an earlier
 * version (ord 0) are ordered at start. */
static void
test_attlog_shared(void **state)
{
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct store_meta meta;
	struct store *other;
	struct error err;
	char id[32];
	uint8_t key[32], *val;
	size_t len;
	int64_t ms = (int64_t)now_unix() * 1000 - 5000;
	uint64_t read0;
	size_t n0, n1;
	int i;

	memcpy(key, f->key, sizeof(key));
	other = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(other);
	/* The other instance follows the table too (so its writes bump the
	 * table's generation). */
	assert_int_equal(store_watch(other, "attestations", ignore_change,
	    NULL, &err), 0);
	/* Two rows as an earlier version wrote them: ord 0. */
	for (i = 0; i < 2; i++)
		put_row(other, ms - 60000 + i, 0xabc0 + i, "sgx", "refused",
		    "10.9.9.9", 1);
	snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
	    (ms - 60000 + 1), 0xabc1);
	assert_int_equal(attlog_init(f->st, 1000, 86400, 1, &err), 0);
	assert_int_equal(store_get_ex(f->st, "attestations", id, &val, &len,
	    &meta, &err), 0);
	secret_free(val, len);
	assert_int_equal(meta.ord, ms - 60000 + 1);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	flt.tee = "sgx";
	assert_int_equal(attlog_walk(&flt, 10), 2);

	/* The other instance attests from 10.7.7.7 (a little in the past,
	 * as a write that took its time to commit). */
	for (i = 0; i < 3; i++)
		put_row(other, ms + i, 0xdef0 + i, "tdx", "affirming",
		    "10.7.7.7", 0);
	flt.tee = NULL;
	flt.source = "10.7.7.7";
	/* Unfiltered pages read the store: there at once. */
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_walk(&flt, 2), 5);
	/* Filtered pages: after the poll that sees the other's writes. */
	flt.source = "10.7.7.7";
	read0 = attlog_index_rows_read(NULL);
	store_poll(f->st);
	assert_int_equal(attlog_walk(&flt, 2), 3);
	assert_int_equal(attlog_index_rows_read(NULL), read0 + 3);
	/* The next poll reads on from the other's newest row (less a 2 s
	 * margin for writers a little out of order): a newer row and one
	 * 1 s older come in; one 10 s older (committed late, or a writer's
	 * clock behind) waits for the sweep of the whole window. */
	{
		static const int64_t at[] = { 3, -1000, -10000 };

		for (i = 0; i < 3; i++)
			put_row(other, ms + 2 + at[i], 0xfed0 + i, "tdx",
			    "affirming", "10.7.7.7", 0);
	}
	store_poll(f->st);
	assert_int_equal(attlog_walk(&flt, 2), 5);
	/* Read from 2 s before the newest row known: the two new rows in
	 * that span opened, the three known ones skipped unopened. */
	assert_int_equal(attlog_index_rows_read(NULL), read0 + 3 + 2);
	attlog_index_sweep_next(0);
	/* (another source's row: the write that makes the next poll look) */
	put_row(other, ms + 9, 0xfee0, "snp", "affirming", "10.8.8.8", 0);
	store_poll(f->st);
	assert_int_equal(attlog_walk(&flt, 2), 6);
	/* The sweep of the window opened the late row and the new one
	 * only. */
	assert_int_equal(attlog_index_rows_read(NULL), read0 + 3 + 2 + 2);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_walk(&flt, 100), 9);
	flt.source = "10.7.7.7";
	snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)(ms + 2),
	    0xdef2);
	/* Dropped by the other instance: skipped, and forgotten. */
	assert_int_equal(store_delete(other, "attestations", id, &err), 0);
	assert_int_equal(attlog_walk(&flt, 10), 5);
	/* A rebuild (every ATTLOG_REBUILD_S) lists every row, opens only the
	 * one it does not know, and drops the entry of a row the other
	 * instance deleted (no page had found it gone). */
	read0 = attlog_index_rows_read(&n0);
	snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
	    (ms - 60000), 0xabc0);
	assert_int_equal(store_delete(other, "attestations", id, &err), 0);
	put_row(other, ms + 11, 0xfef0, "snp", "affirming", "10.8.8.8", 0);
	attlog_index_sweep_next(1);
	store_poll(f->st);
	assert_int_equal(attlog_index_rows_read(&n1), read0 + 1);
	assert_int_equal(n1, n0);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	flt.tee = "sgx";
	assert_int_equal(attlog_walk(&flt, 10), 1);
	attlog_shutdown();
	store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attlog, consolefix_setup,
		    consolefix_teardown),
		cmocka_unit_test_setup_teardown(test_attlog_row_forms,
		    consolefix_setup, consolefix_teardown),
		cmocka_unit_test_setup_teardown(test_attlog_shared,
		    consolefix_setup, consolefix_teardown),
	};

	log_init("test_console_attlog", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
