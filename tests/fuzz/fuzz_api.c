/*
 * fuzz_api.c: the native admin API (/api/v1, docs/api.md) on hostile
 * requests, with every route reachable (admin mode InsecureAllowAll over
 * a scratch store).
 *
 * Input layout: byte 0 selects the method (GET, HEAD, POST, PUT, DELETE,
 * OTHER); then a first line, the request target (prefixed with /api/v1
 * when it does not start with '/'); a second line, the Content-Type
 * (empty: none); the rest is the body.
 *
 * Checks: the status is one the API documents; every non-2xx answer is a
 * problem body {"type": string, "detail": string}; every 2xx body (except
 * 204 and HEAD) is JSON; 405 carries Allow; and a resource value stored
 * at start (random) never appears in any answer (until some input has
 * carried that text itself).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/api.h"
#include "../../server/audit.h"
#include "../../server/policy.h"
#include "../../server/resource.h"
#include "../../server/trusteed.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fz_cfg;
static struct kbs_context fz_ctx;
static char fz_secret[65];
static int fz_echo;		/* some input carried the secret's text */

static void
fz_init(void)
{
	static int done;
	struct error err;
	uint8_t key[32], sec[32];

	if (done)
		return;
	done = 1;
	log_init("fuzz_api", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		abort();
	config_defaults(&fz_cfg);
	fz_cfg.admin_mode = ADMIN_INSECURE_ALLOW_ALL;
	fz_cfg.resource_policy = RPOLICY_ALLOW_ALL;
	fz_cfg.policy_instructions = 1000;
	randombytes_buf(key, sizeof(key));
	fz_ctx.cfg = &fz_cfg;
	fz_ctx.store = store_open_key(&store_backend_sqlite,
	    fuzzutil_scratch_db("fuzz_api"), key, &err);
	if (fz_ctx.store == NULL || audit_init(fz_ctx.store, &err) != 0 ||
	    rvps_init(fz_ctx.store, &err) != 0 ||
	    policy_init(fz_ctx.store, &fz_cfg, &err) != 0 ||
	    token_init(fz_ctx.store, 300, &err) != 0 ||
	    admin_init(&fz_cfg, &err) != 0) {
		fprintf(stderr, "fuzz_api init: %s\n", err.msg);
		abort();
	}
	randombytes_buf(sec, sizeof(sec));
	hex_encode(sec, sizeof(sec), fz_secret);
	if (resource_put(fz_ctx.store, "fuzz/secret/value", fz_secret,
	    strlen(fz_secret), NULL, "fuzz", NULL, NULL, &err) != 0) {
		fprintf(stderr, "fuzz_api init: %s\n", err.msg);
		abort();
	}
}

static int
fz_status_ok(int s)
{
	static const int ok[] = { 200, 201, 204, 400, 401, 403, 404, 405, 415,
	    500, 503 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == s)
			return 1;
	return 0;
}

/* echo: some request carried the secret's text (the fuzzer can learn it
 * from the comparison below) and the store may now hold it anywhere, so
 * answers may legitimately contain it. */
static void
fz_check(const struct http_request *req, const struct http_response *resp,
    int echo)
{
	json_t *v;

	if (!fz_status_ok(resp->status))
		abort();
	if (!echo && resp->body.len > 0 && memmem(resp->body.data,
	    resp->body.len, fz_secret, strlen(fz_secret)) != NULL)
		abort();
	if (resp->status == 405 && (resp->headers.len == 0 ||
	    memmem(resp->headers.data, resp->headers.len, "Allow: ", 7) ==
	    NULL))
		abort();
	if (resp->status == 204 || (resp->status < 300 &&
	    req->method == HTTP_M_HEAD && resp->body.len == 0))
		return;
	v = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
	if (v == NULL)
		abort();
	json_decref(v);
	if (resp->status >= 300 && resp->status != 503)
		fuzzutil_check_problem(&resp->body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_method methods[] = { HTTP_M_GET, HTTP_M_HEAD,
	    HTTP_M_POST, HTTP_M_PUT, HTTP_M_DELETE, HTTP_M_OTHER };
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "PATCH" };
	struct http_request req;
	struct http_response resp;
	struct http_header hdr[1];
	char *text, *line1, *line2, *body, *target, *q;
	size_t n;
	int m;

	fz_init();
	if (size < 1)
		return 0;
	m = data[0] % 6;
	text = xstrndup((const char *)data + 1, size - 1);
	n = strlen(text);	/* stop at a NUL: headers cannot hold one */
	line1 = text;
	line2 = memchr(text, '\n', n);
	body = NULL;
	if (line2 != NULL) {
		*line2++ = '\0';
		body = strchr(line2, '\n');
		if (body != NULL)
			*body++ = '\0';
	}
	target = line1[0] == '/' ? xstrdup(line1) :
	    xasprintf(API_PREFIX "/%s", line1);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = methods[m];
	req.method_name = names[m];
	req.target = target;
	req.path = xstrdup(target);
	if ((q = strchr(req.path, '?')) != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	req.body = (uint8_t *)(body != NULL ? body : "");
	req.body_len = body != NULL ? strlen(body) : 0;
	req.headers = hdr;
	if (line2 != NULL && line2[0] != '\0') {
		hdr[0].name = "Content-Type";
		hdr[0].value = line2;
		req.nheaders = 1;
	}
	snprintf(req.peer, sizeof(req.peer), "fuzz");
	req.tls = 1;
	if (strncmp(req.path, API_PREFIX, strlen(API_PREFIX)) == 0)
		api_handle(&req, &resp, &fz_ctx);
	else
		kbs_handle(&req, &resp, &fz_ctx);
	if (memmem(data, size, fz_secret, strlen(fz_secret)) != NULL)
		fz_echo = 1;
	if (strncmp(req.path, API_PREFIX, strlen(API_PREFIX)) == 0)
		fz_check(&req, &resp, fz_echo);
	buf_free(&resp.headers);
	buf_free(&resp.body);
	free(req.path);
	free(target);
	free(text);
	return 0;
}
