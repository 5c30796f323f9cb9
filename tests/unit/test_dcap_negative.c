/*
 * test_dcap_negative.c: DCAP verification refusing what it must
 * (verifier/dcap*.c, tdx.c, sgx.c): the neg-tdx-v4-mrtd and
 * neg-tdx-tcbinfo-tamper vectors, flipped or forged bytes in every part
 * of a quote (always refused for a signature, never for the field),
 * truncated quotes and trailing garbage through the verifier, expired and
 * not yet valid collateral, bad evidence JSON, wrong-kind or missing
 * collateral. Each error is checked by substring. Vectors: dcapfix.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcapfix.h"

static void
flip_expect(const struct dcapfix_vec *v, const struct verifier_backend *be,
    size_t off, const char *needle)
{
	uint8_t *m = xmalloc(v->len);

	memcpy(m, v->quote, v->len);
	m[off] ^= 0x01;
	dcapfix_expect_fail(be, m, v->len, v->now, needle);
	free(m);
}

static void
test_negatives(void **state)
{
	uint8_t *neg;
	size_t nlen;
	char *dir;
	const char *files[] = { "tcb_info_issuer_chain.pem", "qe_identity.json",
		"qe_identity_issuer_chain.pem", "pck_crl.der",
		"pck_crl_issuer_chain.pem", "root_ca_crl.der" };
	char *src, *dst;
	size_t i;
	struct error err;

	(void)state;
	dcapfix_use_collateral(tdx4.dir, NULL, NULL);
	/* neg-tdx-v4-mrtd: only the quote signature breaks. */
	neg = testutil_vec_read("neg-tdx-v4-mrtd/quote.bin", &nlen);
	dcapfix_expect_fail(&verifier_tdx, neg, nlen, tdx4.now,
	    "quote signature");
	free(neg);
	/* Flipped bytes: header, body, signature, QE report, QE signature,
	 * QE auth data, attestation key. */
	flip_expect(&tdx4, &verifier_tdx, 30, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 600, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 640, "quote signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 10,
	    "QE report signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 384 + 5,
	    "QE report signature");
	flip_expect(&tdx4, &verifier_tdx, 636 + 128 + 6 + 384 + 64 + 2 + 3,
	    "QE report data binding");
	flip_expect(&tdx4, &verifier_tdx, 636 + 64 + 7, "");
	flip_expect(&sgx3, &verifier_sgx, 100, "quote signature");
	flip_expect(&sgx3, &verifier_sgx, 436 + 128 + 20,
	    "QE report signature");
	/* Truncated and trailing garbage through the verifier. */
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len - 100, tdx4.now,
	    "truncated");
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, 40, tdx4.now,
	    "truncated");
	{
		uint8_t *m = xmalloc(tdx4.len);

		memcpy(m, tdx4.quote, tdx4.len);
		m[tdx4.len - 1] = 0x41;
		dcapfix_expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "trailing garbage");
		m[tdx4.len - 1] = 0;
		m[0] = 7;
		dcapfix_expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "unsupported quote version 7");
		m[0] = 4;
		m[2] = 1;
		dcapfix_expect_fail(&verifier_tdx, m, tdx4.len, tdx4.now,
		    "attestation key type 1");
		free(m);
	}
	/*
	 * Verification at the real current time: every signature still
	 * checks, and the expired collateral is reported in the claims
	 * (Trustee/QVL semantics) for the policy to judge.
	 */
	{
		json_t *c = NULL;
		struct error e2;
		const char *first;

		assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote,
		    tdx4.len, now_unix(), NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "1");
		first = json_string_value(json_array_get(json_object_get(c,
		    "collateral_expired"), 0));
		assert_non_null(first);
		assert_string_equal(first, "TCB info (TDX, FMSPC "
		    "b0c06f000000) nextUpdate 2025-07-19T10:16:03Z");
		json_decref(c);
		assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "0");
		assert_null(json_object_get(c, "collateral_expired"));
		json_decref(c);
	}
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, 1750000000,
	    "collateral not yet valid");
	dcapfix_use_collateral(sgx3.dir, NULL, NULL);
	{
		json_t *c = NULL;
		struct error e2;

		assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote,
		    sgx3.len, now_unix(), NULL, 0, NULL, 0, &c, &e2), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "collateral_expiration_status")), "1");
		json_decref(c);
	}
	/* Bad evidence JSON. */
	{
		struct verifier_input in;
		json_t *c = NULL, *ev = json_pack("{s:s}", "quote", "!!");

		memset(&in, 0, sizeof(in));
		in.evidence = ev;
		in.now = tdx4.now;
		assert_int_equal(verifier_tdx.verify(&in, &c, &err), -1);
		assert_non_null(strstr(err.msg, "base64"));
		json_decref(ev);
		ev = json_pack("{s:i}", "quote", 1);
		in.evidence = ev;
		assert_int_equal(verifier_sgx.verify(&in, &c, &err), -1);
		json_decref(ev);
	}

	/* neg-tdx-tcbinfo-tamper: the base vector's collateral with the
	 * tampered TCB info. */
	dir = dcapfix_scratch();
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		src = xasprintf("%s/%s", tdx4.dir, files[i]);
		dst = xasprintf("%s/%s", dir, files[i]);
		assert_int_equal(symlink(src, dst), 0);
		free(src);
		free(dst);
	}
	src = testutil_vec_path("neg-tdx-tcbinfo-tamper/tcb_info.json");
	dst = xasprintf("%s/tcb_info.json", dir);
	assert_int_equal(symlink(src, dst), 0);
	free(src);
	free(dst);
	dcapfix_use_collateral(dir, NULL, NULL);
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "TCB info signature");
	/* A QE identity in place of the TCB info, wrong-kind collateral. */
	dst = xasprintf("%s/tcb_info.json", dir);
	unlink(dst);
	src = xasprintf("%s/qe_identity.json", tdx4.dir);
	assert_int_equal(symlink(src, dst), 0);
	free(src);
	free(dst);
	dcap_cache_flush();
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "tcbInfo");
	/* SGX collateral for a TDX quote. */
	dcapfix_use_collateral(sgx3.dir, NULL, NULL);
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "SGX");
	/* Missing collateral files / no configuration. */
	dcapfix_use_collateral(dir, NULL, NULL);
	dst = xasprintf("%s/root_ca_crl.der", dir);
	unlink(dst);
	free(dst);
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "root_ca_crl.der");
	dcapfix_use_collateral(NULL, NULL, NULL);
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "no DCAP collateral configured");
	dcapfix_rm_rf(dir);
}

/* A quote with content changed (set bits) but not re-signed. */
static void
forge_expect(const struct dcapfix_vec *v, const struct verifier_backend *be,
    size_t off, uint8_t bits, const char *needle)
{
	uint8_t *m = xmalloc(v->len);

	memcpy(m, v->quote, v->len);
	assert_true((m[off] & bits) != bits);
	m[off] |= bits;
	dcapfix_expect_fail(be, m, v->len, v->now, needle);
	free(m);
}

/*
 * Forged content is refused for its signature, never for the field: a
 * TD with the DEBUG attribute, another MRTD or TCB SVN; an SGX enclave
 * with DEBUG set or another MRENCLAVE. (Signatures and chains come first:
 * the content checks, TCB level and bindings, see only genuine quotes.)
 */
static void
test_forged_content(void **state)
{
	(void)state;
	dcapfix_use_collateral(tdx4.dir, NULL, NULL);
	forge_expect(&tdx4, &verifier_tdx, 48 + 120, 0x01, "quote signature");
	forge_expect(&tdx4, &verifier_tdx, 48 + 136, 0x40, "quote signature");
	forge_expect(&tdx4, &verifier_tdx, 48 + 0, 0x40, "quote signature");
	forge_expect(&tdx5, &verifier_tdx, 48 + 6 + 120, 0x01,
	    "quote signature");
	dcapfix_use_collateral(sgx3.dir, NULL, NULL);
	forge_expect(&sgx3, &verifier_sgx, 48 + 48, 0x02, "quote signature");
	forge_expect(&sgx3, &verifier_sgx, 48 + 64, 0x80, "quote signature");
	/* the Azure TD quote, without any collateral: still the signature */
	forge_expect(&azure, &verifier_tdx, 48 + 120, 0x01, "quote signature");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negatives),
		cmocka_unit_test(test_forged_content),
	};

	return cmocka_run_group_tests(tests, dcapfix_setup, dcapfix_teardown);
}
