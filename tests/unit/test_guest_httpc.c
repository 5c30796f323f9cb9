/*
 * test_guest_httpc.c: the client's HTTP side (lib/httpc.c): URL parsing
 * and the Cookie header against known answers, then keep-alive,
 * reconnects, cookies, path prefixes, timeouts and a refused connection
 * against the in-process server (guestfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "guestfix.h"

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
	struct guestfix_srv *s = *state;
	struct httpc *c = guestfix_client(s, "", 5);
	struct httpc_response r;
	struct error err = { "" };
	const char *hdrs[] = { "X-Test:  yes", NULL };
	char v[128];

	get_ok(c, "/echo", 200, "");
	assert_non_null(guestfix_hdr_get(s->last_req, "Host", v, sizeof(v)));
	snprintf(err.msg, sizeof(err.msg), "127.0.0.1:%d", s->port);
	assert_string_equal(v, err.msg);
	assert_null(guestfix_hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	get_ok(c, "/setcookie", 200, "{}");
	get_ok(c, "echo", 200, "");	/* a leading '/' is added */
	assert_non_null(guestfix_hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	assert_string_equal(v, "sid=abc123");
	/* Disabled: neither sent nor stored; the jar survives. */
	httpc_set_cookies(c, 0);
	assert_int_equal(httpc_cookies_enabled(c), 0);
	get_ok(c, "/echo", 200, "");
	assert_null(guestfix_hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	httpc_set_cookies(c, 1);
	get_ok(c, "/echo", 200, "");
	assert_non_null(guestfix_hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	httpc_clear_cookies(c);
	get_ok(c, "/echo", 200, "");
	assert_null(guestfix_hdr_get(s->last_req, "Cookie", v, sizeof(v)));
	/* Everything so far on one kept-alive connection. */
	assert_int_equal(s->nconn, 1);

	/* POST: body and exact Content-Length, caller headers. */
	assert_int_equal(httpc_request(c, "POST", "/echo", hdrs, "a\0c", 3,
	    &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 3);
	assert_memory_equal(r.body.data, "a\0c", 3);
	assert_non_null(guestfix_hdr_get(s->last_req, "Content-Length", v,
	    sizeof(v)));
	assert_string_equal(v, "3");
	assert_non_null(guestfix_hdr_get(s->last_req, "X-Test", v, sizeof(v)));
	assert_string_equal(v, "yes");
	assert_string_equal(r.content_type, "text/plain");
	httpc_response_clear(&r);
	/* An empty POST still says Content-Length: 0. */
	assert_int_equal(httpc_request(c, "POST", "/echo", NULL, NULL, 0,
	    &r, &err), 0);
	assert_non_null(guestfix_hdr_get(s->last_req, "Content-Length", v,
	    sizeof(v)));
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
	struct guestfix_srv *s = *state;
	struct httpc *c = guestfix_client(s, "/pfx/", 1);
	struct httpc_response r;
	struct error err = { "" };

	get_ok(c, "/kbs/v0/x", 404, NULL);
	assert_memory_equal(s->last_req, "GET /pfx/kbs/v0/x HTTP/1.1\r\n", 28);
	httpc_free(c);
	c = guestfix_client(s, "", 1);
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
	fd = guestfix_listen(&port);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_cookie_header),
		cmocka_unit_test_setup_teardown(test_httpc_keepalive_cookies,
		    guestfix_setup, guestfix_teardown),
		cmocka_unit_test_setup_teardown(test_httpc_prefix_timeout,
		    guestfix_setup, guestfix_teardown),
		cmocka_unit_test(test_httpc_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
