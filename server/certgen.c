/*
 * certgen.c: a self-signed TLS server certificate and its key, for
 * `trusteed --dev` (devmode.c) and `trusteed setup` (setup.c).
 *
 * The certificate is a P-256 leaf with CA:FALSE, so rustls-based guests
 * accept it as an extra root without CaUsedAsEndEntity; key usage
 * digitalSignature, extended key usage serverAuth. Neither file is ever
 * overwritten: the caller decides what to do with existing ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../lib/log.h"
#include "trusteed.h"

static int
certgen_add_ext(X509 *crt, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, crt, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Write the memory BIO's bytes to a new file (O_EXCL) with mode. */
static int
certgen_write(const char *path, BIO *mem, mode_t mode, struct error *err)
{
	char *data;
	long len = BIO_get_mem_data(mem, &data);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1)
		return error_set(err, "%s: %s", path, errno == EEXIST ?
		    "already exists; refusing to overwrite" : strerror(errno));
	while (len > 0) {
		n = write(fd, data, (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		data += n;
		len -= n;
	}
	if (len != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		error_set(err, "%s: write failed: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0) {
		error_set(err, "%s: write failed: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
certgen_self_signed(const char *cert, const char *key, const char *cn,
    const char *san, const char *org, int days, struct error *err)
{
	EVP_PKEY *pk = NULL;
	X509 *crt = NULL;
	X509_NAME *name;
	BIO *kmem = NULL, *cmem = NULL;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	crt = X509_new();
	kmem = BIO_new(BIO_s_secmem());
	cmem = BIO_new(BIO_s_mem());
	if (pk == NULL || crt == NULL || kmem == NULL || cmem == NULL)
		goto ossl;
	X509_set_version(crt, 2);
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto ossl;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt))
	    == NULL)
		goto ossl;
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), (long)days * 86400);
	name = X509_get_subject_name(crt);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)org, -1, -1, 0))
		goto ossl;
	X509_set_issuer_name(crt, name);
	X509_set_pubkey(crt, pk);
	if (!certgen_add_ext(crt, NID_basic_constraints, "critical,CA:FALSE") ||
	    !certgen_add_ext(crt, NID_key_usage,
	    "critical,digitalSignature") ||
	    !certgen_add_ext(crt, NID_ext_key_usage, "serverAuth") ||
	    !certgen_add_ext(crt, NID_subject_key_identifier, "hash"))
		goto ossl;
	if (!certgen_add_ext(crt, NID_subject_alt_name, san)) {
		ERR_clear_error();
		error_set(err, "subject alternative names \"%s\" are not "
		    "valid (DNS:name and IP:address, comma-separated)", san);
		goto out;
	}
	if (!X509_sign(crt, pk, EVP_sha256()))
		goto ossl;
	/* The key goes through OpenSSL's secure heap, never stdio. */
	if (!PEM_write_bio_PrivateKey(kmem, pk, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cmem, crt))
		goto ossl;
	if (certgen_write(key, kmem, 0600, err) != 0)
		goto out;
	if (certgen_write(cert, cmem, 0644, err) != 0) {
		unlink(key);
		goto out;
	}
	rc = 0;
	goto out;
ossl:
	ERR_clear_error();
	error_set(err, "cannot create a self-signed TLS certificate");
out:
	BIO_free(kmem);		/* secmem BIOs are cleansed when freed */
	BIO_free(cmem);
	BN_free(bn);
	X509_free(crt);
	EVP_PKEY_free(pk);
	return rc;
}
