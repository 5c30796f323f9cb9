/*
 * test_http.c: the HTTP front end (server/http.c) and TLS context
 * (server/tls.c), driven over real sockets on 127.0.0.1 by a small
 * blocking client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../lib/log.h"
#include "../../server/http_internal.h"

#define PFX KBS_ERROR_PREFIX
#define MAX_BODY 1024
#define MAX_HEADER 4096

static struct http_server *srv;
static int port;
static char tmpdir[64];

/* ---------------------------------------------------------- handler */

/*
 * Echo the request as JSON, with a few special paths that exercise the
 * response helpers.
 */
static void
echo_handler(struct http_request *req, struct http_response *resp, void *arg)
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

struct client {
	int fd;
	SSL *ssl;
	size_t len;
	char buf[1 << 17];
};

struct reply {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
};

static int
tcp_connect(int p)
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

static struct client *
cl_open(int p)
{
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = tcp_connect(p);
	assert_true(c->fd >= 0);
	return c;
}

static void
cl_close(struct client *c)
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

static void
cl_send(struct client *c, const void *data, size_t len)
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

static void
cl_sends(struct client *c, const char *s)
{
	cl_send(c, s, strlen(s));
}

/* Read more bytes; 0 on EOF, -1 on error/timeout. */
static ssize_t
cl_recv(struct client *c)
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

static const char *
reply_header(const struct reply *r, const char *name, char *out, size_t cap)
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

static int
count_header(const struct reply *r, const char *name)
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
static int
cl_reply(struct client *c, struct reply *r, int head_only)
{
	char *end, cl[32];
	size_t hlen, blen = 0;

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (cl_recv(c) <= 0)
			return -1;
	hlen = (size_t)(end - c->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(strncmp(r->head, "HTTP/1.1 ", 9), 0);
	r->status = atoi(r->head + 9);
	if (!head_only && reply_header(r, "Content-Length", cl, sizeof(cl)))
		blen = strtoul(cl, NULL, 10);
	while (c->len < hlen + blen)
		if (cl_recv(c) <= 0)
			return -1;
	r->body = calloc(1, blen + 1);
	memcpy(r->body, c->buf + hlen, blen);
	r->body_len = blen;
	memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
	c->len -= hlen + blen;
	return 0;
}

static void
reply_free(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* The connection is closed by the server: EOF with nothing more. */
static void
assert_eof(struct client *c)
{
	assert_int_equal(c->len, 0);
	assert_int_equal(cl_recv(c), 0);
}

static json_t *
reply_json(const struct reply *r)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
	    &je);

	if (j == NULL)
		fail_msg("not JSON (%s): %.*s", je.text, (int)r->body_len,
		    r->body);
	return j;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Send a request on a fresh connection and read one reply. */
static json_t *
roundtrip(const char *req, struct reply *r)
{
	struct client *c = cl_open(port);
	json_t *j;

	cl_sends(c, req);
	assert_int_equal(cl_reply(c, r, 0), 0);
	j = r->status == 200 ? reply_json(r) : NULL;
	cl_close(c);
	return j;
}

/* A problem reply: JSON {type, detail} in that order, type suffix. */
static void
assert_problem(const struct reply *r, int status, const char *type)
{
	char ct[64], want[256];
	json_t *j;

	assert_int_equal(r->status, status);
	assert_non_null(reply_header(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/json");
	j = reply_json(r);
	snprintf(want, sizeof(want), "%s%s", PFX, type);
	assert_string_equal(jstr(j, "type"), want);
	assert_true(json_is_string(json_object_get(j, "detail")));
	assert_int_equal(json_object_size(j), 2);
	assert_int_equal(strncmp(r->body, "{\"type\":", 8), 0);
	json_decref(j);
}

/* ----------------------------------------------------------- fixtures */

static struct http_server *
start(SSL_CTX *tls, int workers, int idle, struct error *err)
{
	static char *listen[] = { "127.0.0.1:0" };
	struct http_server_config cfg = {
		.listen = listen,
		.nlisten = 1,
		.tls = tls,
		.max_body = MAX_BODY,
		.max_header = MAX_HEADER,
		.workers = workers,
		.idle_timeout_s = idle,
		.handshake_timeout_s = idle,
		.request_timeout_s = idle,
		.handler = echo_handler,
	};

	return http_server_start(&cfg, err);
}

static int
group_setup(void **state)
{
	struct error err;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_http.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	srv = start(NULL, 2, 5, &err);
	if (srv == NULL) {
		fprintf(stderr, "start: %s\n", err.msg);
		return -1;
	}
	port = http_server_port(srv, 0);
	return port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	http_server_stop(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* -------------------------------------------------------------- tests */

static void
test_routing(void **state)
{
	struct reply r;
	json_t *j;

	(void)state;
	j = roundtrip("GET /kbs/v0/resource/a/b/c?x=1&y=%20 HTTP/1.1\r\n"
	    "Host: t\r\nX-Test:  spaced value \t\r\n\r\n", &r);
	assert_string_equal(jstr(j, "method"), "GET");
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_GET);
	assert_string_equal(jstr(j, "path"), "/kbs/v0/resource/a/b/c");
	assert_string_equal(jstr(j, "query"), "x=1&y=%20");
	assert_string_equal(jstr(j, "target"),
	    "/kbs/v0/resource/a/b/c?x=1&y=%20");
	assert_string_equal(jstr(j, "xtest"), "spaced value");
	assert_string_equal(jstr(j, "body"), "");
	assert_true(json_is_false(json_object_get(j, "tls")));
	assert_int_equal(strncmp(jstr(j, "peer"), "127.0.0.1:", 10), 0);
	assert_int_equal(count_header(&r, "Content-Type"), 1);
	assert_int_equal(count_header(&r, "Connection"), 0);
	json_decref(j);
	reply_free(&r);

	j = roundtrip("POST /kbs/v0/auth HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 11\r\n\r\nhello world", &r);
	assert_string_equal(jstr(j, "method"), "POST");
	assert_string_equal(jstr(j, "body"), "hello world");
	assert_true(json_is_true(json_object_get(j, "body_nul")));
	assert_true(json_is_null(json_object_get(j, "query")));
	json_decref(j);
	reply_free(&r);

	j = roundtrip("DELETE /kbs/v0/resource/x/y/z HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(jstr(j, "method"), "DELETE");
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_DELETE);
	assert_string_equal(jstr(j, "path"), "/kbs/v0/resource/x/y/z");
	json_decref(j);
	reply_free(&r);

	j = roundtrip("PUT /p? HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_PUT);
	assert_string_equal(jstr(j, "path"), "/p");
	assert_string_equal(jstr(j, "query"), "");
	json_decref(j);
	reply_free(&r);

	j = roundtrip("OPTIONS /o HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_OTHER);
	assert_string_equal(jstr(j, "method"), "OPTIONS");
	json_decref(j);
	reply_free(&r);
}

static void
test_keepalive(void **state)
{
	struct client *c = cl_open(port);
	struct reply r;
	char path[32];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		char req[128];
		json_t *j;

		snprintf(req, sizeof(req), "GET /ka/%d HTTP/1.1\r\n"
		    "Host: t\r\n\r\n", i);
		cl_sends(c, req);
		assert_int_equal(cl_reply(c, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(count_header(&r, "Connection"), 0);
		j = reply_json(&r);
		snprintf(path, sizeof(path), "/ka/%d", i);
		assert_string_equal(jstr(j, "path"), path);
		json_decref(j);
		reply_free(&r);
	}
	/* Connection: close from the client: answered, then closed. */
	cl_sends(c, "GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(count_header(&r, "Connection"), 1);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);
}

static void
test_pipelined(void **state)
{
	struct client *c = cl_open(port);
	struct reply r;
	json_t *j;

	(void)state;
	cl_sends(c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
	    "POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	    "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "path"), "/one");
	json_decref(j);
	reply_free(&r);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "path"), "/two");
	assert_string_equal(jstr(j, "body"), "abc");
	json_decref(j);
	reply_free(&r);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "path"), "/three");
	json_decref(j);
	reply_free(&r);
	/* Nothing after the request that asked to close. */
	assert_eof(c);
	cl_close(c);
}

static void
test_split_writes(void **state)
{
	const char *req = "POST /split?q=1 HTTP/1.1\r\nHost: t\r\nX-Test: abc\r\n"
	    "Cookie: kbs-session-id=s1\r\nContent-Length: 5\r\n\r\nhello";
	struct client *c = cl_open(port);
	struct reply r;
	json_t *j;
	size_t i;

	(void)state;
	/* One byte per write: every parser callback is split. */
	for (i = 0; req[i] != '\0'; i++) {
		cl_send(c, req + i, 1);
		usleep(200);
	}
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "path"), "/split");
	assert_string_equal(jstr(j, "query"), "q=1");
	assert_string_equal(jstr(j, "xtest"), "abc");
	assert_string_equal(jstr(j, "cookie"), "s1");
	assert_string_equal(jstr(j, "body"), "hello");
	json_decref(j);
	reply_free(&r);
	cl_close(c);
}

static void
test_chunked(void **state)
{
	struct reply r;
	json_t *j;

	(void)state;
	j = roundtrip("POST /c HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(j, "body"), "hello world");
	json_decref(j);
	reply_free(&r);
}

static void
test_413(void **state)
{
	struct client *c;
	struct reply r;
	char req[4096];
	int i, n;

	(void)state;
	/* Content-Length over the limit: refused before the body. */
	c = cl_open(port);
	cl_sends(c, "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	assert_non_null(strstr(r.body, "limit of 1024 bytes"));
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);

	/* Exactly at the limit is fine. */
	c = cl_open(port);
	n = snprintf(req, sizeof(req), "POST /ok HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", MAX_BODY);
	memset(req + n, 'a', MAX_BODY);
	cl_send(c, req, (size_t)n + MAX_BODY);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	cl_close(c);

	/* Chunked: refused once the chunks add up to more. */
	c = cl_open(port);
	cl_sends(c, "POST /big HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 5; i++) {
		n = snprintf(req, sizeof(req), "100\r\n");
		memset(req + n, 'b', 256);
		memcpy(req + n + 256, "\r\n", 2);
		cl_send(c, req, (size_t)n + 258);
	}
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	reply_free(&r);
	cl_close(c);
}

static void
test_400(void **state)
{
	static const char *bad[] = {
		"\x01\x02 garbage\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"),
	};
	struct client *c;
	struct reply r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		c = cl_open(port);
		cl_sends(c, bad[i]);
		assert_int_equal(cl_reply(c, &r, 0), 0);
		assert_problem(&r, 400, "BadRequest");
		assert_non_null(strstr(r.body, "malformed request: "));
		reply_free(&r);
		assert_eof(c);
		cl_close(c);
	}
}


/* ------------------------------------------------- strict framing */

/* One case of the framing check: the bytes, and 0 when they are one whole
 * request, else the status the check must refuse them with. */
struct scan_case {
	const char *in;
	int status;
};

static const struct scan_case scan_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
	{ "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
	{ "GET / HTTP/1.0\r\n\r\n", 0 },
	{ "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 0 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  003 \r\n\r\nabc", 0 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
	    "3;x=\"y\"\r\nabc\r\nA \t; e\r\n0123456789\r\n0\r\nT: v\r\n\r\n",
	    0 },
	{ "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:chunked \r\n\r\n"
	    "0\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: \xff\xfe obs-text\t\r\n\r\n", 0 },
	/* Line ends. */
	{ "GET / HTTP/1.1\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\rX: y\r\n\r\n", 400 },
	{ "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	/* Request line. */
	{ "GET /\r\n\r\n", 400 },
	{ "GET / \r\n\r\n", 400 },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
	{ "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.12\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 },
	{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505 },
	{ "GET / http/1.1\r\nHost: a\r\n\r\n", 400 },
	{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	/* Fields. */
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\tX: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX\x01: y\r\n\r\n", 400 },
	/* Inside a value that is skipped in bulk: stops at what matters. */
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb c~!\r\n\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: abc\x01" "def\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: abc\x7f\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: abc\ndef\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: abc\rdef\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400 },
	/* Framing. */
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\na", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\na", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\na", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "1234567890123456789\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, "
	    "chunked\r\n\r\n0\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, "
	    "chunked\r\n\r\n0\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	    501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    400 },
	/* Chunked framing. */
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\na\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\na\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\nab\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0x1\r\na\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1 x\r\na\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1 \r\na\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "-1\r\na\r\n0\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1000000000000000\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nContent-Length: 5\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nT: v\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n x: folded\r\n\r\n", 400 },
};

/* The check over every case, in one piece and byte by byte (same answer
 * whatever the split). */
static void
test_scan(void **state)
{
	size_t i, k, n, len;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(scan_cases); i++) {
		const char *in = scan_cases[i].in;
		struct http_scan s;
		int pass;

		len = strlen(in);
		for (pass = 0; pass < 2; pass++) {
			http_scan_begin(&s, 1024);
			if (pass == 0)
				n = http_scan_run(&s, in, len);
			else
				for (n = 0, k = 0; k < len &&
				    !http_scan_done(&s) &&
				    !http_scan_failed(&s); k++)
					n += http_scan_run(&s, in + k, 1);
			if (scan_cases[i].status == 0) {
				if (!http_scan_done(&s) || n != len)
					fail_msg("case %zu (pass %d): not "
					    "accepted as one request (%s)", i,
					    pass, http_scan_failed(&s) ?
					    s.why : "incomplete");
			} else if (!http_scan_failed(&s) ||
			    s.status != scan_cases[i].status)
				fail_msg("case %zu (pass %d): want %d, got %s "
				    "%d (%s)", i, pass, scan_cases[i].status,
				    http_scan_failed(&s) ? "refused" : "not "
				    "refused", s.status, s.why ? s.why : "");
		}
	}
}

/* A NUL in a field value (the table cannot hold it in a C string). */
static void
test_scan_nul(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	struct http_scan s;

	(void)state;
	http_scan_begin(&s, 1024);
	http_scan_run(&s, in, sizeof(in) - 1);
	assert_true(http_scan_failed(&s));
	assert_int_equal(s.status, 400);
}

/* Over the wire: smuggling shapes are refused and the connection is
 * closed, so nothing after them is ever read as a request. */
static void
test_strict_wire(void **state)
{
	static const struct {
		const char *req;
		int status;
		const char *type;
	} cases[] = {
		{ "POST /s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity, "
		    "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
		    "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n", 501,
		    "NotImplemented" },
		{ "POST /s HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		    "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n", 400,
		    "BadRequest" },
		{ "GET /s HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400,
		    "BadRequest" },
		{ "GET /s HTTP/1.1\nHost: t\n\n", 400, "BadRequest" },
		{ "GET /s\r\n\r\n", 400, "BadRequest" },
		{ "GET /s HTTP/1.1\r\n\r\n", 400, "BadRequest" },
		{ "GET /s HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n", 400,
		    "BadRequest" },
		{ "GET /s HTTP/2.0\r\nHost: t\r\n\r\n", 505,
		    "HTTPVersionNotSupported" },
	};
	struct client *c;
	struct reply r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		c = cl_open(port);
		cl_sends(c, cases[i].req);
		assert_int_equal(cl_reply(c, &r, 0), 0);
		assert_problem(&r, cases[i].status, cases[i].type);
		assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
		reply_free(&r);
		assert_eof(c);
		cl_close(c);
	}
}

static void
test_header_limits(void **state)
{
	struct client *c;
	static char req[16384];
	struct reply r;
	size_t n = 0;
	int i;

	(void)state;
	/* One header bigger than the limit. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + n, 'x', MAX_HEADER);
	n += MAX_HEADER;
	n += (size_t)sprintf(req + n, "\r\n\r\n");
	c = cl_open(port);
	cl_send(c, req, n);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	reply_free(&r);
	cl_close(c);

	/* A long URL counts too. */
	n = (size_t)sprintf(req, "GET /");
	memset(req + n, 'u', MAX_HEADER);
	n += MAX_HEADER;
	n += (size_t)sprintf(req + n, " HTTP/1.1\r\nHost: t\r\n\r\n");
	c = cl_open(port);
	cl_send(c, req, n);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	reply_free(&r);
	cl_close(c);

	/* 101 small headers. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 101; i++)
		n += (size_t)sprintf(req + n, "H%d: v\r\n", i);
	n += (size_t)sprintf(req + n, "\r\n");
	c = cl_open(port);
	cl_send(c, req, n);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	assert_non_null(strstr(r.body, "more than 100 header fields"));
	reply_free(&r);
	cl_close(c);

	/* 100 are fine. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 98; i++)
		n += (size_t)sprintf(req + n, "H%d: v\r\n", i);
	n += (size_t)sprintf(req + n, "X-Test: last\r\n\r\n");
	c = cl_open(port);
	cl_send(c, req, n);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"xtest\":\"last\""));
	reply_free(&r);
	cl_close(c);
}

static void
test_cookie_wire(void **state)
{
	struct reply r;
	json_t *j;

	(void)state;
	j = roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: a=b; xkbs-session-id=no; "
	    "kbs-session-id=abc123 ; z=1\r\n\r\n", &r);
	assert_string_equal(jstr(j, "cookie"), "abc123");
	json_decref(j);
	reply_free(&r);

	j = roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: a=b\r\nX-Test: 1\r\n"
	    "cookie: kbs-session-id=\"quoted\"\r\n\r\n", &r);
	assert_string_equal(jstr(j, "cookie"), "quoted");
	json_decref(j);
	reply_free(&r);

	j = roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: kbs-session-id-x=1; "
	    "kbs-session-idd=2;kbs-session-i=3\r\n\r\n", &r);
	assert_true(json_is_null(json_object_get(j, "cookie")));
	json_decref(j);
	reply_free(&r);
}

static void
test_cookie_unit(void **state)
{
	struct http_header h[] = {
		{ "Host", "x" },
		{ "COOKIE", "  flag; =v; a=1;b = 2 ;  c=\"3\"" },
		{ "Cookie", "d=; e=12345678" },
	};
	struct http_request req = { .headers = h, .nheaders = 3 };
	char out[8];

	(void)state;
	assert_int_equal(http_request_cookie(&req, "a", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(http_request_cookie(&req, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "2");
	assert_int_equal(http_request_cookie(&req, "c", out, sizeof(out)), 0);
	assert_string_equal(out, "3");
	assert_int_equal(http_request_cookie(&req, "d", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Does not fit (8 chars + NUL in 8 bytes). */
	assert_int_equal(http_request_cookie(&req, "e", out, sizeof(out)), -1);
	assert_int_equal(http_request_cookie(&req, "flag", out, sizeof(out)),
	    -1);
	assert_int_equal(http_request_cookie(&req, "A", out, sizeof(out)), -1);
	assert_int_equal(http_request_cookie(&req, "", out, sizeof(out)), 0);
	assert_string_equal(out, "v");
	assert_string_equal(http_request_header(&req, "cookie"),
	    "  flag; =v; a=1;b = 2 ;  c=\"3\"");
	assert_string_equal(http_request_header(&req, "HOST"), "x");
	assert_null(http_request_header(&req, "Hos"));
}

static void
test_injection(void **state)
{
	struct reply r;
	char v[32];

	(void)state;
	roundtrip("GET /inject HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 204);
	assert_null(strstr(r.head, "X-Evil"));
	assert_null(strstr(r.head, "X-Bad"));
	assert_null(strstr(r.head, "Bad Name"));
	assert_string_equal(reply_header(&r, "X-Good", v, sizeof(v)),
	    "yes 42");
	assert_string_equal(reply_header(&r, "X-Good2", v, sizeof(v)),
	    "as is %d");
	assert_string_equal(reply_header(&r, "X-Good3", v, sizeof(v)),
	    "constant");
	/* 204: no Content-Length, no body. */
	assert_int_equal(count_header(&r, "Content-Length"), 0);
	reply_free(&r);
}

static void
test_head(void **state)
{
	struct client *c = cl_open(port);
	struct reply r;
	char cl[16];
	json_t *j;

	(void)state;
	cl_sends(c, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(reply_header(&r, "Content-Length", cl, sizeof(cl)));
	assert_true(atoi(cl) > 20);
	reply_free(&r);
	/* If the HEAD reply had carried a body, this would not parse. */
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "path"), "/after");
	json_decref(j);
	reply_free(&r);
	cl_close(c);
}

static void
test_status_and_close(void **state)
{
	struct client *c;
	struct reply r;

	(void)state;
	roundtrip("GET /nostatus HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_problem(&r, 500, "InternalError");
	reply_free(&r);

	c = cl_open(port);
	cl_sends(c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);

	/* HTTP/1.0: closes unless keep-alive is asked for. */
	c = cl_open(port);
	cl_sends(c, "GET /10 HTTP/1.0\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);

	c = cl_open(port);
	cl_sends(c, "GET /10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_non_null(strstr(r.head, "\r\nConnection: keep-alive\r\n"));
	reply_free(&r);
	cl_sends(c, "GET /10b HTTP/1.0\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_eof(c);
	cl_close(c);
}

static void
test_problem_body(void **state)
{
	struct http_response resp = { 0 };
	const char *want = "{\"type\":\"" PFX "TokenNotFound\","
	    "\"detail\":\"bad \\\"q\\\"\\n\xef\xbf\xbd\"}";
	struct reply r;

	(void)state;
	http_problem(&resp, 401, "TokenNotFound", "bad \"%s\"\n\xff", "q");
	assert_int_equal(resp.status, 401);
	assert_string_equal(buf_cstr(&resp.body), want);
	assert_string_equal(buf_cstr(&resp.headers),
	    "Content-Type: application/json\r\n");
	/* A second problem replaces the first, headers included. */
	http_problem(&resp, 404, "PluginNotFound", "Plugin %s not found",
	    "x\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xac");
	assert_string_equal(buf_cstr(&resp.body), "{\"type\":\"" PFX
	    "PluginNotFound\",\"detail\":\"Plugin x"
	    "\xef\xbf\xbd\xef\xbf\xbd"			/* overlong */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"		/* surrogate */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"	/* > U+10FFFF */
	    "\xe2\x82\xac not found\"}");
	assert_string_equal(buf_cstr(&resp.headers),
	    "Content-Type: application/json\r\n");
	buf_free(&resp.headers);
	buf_free(&resp.body);

	roundtrip("GET /problem?q HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_problem(&r, 401, "TokenNotFound");
	assert_int_equal(r.body_len, strlen(want));
	assert_memory_equal(r.body, want, strlen(want));
	reply_free(&r);
}

static void
test_expect_continue(void **state)
{
	struct client *c = cl_open(port);
	struct reply r;
	json_t *j;

	(void)state;
	cl_sends(c, "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
	    "Expect: 100-continue\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 1), 0);
	assert_int_equal(r.status, 100);
	reply_free(&r);
	cl_sends(c, "data");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "body"), "data");
	json_decref(j);
	reply_free(&r);
	cl_close(c);
}

static void
test_workers(void **state)
{
	json_int_t first = -1;
	int i, other = 0;

	(void)state;
	/* SO_REUSEPORT spreads connections over both workers: 32 in a row
	 * landing on one worker would be a 2^-31 accident. */
	for (i = 0; i < 32 && !other; i++) {
		struct reply r;
		json_t *j = roundtrip("GET /w HTTP/1.1\r\nHost: t\r\n\r\n", &r);
		json_int_t t = json_integer_value(json_object_get(j,
		    "thread"));

		if (first == -1)
			first = t;
		else if (t != first)
			other = 1;
		json_decref(j);
		reply_free(&r);
	}
	assert_true(other);
}

/* Many pipelined requests with large answers, sent without reading:
 * the server must stop reading while its output is backed up, and still
 * answer everything in order. */
static void
test_backpressure(void **state)
{
	enum { N = 1500 };
	struct client *c = cl_open(port);
	struct buf reqs = { 0 };
	size_t sent = 0, got = 0, rsize = 0;
	int i, done = 0;

	(void)state;
	for (i = 0; i < N; i++)
		buf_printf(&reqs, "GET /big?%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	while (!done) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		struct reply r;

		if (sent < reqs.len)
			pfd.events |= POLLOUT;
		assert_true(poll(&pfd, 1, 5000) > 0);
		if (pfd.revents & POLLOUT) {
			ssize_t n = send(c->fd, reqs.data + sent,
			    reqs.len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (!(pfd.revents & POLLIN))
			continue;
		assert_true(cl_recv(c) > 0);
		/* Consume complete replies. */
		for (;;) {
			char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			char want[16];

			if (end == NULL || c->len < (size_t)(end - c->buf) +
			    4 + 4096)
				break;
			assert_int_equal(cl_reply(c, &r, 0), 0);
			assert_int_equal(r.status, 200);
			assert_int_equal(r.body_len, 4096);
			snprintf(want, sizeof(want), "%zu.", got);
			assert_memory_equal(r.body, want, strlen(want));
			rsize += r.body_len;
			reply_free(&r);
			if (++got == N)
				done = 1;
		}
	}
	assert_int_equal(rsize, (size_t)N * 4096);
	buf_free(&reqs);
	cl_close(c);
}

static void
test_idle_timeouts(void **state)
{
	struct http_server *s;
	struct client *c;
	struct reply r;
	struct error err;
	int p, i;

	(void)state;
	s = start(NULL, 1, 1, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	/* Idle connection: closed after about a second, no reply. */
	c = cl_open(p);
	assert_int_equal(cl_recv(c), 0);
	cl_close(c);

	/* Trickled headers: the request deadline runs from its first
	 * byte, whatever the pace. */
	c = cl_open(p);
	cl_sends(c, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 10; i++) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };

		usleep(300 * 1000);
		if (poll(&pfd, 1, 0) == 1)
			break;		/* answered */
		cl_sends(c, "X: y\r\n");
	}
	assert_true(i >= 3 && i < 10);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 408, "RequestTimeout");
	reply_free(&r);
	cl_close(c);
	http_server_stop(s);
}

static void
test_stop(void **state)
{
	struct http_server *s;
	struct client *idle, *busy;
	struct reply r;
	struct error err;
	struct timespec t0, t1;
	double dt;
	int p;

	(void)state;
	/* Immediately stopped. */
	s = start(NULL, 3, 5, &err);
	assert_non_null(s);
	http_server_stop(s);

	s = start(NULL, 2, 5, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);
	idle = cl_open(p);
	cl_sends(idle, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(idle, &r, 0), 0);
	reply_free(&r);
	busy = cl_open(p);
	cl_sends(busy, "POST /x HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 10\r\n\r\n12345");
	usleep(100 * 1000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_server_stop(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* The half-received request gets the grace period, no more. */
	assert_true(dt >= 1.5 && dt < 3.5);
	assert_eof(idle);
	assert_true(cl_recv(busy) <= 0);
	cl_close(idle);
	cl_close(busy);

	/* Nothing listens any more. */
	assert_int_equal(tcp_connect(p), -1);
	assert_int_equal(errno, ECONNREFUSED);
}

static void
test_listen_errors(void **state)
{
	char *l1[] = { "localhost:80" }, *l2[] = { "127.0.0.1" },
	    *l3[] = { "[::1:80" }, *l4[] = { "127.0.0.1:65536" },
	    *l5[] = { "127.0.0.1:0", "127.0.0.1:0" };
	char want[128], *busy[1], addr[32];
	struct http_server_config cfg = {
		.nlisten = 1, .workers = 2, .handler = echo_handler,
	};
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct http_server *s;
	struct error err;
	int fd, one = 1;

	(void)state;
	cfg.listen = l1;
	assert_null(http_server_start(&cfg, &err));
	assert_string_equal(err.msg, "listen \"localhost:80\": expected "
	    "IPv4:PORT or [IPv6]:PORT");
	cfg.listen = l2;
	assert_null(http_server_start(&cfg, &err));
	cfg.listen = l3;
	assert_null(http_server_start(&cfg, &err));
	cfg.listen = l4;
	assert_null(http_server_start(&cfg, &err));

	/* A port held by a socket without SO_REUSEPORT. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&sin, &slen);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	busy[0] = addr;
	cfg.listen = busy;
	assert_null(http_server_start(&cfg, &err));
	snprintf(want, sizeof(want), "listen %s: Address already in use",
	    addr);
	assert_string_equal(err.msg, want);
	close(fd);

	/* Two addresses, each with its own port. */
	cfg.listen = l5;
	cfg.nlisten = 2;
	s = http_server_start(&cfg, &err);
	assert_non_null(s);
	assert_true(http_server_port(s, 0) > 0);
	assert_true(http_server_port(s, 1) > 0);
	assert_int_not_equal(http_server_port(s, 0), http_server_port(s, 1));
	assert_int_equal(http_server_port(s, 2), -1);
	fd = tcp_connect(http_server_port(s, 1));
	assert_true(fd >= 0);
	close(fd);
	http_server_stop(s);
}

static void
test_ipv6(void **state)
{
	char *l[] = { "[::1]:0" };
	struct http_server_config cfg = {
		.listen = l, .nlisten = 1, .workers = 2, .handler = echo_handler,
	};
	struct sockaddr_in6 sin6;
	struct http_server *s;
	struct client *c;
	struct reply r;
	struct error err;
	json_t *j;

	(void)state;
	s = http_server_start(&cfg, &err);
	if (s == NULL && strstr(err.msg, "Cannot assign") != NULL)
		skip();		/* no IPv6 loopback here */
	assert_non_null(s);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)http_server_port(s, 0));
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	cl_sends(c, "GET /v6 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	j = reply_json(&r);
	assert_int_equal(strncmp(jstr(j, "peer"), "[::1]:", 6), 0);
	json_decref(j);
	reply_free(&r);
	cl_close(c);
	http_server_stop(s);
}


/* ------------------------------------------------------ limits */

static int
tcp_connect_from(int p, const char *from)
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
	assert_int_equal(inet_pton(AF_INET, from, &sin.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons((uint16_t)p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct client *
cl_open_from(int p, const char *from)
{
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = tcp_connect_from(p, from);
	assert_true(c->fd >= 0);
	return c;
}

/* The routes of the preflight test. */
static void
limits_preflight(const struct http_request *req, struct http_preflight *pf,
    void *arg)
{
	(void)arg;
	assert_null(req->body);
	if (strcmp(req->path, "/small") == 0) {
		pf->max_body = 16;
		snprintf(pf->note, sizeof(pf->note), "on this route");
	} else if (strcmp(req->path, "/huge") == 0) {
		pf->max_body = SIZE_MAX;	/* clamped to max_body */
	} else if (strcmp(req->path, "/refuse") == 0) {
		pf->status = 429;
		pf->type = "TooManyRequests";
		pf->retry_after = 7;
		snprintf(pf->detail, sizeof(pf->detail), "slow down, %s",
		    req->peer);
	}
}

static struct http_server *
start_limited(struct http_server_config *cfg, struct error *err)
{
	static char *listen[] = { "127.0.0.1:0" };

	cfg->listen = listen;
	cfg->nlisten = 1;
	cfg->workers = 1;
	if (cfg->max_body == 0)
		cfg->max_body = MAX_BODY;
	cfg->max_header = MAX_HEADER;
	cfg->handler = echo_handler;
	return http_server_start(cfg, err);
}

/* Body caps are decided from the head, before the body: over the cap is a
 * 413 without reading it (and without "100 Continue"); a refusal carries
 * its Retry-After. */
static void
test_preflight(void **state)
{
	struct http_server_config cfg = { .preflight = limits_preflight };
	struct http_server_stats st;
	struct http_server *s;
	struct client *c;
	struct reply r;
	struct error err;
	char v[32], req[2048];
	int p, n;
	json_t *j;

	(void)state;
	s = start_limited(&cfg, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	c = cl_open(p);
	cl_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n"
	    "\r\n0123456789abcdef");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	cl_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n"
	    "Expect: 100-continue\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	assert_non_null(strstr(r.body, "limit of 16 bytes on this route"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);

	/* Chunked: refused when the chunks pass the cap. */
	c = cl_open(p);
	cl_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	reply_free(&r);
	cl_close(c);

	/* A route cannot raise the server's cap. */
	c = cl_open(p);
	n = snprintf(req, sizeof(req), "POST /huge HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", MAX_BODY + 1);
	cl_send(c, req, (size_t)n);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	reply_free(&r);
	cl_close(c);

	/* Refused before the body: the client still sending it gets the
	 * answer (the server reads and drops the rest before closing). */
	c = cl_open(p);
	n = snprintf(req, sizeof(req), "POST /refuse HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 1000\r\n\r\n");
	memset(req + n, 'z', 1000);
	cl_send(c, req, (size_t)n + 1000);
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 429, "TooManyRequests");
	assert_string_equal(reply_header(&r, "Retry-After", v, sizeof(v)),
	    "7");
	assert_non_null(strstr(r.body, "slow down, 127.0.0.1:"));
	reply_free(&r);
	assert_eof(c);
	cl_close(c);

	/* Other routes keep the server's cap. */
	j = NULL;
	c = cl_open(p);
	cl_sends(c, "POST /other HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n"
	    "\r\n0123456789abcdefghij");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_string_equal(jstr(j, "body"), "0123456789abcdefghij");
	json_decref(j);
	reply_free(&r);
	cl_close(c);

	/* Nothing stays charged once requests are done. */
	http_server_stats(s, &st);
	assert_int_equal(st.inflight, 0);
	http_server_stop(s);
}

/* The in-flight budget: request bodies grow as they arrive and are
 * charged; past the budget a request gets 503 + Retry-After, the others
 * go on, and everything is given back. */
static void
test_inflight(void **state)
{
	struct http_server_config cfg = {
		.max_body = 48 * 1024,
		.max_inflight = 64 * 1024,
	};
	struct http_server_stats st;
	struct http_server *s;
	struct client *a, *b;
	struct reply r;
	struct error err;
	static char req[64 * 1024];
	char v[16];
	int p, n, i;

	(void)state;
	s = start_limited(&cfg, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	/* a announces 48 KiB and sends 40 KiB: only what arrived is held
	 * (rounded up by doubling, at most the announced length). */
	a = cl_open(p);
	n = snprintf(req, sizeof(req), "POST /a HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", 48 * 1024);
	memset(req + n, 'a', 48 * 1024);
	cl_send(a, req, (size_t)n + 40 * 1024);
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.inflight >= 40 * 1024)
			break;
		usleep(10 * 1000);
	}
	assert_true(st.inflight >= 40 * 1024);
	assert_true(st.inflight <= 48 * 1024 + MAX_HEADER + 8192);

	/* b does the same: its body does not fit any more. */
	b = cl_open(p);
	n = snprintf(req, sizeof(req), "POST /b HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", 40 * 1024);
	memset(req + n, 'b', 40 * 1024);
	cl_send(b, req, (size_t)n + 40 * 1024);
	assert_int_equal(cl_reply(b, &r, 0), 0);
	assert_problem(&r, 503, "ServiceUnavailable");
	assert_string_equal(reply_header(&r, "Retry-After", v, sizeof(v)),
	    "1");
	reply_free(&r);
	cl_close(b);

	/* a completes normally. */
	cl_send(a, req + 100, 8 * 1024);
	assert_int_equal(cl_reply(a, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	cl_close(a);
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.inflight == 0)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(st.inflight, 0);
	http_server_stop(s);
}

/* Per-source connection cap; at the global cap the oldest idle
 * connection makes room for a newcomer. */
static void
test_connection_caps(void **state)
{
	struct http_server_config cfg = {
		.max_connections = 6,
		.max_connections_per_source = 3,
	};
	struct http_server_stats st;
	struct http_server *s;
	struct client *c[8], *x;
	struct reply r;
	struct error err;
	int p, i;

	(void)state;
	s = start_limited(&cfg, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	/* Three idle connections from 127.0.0.2; the fourth is closed at
	 * once, and the others stay usable. */
	for (i = 0; i < 3; i++)
		c[i] = cl_open_from(p, "127.0.0.2");
	x = cl_open_from(p, "127.0.0.2");
	assert_int_equal(cl_recv(x), 0);
	cl_close(x);
	cl_sends(c[2], "GET /still HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c[2], &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	/* Fill the server (6) from other sources. */
	for (i = 3; i < 6; i++)
		c[i] = cl_open_from(p, "127.0.0.3");
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.connections == 6)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(st.connections, 6);

	/* A newcomer is served: the oldest connection that is not in a
	 * request (c[0], idle since it was accepted) is closed for it. */
	x = cl_open_from(p, "127.0.0.4");
	cl_sends(x, "GET /new HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(x, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(cl_recv(c[0]), 0);
	cl_close(x);
	for (i = 0; i < 6; i++)
		cl_close(c[i]);
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.connections == 0)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(st.connections, 0);
	http_server_stop(s);
}

/* A second server on the same address fails, naming the holder, instead
 * of sharing the port through SO_REUSEPORT; and so does a server on an
 * address that any other socket listens on, SO_REUSEPORT or not. */
static void
test_exclusive_bind(void **state)
{
	char addr[32], want[128], *l[1] = { addr };
	struct http_server_config cfg = {
		.listen = l, .nlisten = 1, .workers = 2,
		.handler = echo_handler,
	};
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct http_server *a, *b;
	struct error err;
	int fd, one = 1;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:0");
	a = http_server_start(&cfg, &err);
	assert_non_null(a);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_server_port(a, 0));
	b = http_server_start(&cfg, &err);
	assert_null(b);
	snprintf(want, sizeof(want), "listen %s: address already in use by "
	    "another trusteed (pid %d)", addr, (int)getpid());
	assert_string_equal(err.msg, want);
	http_server_stop(a);
	/* Released with the server. */
	a = http_server_start(&cfg, &err);
	assert_non_null(a);
	http_server_stop(a);

	/* Someone else's SO_REUSEPORT listener. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&sin, &slen);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_null(http_server_start(&cfg, &err));
	snprintf(want, sizeof(want), "listen %s: Address already in use",
	    addr);
	assert_string_equal(err.msg, want);
	close(fd);
}

/* -------------------------------------------------------------- TLS */

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

/* A self-signed P-256 certificate for localhost, plus its key (0600), a
 * 0644 copy of the key and an unrelated key. */
static void
make_cert(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
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
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);

	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	snprintf(key_open_path, sizeof(key_open_path), "%s/key644.pem",
	    tmpdir);
	snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem",
	    tmpdir);
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
tls_connect(struct client *c, SSL_CTX *cctx, SSL_SESSION *sess)
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
	struct client *c;
	SSL_CTX *ctx, *cctx;
	SSL_SESSION *sess;
	struct reply r;
	struct error err;
	json_t *j;
	int p, i;

	(void)state;
	make_cert();
	ctx = tls_server_ctx(cert_path, key_path, NULL, &err);
	if (ctx == NULL)
		fail_msg("tls_server_ctx: %s", err.msg);
	s = start(ctx, 2, 5, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_load_verify_locations(cctx, cert_path, NULL),
	    1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);

	c = cl_open(p);
	if (tls_connect(c, cctx, NULL) == NULL)
		fail_msg("TLS handshake failed: %lu", ERR_get_error());
	assert_int_equal(SSL_version(c->ssl), TLS1_3_VERSION);
	for (i = 0; i < 3; i++) {
		cl_sends(c, "POST /tls HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
		    "Cookie: kbs-session-id=t\r\n\r\nhi");
		assert_int_equal(cl_reply(c, &r, 0), 0);
		j = reply_json(&r);
		assert_true(json_is_true(json_object_get(j, "tls")));
		assert_string_equal(jstr(j, "body"), "hi");
		assert_string_equal(jstr(j, "cookie"), "t");
		json_decref(j);
		reply_free(&r);
	}
	/* A 413 over TLS is delivered before the close. */
	cl_sends(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_problem(&r, 413, "PayloadTooLarge");
	reply_free(&r);
	assert_int_equal(cl_recv(c), 0);
	sess = SSL_get1_session(c->ssl);
	assert_non_null(sess);
	cl_close(c);

	/* Resumption from the server's session cache. */
	c = cl_open(p);
	assert_non_null(tls_connect(c, cctx, sess));
	cl_sends(c, "GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(SSL_session_reused(c->ssl), 1);
	SSL_SESSION_free(sess);
	cl_close(c);

	/* TLS 1.2 with the suites we allow; a CBC suite is refused. */
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	c = cl_open(p);
	assert_non_null(tls_connect(c, cctx, NULL));
	assert_string_equal(SSL_get_cipher_name(c->ssl),
	    "ECDHE-ECDSA-AES256-GCM-SHA384");
	cl_sends(c, "GET /12 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cl_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	cl_close(c);
	SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-SHA256");
	c = cl_open(p);
	assert_null(tls_connect(c, cctx, NULL));
	ERR_clear_error();
	cl_close(c);

	/* Plain HTTP to the TLS port gets nowhere. */
	c = cl_open(p);
	cl_sends(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(cl_recv(c) <= 0 || strncmp(c->buf, "HTTP/", 5) != 0);
	cl_close(c);

	http_server_stop(s);
	SSL_CTX_free(ctx);

	/* Minimum version 1.3 refuses a 1.2-only client. */
	ctx = tls_server_ctx(cert_path, key_path, "1.3", &err);
	assert_non_null(ctx);
	s = start(ctx, 1, 5, &err);
	assert_non_null(s);
	SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
	c = cl_open(http_server_port(s, 0));
	assert_null(tls_connect(c, cctx, NULL));
	ERR_clear_error();
	cl_close(c);
	http_server_stop(s);
	SSL_CTX_free(ctx);
	SSL_CTX_free(cctx);
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
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_split_writes),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_413),
		cmocka_unit_test(test_400),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_nul),
		cmocka_unit_test(test_strict_wire),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_cookie_wire),
		cmocka_unit_test(test_cookie_unit),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_status_and_close),
		cmocka_unit_test(test_problem_body),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_idle_timeouts),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_connection_caps),
		cmocka_unit_test(test_exclusive_bind),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_errors),
	};

	log_init("test_http", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
