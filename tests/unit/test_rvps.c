/*
 * test_rvps.c: the reference value store (rvps/): records, versions,
 * expiry, revocation, history, persistence in the encrypted store, the
 * register envelope and the sample, swid and corim extractors, with every
 * failure mode we know of. Inputs are crafted here from the specs: SWID
 * XML as text, CoRIMs with libcbor's builder API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbor.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/b64.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/trusteed.h"
#include "testutil.h"

#define DAY 86400

struct fixture {
	char dir[64];
	char db[128];
	uint8_t key[32];
	struct store *st;
};

/* ---------------------------------------------------------------- helpers */

static struct store *
open_store(struct fixture *f)
{
	struct error err = { "" };
	struct store *st;

	st = store_open_key(&store_backend_sqlite, f->db, f->key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = { "" };
	size_t i;

	assert_non_null(f);
	testutil_tmpdb("test_rvps", f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	for (i = 0; i < sizeof(f->key); i++)
		f->key[i] = (uint8_t)(i * 7 + 1);
	f->st = open_store(f);
	if (rvps_init(f->st, &err) != 0)
		fail_msg("rvps_init: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rvps_shutdown();
	store_close(f->st);
	testutil_db_unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Assert that a JSON value equals the JSON text want. */
static void
assert_json(const json_t *got, const char *want)
{
	json_t *w = testutil_json(want);

	if (got == NULL || !json_equal(got, w)) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

		fail_msg("got %s, want %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

static void
add_ok(const char *name, const char *value, int64_t exp)
{
	struct error err = { "" };
	json_t *v = testutil_json(value);

	if (rvps_add(name, v, exp, "tester", NULL, &err) != 0)
		fail_msg("rvps_add %s: %s", name, err.msg);
	json_decref(v);
}

static void
assert_query(const char *name, int64_t now, const char *want)
{
	json_t *got = rvps_query(name, now);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("query %s: expected nothing", name);
		return;
	}
	assert_json(got, want);
	json_decref(got);
}

/* err.msg must contain want. */
static void
assert_msg(const struct error *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err->msg, want);
}

static const char *
str_member(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("no string member %s", k);
	return s;
}

static int64_t
time_member(const json_t *o, const char *k)
{
	int64_t t;

	assert_int_equal(time_parse_rfc3339(str_member(o, k), &t), 0);
	return t;
}

static char *
envelope(const char *version, const char *type, const void *payload,
    size_t len, enum b64_variant v)
{
	char *b = b64_encode(payload, len, v), *s;

	if (version != NULL)
		s = xasprintf("{\"version\":\"%s\",\"type\":\"%s\","
		    "\"payload\":\"%s\"}", version, type, b);
	else
		s = xasprintf("{\"type\":\"%s\",\"payload\":\"%s\"}", type, b);
	free(b);
	return s;
}

static json_t *
register_ok(const char *type, const void *payload, size_t len)
{
	struct error err = { "" };
	json_t *names = NULL;
	char *env = envelope("0.1.0", type, payload, len, B64_STD);

	if (rvps_register(env, strlen(env), "tester", &names, &err) != 0)
		fail_msg("rvps_register: %s", err.msg);
	free(env);
	return names;
}

static void
register_fails(const char *env, const char *want)
{
	struct error err = { "" };
	json_t *names = (json_t *)"x";

	assert_int_equal(rvps_register(env, strlen(env), "tester", &names,
	    &err), -1);
	assert_null(names);
	assert_msg(&err, want);
}

static size_t
count_records(int64_t now)
{
	struct error err = { "" };
	json_t *list;
	size_t n;

	if (rvps_list(now, &list, &err) != 0)
		fail_msg("rvps_list: %s", err.msg);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

/* ------------------------------------------------------- model and store */

static void
test_add_get_query(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix(), t;
	json_t *v = testutil_json("[\"abc\", 1]"), *rec = NULL;

	(void)state;
	assert_int_equal(rvps_add("a", v, 0, "alice", &rec, &err), 0);
	json_decref(v);
	assert_string_equal(str_member(rec, "name"), "a");
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	assert_json(json_object_get(rec, "value"), "[\"abc\", 1]");
	assert_string_equal(str_member(rec, "added_by"), "alice");
	assert_true(json_is_null(json_object_get(rec, "revoked")));
	assert_string_equal(str_member(rec, "state"), "valid");
	t = time_member(rec, "created");
	assert_true(t >= now && t <= now + 5);
	/* default lifetime: 365 days */
	assert_int_equal(time_member(rec, "expiration") - t,
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

	assert_query("a", now, "[\"abc\", 1]");
	assert_query("b", now, NULL);
	assert_null(rvps_query(NULL, now));
	/* the returned value is a copy */
	v = rvps_query("a", now);
	json_array_clear(v);
	json_decref(v);
	assert_query("a", now, "[\"abc\", 1]");

	assert_int_equal(rvps_get("a", now, &rec, &err), 0);
	assert_string_equal(str_member(rec, "state"), "valid");
	json_decref(rec);
	assert_int_equal(rvps_get("nope", now, &rec, &err), 1);
	assert_null(rec);

	/* any JSON value */
	add_ok("n", "null", 0);
	add_ok("o", "{\"x\": {\"y\": [true, 1.5]}}", 0);
	add_ok("s", "\"str\"", 0);
	assert_query("n", now, "null");
	assert_query("o", now, "{\"x\": {\"y\": [true, 1.5]}}");
	assert_query("s", now, "\"str\"");
}

static void
test_versions_history(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;
	int i;

	(void)state;
	add_ok("fw", "1", 0);
	add_ok("fw", "2", 0);
	assert_int_equal(rvps_get("fw", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	assert_json(json_object_get(rec, "value"), "2");
	json_decref(rec);
	assert_query("fw", now, "2");

	assert_int_equal(rvps_history("fw", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, 0), "version")), 2);
	assert_string_equal(str_member(json_array_get(hist, 0), "state"),
	    "valid");
	assert_string_equal(str_member(json_array_get(hist, 1), "state"),
	    "superseded");
	assert_json(json_object_get(json_array_get(hist, 1), "value"), "1");
	json_decref(hist);
	assert_int_equal(rvps_history("none", now, &hist, &err), 1);

	/* only the newest RVPS_HISTORY_KEEP versions are kept */
	for (i = 3; i <= RVPS_HISTORY_KEEP + 4; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		add_ok("fw", v, 0);
	}
	assert_int_equal(rvps_history("fw", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), RVPS_HISTORY_KEEP);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, 0), "version")), RVPS_HISTORY_KEEP + 4);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(hist, RVPS_HISTORY_KEEP - 1), "version")), 5);
	json_decref(hist);
	assert_int_equal(count_records(now), 1);
}

static void
test_expiry(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *v = testutil_json("1"), *rec, *list;

	(void)state;
	add_ok("soon", "[\"x\"]", now + 100);
	add_ok("later", "2", 0);
	assert_query("soon", now, "[\"x\"]");
	assert_query("soon", now + 99, "[\"x\"]");
	assert_query("soon", now + 100, NULL);	/* at expiration: expired */
	assert_query("soon", now + 1000, NULL);
	assert_query("later", now + 1000, "2");
	assert_query("later", now + RVPS_DEFAULT_LIFETIME + 10, NULL);

	assert_int_equal(rvps_get("soon", now + 1000, &rec, &err), 0);
	assert_string_equal(str_member(rec, "state"), "expired");
	assert_int_equal(time_member(rec, "expiration"), now + 100);
	json_decref(rec);
	assert_int_equal(rvps_list(now + 1000, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(str_member(json_array_get(list, 0), "name"),
	    "later");
	assert_string_equal(str_member(json_array_get(list, 0), "state"),
	    "valid");
	assert_string_equal(str_member(json_array_get(list, 1), "state"),
	    "expired");
	json_decref(list);

	/* an expiration not in the future, or beyond year 9999 */
	assert_int_equal(rvps_add("x", v, now - 10, NULL, NULL, &err), -1);
	assert_msg(&err, "not in the future");
	assert_int_equal(rvps_add("x", v, -5, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("x", v, RVPS_EXPIRATION_MAX + 1, NULL, NULL,
	    &err), -1);
	assert_msg(&err, "9999");
	assert_int_equal(rvps_add("x", v, RVPS_EXPIRATION_MAX, NULL, NULL,
	    &err), 0);
	json_decref(v);
	assert_int_equal(rvps_get("x", now, &rec, &err), 0);
	assert_string_equal(str_member(rec, "expiration"),
	    "9999-12-31T23:59:59Z");
	assert_string_equal(str_member(rec, "added_by"), "");
	json_decref(rec);
}

static void
test_revoke(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *rv, *hist;

	(void)state;
	add_ok("k", "\"v1\"", 0);
	assert_int_equal(rvps_revoke("k", "bob", "compromised build", &err),
	    0);
	assert_query("k", now, NULL);
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_string_equal(str_member(rec, "state"), "revoked");
	rv = json_object_get(rec, "revoked");
	assert_string_equal(str_member(rv, "by"), "bob");
	assert_string_equal(str_member(rv, "reason"), "compromised build");
	assert_true(time_member(rv, "at") >= now);
	json_decref(rec);
	/* revoked wins over expired in the state */
	assert_int_equal(rvps_get("k", now + 2 * RVPS_DEFAULT_LIFETIME, &rec,
	    &err), 0);
	assert_string_equal(str_member(rec, "state"), "revoked");
	json_decref(rec);

	/* again: ok, the first revocation stays */
	assert_int_equal(rvps_revoke("k", "carol", "again", &err), 0);
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_string_equal(str_member(json_object_get(rec, "revoked"), "by"),
	    "bob");
	json_decref(rec);
	assert_int_equal(rvps_revoke("unknown", "bob", "", &err), 1);
	assert_int_equal(rvps_revoke("k", "bob", "bad\nreason", &err), -1);
	assert_msg(&err, "control character");

	/* the revocation shows in the history too */
	assert_int_equal(rvps_history("k", now, &hist, &err), 0);
	assert_string_equal(str_member(json_array_get(hist, 0), "state"),
	    "revoked");
	json_decref(hist);

	/* a new version clears it */
	add_ok("k", "\"v2\"", 0);
	assert_query("k", now, "\"v2\"");
	assert_int_equal(rvps_get("k", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	assert_true(json_is_null(json_object_get(rec, "revoked")));
	json_decref(rec);
	assert_int_equal(rvps_history("k", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(str_member(json_array_get(hist, 1), "state"),
	    "revoked");
	json_decref(hist);
}

static void
test_delete(void **state)
{
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;

	(void)state;
	add_ok("d", "1", 0);
	add_ok("d", "2", 0);
	add_ok("keep", "3", 0);
	assert_int_equal(rvps_delete("d", &err), 0);
	assert_query("d", now, NULL);
	assert_int_equal(rvps_get("d", now, &rec, &err), 1);
	assert_int_equal(rvps_history("d", now, &hist, &err), 1);
	assert_int_equal(rvps_delete("d", &err), 1);
	assert_query("keep", now, "3");
	/* a deleted name starts again at version 1 */
	add_ok("d", "4", 0);
	assert_int_equal(rvps_get("d", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	json_decref(rec);
}

static void
test_persistence(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec;

	add_ok("p/one", "[1]", 0);
	add_ok("p/one", "[2]", 0);
	add_ok("p:two", "\"t\"", now + 50);
	assert_int_equal(rvps_revoke("p:two", "bob", "why", &err), 0);

	rvps_shutdown();
	assert_null(rvps_query("p/one", now));	/* nothing loaded */
	assert_int_equal(rvps_add("x", json_true(), 0, NULL, NULL, &err), -1);
	assert_msg(&err, "not open");
	store_close(f->st);
	f->st = open_store(f);
	assert_int_equal(rvps_init(f->st, &err), 0);

	assert_query("p/one", now, "[2]");
	assert_query("p:two", now, NULL);
	assert_int_equal(rvps_get("p:two", now, &rec, &err), 0);
	assert_string_equal(str_member(rec, "state"), "revoked");
	assert_int_equal(time_member(rec, "expiration"), now + 50);
	json_decref(rec);
	add_ok("p/one", "[3]", 0);
	assert_int_equal(rvps_get("p/one", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    3);
	json_decref(rec);
	assert_int_equal(count_records(now), 2);

	/* the rows are encrypted: no name or value in the database file */
	{
		uint8_t *db = NULL;
		size_t len = 0;

		rvps_shutdown();
		store_close(f->st);
		assert_int_equal(file_read_all(f->db, 64 << 20, &db, &len,
		    &err), 0);
		assert_null(memmem(db, len, "p/one", 5));
		assert_null(memmem(db, len, "p:two", 5));
		free(db);
		f->st = open_store(f);
		assert_int_equal(rvps_init(f->st, &err), 0);
	}
}

/* Rows written by another trusteed sharing the store are picked up by a
 * reload (rvps_list, rvps_reload); a damaged row is reported. */
static void
test_store_is_truth(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	int64_t now = now_unix();
	const char *row = "{\"name\":\"ext\",\"version\":4,\"value\":[\"e\"],"
	    "\"created\":\"2024-01-01T00:00:00Z\",\"expiration\":"
	    "\"9000-01-01T00:00:00Z\",\"added_by\":\"peer\",\"revoked\":null}";
	json_t *list;

	add_ok("own", "1", 0);
	assert_int_equal(store_put(f->st, "rv", "ext", row, strlen(row),
	    &err), 0);
	assert_query("ext", now, NULL);		/* not yet seen */
	assert_int_equal(rvps_reload(&err), 0);
	assert_query("ext", now, "[\"e\"]");
	add_ok("ext", "[\"f\"]", 0);		/* continues its versions */
	assert_int_equal(rvps_list(now, &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(list, 0), "version")), 5);
	json_decref(list);

	/* revoked elsewhere: seen after rvps_list */
	row = "{\"name\":\"own\",\"version\":1,\"value\":1,\"created\":"
	    "\"2024-01-01T00:00:00Z\",\"expiration\":\"9000-01-01T00:00:00Z\","
	    "\"added_by\":\"\",\"revoked\":{\"by\":\"peer\",\"at\":"
	    "\"2024-01-02T00:00:00Z\",\"reason\":\"r\"}}";
	assert_int_equal(store_put(f->st, "rv", "own", row, strlen(row),
	    &err), 0);
	assert_query("own", now, "1");
	assert_int_equal(rvps_list(now, &list, &err), 0);
	json_decref(list);
	assert_query("own", now, NULL);

	/* a malformed row: the reload fails, naming it; queries go on */
	row = "{\"name\":\"bad\",\"version\":0}";
	assert_int_equal(store_put(f->st, "rv", "bad", row, strlen(row),
	    &err), 0);
	assert_int_equal(rvps_reload(&err), -1);
	assert_msg(&err, "'bad'");
	assert_msg(&err, "version");
	assert_query("ext", now, "[\"f\"]");
	/* a row under another name */
	row = "{\"name\":\"zzz\",\"version\":1,\"value\":1,\"created\":"
	    "\"2024-01-01T00:00:00Z\",\"expiration\":\"9000-01-01T00:00:00Z\","
	    "\"added_by\":\"\",\"revoked\":null}";
	assert_int_equal(store_put(f->st, "rv", "bad", row, strlen(row),
	    &err), 0);
	assert_int_equal(rvps_reload(&err), -1);
	assert_msg(&err, "another name");
	assert_int_equal(store_delete(f->st, "rv", "bad", &err), 0);
	assert_int_equal(rvps_reload(&err), 0);
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
	add_ok("rvps:///ns1/ns2/key:tag", "1", 0);
	add_ok("a/b/c", "2", 0);
	add_ok("caf\xc3\xa9 \xe2\x9c\x93", "3", 0);
	assert_query("rvps:///ns1/ns2/key:tag", now, "1");
	assert_query("a/b/c", now, "2");
	assert_query("caf\xc3\xa9 \xe2\x9c\x93", now, "3");

	memset(longname, 'n', sizeof(longname));
	longname[RVPS_NAME_MAX] = '\0';
	assert_int_equal(rvps_add(longname, v, 0, NULL, NULL, &err), 0);
	longname[RVPS_NAME_MAX] = 'n';
	longname[RVPS_NAME_MAX + 1] = '\0';
	assert_int_equal(rvps_add(longname, v, 0, NULL, NULL, &err), -1);
	assert_msg(&err, "longer than 256 bytes");
	assert_int_equal(rvps_get(longname, now, &list, &err), -1);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		if (rvps_add(bad[i], v, 0, NULL, NULL, &err) != -1)
			fail_msg("name %zu accepted", i);
		assert_msg(&err, "reference value name");
	}
	assert_int_equal(rvps_check_name("a/b:c", &err), 0);
	assert_int_equal(rvps_check_name("a\x01", &err), -1);
	assert_msg(&err, "U+0001 (at byte 1)");
	assert_int_equal(rvps_check_name(NULL, &err), -1);
	assert_msg(&err, "is empty");
	assert_int_equal(rvps_add(NULL, v, 0, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("ok", NULL, 0, NULL, NULL, &err), -1);
	assert_int_equal(rvps_add("ok", v, 0, "who\n", NULL, &err), -1);
	assert_msg(&err, "admin identity");
	json_decref(v);

	/* a value over RVPS_VALUE_MAX as JSON */
	{
		char *big = xmalloc(RVPS_VALUE_MAX + 1);

		memset(big, 'x', RVPS_VALUE_MAX);
		big[RVPS_VALUE_MAX] = '\0';
		v = json_string(big);
		free(big);
		assert_int_equal(rvps_add("big", v, 0, NULL, NULL, &err), -1);
		assert_msg(&err, "more than the limit");
		json_decref(v);
	}
	/* sorted by name, bytewise */
	assert_int_equal(rvps_list(now, &list, &err), 0);
	assert_int_equal(json_array_size(list), 4);
	assert_string_equal(str_member(json_array_get(list, 0), "name"),
	    "a/b/c");
	assert_string_equal(str_member(json_array_get(list, 1), "name"),
	    "caf\xc3\xa9 \xe2\x9c\x93");
	assert_string_equal(str_member(json_array_get(list, 3), "name"),
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
	add_ok("hot", "0", 0);
	for (i = 0; i < 4; i++) {
		args[i].now = now_unix();
		args[i].seen = 0;
		assert_int_equal(pthread_create(&th[i], NULL, reader,
		    &args[i]), 0);
	}
	for (i = 1; i <= 20; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		add_ok("hot", v, 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].seen, 2000);
	}
	assert_query("hot", now_unix(), "20");
}

/* --------------------------------------------------------------- envelope */

static void
test_envelope_sample(void **state)
{
	const char *payload = "{\"x\":[\"abc\"],\"y\":1,\"z?\":\"???\"}";
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *names, *rec, *vals;
	char *env, *b;

	(void)state;
	names = register_ok("sample", payload, strlen(payload));
	assert_json(names, "[\"x\", \"y\", \"z?\"]");
	json_decref(names);
	assert_query("x", now, "[\"abc\"]");
	assert_query("z?", now, "\"???\"");
	assert_int_equal(rvps_get("y", now, &rec, &err), 0);
	assert_string_equal(str_member(rec, "added_by"), "tester");
	assert_int_equal(time_member(rec, "expiration") -
	    time_member(rec, "created"), RVPS_DEFAULT_LIFETIME);
	json_decref(rec);

	/* version absent; URL-safe alphabet, no padding ("???" gives '/' in
	 * the standard alphabet, '_' in the URL-safe one) */
	payload = "{\"x\":\"???\"}";
	b = b64_encode(payload, strlen(payload), B64_URL_NOPAD);
	assert_non_null(strchr(b, '_'));
	env = xasprintf("{\"type\":\"sample\",\"payload\":\"%s\",\"extra\":1}",
	    b);
	free(b);
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), 0);
	free(env);
	assert_query("x", now, "\"???\"");
	assert_int_equal(rvps_get("x", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	json_decref(rec);

	/* the checking half alone */
	env = envelope(NULL, "sample", "{\"q\":true}", 10, B64_STD);
	assert_int_equal(rvps_parse_envelope(env, strlen(env), &vals, &err),
	    0);
	assert_json(vals, "{\"q\": true}");
	json_decref(vals);
	free(env);
	assert_query("q", now, NULL);
}

static void
test_envelope_errors(void **state)
{
	char *env, big[600];
	size_t i;

	(void)state;
	env = envelope("0.2.0", "sample", "{\"a\":1}", 7, B64_STD);
	register_fails(env, "version '0.2.0' is not supported");
	free(env);
	register_fails("{\"version\":1,\"type\":\"sample\",\"payload\":\"\"}",
	    "\"version\" must be the string");
	register_fails("{\"version\":\"0.1.0\",\"type\":\"sample\","
	    "\"payload\":\"!!!!\"}", "not base64");
	register_fails("{\"type\":\"sample\",\"payload\":\"eyJhIjoxfQ== \"}",
	    "not base64");
	env = envelope("0.1.0", "in-toto", "{\"a\":1}", 7, B64_STD);
	register_fails(env, "Could not find extractor for 'in-toto'");
	free(env);
	register_fails("{\"type\":\"sample\"}", "\"payload\" must be");
	register_fails("{\"type\":\"sample\",\"provenance\":\"e30=\"}",
	    "not \"provenance\"");
	register_fails("{\"payload\":\"e30=\"}", "\"type\" must be");
	register_fails("{\"type\":\"sample\",\"payload\":7}",
	    "\"payload\" must be");
	register_fails("not json", "not valid JSON");
	register_fails("[1]", "must be a JSON object");
	register_fails("{\"type\":\"sample\",\"type\":\"swid\","
	    "\"payload\":\"e30=\"}", "not valid JSON");
	register_fails("", "not valid JSON");

	/* sample payloads */
	env = envelope(NULL, "sample", "[1,2]", 5, B64_STD);
	register_fails(env, "sample payload: must be a JSON object");
	free(env);
	env = envelope(NULL, "sample", "{\"a\":", 5, B64_STD);
	register_fails(env, "sample payload: not valid JSON");
	free(env);
	env = envelope(NULL, "sample", "{\"a\":1,\"a\":2}", 13, B64_STD);
	register_fails(env, "duplicate");
	free(env);
	env = envelope(NULL, "sample", "{}", 2, B64_STD);
	register_fails(env, "holds no reference values");
	free(env);
	env = envelope(NULL, "sample", "", 0, B64_STD);
	register_fails(env, "sample payload");
	free(env);

	/* too many values */
	{
		struct buf b = { NULL, 0, 0 };

		buf_addstr(&b, "{");
		for (i = 0; i <= RVPS_REGISTER_MAX; i++)
			buf_printf(&b, "%s\"n%zu\":1", i ? "," : "", i);
		buf_addstr(&b, "}");
		env = envelope(NULL, "sample", b.data, b.len, B64_STD);
		register_fails(env, "more than the limit of 4096");
		free(env);
		buf_free(&b);
	}
	/* a who too long */
	memset(big, 'w', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	{
		struct error err = { "" };

		env = envelope(NULL, "sample", "{\"a\":1}", 7, B64_STD);
		assert_int_equal(rvps_register(env, strlen(env), big, NULL,
		    &err), -1);
		assert_msg(&err, "admin identity");
		free(env);
	}
	assert_int_equal(count_records(now_unix()), 0);
}

/* Nothing is stored unless every value can be. */
static void
test_all_or_nothing(void **state)
{
	const char *p1 = "{\"good\":1,\"bad\\u0001name\":2}";
	struct buf p2 = { NULL, 0, 0 };
	char *env;
	size_t i;

	(void)state;
	add_ok("good", "0", 0);
	env = envelope(NULL, "sample", p1, strlen(p1), B64_STD);
	register_fails(env, "control character");
	free(env);

	buf_addstr(&p2, "{\"good\":5,\"fine\":6,\"big\":\"");
	for (i = 0; i < RVPS_VALUE_MAX; i++)
		buf_addstr(&p2, "y");
	buf_addstr(&p2, "\"}");
	env = envelope(NULL, "sample", p2.data, p2.len, B64_STD);
	register_fails(env, "'big'");
	free(env);
	buf_free(&p2);

	/* a name too long, last */
	buf_addstr(&p2, "{\"fine\":6,\"");
	for (i = 0; i <= RVPS_NAME_MAX; i++)
		buf_addstr(&p2, "L");
	buf_addstr(&p2, "\":1}");
	env = envelope(NULL, "sample", p2.data, p2.len, B64_STD);
	register_fails(env, "longer than 256 bytes");
	free(env);
	buf_free(&p2);

	assert_query("good", now_unix(), "0");
	assert_query("fine", now_unix(), NULL);
	assert_int_equal(count_records(now_unix()), 1);
}

/* A store failure midway through a registration restores the rows
 * already written: the database refuses the second history row. */
static void
test_rollback(void **state)
{
	struct fixture *f = *state;
	const char *payload = "{\"a\":2,\"b\":3,\"c\":4}";
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *rec, *hist;
	char *env;

	add_ok("a", "1", 0);
	testutil_db_exec(f->db, "CREATE TRIGGER boom BEFORE INSERT ON rows WHEN "
	    "NEW.tbl = 'rv_history' AND (SELECT count(*) FROM rows WHERE "
	    "tbl = 'rv_history') >= 2 BEGIN SELECT RAISE(ABORT, 'boom'); "
	    "END;");
	env = envelope(NULL, "sample", payload, strlen(payload), B64_STD);
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), -1);
	assert_msg(&err, "storing 'b' failed (nothing was stored)");
	assert_msg(&err, "boom");
	assert_query("a", now, "1");
	assert_query("b", now, NULL);
	assert_int_equal(rvps_reload(&err), 0);	/* the store agrees */
	assert_query("a", now, "1");
	assert_query("b", now, NULL);
	assert_int_equal(rvps_get("a", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    1);
	json_decref(rec);
	assert_int_equal(rvps_get("b", now, &rec, &err), 1);
	assert_int_equal(rvps_history("a", now, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 1);
	json_decref(hist);
	assert_int_equal(rvps_history("b", now, &hist, &err), 1);

	testutil_db_exec(f->db, "DROP TRIGGER boom;");
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), 0);
	free(env);
	assert_query("a", now, "2");
	assert_query("c", now, "4");
}

/* ------------------------------------------------------------------- SWID */

#define SWID_HEAD \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/" \
	"2015/schema.xsd\"\n" \
	"    xmlns:rim=\"https://trustedcomputinggroup.org/resource/" \
	"tcg-reference-integrity-manifest-rim-information-model/\"\n" \
	"    xmlns:SHA384=\"http://www.w3.org/2001/04/xmlenc#sha384\"\n" \
	"    name=\"GPU\" tagId=\"t-1\" version=\"1.0\">\n" \
	"  <Entity name=\"ACME Corp\" role=\"softwareCreator tagCreator\"/>\n"

#define SWID_META \
	"  <Meta edition=\"GPU-X\" product=\"P\" " \
	"rim:PlatformManufacturerStr=\"ACME Corp\" rim:PlatformModel=\"M\"/>\n"

#define Z48 "000000000000000000000000000000000000000000000000"
#define Z96 Z48 Z48
#define H1 "b558fdac9af53b91ff3bdb06ff589859d6fbc1050d875c88" \
	"32934724ff7b3d11ac53688ba56db03cf8751913107e0dbe"
#define H2 "92B271965EB7789567D26DE1F249EA0967ED89BF42EF3683" \
	"7483FD90EDB839F5F7E4F1EB48881C3B7F6B54B7C0392C5B"

static const char swid_good[] = SWID_HEAD SWID_META
	"  <Payload>\n"
	"    <Resource type=\"Measurement\" index=\"0\" SHA384:Hash0=\"" Z96
	"\" name=\"m0\" size=\"48\"/>\n"
	"    <Resource type=\"Measurement\" index=\"1\" SHA384:Hash0=\"" H1
	"\"/>\n"
	"    <Resource type=\"Measurement\" index=\"12\" SHA384:Hash0=\"" Z96
	"\" SHA384:Hash1=\"" H1 "\" SHA384:Hash2=\"" H2 "\"/>\n"
	"    <Resource type=\"Measurement\" index=\"13\" SHA384:Hash1=\"" H1
	"\"/>\n"
	"    <Resource type=\"Other\" index=\"14\" SHA384:Hash0=\"" H1 "\"/>\n"
	"    <Resource type=\"Measurement\" index=\"15\" Hash0=\"" H1 "\"/>\n"
	"    <Group><Resource type=\"Measurement\" index=\"x-y\" "
	"SHA384:Hash0=\"&#x61;bc\"/></Group>\n"
	"  </Payload>\n"
	"</SoftwareIdentity>\n";

static json_t *
swid_ok(const char *xml)
{
	struct error err = { "" };
	json_t *out = NULL;

	if (rvps_extract_swid((const uint8_t *)xml, strlen(xml), &out,
	    &err) != 0)
		fail_msg("swid: %s", err.msg);
	return out;
}

/* Extraction fails with want in the message, and libxml2 prints
 * nothing. */
static void
swid_fails_n(const char *xml, size_t len, const char *want)
{
	struct error err = { "" };
	json_t *out = (json_t *)"x";
	char path[] = "/tmp/test_rvps_stderr.XXXXXX";
	int fd, saved;
	struct stat sb;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	assert_int_equal(rvps_extract_swid((const uint8_t *)xml, len, &out,
	    &err), -1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &sb), 0);
	close(fd);
	unlink(path);
	assert_null(out);
	assert_msg(&err, want);
	if (sb.st_size != 0)
		fail_msg("libxml2 wrote %lld bytes to stderr",
		    (long long)sb.st_size);
}

static void
swid_fails(const char *xml, const char *want)
{
	swid_fails_n(xml, strlen(xml), want);
}

static void
test_swid(void **state)
{
	int64_t now = now_unix();
	json_t *out, *names;

	(void)state;
	out = swid_ok(swid_good);
	assert_json(out, "{"
	    "\"ACME_Corp.GPU_X.measurement_1\": [\"" H1 "\"],"
	    "\"ACME_Corp.GPU_X.measurement_12\": [\"" H1 "\", \"" H2 "\"],"
	    "\"ACME_Corp.GPU_X.measurement_x_y\": [\"abc\"]}");
	json_decref(out);

	/* through the envelope into the store */
	names = register_ok("swid", swid_good, strlen(swid_good));
	assert_int_equal(json_array_size(names), 3);
	json_decref(names);
	assert_query("ACME_Corp.GPU_X.measurement_12", now,
	    "[\"" H1 "\", \"" H2 "\"]");

	/* prefixed SWID elements, and the Meta after the Payload */
	out = swid_ok("<s:SoftwareIdentity xmlns:s=\"http://standards.iso.org/"
	    "iso/19770/-2/2015/schema.xsd\" xmlns:r=\"https://"
	    "trustedcomputinggroup.org/resource/tcg-reference-integrity-"
	    "manifest-rim-information-model/\" xmlns:h=\"http://www.w3.org/"
	    "2001/04/xmlenc#sha384\"><s:Payload><s:Resource type=\"Measurement"
	    "\" index=\"3\" h:Hash0=\"01\"/></s:Payload><s:Meta edition=\"E\" "
	    "r:PlatformManufacturerStr=\"V. Inc\"/></s:SoftwareIdentity>");
	assert_json(out, "{\"V._Inc.E.measurement_3\": [\"01\"]}");
	json_decref(out);

	/* nothing but zeros: no values, which the envelope refuses */
	out = swid_ok(SWID_HEAD SWID_META "<Payload><Resource type=\"Measure"
	    "ment\" index=\"0\" SHA384:Hash0=\"000\"/></Payload>"
	    "</SoftwareIdentity>");
	assert_int_equal(json_object_size(out), 0);
	json_decref(out);
}

static void
test_swid_errors(void **state)
{
	(void)state;
	swid_fails("", "empty");
	/* UCS-4 detected from the first bytes, then undecodable: libxml2
	 * reports that outside the parser context */
	swid_fails_n("\0\0\0<\0HHH", 8, "not acceptable XML");
	swid_fails("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
	    "not acceptable XML");
	swid_fails("<?xml version=\"1.0\" encoding=\"no-such-enc\"?><a/>",
	    "not acceptable XML");
	swid_fails("<a>\xff\xfe</a>", "not acceptable XML");
	swid_fails(SWID_HEAD SWID_META "<Payload>", "line ");
	swid_fails("<a><b></a>", "line 1");
	swid_fails("not xml at all", "not acceptable XML");
	swid_fails("<a>&undefined;</a>", "not acceptable XML");
	/* no DTD at all: entity bombs and external entities never load */
	swid_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    "<!ENTITY lol \"lol\">\n"
	    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    "]>\n<lolz a=\"&lol3;\">&lol3;</lolz>", "line 2: a document type "
	    "declaration (<!DOCTYPE>) is not allowed");
	swid_fails("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<r>&x;</r>", "not allowed");
	swid_fails("<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><r/>",
	    "not allowed");
	swid_fails(SWID_HEAD "<Payload/></SoftwareIdentity>", "no <Meta>");
	swid_fails("<Meta edition=\"E\"/>", "no <Meta> element in namespace");
	swid_fails(SWID_HEAD "<Meta edition=\"E\"/><Payload/>"
	    "</SoftwareIdentity>", "no PlatformManufacturerStr");
	swid_fails(SWID_HEAD "<Meta edition=\"E\" PlatformManufacturerStr="
	    "\"X\"/><Payload/></SoftwareIdentity>",
	    "no PlatformManufacturerStr");
	swid_fails(SWID_HEAD "<Meta rim:PlatformManufacturerStr=\"X\"/>"
	    "<Payload/></SoftwareIdentity>", "no edition");
	swid_fails(SWID_HEAD SWID_META "</SoftwareIdentity>", "no <Payload>");
	swid_fails(SWID_HEAD SWID_META "<Payload><Resource type=\"Measurement"
	    "\" SHA384:Hash0=\"01\"/></Payload></SoftwareIdentity>",
	    "has no index");
	swid_fails(SWID_HEAD SWID_META "<Payload><Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"0x01\"/></Payload>"
	    "</SoftwareIdentity>", "Hash0 is not hexadecimal");
	swid_fails(SWID_HEAD SWID_META "<Payload>\n<Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"01\"/>\n<Resource type=\"Measurement"
	    "\" index=\"2\" SHA384:Hash0=\"02\"/></Payload></SoftwareIdentity>",
	    "appears twice");
}

/* ------------------------------------------------------------------ CoRIM */

/* Builders; every argument item is consumed. */
static cbor_item_t *
cmap(int n, ...)
{
	cbor_item_t *m = cbor_new_definite_map((size_t)n);
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		uint64_t k = va_arg(ap, uint64_t);
		cbor_item_t *v = va_arg(ap, cbor_item_t *);

		assert_true(cbor_map_add(m, (struct cbor_pair){
		    .key = cbor_move(cbor_build_uint64(k)),
		    .value = cbor_move(v) }));
	}
	va_end(ap);
	return m;
}

static cbor_item_t *
carr(int n, ...)
{
	cbor_item_t *a = cbor_new_definite_array((size_t)n);
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_true(cbor_array_push(a, cbor_move(va_arg(ap,
		    cbor_item_t *))));
	va_end(ap);
	return a;
}

static cbor_item_t *
ctag(uint64_t t, cbor_item_t *it)
{
	cbor_item_t *r = cbor_build_tag(t, it);

	cbor_decref(&it);
	return r;
}

static cbor_item_t *
cstr(const char *s)
{
	return cbor_build_string(s);
}

static cbor_item_t *
cbytes(const char *hex)
{
	uint8_t b[128];
	size_t n = 0;

	assert_int_equal(hex_decode(hex, b, sizeof(b), &n), 0);
	return cbor_build_bytestring(b, n);
}

static cbor_item_t *
cuint(uint64_t v)
{
	return cbor_build_uint64(v);
}

/* Serialize and release it. */
static uint8_t *
cser(cbor_item_t *it, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = cbor_serialize_alloc(it, &buf, &cap);
	assert_true(*len > 0);
	cbor_decref(&it);
	return buf;
}

/* A CoMID with one reference triple for ACME/RoadRunner holding three
 * measurements (uuid key with digest and raw bytes; text key with name
 * and serial; uint key with two digests). Diagnostic notation:
 *   { 1: {0: "comid-1"},
 *     4: { 0: [ [ {0: {1: "ACME", 2: "RoadRunner"}},
 *                 [ {0: 37(h'31fb5abf023e4992aa4e95f9c1503bfa'),
 *                    1: {2: [[1, h'a3a5...78']], 4: 560(h'0102ff')}},
 *                   {0: "fw", 1: {11: "boot", 8: "SN-1", 2: [[7, h'bb']]}},
 *                   {0: 3, 1: {2: [[1, h'cc'], [1, h'dd']]}} ] ] ] } } */
static cbor_item_t *
comid_good(void)
{
	return cmap(2,
	    (uint64_t)1, cmap(1, (uint64_t)0, cstr("comid-1")),
	    (uint64_t)4, cmap(1, (uint64_t)0, carr(1, carr(2,
		cmap(1, (uint64_t)0, cmap(2, (uint64_t)1, cstr("ACME"),
		    (uint64_t)2, cstr("RoadRunner"))),
		carr(3,
		    cmap(2, (uint64_t)0, ctag(37, cbytes(
			"31fb5abf023e4992aa4e95f9c1503bfa")),
			(uint64_t)1, cmap(2,
			    (uint64_t)2, carr(1, carr(2, cuint(1), cbytes(
				"a3a5e715f0cc574a73c3f9bebb6bc24f"
				"32ffd5b67b387244c2c909da779a1478"))),
			    (uint64_t)4, ctag(560, cbytes("0102ff")))),
		    cmap(2, (uint64_t)0, cstr("fw"),
			(uint64_t)1, cmap(3, (uint64_t)11, cstr("boot"),
			    (uint64_t)8, cstr("SN-1"),
			    (uint64_t)2, carr(1, carr(2, cuint(7),
				cbytes("bb"))))),
		    cmap(2, (uint64_t)0, cuint(3),
			(uint64_t)1, cmap(1, (uint64_t)2, carr(2,
			    carr(2, cuint(1), cbytes("cc")),
			    carr(2, cuint(1), cbytes("dd"))))))))));
}

static const char corim_want[] = "{"
    "\"ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/digests\": "
    "[\"a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478\"],"
    "\"ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/raw_bytes\": "
    "\"0102ff\","
    "\"ACME/RoadRunner/fw/boot/SN-1/digests\": [\"bb\"],"
    "\"ACME/RoadRunner/claim3/digests\": [\"cc\", \"dd\"]}";

/* #6.501({0: "corim-1", 1: [#6.506(bstr .cbor comid), #6.505(...)]}) */
static uint8_t *
corim_good(size_t *len)
{
	size_t clen;
	uint8_t *c = cser(comid_good(), &clen), *out;

	out = cser(ctag(501, cmap(2, (uint64_t)0, cstr("corim-1"),
	    (uint64_t)1, carr(2, ctag(506, cbor_build_bytestring(c, clen)),
	    ctag(505, cmap(1, (uint64_t)0, cstr("coswid-ignored")))))), len);
	free(c);
	return out;
}

static json_t *
corim_ok(const uint8_t *p, size_t len)
{
	struct error err = { "" };
	json_t *out = NULL;

	if (rvps_extract_corim(p, len, &out, &err) != 0)
		fail_msg("corim: %s", err.msg);
	return out;
}

static void
corim_fails(const uint8_t *p, size_t len, const char *want)
{
	struct error err = { "" };
	json_t *out = (json_t *)"x";

	assert_int_equal(rvps_extract_corim(p, len, &out, &err), -1);
	assert_null(out);
	assert_msg(&err, want);
}

/* A corim-map (tagged 501) around the given tags array. */
static void
corim_tags_fail(cbor_item_t *tags, const char *want)
{
	size_t len;
	uint8_t *p = cser(ctag(501, cmap(2, (uint64_t)0, cstr("id"),
	    (uint64_t)1, tags)), &len);

	corim_fails(p, len, want);
	free(p);
}

/* One CoMID (as a map under #6.506) with one triple of the given env and
 * measurements. */
static void
corim_triple_fail(cbor_item_t *env, cbor_item_t *ms, const char *want)
{
	corim_tags_fail(carr(1, ctag(506, cmap(2,
	    (uint64_t)1, cmap(1, (uint64_t)0, cstr("t")),
	    (uint64_t)4, cmap(1, (uint64_t)0, carr(1, carr(2, env, ms)))))),
	    want);
}

static void
test_corim(void **state)
{
	int64_t now = now_unix();
	uint8_t *p, *q;
	size_t len, qlen;
	json_t *out, *names;

	(void)state;
	p = corim_good(&len);
	out = corim_ok(p, len);
	assert_json(out, corim_want);
	json_decref(out);

	names = register_ok("corim", p, len);
	assert_int_equal(json_array_size(names), 4);
	json_decref(names);
	assert_query("ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/"
	    "raw_bytes", now, "\"0102ff\"");
	assert_query("ACME/RoadRunner/claim3/digests", now,
	    "[\"cc\", \"dd\"]");

	/* TCG wrappers: #6.500(#6.502(...)) prefixes are peeled */
	q = xmalloc(len + 6);
	memcpy(q, "\xd9\x01\xf4\xd9\x01\xf6", 6);
	memcpy(q + 6, p, len);
	out = corim_ok(q, len + 6);
	assert_json(out, corim_want);
	json_decref(out);
	free(q);
	/* untagged corim-map */
	out = corim_ok(p + 3, len - 3);
	assert_json(out, corim_want);
	json_decref(out);
	free(p);

	/* CoMID as a map inside #6.506, and as an untagged bstr */
	p = cser(cmap(1, (uint64_t)1, carr(1, ctag(506, comid_good()))), &len);
	out = corim_ok(p, len);
	assert_json(out, corim_want);
	json_decref(out);
	free(p);
	q = cser(comid_good(), &qlen);
	p = cser(cmap(1, (uint64_t)1, carr(1, cbor_build_bytestring(q, qlen))),
	    &len);
	free(q);
	out = corim_ok(p, len);
	assert_json(out, corim_want);
	json_decref(out);
	free(p);

	/* no class, no keys: names are just "digests"; a CoMID with only
	 * endorsements gives nothing; single measurement-map (old drafts) */
	p = cser(cmap(1, (uint64_t)1, carr(2,
	    ctag(506, cmap(1, (uint64_t)4, cmap(1, (uint64_t)0, carr(1,
		carr(2, cmap(1, (uint64_t)1, ctag(37, cbytes("00"))),
		    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0)))))))),
	    ctag(506, cmap(1, (uint64_t)4, cmap(1, (uint64_t)1, carr(0)))))),
	    &len);
	out = corim_ok(p, len);
	assert_json(out, "{\"digests\": []}");
	json_decref(out);
	free(p);

	/* indefinite-length strings and arrays are fine (hand-written:
	 * {1: [_ 506({4: {0: [[{0: {1: (_ "AC", "ME")}},
	 *   [{1: {2: [[1, (_ h'01', h'02')]]}}]]]}})]}) */
	{
		static const uint8_t indef[] = {
			0xa1, 0x01, 0x9f, 0xd9, 0x01, 0xfa, 0xa1, 0x04, 0xa1,
			0x00, 0x81, 0x82, 0xa1, 0x00, 0xa1, 0x01, 0x7f, 0x62,
			'A', 'C', 0x62, 'M', 'E', 0xff, 0x81, 0xa1, 0x01,
			0xa1, 0x02, 0x81, 0x82, 0x01, 0x5f, 0x41, 0x01, 0x41,
			0x02, 0xff, 0xff
		};

		out = corim_ok(indef, sizeof(indef));
		assert_json(out, "{\"ACME/digests\": [\"0102\"]}");
		json_decref(out);
	}
}

static void
test_corim_errors(void **state)
{
	uint8_t *p, *q, deep[200];
	size_t len, i;

	(void)state;
	corim_fails(NULL, 0, "empty");
	p = corim_good(&len);
	corim_fails(p, len - 1, "malformed CBOR");
	q = xmalloc(len + 1);
	memcpy(q, p, len);
	q[len] = 0x00;
	corim_fails(q, len + 1, "trailing bytes");
	free(q);
	free(p);

	/* nesting and declared lengths are checked before libcbor */
	for (i = 0; i < sizeof(deep); i++)
		deep[i] = 0x81;
	deep[sizeof(deep) - 1] = 0x00;
	corim_fails(deep, sizeof(deep), "nested deeper than 32 levels");
	corim_fails((const uint8_t *)"\x9b\x7f\xff\xff\xff\xff\xff\xff\xff",
	    9, "array longer than the input");
	corim_fails((const uint8_t *)"\xbb\x7f\xff\xff\xff\xff\xff\xff\xff",
	    9, "map longer than the input");
	corim_fails((const uint8_t *)"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
	    9, "string longer than the input");
	corim_fails((const uint8_t *)"\xbf\x01\xff", 3, "key but no value");
	corim_fails((const uint8_t *)"\xff", 1, "unexpected break");
	corim_fails((const uint8_t *)"\x1c", 1, "reserved");
	corim_fails((const uint8_t *)"\x5f\x61\x61\xff", 4, "bad string chunk");

	/* signed CoRIMs */
	p = cser(ctag(18, carr(4, cbytes("a0"), cmap(0), cbytes("00"),
	    cbytes("00"))), &len);
	corim_fails(p, len, "signed CoRIM (COSE, tag 18) is not supported");
	free(p);
	p = cser(ctag(502, carr(4, cbytes("a0"), cmap(0), cbytes("00"),
	    cbytes("00"))), &len);
	corim_fails(p, len, "COSE_Sign1");
	free(p);
	p = cser(ctag(99, cmap(0)), &len);
	corim_fails(p, len, "unexpected CBOR tag 99");
	free(p);

	/* shapes */
	p = cser(cuint(5), &len);
	corim_fails(p, len, "expected a corim-map, found an unsigned integer");
	free(p);
	p = cser(cmap(1, (uint64_t)0, cstr("id")), &len);
	corim_fails(p, len, "no tags (key 1)");
	free(p);
	p = cser(cmap(1, (uint64_t)1, cstr("x")), &len);
	corim_fails(p, len, "tags: expected an array, found a text string");
	free(p);
	corim_tags_fail(carr(1, cuint(1)), "tags[0]: expected a tagged CoMID");
	corim_tags_fail(carr(1, ctag(16, cuint(1))), "tags 6..20");
	corim_tags_fail(carr(1, ctag(506, cbytes("ff"))),
	    "tags[0] (CoMID): malformed CBOR");
	corim_tags_fail(carr(1, ctag(506, cuint(3))), "expected a CoMID map");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)1, cmap(0)))),
	    "no triples (key 4)");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, carr(0)))),
	    "triples: expected a map");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, cmap(1,
	    (uint64_t)0, cmap(0))))), "reference-triples: expected an array");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, cmap(1,
	    (uint64_t)0, carr(1, carr(1, cmap(0))))))),
	    "reference triple 0: expected [environment-map");
	corim_triple_fail(carr(0), carr(0), "environment: expected a map");
	corim_triple_fail(cmap(1, (uint64_t)0, cuint(1)), carr(0),
	    "class: expected a map");
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)1, cuint(1))),
	    carr(0), "vendor: expected a text string");
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)2,
	    cbytes("00"))), carr(0), "model: expected a text string");
	corim_triple_fail(cmap(0), cuint(1), "measurements: expected an array");
	corim_triple_fail(cmap(0), carr(1, cuint(1)),
	    "measurement 0: expected a measurement-map");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)0, cstr("k"))),
	    "no mval (key 1)");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, carr(0))),
	    "mval: expected a map");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, cmap(0)))), "digests: expected an array");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(1, cuint(1)))))),
	    "digests[0]: expected [algorithm, digest bytes]");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(2, cuint(1), cstr("aa")))))),
	    "digests[0]: expected a byte string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(2, cbytes("01"), cbytes("aa")))))),
	    "the algorithm must be an integer or a text string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)11, cuint(5)))), "name: expected a text string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)4, ctag(560, cuint(1))))), "expected a byte string");
	corim_triple_fail(cmap(0), carr(2,
	    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0))),
	    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0)))),
	    "reference value 'digests' is produced twice");
	corim_triple_fail(cmap(0), carr(1, cmap(2, (uint64_t)1, cmap(0),
	    (uint64_t)1, cmap(0))), "key 1 appears twice");
	/* a text string with a NUL */
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)1,
	    cbor_build_stringn("a\0b", 3))), carr(0), "NUL");
}

static void
test_envelope_swid_corim_errors(void **state)
{
	char *env;
	uint8_t *p;
	size_t len;

	(void)state;
	env = envelope(NULL, "swid", "<a>", 3, B64_STD);
	register_fails(env, "swid payload: not acceptable XML");
	free(env);
	env = envelope(NULL, "corim", "\x81", 1, B64_STD);
	register_fails(env, "corim payload: CoRIM: malformed CBOR");
	free(env);
	/* a CoRIM whose values are fine but one name has a control char */
	p = cser(cmap(1, (uint64_t)1, carr(1, ctag(506, cmap(1, (uint64_t)4,
	    cmap(1, (uint64_t)0, carr(1, carr(2, cmap(1, (uint64_t)0, cmap(1,
	    (uint64_t)1, cstr("bad\tvendor"))), carr(1, cmap(1, (uint64_t)1,
	    cmap(1, (uint64_t)2, carr(0))))))))))), &len);
	env = envelope(NULL, "corim", p, len, B64_STD);
	register_fails(env, "the corim payload: reference value name");
	free(env);
	free(p);
	assert_int_equal(count_records(now_unix()), 0);
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
	assert_msg(&err, "rvps_init was not called");
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
		    teardown),
		cmocka_unit_test_setup_teardown(test_versions_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_store_is_truth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_queries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_envelope_sample, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_envelope_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_all_or_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_swid, setup, teardown),
		cmocka_unit_test(test_swid_errors),
		cmocka_unit_test_setup_teardown(test_corim, setup, teardown),
		cmocka_unit_test(test_corim_errors),
		cmocka_unit_test_setup_teardown(
		    test_envelope_swid_corim_errors, setup, teardown),
		cmocka_unit_test(test_not_initialized),
	};

	log_init("test_rvps", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
