/*
 * fuzz_attest_tdx.c: what the TDX attester reads back from the host's
 * quote generation service (the QGS GET_QUOTE_RESP message behind
 * /dev/tdx_guest) and the evidence built from a quote (cli/attest_tdx.c).
 * Properties: no crash or leak; a quote found lies inside the message.
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "../../cli/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	const uint8_t *q;
	size_t n;
	json_t *ev;

	if (attest_tdx_qgs_response(data, size, &q, &n, &err) == 0) {
		if (q < data || q + n > data + size || n == 0)
			abort();
		if (attest_tdx_evidence_build(q, n, NULL, 0, &ev, &err) == 0)
			json_decref(ev);
	}
	if (attest_tdx_evidence_build(data, size, data, size / 2, &ev,
	    &err) == 0)
		json_decref(ev);
	return 0;
}
