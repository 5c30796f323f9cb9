/*
 * test_snp.c: the AMD SEV-SNP verifier (verifier/snp*.c, amd_certs*.c)
 * against the real vectors in tests/vectors (or
 * $TRUSTEE_TESTVECTORS): snp-milan-vcek (v2 raw report + VCEK + ASK/ARK),
 * snp-genoa-vcek-2 (guest evidence.json), neg-snp-milan-measurement.
 * Every claim value listed in each expected.json is checked; negative
 * cases check the precise error by substring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "amd_certs.h"
#include "embedded.h"
#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z: inside both VCEKs' validity. */
#define T_OK	INT64_C(1767225600)

struct vec {
	uint8_t *report;	/* report.bin */
	size_t report_len;
	uint8_t *vek;		/* vcek.der */
	size_t vek_len;
	json_t *expected;	/* expected.json */
};

static struct vec milan, genoa;
static json_t *genoa_evidence;
static uint8_t *neg_report;
static size_t neg_report_len;
static uint8_t *milan_ask_der, *milan_ark_der;
static int milan_ask_len, milan_ark_len;

/* Split the vector's PEM (ASK then ARK) into DER. */
static void
load_milan_ask_ark(void)
{
	size_t len;
	uint8_t *pem = testutil_vec_read("snp-milan-vcek/ask_ark.pem", &len);
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *ask = PEM_read_bio_X509(b, NULL, NULL, NULL);
	X509 *ark = PEM_read_bio_X509(b, NULL, NULL, NULL);

	assert_non_null(ask);
	assert_non_null(ark);
	milan_ask_len = i2d_X509(ask, &milan_ask_der);
	milan_ark_len = i2d_X509(ark, &milan_ark_der);
	assert_true(milan_ask_len > 0 && milan_ark_len > 0);
	X509_free(ask);
	X509_free(ark);
	BIO_free(b);
	free(pem);
}

static int
setup(void **state)
{
	(void)state;
	milan.report = testutil_vec_read("snp-milan-vcek/report.bin",
	    &milan.report_len);
	milan.vek = testutil_vec_read("snp-milan-vcek/vcek.der",
	    &milan.vek_len);
	milan.expected = testutil_vec_json("snp-milan-vcek/expected.json");
	genoa.report = testutil_vec_read("snp-genoa-vcek-2/report.bin",
	    &genoa.report_len);
	genoa.vek = testutil_vec_read("snp-genoa-vcek-2/vcek.der",
	    &genoa.vek_len);
	genoa.expected = testutil_vec_json("snp-genoa-vcek-2/expected.json");
	genoa_evidence = testutil_vec_json("snp-genoa-vcek-2/evidence.json");
	neg_report = testutil_vec_read("neg-snp-milan-measurement/report.bin",
	    &neg_report_len);
	load_milan_ask_ark();
	verifier_configure(NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(milan.report);
	free(milan.vek);
	json_decref(milan.expected);
	free(genoa.report);
	free(genoa.vek);
	json_decref(genoa.expected);
	json_decref(genoa_evidence);
	free(neg_report);
	OPENSSL_free(milan_ask_der);
	OPENSSL_free(milan_ark_der);
	snp_cache_clear();
	return 0;
}

/* Each test starts from an empty configuration and cache. */
static int
reset(void **state)
{
	(void)state;
	verifier_configure(NULL);
	snp_cache_clear();
	return 0;
}

static void
assert_err(int rc, const struct error *err, const char *want)
{
	if (rc == 0)
		fail_msg("expected an error containing \"%s\", got success",
		    want);
	if (strstr(err->msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want);
}

/* A byte array JSON value. */
static json_t *
jbytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

/* Evidence for a raw report (wrap_raw) with optional chain entries. */
static json_t *
evidence_for(const uint8_t *report, size_t len, const uint8_t *vek,
    size_t vek_len, const char *vek_type)
{
	struct error err;
	json_t *e = NULL;

	if (verifier_snp.wrap_raw(report, len, &e, &err) < 0)
		fail_msg("wrap_raw: %s", err.msg);
	if (vek != NULL) {
		json_t *chain = json_array(), *ent = json_object();

		json_object_set_new(ent, "cert_type", json_string(vek_type));
		json_object_set_new(ent, "data", jbytes(vek, vek_len));
		json_array_append_new(chain, ent);
		json_object_set_new(e, "cert_chain", chain);
	}
	return e;
}

static void
chain_add(json_t *e, const char *type, const uint8_t *der, size_t len)
{
	json_t *chain = json_object_get(e, "cert_chain"), *ent = json_object();

	if (!json_is_array(chain)) {
		chain = json_array();
		json_object_set_new(e, "cert_chain", chain);
	}
	json_object_set_new(ent, "cert_type", json_string(type));
	json_object_set_new(ent, "data", jbytes(der, len));
	json_array_append_new(chain, ent);
}

static int
run_verify(const json_t *ev, const uint8_t *rd, size_t rdlen,
    const uint8_t *id, size_t idlen, int64_t now, json_t **claims,
    struct error *err)
{
	return testutil_run_verifier(&verifier_snp, ev, rd, rdlen, id, idlen,
	    now, claims, err);
}

static void
expect_claim(const json_t *claims, const char *name, const json_t *want)
{
	const json_t *got = json_object_get(claims, name);

	if (got == NULL)
		fail_msg("claim %s missing", name);
	if (!json_equal((json_t *)got, (json_t *)want)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_ENCODE_ANY);

		fail_msg("claim %s = %s, expected %s", name, g, w);
	}
}

/*
 * Every claim of expected.json. Names map 1:1 except: reported_tcb_decoded
 * and policy_decoded (-> Trustee's reported_tcb_* and policy_* claims),
 * flags (-> key_info), host_data (also init_data).
 */
static void
check_claims(const json_t *claims, const json_t *expected)
{
	const json_t *want = json_object_get(expected, "claims");
	const char *k;
	const json_t *v;
	size_t n = 0;

	assert_non_null(want);
	json_object_foreach((json_t *)want, k, v) {
		n++;
		if (strcmp(k, "reported_tcb_decoded") == 0) {
			const char *k2;
			const json_t *v2;

			json_object_foreach((json_t *)v, k2, v2) {
				char name[64];

				snprintf(name, sizeof(name), "reported_tcb_%s",
				    k2);
				expect_claim(claims, name, v2);
			}
		} else if (strcmp(k, "policy_decoded") == 0) {
			static const char *const map[][2] = {
				{ "abi_minor", "policy_abi_minor" },
				{ "abi_major", "policy_abi_major" },
				{ "smt_allowed", "policy_smt_allowed" },
				{ "migrate_ma", "policy_migrate_ma" },
				{ "debug", "policy_debug_allowed" },
				{ "single_socket", "policy_single_socket" },
			};
			const char *k2;
			const json_t *v2;

			json_object_foreach((json_t *)v, k2, v2) {
				size_t i;
				int done = 0;

				for (i = 0; i < ARRAY_SIZE(map); i++)
					if (strcmp(map[i][0], k2) == 0) {
						expect_claim(claims, map[i][1],
						    v2);
						done = 1;
					}
				if (strcmp(k2, "reserved_bit17") == 0) {
					const char *p = json_string_value(
					    json_object_get(claims, "policy"));
					uint64_t pol;

					assert_non_null(p);
					pol = strtoull(p, NULL, 16);
					assert_int_equal(json_is_true(v2),
					    (pol >> 17) & 1);
					done = 1;
				}
				if (!done)
					fail_msg("unmapped policy_decoded.%s", k2);
			}
		} else if (strcmp(k, "flags") == 0) {
			expect_claim(claims, "key_info", v);
		} else if (strcmp(k, "host_data") == 0) {
			expect_claim(claims, "host_data", v);
			expect_claim(claims, "init_data", v);
		} else {
			expect_claim(claims, k, v);
		}
	}
	assert_true(n >= 30);
}

/* ---- positive ---- */

static void
test_milan_raw_with_vek(void **state)
{
	struct snp_report r;
	struct snp_certs c = { .vek = NULL };
	struct error err;

	(void)state;
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.product, SNP_PRODUCT_UNKNOWN);
	assert_int_equal(r.current.major, 1);
	assert_int_equal(r.current.minor, 49);
	assert_int_equal(r.current.build, 3);
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	if (snp_report_verify(&r, &c, T_OK, &err) < 0)
		fail_msg("milan: %s", err.msg);
	/* v2: the product line came from the chain */
	assert_int_equal(r.product, SNP_PRODUCT_MILAN);
	assert_int_equal(r.reported_tcb.bootloader, 2);
	assert_int_equal(r.reported_tcb.microcode, 68);
	/* warm (cached) verification gives the same */
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	assert_int_equal(snp_report_verify(&r, &c, T_OK, &err), 0);
	assert_int_equal(r.product, SNP_PRODUCT_MILAN);
}

static void
test_milan_backend_claims(void **state)
{
	json_t *ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	json_t *claims = NULL;
	struct error err;
	uint8_t rd[5] = { 1, 2, 3, 4, 5 }, id[32] = { 0 };

	(void)state;
	/* report data is regularized (zero-padded) to 64 bytes */
	if (run_verify(ev, rd, sizeof(rd), id, sizeof(id), T_OK, &claims,
	    &err) < 0)
		fail_msg("milan backend: %s", err.msg);
	check_claims(claims, milan.expected);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "product")), "Milan");
	assert_null(json_object_get(claims, "cpuid_fam_id"));
	assert_true(json_is_true(json_object_get(claims,
	    "platform_smt_enabled")));
	assert_true(json_is_false(json_object_get(claims,
	    "platform_tsme_enabled")));
	json_decref(claims);
	json_decref(ev);
}

static void
test_genoa_evidence_json(void **state)
{
	json_t *claims = NULL;
	struct error err;
	uint8_t rd[64];
	size_t n;
	const char *hex = json_string_value(json_object_get(
	    json_object_get(genoa.expected, "claims"), "report_data"));

	(void)state;
	assert_int_equal(hex_decode(hex, rd, sizeof(rd), &n), 0);
	assert_int_equal(n, 64);
	if (run_verify(genoa_evidence, rd, 64, NULL, 0, T_OK, &claims,
	    &err) < 0)
		fail_msg("genoa evidence.json: %s", err.msg);
	check_claims(claims, genoa.expected);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "product")), "Genoa");
	json_decref(claims);

	/* no expected values: verifies and still emits report/init data */
	assert_int_equal(run_verify(genoa_evidence, NULL, 0, NULL, 0, T_OK,
	    &claims, &err), 0);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "init_data")), "0000000000000000000000000000000000000000000000000000000000000000");
	json_decref(claims);
}

/* The guest's JSON rebuilds to exactly the vector's 1184 bytes, and
 * wrap_raw -> JSON -> bytes round-trips both reports. */
static void
test_json_roundtrip(void **state)
{
	uint8_t raw[SNP_REPORT_SIZE];
	struct error err;
	json_t *ev;

	(void)state;
	assert_int_equal(snp_report_from_json(json_object_get(genoa_evidence,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, genoa.report, SNP_REPORT_SIZE);

	ev = evidence_for(milan.report, milan.report_len, NULL, 0, NULL);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	assert_true(json_is_null(json_object_get(json_object_get(ev,
	    "attestation_report"), "cpuid_fam_id")));
	assert_int_equal(snp_report_from_json(json_object_get(ev,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, milan.report, SNP_REPORT_SIZE);
	json_decref(ev);

	ev = evidence_for(genoa.report, genoa.report_len, NULL, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    ev, "attestation_report"), "cpuid_mod_id")), 0xa0);
	assert_int_equal(snp_report_from_json(json_object_get(ev,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, genoa.report, SNP_REPORT_SIZE);
	json_decref(ev);
}

/* The evidence may carry the ASK and ARK (here the vector's KDS chain). */
static void
test_evidence_ask_ark(void **state)
{
	json_t *ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	json_t *claims = NULL;
	struct error err;
	size_t len;
	const unsigned char *pem;
	uint8_t *bad;

	(void)state;
	chain_add(ev, "ASK", milan_ask_der, (size_t)milan_ask_len);
	chain_add(ev, "ARK", milan_ark_der, (size_t)milan_ark_len);
	if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("milan with ASK/ARK: %s", err.msg);
	json_decref(claims);
	json_decref(ev);

	/* an ARK that is not the pinned one is refused */
	ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	pem = embedded_get("verifier/roots/amd/genoa/ark.pem", &len);
	chain_add(ev, "ARK", pem, len);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "ARK");
	json_decref(ev);

	/* an ASK not signed by any pinned ARK is refused */
	ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	bad = xmalloc((size_t)milan_ask_len);
	memcpy(bad, milan_ask_der, (size_t)milan_ask_len);
	bad[milan_ask_len - 10] ^= 1;	/* inside the signature */
	chain_add(ev, "ASK", bad, (size_t)milan_ask_len);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "not signed by any pinned AMD ARK");
	free(bad);
	json_decref(ev);

	/* the Genoa ASK with a Milan VCEK */
	ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	pem = embedded_get("verifier/roots/amd/genoa/ask.pem", &len);
	chain_add(ev, "ASK", pem, len);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "not signed by the pinned ASK/ASVK of Genoa");
	json_decref(ev);
}

/* ---- negative ---- */

static void
test_flipped_byte(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE];
	json_t *ev, *claims = NULL;
	struct error err;
	size_t offs[] = { 0x00 + 4, 0x50, 0x90, 0x1a0, 0x1f0, 0x2a0,
	    0x2e8 + 5 };
	struct snp_report r;
	struct snp_certs c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		memcpy(buf, milan.report, sizeof(buf));
		buf[offs[i]] ^= 0x01;
		ev = evidence_for(buf, sizeof(buf), milan.vek, milan.vek_len,
		    "VCEK");
		assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err), &err, "report signature");
		assert_null(claims);
		json_decref(ev);
	}
	/* a reserved byte inside the signed region: the JSON form drops
	 * reserved bytes (as the sev crate does), the raw form keeps them */
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x29f] ^= 0x80;
	assert_int_equal(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature");
	ev = evidence_for(buf, sizeof(buf), milan.vek, milan.vek_len, "VCEK");
	assert_int_equal(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), 0);
	json_decref(claims);
	claims = NULL;
	json_decref(ev);
	/* the vector with MEASUREMENT[0] flipped */
	ev = evidence_for(neg_report, neg_report_len, milan.vek, milan.vek_len,
	    "VCEK");
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "report signature (ECDSA P-384/SHA-384 over bytes "
	    "0x000..0x29F) does not verify under the VCEK key");
	json_decref(ev);
	/* the unsigned r/s padding must be zero */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x2a0 + 60] = 1;
	ev = evidence_for(buf, sizeof(buf), milan.vek, milan.vek_len, "VCEK");
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "bytes 48..71 are not zero");
	json_decref(ev);
}

static void
test_wrong_chain(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	struct snp_report r;
	struct snp_certs c;

	(void)state;
	/* Genoa report (cpuid says Genoa) with the Milan VCEK */
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	chain_add(ev, "VCEK", milan.vek, milan.vek_len);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "not signed by the pinned ASK/ASVK of Genoa");
	json_decref(ev);
	/* the same through a warm cache (Milan VCEK cached as Milan) */
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	assert_int_equal(snp_report_verify(&r, &c, T_OK, &err), 0);
	assert_int_equal(snp_report_parse(genoa.report, genoa.report_len, &r,
	    &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "chains to Milan, but the report is from a Genoa processor");

	/* Milan v2 report with the Genoa VCEK: it chains (to Genoa) but
	 * the signature is not by that key */
	ev = evidence_for(milan.report, milan.report_len, genoa.vek,
	    genoa.vek_len, "VCEK");
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "does not verify under the VCEK key");
	json_decref(ev);

	/* not a certificate at all */
	ev = evidence_for(milan.report, milan.report_len,
	    (const uint8_t *)"garbage", 7, "VCEK");
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "not a DER or PEM X.509 certificate");
	json_decref(ev);

	/* a pinned RSA cert posing as the VCEK */
	{
		size_t len;
		const unsigned char *pem = embedded_get(
		    "verifier/roots/amd/milan/ask.pem", &len);

		ev = evidence_for(milan.report, milan.report_len, pem, len,
		    "VCEK");
		assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err), &err, "expected EC P-384");
		json_decref(ev);
	}
}

static void
test_binding(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	uint8_t rd[64] = { 1, 2, 3, 4, 6 }, id[32] = { 0 };

	(void)state;
	ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	assert_err(run_verify(ev, rd, sizeof(rd), NULL, 0, T_OK, &claims,
	    &err), &err, "report data does not match the expected value "
	    "(nonce/session binding)");
	assert_null(claims);
	/* longer than 64: truncated, so a 65th byte does not matter */
	{
		uint8_t big[65] = { 1, 2, 3, 4, 5 };

		big[64] = 0xff;
		assert_int_equal(run_verify(ev, big, sizeof(big), NULL, 0,
		    T_OK, &claims, &err), 0);
		json_decref(claims);
		claims = NULL;
	}
	id[0] = 0xaa;
	assert_err(run_verify(ev, NULL, 0, id, sizeof(id), T_OK, &claims,
	    &err), &err, "init data hash does not match HOST_DATA");
	/* a 48-byte hash is truncated to 32: still all-zero must match */
	{
		uint8_t id48[48] = { 0 };

		id48[40] = 0x55;	/* beyond 32: ignored */
		assert_int_equal(run_verify(ev, NULL, 0, id48, sizeof(id48),
		    T_OK, &claims, &err), 0);
		json_decref(claims);
	}
	json_decref(ev);
}

static void
test_structure(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE + 1];
	struct snp_report r;
	struct error err;
	json_t *ev;

	(void)state;
	assert_err(snp_report_parse(milan.report, 1183, &r, &err), &err,
	    "truncated");
	assert_err(snp_report_parse(milan.report, 0, &r, &err), &err,
	    "truncated");
	memcpy(buf, milan.report, SNP_REPORT_SIZE);
	buf[SNP_REPORT_SIZE] = 0;
	assert_err(snp_report_parse(buf, sizeof(buf), &r, &err), &err,
	    "1 trailing bytes");
	ev = NULL;
	assert_err(verifier_snp.wrap_raw(buf, sizeof(buf), &ev, &err), &err,
	    "trailing");
	assert_null(ev);
	buf[0x0f] = 0x80;	/* policy bit 63: no JSON integer for it */
	assert_err(verifier_snp.wrap_raw(buf, SNP_REPORT_SIZE, &ev, &err),
	    &err, "bit 63 set");
	assert_null(ev);
	buf[0x0f] = 0;
	buf[0] = 1;
	assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), &err,
	    "unsupported SNP report version 1");
	buf[0] = 6;
	assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), &err,
	    "unsupported SNP report version 6");
	buf[0] = 2;
	buf[3] = 1;	/* 0x01000002 */
	assert_err(snp_report_parse(buf, SNP_REPORT_SIZE, &r, &err), &err,
	    "unsupported SNP report version 16777218");
}

static void
test_report_fields(void **state)
{
	uint8_t buf[SNP_REPORT_SIZE];
	struct snp_report r;
	struct snp_certs c;
	struct error err;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;
	/*
	 * Forged content (VMPL 1, another cpuid) without re-signing: refused
	 * for the signature, never for the field. The VMPL of a genuine
	 * report is not the verifier's business (a claim for the policy);
	 * an unknown processor is refused only once the report is genuine.
	 */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x30] = 1;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature (ECDSA P-384/SHA-384 over bytes 0x000..0x29F) "
	    "does not verify under the VCEK key");
	{
		json_t *ev = evidence_for(buf, sizeof(buf), milan.vek,
		    milan.vek_len, "VCEK"), *claims = NULL;

		assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err), &err, "report signature");
		assert_null(claims);
		json_decref(ev);
	}
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.vmpl = 2;	/* as from a guest behind an SVSM: judged by policy */
	assert_int_equal(snp_report_verify(&r, &c, T_OK, &err), 0);
	{
		json_t *claims = snp_report_claims(&r);

		assert_int_equal(json_integer_value(json_object_get(claims,
		    "vmpl")), 2);
		json_decref(claims);
	}
	memcpy(buf, genoa.report, sizeof(buf));
	buf[0x188] = 0x17;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "report signature");
	/* sig_algo must be 1 */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x34] = 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "signature algorithm 2 is not supported");
	/* signing_key must be VCEK or VLEK */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x48] = 2 << 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "neither VCEK (0) nor VLEK (1)");
	/* a VLEK-signed report cannot be verified with a VCEK */
	buf[0x48] = 1 << 2;
	assert_int_equal(snp_report_parse(buf, sizeof(buf), &r, &err), 0);
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "signed with a VLEK (key_info signing_key 1), but the "
	    "certificate is a VCEK");
	/* unknown processor, in a genuine report (the parsed field) */
	memset(&c, 0, sizeof(c));
	c.vek = genoa.vek;
	c.vek_len = genoa.vek_len;
	assert_int_equal(snp_report_parse(genoa.report, genoa.report_len, &r,
	    &err), 0);
	r.cpuid_fam_id = 0x17;
	r.product = SNP_PRODUCT_UNKNOWN;
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "unsupported processor: cpuid family 0x17");
	c.vek = milan.vek;
	c.vek_len = milan.vek_len;

	/*
	 * The TCB and hwID checks run after the signature; exercise them by
	 * changing the parsed fields (not the signed bytes).
	 */
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.reported_tcb.raw ^= (uint64_t)1 << 56;	/* microcode 68 -> 69 */
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "VCEK TCB does not match REPORTED_TCB: ucodeSPL is 68 in the "
	    "certificate, 69 in the report");
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.reported_tcb.raw ^= 1;			/* bootloader 2 -> 3 */
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "blSPL is 2 in the certificate, 3 in the report");
	assert_int_equal(snp_report_parse(milan.report, milan.report_len, &r,
	    &err), 0);
	r.chip_id[63] ^= 1;
	assert_err(snp_report_verify(&r, &c, T_OK, &err), &err,
	    "VCEK hwID does not match the report's CHIP_ID");
}

static void
test_validity(void **state)
{
	json_t *ev, *claims = NULL;
	struct error err;
	int64_t t;

	(void)state;
	ev = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	assert_int_equal(time_parse_rfc3339("2029-09-24T00:55:29Z", &t), 0);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, t, &claims, &err), &err,
	    "has expired at 2029-09-24T00:55:29Z (valid until "
	    "2029-09-24T00:55:28Z)");
	assert_int_equal(time_parse_rfc3339("2029-09-24T00:55:28Z", &t), 0);
	assert_int_equal(run_verify(ev, NULL, 0, NULL, 0, t, &claims, &err),
	    0);
	json_decref(claims);
	assert_int_equal(time_parse_rfc3339("2022-09-24T00:55:27Z", &t), 0);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, t, &claims, &err), &err,
	    "not yet valid at 2022-09-24T00:55:27Z");
	json_decref(ev);
	/* Genoa: not valid before 2025-05-27 */
	assert_int_equal(time_parse_rfc3339("2025-01-01T00:00:00Z", &t), 0);
	assert_err(run_verify(genoa_evidence, NULL, 0, NULL, 0, t, &claims,
	    &err), &err, "not yet valid");
	assert_int_equal(time_parse_rfc3339("2040-01-01T00:00:00Z", &t), 0);
	assert_err(run_verify(genoa_evidence, NULL, 0, NULL, 0, t, &claims,
	    &err), &err, "expired");
}

/* ---- finding the VCEK ---- */

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len)
		fail_msg("cannot write %s", path);
	fclose(f);
}

static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
}

static void
test_no_vcek(void **state)
{
	json_t *ev = evidence_for(milan.report, milan.report_len, NULL, 0,
	    NULL), *claims = NULL;
	struct error err;
	uint8_t buf[SNP_REPORT_SIZE];

	(void)state;
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "no VCEK: the evidence carries no certificate and no cert "
	    "cache/KDS is configured");
	json_decref(ev);
	/* a VLEK-signed report without a certificate */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x48] = 1 << 2;
	ev = evidence_for(buf, sizeof(buf), NULL, 0, NULL);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "no VLEK");
	json_decref(ev);
}

static void
test_cert_cache(void **state)
{
	struct verifier_config cfg;
	json_t *ev, *claims = NULL;
	struct error err;
	char *dir = testutil_tmpdir("test_snp"), *sub, *path, hwid[129];
	uint8_t buf[SNP_REPORT_SIZE];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.snp_cert_cache = dir;
	verifier_configure(&cfg);

	/* an empty cache: precise error naming what was looked for */
	ev = evidence_for(milan.report, milan.report_len, NULL, 0, NULL);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "bl02 tee00 snp05 ucode68");

	/* Milan: the TCB-named file */
	hex_encode(milan.report + 0x1a0, 64, hwid);
	sub = xasprintf("%s/vcek/%s", dir, hwid);
	assert_int_equal(dir_create(sub, 0700, &err), 0);
	path = xasprintf("%s/bl02_tee00_snp05_ucode68_vcek.der", sub);
	write_file(path, milan.vek, milan.vek_len);
	if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("cert cache (TCB-named): %s", err.msg);
	check_claims(claims, milan.expected);
	json_decref(claims);
	json_decref(ev);
	free(path);
	free(sub);

	/* Genoa: the fallback vcek.der */
	hex_encode(genoa.report + 0x1a0, 64, hwid);
	sub = xasprintf("%s/vcek/%s", dir, hwid);
	assert_int_equal(dir_create(sub, 0700, &err), 0);
	path = xasprintf("%s/vcek.der", sub);
	write_file(path, genoa.vek, genoa.vek_len);
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("cert cache (vcek.der): %s", err.msg);
	check_claims(claims, genoa.expected);
	json_decref(claims);
	json_decref(ev);
	free(path);
	free(sub);

	/* masked CHIP_ID: nothing to look up by */
	memcpy(buf, milan.report, sizeof(buf));
	memset(buf + 0x1a0, 0, 64);
	ev = evidence_for(buf, sizeof(buf), NULL, 0, NULL);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "CHIP_ID is masked");
	json_decref(ev);

	/* the configured VEK file wins (PEM here) */
	{
		X509 *x;
		const unsigned char *q = milan.vek;
		FILE *f;

		path = xasprintf("%s/vcek.pem", dir);
		x = d2i_X509(NULL, &q, (long)milan.vek_len);
		assert_non_null(x);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_X509(f, x), 1);
		fclose(f);
		X509_free(x);
		cfg.snp_cert_cache = NULL;
		cfg.snp_vek_file = path;
		verifier_configure(&cfg);
		snp_cache_clear();
		ev = evidence_for(milan.report, milan.report_len, NULL, 0,
		    NULL);
		if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
			fail_msg("snp_vek_file PEM: %s", err.msg);
		json_decref(claims);
		json_decref(ev);
		free(path);
	}
	verifier_configure(NULL);
	rm_rf(dir);
	free(dir);
}

/*
 * A one-shot local "KDS": answers one request with the VCEK if the
 * request line is the expected one, else 404.
 */
static void
kds_child(int ls, const char *want, const uint8_t *der, size_t len)
{
	char req[4096];
	size_t n = 0;
	ssize_t k;
	int c;
	char hdr[256];
	int ok;

	alarm(20);	/* never outlive a failed test */
	c = accept(ls, NULL, NULL);
	if (c < 0)
		_exit(1);
	while (n < sizeof(req) - 1 && (k = read(c, req + n,
	    sizeof(req) - 1 - n)) > 0) {
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[n] = '\0';
	ok = strncmp(req, want, strlen(want)) == 0;
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: "
	    "application/octet-stream\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n", ok ? "200 OK" : "404 Not Found", ok ? len : 0);
	if (write(c, hdr, strlen(hdr)) < 0 || (ok && write(c, der, len) < 0))
		_exit(1);
	close(c);
	_exit(ok ? 0 : 2);
}

static void
test_kds(void **state)
{
	struct verifier_config cfg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	json_t *ev, *claims = NULL;
	struct error err;
	char url[64], want[512], hwid[129];
	int ls, st;
	pid_t pid;

	(void)state;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
	    (unsigned)ntohs(sa.sin_port));
	hex_encode(genoa.report + 0x1a0, 64, hwid);
	snprintf(want, sizeof(want), "GET /vcek/v1/Genoa/%s?blSPL=10&"
	    "teeSPL=00&snpSPL=23&ucodeSPL=25 HTTP/1.1", hwid);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		kds_child(ls, want, genoa.vek, genoa.vek_len);
	close(ls);

	memset(&cfg, 0, sizeof(cfg));
	cfg.snp_kds_url = url;
	verifier_configure(&cfg);
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("KDS: %s", err.msg);
	json_decref(claims);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the KDS answer is remembered: the server is gone now */
	assert_int_equal(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), 0);
	json_decref(claims);
	json_decref(ev);

	/* another chip: the (dead) KDS is asked and the error says so */
	{
		uint8_t buf[SNP_REPORT_SIZE];

		memcpy(buf, genoa.report, sizeof(buf));
		buf[0x1a0] ^= 1;
		ev = evidence_for(buf, sizeof(buf), NULL, 0, NULL);
		assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err), &err, "AMD KDS");
		json_decref(ev);
	}
	verifier_configure(NULL);
}

/* ---- evidence JSON errors ---- */

static void
test_json_errors(void **state)
{
	json_t *ev, *rep, *claims = NULL;
	struct error err;

	(void)state;
	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_del(rep, "measurement");
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "attestation_report: measurement is missing");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_array_set_new(json_object_get(rep, "chip_id"), 3,
	    json_integer(256));
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "chip_id[3] is not a byte");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_array_remove(json_object_get(rep, "report_data"), 0);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "report_data has 63 bytes, expected 64");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_set_new(json_object_get(rep, "reported_tcb"), "fmc",
	    json_integer(1));
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "fmc is set, but the processor is not a Turin");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	rep = json_object_get(ev, "attestation_report");
	json_object_set_new(rep, "version", json_integer(1));
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "unsupported SNP report version 1");
	json_decref(ev);

	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_string("x"));
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "cert_chain is neither null nor an array");
	json_decref(ev);

	ev = json_pack("{s:i}", "x", 1);
	assert_err(run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err),
	    &err, "no attestation_report");
	json_decref(ev);
	assert_null(claims);
}

/* ---- the DER extension reader ---- */

static void
test_ext_reader(void **state)
{
	static const uint8_t i1[] = { 0x02, 0x01, 0x0a };
	static const uint8_t i2[] = { 0x02, 0x02, 0x00, 0xd9 };
	static const uint8_t neg[] = { 0x02, 0x01, 0xd9 };
	static const uint8_t big[] = { 0x02, 0x02, 0x01, 0x00 };
	static const uint8_t trail[] = { 0x02, 0x01, 0x01, 0x00 };
	static const uint8_t notint[] = { 0x04, 0x01, 0x01 };
	static const uint8_t longlen[] = { 0x02, 0x81, 0x01, 0x01 };
	uint8_t v, raw[66], hw[64];
	size_t n;
	struct error err;
	struct amd_vek_ext e;

	(void)state;
	assert_int_equal(amd_certs_ext_int(i1, sizeof(i1), &v, &err), 0);
	assert_int_equal(v, 10);
	assert_int_equal(amd_certs_ext_int(i2, sizeof(i2), &v, &err), 0);
	assert_int_equal(v, 0xd9);
	assert_err(amd_certs_ext_int(neg, sizeof(neg), &v, &err), &err,
	    "negative");
	assert_err(amd_certs_ext_int(big, sizeof(big), &v, &err), &err,
	    "exceeds 255");
	assert_err(amd_certs_ext_int(trail, sizeof(trail), &v, &err), &err,
	    "does not match");
	assert_err(amd_certs_ext_int(notint, sizeof(notint), &v, &err), &err,
	    "not a DER INTEGER");
	assert_err(amd_certs_ext_int(longlen, sizeof(longlen), &v, &err),
	    &err, "long-form");
	assert_err(amd_certs_ext_int(i1, 2, &v, &err), &err, "too short");

	memset(raw, 0x5a, sizeof(raw));
	assert_int_equal(amd_certs_ext_hwid(raw, 64, hw, &n, &err), 0);
	assert_int_equal(n, 64);
	raw[0] = 0x04;
	raw[1] = 64;
	assert_int_equal(amd_certs_ext_hwid(raw, 66, hw, &n, &err), 0);
	assert_int_equal(n, 64);
	assert_int_equal(hw[0], 0x5a);
	assert_err(amd_certs_ext_hwid(raw, 65, hw, &n, &err), &err,
	    "hwID extension is 65 bytes");

	/* the vectors' VCEKs */
	assert_int_equal(amd_certs_vek_ext(milan.vek, milan.vek_len, &e, &err),
	    0);
	assert_true(e.has_bl && e.has_tee && e.has_snp && e.has_ucode);
	assert_false(e.has_fmc);
	assert_int_equal(e.bl, 2);
	assert_int_equal(e.snp, 5);
	assert_int_equal(e.ucode, 68);
	assert_int_equal(e.hwid_len, 64);
	assert_memory_equal(e.hwid, milan.report + 0x1a0, 64);
	assert_int_equal(amd_certs_vek_ext(genoa.vek, genoa.vek_len, &e, &err),
	    0);
	assert_int_equal(e.bl, 10);
	assert_int_equal(e.snp, 23);
	assert_int_equal(e.ucode, 25);
	assert_memory_equal(e.hwid, genoa.report + 0x1a0, 64);
	assert_err(amd_certs_vek_ext(genoa.vek, genoa.vek_len - 1, &e, &err),
	    &err, "not a DER or PEM");
}

/* ---- concurrency over the cache ---- */

static void *
verify_thread(void *arg)
{
	json_t *ev = arg, *claims = NULL;
	struct error err;
	int i;

	for (i = 0; i < 8; i++) {
		if (i == 4)
			snp_cache_clear();
		if (run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
			return xstrdup(err.msg);
		json_decref(claims);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[4];
	json_t *ev[2];
	void *res;
	int i;

	(void)state;
	ev[0] = evidence_for(milan.report, milan.report_len, milan.vek,
	    milan.vek_len, "VCEK");
	ev[1] = genoa_evidence;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread,
		    ev[i % 2]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &res), 0);
		if (res != NULL)
			fail_msg("thread %d: %s", i, (char *)res);
	}
	json_decref(ev[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_milan_raw_with_vek, reset),
		cmocka_unit_test_setup(test_milan_backend_claims, reset),
		cmocka_unit_test_setup(test_genoa_evidence_json, reset),
		cmocka_unit_test_setup(test_json_roundtrip, reset),
		cmocka_unit_test_setup(test_evidence_ask_ark, reset),
		cmocka_unit_test_setup(test_flipped_byte, reset),
		cmocka_unit_test_setup(test_wrong_chain, reset),
		cmocka_unit_test_setup(test_binding, reset),
		cmocka_unit_test_setup(test_structure, reset),
		cmocka_unit_test_setup(test_report_fields, reset),
		cmocka_unit_test_setup(test_validity, reset),
		cmocka_unit_test_setup(test_no_vcek, reset),
		cmocka_unit_test_setup(test_cert_cache, reset),
		cmocka_unit_test_setup(test_kds, reset),
		cmocka_unit_test_setup(test_json_errors, reset),
		cmocka_unit_test_setup(test_ext_reader, reset),
		cmocka_unit_test_setup(test_threads, reset),
	};

	return cmocka_run_group_tests_name("snp", tests, setup, teardown);
}
