/*
 * test_setup.c: the pieces behind `trusteed setup` and the systemd
 * integration that need no running daemon: the [sealer] table edit
 * (setup_conf.c), the sd_notify datagram (notify.c) received on a real
 * AF_UNIX socket (path and abstract), and tls_reload swapping the
 * certificate that new handshakes present (tls.c, over a socketpair with a
 * real OpenSSL client), and log lines with journal priorities when stderr
 * is the journal's stream (lib/log.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/test_setup_XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

/* ---------------------------------------------------------- setup_conf */

static const char conf[] =
    "# head\n"
    "[http_server]\n"
    "listen = [\"0.0.0.0:8080\"]\n"
    "\n"
    "[sealer]   # the sealer\n"
    "# What seals the master key.\n"
    "kind = \"tpm2\"\n"
    "#tpm2_pcrs = \"sha256:7\"\n"
    "  tpm2_tcti = \"device:/dev/tpmrm0\"\n"
    "\n"
    "[admin]\n"
    "mode = \"bearer_jwt\"\n";

static void
test_conf_replace(void **state)
{
	char *out;

	(void)state;
	out = setup_conf_set_table(conf, "sealer",
	    "kind = \"passphrase\"\npassphrase_credential = \"p\"\n");
	assert_string_equal(out,
	    "# head\n"
	    "[http_server]\n"
	    "listen = [\"0.0.0.0:8080\"]\n"
	    "\n"
	    "[sealer]   # the sealer\n"
	    "kind = \"passphrase\"\n"
	    "passphrase_credential = \"p\"\n"
	    "# What seals the master key.\n"
	    "#tpm2_pcrs = \"sha256:7\"\n"
	    "\n"
	    "[admin]\n"
	    "mode = \"bearer_jwt\"\n");
	free(out);
}

static void
test_conf_idempotent(void **state)
{
	char *once, *twice;

	(void)state;
	once = setup_conf_set_table(conf, "sealer", "kind = \"snp\"\n");
	twice = setup_conf_set_table(once, "sealer", "kind = \"snp\"\n");
	assert_string_equal(once, twice);
	free(once);
	free(twice);
}

static void
test_conf_append(void **state)
{
	char *out;

	(void)state;
	/* No [sealer] table, no final newline; [sealerx] is another table. */
	out = setup_conf_set_table("[sealerx]\nkind = 1", "sealer",
	    "kind = \"tpm2\"\n");
	assert_string_equal(out, "[sealerx]\nkind = 1\n\n[sealer]\n"
	    "kind = \"tpm2\"\n");
	free(out);
}

static void
test_conf_quote(void **state)
{
	struct buf b = { 0 };

	(void)state;
	setup_conf_quote(&b, "a\"b\\c\nd");
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\u000ad\"");
	buf_free(&b);
}

/* -------------------------------------------------------------- notify */

static int
bind_dgram(const char *path, int abstract)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (abstract) {
		memcpy(sa.sun_path + 1, path, strlen(path));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(path));
	} else {
		strcpy(sa.sun_path, path);
		len = sizeof(sa);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char got[600];
	ssize_t n;

	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void
test_notify(void **state)
{
	char *path = xasprintf("%s/notify", tmpdir), name[64], *env;
	int fd;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);	/* not under systemd */

	fd = bind_dgram(path, 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1\nSTATUS=serving on %d", 2), 0);
	expect_datagram(fd, "READY=1\nSTATUS=serving on 2");
	close(fd);

	snprintf(name, sizeof(name), "trustee-test-%ld", (long)getpid());
	fd = bind_dgram(name, 1);
	env = xasprintf("@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	assert_int_equal(notify_send("RELOADING=1"), 0);
	expect_datagram(fd, "RELOADING=1");
	close(fd);

	/* Nobody listening, or not a socket path: -1, and no crash. */
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
	free(env);
	free(path);
}

/* ---------------------------------------------------------- tls_reload */

struct hs {
	SSL_CTX *ctx;
	int fd;
};

static void *
server_side(void *arg)
{
	struct hs *h = arg;
	SSL *ssl = SSL_new(h->ctx);

	SSL_set_fd(ssl, h->fd);
	(void)SSL_accept(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	return NULL;
}

/* Handshake with the server context; the CN the server presented. */
static char *
presented_cn(SSL_CTX *sctx)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct hs h;
	pthread_t t;
	SSL *ssl;
	X509 *peer;
	char cn[128] = "";
	int sv[2];

	assert_non_null(cctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h.ctx = sctx;
	h.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, server_side, &h), 0);
	ssl = SSL_new(cctx);
	SSL_set_fd(ssl, sv[0]);
	assert_int_equal(SSL_connect(ssl), 1);
	peer = SSL_get1_peer_certificate(ssl);
	assert_non_null(peer);
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
	    cn, sizeof(cn));
	X509_free(peer);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	SSL_CTX_free(cctx);
	return xstrdup(cn);
}

static void
test_tls_reload(void **state)
{
	char *cert = xasprintf("%s/cert.pem", tmpdir);
	char *key = xasprintf("%s/key.pem", tmpdir);
	char *cert2 = xasprintf("%s/cert2.pem", tmpdir);
	char *key2 = xasprintf("%s/key2.pem", tmpdir);
	struct error err;
	SSL_CTX *ctx;
	char *cn;

	(void)state;
	assert_int_equal(certgen_self_signed(cert, key, "first.example",
	    "DNS:first.example", "test", 1, &err), 0);
	assert_int_equal(certgen_self_signed(cert2, key2, "second.example",
	    "DNS:second.example", "test", 1, &err), 0);
	/* Never overwritten. */
	assert_int_equal(certgen_self_signed(cert, key, "x", "DNS:x", "t", 1,
	    &err), -1);
	assert_non_null(strstr(err.msg, "refusing to overwrite"));
	ctx = tls_server_ctx(cert, key, NULL, &err);
	assert_non_null(ctx);
	cn = presented_cn(ctx);
	assert_string_equal(cn, "first.example");
	free(cn);

	/* A renewed pair in the same files: new handshakes present it. */
	assert_int_equal(rename(cert2, cert), 0);
	assert_int_equal(rename(key2, key), 0);
	assert_int_equal(tls_reload(ctx, &err), 0);
	cn = presented_cn(ctx);
	assert_string_equal(cn, "second.example");
	free(cn);

	/* A key that does not match: refused, the current pair stays. */
	unlink(key);
	assert_int_equal(certgen_self_signed(cert2, key, "third.example",
	    "DNS:third.example", "test", 1, &err), 0);
	assert_int_equal(tls_reload(ctx, &err), -1);
	assert_non_null(strstr(err.msg, "key does not match certificate"));
	cn = presented_cn(ctx);
	assert_string_equal(cn, "second.example");
	free(cn);

	SSL_CTX_free(ctx);
	free(cert);
	free(key);
	free(cert2);
	free(key2);
}

/* ----------------------------------------------------------------- log */

static void
test_log_journal(void **state)
{
	char *path = xasprintf("%s/journal", tmpdir), env[64], buf[256];
	struct stat sb;
	int fd, saved;
	FILE *f;
	size_t n;

	(void)state;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino);
	dup2(fd, STDERR_FILENO);
	close(fd);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("test", LOG_LVL_DEBUG);
	log_warnx("sealer %s", "refused");
	log_info("started");
	log_debug("detail");
	errno = ENOENT;
	log_warn("open x");
	fflush(stderr);
	/* Not the journal's stream: the usual timestamped lines. */
	setenv("JOURNAL_STREAM", "1:2", 1);
	log_init("test", LOG_LVL_INFO);
	log_info("plain");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init("test", LOG_LVL_INFO);

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "<4>sealer refused\n<6>started\n<7>detail\n"
	    "<4>open x: No such file or directory\n"));
	assert_non_null(strstr(buf, " test[info]: plain\n"));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_replace),
		cmocka_unit_test(test_conf_idempotent),
		cmocka_unit_test(test_conf_append),
		cmocka_unit_test(test_conf_quote),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_tls_reload),
		cmocka_unit_test(test_log_journal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
