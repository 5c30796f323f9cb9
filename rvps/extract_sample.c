/*
 * extract_sample.c: the "sample" extractor (Trustee's): the payload is a
 * JSON object {name: any JSON}; every member is one reference value. No
 * signature. Duplicate names are refused rather than silently merged.
 */
#include <string.h>

#include "rvps.h"

int
rvps_extract_sample(const uint8_t *payload, size_t len, json_t **out,
    struct error *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len > RVPS_PAYLOAD_MAX)
		return error_set(err, "sample payload: %zu bytes, more than "
		    "the limit of %d", len, RVPS_PAYLOAD_MAX);
	j = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (j == NULL)
		return error_set(err, "sample payload: not valid JSON: %s "
		    "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return error_set(err, "sample payload: must be a JSON object "
		    "{\"<name>\": <value>, ...}");
	}
	*out = j;
	return 0;
}
