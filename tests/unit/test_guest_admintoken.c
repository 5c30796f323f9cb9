/*
 * test_guest_admintoken.c: admin tokens and their keys on the client side
 * (lib/admintoken.c): keygen, minting, and the errors on bad key files.
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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../lib/admintoken.h"
#include "../../lib/jws.h"

#include "guestfix.h"

static void
test_admintoken(void **state)
{
	char dir[] = "/tmp/test_guest.XXXXXX", *key, *pub, *tok;
	struct error err = { "" };
	struct jws *j;
	struct stat st;
	EVP_PKEY *pk;
	FILE *f;
	int64_t iat, exp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	key = xasprintf("%s/admin.pem", dir);
	pub = xasprintf("%s/admin.pem.pub", dir);
	assert_int_equal(admintoken_keygen(key, NULL, &err), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Never overwrites. */
	assert_int_equal(admintoken_keygen(key, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));

	tok = admintoken_make(key, "admin", 300, &err);
	if (tok == NULL)
		fail_msg("admintoken_make: %s", err.msg);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_string_equal(j->alg, "EdDSA");
	assert_string_equal(json_string_value(json_object_get(j->header,
	    "typ")), "JWT");
	assert_int_equal(json_object_size(j->header), 2);
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "role")), "admin");
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "iss")), "trusteectl");
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "sub")), "admin");
	assert_true(json_is_integer(json_object_get(j->payload, "iat")));
	assert_true(json_is_integer(json_object_get(j->payload, "exp")));
	iat = json_integer_value(json_object_get(j->payload, "iat"));
	exp = json_integer_value(json_object_get(j->payload, "exp"));
	assert_int_equal(exp - iat, 300);
	assert_true(iat <= now_unix() && iat >= now_unix() - 5);
	f = fopen(pub, "r");
	assert_non_null(f);
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pk);
	assert_int_equal(jws_verify(j, pk, &err), 0);
	EVP_PKEY_free(pk);
	jws_free(j);
	free(tok);

	/* A readable key file is refused. */
	assert_int_equal(chmod(key, 0640), 0);
	assert_null(admintoken_make(key, "admin", 300, &err));
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(key, 0600), 0);
	/* Not a key. */
	assert_null(admintoken_make(pub, "admin", 300, &err));
	unlink(key);
	unlink(pub);
	assert_null(admintoken_make(key, "admin", 300, &err));
	assert_non_null(strstr(err.msg, "No such file"));
	rmdir(dir);
	free(key);
	free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admintoken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
