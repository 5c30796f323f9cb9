/*
 * fuzz_attest_snp.c: what the SEV-SNP attester reads from the kernel and
 * the host (cli/attest_snp.c): the GHCB certificate table (configfs-tsm
 * auxblob, SNP_GET_EXT_REPORT certificate buffer), the MSG_REPORT_RSP
 * around the report, and the evidence built from a report plus table.
 * Properties: no crash or leak; every certificate parsed lies inside the
 * table; a report found in a response lies inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../cli/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	const uint8_t *rep;
	size_t n, i, total = 0;
	json_t *chain, *ev;

	if (attest_snp_certs_parse(data, size, &chain, &err) == 0) {
		if (!json_is_null(chain) && !json_is_array(chain))
			abort();
		for (i = 0; i < json_array_size(chain); i++)
			total += json_array_size(json_object_get(
			    json_array_get(chain, i), "data"));
		/* entries may overlap, but none reaches past the end */
		if (json_array_size(chain) > 0 && total == 0)
			abort();
		json_decref(chain);
	}
	if (attest_snp_resp_parse(data, size, &rep, &n, &err) == 0 &&
	    (rep < data || rep + n > data + size))
		abort();
	/* a report followed by a certificate table */
	if (size >= 1184 && attest_snp_evidence_build(data, 1184, data + 1184,
	    size - 1184, &ev, &err) == 0)
		json_decref(ev);
	return 0;
}
