/*
 * testutil.h: helpers shared by the cmocka unit tests (header-only: the
 * Makefile builds every tests/unit/test_*.c into its own binary). Include
 * it after <cmocka.h>. Every helper fails the running test (fail_msg) on
 * any error, so callers need no error paths.
 *
 * - test vectors: read at run time from $TRUSTEE_TESTVECTORS, else
 *   tests/vectors relative to the repo root (tests run there);
 * - scratch directories and SQLite store files under /tmp, raw SQL on
 *   them;
 * - JSON text parsing; capturing what a call prints on stderr;
 * - with verifier/verifier.h included first: running a verifier;
 * - with store/store.h included first: a scratch store.
 */
#ifndef TRUSTEE_TESTUTIL_H
#define TRUSTEE_TESTUTIL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../../lib/util.h"

/* The largest test vector file read (the biggest is a few MiB). */
#define TESTUTIL_VEC_MAX	(16u << 20)

/* The test vector directory as configured (may be relative). */
static inline const char *
testutil_vec_dir(void)
{
	const char *d = getenv("TRUSTEE_TESTVECTORS");

	return d != NULL && d[0] != '\0' ? d : "tests/vectors";
}

/* The absolute path of a file (or, with rel "", the directory ending in
 * '/') of the test vectors; malloc'd. */
static inline char *
testutil_vec_path(const char *rel)
{
	char abs[PATH_MAX];

	if (realpath(testutil_vec_dir(), abs) == NULL)
		fail_msg("test vectors not found at %s (set TRUSTEE_TESTVECTORS)",
		    testutil_vec_dir());
	return xasprintf("%s/%s", abs, rel);
}

/* A whole test vector file (malloc'd, NUL-terminated); fails the test
 * (does not skip it) when it is missing. */
static inline uint8_t *
testutil_vec_read(const char *rel, size_t *len)
{
	struct error err = { "" };
	char *path = testutil_vec_path(rel);
	uint8_t *buf = NULL;

	if (file_read_all(path, TESTUTIL_VEC_MAX, &buf, len, &err) != 0)
		fail_msg("cannot read test vector %s: %s", path, err.msg);
	free(path);
	return buf;
}

/* A test vector file parsed as JSON (new reference). */
static inline json_t *
testutil_vec_json(const char *rel)
{
	size_t len;
	uint8_t *d = testutil_vec_read(rel, &len);
	json_error_t je;
	json_t *j = json_loadb((const char *)d, len, 0, &je);

	if (j == NULL)
		fail_msg("cannot parse test vector %s: %s", rel, je.text);
	free(d);
	return j;
}

/* JSON text written in a test (any value, not only objects). */
static inline json_t *
testutil_json(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

/* A JSON array of the byte values of p[0..n) (the form serde gives a
 * Vec<u8>: SNP and Azure v0 evidence). */
static inline json_t *
testutil_json_bytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

/* A new scratch directory /tmp/NAME.XXXXXX (malloc'd path). */
static inline char *
testutil_tmpdir(const char *name)
{
	char *d = xasprintf("/tmp/%s.XXXXXX", name);

	if (mkdtemp(d) == NULL)
		fail_msg("mkdtemp %s failed", d);
	return d;
}

/* A scratch directory for a store: dir gets /tmp/NAME.XXXXXX, db gets
 * dir/trustee.db (not created). */
static inline void
testutil_tmpdb(const char *name, char *dir, size_t dircap, char *db,
    size_t dbcap)
{
	char *d = testutil_tmpdir(name);

	if ((size_t)snprintf(dir, dircap, "%s", d) >= dircap ||
	    (size_t)snprintf(db, dbcap, "%s/trustee.db", d) >= dbcap)
		fail_msg("scratch path %s too long", d);
	free(d);
}

/* Remove an SQLite database file, its -wal, -shm and -journal files and
 * the store's lock files (sqlite_lock.c). */
static inline void
testutil_db_unlink(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal",
	    ".lock", ".lock-init", ".lock-resources", ".lock-policies" };
	size_t i;
	char *p;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		p = xasprintf("%s%s", db, suffix[i]);
		unlink(p);
		free(p);
	}
}

/* Run SQL directly on a database file (to tamper with or break it). */
static inline void
testutil_db_exec(const char *db, const char *sql)
{
	sqlite3 *h;
	char *emsg = NULL;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		fail_msg("cannot open %s", db);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, sql, NULL, NULL, &emsg) != SQLITE_OK)
		fail_msg("%s: %s", sql, emsg);
	sqlite3_close(h);
}

/* Write text to dir/name; returns the malloc'd path. */
static inline char *
testutil_write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", path);
	return path;
}

/* Capture what is printed on stderr between testutil_stderr_begin() and
 * testutil_stderr_end() (which returns it, malloc'd). */
struct testutil_capture {
	char tmpl[40];
	int fd, saved;
};

static inline void
testutil_stderr_begin(struct testutil_capture *c)
{
	snprintf(c->tmpl, sizeof(c->tmpl), "/tmp/test_stderr_XXXXXX");
	c->fd = mkstemp(c->tmpl);
	if (c->fd < 0)
		fail_msg("mkstemp failed");
	fflush(stderr);
	c->saved = dup(2);
	if (c->saved < 0 || dup2(c->fd, 2) != 2)
		fail_msg("cannot redirect stderr");
}

static inline char *
testutil_stderr_end(struct testutil_capture *c)
{
	struct stat st;
	char *out;
	ssize_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	if (fstat(c->fd, &st) != 0)
		fail_msg("fstat failed");
	out = xmalloc((size_t)st.st_size + 1);
	n = pread(c->fd, out, (size_t)st.st_size, 0);
	if (n != st.st_size)
		fail_msg("cannot read back captured stderr");
	out[n] = '\0';
	close(c->fd);
	unlink(c->tmpl);
	return out;
}

#ifdef TRUSTEE_STORE_H
#include <sodium.h>

/* A scratch SQLite store (testutil_tmpdb's dir and db) under a random
 * data key; testutil_store_free closes it and removes its files. */
static inline struct store *
testutil_store_new(const char *name, char *dir, size_t dircap, char *db,
    size_t dbcap)
{
	struct error err = { "" };
	uint8_t key[32];
	struct store *st;

	testutil_tmpdb(name, dir, dircap, db, dbcap);
	randombytes_buf(key, sizeof(key));
	st = store_open_key(&store_backend_sqlite, db, key, &err);
	sodium_memzero(key, sizeof(key));
	if (st == NULL)
		fail_msg("store_open_key %s: %s", db, err.msg);
	return st;
}

static inline void
testutil_store_free(struct store *st, const char *dir, const char *db)
{
	store_close(st);
	testutil_db_unlink(db);
	rmdir(dir);
}
#endif

#ifdef TRUSTEE_VERIFIER_H
/* Run a verifier backend on evidence with these expectations (NULL: none)
 * at time now; returns its rc with *claims and err as it left them. */
static inline int
testutil_run_verifier(const struct verifier_backend *be, const json_t *ev,
    const uint8_t *rd, size_t rdlen, const uint8_t *id, size_t idlen,
    int64_t now, json_t **claims, struct error *err)
{
	struct verifier_input in;

	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.report_data = rd;
	in.report_data_len = rdlen;
	in.init_data_hash = id;
	in.init_data_hash_len = idlen;
	in.now = now;
	memset(err, 0, sizeof(*err));
	return be->verify(&in, claims, err);
}
#endif

#endif
