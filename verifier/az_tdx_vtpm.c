/*
 * az_tdx_vtpm.c: the az-tdx-vtpm verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
az_tdx_vtpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "az-tdx-vtpm: not supported by this build");
}

const struct verifier_backend verifier_az_tdx_vtpm = {
	.tee = "az-tdx-vtpm",
	.tee_class = "cpu",
	.verify = az_tdx_vtpm_verify,
};
