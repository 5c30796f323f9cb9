/*
 * fuzz_dcap_pckext.c: the bounded DER reader for the Intel SGX extension
 * of PCK certificates (verifier/dcap_pck.c) on arbitrary bytes.
 *
 * Invariants checked (abort on violation):
 *   - a successful parse has an SGX type in 0..2 and boolean flags;
 *   - parsing is deterministic and never depends on bytes past the end:
 *     the same input copied into an exact-size buffer parses the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../verifier/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dcap_pck_ext a, b;
	struct error err;
	uint8_t *copy;
	int ra, rb;

	ra = dcap_pck_ext_parse(data, size, &a, &err);
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	rb = dcap_pck_ext_parse(copy, size, &b, &err);
	free(copy);
	if (ra != rb)
		abort();
	if (ra != 0)
		return 0;
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (a.sgx_type < 0 || a.sgx_type > 2 ||
	    (a.dynamic_platform | a.cached_keys | a.smt_enabled) > 1)
		abort();
	return 0;
}
