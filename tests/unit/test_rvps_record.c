/*
 * test_rvps_record.c: the reference value store's records (rvps/):
 * adding, getting and querying any JSON value, versions and the kept
 * history, expiry, revocation, deletion, the name and value rules,
 * queries concurrent with writes, and the module before rvps_init.
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

#include "../../lib/b64.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "rvpsfix.h"

static int
setup(void **state)
{
	return rvpsfix_setup(state, "test_rvps_record");
}

static void
test_add_get_query(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix(), t;
	json_t *v = testutil_json("[\"abc\", 1]"), *rec = NULL;

	(void)state;
	assert_int_equal(rvps_add("a", v, 0, "alice", &rec, &err), 0);
	json_decref(v);
	assert_string_equal(rvpsfix_str_member(rec, "name"), "a");
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	rvpsfix_assert_json(json_object_get(rec, "value"), "[\"abc\", 1]");
	assert_string_equal(rvpsfix_str_member(rec, "added_by"), "alice");
	assert_true(json_is_null(json_object_get(rec, "revoked")));
	assert_string_equal(rvpsfix_str_member(rec, "state"), "valid");
	t = rvpsfix_time_member(rec, "created");
	assert_true(t >= now && t <= now + 5);
	/* default lifetime: 365 days */
	assert_int_equal(rvpsfix_time_member(rec, "expiration") - t,
	    RVPS_DEFAULT_LIFETIME);
	/* members in the documented order */
	{
		const char *order[] = { "name", "version", "value", "created",
		    "expiration", "added_by", "revoked", "state" };
		void *it = json_object_iter(rec);
		size_t i = 0;

		for (; it != NULL; it = json_object_iter_next(rec, it), i++) {
			assert_true(i < ARRAY_SIZE(order));
			assert_string_equal(json_object_iter_key(it),
			    order[i]);
		}
		assert_int_equal(i, ARRAY_SIZE(order));
	}
	json_decref(rec);

	rvpsfix_assert_query("a", now, "[\"abc\", 1]");
	rvpsfix_assert_query("b", now, NULL);
	assert_null(rvps_query(NULL, now));
	/* the returned value is a copy */
	v = rvps_query("a", now);
	json_array_clear(v);
	json_decref(v);
	rvpsfix_assert_query("a", now, "[\"abc\", 1]");

	assert_int_equal(rvps_get("a", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "state"), "valid");
	json_decref(rec);
	assert_int_equal(rvps_get("nope", now, &rec, &err), 1);
	assert_null(rec);

	/* any JSON value */
	rvpsfix_add_ok("n", "null", 0);
	rvpsfix_add_ok("o", "{\"x\": {\"y\": [true, 1.5]}}", 0);
	rvpsfix_add_ok("s", "\"str\"", 0);
	rvpsfix_assert_query("n", now, "null");
	rvpsfix_assert_query("o", now, "{\"x\": {\"y\": [true, 1.5]}}");
	rvpsfix_assert_query("s", now, "\"str\"");
}

static void
test_versions_history(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;
	int i;

	(void)state;
	rvpsfix_add_ok("fw", "1", 0);
	rvpsfix_add_ok("fw", "2", 0);
	assert_int_equal(rvps_get("fw", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	rvpsfix_assert_json(json_object_get(rec, "value"), "2");
	json_decref(rec);
	rvpsfix_assert_query("fw", now, "2");

	assert_int_equal(rvps_history("fw", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, 0), "version")), 2);
	assert_string_equal(rvpsfix_str_member(json_array_get(hist, 0),
	    "state"), "valid");
	assert_string_equal(rvpsfix_str_member(json_array_get(hist, 1),
	    "state"), "superseded");
	rvpsfix_assert_json(json_object_get(json_array_get(hist, 1), "value"),
	    "1");
	json_decref(hist);
	assert_int_equal(rvps_history("none", now, &hist, &err), 1);

	/* only the newest RVPS_HISTORY_KEEP versions are kept */
	for (i = 3; i <= RVPS_HISTORY_KEEP + 4; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		rvpsfix_add_ok("fw", v, 0);
	}
	assert_int_equal(rvps_history("fw", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), RVPS_HISTORY_KEEP);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, 0), "version")), RVPS_HISTORY_KEEP + 4);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, RVPS_HISTORY_KEEP - 1), "version")), 5);
	json_decref(hist);
	assert_int_equal(rvpsfix_count_records(now), 1);
}

static void
test_expiry(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *v = testutil_json("1"), *rec, *list;

	(void)state;
	rvpsfix_add_ok("soon", "[\"x\"]", now + 100);
	rvpsfix_add_ok("later", "2", 0);
	rvpsfix_assert_query("soon", now, "[\"x\"]");
	rvpsfix_assert_query("soon", now + 99, "[\"x\"]");
	/* at expiration: expired */
	rvpsfix_assert_query("soon", now + 100, NULL);
	rvpsfix_assert_query("soon", now + 1000, NULL);
	rvpsfix_assert_query("later", now + 1000, "2");
	rvpsfix_assert_query("later", now + RVPS_DEFAULT_LIFETIME + 10, NULL);

	assert_int_equal(rvps_get("soon", now + 1000, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "state"), "expired");
	assert_int_equal(rvpsfix_time_member(rec, "expiration"), now + 100);
	json_decref(rec);
	assert_int_equal(rvps_list(now + 1000, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 0), "name"),
	    "later");
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 0),
	    "state"), "valid");
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 1),
	    "state"), "expired");
	json_decref(list);

	/* an expiration not in the future, or beyond year 9999 */
	assert_int_equal(rvps_add("x", v, now - 10, NULL, NULL, &err), -1);
	rvpsfix_assert_msg(&err, "not in the future");
	assert_int_equal(rvps_add("x", v, -5, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("x", v, RVPS_EXPIRATION_MAX + 1, NULL, NULL,
	    &err), -1);
	rvpsfix_assert_msg(&err, "9999");
	assert_int_equal(rvps_add("x", v, RVPS_EXPIRATION_MAX, NULL, NULL,
	    &err), 0);
	json_decref(v);
	assert_int_equal(rvps_get("x", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "expiration"),
	    "9999-12-31T23:59:59Z");
	assert_string_equal(rvpsfix_str_member(rec, "added_by"), "");
	json_decref(rec);
}

static void
test_revoke(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *rv, *hist;

	(void)state;
	rvpsfix_add_ok("k", "\"v1\"", 0);
	assert_int_equal(rvps_revoke("k", "bob", "compromised build", &err),
	    0);
	rvpsfix_assert_query("k", now, NULL);
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "state"), "revoked");
	rv = json_object_get(rec, "revoked");
	assert_string_equal(rvpsfix_str_member(rv, "by"), "bob");
	assert_string_equal(rvpsfix_str_member(rv, "reason"),
	    "compromised build");
	assert_true(rvpsfix_time_member(rv, "at") >= now);
	json_decref(rec);
	/* revoked wins over expired in the state */
	assert_int_equal(rvps_get("k", now + 2 * RVPS_DEFAULT_LIFETIME, &rec,
	    &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "state"), "revoked");
	json_decref(rec);

	/* again: ok, the first revocation stays */
	assert_int_equal(rvps_revoke("k", "carol", "again", &err), 0);
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(json_object_get(rec, "revoked"),
	    "by"), "bob");
	json_decref(rec);
	assert_int_equal(rvps_revoke("unknown", "bob", "", &err), 1);
	assert_int_equal(rvps_revoke("k", "bob", "bad\nreason", &err), -1);
	rvpsfix_assert_msg(&err, "control character");

	/* the revocation shows in the history too */
	assert_int_equal(rvps_history("k", now, &hist, &err), 0);
	assert_string_equal(rvpsfix_str_member(json_array_get(hist, 0),
	    "state"), "revoked");
	json_decref(hist);

	/* a new version clears it */
	rvpsfix_add_ok("k", "\"v2\"", 0);
	rvpsfix_assert_query("k", now, "\"v2\"");
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	assert_true(json_is_null(json_object_get(rec, "revoked")));
	json_decref(rec);
	assert_int_equal(rvps_history("k", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(rvpsfix_str_member(json_array_get(hist, 1),
	    "state"), "revoked");
	json_decref(hist);
}

static void
test_delete(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;

	(void)state;
	rvpsfix_add_ok("d", "1", 0);
	rvpsfix_add_ok("d", "2", 0);
	rvpsfix_add_ok("keep", "3", 0);
	assert_int_equal(rvps_delete("d", &err), 0);
	rvpsfix_assert_query("d", now, NULL);
	assert_int_equal(rvps_get("d", now, &rec, &err), 1);
	assert_int_equal(rvps_history("d", now, &hist, &err), 1);
	assert_int_equal(rvps_delete("d", &err), 1);
	rvpsfix_assert_query("keep", now, "3");
	/* a deleted name starts again at version 1 */
	rvpsfix_add_ok("d", "4", 0);
	assert_int_equal(rvps_get("d", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	json_decref(rec);
}

static void
test_names(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	char longname[RVPS_NAME_MAX + 2];
	json_t *v = testutil_json("1"), *list;
	const char *bad[] = { "", "a\x01", "a\x7f", "tab\there", "\xff",
	    "\xc2\x85", "\xc0\xaf", "\xed\xa0\x80", "a\xe2\x82" };
	size_t i;

	(void)state;
	rvpsfix_add_ok("rvps:///ns1/ns2/key:tag", "1", 0);
	rvpsfix_add_ok("a/b/c", "2", 0);
	rvpsfix_add_ok("caf\xc3\xa9 \xe2\x9c\x93", "3", 0);
	rvpsfix_assert_query("rvps:///ns1/ns2/key:tag", now, "1");
	rvpsfix_assert_query("a/b/c", now, "2");
	rvpsfix_assert_query("caf\xc3\xa9 \xe2\x9c\x93", now, "3");

	memset(longname, 'n', sizeof(longname));
	longname[RVPS_NAME_MAX] = '\0';
	assert_int_equal(rvps_add(longname, v, 0, NULL, NULL, &err), 0);
	longname[RVPS_NAME_MAX] = 'n';
	longname[RVPS_NAME_MAX + 1] = '\0';
	assert_int_equal(rvps_add(longname, v, 0, NULL, NULL, &err), -1);
	rvpsfix_assert_msg(&err, "longer than 256 bytes");
	assert_int_equal(rvps_get(longname, now, &list, &err), -1);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		if (rvps_add(bad[i], v, 0, NULL, NULL, &err) != -1)
			fail_msg("name %zu accepted", i);
		rvpsfix_assert_msg(&err, "reference value name");
	}
	assert_int_equal(rvps_check_name("a/b:c", &err), 0);
	assert_int_equal(rvps_check_name("a\x01", &err), -1);
	rvpsfix_assert_msg(&err, "U+0001 (at byte 1)");
	assert_int_equal(rvps_check_name(NULL, &err), -1);
	rvpsfix_assert_msg(&err, "is empty");
	assert_int_equal(rvps_add(NULL, v, 0, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("ok", NULL, 0, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("ok", v, 0, "who\n", NULL, &err), -1);
	rvpsfix_assert_msg(&err, "admin identity");
	json_decref(v);

	/* a value over RVPS_VALUE_MAX as JSON */
	{
		char *big = xmalloc(RVPS_VALUE_MAX + 1);

		memset(big, 'x', RVPS_VALUE_MAX);
		big[RVPS_VALUE_MAX] = '\0';
		v = json_string(big);
		free(big);
		assert_int_equal(rvps_add("big", v, 0, NULL, NULL, &err), -1);
		rvpsfix_assert_msg(&err, "more than the limit");
		json_decref(v);
	}
	/* sorted by name, bytewise */
	assert_int_equal(rvps_list(now, &list, &err), 0);
	assert_int_equal(json_array_size(list), 4);
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 0), "name"),
	    "a/b/c");
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 1), "name"),
	    "caf\xc3\xa9 \xe2\x9c\x93");
	assert_string_equal(rvpsfix_str_member(json_array_get(list, 3), "name"),
	    "rvps:///ns1/ns2/key:tag");
	json_decref(list);
}

struct reader_arg {
	int64_t now;
	int seen;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;
	int i;

	for (i = 0; i < 2000; i++) {
		json_t *v = rvps_query("hot", a->now);

		if (v != NULL) {
			if (!json_is_integer(v))
				abort();
			a->seen++;
			json_decref(v);
		}
	}
	return NULL;
}

static void
test_concurrent_queries(void **state)
{
	struct reader_arg args[4];
	pthread_t th[4];
	int i;

	(void)state;
	rvpsfix_add_ok("hot", "0", 0);
	for (i = 0; i < 4; i++) {
		args[i].now = now_unix();
		args[i].seen = 0;
		assert_int_equal(pthread_create(&th[i], NULL, reader,
		    &args[i]), 0);
	}
	for (i = 1; i <= 20; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		rvpsfix_add_ok("hot", v, 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].seen, 2000);
	}
	rvpsfix_assert_query("hot", now_unix(), "20");
}

/* Without rvps_init: queries see nothing, writes fail, extraction works. */
static void
test_not_initialized(void **state)
{
	struct error err = { "" };
	json_t *v = json_true(), *out;

	(void)state;
	rvps_shutdown();
	assert_null(rvps_query("a", 0));
	assert_int_equal(rvps_add("a", v, 0, NULL, NULL, &err), -1);
	rvpsfix_assert_msg(&err, "rvps_init was not called");
	assert_int_equal(rvps_list(0, &out, &err), -1);
	assert_int_equal(rvps_reload(&err), -1);
	assert_int_equal(rvps_revoke("a", NULL, NULL, &err), -1);
	assert_int_equal(rvps_init(NULL, &err), -1);
	assert_int_equal(rvps_extract_sample((const uint8_t *)"{\"a\":1}", 7,
	    &out, &err), 0);
	json_decref(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_get_query, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_versions_history, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_names, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_queries, setup,
		    rvpsfix_teardown),
		cmocka_unit_test(test_not_initialized),
	};

	log_init("test_rvps_record", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
