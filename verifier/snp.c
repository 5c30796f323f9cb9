/*
 * snp.c: the snp verifier (placeholder until it lands; refuses everything).
 */
#include "verifier.h"

static int
snp_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	(void)in;
	*claims = NULL;
	return error_set(err, "snp: not supported by this build");
}

const struct verifier_backend verifier_snp = {
	.tee = "snp",
	.tee_class = "cpu",
	.verify = snp_verify,
};
