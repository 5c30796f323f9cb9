/*
 * tpm.c: the tpm verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
tpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "tpm: not supported by this build");
}

const struct verifier_backend verifier_tpm = {
	.tee = "tpm",
	.tee_class = "cpu",
	.verify = tpm_verify,
};
