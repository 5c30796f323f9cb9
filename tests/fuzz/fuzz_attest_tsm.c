/*
 * fuzz_attest_tsm.c: the configfs-tsm attribute texts the attesters read
 * (cli/attest_tsm.c): provider and generation. Properties: no crash; an
 * accepted provider is a NUL-terminated [a-z0-9_] name that fits; an
 * accepted generation is the decimal value of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	char p[32];
	uint32_t g;
	size_t i;

	if (attest_tsm_provider_parse((const char *)data, size, p, sizeof(p),
	    &err) == 0) {
		if (strlen(p) == 0 || strlen(p) >= sizeof(p))
			abort();
		for (i = 0; p[i] != '\0'; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
				abort();
	}
	if (attest_tsm_generation_parse((const char *)data, size, &g,
	    &err) == 0) {
		uint64_t v = 0;

		for (i = 0; i < size && data[i] != '\n'; i++)
			v = v * 10 + (uint64_t)(data[i] - '0');
		if (v != g)
			abort();
	}
	return 0;
}
