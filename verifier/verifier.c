/*
 * verifier.c: the table of TEE verifiers and the TEE names the KBS
 * protocol knows (kbs-types Tee serde names).
 */
#include <string.h>
#include <stdint.h>

#include "verifier.h"

/* Every TEE name kbs-types knows, with the class Trustee's verifier for
 * it emits (reference/attestation-service.md §0; nvidia's switches are
 * "switch", told per device by its verifier). */
static const struct {
	const char *tee, *tee_class;
} verifier_known[] = {
	{ "az-snp-vtpm", "cpu" }, { "az-tdx-vtpm", "cpu" },
	{ "nvidia", "gpu" }, { "sgx", "cpu" }, { "snp", "cpu" },
	{ "tdx", "cpu" }, { "cca", "cpu" }, { "csv", "cpu" }, { "se", "cpu" },
	{ "hygondcu", "dcu" }, { "tpm", "cpu" }, { "sample", "cpu" },
	{ "sampledevice", "gpu" }, { "nvidia-dpu", "nvidia-dpu" },
};

static const struct verifier_backend *const verifier_table[] = {
	&verifier_sample, &verifier_snp, &verifier_tdx, &verifier_sgx,
	&verifier_tpm, &verifier_az_snp_vtpm, &verifier_az_tdx_vtpm,
	&verifier_sampledevice, &verifier_nvidia,
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
	return verifier_tee_class(tee) != NULL;
}

const char *
verifier_tee_class(const char *tee)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(verifier_known); i++)
		if (strcmp(verifier_known[i].tee, tee) == 0)
			return verifier_known[i].tee_class;
	return NULL;
}

int
verifier_verify_all(const struct verifier_backend *b,
    const struct verifier_input *in, struct verifier_device *out, size_t *n,
    struct error *err)
{
	json_t *claims = NULL;

	*n = 0;
	memset(out, 0, VERIFIER_DEVICES_MAX * sizeof(*out));
	if (b->verify_devices != NULL) {
		if (b->verify_devices(in, out, VERIFIER_DEVICES_MAX, n,
		    err) != 0) {
			*n = 0;
			return -1;
		}
		return 0;
	}
	if (b->verify(in, &claims, err) != 0) {
		json_decref(claims);
		return -1;
	}
	out[0].tee_class = b->tee_class;
	out[0].claims = claims;
	*n = 1;
	return 0;
}

void
verifier_devices_clear(struct verifier_device *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_decref(d[i].claims);
		memset(&d[i], 0, sizeof(d[i]));
	}
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
