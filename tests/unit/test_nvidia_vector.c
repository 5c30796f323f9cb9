/*
 * test_nvidia_vector.c: the "nvidia" verifier (verifier/nvidia*.c) on the
 * real H100 vector (tests/vectors/nvidia-hopper-coco): it verifies with
 * its expected report data and yields every measurement and the
 * driver/VBIOS versions; a flipped measurement byte, a truncated report,
 * a chain from another root, a wrong nonce, a FWID that differs from the
 * leaf's, a time outside the chain's validity are each refused for their
 * reason; and the evidence JSON shapes and device lists, Blackwell/LS10
 * (not verifiable locally) among them.
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
#include "nvidiafix.h"

/* ---- helpers */

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
	json_object_set_new(nvidiafix_vec_device(ev), "evidence",
	    json_string(h));
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
	json_object_set_new(nvidiafix_vec_device(ev), "certificate",
	    json_string(b));
	free(b);
	BIO_free(bio);
}

/* ---- the real vector */

static void
test_vector_verifies(void **state)
{
	uint8_t rd[64], *rep;
	size_t rdlen = vec_report_data(rd), replen, i, nonzero = 0;
	json_t *ev = nvidiafix_vec_evidence(), *c = NULL, *m, *cfg;
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

		json_object_set_new(nvidiafix_vec_device(ev), "evidence",
		    json_string(b));
		free(b);
		json_object_set_new(nvidiafix_vec_device(ev), "uuid",
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
	json_t *ev = nvidiafix_vec_evidence();
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
	sk = nvidiafix_vec_chain();
	for (i = 0; i < 5; i++)
		certs[i] = sk_X509_value(sk, i);
	fk = nvidiafix_p384_key();
	fake = nvidiafix_fake_root(fk);
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
	json_t *ev = nvidiafix_vec_evidence(), *list, *dev, *c = NULL;
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
	ev = nvidiafix_vec_evidence();
	json_object_set_new(nvidiafix_vec_device(ev), "certificate",
	    json_string("@@"));
	expect_fail(ev, rd, rdlen, T_2026, "`certificate` is not standard "
	    "base64");
	json_decref(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_verifies),
		cmocka_unit_test(test_vector_refusals),
		cmocka_unit_test(test_devices_and_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
