/*
 * test_nvidia.c: the "nvidia" verifier (verifier/nvidia*.c) and its SPDM
 * parser (verifier/spdm.c) on the real H100 vector
 * (tests/vectors/nvidia-hopper-coco): it verifies with its expected
 * report data and yields every measurement and the driver/VBIOS
 * versions; a flipped measurement byte, a truncated report, a chain from
 * another root, a wrong nonce, a FWID that differs from the leaf's, a
 * time outside the chain's validity are each refused for their reason.
 * Crafted reports cover every bound the SPDM parser checks; the opaque
 * data decoder, the FWID extension forms (NVIDIA's and TCG DICE
 * TcbInfo), the evidence JSON shapes, Blackwell/LS10 (not verifiable
 * locally), and the sampledevice verifier are tested too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "util.h"
#include "verifier.h"
#include "nvidia.h"
#include "spdm.h"
#include "testutil.h"

#define VEC "nvidia-hopper-coco/"
#define T_2026 1780000000	/* 2026-05-28: inside every window */

/* ---- helpers */

static json_t *
vec_evidence(void)
{
	return testutil_vec_json(VEC "evidence.json");
}

static json_t *
vec_device(json_t *ev)
{
	return json_array_get(json_object_get(ev, "device_evidence_list"), 0);
}

/* The expected report data of the vector (48 bytes). */
static size_t
vec_report_data(uint8_t out[64])
{
	json_t *exp = testutil_vec_json(VEC "expected.json");
	size_t n = 0;

	assert_int_equal(hex_decode(json_string_value(json_object_get(exp,
	    "expected_report_data")), out, 64, &n), 0);
	assert_int_equal(n, 48);
	json_decref(exp);
	return n;
}

/* The report bytes of the vector. */
static uint8_t *
vec_report(size_t *len)
{
	size_t n;
	uint8_t *hex = testutil_vec_read(VEC "report.hex", &n), *out;

	while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r'))
		hex[--n] = '\0';
	out = xmalloc(n / 2);
	assert_int_equal(hex_decode((char *)hex, out, n / 2, len), 0);
	free(hex);
	return out;
}

static void
set_report(json_t *ev, const uint8_t *rep, size_t len)
{
	char *h = xmalloc(2 * len + 1);

	hex_encode(rep, len, h);
	json_object_set_new(vec_device(ev), "evidence", json_string(h));
	free(h);
}

static int
run(const json_t *ev, const uint8_t *rd, size_t rdlen, int64_t now,
    json_t **claims, struct error *err)
{
	return testutil_run_verifier(&verifier_nvidia, ev, rd, rdlen, NULL, 0,
	    now, claims, err);
}

static void
expect_fail(const json_t *ev, const uint8_t *rd, size_t rdlen, int64_t now,
    const char *needle)
{
	json_t *c = NULL;
	struct error err;

	nvidia_cache_clear();
	if (run(ev, rd, rdlen, now, &c, &err) == 0)
		fail_msg("verified, expected a refusal mentioning \"%s\"",
		    needle);
	assert_null(c);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		    needle);
}

/* The certificates of the vector's chain, leaf first. */
static STACK_OF(X509) *
vec_chain(void)
{
	json_t *ev = vec_evidence();
	const char *b = json_string_value(json_object_get(vec_device(ev),
	    "certificate"));
	uint8_t *pem;
	size_t len;
	BIO *bio;
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	assert_int_equal(b64_decode(b, strlen(b), B64_STD, &pem, &len), 0);
	bio = BIO_new_mem_buf(pem, (int)len);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	BIO_free(bio);
	free(pem);
	json_decref(ev);
	assert_int_equal(sk_X509_num(sk), 5);
	return sk;
}

/* Put certs as the base64 PEM chain of the evidence. */
static void
set_chain(json_t *ev, X509 **certs, int n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *b;
	long len;
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(PEM_write_bio_X509(bio, certs[i]), 1);
	len = BIO_get_mem_data(bio, &data);
	b = b64_encode(data, (size_t)len, B64_STD);
	json_object_set_new(vec_device(ev), "certificate", json_string(b));
	free(b);
	BIO_free(bio);
}

static EVP_PKEY *
p384_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	assert_non_null(k);
	return k;
}

/* A self-signed CA with the pinned root's subject (CN "NVIDIA Device
 * Identity CA", O "NVIDIA") but another key. */
static X509 *
fake_root(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"NVIDIA Device Identity CA", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"NVIDIA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	ASN1_TIME_set(X509_getm_notBefore(x), 1600000000);
	ASN1_TIME_set_string(X509_getm_notAfter(x), "99991231235959Z");
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha384()) > 0);
	return x;
}

/* ---- the real vector */

static void
test_vector_verifies(void **state)
{
	uint8_t rd[64], *rep;
	size_t rdlen = vec_report_data(rd), replen, i, nonzero = 0;
	json_t *ev = vec_evidence(), *c = NULL, *m, *cfg;
	struct spdm_measurements *sm = xmalloc(sizeof(*sm));
	struct error err;
	char hex[2 * 48 + 1], key[8];

	(void)state;
	nvidia_cache_clear();
	if (run(ev, rd, rdlen, T_2026, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(c, "arch")),
	    "Hopper");
	assert_string_equal(json_string_value(json_object_get(c, "uuid")),
	    "unknown");
	assert_null(json_object_get(c, "report_data"));
	m = json_object_get(c, "measurements");
	assert_int_equal(json_object_size(m), 64);
	/* every block of the report, against an independent parse */
	rep = vec_report(&replen);
	assert_int_equal(replen, 4130);
	assert_int_equal(spdm_parse_measurements(rep, replen, 96, sm, &err), 0);
	assert_int_equal(sm->nblocks, 64);
	assert_int_equal(sm->record_len, 3520);
	assert_int_equal(sm->opaque_len, 434);
	assert_int_equal(sm->signed_len, 4033);
	assert_int_equal(sm->trailing, 1);
	for (i = 0; i < 64; i++) {
		/* block i at 37 + 8 + 55 i: index, spec, size, type, size,
		 * 48-byte value */
		const uint8_t *b = rep + 45 + 55 * i;
		int zero = 1, j;

		assert_int_equal(b[0], i + 1);
		for (j = 0; j < 48; j++)
			if (b[7 + j] != 0)
				zero = 0;
		nonzero += !zero;
		hex_encode(b + 7, 48, hex);
		snprintf(key, sizeof(key), "%zu", i + 1);
		assert_string_equal(json_string_value(json_object_get(m, key)),
		    hex);
	}
	assert_int_equal(nonzero, 27);
	cfg = json_object_get(c, "config");
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "driver_version")), "580.95.05");
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "vbios_version")), "96.00.74.00.1a");
	assert_string_equal(json_string_value(json_object_get(cfg, "fwid")),
	    "f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be4557"
	    "6c2881cf920e2cbcc090b1cb921f7b2d");
	assert_string_equal(json_string_value(json_object_get(cfg, "chip_sku")),
	    "882");
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "board_id")), "b1030000");
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "nvdec0_status")), "disabled");
	assert_int_equal(json_object_size(json_object_get(cfg,
	    "measurement_count")), 64);
	json_decref(c);

	/* warm (cached chain) and at the real current time */
	if (run(ev, rd, rdlen, now_unix(), &c, &err) != 0)
		fail_msg("warm: %s", err.msg);
	json_decref(c);
	/* only the first 32 bytes of the report data count */
	rd[40] ^= 1;
	if (run(ev, rd, rdlen, T_2026, &c, &err) != 0)
		fail_msg("regularized: %s", err.msg);
	json_decref(c);
	/* the report as standard base64 */
	{
		char *b = b64_encode(rep, replen, B64_STD);

		json_object_set_new(vec_device(ev), "evidence", json_string(b));
		free(b);
		json_object_set_new(vec_device(ev), "uuid",
		    json_string("GPU-1234"));
		if (run(ev, rd, rdlen, T_2026, &c, &err) != 0)
			fail_msg("base64: %s", err.msg);
		assert_string_equal(json_string_value(json_object_get(c,
		    "uuid")), "GPU-1234");
		json_decref(c);
	}
	free(rep);
	free(sm);
	json_decref(ev);
}

static void
test_vector_refusals(void **state)
{
	uint8_t rd[64], *rep, *bad;
	size_t rdlen = vec_report_data(rd), replen;
	json_t *ev = vec_evidence();
	STACK_OF(X509) *sk;
	X509 *certs[5], *fake, *ident;
	EVP_PKEY *fk;
	int i;

	(void)state;
	rep = vec_report(&replen);
	bad = xmalloc(replen);

	/* a flipped byte in measurement block 2's value */
	memcpy(bad, rep, replen);
	bad[45 + 55 + 7 + 10] ^= 0x01;
	set_report(ev, bad, replen);
	expect_fail(ev, rd, rdlen, T_2026, "report signature does not verify");

	/* a flipped byte of the signature */
	memcpy(bad, rep, replen);
	bad[4033 + 50] ^= 0x80;
	set_report(ev, bad, replen);
	expect_fail(ev, rd, rdlen, T_2026, "report signature does not verify");

	/* truncated: inside the signature, inside the record, the request */
	set_report(ev, rep, 4100);
	expect_fail(ev, rd, rdlen, T_2026, "truncated");
	set_report(ev, rep, 2000);
	expect_fail(ev, rd, rdlen, T_2026, "truncated");
	set_report(ev, rep, 20);
	expect_fail(ev, rd, rdlen, T_2026, "truncated");

	/* a non-zero byte after the signature */
	memcpy(bad, rep, replen);
	bad[replen - 1] = 0x01;
	set_report(ev, bad, replen);
	expect_fail(ev, rd, rdlen, T_2026, "not zero padding");

	/* the opaque FWID differs from the leaf certificate's (checked
	 * before the signature, which the change also breaks) */
	memcpy(bad, rep, replen);
	{
		/* the fwid value: the only 48-byte opaque item (type 20) */
		size_t off = 37 + 8 + 3520 + 32 + 2, end = off + 434;
		int done = 0;

		while (off + 4 <= end) {
			unsigned t = bad[off] | bad[off + 1] << 8;
			unsigned n = bad[off + 2] | bad[off + 3] << 8;

			if (t == 20) {
				bad[off + 4] ^= 0xff;
				done = 1;
			}
			off += 4 + n;
		}
		assert_true(done);
	}
	set_report(ev, bad, replen);
	expect_fail(ev, rd, rdlen, T_2026, "FWID does not match");
	set_report(ev, rep, replen);

	/* a wrong nonce: after every other check has passed */
	rd[0] ^= 1;
	expect_fail(ev, rd, rdlen, T_2026, "report data mismatch: the SPDM "
	    "request nonce 87d8e24a");
	rd[0] ^= 1;
	expect_fail(ev, NULL, 0, T_2026, "expected report data is required");

	/* before the chain's validity (GH100 Provisioner ICA: 2022-03-01) */
	expect_fail(ev, rd, rdlen, 1640000000, "not valid at the verification "
	    "time");

	/* chains from the wrong root */
	sk = vec_chain();
	for (i = 0; i < 5; i++)
		certs[i] = sk_X509_value(sk, i);
	fk = p384_key();
	fake = fake_root(fk);
	certs[4] = fake;
	set_chain(ev, certs, 5);
	expect_fail(ev, rd, rdlen, T_2026, "is not the pinned NVIDIA Device "
	    "Identity CA");
	/* the GH100 Identity CA re-signed by that other root */
	ident = X509_dup(sk_X509_value(sk, 3));
	assert_true(X509_sign(ident, fk, EVP_sha384()) > 0);
	certs[3] = ident;
	set_chain(ev, certs, 5);
	expect_fail(ev, rd, rdlen, T_2026, "is not the pinned NVIDIA Device "
	    "Identity CA");
	set_chain(ev, certs, 4);
	expect_fail(ev, rd, rdlen, T_2026, "does not verify to the pinned "
	    "NVIDIA Device Identity CA");
	/* an intermediate missing */
	certs[3] = sk_X509_value(sk, 3);
	certs[2] = certs[3];
	certs[3] = sk_X509_value(sk, 4);
	set_chain(ev, certs, 4);
	expect_fail(ev, rd, rdlen, T_2026, "does not verify");
	/* the leaf alone */
	set_chain(ev, certs, 1);
	expect_fail(ev, rd, rdlen, T_2026, "certificate chain must hold");
	/* the chain without its root still verifies to the pinned root */
	for (i = 0; i < 4; i++)
		certs[i] = sk_X509_value(sk, i);
	set_chain(ev, certs, 4);
	{
		json_t *c = NULL;
		struct error err;

		nvidia_cache_clear();
		if (run(ev, rd, rdlen, T_2026, &c, &err) != 0)
			fail_msg("chain without root: %s", err.msg);
		json_decref(c);
	}
	/* the leaf left out: its issuer has no FWID extension */
	certs[0] = sk_X509_value(sk, 1);
	certs[1] = sk_X509_value(sk, 2);
	certs[2] = sk_X509_value(sk, 3);
	set_chain(ev, certs, 3);
	expect_fail(ev, rd, rdlen, T_2026, "no FWID extension");

	X509_free(ident);
	X509_free(fake);
	EVP_PKEY_free(fk);
	sk_X509_pop_free(sk, X509_free);
	nvidia_cache_clear();
	free(bad);
	free(rep);
	json_decref(ev);
}

static void
test_devices_and_shapes(void **state)
{
	uint8_t rd[64];
	size_t rdlen = vec_report_data(rd), n = 0;
	json_t *ev = vec_evidence(), *list, *dev, *c = NULL;
	struct verifier_device out[VERIFIER_DEVICES_MAX];
	struct verifier_input in;
	struct error err;
	size_t i;

	(void)state;
	list = json_object_get(ev, "device_evidence_list");
	dev = json_deep_copy(json_array_get(list, 0));
	json_object_set_new(dev, "arch", json_string("BLACKWELL"));
	json_array_append_new(list, dev);
	dev = json_deep_copy(json_array_get(list, 0));
	json_object_set_new(dev, "arch", json_string("LS10"));
	json_array_append_new(list, dev);
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.report_data = rd;
	in.report_data_len = rdlen;
	in.now = T_2026;
	if (verifier_verify_all(&verifier_nvidia, &in, out, &n, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 3);
	assert_non_null(out[0].claims);
	assert_string_equal(out[0].tee_class, "gpu");
	assert_null(out[1].claims);
	assert_string_equal(out[1].tee_class, "gpu");
	assert_non_null(strstr(out[1].reason, "Blackwell evidence is not "
	    "verifiable locally by this build"));
	assert_null(out[2].claims);
	assert_string_equal(out[2].tee_class, "switch");
	assert_non_null(strstr(out[2].reason, "LS10"));
	verifier_devices_clear(out, n);
	/* the single-device form refuses a list of three */
	assert_int_equal(run(ev, rd, rdlen, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "3 devices"));
	/* a Blackwell alone: refused, with the reason */
	json_array_remove(list, 0);
	json_array_remove(list, 1);
	assert_int_equal(run(ev, rd, rdlen, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not verifiable locally"));
	json_decref(ev);

	/* malformed evidence: each refused with the field */
	{
		static const struct {
			const char *json, *needle;
		} bad[] = {
			{ "[]", "not a JSON object" },
			{ "{}", "`device_evidence_list` must be an array" },
			{ "{\"device_evidence_list\": []}", "1 to 16 devices" },
			{ "{\"device_evidence_list\": [1]}", "is not an object" },
			{ "{\"device_evidence_list\": [{\"evidence\": \"00\", "
			  "\"certificate\": \"\"}]}", "missing field `arch`" },
			{ "{\"device_evidence_list\": [{\"arch\": \"Volta\", "
			  "\"evidence\": \"00\", \"certificate\": \"\"}]}",
			  "unknown arch" },
			{ "{\"device_evidence_list\": [{\"arch\": \"Hopper\", "
			  "\"evidence\": 1, \"certificate\": \"\"}]}",
			  "`evidence` must be a string" },
			{ "{\"device_evidence_list\": [{\"arch\": \"Hopper\", "
			  "\"uuid\": 5, \"evidence\": \"00\", \"certificate\": "
			  "\"\"}]}", "`uuid` must be a string" },
			{ "{\"device_evidence_list\": [{\"arch\": \"Hopper\", "
			  "\"evidence\": \"zz!\", \"certificate\": \"\"}]}",
			  "neither hex nor standard base64" },
			{ "{\"device_evidence_list\": [{\"arch\": \"hopper\", "
			  "\"evidence\": \"11e0\", \"certificate\": \"\"}]}",
			  "truncated" },
		};

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			ev = testutil_json(bad[i].json);
			expect_fail(ev, rd, rdlen, T_2026, bad[i].needle);
			json_decref(ev);
		}
	}
	/* a certificate that is not base64 */
	ev = vec_evidence();
	json_object_set_new(vec_device(ev), "certificate", json_string("@@"));
	expect_fail(ev, rd, rdlen, T_2026, "`certificate` is not standard "
	    "base64");
	json_decref(ev);
}

/* ---- the SPDM parser on crafted reports */

struct crafted {
	uint8_t b[2048];
	size_t len;
};

/* A valid report: request (all, signed), nblocks blocks of 4-byte
 * values, opaque data, a 96-byte signature, trailing zeros. */
static void
craft(struct crafted *c, unsigned nblocks, const uint8_t *opaque,
    size_t olen, size_t trailing)
{
	size_t o = 0, rec, i;

	memset(c, 0, sizeof(*c));
	c->b[o++] = 0x11;
	c->b[o++] = 0xe0;
	c->b[o++] = 0x01;
	c->b[o++] = 0xff;
	memset(c->b + o, 0xab, 32);
	o += 32;
	c->b[o++] = 0x00;
	c->b[o++] = 0x11;
	c->b[o++] = 0x60;
	c->b[o++] = 0;
	c->b[o++] = 0;
	c->b[o++] = (uint8_t)nblocks;
	rec = nblocks * (4 + 3 + 4);
	c->b[o++] = (uint8_t)rec;
	c->b[o++] = (uint8_t)(rec >> 8);
	c->b[o++] = 0;
	for (i = 0; i < nblocks; i++) {
		c->b[o++] = (uint8_t)(i + 1);
		c->b[o++] = 0x01;
		c->b[o++] = 7;
		c->b[o++] = 0;
		c->b[o++] = 0x01;
		c->b[o++] = 4;
		c->b[o++] = 0;
		memset(c->b + o, (int)i, 4);
		o += 4;
	}
	memset(c->b + o, 0xcd, 32);
	o += 32;
	c->b[o++] = (uint8_t)olen;
	c->b[o++] = (uint8_t)(olen >> 8);
	memcpy(c->b + o, opaque, olen);
	o += olen;
	memset(c->b + o, 0x5a, 96);
	o += 96;
	o += trailing;
	c->len = o;
}

static void
spdm_fail(const struct crafted *c, const char *needle)
{
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct error err;

	if (spdm_parse_measurements(c->b, c->len, 96, m, &err) == 0)
		fail_msg("parsed, expected \"%s\"", needle);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		    needle);
	free(m);
}

static void
test_spdm_parser(void **state)
{
	static const uint8_t opq[] = { 3, 0, 2, 0, 'x', 0 };
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct crafted c;
	struct error err;
	size_t req_end = 37, rec = 37 + 8;

	(void)state;
	craft(&c, 3, opq, sizeof(opq), 0);
	if (spdm_parse_measurements(c.b, c.len, 96, m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(m->nblocks, 3);
	assert_int_equal(m->blocks[2].index, 3);
	assert_int_equal(m->blocks[2].value_len, 4);
	assert_int_equal(m->blocks[2].value[0], 2);
	assert_int_equal(m->opaque_len, sizeof(opq));
	assert_int_equal(m->signed_len, c.len - 96);
	assert_int_equal(m->trailing, 0);
	assert_int_equal(m->req_nonce[0], 0xab);
	assert_int_equal(m->resp_nonce[0], 0xcd);
	craft(&c, 3, opq, sizeof(opq), 5);
	assert_int_equal(spdm_parse_measurements(c.b, c.len, 96, m, &err), 0);
	assert_int_equal(m->trailing, 5);
	assert_int_equal(spdm_parse_measurements(NULL, 0, 96, m, &err), -1);

	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[0] = 0x12;
	spdm_fail(&c, "version 0x12 is not supported");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[1] = 0x81;
	spdm_fail(&c, "not GET_MEASUREMENTS");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[2] = 0;
	spdm_fail(&c, "no signature requested");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[3] = 0;
	spdm_fail(&c, "only for the number");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[3] = 2;
	spdm_fail(&c, "for a request of one index");
	craft(&c, 1, opq, sizeof(opq), 0);
	c.b[3] = 2;
	spdm_fail(&c, "index 1 was not requested");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[36] = 0x10;
	spdm_fail(&c, "SlotIDParam");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end] = 0x10;
	spdm_fail(&c, "differs from the request's");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 1] = 0x61;
	spdm_fail(&c, "not MEASUREMENTS");
	craft(&c, 0, opq, sizeof(opq), 0);
	spdm_fail(&c, "no measurement block");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] += 1;		/* record longer than its blocks */
	spdm_fail(&c, "does not match its 3 blocks");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] -= 1;		/* record shorter: last block overruns */
	spdm_fail(&c, "overruns the measurement record");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] = 0xff;
	c.b[req_end + 6] = 0xff;
	spdm_fail(&c, "overruns the report");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 11] = 1;		/* block 2 index = 1 */
	spdm_fail(&c, "appears twice");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec] = 0;
	spdm_fail(&c, "reserved index 0");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 1] = 0x02;
	spdm_fail(&c, "not the DMTF layout");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 5] = 5;		/* DMTF size 5 in a 7-byte block */
	spdm_fail(&c, "does not match the block size");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 2] = 2;		/* block size 2 */
	spdm_fail(&c, "too short");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 3 * 11 + 32] = 0x01;	/* opaque length 0x401 */
	c.b[rec + 3 * 11 + 33] = 0x04;
	spdm_fail(&c, "exceeds SPDM's 1024");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 3 * 11 + 32] = 0xff;	/* opaque length 255 */
	spdm_fail(&c, "opaque data of 255 bytes");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len -= 1;
	spdm_fail(&c, "signature at offset");
	craft(&c, 3, opq, sizeof(opq), 3);
	c.b[c.len - 2] = 0x20;
	spdm_fail(&c, "3 unsigned bytes follow the signature");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len = 40;
	spdm_fail(&c, "response header needs 8 bytes");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len = rec + 3 * 11 + 10;
	spdm_fail(&c, "responder nonce");
	free(m);
}

/* ---- opaque data and certificates */

static void
test_opaque(void **state)
{
	uint8_t fwid[48], buf[256];
	json_t *c = NULL;
	struct error err;
	size_t o = 0;

	(void)state;
#define ITEM(t, ...) do {						\
	static const uint8_t v_[] = { __VA_ARGS__ };			\
	buf[o++] = (t) & 0xff; buf[o++] = (t) >> 8;			\
	buf[o++] = sizeof(v_); buf[o++] = 0;				\
	memcpy(buf + o, v_, sizeof(v_)); o += sizeof(v_);		\
} while (0)
	ITEM(3, '5', '5', '0', '.', '9', 0);
	ITEM(6, 0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00);
	ITEM(12, 1, 0, 0, 0, 4, 0, 0, 0);
	ITEM(11, 0xaa);
	ITEM(22, 1, 2, 3, 4, 5, 6, 7, 8);
	ITEM(34, 2, 1);
	ITEM(36, 2);
	ITEM(99, 0xbe, 0xef);
	buf[o++] = 20; buf[o++] = 0; buf[o++] = 48; buf[o++] = 0;
	memset(buf + o, 0x42, 48);
	o += 48;
#undef ITEM
	if (nvidia_opaque_claims(buf, o, &c, fwid, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(c,
	    "driver_version")), "550.9");
	assert_string_equal(json_string_value(json_object_get(c,
	    "vbios_version")), "96.00.9f.00.01");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c,
	    "measurement_count"), "2")), 4);
	assert_string_equal(json_string_value(json_object_get(c,
	    "nvdec0_status")), "enabled");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c,
	    "switch_pdi"), 0)), "0102030405060708");
	assert_int_equal(json_integer_value(json_object_get(c,
	    "opaque_data_version")), 0x102);
	assert_string_equal(json_string_value(json_object_get(c,
	    "feature_flag")), "PPCIE");
	assert_string_equal(json_string_value(json_object_get(c, "type_99")),
	    "beef");
	assert_int_equal(fwid[47], 0x42);
	json_decref(c);

	/* failures */
	assert_int_equal(nvidia_opaque_claims(buf, o - 1, &c, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "overrun"));
	assert_int_equal(nvidia_opaque_claims(buf, 12, &c, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "not an item header"));
	assert_int_equal(nvidia_opaque_claims(buf, 10, &c, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "both required"));
	{
		uint8_t two[64];

		memcpy(two, buf, 10);
		memcpy(two + 10, buf, 10);
		assert_int_equal(nvidia_opaque_claims(two, 20, &c, fwid, &err),
		    -1);
		assert_non_null(strstr(err.msg, "driver_version appears "
		    "twice"));
	}
	{
		uint8_t nv[] = { 11, 0, 1, 0, 0x33 };

		assert_int_equal(nvidia_opaque_claims(nv, sizeof(nv), &c,
		    fwid, &err), -1);
		assert_non_null(strstr(err.msg, "invalid status"));
	}
	{
		uint8_t s[] = { 3, 0, 3, 0, 'a', 0x01, 'b' };

		assert_int_equal(nvidia_opaque_claims(s, sizeof(s), &c, fwid,
		    &err), -1);
		assert_non_null(strstr(err.msg, "not printable"));
	}
	{
		uint8_t v[] = { 6, 0, 3, 0, 1, 2, 3 };

		assert_int_equal(nvidia_opaque_claims(v, sizeof(v), &c, fwid,
		    &err), -1);
		assert_non_null(strstr(err.msg, "vbios_version"));
	}
	/* versions but no FWID */
	assert_int_equal(nvidia_opaque_claims(buf, 10 + 12 + 12, &c, fwid,
	    &err), -1);
	assert_non_null(strstr(err.msg, "no fwid"));
}

/* A certificate carrying ext (DER value) as 2.23.133.5.4.1. */
static uint8_t *
cert_with_ext(const uint8_t *ext, size_t extlen, size_t *derlen)
{
	EVP_PKEY *k = p384_key();
	X509 *x = fake_root(k);
	ASN1_OBJECT *oid = OBJ_txt2obj("2.23.133.5.4.1", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;
	uint8_t *der = NULL;
	int n;

	ASN1_OCTET_STRING_set(os, ext, (int)extlen);
	e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
	X509_add_ext(x, e, -1);
	assert_true(X509_sign(x, k, EVP_sha384()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*derlen = (size_t)n;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

static void
test_fwid_extension(void **state)
{
	STACK_OF(X509) *sk = vec_chain();
	uint8_t fwid[48], *der = NULL, ext[80], want[48];
	struct error err;
	size_t len, o;
	int n;

	(void)state;
	/* the real leaf: NVIDIA's {INTEGER, SPKI, FWID} */
	n = i2d_X509(sk_X509_value(sk, 0), &der);
	assert_true(n > 0);
	if (nvidia_cert_fwid(der, (size_t)n, fwid, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fwid[0], 0xf1);
	assert_int_equal(fwid[47], 0x2d);
	OPENSSL_free(der);
	/* an intermediate has none */
	der = NULL;
	n = i2d_X509(sk_X509_value(sk, 1), &der);
	assert_int_equal(nvidia_cert_fwid(der, (size_t)n, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "no FWID extension"));
	OPENSSL_free(der);
	sk_X509_pop_free(sk, X509_free);

	/* TCG DICE TcbInfo: SEQUENCE { [6] { FWID } } */
	memset(want, 0x5c, sizeof(want));
	o = 0;
	ext[o++] = 0x30; ext[o++] = 0x41;
	ext[o++] = 0xa6; ext[o++] = 0x3f;
	ext[o++] = 0x30; ext[o++] = 0x3d;
	ext[o++] = 0x06; ext[o++] = 0x09;
	memcpy(ext + o, "\x60\x86\x48\x01\x65\x03\x04\x02\x02", 9);
	o += 9;
	ext[o++] = 0x04; ext[o++] = 0x30;
	memcpy(ext + o, want, 48);
	o += 48;
	der = cert_with_ext(ext, o, &len);
	if (nvidia_cert_fwid(der, len, fwid, &err) != 0)
		fail_msg("DICE: %s", err.msg);
	assert_memory_equal(fwid, want, 48);
	OPENSSL_free(der);
	/* a SHA-256 FWID only: none usable */
	ext[16] = 0x01;
	der = cert_with_ext(ext, o, &len);
	assert_int_equal(nvidia_cert_fwid(der, len, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "holds 0 SHA-384 FWIDs"));
	OPENSSL_free(der);
	/* not a SEQUENCE */
	der = cert_with_ext((const uint8_t *)"\x04\x01\x00", 3, &len);
	assert_int_equal(nvidia_cert_fwid(der, len, fwid, &err), -1);
	assert_non_null(strstr(err.msg, "not a DER SEQUENCE"));
	OPENSSL_free(der);
	assert_int_equal(nvidia_cert_fwid((const uint8_t *)"x", 1, fwid, &err),
	    -1);
}

/* ---- sampledevice and the table */

static void
test_sampledevice(void **state)
{
	uint8_t rd[48];
	char *b;
	json_t *ev, *c = NULL;
	struct error err;

	(void)state;
	memset(rd, 0x33, sizeof(rd));
	b = b64_encode(rd, sizeof(rd), B64_STD);
	ev = json_pack("{s:s, s:s}", "svn", "2", "report_data", b);
	if (testutil_run_verifier(&verifier_sampledevice, ev, rd, sizeof(rd),
	    NULL, 0, T_2026, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(c, "svn")), "2");
	assert_string_equal(json_string_value(json_object_get(c,
	    "report_data")), b);
	assert_int_equal(json_object_size(c), 2);
	json_decref(c);
	rd[0] ^= 1;
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data mismatch"));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    47, NULL, 0, T_2026, &c, &err), -1);
	json_object_set_new(ev, "report_data", json_string("not base64!"));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not standard base64"));
	json_object_set_new(ev, "svn", json_integer(2));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "svn must be a string"));
	json_decref(ev);
	free(b);

	assert_string_equal(verifier_sampledevice.tee_class, "gpu");
	assert_ptr_equal(verifier_lookup("sampledevice"),
	    &verifier_sampledevice);
	assert_ptr_equal(verifier_lookup("nvidia"), &verifier_nvidia);
	assert_null(verifier_lookup("hygondcu"));
	assert_string_equal(verifier_tee_class("hygondcu"), "dcu");
	assert_string_equal(verifier_tee_class("nvidia"), "gpu");
	assert_string_equal(verifier_tee_class("tdx"), "cpu");
	assert_null(verifier_tee_class("nope"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_verifies),
		cmocka_unit_test(test_vector_refusals),
		cmocka_unit_test(test_devices_and_shapes),
		cmocka_unit_test(test_spdm_parser),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_fwid_extension),
		cmocka_unit_test(test_sampledevice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
