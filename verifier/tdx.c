/*
 * tdx.c: the tdx verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
tdx_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "tdx: not supported by this build");
}

const struct verifier_backend verifier_tdx = {
	.tee = "tdx",
	.tee_class = "cpu",
	.verify = tdx_verify,
};
