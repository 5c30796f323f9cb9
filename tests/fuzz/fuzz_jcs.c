/*
 * fuzz_jcs.c: jcs_serialize on any JSON jansson accepts. Properties:
 * the output contains no raw control character, parses back, and is a
 * fixed point (JCS(parse(JCS(x))) == JCS(x) byte for byte). With all
 * numbers read as doubles the reparsed value must also equal the input,
 * which checks that every real is printed with round-trip digits.
 * jcs_compact (the same writer in insertion order) must give a text of
 * the same length rules that parses back to an equal value of the same
 * types: a real stays a real, an integer an integer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcs.h"

static void
fuzz_jcs_check(const uint8_t *data, size_t size, size_t flags)
{
	json_error_t jerr;
	json_t *v, *v2 = NULL;
	char *s1, *s2 = NULL;
	size_t n1 = 0, n2 = 0, i;

	v = json_loadb((const char *)data, size, flags, &jerr);
	if (v == NULL)
		return;
	/* jansson cannot hold non-finite reals, so this always works. */
	if ((s1 = jcs_serialize(v, &n1)) == NULL)
		abort();
	if (strlen(s1) != n1)
		abort();
	for (i = 0; i < n1; i++) {
		if ((unsigned char)s1[i] < 0x20)
			abort();
	}
	v2 = json_loadb(s1, n1, flags, &jerr);
	if (v2 == NULL) {
		/* A real in [2^63, 1e21) prints as a plain integer that is
		 * too big for json_int_t; nothing else may fail. */
		if ((flags & JSON_DECODE_INT_AS_REAL) == 0 &&
		    json_error_code(&jerr) == json_error_numeric_overflow)
			goto out;
		abort();
	}
	if ((flags & JSON_DECODE_INT_AS_REAL) != 0 && !json_equal(v, v2))
		abort();
	if ((s2 = jcs_serialize(v2, &n2)) == NULL)
		abort();
	if (n1 != n2 || memcmp(s1, s2, n1) != 0)
		abort();
out:
	free(s1);
	free(s2);
	json_decref(v);
	json_decref(v2);
}

static void
fuzz_jcs_compact(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *v, *v2;
	char *s;
	size_t n = 0, i;

	v = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &jerr);
	if (v == NULL)
		return;
	if ((s = jcs_compact(v, &n)) == NULL || strlen(s) != n)
		abort();
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20)
			abort();
	}
	v2 = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	/* json_equal compares types too (1 is not 1.0). */
	if (v2 == NULL || !json_equal(v, v2))
		abort();
	free(s);
	json_decref(v);
	json_decref(v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	fuzz_jcs_check(data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL);
	fuzz_jcs_check(data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL |
	    JSON_DECODE_INT_AS_REAL);
	fuzz_jcs_compact(data, size);
	return 0;
}
