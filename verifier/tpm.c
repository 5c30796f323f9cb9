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
 *
 * The TPM structures are parsed in tpm_parse.c and checked in
 * tpm_quote.c; this file is the backend and the evidence built from raw
 * tool outputs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../lib/b64.h"
#include "tpm.h"
#include "tpm_internal.h"
#include "verifier.h"

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
			    tpm_quote_ossl_err());
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
