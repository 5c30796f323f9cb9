/*
 * tls.c: the server's TLS context. One SSL_CTX is shared by every worker
 * thread (OpenSSL locks its session cache internally).
 *
 * Policy: TLS 1.2 or 1.3 minimum; TLS 1.2 limited to ECDHE + AEAD suites
 * (TLS 1.3 suites are all AEAD with forward secrecy already); groups
 * X25519, P-256, P-384; no renegotiation, no compression. Resumption uses
 * the in-process server-side session cache only: SSL_OP_NO_TICKET keeps
 * session state out of long-lived ticket keys, so nothing survives a
 * restart.
 *
 * Private keys in memory (here and in token.c): tls_secure_heap_init gives
 * OpenSSL a secure heap (CRYPTO_secure_malloc_init: one mmap'd arena,
 * mlock'ed, between guard pages, excluded from core dumps, every block
 * wiped when freed). Once it exists OpenSSL 3 puts the private parts of
 * keys there: EC private scalars, RSA d/p/q/dP/dQ/qInv (decoded as secure
 * BIGNUMs), X25519/Ed25519 private bytes, the DER of private PEM it
 * decodes, BIO_s_secmem buffers, and the ephemeral (EC)DHE keys of TLS
 * handshakes. What it does not cover: public parts, TLS traffic secrets
 * and record keys inside SSL objects (ordinary heap, cleansed by OpenSSL
 * when the connection is freed), and temporaries in OpenSSL's own
 * computations. The key file itself is read straight into sodium guarded
 * memory (tls_read_secret), never through stdio or a growing buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "../lib/log.h"
#include "trusteed.h"

#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"
#define TLS_SESSION_CONTEXT "trusteed"
#define TLS_KEY_FILE_MAX (1024 * 1024)
/* The secure heap: a power of two. 1 MiB holds thousands of private keys
 * (a P-256 scalar takes 32..64 bytes, an RSA-4096 key about 1.5 KiB) and
 * the handshakes of every worker at once. */
#define TLS_SECURE_HEAP ((size_t)1 << 20)
#define TLS_SECURE_MIN 32

int
tls_secure_heap_init(struct error *err)
{
	int rc;

	if (CRYPTO_secure_malloc_initialized())
		return 0;
	rc = CRYPTO_secure_malloc_init(TLS_SECURE_HEAP, TLS_SECURE_MIN);
	if (rc == 0)
		return error_set(err, "cannot set up OpenSSL's secure heap "
		    "(%zu KiB): private keys would live in the ordinary heap",
		    TLS_SECURE_HEAP / 1024);
	if (rc == 2)
		log_warnx("OpenSSL's secure heap (%zu KiB) could not be locked "
		    "in memory or fenced by guard pages (RLIMIT_MEMLOCK?): "
		    "private keys may reach swap", TLS_SECURE_HEAP / 1024);
	return 0;
}

/*
 * Read a secret file into sodium guarded memory (*out: sodium_free it):
 * read(2) straight into the final buffer, so no copy is left in stdio
 * buffers, on the stack or in memory a realloc gave back.
 */
static int
tls_read_secret(const char *path, uint8_t **out, size_t *len,
    struct error *err)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0, size;
	ssize_t n;
	int fd;

	*out = NULL;
	*len = 0;
	if (sodium_init() < 0)	/* idempotent; guarded memory needs it */
		return error_set(err, "%s: libsodium cannot initialise", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > TLS_KEY_FILE_MAX) {
		close(fd);
		return error_set(err, "%s: not a regular file of 1..%d bytes",
		    path, TLS_KEY_FILE_MAX);
	}
	size = (size_t)sb.st_size;
	if ((buf = sodium_malloc(size)) == NULL) {
		close(fd);
		return error_set(err, "%s: no guarded memory for the key",
		    path);
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != size) {
		sodium_free(buf);
		return error_set(err, "%s: short read (the file changed?)",
		    path);
	}
	*out = buf;
	*len = size;
	return 0;
}

/* Fill err with "what: <OpenSSL reason>" and clear OpenSSL's error queue. */
static int
tls_error(struct error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];

	if (e == 0)
		snprintf(reason, sizeof(reason), "unknown OpenSSL error");
	else
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return error_set(err, "%s: %s", what, reason);
}

/* Refuse to prompt for a passphrase: encrypted keys are not supported. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Load the private key through our own guarded buffer so the PEM text is
 * wiped afterwards on every path (OpenSSL's file BIO would leave it in
 * stdio buffers); the key's private parts go to the secure heap.
 */
static int
tls_load_key(SSL_CTX *ctx, const char *cert_file, const char *key_file,
    struct error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	if (file_check_secret(key_file, err) == -1)
		return -1;
	if (tls_read_secret(key_file, &pem, &len, err) == -1)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		tls_error(err, key_file);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL);
	if (pkey == NULL) {
		tls_error(err, key_file);
		goto out;
	}
	/* OpenSSL compares the key with the certificate here already. */
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		tls_error(err, key_file);
		error_prefix(err, "key does not match certificate %s",
		    cert_file);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	sodium_free(pem);
	return rc;
}

SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file,
    const char *min_version, struct error *err)
{
	SSL_CTX *ctx;
	int minv;

	if (min_version == NULL || strcmp(min_version, "1.2") == 0)
		minv = TLS1_2_VERSION;
	else if (strcmp(min_version, "1.3") == 0)
		minv = TLS1_3_VERSION;
	else {
		error_set(err, "tls_min_version \"%s\": must be \"1.2\" or "
		    "\"1.3\"", min_version);
		return NULL;
	}
	if (cert_file == NULL || key_file == NULL) {
		error_set(err, "TLS needs both a certificate and a key file");
		return NULL;
	}

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_error(err, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, minv) != 1) {
		tls_error(err, "SSL_CTX_set_min_proto_version");
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		tls_error(err, "TLS 1.2 cipher list");
		goto fail;
	}
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		tls_error(err, "TLS groups " TLS_GROUPS);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_CONTEXT,
	    sizeof(TLS_SESSION_CONTEXT) - 1) != 1) {
		tls_error(err, "SSL_CTX_set_session_id_context");
		goto fail;
	}

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_error(err, cert_file);
		goto fail;
	}
	if (tls_load_key(ctx, cert_file, key_file, err) == -1)
		goto fail;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, key_file);
		error_prefix(err, "key does not match certificate %s",
		    cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
