/*
 * test_keyring.c: opening the store the way trusteed does (store_open with
 * a sealer): a new deployment, reopening, wrong sealer configuration, a
 * database of another deployment, adopting a database of the previous
 * release, the daemon lock, `-n` checks (store_options_check), the DSN
 * parser, and the _instances / _keys row formats.
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
#include "../../store/store_internal.h"
#include "testutil.h"
#include "storefix.h"

static int
setup(void **state)
{
	return storefix_setup(state, "test_keyring", 1, 500);
}

/* Open must fail with a message containing want; returns nothing. */
static void
open_fails(struct fixture *f, const char *want)
{
	struct error err = { "" };
	struct store *st = store_open(&f->o, &err);

	if (st != NULL) {
		store_close(st);
		fail_msg("store_open succeeded, wanted: %s", want);
	}
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s' does not contain '%s'", err.msg, want);
}

static int
db_count(const char *db, const char *where)
{
	sqlite3 *h;
	sqlite3_stmt *stmt;
	char *sql = xasprintf("SELECT count(*) FROM rows WHERE %s", where);
	int n;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	free(sql);
	return n;
}

static void
put_get(struct store *st, const char *name, const char *val)
{
	struct error err = { "" };
	uint8_t *got;
	size_t len;

	if (store_put(st, "resource", name, val, strlen(val), &err) != 0)
		fail_msg("put: %s", err.msg);
	if (store_get(st, "resource", name, &got, &len, &err) != 0)
		fail_msg("get: %s", err.msg);
	assert_int_equal(len, strlen(val));
	assert_memory_equal(got, val, len);
	secret_free(got, len);
}

static void
assert_value(struct store *st, const char *name, const char *val)
{
	struct error err = { "" };
	uint8_t *got;
	size_t len;

	if (store_get(st, "resource", name, &got, &len, &err) != 0)
		fail_msg("get %s: %s", name, err.msg);
	assert_int_equal(len, strlen(val));
	assert_memory_equal(got, val, len);
	secret_free(got, len);
}

/* ------------------------------------------------------------ opening */

static void
test_new_deployment(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	struct stat sb;
	char *idfile, hex[64];
	uint8_t *text;
	size_t len;
	struct error err;

	f->st = storefix_open(f);
	put_get(f->st, "a/b/c", "value");
	store_info(f->st, &info);
	assert_string_equal(info.backend, "sqlite");
	assert_non_null(strstr(info.dsn, "sqlite:"));
	assert_non_null(strstr(info.sealer, "file"));
	assert_int_equal(info.insecure_sealer, 1);
	assert_int_equal(info.key_version, 1);

	/* The instance id file: 32 hex digits, not secret. */
	idfile = xasprintf("%s/instance-id", f->dir);
	assert_int_equal(file_read_all(idfile, 100, &text, &len, &err), 0);
	assert_int_equal(len, 33);
	snprintf(hex, sizeof(hex), "%.32s", (char *)text);
	assert_string_equal(hex, info.instance);
	free(text);
	free(idfile);
	assert_int_equal(stat(f->keyfile, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(f->st);
	f->st = NULL;

	/* One instance row, one key check row, kv 0 both. */
	assert_int_equal(db_count(f->db, "tbl = '_instances' AND kv = 0"), 1);
	assert_int_equal(db_count(f->db, "tbl = '_store' AND kv = 0"), 1);

	/* Reopen: the same master key comes back through the sealer. */
	f->o.create = 0;
	f->st = storefix_open(f);
	assert_value(f->st, "a/b/c", "value");
}

static void
test_wrong_sealer(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t other[32];
	int before;

	f->st = storefix_open(f);
	put_get(f->st, "a/b/c", "value");
	store_close(f->st);
	f->st = NULL;
	before = db_count(f->db, "1");

	/* Another kind than the one that sealed the key: refused, naming
	 * both. */
	f->seal.kind = "tpm2";
	open_fails(f, "tpm2");
	f->seal.kind = "passphrase";
	f->seal.passphrase_file = testutil_write_file(f->dir, "pass", "pw\n");
	assert_int_equal(chmod(f->seal.passphrase_file, 0600), 0);
	open_fails(f, "cannot unseal this instance's master key");
	open_fails(f, "sealed by 'file', but the");
	free((char *)f->seal.passphrase_file);
	f->seal.passphrase_file = NULL;
	f->seal.kind = "tdx";
	open_fails(f, "no sealing key exists on TDX");
	f->seal.kind = "file";

	/* Another key file (a wrong key for this instance). */
	randombytes_buf(other, sizeof(other));
	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile, other, 32, 0600, &err),
	    0);
	open_fails(f, "cannot unseal this instance's master key");
	/* A key file too open. */
	assert_int_equal(chmod(f->keyfile, 0644), 0);
	open_fails(f, "too open");
	/* Nothing was written by any of these. */
	assert_int_equal(db_count(f->db, "1"), before);
}

static void
test_other_deployment(void **state)
{
	struct fixture *f = *state;
	char *dir2, *idfile;
	struct error err;
	int before;

	f->st = storefix_open(f);
	put_get(f->st, "a/b/c", "value");
	store_close(f->st);
	f->st = NULL;
	before = db_count(f->db, "1");

	/* A second state directory (no instance id) pointed at this
	 * database: refused, nothing written, no id file created. */
	dir2 = testutil_tmpdir("test_keyring2");
	f->o.state_dir = dir2;
	f->o.dsn = xasprintf("sqlite:%s", f->db);
	open_fails(f, "already holds a deployment (1 instance(s))");
	open_fails(f, "--join-request");
	idfile = xasprintf("%s/instance-id", dir2);
	assert_int_equal(access(idfile, F_OK), -1);
	/* With an id of its own: named in the message. */
	assert_int_equal(file_write_atomic(idfile,
	    "00112233445566778899aabbccddeeff\n", 33, 0644, &err), 0);
	open_fails(f, "belongs to another deployment: this instance "
	    "(00112233445566778899aabbccddeeff");
	assert_int_equal(db_count(f->db, "1"), before);
	/* A malformed id file. */
	unlink(idfile);
	assert_int_equal(file_write_atomic(idfile, "xyz\n", 4, 0644, &err), 0);
	open_fails(f, "expected 32 hex digits");
	free(idfile);
	free((char *)f->o.dsn);
	f->o.dsn = NULL;
	idfile = xasprintf("rm -rf '%s'", dir2);
	assert_int_equal(system(idfile), 0);
	free(idfile);
	free(dir2);
	f->o.state_dir = f->dir;

	/* The key check row tampered with: refused. */
	testutil_db_exec(f->db, "UPDATE rows SET blob = x'00' WHERE "
	    "tbl = '_store'");
	open_fails(f, "does not open");
}

static void
test_empty_without_create(void **state)
{
	struct fixture *f = *state;

	f->o.create = 0;
	open_fails(f, "is empty and this is not a start that may create");
}

/* A database and data.key of the previous release: adopted as is. */
static void
test_legacy_adoption(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store *old;
	uint8_t key[32], wrong[32];

	randombytes_buf(key, sizeof(key));
	old = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(old);
	put_get(old, "legacy/key/one", "from the old release");
	store_close(old);
	/* Another key file does not adopt it, and writes nothing. */
	memcpy(wrong, key, sizeof(wrong));
	wrong[16] ^= 1;
	assert_int_equal(file_write_atomic(f->keyfile, wrong, 32, 0600, &err),
	    0);
	open_fails(f, "does not open");
	assert_int_equal(db_count(f->db, "tbl = '_instances'"), 0);
	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile, key, 32, 0600, &err),
	    0);
	f->st = storefix_open(f);
	assert_value(f->st, "legacy/key/one", "from the old release");
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(db_count(f->db, "tbl = '_instances'"), 1);
	f->o.create = 0;
	f->st = storefix_open(f);
	assert_value(f->st, "legacy/key/one", "from the old release");
	store_close(f->st);
	f->st = NULL;
	/* The old way still opens it too (K_m is that key). */
	old = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(old);
	assert_value(old, "legacy/key/one", "from the old release");
	store_close(old);
}

static void
test_exclusive(void **state)
{
	struct fixture *f = *state;
	char want[64];

	f->st = storefix_open(f);
	snprintf(want, sizeof(want), "in use by another trusteed, pid %ld",
	    (long)getpid());
	open_fails(f, want);
}

/* ------------------------------------------------------------ -n checks */

static void
test_options_check(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char *pw;

	/* A fresh state: the key file is created at start (create). */
	assert_int_equal(store_options_check(&f->o, &err), 0);
	f->seal.create = 0;
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(file_write_atomic(f->keyfile, "0123456789abcdef"
	    "0123456789abcdef", 32, 0644, &err), 0);
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(f->keyfile, 0600), 0);
	assert_int_equal(store_options_check(&f->o, &err), 0);
	/* Nothing was created. */
	assert_int_equal(access(f->db, F_OK), -1);

	f->o.dsn = "postgres://x@y/z";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "unknown scheme"));
	f->o.dsn = "sqlite:/nonexistent-dir/x.db";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir"));
	f->o.dsn = NULL;
	f->o.password_file = "/etc/hostname";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "only with mariadb"));
	f->o.password_file = NULL;

	/* Sealer settings. */
	f->seal.kind = "passphrase";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "needs passphrase_file"));
	pw = testutil_write_file(f->dir, "pass", "secret\n");
	f->seal.passphrase_file = pw;
	assert_int_equal(chmod(pw, 0640), 0);
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(pw, 0600), 0);
	assert_int_equal(store_options_check(&f->o, &err), 0);
	f->seal.kind = "tpm2";
	f->seal.tpm2_pcrs = "sha256:0,7,24";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "0..23"));
	f->seal.tpm2_pcrs = "md5:0";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "bank"));
	f->seal.tpm2_pcrs = "sha256:0,7";
	f->seal.tpm2_tcti = "device:/nonexistent/tpm";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/tpm"));
	f->seal.tpm2_tcti = "swtpm:host=127.0.0.1,port=2321";
	assert_int_equal(store_options_check(&f->o, &err), 0);
	f->seal.kind = "snp";
	f->seal.snp_device = "/nonexistent/sev-guest";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "SEV-SNP guest device"));
	f->seal.kind = "tdx";
	assert_int_equal(store_options_check(&f->o, &err), -1);
	assert_non_null(strstr(err.msg, "TDX"));
	f->seal.kind = "file";
	free(pw);
}

/* ------------------------------------------------------------------ DSN */

static void
test_dsn(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *in;
		const char *want;	/* NULL: refused */
	} cases[] = {
		{ "sqlite:/var/lib/trustee/trustee.db",
		    "sqlite|/var/lib/trustee/trustee.db||||0|" },
		{ "sqlite:///abs.db", "sqlite|/abs.db||||0|" },
		{ "sqlite:rel/x.db", "sqlite|rel/x.db||||0|" },
		{ "mariadb://trustee@db.example:3307/kbs",
		    "mariadb||trustee|db.example|kbs|3307|" },
		{ "mariadb://u@127.0.0.1/d", "mariadb||u|127.0.0.1|d|0|" },
		{ "mariadb://u@[::1]:3306/d", "mariadb||u|[::1]|d|3306|" },
		{ "mariadb://u@localhost/d?socket=/run/mysqld/mysqld.sock",
		    "mariadb||u|localhost|d|0|/run/mysqld/mysqld.sock" },
		{ "sqlite:", NULL },
		{ "", NULL },
		{ "mysql://u@h/d", NULL },
		{ "mariadb://u:secret@h/d", NULL },
		{ "mariadb://h/d", NULL },
		{ "mariadb://u@h", NULL },
		{ "mariadb://u@h:0/d", NULL },
		{ "mariadb://u@h:65536/d", NULL },
		{ "mariadb://u@h:x/d", NULL },
		{ "mariadb://u@h/d;drop", NULL },
		{ "mariadb://u@h/d?socket=/x", NULL },
		{ "mariadb://u@localhost/d?socket=rel", NULL },
		{ "mariadb://u@localhost/d?ssl=1", NULL },
		{ "mariadb://u@[::1/d", NULL },
		{ "mariadb://u@h_h/d", NULL },
	};
	struct store_dsn *d;
	struct error err = { "" };
	char got[512], *pw;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = store_dsn_parse(cases[i].in, NULL, 0, &d, &err);

		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("%s: accepted", cases[i].in);
			assert_non_null(strstr(err.msg, "store: "));
			assert_null(strstr(err.msg, "secret"));
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		snprintf(got, sizeof(got), "%s|%s|%s|%s|%s|%u|%s", d->scheme,
		    d->path ? d->path : "", d->user ? d->user : "",
		    d->host ? d->host : "", d->database ? d->database : "",
		    d->port, d->socket ? d->socket : "");
		assert_string_equal(got, cases[i].want);
		assert_string_equal(d->redacted, cases[i].in);
		assert_int_equal(d->timeout_ms, 5000);
		store_dsn_free(d);
	}
	/* The refused password is not repeated in the message. */
	assert_int_equal(store_dsn_parse("mariadb://u:hunter2@h/d", NULL, 0,
	    &d, &err), -1);
	assert_null(strstr(err.msg, "hunter2"));
	assert_non_null(strstr(err.msg, "password_file"));

	/* The password comes from a 0600 file, one line. */
	pw = testutil_write_file(f->dir, "dbpass", "hunter2\n");
	assert_int_equal(chmod(pw, 0644), 0);
	assert_int_equal(store_dsn_parse("mariadb://u@h/d", pw, 1000, &d,
	    &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(pw, 0600), 0);
	assert_int_equal(store_dsn_parse("mariadb://u@h/d", pw, 1000, &d,
	    &err), 0);
	assert_string_equal(d->password, "hunter2");
	assert_int_equal(d->timeout_ms, 1000);
	assert_null(strstr(d->redacted, "hunter2"));
	assert_ptr_equal(store_dsn_backend(d, &err), &store_backend_mariadb);
	store_dsn_free(d);
	free(pw);
}

/* --------------------------------------------------------- row formats */

static void
test_instance_rows(void **state)
{
	struct keyring kr;
	struct instance_row in;
	struct error err = { "" };
	uint8_t master[32], id[16], *b, key[32], out[32];
	uint32_t v;
	size_t len, cut;

	(void)state;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(id, sizeof(id));
	assert_int_equal(keyring_init(&kr, master, &err), 0);
	instance_build(kr.m, id, 1000, 2000, 3, "file (x)",
	    (const uint8_t *)"SEALED", 6, &b, &len);
	assert_int_equal(instance_parse(b, len, &in, &err), 0);
	assert_memory_equal(in.id, id, 16);
	assert_int_equal(in.created, 1000);
	assert_int_equal(in.last_seen, 2000);
	assert_int_equal(in.loaded, 3);
	assert_string_equal(in.desc, "file (x)");
	assert_int_equal(in.sealed_len, 6);
	assert_memory_equal(in.sealed, "SEALED", 6);
	assert_int_equal(instance_verify(kr.m, b, &in, &err), 0);
	/* Every truncation is refused; a flipped byte fails the MAC. */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(instance_parse(b, cut, &in, &err), -1);
	b[30] ^= 1;
	assert_int_equal(instance_parse(b, len, &in, &err), 0);
	assert_int_equal(instance_verify(kr.m, b, &in, &err), -1);
	assert_non_null(strstr(err.msg, "failed authentication"));
	free(b);

	/* Data keys wrapped for _keys: the version is bound. */
	randombytes_buf(key, sizeof(key));
	datakey_wrap(kr.m, 7, key, &b, &len);
	assert_int_equal(datakey_unwrap(kr.m, b, len, &v, out, &err), 0);
	assert_int_equal(v, 7);
	assert_memory_equal(out, key, 32);
	b[8] = 8;	/* claim version 8 */
	assert_int_equal(datakey_unwrap(kr.m, b, len, &v, out, &err), -1);
	b[8] = 1;	/* version 1 has no row */
	assert_int_equal(datakey_parse(b, len, &v, &err), -1);
	free(b);
	datakey_floor_wrap(kr.m, 5, &b, &len);
	assert_int_equal(datakey_floor_unwrap(kr.m, b, len, &v, &err), 0);
	assert_int_equal(v, 5);
	b[len - 1] ^= 1;
	assert_int_equal(datakey_floor_unwrap(kr.m, b, len, &v, &err), -1);
	free(b);
	keyring_free(&kr);
}

/* Another sealer end to end: passphrase; a wrong one is refused and
 * nothing is written. */
static void
test_passphrase_sealer(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	char *pw;
	int before;

	pw = testutil_write_file(f->dir, "pass", "correct horse\n");
	assert_int_equal(chmod(pw, 0600), 0);
	f->seal.kind = "passphrase";
	f->seal.key_file = NULL;
	f->seal.passphrase_file = pw;
	f->st = storefix_open(f);
	put_get(f->st, "a/b/c", "value");
	store_info(f->st, &info);
	assert_int_equal(info.insecure_sealer, 0);
	assert_non_null(strstr(info.sealer, "passphrase"));
	store_close(f->st);
	f->st = NULL;
	before = db_count(f->db, "1");
	unlink(pw);
	free(pw);
	pw = testutil_write_file(f->dir, "pass", "wrong horse\n");
	assert_int_equal(chmod(pw, 0600), 0);
	f->seal.passphrase_file = pw;
	open_fails(f, "cannot unseal this instance's master key");
	assert_int_equal(db_count(f->db, "1"), before);
	unlink(pw);
	free(pw);
	pw = testutil_write_file(f->dir, "pass", "correct horse\n");
	assert_int_equal(chmod(pw, 0600), 0);
	f->seal.passphrase_file = pw;
	f->st = storefix_open(f);
	assert_value(f->st, "a/b/c", "value");
	store_close(f->st);
	f->st = NULL;
	free(pw);
}

/* ------------------------------------------------------------ check */

struct bad_seen {
	char tables[8][40];
	char ids[8][STORE_ID_HEX_LEN + 1];
	char why[8][256];
	int n;
};

static void
bad_cb(const char *table, const char *id_hex, const char *reason, void *arg)
{
	struct bad_seen *b = arg;

	if (b->n < 8) {
		snprintf(b->tables[b->n], sizeof(b->tables[0]), "%s", table);
		snprintf(b->ids[b->n], sizeof(b->ids[0]), "%s", id_hex);
		snprintf(b->why[b->n], sizeof(b->why[0]), "%s", reason);
	}
	b->n++;
}

static void
test_store_check(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct bad_seen b;
	uint64_t rows, bad;
	uint32_t v;
	char name[16];
	int i;

	f->st = storefix_open(f);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		put_get(f->st, name, "value");
	}
	assert_int_equal(store_rotate(f->st, &v, &err), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(store_check(f->st, bad_cb, &b, &rows, &bad, &err), 0);
	/* 20 rows, _store, _instances, _keys v2 */
	assert_int_equal(rows, 23);
	assert_int_equal(bad, 0);

	/* One changed byte in one row (whatever it was); one kv column
	 * that lies; one tampered instance row. */
	testutil_db_exec(f->db, "UPDATE rows SET blob = substr(blob, 1, 40) || "
	    "CASE substr(blob, 41, 1) WHEN x'ff' THEN x'00' ELSE x'ff' END || "
	    "substr(blob, 42) WHERE tbl = 'resource' AND id = (SELECT "
	    "min(id) FROM rows WHERE tbl = 'resource')");
	testutil_db_exec(f->db, "UPDATE rows SET kv = 9 WHERE tbl = 'resource' "
	    "AND id = (SELECT max(id) FROM rows WHERE tbl = 'resource')");
	testutil_db_exec(f->db, "UPDATE rows SET blob = substr(blob, 1, 30) || "
	    "CASE substr(blob, 31, 1) WHEN x'ff' THEN x'00' ELSE x'ff' END || "
	    "substr(blob, 32) WHERE tbl = '_instances'");
	memset(&b, 0, sizeof(b));
	assert_int_equal(store_check(f->st, bad_cb, &b, &rows, &bad, &err), 0);
	assert_int_equal(rows, 23);
	assert_int_equal(bad, 3);
	assert_string_equal(b.tables[0], "_instances");
	assert_non_null(strstr(b.why[0], "failed authentication"));
	assert_string_equal(b.tables[1], "resource");
	assert_string_equal(b.tables[2], "resource");
	assert_true(strstr(b.why[1], "failed authentication") != NULL ||
	    strstr(b.why[2], "failed authentication") != NULL);
	assert_true(strstr(b.why[1], "kv column says data key version 9") !=
	    NULL || strstr(b.why[2], "kv column says data key version 9") !=
	    NULL);
	assert_int_equal(strlen(b.ids[1]), 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_deployment, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_sealer, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_other_deployment, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_empty_without_create,
		    setup,  storefix_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_adoption, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_exclusive, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_options_check, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_dsn, setup,  storefix_teardown),
		cmocka_unit_test(test_instance_rows),
		cmocka_unit_test_setup_teardown(test_store_check, setup,
		    storefix_teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_sealer, setup,
		    storefix_teardown),
	};

	log_init("test_keyring", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
