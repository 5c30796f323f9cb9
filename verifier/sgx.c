/*
 * sgx.c: the sgx verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
sgx_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "sgx: not supported by this build");
}

const struct verifier_backend verifier_sgx = {
	.tee = "sgx",
	.tee_class = "cpu",
	.verify = sgx_verify,
};
