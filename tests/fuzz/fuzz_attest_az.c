/*
 * fuzz_attest_az.c: what the Azure attesters read (cli/attest_az.c): the
 * HCL report header from vTPM NV, and Azure IMDS answers (THIM's VCEK,
 * the TD quote). Properties: no crash or leak; an HCL type is only found
 * in an "HCLA" report.
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
	uint8_t *out;
	size_t n;

	if (attest_az_hcl_type(data, size) >= 0 &&
	    (size < 4 || memcmp(data, "HCLA", 4) != 0))
		abort();
	if (attest_az_thim_vcek(data, size, &out, &n, &err) == 0)
		free(out);
	if (attest_az_tdquote(data, size, &out, &n, &err) == 0) {
		if (n == 0)
			abort();
		free(out);
	}
	return 0;
}
