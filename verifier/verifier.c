/*
 * verifier.c: the table of TEE verifiers and the TEE names the KBS
 * protocol knows (kbs-types Tee serde names).
 */
#include <string.h>

#include "verifier.h"

static const char *const verifier_known[] = {
	"az-snp-vtpm", "az-tdx-vtpm", "nvidia", "sgx", "snp", "tdx", "cca",
	"csv", "se", "hygondcu", "tpm", "sample", "sampledevice", "nvidia-dpu",
};

static const struct verifier_backend *const verifier_table[] = {
	&verifier_sample,
};

const struct verifier_backend *
verifier_lookup(const char *tee)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(verifier_table); i++)
		if (strcmp(verifier_table[i]->tee, tee) == 0)
			return verifier_table[i];
	return NULL;
}

int
verifier_tee_known(const char *tee)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(verifier_known); i++)
		if (strcmp(verifier_known[i], tee) == 0)
			return 1;
	return 0;
}
