/*
 * sgx.c: the sgx verifier (reference/attestation-service.md §1.5).
 * Evidence {"quote": base64(SGX ECDSA quote v3)}. The quote is verified by
 * dcap.c; then the bindings: report data regularized to 64 vs REPORTDATA,
 * init data regularized to 64 vs CONFIGID.
 */
#include <stdlib.h>
#include <string.h>

#include "dcap_internal.h"
#include "verifier.h"

#define SGX_MAX_QUOTE	(64u * 1024)

static int
sgx_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	const json_t *v;
	uint8_t *quote = NULL;
	size_t qlen = 0;
	struct dcap_quote q;
	json_t *c = NULL;

	*claims = NULL;
	if (!json_is_object(in->evidence))
		return error_set(err, "sgx evidence is not a JSON object");
	v = json_object_get(in->evidence, "quote");
	if (!json_is_string(v))
		return error_set(err, "sgx evidence has no \"quote\" string");
	if (json_string_length(v) > SGX_MAX_QUOTE / 3 * 4 + 4)
		return error_set(err, "sgx evidence: \"quote\" is too large");
	if (dcap_b64_decode(json_string_value(v), json_string_length(v),
	    &quote, &qlen) != 0)
		return error_set(err, "sgx evidence: \"quote\" is not standard "
		    "base64");
	if (dcap_verify_quote(quote, qlen, DCAP_TEE_TYPE_SGX, in->now, &q, &c,
	    err) != 0)
		goto fail;
	if (dcap_check_bindings(&q, in->report_data, in->report_data_len,
	    in->init_data_hash, in->init_data_hash_len, err) != 0)
		goto fail;
	json_object_set_new(c, "report_data", dcap_json_hex(q.report_data, 64));
	json_object_set_new(c, "init_data", dcap_json_hex(q.config_id, 64));
	free(quote);
	*claims = c;
	return 0;
fail:
	json_decref(c);
	free(quote);
	return -1;
}

static int
sgx_wrap_raw(const uint8_t *buf, size_t len, json_t **evidence,
    struct error *err)
{
	return dcap_wrap_raw_quote(buf, len, DCAP_TEE_TYPE_SGX,
	    "not an SGX quote", evidence, err);
}

const struct verifier_backend verifier_sgx = {
	.tee = "sgx",
	.tee_class = "cpu",
	.verify = sgx_verify,
	.wrap_raw = sgx_wrap_raw,
};
