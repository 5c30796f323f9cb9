/*
 * test_store_format.c: the row format: the row id and blob layout against
 * known answers, padding to size classes, rows of the previous format,
 * authentic rows whose sealed content is malformed, and that the
 * database file shows neither names nor values.
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
	return rowfix_setup(state, "test_store_format");
}

static const char kat_name_key[] =
    "740888ce45e54660cdbaf98320d1c62707f21543cc3599c8cfd5ce793c5d1ba5";

static const char kat_row_key[] =
    "e5163a2101a4e03fcf05414a5adcaf9007f9584f6a040aae73f2128e7e605038";

/* BLAKE2b-256(key = name key, "resource\0default/key/one") */
static const char kat_row_id[] =
    "db717764c31e87cd254af265896535b7bb354a2ff847f7130bf94c74caa5aa04";

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

/* The row id and blob layout match the documented format, checked with
 * keys computed outside this code base. */
static void
test_format_kat(void **state)
{
	struct fixture *f = *state;
	uint8_t rk[32], id[32], ad[128], pt[256];
	unsigned long long ptlen;
	struct rowfix_db_row rows[4];
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

	f->st = rowfix_open_store(f, f->key);
	assert_int_equal(store_put(f->st, "resource", name, val, vlen, &err),
	    0);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(rowfix_db_rows(f->db, rows, 4), 1);
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
	struct rowfix_db_row rows[4];
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

	f->st = rowfix_open_store(f, f->key);
	memset(val, 'v', sizeof(val));
	/* name "a" (1) + 8: values of 1100 and 1900 bytes share the 2048
	 * class, 2100 is in the next. */
	assert_int_equal(store_put(f->st, "resource", "a", val, 1100, NULL),
	    0);
	assert_int_equal(store_put(f->st, "resource", "b", val, 1900, NULL),
	    0);
	assert_int_equal(store_put(f->st, "resource", "c", val, 2100, NULL),
	    0);
	rowfix_assert_get(f->st, "resource", "b", val, 1900);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(rowfix_db_rows(f->db, rows, 4), 3);
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
	struct rowfix_db_row rows[4];
	size_t n;
	int len;

	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &n), 0);
	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", "default/key/one", "new");
	len = forge_row(15, "default/key/one", 15, "old format", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get(f->st, "resource", "default/key/one", "old format",
	    10);
	rowfix_put_str(f->st, "resource", "default/key/one", "rewritten");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(rowfix_db_rows(f->db, rows, 4), 1);
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
	struct rowfix_collect c;
	size_t n;
	int len;

	assert_int_equal(hex_decode(kat_row_id, id, sizeof(id), &n), 0);
	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", name, "original");

	/* Control: a correctly forged row opens. */
	len = forge_row(15, name, 15, "forged", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get(f->st, "resource", name, "forged", 6);

	/* Authentic for this table and id, but sealing another name. */
	len = forge_row(12, "someone/else", 12, "substitute", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get_fails(f->st, "resource", name, AUTH_ERR_RESOURCE);
	/* A list skips the bad row (and logs it). */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_list(f->st, "resource", rowfix_collect_cb, &c,
	    &err), 0);
	assert_int_equal(c.calls, 0);

	/* Malformed plaintext: name length past the end, zero, NUL inside. */
	len = forge_row(0xffffffffu, name, 15, "v", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(17, name, 15, "", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(0, "", 0, "value", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get_fails(f->st, "resource", name,
	    "of table 'resource' holds a malformed name");
	len = forge_row(15, "default/\0ey/one", 15, "v", blob);
	rowfix_db_set_blob(f->db, "resource", id, 32, blob, len);
	rowfix_assert_get_fails(f->st, "resource", name,
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
	struct rowfix_db_row rows[4];
	int i, n;

	f->st = rowfix_open_store(f, f->key);
	rowfix_put_str(f->st, "resource", name, val);
	rowfix_put_str(f->st, "policy", "resource-policy",
	    "package policy TOPSECRET");

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

	n = rowfix_db_rows(f->db, rows, 4);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format_kat, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_padding, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_format_v1_compat, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_forged_rows, setup,
		    rowfix_teardown),
		cmocka_unit_test_setup_teardown(test_dump_hides_plaintext,
		    setup, rowfix_teardown),
	};

	log_init("test_store_format", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
