/*
 * kbs_admin.c: Trustee's admin compatibility endpoints under /kbs/v0/
 * (kbs-server.md §1.3): resource POST/DELETE, attestation-policy,
 * resource-policy set/list, reference-value get/set. kbs.c routes here
 * only after the admin JWT was checked (r->admin is filled in).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "api.h"
#include "audit.h"
#include "kbs_internal.h"
#include "policy.h"
#include "resource.h"
#include "trusteed.h"

/* --------------------------------------------------------- resource */

void
kbs_admin_resource_put(struct kbs_req *r)
{
	struct error err;
	char name[400], ct[128];
	const char *h = http_request_header(r->http, "Content-Type");

	if (kbs_resource_name(r, name, sizeof(name), &err) != 0) {
		http_problem(r->resp, 401, "PluginInternalError", "%s",
		    err.msg);
		return;
	}
	snprintf(ct, sizeof(ct), "%.*s", h != NULL ? (int)strcspn(h, "; ") :
	    0, h != NULL ? h : "");
	if (resource_put(r->ctx->store, name, r->http->body,
	    r->http->body_len, resource_content_type_ok(ct) ? ct : NULL,
	    r->admin.actor, NULL, NULL, &err) != 0) {
		log_warnx("storing resource %s: %s", name, err.msg);
		audit_record(r->admin.actor, "resource.put", name, "error",
		    err.msg);
		http_problem(r->resp, 401, "PluginInternalError", "resource %s "
		    "could not be stored", name);
		return;
	}
	log_info("admin stored resource %s (%zu bytes) from peer=%s", name,
	    r->http->body_len, r->http->peer);
	audit_record(r->admin.actor, "resource.put", name, "ok", NULL);
	r->resp->status = 200;
}

void
kbs_admin_resource_delete(struct kbs_req *r)
{
	struct error err;
	char name[400];
	int rc;

	if (kbs_resource_name(r, name, sizeof(name), &err) != 0) {
		http_problem(r->resp, 401, "PluginInternalError", "%s",
		    err.msg);
		return;
	}
	rc = resource_delete(r->ctx->store, name, &err);
	if (rc != 0) {
		if (rc < 0)
			audit_record(r->admin.actor, "resource.delete", name,
			    "error", err.msg);
		http_problem(r->resp, 401, "PluginInternalError", rc > 0 ?
		    "resource %s not found" : "resource %s could not be "
		    "deleted", name);
		return;
	}
	log_info("admin deleted resource %s from peer=%s", name,
	    r->http->peer);
	audit_record(r->admin.actor, "resource.delete", name, "ok", NULL);
	r->resp->status = 200;
}

/* ------------------------------------------- admin: policies, RVPS */

/*
 * Decode a Trustee-style policy upload body {"policy": b64url, "type"?}
 * (plus "policy_id" for attestation policies). Parse errors: -1 with the
 * reason (the caller answers 401 as Trustee does). A non-Lua type:
 * 1 with the reason (the caller answers 400).
 */
static int
kbs_admin_policy_body(struct kbs_req *r, int with_id, char **text, size_t *len,
    char *id, size_t idcap, struct error *err)
{
	const json_t *pol, *type, *pid;
	json_t *body, *probe;
	uint8_t *dec = NULL;
	size_t dlen = 0, n;
	char esc[64];

	*text = NULL;
	if ((body = kbs_body_json(r->http, err)) == NULL)
		return -1;
	pol = json_object_get(body, "policy");
	type = json_object_get(body, "type");
	pid = json_object_get(body, "policy_id");
	if (with_id) {
		if (!json_is_string(pid)) {
			json_decref(body);
			return error_set(err, "field `policy_id` (a string) is "
			    "required");
		}
		n = json_string_length(pid);
		if (n == 0 || n >= idcap || json_string_value(pid)[0] == '.' ||
		    strspn(json_string_value(pid), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_-.") != n) {
			json_decref(body);
			return error_set(err, "invalid policy_id: it must "
			    "match [A-Za-z0-9_-][A-Za-z0-9_.-]{0,%zu}",
			    idcap - 2);
		}
		memcpy(id, json_string_value(pid), n + 1);
	}
	if (type != NULL && (!json_is_string(type) ||
	    strcasecmp(json_string_value(type), "lua") != 0)) {
		error_set(err, "policy type %s is not supported: trusteed "
		    "policies are Lua (send \"type\": \"lua\" or no type; see "
		    "docs/policies.md)", json_is_string(type) ?
		    log_escape(json_string_value(type), esc, sizeof(esc)) :
		    "(not a string)");
		json_decref(body);
		return 1;
	}
	if (!json_is_string(pol)) {
		json_decref(body);
		return error_set(err, "field `policy` (base64url text) is "
		    "required");
	}
	if (b64_decode_any(json_string_value(pol), json_string_length(pol),
	    &dec, &dlen) != 0) {
		json_decref(body);
		return error_set(err, "field `policy` is not base64url");
	}
	json_decref(body);
	probe = json_stringn((const char *)dec, dlen);
	if (probe == NULL || memchr(dec, '\0', dlen) != NULL) {
		json_decref(probe);
		free(dec);
		return error_set(err, "the decoded policy is not UTF-8 text");
	}
	json_decref(probe);
	*text = (char *)dec;
	*len = dlen;
	return 0;
}

static void
kbs_admin_policy_upload(struct kbs_req *r, enum policy_kind kind)
{
	struct error err;
	char id[129], *text = NULL, target[160];
	json_t *warnings, *w;
	size_t len = 0, i;
	int rc, version;

	snprintf(id, sizeof(id), "%s", POLICY_RESOURCE_ID);
	rc = kbs_admin_policy_body(r, kind == POLICY_ATTESTATION, &text, &len,
	    id, sizeof(id), &err);
	if (rc < 0) {
		if (kind == POLICY_ATTESTATION)
			http_problem(r->resp, 401, "AttestationError",
			    "Attestation error: Set Attestation Policy failed: "
			    "%s", err.msg);
		else
			http_problem(r->resp, 401, "ParsePolicyError", "Failed "
			    "to parse policy: %s", err.msg);
		return;
	}
	snprintf(target, sizeof(target), "%s/%s", kind == POLICY_RESOURCE ?
	    "resource" : "attestation", id);
	warnings = json_array();
	if (rc == 0 && api_policy_store(kind, id, text, len, r->admin.actor,
	    &version, warnings, &err) != 0)
		rc = 1;
	free(text);
	if (rc != 0) {
		json_decref(warnings);
		audit_record(r->admin.actor, "policy.put", target, "error",
		    err.msg);
		http_problem(r->resp, 400, "PolicyInvalid", "%s", err.msg);
		return;
	}
	/* Trustee's answer has no body: the upload check's warnings go to
	 * the log only. */
	json_array_foreach(warnings, i, w)
		log_warnx("%s policy %s: %s", kind == POLICY_RESOURCE ?
		    "resource" : "attestation", id, json_string_value(w));
	json_decref(warnings);
	audit_record(r->admin.actor, "policy.put", target, "ok", NULL);
	log_info("admin set %s policy %s (version %d) from peer=%s",
	    kind == POLICY_RESOURCE ? "resource" : "attestation", id, version,
	    r->http->peer);
	r->resp->status = 200;
}

void
kbs_admin_attestation_policy_set(struct kbs_req *r)
{
	kbs_admin_policy_upload(r, POLICY_ATTESTATION);
}

void
kbs_admin_resource_policy_set(struct kbs_req *r)
{
	kbs_admin_policy_upload(r, POLICY_RESOURCE);
}

/* Trustee answers the list of resource policy ids (not the text). */
void
kbs_admin_resource_policy_list(struct kbs_req *r)
{
	struct error err;
	json_t *all = NULL, *ids, *it;
	size_t i;

	if (policy_list(&all, &err) != 0 || !json_is_array(all)) {
		json_decref(all);
		http_problem(r->resp, 401, "PolicyEngineError", "Policy engine "
		    "error: %s", err.msg);
		return;
	}
	ids = json_array();
	json_array_foreach(all, i, it) {
		const char *k = json_string_value(json_object_get(it, "kind"));

		if (k != NULL && strcmp(k, "resource") == 0)
			json_array_append(ids, json_object_get(it, "id"));
	}
	json_decref(all);
	kbs_json_reply(r->resp, ids);
	json_decref(ids);
}

void
kbs_admin_reference_value_set(struct kbs_req *r)
{
	struct error err;
	json_t *names = NULL;

	if (rvps_register((const char *)r->http->body, r->http->body_len,
	    r->admin.actor, &names, &err) != 0) {
		audit_record(r->admin.actor, "rv.import", "", "error",
		    err.msg);
		http_problem(r->resp, 401, "RvpsError", "RVPS configuration "
		    "failed: %s", err.msg);
		return;
	}
	json_decref(names);
	audit_record(r->admin.actor, "rv.import", "", "ok", NULL);
	r->resp->status = 200;
	http_response_header(r->resp, "Content-Type", "application/json");
}

void
kbs_admin_reference_value_get(struct kbs_req *r)
{
	struct error err;
	struct buf joined = { 0 };
	json_t *rec = NULL;
	char *name, esc[80];
	int i, rc;

	for (i = 0; i < r->segc; i++)
		buf_printf(&joined, "%s%s", i > 0 ? "/" : "", r->segv[i]);
	name = api_percent_decode(joined.len > 0 ? (char *)joined.data : "",
	    joined.len);
	buf_free(&joined);
	if (name == NULL || name[0] == '\0') {
		free(name);
		http_problem(r->resp, 401, "RvpsError", "RVPS configuration "
		    "failed: Failed to get reference_values: %s",
		    name == NULL ? "malformed %-escape in the id" :
		    "no reference value id in the path");
		return;
	}
	/*
	 * As Trustee's QueryReferenceValue: the value only. Unlike Trustee,
	 * an expired or revoked value is not returned (it is what policies
	 * would see); /api/v1/reference-values shows the whole record.
	 */
	rc = rvps_get(name, now_unix(), &rec, &err);
	if (rc == 0 && strcmp(json_string_value(json_object_get(rec,
	    "state")), "valid") != 0) {
		error_set(&err, "reference value is %s",
		    json_string_value(json_object_get(rec, "state")));
		rc = -1;
	}
	if (rc != 0) {
		http_problem(r->resp, 401, "RvpsError", "RVPS configuration "
		    "failed: Failed to get reference_values: %s", rc > 0 ?
		    "unknown reference value" : err.msg);
		log_info("reference value '%s': %s", log_escape(name, esc,
		    sizeof(esc)), rc > 0 ? "not found" : err.msg);
		free(name);
		json_decref(rec);
		return;
	}
	free(name);
	kbs_json_reply(r->resp, json_object_get(rec, "value"));
	json_decref(rec);
}
