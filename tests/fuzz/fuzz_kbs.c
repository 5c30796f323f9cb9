/*
 * fuzz_kbs.c: the KBS handlers on hostile request bodies and paths.
 * Input layout: byte 0 selects the endpoint (auth, attest with a live
 * session cookie, resource GET with the input as bearer token, admin
 * resource POST with the input as bearer token, arbitrary path); the rest
 * is the body (or token/path). Every answer must be 200 or a problem
 * response whose body is a JSON object with string "type" and "detail".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fz_cfg;
static struct kbs_context fz_ctx;

static void
fz_init(void)
{
	static int done;
	struct error err;
	uint8_t key[32];
	const char *db;

	if (done)
		return;
	done = 1;
	log_init("fuzz_kbs", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		abort();
	config_defaults(&fz_cfg);
	fz_cfg.admin_mode = ADMIN_DENY_ALL;
	fz_cfg.resource_policy = RPOLICY_ALLOW_ALL;
	randombytes_buf(key, sizeof(key));
	db = fuzzutil_scratch_db("fuzz_kbs");
	fz_ctx.cfg = &fz_cfg;
	fz_ctx.store = store_open_key(&store_backend_sqlite, db, key, &err);
	if (fz_ctx.store == NULL || token_init(fz_ctx.store, 300, &err) != 0 ||
	    admin_init(&fz_cfg, &err) != 0) {
		fprintf(stderr, "fuzz_kbs init: %s\n", err.msg);
		abort();
	}
	session_init(300);
}

static void
fz_check(const struct http_response *resp)
{
	if (resp->status == 200)
		return;
	/* 403/405: /api/v1 (admin mode DenyAll, wrong method); 413: init-data
	 * or token over its limit. */
	if (resp->status != 401 && resp->status != 404 &&
	    resp->status != 403 && resp->status != 405 &&
	    resp->status != 413)
		abort();
	fuzzutil_check_problem(&resp->body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct http_response resp;
	struct http_header hdr[2];
	struct session s;
	struct source_addr src = { { 0 } };
	char *text, *cookie = NULL, *auth = NULL;
	uint8_t sel;

	fz_init();
	if (size < 1)
		return 0;
	sel = data[0] % 5;
	text = xstrndup((const char *)data + 1, size - 1);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.body = (uint8_t *)text;
	req.body_len = size - 1;
	req.headers = hdr;
	snprintf(req.peer, sizeof(req.peer), "fuzz");
	req.tls = 1;
	switch (sel) {
	case 0:
		req.method = HTTP_M_POST;
		req.path = "/kbs/v0/auth";
		break;
	case 1:
		if (session_new("sample", HASH_SHA384, &src, &s) != 0)
			abort();
		cookie = xasprintf("kbs-session-id=%s", s.id);
		session_clear(&s);
		hdr[0].name = "Cookie";
		hdr[0].value = cookie;
		req.nheaders = 1;
		req.method = HTTP_M_POST;
		req.path = "/kbs/v0/attest";
		break;
	case 2:
	case 3:
		auth = xasprintf("Bearer %s", text);
		hdr[0].name = "Authorization";
		hdr[0].value = auth;
		req.nheaders = 1;
		req.method = sel == 2 ? HTTP_M_GET : HTTP_M_POST;
		req.path = "/kbs/v0/resource/a/b/c";
		break;
	default:
		req.method = HTTP_M_GET;
		req.path = text;
		break;
	}
	req.method_name = req.method == HTTP_M_GET ? "GET" : "POST";
	req.target = req.path;
	kbs_handle(&req, &resp, &fz_ctx);
	fz_check(&resp);
	buf_free(&resp.headers);
	buf_free(&resp.body);
	free(cookie);
	free(auth);
	free(text);
	if (session_count() > 10000)
		session_shutdown();
	return 0;
}
