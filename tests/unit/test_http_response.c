/*
 * test_http_response.c: what a handler of the HTTP front end
 * (server/http.c) reads and answers: request headers and cookies
 * (http_request_header, http_request_cookie), response headers with
 * injection refused, problem bodies (http_problem), HEAD, a handler that
 * sets no status, and when the connection is closed or kept (Connection,
 * HTTP/1.0). Over real sockets (httpfix.h) and on the helpers directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpfix.h"

static void
test_cookie_wire(void **state)
{
	struct httpfix_reply r;
	json_t *j;

	(void)state;
	j = httpfix_roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: a=b; xkbs-session-id=no; "
	    "kbs-session-id=abc123 ; z=1\r\n\r\n", &r);
	assert_string_equal(httpfix_jstr(j, "cookie"), "abc123");
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: a=b\r\nX-Test: 1\r\n"
	    "cookie: kbs-session-id=\"quoted\"\r\n\r\n", &r);
	assert_string_equal(httpfix_jstr(j, "cookie"), "quoted");
	json_decref(j);
	httpfix_reply_free(&r);

	j = httpfix_roundtrip("GET / HTTP/1.1\r\nHost: t\r\nCookie: kbs-session-id-x=1; "
	    "kbs-session-idd=2;kbs-session-i=3\r\n\r\n", &r);
	assert_true(json_is_null(json_object_get(j, "cookie")));
	json_decref(j);
	httpfix_reply_free(&r);
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
	struct httpfix_reply r;
	char v[32];

	(void)state;
	httpfix_roundtrip("GET /inject HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 204);
	assert_null(strstr(r.head, "X-Evil"));
	assert_null(strstr(r.head, "X-Bad"));
	assert_null(strstr(r.head, "Bad Name"));
	assert_string_equal(httpfix_header(&r, "X-Good", v, sizeof(v)),
	    "yes 42");
	assert_string_equal(httpfix_header(&r, "X-Good2", v, sizeof(v)),
	    "as is %d");
	assert_string_equal(httpfix_header(&r, "X-Good3", v, sizeof(v)),
	    "constant");
	/* 204: no Content-Length, no body. */
	assert_int_equal(httpfix_count_header(&r, "Content-Length"), 0);
	httpfix_reply_free(&r);
}

static void
test_head(void **state)
{
	struct httpfix_client *c = httpfix_open(httpfix_port);
	struct httpfix_reply r;
	char cl[16];
	json_t *j;

	(void)state;
	httpfix_sends(c, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(httpfix_header(&r, "Content-Length", cl, sizeof(cl)));
	assert_true(atoi(cl) > 20);
	httpfix_reply_free(&r);
	/* If the HEAD reply had carried a body, this would not parse. */
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	j = httpfix_json(&r);
	assert_string_equal(httpfix_jstr(j, "path"), "/after");
	json_decref(j);
	httpfix_reply_free(&r);
	httpfix_close(c);
}

static void
test_status_and_close(void **state)
{
	struct httpfix_client *c;
	struct httpfix_reply r;

	(void)state;
	httpfix_roundtrip("GET /nostatus HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	httpfix_assert_problem(&r, 500, "InternalError");
	httpfix_reply_free(&r);

	c = httpfix_open(httpfix_port);
	httpfix_sends(c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);

	/* HTTP/1.0: closes unless keep-alive is asked for. */
	c = httpfix_open(httpfix_port);
	httpfix_sends(c, "GET /10 HTTP/1.0\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);

	c = httpfix_open(httpfix_port);
	httpfix_sends(c, "GET /10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_non_null(strstr(r.head, "\r\nConnection: keep-alive\r\n"));
	httpfix_reply_free(&r);
	httpfix_sends(c, "GET /10b HTTP/1.0\r\n\r\n");
	assert_int_equal(httpfix_read_reply(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	httpfix_reply_free(&r);
	httpfix_assert_eof(c);
	httpfix_close(c);
}

static void
test_problem_body(void **state)
{
	struct http_response resp = { 0 };
	const char *want = "{\"type\":\"" HTTPFIX_PFX "TokenNotFound\","
	    "\"detail\":\"bad \\\"q\\\"\\n\xef\xbf\xbd\"}";
	struct httpfix_reply r;

	(void)state;
	http_problem(&resp, 401, "TokenNotFound", "bad \"%s\"\n\xff", "q");
	assert_int_equal(resp.status, 401);
	assert_string_equal(buf_cstr(&resp.body), want);
	assert_string_equal(buf_cstr(&resp.headers),
	    "Content-Type: application/json\r\n");
	/* A second problem replaces the first, headers included. */
	http_problem(&resp, 404, "PluginNotFound", "Plugin %s not found",
	    "x\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xac");
	assert_string_equal(buf_cstr(&resp.body), "{\"type\":\"" HTTPFIX_PFX
	    "PluginNotFound\",\"detail\":\"Plugin x"
	    "\xef\xbf\xbd\xef\xbf\xbd"			/* overlong */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"		/* surrogate */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"	/* > U+10FFFF */
	    "\xe2\x82\xac not found\"}");
	assert_string_equal(buf_cstr(&resp.headers),
	    "Content-Type: application/json\r\n");
	buf_free(&resp.headers);
	buf_free(&resp.body);

	httpfix_roundtrip("GET /problem?q HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	httpfix_assert_problem(&r, 401, "TokenNotFound");
	assert_int_equal(r.body_len, strlen(want));
	assert_memory_equal(r.body, want, strlen(want));
	httpfix_reply_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_wire),
		cmocka_unit_test(test_cookie_unit),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_status_and_close),
		cmocka_unit_test(test_problem_body),
	};

	log_init("test_http_response", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, httpfix_group_setup,
	    httpfix_group_teardown);
}
