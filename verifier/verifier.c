/*
 * verifier.c: the table of TEE verifiers and the TEE names the KBS
 * protocol knows (kbs-types Tee serde names).
 */
#include <string.h>
#include <stdint.h>

#include "verifier.h"

static const char *const verifier_known[] = {
	"az-snp-vtpm", "az-tdx-vtpm", "nvidia", "sgx", "snp", "tdx", "cca",
	"csv", "se", "hygondcu", "tpm", "sample", "sampledevice", "nvidia-dpu",
};

static const struct verifier_backend *const verifier_table[] = {
	&verifier_sample, &verifier_snp, &verifier_tdx, &verifier_sgx,
	&verifier_tpm, &verifier_az_snp_vtpm, &verifier_az_tdx_vtpm,
};

static struct verifier_config verifier_cfg;

void
verifier_configure(const struct verifier_config *cfg)
{
	if (cfg == NULL)
		memset(&verifier_cfg, 0, sizeof(verifier_cfg));
	else
		verifier_cfg = *cfg;
}

const struct verifier_config *
verifier_get_config(void)
{
	return &verifier_cfg;
}

void
verifier_regularize(const uint8_t *src, size_t srclen, uint8_t *dst,
    size_t dstlen)
{
	size_t n = srclen < dstlen ? srclen : dstlen;

	memset(dst, 0, dstlen);
	if (n > 0)
		memcpy(dst, src, n);
}

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

const char *
verifier_detect_raw(const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return NULL;
}
