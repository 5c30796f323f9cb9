/*
 * fuzz_attestation.c: POST /attestation (Trustee's RESTful AS evaluate) on
 * hostile bodies: the request JSON, base64url evidence, runtime and init
 * data, policy ids, and whatever evidence JSON they decode to, through the
 * real verifiers and the shipped Lua policies. Every answer must be 200
 * (a token) or a 400/401 problem document; 500 is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/audit.h"
#include "../../server/policy.h"
#include "../../server/trusteed.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fz_cfg;

static void
fz_init(void)
{
	static int done;
	struct store *st;
	struct error err;
	uint8_t key[32];

	if (done)
		return;
	done = 1;
	log_init("fuzz_attestation", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		abort();
	config_defaults(&fz_cfg);
	fz_cfg.policy_instructions = 1000;
	randombytes_buf(key, sizeof(key));
	st = store_open_key(&store_backend_sqlite,
	    fuzzutil_scratch_db("fuzz_attestation"), key, &err);
	if (st == NULL || audit_init(st, &err) != 0 ||
	    rvps_init(st, &err) != 0 || policy_init(st, &fz_cfg, &err) != 0 ||
	    token_init(st, 300, &err) != 0) {
		fprintf(stderr, "fuzz_attestation init: %s\n", err.msg);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct http_response resp;
	char *body;

	fz_init();
	body = xstrndup((const char *)data, size);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = HTTP_M_POST;
	req.method_name = "POST";
	req.body = (uint8_t *)body;
	req.body_len = size;
	snprintf(req.peer, sizeof(req.peer), "fuzz");
	attestation_handle(&req, &resp);
	if (resp.status != 200) {
		if (resp.status != 400 && resp.status != 401)
			abort();
		fuzzutil_check_problem(&resp.body);
	}
	buf_free(&resp.headers);
	buf_free(&resp.body);
	free(body);
	return 0;
}
