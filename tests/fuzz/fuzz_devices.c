/*
 * fuzz_devices.c: the additional_evidence string of /kbs/v0/attest
 * (server/devices.c) on hostile input: parsed as the {TEE: evidence} map,
 * each device bound to a fixed session's runtime data, verified by the
 * real verifiers (sampledevice, nvidia, and TEEs this build lacks) and
 * appraised by the shipped Lua policies into submods.
 * Invariants (abort on violation):
 *   - a refused string leaves a message and no map;
 *   - a parsed map names only TEEs kbs-types knows;
 *   - after an appraisal that succeeds, every submod is an object with
 *     a string ear.status and a trust vector, named <class><n>, and
 *     cpu0 (set before) is untouched; a failing one leaves a message.
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
#include "../../verifier/verifier.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config fz_cfg;
static json_t *fz_tpk;

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
	log_init("fuzz_devices", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		abort();
	config_defaults(&fz_cfg);
	fz_cfg.policy_instructions = 1000;
	randombytes_buf(key, sizeof(key));
	st = store_open_key(&store_backend_sqlite,
	    fuzzutil_scratch_db("fuzz_devices"), key, &err);
	if (st == NULL || audit_init(st, &err) != 0 ||
	    rvps_init(st, &err) != 0 || policy_init(st, &fz_cfg, &err) != 0) {
		fprintf(stderr, "fuzz_devices init: %s\n", err.msg);
		abort();
	}
	fz_tpk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "alg",
	    "ECDH-ES+A256KW", "crv", "P-256", "kty", "EC", "x", "AAAA", "y",
	    "BBBB");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	json_t *map = (json_t *)1, *submods, *v;
	const char *k;
	char *s;

	if (size > 256 * 1024)
		return 0;
	fz_init();
	s = xstrndup((const char *)data, size);
	err.msg[0] = '\0';
	if (devices_parse(s, strlen(s), &map, &err) != 0) {
		if (map != NULL || err.msg[0] == '\0')
			abort();
		free(s);
		return 0;
	}
	json_object_foreach(map, k, v)
		if (!verifier_tee_known(k))
			abort();
	submods = json_pack("{s:{s:s}}", "cpu0", "ear.status", "affirming");
	if (devices_appraise(map, "bm9uY2U=", fz_tpk, HASH_SHA384, NULL,
	    1780000000, submods, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();
	} else {
		json_object_foreach(submods, k, v) {
			if (strcmp(k, "cpu0") == 0) {
				if (json_object_size(v) != 1)
					abort();
				continue;
			}
			if (!json_is_object(v) || !json_is_string(
			    json_object_get(v, "ear.status")) ||
			    !json_is_object(json_object_get(v,
			    "ear.trustworthiness-vector")) ||
			    strspn(k, "abcdefghijklmnopqrstuvwxyz-") == 0 ||
			    k[strlen(k) - 1] < '0' || k[strlen(k) - 1] > '9')
				abort();
		}
	}
	json_decref(submods);
	json_decref(map);
	free(s);
	return 0;
}
