/*
 * test_seal.c: the sealers without hardware: the sealed-blob envelope,
 * the table (tdx refused), the file and passphrase sealers end to end,
 * the SNP key request (construction, response, derivation, payload) with
 * a fake secure processor, and every sealer's payload parser on malformed
 * input. The tpm2 sealer against a real (software) TPM is in
 * test_seal_tpm.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <tss2/tss2_mu.h>

#include "../../lib/log.h"
#include "../../store/seal_internal.h"
#include "testutil.h"

static const uint8_t secret32[32] = {
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

static void
cfg_init(struct seal_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->passphrase_fd = -1;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = testutil_tmpdir("test_seal");
	f->keyfile = xasprintf("%s/data.key", f->dir);
	f->passfile = xasprintf("%s/passphrase", f->dir);
	cfg_init(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
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

static void
write_mode(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Unwrap must fail with msg containing want, leaving out zeroed. */
static void
expect_unwrap_fail(const struct seal_config *cfg, const uint8_t *blob,
    size_t len, const char *want)
{
	uint8_t out[SEAL_SECRET_MAX];
	struct error err = { "" };
	size_t olen = 99;

	memset(out, 0, sizeof(out));
	assert_int_equal(seal_unwrap(cfg, blob, len, out, sizeof(out), &olen,
	    &err), -1);
	assert_int_equal(olen, 0);
	assert_true(all_zero(out, sizeof(out)));
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static void
roundtrip(const struct seal_config *cfg, const uint8_t *secret, size_t len)
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

/* ------------------------------------------------------------ the table */

static void
test_lookup(void **state)
{
	struct error err = { "" };

	(void)state;
	assert_ptr_equal(seal_lookup("tpm2", &err), &seal_tpm2);
	assert_ptr_equal(seal_lookup("snp", &err), &seal_snp);
	assert_ptr_equal(seal_lookup("passphrase", &err), &seal_passphrase);
	assert_ptr_equal(seal_lookup("file", &err), &seal_file);
	assert_int_equal(seal_file.insecure, 1);
	assert_int_equal(seal_tpm2.insecure, 0);
	assert_int_equal(seal_snp.insecure, 0);
	assert_int_equal(seal_passphrase.insecure, 0);

	assert_null(seal_lookup("tdx", &err));
	assert_non_null(strstr(err.msg, "no sealing key exists on TDX"));
	assert_non_null(strstr(err.msg, "'tpm2'"));
	assert_non_null(strstr(err.msg, "'passphrase'"));

	assert_null(seal_lookup("tmp2", &err));
	assert_string_equal(err.msg, "unknown sealer 'tmp2' (known: tpm2, "
	    "snp, passphrase, file)");
	assert_null(seal_lookup("", &err));
	assert_non_null(strstr(err.msg, "no sealer configured"));
	assert_null(seal_lookup(NULL, &err));
	assert_null(seal_lookup("bad\x01name", &err));
	assert_non_null(strstr(err.msg, "bad\\x01name"));
}

static void
test_tdx_refused_by_wrap(void **state)
{
	struct seal_config cfg;
	struct error err = { "" };
	uint8_t *blob = (uint8_t *)"x";
	size_t blen = 1;

	(void)state;
	cfg_init(&cfg);
	cfg.kind = "tdx";
	assert_int_equal(seal_wrap(&cfg, secret32, 32, &blob, &blen, &err), -1);
	assert_null(blob);
	assert_non_null(strstr(err.msg, "TDX"));
}

/* --------------------------------------------------------- the envelope */

static void
test_envelope(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob, *copy;
	const uint8_t *payload;
	char name[SEAL_NAME_MAX + 1];
	struct error err = { "" };
	size_t blen, plen, i;

	f->cfg.kind = "file";
	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, secret32, 32, &blob, &blen, &err),
	    0);
	/* magic, name length, name, payload length, payload */
	assert_memory_equal(blob, "TSEAL\x01\x04" "file", 11);
	assert_int_equal(seal_blob_parse(blob, blen, name, &payload, &plen,
	    &err), 0);
	assert_string_equal(name, "file");
	assert_ptr_equal(payload, blob + 15);
	assert_int_equal(plen, blen - 15);
	assert_int_equal(blob[11] << 24 | blob[12] << 16 | blob[13] << 8 |
	    blob[14], (int)plen);
	/* file payload: version 1, nonce, 32 + 16 bytes */
	assert_int_equal(plen, 1 + 24 + 32 + 16);
	assert_int_equal(payload[0], 1);
	roundtrip(&f->cfg, secret32, 32);
	roundtrip(&f->cfg, secret32, 1);
	roundtrip(&f->cfg, (const uint8_t *)
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    SEAL_SECRET_MAX);

	/* Every strict prefix and one byte more fail cleanly. */
	for (i = 0; i < blen; i++) {
		copy = xmalloc(i + 1);
		memcpy(copy, blob, i);
		assert_int_equal(seal_blob_parse(copy, i, name, &payload,
		    &plen, &err), -1);
		assert_string_equal(name, "");
		free(copy);
	}
	copy = xmalloc(blen + 1);
	memcpy(copy, blob, blen);
	copy[blen] = 0;
	assert_int_equal(seal_blob_parse(copy, blen + 1, name, &payload, &plen,
	    &err), -1);
	assert_string_equal(err.msg, "sealed key: 1 trailing bytes after the "
	    "payload");

	/* Field by field. */
	memcpy(copy, blob, blen);
	copy[0] = 'X';
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_string_equal(err.msg, "sealed key: not a sealed key blob (bad "
	    "magic)");
	memcpy(copy, blob, blen);
	copy[6] = 0;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "name length 0"));
	copy[6] = 17;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "name length 17"));
	memcpy(copy, blob, blen);
	copy[8] = 'I';
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "outside [a-z0-9_]"));
	memcpy(copy, blob, blen);
	copy[11] = 0x7f;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	memcpy(copy, blob, blen);
	copy[14] = 0;
	copy[13] = 0;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "payload length 0"));
	free(copy);

	/* A flipped payload byte: parses, does not unseal. */
	copy = xmalloc(blen);
	memcpy(copy, blob, blen);
	copy[blen - 1] ^= 1;
	expect_unwrap_fail(&f->cfg, copy, blen, "file: unseal refused");
	memcpy(copy, blob, blen);
	copy[15] = 2;
	expect_unwrap_fail(&f->cfg, copy, blen, "unknown payload version 2");
	free(copy);

	/* A blob of another kind is refused, naming both. */
	f->cfg.kind = "passphrase";
	expect_unwrap_fail(&f->cfg, blob, blen, "sealed key was sealed by "
	    "'file', but the configured sealer is 'passphrase'");
	f->cfg.kind = "tdx";
	expect_unwrap_fail(&f->cfg, blob, blen, "no sealing key exists on TDX");
	free(blob);
}

static void
test_envelope_secret_bounds(void **state)
{
	struct fixture *f = *state;
	uint8_t big[SEAL_SECRET_MAX + 1] = { 0 }, *blob, out[16];
	struct error err = { "" };
	size_t blen, olen;

	f->cfg.kind = "file";
	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, big, 0, &blob, &blen, &err), -1);
	assert_string_equal(err.msg, "file: secret of 0 bytes out of range "
	    "1..64");
	assert_int_equal(seal_wrap(&f->cfg, big, sizeof(big), &blob, &blen,
	    &err), -1);
	/* An output buffer too small is an error, not a truncation. */
	assert_int_equal(seal_wrap(&f->cfg, secret32, 32, &blob, &blen, &err),
	    0);
	assert_int_equal(seal_unwrap(&f->cfg, blob, blen, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_true(all_zero(out, sizeof(out)));
	free(blob);
}

/* ------------------------------------------------------------ file */

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
	assert_int_equal(seal_wrap(&f->cfg, secret32, 32, &blob, &blen, &err),
	    -1);
	assert_non_null(strstr(err.msg, "does not exist"));
	/* ...with create, it is made 0600. */
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, secret32, 32, &blob, &blen, &err),
	    0);
	assert_int_equal(stat(f->keyfile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	roundtrip(&f->cfg, secret32, 32);

	/* Another key file: refused, and unseal never creates one. */
	other_key = xasprintf("%s/other.key", f->dir);
	cfg_init(&other);
	other.kind = "file";
	other.key_file = other_key;
	other.create = 1;
	expect_unwrap_fail(&other, blob, blen, "does not exist");
	assert_int_equal(access(other_key, F_OK), -1);
	roundtrip(&other, secret32, 8);		/* creates other.key */
	expect_unwrap_fail(&other, blob, blen, "file: unseal refused: the "
	    "sealed key does not open with the key in");

	/* A key file others may read is refused. */
	assert_int_equal(chmod(f->keyfile, 0640), 0);
	expect_unwrap_fail(&f->cfg, blob, blen, "too open");
	assert_int_equal(chmod(f->keyfile, 0600), 0);

	f->cfg.key_file = NULL;
	expect_unwrap_fail(&f->cfg, blob, blen, "file: no key file configured");
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
	assert_int_equal(seal_file.seal(&f->cfg, secret32, 32, &payload, &plen,
	    &err), 0);
	assert_int_equal(crypto_kdf_derive_from_key(wk, 32, 1, "tsealfil", fk),
	    0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + 25, plen - 25, payload, 1, payload + 1, wk), 0);
	assert_int_equal(mlen, 32);
	assert_memory_equal(out, secret32, 32);
	/* The raw file bytes do not open it. */
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + 25, plen - 25, payload, 1, payload + 1, fk), -1);
	free(payload);
}

/* ---------------------------------------------------------- passphrase */

/* Cheap argon2id parameters for the tests: 1 pass over 8 MiB. */
#define T_OPS	1
#define T_KIB	8192

static uint8_t *
pass_seal(const struct seal_config *cfg, size_t *plen)
{
	uint8_t *payload;
	struct error err = { "" };

	if (seal_passphrase_seal_params(cfg, T_OPS, T_KIB, secret32, 32,
	    &payload, plen, &err) != 0)
		fail_msg("seal: %s", err.msg);
	return payload;
}

static int
pass_unseal(const struct seal_config *cfg, const uint8_t *payload,
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
		assert_memory_equal(out, secret32, 32);
	} else {
		assert_int_equal(olen, 0);
		assert_true(all_zero(out, sizeof(out)));
	}
	return rc;
}

static void
test_passphrase_right_wrong(void **state)
{
	struct fixture *f = *state;
	struct seal_passphrase_payload pp;
	struct error err = { "" };
	uint8_t *payload, *before;
	size_t plen;

	write_mode(f->passfile, "correct horse battery staple\n", 0600);
	f->cfg.kind = "passphrase";
	f->cfg.passphrase_file = f->passfile;
	payload = pass_seal(&f->cfg, &plen);
	assert_int_equal(seal_passphrase_payload_parse(payload, plen, &pp,
	    &err), 0);
	assert_int_equal(pp.kdf, 1);
	assert_int_equal(pp.opslimit, T_OPS);
	assert_int_equal(pp.memlimit_kib, T_KIB);
	assert_int_equal(plen, SEAL_PASSPHRASE_HDR_LEN + 24 + 32 + 16);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);

	/* The final newline is not part of the passphrase. */
	write_mode(f->passfile, "correct horse battery staple", 0600);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);
	write_mode(f->passfile, "correct horse battery staple\r\n", 0600);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);

	/* A wrong passphrase: refused clearly, the payload untouched. */
	before = xmalloc(plen);
	memcpy(before, payload, plen);
	write_mode(f->passfile, "correct horse battery stapler\n", 0600);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_string_equal(err.msg, "passphrase: wrong passphrase (the sealed "
	    "key does not open with it; nothing was changed)");
	assert_memory_equal(before, payload, plen);
	write_mode(f->passfile, "correct horse battery staple\n\n", 0600);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
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

	write_mode(f->passfile, "pw-for-params", 0600);
	f->cfg.passphrase_file = f->passfile;
	payload = pass_seal(&f->cfg, &plen);
	copy = xmalloc(plen);

	/* opslimit 1 -> 2 */
	memcpy(copy, payload, plen);
	copy[5] = 2;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* memlimit 8192 -> 8193 KiB */
	memcpy(copy, payload, plen);
	copy[9] ^= 1;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* salt */
	memcpy(copy, payload, plen);
	copy[12] ^= 0x80;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	/* nonce, ciphertext, tag */
	memcpy(copy, payload, plen);
	copy[SEAL_PASSPHRASE_HDR_LEN] ^= 1;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	memcpy(copy, payload, plen);
	copy[plen - 1] ^= 1;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);

	/* Out-of-range parameters are refused before any argon2id run. */
	memcpy(copy, payload, plen);
	copy[2] = copy[3] = copy[4] = copy[5] = 0xff;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "opslimit 4294967295 out of range"));
	memcpy(copy, payload, plen);
	copy[6] = 0x7f;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_non_null(strstr(err.msg, "memlimit"));
	memcpy(copy, payload, plen);
	copy[1] = 2;
	assert_int_equal(pass_unseal(&f->cfg, copy, plen, &err), -1);
	assert_string_equal(err.msg, "passphrase: unknown KDF 2 (1 is "
	    "argon2id)");
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);
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

		assert_int_equal(seal_wrap(&f->cfg, secret32, 32, &blob, &blen,
		    &err), 0);
		assert_int_equal(seal_blob_parse(blob, blen, name, &pl, &plen,
		    &err), 0);
		assert_int_equal(seal_passphrase_payload_parse(pl, plen, &pp,
		    &err), 0);
		assert_int_equal(pp.opslimit, 3);
		assert_int_equal(pp.memlimit_kib, 65536);
		free(blob);
	}
	roundtrip(&f->cfg, secret32, 32);
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
	write_mode(f->passfile, "from-a-file\n", 0640);
	f->cfg.passphrase_file = f->passfile;
	assert_int_equal(seal_passphrase_seal_params(&f->cfg, T_OPS, T_KIB,
	    secret32, 32, &payload, &plen, &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	assert_non_null(strstr(err.msg, f->passfile));
	write_mode(f->passfile, "from-a-file\n", 0604);
	assert_int_equal(seal_passphrase_seal_params(&f->cfg, T_OPS, T_KIB,
	    secret32, 32, &payload, &plen, &err), -1);
	write_mode(f->passfile, "from-a-file\n", 0400);
	payload = pass_seal(&f->cfg, &plen);
	seal_passphrase.describe(&f->cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, f->passfile));
	f->cfg.passphrase_file = NULL;

	/* A file descriptor, read once and closed. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "from-a-file\n", 12), 12);
	close(p[1]);
	f->cfg.passphrase_fd = p[0];
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	seal_passphrase.describe(&f->cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "file descriptor"));
	f->cfg.passphrase_fd = -1;

	/* A systemd credential (systemd writes 0400; an ACL for another
	 * service user shows as group read, which is accepted). */
	f->cfg.passphrase_credential = "trustee-passphrase";
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "$CREDENTIALS_DIRECTORY is not set"));
	cred = xasprintf("%s/trustee-passphrase", f->dir);
	write_mode(cred, "from-a-file", 0440);
	setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), 0);
	assert_int_equal(chmod(cred, 0444), 0);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "readable by others"));
	f->cfg.passphrase_credential = "../passphrase";
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "invalid credential name"));
	f->cfg.passphrase_credential = "absent";
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	unsetenv("CREDENTIALS_DIRECTORY");
	f->cfg.passphrase_credential = NULL;

	/* Nothing configured, empty, too long. */
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "no passphrase source configured"));
	write_mode(f->passfile, "\n", 0600);
	f->cfg.passphrase_file = f->passfile;
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "the passphrase is empty"));
	long_pw = xmalloc(SEAL_PASSPHRASE_MAX + 2);
	memset(long_pw, 'a', SEAL_PASSPHRASE_MAX + 1);
	long_pw[SEAL_PASSPHRASE_MAX + 1] = '\0';
	write_mode(f->passfile, long_pw, 0600);
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));
	long_pw[SEAL_PASSPHRASE_MAX] = '\n';
	write_mode(f->passfile, long_pw, 0600);	/* exactly the maximum */
	assert_int_equal(pass_unseal(&f->cfg, payload, plen, &err), -1);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	free(long_pw);
	free(cred);
	free(payload);
}

/* ---------------------------------------------------------------- snp */

static void
test_snp_request_construction(void **state)
{
	static const uint8_t want_req[32] = {
		0x00, 0x00, 0x00, 0x00,		/* ROOT_KEY_SELECT: VCEK */
		0x00, 0x00, 0x00, 0x00,		/* reserved */
		0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fields */
		0x00, 0x00, 0x00, 0x00,		/* VMPL 0 */
		0x00, 0x00, 0x00, 0x00,		/* GUEST_SVN */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* TCB */
	};
	struct seal_snp_params params;
	struct snp_derived_key_req req;
	struct snp_derived_key_resp resp;
	struct snp_guest_request_ioctl ioc;

	(void)state;
	memset(&req, 0xa5, sizeof(req));
	memset(&resp, 0xa5, sizeof(resp));
	memset(&ioc, 0xa5, sizeof(ioc));
	seal_snp_params_default(&params);
	assert_int_equal(params.field_select, 0x9);
	seal_snp_request_build(&params, &req, &resp, &ioc);
	assert_int_equal(sizeof(req), 32);
	assert_memory_equal(&req, want_req, sizeof(want_req));
	assert_int_equal(ioc.msg_version, 1);
	assert_true(ioc.req_data == (uint64_t)(uintptr_t)&req);
	assert_true(ioc.resp_data == (uint64_t)(uintptr_t)&resp);
	assert_true(ioc.exitinfo2 == 0);
	assert_true(all_zero((const uint8_t *)&resp, sizeof(resp)));
	/* The SNP_GET_DERIVED_KEY ioctl number: _IOWR('S', 1, 32 bytes). */
	assert_int_equal(SNP_GET_DERIVED_KEY, 0xc0205301);

	/* Other parameters land at their ABI offsets, little-endian. */
	params.root_key_select = 1;
	params.field_select = 0x3f;
	params.vmpl = 2;
	params.guest_svn = 0x01020304;
	params.tcb_version = 0x1122334455667788ull;
	seal_snp_request_build(&params, &req, &resp, &ioc);
	{
		const uint8_t *b = (const uint8_t *)&req;

		assert_int_equal(b[0x00], 1);
		assert_int_equal(b[0x08], 0x3f);
		assert_int_equal(b[0x10], 2);
		assert_int_equal(b[0x14], 0x04);
		assert_int_equal(b[0x17], 0x01);
		assert_int_equal(b[0x18], 0x88);
		assert_int_equal(b[0x1f], 0x11);
	}
}

static void
test_snp_response(void **state)
{
	struct snp_derived_key_resp resp;
	uint8_t key[32];
	struct error err = { "" };
	size_t i;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	for (i = 0; i < 32; i++)
		resp.data[0x20 + i] = (uint8_t)(0xc0 + i);
	assert_int_equal(seal_snp_response_key(&resp, key, &err), 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(key[i], 0xc0 + i);
	resp.data[0] = 0x16;
	assert_int_equal(seal_snp_response_key(&resp, key, &err), -1);
	assert_non_null(strstr(err.msg, "status 0x16 (invalid parameters"));
	resp.data[0] = 0;
	resp.data[3] = 1;
	assert_int_equal(seal_snp_response_key(&resp, key, &err), -1);
	assert_non_null(strstr(err.msg, "status 0x1000000"));
}

/*
 * A fake secure processor: a chip secret, the guest's launch
 * measurement and policy; the derived key is BLAKE2b over the chip
 * secret and what the request selects, as the firmware mixes in the
 * selected fields. It records the last request.
 */
struct fake_psp {
	uint8_t chip[32];
	uint8_t measurement[48];
	uint64_t policy;
	uint32_t status;
	int fail_ioctl;
	int calls;
	char device[64];
	struct snp_derived_key_req last;
};

static int
fake_psp_request(void *arg, const char *device,
    struct snp_guest_request_ioctl *ioc, struct error *err)
{
	struct fake_psp *p = arg;
	const struct snp_derived_key_req *req =
	    (const struct snp_derived_key_req *)(uintptr_t)ioc->req_data;
	struct snp_derived_key_resp *resp =
	    (struct snp_derived_key_resp *)(uintptr_t)ioc->resp_data;
	crypto_generichash_state h;

	p->calls++;
	snprintf(p->device, sizeof(p->device), "%s", device);
	if (p->fail_ioctl) {
		ioc->fw_error = 0x16;
		return error_set(err, "snp: fake ioctl failure");
	}
	assert_int_equal(ioc->msg_version, 1);
	p->last = *req;
	memset(resp->data, 0, sizeof(resp->data));
	resp->data[0] = (uint8_t)p->status;
	crypto_generichash_init(&h, p->chip, sizeof(p->chip), 32);
	crypto_generichash_update(&h, (const uint8_t *)req, sizeof(*req));
	if (req->guest_field_select & SEAL_SNP_FIELD_MEASUREMENT)
		crypto_generichash_update(&h, p->measurement,
		    sizeof(p->measurement));
	if (req->guest_field_select & SEAL_SNP_FIELD_POLICY)
		crypto_generichash_update(&h, (const uint8_t *)&p->policy,
		    sizeof(p->policy));
	crypto_generichash_final(&h, resp->data + 0x20, 32);
	return 0;
}

/* What fake_psp_request derives for the default request. */
static void
fake_psp_key(const struct fake_psp *p, uint8_t key[32])
{
	struct snp_guest_request_ioctl ioc;
	struct snp_derived_key_req req;
	struct snp_derived_key_resp resp;
	struct seal_snp_params params;
	struct fake_psp copy = *p;
	struct error err;

	seal_snp_params_default(&params);
	seal_snp_request_build(&params, &req, &resp, &ioc);
	assert_int_equal(fake_psp_request(&copy, "", &ioc, &err), 0);
	memcpy(key, resp.data + 0x20, 32);
}

static void
test_snp_seal_unseal(void **state)
{
	struct fake_psp psp;
	struct seal_config cfg;
	struct seal_snp_payload sp;
	struct error err = { "" };
	uint8_t *payload, out[SEAL_SECRET_MAX], fw[32], wk[32];
	unsigned long long mlen;
	size_t plen, olen;

	(void)state;
	memset(&psp, 0, sizeof(psp));
	randombytes_buf(psp.chip, sizeof(psp.chip));
	randombytes_buf(psp.measurement, sizeof(psp.measurement));
	psp.policy = 0x30000;
	cfg_init(&cfg);
	cfg.kind = "snp";

	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    secret32, 32, &payload, &plen, &err), 0);
	assert_int_equal(psp.calls, 1);
	assert_string_equal(psp.device, "/dev/sev-guest");
	assert_int_equal(psp.last.root_key_select, 0);
	assert_true(psp.last.guest_field_select == 0x9);
	assert_int_equal(psp.last.vmpl, 0);
	assert_int_equal(plen, SEAL_SNP_HDR_LEN + 24 + 32 + 16);
	assert_int_equal(seal_snp_payload_parse(payload, plen, &sp, &err), 0);
	assert_true(sp.params.field_select == 0x9);
	assert_int_equal(sp.params.root_key_select, 0);
	assert_int_equal(sp.msg_version, 1);
	assert_true(sp.params.tcb_version == 0);
	assert_int_equal(sp.params.guest_svn, 0);

	/* The derivation around the firmware key, independently: subkey 1
	 * of context "tsealsnp", header as associated data. */
	fake_psp_key(&psp, fw);
	assert_int_equal(crypto_kdf_derive_from_key(wk, 32, 1, "tsealsnp", fw),
	    0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + SEAL_SNP_HDR_LEN + 24, plen - SEAL_SNP_HDR_LEN - 24,
	    payload, SEAL_SNP_HDR_LEN, payload + SEAL_SNP_HDR_LEN, wk), 0);
	assert_memory_equal(out, secret32, 32);

	/* Same guest: unseals. */
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), 0);
	assert_int_equal(olen, 32);
	assert_memory_equal(out, secret32, 32);

	/* Another launch measurement: another key, refused. */
	psp.measurement[0] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_string_equal(err.msg, "snp: unseal refused: the key derived for "
	    "guest fields 0x9 differs from the one that sealed (another "
	    "launch measurement or guest policy, another host, a changed "
	    "platform TCB, or an altered sealed key)");
	assert_int_equal(olen, 0);
	psp.measurement[0] ^= 1;
	/* Another guest policy (debug allowed: bit 19). */
	psp.policy |= 1u << 19;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "unseal refused"));
	psp.policy &= ~(1u << 19);
	/* Another chip. */
	psp.chip[31] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	psp.chip[31] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), 0);

	/* The recorded parameters are what unseal requests (and they are
	 * bound: a changed SVN asks for another key). */
	payload[2 + 4 + 8 + 4 + 3] = 1;		/* GUEST_SVN = 1 */
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_int_equal(psp.last.guest_svn, 1);
	payload[2 + 4 + 8 + 4 + 3] = 0;

	/* The firmware's refusals and a failed ioctl pass through. */
	psp.status = 0x16;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "MSG_KEY_RSP status 0x16"));
	psp.status = 0;
	psp.fail_ioctl = 1;
	free(payload);
	payload = (uint8_t *)"not NULL";
	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    secret32, 32, &payload, &plen, &err), -1);
	assert_string_equal(err.msg, "snp: fake ioctl failure");
	assert_null(payload);
}

static void
test_snp_no_device(void **state)
{
	struct seal_config cfg;
	struct snp_guest_request_ioctl ioc;
	struct error err = { "" };
	uint8_t *blob = NULL, out[32];
	size_t blen = 0, olen;
	char desc[256];

	(void)state;
	cfg_init(&cfg);
	cfg.kind = "snp";
	cfg.snp_device = "/nonexistent/sev-guest";
	assert_int_equal(seal_wrap(&cfg, secret32, 32, &blob, &blen, &err), -1);
	assert_string_equal(err.msg, "snp: /nonexistent/sev-guest does not "
	    "exist: this is not an SEV-SNP guest, or the sev-guest driver is "
	    "not loaded (choose another sealer: tpm2 or passphrase)");
	memset(&ioc, 0, sizeof(ioc));
	assert_int_equal(seal_snp_ioctl(NULL, "/dev/null", &ioc, &err), -1);
	assert_non_null(strstr(err.msg, "SNP_GET_DERIVED_KEY on /dev/null "
	    "failed"));
	assert_int_equal(seal_snp.unseal(&cfg, (const uint8_t *)"\x01", 1, out,
	    sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "truncated"));
	seal_snp.describe(&cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "/nonexistent/sev-guest"));
	assert_non_null(strstr(desc, "launch measurement and guest policy"));
}

static void
test_snp_payload_malformed(void **state)
{
	struct fake_psp psp;
	struct seal_config cfg;
	struct seal_snp_payload sp;
	struct error err = { "" };
	uint8_t *payload, *copy;
	size_t plen, i;

	(void)state;
	memset(&psp, 0, sizeof(psp));
	cfg_init(&cfg);
	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    secret32, 32, &payload, &plen, &err), 0);
	/* Too short for a header and the smallest box (a box cut shorter
	 * than sealed still parses: it then fails authentication). */
	for (i = 0; i < SEAL_SNP_HDR_LEN + SEAL_BOX_MIN; i++)
		assert_int_equal(seal_snp_payload_parse(payload, i, &sp, &err),
		    -1);
	copy = xcalloc(1, 256);
	memcpy(copy, payload, plen);
	copy[0] = 9;
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_string_equal(err.msg, "snp: unknown payload version 9");
	memcpy(copy, payload, plen);
	copy[1] = 2;
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "message version 2"));
	memcpy(copy, payload, plen);
	copy[5] = 1;			/* VMRK */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "VMRK"));
	memcpy(copy, payload, plen);
	copy[13] = 0x01;		/* policy only, no measurement */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "must bind the guest policy and the "
	    "launch measurement"));
	copy[13] = 0x49;		/* bit 6: needs message version 2 */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "unknown bits"));
	copy[13] = 0x29;		/* + TCB version: accepted */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), 0);
	memcpy(copy, payload, plen);
	copy[17] = 4;			/* VMPL 4 */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "VMPL 4"));
	memcpy(copy, payload, plen);
	copy[plen] = 0;
	assert_int_equal(seal_snp_payload_parse(copy, plen + 1, &sp, &err), 0);
	assert_int_equal(seal_snp_payload_parse(copy, SEAL_SNP_HDR_LEN +
	    SEAL_BOX_MAX + 1, &sp, &err), -1);
	free(copy);
	free(payload);
}

/* ---------------------------------------------------- malformed payloads */

static void
test_file_passphrase_payload_malformed(void **state)
{
	struct fixture *f = *state;
	struct seal_file_payload fp;
	struct seal_passphrase_payload pp;
	struct error err = { "" };
	uint8_t *payload, *copy;
	size_t plen, i;

	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_file.seal(&f->cfg, secret32, 32, &payload, &plen,
	    &err), 0);
	for (i = 0; i < SEAL_BOX_MIN + 1; i++) {
		assert_int_equal(seal_file_payload_parse(payload, i, &fp,
		    &err), -1);
		assert_null(fp.box);
	}
	assert_int_equal(seal_file_payload_parse(payload, 0, &fp, &err), -1);
	assert_string_equal(err.msg, "file: empty payload");
	assert_int_equal(seal_file_payload_parse(payload, plen, &fp, &err), 0);
	copy = xmalloc(SEAL_BOX_MAX + 2);
	memset(copy, 0, SEAL_BOX_MAX + 2);
	copy[0] = 1;
	assert_int_equal(seal_file_payload_parse(copy, SEAL_BOX_MAX + 2, &fp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	free(copy);
	free(payload);

	write_mode(f->passfile, "pw", 0600);
	f->cfg.passphrase_file = f->passfile;
	payload = pass_seal(&f->cfg, &plen);
	for (i = 0; i < SEAL_PASSPHRASE_HDR_LEN + SEAL_BOX_MIN; i++) {
		assert_int_equal(seal_passphrase_payload_parse(payload, i, &pp,
		    &err), -1);
		/* unseal parses before reading any passphrase */
		assert_int_equal(pass_unseal(&f->cfg, payload, i, &err), -1);
		assert_null(strstr(err.msg, "wrong passphrase"));
	}
	free(payload);
}

/* A real TPM2B_PUBLIC of a sealed data object, marshalled. */
static size_t
tpm2_test_public(int with_policy, uint8_t *buf, size_t cap)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;

	memset(&pub, 0, sizeof(pub));
	pub.publicArea.type = TPM2_ALG_KEYEDHASH;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA |
	    (with_policy ? 0 : TPMA_OBJECT_USERWITHAUTH);
	pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (with_policy)
		pub.publicArea.authPolicy.size = 32;
	pub.publicArea.unique.keyedHash.size = 32;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, cap, &off),
	    0);
	return off;
}

/* A tpm2 payload as seal_tpm2 writes it, around a fake private blob. */
static size_t
tpm2_test_payload(int with_pcrs, uint8_t *out, size_t cap)
{
	uint8_t pub[1024];
	struct buf b = { 0 };
	size_t publen = tpm2_test_public(with_pcrs, pub, sizeof(pub));
	uint8_t values[64] = { 0 };
	static const uint8_t priv[] = { 0x00, 0x04, 1, 2, 3, 4 };

	seal_put_u8(&b, 1);
	seal_put_u8(&b, 1);
	if (with_pcrs) {
		seal_put_u16(&b, TPM2_ALG_SHA256);
		seal_put_u8(&b, 2);
		seal_put_u8(&b, 0);
		seal_put_u8(&b, 7);
		buf_add(&b, values, 64);
	} else {
		seal_put_u16(&b, 0);
		seal_put_u8(&b, 0);
	}
	seal_put_u16(&b, (uint16_t)publen);
	buf_add(&b, pub, publen);
	seal_put_u16(&b, sizeof(priv));
	buf_add(&b, priv, sizeof(priv));
	assert_true(b.len <= cap);
	memcpy(out, b.data, b.len);
	cap = b.len;
	buf_free(&b);
	return cap;
}

static void
test_tpm2_payload_parse(void **state)
{
	struct seal_tpm2_payload tp;
	struct seal_config cfg;
	struct error err = { "" };
	uint8_t p[2048], copy[2048], out[32];
	size_t len, i, olen;

	(void)state;
	len = tpm2_test_payload(1, p, sizeof(p));
	assert_int_equal(seal_tpm2_payload_parse(p, len, &tp, &err), 0);
	assert_int_equal(tp.pcrs.alg, TPM2_ALG_SHA256);
	assert_int_equal(tp.pcrs.n, 2);
	assert_int_equal(tp.pcrs.idx[1], 7);
	assert_int_equal(tp.digest_len, 32);
	assert_int_equal(tp.priv_len, 6);
	for (i = 0; i < len; i++)
		assert_int_equal(seal_tpm2_payload_parse(p, i, &tp, &err), -1);
	memcpy(copy, p, len);
	copy[len] = 0;
	assert_int_equal(seal_tpm2_payload_parse(copy, len + 1, &tp, &err), -1);
	assert_string_equal(err.msg, "tpm2: 1 trailing bytes in the payload");

	/* Header fields. */
	memcpy(copy, p, len);
	copy[1] = 2;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "template 2"));
	memcpy(copy, p, len);
	copy[3] = 0x05;			/* TPM2_ALG_HMAC: not a bank */
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "unknown PCR bank"));
	memcpy(copy, p, len);
	copy[4] = 25;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "PCR count 25"));
	memcpy(copy, p, len);
	copy[6] = 0;			/* indices 0,0 */
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "strictly ascending"));
	copy[5] = 24;
	copy[6] = 25;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	/* The public area must be a PCR-bound sealed data object. */
	memcpy(copy, p, len);
	copy[2] = copy[3] = copy[4] = 0;	/* "no PCRs" ... */
	memmove(copy + 5, copy + 5 + 2 + 64, len - 5 - 66);
	assert_int_equal(seal_tpm2_payload_parse(copy, len - 66, &tp, &err),
	    -1);
	assert_non_null(strstr(err.msg, "has a policy but no PCR selection"));
	/* Framed lengths that disagree with the TPM2B inside. */
	memcpy(copy, p, len);
	copy[5 + 2 + 64 + 1] += 1;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);

	len = tpm2_test_payload(0, p, sizeof(p));
	assert_int_equal(seal_tpm2_payload_parse(p, len, &tp, &err), 0);
	assert_int_equal(tp.pcrs.n, 0);
	memcpy(copy, p, len);
	copy[4] = 1;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "without a bank"));

	/* Unseal parses before it touches any TPM. */
	cfg_init(&cfg);
	cfg.tpm2_tcti = "swtpm:host=127.0.0.1,port=1";
	assert_int_equal(seal_tpm2.unseal(&cfg, p, len - 1, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "payload truncated"));
	/* ...and without one fails clearly. */
	assert_int_equal(seal_tpm2.unseal(&cfg, p, len, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "tpm2: cannot reach the TPM at "
	    "'swtpm:host=127.0.0.1,port=1'"));
}

static void
test_tpm2_pcr_selection(void **state)
{
	struct seal_tpm2_pcrs pcrs;
	struct seal_config cfg;
	struct error err = { "" };
	char buf[128];

	(void)state;
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:7,0", &pcrs, &err), 0);
	assert_int_equal(pcrs.alg, TPM2_ALG_SHA256);
	assert_int_equal(pcrs.n, 2);
	assert_int_equal(pcrs.idx[0], 0);
	assert_int_equal(pcrs.idx[1], 7);
	seal_tpm2_pcrs_format(&pcrs, buf, sizeof(buf));
	assert_string_equal(buf, "sha256:0,7");
	assert_int_equal(seal_tpm2_pcrs_parse("sha1:23", &pcrs, &err), 0);
	assert_int_equal(seal_tpm2_pcrs_parse("sha384:0,1,2,3,4,5,6,7,8,9,10,"
	    "11,12,13,14,15,16,17,18,19,20,21,22,23", &pcrs, &err), 0);
	assert_int_equal(pcrs.n, 24);
	assert_int_equal(seal_tpm2_pcrs_parse(NULL, &pcrs, &err), 0);
	assert_int_equal(pcrs.n, 0);
	seal_tpm2_pcrs_format(&pcrs, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	assert_int_equal(seal_tpm2_pcrs_parse("", &pcrs, &err), 0);

	assert_int_equal(seal_tpm2_pcrs_parse("sha256:24", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "0..23"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0007", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:1,1", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "PCR 1 twice"));
	assert_int_equal(seal_tpm2_pcrs_parse("md5:1", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "unknown bank"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha1:0+sha256:1", &pcrs, &err),
	    -1);
	assert_non_null(strstr(err.msg, "one bank only"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0,", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0 7", &pcrs, &err), -1);

	cfg_init(&cfg);
	cfg.tpm2_pcrs = "sha256:7,0";
	seal_tpm2.describe(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "tpm2 (device:/dev/tpmrm0, PCRs sha256:0,7)");
	cfg.tpm2_pcrs = NULL;
	cfg.tpm2_tcti = "swtpm:port=2321";
	seal_tpm2.describe(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "tpm2 (swtpm:port=2321, no PCR binding)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_tdx_refused_by_wrap),
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_secret_bounds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_sealer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_payload_kat, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_right_wrong,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_changed_params,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_sources, setup,
		    teardown),
		cmocka_unit_test(test_snp_request_construction),
		cmocka_unit_test(test_snp_response),
		cmocka_unit_test(test_snp_seal_unseal),
		cmocka_unit_test(test_snp_no_device),
		cmocka_unit_test(test_snp_payload_malformed),
		cmocka_unit_test_setup_teardown(
		    test_file_passphrase_payload_malformed, setup, teardown),
		cmocka_unit_test(test_tpm2_payload_parse),
		cmocka_unit_test(test_tpm2_pcr_selection),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
