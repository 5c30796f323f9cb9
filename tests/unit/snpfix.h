/*
 * snpfix.h: the fixture of the AMD SEV-SNP verifier unit tests
 * (test_snp_*.c, over verifier/snp*.c and amd_certs*.c): the real vectors
 * in tests/vectors (or $TRUSTEE_TESTVECTORS) loaded by the group setup
 * snpfix_setup: milan (snp-milan-vcek: v2 raw report + VCEK, and its
 * ASK/ARK as DER in milan_ask_der/milan_ark_der), genoa (snp-genoa-vcek-2)
 * with its guest evidence.json (genoa_evidence), and neg_report
 * (neg-snp-milan-measurement); snpfix_teardown frees them. snpfix_reset
 * (each test's setup) empties the verifier configuration and the SNP
 * cache. T_OK is a time inside both VCEKs' validity.
 * Helpers build evidence from a raw report and chain entries, run the SNP
 * backend, check an error by substring, and check every claim of a
 * vector's expected.json. Header-only; include after <cmocka.h>. Every
 * helper fails the running test on error.
 */
#ifndef TRUSTEE_SNPFIX_H
#define TRUSTEE_SNPFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z: inside both VCEKs' validity. */
#define T_OK	INT64_C(1767225600)

struct snpfix_vec {
	uint8_t *report;	/* report.bin */
	size_t report_len;
	uint8_t *vek;		/* vcek.der */
	size_t vek_len;
	json_t *expected;	/* expected.json */
};

static struct snpfix_vec milan, genoa;
static json_t *genoa_evidence;
static uint8_t *neg_report;
static size_t neg_report_len;
static uint8_t *milan_ask_der, *milan_ark_der;
static int milan_ask_len, milan_ark_len;

/* Split the vector's PEM (ASK then ARK) into DER. */
static inline void
snpfix_load_milan_ask_ark(void)
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

static inline int
snpfix_setup(void **state)
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
	snpfix_load_milan_ask_ark();
	verifier_configure(NULL);
	return 0;
}

static inline int
snpfix_teardown(void **state)
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
static inline int
snpfix_reset(void **state)
{
	(void)state;
	verifier_configure(NULL);
	snp_cache_clear();
	return 0;
}

static inline void
snpfix_assert_err(int rc, const struct error *err, const char *want)
{
	if (rc == 0)
		fail_msg("expected an error containing \"%s\", got success",
		    want);
	if (strstr(err->msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want);
}

/* Evidence for a raw report (wrap_raw) with optional chain entries. */
static inline json_t *
snpfix_evidence_for(const uint8_t *report, size_t len, const uint8_t *vek,
    size_t vek_len, const char *vek_type)
{
	struct error err;
	json_t *e = NULL;

	if (verifier_snp.wrap_raw(report, len, &e, &err) < 0)
		fail_msg("wrap_raw: %s", err.msg);
	if (vek != NULL) {
		json_t *chain = json_array(), *ent = json_object();

		json_object_set_new(ent, "cert_type", json_string(vek_type));
		json_object_set_new(ent, "data", testutil_json_bytes(vek, vek_len));
		json_array_append_new(chain, ent);
		json_object_set_new(e, "cert_chain", chain);
	}
	return e;
}

static inline void
snpfix_chain_add(json_t *e, const char *type, const uint8_t *der, size_t len)
{
	json_t *chain = json_object_get(e, "cert_chain"), *ent = json_object();

	if (!json_is_array(chain)) {
		chain = json_array();
		json_object_set_new(e, "cert_chain", chain);
	}
	json_object_set_new(ent, "cert_type", json_string(type));
	json_object_set_new(ent, "data", testutil_json_bytes(der, len));
	json_array_append_new(chain, ent);
}

static inline int
snpfix_run_verify(const json_t *ev, const uint8_t *rd, size_t rdlen,
    const uint8_t *id, size_t idlen, int64_t now, json_t **claims,
    struct error *err)
{
	return testutil_run_verifier(&verifier_snp, ev, rd, rdlen, id, idlen,
	    now, claims, err);
}

static inline void
snpfix_expect_claim(const json_t *claims, const char *name, const json_t *want)
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
static inline void
snpfix_check_claims(const json_t *claims, const json_t *expected)
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
				snpfix_expect_claim(claims, name, v2);
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
						snpfix_expect_claim(claims,
						    map[i][1], v2);
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
			snpfix_expect_claim(claims, "key_info", v);
		} else if (strcmp(k, "host_data") == 0) {
			snpfix_expect_claim(claims, "host_data", v);
			snpfix_expect_claim(claims, "init_data", v);
		} else {
			snpfix_expect_claim(claims, k, v);
		}
	}
	assert_true(n >= 30);
}

#endif
