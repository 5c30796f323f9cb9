/*
 * policy_test.c: policy_test, a dry run of a policy text (given, or a
 * stored version) on a caller's input, with the trustee.log lines it
 * wrote and the result as the API shows it. Nothing is stored or cached.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/hash.h"
#include "policy_internal.h"
#include "trusteed.h"

/* "ear.status affirming" or the claims that made it worse. */
static void
policy_test_vector_reason(const int v[8], const char *status, char *out,
    size_t cap)
{
	struct buf b = { 0 };
	size_t i;
	int any = 0;

	buf_printf(&b, "ear.status %s", status);
	for (i = 0; i < 8; i++) {
		const char *t = ear_tier(v[i]);

		if (ear_tier_rank(t) < 2)
			continue;
		buf_printf(&b, "%s%s %d (%s)", any ? ", " : ": ",
		    presult_claim_names[i], v[i], t);
		any = 1;
	}
	policy_copy(out, cap, buf_cstr(&b));
	buf_free(&b);
}

int
policy_test(enum policy_kind kind, const char *text, size_t len,
    const char *id, int version, const json_t *input, json_t **result,
    struct error *err)
{
	char reason[POLICY_REASON_MAX], shahex[65];
	uint8_t sha[HASH_MAX_SIZE];
	struct plua_call c;
	struct error perr;
	const char *status = "none";
	json_t *res, *vec;
	char *owned = NULL;
	size_t i, shalen;
	int rc;

	if (result == NULL)
		return error_set(err, "no result pointer");
	*result = NULL;
	if (text == NULL) {
		if (id == NULL)
			return error_set(err, "give a policy text or a stored "
			    "policy id");
		rc = policy_get(kind, id, version, &owned, &len, err);
		if (rc > 0)
			return error_set(err, "no %s policy '%s' version %d",
			    policy_kind_name(kind), id, version);
		if (rc < 0)
			return -1;
		text = owned;
	} else if (policy_text_check(text, len, err) != 0) {
		return -1;
	}
	if (kind == POLICY_RESOURCE && input != NULL &&
	    !json_is_object(input)) {
		free(owned);
		return error_set(err, "resource policy test input must be "
		    "{\"claims\": {...}, \"request\": {...}}");
	}
	memset(&c, 0, sizeof(c));
	c.label = id != NULL ? id : "test";
	c.text = text;
	c.len = len;
	c.log = json_array();
	if (kind == POLICY_ATTESTATION) {
		c.shape = PLUA_SHAPE_ATTESTATION;
		c.args[0] = input;
		c.nargs = 1;
	} else {
		c.shape = PLUA_SHAPE_RESOURCE;
		c.args[0] = json_object_get(input, "claims");
		c.args[1] = json_object_get(input, "request");
		c.nargs = 2;
	}
	rc = plua_run(&c, &perr);
	res = json_object();
	if (rc != 0) {
		json_object_set_new(res, "result", json_null());
		json_object_set_new(res, "reason", json_string(perr.msg));
		json_object_set_new(res, "error", json_string(perr.msg));
	} else if (kind == POLICY_ATTESTATION) {
		vec = json_object();
		for (i = 0; i < 8; i++) {
			const char *t = ear_tier(c.v[i]);

			json_object_set_new(vec, presult_claim_names[i],
			    json_integer(c.v[i]));
			if (ear_tier_rank(t) > ear_tier_rank(status))
				status = t;
		}
		policy_test_vector_reason(c.v, status, reason, sizeof(reason));
		json_object_set_new(res, "result", vec);
		json_object_set_new(res, "status", json_string(status));
		json_object_set_new(res, "extensions", c.ext);
		json_object_set_new(res, "reason", json_string(reason));
	} else {
		json_object_set_new(res, "result", json_boolean(c.allowed));
		json_object_set_new(res, "reason", json_string(c.reason));
	}
	json_object_set_new(res, "log", c.log);
	if (hash_digest(HASH_SHA256, text, len, sha, &shalen) == 0) {
		hex_encode(sha, shalen, shahex);
		json_object_set_new(res, "sha256", json_string(shahex));
	}
	free(owned);
	*result = res;
	return 0;
}
