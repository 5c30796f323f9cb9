/*
 * fuzz_ccel.c: the CC event log parser and RTMR replay
 * (verifier/ccel*.c) on any bytes. Properties: no crash or leak; on
 * success the entries serialize to JSON and the replay without entries
 * gives the same RTMRs; on failure the RTMRs are zero and no entries are
 * returned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ccel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[4][48];
	uint8_t r1[4][48], r2[4][48];
	json_t *ev = NULL;
	struct error err;
	char *s;
	int rc1, rc2;

	rc1 = ccel_replay(data, size, r1, &ev, &err);
	rc2 = ccel_replay(data, size, r2, NULL, &err);
	if (rc1 == 0) {
		if (!json_is_array(ev))
			abort();
		s = json_dumps(ev, JSON_COMPACT);
		if (s == NULL)
			abort();
		free(s);
		json_decref(ev);
		/* Entries are decoded only when asked for, so the replay
		 * alone may succeed where decoding fails, never the reverse. */
		if (rc2 != 0 || memcmp(r1, r2, sizeof(r1)) != 0)
			abort();
	} else {
		if (ev != NULL || memcmp(r1, zero, sizeof(r1)) != 0)
			abort();
	}
	if (rc2 != 0 && memcmp(r2, zero, sizeof(r2)) != 0)
		abort();
	return 0;
}
