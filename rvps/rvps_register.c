/*
 * rvps_register.c: Trustee's RVPS message envelope (see rvps.h):
 * envelope parsing, extractor dispatch, and all-or-nothing registration
 * through rvps_write in rvps_write.c (shared parts in rvps_internal.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "rvps.h"
#include "rvps_internal.h"

#define RVPS_ENVELOPE_VERSION "0.1.0"

/* --------------------------------------------------------------- envelope */

typedef int (*rvps_register_extract_fn)(const uint8_t *, size_t, json_t **,
    struct error *);

static const struct {
	const char *type;
	rvps_register_extract_fn fn;
} rvps_register_extractors[] = {
	{ "sample", rvps_extract_sample },
	{ "swid", rvps_extract_swid },
	{ "corim", rvps_extract_corim },
};

int
rvps_parse_envelope(const char *msg, size_t len, json_t **values,
    struct error *err)
{
	const char *version, *type, *payload;
	rvps_register_extract_fn fn = NULL;
	json_error_t jerr;
	json_t *env, *jv, *out = NULL, *value;
	char esc[RVPS_ESC];
	uint8_t *bytes = NULL;
	size_t i, plen, blen = 0;
	const char *name;
	int rc = -1;

	*values = NULL;
	env = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (env == NULL)
		return error_set(err, "reference value envelope is not valid "
		    "JSON: %s (line %d, column %d)", jerr.text, jerr.line,
		    jerr.column);
	if (!json_is_object(env)) {
		error_set(err, "reference value envelope must be a JSON "
		    "object {\"version\",\"type\",\"payload\"}");
		goto out;
	}
	jv = json_object_get(env, "version");
	if (jv != NULL) {
		version = json_string_value(jv);
		if (version == NULL) {
			error_set(err, "reference value envelope: \"version\" "
			    "must be the string \"" RVPS_ENVELOPE_VERSION
			    "\"");
			goto out;
		}
		if (strcmp(version, RVPS_ENVELOPE_VERSION) != 0) {
			error_set(err, "reference value envelope: version "
			    "'%s' is not supported (expected \""
			    RVPS_ENVELOPE_VERSION "\")",
			    log_escape(version, esc, sizeof(esc)));
			goto out;
		}
	}
	type = json_string_value(json_object_get(env, "type"));
	if (type == NULL) {
		error_set(err, "reference value envelope: \"type\" must be "
		    "a string (sample, swid or corim)");
		goto out;
	}
	jv = json_object_get(env, "payload");
	payload = json_string_value(jv);
	if (payload == NULL) {
		error_set(err, "reference value envelope: \"payload\" must "
		    "be a base64 string%s", jv == NULL && json_object_get(env,
		    "provenance") != NULL ? " (the member is \"payload\", "
		    "not \"provenance\")" : "");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(rvps_register_extractors); i++)
		if (strcmp(type, rvps_register_extractors[i].type) == 0)
			fn = rvps_register_extractors[i].fn;
	if (fn == NULL) {
		error_set(err, "Could not find extractor for '%s' (known: "
		    "sample, swid, corim)", log_escape(type, esc,
		    sizeof(esc)));
		goto out;
	}
	plen = json_string_length(jv);
	if (plen > (size_t)RVPS_PAYLOAD_MAX / 3 * 4 + 4) {
		error_set(err, "reference value envelope: the payload is %zu "
		    "base64 characters, more than the %d bytes allowed once "
		    "decoded", plen, RVPS_PAYLOAD_MAX);
		goto out;
	}
	if (b64_decode_any(payload, plen, &bytes, &blen) == -1) {
		error_set(err, "reference value envelope: the payload is not "
		    "base64 (standard or URL-safe alphabet, no whitespace)");
		goto out;
	}
	if (blen > RVPS_PAYLOAD_MAX) {
		error_set(err, "reference value envelope: the payload is %zu "
		    "bytes, more than the limit of %d", blen,
		    RVPS_PAYLOAD_MAX);
		goto out;
	}
	if (fn(bytes, blen, &out, err) == -1)
		goto out;
	if (json_object_size(out) == 0) {
		error_set(err, "the %s payload holds no reference values",
		    type);
		goto out;
	}
	if (json_object_size(out) > RVPS_REGISTER_MAX) {
		error_set(err, "the %s payload holds %zu reference values, "
		    "more than the limit of %d", type, json_object_size(out),
		    RVPS_REGISTER_MAX);
		goto out;
	}
	json_object_foreach(out, name, value) {
		if (rvps_check_name(name, err) == -1 ||
		    rvps_check_value(name, value, err) == -1) {
			error_prefix(err, "the %s payload", type);
			goto out;
		}
	}
	*values = out;
	out = NULL;
	rc = 0;
out:
	json_decref(out);
	json_decref(env);
	free(bytes);
	return rc;
}

int
rvps_register(const char *msg, size_t len, const char *who,
    json_t **names, struct error *err)
{
	json_t *values, *v;
	const char *name;
	int rc;

	if (names != NULL)
		*names = NULL;
	if (rvps_check_text(who, RVPS_WHO_MAX, "admin identity", 1,
	    err) == -1 || rvps_parse_envelope(msg, len, &values, err) == -1)
		return -1;
	pthread_mutex_lock(&rvps_g.wlock);
	rc = rvps_write(values, 0, who, NULL, err);
	pthread_mutex_unlock(&rvps_g.wlock);
	if (rc == 0 && names != NULL) {
		*names = json_array();
		json_object_foreach(values, name, v)
			json_array_append_new(*names, json_string(name));
	}
	json_decref(values);
	return rc;
}
