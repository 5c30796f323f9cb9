/*
 * tpm_quote.c: checking a parsed TPM 2.0 quote (tpm.h): the attestation
 * key (RSA 2048..4096, EC P-256/P-384; from a SubjectPublicKeyInfo or an
 * RSA modulus), the signature over the raw message with the AK (the
 * scheme must fit the key), the PCR digest recomputed from the reported
 * PCR values, the init-data PCR8 binding, and the PCR claims.
 * tpm_quote_verify checks the signature before it parses the message.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tpm.h"
#include "tpm_internal.h"

size_t
tpm_hash_size(uint16_t alg)
{
	switch (alg) {
	case TPM_ALG_SHA1:
		return 20;
	case TPM_ALG_SHA256:
		return 32;
	case TPM_ALG_SHA384:
		return 48;
	case TPM_ALG_SHA512:
		return 64;
	default:
		return 0;
	}
}

static const EVP_MD *
tpm_md(uint16_t alg)
{
	switch (alg) {
	case TPM_ALG_SHA1:
		return EVP_sha1();
	case TPM_ALG_SHA256:
		return EVP_sha256();
	case TPM_ALG_SHA384:
		return EVP_sha384();
	case TPM_ALG_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* ---- keys and signatures */

const char *
tpm_quote_ossl_err(void)
{
	static _Thread_local char buf[160];
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (e == 0)
		return "no OpenSSL detail";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

/* Check an AK is RSA 2048..4096 or EC P-256/P-384. */
static int
tpm_ak_check(EVP_PKEY *k, struct error *err)
{
	char grp[64];
	size_t gl = 0;
	int bits = EVP_PKEY_get_bits(k);

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		if (bits < 2048 || bits > 4096)
			return error_set(err, "AK: RSA key of %d bits (expected "
			    "2048..4096)", bits);
		return 0;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(k,
		    OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), &gl))
			return error_set(err, "AK: EC key without a named "
			    "curve");
		if (strcmp(grp, "prime256v1") != 0 &&
		    strcmp(grp, "secp384r1") != 0)
			return error_set(err, "AK: EC curve %s (expected P-256 "
			    "or P-384)", grp);
		return 0;
	default:
		return error_set(err, "AK: key type %s (expected RSA or EC)",
		    EVP_PKEY_get0_type_name(k) != NULL ?
		    EVP_PKEY_get0_type_name(k) : "unknown");
	}
}

EVP_PKEY *
tpm_ak_from_spki(const uint8_t *der, size_t len, struct error *err)
{
	const unsigned char *p = der;
	EVP_PKEY *k;

	if (der == NULL || len == 0 || len > 4096) {
		error_set(err, "AK: SubjectPublicKeyInfo of %zu bytes", len);
		return NULL;
	}
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k == NULL) {
		error_set(err, "AK: not a DER SubjectPublicKeyInfo (%s)",
		    tpm_quote_ossl_err());
		return NULL;
	}
	if ((size_t)(p - der) != len) {
		EVP_PKEY_free(k);
		error_set(err, "AK: %zu trailing bytes after the "
		    "SubjectPublicKeyInfo", len - (size_t)(p - der));
		return NULL;
	}
	if (tpm_ak_check(k, err) != 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

EVP_PKEY *
tpm_rsa_pubkey(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    struct error *err)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *k = NULL;

	if (nlen == 0 || nlen > 512 || elen == 0 || elen > 8) {
		error_set(err, "RSA key: modulus of %zu bytes / exponent of "
		    "%zu bytes out of range", nlen, elen);
		goto out;
	}
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bld == NULL || bn == NULL || be == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		error_set(err, "RSA key: cannot build from n/e (%s)",
		    tpm_quote_ossl_err());
		k = NULL;
		goto out;
	}
	if (tpm_ak_check(k, err) != 0) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return k;
}

/* Verify sig (RSA: raw; EC: DER) over msg with md and the given RSA
 * padding (0 for EC). */
static int
tpm_evp_verify(EVP_PKEY *k, const EVP_MD *md, int pad, const uint8_t *sig,
    size_t siglen, const uint8_t *msg, size_t msglen, struct error *err)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc;

	if (mctx == NULL ||
	    EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k) <= 0 ||
	    (pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0) ||
	    (pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0
	    || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))) {
		EVP_MD_CTX_free(mctx);
		return error_set(err, "TPM quote signature: cannot set up the "
		    "verification (%s)", tpm_quote_ossl_err());
	}
	rc = EVP_DigestVerify(mctx, sig, siglen, msg, msglen);
	EVP_MD_CTX_free(mctx);
	if (rc != 1) {
		ERR_clear_error();
		return error_set(err, "TPM quote signature does not verify with "
		    "the AK over the %zu-byte TPMS_ATTEST", msglen);
	}
	return 0;
}

int
tpm_signature_verify(const struct tpm_signature *sig, const uint8_t *msg,
    size_t msglen, EVP_PKEY *ak, struct error *err)
{
	const EVP_MD *md = tpm_md(sig->hash_alg);
	int kt = EVP_PKEY_get_base_id(ak);
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int derlen, rc;
	size_t osz;

	if (md == NULL || (sig->hash_alg != TPM_ALG_SHA256 &&
	    sig->hash_alg != TPM_ALG_SHA384))
		return error_set(err, "TPM quote signature: unsupported hash "
		    "0x%04x", sig->hash_alg);
	switch (sig->sig_alg) {
	case TPM_ALG_RSASSA:
	case TPM_ALG_RSAPSS:
		if (kt != EVP_PKEY_RSA)
			return error_set(err, "TPM quote signature: scheme "
			    "%s needs an RSA AK, the AK is %s",
			    sig->sig_alg == TPM_ALG_RSASSA ? "RSASSA" :
			    "RSAPSS", EVP_PKEY_get0_type_name(ak));
		if (sig->sig_len != (size_t)EVP_PKEY_get_size(ak))
			return error_set(err, "TPM quote signature: %zu bytes, "
			    "the %d-bit AK makes %d-byte signatures",
			    sig->sig_len, EVP_PKEY_get_bits(ak),
			    EVP_PKEY_get_size(ak));
		return tpm_evp_verify(ak, md, sig->sig_alg == TPM_ALG_RSASSA ?
		    RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING, sig->sig,
		    sig->sig_len, msg, msglen, err);
	case TPM_ALG_ECDSA:
		if (kt != EVP_PKEY_EC)
			return error_set(err, "TPM quote signature: scheme "
			    "ECDSA needs an EC AK, the AK is %s",
			    EVP_PKEY_get0_type_name(ak));
		osz = ((size_t)EVP_PKEY_get_bits(ak) + 7) / 8;
		if (sig->r_len > osz || sig->s_len > osz)
			return error_set(err, "TPM quote signature: ECDSA r/s of "
			    "%zu/%zu bytes exceed the %zu-byte curve order",
			    sig->r_len, sig->s_len, osz);
		r = BN_bin2bn(sig->r, (int)sig->r_len, NULL);
		s = BN_bin2bn(sig->s, (int)sig->s_len, NULL);
		es = ECDSA_SIG_new();
		if (r == NULL || s == NULL || es == NULL ||
		    !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			return error_set(err, "out of memory");
		}
		derlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (derlen <= 0)
			return error_set(err, "TPM quote signature: cannot "
			    "encode ECDSA r/s");
		rc = tpm_evp_verify(ak, md, 0, der, (size_t)derlen, msg,
		    msglen, err);
		OPENSSL_free(der);
		return rc;
	default:
		return error_set(err, "TPM quote signature: unsupported "
		    "scheme 0x%04x", sig->sig_alg);
	}
}

int
tpm_verify_rsassa_sha256(const uint8_t *sig, size_t siglen,
    const uint8_t *msg, size_t msglen, EVP_PKEY *ak, struct error *err)
{
	struct tpm_signature s = {
		.sig_alg = TPM_ALG_RSASSA, .hash_alg = TPM_ALG_SHA256,
		.sig = sig, .sig_len = siglen,
	};

	return tpm_signature_verify(&s, msg, msglen, ak, err);
}

/* ---- PCRs */

int
tpm_pcr_digest_check(const struct tpm_attest *a, const uint8_t *pcrs,
    size_t n, size_t pcr_len, struct error *err)
{
	unsigned idx[TPM_MAX_PCRS];
	uint16_t hash[TPM_MAX_PCRS];
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	const EVP_MD *md;
	size_t sel, i;

	if (tpm_pcr_selection_list(&a->pcr_select, idx, hash, TPM_MAX_PCRS,
	    &sel, err) != 0)
		return -1;
	if (sel == 0)
		return error_set(err, "the TPM quote selects no PCRs");
	if (n != sel)
		return error_set(err, "%zu PCR values reported, the quote "
		    "selects %zu PCRs", n, sel);
	for (i = 0; i < sel; i++)
		if (tpm_hash_size(hash[i]) != pcr_len)
			return error_set(err, "PCR %u is in bank 0x%04x "
			    "(%zu-byte values), the reported values have %zu "
			    "bytes", idx[i], hash[i], tpm_hash_size(hash[i]),
			    pcr_len);
	switch (a->pcr_digest_len) {
	case 32:
		md = EVP_sha256();
		break;
	case 48:
		md = EVP_sha384();
		break;
	case 64:
		md = EVP_sha512();
		break;
	default:
		return error_set(err, "pcrDigest of %zu bytes (expected a "
		    "SHA-256/384/512 digest)", a->pcr_digest_len);
	}
	if (!EVP_Digest(pcrs, n * pcr_len, d, &dl, md, NULL))
		return error_set(err, "PCR digest: hashing failed");
	if (dl != a->pcr_digest_len || memcmp(d, a->pcr_digest, dl) != 0)
		return error_set(err, "PCR digest mismatch: %s of the %zu "
		    "reported PCR values does not equal the quote's pcrDigest "
		    "(a reported PCR value was altered)", EVP_MD_get0_name(md),
		    n);
	return 0;
}

int
tpm_init_data_pcr8(const uint8_t expected[32], uint8_t pcr8[32])
{
	uint8_t in[64];
	unsigned int dl = 0;

	memset(in, 0, 32);
	memcpy(in + 32, expected, 32);
	return EVP_Digest(in, sizeof(in), pcr8, &dl, EVP_sha256(), NULL) ?
	    0 : -1;
}

int
tpm_init_data_check(const uint8_t pcr8[32], const uint8_t *expected,
    size_t expected_len, struct error *err)
{
	uint8_t d[32];

	if (expected_len != 32)
		return error_set(err, "init data: the expected init-data hash "
		    "has %zu bytes; TPM PCR8 binding needs exactly 32 (a "
		    "sha256 init-data digest)", expected_len);
	if (tpm_init_data_pcr8(expected, d) != 0)
		return error_set(err, "init data: hashing failed");
	if (memcmp(d, pcr8, 32) != 0)
		return error_set(err, "init data hash does not match: PCR8 is "
		    "not SHA256(0^32 || expected init-data hash)");
	return 0;
}

int
tpm_quote_verify(const struct tpm_quote_in *in, struct tpm_attest *out,
    struct error *err)
{
	struct tpm_signature sig;

	/* The signature over the raw message first: a changed message is
	 * refused for its signature, whatever was changed. */
	memset(out, 0, sizeof(*out));
	if (in->sig_raw_rsassa) {
		if (tpm_verify_rsassa_sha256(in->sig, in->sig_len, in->message,
		    in->message_len, in->ak, err) != 0)
			return -1;
	} else {
		if (tpm_signature_parse(in->sig, in->sig_len, &sig, err) != 0 ||
		    tpm_signature_verify(&sig, in->message, in->message_len,
		    in->ak, err) != 0)
			return -1;
	}
	if (tpm_attest_parse(in->message, in->message_len, out, err) != 0)
		return -1;
	return tpm_pcr_digest_check(out, in->pcrs, in->n_pcrs, in->pcr_len,
	    err);
}

int
tpm_pcr_claims(json_t *obj, const struct tpm_attest *a, const uint8_t *pcrs,
    size_t n, size_t pcr_len, struct error *err)
{
	unsigned idx[TPM_MAX_PCRS];
	size_t sel, i;
	char key[8], hex[2 * TPM_MAX_DIGEST + 1];

	if (pcr_len > TPM_MAX_DIGEST)
		return error_set(err, "PCR values of %zu bytes", pcr_len);
	if (tpm_pcr_selection_list(&a->pcr_select, idx, NULL, TPM_MAX_PCRS,
	    &sel, err) != 0)
		return -1;
	if (sel != n)
		return error_set(err, "%zu PCR values for %zu selected PCRs",
		    n, sel);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "pcr%02u", idx[i]);
		if (json_object_get(obj, key) != NULL)
			return error_set(err, "PCR %u is quoted in two banks; "
			    "claims name one bank only", idx[i]);
		hex_encode(pcrs + i * pcr_len, pcr_len, hex);
		json_object_set_new(obj, key, json_string(hex));
	}
	return 0;
}
