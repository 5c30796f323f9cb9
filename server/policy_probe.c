/*
 * policy_probe.c: the upload check. Before a new policy version is stored
 * it runs against built-in representative inputs (lua-policies/inputs/,
 * compiled into the binary): the transformed claims of a sample TEE, an
 * SNP guest, a TDX guest and a TPM (real claims from the test vectors,
 * with a session's runtime data and init-data) for attestation policies;
 * resource requests carrying a sample TEE's and an SNP guest's token
 * claims for the resource policy. Compiling only finds syntax errors; a
 * policy that calls os.getenv in its decision function compiles and then
 * refuses every guest.
 *
 * Rules (docs/policies.md "Upload check"):
 *  - a budget overrun (instructions, wall clock, memory) on any input
 *    refuses the upload: it would deny those guests and hold workers;
 *  - an error or malformed result on every input refuses the upload,
 *    naming the first input and the error with its line;
 *  - an error on some inputs only is accepted with a warning per input (a
 *    policy written for one TEE may well fail on another TEE's claims;
 *    that denies those guests, which may be what the operator wants).
 * Attestation policies "<id>_<class>" are checked against the inputs of
 * their class (attestation-<class>-*.json), or all attestation inputs
 * when the class has none. All runs together stay within one wall limit.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/embedded.h"
#include "../lib/log.h"
#include "policy_internal.h"

struct probe_input {
	enum policy_kind kind;
	const char *cls;		/* attestation class, or NULL */
	const char *file;		/* embedded path */
	const char *label;		/* for messages */
};

static const struct probe_input probe_inputs[] = {
	{ POLICY_ATTESTATION, "cpu", "lua-policies/inputs/"
	  "attestation-cpu-sample.json", "a sample TEE's claims" },
	{ POLICY_ATTESTATION, "cpu", "lua-policies/inputs/"
	  "attestation-cpu-snp.json", "an SNP guest's claims" },
	{ POLICY_ATTESTATION, "cpu", "lua-policies/inputs/"
	  "attestation-cpu-tdx.json", "a TDX guest's claims" },
	{ POLICY_ATTESTATION, "cpu", "lua-policies/inputs/"
	  "attestation-cpu-tpm.json", "a TPM quote's claims" },
	{ POLICY_ATTESTATION, "gpu", "lua-policies/inputs/"
	  "attestation-gpu-sampledevice.json", "a sample device's claims" },
	{ POLICY_ATTESTATION, "gpu", "lua-policies/inputs/"
	  "attestation-gpu-nvidia.json", "an NVIDIA H100's claims" },
	{ POLICY_RESOURCE, NULL, "lua-policies/inputs/resource-sample.json",
	  "a request with a sample TEE's token" },
	{ POLICY_RESOURCE, NULL, "lua-policies/inputs/resource-snp.json",
	  "a request with an SNP guest's token" },
};

static int
probe_applies(const struct probe_input *in, enum policy_kind kind,
    const char *cls)
{
	if (in->kind != kind)
		return 0;
	return kind == POLICY_RESOURCE || cls == NULL ||
	    strcmp(in->cls, cls) == 0;
}

/* The class of an attestation policy id ("default_cpu" -> "cpu") when some
 * input has it, else NULL (all attestation inputs apply). */
static const char *
probe_class(enum policy_kind kind, const char *id)
{
	const char *us = id != NULL ? strrchr(id, '_') : NULL;
	size_t i;

	if (kind != POLICY_ATTESTATION || us == NULL)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(probe_inputs); i++)
		if (probe_inputs[i].cls != NULL &&
		    strcmp(probe_inputs[i].cls, us + 1) == 0)
			return us + 1;
	return NULL;
}

/* The input's JSON (a new reference), or NULL. */
static json_t *
probe_load(const struct probe_input *in)
{
	const unsigned char *text;
	size_t len;
	json_t *j;

	text = embedded_get(in->file, &len);
	j = text != NULL ? json_loadb((const char *)text, len, 0, NULL) :
	    NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int
policy_probe(enum policy_kind kind, const char *id, const char *text,
    size_t len, json_t *warnings, struct error *err)
{
	const char *cls = probe_class(kind, id);
	struct error first = { "" }, perr;
	struct plua_call c;
	const struct probe_input *in;
	uint64_t deadline = 0;
	json_t *j;
	size_t i;
	int runs = 0, fails = 0, rc;

	for (i = 0; i < ARRAY_SIZE(probe_inputs); i++) {
		in = &probe_inputs[i];
		if (!probe_applies(in, kind, cls))
			continue;
		if ((j = probe_load(in)) == NULL)
			return error_set(err, "built-in sample input %s is "
			    "missing or not JSON", in->file);
		memset(&c, 0, sizeof(c));
		c.label = "upload check";
		c.text = text;
		c.len = len;
		c.deadline = deadline;
		if (kind == POLICY_ATTESTATION) {
			c.shape = PLUA_SHAPE_ATTESTATION;
			c.args[0] = j;
			c.nargs = 1;
		} else {
			c.shape = PLUA_SHAPE_RESOURCE;
			c.args[0] = json_object_get(j, "claims");
			c.args[1] = json_object_get(j, "request");
			c.nargs = 2;
		}
		rc = plua_run(&c, &perr);
		/* one wall limit for all the runs together */
		deadline = c.deadline;
		json_decref(c.ext);
		json_decref(j);
		runs++;
		if (rc == 0)
			continue;
		if (c.overran)
			return error_set(err, "the policy exceeds its budget on "
			    "%s (a built-in sample input; see docs/policies.md):"
			    " %s", in->label, perr.msg);
		if (fails++ == 0)
			error_set(&first, "on %s: %s", in->label, perr.msg);
		if (warnings != NULL)
			json_array_append_new(warnings, json_sprintf("the "
			    "policy fails on %s (a built-in sample input): %s",
			    in->label, perr.msg));
	}
	if (runs > 0 && fails == runs) {
		if (warnings != NULL)
			json_array_clear(warnings);
		error_set(err, "the policy fails on every built-in sample "
		    "input (see docs/policies.md); %s", first.msg);
		presult_clean_error(err);
		return -1;
	}
	return 0;
}
