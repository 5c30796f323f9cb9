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

static uint32_t
verifier_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
verifier_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Recognise the three raw forms by their fixed headers (the layouts in
 * reference/attestation-service.md §1.3-1.5 and §1.8):
 * - an SNP ATTESTATION_REPORT: exactly 1184 bytes, version 2..5 (u32 LE
 *   at 0), sig_algo 1 = ECDSA P-384 (u32 LE at 0x34);
 * - a DCAP quote: version 3, 4 or 5 (u16 LE at 0), att_key_type 2 =
 *   ECDSA-256-with-P-256 (u16 LE at 2), tee_type 0 (SGX) or 0x81 (TDX)
 *   (u32 LE at 4), at least the 48-byte header;
 * - a TPMS_ATTEST: magic TPM_GENERATED_VALUE 0xff544347 (big-endian).
 * The three are disjoint: an SNP version 2..5 leaves bytes 2-3 zero where
 * a quote has att_key_type 2, and neither starts with 0xff.
 */
const char *
verifier_detect_raw(const uint8_t *buf, size_t len)
{
	uint32_t v;
	uint16_t qv;

	if (buf == NULL)
		return NULL;
	if (len == 1184) {
		v = verifier_le32(buf);
		if (v >= 2 && v <= 5 && verifier_le32(buf + 0x34) == 1)
			return "snp";
	}
	if (len >= 48) {
		qv = verifier_le16(buf);
		if ((qv == 3 || qv == 4 || qv == 5) &&
		    verifier_le16(buf + 2) == 2) {
			v = verifier_le32(buf + 4);
			if (v == 0x81)
				return "tdx";
			if (v == 0)
				return "sgx";
		}
	}
	if (len >= 4 && buf[0] == 0xff && buf[1] == 0x54 && buf[2] == 0x43 &&
	    buf[3] == 0x47)
		return "tpm";
	return NULL;
}
