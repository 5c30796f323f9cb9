/*
 * hcl.c: parsing of the Azure HCL report and its two bindings (see
 * hcl.h for the layout). Every offset is bounds-checked against the
 * buffer; nothing in the report is trusted until the caller has verified
 * the hardware report (or TD quote) whose REPORT_DATA carries
 * SHA-256(variable data).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "../lib/b64.h"
#include "../lib/jwk.h"
#include "hcl.h"
#include "tpm.h"
#include "verifier.h"

static uint32_t
hcl_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
hcl_report_free(struct hcl_report *r)
{
	if (r == NULL)
		return;
	json_decref(r->var_json);
	EVP_PKEY_free(r->ak_pub);
	memset(r, 0, sizeof(*r));
}

/* Find the HCLAkPub JWK in the variable data and load it. */
static int
hcl_load_ak(struct hcl_report *r, struct error *err)
{
	const json_t *keys, *k, *kid, *kty;
	size_t i;

	keys = json_object_get(r->var_json, "keys");
	if (!json_is_array(keys))
		return error_set(err, "HCL variable data: \"keys\" must be an "
		    "array of JWKs");
	json_array_foreach(keys, i, k) {
		if (!json_is_object(k))
			continue;
		kid = json_object_get(k, "kid");
		if (!json_is_string(kid) ||
		    strcmp(json_string_value(kid), "HCLAkPub") != 0)
			continue;
		kty = json_object_get(k, "kty");
		if (!json_is_string(kty) ||
		    strcmp(json_string_value(kty), "RSA") != 0)
			return error_set(err, "HCL variable data: HCLAkPub "
			    "must be an RSA key (kty \"RSA\")");
		if (jwk_to_pkey(k, &r->ak_pub, err) != 0)
			return error_prefix(err, "HCL variable data: HCLAkPub");
		return 0;
	}
	return error_set(err, "HCL variable data: no key with kid "
	    "\"HCLAkPub\" (the vTPM attestation key)");
}

int
hcl_report_parse(const uint8_t *buf, size_t len, uint32_t expect_type,
    struct hcl_report *r, struct error *err)
{
	const uint8_t *req;
	const json_t *ud;
	json_error_t jerr;
	size_t jlen;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || len < HCL_VAR_DATA_OFF)
		return error_set(err, "HCL report truncated: %zu bytes, the "
		    "fixed part alone is %d", len, HCL_VAR_DATA_OFF);
	if (memcmp(buf, "HCLA", 4) != 0)
		return error_set(err, "HCL report: bad signature "
		    "%02x%02x%02x%02x at offset 0, expected \"HCLA\"",
		    buf[0], buf[1], buf[2], buf[3]);
	r->raw = buf;
	r->raw_len = len;
	r->version = hcl_le32(buf + 4);
	r->report_size = hcl_le32(buf + 8);
	r->request_type = hcl_le32(buf + 12);
	r->status = hcl_le32(buf + 16);

	req = buf + HCL_REQ_DATA_OFF;
	r->req_data_size = hcl_le32(req);
	r->req_version = hcl_le32(req + 4);
	r->report_type = hcl_le32(req + 8);
	r->hash_type = hcl_le32(req + 12);
	r->var_data_len = hcl_le32(req + 16);

	if (r->report_type != HCL_REPORT_TYPE_SNP &&
	    r->report_type != HCL_REPORT_TYPE_TDX)
		return error_set(err, "HCL report: report type %u at offset "
		    "0x%x is neither SNP (%d) nor TDX (%d)", r->report_type,
		    HCL_REQ_DATA_OFF + 8, HCL_REPORT_TYPE_SNP,
		    HCL_REPORT_TYPE_TDX);
	if (expect_type != 0 && r->report_type != expect_type)
		return error_set(err, "HCL report: report type %u (%s), "
		    "expected %u (%s)", r->report_type,
		    r->report_type == HCL_REPORT_TYPE_SNP ? "SNP" : "TDX",
		    expect_type, expect_type == HCL_REPORT_TYPE_SNP ? "SNP" :
		    "TDX");
	if (r->hash_type != HCL_HASH_SHA256)
		return error_set(err, "HCL report: report data hash type %u at "
		    "offset 0x%x, only 1 (SHA-256) is supported", r->hash_type,
		    HCL_REQ_DATA_OFF + 12);
	if (r->var_data_len == 0 || r->var_data_len > HCL_VAR_DATA_MAX)
		return error_set(err, "HCL report: variable data size %zu at "
		    "offset 0x%x out of range (1..%u)", r->var_data_len,
		    HCL_REQ_DATA_OFF + 16, HCL_VAR_DATA_MAX);
	if (r->var_data_len > len - HCL_VAR_DATA_OFF)
		return error_set(err, "HCL report: variable data size %zu "
		    "overflows the report (%zu bytes after offset 0x%x)",
		    r->var_data_len, len - HCL_VAR_DATA_OFF, HCL_VAR_DATA_OFF);
	r->hw_report = buf + HCL_HW_REPORT_OFF;
	if (r->report_type == HCL_REPORT_TYPE_SNP) {
		r->hw_report_len = HCL_HW_REPORT_LEN;
		r->hw_report_data = r->hw_report + 0x50;
	} else {
		r->hw_report_len = HCL_TDREPORT_LEN;
		r->hw_report_data = r->hw_report +
		    HCL_TDREPORT_REPORT_DATA_OFF;
	}
	r->var_data = buf + HCL_VAR_DATA_OFF;
	SHA256(r->var_data, r->var_data_len, r->var_data_sha256);

	/* Parse without the NUL padding some writers leave; the hash above
	 * covers the exact bytes. */
	jlen = r->var_data_len;
	while (jlen > 0 && r->var_data[jlen - 1] == '\0')
		jlen--;
	r->var_json = json_loadb((const char *)r->var_data, jlen,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (r->var_json == NULL) {
		error_set(err, "HCL variable data is not JSON: %s at "
		    "position %d", jerr.text, jerr.position);
		hcl_report_free(r);
		return -1;
	}
	if (!json_is_object(r->var_json)) {
		hcl_report_free(r);
		return error_set(err, "HCL variable data is not a JSON "
		    "object");
	}
	if (hcl_load_ak(r, err) != 0) {
		hcl_report_free(r);
		return -1;
	}
	ud = json_object_get(r->var_json, "user-data");
	if (ud != NULL && !json_is_string(ud)) {
		hcl_report_free(r);
		return error_set(err, "HCL variable data: \"user-data\" must "
		    "be a hex string");
	}
	r->user_data_hex = ud != NULL ? json_string_value(ud) : NULL;
	return 0;
}

int
hcl_check_var_data_hash(const struct hcl_report *r,
    const uint8_t *report_data, size_t report_data_len, const char *what,
    struct error *err)
{
	char want[65], got[65];

	if (report_data_len < 32)
		return error_set(err, "%s report data too short (%zu bytes)",
		    what, report_data_len);
	if (memcmp(report_data, r->var_data_sha256, 32) == 0)
		return 0;
	hex_encode(r->var_data_sha256, 32, want);
	hex_encode(report_data, 32, got);
	return error_set(err, "HCL variable data is not bound to the %s: "
	    "SHA-256(variable data) = %s, %s REPORT_DATA[0..32] = %s", what,
	    want, what, got);
}

int
hcl_check_user_data(const struct hcl_report *r, const uint8_t *expected,
    size_t expected_len, struct error *err)
{
	uint8_t ud[256];
	size_t udlen;

	if (r->user_data_hex == NULL)
		return error_set(err, "report data does not match: evidence "
		    "v2 needs \"user-data\" in the HCL variable data, none "
		    "found");
	if (strlen(r->user_data_hex) > 2 * sizeof(ud) ||
	    hex_decode(r->user_data_hex, ud, sizeof(ud), &udlen) != 0)
		return error_set(err, "HCL variable data: \"user-data\" is not "
		    "hex of at most %zu bytes", sizeof(ud));
	if (udlen < expected_len)
		return error_set(err, "report data does not match the HCL "
		    "user-data: expected %zu bytes, user-data has %zu",
		    expected_len, udlen);
	if (!secret_equal(ud, expected, expected_len))
		return error_set(err, "report data does not match the HCL "
		    "user-data (first %zu bytes differ from the expected "
		    "report data)", expected_len);
	return 0;
}

/* ------------------------------------------------------------ evidence */

void
hcl_evidence_free(struct hcl_evidence *e)
{
	if (e == NULL)
		return;
	free(e->tpm_sig);
	free(e->tpm_msg);
	free(e->hcl);
	free(e->hw);
	memset(e, 0, sizeof(*e));
}

/* A JSON array of byte values (v0 evidence). */
static int
hcl_json_bytes(const json_t *v, const char *name, size_t max, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const json_t *x;
	size_t i, n;
	json_int_t b;

	if (!json_is_array(v))
		return error_set(err, "%s must be an array of bytes", name);
	n = json_array_size(v);
	if (n > max)
		return error_set(err, "%s: %zu bytes, at most %zu allowed",
		    name, n, max);
	*out = xmalloc(n + 1);
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || (b = json_integer_value(x)) < 0 ||
		    b > 255) {
			free(*out);
			*out = NULL;
			return error_set(err, "%s[%zu] is not a byte (0..255)",
			    name, i);
		}
		(*out)[i] = (uint8_t)b;
	}
	*outlen = n;
	return 0;
}

/* A hex string (v1/v2 tpm_quote members). */
static int
hcl_json_hex(const json_t *v, const char *name, size_t max, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return error_set(err, "%s must be a hex string", name);
	s = json_string_value(v);
	n = strlen(s);
	if (n / 2 > max)
		return error_set(err, "%s: %zu bytes, at most %zu allowed",
		    name, n / 2, max);
	*out = xmalloc(n / 2 + 1);
	if (hex_decode(s, *out, n / 2 + 1, outlen) != 0) {
		free(*out);
		*out = NULL;
		return error_set(err, "%s is not a hex string", name);
	}
	return 0;
}

/* A base64 string (v1/v2 hcl_report, vcek, td_quote: base64url, padded or
 * not; standard base64 is accepted too). */
static int
hcl_json_b64(const json_t *v, const char *name, size_t max, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const char *s;

	if (!json_is_string(v))
		return error_set(err, "%s must be a base64url string", name);
	s = json_string_value(v);
	if (strlen(s) / 4 * 3 > max + 3)
		return error_set(err, "%s: longer than %zu bytes", name, max);
	if (b64_decode_any(s, strlen(s), out, outlen) != 0)
		return error_set(err, "%s is not base64url", name);
	if (*outlen > max) {
		free(*out);
		*out = NULL;
		return error_set(err, "%s: %zu bytes, at most %zu allowed",
		    name, *outlen, max);
	}
	return 0;
}

/* Limits on what one evidence may carry. */
#define HCL_SIG_MAX		1024		/* RSA-8192 */
#define HCL_ATTEST_MAX		1024		/* TPMS_ATTEST is ~130 B */
#define HCL_REPORT_MAX		(HCL_VAR_DATA_OFF + HCL_VAR_DATA_MAX)
#define HCL_HW_MAX		(64u * 1024)	/* a quote, a certificate */

static int
hcl_evidence_quote(const json_t *q, int v0, struct hcl_evidence *e,
    struct error *err)
{
	const json_t *pcrs, *p;
	uint8_t *b;
	size_t i, n;
	int rc;

	if (!json_is_object(q))
		return error_set(err, "tpm_quote must be an object");
	rc = v0 ? hcl_json_bytes(json_object_get(q, "signature"),
	    "tpm_quote.signature", HCL_SIG_MAX, &e->tpm_sig, &e->tpm_sig_len,
	    err) : hcl_json_hex(json_object_get(q, "signature"),
	    "tpm_quote.signature", HCL_SIG_MAX, &e->tpm_sig, &e->tpm_sig_len,
	    err);
	if (rc != 0)
		return -1;
	rc = v0 ? hcl_json_bytes(json_object_get(q, "message"),
	    "tpm_quote.message", HCL_ATTEST_MAX, &e->tpm_msg,
	    &e->tpm_msg_len, err) : hcl_json_hex(json_object_get(q,
	    "message"), "tpm_quote.message", HCL_ATTEST_MAX, &e->tpm_msg,
	    &e->tpm_msg_len, err);
	if (rc != 0)
		return -1;
	pcrs = json_object_get(q, "pcrs");
	if (!json_is_array(pcrs) || json_array_size(pcrs) == 0 ||
	    json_array_size(pcrs) > HCL_MAX_PCRS)
		return error_set(err, "tpm_quote.pcrs must be an array of 1 to "
		    "%d SHA-256 PCR values", HCL_MAX_PCRS);
	json_array_foreach(pcrs, i, p) {
		char name[32];

		snprintf(name, sizeof(name), "tpm_quote.pcrs[%zu]", i);
		rc = v0 ? hcl_json_bytes(p, name, 32, &b, &n, err) :
		    hcl_json_hex(p, name, 32, &b, &n, err);
		if (rc != 0)
			return -1;
		if (n != 32) {
			free(b);
			return error_set(err, "%s: %zu bytes, a SHA-256 PCR "
			    "has 32", name, n);
		}
		memcpy(e->pcrs[i], b, 32);
		free(b);
	}
	e->npcrs = json_array_size(pcrs);
	return 0;
}

int
hcl_evidence_parse(const json_t *ev, int tdx, struct hcl_evidence *e,
    struct error *err)
{
	const char *qname, *rname, *hwname = tdx ? "td_quote" : "vcek";
	const json_t *ver, *hw;
	json_int_t v;
	int rc;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(ev))
		return error_set(err, "evidence is not a JSON object");
	ver = json_object_get(ev, "version");
	if (ver != NULL) {
		if (!json_is_integer(ver) || ((v = json_integer_value(ver)) !=
		    1 && v != 2))
			return error_set(err, "evidence version must be 1 or 2 "
			    "(or absent for v0)");
		e->version = (int)v;
	}
	if (e->version == 0 && !tdx) {
		qname = "quote";
		rname = "report";
	} else {
		qname = "tpm_quote";
		rname = "hcl_report";
	}
	if (json_object_get(ev, qname) == NULL)
		rc = error_set(err, "evidence v%d: missing field `%s`",
		    e->version, qname);
	else
		rc = hcl_evidence_quote(json_object_get(ev, qname),
		    e->version == 0, e, err);
	if (rc != 0)
		goto fail;
	if (e->version == 0)
		rc = hcl_json_bytes(json_object_get(ev, rname), rname,
		    HCL_REPORT_MAX, &e->hcl, &e->hcl_len, err);
	else
		rc = hcl_json_b64(json_object_get(ev, rname), rname,
		    HCL_REPORT_MAX, &e->hcl, &e->hcl_len, err);
	if (rc != 0)
		goto fail;
	hw = json_object_get(ev, hwname);
	if (hw == NULL)
		rc = error_set(err, "evidence v%d: missing field `%s`",
		    e->version, hwname);
	else if (e->version == 0 && !tdx) {
		/* v0 az-snp-vtpm: the VCEK as a PEM string. */
		if (!json_is_string(hw) || json_string_length(hw) >
		    HCL_HW_MAX)
			rc = error_set(err, "vcek must be a PEM string");
		else {
			e->hw_len = json_string_length(hw);
			e->hw = (uint8_t *)xstrndup(json_string_value(hw),
			    e->hw_len);
		}
	} else if (e->version == 0)
		rc = hcl_json_bytes(hw, hwname, HCL_HW_MAX, &e->hw,
		    &e->hw_len, err);
	else
		rc = hcl_json_b64(hw, hwname, HCL_HW_MAX, &e->hw, &e->hw_len,
		    err);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	hcl_evidence_free(e);
	return -1;
}

int
hcl_check_init_data(const uint8_t pcr8[32], const uint8_t *expected,
    size_t expected_len, struct error *err)
{
	uint8_t want[32];
	char hw[65], hg[65];

	if (expected_len != 32)
		return error_set(err, "init data hash must be 32 bytes "
		    "(SHA-256) to compare with PCR8, got %zu", expected_len);
	if (tpm_init_data_pcr8(expected, want) != 0)
		return error_set(err, "init data: hashing failed");
	if (memcmp(want, pcr8, 32) == 0)
		return 0;
	hex_encode(want, 32, hw);
	hex_encode(pcr8, 32, hg);
	return error_set(err, "init data hash does not match PCR8: expected "
	    "SHA-256(0^32 || init data hash) = %s, PCR8 = %s", hw, hg);
}

/* ------------------------------------------------ vTPM quote + binding */

int
hcl_vtpm_open(const struct verifier_input *in, const char *tee, int tdx,
    uint32_t report_type, struct hcl_evidence *e, struct hcl_report *h,
    struct tpm_attest *att, struct error *err)
{
	if (in->report_data == NULL)
		return error_set(err, "%s needs the expected report data (the "
		    "vTPM quote nonce), none was given", tee);
	if (hcl_evidence_parse(in->evidence, tdx, e, err) != 0)
		return error_prefix(err, "%s evidence", tee);
	if (hcl_report_parse(e->hcl, e->hcl_len, report_type, h, err) != 0) {
		hcl_evidence_free(e);
		return -1;
	}
	if (hcl_verify_tpm_quote(e, h, att, err) != 0) {
		hcl_report_free(h);
		hcl_evidence_free(e);
		return -1;
	}
	return 0;
}

int
hcl_vtpm_finish(const struct verifier_input *in, struct hcl_evidence *e,
    struct hcl_report *h, const struct tpm_attest *att,
    const uint8_t *hw_report_data, size_t hw_report_data_len,
    const char *what, json_t *c, json_t **claims, struct error *err)
{
	int rc = -1;

	if (hcl_check_var_data_hash(h, hw_report_data, hw_report_data_len,
	    what, err) == 0 && hcl_check_bindings(in, e, h, att, c, err) == 0) {
		*claims = c;
		c = NULL;
		rc = 0;
	}
	json_decref(c);
	hcl_report_free(h);
	hcl_evidence_free(e);
	return rc;
}

int
hcl_verify_tpm_quote(const struct hcl_evidence *e, const struct hcl_report *h,
    struct tpm_attest *att, struct error *err)
{
	struct tpm_quote_in q;

	memset(&q, 0, sizeof(q));
	q.message = e->tpm_msg;
	q.message_len = e->tpm_msg_len;
	q.sig = e->tpm_sig;
	q.sig_len = e->tpm_sig_len;
	q.sig_raw_rsassa = 1;
	q.ak = h->ak_pub;
	q.pcrs = &e->pcrs[0][0];
	q.n_pcrs = e->npcrs;
	q.pcr_len = 32;
	if (tpm_quote_verify(&q, att, err) != 0)
		return error_prefix(err, "vTPM quote (signed by HCLAkPub)");
	return 0;
}

/* PCR8 of the SHA-256 bank, or NULL when the quote does not cover it. */
static const uint8_t *
hcl_pcr8(const struct hcl_evidence *e, const struct tpm_attest *att)
{
	unsigned idx[HCL_MAX_PCRS];
	uint16_t alg[HCL_MAX_PCRS];
	struct error err = { "" };
	size_t i, n;

	if (tpm_pcr_selection_list(&att->pcr_select, idx, alg, HCL_MAX_PCRS,
	    &n, &err) != 0 || n != e->npcrs)
		return NULL;
	for (i = 0; i < n; i++)
		if (idx[i] == 8 && alg[i] == TPM_ALG_SHA256)
			return e->pcrs[i];
	return NULL;
}

int
hcl_check_bindings(const struct verifier_input *in,
    const struct hcl_evidence *e, const struct hcl_report *h,
    const struct tpm_attest *att, json_t *claims, struct error *err)
{
	const uint8_t *pcr8 = hcl_pcr8(e, att);
	char *hex;
	json_t *tpm;

	if (att->extra_data_len != in->report_data_len ||
	    !secret_equal(att->extra_data, in->report_data,
	    in->report_data_len)) {
		char want[2 * 64 + 1], got[2 * 64 + 1];

		hex_encode(in->report_data, in->report_data_len < 64 ?
		    in->report_data_len : 64, want);
		hex_encode(att->extra_data, att->extra_data_len < 64 ?
		    att->extra_data_len : 64, got);
		return error_set(err, "report data does not match the vTPM "
		    "quote nonce: expected %s (%zu bytes), extraData %s (%zu "
		    "bytes)", want, in->report_data_len, got,
		    att->extra_data_len);
	}
	if (e->version == 2 && hcl_check_user_data(h, in->report_data,
	    in->report_data_len, err) != 0)
		return -1;
	if (in->init_data_hash != NULL) {
		if (pcr8 == NULL)
			return error_set(err, "init data hash given but the "
			    "vTPM quote does not cover PCR8 (SHA-256 bank)");
		if (hcl_check_init_data(pcr8, in->init_data_hash,
		    in->init_data_hash_len, err) != 0)
			return -1;
	}

	tpm = json_object();
	if (tpm_pcr_claims(tpm, att, &e->pcrs[0][0], e->npcrs, 32,
	    err) != 0) {
		json_decref(tpm);
		return -1;
	}
	json_object_set_new(claims, "tpm", tpm);
	hex = xmalloc(2 * att->extra_data_len + 1);
	hex_encode(att->extra_data, att->extra_data_len, hex);
	json_object_set_new(claims, "report_data", json_string(hex));
	free(hex);
	if (pcr8 != NULL) {
		char h8[65];

		hex_encode(pcr8, 32, h8);
		json_object_set_new(claims, "init_data", json_string(h8));
	}
	return 0;
}
