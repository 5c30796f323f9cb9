/*
 * test_dcap_parse.c: the DCAP pieces parsed on their own
 * (verifier/dcap*.c): quotes of every vector (dcap_quote_parse) and their
 * truncations, trailing garbage and bad header or certification fields;
 * the PCK certificate's SGX extension (dcap_pck_ext_parse); signed
 * collateral JSON (dcap_signed_json_split, TCB info and QE identity);
 * and the backends' wrap_raw of a bare quote. Vectors: dcapfix.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcapfix.h"

/* ---- parsing --------------------------------------------------------------- */

static void
test_parse_vectors(void **state)
{
	struct dcapfix_vec *all[] = { &tdx4, &tdx5, &sgx3, &azure };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(all); i++) {
		const json_t *qc = json_object_get(all[i]->exp, "quote_checks");
		struct dcap_quote q;
		struct error err;

		assert_int_equal(dcap_quote_parse(all[i]->quote, all[i]->len,
		    &q, &err), 0);
		assert_int_equal(q.version, json_integer_value(json_object_get(
		    all[i]->exp, "quote_version")));
		assert_int_equal(q.att_key_type, 2);
		assert_int_equal(q.signed_len, json_integer_value(
		    json_object_get(qc, "signed_region_bytes")));
		assert_int_equal(q.trailing_len, json_integer_value(
		    json_object_get(qc, "trailing_bytes_after_signature_data")));
		assert_int_equal(q.qe_auth_len, 32);
		assert_true(q.pck_chain_len > 1000);
	}
}

static void
mutate_expect_parse_error(const struct dcapfix_vec *v, size_t off, uint8_t val,
    const char *needle)
{
	uint8_t *m = xmalloc(v->len);
	struct dcap_quote q;
	struct error err;

	memcpy(m, v->quote, v->len);
	m[off] = val;
	assert_int_equal(dcap_quote_parse(m, v->len, &q, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
	free(m);
}

static void
test_parse_errors(void **state)
{
	struct dcap_quote q;
	struct error err;
	uint8_t *m;
	size_t i;

	(void)state;
	/* Every strict prefix is rejected. */
	for (i = 0; i < sgx3.len; i += (i < 700 ? 1 : 97)) {
		assert_int_equal(dcap_quote_parse(sgx3.quote, i, &q, &err), -1);
		assert_non_null(strstr(err.msg, "truncated"));
	}
	for (i = 0; i < tdx5.len; i += 61)
		assert_int_equal(dcap_quote_parse(tdx5.quote, i, &q, &err), -1);
	/* Trailing garbage: appended bytes, or non-zero padding. */
	m = xmalloc(sgx3.len + 3);
	memcpy(m, sgx3.quote, sgx3.len);
	memcpy(m + sgx3.len, "XYZ", 3);
	assert_int_equal(dcap_quote_parse(m, sgx3.len + 3, &q, &err), -1);
	assert_non_null(strstr(err.msg, "trailing garbage"));
	free(m);
	mutate_expect_parse_error(&tdx4, tdx4.len - 5, 1, "trailing garbage");
	/* Header fields. */
	mutate_expect_parse_error(&tdx4, 0, 6, "unsupported quote version 6");
	mutate_expect_parse_error(&tdx4, 0, 3, "TEE type 0x81");
	mutate_expect_parse_error(&sgx3, 0, 4, "TEE type 0x0");
	mutate_expect_parse_error(&tdx4, 2, 3, "attestation key type 3");
	mutate_expect_parse_error(&tdx4, 4, 0x80, "TEE type 0x80");
	mutate_expect_parse_error(&tdx5, 48, 1, "body type 1");
	mutate_expect_parse_error(&tdx5, 50, 0x49, "body size");
	/* Certification data type and sizes (v4: type at 632 + 4 + 128). */
	mutate_expect_parse_error(&tdx4, 764, 5,
	    "certification data type 5");
	mutate_expect_parse_error(&tdx4, 766, 0x47, "certification data size");
	mutate_expect_parse_error(&tdx4, 633, 0x20, "signature data length");
	/* SGX v3: the QE report follows the key directly; type 5 after the
	 * auth data (432 + 4 + 128 + 384 + 64 + 2 + 32 = 1046). */
	mutate_expect_parse_error(&sgx3, 1046, 6,
	    "unsupported certification data type 6");
	mutate_expect_parse_error(&sgx3, 1012, 0x21, "certification data type");
}

/* ---- PCK extension ---------------------------------------------------------- */

static void
test_pck_ext(void **state)
{
	struct dcap_quote q;
	struct error err;
	STACK_OF(X509) *sk;
	X509 *leaf;
	const ASN1_OCTET_STRING *os = NULL;
	struct dcap_pck_ext e;
	const json_t *pck = json_object_get(json_object_get(tdx4.exp,
	    "claims"), "pck_certificate_tcb");
	const json_t *svns = json_object_get(pck, "sgx_tcb_comp_svns");
	uint8_t *d;
	size_t n, i;
	int idx;
	char hex[64];

	(void)state;
	assert_int_equal(dcap_quote_parse(tdx4.quote, tdx4.len, &q, &err), 0);
	sk = dcap_pem_chain(q.pck_chain, q.pck_chain_len, 3, &err);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 3);
	leaf = sk_X509_value(sk, 0);
	for (idx = 0; idx < X509_get_ext_count(leaf); idx++) {
		X509_EXTENSION *x = X509_get_ext(leaf, idx);
		char oid[64];

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(x), 1);
		if (strcmp(oid, "1.2.840.113741.1.13.1") == 0)
			os = X509_EXTENSION_get_data(x);
	}
	assert_non_null(os);
	n = (size_t)ASN1_STRING_length(os);
	d = xmalloc(n);
	memcpy(d, ASN1_STRING_get0_data(os), n);
	assert_int_equal(dcap_pck_ext_parse(d, n, &e, &err), 0);
	hex_encode(e.fmspc, 6, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "fmspc")));
	hex_encode(e.ppid, 16, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "ppid")));
	hex_encode(e.cpusvn, 16, hex);
	assert_string_equal(hex, json_string_value(json_object_get(pck,
	    "cpusvn")));
	assert_int_equal(e.pcesvn, json_integer_value(json_object_get(pck,
	    "pcesvn")));
	assert_int_equal(e.sgx_type, json_integer_value(json_object_get(pck,
	    "sgx_type")));
	for (i = 0; i < 16; i++)
		assert_int_equal(e.comp_svn[i],
		    json_integer_value(json_array_get(svns, i)));
	assert_true(e.has_platform_instance_id);
	assert_true(e.has_configuration);
	/* Every truncation fails cleanly; so do corrupted lengths. */
	for (i = 0; i < n; i++) {
		struct dcap_pck_ext e2;

		assert_int_equal(dcap_pck_ext_parse(d, i, &e2, &err), -1);
	}
	d[1] ^= 0x40;
	assert_int_equal(dcap_pck_ext_parse(d, n, &e, &err), -1);
	free(d);
	sk_X509_pop_free(sk, X509_free);
	/* Minimal crafted extension lacking FMSPC etc. */
	{
		static const uint8_t tiny[] = { 0x30, 0x00 };

		assert_int_equal(dcap_pck_ext_parse(tiny, sizeof(tiny), &e,
		    &err), -1);
		assert_non_null(strstr(err.msg, "missing PPID"));
	}
}

/* ---- collateral JSON ------------------------------------------------------- */

static void
test_collateral_json(void **state)
{
	size_t off, len, n;
	uint8_t sig[64];
	json_t *v;
	struct error err;
	char *t;
	struct dcap_tcb_info *ti;
	struct dcap_qe_identity *qi;
	uint8_t *body = testutil_vec_read("tdx-v4-uptodate/tcb_info.json", &n);

	(void)state;
	assert_int_equal(dcap_signed_json_split((char *)body, n, "tcbInfo",
	    &off, &len, sig, &v, &err), 0);
	assert_int_equal(memcmp(body + off, "{\"id\":\"TDX\"", 11), 0);
	assert_int_equal(body[off + len - 1], '}');
	assert_int_equal(dcap_tcb_info_from_json(v, &ti, &err), 0);
	assert_true(ti->is_tdx);
	assert_int_equal(ti->version, 3);
	assert_int_equal(ti->eval_num, 17);
	assert_true(ti->nmodules >= 1);
	assert_true(ti->nlevels >= 1);
	assert_true(ti->levels[0].has_tdx);
	dcap_tcb_info_free(ti);
	json_decref(v);
	free(body);
	body = testutil_vec_read("sgx-v3-collateral/qe_identity.json", &n);
	assert_int_equal(dcap_signed_json_split((char *)body, n,
	    "enclaveIdentity", &off, &len, sig, &v, &err), 0);
	assert_int_equal(dcap_qe_identity_from_json(v, &qi, &err), 0);
	assert_false(qi->is_td_qe);
	assert_int_equal(qi->isvprodid, 1);
	assert_int_equal(qi->levels[0].isvsvn, 8);
	dcap_qe_identity_free(qi);
	json_decref(v);
	free(body);

	/* Malformed bodies. */
	t = "{\"tcbInfo\":{\"a\":1},\"tcbInfo\":{\"a\":2},\"signature\":\"00\"}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	t = "{\"tcbInfo\":{\"a\":1}}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	assert_non_null(strstr(err.msg, "signature"));
	t = "{\"tcbInfo\":[1],\"signature\":\"00\"}";
	assert_int_equal(dcap_signed_json_split(t, strlen(t), "tcbInfo", &off,
	    &len, sig, &v, &err), -1);
	v = json_pack("{s:s, s:i}", "id", "TDX", "version", 2);
	assert_int_equal(dcap_tcb_info_from_json(v, &ti, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported version 2"));
	json_decref(v);
	v = json_pack("{s:s}", "id", "QVE");
	assert_int_equal(dcap_qe_identity_from_json(v, &qi, &err), -1);
	json_decref(v);
}

static void
test_wrap_raw(void **state)
{
	json_t *ev = NULL;
	struct error err;
	const char *b;
	uint8_t *d;
	size_t n;

	(void)state;
	assert_non_null(verifier_tdx.wrap_raw);
	assert_int_equal(verifier_tdx.wrap_raw(tdx4.quote, tdx4.len, &ev,
	    &err), 0);
	assert_int_equal(json_object_size(ev), 1);
	b = json_string_value(json_object_get(ev, "quote"));
	assert_int_equal(b64_decode(b, strlen(b), B64_STD, &d, &n), 0);
	assert_int_equal(n, tdx4.len);
	assert_memory_equal(d, tdx4.quote, n);
	free(d);
	json_decref(ev);
	assert_int_equal(verifier_sgx.wrap_raw(sgx3.quote, sgx3.len, &ev,
	    &err), 0);
	json_decref(ev);
	assert_int_equal(verifier_tdx.wrap_raw(sgx3.quote, sgx3.len, &ev,
	    &err), -1);
	assert_int_equal(verifier_sgx.wrap_raw(tdx5.quote, tdx5.len, &ev,
	    &err), -1);
	assert_int_equal(verifier_tdx.wrap_raw(tdx4.quote, 100, &ev, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vectors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_pck_ext),
		cmocka_unit_test(test_collateral_json),
		cmocka_unit_test(test_wrap_raw),
	};

	return cmocka_run_group_tests(tests, dcapfix_setup, dcapfix_teardown);
}
