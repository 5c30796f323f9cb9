/*
 * test_nvidia_certs.c: the "nvidia" verifier's decoders of device data:
 * the SPDM opaque data (driver and VBIOS versions, the FWID) and the
 * FWID extension of the device certificate in its forms (NVIDIA's and
 * TCG DICE TcbInfo), on the real vector's chain and on certificates
 * made here.
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
	EVP_PKEY *k = nvidiafix_p384_key();
	X509 *x = nvidiafix_fake_root(k);
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
	STACK_OF(X509) *sk = nvidiafix_vec_chain();
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_fwid_extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
