/*
 * test_http_parse.c: how the HTTP front end (server/http.c) turns bytes
 * into requests: the request line and target, keep-alive and pipelining,
 * writes split anywhere, chunked bodies, the body and header size limits,
 * malformed and smuggling shapes refused by the strict framing check
 * (http_scan_*, on its own and over the wire) with the connection closed,
 * and Expect: 100-continue. Over real sockets (httpfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpfix.h"

static void
test_routing(void **state)
{
	struct httpfix_reply r;
	json_t *j;

	(void)state;
	j = httpfix_roundtrip("GET /kbs/v0/resource/a/b/c?x=1&y=%20 "
	    "HTTP/1.1\r\nHost: t\r\nX-Test:  spaced value \t\r\n\r\n", &r);
	assert_string_equal(httpfix_jstr(j, "method"), "GET");
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_GET);
	assert_string_equal(httpfix_jstr(j, "path"), "/kbs/v0/resource/a/b/c");
	assert_string_equal(httpfix_jstr(j, "query"), "x=1&y=%20");
	assert_string_equal(httpfix_jstr(j, "target"),
	    "/kbs/v0/resource/a/b/c?x=1&y=%20");
	assert_string_equal(httpfix_jstr(j, "xtest"), "spaced value");
	assert_string_equal(httpfix_jstr(j, "body"), "");
	assert_true(json_is_false(json_object_get(j, "tls")));
	assert_int_equal(strncmp(httpfix_jstr(j, "peer"), "127.0.0.1:", 10), 0);
	assert_int_equal(httpfix_count_header(&r, "Content-Type"), 1);
	assert_int_equal(httpfix_count_header(&r, "Connection"), 0);
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("POST /kbs/v0/auth HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 11\r\n\r\nhello world", &r);
	assert_string_equal(httpfix_jstr(j, "method"), "POST");
	assert_string_equal(httpfix_jstr(j, "body"), "hello world");
	assert_true(json_is_true(json_object_get(j, "body_nul")));
	assert_true(json_is_null(json_object_get(j, "query")));
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("DELETE /kbs/v0/resource/x/y/z HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(httpfix_jstr(j, "method"), "DELETE");
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_DELETE);
	assert_string_equal(httpfix_jstr(j, "path"), "/kbs/v0/resource/x/y/z");
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("PUT /p? HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_PUT);
	assert_string_equal(httpfix_jstr(j, "path"), "/p");
	assert_string_equal(httpfix_jstr(j, "query"), "");
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("OPTIONS /o HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(json_integer_value(json_object_get(j, "m")),
	    HTTP_M_OTHER);
	assert_string_equal(httpfix_jstr(j, "method"), "OPTIONS");
	json_decref(j);
	httpfix_reply_free(&r);
}

static void
test_keepalive(void **state)
{
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct httpfix_reply r;
	char path[32];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		char req[128];
		json_t *j;

		snprintf(req, sizeof(req), "GET /ka/%d HTTP/1.1\r\n"
		    "Host: t\r\n\r\n", i);
		httpfix_sends(c, req);
		assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(httpfix_count_header(&r, "Connection"), 0);
		j = httpfix_json(&r);
		snprintf(path, sizeof(path), "/ka/%d", i);
		assert_string_equal(httpfix_jstr(j, "path"), path);
		json_decref(j);
		httpfix_reply_free(&r);
	}
	/* Connection: close from the client: answered, then closed. */
	httpfix_sends(c, "GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(httpfix_count_header(&r, "Connection"), 1);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);
}

static void
test_pipelined(void **state)
{
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct httpfix_reply r;
	json_t *j;

	(void)state;
	httpfix_sends(c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
	    "POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	    "GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "path"), "/one");
	json_decref(j);
	httpfix_reply_free(&r);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "path"), "/two");
	assert_string_equal(httpfix_jstr(j, "body"), "abc");
	json_decref(j);
	httpfix_reply_free(&r);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "path"), "/three");
	json_decref(j);
	httpfix_reply_free(&r);
	/* Nothing after the request that asked to close. */
	httpfix_assert_eof(c);
	httpfix_close(c);
}

static void
test_split_writes(void **state)
{
	const char *req = "POST /split?q=1 HTTP/1.1\r\nHost: t\r\nX-Test: abc\r\n"
	    "Cookie: kbs-session-id=s1\r\nContent-Length: 5\r\n\r\nhello";
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct httpfix_reply r;
	json_t *j;
	size_t i;

	(void)state;
	/* One byte per write: every parser callback is split. */
	for (i = 0; req[i] != '\0'; i++) {
		httpfix_send(c, req + i, 1);
		usleep(200);
	}
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "path"), "/split");
	assert_string_equal(httpfix_jstr(j, "query"), "q=1");
	assert_string_equal(httpfix_jstr(j, "xtest"), "abc");
	assert_string_equal(httpfix_jstr(j, "cookie"), "s1");
	assert_string_equal(httpfix_jstr(j, "body"), "hello");
	json_decref(j);
	httpfix_reply_free(&r);
	httpfix_close(c);
}

static void
test_chunked(void **state)
{
	struct httpfix_reply r;
	json_t *j;

	(void)state;
	j = httpfix_roundtrip("POST /c HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(httpfix_jstr(j, "body"), "hello world");
	json_decref(j);
	httpfix_reply_free(&r);
}

static void
test_413(void **state)
{
	struct httpfix_client *c;
	struct httpfix_reply r;
	char req[4096];
	int i, n;

	(void)state;
	/* Content-Length over the limit: refused before the body. */
	c = httpfix_open(httpfix_port);
	httpfix_sends(c, "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	assert_non_null(strstr(r.body, "limit of 1024 bytes"));
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);

	/* Exactly at the limit is fine. */
	c = httpfix_open(httpfix_port);
	n = snprintf(req, sizeof(req), "POST /ok HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: %d\r\n\r\n", HTTPFIX_MAX_BODY);
	memset(req + n, 'a', HTTPFIX_MAX_BODY);
	httpfix_send(c, req, (size_t)n + HTTPFIX_MAX_BODY);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* Chunked: refused once the chunks add up to more. */
	c = httpfix_open(httpfix_port);
	httpfix_sends(c, "POST /big HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 5; i++) {
		n = snprintf(req, sizeof(req), "100\r\n");
		memset(req + n, 'b', 256);
		memcpy(req + n + 256, "\r\n", 2);
		httpfix_send(c, req, (size_t)n + 258);
	}
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 413, "PayloadTooLarge");
	httpfix_reply_free(&r);
	httpfix_close(c);
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
	struct httpfix_client *c;
	struct httpfix_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		c = httpfix_open(httpfix_port);
		httpfix_sends(c, bad[i]);
		assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
		httpfix_assert_problem(&r, 400, "BadRequest");
		assert_non_null(strstr(r.body, "malformed request: "));
		httpfix_reply_free(&r);
		httpfix_assert_eof(c);
		httpfix_close(c);
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
	struct httpfix_client *c;
	struct httpfix_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		c = httpfix_open(httpfix_port);
		httpfix_sends(c, cases[i].req);
		assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
		httpfix_assert_problem(&r, cases[i].status, cases[i].type);
		assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
		httpfix_reply_free(&r);
		httpfix_assert_eof(c);
		httpfix_close(c);
	}
}

static void
test_header_limits(void **state)
{
	struct httpfix_client *c;
	static char req[16384];
	struct httpfix_reply r;
	size_t n = 0;
	int i;

	(void)state;
	/* One header bigger than the limit. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + n, 'x', HTTPFIX_MAX_HEADER);
	n += HTTPFIX_MAX_HEADER;
	n += (size_t)sprintf(req + n, "\r\n\r\n");
	c = httpfix_open(httpfix_port);
	httpfix_send(c, req, n);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* A long URL counts too. */
	n = (size_t)sprintf(req, "GET /");
	memset(req + n, 'u', HTTPFIX_MAX_HEADER);
	n += HTTPFIX_MAX_HEADER;
	n += (size_t)sprintf(req + n, " HTTP/1.1\r\nHost: t\r\n\r\n");
	c = httpfix_open(httpfix_port);
	httpfix_send(c, req, n);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* 101 small headers. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 101; i++)
		n += (size_t)sprintf(req + n, "H%d: v\r\n", i);
	n += (size_t)sprintf(req + n, "\r\n");
	c = httpfix_open(httpfix_port);
	httpfix_send(c, req, n);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	httpfix_assert_problem(&r, 431, "RequestHeaderFieldsTooLarge");
	assert_non_null(strstr(r.body, "more than 100 header fields"));
	httpfix_reply_free(&r);
	httpfix_close(c);

	/* 100 are fine. */
	n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 98; i++)
		n += (size_t)sprintf(req + n, "H%d: v\r\n", i);
	n += (size_t)sprintf(req + n, "X-Test: last\r\n\r\n");
	c = httpfix_open(httpfix_port);
	httpfix_send(c, req, n);
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"xtest\":\"last\""));
	httpfix_reply_free(&r);
	httpfix_close(c);
}

static void
test_expect_continue(void **state)
{
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct httpfix_reply r;
	json_t *j;

	(void)state;
	httpfix_sends(c, "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
	    "Expect: 100-continue\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 1), 0);
	assert_int_equal(r.status, 100);
	httpfix_reply_free(&r);
	httpfix_sends(c, "data");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "body"), "data");
	json_decref(j);
	httpfix_reply_free(&r);
	httpfix_close(c);
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
		cmocka_unit_test(test_expect_continue),
	};

	log_init("test_http_parse", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, httpfix_group_setup,
	    httpfix_group_teardown);
}
