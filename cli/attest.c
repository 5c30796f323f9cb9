/*
 * attest.c: the attester table, --tee auto, and the sample attester.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "attest.h"

/* --tee auto tries these in order: the AA's detect_tee_type order
 * (tdx, sgx, az-tdx-vtpm, az-snp-vtpm, snp, ..., tpm) minus what
 * trusteectl does not attest. Azure comes before snp: an Azure SNP CVM's
 * guest has no /dev/sev-guest of its own VMPL 0 report. */
static const struct attester *const attest_auto_order[] = {
	&attest_tdx, &attest_az_tdx, &attest_az_snp, &attest_snp, &attest_tpm,
};

static const struct attester *const attest_all[] = {
	&attest_sample, &attest_snp, &attest_tdx, &attest_tpm, &attest_az_snp,
	&attest_az_tdx,
};

const char *
attest_names(void)
{
	return "auto, sample, snp, tdx, tpm, az-snp-vtpm, az-tdx-vtpm";
}

int
attest_find(const char *name, const struct attest_cfg *cfg,
    const struct attester **out, struct error *err)
{
	size_t i;

	*out = NULL;
	if (strcmp(name, "auto") == 0) {
		for (i = 0; i < ARRAY_SIZE(attest_auto_order); i++) {
			if (attest_auto_order[i]->detect(cfg)) {
				*out = attest_auto_order[i];
				log_debug("attest: detected %s", (*out)->name);
				return 0;
			}
		}
		return error_set(err, "--tee auto: no TEE found (looked for "
		    "configfs-tsm in %s, %s, %s, an Azure vTPM HCL report and "
		    "a TPM); name one with --tee, or use --tee sample for "
		    "tests", cfg->tsm_dir ? cfg->tsm_dir : ATTEST_TSM_DIR,
		    cfg->tdx_dev ? cfg->tdx_dev : ATTEST_TDX_DEV,
		    cfg->sev_dev ? cfg->sev_dev : ATTEST_SEV_DEV);
	}
	for (i = 0; i < ARRAY_SIZE(attest_all); i++) {
		if (strcmp(attest_all[i]->name, name) == 0) {
			*out = attest_all[i];
			return 0;
		}
	}
	return error_set(err, "unknown TEE '%s' (expected one of %s)", name,
	    attest_names());
}

int
attest_pad(const uint8_t *rd, size_t rdlen, uint8_t *out, size_t n,
    const char *what, struct error *err)
{
	if (rdlen > n)
		return error_set(err, "%s: report data of %zu bytes does not "
		    "fit in %zu", what, rdlen, n);
	memset(out, 0, n);
	if (rdlen > 0)
		memcpy(out, rd, rdlen);
	return 0;
}

/* ---- sample: what the AA sends when it finds no TEE */

static int
attest_sample_detect(const struct attest_cfg *cfg)
{
	(void)cfg;
	return 0;	/* never chosen by auto */
}

static int
attest_sample_evidence(const struct attest_cfg *cfg, const uint8_t *rd,
    size_t rdlen, json_t **evidence, struct error *err)
{
	char *b = b64_encode(rd, rdlen, B64_STD);

	(void)cfg;
	*evidence = json_pack("{s:s, s:s}", "svn", "1", "report_data", b);
	free(b);
	if (*evidence == NULL)
		return error_set(err, "cannot build sample evidence");
	return 0;
}

const struct attester attest_sample = {
	.name = "sample",
	.tee = "sample",
	.detect = attest_sample_detect,
	.evidence = attest_sample_evidence,
};
