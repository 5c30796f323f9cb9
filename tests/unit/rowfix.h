/*
 * rowfix.h: the fixture of the store's unit tests that open it with
 * store_open_key (test_store_*.c): a scratch directory with the SQLite
 * database and a key file path, the data key 00 01 .. 1f; gets and puts
 * that fail the test on an error; reading and rewriting the raw rows; a
 * store_list collector. Header-only; include after testutil.h and
 * store/store_internal.h. Each file's setup calls rowfix_setup with its
 * name; teardown is rowfix_teardown (it closes f->st when a test left it
 * open).
 */
#ifndef TRUSTEE_ROWFIX_H
#define TRUSTEE_ROWFIX_H

/* Integrity errors name the row id (hex) before this. */
#define AUTH_ERR_RESOURCE "of table 'resource' failed " \
	"authentication (wrong data key or tampered database)"

struct fixture {
	char dir[64];
	char db[128];
	char keyfile[128];
	uint8_t key[32];
	struct store *st;
};

/* The setup of a test: a scratch directory /tmp/NAME.XXXXXX for the
 * database and the key file; no store is open yet. */
static inline int
rowfix_setup(void **state, const char *name)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	assert_non_null(f);
	testutil_tmpdb(name, f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/data.key", f->dir);
	for (i = 0; i < sizeof(f->key); i++)
		f->key[i] = (uint8_t)i;
	*state = f;
	return 0;
}

static inline int
rowfix_teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	testutil_db_unlink(f->db);
	unlink(f->keyfile);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* store_open_key of the fixture's database under key; fails the test on
 * an error. */
static inline struct store *
rowfix_open_store(struct fixture *f, const uint8_t key[32])
{
	struct error err = { "" };
	struct store *st;

	st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

/* store_put of the string val; fails the test on an error. */
static inline void
rowfix_put_str(struct store *st, const char *table, const char *name,
    const char *val)
{
	struct error err = { "" };

	if (store_put(st, table, name, val, strlen(val), &err) != 0)
		fail_msg("store_put %s/%s: %s", table, name, err.msg);
}

/* Assert that (table, name) holds exactly val. */
static inline void
rowfix_assert_get(struct store *st, const char *table, const char *name,
    const void *val, size_t len)
{
	struct error err = { "" };
	uint8_t *got = NULL;
	size_t glen = 0;

	if (store_get(st, table, name, &got, &glen, &err) != 0)
		fail_msg("store_get %s/%s: %s", table, name, err.msg);
	assert_int_equal(glen, len);
	assert_memory_equal(got, val, len);
	assert_int_equal(got[len], 0);	/* NUL after the value */
	secret_free(got, glen);
}

/* A get that fails as an integrity error: STORE_CORRUPT, the message
 * "store: row <64 hex> <msg>". */
static inline void
rowfix_assert_get_fails(struct store *st, const char *table, const char *name,
    const char *msg)
{
	struct error err = { "" };
	uint8_t *got = (uint8_t *)"x";
	size_t glen = 7;

	assert_int_equal(store_get(st, table, name, &got, &glen, &err),
	    STORE_CORRUPT);
	assert_null(got);
	assert_int_equal(glen, 0);
	assert_int_equal(strncmp(err.msg, "store: row ", 11), 0);
	assert_int_equal(strspn(err.msg + 11, "0123456789abcdef"), 64);
	assert_string_equal(err.msg + 11 + 65, msg);
}

struct rowfix_db_row {
	char tbl[40];
	uint8_t id[64];
	int idlen;
	uint8_t blob[8192];
	int len;
};

/* Read the raw rows, ordered, but for the store's key check row; returns
 * the count. */
static inline int
rowfix_db_rows(const char *db, struct rowfix_db_row *rows, int max)
{
	sqlite3 *h;
	sqlite3_stmt *stmt;
	int n = 0;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT tbl, id, blob FROM "
	    "rows WHERE tbl <> '_store' ORDER BY tbl, id", -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		struct rowfix_db_row *r = &rows[n++];

		assert_true(n <= max);
		snprintf(r->tbl, sizeof(r->tbl), "%s",
		    (const char *)sqlite3_column_text(stmt, 0));
		r->idlen = sqlite3_column_bytes(stmt, 1);
		assert_true(r->idlen <= (int)sizeof(r->id));
		memcpy(r->id, sqlite3_column_blob(stmt, 1), (size_t)r->idlen);
		r->len = sqlite3_column_bytes(stmt, 2);
		assert_true(r->len <= (int)sizeof(r->blob));
		memcpy(r->blob, sqlite3_column_blob(stmt, 2), (size_t)r->len);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	return n;
}

/* Replace the blob of the raw row (tbl, id). */
static inline void
rowfix_db_set_blob(const char *db, const char *tbl, const uint8_t *id,
    int idlen, const uint8_t *blob, int len)
{
	sqlite3 *h;
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE rows SET blob = ?3 "
	    "WHERE tbl = ?1 AND id = ?2", -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_text(stmt, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, id, idlen, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, blob, len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(h), 1);
	sqlite3_finalize(stmt);
	sqlite3_close(h);
}

/* store_list collector: "name=value;" for every row, in call order. */
struct rowfix_collect {
	char out[8192];
	int calls;
	int stop_after;
	struct store *st;	/* when set, delete each row from inside cb */
};

static inline int
rowfix_collect_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct rowfix_collect *c = arg;
	struct error err;
	size_t n = strlen(c->out);

	snprintf(c->out + n, sizeof(c->out) - n, "%s=%.*s;", name, (int)len,
	    (const char *)val);
	c->calls++;
	if (c->st != NULL)
		assert_int_equal(store_delete(c->st, "resource", name, &err),
		    0);
	return c->stop_after != 0 && c->calls >= c->stop_after;
}

/* Order-independent check that out holds exactly the given entries. */
static inline void
rowfix_assert_collected(const struct rowfix_collect *c,
    const char *const *entries, int n)
{
	size_t total = 0;
	int i;

	assert_int_equal(c->calls, n);
	for (i = 0; i < n; i++) {
		if (strstr(c->out, entries[i]) == NULL)
			fail_msg("'%s' missing from '%s'", entries[i], c->out);
		total += strlen(entries[i]);
	}
	assert_int_equal(strlen(c->out), total);
}

#endif
