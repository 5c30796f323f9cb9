/*
 * test_http_tls.c: the HTTP server over TLS with the context of
 * server/tls.c: TLS 1.3 and the allowed TLS 1.2 suites, session
 * resumption, a minimum version, plain HTTP on the TLS port, and the
 * errors of tls_server_ctx (loose key mode, mismatched or missing files,
 * bad version); and that the client (lib/httpc.c) sends a small request
 * as one TLS record. Certificates are made in the fixture's scratch
 * directory (httpfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../lib/httpc.h"
#include "httpfix.h"

static char cert_path[128], key_path[128], key_open_path[128],
    other_key_path[128];

static void
write_key(const char *path, EVP_PKEY *k, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	FILE *f;

	assert_true(fd >= 0);
	fchmod(fd, mode);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
}

/* A self-signed P-256 certificate for localhost and 127.0.0.1, plus its
 * key (0600), a 0644 copy of the key and an unrelated key. */
static void
make_cert(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	X509_NAME *name;
	FILE *f;

	assert_non_null(k);
	assert_non_null(k2);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);

	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", httpfix_tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", httpfix_tmpdir);
	snprintf(key_open_path, sizeof(key_open_path), "%s/key644.pem",
	    httpfix_tmpdir);
	snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem",
	    httpfix_tmpdir);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	write_key(key_path, k, 0600);
	write_key(key_open_path, k, 0644);
	write_key(other_key_path, k2, 0600);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static SSL *
tls_connect(struct httpfix_client *c, SSL_CTX *cctx, SSL_SESSION *sess)
{
	SSL *ssl = SSL_new(cctx);

	assert_non_null(ssl);
	SSL_set_fd(ssl, c->fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	if (sess != NULL)
		SSL_set_session(ssl, sess);
	c->ssl = ssl;
	return SSL_connect(ssl) == 1 ? ssl : NULL;
}

static void
test_tls(void **state)
{
	struct http_server *s;
	struct httpfix_client *c;
	SSL_CTX *ctx, *cctx;
	SSL_SESSION *sess;
	struct httpfix_reply r;
	struct error err;
	json_t *j;
	int p, i;

	(void)state;
	make_cert();
	ctx = tls_server_ctx(cert_path, key_path, NULL, &err);
	if (ctx == NULL)
		fail_msg("tls_server_ctx: %s", err.msg);
	s = httpfix_start(ctx, 2, 5, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_load_verify_locations(cctx, cert_path, NULL),
	    1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);

	c = httpfix_open(p);
	if (tls_connect(c, cctx, NULL) == NULL)
		fail_msg("TLS handshake failed: %lu", ERR_get_error());
	assert_int_equal(SSL_version(c->ssl), TLS1_3_VERSION);
	for (i = 0; i < 3; i++) {
		httpfix_sends(c, "POST /tls HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
		    "Cookie: kbs-session-id=t\r\n\r\nhi");
		assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
		j = httpfix_json(&r);
		assert_true(json_is_true(json_object_get(j, "tls")));
		assert_string_equal(httpfix_jstr(j, "body"), "hi");
		assert_string_equal(httpfix_jstr(j, "cookie"), "t");
		json_decref(j);
		httpfix_reply_free(&r);
	}
	/* A 413 over TLS is delivered before the close. */
	httpfix_sends(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	httpfix_reply_free(&r);
	assert_int_equal(httpfix_recv(c), 0);
	sess = SSL_get1_session(c->ssl);
	assert_non_null(sess);
	httpfix_close(c);

	/* Resumption from the server's session cache. */
	c = httpfix_open(p);
	assert_non_null(tls_connect(c, cctx, sess));
	httpfix_sends(c, "GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	assert_int_equal(SSL_session_reused(c->ssl), 1);
	SSL_SESSION_free(sess);
	httpfix_close(c);

	/* TLS 1.2 with the suites we allow; a CBC suite is refused. */
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	c = httpfix_open(p);
	assert_non_null(tls_connect(c, cctx, NULL));
	assert_string_equal(SSL_get_cipher_name(c->ssl),
	    "ECDHE-ECDSA-AES256-GCM-SHA384");
	httpfix_sends(c, "GET /12 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	httpfix_close(c);
	SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-SHA256");
	c = httpfix_open(p);
	assert_null(tls_connect(c, cctx, NULL));
	ERR_clear_error();
	httpfix_close(c);

	/* Plain HTTP to the TLS port gets nowhere. */
	c = httpfix_open(p);
	httpfix_sends(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(httpfix_recv(c) <= 0 || strncmp(c->buf, "HTTP/", 5) != 0);
	httpfix_close(c);

	http_server_stop(s);
	SSL_CTX_free(ctx);

	/* Minimum version 1.3 refuses a 1.2-only client. */
	ctx = tls_server_ctx(cert_path, key_path, "1.3", &err);
	assert_non_null(ctx);
	s = httpfix_start(ctx, 1, 5, &err);
	assert_non_null(s);
	SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
	c = httpfix_open(http_server_port(s, 0));
	assert_null(tls_connect(c, cctx, NULL));
	ERR_clear_error();
	httpfix_close(c);
	http_server_stop(s);
	SSL_CTX_free(ctx);
	SSL_CTX_free(cctx);
}

/* TLS records the server received (their headers), handshake included. */
static atomic_int records_in;

static void
count_records(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)buf;
	(void)len;
	(void)ssl;
	(void)arg;
	if (!write_p && content_type == SSL3_RT_HEADER)
		atomic_fetch_add(&records_in, 1);
}

/* One request through httpc; the number of TLS records it took. */
static int
httpc_records(struct httpc *c, const char *method, const char *body)
{
	struct httpc_response r;
	struct error err = { "" };
	json_t *j;
	int n;

	atomic_store(&records_in, 0);
	if (httpc_request(c, method, "/rec", NULL, body, body ?
	    strlen(body) : 0, &r, &err) != 0)
		fail_msg("%s /rec: %s", method, err.msg);
	n = atomic_load(&records_in);
	assert_int_equal(r.status, 200);
	j = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(httpfix_jstr(j, "method"), method);
	assert_string_equal(httpfix_jstr(j, "body"), body ? body : "");
	json_decref(j);
	httpc_response_clear(&r);
	return n;
}

/*
 * The client writes a small request (line, headers and body) as one TLS
 * record: evhttp queues the body apart from the headers, and each piece
 * would otherwise be a record of its own, costing the server two more
 * reads per request (the KBS's guests' requests are all small).
 */
static void
test_httpc_one_record(void **state)
{
	struct http_server *s;
	struct httpc *c;
	SSL_CTX *ctx;
	struct error err;
	char body[901], *url;

	(void)state;
	if (cert_path[0] == '\0')
		make_cert();
	ctx = tls_server_ctx(cert_path, key_path, NULL, &err);
	if (ctx == NULL)
		fail_msg("tls_server_ctx: %s", err.msg);
	SSL_CTX_set_msg_callback(ctx, count_records);
	s = httpfix_start(ctx, 1, 5, &err);
	assert_non_null(s);
	url = xasprintf("https://127.0.0.1:%d", http_server_port(s, 0));
	c = httpc_new(url, cert_path, 5, &err);
	if (c == NULL)
		fail_msg("httpc_new: %s", err.msg);
	/* The handshake's records, then one per request on the kept-alive
	 * connection. */
	assert_true(httpc_records(c, "GET", NULL) > 1);
	assert_int_equal(httpc_records(c, "GET", NULL), 1);
	assert_int_equal(httpc_records(c, "POST", "{\"a\":1}"), 1);
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	assert_int_equal(httpc_records(c, "POST", body), 1);
	assert_int_equal(httpc_records(c, "PUT", body), 1);
	httpc_free(c);
	free(url);
	http_server_stop(s);
	SSL_CTX_free(ctx);
}

static void
test_tls_errors(void **state)
{
	struct error err;
	char want[256];

	(void)state;
	if (cert_path[0] == '\0')
		make_cert();
	assert_null(tls_server_ctx(cert_path, key_open_path, NULL, &err));
	snprintf(want, sizeof(want), "%s: mode 0644 is too open; files "
	    "holding secrets must be 0600 or 0400", key_open_path);
	assert_string_equal(err.msg, want);

	assert_null(tls_server_ctx(cert_path, other_key_path, NULL, &err));
	assert_non_null(strstr(err.msg, "key does not match certificate"));
	assert_non_null(strstr(err.msg, other_key_path));

	assert_null(tls_server_ctx(cert_path, key_path, "1.1", &err));
	assert_string_equal(err.msg, "tls_min_version \"1.1\": must be "
	    "\"1.2\" or \"1.3\"");

	/* A key file given as the certificate: named, with the reason. */
	assert_null(tls_server_ctx(key_path, key_path, NULL, &err));
	assert_int_equal(strncmp(err.msg, key_path, strlen(key_path)), 0);
	assert_non_null(strstr(err.msg, "error:"));

	assert_null(tls_server_ctx("/nonexistent/cert.pem", key_path, NULL,
	    &err));
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
	assert_null(tls_server_ctx(cert_path, "/nonexistent/key.pem", NULL,
	    &err));
	assert_string_equal(err.msg, "/nonexistent/key.pem: No such file or "
	    "directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_httpc_one_record),
		cmocka_unit_test(test_tls_errors),
	};

	log_init("test_http_tls", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, httpfix_group_setup,
	    httpfix_group_teardown);
}
