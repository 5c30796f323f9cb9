/*
 * ear.c: EAR appraisals (AR4SI trust vectors) in Trustee's token layout.
 */
#include <stdlib.h>
#include <string.h>

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

static int
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

/*
 * Trustee's default CPU policy with no reference values registered:
 * executables 33 (unrecognized runtime), hardware 97 (unrecognized),
 * configuration 2 when the TEE reports debug off (sample), else 36
 * (unavailable); every other claim 0.
 */
static void
ear_default_vector(const char *tee, const json_t *teeclaims, int v[8])
{
	memset(v, 0, 8 * sizeof(int));
	v[2] = 33;
	v[4] = 97;
	v[1] = 36;
	if (strcmp(tee, "sample") == 0 &&
	    json_is_false(json_object_get(teeclaims, "debug")))
		v[1] = 2;
}

json_t *
ear_appraisal(const char *tee, json_t *claims,
    const json_t *runtime_data_claims, const json_t *init_data_claims,
    struct error *err)
{
	json_t *annotated, *vector, *app, *rd, *id;
	const char *worst = "none";
	int v[8];
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
	json_object_set(annotated, tee, claims);
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

	ear_default_vector(tee, claims, v);
	json_decref(claims);
	vector = json_object();
	for (i = 0; i < ARRAY_SIZE(ear_claims); i++) {
		const char *t = ear_tier(v[i]);

		json_object_set_new(vector, ear_claims[i], json_integer(v[i]));
		if (ear_tier_rank(t) > ear_tier_rank(worst))
			worst = t;
	}
	app = json_pack("{s:s, s:o, s:s, s:o}", "ear.status", worst,
	    "ear.trustworthiness-vector", vector,
	    "ear.appraisal-policy-id", "default",
	    "ear.veraison.annotated-evidence", annotated);
	if (app == NULL)
		error_set(err, "cannot build the appraisal");
	return app;
}
