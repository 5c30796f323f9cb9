/*
 * nvidia.c: the "nvidia" TEE, NVIDIA GPUs verified locally
 * (reference/attestation-service.md §1.13; evidence layout in nvidia.h).
 *
 * For each Hopper GPU of device_evidence_list, in this order:
 *  1. the report (SPDM GET_MEASUREMENTS request || MEASUREMENTS response)
 *     is parsed with every bound checked (spdm.c) and its opaque data
 *     decoded into the "config" claims;
 *  2. the certificate chain (leaf first) verifies to the pinned NVIDIA
 *     Device Identity CA (verifier/roots/nvidia/, compiled in); a
 *     self-signed certificate in the chain must be that root; every
 *     certificate must be valid at the verification time;
 *  3. the FWID in the leaf's extension 2.23.133.5.4.1 equals the report's
 *     opaque FWID;
 *  4. the report's ECDSA P-384 signature (raw r||s) verifies with the
 *     leaf key over SHA-384 of every byte before it;
 *  5. the request nonce equals the expected report data zero-padded or
 *     truncated to 32 bytes (required, as in Trustee).
 * Claims (class "gpu"), as Trustee's local verifier emits them:
 *   {"arch": "Hopper", "uuid", "measurements": {"<index>": hex, ...},
 *    "config": {driver_version, vbios_version, fwid, measurement_count,
 *               board_id, chip_sku, ...}}
 * with no report_data claim. Reference values are the policy's business
 * (default_gpu.lua), not the verifier's.
 *
 * Blackwell GPUs and LS10 switches are listed as not verifiable locally
 * by this build (a contraindicated appraisal, not an error); there is no
 * remote (NRAS) mode, so this verifier never touches the network.
 *
 * Verified chains are cached (by SHA-256 of the base64 text) with the
 * leaf key, its FWID and the intersection of the validity windows, so a
 * warm verification costs one P-384 signature check.
 *
 * This file is the backend: the order above, the report signature and the
 * nonce. The evidence's outer form is read in nvidia_evidence.c, the
 * opaque data and measurements become claims in nvidia_claims.c, chains
 * are verified and cached in nvidia_chain.c, the FWID extension is read
 * in nvidia_fwid.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "nvidia.h"
#include "nvidia_internal.h"
#include "spdm.h"

/* ------------------------------------------------------------- report */

/* ECDSA P-384 raw r||s over SHA-384(msg): 1 valid, 0 invalid, -1 error. */
static int
nvidia_sig_verify(EVP_PKEY *pk, const uint8_t *msg, size_t len,
    const uint8_t sig[NVIDIA_SIG_LEN])
{
	uint8_t dgst[48], der[128], *p = der;
	unsigned int dlen = 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 48, NULL), *s = BN_bin2bn(sig + 48, 48,
	    NULL);
	EVP_PKEY_CTX *ctx = NULL;
	int derlen, rc = -1;

	if (es == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if (i2d_ECDSA_SIG(es, NULL) > (int)sizeof(der) ||
	    (derlen = i2d_ECDSA_SIG(es, &p)) <= 0)
		goto out;
	if (EVP_Digest(msg, len, dgst, &dlen, EVP_sha384(), NULL) != 1)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	rc = EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen) == 1;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/* Verify one Hopper GPU; *claims on success. */
static int
nvidia_verify_hopper(const struct nvidia_device *d,
    const struct verifier_input *in, json_t **claims, struct error *err)
{
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct nvidia_chain c;
	uint8_t *rep = NULL, fwid[NVIDIA_FWID_LEN], nonce[SPDM_NONCE_LEN];
	char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];
	char h1[2 * SPDM_NONCE_LEN + 1], h2[2 * SPDM_NONCE_LEN + 1];
	size_t len;
	json_t *config = NULL;
	int rc = -1, v;

	memset(&c, 0, sizeof(c));
	*claims = NULL;
	if (nvidia_decode_report(d->evidence, d->evidence_len, &rep, &len,
	    err) != 0 ||
	    spdm_parse_measurements(rep, len, NVIDIA_SIG_LEN, m, err) != 0 ||
	    nvidia_opaque_claims(m->opaque, m->opaque_len, &config, fwid,
	    err) != 0)
		goto out;
	if (nvidia_chain_get(d, &c, err) != 0)
		goto out;
	if (in->now < c.not_before || in->now > c.not_after) {
		time_format_rfc3339(in->now, b);
		time_format_rfc3339(in->now < c.not_before ? c.not_before :
		    c.not_after, a);
		error_set(err, "the device certificate chain is not valid at "
		    "the verification time %s (it is valid %s %s)", b,
		    in->now < c.not_before ? "from" : "until", a);
		goto out;
	}
	if (memcmp(fwid, c.fwid, NVIDIA_FWID_LEN) != 0) {
		error_set(err, "the report's FWID does not match the FWID "
		    "extension of the device certificate \"%s\"", c.leaf_cn);
		goto out;
	}
	v = nvidia_sig_verify(c.leaf, rep, m->signed_len, m->signature);
	if (v != 1) {
		error_set(err, v == 0 ? "the report signature does not verify "
		    "with the key of the device certificate \"%s\" (ECDSA "
		    "P-384 over SHA-384 of %zu bytes)" : "cannot check the "
		    "report signature with the key of \"%s\" (%zu bytes)",
		    c.leaf_cn, m->signed_len);
		goto out;
	}
	if (in->report_data == NULL) {
		error_set(err, "the expected report data is required: the "
		    "SPDM request nonce is compared with it");
		goto out;
	}
	verifier_regularize(in->report_data, in->report_data_len, nonce,
	    sizeof(nonce));
	if (!secret_equal(nonce, m->req_nonce, SPDM_NONCE_LEN)) {
		hex_encode(m->req_nonce, SPDM_NONCE_LEN, h1);
		hex_encode(nonce, SPDM_NONCE_LEN, h2);
		error_set(err, "report data mismatch: the SPDM request nonce "
		    "%s is not the expected report data regularized to 32 "
		    "bytes (%s)", h1, h2);
		goto out;
	}
	*claims = json_pack("{s:s, s:s, s:o, s:O}", "arch", d->arch_name,
	    "uuid", d->uuid, "measurements", nvidia_claims_measurements(m),
	    "config", config);
	if (*claims == NULL) {
		error_set(err, "cannot build the claims (uuid not UTF-8?)");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(c.leaf);
	json_decref(config);
	free(rep);
	free(m);
	return rc;
}

static int
nvidia_verify_devices(const struct verifier_input *in,
    struct verifier_device *out, size_t cap, size_t *n, struct error *err)
{
	struct nvidia_device devs[VERIFIER_DEVICES_MAX];
	size_t i, count;

	*n = 0;
	if (cap > VERIFIER_DEVICES_MAX)
		cap = VERIFIER_DEVICES_MAX;
	if (nvidia_parse_evidence(in->evidence, devs, cap, &count, err) != 0)
		return -1;
	for (i = 0; i < count; i++) {
		out[i].tee_class = devs[i].tee_class;
		out[i].claims = NULL;
		out[i].reason[0] = '\0';
		if (devs[i].arch != NVIDIA_HOPPER) {
			snprintf(out[i].reason, sizeof(out[i].reason),
			    "NVIDIA %s evidence is not verifiable locally by "
			    "this build (local mode verifies Hopper GPUs only; "
			    "no remote NRAS mode)", devs[i].arch_name);
			continue;
		}
		if (nvidia_verify_hopper(&devs[i], in, &out[i].claims,
		    err) != 0) {
			verifier_devices_clear(out, i);
			error_prefix(err, "device_evidence_list[%zu] (%s)", i,
			    devs[i].arch_name);
			return -1;
		}
	}
	*n = count;
	return 0;
}

/* The single-device form: evidence describing one verifiable GPU. */
static int
nvidia_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	struct verifier_device out[VERIFIER_DEVICES_MAX];
	size_t n = 0;

	*claims = NULL;
	if (nvidia_verify_devices(in, out, VERIFIER_DEVICES_MAX, &n, err) != 0)
		return -1;
	if (n != 1 || out[0].claims == NULL) {
		if (n != 1)
			error_set(err, "the evidence describes %zu devices "
			    "(expected one here)", n);
		else
			error_set(err, "%s", out[0].reason);
		verifier_devices_clear(out, n);
		return -1;
	}
	*claims = out[0].claims;
	out[0].claims = NULL;
	return 0;
}

const struct verifier_backend verifier_nvidia = {
	.tee = "nvidia",
	.tee_class = "gpu",
	.verify = nvidia_verify,
	.verify_devices = nvidia_verify_devices,
};
