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
 *
 * Reload (SIGHUP): the certificate and key are not taken from the SSL_CTX
 * but from the current identity, which tls_cert_cb installs into each new
 * connection at its handshake; tls_reload swaps the identity. Connections
 * already established keep theirs, nothing is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
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

/* The certificate chain and key new handshakes use. */
struct tls_identity {
	X509 *leaf;
	STACK_OF(X509) *chain;		/* intermediates, may be empty */
	EVP_PKEY *key;
};

/* Per SSL_CTX (its ex_data): where the identity comes from, and the
 * current one. Freed with the context. */
struct tls_state {
	pthread_mutex_t mu;
	struct tls_identity *current;	/* guarded by mu */
	char *cert_path, *key_path;
};

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_ex_index = -1;

static void
tls_identity_free(struct tls_identity *id)
{
	if (id == NULL)
		return;
	X509_free(id->leaf);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
	free(id);
}

static void
tls_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct tls_state *st = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (st == NULL)
		return;
	tls_identity_free(st->current);
	pthread_mutex_destroy(&st->mu);
	free(st->cert_path);
	free(st->key_path);
	free(st);
}

static void
tls_ex_init(void)
{
	tls_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    tls_state_free);
}

/*
 * Load the private key through our own buffer so the PEM text can be wiped
 * afterwards (OpenSSL's file BIO would leave it in stdio buffers).
 */
static EVP_PKEY *
tls_load_key(const char *key_file, struct error *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;

	if (file_check_secret(key_file, err) == -1)
		return NULL;
	if (tls_read_secret(key_file, &pem, &len, err) == -1)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		tls_error(err, key_file);
	else if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase,
	    NULL)) == NULL)
		tls_error(err, key_file);
	BIO_free(bio);
	sodium_free(pem);
	return pkey;
}

/* Leaf first, then any intermediates; the key must match the leaf. */
static struct tls_identity *
tls_identity_load(const char *cert_file, const char *key_file,
    struct error *err)
{
	struct tls_identity *id = xcalloc(1, sizeof(*id));
	BIO *bio = NULL;
	X509 *x;

	ERR_clear_error();
	id->chain = sk_X509_new_null();
	bio = BIO_new_file(cert_file, "r");
	if (id->chain == NULL || bio == NULL ||
	    (id->leaf = PEM_read_bio_X509(bio, NULL, tls_no_passphrase,
	    NULL)) == NULL) {
		tls_error(err, cert_file);
		goto fail;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL)) !=
	    NULL)
		if (!sk_X509_push(id->chain, x)) {
			X509_free(x);
			tls_error(err, cert_file);
			goto fail;
		}
	ERR_clear_error();	/* the end of the file */
	if ((id->key = tls_load_key(key_file, err)) == NULL)
		goto fail;
	if (X509_check_private_key(id->leaf, id->key) != 1) {
		tls_error(err, key_file);
		error_prefix(err, "key does not match certificate %s",
		    cert_file);
		goto fail;
	}
	BIO_free(bio);
	return id;
fail:
	BIO_free(bio);
	tls_identity_free(id);
	return NULL;
}

/* At each handshake: present the current identity, whatever the context
 * was created with. */
static int
tls_cert_cb(SSL *ssl, void *arg)
{
	struct tls_state *st = arg;
	int ok;

	pthread_mutex_lock(&st->mu);
	SSL_certs_clear(ssl);
	ok = SSL_use_cert_and_key(ssl, st->current->leaf, st->current->key,
	    st->current->chain, 1) == 1;
	pthread_mutex_unlock(&st->mu);
	return ok;
}

int
tls_reload(SSL_CTX *ctx, struct error *err)
{
	struct tls_state *st = SSL_CTX_get_ex_data(ctx, tls_ex_index);
	struct tls_identity *id, *old;

	if (st == NULL)
		return error_set(err, "not a context from tls_server_ctx");
	id = tls_identity_load(st->cert_path, st->key_path, err);
	if (id == NULL)
		return -1;
	pthread_mutex_lock(&st->mu);
	old = st->current;
	st->current = id;
	pthread_mutex_unlock(&st->mu);
	tls_identity_free(old);
	return 0;
}

SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file,
    const char *min_version, struct error *err)
{
	struct tls_identity *id;
	struct tls_state *st;
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

	if ((id = tls_identity_load(cert_file, key_file, err)) == NULL)
		goto fail;
	pthread_once(&tls_once, tls_ex_init);
	st = xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->mu, NULL);
	st->current = id;
	st->cert_path = xstrdup(cert_file);
	st->key_path = xstrdup(key_file);
	if (tls_ex_index < 0 || !SSL_CTX_set_ex_data(ctx, tls_ex_index, st)) {
		tls_state_free(NULL, st, NULL, 0, 0, NULL);
		tls_error(err, "SSL_CTX_set_ex_data");
		goto fail;
	}
	SSL_CTX_set_cert_cb(ctx, tls_cert_cb, st);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
