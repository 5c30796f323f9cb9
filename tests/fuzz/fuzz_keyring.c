/*
 * fuzz_keyring.c: the parsers of the store's own rows (store/instance.c,
 * store/datakey.c) on arbitrary bytes as read from the database, which is
 * not trusted: an _instances row (sealer description, sealed key, MAC), a
 * _keys data-key row and the floor row. They must never crash or read out
 * of bounds, and nothing may authenticate under a key it was not made
 * with.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyring fuzz_kr;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t master[32] = { 1, 2, 3 };
	struct instance_row in;
	struct error err;
	uint8_t key[32];
	uint32_t v;
	size_t i;

	if (fuzz_kr.m == NULL && (sodium_init() < 0 ||
	    keyring_init(&fuzz_kr, master, &err) != 0))
		abort();
	if (instance_parse(data, size, &in, &err) == 0) {
		if (in.sealed < data || in.sealed + in.sealed_len > data + size ||
		    in.mac_off + 32 != size)
			abort();
		for (i = 0; in.desc[i] != '\0'; i++)
			if (in.desc[i] < 0x20 || in.desc[i] >= 0x7f)
				abort();
		/* A random MAC does not verify. */
		if (instance_verify(fuzz_kr.m, data, &in, &err) == 0 &&
		    size > 0 && data[0] != 'T')
			abort();
	}
	if (datakey_unwrap(fuzz_kr.m, data, size, &v, key, &err) == 0)
		abort();
	if (datakey_floor_unwrap(fuzz_kr.m, data, size, &v, &err) == 0)
		abort();
	return 0;
}
