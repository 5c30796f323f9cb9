/*
 * tpm.c: TPM 2.0 quotes (see tpm.h) and the "tpm" verifier
 * (reference/attestation-service.md §1.8).
 *
 * Evidence (Trustee's TpmEvidence): {"ak_public": base64 std of a DER
 * SubjectPublicKeyInfo, "tpm_quote": {"signature": base64 std of a
 * marshalled TPMT_SIGNATURE, "message": base64 std of the TPMS_ATTEST,
 * "pcrs": [hex of each quoted PCR, in quote order]}}.
 *
 * Checks, in order (signatures before content): AK form (RSA 2048..4096,
 * EC P-256/P-384); the signature over the raw message with the AK (scheme
 * fits the key); the TPMS_ATTEST structure (magic, type, ...); the PCR
 * digest recomputed from the reported PCRs (exactly the PCRs the quote
 * selects, in selection order); then the nonce: extraData must equal the
 * expected report data regularized to 32 bytes (Trustee at the reference
 * commit) or to 64 bytes (what Trustee's TPM attester sends: it pads the
 * report data to 64, as in the repository vector); then the init data:
 * PCR8 == SHA256(0^32 || expected), expected 32 bytes.
 *
 * The AK is not trusted here: the claims carry ak_public as given and the
 * policy decides (reference value "trusted_aks"). Claims: ak_public,
 * pcrNN (hex, NN the PCR index), report_data = hex(extraData), init_data
 * = hex(PCR8) (when PCR8 is quoted); ear.c hoists the last two.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../lib/b64.h"
#include "tpm.h"
#include "verifier.h"

/* ---- bounded big-endian reader */

struct tpm_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	const char *what;	/* structure name for messages */
};

static int
tpm_rd_int(struct tpm_rd *r, size_t n, uint64_t *v, const char *field,
    struct error *err)
{
	size_t i;

	if (r->len - r->off < n)
		return error_set(err, "%s truncated at offset %zu: %s needs %zu "
		    "bytes, %zu left", r->what, r->off, field, n,
		    r->len - r->off);
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | r->p[r->off + i];
	r->off += n;
	return 0;
}

/* A TPM2B: u16 size (<= max) then size bytes. */
static int
tpm_rd_2b(struct tpm_rd *r, size_t max, const uint8_t **body, size_t *blen,
    const char *field, struct error *err)
{
	uint64_t sz;

	if (tpm_rd_int(r, 2, &sz, field, err) != 0)
		return -1;
	if (sz > max)
		return error_set(err, "%s: %s size %llu at offset %zu exceeds "
		    "the maximum %zu", r->what, field, (unsigned long long)sz,
		    r->off - 2, max);
	if (r->len - r->off < sz)
		return error_set(err, "%s truncated at offset %zu: %s needs "
		    "%llu bytes, %zu left", r->what, r->off, field,
		    (unsigned long long)sz, r->len - r->off);
	*body = r->p + r->off;
	*blen = (size_t)sz;
	r->off += (size_t)sz;
	return 0;
}

static int
tpm_rd_end(const struct tpm_rd *r, struct error *err)
{
	if (r->off != r->len)
		return error_set(err, "%s: %zu trailing bytes after the "
		    "structure (at offset %zu)", r->what, r->len - r->off,
		    r->off);
	return 0;
}

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

/* ---- structures */

static int
tpm_rd_pcr_selection(struct tpm_rd *r, struct tpm_pcr_selection *out,
    struct error *err)
{
	uint64_t count, v;
	uint32_t i;
	size_t j;

	memset(out, 0, sizeof(*out));
	if (tpm_rd_int(r, 4, &count, "TPML_PCR_SELECTION.count", err) != 0)
		return -1;
	if (count > TPM_MAX_PCR_BANKS)
		return error_set(err, "%s: TPML_PCR_SELECTION.count %llu at "
		    "offset %zu exceeds %d", r->what,
		    (unsigned long long)count, r->off - 4, TPM_MAX_PCR_BANKS);
	out->count = (uint32_t)count;
	for (i = 0; i < out->count; i++) {
		struct tpm_pcr_bank *b = &out->bank[i];

		if (tpm_rd_int(r, 2, &v, "TPMS_PCR_SELECTION.hash", err) != 0)
			return -1;
		b->hash = (uint16_t)v;
		if (tpm_rd_int(r, 1, &v, "sizeofSelect", err) != 0)
			return -1;
		if (v < 1 || v > TPM_MAX_SELECT)
			return error_set(err, "%s: sizeofSelect %llu at offset "
			    "%zu (expected 1..%d)", r->what,
			    (unsigned long long)v, r->off - 1, TPM_MAX_SELECT);
		b->size_of_select = (uint8_t)v;
		for (j = 0; j < b->size_of_select; j++) {
			if (tpm_rd_int(r, 1, &v, "pcrSelect", err) != 0)
				return -1;
			b->select[j] = (uint8_t)v;
		}
	}
	return 0;
}

int
tpm_pcr_selection_parse(const uint8_t *buf, size_t len,
    struct tpm_pcr_selection *out, struct error *err)
{
	struct tpm_rd r = { buf, len, 0, "TPML_PCR_SELECTION" };

	if (buf == NULL)
		r.len = 0;
	if (tpm_rd_pcr_selection(&r, out, err) != 0)
		return -1;
	return tpm_rd_end(&r, err);
}

int
tpm_attest_parse(const uint8_t *buf, size_t len, struct tpm_attest *out,
    struct error *err)
{
	struct tpm_rd r = { buf, len, 0, "TPMS_ATTEST" };
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (buf == NULL)
		r.len = 0;
	if (tpm_rd_int(&r, 4, &v, "magic", err) != 0)
		return -1;
	out->magic = (uint32_t)v;
	if (out->magic != TPM_GENERATED_VALUE)
		return error_set(err, "TPMS_ATTEST: magic 0x%08x, expected "
		    "0x%08x (TPM_GENERATED_VALUE)", out->magic,
		    TPM_GENERATED_VALUE);
	if (tpm_rd_int(&r, 2, &v, "type", err) != 0)
		return -1;
	out->type = (uint16_t)v;
	if (out->type != TPM_ST_ATTEST_QUOTE)
		return error_set(err, "TPMS_ATTEST: type 0x%04x, expected "
		    "0x%04x (TPM_ST_ATTEST_QUOTE)", out->type,
		    TPM_ST_ATTEST_QUOTE);
	if (tpm_rd_2b(&r, 2 + TPM_MAX_DIGEST, &out->qualified_signer,
	    &out->qualified_signer_len, "qualifiedSigner", err) != 0 ||
	    tpm_rd_2b(&r, TPM_MAX_DIGEST, &out->extra_data,
	    &out->extra_data_len, "extraData", err) != 0 ||
	    tpm_rd_int(&r, 8, &out->clock, "clockInfo.clock", err) != 0)
		return -1;
	if (tpm_rd_int(&r, 4, &v, "clockInfo.resetCount", err) != 0)
		return -1;
	out->reset_count = (uint32_t)v;
	if (tpm_rd_int(&r, 4, &v, "clockInfo.restartCount", err) != 0)
		return -1;
	out->restart_count = (uint32_t)v;
	if (tpm_rd_int(&r, 1, &v, "clockInfo.safe", err) != 0)
		return -1;
	if (v > 1)
		return error_set(err, "TPMS_ATTEST: clockInfo.safe is %llu, "
		    "expected 0 or 1", (unsigned long long)v);
	out->safe = (uint8_t)v;
	if (tpm_rd_int(&r, 8, &out->firmware_version, "firmwareVersion",
	    err) != 0 ||
	    tpm_rd_pcr_selection(&r, &out->pcr_select, err) != 0 ||
	    tpm_rd_2b(&r, TPM_MAX_DIGEST, &out->pcr_digest,
	    &out->pcr_digest_len, "pcrDigest", err) != 0)
		return -1;
	return tpm_rd_end(&r, err);
}

int
tpm_signature_parse(const uint8_t *buf, size_t len,
    struct tpm_signature *out, struct error *err)
{
	struct tpm_rd r = { buf, len, 0, "TPMT_SIGNATURE" };
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (buf == NULL)
		r.len = 0;
	if (tpm_rd_int(&r, 2, &v, "sigAlg", err) != 0)
		return -1;
	out->sig_alg = (uint16_t)v;
	if (out->sig_alg != TPM_ALG_RSASSA && out->sig_alg != TPM_ALG_RSAPSS &&
	    out->sig_alg != TPM_ALG_ECDSA)
		return error_set(err, "TPMT_SIGNATURE: unsupported signature "
		    "algorithm 0x%04x (supported: RSASSA 0x0014, RSAPSS 0x0016, "
		    "ECDSA 0x0018)", out->sig_alg);
	if (tpm_rd_int(&r, 2, &v, "hash", err) != 0)
		return -1;
	out->hash_alg = (uint16_t)v;
	if (out->hash_alg != TPM_ALG_SHA256 && out->hash_alg != TPM_ALG_SHA384)
		return error_set(err, "TPMT_SIGNATURE: unsupported hash "
		    "algorithm 0x%04x (supported: SHA-256 0x000b, SHA-384 "
		    "0x000c)", out->hash_alg);
	if (out->sig_alg == TPM_ALG_ECDSA) {
		if (tpm_rd_2b(&r, 66, &out->r, &out->r_len, "signatureR",
		    err) != 0 ||
		    tpm_rd_2b(&r, 66, &out->s, &out->s_len, "signatureS",
		    err) != 0)
			return -1;
		if (out->r_len == 0 || out->s_len == 0)
			return error_set(err, "TPMT_SIGNATURE: empty ECDSA r or "
			    "s");
	} else {
		if (tpm_rd_2b(&r, 512, &out->sig, &out->sig_len, "signature",
		    err) != 0)
			return -1;
		if (out->sig_len == 0)
			return error_set(err, "TPMT_SIGNATURE: empty RSA "
			    "signature");
	}
	return tpm_rd_end(&r, err);
}

int
tpm_pcr_selection_list(const struct tpm_pcr_selection *sel, unsigned *idx,
    uint16_t *hash, size_t max, size_t *n, struct error *err)
{
	uint32_t b;
	unsigned j;
	size_t k = 0;

	for (b = 0; b < sel->count && b < TPM_MAX_PCR_BANKS; b++) {
		const struct tpm_pcr_bank *bk = &sel->bank[b];

		for (j = 0; j < 8u * bk->size_of_select; j++) {
			if (!(bk->select[j / 8] & (1u << (j % 8))))
				continue;
			if (k == max)
				return error_set(err, "the quote selects more "
				    "than %zu PCRs", max);
			if (idx != NULL)
				idx[k] = j;
			if (hash != NULL)
				hash[k] = bk->hash;
			k++;
		}
	}
	*n = k;
	return 0;
}

/* ---- keys and signatures */

static const char *
tpm_ossl_err(void)
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
		    tpm_ossl_err());
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
		    tpm_ossl_err());
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
		    "verification (%s)", tpm_ossl_err());
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

/* ---- the "tpm" verifier */

struct tpm_ev {
	const char *ak_b64;
	uint8_t *ak, *sig, *msg, *pcrs;
	size_t ak_len, sig_len, msg_len, n_pcrs, pcr_len;
};

static void
tpm_ev_free(struct tpm_ev *e)
{
	free(e->ak);
	free(e->sig);
	free(e->msg);
	free(e->pcrs);
	memset(e, 0, sizeof(*e));
}

static int
tpm_b64_field(const json_t *o, const char *name, const char **s,
    uint8_t **out, size_t *len, struct error *err)
{
	const json_t *v = json_object_get(o, name);
	const char *str;

	if (!json_is_string(v))
		return error_set(err, "tpm evidence: %s must be a string",
		    name);
	str = json_string_value(v);
	if (b64_decode(str, json_string_length(v), B64_STD, out, len) != 0)
		return error_set(err, "tpm evidence: %s is not standard "
		    "base64", name);
	if (s != NULL)
		*s = str;
	return 0;
}

static int
tpm_ev_decode(const json_t *ev, struct tpm_ev *e, struct error *err)
{
	const json_t *q, *pcrs, *p;
	size_t i, l, got;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(ev))
		return error_set(err, "tpm evidence is not a JSON object");
	q = json_object_get(ev, "tpm_quote");
	if (!json_is_object(q))
		return error_set(err, "tpm evidence: tpm_quote must be an "
		    "object");
	if (tpm_b64_field(ev, "ak_public", &e->ak_b64, &e->ak, &e->ak_len,
	    err) != 0 ||
	    tpm_b64_field(q, "signature", NULL, &e->sig, &e->sig_len,
	    err) != 0 ||
	    tpm_b64_field(q, "message", NULL, &e->msg, &e->msg_len, err) != 0)
		return -1;
	pcrs = json_object_get(q, "pcrs");
	if (!json_is_array(pcrs) || json_array_size(pcrs) == 0 ||
	    json_array_size(pcrs) > TPM_MAX_PCRS)
		return error_set(err, "tpm evidence: tpm_quote.pcrs must be an "
		    "array of 1..%d hex strings", TPM_MAX_PCRS);
	e->n_pcrs = json_array_size(pcrs);
	json_array_foreach(pcrs, i, p) {
		if (!json_is_string(p))
			return error_set(err, "tpm evidence: pcrs[%zu] is not "
			    "a string", i);
		l = json_string_length(p);
		if (i == 0) {
			e->pcr_len = l / 2;
			if (l % 2 != 0 || (e->pcr_len != 32 &&
			    e->pcr_len != 48))
				return error_set(err, "tpm evidence: pcrs[0] has "
				    "%zu hex digits (expected 64 for SHA-256 "
				    "or 96 for SHA-384)", l);
			e->pcrs = xmalloc(e->n_pcrs * e->pcr_len);
		}
		if (l != 2 * e->pcr_len ||
		    hex_decode(json_string_value(p), e->pcrs + i * e->pcr_len,
		    e->pcr_len, &got) != 0)
			return error_set(err, "tpm evidence: pcrs[%zu] is not "
			    "%zu hex digits", i, 2 * e->pcr_len);
	}
	return 0;
}

/* 1 if extraData binds the expected report data (see the file head). */
static int
tpm_nonce_matches(const struct tpm_attest *a, const uint8_t *rd,
    size_t rdlen)
{
	uint8_t want[64];

	if (a->extra_data_len == 32) {
		verifier_regularize(rd, rdlen, want, 32);
		return secret_equal(want, a->extra_data, 32);
	}
	if (a->extra_data_len == 64) {
		verifier_regularize(rd, rdlen, want, 64);
		return secret_equal(want, a->extra_data, 64);
	}
	return 0;
}

static int
tpm_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	struct tpm_ev e;
	struct tpm_attest a;
	struct tpm_quote_in qi;
	EVP_PKEY *ak = NULL;
	unsigned idx[TPM_MAX_PCRS];
	uint16_t hash[TPM_MAX_PCRS];
	const uint8_t *pcr8 = NULL;
	size_t n = 0, i;
	char hex[2 * TPM_MAX_DIGEST + 1];
	json_t *c = NULL;

	*claims = NULL;
	if (tpm_ev_decode(in->evidence, &e, err) != 0)
		goto fail;
	if ((ak = tpm_ak_from_spki(e.ak, e.ak_len, err)) == NULL)
		goto fail;
	memset(&qi, 0, sizeof(qi));
	qi.message = e.msg;
	qi.message_len = e.msg_len;
	qi.sig = e.sig;
	qi.sig_len = e.sig_len;
	qi.ak = ak;
	qi.pcrs = e.pcrs;
	qi.n_pcrs = e.n_pcrs;
	qi.pcr_len = e.pcr_len;
	if (tpm_quote_verify(&qi, &a, err) != 0)
		goto fail;
	if (tpm_pcr_selection_list(&a.pcr_select, idx, hash, TPM_MAX_PCRS, &n,
	    err) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (idx[i] == 8 && hash[i] == TPM_ALG_SHA256)
			pcr8 = e.pcrs + i * e.pcr_len;

	if (in->report_data != NULL &&
	    !tpm_nonce_matches(&a, in->report_data, in->report_data_len)) {
		error_set(err, "report data does not match: the TPM quote's "
		    "extraData (%zu bytes) is not the expected report data "
		    "zero-padded/truncated to 32 or 64 bytes",
		    a.extra_data_len);
		goto fail;
	}
	if (in->init_data_hash != NULL) {
		if (pcr8 == NULL) {
			error_set(err, "init data hash does not match: the TPM "
			    "quote does not include PCR8 of the SHA-256 bank");
			goto fail;
		}
		if (tpm_init_data_check(pcr8, in->init_data_hash,
		    in->init_data_hash_len, err) != 0)
			goto fail;
	}

	c = json_object();
	json_object_set_new(c, "ak_public", json_string(e.ak_b64));
	if (tpm_pcr_claims(c, &a, e.pcrs, e.n_pcrs, e.pcr_len, err) != 0)
		goto fail;
	hex_encode(a.extra_data, a.extra_data_len, hex);
	json_object_set_new(c, "report_data", json_string(hex));
	if (pcr8 != NULL) {
		hex_encode(pcr8, 32, hex);
		json_object_set_new(c, "init_data", json_string(hex));
	}
	EVP_PKEY_free(ak);
	tpm_ev_free(&e);
	*claims = c;
	return 0;
fail:
	json_decref(c);
	EVP_PKEY_free(ak);
	tpm_ev_free(&e);
	return error_prefix(err, "tpm");
}

/* ---- evidence from raw tool outputs */

/* AK as DER SPKI, or PEM "PUBLIC KEY" converted to DER. */
static int
tpm_ak_der(const uint8_t *ak, size_t len, uint8_t **der, size_t *derlen,
    struct error *err)
{
	BIO *bio;
	EVP_PKEY *k;
	unsigned char *d = NULL;
	int dl;

	if (len > 11 && memmem(ak, len, "-----BEGIN", 10) != NULL) {
		bio = BIO_new_mem_buf(ak, (int)len);
		k = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) :
		    NULL;
		BIO_free(bio);
		if (k == NULL)
			return error_set(err, "AK: not a PEM public key (%s)",
			    tpm_ossl_err());
		dl = i2d_PUBKEY(k, &d);
		EVP_PKEY_free(k);
		if (dl <= 0)
			return error_set(err, "AK: cannot encode as DER");
		*der = xmalloc((size_t)dl);
		memcpy(*der, d, (size_t)dl);
		*derlen = (size_t)dl;
		OPENSSL_free(d);
	} else {
		*der = xmalloc(len ? len : 1);
		memcpy(*der, ak, len);
		*derlen = len;
	}
	k = tpm_ak_from_spki(*der, *derlen, err);
	if (k == NULL) {
		free(*der);
		*der = NULL;
		return -1;
	}
	EVP_PKEY_free(k);
	return 0;
}

int
tpm_evidence_build(const uint8_t *attest, size_t attest_len,
    const uint8_t *sig, size_t sig_len, const uint8_t *ak, size_t ak_len,
    const char *pcrs_text, json_t **evidence, struct error *err)
{
	struct tpm_attest a;
	struct tpm_signature s;
	uint8_t *der = NULL;
	size_t derlen = 0, n = 0, sel;
	json_t *pcrs;
	const char *p = pcrs_text;
	char *b1, *b2, *b3;

	*evidence = NULL;
	if (tpm_attest_parse(attest, attest_len, &a, err) != 0 ||
	    tpm_signature_parse(sig, sig_len, &s, err) != 0 ||
	    tpm_ak_der(ak, ak_len, &der, &derlen, err) != 0)
		return -1;
	if (tpm_pcr_selection_list(&a.pcr_select, NULL, NULL, TPM_MAX_PCRS,
	    &sel, err) != 0) {
		free(der);
		return -1;
	}
	pcrs = json_array();
	while (p != NULL && *p != '\0') {
		const char *t;
		char *tok;
		size_t l, i;

		while (*p != '\0' && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (*p == '\0')
			break;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			p += 2;
		for (t = p; isxdigit((unsigned char)*t); t++)
			;
		l = (size_t)(t - p);
		if (l == 0 || (*t != '\0' && !isspace((unsigned char)*t) &&
		    *t != ',')) {
			json_decref(pcrs);
			free(der);
			return error_set(err, "PCR list: value %zu is not hex",
			    n);
		}
		if (l != 64 && l != 96) {
			json_decref(pcrs);
			free(der);
			return error_set(err, "PCR list: value %zu has %zu hex "
			    "digits (expected 64 or 96)", n, l);
		}
		tok = xstrndup(p, l);
		for (i = 0; i < l; i++)
			tok[i] = (char)tolower((unsigned char)tok[i]);
		json_array_append_new(pcrs, json_string(tok));
		free(tok);
		n++;
		p = t;
	}
	if (n != sel) {
		json_decref(pcrs);
		free(der);
		return error_set(err, "PCR list has %zu values, the quote "
		    "selects %zu PCRs", n, sel);
	}
	b1 = b64_encode(der, derlen, B64_STD);
	b2 = b64_encode(sig, sig_len, B64_STD);
	b3 = b64_encode(attest, attest_len, B64_STD);
	*evidence = json_pack("{s:s, s:{s:s, s:s, s:o}}", "ak_public", b1,
	    "tpm_quote", "signature", b2, "message", b3, "pcrs", pcrs);
	free(b1);
	free(b2);
	free(b3);
	free(der);
	if (*evidence == NULL)
		return error_set(err, "out of memory");
	return 0;
}

const struct verifier_backend verifier_tpm = {
	.tee = "tpm",
	.tee_class = "cpu",
	.verify = tpm_verify,
};
