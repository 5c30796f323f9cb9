/*
 * test_store.c: the encrypted store over SQLite, and the file sealer.
 *
 * The known-answer values (name key, row key, row id for data key
 * 00 01 .. 1f) were computed independently with Python's hashlib.blake2b
 * (key, salt = subkey id LE64, person = "trusteeS"), which is what
 * crypto_kdf_derive_from_key is specified to do.
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
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "../../store/store_internal.h"
#include "testutil.h"

/* Integrity errors name the row id (hex) before this. */
#define AUTH_ERR_RESOURCE "of table 'resource' failed " \
	"authentication (wrong data key or tampered database)"

#define WRONG_KEY_ERR "(its key check row does not authenticate): the " \
	"database belongs to another deployment, or was tampered with"

static const char kat_name_key[] =
    "740888ce45e54660cdbaf98320d1c62707f21543cc3599c8cfd5ce793c5d1ba5";
static const char kat_row_key[] =
    "e5163a2101a4e03fcf05414a5adcaf9007f9584f6a040aae73f2128e7e605038";
/* BLAKE2b-256(key = name key, "resource\0default/key/one") */
static const char kat_row_id[] =
    "db717764c31e87cd254af265896535b7bb354a2ff847f7130bf94c74caa5aa04";

struct fixture {
	char dir[64];
	char db[128];
	char keyfile[128];
	uint8_t key[32];
	struct store *st;
};

/* ---------------------------------------------------------------- helpers */

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	assert_non_null(f);
	testutil_tmpdb("test_store", f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/data.key", f->dir);
	for (i = 0; i < sizeof(f->key); i++)
		f->key[i] = (uint8_t)i;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	testutil_db_unlink(f->db);
	unlink(f->keyfile);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store *
open_store(struct fixture *f, const uint8_t key[32])
{
	struct error err = { "" };
	struct store *st;

	st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static void
reopen(struct fixture *f, const uint8_t key[32])
{
	store_close(f->st);
	f->st = open_store(f, key);
}

static void
put_str(struct store *st, const char *table, const char *name,
    const char *val)
{
	struct error err = { "" };

	if (store_put(st, table, name, val, strlen(val), &err) != 0)
		fail_msg("store_put %s/%s: %s", table, name, err.msg);
}

/* Assert that (table, name) holds exactly val. */
static void
assert_get(struct store *st, const char *table, const char *name,
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
static void
assert_get_fails(struct store *st, const char *table, const char *name,
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

struct db_row {
	char tbl[40];
	uint8_t id[64];
	int idlen;
	uint8_t blob[8192];
	int len;
};

/* Read the raw rows, ordered, but for the store's key check row; returns
 * the count. */
static int
db_rows(const char *db, struct db_row *rows, int max)
{
	sqlite3 *h;
	sqlite3_stmt *stmt;
	int n = 0;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT tbl, id, blob FROM "
	    "rows WHERE tbl <> '_store' ORDER BY tbl, id", -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		struct db_row *r = &rows[n++];

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

static void
db_set_blob(const char *db, const char *tbl, const uint8_t *id, int idlen,
    const uint8_t *blob, int len)
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

/* Does the file contain the byte string needle? A missing file does not. */
static int
file_contains(const char *path, const char *needle)
{
	struct error err;
	uint8_t *data;
	size_t len;
	int found;

	if (access(path, F_OK) != 0)
		return 0;
	if (file_read_all(path, 64 << 20, &data, &len, &err) != 0)
		fail_msg("%s", err.msg);
	found = memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

/* store_list collector: "name=value;" for every row, in call order. */
struct collect {
	char out[8192];
	int calls;
	int stop_after;
	struct store *st;	/* when set, delete each row from inside cb */
};

static int
collect_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct collect *c = arg;
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
static void
assert_collected(const struct collect *c, const char *const *entries,
    int n)
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

/* ------------------------------------------------------------------ store */

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	static const uint8_t bin[] = { 0, 1, 2, 0, 0xff, 0x80, 0 };
	uint8_t *got;
	size_t glen;
	struct stat sb;

	f->st = open_store(f, f->key);
	/* Created 0600. */
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(store_get(f->st, "resource", "a/b/c", &got, &glen,
	    &err), 1);
	assert_null(got);
	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 1);

	put_str(f->st, "resource", "a/b/c", "first value");
	assert_get(f->st, "resource", "a/b/c", "first value", 11);
	put_str(f->st, "resource", "a/b/c", "second");
	assert_get(f->st, "resource", "a/b/c", "second", 6);

	/* Binary values with NULs, and an empty value. */
	assert_int_equal(store_put(f->st, "resource", "bin", bin, sizeof(bin),
	    &err), 0);
	assert_get(f->st, "resource", "bin", bin, sizeof(bin));
	assert_int_equal(store_put(f->st, "resource", "empty", NULL, 0, &err),
	    0);
	assert_get(f->st, "resource", "empty", "", 0);

	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 0);
	assert_int_equal(store_get(f->st, "resource", "a/b/c", &got, &glen,
	    &err), 1);
	assert_int_equal(store_delete(f->st, "resource", "a/b/c", &err), 1);
	assert_get(f->st, "resource", "bin", bin, sizeof(bin));
}

static void
test_tables_isolated(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t *got;
	size_t glen;

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "same", "in resource");
	put_str(f->st, "policy", "same", "in policy");
	assert_get(f->st, "resource", "same", "in resource", 11);
	assert_get(f->st, "policy", "same", "in policy", 9);
	assert_int_equal(store_get(f->st, "session", "same", &got, &glen,
	    &err), 1);
	assert_int_equal(store_delete(f->st, "policy", "same", &err), 0);
	assert_get(f->st, "resource", "same", "in resource", 11);
}

static void
test_list(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct collect c;
	static const char *const all[] = { "k1=v1;", "dir/k2=v2;",
	    "k3=;" };

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "k1", "v1");
	put_str(f->st, "resource", "dir/k2", "v2");
	put_str(f->st, "resource", "k3", "");
	put_str(f->st, "policy", "p", "policy text");

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_collected(&c, all, 3);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "users", collect_cb, &c, &err), 0);
	assert_int_equal(c.calls, 0);

	/* A non-zero return stops the walk without an error. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 2);

	/* The callback may use the store (no lock held). */
	memset(&c, 0, sizeof(c));
	c.st = f->st;
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 0);
	assert_get(f->st, "policy", "p", "policy text", 11);
}

static void
test_validation(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char name[1100];
	uint8_t *got;
	size_t glen;

	f->st = open_store(f, f->key);
	assert_int_equal(store_put(f->st, "", "n", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: empty table name");
	assert_int_equal(store_put(f->st, "Resource", "n", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: invalid table name 'Resource' "
	    "(want [a-z_]{1,32})");
	assert_int_equal(store_get(f->st, "a-b", "n", &got, &glen, &err), -1);
	assert_int_equal(store_delete(f->st, "a b", "n", &err), -1);
	assert_int_equal(store_list(f->st, "x1", collect_cb, NULL, &err), -1);
	assert_int_equal(store_list(f->st, "_store", collect_cb, NULL, &err),
	    -1);
	assert_string_equal(err.msg, "store: table name '_store' is reserved");
	/* 32 characters pass, 33 do not. */
	put_str(f->st, "abcdefghijklmnopqrstuvwxyz_abcde", "n", "v");
	assert_int_equal(store_put(f->st, "abcdefghijklmnopqrstuvwxyz_abcdef",
	    "n", "v", 1, &err), -1);

	assert_int_equal(store_put(f->st, "resource", "", "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: empty row name");
	memset(name, 'n', sizeof(name));
	name[1024] = '\0';
	put_str(f->st, "resource", name, "long name");
	assert_get(f->st, "resource", name, "long name", 9);
	name[1024] = 'n';
	name[1025] = '\0';
	assert_int_equal(store_put(f->st, "resource", name, "v", 1, &err), -1);
	assert_string_equal(err.msg, "store: row name longer than 1024 bytes");
	/* Names are bytes, not text. */
	put_str(f->st, "resource", "\x01\xff\xfe/\n", "odd");
	assert_get(f->st, "resource", "\x01\xff\xfe/\n", "odd", 3);
}

/* The row id and blob layout match the documented format, checked with
 * keys computed outside this code base. */
static void
test_format_kat(void **state)
{
	struct fixture *f = *state;
	uint8_t rk[32], id[32], ad[128], pt[256];
	unsigned long long ptlen;
	struct db_row rows[4];
	size_t adlen = 0, idlen;
	const char *name = "default/key/one", *val = "kat value";
	size_t nlen = strlen(name), vlen = strlen(val);
	struct error err;
	uint8_t nk[32], id2[32];

	assert_int_equal(hex_decode(kat_row_key, rk, sizeof(rk), &idlen), 0);
	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &idlen), 0);
	/* Our own libsodium gives the same name key and id. */
	assert_int_equal(hex_decode(kat_name_key, nk, sizeof(nk), &idlen), 0);
	crypto_generichash(id2, 32, (const uint8_t *)"resource\0default/key/one",
	    24, nk, 32);
	assert_memory_equal(id, id2, 32);

	f->st = open_store(f, f->key);
	assert_int_equal(store_put(f->st, "resource", name, val, vlen, &err),
	    0);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(db_rows(f->db, rows, 4), 1);
	assert_string_equal(rows[0].tbl, "resource");
	assert_int_equal(rows[0].idlen, 32);
	assert_memory_equal(rows[0].id, id, 32);
	/* Format 2: 8 + 15 + 9 = 32 plaintext bytes pad to 64. */
	assert_int_equal(rows[0].len, 1 + 4 + 24 + 64 + 16);
	assert_int_equal(rows[0].blob[0], 2);
	assert_memory_equal(rows[0].blob + 1, "\0\0\0\1", 4);

	memcpy(ad, "trustee-row-v2\0resource\0", 24);
	adlen = 24;
	memcpy(ad + adlen, id, 32);
	adlen += 32;
	memcpy(ad + adlen, "\0\0\0\1", 4);
	adlen += 4;
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen,
	    NULL, rows[0].blob + 29, (unsigned long long)rows[0].len - 29, ad,
	    adlen, rows[0].blob + 5, rk), 0);
	assert_int_equal(ptlen, 64);
	assert_memory_equal(pt, "\0\0\0\x0f\0\0\0\x09", 8);
	assert_memory_equal(pt + 8, name, nlen);
	assert_memory_equal(pt + 8 + nlen, val, vlen);
	for (idlen = 8 + nlen + vlen; idlen < 64; idlen++)
		assert_int_equal(pt[idlen], 0);
}

/* Sealed values are padded to a size class: equal classes, equal blob
 * sizes; the class boundaries are the documented ones (the Padme values
 * were computed independently in Python from the paper's definition). */
static void
test_padding(void **state)
{
	struct fixture *f = *state;
	static const struct {
		size_t in, out;
	} classes[] = {
		{ 0, 64 }, { 1, 64 }, { 64, 64 }, { 65, 128 }, { 128, 128 },
		{ 129, 256 }, { 4096, 4096 }, { 4097, 4352 }, { 5000, 5120 },
		{ 100000, 100352 }, { 1048576, 1048576 },
		{ 1048577, 1081344 },
	};
	struct db_row rows[4];
	char val[3000];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		if (store_row_padded(classes[i].in) != classes[i].out)
			fail_msg("padded(%zu) = %zu, want %zu", classes[i].in,
			    store_row_padded(classes[i].in), classes[i].out);
		/* Never shorter. */
		assert_true(store_row_padded(classes[i].in) >= classes[i].in);
	}
	for (i = 4097; i < 20000000; i = i * 3 + 7)
		assert_true(store_row_padded(i) - i <= i / 16);

	f->st = open_store(f, f->key);
	memset(val, 'v', sizeof(val));
	/* name "a" (1) + 8: values of 1100 and 1900 bytes share the 2048
	 * class, 2100 is in the next. */
	assert_int_equal(store_put(f->st, "resource", "a", val, 1100, NULL),
	    0);
	assert_int_equal(store_put(f->st, "resource", "b", val, 1900, NULL),
	    0);
	assert_int_equal(store_put(f->st, "resource", "c", val, 2100, NULL),
	    0);
	assert_get(f->st, "resource", "b", val, 1900);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(db_rows(f->db, rows, 4), 3);
	for (i = 0; i < 3; i++)
		assert_true(rows[i].len == 29 + 2048 + 16 ||
		    rows[i].len == 29 + 4096 + 16);
}

/* A row of the previous release (format 1) still opens, and a rewrite
 * turns it into format 2. */
static int forge_row(uint32_t name_len, const char *name, size_t nlen,
    const char *val, uint8_t *out);

static void
test_format_v1_compat(void **state)
{
	struct fixture *f = *state;
	uint8_t id[32], blob[600];
	struct db_row rows[4];
	size_t n;
	int len;

	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &n), 0);
	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "default/key/one", "new");
	len = forge_row(15, "default/key/one", 15, "old format", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get(f->st, "resource", "default/key/one", "old format", 10);
	put_str(f->st, "resource", "default/key/one", "rewritten");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(db_rows(f->db, rows, 4), 1);
	assert_int_equal(rows[0].blob[0], 2);
}

/* Seal a row the way store.c documents it, with the KAT row key, for
 * table "resource" and the KAT id: lets the test forge authentic rows
 * whose content store.c must still reject. */
static int
forge_row(uint32_t name_len, const char *name, size_t nlen, const char *val,
    uint8_t *out)
{
	uint8_t rk[32], id[32], ad[128], pt[512];
	unsigned long long clen;
	size_t n, vlen = strlen(val);

	assert_int_equal(hex_decode(kat_row_key, rk, sizeof(rk), &n), 0);
	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &n), 0);
	memcpy(ad, "trustee-row-v1\0resource\0", 24);
	memcpy(ad + 24, id, 32);
	pt[0] = (uint8_t)(name_len >> 24);
	pt[1] = (uint8_t)(name_len >> 16);
	pt[2] = (uint8_t)(name_len >> 8);
	pt[3] = (uint8_t)name_len;
	memcpy(pt + 4, name, nlen);
	memcpy(pt + 4 + nlen, val, vlen);
	out[0] = 1;
	memcpy(out + 1, "\0\0\0\1", 4);
	randombytes_buf(out + 5, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 29, &clen, pt,
	    4 + nlen + vlen, ad, 56, NULL, out + 5, rk);
	return (int)(29 + clen);
}

static void
test_forged_rows(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	const char *name = "default/key/one";
	uint8_t id[32], blob[600];
	struct collect c;
	size_t n;
	int len;

	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &n), 0);
	f->st = open_store(f, f->key);
	put_str(f->st, "resource", name, "original");

	/* Control: a correctly forged row opens. */
	len = forge_row(15, name, 15, "forged", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get(f->st, "resource", name, "forged", 6);

	/* Authentic for this table and id, but sealing another name. */
	len = forge_row(12, "someone/else", 12, "substitute", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get_fails(f->st, "resource", name, AUTH_ERR_RESOURCE);
	/* A list skips the bad row (and logs it). */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 0);

	/* Malformed plaintext: name length past the end, zero, NUL inside. */
	len = forge_row(0xffffffffu, name, 15, "v", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(17, name, 15, "", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(0, "", 0, "value", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(15, "default/\0ey/one", 15, "v", blob);
	db_set_blob(f->db, "resource", id, 32, blob, len);
	assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
}

/* A database dump shows neither names nor values. */
static void
test_dump_hides_plaintext(void **state)
{
	struct fixture *f = *state;
	const char *name = "default/secret-dir/unguessable-name-4711";
	const char *val = "TOPSECRET-VALUE-0123456789";
	char path[160];
	struct db_row rows[4];
	int i, n;

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", name, val);
	put_str(f->st, "policy", "resource-policy", "package policy TOPSECRET");

	/* While open the rows may sit in the WAL: look there too. */
	snprintf(path, sizeof(path), "%s-wal", f->db);
	assert_false(file_contains(f->db, val));
	assert_false(file_contains(path, val));
	assert_false(file_contains(f->db, "unguessable"));
	assert_false(file_contains(path, "unguessable"));
	assert_false(file_contains(path, "TOPSECRET"));
	assert_false(file_contains(path, "resource-policy"));

	store_close(f->st);
	f->st = NULL;
	assert_false(file_contains(f->db, "TOPSECRET"));
	assert_false(file_contains(f->db, "unguessable"));
	assert_false(file_contains(f->db, "resource-policy"));
	/* The check works: the table name is stored in clear. */
	assert_true(file_contains(f->db, "resource"));

	n = db_rows(f->db, rows, 4);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_null(memmem(rows[i].blob, (size_t)rows[i].len, "TOPSECRET",
		    9));
		assert_null(memmem(rows[i].blob, (size_t)rows[i].len,
		    "unguessable", 11));
		assert_null(memmem(rows[i].id, (size_t)rows[i].idlen, "resource",
		    8));
	}
}

static void
test_reopen_keys(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct collect c;
	uint8_t other[32], *got;
	size_t glen;
	static const char *const one[] = { "n=value;" };

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "n", "value");
	reopen(f, f->key);
	assert_get(f->st, "resource", "n", "value", 5);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_collected(&c, one, 1);

	/* A wrong key is refused at open by the key check row. */
	memcpy(other, f->key, sizeof(other));
	other[31] ^= 1;
	store_close(f->st);
	f->st = NULL;
	assert_null(store_open_key(&store_backend_sqlite, f->db, other, &err));
	assert_non_null(strstr(err.msg, WRONG_KEY_ERR));

	/* Without the check row (deleted behind our back), rows still do
	 * not open: list skips them; get hashes the name to another id and
	 * finds nothing. */
	testutil_db_exec(f->db, "DELETE FROM rows WHERE tbl = '_store'");
	f->st = open_store(f, other);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(store_get(f->st, "resource", "n", &got, &glen, &err),
	    1);
	/* That open sealed a new check row under the other key, so now the
	 * right key is the one refused. */
	store_close(f->st);
	f->st = NULL;
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	assert_non_null(strstr(err.msg, WRONG_KEY_ERR));
}

static void
test_swapped_rows(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct db_row rows[4];
	struct collect c;

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "alpha", "value of alpha");
	put_str(f->st, "resource", "beta", "value of beta");
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(db_rows(f->db, rows, 4), 2);
	db_set_blob(f->db, "resource", rows[0].id, 32, rows[1].blob,
	    rows[1].len);
	db_set_blob(f->db, "resource", rows[1].id, 32, rows[0].blob,
	    rows[0].len);

	f->st = open_store(f, f->key);
	assert_get_fails(f->st, "resource", "alpha", AUTH_ERR_RESOURCE);
	assert_get_fails(f->st, "resource", "beta", AUTH_ERR_RESOURCE);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", collect_cb, &c, &err),
	    0);
	assert_int_equal(c.calls, 0);
}

/* store_get2 (on SQLite: the two reads of store_get): each row found,
 * absent or failing on its own; err names the failing one. */
static void
test_get2(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct db_row rows[4];
	const char *t[2] = { "resource", "policy" };
	const char *n[2] = { "alpha", "alpha" };
	char ha[STORE_ID_HEX_LEN + 1], hb[STORE_ID_HEX_LEN + 1];
	uint8_t *v[2];
	size_t l[2];
	int rc[2], i, nrows, a = -1, b = -1;

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "alpha", "value of alpha");
	put_str(f->st, "policy", "alpha", "policy alpha");
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 0);
	assert_int_equal(l[0], 14);
	assert_memory_equal(v[0], "value of alpha", 14);
	assert_int_equal(l[1], 12);
	assert_memory_equal(v[1], "policy alpha", 12);
	secret_free(v[0], l[0]);
	secret_free(v[1], l[1]);
	n[1] = "beta";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 1);
	assert_null(v[1]);
	secret_free(v[0], l[0]);
	/* Invalid arguments: nothing is read. */
	n[1] = "";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), STORE_ERROR);
	assert_null(v[0]);
	/* A row that fails authentication fails alone, and err says so:
	 * beta's row gets alpha's blob. */
	put_str(f->st, "resource", "beta", "value of beta");
	assert_int_equal(store_row_id_hex(f->st, "resource", "alpha", ha,
	    &err), 0);
	assert_int_equal(store_row_id_hex(f->st, "resource", "beta", hb,
	    &err), 0);
	store_close(f->st);
	f->st = NULL;
	nrows = db_rows(f->db, rows, 4);
	for (i = 0; i < nrows; i++) {
		char hex[65];

		hex_encode(rows[i].id, 32, hex);
		if (strcmp(hex, ha) == 0)
			a = i;
		if (strcmp(hex, hb) == 0)
			b = i;
	}
	assert_true(a >= 0 && b >= 0);
	db_set_blob(f->db, "resource", rows[b].id, 32, rows[a].blob,
	    rows[a].len);
	f->st = open_store(f, f->key);
	t[0] = t[1] = "resource";
	n[0] = "alpha";
	n[1] = "beta";
	assert_int_equal(store_get2(f->st, t, n, v, l, rc, &err), 0);
	assert_int_equal(rc[0], 0);
	assert_memory_equal(v[0], "value of alpha", 14);
	secret_free(v[0], l[0]);
	assert_int_equal(rc[1], STORE_CORRUPT);
	assert_null(v[1]);
	assert_non_null(strstr(err.msg, AUTH_ERR_RESOURCE));
	assert_non_null(strstr(err.msg, hb));
}

static void
test_copied_to_other_table(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct db_row rows[4];
	struct collect c;
	int i, res = -1, pol = -1;

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "n", "the secret");
	put_str(f->st, "policy", "n", "harmless");
	store_close(f->st);
	f->st = NULL;

	/* Overwrite policy/n with resource/n's blob. */
	assert_int_equal(db_rows(f->db, rows, 4), 2);
	for (i = 0; i < 2; i++) {
		if (strcmp(rows[i].tbl, "resource") == 0)
			res = i;
		else
			pol = i;
	}
	assert_true(res >= 0 && pol >= 0);
	db_set_blob(f->db, "policy", rows[pol].id, 32, rows[res].blob,
	    rows[res].len);
	/* And a raw copy under the same id into a third table. */
	testutil_db_exec(f->db, "INSERT INTO rows(tbl, id, blob) SELECT 'audit', id, "
	    "blob FROM rows WHERE tbl = 'resource'");

	f->st = open_store(f, f->key);
	assert_get_fails(f->st, "policy", "n", "of table 'policy' "
	    "failed authentication (wrong data key or tampered database)");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "audit", collect_cb, &c, &err), 0);
	assert_int_equal(c.calls, 0);
	assert_get(f->st, "resource", "n", "the secret", 10);
}

static void
test_malformed_blobs(void **state)
{
	struct fixture *f = *state;
	struct db_row rows[2];
	uint8_t b[4096];

	f->st = open_store(f, f->key);
	put_str(f->st, "resource", "n", "value");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(db_rows(f->db, rows, 2), 1);

	db_set_blob(f->db, "resource", rows[0].id, 32, (const uint8_t *)"\1",
	    1);
	f->st = open_store(f, f->key);
	assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' is truncated (1 bytes)");

	memcpy(b, rows[0].blob, (size_t)rows[0].len);
	b[0] = 3;
	db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' has unknown format version 3");

	/* The header's format is authenticated too: a format-2 row read as
	 * format 1 fails. */
	b[0] = 1;
	db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	assert_get_fails(f->st, "resource", "n", AUTH_ERR_RESOURCE);

	/* A version that was never created: not loaded, not in _keys. */
	b[0] = 2;
	b[4] = 2;
	db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	assert_get_fails(f->st, "resource", "n",
	    "of table 'resource' is sealed under data key version 2, which "
	    "this deployment does not have");

	/* One flipped ciphertext bit. */
	b[4] = 1;
	b[40] ^= 0x04;
	db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	assert_get_fails(f->st, "resource", "n", AUTH_ERR_RESOURCE);

	/* The version in the header is in the associated data: changing it
	 * to another loaded version is caught (covered by rotation tests:
	 * here only version 1 exists). */
	b[40] ^= 0x04;
	db_set_blob(f->db, "resource", rows[0].id, 32, b, rows[0].len);
	assert_get(f->st, "resource", "n", "value", 5);
}

static void
test_db_file_checks(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char want[256];
	FILE *fp;

	/* A group/world readable file is refused before SQLite opens it. */
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(f->db, 0644), 0);
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	snprintf(want, sizeof(want), "%s: mode 0644 is too open", f->db);
	assert_non_null(strstr(err.msg, want));

	/* 0600 and empty: becomes a database. */
	assert_int_equal(chmod(f->db, 0600), 0);
	f->st = open_store(f, f->key);
	store_close(f->st);
	f->st = NULL;

	/* A newer schema is left alone. */
	testutil_db_exec(f->db, "UPDATE meta SET v = 3 WHERE k = 'schema_version'");
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	snprintf(want, sizeof(want), "sqlite: %s: database schema version 3 "
	    "is newer than this trusteed supports (2)", f->db);
	assert_string_equal(err.msg, want);

	/* Not a database at all. */
	unlink(f->db);
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, but long enough to look at.\n"
	    "this is not an SQLite database, but long enough to look at.\n",
	    fp);
	fclose(fp);
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_null(store_open_key(&store_backend_sqlite, f->db, f->key, &err));
	assert_non_null(strstr(err.msg, "file is not a database"));

	/* Missing directory. */
	assert_null(store_open_key(&store_backend_sqlite, "/nonexistent/x.db",
	    f->key, &err));
	assert_string_equal(err.msg,
	    "sqlite: /nonexistent/x.db: No such file or directory");
	assert_null(store_open_key(&store_backend_sqlite, "", f->key, &err));
	assert_string_equal(err.msg, "sqlite: no database path");
	assert_null(store_open_key(NULL, f->db, f->key, &err));
}

static void
test_backend_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(store_backend_lookup("sqlite"), &store_backend_sqlite);
	assert_null(store_backend_lookup("mariadb-typo"));
	assert_null(store_backend_lookup(""));
	assert_null(store_backend_lookup(NULL));
}

struct worker {
	struct store *st;
	int id;
	int errors;
	char msg[512];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct error err = { "" };
	char name[64], val[64];
	uint8_t *got;
	size_t glen;
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "thread%d/row%d", w->id, i % 500);
		snprintf(val, sizeof(val), "value %d of thread %d", i, w->id);
		if (store_put(w->st, "session", name, val, strlen(val),
		    &err) != 0 ||
		    store_get(w->st, "session", name, &got, &glen, &err) != 0) {
			w->errors++;
			snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
			continue;
		}
		if (glen != strlen(val) || memcmp(got, val, glen) != 0)
			w->errors++;
		secret_free(got, glen);
	}
	return NULL;
}

static int
count_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	(void)name;
	(void)val;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_concurrency(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct worker w[2];
	pthread_t t[2];
	int i, rows = 0;

	f->st = open_store(f, f->key);
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = f->st;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (w[i].errors != 0)
			fail_msg("thread %d: %d errors, last: %s", i,
			    w[i].errors, w[i].msg);
	}
	assert_int_equal(store_list(f->st, "session", count_cb, &rows, &err),
	    0);
	assert_int_equal(rows, 1000);
	assert_get(f->st, "session", "thread1/row499", "value 1999 of thread 1",
	    22);
}

/* -------------------------------------------------------- _ex and scans */

static void
test_ex_cas(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_meta m;
	uint64_t rev = 0, rev2 = 0;
	uint8_t *got;
	size_t glen;

	f->st = open_store(f, f->key);
	/* Insert-only. */
	assert_int_equal(store_put_ex(f->st, "session", "s1", "a", 1, 42, 4000,
	    STORE_REV_ABSENT, &rev, &err), 0);
	assert_int_equal(rev, 1);
	assert_int_equal(store_put_ex(f->st, "session", "s1", "b", 1, 42, 4000,
	    STORE_REV_ABSENT, &rev2, &err), STORE_ABSENT);
	assert_get(f->st, "session", "s1", "a", 1);
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
	assert_get(f->st, "session", "s1", "c", 1);
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
	struct db_row rows[16];
	char name[16], cursor[STORE_CURSOR_MAX], next[STORE_CURSOR_MAX];
	char hex[STORE_ID_HEX_LEN + 1];
	uint64_t n;
	int i, pages, bad = -1;

	f->st = open_store(f, f->key);
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
	assert_int_equal(db_rows(f->db, rows, 16), 10);
	for (i = 0; i < 10; i++)
		if (strcmp(rows[i].tbl, "audit") == 0) {
			bad = i;
			break;
		}
	assert_true(bad >= 0);
	rows[bad].blob[40] ^= 1;
	db_set_blob(f->db, "audit", rows[bad].id, 32, rows[bad].blob,
	    rows[bad].len);
	f->st = open_store(f, f->key);
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_scan(f->st, "audit", &q, page_cb, page_bad, &p,
	    next, &err), 0);
	assert_int_equal(p.n, 9);
	assert_int_equal(p.nbad, 1);
	hex_encode(rows[bad].id, 32, hex);
	assert_string_equal(p.bad[0], hex);
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

	f->st = open_store(f, f->key);
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

	f->st = open_store(f, f->key);
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

/* ------------------------------------------------------------- seal_file */

static void
test_seal_file(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t k1[32], k2[32], zero[32] = { 0 };
	uint8_t *data;
	size_t len;
	struct stat sb;
	char want[256];

	assert_int_equal(seal_file_load(f->keyfile, 0, k1, &err), -1);
	snprintf(want, sizeof(want), "%s: data key file does not exist",
	    f->keyfile);
	assert_string_equal(err.msg, want);

	assert_int_equal(seal_file_load(f->keyfile, 1, k1, &err), 0);
	assert_memory_not_equal(k1, zero, 32);
	assert_int_equal(stat(f->keyfile, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(f->keyfile, 64, &data, &len, &err), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(data, k1, 32);
	secret_free(data, len);

	/* Reload, with or without create: the same key. */
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);

	/* And it opens a store. */
	f->st = open_store(f, k2);
	put_str(f->st, "resource", "n", "v");
	assert_get(f->st, "resource", "n", "v", 1);

	assert_int_equal(chmod(f->keyfile, 0644), 0);
	memset(k2, 0xaa, sizeof(k2));
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), -1);
	snprintf(want, sizeof(want), "%s: mode 0644 is too open", f->keyfile);
	assert_non_null(strstr(err.msg, want));
	assert_memory_equal(k2, zero, 32);	/* wiped on failure */
	assert_int_equal(chmod(f->keyfile, 0400), 0);
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);

	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile, k1, 31, 0600, &err), 0);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), -1);
	snprintf(want, sizeof(want), "%s: data key file must hold exactly 32 "
	    "bytes, found 31", f->keyfile);
	assert_string_equal(err.msg, want);
	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile,
	    "0123456789abcdef0123456789abcdef\n", 33, 0600, &err), 0);
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), -1);
	assert_non_null(strstr(err.msg, "found 33"));

	/* Two fresh files get different keys. */
	unlink(f->keyfile);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), 0);
	assert_memory_not_equal(k1, k2, 32);

	assert_int_equal(seal_file_load("/nonexistent/dir/data.key", 1, k2,
	    &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_isolated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_format_kat, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_padding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_format_v1_compat, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forged_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dump_hides_plaintext,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copied_to_other_table,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_blobs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_db_file_checks, setup,
		    teardown),
		cmocka_unit_test(test_backend_lookup),
		cmocka_unit_test_setup_teardown(test_concurrency, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seal_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ex_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_pages, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_many, setup, teardown),
	};

	log_init("test_store", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
