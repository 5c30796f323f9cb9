/*
 * httpfix.h: the fixture of the HTTP front-end unit tests (test_http_*.c):
 * an echo handler behind a server on 127.0.0.1, and a small blocking
 * client (plain or TLS) that sends raw bytes and reads replies.
 * Header-only; include after <cmocka.h>. Every helper fails the running
 * test on error.
 *
 * - httpfix_group_setup (the cmocka group setup) ignores SIGPIPE, makes
 *   the scratch directory httpfix_tmpdir and starts the shared server
 *   (two workers, 5 s timeouts) on httpfix_port; httpfix_group_teardown
 *   stops it and removes the directory;
 * - httpfix_start starts another server with the same handler and limits
 *   (HTTPFIX_MAX_BODY, HTTPFIX_MAX_HEADER);
 * - the echo handler answers a JSON copy of the request (method, path,
 *   target, query, body, the kbs-session-id cookie, X-Test, tls, peer,
 *   worker thread), or on /inject, /nostatus, /close, /big and /problem
 *   exercises the response helpers.
 */
#ifndef TRUSTEE_HTTPFIX_H
#define TRUSTEE_HTTPFIX_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../../lib/log.h"
#include "../../server/http_internal.h"

#define HTTPFIX_PFX KBS_ERROR_PREFIX
#define HTTPFIX_MAX_BODY 1024
#define HTTPFIX_MAX_HEADER 4096

static struct http_server *httpfix_srv;
static int httpfix_port;
static char httpfix_tmpdir[64];

/* ---------------------------------------------------------- handler */

/*
 * Echo the request as JSON, with a few special paths that exercise the
 * response helpers.
 */
static inline void
httpfix_echo_handler(struct http_request *req, struct http_response *resp,
    void *arg)
{
	char cookie[64], *s;
	const char *v;
	json_t *o;

	(void)arg;
	if (strcmp(req->path, "/inject") == 0) {
		http_response_header(resp, "X-Bad", "a\r\nX-Evil: %d", 1);
		http_response_header(resp, "X-Bad2", "b\nX-Evil2: 1");
		http_response_header(resp, "Bad Name", "x");
		/* A bare "%s" and a constant are copied without formatting:
		 * checked all the same. */
		http_response_header(resp, "X-Bad3", "%s", "c\r\nX-Evil3: 1");
		http_response_header(resp, "X-Good", "yes %d", 42);
		http_response_header(resp, "X-Good2", "%s", "as is %d");
		http_response_header(resp, "X-Good3", "constant");
		resp->status = 204;
		return;
	}
	if (strcmp(req->path, "/nostatus") == 0)
		return;
	if (strcmp(req->path, "/close") == 0)
		resp->close = 1;
	if (strcmp(req->path, "/big") == 0) {
		char big[4096];

		memset(big, '.', sizeof(big));
		if (req->query != NULL)
			memcpy(big, req->query, strlen(req->query));
		resp->status = 200;
		http_response_body(resp, "text/plain", big, sizeof(big));
		return;
	}
	if (strcmp(req->path, "/problem") == 0) {
		http_problem(resp, 401, "TokenNotFound", "bad \"%s\"\n\xff",
		    req->query != NULL ? req->query : "");
		return;
	}
	o = json_object();
	json_object_set_new(o, "method", json_string(req->method_name));
	json_object_set_new(o, "m", json_integer(req->method));
	json_object_set_new(o, "path", json_string(req->path));
	json_object_set_new(o, "target", json_string(req->target));
	json_object_set_new(o, "query", req->query != NULL ?
	    json_string(req->query) : json_null());
	json_object_set_new(o, "body", json_stringn((const char *)req->body,
	    req->body_len));
	json_object_set_new(o, "body_nul", json_boolean(
	    req->body[req->body_len] == '\0'));
	json_object_set_new(o, "cookie", http_request_cookie(req,
	    "kbs-session-id", cookie, sizeof(cookie)) == 0 ?
	    json_string(cookie) : json_null());
	v = http_request_header(req, "x-TEST");
	json_object_set_new(o, "xtest", v != NULL ? json_string(v) :
	    json_null());
	json_object_set_new(o, "tls", json_boolean(req->tls));
	json_object_set_new(o, "peer", json_string(req->peer));
	json_object_set_new(o, "thread",
	    json_integer((json_int_t)(pthread_self() & 0x7fffffff)));
	s = json_dumps(o, JSON_COMPACT);
	resp->status = 200;
	/* The first Content-Type must be replaced, not duplicated. */
	http_response_body(resp, "text/plain", "x", 1);
	http_response_body(resp, "application/json", s, strlen(s));
	http_response_header(resp, "X-Handler", "echo");
	free(s);
	json_decref(o);
}

/* ----------------------------------------------------------- client */

struct httpfix_client {
	int fd;
	SSL *ssl;
	size_t len;
	char buf[1 << 17];
};

struct httpfix_reply {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
};

static inline int
httpfix_tcp_connect(int p)
{
	struct sockaddr_in sin;
	struct timeval tv = { 5, 0 };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline struct httpfix_client *
httpfix_open(int p)
{
	struct httpfix_client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = httpfix_tcp_connect(p);
	assert_true(c->fd >= 0);
	return c;
}

static inline void
httpfix_close(struct httpfix_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* A session not shut down is made unresumable by SSL_free. */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	close(c->fd);
	free(c);
}

static inline void
httpfix_send(struct httpfix_client *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL)
			n = SSL_write(c->ssl, p, (int)len);
		else
			n = send(c->fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static inline void
httpfix_sends(struct httpfix_client *c, const char *s)
{
	httpfix_send(c, s, strlen(s));
}

/* Read more bytes; 0 on EOF, -1 on error/timeout. */
static inline ssize_t
httpfix_recv(struct httpfix_client *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->buf + c->len,
		    (int)(sizeof(c->buf) - c->len));
		if (n <= 0)
			n = SSL_get_error(c->ssl, (int)n) ==
			    SSL_ERROR_ZERO_RETURN ? 0 : -1;
	} else
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

static inline const char *
httpfix_header(const struct httpfix_reply *r, const char *name, char *out,
    size_t cap)
{
	const char *p = strstr(r->head, "\r\n");
	size_t nlen = strlen(name);

	while (p != NULL && p[2] != '\0') {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (end == NULL)
			break;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(end - v), v);
			return out;
		}
		p = end;
	}
	return NULL;
}

static inline int
httpfix_count_header(const struct httpfix_reply *r, const char *name)
{
	char line[128];
	const char *p = r->head;
	int n = 0;

	snprintf(line, sizeof(line), "\r\n%s:", name);
	while ((p = strcasestr(p, line)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Read one response (head_only: HEAD, no body expected). -1 on EOF. */
static inline int
httpfix_read_reply(struct httpfix_client *c, struct httpfix_reply *r,
    int head_only)
{
	char *end, cl[32];
	size_t hlen, blen = 0;

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (httpfix_recv(c) <= 0)
			return -1;
	hlen = (size_t)(end - c->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(strncmp(r->head, "HTTP/1.1 ", 9), 0);
	r->status = atoi(r->head + 9);
	if (!head_only && httpfix_header(r, "Content-Length", cl, sizeof(cl)))
		blen = strtoul(cl, NULL, 10);
	while (c->len < hlen + blen)
		if (httpfix_recv(c) <= 0)
			return -1;
	r->body = calloc(1, blen + 1);
	memcpy(r->body, c->buf + hlen, blen);
	r->body_len = blen;
	memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
	c->len -= hlen + blen;
	return 0;
}

static inline void
httpfix_reply_free(struct httpfix_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* The connection is closed by the server: EOF with nothing more. */
static inline void
httpfix_assert_eof(struct httpfix_client *c)
{
	assert_int_equal(c->len, 0);
	assert_int_equal(httpfix_recv(c), 0);
}

static inline json_t *
httpfix_json(const struct httpfix_reply *r)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
	    &je);

	if (j == NULL)
		fail_msg("not JSON (%s): %.*s", je.text, (int)r->body_len,
		    r->body);
	return j;
}

static inline const char *
httpfix_jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Send a request on a fresh connection and read one reply. */
static inline json_t *
httpfix_roundtrip(const char *req, struct httpfix_reply *r)
{
	struct httpfix_client *c = httpfix_open(httpfix_port);
	json_t *j;

	httpfix_sends(c, req);
	assert_int_equal(httpfix_read_reply(c, r, 0), 0);
	j = r->status == 200 ? httpfix_json(r) : NULL;
	httpfix_close(c);
	return j;
}

/* A problem reply: JSON {type, detail} in that order, type suffix. */
static inline void
httpfix_assert_problem(const struct httpfix_reply *r, int status,
    const char *type)
{
	char ct[64], want[256];
	json_t *j;

	assert_int_equal(r->status, status);
	assert_non_null(httpfix_header(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/json");
	j = httpfix_json(r);
	snprintf(want, sizeof(want), "%s%s", HTTPFIX_PFX, type);
	assert_string_equal(httpfix_jstr(j, "type"), want);
	assert_true(json_is_string(json_object_get(j, "detail")));
	assert_int_equal(json_object_size(j), 2);
	assert_int_equal(strncmp(r->body, "{\"type\":", 8), 0);
	json_decref(j);
}

/* ----------------------------------------------------------- fixtures */

static inline struct http_server *
httpfix_start(SSL_CTX *tls, int workers, int idle, struct error *err)
{
	static char *listen[] = { "127.0.0.1:0" };
	struct http_server_config cfg = {
		.listen = listen,
		.nlisten = 1,
		.tls = tls,
		.max_body = HTTPFIX_MAX_BODY,
		.max_header = HTTPFIX_MAX_HEADER,
		.workers = workers,
		.idle_timeout_s = idle,
		.handshake_timeout_s = idle,
		.request_timeout_s = idle,
		.handler = httpfix_echo_handler,
	};

	return http_server_start(&cfg, err);
}

static inline int
httpfix_group_setup(void **state)
{
	struct error err;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(httpfix_tmpdir, sizeof(httpfix_tmpdir),
	    "/tmp/test_http.XXXXXX");
	if (mkdtemp(httpfix_tmpdir) == NULL)
		return -1;
	httpfix_srv = httpfix_start(NULL, 2, 5, &err);
	if (httpfix_srv == NULL) {
		fprintf(stderr, "start: %s\n", err.msg);
		return -1;
	}
	httpfix_port = http_server_port(httpfix_srv, 0);
	return httpfix_port > 0 ? 0 : -1;
}

static inline int
httpfix_group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	http_server_stop(httpfix_srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", httpfix_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
