/*
 * fuzz_rv_envelope.c: the RVPS register envelope and the extractors
 * behind it, with no store (rvps_parse_envelope). Input: a first byte of
 * 'S', 'W' or 'C' wraps the rest, base64-encoded, as the payload of a
 * sample, swid or corim envelope (so the fuzzer reaches the extractors
 * without having to learn base64); any other input is the envelope
 * itself. Properties: success gives 1..RVPS_REGISTER_MAX values whose
 * names are 1..RVPS_NAME_MAX bytes with no control byte, and which encode
 * as JSON; failure always comes with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/b64.h"
#include "../../rvps/rvps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fz_wrap(const char *type, const uint8_t *p, size_t n, size_t *len)
{
	char *b = b64_encode(p, n, B64_STD);
	char *env = xasprintf("{\"version\":\"0.1.0\",\"type\":\"%s\","
	    "\"payload\":\"%s\"}", type, b);

	free(b);
	*len = strlen(env);
	return env;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { "" };
	json_t *values = NULL, *v;
	const char *name, *type = NULL;
	char *env = NULL, *s;
	size_t len = size, n, i;

	if (size > 0 && data[0] == 'S')
		type = "sample";
	else if (size > 0 && data[0] == 'W')
		type = "swid";
	else if (size > 0 && data[0] == 'C')
		type = "corim";
	if (type != NULL)
		env = fz_wrap(type, data + 1, size - 1, &len);
	else {
		env = xmalloc(size + 1);
		if (size > 0)
			memcpy(env, data, size);
		env[size] = '\0';
	}
	if (rvps_parse_envelope(env, len, &values, &err) == -1) {
		if (err.msg[0] == '\0' || values != NULL)
			abort();
		free(env);
		return 0;
	}
	n = json_object_size(values);
	if (n == 0 || n > RVPS_REGISTER_MAX)
		abort();
	json_object_foreach(values, name, v) {
		size_t nl = strlen(name);

		if (nl == 0 || nl > RVPS_NAME_MAX)
			abort();
		for (i = 0; i < nl; i++)
			if ((unsigned char)name[i] < 0x20 ||
			    (unsigned char)name[i] == 0x7f)
				abort();
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (s == NULL || strlen(s) > RVPS_VALUE_MAX)
			abort();
		free(s);
	}
	json_decref(values);
	free(env);
	return 0;
}
