/*
 * sampledevice.c: the "sampledevice" TEE, Trustee's sample additional
 * device (reference/attestation-service.md §1.2), so that multi-device
 * attestation can be exercised without hardware. Evidence is
 * {"svn":"<string>","report_data":"<std base64>"} (the guest-components
 * attester sends svn "2"); it carries no signature and proves nothing
 * about a device. As in Trustee, the decoded report_data must equal the
 * expected digest exactly (the device's runtime data: nonce and
 * tee-pubkey, without additional-evidence). Class "gpu": the policy
 * "<id>_gpu" appraises it. Claims: {svn, report_data}.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "verifier.h"

static int
sampledevice_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	const json_t *svn, *rd;
	const char *rds = "";
	uint8_t *raw = NULL;
	size_t rawlen = 0;

	*claims = NULL;
	if (!json_is_object(in->evidence))
		return error_set(err, "sampledevice evidence is not a JSON "
		    "object");
	svn = json_object_get(in->evidence, "svn");
	if (!json_is_string(svn))
		return error_set(err, "sampledevice evidence: svn must be a "
		    "string");
	rd = json_object_get(in->evidence, "report_data");
	if (rd != NULL && !json_is_string(rd))
		return error_set(err, "sampledevice evidence: report_data must "
		    "be a string");
	if (rd != NULL)
		rds = json_string_value(rd);
	if (in->report_data != NULL) {
		if (b64_decode(rds, strlen(rds), B64_STD, &raw, &rawlen) != 0)
			return error_set(err, "sampledevice evidence: "
			    "report_data is not standard base64");
		if (rawlen != in->report_data_len ||
		    !secret_equal(raw, in->report_data, rawlen)) {
			free(raw);
			return error_set(err, "report data mismatch: the device "
			    "evidence is not bound to this session's nonce and "
			    "tee-pubkey");
		}
		free(raw);
	}
	if ((*claims = json_pack("{s:O, s:s}", "svn", svn, "report_data",
	    rds)) == NULL)
		return error_set(err, "out of memory");
	return 0;
}

const struct verifier_backend verifier_sampledevice = {
	.tee = "sampledevice",
	.tee_class = "gpu",
	.verify = sampledevice_verify,
};
