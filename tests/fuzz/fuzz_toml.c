/*
 * fuzz_toml.c: toml_parse on arbitrary bytes. A document that parses must
 * render as JSON, and its line record must have the same top-level keys.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	json_t *doc, *lines;
	char *s;

	if (toml_parse((const char *)data, size, &doc, &lines, &err) != 0) {
		if (err.msg[0] == '\0' || err.line < 0)
			abort();
		return 0;
	}
	s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL || json_object_size(doc) != json_object_size(lines))
		abort();
	free(s);
	json_decref(doc);
	json_decref(lines);
	return 0;
}
