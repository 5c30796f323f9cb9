/*
 * test_seal_passphrase.c: the passphrase sealer (store/seal_passphrase.c):
 * the right and a wrong passphrase, argon2id parameters changed in the
 * payload, and where the passphrase comes from (file, descriptor, their
 * modes and limits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "sealfix.h"

static void
test_passphrase_right_wrong(void **state)
{
	struct fixture *f = *state;
	struct seal_passphrase_payload pp;
	struct error err = { "" };
	uint8_t *payload, *before;
	size_t plen;

	sealfix_write_mode(f->passfile, "correct horse battery staple\n", 0600);
	f->cfg.kind = "passphrase";
	f->cfg.passphrase_file = f->passfile;
	payload = sealfix_pass_seal(&f->cfg, &plen);
	assert_int_equal(seal_passphrase_payload_parse(payload, plen, &pp,
	    &err), 0);
	assert_int_equal(pp.kdf, 1);
	assert_int_equal(pp.opslimit, SEALFIX_OPS);
	assert_int_equal(pp.memlimit_kib, SEALFIX_KIB);
	assert_int_equal(plen, SEAL_PASSPHRASE_HDR_LEN + 24 + 32 + 16);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);

	/* The final newline is not part of the passphrase. */
	sealfix_write_mode(f->passfile, "correct horse battery staple", 0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);
	sealfix_write_mode(f->passfile, "correct horse battery staple\r\n",
	    0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);

	/* A wrong passphrase: refused clearly, the payload untouched. */
	before = xmalloc(plen);
	memcpy(before, payload, plen);
	sealfix_write_mode(f->passfile, "correct horse battery stapler\n",
	    0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_string_equal(err.msg, "passphrase: wrong passphrase (the sealed "
	    "key does not open with it; nothing was changed)");
	assert_memory_equal(before, payload, plen);
	sealfix_write_mode(f->passfile, "correct horse battery staple\n\n",
	    0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	free(before);
	free(payload);
}

/* Parameters, salt and box are all bound: change any, nothing opens. */
static void
test_passphrase_changed_params(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t *payload, *copy;
	size_t plen;

	sealfix_write_mode(f->passfile, "pw-for-params", 0600);
	f->cfg.passphrase_file = f->passfile;
	payload = sealfix_pass_seal(&f->cfg, &plen);
	copy = xmalloc(plen);

	/* opslimit 1 -> 2 */
	memcpy(copy, payload, plen);
	copy[5] = 2;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* memlimit 8192 -> 8193 KiB */
	memcpy(copy, payload, plen);
	copy[9] ^= 1;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* salt */
	memcpy(copy, payload, plen);
	copy[12] ^= 0x80;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* nonce, ciphertext, tag */
	memcpy(copy, payload, plen);
	copy[SEAL_PASSPHRASE_HDR_LEN] ^= 1;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	memcpy(copy, payload, plen);
	copy[plen - 1] ^= 1;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);

	/* Out-of-range parameters are refused before any argon2id run. */
	memcpy(copy, payload, plen);
	copy[2] = copy[3] = copy[4] = copy[5] = 0xff;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "opslimit 4294967295 out of range"));
	memcpy(copy, payload, plen);
	copy[6] = 0x7f;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "memlimit"));
	memcpy(copy, payload, plen);
	copy[1] = 2;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_string_equal(err.msg, "passphrase: unknown KDF 2 (1 is "
	    "argon2id)");
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);
	free(copy);
	free(payload);

	/* The shipped defaults: 3 passes over 64 MiB, end to end. */
	f->cfg.kind = "passphrase";
	{
		struct seal_passphrase_payload pp;
		uint8_t *blob;
		const uint8_t *pl;
		char name[SEAL_NAME_MAX + 1];
		size_t blen;

		assert_int_equal(seal_wrap(&f->cfg, sealfix_secret, 32, &blob,
		    &blen, &err), 0);
		assert_int_equal(seal_blob_parse(blob, blen, name, &pl, &plen,
		    &err), 0);
		assert_int_equal(seal_passphrase_payload_parse(pl, plen, &pp,
		    &err), 0);
		assert_int_equal(pp.opslimit, 3);
		assert_int_equal(pp.memlimit_kib, 65536);
		free(blob);
	}
	sealfix_roundtrip(&f->cfg, sealfix_secret, 32);
}

static void
test_passphrase_sources(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t *payload;
	size_t plen;
	char *cred, *long_pw, desc[256];
	int p[2];

	/* A group- or world-readable file is refused. */
	sealfix_write_mode(f->passfile, "from-a-file\n", 0640);
	f->cfg.passphrase_file = f->passfile;
	assert_int_equal(seal_passphrase_seal_params(&f->cfg, SEALFIX_OPS,
	    SEALFIX_KIB, sealfix_secret, 32, &payload, &plen, &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	assert_non_null(strstr(err.msg, f->passfile));
	sealfix_write_mode(f->passfile, "from-a-file\n", 0604);
	assert_int_equal(seal_passphrase_seal_params(&f->cfg, SEALFIX_OPS,
	    SEALFIX_KIB, sealfix_secret, 32, &payload, &plen, &err), -1);
	sealfix_write_mode(f->passfile, "from-a-file\n", 0400);
	payload = sealfix_pass_seal(&f->cfg, &plen);
	seal_passphrase.describe(&f->cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, f->passfile));
	f->cfg.passphrase_file = NULL;

	/* A file descriptor, read once and closed. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "from-a-file\n", 12), 12);
	close(p[1]);
	f->cfg.passphrase_fd = p[0];
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	seal_passphrase.describe(&f->cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "file descriptor"));
	f->cfg.passphrase_fd = -1;

	/* A systemd credential (systemd writes 0400; an ACL for another
	 * service user shows as group read, which is accepted). */
	f->cfg.passphrase_credential = "trustee-passphrase";
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "$CREDENTIALS_DIRECTORY is not set"));
	cred = xasprintf("%s/trustee-passphrase", f->dir);
	sealfix_write_mode(cred, "from-a-file", 0440);
	setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), 0);
	assert_int_equal(chmod(cred, 0444), 0);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "readable by others"));
	f->cfg.passphrase_credential = "../passphrase";
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "invalid credential name"));
	f->cfg.passphrase_credential = "absent";
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	unsetenv("CREDENTIALS_DIRECTORY");
	f->cfg.passphrase_credential = NULL;

	/* Nothing configured, empty, too long. */
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "no passphrase source configured"));
	sealfix_write_mode(f->passfile, "\n", 0600);
	f->cfg.passphrase_file = f->passfile;
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "the passphrase is empty"));
	long_pw = xmalloc(SEAL_PASSPHRASE_MAX + 2);
	memset(long_pw, 'a', SEAL_PASSPHRASE_MAX + 1);
	long_pw[SEAL_PASSPHRASE_MAX + 1] = '\0';
	sealfix_write_mode(f->passfile, long_pw, 0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));
	long_pw[SEAL_PASSPHRASE_MAX] = '\n';
	/* exactly the maximum */
	sealfix_write_mode(f->passfile, long_pw, 0600);
	assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	free(long_pw);
	free(cred);
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passphrase_right_wrong,
		    sealfix_setup, sealfix_teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_changed_params,
		    sealfix_setup, sealfix_teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_sources,
		    sealfix_setup, sealfix_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal_passphrase", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
