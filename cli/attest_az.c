/*
 * attest_az.c: the Azure confidential VM attesters (az-snp-vtpm,
 * az-tdx-vtpm). The paravisor (HCL) keeps an attestation report in vTPM
 * NV index 0x01400001: a hardware report (SNP report, or TDREPORT) whose
 * report data binds JSON "runtime data" holding the vTPM AK and, when the
 * guest wrote it to NV 0x01400002 first, "user-data". The evidence
 * (version 2, reference/guest-client.md §4) is as the AA builds it with
 * az-cvm-vtpm:
 *   - report data written to NV 0x01400002 (padded to 64), 3 s for the
 *     paravisor to refresh the report, then NV 0x01400001 read whole;
 *   - a vTPM quote by the AK 0x81000003 (RSASSA/SHA-256) over SHA-256
 *     PCRs 0..23 with the report data itself as nonce; signature (bare
 *     RSA), message (TPMS_ATTEST) and PCRs as hex;
 *   - SNP: the VCEK from IMDS THIM (/metadata/THIM/amd/certification);
 *     TDX: the TD quote from IMDS (/acc/tdquote, the TDREPORT posted as
 *     base64url);
 *   - hcl_report and vcek / td_quote as base64url with padding.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../lib/b64.h"
#include "../lib/httpc.h"
#include "../lib/log.h"
#include "attest.h"

#define AZ_HCL_MAGIC		"HCLA"
/* IGVM request data: report_type */
#define AZ_HCL_TYPE_OFF		0x4C8
#define AZ_HW_OFF		0x20
#define AZ_TDREPORT_LEN		1024
#define AZ_REFRESH_SECONDS	3
#define AZ_IMDS_BODY_MAX	(256u * 1024)

int
attest_az_hcl_type(const uint8_t *hcl, size_t len)
{
	uint32_t t;

	if (len < AZ_HCL_TYPE_OFF + 4 || memcmp(hcl, AZ_HCL_MAGIC, 4) != 0)
		return -1;
	t = (uint32_t)hcl[AZ_HCL_TYPE_OFF] |
	    (uint32_t)hcl[AZ_HCL_TYPE_OFF + 1] << 8 |
	    (uint32_t)hcl[AZ_HCL_TYPE_OFF + 2] << 16 |
	    (uint32_t)hcl[AZ_HCL_TYPE_OFF + 3] << 24;
	return t > 0xff ? -1 : (int)t;
}

json_t *
attest_az_evidence_build(const struct attest_tpm_quote *q,
    const uint8_t *hcl, size_t hcl_len, int tdx, const uint8_t *hw,
    size_t hw_len)
{
	json_t *pcrs = json_array(), *ev;
	char hex[65], *sig, *msg, *h, *w;
	size_t i;

	for (i = 0; i < 24; i++) {
		hex_encode(q->pcrs[i], 32, hex);
		json_array_append_new(pcrs, json_string(hex));
	}
	sig = xmalloc(2 * q->rsa_sig_len + 1);
	hex_encode(q->rsa_sig, q->rsa_sig_len, sig);
	msg = xmalloc(2 * q->msg_len + 1);
	hex_encode(q->msg, q->msg_len, msg);
	h = b64_encode(hcl, hcl_len, B64_URL);
	w = b64_encode(hw, hw_len, B64_URL);
	ev = json_pack("{s:i, s:{s:s, s:s, s:o}, s:s, s:s}", "version", 2,
	    "tpm_quote", "signature", sig, "message", msg, "pcrs", pcrs,
	    "hcl_report", h, tdx ? "td_quote" : "vcek", w);
	free(sig);
	free(msg);
	free(h);
	free(w);
	return ev;
}

static json_t *
az_json(const uint8_t *body, size_t len, const char *what, struct error *err)
{
	json_t *j = json_loadb((const char *)body, len, 0, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		error_set(err, "IMDS %s: the answer is not a JSON object",
		    what);
		return NULL;
	}
	return j;
}

int
attest_az_thim_vcek(const uint8_t *body, size_t len, uint8_t **der,
    size_t *derlen, struct error *err)
{
	json_t *j = az_json(body, len, "THIM", err);
	const char *pem;
	X509 *x = NULL;
	BIO *b = NULL;
	unsigned char *d = NULL;
	int n;

	*der = NULL;
	if (j == NULL)
		return -1;
	pem = json_string_value(json_object_get(j, "vcekCert"));
	if (pem == NULL) {
		json_decref(j);
		return error_set(err, "IMDS THIM: no \"vcekCert\" string");
	}
	if ((b = BIO_new_mem_buf(pem, -1)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	json_decref(j);
	if (x == NULL)
		return error_set(err, "IMDS THIM: vcekCert is not a PEM "
		    "certificate");
	n = i2d_X509(x, &d);
	X509_free(x);
	if (n <= 0)
		return error_set(err, "IMDS THIM: cannot encode the VCEK");
	*der = xmalloc((size_t)n);
	memcpy(*der, d, (size_t)n);
	*derlen = (size_t)n;
	OPENSSL_free(d);
	return 0;
}

int
attest_az_tdquote(const uint8_t *body, size_t len, uint8_t **quote,
    size_t *quote_len, struct error *err)
{
	json_t *j = az_json(body, len, "tdquote", err);
	const json_t *q;

	*quote = NULL;
	if (j == NULL)
		return -1;
	q = json_object_get(j, "quote");
	if (!json_is_string(q) || json_string_length(q) == 0 ||
	    b64_decode_any(json_string_value(q), json_string_length(q), quote,
	    quote_len) != 0) {
		json_decref(j);
		return error_set(err, "IMDS tdquote: no base64 \"quote\"");
	}
	json_decref(j);
	return 0;
}

/* One IMDS request (GET with Metadata: true, or POST of JSON). */
static int
az_imds(const struct attest_cfg *cfg, const char *method, const char *path,
    const char *body, struct httpc_response *resp, struct error *err)
{
	static const char *const get_hdrs[] = { "Metadata: true", NULL };
	static const char *const post_hdrs[] = {
		"Metadata: true", "Content-Type: application/json", NULL
	};
	const char *url = cfg->imds_url ? cfg->imds_url : ATTEST_IMDS_URL;
	struct httpc *c;
	int rc;

	if ((c = httpc_new(url, NULL, cfg->timeout_s > 0 ? cfg->timeout_s :
	    30, err)) == NULL)
		return error_prefix(err, "IMDS");
	rc = httpc_request(c, method, path, body ? post_hdrs : get_hdrs, body,
	    body ? strlen(body) : 0, resp, err);
	httpc_free(c);
	if (rc != 0)
		return error_prefix(err, "IMDS %s", path);
	if (resp->status != 200) {
		error_set(err, "IMDS %s %s: status %d", method, path,
		    resp->status);
		httpc_response_clear(resp);
		return -1;
	}
	if (resp->body.len > AZ_IMDS_BODY_MAX) {
		httpc_response_clear(resp);
		return error_set(err, "IMDS %s: answer too large", path);
	}
	return 0;
}

/* The hardware evidence from IMDS: the VCEK, or the TD quote for the
 * HCL report's TDREPORT. */
static int
az_hw(const struct attest_cfg *cfg, int tdx, const uint8_t *hcl,
    size_t hcl_len, uint8_t **hw, size_t *hw_len, struct error *err)
{
	struct httpc_response r = { 0 };
	char *b, *body;
	int rc;

	if (!tdx) {
		if (az_imds(cfg, "GET", "/metadata/THIM/amd/certification",
		    NULL, &r, err) != 0)
			return -1;
		rc = attest_az_thim_vcek(r.body.data, r.body.len, hw, hw_len,
		    err);
		httpc_response_clear(&r);
		return rc;
	}
	if (hcl_len < AZ_HW_OFF + AZ_TDREPORT_LEN)
		return error_set(err, "HCL report too short for a TDREPORT");
	b = b64_encode(hcl + AZ_HW_OFF, AZ_TDREPORT_LEN, B64_URL_NOPAD);
	body = xasprintf("{\"report\":\"%s\"}", b);
	free(b);
	rc = az_imds(cfg, "POST", "/acc/tdquote", body, &r, err);
	free(body);
	if (rc != 0)
		return -1;
	rc = attest_az_tdquote(r.body.data, r.body.len, hw, hw_len, err);
	httpc_response_clear(&r);
	return rc;
}

static int
az_detect(const struct attest_cfg *cfg, int want)
{
	struct attest_tpm *t;
	struct error err;
	uint8_t *hcl = NULL;
	size_t len = 0;
	int type = -1;

	if ((t = attest_tpm_open(cfg, &err)) == NULL)
		return 0;
	if (attest_tpm_nv_exists(t, ATTEST_AZ_HCL_NV) &&
	    attest_tpm_nv_read(t, ATTEST_AZ_HCL_NV, &hcl, &len, &err) == 0)
		type = attest_az_hcl_type(hcl, len);
	free(hcl);
	attest_tpm_close(t);
	return type == want;
}

static int
az_snp_detect(const struct attest_cfg *cfg)
{
	return az_detect(cfg, 2);
}

static int
az_tdx_detect(const struct attest_cfg *cfg)
{
	return az_detect(cfg, 4);
}

static int
az_evidence(const struct attest_cfg *cfg, int tdx, const uint8_t *rd,
    size_t rdlen, json_t **evidence, struct error *err)
{
	struct attest_tpm *t;
	struct attest_tpm_quote q;
	uint8_t user[64], *hcl = NULL, *hw = NULL;
	size_t hcl_len = 0, hw_len = 0;
	int type, rc = -1;

	*evidence = NULL;
	memset(&q, 0, sizeof(q));
	if (attest_pad(rd, rdlen, user, sizeof(user), "Azure", err) != 0)
		return -1;
	if ((t = attest_tpm_open(cfg, err)) == NULL)
		return -1;
	if (attest_tpm_nv_write(t, ATTEST_AZ_USER_NV, user, sizeof(user),
	    err) != 0)
		goto out;
	sleep(AZ_REFRESH_SECONDS);
	if (attest_tpm_nv_read(t, ATTEST_AZ_HCL_NV, &hcl, &hcl_len, err) != 0)
		goto out;
	type = attest_az_hcl_type(hcl, hcl_len);
	if (type != (tdx ? 4 : 2)) {
		error_set(err, "NV 0x%08x holds no %s HCL report (type %d)",
		    ATTEST_AZ_HCL_NV, tdx ? "TDX" : "SNP", type);
		goto out;
	}
	if (attest_tpm_quote(t, ATTEST_AZ_AK_HANDLE, rd, rdlen, &q, err) != 0)
		goto out;
	if (q.rsa_sig == NULL) {
		error_set(err, "the vTPM AK did not sign with RSASSA");
		goto out;
	}
	if (az_hw(cfg, tdx, hcl, hcl_len, &hw, &hw_len, err) != 0)
		goto out;
	if ((*evidence = attest_az_evidence_build(&q, hcl, hcl_len, tdx, hw,
	    hw_len)) == NULL) {
		error_set(err, "cannot build Azure evidence");
		goto out;
	}
	rc = 0;
out:
	attest_tpm_quote_clear(&q);
	free(hcl);
	free(hw);
	attest_tpm_close(t);
	return rc;
}

static int
az_snp_evidence(const struct attest_cfg *cfg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	return az_evidence(cfg, 0, rd, rdlen, evidence, err);
}

static int
az_tdx_evidence(const struct attest_cfg *cfg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	return az_evidence(cfg, 1, rd, rdlen, evidence, err);
}

const struct attester attest_az_snp = {
	.name = "az-snp-vtpm",
	.tee = "az-snp-vtpm",
	.detect = az_snp_detect,
	.evidence = az_snp_evidence,
};

const struct attester attest_az_tdx = {
	.name = "az-tdx-vtpm",
	.tee = "az-tdx-vtpm",
	.detect = az_tdx_detect,
	.evidence = az_tdx_evidence,
};
