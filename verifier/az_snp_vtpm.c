/*
 * az_snp_vtpm.c: the az-snp-vtpm verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
az_snp_vtpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "az-snp-vtpm: not supported by this build");
}

const struct verifier_backend verifier_az_snp_vtpm = {
	.tee = "az-snp-vtpm",
	.tee_class = "cpu",
	.verify = az_snp_vtpm_verify,
};
