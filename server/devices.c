/*
 * devices.c: the additional (device) evidence of /kbs/v0/attest
 * (reference/kbs-server.md §2.4, guest-client.md §1.4).
 *
 * tee-evidence.additional_evidence is a JSON *string*: "" when the guest
 * has no device, else a serialized object {"<TEE name>": <evidence>, ...}
 * (e.g. {"nvidia": {...}, "sampledevice": {...}}). The primary evidence
 * binds that string as received (kbs_rcar.c); each device binds its own
 * runtime data HASH(JCS({"nonce", "tee-pubkey"})) - no
 * "additional-evidence" member - with the session's hash algorithm.
 *
 * Every verified device becomes one EAR submod named by its class and a
 * per-class counter (gpu0, gpu1, ...; after cpu0), appraised by the
 * policy "<policy_id>_<class>". A device this build cannot verify (its
 * TEE has no verifier here, e.g. "hygondcu", or its verifier cannot check
 * that kind, e.g. an NVIDIA Blackwell GPU in local mode) becomes a
 * contraindicated submod with the reason (ear_unverified): the resource
 * policy decides what that means. Trustee instead fails the whole
 * attestation when it has no verifier for a device (docs/devices.md).
 * Evidence that is malformed or fails verification refuses the
 * attestation with a reason naming the device.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/hash.h"
#include "../lib/jcs.h"
#include "../lib/log.h"
#include "../verifier/verifier.h"
#include "trusteed.h"

int
devices_parse(const char *s, size_t len, json_t **map, struct error *err)
{
	json_error_t jerr;
	const char *tee;
	json_t *m, *ev;
	char esc[64];

	*map = NULL;
	if (len == 0)
		return 0;
	m = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	if (m == NULL)
		return error_set(err, "additional_evidence is not JSON: %s at "
		    "line %d column %d (it must be a string holding a JSON "
		    "object {\"<TEE>\": <evidence>})", jerr.text, jerr.line,
		    jerr.column);
	if (!json_is_object(m)) {
		json_decref(m);
		return error_set(err, "additional_evidence must hold a JSON "
		    "object {\"<TEE>\": <evidence>}");
	}
	json_object_foreach(m, tee, ev) {
		if (!verifier_tee_known(tee)) {
			error_set(err, "additional_evidence: unknown TEE '%s'",
			    log_escape(tee, esc, sizeof(esc)));
			json_decref(m);
			return -1;
		}
	}
	*map = m;
	return 0;
}

/* Append the appraisals of one map entry to submods. */
static int
devices_one(const char *tee, const json_t *ev, const uint8_t *digest,
    size_t dlen, const json_t *rdc, const char *policy_id, int64_t now,
    json_t *submods, struct error *err)
{
	const struct verifier_backend *v = verifier_lookup(tee);
	struct verifier_device dev[VERIFIER_DEVICES_MAX];
	struct verifier_input in;
	char reason[VERIFIER_REASON_MAX];
	json_t *app;
	size_t i, n = 0;
	int rc = -1;

	if (v == NULL) {
		snprintf(reason, sizeof(reason), "no verifier for TEE '%s' in "
		    "this build", tee);
		log_info("additional evidence '%s': %s", tee, reason);
		return ear_submod_add(submods, verifier_tee_class(tee),
		    ear_unverified(tee, policy_id, reason), err);
	}
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.report_data = digest;
	in.report_data_len = dlen;
	in.now = now;
	if (verifier_verify_all(v, &in, dev, &n, err) != 0)
		return error_prefix(err, "additional evidence '%s' rejected",
		    tee);
	for (i = 0; i < n; i++) {
		if (dev[i].claims == NULL) {
			log_info("additional evidence '%s': device %zu: %s",
			    tee, i, dev[i].reason);
			app = ear_unverified(tee, policy_id, dev[i].reason);
		} else {
			app = ear_appraisal_class(tee, dev[i].tee_class,
			    dev[i].claims, rdc, NULL, policy_id, err);
			dev[i].claims = NULL;
			if (app == NULL) {
				error_prefix(err, "additional evidence '%s'",
				    tee);
				goto out;
			}
		}
		if (ear_submod_add(submods, dev[i].tee_class, app, err) != 0)
			goto out;
	}
	rc = 0;
out:
	verifier_devices_clear(dev, n);
	return rc;
}

int
devices_appraise(const json_t *map, const char *nonce,
    const json_t *tee_pubkey, enum hash_alg alg, const char *policy_id,
    int64_t now, json_t *submods, struct error *err)
{
	uint8_t digest[HASH_MAX_SIZE];
	size_t dlen = 0, clen;
	const char *tee;
	json_t *rdc, *ev;
	char *canon;
	int rc = 0;

	if (map == NULL || json_object_size(map) == 0)
		return 0;
	rdc = json_pack("{s:s, s:O}", "nonce", nonce, "tee-pubkey",
	    tee_pubkey);
	canon = rdc != NULL ? jcs_serialize(rdc, &clen) : NULL;
	if (canon == NULL || hash_digest(alg, canon, clen, digest,
	    &dlen) != 0) {
		free(canon);
		json_decref(rdc);
		return error_set(err, "cannot compute the device runtime-data "
		    "digest");
	}
	free(canon);
	json_object_foreach((json_t *)map, tee, ev) {
		if (devices_one(tee, ev, digest, dlen, rdc, policy_id, now,
		    submods, err) != 0) {
			rc = -1;
			break;
		}
	}
	json_decref(rdc);
	return rc;
}
