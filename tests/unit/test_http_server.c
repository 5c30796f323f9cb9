/*
 * test_http_server.c: the HTTP server's life cycle and listeners
 * (server/http.c): connections spread over the workers, backpressure on
 * a client that does not read, stop with its grace period, listen
 * addresses (errors, several, IPv6) and the exclusive bind that refuses
 * a second server on an address. Over real sockets (httpfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include "httpfix.h"

static void
test_workers(void **state)
{
	json_int_t first = -1;
	int i, other = 0;

	(void)state;
	/* SO_REUSEPORT spreads connections over both workers: 32 in a row
	 * landing on one worker would be a 2^-31 accident. */
	for (i = 0; i < 32 && !other; i++) {
		struct httpfix_reply r;
		json_t *j = httpfix_roundtrip("GET /w HTTP/1.1\r\n"
		    "Host: t\r\n\r\n", &r);
		json_int_t t = json_integer_value(json_object_get(j,
		    "thread"));

		if (first == -1)
			first = t;
		else if (t != first)
			other = 1;
		json_decref(j);
		httpfix_reply_free(&r);
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
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct buf reqs = { 0 };
	size_t sent = 0, got = 0, rsize = 0;
	int i, done = 0;

	(void)state;
	for (i = 0; i < N; i++)
		buf_printf(&reqs, "GET /big?%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	while (!done) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		struct httpfix_reply r;

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
		assert_true(httpfix_recv(c) > 0);
		/* Consume complete replies. */
		for (;;) {
			char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			char want[16];

			if (end == NULL || c->len < (size_t)(end - c->buf) +
			    4 + 4096)
				break;
			assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
			assert_int_equal(r.status, 200);
			assert_int_equal(r.body_len, 4096);
			snprintf(want, sizeof(want), "%zu.", got);
			assert_memory_equal(r.body, want, strlen(want));
			rsize += r.body_len;
			httpfix_reply_free(&r);
			if (++got == N)
				done = 1;
		}
	}
	assert_int_equal(rsize, (size_t)N * 4096);
	buf_free(&reqs);
	httpfix_close(c);
}

static void
test_stop(void **state)
{
	struct http_server *s;
	struct httpfix_client *idle, *busy;
	struct httpfix_reply r;
	struct error err;
	struct timespec t0, t1;
	double dt;
	int p;

	(void)state;
	/* Immediately stopped. */
	s = httpfix_start(NULL, 3, 5, &err);
	assert_non_null(s);
	http_server_stop(s);

	s = httpfix_start(NULL, 2, 5, &err);
	assert_non_null(s);
	p = http_server_port(s, 0);
	idle = httpfix_open(p);
	httpfix_sends(idle, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(idle, &r, 0), 0);
	httpfix_reply_free(&r);
	busy = httpfix_open(p);
	httpfix_sends(busy, "POST /x HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 10\r\n\r\n12345");
	usleep(100 * 1000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_server_stop(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* The half-received request gets the grace period, no more. */
	assert_true(dt >= 1.5 && dt < 3.5);
	httpfix_assert_eof(idle);
	assert_true(httpfix_recv(busy) <= 0);
	httpfix_close(idle);
	httpfix_close(busy);

	/* Nothing listens any more. */
	assert_int_equal(httpfix_tcp_connect(p), -1);
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
		.nlisten = 1, .workers = 2, .handler = httpfix_echo_handler,
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
	fd = httpfix_tcp_connect(http_server_port(s, 1));
	assert_true(fd >= 0);
	close(fd);
	http_server_stop(s);
}

static void
test_ipv6(void **state)
{
	char *l[] = { "[::1]:0" };
	struct http_server_config cfg = {
		.listen = l, .nlisten = 1, .workers = 2, .handler = httpfix_echo_handler,
	};
	struct sockaddr_in6 sin6;
	struct http_server *s;
	struct httpfix_client *c;
	struct httpfix_reply r;
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
	httpfix_sends(c, "GET /v6 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_int_equal(strncmp(httpfix_jstr(j, "peer"), "[::1]:", 6), 0);
	json_decref(j);
	httpfix_reply_free(&r);
	httpfix_close(c);
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
		.handler = httpfix_echo_handler,
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_exclusive_bind),
	};

	log_init("test_http_server", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, httpfix_group_setup,
	    httpfix_group_teardown);
}
