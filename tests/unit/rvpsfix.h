/*
 * rvpsfix.h: the fixture and helpers of the reference value store's unit
 * tests (test_rvps_*.c): each test runs against a scratch encrypted
 * SQLite store under a fixed data key with the RVPS on it. Header-only;
 * include after testutil.h, lib/b64.h, rvps/rvps.h and server/trusteed.h.
 * Each file's setup calls rvpsfix_setup with its name; teardown is
 * rvpsfix_teardown. Every helper fails the running test on an error it
 * does not return.
 */
#ifndef TRUSTEE_RVPSFIX_H
#define TRUSTEE_RVPSFIX_H

struct fixture {
	char dir[64];
	char db[128];
	uint8_t key[32];
	struct store *st;
};

/* Open the fixture's store file under its key; fails the test on an
 * error. */
static inline struct store *
rvpsfix_open_store(struct fixture *f)
{
	struct error err = { "" };
	struct store *st;

	st = store_open_key(&store_backend_sqlite, f->db, f->key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

/* The setup of a test: a scratch store (under /tmp/NAME.XXXXXX) under a
 * fixed data key, with the RVPS on it. */
static inline int
rvpsfix_setup(void **state, const char *name)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = { "" };
	size_t i;

	assert_non_null(f);
	testutil_tmpdb(name, f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	for (i = 0; i < sizeof(f->key); i++)
		f->key[i] = (uint8_t)(i * 7 + 1);
	f->st = rvpsfix_open_store(f);
	if (rvps_init(f->st, &err) != 0)
		fail_msg("rvps_init: %s", err.msg);
	*state = f;
	return 0;
}

static inline int
rvpsfix_teardown(void **state)
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
static inline void
rvpsfix_assert_json(const json_t *got, const char *want)
{
	json_t *w = testutil_json(want);

	if (got == NULL || !json_equal(got, w)) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

		fail_msg("got %s, want %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

/* rvps_add of the JSON text value by "tester"; fails the test on an
 * error. */
static inline void
rvpsfix_add_ok(const char *name, const char *value, int64_t exp)
{
	struct error err = { "" };
	json_t *v = testutil_json(value);

	if (rvps_add(name, v, exp, "tester", NULL, &err) != 0)
		fail_msg("rvps_add %s: %s", name, err.msg);
	json_decref(v);
}

/* rvps_query of name at now must give the JSON text want (NULL:
 * nothing). */
static inline void
rvpsfix_assert_query(const char *name, int64_t now, const char *want)
{
	json_t *got = rvps_query(name, now);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("query %s: expected nothing", name);
		return;
	}
	rvpsfix_assert_json(got, want);
	json_decref(got);
}

/* err.msg must contain want. */
static inline void
rvpsfix_assert_msg(const struct error *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err->msg, want);
}

/* The string member k of o; fails the test if there is none. */
static inline const char *
rvpsfix_str_member(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("no string member %s", k);
	return s;
}

/* The RFC 3339 time member k of o, in seconds. */
static inline int64_t
rvpsfix_time_member(const json_t *o, const char *k)
{
	int64_t t;

	assert_int_equal(time_parse_rfc3339(rvpsfix_str_member(o, k), &t), 0);
	return t;
}

/* A register envelope (version NULL: none) of type around payload in
 * base64 variant v (malloc'd). */
static inline char *
rvpsfix_envelope(const char *version, const char *type, const void *payload,
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

/* rvps_register of an envelope of type around payload by "tester";
 * returns the names stored and fails the test on an error. */
static inline json_t *
rvpsfix_register_ok(const char *type, const void *payload, size_t len)
{
	struct error err = { "" };
	json_t *names = NULL;
	char *env = rvpsfix_envelope("0.1.0", type, payload, len, B64_STD);

	if (rvps_register(env, strlen(env), "tester", &names, &err) != 0)
		fail_msg("rvps_register: %s", err.msg);
	free(env);
	return names;
}

/* rvps_register of env by "tester" must fail with want in the
 * message and no names. */
static inline void
rvpsfix_register_fails(const char *env, const char *want)
{
	struct error err = { "" };
	json_t *names = (json_t *)"x";

	assert_int_equal(rvps_register(env, strlen(env), "tester", &names,
	    &err), -1);
	assert_null(names);
	rvpsfix_assert_msg(&err, want);
}

/* The number of records rvps_list gives at now. */
static inline size_t
rvpsfix_count_records(int64_t now)
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

#endif
