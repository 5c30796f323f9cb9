/*
 * test_console_auth.c: the console's request gate (console_auth.c,
 * loginguard.c): the session cookie and the CSRF token and origin checks
 * of API requests, the source address of a peer, the login guard's
 * delays and locks per user name, and the login rate per source.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "consolefix.h"

/* ------------------------------------------------- console_auth (CSRF) */

static struct http_header hdrs[4];

static void
fake_request(struct http_request *r, enum http_method m, const char *cookie,
    const char *csrf, const char *origin)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->method = m;
	r->method_name = m == HTTP_M_GET ? "GET" : "POST";
	r->path = r->target = (char *)"/api/v1/whoami";
	snprintf(r->peer, sizeof(r->peer), "10.1.2.3:5555");
	r->tls = 1;
	if (cookie != NULL) {
		hdrs[n].name = (char *)"Cookie";
		hdrs[n++].value = (char *)cookie;
	}
	if (csrf != NULL) {
		hdrs[n].name = (char *)"X-CSRF-Token";
		hdrs[n++].value = (char *)csrf;
	}
	if (origin != NULL) {
		hdrs[n].name = (char *)"Origin";
		hdrs[n++].value = (char *)origin;
		hdrs[n].name = (char *)"Host";
		hdrs[n++].value = (char *)"console.example:8443";
	}
	r->headers = hdrs;
	r->nheaders = n;
}

static void
test_console_auth_api(void **state)
{
	struct console_auth_config cc = { 1, 600, 3600, { 5, 3, 60, 900 } };
	char tok[CONSESS_TOKEN_LEN + 1], cookie[128];
	struct admin_identity id;
	struct http_request r;
	struct consess s;
	struct error err;
	int64_t gen;
	char role[USERS_ROLE_MAX];
	struct fixture *f = *state;

	assert_int_equal(console_auth_init(f->st, &cc, &err), 0);
	assert_int_equal(users_add("erin", "operator", "erin-pass-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_authenticate("erin", "erin-pass-1", 11, role,
	    &gen, &err), 0);
	assert_int_equal(consess_create("erin", gen, "p", now_unix(), tok, &s,
	    &err), 0);
	snprintf(cookie, sizeof(cookie), "a=b; %s=%s", CONSOLE_COOKIE, tok);

	/* No cookie: not this path. An Authorization header always wins. */
	fake_request(&r, HTTP_M_GET, NULL, NULL, NULL);
	assert_false(console_auth_applies(&r));
	fake_request(&r, HTTP_M_GET, cookie, NULL, NULL);
	assert_true(console_auth_applies(&r));

	/* GET needs no CSRF token. */
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	assert_string_equal(id.role, "operator");
	assert_string_equal(id.sub, "erin");
	assert_string_equal(id.actor, "erin (operator)");
	/* A state change needs it, and from the same origin. */
	fake_request(&r, HTTP_M_POST, cookie, NULL, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, "wrong", NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf, "https://evil.example");
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf,
	    "https://console.example:8443");
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	/* A disabled user's session is over. */
	assert_int_equal(users_set_disabled("erin", 1, "t", &err), 0);
	fake_request(&r, HTTP_M_GET, cookie, NULL, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err),
	    ADMIN_UNAUTHENTICATED);
	console_auth_shutdown();
	users_init(f->st, &err);
	consess_init(f->st, 600, 3600, &err);
}

static void
test_source(void **state)
{
	char out[64];

	(void)state;
	console_auth_source("192.0.2.1:443", out, sizeof(out));
	assert_string_equal(out, "192.0.2.1");
	console_auth_source("[2001:db8::1]:8080", out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
}

/* ----------------------------------------------------------- login guard */

static void
test_loginguard(void **state)
{
	struct loginguard_config c = { 6, 3, 60, 900 };
	int64_t t = 1800000000000LL;	/* ms */
	int locked, i;

	(void)state;
	loginguard_init(&c);
	for (i = 0; i < 2; i++) {
		assert_int_equal(loginguard_check("frank", t, &locked), 0);
		loginguard_failure("frank", t);
	}
	assert_int_equal(loginguard_check("frank", t, &locked), 0);
	loginguard_failure("frank", t);			/* 3rd: wait 1 s */
	assert_int_equal(loginguard_check("frank", t, &locked), 1);
	assert_false(locked);
	assert_int_equal(loginguard_check("frank", t + 1000, &locked), 0);
	loginguard_failure("frank", t + 1000);		/* 4th: 2 s */
	assert_int_equal(loginguard_check("frank", t + 1000, &locked), 2);
	loginguard_failure("frank", t + 3000);		/* 5th: 4 s */
	assert_int_equal(loginguard_check("frank", t + 3000, &locked), 4);
	loginguard_failure("frank", t + 7000);		/* 6th: locked */
	assert_int_equal(loginguard_check("frank", t + 7000, &locked), 900);
	assert_true(locked);
	assert_int_equal(loginguard_check("frank", t + 8000, &locked), 899);
	/* Other names are not affected ... */
	assert_int_equal(loginguard_check("gina", t + 8000, &locked), 0);
	/* ... and the lock ends. */
	assert_int_equal(loginguard_check("frank", t + 907000, &locked), 0);
	/* A success clears the name's failures; an admin reset too. */
	loginguard_init(&c);
	for (i = 0; i < 4; i++)
		loginguard_failure("henry", t);
	assert_true(loginguard_check("henry", t, &locked) > 0);
	loginguard_success("henry", t);
	assert_int_equal(loginguard_check("henry", t, &locked), 0);
	for (i = 0; i < 6; i++)
		loginguard_failure("henry", t);
	assert_true(loginguard_check("henry", t, &locked) > 0);
	loginguard_reset_user("henry");
	assert_int_equal(loginguard_check("henry", t, &locked), 0);
	/* Waits round up to whole seconds. */
	loginguard_init(&c);
	for (i = 0; i < 3; i++)
		loginguard_failure("judy", t);
	assert_int_equal(loginguard_check("judy", t + 1, &locked), 1);
	assert_int_equal(loginguard_check("judy", t + 999, &locked), 1);
	assert_int_equal(loginguard_check("judy", t + 1000, &locked), 0);
	/* Failures older than the window are forgotten. */
	for (i = 0; i < 3; i++)
		loginguard_failure("ivan", t);
	assert_int_equal(loginguard_check("ivan", t + 901000, &locked), 0);
}

/* Per source, logins take tokens of the shared limiter (RL_LOGIN). */
static void
test_login_rate(void **state)
{
	struct console_auth_config cc = { 1, 600, 3600, { 50, 50, 60, 900 } };
	struct ratelimit_rule rules[RL_NCLASS] = { { 0, 0 } };
	static const char bad[] = "{\"username\":\"nobody\",\"password\":"
	    "\"wrong-password\"}";
	static const char good[] = "{\"username\":\"rita\",\"password\":"
	    "\"rita-password\"}";
	const char *body;
	struct http_header h[1] = { { (char *)"Content-Type",
	    (char *)"application/json" } };
	struct http_request r;
	struct http_response resp;
	struct sockaddr_in sa;
	struct fixture *f = *state;
	struct error err;
	int i, status[8];

	rules[RL_LOGIN].rate = 0.01;
	rules[RL_LOGIN].burst = 3;
	ratelimit_init(rules, 64);
	assert_int_equal(console_auth_init(f->st, &cc, &err), 0);
	assert_int_equal(users_add("rita", "auditor", "rita-password", 13, "t",
	    &err), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0xc0000201);		/* 192.0.2.1 */
	for (i = 0; i < 8; i++) {
		body = i < 4 ? good : bad;
		memset(&r, 0, sizeof(r));
		memset(&resp, 0, sizeof(resp));
		r.method = HTTP_M_POST;
		r.method_name = "POST";
		r.path = r.target = (char *)"/console/api/login";
		snprintf(r.peer, sizeof(r.peer), "192.0.2.1:4444");
		ratelimit_source_from((struct sockaddr *)&sa, &r.source);
		r.tls = 1;
		r.headers = h;
		r.nheaders = 1;
		r.body = (uint8_t *)body;
		r.body_len = strlen(body);
		console_auth_login(&r, &resp, NULL);
		status[i] = resp.status;
		if (i == 7) {
			assert_non_null(memmem(resp.headers.data,
			    resp.headers.len, "Retry-After: ", 13));
		}
		buf_free(&resp.body);
		buf_free(&resp.headers);
	}
	/* Logins that succeed use none of the rate (burst 3) ... */
	for (i = 0; i < 4; i++)
		assert_int_equal(status[i], 200);
	/* ... three wrong passwords do, then the source is over it: 429
	 * before any password work. */
	assert_int_equal(status[4], 401);
	assert_int_equal(status[6], 401);
	assert_int_equal(status[7], 429);
	ratelimit_shutdown();
	console_auth_shutdown();
	users_init(f->st, &err);
	consess_init(f->st, 600, 3600, &err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_console_auth_api,
		    consolefix_setup, consolefix_teardown),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_loginguard),
		cmocka_unit_test_setup_teardown(test_login_rate,
		    consolefix_setup, consolefix_teardown),
	};

	log_init("test_console_auth", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
