/*
 * admintoken.c: short-lived admin Bearer JWTs signed with a local PEM
 * key, and Ed25519 admin key-pair generation (trusteectl keygen).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "admintoken.h"
#include "jws.h"

#define KEYFILE_MAX	(64 * 1024)

/* Never prompt on the terminal for a passphrase: encrypted keys fail. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static EVP_PKEY *
load_key(const char *keyfile, struct error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *bio;

	if (file_check_secret(keyfile, err) == -1)
		return NULL;
	if (file_read_all(keyfile, KEYFILE_MAX, &pem, &len, err) == -1)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio != NULL)
		key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	secret_free(pem, len);
	ERR_clear_error();
	if (key == NULL)
		error_set(err, "%s: not an unencrypted PEM private key",
		    keyfile);
	return key;
}

char *
admintoken_make(const char *keyfile, const char *role, int ttl_s,
    struct error *err)
{
	EVP_PKEY *key;
	json_t *hdr = NULL, *claims = NULL;
	const char *alg;
	char *payload = NULL, *jwt = NULL;
	int64_t now = now_unix();

	if ((key = load_key(keyfile, err)) == NULL)
		return NULL;
	alg = jws_alg_for_key(key);
	if (alg == NULL) {
		error_set(err, "%s: key type cannot sign admin tokens (use "
		    "Ed25519, P-256, P-384 or RSA)", keyfile);
		goto out;
	}
	hdr = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", "trusteectl",
	    "sub", "admin", "role", role, "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + ttl_s));
	if (hdr == NULL || claims == NULL) {
		error_set(err, "admin token: role cannot be encoded");
		goto out;
	}
	payload = json_dumps(claims, JSON_COMPACT);
	if (payload == NULL) {
		error_set(err, "admin token: cannot encode the claims");
		goto out;
	}
	jwt = jws_sign(key, hdr, payload, strlen(payload), err);
	if (jwt == NULL)
		error_prefix(err, "admin token");
out:
	EVP_PKEY_free(key);
	json_decref(hdr);
	json_decref(claims);
	free(payload);
	return jwt;
}

/* Create path exclusively with mode and return a stdio stream on it. */
static FILE *
create_excl(const char *path, mode_t mode, struct error *err)
{
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1) {
		error_set(err, "%s: %s", path, errno == EEXIST ?
		    "already exists; refusing to overwrite" : strerror(errno));
		return NULL;
	}
	/* The umask may have narrowed the mode; make it exact. */
	if (fchmod(fd, mode) == -1 || (f = fdopen(fd, "w")) == NULL) {
		error_set(err, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	return f;
}

static int
close_checked(FILE *f, const char *path, struct error *err)
{
	int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;

	if (fclose(f) != 0 || bad)
		return error_set(err, "%s: write failed: %s", path,
		    strerror(errno));
	return 0;
}

int
admintoken_keygen(const char *path, const char *pubpath, struct error *err)
{
	EVP_PKEY *key = NULL;
	FILE *fpriv = NULL, *fpub = NULL;
	char vbuf[BUFSIZ];
	char *pub = pubpath != NULL ? xstrdup(pubpath) :
	    xasprintf("%s.pub", path);
	int rc = -1, made_priv = 0, made_pub = 0;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL) {
		error_set(err, "cannot generate an Ed25519 key");
		goto out;
	}
	if ((fpriv = create_excl(path, 0600, err)) == NULL)
		goto out;
	made_priv = 1;
	/* Keep the PEM text in a buffer we can wipe, not stdio's own. */
	setvbuf(fpriv, vbuf, _IOFBF, sizeof(vbuf));
	if ((fpub = create_excl(pub, 0644, err)) == NULL)
		goto out;
	made_pub = 1;
	/* PKCS#8 "BEGIN PRIVATE KEY", unencrypted. */
	if (PEM_write_PrivateKey(fpriv, key, NULL, NULL, 0, NULL, NULL) != 1) {
		error_set(err, "%s: cannot write the private key", path);
		goto out;
	}
	if (PEM_write_PUBKEY(fpub, key) != 1) {
		error_set(err, "%s: cannot write the public key", pub);
		goto out;
	}
	{
		FILE *f = fpriv;

		fpriv = NULL;
		if (close_checked(f, path, err) == -1)
			goto out;
		f = fpub;
		fpub = NULL;
		if (close_checked(f, pub, err) == -1)
			goto out;
	}
	rc = 0;
out:
	if (fpriv != NULL)
		fclose(fpriv);
	if (fpub != NULL)
		fclose(fpub);
	if (rc == -1) {
		if (made_priv)
			unlink(path);
		if (made_pub)
			unlink(pub);
	}
	sodium_memzero(vbuf, sizeof(vbuf));
	ERR_clear_error();
	EVP_PKEY_free(key);
	free(pub);
	return rc;
}
