/*
 * tpm_parse.c: bounded parsers for the marshalled TPM 2.0 structures of a
 * quote (tpm.h): TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE,
 * TPML_PCR_SELECTION and TPMT_SIGNATURE, and the list of PCRs a selection
 * selects. Big-endian; every read is bounds-checked and named in the
 * error; a structure must be consumed exactly. Parsed structures point
 * into the caller's buffer. No cryptography here (tpm_quote.c).
 */
#include <string.h>

#include "tpm.h"

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
