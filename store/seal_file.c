/*
 * seal_file.c: the development sealer. A key file holds 32 raw random
 * bytes that only trusteed's user may access; nothing binds it to the
 * TEE, so every load says so in the log (and the sealer is marked
 * insecure, which health and `trusteectl status` report).
 *
 * Two uses of the same file format:
 * - seal_file_load: the file's bytes are the data key itself (what
 *   store.c used before sealers; kept until the store switches over);
 * - the "file" sealer: the file's key wraps the secret (payload format in
 *   seal_internal.h), through a KDF subkey so that one file used both
 *   ways never uses the same key for two purposes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "seal_internal.h"
#include "store.h"

#define SEAL_FILE_KEY_LEN 32
#define SEAL_FILE_KDF_CONTEXT "tsealfil"
#define SEAL_FILE_KDF_ID 1

static void
seal_file_warn(const char *path)
{
	log_warnx("data key is stored in a plain file (%s): development only; "
	    "use a TEE sealer in production", path);
}

/* Read exactly SEAL_FILE_KEY_LEN bytes from fd into key. */
static int
seal_file_read(const char *path, int fd, uint8_t key[SEAL_FILE_KEY_LEN],
    struct error *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	if (st.st_size != SEAL_FILE_KEY_LEN)
		return error_set(err, "%s: data key file must hold exactly %d "
		    "bytes, found %lld", path, SEAL_FILE_KEY_LEN,
		    (long long)st.st_size);
	while (got < SEAL_FILE_KEY_LEN) {
		n = read(fd, key + got, SEAL_FILE_KEY_LEN - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return error_set(err, "%s: %s", path, strerror(errno));
		if (n == 0)
			return error_set(err, "%s: data key file shrank while "
			    "being read", path);
		got += (size_t)n;
	}
	return 0;
}

int
seal_file_load(const char *path, int create, uint8_t key[32],
    struct error *err)
{
	int fd, rc;

	if (sodium_init() < 0)
		return error_set(err, "%s: libsodium failed to initialise",
		    path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (!create)
			return error_set(err, "%s: data key file does not "
			    "exist", path);
		/* Straight into the caller's buffer: no copy to wipe. */
		randombytes_buf(key, SEAL_FILE_KEY_LEN);
		if (file_write_atomic(path, key, SEAL_FILE_KEY_LEN, 0600,
		    err) == -1) {
			sodium_memzero(key, SEAL_FILE_KEY_LEN);
			return -1;
		}
		log_info("created a new data key in %s", path);
		seal_file_warn(path);
		return 0;
	}
	if (fd == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	rc = file_check_secret(path, err);
	if (rc == 0)
		rc = seal_file_read(path, fd, key, err);
	close(fd);
	if (rc == -1) {
		sodium_memzero(key, SEAL_FILE_KEY_LEN);
		return -1;
	}
	seal_file_warn(path);
	return 0;
}

/* ------------------------------------------------------ the "file" sealer */

int
seal_file_payload_parse(const uint8_t *p, size_t len,
    struct seal_file_payload *out, struct error *err)
{
	struct seal_rd r = { p, len };
	uint8_t version;

	memset(out, 0, sizeof(*out));
	if (seal_rd_u8(&r, &version) == -1)
		return error_set(err, "file: empty payload");
	if (version != SEAL_FILE_V1)
		return error_set(err, "file: unknown payload version %u",
		    version);
	if (seal_box_check("file", r.left, err) == -1)
		return -1;
	out->hdr = p;
	out->hdr_len = 1;
	out->box = r.p;
	out->box_len = r.left;
	return 0;
}

/* The wrapping key: a KDF subkey of the key file's bytes, in sodium
 * memory (sodium_free it). create: make the key file when missing. */
static uint8_t *
seal_file_wrap_key(const struct seal_config *cfg, int create,
    struct error *err)
{
	uint8_t *fk, *wk;

	if (cfg->key_file == NULL || cfg->key_file[0] == '\0') {
		error_set(err, "file: no key file configured");
		return NULL;
	}
	if (sodium_init() < 0) {
		error_set(err, "file: libsodium failed to initialise");
		return NULL;
	}
	fk = sodium_malloc(SEAL_FILE_KEY_LEN);
	wk = sodium_malloc(SEAL_KEY_LEN);
	if (fk == NULL || wk == NULL)
		fatalx("file: out of secure memory");
	if (seal_file_load(cfg->key_file, create, fk, err) == -1) {
		sodium_free(fk);
		sodium_free(wk);
		error_prefix(err, "file");
		return NULL;
	}
	crypto_kdf_derive_from_key(wk, SEAL_KEY_LEN, SEAL_FILE_KDF_ID,
	    SEAL_FILE_KDF_CONTEXT, fk);
	sodium_free(fk);
	return wk;
}

static int
seal_file_seal(const struct seal_config *cfg, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err)
{
	struct buf b = { 0 };
	uint8_t *wk;

	*payload = NULL;
	*payload_len = 0;
	if (seal_secret_check("file", len, err) == -1)
		return -1;
	if ((wk = seal_file_wrap_key(cfg, cfg->create, err)) == NULL)
		return -1;
	seal_put_u8(&b, SEAL_FILE_V1);
	seal_box_close(wk, b.data, 1, secret, len, &b);
	sodium_free(wk);
	*payload = b.data;
	*payload_len = b.len;
	return 0;
}

static int
seal_file_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	struct seal_file_payload fp;
	struct error inner = { "" };
	uint8_t *wk;
	int rc;

	*len = 0;
	if (seal_file_payload_parse(payload, payload_len, &fp, err) == -1)
		return -1;
	/* Never create the key file here: a new key cannot open old seals. */
	if ((wk = seal_file_wrap_key(cfg, 0, err)) == NULL)
		return -1;
	rc = seal_box_open(wk, fp.hdr, fp.hdr_len, fp.box, fp.box_len, out,
	    cap, len, &inner);
	sodium_free(wk);
	if (rc == -1) {
		if (inner.msg[0] != '\0')
			return error_set(err, "file: %s", inner.msg);
		return error_set(err, "file: unseal refused: the sealed key "
		    "does not open with the key in %s (another key file, or "
		    "the sealed key was altered)", cfg->key_file);
	}
	return 0;
}

static void
seal_file_describe(const struct seal_config *cfg, char *buf, size_t cap)
{
	snprintf(buf, cap, "file (%s; development only: the key is not "
	    "bound to a TEE)", cfg->key_file != NULL ? cfg->key_file :
	    "no key file");
}

const struct sealer seal_file = {
	.name = "file",
	.seal = seal_file_seal,
	.unseal = seal_file_unseal,
	.describe = seal_file_describe,
	.insecure = 1,
};
