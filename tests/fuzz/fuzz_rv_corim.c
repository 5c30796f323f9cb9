/*
 * fuzz_rv_corim.c: the CoRIM extractor on hostile CBOR (our pre-scan,
 * then libcbor, then the CoRIM walk). Properties: success gives an object
 * of at most RVPS_REGISTER_MAX names, each ending in "digests" (an array
 * of even-length lowercase hex strings) or "raw_bytes" (one such
 * string); failure always comes with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../rvps/rvps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_hex(const json_t *j)
{
	const char *s = json_string_value(j);
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n % 2 == 0 && strspn(s, "0123456789abcdef") == n;
}

static int
fz_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n >= k && strcmp(name + n - k, suffix) == 0 &&
	    (n == k || name[n - k - 1] == '/');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { "" };
	json_t *out = NULL, *v, *h;
	const char *name;
	size_t i;

	if (rvps_extract_corim(data, size, &out, &err) == -1) {
		if (err.msg[0] == '\0' || out != NULL)
			abort();
		return 0;
	}
	if (!json_is_object(out) || json_object_size(out) > RVPS_REGISTER_MAX)
		abort();
	json_object_foreach(out, name, v) {
		if (fz_ends(name, "digests")) {
			if (!json_is_array(v))
				abort();
			json_array_foreach(v, i, h)
				if (!fz_hex(h))
					abort();
		} else if (fz_ends(name, "raw_bytes")) {
			if (!fz_hex(v))
				abort();
		} else
			abort();
	}
	json_decref(out);
	return 0;
}
