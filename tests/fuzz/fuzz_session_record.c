/*
 * fuzz_session_record.c: session_record_decode (server/session_record.c)
 * on any bytes, as a shared store's session row holds them after its
 * seal opened. Properties: it never crashes or reads out of bounds, and
 * a record it reads encodes back to the same bytes (the format has one
 * spelling of each session).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../server/session_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session s;
	struct error err;
	uint8_t *b;
	size_t len;

	memset(&s, 0, sizeof(s));
	if (session_record_decode(data, size, &s, &err) != 0)
		return 0;
	b = session_record_encode(&s, s.token, &len);
	if (len != size || memcmp(b, data, size) != 0)
		abort();
	free(b);
	free(s.token);
	return 0;
}
