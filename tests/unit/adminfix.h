/*
 * adminfix.h: the fixture of the admin unit tests (test_admin_*.c): a
 * scratch directory adminfix_tmpdir, five signing keys adminfix_keys
 * (K_ED Ed25519, K_P256, K_P384, K_RSA RSA-2048, K_OTHER an Ed25519 no
 * configuration trusts) with their public keys in PEM files
 * adminfix_pubpem, configuration files loaded with stderr captured, and a
 * scratch SQLite store. Header-only; include after <cmocka.h>. Every
 * helper fails the running test on error.
 *
 * - adminfix_setup / adminfix_teardown: the cmocka group setup (log,
 *   libsodium, the directory, the keys) and teardown (admin_shutdown,
 *   the keys and the directory);
 * - adminfix_load_ok loads adminfix_conf_head (an [http_server] with
 *   insecure_http, then "[admin]" on line 3) followed by text, expecting
 *   no error; adminfix_expect_errors expects n errors and each
 *   "<line>: <text>" given (NULL-terminated) in the report;
 * - adminfix_path, adminfix_write, adminfix_remove: files in the
 *   directory;
 * - adminfix_open_store / adminfix_close_store: a store with a random
 *   key at t.db in the directory.
 */
#ifndef TRUSTEE_ADMINFIX_H
#define TRUSTEE_ADMINFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../../lib/jws.h"
#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "testutil.h"

static char adminfix_tmpdir[] = "/tmp/test_admin.XXXXXX";

/* Keys: Ed25519, P-256, P-384, RSA-2048, and an untrusted Ed25519. */
enum { K_ED, K_P256, K_P384, K_RSA, K_OTHER, K_N };
static EVP_PKEY *adminfix_keys[K_N];
static char *adminfix_pubpem[K_N];

static inline char *
adminfix_path(const char *name)
{
	return xasprintf("%s/%s", adminfix_tmpdir, name);
}

static inline char *
adminfix_write(const char *name, const char *content)
{
	return testutil_write_file(adminfix_tmpdir, name, content);
}

static inline void
adminfix_remove(char *path)
{
	unlink(path);
	free(path);
}

/* config_load with stderr captured; returns what was printed. */
static inline char *
adminfix_load_capture(const char *path, struct config *cfg, int *nerr)
{
	struct testutil_capture c;

	testutil_stderr_begin(&c);
	*nerr = config_load(path, cfg);
	return testutil_stderr_end(&c);
}

static const char adminfix_conf_head[] =
    "[http_server]\n"				/* 1 */
    "insecure_http = true\n"			/* 2 */
    "[admin]\n";				/* 3 */

/* Load conf_head + text; expect n errors and every needle (each
 * "<line>: <text>") in the report. */
static inline void
adminfix_expect_errors(const char *text, int n, ...)
{
	char *body = xasprintf("%s%s", adminfix_conf_head, text);
	char *path = adminfix_write("c.toml", body), *out;
	struct config cfg;
	const char *needle;
	va_list ap;
	int nerr;

	config_defaults(&cfg);
	out = adminfix_load_capture(path, &cfg, &nerr);
	if (nerr != n)
		fail_msg("expected %d errors, got %d:\n%s", n, nerr, out);
	va_start(ap, n);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		char *want = xasprintf("%s:%s", path, needle);

		if (strstr(out, want) == NULL)
			fail_msg("report lacks \"%s\":\n%s", want, out);
		free(want);
	}
	va_end(ap);
	free(out);
	config_free(&cfg);
	adminfix_remove(path);
	free(body);
}

static inline int
adminfix_load_ok(const char *text, struct config *cfg)
{
	char *body = xasprintf("%s%s", adminfix_conf_head, text);
	char *path = adminfix_write("ok.toml", body), *out;
	int nerr;

	config_defaults(cfg);
	out = adminfix_load_capture(path, cfg, &nerr);
	if (nerr != 0)
		fail_msg("unexpected errors:\n%s", out);
	free(out);
	adminfix_remove(path);
	free(body);
	return nerr;
}

static inline EVP_PKEY *
adminfix_keygen(int which)
{
	switch (which) {
	case K_ED:
	case K_OTHER:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case K_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case K_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
}

static inline int
adminfix_setup(void **state)
{
	int i;
	char name[32];

	(void)state;
	log_init("test_admin", LOG_LVL_ERROR);
	if (sodium_init() < 0 || mkdtemp(adminfix_tmpdir) == NULL)
		return -1;
	for (i = 0; i < K_N; i++) {
		FILE *f;

		adminfix_keys[i] = adminfix_keygen(i);
		if (adminfix_keys[i] == NULL)
			return -1;
		snprintf(name, sizeof(name), "key%d.pem", i);
		adminfix_pubpem[i] = adminfix_path(name);
		f = fopen(adminfix_pubpem[i], "w");
		if (f == NULL || PEM_write_PUBKEY(f, adminfix_keys[i]) != 1)
			return -1;
		fclose(f);
	}
	return 0;
}

static inline int
adminfix_teardown(void **state)
{
	int i;

	(void)state;
	admin_shutdown();
	for (i = 0; i < K_N; i++) {
		unlink(adminfix_pubpem[i]);
		free(adminfix_pubpem[i]);
		EVP_PKEY_free(adminfix_keys[i]);
	}
	return rmdir(adminfix_tmpdir);
}

static inline struct store *
adminfix_open_store(char **dbpath)
{
	struct error err;
	uint8_t key[32];
	struct store *st;

	randombytes_buf(key, sizeof(key));
	*dbpath = adminfix_path("t.db");
	unlink(*dbpath);
	st = store_open_key(&store_backend_sqlite, *dbpath, key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static inline void
adminfix_close_store(struct store *st, char *dbpath)
{
	store_close(st);
	testutil_db_unlink(dbpath);
	free(dbpath);
}

#endif
