/*
 * test_snp_genuine.c: the AMD SEV-SNP verifier on the genuine vectors:
 * the Milan raw report with its VCEK (cold and cached), the backend's
 * claims (every value of each expected.json), the Genoa guest
 * evidence.json, the report's JSON form round-tripping to the raw bytes,
 * and concurrent verifications over the cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"
#include "snpfix.h"

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
	json_t *ev = snpfix_evidence_for(milan.report, milan.report_len,
	    milan.vek, milan.vek_len, "VCEK");
	json_t *claims = NULL;
	struct error err;
	uint8_t rd[5] = { 1, 2, 3, 4, 5 }, id[32] = { 0 };

	(void)state;
	/* report data is regularized (zero-padded) to 64 bytes */
	if (snpfix_run_verify(ev, rd, sizeof(rd), id, sizeof(id), T_OK, &claims,
	    &err) < 0)
		fail_msg("milan backend: %s", err.msg);
	snpfix_check_claims(claims, milan.expected);
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
	if (snpfix_run_verify(genoa_evidence, rd, 64, NULL, 0, T_OK, &claims,
	    &err) < 0)
		fail_msg("genoa evidence.json: %s", err.msg);
	snpfix_check_claims(claims, genoa.expected);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "product")), "Genoa");
	json_decref(claims);

	/* no expected values: verifies and still emits report/init data */
	assert_int_equal(snpfix_run_verify(genoa_evidence, NULL, 0, NULL, 0,
	    T_OK, &claims, &err), 0);
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

	ev = snpfix_evidence_for(milan.report, milan.report_len, NULL, 0, NULL);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	assert_true(json_is_null(json_object_get(json_object_get(ev,
	    "attestation_report"), "cpuid_fam_id")));
	assert_int_equal(snp_report_from_json(json_object_get(ev,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, milan.report, SNP_REPORT_SIZE);
	json_decref(ev);

	ev = snpfix_evidence_for(genoa.report, genoa.report_len, NULL, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    ev, "attestation_report"), "cpuid_mod_id")), 0xa0);
	assert_int_equal(snp_report_from_json(json_object_get(ev,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, genoa.report, SNP_REPORT_SIZE);
	json_decref(ev);
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
		if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err) < 0)
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
	ev[0] = snpfix_evidence_for(milan.report, milan.report_len, milan.vek,
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
		cmocka_unit_test_setup(test_milan_raw_with_vek, snpfix_reset),
		cmocka_unit_test_setup(test_milan_backend_claims, snpfix_reset),
		cmocka_unit_test_setup(test_genoa_evidence_json, snpfix_reset),
		cmocka_unit_test_setup(test_json_roundtrip, snpfix_reset),
		cmocka_unit_test_setup(test_threads, snpfix_reset),
	};

	return cmocka_run_group_tests_name("snp_genuine", tests, snpfix_setup,
	    snpfix_teardown);
}
