/*
 * fuzz_initdata.c: initdata_parse on arbitrary bytes; a success must
 * carry a digest of the algorithm's size and an object of claims.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/initdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct initdata id;
	struct error err;
	char *s;

	if (initdata_parse((const char *)data, size, &id, &err) != 0)
		return 0;
	if (id.digest_len != hash_alg_size(id.alg) ||
	    !json_is_object(id.claims))
		abort();
	s = json_dumps(id.claims, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	initdata_clear(&id);
	return 0;
}
