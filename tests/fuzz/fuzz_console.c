/*
 * fuzz_console.c: the console's login body and the users API bodies on
 * hostile input, over a scratch store with one known user.
 *
 * Input layout: byte 0 selects the target:
 *   0: POST /console/api/login with the rest as the JSON body;
 *   1: an /api/v1/users route (byte 1 picks route and method) with the
 *      rest as the body, as an admin (InsecureAllowAll);
 *   2: the rest as the console cookie for GET /console/api/session,
 *      POST /console/api/logout and an /api/v1 call.
 * (Under FUZZING, password.c uses argon2id's minimum limits.)
 *
 * Checks: the status is one the endpoints document; every error is a
 * problem body; no answer carries a password hash (unless the input
 * itself held "$argon2", which an error may quote); a successful login
 * sets the cookie HttpOnly, Secure and SameSite=Strict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/api.h"
#include "../../server/audit.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fz_cfg;
static struct kbs_context fz_ctx;
static int fz_echo;		/* this input carries "$argon2" itself (and
				 * errors may quote it) */

static void
fz_init(void)
{
	static int done;
	struct console_auth_config cc = { 1, 600, 3600,
	    { 1000000, 1000000, 60, 900 } };
	struct error err;
	uint8_t key[32];

	if (done)
		return;
	done = 1;
	log_init("fuzz_console", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		abort();
	config_defaults(&fz_cfg);
	fz_cfg.admin_mode = ADMIN_INSECURE_ALLOW_ALL;
	randombytes_buf(key, sizeof(key));
	fz_ctx.cfg = &fz_cfg;
	fz_ctx.store = store_open_key(&store_backend_sqlite,
	    fuzzutil_scratch_db("fuzz_console"), key, &err);
	if (fz_ctx.store == NULL || audit_init(fz_ctx.store, &err) != 0 ||
	    admin_init(&fz_cfg, &err) != 0 ||
	    console_auth_init(fz_ctx.store, &cc, &err) != 0 ||
	    users_add("fuzzadmin", "admin", "fuzz-password", 13, "fuzz",
	    &err) != 0) {
		fprintf(stderr, "fuzz_console init: %s\n", err.msg);
		abort();
	}
}

static void
fz_check(const struct http_response *resp)
{
	static const int ok[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409,
	    415, 429, 500, 503 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++)
		if (ok[i] == resp->status)
			break;
	if (i == ARRAY_SIZE(ok))
		abort();
	if (!fz_echo && resp->body.len > 0 && memmem(resp->body.data,
	    resp->body.len, "$argon2", 7) != NULL)
		abort();
	if (resp->status >= 300)
		fuzzutil_check_problem(&resp->body);
	else if (resp->status != 204 && resp->body.len > 0) {
		json_t *v = json_loadb((const char *)resp->body.data,
		    resp->body.len, 0, NULL);

		if (v == NULL)
			abort();
		json_decref(v);
	}
}

static void
fz_request(struct http_request *req, enum http_method m, const char *path,
    struct http_header *h, size_t nh, const uint8_t *body, size_t len)
{
	memset(req, 0, sizeof(*req));
	req->method = m;
	req->method_name = m == HTTP_M_GET ? "GET" : m == HTTP_M_DELETE ?
	    "DELETE" : "POST";
	req->target = req->path = (char *)path;
	req->headers = h;
	req->nheaders = nh;
	req->body = (uint8_t *)body;
	req->body_len = len;
	snprintf(req->peer, sizeof(req->peer), "192.0.2.1:4444");
	req->tls = 1;
}

static void
fz_run(http_handler_fn fn, struct http_request *req)
{
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	fn(req, &resp, &fz_ctx);
	fz_check(&resp);
	if (fn == console_auth_login && resp.status == 200 &&
	    (resp.headers.len == 0 || memmem(resp.headers.data,
	    resp.headers.len, "HttpOnly; SameSite=Strict", 25) == NULL ||
	    memmem(resp.headers.data, resp.headers.len, "Secure", 6) ==
	    NULL))
		abort();
	buf_free(&resp.headers);
	buf_free(&resp.body);
}

static void
fz_api(struct http_request *req, struct http_response *resp, void *arg)
{
	api_handle(req, resp, arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		enum http_method m;
		const char *path;
	} routes[] = {
		{ HTTP_M_POST, "/api/v1/users" },
		{ HTTP_M_POST, "/api/v1/users/fuzzuser/password" },
		{ HTTP_M_POST, "/api/v1/users/fuzzuser/role" },
		{ HTTP_M_POST, "/api/v1/users/fuzzuser/disable" },
		{ HTTP_M_POST, "/api/v1/users/fuzzuser/enable" },
		{ HTTP_M_DELETE, "/api/v1/users/fuzzuser" },
		{ HTTP_M_GET, "/api/v1/users" },
		{ HTTP_M_POST, "/api/v1/account/password" },
	};
	struct http_header h[3];
	struct http_request req;
	char *text;
	size_t n;

	fz_init();
	if (size < 2)
		return 0;
	fz_echo = memmem(data, size, "$argon2", 7) != NULL;
	h[0].name = "Content-Type";
	h[0].value = "application/json";
	switch (data[0] % 3) {
	case 0:
		fz_request(&req, HTTP_M_POST, "/console/api/login", h, 1,
		    data + 1, size - 1);
		fz_run(console_auth_login, &req);
		break;
	case 1:
		n = data[1] % ARRAY_SIZE(routes);
		fz_request(&req, routes[n].m, routes[n].path, h, 1, data + 2,
		    size - 2);
		fz_run(fz_api, &req);
		break;
	default:
		text = xasprintf("%s=%.*s", CONSOLE_COOKIE, (int)(size - 1),
		    (const char *)data + 1);
		h[1].name = "Cookie";
		h[1].value = text;
		h[2].name = "X-CSRF-Token";
		h[2].value = text + strlen(CONSOLE_COOKIE) + 1;
		fz_request(&req, HTTP_M_GET, "/console/api/session", h + 1, 1,
		    NULL, 0);
		fz_run(console_auth_session, &req);
		fz_request(&req, HTTP_M_GET, "/api/v1/whoami", h + 1, 1, NULL,
		    0);
		fz_run(fz_api, &req);
		fz_request(&req, HTTP_M_POST, "/console/api/logout", h + 1, 2,
		    NULL, 0);
		fz_run(console_auth_logout, &req);
		free(text);
		break;
	}
	return 0;
}
