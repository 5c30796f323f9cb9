/*
 * test_console_password.c: the console's argon2id password hashing
 * (password.c): hash and verify, a fresh salt per hash, rehash of hashes
 * made under other limits, the password rules and generated passwords.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"

static void
test_password_hash_verify(void **state)
{
	char hash[PASSWORD_HASH_MAX], other[PASSWORD_HASH_MAX];
	struct error err;

	(void)state;
	assert_int_equal(password_hash("correct horse", 13, hash, &err), 0);
	assert_true(strncmp(hash, "$argon2id$", 10) == 0);
	assert_int_equal(password_verify(hash, "correct horse", 13), 0);
	assert_int_equal(password_verify(hash, "correct hors", 12), 1);
	assert_int_equal(password_verify(hash, "Correct horse", 13), 1);
	assert_int_equal(password_verify("not a hash", "correct horse", 13), 1);
	/* A fresh salt every time. */
	assert_int_equal(password_hash("correct horse", 13, other, &err), 0);
	assert_string_not_equal(hash, other);
	assert_int_equal(password_needs_rehash(hash), 0);
	/* A hash made with other limits asks to be redone. */
	assert_int_equal(crypto_pwhash_str(other, "x", 1,
	    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
	assert_int_equal(password_needs_rehash(other), 1);
	assert_int_equal(password_verify(other, "x", 1), 0);
}

static void
test_password_check(void **state)
{
	struct error err;
	char big[PASSWORD_MAX + 2];
	char *g;

	(void)state;
	assert_int_equal(password_check("short", 5, &err), -1);
	assert_int_equal(password_check("        ", 8, &err), -1);
	assert_int_equal(password_check("abc\0defgh", 9, &err), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(password_check(big, PASSWORD_MAX + 1, &err), -1);
	assert_int_equal(password_check(big, PASSWORD_MAX, &err), 0);
	assert_int_equal(password_check("eight ch", 8, &err), 0);
	g = password_generate(24);
	assert_int_equal(strlen(g), 24);
	assert_int_equal(strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), 24);
	secret_strfree(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_hash_verify),
		cmocka_unit_test(test_password_check),
	};

	log_init("test_console_password", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
