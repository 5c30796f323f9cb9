/*
 * fuzz_rv_swid.c: the SWID (TCG RIM XML) extractor on hostile XML, libxml2
 * included. Properties: success gives an object whose names hold
 * ".measurement_" and no '-', each a non-empty array of hex strings none
 * of which is all zeros; failure always comes with a reason. A DTD never
 * gets through (ASan/UBSan and libFuzzer's memory limit catch blow-ups).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../rvps/rvps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_hex_nonzero(const char *s)
{
	int nonzero = 0;

	for (; *s != '\0'; s++) {
		if (strchr("0123456789abcdefABCDEF", *s) == NULL)
			return 0;
		if (*s != '0')
			nonzero = 1;
	}
	return nonzero;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { "" };
	json_t *out = NULL, *v, *h;
	const char *name;
	size_t i;

	if (rvps_extract_swid(data, size, &out, &err) == -1) {
		if (err.msg[0] == '\0' || out != NULL)
			abort();
		return 0;
	}
	if (!json_is_object(out))
		abort();
	json_object_foreach(out, name, v) {
		if (strstr(name, ".measurement_") == NULL ||
		    strchr(name, '-') != NULL)
			abort();
		if (!json_is_array(v) || json_array_size(v) == 0)
			abort();
		json_array_foreach(v, i, h)
			if (!json_is_string(h) ||
			    !fz_hex_nonzero(json_string_value(h)))
				abort();
	}
	json_decref(out);
	return 0;
}
