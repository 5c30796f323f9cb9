/*
 * fuzz_challenge.c: session_challenge_open (server/session_challenge.c)
 * on any session id and nonce, as a guest sends them to /attest (the
 * cookie, runtime-data.nonce). Input: 32 bytes of id (any bytes, so ids
 * of the wrong shape too), then the nonce. Properties: it never crashes
 * or reads out of bounds; a nonce it accepts is exactly the one
 * session_challenge_mint makes for what it describes; and one minted
 * for the input's id opens to the same session under the key, and under
 * no other.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../server/session_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[32] = { 7, 1, 2, 3 };
static const uint8_t fuzz_other[32] = { 7, 1, 2, 4 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[SESSION_ID_LEN + 1], *nonce;
	struct session s, t;
	size_t n = size < SESSION_ID_LEN ? size : SESSION_ID_LEN;

	memset(id, 0, sizeof(id));
	memcpy(id, data, n);
	nonce = calloc(1, size - n + 1);
	memcpy(nonce, data + n, size - n);
	if (session_challenge_open(fuzz_key, id, nonce, &s) == 0) {
		memcpy(&t, &s, sizeof(t));
		if (session_challenge_mint(fuzz_key, &t) != 0 ||
		    strcmp(t.nonce, nonce) != 0)
			abort();
	}
	/* A session for this id (when it is one's shape) round-trips. */
	if (strlen(id) == SESSION_ID_LEN) {
		memset(&s, 0, sizeof(s));
		memcpy(s.id, id, sizeof(id));
		snprintf(s.tee, sizeof(s.tee), "%.*s", (int)(size % 13),
		    "abcdefghijklm");
		s.hash = (enum hash_alg)(size % 4);
		s.expires = 1 + (int64_t)(size * 7919 % 4000000000u);
		if (session_challenge_mint(fuzz_key, &s) == 0) {
			if (session_challenge_open(fuzz_key, id, s.nonce,
			    &t) != 0 || strcmp(t.tee, s.tee) != 0 ||
			    t.hash != s.hash || t.expires != s.expires)
				abort();
			if (session_challenge_open(fuzz_other, id, s.nonce,
			    &t) == 0)
				abort();
		} else if (s.tee[0] != '\0' && strlen(s.tee) <= 12)
			abort();
	}
	free(nonce);
	return 0;
}
