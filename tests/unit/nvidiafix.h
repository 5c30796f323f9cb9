/*
 * nvidiafix.h: shared pieces of the "nvidia" verifier unit tests
 * (test_nvidia_*.c): the real H100 vector's directory VEC
 * (tests/vectors/nvidia-hopper-coco), a time T_2026 inside every window
 * of it, its evidence, first device and certificate chain, a fresh P-384
 * key, and a self-signed CA posing as the pinned root. Header-only;
 * include after <cmocka.h>. Every helper fails the running test on
 * error.
 */
#ifndef TRUSTEE_NVIDIAFIX_H
#define TRUSTEE_NVIDIAFIX_H

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "testutil.h"

#define VEC "nvidia-hopper-coco/"
#define T_2026 1780000000	/* 2026-05-28: inside every window */

static inline json_t *
nvidiafix_vec_evidence(void)
{
	return testutil_vec_json(VEC "evidence.json");
}

static inline json_t *
nvidiafix_vec_device(json_t *ev)
{
	return json_array_get(json_object_get(ev, "device_evidence_list"), 0);
}

/* The certificates of the vector's chain, leaf first. */
static inline STACK_OF(X509) *
nvidiafix_vec_chain(void)
{
	json_t *ev = nvidiafix_vec_evidence();
	const char *b =
	    json_string_value(json_object_get(nvidiafix_vec_device(ev),
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

static inline EVP_PKEY *
nvidiafix_p384_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	assert_non_null(k);
	return k;
}

/* A self-signed CA with the pinned root's subject (CN "NVIDIA Device
 * Identity CA", O "NVIDIA") but another key. */
static inline X509 *
nvidiafix_fake_root(EVP_PKEY *key)
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

#endif
