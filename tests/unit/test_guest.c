/*
 * test_guest.c: the client side. Pure parts against known answers (URL
 * parsing, cookies, hash negotiation, the guest-client.md §2.5 runtime
 * data vector, problem rendering); httpc and the whole guest protocol
 * against a small in-process HTTP/1.1 server on 127.0.0.1 (keep-alive,
 * reconnect, cookies vs Bearer, timeouts); admin tokens and keygen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../lib/admintoken.h"
#include "../../lib/b64.h"
#include "../../lib/guest.h"
#include "../../lib/guest_internal.h"
#include "../../lib/hash.h"
#include "../../lib/httpc.h"
#include "../../lib/jwe.h"
#include "../../lib/jws.h"
#include "../../lib/util.h"

#define GUEST_X "Z4DF_HAnXixwYaDnh3uxdN6t65iHAn8_qDZUFYun9Qw"
#define GUEST_Y "PLqMNLw10g6B9zCsHHvW1mGpQvkMapylXFEvnkoAEmY"
#define ZERO_NONCE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define SECRET_TEXT "top secret \x01\x02 bytes"

/* ---- URL parsing ---------------------------------------------------- */

static void
url_ok(const char *url, int https, const char *host, int is_ip, int port,
    const char *prefix)
{
	struct httpc_url u;
	struct error err = { "" };

	if (httpc_url_parse(url, &u, &err) != 0)
		fail_msg("%s: %s", url, err.msg);
	assert_int_equal(u.https, https);
	assert_string_equal(u.host, host);
	assert_int_equal(u.host_is_ip, is_ip);
	assert_int_equal(u.port, port);
	assert_string_equal(u.prefix, prefix);
	httpc_url_clear(&u);
}

static void
url_bad(const char *url, const char *why)
{
	struct httpc_url u;
	struct error err = { "" };

	assert_int_equal(httpc_url_parse(url, &u, &err), -1);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: error '%s' lacks '%s'", url, err.msg, why);
	assert_null(u.host);
	assert_null(u.prefix);
}

static void
test_url_parse(void **state)
{
	(void)state;
	url_ok("https://127.0.0.1:8080", 1, "127.0.0.1", 1, 8080, "");
	url_ok("https://localhost", 1, "localhost", 0, 443, "");
	url_ok("http://kbs.example:80/", 0, "kbs.example", 0, 80, "");
	url_ok("HTTP://kbs.example", 0, "kbs.example", 0, 80, "");
	url_ok("https://[::1]:8443/pre/fix//", 1, "::1", 1, 8443, "/pre/fix");
	url_ok("https://[2001:db8::7]", 1, "2001:db8::7", 1, 443, "");
	url_ok("http://10.0.0.1/kbs", 0, "10.0.0.1", 1, 80, "/kbs");
	url_ok("http://h:65535", 0, "h", 0, 65535, "");

	url_bad("ftp://h", "must start with http:// or https://");
	url_bad("127.0.0.1:8080", "must start with");
	url_bad("https://", "empty host");
	url_bad("https://:8080", "empty host");
	url_bad("https://h:0", "bad port");
	url_bad("https://h:65536", "bad port");
	url_bad("https://h:80x", "bad port");
	url_bad("https://h:", "bad port");
	url_bad("https://::1:8080", "IPv6 addresses go in [ ]");
	url_bad("https://[::1", "missing ']'");
	url_bad("https://[nothex]:1", "bad IPv6 address");
	url_bad("https://[::1]x:1", "bad port");
	url_bad("https://u:p@h", "user information");
	url_bad("https://h/a?b=c", "query or fragment");
	url_bad("https://h#frag", "query or fragment");
	url_bad("https://h /x", "space, control");
	url_bad("https://h\r\nX: y", "space, control");
}

static void
test_cookie_header(void **state)
{
	char *c;

	(void)state;
	c = httpc_cookie_from_header("kbs-session-id=0123abcd; Expires=Wed, "
	    "21 Oct 2099 07:28:00 GMT; Path=/kbs/v0; HttpOnly; Secure");
	assert_string_equal(c, "kbs-session-id=0123abcd");
	free(c);
	c = httpc_cookie_from_header("  sid=abc123 ; Path=/");
	assert_string_equal(c, "sid=abc123");
	free(c);
	c = httpc_cookie_from_header("a=");
	assert_string_equal(c, "a=");
	free(c);
	assert_null(httpc_cookie_from_header("=value; Path=/"));
	assert_null(httpc_cookie_from_header("novalue; Path=/"));
	assert_null(httpc_cookie_from_header(""));
	assert_null(httpc_cookie_from_header("a=b\x01"));
}

/* ---- hash negotiation and the runtime-data vector ---------------------- */

static enum hash_alg
hash_from(const char *extra_json, int want_rc, const char *want_err)
{
	struct error err = { "" };
	enum hash_alg a = HASH_SM3;
	json_t *j = json_loads(extra_json, JSON_DECODE_ANY, NULL);
	int rc;

	assert_non_null(j);
	rc = guest_hash_from_challenge(j, &a, &err);
	json_decref(j);
	assert_int_equal(rc, want_rc);
	if (want_err != NULL && strstr(err.msg, want_err) == NULL)
		fail_msg("%s: error '%s' lacks '%s'", extra_json, err.msg,
		    want_err);
	return a;
}

static void
test_hash_negotiation(void **state)
{
	(void)state;
	/* Trustee sends "" (not an object): SHA-384. */
	assert_int_equal(hash_from("\"\"", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("null", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("{}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from("{\"other\":1}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"sha384\"}", 0, NULL), HASH_SHA384);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"SHA512\"}", 0, NULL), HASH_SHA512);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"sha256\"}", 0, NULL), HASH_SHA256);
	assert_int_equal(hash_from(
	    "{\"selected-hash-algorithm\":\"Sm3\"}", 0, NULL), HASH_SM3);
	hash_from("{\"selected-hash-algorithm\":\"md5\"}", -1,
	    "unknown algorithm 'md5'");
	hash_from("{\"selected-hash-algorithm\":384}", -1, "not a string");
	hash_from("{\"selected-hash-algorithm\":\"sha384-and-more\"}", -1,
	    "unknown algorithm");
}

static json_t *
vector_jwk(void)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
	    "crv", "P-256", "alg", "ECDH-ES+A256KW", "x", GUEST_X,
	    "y", GUEST_Y);

	assert_non_null(j);
	return j;
}

static void
digest_is(enum hash_alg a, const char *want_b64)
{
	struct error err = { "" };
	uint8_t d[HASH_MAX_SIZE];
	size_t n = 0;
	json_t *jwk = vector_jwk();
	char *got;

	if (guest_runtime_digest(jwk, ZERO_NONCE, a, d, &n, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, hash_alg_size(a));
	got = b64_encode(d, n, B64_STD);
	assert_string_equal(got, want_b64);
	free(got);
	json_decref(jwk);
}

/* guest-client.md §2.5: P-256 key d=42, nonce = 32 zero bytes. */
static void
test_runtime_digest_vector(void **state)
{
	(void)state;
	digest_is(HASH_SHA384,
	    "BMZlsnt4uYlvp5m5q4yyxWQvbgLSsbeVPXCjTgvPiiJwuQtlzgn2RjJpiImB+xul");
	digest_is(HASH_SHA256, "zLHRjBF4jBYAh3uBOe1LfUmsIeAKXrY2y6Ii47APXt0=");
	digest_is(HASH_SHA512, "sU7pB20p/ubSl74hGsL2ayHqr7GWtRWEwKkbVVW2xtpjU8"
	    "jrvHpjTu0JC+TSLVbpIAlyPtpJGRQtIb+al3NgKQ==");
}

/* The JWK member order must not matter (JCS sorts). */
static void
test_runtime_digest_order(void **state)
{
	struct error err = { "" };
	uint8_t a[HASH_MAX_SIZE], b[HASH_MAX_SIZE];
	size_t na, nb;
	json_t *j1 = vector_jwk();
	json_t *j2 = json_pack("{s:s, s:s, s:s, s:s, s:s}", "y", GUEST_Y,
	    "x", GUEST_X, "kty", "EC", "alg", "ECDH-ES+A256KW", "crv", "P-256");

	(void)state;
	assert_int_equal(guest_runtime_digest(j1, ZERO_NONCE, HASH_SHA384, a,
	    &na, &err), 0);
	assert_int_equal(guest_runtime_digest(j2, ZERO_NONCE, HASH_SHA384, b,
	    &nb, &err), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	/* A different nonce gives a different digest. */
	assert_int_equal(guest_runtime_digest(j1, "AQ==", HASH_SHA384, b,
	    &nb, &err), 0);
	assert_memory_not_equal(a, b, na);
	json_decref(j1);
	json_decref(j2);
}

/* ---- problem rendering --------------------------------------------- */

static void
problem_is(int status, const char *body, size_t len, const char *want)
{
	struct httpc_response r = { 0 };
	struct error err = { "" };

	r.status = status;
	buf_add(&r.body, body, len);
	buf_cstr(&r.body);
	assert_int_equal(guest_problem("GET /kbs/v0/resource/a/b/c", &r,
	    &err), -1);
	assert_string_equal(err.msg, want);
	httpc_response_clear(&r);
}

static void
test_problem_render(void **state)
{
	static const char p1[] = "{\"type\":\"https://github.com/"
	    "confidential-containers/kbs/errors/PluginInternalError\","
	    "\"detail\":\"resource a/b/c not found\"}";
	static const char p2[] = "{\"type\":\"PolicyDeny\",\"detail\":"
	    "\"line\\nbreak\"}";
	static const char p3[] = "{\"type\":\"x/TokenNotFound\"}";
	static const char bin[] = "oops\x01\xff";
	char big[600], want[400];

	(void)state;
	problem_is(401, p1, sizeof(p1) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401 PluginInternalError: resource a/b/c not found");
	problem_is(401, p2, sizeof(p2) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401 PolicyDeny: line\\x0abreak");
	/* JSON, but not a problem: quoted as text. */
	problem_is(401, p3, sizeof(p3) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "401: {\"type\":\"x/TokenNotFound\"}");
	problem_is(500, bin, sizeof(bin) - 1, "GET /kbs/v0/resource/a/b/c: "
	    "500: oops\\x01\\xff");
	problem_is(404, "", 0, "GET /kbs/v0/resource/a/b/c: 404 (empty "
	    "response body)");
	/* A long non-JSON body is cut at 200 bytes. */
	memset(big, 'A', sizeof(big));
	snprintf(want, sizeof(want), "GET /kbs/v0/resource/a/b/c: 502: "
	    "%.200s...", big);
	problem_is(502, big, sizeof(big), want);
	/* An embedded NUL does not end the quote early. */
	problem_is(500, "a\0b", 3, "GET /kbs/v0/resource/a/b/c: 500: "
	    "a\\x00b");
}

/* ---- an in-process HTTP/1.1 server ------------------------------------ */

struct srv {
	int lfd;
	int port;
	pthread_t th;
	volatile int stop;
	int nconn;		/* connections accepted */
	int nreq;
	char sel[16];		/* selected-hash-algorithm, "" for none */
	char last_req[4096];	/* head of the last request */
	json_t *tpk;		/* tee-pubkey of the last good /attest */
	char token[256];
	int attest_ok;
};

static const char *
hdr_get(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

static void
srv_send(int fd, int status, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: "
	    "%zu\r\n%s\r\n", status, len, extra != NULL ? extra : "");
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n || (len > 0 &&
	    send(fd, body, len, MSG_NOSIGNAL) != (ssize_t)len))
		return;
}

static void
srv_problem(int fd, int status, const char *type, const char *detail)
{
	char *b = xasprintf("{\"type\":\"https://github.com/confidential-"
	    "containers/kbs/errors/%s\",\"detail\":\"%s\"}", type, detail);

	srv_send(fd, status, "Content-Type: application/json\r\n", b,
	    strlen(b));
	free(b);
}

/* The mock KBS: checks what guest.c sends exactly as trusteed would. */
static void
srv_attest(struct srv *s, int fd, const char *body, size_t len)
{
	json_t *a = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *rd, *ev, *pe, *tpk, *initd;
	struct error err = { "" };
	enum hash_alg alg = HASH_SHA384;
	uint8_t d[HASH_MAX_SIZE];
	size_t n;
	char *b64, *payload, *claims;
	const char *nonce;

	if (s->sel[0] != '\0') {
		char lc[sizeof(s->sel)];
		size_t i;

		for (i = 0; i < sizeof(lc); i++)
			lc[i] = (char)tolower((unsigned char)s->sel[i]);
		hash_alg_from_name(lc, &alg);
	}
	rd = json_object_get(a, "runtime-data");
	ev = json_object_get(a, "tee-evidence");
	pe = json_object_get(ev, "primary_evidence");
	tpk = json_object_get(rd, "tee-pubkey");
	initd = json_object_get(a, "init-data");
	nonce = json_string_value(json_object_get(rd, "nonce"));
	if (a == NULL || json_object_size(a) != 3 || initd == NULL ||
	    nonce == NULL || strcmp(nonce, ZERO_NONCE) != 0 || tpk == NULL ||
	    json_object_size(ev) != 2 ||
	    !json_is_string(json_object_get(ev, "additional_evidence")) ||
	    strcmp(json_string_value(json_object_get(ev,
	    "additional_evidence")), "") != 0 ||
	    strcmp(json_string_value(json_object_get(pe, "svn")), "1") != 0) {
		srv_problem(fd, 401, "AttestationError", "malformed body");
		goto out;
	}
	if (!json_is_null(initd) && (strcmp(json_string_value(
	    json_object_get(initd, "format")), "toml") != 0 ||
	    strcmp(json_string_value(json_object_get(initd, "body")),
	    "version = \"0.1.0\"\n") != 0)) {
		srv_problem(fd, 401, "AttestationError", "bad init-data");
		goto out;
	}
	guest_runtime_digest(tpk, nonce, alg, d, &n, &err);
	b64 = b64_encode(d, n, B64_STD);
	if (strcmp(b64, json_string_value(json_object_get(pe,
	    "report_data"))) != 0) {
		free(b64);
		srv_problem(fd, 401, "AttestationError", "report data mismatch");
		goto out;
	}
	free(b64);
	json_decref(s->tpk);
	s->tpk = json_incref(tpk);
	claims = xasprintf("{\"iat\":1,\"exp\":4000000000,\"init\":%s}",
	    json_is_null(initd) ? "false" : "true");
	payload = b64_encode(claims, strlen(claims), B64_URL_NOPAD);
	snprintf(s->token, sizeof(s->token), "eyJhbGciOiJub25lIn0.%s.c2ln",
	    payload);
	free(payload);
	free(claims);
	s->attest_ok++;
	b64 = xasprintf("{\"token\":\"%s\"}", s->token);
	srv_send(fd, 200, "Set-Cookie: kbs-session-id=feedface; Path=/kbs/v0\r\n",
	    b64, strlen(b64));
	free(b64);
out:
	json_decref(a);
}

static void
srv_resource(struct srv *s, int fd, const char *head)
{
	char v[512], *jwe;
	struct error err = { "" };

	if (hdr_get(head, "Authorization", v, sizeof(v)) != NULL) {
		char want[300];

		if (hdr_get(head, "Cookie", want, sizeof(want)) != NULL) {
			srv_problem(fd, 400, "BadRequest", "cookie in bearer "
			    "mode");
			return;
		}
		snprintf(want, sizeof(want), "Bearer %s", s->token);
		if (strcmp(v, want) != 0) {
			srv_problem(fd, 401, "TokenVerifierError", "bad token");
			return;
		}
	} else if (hdr_get(head, "Cookie", v, sizeof(v)) == NULL ||
	    strcmp(v, "kbs-session-id=feedface") != 0) {
		srv_problem(fd, 401, "TokenNotFound", "no token");
		return;
	}
	if (strncmp(head, "GET /kbs/v0/resource/a/b/c ", 27) != 0) {
		srv_problem(fd, 401, "PluginInternalError", "resource not found");
		return;
	}
	jwe = jwe_encrypt(s->tpk, (const uint8_t *)SECRET_TEXT,
	    sizeof(SECRET_TEXT) - 1, &err);
	if (jwe == NULL) {
		srv_problem(fd, 500, "JweError", "encrypt");
		return;
	}
	srv_send(fd, 200, "Content-Type: application/json\r\n", jwe,
	    strlen(jwe));
	free(jwe);
}

/* Serve one request; returns 0 to keep the connection, -1 to close. */
static int
srv_one(struct srv *s, int fd)
{
	char buf[65536], v[64];
	size_t len = 0, clen = 0, hlen;
	char *end;
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			hlen = (size_t)(end - buf) + 4;
			if (hdr_get(buf, "Content-Length", v, sizeof(v)))
				clen = (size_t)strtoul(v, NULL, 10);
			if (len >= hlen + clen)
				break;
		}
		if (s->stop || len == sizeof(buf) - 1)
			return -1;
		if (poll(&p, 1, 100) != 1)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	*end = '\0';
	s->nreq++;
	snprintf(s->last_req, sizeof(s->last_req), "%s\r\n", buf);
	if (strncmp(buf, "GET /echo ", 10) == 0 ||
	    strncmp(buf, "POST /echo ", 11) == 0) {
		srv_send(fd, 200, "Content-Type: text/plain\r\n", end + 4, clen);
	} else if (strncmp(buf, "GET /setcookie ", 15) == 0) {
		srv_send(fd, 200, "Set-Cookie:  sid=abc123 ; Path=/\r\n", "{}",
		    2);
	} else if (strncmp(buf, "GET /closeafter ", 16) == 0) {
		/* Close after answering, without saying so: the client
		 * only notices on its next request. */
		srv_send(fd, 200, NULL, "bye", 3);
		return -1;
	} else if (strncmp(buf, "GET /slow ", 10) == 0) {
		sleep(2);
		srv_send(fd, 200, NULL, "late", 4);
	} else if (strncmp(buf, "POST /kbs/v0/auth ", 18) == 0) {
		static const char want[] = "{\"version\":\"0.4.0\",\"tee\":"
		    "\"sample\",\"extra-params\":{\"supported-hash-algorithms\":"
		    "[\"sha256\",\"sha384\",\"sha512\",\"sm3\"]}}";
		char *b;

		if (clen != sizeof(want) - 1 || memcmp(end + 4, want, clen)) {
			srv_problem(fd, 401, "AttestationError", "bad request");
			return 0;
		}
		if (s->sel[0] != '\0')
			b = xasprintf("{\"nonce\":\"%s\",\"extra-params\":"
			    "{\"selected-hash-algorithm\":\"%s\"}}", ZERO_NONCE,
			    s->sel);
		else
			b = xasprintf("{\"nonce\":\"%s\",\"extra-params\":\"\"}",
			    ZERO_NONCE);
		srv_send(fd, 200, "Set-Cookie: kbs-session-id=feedface; "
		    "Expires=Wed, 21 Oct 2099 07:28:00 GMT; Path=/kbs/v0; "
		    "HttpOnly; SameSite=Strict\r\nContent-Type: "
		    "application/json\r\n", b, strlen(b));
		free(b);
	} else if (strncmp(buf, "POST /kbs/v0/attest ", 20) == 0) {
		if (hdr_get(buf, "Cookie", v, sizeof(v)) == NULL ||
		    strcmp(v, "kbs-session-id=feedface") != 0)
			srv_problem(fd, 401, "AttestationError", "no session");
		else
			srv_attest(s, fd, end + 4, clen);
	} else if (strncmp(buf, "GET /kbs/v0/resource/", 21) == 0) {
		srv_resource(s, fd, buf);
	} else
		srv_problem(fd, 404, "PluginNotFound", "no such plugin");
	/* Drop what was served (pipelining is not used by the client). */
	return 0;
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 100) != 1)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd == -1)
			continue;
		s->nconn++;
		while (!s->stop && srv_one(s, fd) == 0)
			;
		close(fd);
	}
	return NULL;
}

static int
listen_any(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
srv_setup(void **state)
{
	struct srv *s = xcalloc(1, sizeof(*s));

	s->lfd = listen_any(&s->port);
	if (pthread_create(&s->th, NULL, srv_main, s) != 0)
		return -1;
	*state = s;
	return 0;
}

static int
srv_teardown(void **state)
{
	struct srv *s = *state;

	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->lfd);
	json_decref(s->tpk);
	free(s);
	return 0;
}

static struct httpc *
client(struct srv *s, const char *prefix, int timeout)
{
	struct error err = { "" };
	char *url = xasprintf("http://127.0.0.1:%d%s", s->port, prefix);
	struct httpc *c = httpc_new(url, NULL, timeout, &err);

	if (c == NULL)
		fail_msg("httpc_new %s: %s", url, err.msg);
	free(url);
	return c;
}

static void
get_ok(struct httpc *c, const char *path, int status, const char *body)
{
	struct httpc_response r;
	struct error err = { "" };

	if (httpc_request(c, "GET", path, NULL, NULL, 0, &r, &err) != 0)
		fail_msg("GET %s: %s", path, err.msg);
	assert_int_equal(r.status, status);
	if (body != NULL)
		assert_string_equal(buf_cstr(&r.body), body);
	httpc_response_clear(&r);
}

static void
test_httpc_keepalive_cookies(void **state)
{
	struct srv *s = *state;
	struct httpc *c = client(s, "", 5);
	struct httpc_response r;
	struct error err = { "" };
	const char *hdrs[] = { "X-Test:  yes", NULL };
	char v[128];

	get_ok(c, "/echo", 200, "");
	assert_non_null(hdr_get(s->last_req, "Host", v, sizeof(v)));
	snprintf(err.msg, sizeof(err.msg), "127.0.0.1:%d", s->port);
	assert_string_equal(v, err.msg);
	assert_null(hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	get_ok(c, "/setcookie", 200, "{}");
	get_ok(c, "echo", 200, "");	/* a leading '/' is added */
	assert_non_null(hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	assert_string_equal(v, "sid=abc123");
	/* Disabled: neither sent nor stored; the jar survives. */
	httpc_set_cookies(c, 0);
	assert_int_equal(httpc_cookies_enabled(c), 0);
	get_ok(c, "/echo", 200, "");
	assert_null(hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	httpc_set_cookies(c, 1);
	get_ok(c, "/echo", 200, "");
	assert_non_null(hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	httpc_clear_cookies(c);
	get_ok(c, "/echo", 200, "");
	assert_null(hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	/* Everything so far on one kept-alive connection. */
	assert_int_equal(s->nconn, 1);

	/* POST: body and exact Content-Length, caller headers. */
	assert_int_equal(httpc_request(c, "POST", "/echo", hdrs, "a\0c", 3,
	    &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 3);
	assert_memory_equal(r.body.data, "a\0c", 3);
	assert_non_null(hdr_get(s->last_req, "Content-Length", v, sizeof(v)));
	assert_string_equal(v, "3");
	assert_non_null(hdr_get(s->last_req, "X-Test", v, sizeof(v)));
	assert_string_equal(v, "yes");
	assert_string_equal(r.content_type, "text/plain");
	httpc_response_clear(&r);
	/* An empty POST still says Content-Length: 0. */
	assert_int_equal(httpc_request(c, "POST", "/echo", NULL, NULL, 0,
	    &r, &err), 0);
	assert_non_null(hdr_get(s->last_req, "Content-Length", v, sizeof(v)));
	assert_string_equal(v, "0");
	httpc_response_clear(&r);
	assert_int_equal(s->nconn, 1);

	/* The server drops the connection after answering: the next
	 * request fails on the dead socket and is retried once, fresh. */
	get_ok(c, "/closeafter", 200, "bye");
	get_ok(c, "/echo", 200, "");
	assert_int_equal(s->nconn, 2);
	get_ok(c, "/nosuch", 404, NULL);

	assert_int_equal(httpc_request(c, "BREW", "/echo", NULL, NULL, 0, &r,
	    &err), -1);
	assert_non_null(strstr(err.msg, "unsupported HTTP method"));
	assert_int_equal(httpc_request(c, "GET", "/echo", (const char *[]){
	    "no colon", NULL }, NULL, 0, &r, &err), -1);
	assert_non_null(strstr(err.msg, "bad request header"));
	httpc_free(c);
}

static void
test_httpc_prefix_timeout(void **state)
{
	struct srv *s = *state;
	struct httpc *c = client(s, "/pfx/", 1);
	struct httpc_response r;
	struct error err = { "" };

	get_ok(c, "/kbs/v0/x", 404, NULL);
	assert_memory_equal(s->last_req, "GET /pfx/kbs/v0/x HTTP/1.1\r\n", 28);
	httpc_free(c);
	c = client(s, "", 1);
	assert_int_equal(httpc_request(c, "GET", "/slow", NULL, NULL, 0, &r,
	    &err), -1);
	assert_non_null(strstr(err.msg, "no response within 1 s"));
	httpc_free(c);
	httpc_free(NULL);
	httpc_response_clear(NULL);
}

static void
test_httpc_refused(void **state)
{
	struct httpc_response r;
	struct error err = { "" };
	struct httpc *c;
	char *url;
	int port, fd;

	(void)state;
	fd = listen_any(&port);
	close(fd);	/* nothing listens there now */
	url = xasprintf("http://127.0.0.1:%d", port);
	c = httpc_new(url, NULL, 5, &err);
	assert_non_null(c);
	assert_int_equal(httpc_request(c, "GET", "/", NULL, NULL, 0, &r,
	    &err), -1);
	free(url);
	url = xasprintf("http://127.0.0.1:%d: connection refused", port);
	assert_string_equal(err.msg, url);
	free(url);
	httpc_free(c);

	assert_null(httpc_new("https://127.0.0.1:1", "/nonexistent/ca.pem", 5,
	    &err));
	assert_string_equal(err.msg, "CA file /nonexistent/ca.pem: No such "
	    "file or directory");
}

/* ---- the guest protocol end to end ------------------------------------- */

static void
guest_round(struct srv *s, enum guest_key_alg alg, const char *sel,
    int bearer, const char *init)
{
	struct error err = { "" };
	struct httpc *c = client(s, "", 5);
	struct guest *g = guest_new(alg, &err);
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int before = s->attest_ok;

	assert_non_null(g);
	snprintf(s->sel, sizeof(s->sel), "%s", sel);
	assert_null(guest_token(g));
	if (guest_attest(g, c, "sample", init, init ? strlen(init) : 0,
	    &err) != 0)
		fail_msg("guest_attest: %s", err.msg);
	assert_int_equal(s->attest_ok, before + 1);
	assert_string_equal(guest_token(g), s->token);
	if (guest_get(g, c, "resource/a/b/c", bearer, &pt, &ptlen, &err) != 0)
		fail_msg("guest_get: %s", err.msg);
	assert_int_equal(ptlen, sizeof(SECRET_TEXT) - 1);
	assert_memory_equal(pt, SECRET_TEXT, ptlen);
	secret_free(pt, ptlen);
	/* Bearer mode leaves the cookie setting as it was. */
	assert_int_equal(httpc_cookies_enabled(c), 1);

	/* Not found: the problem is rendered, nothing returned. */
	assert_int_equal(guest_get(g, c, "resource/a/b/x", bearer, &pt, &ptlen,
	    &err), -1);
	assert_null(pt);
	assert_string_equal(err.msg, "GET /kbs/v0/resource/a/b/x: 401 "
	    "PluginInternalError: resource not found");
	guest_free(g);
	httpc_free(c);
}

static void
test_guest_flow(void **state)
{
	struct srv *s = *state;

	guest_round(s, GUEST_KEY_P256, "", 0, NULL);
	guest_round(s, GUEST_KEY_P256, "sha512", 1, "version = \"0.1.0\"\n");
	guest_round(s, GUEST_KEY_P521, "SHA256", 1, NULL);
	guest_round(s, GUEST_KEY_RSA_OAEP256, "sha384", 0, NULL);
	guest_round(s, GUEST_KEY_RSA1_5, "", 1, NULL);
	guest_free(NULL);
}

static void
test_guest_errors(void **state)
{
	struct srv *s = *state;
	struct error err = { "" };
	struct httpc *c = client(s, "", 5);
	struct guest *g = guest_new(GUEST_KEY_P256, &err);
	uint8_t *pt;
	size_t ptlen;

	assert_non_null(g);
	s->sel[0] = '\0';
	/* No token yet: bearer mode refuses before sending. */
	assert_int_equal(guest_get(g, c, "resource/a/b/c", 1, &pt, &ptlen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "no attestation token"));
	/* No session cookie: the server's 401 problem comes through. */
	assert_int_equal(guest_get(g, c, "/resource/a/b/c", 0, &pt, &ptlen,
	    &err), -1);
	assert_string_equal(err.msg, "GET /kbs/v0/resource/a/b/c: 401 "
	    "TokenNotFound: no token");
	/* A server picking a hash the client does not know. */
	snprintf(s->sel, sizeof(s->sel), "md5");
	assert_int_equal(guest_attest(g, c, "sample", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "POST /kbs/v0/auth: challenge: "
	    "extra-params.selected-hash-algorithm: unknown algorithm 'md5'");
	s->sel[0] = '\0';
	/* A tee the mock does not expect: its /auth refusal is shown. */
	assert_int_equal(guest_attest(g, c, "tdx", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "POST /kbs/v0/auth: 401 "
	    "AttestationError: bad request");
	/* init-data must be text. */
	assert_int_equal(guest_attest(g, c, "sample", "\xff\xfe", 2, &err), -1);
	assert_string_equal(err.msg, "init-data: not valid UTF-8 text");
	assert_null(guest_token(g));
	guest_free(g);
	httpc_free(c);
}

/* ---- admin tokens ------------------------------------------------------ */

static void
test_admintoken(void **state)
{
	char dir[] = "/tmp/test_guest.XXXXXX", *key, *pub, *tok;
	struct error err = { "" };
	struct jws *j;
	struct stat st;
	EVP_PKEY *pk;
	FILE *f;
	int64_t iat, exp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	key = xasprintf("%s/admin.pem", dir);
	pub = xasprintf("%s/admin.pem.pub", dir);
	assert_int_equal(admintoken_keygen(key, NULL, &err), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Never overwrites. */
	assert_int_equal(admintoken_keygen(key, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));

	tok = admintoken_make(key, "admin", 300, &err);
	if (tok == NULL)
		fail_msg("admintoken_make: %s", err.msg);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_string_equal(j->alg, "EdDSA");
	assert_string_equal(json_string_value(json_object_get(j->header,
	    "typ")), "JWT");
	assert_int_equal(json_object_size(j->header), 2);
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "role")), "admin");
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "iss")), "trusteectl");
	assert_string_equal(json_string_value(json_object_get(j->payload,
	    "sub")), "admin");
	assert_true(json_is_integer(json_object_get(j->payload, "iat")));
	assert_true(json_is_integer(json_object_get(j->payload, "exp")));
	iat = json_integer_value(json_object_get(j->payload, "iat"));
	exp = json_integer_value(json_object_get(j->payload, "exp"));
	assert_int_equal(exp - iat, 300);
	assert_true(iat <= now_unix() && iat >= now_unix() - 5);
	f = fopen(pub, "r");
	assert_non_null(f);
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pk);
	assert_int_equal(jws_verify(j, pk, &err), 0);
	EVP_PKEY_free(pk);
	jws_free(j);
	free(tok);

	/* A readable key file is refused. */
	assert_int_equal(chmod(key, 0640), 0);
	assert_null(admintoken_make(key, "admin", 300, &err));
	assert_non_null(strstr(err.msg, "too open"));
	assert_int_equal(chmod(key, 0600), 0);
	/* Not a key. */
	assert_null(admintoken_make(pub, "admin", 300, &err));
	unlink(key);
	unlink(pub);
	assert_null(admintoken_make(key, "admin", 300, &err));
	assert_non_null(strstr(err.msg, "No such file"));
	rmdir(dir);
	free(key);
	free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_cookie_header),
		cmocka_unit_test(test_hash_negotiation),
		cmocka_unit_test(test_runtime_digest_vector),
		cmocka_unit_test(test_runtime_digest_order),
		cmocka_unit_test(test_problem_render),
		cmocka_unit_test_setup_teardown(test_httpc_keepalive_cookies,
		    srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_httpc_prefix_timeout,
		    srv_setup, srv_teardown),
		cmocka_unit_test(test_httpc_refused),
		cmocka_unit_test_setup_teardown(test_guest_flow, srv_setup,
		    srv_teardown),
		cmocka_unit_test_setup_teardown(test_guest_errors, srv_setup,
		    srv_teardown),
		cmocka_unit_test(test_admintoken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
