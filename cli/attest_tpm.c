/*
 * attest_tpm.c: TPM 2.0 through tss2 ESAPI: quotes for the "tpm" attester
 * (and for the Azure vTPM attesters in attest_az.c), AK public keys, NV
 * reads and writes.
 *
 * The "tpm" evidence is what the AA's TPM attester sends: the AK at a
 * persistent handle (0x81010002, or AA_TPM_AK_HANDLE, or --ak-handle)
 * quotes SHA-256 PCRs 0..23 with the report data zero-padded to 64 bytes
 * as qualifyingData (the first 32 when the TPM's TPM2B_DATA is smaller,
 * the verifier's own regularization); then the PCRs are read. Unlike the
 * AA, the values read are checked against the quote's pcrDigest and the
 * quote is taken again when a PCR moved in between.
 *
 * The TPM is reached through a TCTI named as tpm2-tools name it
 * ("device:/dev/tpmrm0", "swtpm:port=2321", "mssim:...", "tabrmd"): --tcti,
 * else $TPM2TOOLS_TCTI, else /dev/tpmrm0, else /dev/tpm0. No transient
 * object is left behind (swtpm has no resource manager).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "../lib/b64.h"
#include "../lib/hash.h"
#include "../lib/log.h"
#include "../verifier/tpm.h"
#include "attest.h"

#define TPM_NONCE_LEN		64	/* the AA pads to 64 bytes */
#define TPM_NPCRS		24
#define TPM_QUOTE_TRIES		3
#define TPM_NV_MAX		(64u * 1024)

struct attest_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char *name;		/* the TCTI string, for messages */
};

static int
tpm_fail(struct error *err, const char *what, TSS2_RC rc)
{
	return error_set(err, "TPM %s: %s (0x%x)", what, Tss2_RC_Decode(rc),
	    rc);
}

/* tss2 logs every TPM error to stderr; a probe (does this NV index
 * exist?) must not. Keep the user's TSS2_LOG if set; -v keeps errors. */
static void
tpm_quiet_logs(void)
{
	if (getenv("TSS2_LOG") == NULL && !log_enabled(LOG_LVL_DEBUG))
		setenv("TSS2_LOG", "all+none", 0);
}

struct attest_tpm *
attest_tpm_open(const struct attest_cfg *cfg, struct error *err)
{
	struct attest_tpm *t = xcalloc(1, sizeof(*t));
	const char *conf = cfg->tcti;
	TSS2_RC rc;

	tpm_quiet_logs();
	if (conf == NULL && (conf = getenv("TPM2TOOLS_TCTI")) != NULL &&
	    *conf == '\0')
		conf = NULL;
	if (conf == NULL) {
		if (access("/dev/tpmrm0", F_OK) == 0)
			conf = "device:/dev/tpmrm0";
		else if (access("/dev/tpm0", F_OK) == 0)
			conf = "device:/dev/tpm0";
		else {
			error_set(err, "no TPM: neither /dev/tpmrm0 nor "
			    "/dev/tpm0 exists (name one with --tcti)");
			free(t);
			return NULL;
		}
	}
	t->name = xstrdup(conf);
	rc = Tss2_TctiLdr_Initialize(conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		error_set(err, "TPM: cannot open TCTI '%s': %s", conf,
		    Tss2_RC_Decode(rc));
		attest_tpm_close(t);
		return NULL;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		error_set(err, "TPM '%s': %s", conf, Tss2_RC_Decode(rc));
		attest_tpm_close(t);
		return NULL;
	}
	log_debug("tpm: opened %s", conf);
	return t;
}

void
attest_tpm_close(struct attest_tpm *t)
{
	if (t == NULL)
		return;
	if (t->esys != NULL)
		Esys_Finalize(&t->esys);
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
	free(t->name);
	free(t);
}

/* An ESYS_TR for a persistent or NV handle (no TPM object is made). */
static int
tpm_tr(struct attest_tpm *t, uint32_t handle, ESYS_TR *tr, struct error *err)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, tr);

	if (rc != TSS2_RC_SUCCESS)
		return error_set(err, "TPM %s: nothing at handle 0x%08x (%s)",
		    t->name, handle, Tss2_RC_Decode(rc));
	return 0;
}

static void
tpm_tr_close(struct attest_tpm *t, ESYS_TR *tr)
{
	if (*tr != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, tr);
	*tr = ESYS_TR_NONE;
}

/* ---- public keys */

static EVP_PKEY *
tpm_ecc_pkey(const TPMT_PUBLIC *p, struct error *err)
{
	const char *group;
	size_t clen;
	uint8_t point[1 + 2 * 48];
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256:
		group = "P-256";
		clen = 32;
		break;
	case TPM2_ECC_NIST_P384:
		group = "P-384";
		clen = 48;
		break;
	default:
		error_set(err, "AK: ECC curve 0x%04x is not supported (P-256 "
		    "or P-384)", p->parameters.eccDetail.curveID);
		return NULL;
	}
	if (p->unique.ecc.x.size > clen || p->unique.ecc.y.size > clen) {
		error_set(err, "AK: ECC point larger than the curve");
		return NULL;
	}
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + clen - p->unique.ecc.x.size,
	    p->unique.ecc.x.buffer, p->unique.ecc.x.size);
	memcpy(point + 1 + 2 * clen - p->unique.ecc.y.size,
	    p->unique.ecc.y.buffer, p->unique.ecc.y.size);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, 1 + 2 * clen) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		error_set(err, "AK: the ECC point is not on %s", group);
		k = NULL;
	}
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

int
attest_tpm_public_to_spki(const uint8_t *buf, size_t len, uint8_t **der,
    size_t *derlen, struct error *err)
{
	TPM2B_PUBLIC pub;
	const TPMT_PUBLIC *p = &pub.publicArea;
	size_t off = 0;
	EVP_PKEY *k = NULL;
	unsigned char *d = NULL;
	uint8_t e[4];
	uint32_t exp;
	int dl;

	*der = NULL;
	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) !=
	    TSS2_RC_SUCCESS || off != len)
		return error_set(err, "AK: not a TPM2B_PUBLIC");
	switch (p->type) {
	case TPM2_ALG_RSA:
		exp = p->parameters.rsaDetail.exponent;
		if (exp == 0)
			exp = 65537;
		e[0] = (uint8_t)(exp >> 24);
		e[1] = (uint8_t)(exp >> 16);
		e[2] = (uint8_t)(exp >> 8);
		e[3] = (uint8_t)exp;
		k = tpm_rsa_pubkey(p->unique.rsa.buffer, p->unique.rsa.size, e,
		    sizeof(e), err);
		break;
	case TPM2_ALG_ECC:
		k = tpm_ecc_pkey(p, err);
		break;
	default:
		return error_set(err, "AK: key type 0x%04x is neither RSA nor "
		    "ECC", p->type);
	}
	if (k == NULL)
		return error_prefix(err, "AK");
	dl = i2d_PUBKEY(k, &d);
	EVP_PKEY_free(k);
	if (dl <= 0)
		return error_set(err, "AK: cannot encode the public key");
	*der = xmalloc((size_t)dl);
	memcpy(*der, d, (size_t)dl);
	*derlen = (size_t)dl;
	OPENSSL_free(d);
	return 0;
}

/* The AK's TPMT_PUBLIC (its scheme decides the quote's). */
static int
tpm_read_public(struct attest_tpm *t, ESYS_TR ak, TPM2B_PUBLIC **pub,
    struct error *err)
{
	TPM2B_NAME *name = NULL, *qname = NULL;
	TSS2_RC rc;

	rc = Esys_ReadPublic(t->esys, ak, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, pub, &name, &qname);
	Esys_Free(name);
	Esys_Free(qname);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, "ReadPublic of the AK", rc);
	return 0;
}

int
attest_tpm_ak_spki(struct attest_tpm *t, uint32_t handle, uint8_t **der,
    size_t *len, struct error *err)
{
	ESYS_TR ak = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 8];
	size_t off = 0;
	int rc = -1;

	if (tpm_tr(t, handle, &ak, err) != 0)
		return error_prefix(err, "AK");
	if (tpm_read_public(t, ak, &pub, err) != 0)
		goto out;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS) {
		error_set(err, "AK: cannot marshal its public area");
		goto out;
	}
	rc = attest_tpm_public_to_spki(buf, off, der, len, err);
out:
	Esys_Free(pub);
	tpm_tr_close(t, &ak);
	return rc;
}

/* ---- quotes */

void
attest_tpm_quote_clear(struct attest_tpm_quote *q)
{
	free(q->msg);
	free(q->sig);
	free(q->rsa_sig);
	memset(q, 0, sizeof(*q));
}

static void
tpm_sel_all(TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = 0xff;
	sel->pcrSelections[0].pcrSelect[1] = 0xff;
	sel->pcrSelections[0].pcrSelect[2] = 0xff;
}

/* SHA-256 PCRs 0..23: the TPM returns at most 8 per PCR_Read, in
 * ascending order; ask again for what is left. */
static int
tpm_read_pcrs(struct attest_tpm *t, uint8_t pcrs[TPM_NPCRS][32],
    struct error *err)
{
	TPML_PCR_SELECTION want, *got = NULL;
	TPML_DIGEST *vals = NULL;
	UINT32 counter;
	unsigned i, k, left = TPM_NPCRS;
	TSS2_RC rc;

	tpm_sel_all(&want);
	while (left > 0) {
		unsigned n = 0;

		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &want, &counter, &got, &vals);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(err, "PCR_Read", rc);
		k = 0;
		for (i = 0; i < TPM_NPCRS && got->count == 1 &&
		    got->pcrSelections[0].hash == TPM2_ALG_SHA256; i++) {
			if (!(got->pcrSelections[0].pcrSelect[i / 8] &
			    (1u << (i % 8))))
				continue;
			if (k >= vals->count || vals->digests[k].size != 32) {
				Esys_Free(got);
				Esys_Free(vals);
				return error_set(err, "TPM PCR_Read: %u values "
				    "for its selection", vals->count);
			}
			memcpy(pcrs[i], vals->digests[k].buffer, 32);
			want.pcrSelections[0].pcrSelect[i / 8] &=
			    (uint8_t)~(1u << (i % 8));
			k++;
			n++;
		}
		Esys_Free(got);
		Esys_Free(vals);
		got = NULL;
		vals = NULL;
		if (n == 0)
			return error_set(err, "TPM has no SHA-256 PCR bank (or "
			    "not all of PCRs 0..23)");
		left -= n;
	}
	return 0;
}

/* 1 if the TPM refused qualifyingData for its size (format-one error
 * TPM_RC_SIZE on a parameter). */
static int
tpm_rc_is_size(TSS2_RC rc)
{
	rc &= 0xfff;
	return (rc & 0x80) != 0 && (rc & 0x3f) == (TPM2_RC_SIZE & 0x3f);
}

int
attest_tpm_quote(struct attest_tpm *t, uint32_t handle, const uint8_t *nonce,
    size_t nonce_len, struct attest_tpm_quote *q, struct error *err)
{
	ESYS_TR ak = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TPM2B_DATA qd;
	TPMT_SIG_SCHEME scheme;
	TPML_PCR_SELECTION sel;
	struct tpm_attest a;
	uint8_t sbuf[sizeof(TPMT_SIGNATURE) + 8], dig[HASH_MAX_SIZE];
	size_t off, dlen;
	TSS2_RC rc;
	int tries, ret = -1;

	memset(q, 0, sizeof(*q));
	if (nonce_len > sizeof(qd.buffer))
		return error_set(err, "TPM quote: nonce of %zu bytes",
		    nonce_len);
	if (tpm_tr(t, handle, &ak, err) != 0)
		return error_prefix(err, "AK (create and persist one, e.g. "
		    "tpm2_createak + tpm2_evictcontrol)");
	if (tpm_read_public(t, ak, &pub, err) != 0)
		goto out;
	/* A restricted signing key has its own scheme: ask for it (NULL);
	 * otherwise name the AA's (RSASSA) or ECDSA, both SHA-256. */
	memset(&scheme, 0, sizeof(scheme));
	if (pub->publicArea.type == TPM2_ALG_RSA &&
	    pub->publicArea.parameters.rsaDetail.scheme.scheme ==
	    TPM2_ALG_NULL) {
		scheme.scheme = TPM2_ALG_RSASSA;
		scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	} else if (pub->publicArea.type == TPM2_ALG_ECC &&
	    pub->publicArea.parameters.eccDetail.scheme.scheme ==
	    TPM2_ALG_NULL) {
		scheme.scheme = TPM2_ALG_ECDSA;
		scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	} else
		scheme.scheme = TPM2_ALG_NULL;
	tpm_sel_all(&sel);
	memset(&qd, 0, sizeof(qd));
	qd.size = (UINT16)nonce_len;
	memcpy(qd.buffer, nonce, nonce_len);

	for (tries = 0; tries < TPM_QUOTE_TRIES; tries++) {
		Esys_Free(quoted);
		Esys_Free(sig);
		quoted = NULL;
		sig = NULL;
		rc = Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		    ESYS_TR_NONE, &qd, &scheme, &sel, &quoted, &sig);
		if (rc != TSS2_RC_SUCCESS && tpm_rc_is_size(rc) &&
		    qd.size > 32) {
			/* TPM2B_DATA holds one digest of the TPM's largest
			 * hash: 32 bytes when it has no SHA-384/512. */
			log_debug("tpm: %u-byte qualifyingData refused; using "
			    "32", qd.size);
			qd.size = 32;
			tries--;
			continue;
		}
		if (rc != TSS2_RC_SUCCESS) {
			tpm_fail(err, "Quote", rc);
			goto out;
		}
		if (tpm_read_pcrs(t, q->pcrs, err) != 0)
			goto out;
		if (tpm_attest_parse(quoted->attestationData, quoted->size, &a,
		    err) != 0) {
			error_prefix(err, "TPM quote");
			goto out;
		}
		if (a.extra_data_len != qd.size ||
		    memcmp(a.extra_data, qd.buffer, qd.size) != 0) {
			error_set(err, "TPM quote: extraData is not our nonce");
			goto out;
		}
		if (hash_digest(HASH_SHA256, q->pcrs, sizeof(q->pcrs), dig,
		    &dlen) != 0) {
			error_set(err, "SHA-256 failed");
			goto out;
		}
		if (a.pcr_digest_len == 32 &&
		    memcmp(a.pcr_digest, dig, 32) == 0)
			break;
		log_debug("tpm: a PCR changed between the quote and the read; "
		    "quoting again");
	}
	if (tries == TPM_QUOTE_TRIES) {
		error_set(err, "TPM quote: the PCRs kept changing under the "
		    "quote (%d tries)", TPM_QUOTE_TRIES);
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sbuf, sizeof(sbuf), &off) !=
	    TSS2_RC_SUCCESS) {
		error_set(err, "TPM quote: cannot marshal the signature");
		goto out;
	}
	q->sig = xmalloc(off);
	memcpy(q->sig, sbuf, off);
	q->sig_len = off;
	q->msg = xmalloc(quoted->size);
	memcpy(q->msg, quoted->attestationData, quoted->size);
	q->msg_len = quoted->size;
	if (sig->sigAlg == TPM2_ALG_RSASSA) {
		q->rsa_sig_len = sig->signature.rsassa.sig.size;
		q->rsa_sig = xmalloc(q->rsa_sig_len);
		memcpy(q->rsa_sig, sig->signature.rsassa.sig.buffer,
		    q->rsa_sig_len);
	}
	ret = 0;
out:
	if (ret != 0)
		attest_tpm_quote_clear(q);
	Esys_Free(pub);
	Esys_Free(quoted);
	Esys_Free(sig);
	tpm_tr_close(t, &ak);
	return ret;
}

json_t *
attest_tpm_evidence_build(const struct attest_tpm_quote *q,
    const uint8_t *spki, size_t spki_len)
{
	json_t *pcrs = json_array(), *ev;
	char hex[65], *s, *m, *k;
	size_t i;

	for (i = 0; i < TPM_NPCRS; i++) {
		hex_encode(q->pcrs[i], 32, hex);
		json_array_append_new(pcrs, json_string(hex));
	}
	s = b64_encode(q->sig, q->sig_len, B64_STD);
	m = b64_encode(q->msg, q->msg_len, B64_STD);
	k = b64_encode(spki, spki_len, B64_STD);
	ev = json_pack("{s:{s:s, s:s, s:o}, s:s}", "tpm_quote", "signature", s,
	    "message", m, "pcrs", pcrs, "ak_public", k);
	free(s);
	free(m);
	free(k);
	return ev;
}

/* ---- NV */

int
attest_tpm_nv_exists(struct attest_tpm *t, uint32_t index)
{
	ESYS_TR tr = ESYS_TR_NONE;

	if (Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &tr) != TSS2_RC_SUCCESS)
		return 0;
	tpm_tr_close(t, &tr);
	return 1;
}

static int
tpm_nv_size(struct attest_tpm *t, ESYS_TR tr, size_t *size,
    struct error *err)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;

	rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, &name);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(err, "NV_ReadPublic", rc);
	*size = pub->nvPublic.dataSize;
	Esys_Free(pub);
	Esys_Free(name);
	return 0;
}

/* The largest NV read/write the TPM takes at once. */
static size_t
tpm_nv_chunk(struct attest_tpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	size_t n = 512;

	if (Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1,
	    &more, &cap) == TSS2_RC_SUCCESS &&
	    cap->data.tpmProperties.count == 1 &&
	    cap->data.tpmProperties.tpmProperty[0].property ==
	    TPM2_PT_NV_BUFFER_MAX)
		n = cap->data.tpmProperties.tpmProperty[0].value;
	Esys_Free(cap);
	if (n == 0 || n > TPM2_MAX_NV_BUFFER_SIZE)
		n = TPM2_MAX_NV_BUFFER_SIZE;
	return n;
}

int
attest_tpm_nv_read(struct attest_tpm *t, uint32_t index, uint8_t **out,
    size_t *len, struct error *err)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	size_t size, off = 0, chunk;
	TSS2_RC rc;

	*out = NULL;
	*len = 0;
	if (tpm_tr(t, index, &tr, err) != 0)
		return -1;
	if (tpm_nv_size(t, tr, &size, err) != 0)
		goto fail;
	if (size == 0 || size > TPM_NV_MAX) {
		error_set(err, "TPM NV 0x%08x: %zu bytes", index, size);
		goto fail;
	}
	chunk = tpm_nv_chunk(t);
	*out = xmalloc(size);
	while (off < size) {
		UINT16 n = (UINT16)(size - off < chunk ? size - off : chunk);

		rc = Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, tr,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
		    (UINT16)off, &data);
		if (rc != TSS2_RC_SUCCESS) {
			tpm_fail(err, "NV_Read", rc);
			goto fail;
		}
		if (data->size != n) {
			Esys_Free(data);
			error_set(err, "TPM NV_Read: short read");
			goto fail;
		}
		memcpy(*out + off, data->buffer, n);
		Esys_Free(data);
		off += n;
	}
	*len = size;
	tpm_tr_close(t, &tr);
	return 0;
fail:
	free(*out);
	*out = NULL;
	tpm_tr_close(t, &tr);
	return error_prefix(err, "NV index 0x%08x", index);
}

int
attest_tpm_nv_write(struct attest_tpm *t, uint32_t index, const uint8_t *d,
    size_t len, struct error *err)
{
	ESYS_TR tr = ESYS_TR_NONE;
	TPM2B_AUTH auth;
	TPM2B_NV_PUBLIC pub;
	TPM2B_MAX_NV_BUFFER buf;
	size_t size = 0;
	TSS2_RC rc;

	if (len == 0 || len > sizeof(buf.buffer))
		return error_set(err, "NV 0x%08x: %zu bytes to write", index,
		    len);
	if (attest_tpm_nv_exists(t, index)) {
		if (tpm_tr(t, index, &tr, err) != 0 ||
		    tpm_nv_size(t, tr, &size, err) != 0)
			goto fail;
		if (size != len) {
			rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER,
			    tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
			if (rc != TSS2_RC_SUCCESS) {
				tpm_fail(err, "NV_UndefineSpace", rc);
				goto fail;
			}
			tr = ESYS_TR_NONE;	/* closed by UndefineSpace */
		}
	}
	if (tr == ESYS_TR_NONE) {
		memset(&auth, 0, sizeof(auth));
		memset(&pub, 0, sizeof(pub));
		pub.nvPublic.nvIndex = index;
		pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
		pub.nvPublic.attributes = TPMA_NV_OWNERWRITE |
		    TPMA_NV_OWNERREAD;
		pub.nvPublic.dataSize = (UINT16)len;
		rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER,
		    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub,
		    &tr);
		if (rc != TSS2_RC_SUCCESS) {
			tpm_fail(err, "NV_DefineSpace", rc);
			goto fail;
		}
	}
	buf.size = (UINT16)len;
	memcpy(buf.buffer, d, len);
	rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &buf, 0);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_fail(err, "NV_Write", rc);
		goto fail;
	}
	tpm_tr_close(t, &tr);
	return 0;
fail:
	tpm_tr_close(t, &tr);
	return error_prefix(err, "NV index 0x%08x", index);
}

/* ---- the "tpm" attester */

/* --ak-handle, else AA_TPM_AK_HANDLE (hex, as the AA reads it), else
 * 0x81010002. */
static uint32_t
tpm_ak_handle(const struct attest_cfg *cfg)
{
	const char *s = getenv("AA_TPM_AK_HANDLE");
	unsigned long v;
	char *end;

	if (cfg->ak_handle != 0)
		return cfg->ak_handle;
	if (s != NULL && *s != '\0') {
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			s += 2;
		v = strtoul(s, &end, 16);
		if (*end == '\0' && v > 0 && v <= UINT32_MAX)
			return (uint32_t)v;
		log_warnx("AA_TPM_AK_HANDLE '%s' is not a hex handle; using "
		    "0x%08x", s, ATTEST_TPM_AK_HANDLE);
	}
	return ATTEST_TPM_AK_HANDLE;
}

static int
tpm_detect(const struct attest_cfg *cfg)
{
	const char *e = getenv("TPM2TOOLS_TCTI");

	return cfg->tcti != NULL || (e != NULL && *e != '\0') ||
	    access("/dev/tpmrm0", F_OK) == 0 || access("/dev/tpm0", F_OK) == 0;
}

static int
tpm_evidence(const struct attest_cfg *cfg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	struct attest_tpm *t;
	struct attest_tpm_quote q;
	uint8_t nonce[TPM_NONCE_LEN], *spki = NULL;
	size_t spki_len = 0;
	uint32_t h = tpm_ak_handle(cfg);
	int rc = -1;

	*evidence = NULL;
	if (attest_pad(rd, rdlen, nonce, sizeof(nonce), "TPM", err) != 0)
		return -1;
	if ((t = attest_tpm_open(cfg, err)) == NULL)
		return -1;
	if (attest_tpm_ak_spki(t, h, &spki, &spki_len, err) != 0 ||
	    attest_tpm_quote(t, h, nonce, sizeof(nonce), &q, err) != 0)
		goto out;
	*evidence = attest_tpm_evidence_build(&q, spki, spki_len);
	attest_tpm_quote_clear(&q);
	if (*evidence == NULL)
		error_set(err, "cannot build TPM evidence");
	else
		rc = 0;
out:
	free(spki);
	attest_tpm_close(t);
	return rc;
}

const struct attester attest_tpm = {
	.name = "tpm",
	.tee = "tpm",
	.detect = tpm_detect,
	.evidence = tpm_evidence,
};
