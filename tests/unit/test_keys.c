/*
 * test_keys.c: where private keys live in memory (server/tls.c,
 * server/token.c). With OpenSSL's secure heap set up, loading or
 * generating the EAR signing key and the TLS key puts their private parts
 * in it (CRYPTO_secure_used grows) and freeing them gives it all back;
 * an RSA key's private parts go there too. The TLS key file is read into
 * guarded memory, and a bad key file is refused with its name.
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

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "../../server/trusteed.h"
#include "../testkeys.h"
#include "testutil.h"

/* Remove a scratch tree (paths under /tmp made by this test only). */
static void
rm_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_true(strncmp(dir, "/tmp/test_keys.", 15) == 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int
setup_heap(void **state)
{
	struct error err = { "" };

	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (tls_secure_heap_init(&err) != 0)
		fail_msg("tls_secure_heap_init: %s", err.msg);
	assert_true(CRYPTO_secure_malloc_initialized());
	/* a second call is harmless */
	assert_int_equal(tls_secure_heap_init(&err), 0);
	/* OpenSSL keeps its random generator's state in the secure heap from
	 * the first use on: take it out of the measurements */
	EVP_PKEY_free(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	return 0;
}

static void
test_ear_key_in_secure_heap(void **state)
{
	struct error err = { "" };
	char dir[64], db[128];
	uint8_t key[32];
	struct store *st;
	size_t base, created, loaded;

	(void)state;
	memset(key, 7, sizeof(key));
	testutil_tmpdb("test_keys", dir, sizeof(dir), db, sizeof(db));
	st = store_open_key(&store_backend_sqlite, db, key, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	base = CRYPTO_secure_used();
	/* first start: generated */
	if (token_init(st, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	created = CRYPTO_secure_used();
	assert_true(created > base);
	token_shutdown();
	assert_int_equal(CRYPTO_secure_used(), base);
	/* next start: loaded from the store */
	if (token_init(st, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	loaded = CRYPTO_secure_used();
	assert_true(loaded > base);
	token_shutdown();
	assert_int_equal(CRYPTO_secure_used(), base);
	store_close(st);
	testutil_db_unlink(db);
	rmdir(dir);
}

static void
test_rsa_private_parts_in_secure_heap(void **state)
{
	size_t base = CRYPTO_secure_used();
	BIO *bio = BIO_new_mem_buf(TESTKEY_RSA2048_PEM, -1);
	EVP_PKEY *k;

	(void)state;
	assert_non_null(bio);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(k);
	/* d, p, q, dP, dQ, qInv of a 2048-bit key: over 600 bytes */
	assert_true(CRYPTO_secure_used() >= base + 600);
	EVP_PKEY_free(k);
	assert_int_equal(CRYPTO_secure_used(), base);
}

static void
test_tls_key_in_secure_heap(void **state)
{
	struct error err = { "" };
	struct config cfg;
	char *tmpl = xstrdup("/tmp/test_keys.XXXXXX"), *state_dir, *cert, *key;
	char *big;
	size_t base;
	SSL_CTX *ctx;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	state_dir = xasprintf("%s/dev", tmpl);
	config_defaults(&cfg);
	if (devmode_setup(&cfg, state_dir, &err) != 0)
		fail_msg("devmode_setup: %s", err.msg);
	cert = xasprintf("%s/tls/cert.pem", state_dir);
	key = xasprintf("%s/tls/key.pem", state_dir);

	base = CRYPTO_secure_used();
	ctx = tls_server_ctx(cert, key, "1.2", &err);
	if (ctx == NULL)
		fail_msg("tls_server_ctx: %s", err.msg);
	assert_true(CRYPTO_secure_used() > base);
	SSL_CTX_free(ctx);
	assert_int_equal(CRYPTO_secure_used(), base);

	/* a key file anyone can read, an empty one, a huge one, none */
	assert_int_equal(chmod(key, 0644), 0);
	assert_null(tls_server_ctx(cert, key, "1.2", &err));
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(key, 0600), 0);
	big = xasprintf("%s/empty.pem", tmpl);
	f = fopen(big, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(big, 0600), 0);
	assert_null(tls_server_ctx(cert, big, "1.2", &err));
	assert_non_null(strstr(err.msg, "not a regular file of 1.."));
	assert_non_null(strstr(err.msg, big));
	assert_int_equal(truncate(big, 2 * 1024 * 1024), 0);
	assert_null(tls_server_ctx(cert, big, "1.2", &err));
	assert_non_null(strstr(err.msg, "not a regular file of 1.."));
	unlink(big);
	assert_null(tls_server_ctx(cert, big, "1.2", &err));
	assert_non_null(strstr(err.msg, "No such file"));
	free(big);
	assert_int_equal(CRYPTO_secure_used(), base);

	config_free(&cfg);
	rm_tree(tmpl);
	free(cert);
	free(key);
	free(state_dir);
	free(tmpl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ear_key_in_secure_heap),
		cmocka_unit_test(test_rsa_private_parts_in_secure_heap),
		cmocka_unit_test(test_tls_key_in_secure_heap),
	};

	return cmocka_run_group_tests(tests, setup_heap, NULL);
}
