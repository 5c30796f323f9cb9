/*
 * sample.c: the "sample" TEE, for tests and demos on machines without a
 * TEE. Evidence is {"svn":"<string>","report_data":"<std base64>"}; there
 * is no signature, so it proves nothing about the platform. What it does
 * check, like Trustee's sample verifier, is the runtime-data binding: the
 * decoded report_data must equal the expected digest exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "verifier.h"

static int
sample_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	const json_t *svn, *rd;
	const char *rds = "";
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	json_t *c;

	*claims = NULL;
	if (!json_is_object(in->evidence))
		return error_set(err, "sample evidence is not a JSON object");
	svn = json_object_get(in->evidence, "svn");
	if (!json_is_string(svn))
		return error_set(err, "sample evidence: svn must be a string");
	rd = json_object_get(in->evidence, "report_data");
	if (rd != NULL && !json_is_string(rd))
		return error_set(err, "sample evidence: report_data must be a "
		    "string");
	if (rd != NULL)
		rds = json_string_value(rd);
	if (in->report_data != NULL) {
		if (b64_decode(rds, strlen(rds), B64_STD, &raw, &rawlen) != 0)
			return error_set(err, "sample evidence: report_data is "
			    "not standard base64");
		if (rawlen != in->report_data_len ||
		    !secret_equal(raw, in->report_data, rawlen)) {
			free(raw);
			return error_set(err, "report data mismatch: the "
			    "evidence is not bound to this session's nonce and "
			    "tee-pubkey");
		}
		free(raw);
	}
	c = json_pack("{s:O, s:s, s:s, s:{s:i, s:i}, s:b}",
	    "svn", svn, "report_data", rds, "launch_digest", "abcde",
	    "platform_version", "major", 1, "minor", 4, "debug", 0);
	if (c == NULL)
		return error_set(err, "out of memory");
	if (in->init_data_hash != NULL) {
		/* Sample cannot bind init-data; like Trustee, echo the hash. */
		char *b = b64_encode(in->init_data_hash,
		    in->init_data_hash_len, B64_STD);

		json_object_set_new(c, "init_data", json_string(b));
		free(b);
	}
	*claims = c;
	return 0;
}

const struct verifier_backend verifier_sample = {
	.tee = "sample",
	.tee_class = "cpu",
	.verify = sample_verify,
};
