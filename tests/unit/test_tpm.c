/*
 * test_tpm.c: TPM 2.0 quote parsing and the "tpm" verifier
 * (verifier/tpm*.c): the repository vector (testvectors/tpm-quote-rsa)
 * verifies and yields its expected values; tampering of every kind is
 * rejected with the right reason; quotes made here with fresh RSA and
 * EC keys cover RSAPSS, ECDSA (P-256, P-384), partial PCR selections,
 * the init-data PCR8 binding and the nonce regularization; the raw-file
 * evidence builder round-trips the vector.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64.h"
#include "tpm.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"

/* ---- vector helpers */

static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	assert_int_equal(hex_decode(h, out, cap, &n), 0);
	return n;
}

/* Run the tpm backend; returns its rc, *claims (or NULL), err. */
static int
run(const json_t *ev, const uint8_t *rd, size_t rdlen, const uint8_t *idh,
    size_t idhlen, json_t **claims, struct error *err)
{
	return testutil_run_verifier(&verifier_tpm, ev, rd, rdlen, idh, idhlen,
	    1700000000, claims, err);
}

static void
expect_fail(const json_t *ev, const uint8_t *rd, size_t rdlen,
    const uint8_t *idh, size_t idhlen, const char *needle)
{
	json_t *c = (json_t *)1;
	struct error err;

	assert_int_equal(run(ev, rd, rdlen, idh, idhlen, &c, &err), -1);
	assert_null(c);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		    needle);
}

/* Replace a base64 field (obj[key]) of ev by the encoding of d. */
static void
set_b64(json_t *obj, const char *key, const uint8_t *d, size_t n)
{
	char *s = b64_encode(d, n, B64_STD);

	json_object_set_new(obj, key, json_string(s));
	free(s);
}

/* The expected nonce of the vector: its extraData is 48 bytes of a
 * SHA-384 report data zero-padded to 64 by Trustee's attester. */
static size_t
vector_nonce(const json_t *exp, uint8_t out[64])
{
	size_t n = unhex(json_string_value(json_object_get(json_object_get(
	    exp, "attest"), "extra_data")), out, 64);

	assert_int_equal(n, 64);
	return 48;
}

/* ---- the repository vector */

static void
test_vector_parse(void **state)
{
	size_t len, n, i;
	uint8_t *m = testutil_vec_read("tpm-quote-rsa/quote_attest.bin", &len);
	uint8_t *s;
	json_t *exp = testutil_vec_json("tpm-quote-rsa/expected.json");
	const json_t *at = json_object_get(exp, "attest");
	struct tpm_attest a;
	struct tpm_signature sig;
	struct error err;
	uint8_t want[128];
	unsigned idx[TPM_MAX_PCRS];
	uint16_t hash[TPM_MAX_PCRS];
	char hexs[17];

	(void)state;
	if (tpm_attest_parse(m, len, &a, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(a.magic, 0xff544347);
	assert_int_equal(a.type, 0x8018);
	n = unhex(json_string_value(json_object_get(at, "qualified_signer")),
	    want, sizeof(want));
	assert_int_equal(a.qualified_signer_len, n);
	assert_memory_equal(a.qualified_signer, want, n);
	n = unhex(json_string_value(json_object_get(at, "extra_data")), want,
	    sizeof(want));
	assert_int_equal(a.extra_data_len, n);
	assert_memory_equal(a.extra_data, want, n);
	assert_int_equal(a.clock, json_integer_value(json_object_get(at,
	    "clock")));
	assert_int_equal(a.reset_count, json_integer_value(json_object_get(at,
	    "reset_count")));
	assert_int_equal(a.restart_count, json_integer_value(json_object_get(
	    at, "restart_count")));
	assert_int_equal(a.safe, json_integer_value(json_object_get(at,
	    "safe")));
	snprintf(hexs, sizeof(hexs), "%016llx",
	    (unsigned long long)a.firmware_version);
	assert_string_equal(json_string_value(json_object_get(at,
	    "firmware_version")) + 2, hexs);
	n = unhex(json_string_value(json_object_get(at, "pcr_digest")), want,
	    sizeof(want));
	assert_int_equal(a.pcr_digest_len, n);
	assert_memory_equal(a.pcr_digest, want, n);
	assert_int_equal(a.pcr_select.count, 1);
	assert_int_equal(tpm_pcr_selection_list(&a.pcr_select, idx, hash,
	    TPM_MAX_PCRS, &n, &err), 0);
	assert_int_equal(n, 24);
	for (i = 0; i < n; i++) {
		assert_int_equal(idx[i], i);
		assert_int_equal(hash[i], TPM_ALG_SHA256);
	}
	free(m);

	s = testutil_vec_read("tpm-quote-rsa/quote_sig.bin", &len);
	assert_int_equal(tpm_signature_parse(s, len, &sig, &err), 0);
	assert_int_equal(sig.sig_alg, TPM_ALG_RSASSA);
	assert_int_equal(sig.hash_alg, TPM_ALG_SHA256);
	assert_int_equal(sig.sig_len, 256);
	/* trailing byte / truncation */
	assert_int_equal(tpm_signature_parse(s, len - 1, &sig, &err), -1);
	assert_non_null(strstr(err.msg, "truncated"));
	free(s);
	json_decref(exp);
}

static void
test_vector_verify(void **state)
{
	json_t *ev = testutil_vec_json("tpm-quote-rsa/evidence.json");
	json_t *exp = testutil_vec_json("tpm-quote-rsa/expected.json");
	json_t *c = NULL;
	struct error err;
	uint8_t nonce[64];
	size_t nl = vector_nonce(exp, nonce), len, i;
	uint8_t *txt = testutil_vec_read("tpm-quote-rsa/pcrs_sha256.txt", &len);
	char key[8], *line, *save = NULL;

	(void)state;
	if (run(ev, nonce, nl, NULL, 0, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(c, "ak_public")),
	    json_string_value(json_object_get(ev, "ak_public")));
	assert_string_equal(json_string_value(json_object_get(c,
	    "report_data")), json_string_value(json_object_get(
	    json_object_get(exp, "attest"), "extra_data")));
	/* pcr00..pcr23 = the reported values; init_data = hex(PCR8) */
	line = strtok_r((char *)txt, "\n", &save);
	for (i = 0; i < 24; i++) {
		assert_non_null(line);
		snprintf(key, sizeof(key), "pcr%02zu", i);
		assert_string_equal(json_string_value(json_object_get(c, key)),
		    line);
		if (i == 8)
			assert_string_equal(json_string_value(json_object_get(
			    c, "init_data")), line);
		line = strtok_r(NULL, "\n", &save);
	}
	assert_int_equal(json_object_size(c), 24 + 3);
	json_decref(c);

	/* Without expected values (no nonce, no init data): still verified */
	assert_int_equal(run(ev, NULL, 0, NULL, 0, &c, &err), 0);
	json_decref(c);
	/* The 64-byte padded form itself is the same nonce */
	assert_int_equal(run(ev, nonce, 64, NULL, 0, &c, &err), 0);
	json_decref(c);

	free(txt);
	json_decref(ev);
	json_decref(exp);
}

static void
test_vector_negatives(void **state)
{
	json_t *ev0 = testutil_vec_json("tpm-quote-rsa/evidence.json");
	json_t *exp = testutil_vec_json("tpm-quote-rsa/expected.json");
	json_t *ev, *q;
	uint8_t nonce[64], *m, *s, *big;
	size_t nl = vector_nonce(exp, nonce), ml, sl;
	uint8_t idh[48];
	char *pcr;

	(void)state;
	m = testutil_vec_read("tpm-quote-rsa/quote_attest.bin", &ml);
	s = testutil_vec_read("tpm-quote-rsa/quote_sig.bin", &sl);

	/* wrong nonce (one bit), short prefix of the right one */
	nonce[3] ^= 1;
	expect_fail(ev0, nonce, nl, NULL, 0, "report data does not match");
	nonce[3] ^= 1;
	expect_fail(ev0, nonce, 32, NULL, 0, "report data does not match");

	/* flipped message byte in each region: signature fails first */
	ev = json_deep_copy(ev0);
	q = json_object_get(ev, "tpm_quote");
	m[0x30] ^= 0x01;				/* extraData */
	set_b64(q, "message", m, ml);
	expect_fail(ev, nonce, nl, NULL, 0, "signature does not verify");
	m[0x30] ^= 0x01;
	m[ml - 1] ^= 0x80;				/* pcrDigest */
	set_b64(q, "message", m, ml);
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	m[ml - 1] ^= 0x80;

	/* truncated message; trailing garbage after TPMS_ATTEST; a forged
	 * magic or type: the signature over the message fails first */
	set_b64(q, "message", m, ml - 5);
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	big = xmalloc(ml + 3);
	memcpy(big, m, ml);
	memcpy(big + ml, "xyz", 3);
	set_b64(q, "message", big, ml + 3);
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	m[0] ^= 0x01;					/* magic */
	set_b64(q, "message", m, ml);
	expect_fail(ev, nonce, nl, NULL, 0, "signature does not verify");
	m[0] ^= 0x01;
	m[5] ^= 0x01;					/* type */
	set_b64(q, "message", m, ml);
	expect_fail(ev, nonce, nl, NULL, 0, "signature does not verify");
	m[5] ^= 0x01;
	set_b64(q, "message", m, ml);

	/* signature: flipped, trailing, unsupported scheme and hash */
	s[100] ^= 0x40;
	set_b64(q, "signature", s, sl);
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	s[100] ^= 0x40;
	big = xrealloc(big, sl + 1);
	memcpy(big, s, sl);
	big[sl] = 0;
	set_b64(q, "signature", big, sl + 1);
	expect_fail(ev, NULL, 0, NULL, 0, "1 trailing bytes");
	s[1] = 0x15;					/* RSAES */
	set_b64(q, "signature", s, sl);
	expect_fail(ev, NULL, 0, NULL, 0, "unsupported signature algorithm "
	    "0x0015");
	s[1] = 0x14;
	s[3] = 0x04;					/* SHA-1 */
	set_b64(q, "signature", s, sl);
	expect_fail(ev, NULL, 0, NULL, 0, "unsupported hash algorithm 0x0004");
	s[3] = 0x0b;
	s[1] = 0x16;	/* RSAPSS over a PKCS#1 v1.5 signature */
	set_b64(q, "signature", s, sl);
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	s[1] = 0x14;
	set_b64(q, "signature", s, sl);

	/* PCR value altered; a PCR missing; a PCR too many */
	pcr = xstrdup(json_string_value(json_array_get(json_object_get(q,
	    "pcrs"), 5)));
	pcr[10] = pcr[10] == '0' ? '1' : '0';
	json_array_set_new(json_object_get(q, "pcrs"), 5, json_string(pcr));
	expect_fail(ev, nonce, nl, NULL, 0, "PCR digest mismatch");
	free(pcr);
	json_array_remove(json_object_get(q, "pcrs"), 5);
	expect_fail(ev, nonce, nl, NULL, 0, "23 PCR values reported, the "
	    "quote selects 24");
	json_decref(ev);
	ev = json_deep_copy(ev0);
	q = json_object_get(ev, "tpm_quote");
	json_array_append_new(json_object_get(q, "pcrs"), json_string(
	    "0000000000000000000000000000000000000000000000000000000000000000"));
	expect_fail(ev, nonce, nl, NULL, 0, "25 PCR values reported");
	json_array_set_new(json_object_get(q, "pcrs"), 0, json_string("00"));
	expect_fail(ev, nonce, nl, NULL, 0, "pcrs[0] has 2 hex digits");
	json_decref(ev);

	/* init data: PCR8 is zero here, so any 32-byte hash is wrong; a
	 * 48-byte one is refused as such */
	memset(idh, 0x11, sizeof(idh));
	expect_fail(ev0, nonce, nl, idh, 32, "init data hash does not match");
	expect_fail(ev0, nonce, nl, idh, 48, "needs exactly 32");

	/* malformed evidence */
	ev = json_deep_copy(ev0);
	json_object_set_new(ev, "ak_public", json_string("!!"));
	expect_fail(ev, NULL, 0, NULL, 0, "ak_public is not standard base64");
	json_object_set_new(ev, "ak_public", json_string("AAAA"));
	expect_fail(ev, NULL, 0, NULL, 0, "not a DER SubjectPublicKeyInfo");
	json_object_del(ev, "tpm_quote");
	expect_fail(ev, NULL, 0, NULL, 0, "tpm_quote must be an object");
	json_decref(ev);
	ev = json_string("x");
	expect_fail(ev, NULL, 0, NULL, 0, "not a JSON object");
	json_decref(ev);

	free(big);
	free(m);
	free(s);
	json_decref(ev0);
	json_decref(exp);
}

/* The AK of another type than the scheme needs. */
static void
test_vector_wrong_key_type(void **state)
{
	json_t *ev = testutil_vec_json("tpm-quote-rsa/evidence.json");
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	unsigned char *der = NULL;
	int dl = i2d_PUBKEY(ec, &der);

	(void)state;
	assert_true(dl > 0);
	set_b64(ev, "ak_public", der, (size_t)dl);
	expect_fail(ev, NULL, 0, NULL, 0, "RSASSA needs an RSA AK");
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
	json_decref(ev);
}

static void
test_evidence_build(void **state)
{
	size_t al, sl, kl, pl;
	uint8_t *a = testutil_vec_read("tpm-quote-rsa/quote_attest.bin", &al);
	uint8_t *s = testutil_vec_read("tpm-quote-rsa/quote_sig.bin", &sl);
	uint8_t *k = testutil_vec_read("tpm-quote-rsa/ak_pub.der", &kl);
	uint8_t *p = testutil_vec_read("tpm-quote-rsa/pcrs_sha256.txt", &pl);
	json_t *want = testutil_vec_json("tpm-quote-rsa/evidence.json");
	json_t *got = NULL;
	struct error err;
	EVP_PKEY *key;
	const unsigned char *kp = k;
	BIO *bio;
	char *pem;
	long peml;

	(void)state;
	if (tpm_evidence_build(a, al, s, sl, k, kl, (char *)p, &got, &err)
	    != 0)
		fail_msg("%s", err.msg);
	assert_true(json_equal(got, want));
	json_decref(got);

	/* The same from a PEM AK */
	key = d2i_PUBKEY(NULL, &kp, (long)kl);
	assert_non_null(key);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PUBKEY(bio, key));
	peml = BIO_get_mem_data(bio, &pem);
	assert_int_equal(tpm_evidence_build(a, al, s, sl, (uint8_t *)pem,
	    (size_t)peml, (char *)p, &got, &err), 0);
	assert_true(json_equal(got, want));
	json_decref(got);
	BIO_free(bio);
	EVP_PKEY_free(key);

	/* wrong PCR count, bad hex, bad AK */
	assert_int_equal(tpm_evidence_build(a, al, s, sl, k, kl, "00", &got,
	    &err), -1);
	assert_non_null(strstr(err.msg, "2 hex digits"));
	p[pl / 2] = '\0';
	assert_int_equal(tpm_evidence_build(a, al, s, sl, k, kl, (char *)p,
	    &got, &err), -1);
	assert_non_null(strstr(err.msg, "the quote selects 24"));
	assert_int_equal(tpm_evidence_build(a, al, s, sl, k, kl - 1, "",
	    &got, &err), -1);
	assert_null(got);

	free(a);
	free(s);
	free(k);
	free(p);
	json_decref(want);
}

/* ---- quotes made here */

static void
put_be(struct buf *b, uint64_t v, size_t n)
{
	uint8_t o[8];
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	buf_add(b, o, n);
}

struct mkquote {
	const uint8_t *nonce;
	size_t nonce_len;
	const unsigned *pcrs;	/* selected PCR indices */
	size_t npcrs;
	uint8_t values[TPM_MAX_PCRS][32];
};

/* TPMS_ATTEST over a SHA-256 selection of q->pcrs with their values. */
static void
make_attest(struct buf *b, const struct mkquote *q)
{
	uint8_t sel[3] = { 0 }, d[32];
	unsigned int dl;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	size_t i;

	for (i = 0; i < q->npcrs; i++)
		sel[q->pcrs[i] / 8] |= (uint8_t)(1u << (q->pcrs[i] % 8));
	EVP_DigestInit(h, EVP_sha256());
	for (i = 0; i < q->npcrs; i++)
		EVP_DigestUpdate(h, q->values[i], 32);
	EVP_DigestFinal(h, d, &dl);
	EVP_MD_CTX_free(h);

	put_be(b, 0xff544347, 4);
	put_be(b, 0x8018, 2);
	put_be(b, 4, 2);
	buf_add(b, "\x00\x0b\xaa\xbb", 4);		/* qualifiedSigner */
	put_be(b, q->nonce_len, 2);
	buf_add(b, q->nonce, q->nonce_len);
	put_be(b, 123456789, 8);
	put_be(b, 1, 4);
	put_be(b, 0, 4);
	put_be(b, 1, 1);
	put_be(b, 0x0102030405060708ull, 8);
	put_be(b, 1, 4);				/* one bank */
	put_be(b, 0x000b, 2);
	put_be(b, 3, 1);
	buf_add(b, sel, 3);
	put_be(b, 32, 2);
	buf_add(b, d, 32);
}

/* A TPMT_SIGNATURE of msg by key with the given scheme. */
static void
make_sig(struct buf *b, EVP_PKEY *key, uint16_t scheme, uint16_t hash,
    const uint8_t *msg, size_t len)
{
	const EVP_MD *md = hash == TPM_ALG_SHA384 ? EVP_sha384() :
	    EVP_sha256();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	uint8_t sig[1024];
	size_t sl = sizeof(sig);

	assert_int_equal(EVP_DigestSignInit(c, &pc, md, NULL, key), 1);
	if (scheme == TPM_ALG_RSAPSS) {
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
	}
	assert_int_equal(EVP_DigestSign(c, sig, &sl, msg, len), 1);
	EVP_MD_CTX_free(c);
	put_be(b, scheme, 2);
	put_be(b, hash, 2);
	if (scheme == TPM_ALG_ECDSA) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
		const BIGNUM *r, *s;
		uint8_t rb[66], sb[66];
		int rl, sl2;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		rl = BN_bn2bin(r, rb);
		sl2 = BN_bn2bin(s, sb);
		put_be(b, (uint64_t)rl, 2);
		buf_add(b, rb, (size_t)rl);
		put_be(b, (uint64_t)sl2, 2);
		buf_add(b, sb, (size_t)sl2);
		ECDSA_SIG_free(es);
	} else {
		put_be(b, sl, 2);
		buf_add(b, sig, sl);
	}
}

static json_t *
make_evidence(EVP_PKEY *key, uint16_t scheme, uint16_t hash,
    const struct mkquote *q)
{
	struct buf at = { 0 }, sg = { 0 };
	unsigned char *der = NULL;
	int dl = i2d_PUBKEY(key, &der);
	json_t *ev, *pcrs = json_array();
	char hex[65];
	size_t i;

	make_attest(&at, q);
	make_sig(&sg, key, scheme, hash, at.data, at.len);
	for (i = 0; i < q->npcrs; i++) {
		hex_encode(q->values[i], 32, hex);
		json_array_append_new(pcrs, json_string(hex));
	}
	ev = json_pack("{s:{s:o}}", "tpm_quote", "pcrs", pcrs);
	set_b64(ev, "ak_public", der, (size_t)dl);
	set_b64(json_object_get(ev, "tpm_quote"), "message", at.data, at.len);
	set_b64(json_object_get(ev, "tpm_quote"), "signature", sg.data,
	    sg.len);
	OPENSSL_free(der);
	buf_free(&at);
	buf_free(&sg);
	return ev;
}

static void
test_made_quotes(void **state)
{
	static const unsigned sel[6] = { 0, 1, 2, 3, 7, 8 };
	struct mkquote q;
	uint8_t rd[48], idh[32], in[64];
	unsigned int dl;
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	EVP_PKEY *rsa1k = EVP_RSA_gen(1024);
	json_t *ev, *c;
	struct error err;
	size_t i;
	static const struct {
		int key;	/* 0 rsa, 1 p256, 2 p384 */
		uint16_t scheme, hash;
	} cases[] = {
		{ 0, TPM_ALG_RSASSA, TPM_ALG_SHA256 },
		{ 0, TPM_ALG_RSASSA, TPM_ALG_SHA384 },
		{ 0, TPM_ALG_RSAPSS, TPM_ALG_SHA256 },
		{ 0, TPM_ALG_RSAPSS, TPM_ALG_SHA384 },
		{ 1, TPM_ALG_ECDSA, TPM_ALG_SHA256 },
		{ 2, TPM_ALG_ECDSA, TPM_ALG_SHA384 },
		{ 2, TPM_ALG_ECDSA, TPM_ALG_SHA256 },
	};

	(void)state;
	assert_non_null(rsa);
	assert_non_null(p256);
	assert_non_null(p384);
	memset(&q, 0, sizeof(q));
	for (i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(0xa0 + i);
	memset(idh, 0x5a, sizeof(idh));
	memset(in, 0, 32);
	memcpy(in + 32, idh, 32);
	q.pcrs = sel;
	q.npcrs = 6;
	for (i = 0; i < 6; i++)
		memset(q.values[i], (int)(0x10 + i), 32);
	EVP_Digest(in, 64, q.values[5], &dl, EVP_sha256(), NULL);  /* PCR8 */
	q.nonce = rd;		/* 48-byte report data truncated to 32 */
	q.nonce_len = 32;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		EVP_PKEY *k = cases[i].key == 0 ? rsa : cases[i].key == 1 ?
		    p256 : p384;

		ev = make_evidence(k, cases[i].scheme, cases[i].hash, &q);
		c = NULL;
		if (run(ev, rd, sizeof(rd), idh, sizeof(idh), &c, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_non_null(json_object_get(c, "pcr07"));
		assert_non_null(json_object_get(c, "pcr08"));
		assert_null(json_object_get(c, "pcr04"));
		assert_int_equal(json_object_size(c), 6 + 3);
		assert_string_equal(json_string_value(json_object_get(c,
		    "init_data")), json_string_value(json_object_get(c,
		    "pcr08")));
		json_decref(c);
		/* wrong init data, wrong nonce */
		idh[0] ^= 1;
		expect_fail(ev, rd, sizeof(rd), idh, sizeof(idh),
		    "init data hash does not match");
		idh[0] ^= 1;
		rd[40] ^= 1;	/* beyond 32: still matches the 32 rule */
		assert_int_equal(run(ev, rd, sizeof(rd), NULL, 0, &c, &err), 0);
		json_decref(c);
		rd[40] ^= 1;
		rd[31] ^= 1;
		expect_fail(ev, rd, sizeof(rd), NULL, 0,
		    "report data does not match");
		rd[31] ^= 1;
		json_decref(ev);
	}

	/* scheme / key mismatch: ECDSA signature with an RSA AK and back */
	ev = make_evidence(p256, TPM_ALG_ECDSA, TPM_ALG_SHA256, &q);
	{
		unsigned char *der = NULL;
		int l = i2d_PUBKEY(rsa, &der);

		set_b64(ev, "ak_public", der, (size_t)l);
		OPENSSL_free(der);
	}
	expect_fail(ev, NULL, 0, NULL, 0, "ECDSA needs an EC AK");
	json_decref(ev);
	/* the other P-256 key: signature fails */
	ev = make_evidence(p256, TPM_ALG_ECDSA, TPM_ALG_SHA256, &q);
	{
		EVP_PKEY *other = EVP_EC_gen("P-256");
		unsigned char *der = NULL;
		int l = i2d_PUBKEY(other, &der);

		set_b64(ev, "ak_public", der, (size_t)l);
		OPENSSL_free(der);
		EVP_PKEY_free(other);
	}
	expect_fail(ev, NULL, 0, NULL, 0, "signature does not verify");
	json_decref(ev);
	/* a 1024-bit RSA AK is refused */
	ev = make_evidence(rsa1k, TPM_ALG_RSASSA, TPM_ALG_SHA256, &q);
	expect_fail(ev, NULL, 0, NULL, 0, "1024 bits");
	json_decref(ev);

	/* PCR8 not quoted: init data cannot be checked, no init_data claim */
	q.npcrs = 5;
	ev = make_evidence(rsa, TPM_ALG_RSASSA, TPM_ALG_SHA256, &q);
	expect_fail(ev, NULL, 0, idh, sizeof(idh), "does not include PCR8");
	assert_int_equal(run(ev, NULL, 0, NULL, 0, &c, &err), 0);
	assert_null(json_object_get(c, "init_data"));
	json_decref(c);
	json_decref(ev);

	/* a 64-byte extraData binds the report data padded to 64 */
	q.nonce_len = 64;
	{
		uint8_t n64[64] = { 0 };

		memcpy(n64, rd, 48);
		q.nonce = n64;
		ev = make_evidence(rsa, TPM_ALG_RSASSA, TPM_ALG_SHA256, &q);
		assert_int_equal(run(ev, rd, sizeof(rd), NULL, 0, &c, &err),
		    0);
		json_decref(c);
		expect_fail(ev, rd, 32, NULL, 0, "report data does not match");
		json_decref(ev);
		/* other extraData sizes never bind a nonce */
		q.nonce_len = 48;
		q.nonce = rd;
		ev = make_evidence(rsa, TPM_ALG_RSASSA, TPM_ALG_SHA256, &q);
		expect_fail(ev, rd, sizeof(rd), NULL, 0,
		    "report data does not match");
		json_decref(ev);
	}

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa1k);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
}

/* Internal API used by the Azure verifiers. */
static void
test_api(void **state)
{
	size_t ml, sl, kl, i;
	uint8_t *m = testutil_vec_read("tpm-quote-rsa/quote_attest.bin", &ml);
	uint8_t *s = testutil_vec_read("tpm-quote-rsa/quote_sig.bin", &sl);
	uint8_t *k = testutil_vec_read("tpm-quote-rsa/ak_pub.der", &kl);
	json_t *ev = testutil_vec_json("tpm-quote-rsa/evidence.json");
	const json_t *pcrs = json_object_get(json_object_get(ev, "tpm_quote"),
	    "pcrs");
	uint8_t vals[24 * 32], pcr8[32] = { 0 }, h[32];
	struct tpm_quote_in qi;
	struct tpm_attest a;
	struct error err;
	EVP_PKEY *ak, *ak2;
	const unsigned char *kp = k;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[512], eb[8];
	int nl, el;
	json_t *c;

	(void)state;
	for (i = 0; i < 24; i++)
		unhex(json_string_value(json_array_get(pcrs, i)), vals + 32 * i,
		    32);
	ak = tpm_ak_from_spki(k, kl, &err);
	assert_non_null(ak);
	memset(&qi, 0, sizeof(qi));
	qi.message = m;
	qi.message_len = ml;
	qi.sig = s;
	qi.sig_len = sl;
	qi.ak = ak;
	qi.pcrs = vals;
	qi.n_pcrs = 24;
	qi.pcr_len = 32;
	assert_int_equal(tpm_quote_verify(&qi, &a, &err), 0);
	/* The bare RSASSA form (Azure's tpm_quote.signature) */
	qi.sig = s + 6;
	qi.sig_len = sl - 6;
	qi.sig_raw_rsassa = 1;
	assert_int_equal(tpm_quote_verify(&qi, &a, &err), 0);
	/* ... with the AK rebuilt from n/e (Azure's HCLAkPub JWK) */
	assert_true(EVP_PKEY_get_bn_param(ak, "n", &n));
	assert_true(EVP_PKEY_get_bn_param(ak, "e", &e));
	nl = BN_bn2bin(n, nb);
	el = BN_bn2bin(e, eb);
	ak2 = tpm_rsa_pubkey(nb, (size_t)nl, eb, (size_t)el, &err);
	assert_non_null(ak2);
	qi.ak = ak2;
	assert_int_equal(tpm_quote_verify(&qi, &a, &err), 0);
	vals[7 * 32] ^= 1;
	assert_int_equal(tpm_quote_verify(&qi, &a, &err), -1);
	assert_non_null(strstr(err.msg, "PCR digest mismatch"));
	vals[7 * 32] ^= 1;
	/* PCR values of the wrong size for the bank */
	assert_int_equal(tpm_pcr_digest_check(&a, vals, 24, 48, &err), -1);
	assert_non_null(strstr(err.msg, "32-byte values"));

	c = json_object();
	assert_int_equal(tpm_pcr_claims(c, &a, vals, 24, 32, &err), 0);
	assert_int_equal(json_object_size(c), 24);
	assert_string_equal(json_string_value(json_object_get(c, "pcr17")),
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	json_decref(c);

	/* init-data helper */
	memset(h, 7, 32);
	{
		uint8_t in[64] = { 0 };
		unsigned int dl;

		memcpy(in + 32, h, 32);
		EVP_Digest(in, 64, pcr8, &dl, EVP_sha256(), NULL);
	}
	assert_int_equal(tpm_init_data_check(pcr8, h, 32, &err), 0);
	h[31] ^= 1;
	assert_int_equal(tpm_init_data_check(pcr8, h, 32, &err), -1);
	assert_int_equal(tpm_init_data_check(pcr8, h, 31, &err), -1);
	assert_non_null(strstr(err.msg, "exactly 32"));

	/* bad key forms */
	assert_null(tpm_ak_from_spki(k, kl - 1, &err));
	{
		uint8_t *big = xmalloc(kl + 1);

		memcpy(big, k, kl);
		big[kl] = 0;
		assert_null(tpm_ak_from_spki(big, kl + 1, &err));
		assert_non_null(strstr(err.msg, "trailing"));
		free(big);
	}
	(void)kp;
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ak2);
	free(m);
	free(s);
	free(k);
	json_decref(ev);
}

/* Parser bounds on crafted structures. */
static void
test_parsers(void **state)
{
	struct tpm_pcr_selection sel;
	struct tpm_signature sig;
	struct tpm_attest a;
	struct error err;
	size_t n;
	unsigned idx[TPM_MAX_PCRS];
	static const uint8_t sel_ok[] = {
		0, 0, 0, 2, 0x00, 0x0b, 3, 0x81, 0x00, 0x01,
		0x00, 0x0c, 1, 0x02 };
	static const uint8_t sel_many[] = { 0, 0, 0, 17 };
	static const uint8_t sel_size0[] = { 0, 0, 0, 1, 0, 0x0b, 0 };
	static const uint8_t sel_size5[] = { 0, 0, 0, 1, 0, 0x0b, 5, 1, 1, 1,
		1, 1 };
	static const uint8_t ecdsa[] = { 0, 0x18, 0, 0x0b, 0, 1, 7, 0, 1, 9 };
	static const uint8_t ecdsa_empty[] = { 0, 0x18, 0, 0x0b, 0, 0, 0, 1,
		9 };
	static const uint8_t ecdsa_big[] = { 0, 0x18, 0, 0x0b, 0, 67 };
	static const uint8_t badmagic[] = { 0xff, 0x54, 0x43, 0x48, 0x80,
		0x18 };
	static const uint8_t badtype[] = { 0xff, 0x54, 0x43, 0x47, 0x80,
		0x17 };
	static const uint8_t bigextra[] = { 0xff, 0x54, 0x43, 0x47, 0x80,
		0x18, 0, 0, 0, 65 };

	(void)state;
	assert_int_equal(tpm_pcr_selection_parse(sel_ok, sizeof(sel_ok), &sel,
	    &err), 0);
	assert_int_equal(tpm_pcr_selection_list(&sel, idx, NULL, TPM_MAX_PCRS,
	    &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 7);
	assert_int_equal(idx[2], 16);
	assert_int_equal(idx[3], 1);
	assert_int_equal(tpm_pcr_selection_list(&sel, idx, NULL, 3, &n, &err),
	    -1);
	assert_int_equal(tpm_pcr_selection_parse(sel_ok, sizeof(sel_ok) - 1,
	    &sel, &err), -1);
	assert_int_equal(tpm_pcr_selection_parse(sel_many, sizeof(sel_many),
	    &sel, &err), -1);
	assert_non_null(strstr(err.msg, "count 17"));
	assert_int_equal(tpm_pcr_selection_parse(sel_size0, sizeof(sel_size0),
	    &sel, &err), -1);
	assert_int_equal(tpm_pcr_selection_parse(sel_size5, sizeof(sel_size5),
	    &sel, &err), -1);
	assert_non_null(strstr(err.msg, "sizeofSelect 5"));
	assert_int_equal(tpm_pcr_selection_parse(NULL, 0, &sel, &err), -1);

	assert_int_equal(tpm_signature_parse(ecdsa, sizeof(ecdsa), &sig, &err),
	    0);
	assert_int_equal(sig.r_len, 1);
	assert_int_equal(sig.r[0], 7);
	assert_int_equal(sig.s[0], 9);
	assert_int_equal(tpm_signature_parse(ecdsa_empty, sizeof(ecdsa_empty),
	    &sig, &err), -1);
	assert_int_equal(tpm_signature_parse(ecdsa_big, sizeof(ecdsa_big),
	    &sig, &err), -1);
	assert_non_null(strstr(err.msg, "exceeds the maximum 66"));
	assert_int_equal(tpm_signature_parse(NULL, 0, &sig, &err), -1);

	assert_int_equal(tpm_attest_parse(badmagic, sizeof(badmagic), &a,
	    &err), -1);
	assert_non_null(strstr(err.msg, "magic"));
	assert_int_equal(tpm_attest_parse(badtype, sizeof(badtype), &a, &err),
	    -1);
	assert_non_null(strstr(err.msg, "TPM_ST_ATTEST_QUOTE"));
	assert_int_equal(tpm_attest_parse(bigextra, sizeof(bigextra), &a,
	    &err), -1);
	assert_int_equal(tpm_attest_parse(NULL, 0, &a, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_parse),
		cmocka_unit_test(test_vector_verify),
		cmocka_unit_test(test_vector_negatives),
		cmocka_unit_test(test_vector_wrong_key_type),
		cmocka_unit_test(test_evidence_build),
		cmocka_unit_test(test_made_quotes),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
