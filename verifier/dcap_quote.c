/*
 * dcap_quote.c: strict parser for Intel ECDSA quotes (SGX v3, TDX v4/v5)
 * and the quote part of Trustee's tdx / sgx claims
 * (reference/attestation-service.md §1.4, §1.5).
 *
 * Layout (all integers little-endian):
 *   header 48: version u16, att_key_type u16, tee_type u32, reserved u32
 *              (SGX: qe_svn u16, pce_svn u16), qe_vendor_id[16],
 *              user_data[20]
 *   v3: SGX report body 384 @48          signed = [0, 432)
 *   v4: TD report body 584 @48           signed = [0, 632)
 *   v5: body_type u16 @48, body_size u32 @50, body @54
 *                                        signed = [0, 54 + body_size)
 *   signature data: u32 len, then exactly len bytes:
 *     signature r||s (64), attestation key X||Y (64),
 *     v4/v5: u16 type = 6, u32 size, then exactly size bytes of
 *            QE report certification data;
 *     v3:    the QE report certification data directly;
 *   QE report certification data: QE report (384), QE report signature
 *     (64), u16 auth_len, auth data, u16 type = 5, u32 size, PEM chain.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "dcap_internal.h"
#include "verifier.h"

/* A bounded little-endian reader. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *what;
	struct error *err;
};

static int
rd_need(struct rd *r, size_t n, const char *field)
{
	if (r->len - r->off < n)
		return error_set(r->err, "quote truncated: %s needs %zu bytes "
		    "at offset %zu of %s, only %zu left", field, n, r->off,
		    r->what, r->len - r->off);
	return 0;
}

static int
rd_u16(struct rd *r, uint16_t *v, const char *field)
{
	if (rd_need(r, 2, field) != 0)
		return -1;
	*v = (uint16_t)(r->p[r->off] | (r->p[r->off + 1] << 8));
	r->off += 2;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v, const char *field)
{
	if (rd_need(r, 4, field) != 0)
		return -1;
	*v = (uint32_t)r->p[r->off] | ((uint32_t)r->p[r->off + 1] << 8) |
	    ((uint32_t)r->p[r->off + 2] << 16) |
	    ((uint32_t)r->p[r->off + 3] << 24);
	r->off += 4;
	return 0;
}

static int
rd_bytes(struct rd *r, size_t n, const uint8_t **out, const char *field)
{
	if (rd_need(r, n, field) != 0)
		return -1;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

/* The QE report certification data (type 6 payload, or v3 inline). */
static int
dcap_parse_qe_cert_data(struct rd *r, struct dcap_quote *q)
{
	uint16_t auth_len, type;
	uint32_t size;

	if (rd_bytes(r, DCAP_SGX_REPORT_LEN, &q->qe_report, "QE report") != 0 ||
	    rd_bytes(r, 64, &q->qe_report_sig, "QE report signature") != 0 ||
	    rd_u16(r, &auth_len, "QE auth data length") != 0 ||
	    rd_bytes(r, auth_len, &q->qe_auth, "QE auth data") != 0)
		return -1;
	q->qe_auth_len = auth_len;
	if (rd_u16(r, &type, "certification data type") != 0)
		return -1;
	if (type != 5)
		return error_set(r->err, "unsupported certification data type "
		    "%u inside the QE report certification data (expected 5: "
		    "PCK certificate chain)", type);
	if (rd_u32(r, &size, "PCK chain size") != 0 ||
	    rd_bytes(r, size, &q->pck_chain, "PCK certificate chain") != 0)
		return -1;
	q->pck_chain_len = size;
	if (size == 0)
		return error_set(r->err, "empty PCK certificate chain");
	if (r->off != r->len)
		return error_set(r->err, "%zu unexpected bytes after the PCK "
		    "certificate chain inside %s", r->len - r->off, r->what);
	return 0;
}

int
dcap_quote_parse(const uint8_t *buf, size_t len, struct dcap_quote *q,
    struct error *err)
{
	struct rd r = { buf, len, 0, "the quote", err };
	struct rd s;
	uint32_t sig_len, cert_size;
	uint16_t cert_type;
	size_t i;
	const uint8_t *b;

	memset(q, 0, sizeof(*q));
	q->raw = buf;
	q->raw_len = len;
	if (rd_u16(&r, &q->version, "version") != 0 ||
	    rd_u16(&r, &q->att_key_type, "attestation key type") != 0 ||
	    rd_u32(&r, &q->tee_type, "TEE type") != 0)
		return -1;
	r.off = 0;
	if (rd_bytes(&r, DCAP_HEADER_LEN, &q->header, "quote header") != 0)
		return -1;
	if (q->version != 3 && q->version != 4 && q->version != 5)
		return error_set(err, "unsupported quote version %u (expected "
		    "3 for SGX, 4 or 5 for TDX)", q->version);
	if (q->att_key_type != 2)
		return error_set(err, "unsupported attestation key type %u "
		    "(expected 2: ECDSA-256-with-P-256)", q->att_key_type);
	if (q->version == 3) {
		if (q->tee_type != DCAP_TEE_TYPE_SGX)
			return error_set(err, "quote v3 has TEE type 0x%x "
			    "(expected 0x0: SGX)", q->tee_type);
		q->body_kind = DCAP_BODY_SGX;
		q->body_len = DCAP_SGX_REPORT_LEN;
	} else {
		if (q->tee_type != DCAP_TEE_TYPE_TDX)
			return error_set(err, "quote v%u has TEE type 0x%x "
			    "(expected 0x81: TDX)", q->version, q->tee_type);
		if (q->version == 4) {
			q->body_kind = DCAP_BODY_TD10;
			q->body_len = DCAP_TD10_BODY_LEN;
		} else {
			if (rd_u16(&r, &q->v5_body_type, "body type") != 0 ||
			    rd_u32(&r, &q->v5_body_size, "body size") != 0)
				return -1;
			if (q->v5_body_type == 2) {
				q->body_kind = DCAP_BODY_TD10;
				q->body_len = DCAP_TD10_BODY_LEN;
			} else if (q->v5_body_type == 3) {
				q->body_kind = DCAP_BODY_TD15;
				q->body_len = DCAP_TD15_BODY_LEN;
			} else {
				return error_set(err, "unsupported quote v5 "
				    "body type %u (expected 2: TDX 1.0 or 3: "
				    "TDX 1.5)", q->v5_body_type);
			}
			if (q->v5_body_size != q->body_len)
				return error_set(err, "quote v5 body size %u "
				    "does not match body type %u (expected "
				    "%zu)", q->v5_body_size, q->v5_body_type,
				    q->body_len);
		}
	}
	if (rd_bytes(&r, q->body_len, &q->body, "report body") != 0)
		return -1;
	q->signed_len = r.off;
	if (rd_u32(&r, &sig_len, "signature data length") != 0)
		return -1;
	if (sig_len > r.len - r.off)
		return error_set(err, "quote truncated: signature data length "
		    "%u exceeds the %zu bytes left at offset %zu", sig_len,
		    r.len - r.off, r.off);
	s.p = buf + r.off;
	s.len = sig_len;
	s.off = 0;
	s.what = "the signature data";
	s.err = err;
	r.off += sig_len;
	q->trailing_len = r.len - r.off;
	for (i = r.off; i < r.len; i++)
		if (buf[i] != 0)
			return error_set(err, "trailing garbage: %zu bytes after "
			    "the signature data (offset %zu) and byte %zu is "
			    "0x%02x (only zero padding is accepted)",
			    q->trailing_len, r.off, i, buf[i]);
	if (rd_bytes(&s, 64, &q->signature, "quote signature") != 0 ||
	    rd_bytes(&s, 64, &q->att_key, "attestation key") != 0)
		return -1;
	if (q->version != 3) {
		if (rd_u16(&s, &cert_type, "certification data type") != 0)
			return -1;
		if (cert_type != 6)
			return error_set(err, "unsupported certification data "
			    "type %u (expected 6: QE report certification "
			    "data)", cert_type);
		if (rd_u32(&s, &cert_size, "certification data size") != 0)
			return -1;
		if (cert_size != s.len - s.off)
			return error_set(err, "certification data size %u "
			    "does not match the %zu bytes left in the "
			    "signature data", cert_size, s.len - s.off);
		s.p += s.off;
		s.len = cert_size;
		s.off = 0;
		s.what = "the QE report certification data";
	}
	if (dcap_parse_qe_cert_data(&s, q) != 0)
		return -1;

	b = q->body;
	if (q->body_kind == DCAP_BODY_SGX) {
		q->config_id = b + 192;
		q->report_data = b + 320;
	} else {
		q->tee_tcb_svn = b;
		q->mr_td = b + 136;
		q->mr_config_id = b + 184;
		for (i = 0; i < 4; i++)
			q->rtmr[i] = b + 328 + 48 * i;
		q->report_data = b + 520;
	}
	return 0;
}

json_t *
dcap_json_hex(const uint8_t *p, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	json_t *j;

	hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

int
dcap_check_bindings(const struct dcap_quote *q, const uint8_t *report_data,
    size_t report_data_len, const uint8_t *init_data_hash,
    size_t init_data_hash_len, struct error *err)
{
	int sgx = q->body_kind == DCAP_BODY_SGX;
	const uint8_t *cfg = sgx ? q->config_id : q->mr_config_id;
	size_t n = sgx ? 64 : 48;
	const char *field = sgx ? "CONFIGID" : "MRCONFIGID";
	uint8_t exp[64];
	char a[129], b[129];

	if (report_data != NULL) {
		verifier_regularize(report_data, report_data_len, exp, 64);
		if (memcmp(exp, q->report_data, 64) != 0) {
			hex_encode(exp, 64, a);
			hex_encode(q->report_data, 64, b);
			return error_set(err, "report data does not match: "
			    "expected %s, the quote's REPORTDATA is %s", a, b);
		}
	}
	if (init_data_hash != NULL) {
		verifier_regularize(init_data_hash, init_data_hash_len, exp,
		    n);
		if (memcmp(exp, cfg, n) != 0) {
			hex_encode(exp, n, a);
			hex_encode(cfg, n, b);
			return error_set(err, "init data hash does not match "
			    "%s: expected %s, the quote's %s is %s", field, a,
			    field, b);
		}
	}
	return 0;
}

int
dcap_wrap_raw_quote(const uint8_t *buf, size_t len, uint32_t tee_type,
    const char *what, json_t **evidence, struct error *err)
{
	struct dcap_quote q;
	char *b;

	if (dcap_quote_parse(buf, len, &q, err) != 0)
		return error_prefix(err, "%s", what);
	if (q.tee_type != tee_type)
		return error_set(err, "%s (version %u, TEE type 0x%x)", what,
		    q.version, q.tee_type);
	b = b64_encode(buf, len, B64_STD);
	*evidence = json_pack("{s:s}", "quote", b);
	free(b);
	if (*evidence == NULL)
		return error_set(err, "out of memory");
	return 0;
}

static void
set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	json_object_set_new(o, k, dcap_json_hex(p, n));
}

json_t *
dcap_tdx_quote_claims(const struct dcap_quote *q)
{
	json_t *c = json_object(), *quote = json_object();
	json_t *h = json_object(), *b = json_object(), *ta = json_object();
	const uint8_t *hd = q->header, *bd = q->body;
	uint64_t attr = 0;
	uint8_t le[4];
	int i;

	set_hex(h, "version", hd, 2);
	set_hex(h, "att_key_type", hd + 2, 2);
	set_hex(h, "tee_type", hd + 4, 4);
	set_hex(h, "reserved", hd + 8, 4);
	set_hex(h, "vendor_id", hd + 12, 16);
	set_hex(h, "user_data", hd + 28, 20);
	json_object_set_new(quote, "header", h);

	set_hex(b, "tcb_svn", bd, 16);
	set_hex(b, "mr_seam", bd + 16, 48);
	set_hex(b, "mrsigner_seam", bd + 64, 48);
	set_hex(b, "seam_attributes", bd + 112, 8);
	set_hex(b, "td_attributes", bd + 120, 8);
	set_hex(b, "xfam", bd + 128, 8);
	set_hex(b, "mr_td", bd + 136, 48);
	set_hex(b, "mr_config_id", bd + 184, 48);
	set_hex(b, "mr_owner", bd + 232, 48);
	set_hex(b, "mr_owner_config", bd + 280, 48);
	set_hex(b, "rtmr_0", bd + 328, 48);
	set_hex(b, "rtmr_1", bd + 376, 48);
	set_hex(b, "rtmr_2", bd + 424, 48);
	set_hex(b, "rtmr_3", bd + 472, 48);
	set_hex(b, "report_data", bd + 520, 64);
	if (q->body_kind == DCAP_BODY_TD15) {
		set_hex(b, "tee_tcb_svn2", bd + 584, 16);
		set_hex(b, "mr_servicetd", bd + 600, 48);
	}
	json_object_set_new(quote, "body", b);
	if (q->version == 5) {
		le[0] = (uint8_t)q->v5_body_type;
		le[1] = (uint8_t)(q->v5_body_type >> 8);
		set_hex(quote, "type", le, 2);
		for (i = 0; i < 4; i++)
			le[i] = (uint8_t)(q->v5_body_size >> (8 * i));
		set_hex(quote, "size", le, 4);
	}
	json_object_set_new(c, "quote", quote);

	for (i = 7; i >= 0; i--)
		attr = (attr << 8) | bd[120 + i];
	json_object_set_new(ta, "debug", json_boolean(attr & 1));
	json_object_set_new(ta, "septve_disable",
	    json_boolean((attr >> 28) & 1));
	json_object_set_new(ta, "protection_keys",
	    json_boolean((attr >> 30) & 1));
	json_object_set_new(ta, "key_locker", json_boolean((attr >> 31) & 1));
	json_object_set_new(ta, "perfmon", json_boolean((attr >> 63) & 1));
	json_object_set_new(c, "td_attributes", ta);
	return c;
}

json_t *
dcap_sgx_quote_claims(const struct dcap_quote *q)
{
	json_t *c = json_object(), *h = json_object(), *b = json_object();
	const uint8_t *hd = q->header, *bd = q->body;

	/* Trustee's sgx claims: header.version etc. as in §1.5. */
	set_hex(h, "version", hd, 2);
	set_hex(h, "att_key_type", hd + 2, 2);
	set_hex(h, "att_key_data_0", hd + 4, 4);
	set_hex(h, "qe_svn", hd + 8, 2);
	set_hex(h, "pce_svn", hd + 10, 2);
	set_hex(h, "vendor_id", hd + 12, 16);
	set_hex(h, "user_data", hd + 28, 20);
	json_object_set_new(c, "header", h);

	set_hex(b, "cpu_svn", bd, 16);
	set_hex(b, "misc_select", bd + 16, 4);
	set_hex(b, "reserved1", bd + 20, 12);
	set_hex(b, "isv_ext_prod_id", bd + 32, 16);
	set_hex(b, "attributes.flags", bd + 48, 8);
	set_hex(b, "attributes.xfrm", bd + 56, 8);
	set_hex(b, "mr_enclave", bd + 64, 32);
	set_hex(b, "reserved2", bd + 96, 32);
	set_hex(b, "mr_signer", bd + 128, 32);
	set_hex(b, "reserved3", bd + 160, 32);
	set_hex(b, "config_id", bd + 192, 64);
	set_hex(b, "isv_prod_id", bd + 256, 2);
	set_hex(b, "isv_svn", bd + 258, 2);
	set_hex(b, "config_svn", bd + 260, 2);
	set_hex(b, "reserved4", bd + 262, 42);
	set_hex(b, "isv_family_id", bd + 304, 16);
	set_hex(b, "report_data", bd + 320, 64);
	json_object_set_new(c, "body", b);
	return c;
}
