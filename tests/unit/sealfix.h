/*
 * sealfix.h: the fixture of the sealer unit tests without hardware
 * (test_seal_*.c, store/seal_internal.h): a scratch directory with paths
 * for a key file and a passphrase file, and a seal_config with no
 * passphrase descriptor. Header-only; include after <cmocka.h>. Every
 * helper fails the running test on error.
 *
 * - sealfix_setup / sealfix_teardown: the cmocka setup (the directory,
 *   f->keyfile, f->passfile, f->cfg) and teardown (removes it all);
 * - sealfix_secret: the 32-byte secret 00 01 .. 1f the cases seal;
 * - sealfix_roundtrip: seal_wrap then seal_unwrap give the secret back;
 *   sealfix_unwrap_fails: seal_unwrap fails naming a reason and leaves
 *   its output zeroed;
 * - sealfix_pass_seal / sealfix_pass_unseal: the passphrase sealer with
 *   cheap argon2id parameters (SEALFIX_OPS, SEALFIX_KIB); an unseal that
 *   works gives sealfix_secret back, one that fails leaves zeroes;
 * - sealfix_write_mode writes a file with a mode; sealfix_all_zero.
 */
#ifndef TRUSTEE_SEALFIX_H
#define TRUSTEE_SEALFIX_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../store/seal_internal.h"
#include "testutil.h"

static const uint8_t sealfix_secret[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

struct fixture {
	char *dir;
	char *keyfile;
	char *passfile;
	struct seal_config cfg;
};

static inline void
sealfix_cfg_init(struct seal_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->passphrase_fd = -1;
}

static inline int
sealfix_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = testutil_tmpdir("test_seal");
	f->keyfile = xasprintf("%s/data.key", f->dir);
	f->passfile = xasprintf("%s/passphrase", f->dir);
	sealfix_cfg_init(&f->cfg);
	*state = f;
	return 0;
}

static inline int
sealfix_teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(cmd);
	free(f->dir);
	free(f->keyfile);
	free(f->passfile);
	free(f);
	return 0;
}

static inline void
sealfix_write_mode(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static inline int
sealfix_all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Unwrap must fail with msg containing want, leaving out zeroed. */
static inline void
sealfix_unwrap_fails(const struct seal_config *cfg, const uint8_t *blob,
    size_t len, const char *want)
{
	uint8_t out[SEAL_SECRET_MAX];
	struct error err = { "" };
	size_t olen = 99;

	memset(out, 0, sizeof(out));
	assert_int_equal(seal_unwrap(cfg, blob, len, out, sizeof(out), &olen,
	    &err), -1);
	assert_int_equal(olen, 0);
	assert_true(sealfix_all_zero(out, sizeof(out)));
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static inline void
sealfix_roundtrip(const struct seal_config *cfg, const uint8_t *secret,
    size_t len)
{
	uint8_t *blob, out[SEAL_SECRET_MAX];
	struct error err = { "" };
	size_t blen, olen;

	if (seal_wrap(cfg, secret, len, &blob, &blen, &err) != 0)
		fail_msg("seal_wrap: %s", err.msg);
	if (seal_unwrap(cfg, blob, blen, out, sizeof(out), &olen, &err) != 0)
		fail_msg("seal_unwrap: %s", err.msg);
	assert_int_equal(olen, len);
	assert_memory_equal(out, secret, len);
	free(blob);
}

/* Cheap argon2id parameters for the tests: 1 pass over 8 MiB. */
#define SEALFIX_OPS	1
#define SEALFIX_KIB	8192

static inline uint8_t *
sealfix_pass_seal(const struct seal_config *cfg, size_t *plen)
{
	uint8_t *payload;
	struct error err = { "" };

	if (seal_passphrase_seal_params(cfg, SEALFIX_OPS, SEALFIX_KIB,
	    sealfix_secret, 32, &payload, plen, &err) != 0)
		fail_msg("seal: %s", err.msg);
	return payload;
}

static inline int
sealfix_pass_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t plen, struct error *err)
{
	uint8_t out[SEAL_SECRET_MAX];
	size_t olen = 77;
	int rc;

	memset(out, 0, sizeof(out));
	rc = seal_passphrase.unseal(cfg, payload, plen, out, sizeof(out),
	    &olen, err);
	if (rc == 0) {
		assert_int_equal(olen, 32);
		assert_memory_equal(out, sealfix_secret, 32);
	} else {
		assert_int_equal(olen, 0);
		assert_true(sealfix_all_zero(out, sizeof(out)));
	}
	return rc;
}

#endif
