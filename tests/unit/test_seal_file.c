/*
 * test_seal_file.c: the file sealer (store/seal_file.c) end to end
 * through the envelope, and its payload against a known answer computed
 * here from the key file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "sealfix.h"

static void
test_file_sealer(void **state)
{
	struct fixture *f = *state;
	struct seal_config other;
	uint8_t *blob;
	struct error err = { "" };
	struct stat st;
	size_t blen;
	char *other_key, desc[256];

	f->cfg.kind = "file";
	f->cfg.key_file = f->keyfile;
	f->cfg.create = 0;
	/* Without create, a missing key file is an error... */
	assert_int_equal(seal_wrap(&f->cfg, sealfix_secret, 32, &blob, &blen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "does not exist"));
	/* ...with create, it is made 0600. */
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, sealfix_secret, 32, &blob, &blen,
	    &err), 0);
	assert_int_equal(stat(f->keyfile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	sealfix_roundtrip(&f->cfg, sealfix_secret, 32);

	/* Another key file: refused, and unseal never creates one. */
	other_key = xasprintf("%s/other.key", f->dir);
	sealfix_cfg_init(&other);
	other.kind = "file";
	other.key_file = other_key;
	other.create = 1;
	sealfix_unwrap_fails(&other, blob, blen, "does not exist");
	assert_int_equal(access(other_key, F_OK), -1);
	sealfix_roundtrip(&other, sealfix_secret, 8);	/* creates other.key */
	sealfix_unwrap_fails(&other, blob, blen, "file: unseal refused: the "
	    "sealed key does not open with the key in");

	/* A key file others may read is refused. */
	assert_int_equal(chmod(f->keyfile, 0640), 0);
	sealfix_unwrap_fails(&f->cfg, blob, blen, "too open");
	assert_int_equal(chmod(f->keyfile, 0600), 0);

	f->cfg.key_file = NULL;
	sealfix_unwrap_fails(&f->cfg, blob, blen,
	    "file: no key file configured");
	f->cfg.key_file = f->keyfile;
	seal_file.describe(&f->cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "development only"));
	assert_non_null(strstr(desc, f->keyfile));
	free(other_key);
	free(blob);
}

/* The wrapping key is a KDF subkey of the file's bytes, not the bytes. */
static void
test_file_payload_kat(void **state)
{
	struct fixture *f = *state;
	uint8_t *payload, fk[32], wk[32], out[64];
	struct error err = { "" };
	unsigned long long mlen;
	size_t plen;
	int fd;

	randombytes_buf(fk, sizeof(fk));
	fd = open(f->keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, fk, sizeof(fk)), 32);
	close(fd);
	f->cfg.key_file = f->keyfile;
	assert_int_equal(seal_file.seal(&f->cfg, sealfix_secret, 32, &payload,
	    &plen, &err), 0);
	assert_int_equal(crypto_kdf_derive_from_key(wk, 32, 1, "tsealfil", fk),
	    0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + 25, plen - 25, payload, 1, payload + 1, wk), 0);
	assert_int_equal(mlen, 32);
	assert_memory_equal(out, sealfix_secret, 32);
	/* The raw file bytes do not open it. */
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + 25, plen - 25, payload, 1, payload + 1, fk), -1);
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_sealer, sealfix_setup,
		    sealfix_teardown),
		cmocka_unit_test_setup_teardown(test_file_payload_kat,
		    sealfix_setup, sealfix_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal_file", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
