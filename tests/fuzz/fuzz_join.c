/*
 * fuzz_join.c: the join request and join file parsers (store/join.c) on
 * arbitrary bytes, as a running instance reads a request handed to
 * `trusteectl key export --for FILE` and a new instance reads the join
 * file given to `trusteed --join`. They must never crash, and what they
 * accept must be within the documented bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct join_request req;
	struct join_file jf;
	struct error err;
	size_t i;

	if (join_parse_request(data, size, &req, &err) == 0) {
		/* The sealer description is printable ASCII, NUL-terminated. */
		for (i = 0; req.sealer[i] != '\0'; i++)
			if (req.sealer[i] < 0x20 || req.sealer[i] >= 0x7f)
				abort();
	} else if (err.msg[0] == '\0')
		abort();
	if (join_parse_file(data, size, &jf, &err) == 0) {
		if (jf.sealed == NULL || jf.sealed_len != 6 + 16 + 32 + 48)
			abort();
		join_file_free(&jf);
	} else if (err.msg[0] == '\0' || jf.sealed != NULL)
		abort();
	return 0;
}
