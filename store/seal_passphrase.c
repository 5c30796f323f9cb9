/*
 * seal_passphrase.c: the sealer for machines without a TEE sealing key.
 * An argon2id key (libsodium crypto_pwhash) from an operator's
 * passphrase wraps the secret with XChaCha20-Poly1305; the parameters and
 * the salt are stored in the payload (format in seal_internal.h), and the
 * AEAD tag is the canary that tells a wrong passphrase from a right one
 * before anything is used.
 *
 * Where the passphrase comes from (the first that is configured):
 * - a file descriptor (read to EOF once, then closed: e.g. a pipe from
 *   the operator's secret manager);
 * - a file that only trusteed's user may read (0600 or 0400);
 * - a systemd credential, $CREDENTIALS_DIRECTORY/<name>
 *   (LoadCredential= or LoadCredentialEncrypted=).
 * One final newline ("\n" or "\r\n") is dropped, as editors and `echo`
 * add one. The passphrase lives only in sodium memory and is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "seal_internal.h"

/* A passphrase in sodium memory (guard pages, not swapped). */
struct seal_pass {
	uint8_t *p;		/* sodium_malloc'd, SEAL_PASSPHRASE_MAX + 3 */
	size_t len;
};

static void
seal_pass_free(struct seal_pass *pw)
{
	if (pw->p != NULL)
		sodium_free(pw->p);	/* wipes */
	pw->p = NULL;
	pw->len = 0;
}

/* Read fd to EOF into pw (which what names in messages). Room for the
 * longest passphrase and a "\r\n" after it; one byte more means too
 * long. */
static int
seal_pass_read(int fd, const char *what, struct seal_pass *pw,
    struct error *err)
{
	const size_t cap = SEAL_PASSPHRASE_MAX + 3;
	ssize_t n;

	pw->len = 0;
	if ((pw->p = sodium_malloc(cap)) == NULL)
		fatalx("passphrase: out of secure memory");
	for (;;) {
		n = read(fd, pw->p + pw->len, cap - pw->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error_set(err, "passphrase: %s: %s", what,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		pw->len += (size_t)n;
		if (pw->len == cap) {
			error_set(err, "passphrase: %s: longer than %d bytes",
			    what, SEAL_PASSPHRASE_MAX);
			goto fail;
		}
	}
	if (pw->len > 0 && pw->p[pw->len - 1] == '\n') {
		pw->len--;
		if (pw->len > 0 && pw->p[pw->len - 1] == '\r')
			pw->len--;
	}
	if (pw->len > SEAL_PASSPHRASE_MAX) {
		error_set(err, "passphrase: %s: longer than %d bytes", what,
		    SEAL_PASSPHRASE_MAX);
		goto fail;
	}
	if (pw->len == 0) {
		error_set(err, "passphrase: %s: the passphrase is empty", what);
		goto fail;
	}
	return 0;
fail:
	seal_pass_free(pw);
	return -1;
}

static int
seal_pass_read_path(const char *path, const char *what, struct seal_pass *pw,
    struct error *err)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return error_set(err, "passphrase: %s: %s", what,
		    strerror(errno));
	rc = seal_pass_read(fd, what, pw, err);
	close(fd);
	return rc;
}

/*
 * A systemd credential. systemd writes it 0400 and, when the service runs
 * as another user than the manager, grants that user read access with an
 * ACL entry, which shows as group read bits in the mode. So here only
 * access for others is refused; the directory itself is private to the
 * service (systemd.exec(5), "Credentials").
 */
static int
seal_pass_read_credential(const char *name, struct seal_pass *pw,
    struct error *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char what[300], esc[64];
	struct stat st;
	char *path;
	int rc;

	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return error_set(err, "passphrase: invalid credential name "
		    "'%s'", log_escape(name, esc, sizeof(esc)));
	log_escape(name, esc, sizeof(esc));
	if (dir == NULL || dir[0] == '\0')
		return error_set(err, "passphrase: credential '%s': "
		    "$CREDENTIALS_DIRECTORY is not set (start trusteed from a "
		    "systemd unit with LoadCredential=%s:... or "
		    "LoadCredentialEncrypted=%s:...)", esc, esc, esc);
	snprintf(what, sizeof(what), "credential '%s'", esc);
	path = xasprintf("%s/%s", dir, name);
	if (stat(path, &st) == -1) {
		rc = error_set(err, "passphrase: %s (%s): %s", what, path,
		    strerror(errno));
	} else if ((st.st_mode & S_IRWXO) != 0) {
		rc = error_set(err, "passphrase: %s (%s): mode %04o is "
		    "readable by others", what, path,
		    (unsigned)(st.st_mode & 07777));
	} else {
		rc = seal_pass_read_path(path, what, pw, err);
	}
	free(path);
	return rc;
}

/* The configured passphrase, into pw. */
static int
seal_pass_get(const struct seal_config *cfg, struct seal_pass *pw,
    struct error *err)
{
	char what[64];
	int rc;

	memset(pw, 0, sizeof(*pw));
	if (cfg->passphrase_fd >= 0) {
		snprintf(what, sizeof(what), "file descriptor %d",
		    cfg->passphrase_fd);
		rc = seal_pass_read(cfg->passphrase_fd, what, pw, err);
		close(cfg->passphrase_fd);
		return rc;
	}
	if (cfg->passphrase_file != NULL && cfg->passphrase_file[0] != '\0') {
		if (file_check_secret(cfg->passphrase_file, err) == -1)
			return error_prefix(err, "passphrase");
		return seal_pass_read_path(cfg->passphrase_file,
		    cfg->passphrase_file, pw, err);
	}
	if (cfg->passphrase_credential != NULL &&
	    cfg->passphrase_credential[0] != '\0')
		return seal_pass_read_credential(cfg->passphrase_credential,
		    pw, err);
	return error_set(err, "passphrase: no passphrase source configured "
	    "(a file descriptor, a 0600 file or a systemd credential)");
}

/* argon2id(pw, salt) into a sodium_malloc'd key (NULL with err set). */
static uint8_t *
seal_pass_key(const struct seal_pass *pw, const uint8_t *salt,
    uint32_t opslimit, uint32_t memlimit_kib, struct error *err)
{
	uint8_t *key;

	if ((key = sodium_malloc(SEAL_KEY_LEN)) == NULL)
		fatalx("passphrase: out of secure memory");
	if (crypto_pwhash(key, SEAL_KEY_LEN, (const char *)pw->p, pw->len,
	    salt, opslimit, (size_t)memlimit_kib * 1024,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_free(key);
		error_set(err, "passphrase: argon2id with %u passes over %u "
		    "KiB failed (out of memory?)", opslimit, memlimit_kib);
		return NULL;
	}
	return key;
}

static int
seal_pass_params_check(uint32_t opslimit, uint32_t memlimit_kib,
    struct error *err)
{
	if (opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    opslimit > SEAL_PASSPHRASE_OPS_MAX)
		return error_set(err, "passphrase: argon2id opslimit %u out "
		    "of range %llu..%d", opslimit,
		    (unsigned long long)crypto_pwhash_OPSLIMIT_MIN,
		    SEAL_PASSPHRASE_OPS_MAX);
	if ((uint64_t)memlimit_kib * 1024 < crypto_pwhash_MEMLIMIT_MIN ||
	    memlimit_kib > SEAL_PASSPHRASE_MEM_KIB_MAX)
		return error_set(err, "passphrase: argon2id memlimit %u KiB "
		    "out of range %llu..%u KiB", memlimit_kib,
		    (unsigned long long)crypto_pwhash_MEMLIMIT_MIN / 1024,
		    SEAL_PASSPHRASE_MEM_KIB_MAX);
	return 0;
}

int
seal_passphrase_payload_parse(const uint8_t *p, size_t len,
    struct seal_passphrase_payload *out, struct error *err)
{
	struct seal_rd r = { p, len };
	uint8_t version;

	memset(out, 0, sizeof(*out));
	if (seal_rd_u8(&r, &version) == -1)
		return error_set(err, "passphrase: empty payload");
	if (version != SEAL_PASSPHRASE_V1)
		return error_set(err, "passphrase: unknown payload version %u",
		    version);
	if (seal_rd_u8(&r, &out->kdf) == -1 ||
	    seal_rd_u32(&r, &out->opslimit) == -1 ||
	    seal_rd_u32(&r, &out->memlimit_kib) == -1 ||
	    seal_rd_bytes(&r, SEAL_PASSPHRASE_SALT_LEN, &out->salt) == -1)
		return error_set(err, "passphrase: payload truncated in the "
		    "argon2id parameters");
	if (out->kdf != SEAL_PASSPHRASE_KDF_ARGON2ID)
		return error_set(err, "passphrase: unknown KDF %u (1 is "
		    "argon2id)", out->kdf);
	if (seal_pass_params_check(out->opslimit, out->memlimit_kib,
	    err) == -1)
		return -1;
	if (seal_box_check("passphrase", r.left, err) == -1)
		return -1;
	out->hdr = p;
	out->hdr_len = SEAL_PASSPHRASE_HDR_LEN;
	out->box = r.p;
	out->box_len = r.left;
	return 0;
}

int
seal_passphrase_seal_params(const struct seal_config *cfg,
    uint32_t opslimit, uint32_t memlimit_kib, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err)
{
	uint8_t salt[SEAL_PASSPHRASE_SALT_LEN], *key;
	struct seal_pass pw;
	struct buf b = { 0 };

	*payload = NULL;
	*payload_len = 0;
	if (seal_secret_check("passphrase", len, err) == -1 ||
	    seal_pass_params_check(opslimit, memlimit_kib, err) == -1)
		return -1;
	if (sodium_init() < 0)
		return error_set(err, "passphrase: libsodium failed to "
		    "initialise");
	if (seal_pass_get(cfg, &pw, err) == -1)
		return -1;
	randombytes_buf(salt, sizeof(salt));
	key = seal_pass_key(&pw, salt, opslimit, memlimit_kib, err);
	seal_pass_free(&pw);
	if (key == NULL)
		return -1;
	seal_put_u8(&b, SEAL_PASSPHRASE_V1);
	seal_put_u8(&b, SEAL_PASSPHRASE_KDF_ARGON2ID);
	seal_put_u32(&b, opslimit);
	seal_put_u32(&b, memlimit_kib);
	buf_add(&b, salt, sizeof(salt));
	seal_box_close(key, b.data, SEAL_PASSPHRASE_HDR_LEN, secret, len, &b);
	sodium_free(key);
	*payload = b.data;
	*payload_len = b.len;
	return 0;
}

static int
seal_passphrase_seal(const struct seal_config *cfg, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err)
{
	return seal_passphrase_seal_params(cfg, SEAL_PASSPHRASE_OPS_DEFAULT,
	    SEAL_PASSPHRASE_MEM_KIB_DEFAULT, secret, len, payload,
	    payload_len, err);
}

static int
seal_passphrase_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	struct seal_passphrase_payload pp;
	struct error inner = { "" };
	struct seal_pass pw;
	uint8_t *key;
	int rc;

	*len = 0;
	/* Parse first: a malformed row fails before any passphrase is read. */
	if (seal_passphrase_payload_parse(payload, payload_len, &pp,
	    err) == -1)
		return -1;
	if (sodium_init() < 0)
		return error_set(err, "passphrase: libsodium failed to "
		    "initialise");
	if (seal_pass_get(cfg, &pw, err) == -1)
		return -1;
	key = seal_pass_key(&pw, pp.salt, pp.opslimit, pp.memlimit_kib, err);
	seal_pass_free(&pw);
	if (key == NULL)
		return -1;
	rc = seal_box_open(key, pp.hdr, pp.hdr_len, pp.box, pp.box_len, out,
	    cap, len, &inner);
	sodium_free(key);
	if (rc == -1) {
		if (inner.msg[0] != '\0')
			return error_set(err, "passphrase: %s", inner.msg);
		return error_set(err, "passphrase: wrong passphrase (the "
		    "sealed key does not open with it; nothing was changed)");
	}
	return 0;
}

static void
seal_passphrase_describe(const struct seal_config *cfg, char *buf,
    size_t cap)
{
	char esc[64];

	if (cfg->passphrase_fd >= 0)
		snprintf(buf, cap, "passphrase (argon2id; from file "
		    "descriptor %d)", cfg->passphrase_fd);
	else if (cfg->passphrase_file != NULL &&
	    cfg->passphrase_file[0] != '\0')
		snprintf(buf, cap, "passphrase (argon2id; from %s)",
		    cfg->passphrase_file);
	else if (cfg->passphrase_credential != NULL &&
	    cfg->passphrase_credential[0] != '\0')
		snprintf(buf, cap, "passphrase (argon2id; from systemd "
		    "credential '%s')", log_escape(cfg->passphrase_credential,
		    esc, sizeof(esc)));
	else
		snprintf(buf, cap, "passphrase (argon2id; no source "
		    "configured)");
}

const struct sealer seal_passphrase = {
	.name = "passphrase",
	.seal = seal_passphrase_seal,
	.unseal = seal_passphrase_unseal,
	.describe = seal_passphrase_describe,
	.insecure = 0,
};
