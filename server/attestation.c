/*
 * attestation.c: Trustee's RESTful attestation endpoint, POST /attestation
 * (reference/attestation-service.md §7), for relying parties and tests
 * that hold evidence and know the report data it must carry:
 *
 *   {"verification_requests": [{"tee": str,
 *        "evidence": base64url(evidence JSON bytes),
 *        "runtime_data"?: {"raw": base64url} | {"structured": <json>},
 *        "init_data"?: {"init_data_digest": base64url} |
 *                      {"init_data_toml": "<toml text>"},
 *        "runtime_data_hash_algorithm"?: "sha256"|"sha384"|"sha512"|"sm3"}],
 *    "policy_ids": [str]}
 *
 * 200 answers with the EAR token as text (as Trustee does). Raw runtime
 * data is compared as given, structured runtime data is digested over its
 * RFC 8785 form (Trustee's rules). One submod per request, named by TEE
 * class and a per-class counter (cpu0, cpu1, gpu0, ...).
 *
 * Deliberate differences: errors are problem documents — 400 BadRequest
 * for a malformed request, 401 AttestationError with the precise reason
 * when evidence does not verify — where Trustee answers 500 with text.
 * The token carries no session: resource requests still need a tee-pubkey
 * bound in the runtime data, so a token for replayed evidence only ever
 * releases secrets to the key the original guest holds.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "../lib/hash.h"
#include "../lib/initdata.h"
#include "../lib/jcs.h"
#include "../lib/log.h"
#include "trusteed.h"
#include "verifier.h"

#define ATTESTATION_MAX_REQUESTS 16
#define ATTESTATION_POLICY_ID_MAX 128

/* One verification request, decoded. */
struct attestation_req {
	const struct verifier_backend *v;
	json_t *evidence;		/* owned */
	uint8_t *raw;			/* raw runtime data (owned) */
	size_t raw_len;
	uint8_t digest[HASH_MAX_SIZE];	/* structured runtime data digest */
	size_t digest_len;
	const json_t *structured;	/* borrowed from the body */
	uint8_t *id_digest;		/* init_data_digest (owned) */
	size_t id_digest_len;
	struct initdata initdata;
	int has_initdata;
};

static void
attestation_req_free(struct attestation_req *r)
{
	json_decref(r->evidence);
	free(r->raw);
	free(r->id_digest);
	if (r->has_initdata)
		initdata_clear(&r->initdata);
	memset(r, 0, sizeof(*r));
}

/* A base64 (any variant) string member decoded. */
static int
attestation_b64_member(const json_t *obj, const char *key, uint8_t **out,
    size_t *len, struct error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return error_set(err, "`%s` must be a base64url string", key);
	if (b64_decode_any(json_string_value(v), json_string_length(v), out,
	    len) != 0)
		return error_set(err, "`%s` is not valid base64url", key);
	return 0;
}

static int
attestation_runtime_data(const json_t *item, struct attestation_req *r,
    struct error *err)
{
	const json_t *rd = json_object_get(item, "runtime_data");
	const json_t *alg = json_object_get(item,
	    "runtime_data_hash_algorithm");
	enum hash_alg a = HASH_SHA384;
	char *canon;
	size_t clen;

	if (alg != NULL && !json_is_null(alg)) {
		char lower[16];
		size_t i, n;

		if (!json_is_string(alg) ||
		    (n = json_string_length(alg)) >= sizeof(lower))
			return error_set(err, "`runtime_data_hash_algorithm` "
			    "must be sha256, sha384, sha512 or sm3");
		for (i = 0; i <= n; i++) {
			char c = json_string_value(alg)[i];

			lower[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		if (hash_alg_from_name(lower, &a) != 0)
			return error_set(err, "`runtime_data_hash_algorithm` "
			    "must be sha256, sha384, sha512 or sm3");
	}
	if (rd == NULL || json_is_null(rd))
		return 0;
	if (!json_is_object(rd) || json_object_size(rd) != 1)
		return error_set(err, "`runtime_data` must be {\"raw\": ...} "
		    "or {\"structured\": ...}");
	if (json_object_get(rd, "raw") != NULL)
		return attestation_b64_member(rd, "raw", &r->raw, &r->raw_len,
		    err) == 0 ? 0 : error_prefix(err, "runtime_data");
	r->structured = json_object_get(rd, "structured");
	if (r->structured == NULL)
		return error_set(err, "`runtime_data` must be {\"raw\": ...} "
		    "or {\"structured\": ...}");
	if ((canon = jcs_serialize(r->structured, &clen)) == NULL)
		return error_set(err, "runtime_data.structured cannot be "
		    "canonicalized (RFC 8785)");
	if (hash_digest(a, canon, clen, r->digest, &r->digest_len) != 0) {
		free(canon);
		return error_set(err, "%s is not available", hash_alg_name(a));
	}
	free(canon);
	return 0;
}

static int
attestation_init_data(const json_t *item, struct attestation_req *r,
    struct error *err)
{
	const json_t *id = json_object_get(item, "init_data");
	const json_t *toml;

	if (id == NULL || json_is_null(id))
		return 0;
	if (!json_is_object(id) || json_object_size(id) != 1)
		return error_set(err, "`init_data` must be "
		    "{\"init_data_digest\": ...} or {\"init_data_toml\": ...}");
	if (json_object_get(id, "init_data_digest") != NULL)
		return attestation_b64_member(id, "init_data_digest",
		    &r->id_digest, &r->id_digest_len, err) == 0 ? 0 :
		    error_prefix(err, "init_data");
	toml = json_object_get(id, "init_data_toml");
	if (!json_is_string(toml))
		return error_set(err, "`init_data` must be "
		    "{\"init_data_digest\": ...} or {\"init_data_toml\": ...}");
	if (initdata_parse(json_string_value(toml), json_string_length(toml),
	    &r->initdata, err) != 0)
		return error_prefix(err, "init_data.init_data_toml");
	r->has_initdata = 1;
	return 0;
}

static int
attestation_parse_one(const json_t *item, struct attestation_req *r,
    struct error *err)
{
	const char *tee = json_string_value(json_object_get(item, "tee"));
	uint8_t *ev = NULL;
	size_t evlen;
	json_error_t jerr;

	if (!json_is_object(item))
		return error_set(err, "must be an object");
	if (tee == NULL)
		return error_set(err, "`tee` must be a string");
	if (!verifier_tee_known(tee))
		return error_set(err, "unknown TEE '%s'", tee);
	if ((r->v = verifier_lookup(tee)) == NULL)
		return error_set(err, "TEE '%s' is not supported by this "
		    "build", tee);
	if (attestation_b64_member(item, "evidence", &ev, &evlen, err) != 0)
		return -1;
	r->evidence = json_loadb((const char *)ev, evlen, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr);
	free(ev);
	if (r->evidence == NULL)
		return error_set(err, "`evidence` does not decode to JSON: %s",
		    jerr.text);
	if (attestation_runtime_data(item, r, err) != 0 ||
	    attestation_init_data(item, r, err) != 0)
		return -1;
	return 0;
}

/* Verify one request and append its appraisals to submods (one per
 * device for a multi-device TEE such as nvidia; a device its verifier
 * cannot check gets a contraindicated appraisal, see devices.c). */
static int
attestation_appraise(struct attestation_req *r, const char *policy_id,
    json_t *submods, int64_t now, struct error *err)
{
	struct verifier_device dev[VERIFIER_DEVICES_MAX];
	struct verifier_input in;
	json_t *app;
	size_t i, n = 0;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	in.evidence = r->evidence;
	if (r->raw != NULL) {
		in.report_data = r->raw;
		in.report_data_len = r->raw_len;
	} else if (r->structured != NULL) {
		in.report_data = r->digest;
		in.report_data_len = r->digest_len;
	}
	if (r->id_digest != NULL) {
		in.init_data_hash = r->id_digest;
		in.init_data_hash_len = r->id_digest_len;
	} else if (r->has_initdata) {
		in.init_data_hash = r->initdata.digest;
		in.init_data_hash_len = r->initdata.digest_len;
	}
	in.now = now;
	if (verifier_verify_all(r->v, &in, dev, &n, err) != 0)
		return error_prefix(err, "%s evidence rejected", r->v->tee);
	for (i = 0; i < n; i++) {
		if (dev[i].claims == NULL) {
			app = ear_unverified(r->v->tee, policy_id,
			    dev[i].reason);
		} else {
			app = ear_appraisal_class(r->v->tee, dev[i].tee_class,
			    dev[i].claims, r->structured, r->has_initdata ?
			    r->initdata.claims : NULL, policy_id, err);
			dev[i].claims = NULL;
			if (app == NULL)
				goto out;
		}
		if (ear_submod_add(submods, dev[i].tee_class, app, err) != 0)
			goto out;
	}
	rc = 0;
out:
	verifier_devices_clear(dev, n);
	return rc;
}

/* policy_ids: required array; [] means ["default"]; only [0] is used. */
static const char *
attestation_policy_id(const json_t *body, struct error *err)
{
	const json_t *ids = json_object_get(body, "policy_ids");
	const char *id;
	size_t i, n;

	if (!json_is_array(ids)) {
		error_set(err, "`policy_ids` must be an array of strings");
		return NULL;
	}
	if (json_array_size(ids) == 0)
		return "default";
	id = json_string_value(json_array_get(ids, 0));
	if (id == NULL || (n = strlen(id)) == 0 ||
	    n > ATTESTATION_POLICY_ID_MAX) {
		error_set(err, "`policy_ids[0]` must be a non-empty string");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || strchr("._-", id[i]))) {
			error_set(err, "`policy_ids[0]` may hold only "
			    "letters, digits, '.', '_' and '-'");
			return NULL;
		}
	return id;
}

void
attestation_handle(const struct http_request *req, struct http_response *resp)
{
	struct attestation_req reqs[ATTESTATION_MAX_REQUESTS];
	const json_t *list;
	const char *policy_id;
	json_t *body, *submods = NULL;
	json_error_t jerr;
	struct error err;
	size_t i, n = 0;
	char *token = NULL;

	memset(reqs, 0, sizeof(reqs));
	body = json_loadb((const char *)req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(body)) {
		http_problem(resp, 400, "BadRequest", "request body must be a "
		    "JSON object: %s", body == NULL ? jerr.text : "not an "
		    "object");
		goto out;
	}
	list = json_object_get(body, "verification_requests");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > ATTESTATION_MAX_REQUESTS) {
		http_problem(resp, 400, "BadRequest", "`verification_requests`"
		    " must be an array of 1 to %d requests",
		    ATTESTATION_MAX_REQUESTS);
		goto out;
	}
	if ((policy_id = attestation_policy_id(body, &err)) == NULL) {
		http_problem(resp, 400, "BadRequest", "%s", err.msg);
		goto out;
	}
	n = json_array_size(list);
	for (i = 0; i < n; i++)
		if (attestation_parse_one(json_array_get(list, i), &reqs[i],
		    &err) != 0) {
			http_problem(resp, 400, "BadRequest",
			    "verification_requests[%zu]: %s", i, err.msg);
			goto out;
		}
	submods = json_object();
	for (i = 0; i < n; i++)
		if (attestation_appraise(&reqs[i], policy_id, submods,
		    now_unix(), &err) != 0) {
			log_info("attestation refused: peer=%s: request %zu: "
			    "%s", req->peer, i, err.msg);
			http_problem(resp, 401, "AttestationError",
			    "verification_requests[%zu]: %s", i, err.msg);
			goto out;
		}
	if ((token = token_issue(submods, &err)) == NULL) {
		http_problem(resp, 500, "InternalError", "%s", err.msg);
		goto out;
	}
	log_info("attestation token issued: peer=%s requests=%zu policy=%s",
	    req->peer, n, policy_id);
	resp->status = 200;
	http_response_body(resp, "text/plain", token, strlen(token));
out:
	secret_strfree(token);
	json_decref(submods);
	for (i = 0; i < ATTESTATION_MAX_REQUESTS; i++)
		attestation_req_free(&reqs[i]);
	json_decref(body);
}
