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
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../lib/log.h"
#include "trusteed.h"

#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"
#define TLS_SESSION_CONTEXT "trusteed"
#define TLS_KEY_FILE_MAX (1024 * 1024)

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
 * Load the private key through our own buffer so the PEM text can be wiped
 * afterwards (OpenSSL's file BIO would leave it in stdio buffers).
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
	if (file_read_all(key_file, TLS_KEY_FILE_MAX, &pem, &len, err) == -1)
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
	secret_free(pem, len);
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
