/*
 * test_http_limits.c: the HTTP server's limits on abusive clients
 * (server/http.c): idle and request timeouts against trickled headers,
 * per-route body caps and refusals decided before the body (preflight),
 * the in-flight budget for request bodies, and the per-source and global
 * connection caps. Over real sockets (httpfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>

#include "httpfix.h"

static void
test_idle_timeouts(void **state)
{
	struct http_server *s;
	struct httpfix_client *c;
	struct httpfix_reply r;
	struct error err;
	int p, i;

	(void)state;
	s = httpfix_start(NULL, 1, 1, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	/* Idle connection: closed after about a second, no reply. */
	c = httpfix_open(p);
	assert_int_equal(httpfix_recv(c), 0);
	httpfix_close(c);

	/* Trickled headers: the request deadline runs from its first
	 * byte, whatever the pace. */
	c = httpfix_open(p);
	httpfix_sends(c, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 10; i++) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };

		usleep(300 * 1000);
		if (poll(&pfd, 1, 0) == 1)
			break;		/* answered */
		httpfix_sends(c, "X: y\r\n");
	}
	assert_true(i >= 3 && i < 10);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 408, "RequestTimeout");
	httpfix_reply_free(&r);
	httpfix_close(c);
	http_server_stop(s);
}

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

static struct httpfix_client *
cl_open_from(int p, const char *from)
{
	struct httpfix_client *c = calloc(1, sizeof(*c));

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
		cfg->max_body = HTTPFIX_MAX_BODY;
	cfg->max_header = HTTPFIX_MAX_HEADER;
	cfg->handler = httpfix_echo_handler;
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
	struct httpfix_client *c;
	struct httpfix_reply r;
	struct error err;
	char v[32], req[2048];
	int p, n;
	json_t *j;

	(void)state;
	s = start_limited(&cfg, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);

	c = httpfix_open(p);
	httpfix_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 16\r\n\r\n0123456789abcdef");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	httpfix_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 17\r\nExpect: 100-continue\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	assert_non_null(strstr(r.body, "limit of 16 bytes on this route"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);

	/* Chunked: refused when the chunks pass the cap. */
	c = httpfix_open(p);
	httpfix_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"
	    "1\r\nx\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* A route cannot raise the server's cap. */
	c = httpfix_open(p);
	n = snprintf(req, sizeof(req), "POST /huge HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", HTTPFIX_MAX_BODY + 1);
	httpfix_send(c, req, (size_t)n);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* Refused before the body: the client still sending it gets the
	 * answer (the server reads and drops the rest before closing). */
	c = httpfix_open(p);
	n = snprintf(req, sizeof(req), "POST /refuse HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 1000\r\n\r\n");
	memset(req + n, 'z', 1000);
	httpfix_send(c, req, (size_t)n + 1000);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 429, "TooManyRequests");
	assert_string_equal(httpfix_header(&r, "Retry-After", v, sizeof(v)),
	    "7");
	assert_non_null(strstr(r.body, "slow down, 127.0.0.1:"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);

	/* Other routes keep the server's cap. */
	j = NULL;
	c = httpfix_open(p);
	httpfix_sends(c, "POST /other HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 20\r\n\r\n0123456789abcdefghij");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "body"), "0123456789abcdefghij");
	json_decref(j);
	httpfix_reply_free(&r);
	httpfix_close(c);

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
	struct httpfix_client *a, *b;
	struct httpfix_reply r;
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
	a = httpfix_open(p);
	n = snprintf(req, sizeof(req), "POST /a HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", 48 * 1024);
	memset(req + n, 'a', 48 * 1024);
	httpfix_send(a, req, (size_t)n + 40 * 1024);
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.inflight >= 40 * 1024)
			break;
		usleep(10 * 1000);
	}
	assert_true(st.inflight >= 40 * 1024);
	assert_true(st.inflight <= 48 * 1024 + HTTPFIX_MAX_HEADER + 8192);

	/* b does the same: its body does not fit any more. */
	b = httpfix_open(p);
	n = snprintf(req, sizeof(req), "POST /b HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", 40 * 1024);
	memset(req + n, 'b', 40 * 1024);
	httpfix_send(b, req, (size_t)n + 40 * 1024);
	assert_int_equal(httpfix_read_reply(b, &r, 0), 0);
	httpfix_assert_problem(&r, 503, "ServiceUnavailable");
	assert_string_equal(httpfix_header(&r, "Retry-After", v, sizeof(v)),
	    "1");
	httpfix_reply_free(&r);
	httpfix_close(b);

	/* a completes normally. */
	httpfix_send(a, req + 100, 8 * 1024);
	assert_int_equal(httpfix_read_reply(a, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	httpfix_close(a);
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
	struct httpfix_client *c[8], *x;
	struct httpfix_reply r;
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
	assert_int_equal(httpfix_recv(x), 0);
	httpfix_close(x);
	httpfix_sends(c[2], "GET /still HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c[2], &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);

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
	httpfix_sends(x, "GET /new HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(x, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	assert_int_equal(httpfix_recv(c[0]), 0);
	httpfix_close(x);
	for (i = 0; i < 6; i++)
		httpfix_close(c[i]);
	for (i = 0; i < 1000; i++) {
		http_server_stats(s, &st);
		if (st.connections == 0)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(st.connections, 0);
	http_server_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_timeouts),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_connection_caps),
	};

	log_init("test_http_limits", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, httpfix_group_setup,
	    httpfix_group_teardown);
}
