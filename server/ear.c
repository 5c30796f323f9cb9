/*
 * ear.c: EAR appraisals (AR4SI trust vectors) in Trustee's token layout.
 * The vector and any extra appraisal members come from the attestation
 * policy "<policy_id>_<tee class>" (policy.h); ear.status is the worst
 * tier over the vector, as in the ear crate.
 */
#include <stdlib.h>
#include <string.h>

#include "../verifier/verifier.h"
#include "observe.h"
#include "policy.h"
#include "trusteed.h"

/* AR4SI claim names in the order rust-ear serializes them. */
static const char *const ear_claims[] = {
	"instance-identity", "configuration", "executables", "file-system",
	"hardware", "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *
ear_tier(int v)
{
	int a = v < 0 ? -v : v;

	if (v >= -1 && v <= 1)
		return "none";
	if (a < 32)
		return "affirming";
	if (a < 96)
		return "warning";
	return "contraindicated";
}

int
ear_tier_rank(const char *t)
{
	if (strcmp(t, "affirming") == 0)
		return 1;
	if (strcmp(t, "warning") == 0)
		return 2;
	if (strcmp(t, "contraindicated") == 0)
		return 3;
	return 0;
}

json_t *
ear_appraisal(const char *tee, json_t *claims,
    const json_t *runtime_data_claims, const json_t *init_data_claims,
    const char *policy_id, struct error *err)
{
	const struct verifier_backend *vb = verifier_lookup(tee);

	return ear_appraisal_class(tee, vb != NULL && vb->tee_class != NULL ?
	    vb->tee_class : "cpu", claims, runtime_data_claims,
	    init_data_claims, policy_id, err);
}

json_t *
ear_appraisal_class(const char *tee, const char *tee_class, json_t *claims,
    const json_t *runtime_data_claims, const json_t *init_data_claims,
    const char *policy_id, struct error *err)
{
	const char *worst = "none", *name;
	json_t *annotated, *vector, *app, *rd, *id, *ext = NULL, *val;
	uint64_t t0;
	int v[8], rc;
	size_t i;

	if (!json_is_object(claims)) {
		json_decref(claims);
		error_set(err, "verifier returned no claims object");
		return NULL;
	}
	/* Hoist report_data and init_data out of the TEE object. */
	rd = json_incref(json_object_get(claims, "report_data"));
	id = json_incref(json_object_get(claims, "init_data"));
	json_object_del(claims, "report_data");
	json_object_del(claims, "init_data");

	annotated = json_object();
	json_object_set_new(annotated, tee, claims);
	if (rd != NULL) {
		json_object_set_new(annotated, "report_data", rd);
		json_object_set_new(annotated, "runtime_data_claims",
		    runtime_data_claims != NULL ?
		    json_deep_copy(runtime_data_claims) : json_null());
	}
	if (id != NULL) {
		json_object_set_new(annotated, "init_data", id);
		json_object_set_new(annotated, "init_data_claims",
		    init_data_claims != NULL ?
		    json_deep_copy(init_data_claims) : json_null());
	}

	/* The policy "<policy_id>_<class>" sees the annotated evidence. */
	if (policy_id == NULL || policy_id[0] == '\0')
		policy_id = "default";
	attlog_note_input(tee, annotated);	/* the attestation log */
	t0 = now_mono_ns();
	rc = policy_appraise(policy_id, tee_class, annotated, v, &ext, err);
	metrics_policy(now_mono_ns() - t0, rc == 0);
	if (rc != 0) {
		json_decref(annotated);
		return NULL;
	}
	vector = json_object();
	for (i = 0; i < ARRAY_SIZE(ear_claims); i++) {
		const char *t = ear_tier(v[i]);

		json_object_set_new(vector, ear_claims[i], json_integer(v[i]));
		if (ear_tier_rank(t) > ear_tier_rank(worst))
			worst = t;
	}
	app = json_pack("{s:s, s:o, s:s, s:o}", "ear.status", worst,
	    "ear.trustworthiness-vector", vector,
	    "ear.appraisal-policy-id", policy_id,
	    "ear.veraison.annotated-evidence", annotated);
	if (app == NULL) {
		json_decref(ext);
		error_set(err, "cannot build the appraisal");
		return NULL;
	}
	/* The policy's extensions (policy_result.c refuses the names
	 * above), e.g. "ear.trustee.identifiers". */
	json_object_foreach(ext, name, val)
		json_object_set(app, name, val);
	json_decref(ext);
	return app;
}

/*
 * A device that could not be verified (no verifier in this build, or an
 * architecture its verifier cannot check): no claims reach a policy; the
 * vector says only "hardware unrecognized" (97), which makes the status
 * contraindicated, and "ear.trustee.unverified" says which TEE and why.
 */
json_t *
ear_unverified(const char *tee, const char *policy_id, const char *reason)
{
	json_t *vector = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ear_claims); i++)
		json_object_set_new(vector, ear_claims[i], json_integer(
		    strcmp(ear_claims[i], "hardware") == 0 ? 97 : 0));
	if (policy_id == NULL || policy_id[0] == '\0')
		policy_id = "default";
	return json_pack("{s:s, s:o, s:s, s:{}, s:{s:s, s:s}}",
	    "ear.status", ear_tier(97), "ear.trustworthiness-vector", vector,
	    "ear.appraisal-policy-id", policy_id,
	    "ear.veraison.annotated-evidence",
	    "ear.trustee.unverified", "tee", tee, "reason", reason);
}

int
ear_submod_add(json_t *submods, const char *tee_class, json_t *app,
    struct error *err)
{
	char name[64];
	int n;

	for (n = 0; n < EAR_SUBMODS_MAX; n++) {
		snprintf(name, sizeof(name), "%.40s%d", tee_class, n);
		if (json_object_get(submods, name) == NULL) {
			json_object_set_new(submods, name, app);
			return 0;
		}
	}
	json_decref(app);
	return error_set(err, "more than %d appraisals of class %s",
	    EAR_SUBMODS_MAX, tee_class);
}
