/*
 * test_jwe.c: the KBS JWE resource response.
 *
 * Besides round trips, the tests pin the exact wire form (header bytes,
 * member order, lengths), cross-check the ECDH-ES Concat KDF + AES-KW +
 * GCM construction with an independent computation written from the raw
 * formula, and decrypt JWEs produced by Python jwcrypto (key management by
 * jwcrypto's JWA classes, content by pyca AESGCM, header serialized as the
 * guest re-serializes it; each vector was checked by jwcrypto's decrypt).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/jwe.h"
#include "../../lib/jwk.h"
#include "../../lib/util.h"

#include "../testkeys.h"

/*
 * Vectors generated once with /usr/bin/python3 + python3-jwcrypto 1.1.0.
 * EC_NONCANON's protected header is json.dumps() with spaces: valid for
 * RFC 7516 (jwcrypto decrypts it, using the received string as AAD) but
 * the guest recomputes the AAD canonically, so it must fail here too.
 * Generator (condensed; keys from jwk.JWK.generate, exported as PEM):
 *   def canon(h):  # serde_json: alg, enc, then the rest sorted
 *     s = '{"alg":%s,"enc":%s' % (json.dumps(h['alg']), json.dumps(h['enc']))
 *     for k in sorted(set(h) - {'alg', 'enc'}):
 *       s += ',%s:%s' % (json.dumps(k, ensure_ascii=False), json.dumps(h[k],
 *           separators=(',', ':'), sort_keys=True, ensure_ascii=False))
 *     return s + '}'
 *   def make(key, alg, pt, extra=None, ser=canon):
 *     cek = os.urandom(32); hdr = {"alg": alg, "enc": "A256GCM"}
 *     w = JWA.keymgmt_alg(alg).wrap(key, 256, cek, dict(hdr))
 *     hdr.update(w.get('header', {})); hdr.update(extra or {})
 *     prot = b64e(ser(hdr).encode()); iv = os.urandom(12)
 *     ct = AESGCM(w['cek']).encrypt(iv, pt, prot.encode())
 *     s = json.dumps({"protected": prot, "encrypted_key": b64e(w['ek']),
 *         "iv": b64e(iv), "ciphertext": b64e(ct[:-16]),
 *         "tag": b64e(ct[-16:])}, separators=(',', ':'))
 *     chk = jwe.JWE(); chk.allowed_algs = [alg, "A256GCM"]
 *     chk.deserialize(s, key); assert chk.payload == pt
 *     return s
 * EC_NONCANON used ser=json.dumps.
 * EC_EXTRA's header has extra members needing sorting and escaping:
 * {"alg":..,"enc":..,"cty":"text","epk":{..},"kid":"k/1 é\u001f\"\\\t",
 *  "x-n":1.5,"x-r":100.0,"x-z":[1,true,null,{"a":0.001,"b":1,"c":-2}]}
 */
#define EC_KEY_PEM TESTKEY_P256_PEM
static const char EC_JWE[] =
	"{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZ"
	"HQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJYNm90VHd"
	"pZ0tCRnU0Yndvc3JRbFFNQlV1U3VaN01CTDYyWVZhMTVOSXNRIiwieSI6IldwWFJ"
	"qX2NNbVRDT3hHeXpYdDVJTGlYdERPaUFzdk1JYVZJenAwcW9rRTQifX0\",\"enc"
	"rypted_key\":\"arwNBMK78Oy7lEnNn5zd6-GdLziQWacDBjprGKPVep9AVJsex"
	"7n2nQ\",\"iv\":\"3W4XpM-7GzV7A93u\",\"ciphertext\":\"gzYpB6YUUrp"
	"SqOLV085fCwGIMKo8FHMDwioyLErnj2svPLhZMUnOOVNGJa4TmA\",\"tag\":\""
	"iqYsjwzZAReoJxGSfzL1Pw\"}";
static const char EC_PT[] =
	"jwcrypto interop: ECDH-ES+A256KW / A256GCM \xe2\x9c\x93";

static const char EC_EXTRA_JWE[] =
	"{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZ"
	"HQ00iLCJjdHkiOiJ0ZXh0IiwiZXBrIjp7ImNydiI6IlAtMjU2Iiwia3R5IjoiRUM"
	"iLCJ4IjoiS1NCN2ZWLW9lWGJpWDAzSF8wdUFlNURrTzNjWW1rWDFNNU1WSTQ3OHR"
	"KOCIsInkiOiJOay16bXJoeDZERXBNeloyZC0zb1o1QWhhT1F0M3haaUpCSVByNzd"
	"FNFpjIn0sImtpZCI6ImsvMSDDqVx1MDAxZlwiXFxcdCIsIngtbiI6MS41LCJ4LXI"
	"iOjEwMC4wLCJ4LXoiOlsxLHRydWUsbnVsbCx7ImEiOjAuMDAxLCJiIjoxLCJjIjo"
	"tMn1dfQ\",\"encrypted_key\":\"QC1A9GUHJpdQW7BJ4afZwvThDqYT0A7gMs"
	"I3awZ2Ext58jNFQaDfjw\",\"iv\":\"694NpSbOyl19uh8i\",\"ciphertext"
	"\":\"DyYaRji11rjBysbxfpcfoFtF_RE\",\"tag\":\"VzaxsODfyvmawGZ6q67"
	"m0A\"}";
static const char EC_EXTRA_PT[] =
	"extra header members";

static const char EC_NONCANON_JWE[] =
	"{\"protected\":\"eyJhbGciOiAiRUNESC1FUytBMjU2S1ciLCAiZW5jIjogIkE"
	"yNTZHQ00iLCAiZXBrIjogeyJjcnYiOiAiUC0yNTYiLCAia3R5IjogIkVDIiwgIng"
	"iOiAic3ozRmRneFBoVmRhUkNKYklNcllIcER6aGRJX2R1UHNOMlk5X2ZvMEE5cyI"
	"sICJ5IjogIkZ0WGFLcjBwcERERzhHc0NPdnpDbjZGMXM0dk05R2tkRWx6aHNKa05"
	"pN1kifX0\",\"encrypted_key\":\"6ecupLE8PaxvnyEilWqL_YoMrwCoxsE1n"
	"r1CW_wQY-kO2rYtPQiHXg\",\"iv\":\"2tPb81QXFBz5AQF-\",\"ciphertext"
	"\":\"UZLpvivcQXrgZLwjXw\",\"tag\":\"Rcufg66NU3weUkaRebALhg\"}";
static const char EC_NONCANON_PT[] =
	"not canonical";

static const char EC521_KEY_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIA8NV9EkEHkUBfsH1r\n"
	"G41qisslryqpLFWHs+cjQcw5BLRR4sYqFWa00Pst8ciJ1pFw1zXmrdCm0WSGgB5f\n"
	"x3lJMGqhgYkDgYYABABByIHDGPNxg2k0tc1asNd+rSviT4fBbTjOU0mb3/QSkUrR\n"
	"p6koGS7Fc1vnrwxUpx2xqhWVCf0xdaSqmIDz6zjGqAFXifYjSr74knQgdbGAtfJ6\n"
	"5Ye9ldL83sbRqHWGSazTyhG953gSR2m8eRLVH60MQvciHbiR3a3Oz8cnGjCluqiP\n"
	"jg==\n"
	"-----END PRIVATE KEY-----\n";
static const char EC521_JWE[] =
	"{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZ"
	"HQ00iLCJlcGsiOnsiY3J2IjoiUC01MjEiLCJrdHkiOiJFQyIsIngiOiJBQWtObEF"
	"5VGlRSkR2dDcyZndYTXE3M1MzVVJEZVF0X2d4RmVodGYzczQ2aGFpUE40RV9kd1I"
	"tdFpJSnRVdE1oa1VBRVI2ZkJaVnAwbGxxcFNIQjJSekEyIiwieSI6IkFWb3J1OVd"
	"YOTR4aFhRV0JRcGEzZkdIWnJGMHVSUWMwbHV0cTdibkNIa1RsSHNGNTctb0RGbER"
	"hejF5RzM4SFRwNmxxbmpPcjJKOHdoQUNpd3g4SEtaOUkifX0\",\"encrypted_k"
	"ey\":\"d3bUddHwEhLpj98z7RXhpJdIFFYRanqTpiuhtS064cJpn8EIxp61og\","
	"\"iv\":\"bnLaq5C9w61J3rts\",\"ciphertext\":\"IMKHFQ0vkLqGu5Mcv-K"
	"DFa5a\",\"tag\":\"PhxULINkndz_izMgBhASpQ\"}";
static const char EC521_PT[] =
	"P-521 via jwcrypto";

#define RSA_KEY_PEM TESTKEY_RSA2048_PEM
static const char RSA_JWE[] =
	"{\"protected\":\"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0N"
	"NIn0\",\"encrypted_key\":\"NG5b0TEKQPId6i1_W1vzhUtiJqHJPBn_fUluj"
	"z0HZy5CmlU3KEabb2MFft40vyInwSm-Dfw6lFOvD3-eOwKBINMLGzBbkl2dy5Y3k"
	"xUkZz29T7nMmadluzms-uWMBt3wi9bZGP0qUsZR_9SFWc0l7rpewRDamsbgCdGJP"
	"IOV99RDTefR2QRgT4QMvgNsU8Q-PZEg6RgkBAr7ERe5rBv6dz8sHqSFtNKU_0IWZ"
	"WIz9zQb5-GUhq1vUtfl32bhNiGpAA7onh_f5TVXm1pw5E7dleI_83As3Da7IcGmw"
	"bj667IxHLyYZV7zscoTKzX1o_81QYSI7k8Z1BsZn1SDKqYx6w\",\"iv\":\"gxQ"
	"iTO7XMAeqmHBa\",\"ciphertext\":\"XZvUXwS9ei7Fxk8AXcWrBvxGRfYPt-h"
	"Rhmt4eESV\",\"tag\":\"cVL8L88PIQ9sSKz-Wlo82g\"}";
static const char RSA_PT[] =
	"jwcrypto interop: RSA-OAEP-256";

static const char RSA15_JWE[] =
	"{\"protected\":\"eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMjU2R0NNIn0\","
	"\"encrypted_key\":\"GTehUE6kzZxoam30840qnZaHLgvn4AlRTtqapSHkZJt4"
	"_sf9WwZ6go4w0UWbpacJOICizXc5se4JMqArHTnSdBli-mue2710IzvtD2B5RMbG"
	"_jikX56ITiWbv1Wtyr_OOWF1ZJUClOI_qd6H904YNpFTA0Bw24n03CL2-Y3Xzije"
	"YPaZ5ZdHpYh1aJLorjwu3NV_uwqzURwVhxdlOGxWCDB2WRYXnBwKpOvYHWaQugeh"
	"AKMcXE1Ej4vpsEWX_heDeeHUh2a4Bck7F4Y6YwVn2YCvIM_PlHbSOGYTe5k8HRAB"
	"-k-nRam-hHQBIittbfCohEZp1m7TDpJl2BKmCBqkMw\",\"iv\":\"uHLm3swRQC"
	"3L6ZtL\",\"ciphertext\":\"u2M-o-vufEvh3E67krRssISn_1jhDr53\",\"t"
	"ag\":\"M2wIQZCfZ4CM_qmPLpJYJA\"}";
static const char RSA15_PT[] =
	"jwcrypto interop: RSA1_5";

#define EC_HDR_PREFIX \
	"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":"

static json_t *
parse(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		fail_msg("bad JSON: %s: %s", jerr.text, s);
	return j;
}

static EVP_PKEY *
pem_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(k);
	return k;
}

/* Decoded base64url member of a JSON object. */
static uint8_t *
member_bytes(const json_t *obj, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, name));
	uint8_t *out;

	assert_non_null(s);
	assert_int_equal(b64_decode(s, strlen(s), B64_URL_NOPAD, &out, len),
	    0);
	return out;
}

static void
expect_decrypt(const char *jwe, EVP_PKEY *priv, const void *want,
    size_t wantlen)
{
	struct error err = { { 0 } };
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	if (jwe_decrypt(jwe, strlen(jwe), priv, &pt, &ptlen, &err) != 0)
		fail_msg("decrypt failed: %s", err.msg);
	assert_non_null(pt);
	assert_int_equal(ptlen, wantlen);
	if (wantlen > 0)
		assert_memory_equal(pt, want, wantlen);
	secret_free(pt, ptlen);
}

/* Decryption must fail; with msg != NULL, with exactly that message. */
static void
expect_decrypt_fail(const char *jwe, EVP_PKEY *priv, const char *msg)
{
	struct error err = { { 0 } };
	uint8_t *pt = (uint8_t *)1;
	size_t ptlen = 1;

	assert_int_equal(jwe_decrypt(jwe, strlen(jwe), priv, &pt, &ptlen,
	    &err), -1);
	assert_null(pt);
	assert_int_equal(ptlen, 0);
	assert_true(err.msg[0] != '\0');
	if (msg != NULL)
		assert_string_equal(err.msg, msg);
}

/* The public TEE key JWK of priv, as the guest sends it. */
static json_t *
tee_pubkey(EVP_PKEY *priv, const char *alg)
{
	json_t *j = jwk_from_pkey(priv, alg);

	assert_non_null(j);
	return j;
}

static char *
encrypt_ok(const json_t *pub, const void *pt, size_t ptlen)
{
	struct error err = { { 0 } };
	char *jwe = jwe_encrypt(pub, pt, ptlen, &err);

	if (jwe == NULL)
		fail_msg("encrypt failed: %s", err.msg);
	return jwe;
}

/*
 * Check the exact wire form of one JWE: member order and compactness,
 * lengths, and the protected header bytes. crv is NULL for RSA.
 */
static void
check_wire(const char *jwe, const char *alg, const char *crv, size_t eklen,
    size_t ptlen)
{
	static const char *const order[] = {
		"protected", "encrypted_key", "iv", "ciphertext", "tag",
	};
	json_t *j = parse(jwe), *hdr;
	void *it;
	char *again, want[512];
	uint8_t *b;
	size_t i, len, coord;

	/* Exactly these five members, in this order, no whitespace. */
	assert_int_equal(json_object_size(j), 5);
	for (i = 0, it = json_object_iter(j); it != NULL;
	    i++, it = json_object_iter_next(j, it))
		assert_string_equal(json_object_iter_key(it), order[i]);
	again = json_dumps(j, JSON_COMPACT);
	assert_string_equal(again, jwe);
	free(again);

	free(member_bytes(j, "encrypted_key", &len));
	assert_int_equal(len, eklen);
	free(member_bytes(j, "iv", &len));
	assert_int_equal(len, 12);
	free(member_bytes(j, "tag", &len));
	assert_int_equal(len, 16);
	free(member_bytes(j, "ciphertext", &len));
	assert_int_equal(len, ptlen);

	b = member_bytes(j, "protected", &len);
	if (crv == NULL) {
		snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"enc\":"
		    "\"A256GCM\"}", alg);
		assert_string_equal((char *)b, want);
	} else {
		snprintf(want, sizeof(want), EC_HDR_PREFIX "\"%s\",\"kty\":"
		    "\"EC\",\"x\":\"", crv);
		assert_int_equal(strncmp((char *)b, want, strlen(want)), 0);
		hdr = parse((char *)b);
		coord = strcmp(crv, "P-256") == 0 ? 43 : 88;
		assert_int_equal(json_string_length(json_object_get(
		    json_object_get(hdr, "epk"), "x")), coord);
		assert_int_equal(json_string_length(json_object_get(
		    json_object_get(hdr, "epk"), "y")), coord);
		/* The whole header, byte for byte. */
		snprintf(want, sizeof(want), EC_HDR_PREFIX "\"%s\",\"kty\":"
		    "\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}", crv,
		    json_string_value(json_object_get(json_object_get(hdr,
		    "epk"), "x")),
		    json_string_value(json_object_get(json_object_get(hdr,
		    "epk"), "y")));
		assert_string_equal((char *)b, want);
		json_decref(hdr);
	}
	free(b);
	json_decref(j);
}

static void
roundtrip_key(EVP_PKEY *priv, const char *alg, const char *crv, size_t eklen)
{
	static const size_t sizes[] = { 0, 1, 100 * 1024 };
	json_t *pub = tee_pubkey(priv, alg);
	uint8_t *pt;
	size_t i;
	char *jwe;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		pt = xmalloc(sizes[i]);
		randombytes_buf(pt, sizes[i]);
		jwe = encrypt_ok(pub, pt, sizes[i]);
		check_wire(jwe, alg, crv, eklen, sizes[i]);
		expect_decrypt(jwe, priv, pt, sizes[i]);
		free(jwe);
		free(pt);
	}
	json_decref(pub);
}

static void
test_roundtrip_p256(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	(void)state;
	roundtrip_key(k, "ECDH-ES+A256KW", "P-256", 40);
	EVP_PKEY_free(k);
}

static void
test_roundtrip_p521(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");

	(void)state;
	roundtrip_key(k, "ECDH-ES+A256KW", "P-521", 40);
	EVP_PKEY_free(k);
}

static void
test_roundtrip_rsa(void **state)
{
	EVP_PKEY *k2048 = pem_key(RSA_KEY_PEM);
	EVP_PKEY *k4096 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);

	(void)state;
	assert_non_null(k4096);
	roundtrip_key(k2048, "RSA-OAEP-256", NULL, 256);
	roundtrip_key(k4096, "RSA-OAEP-256", NULL, 512);
	roundtrip_key(k2048, "RSA1_5", NULL, 256);
	EVP_PKEY_free(k2048);
	EVP_PKEY_free(k4096);
}

/* One parsed key (jwe_key_new), many responses: each decrypts, each has
 * its own ephemeral key; the wire form is jwe_encrypt's. */
static void
reuse_key(EVP_PKEY *priv, const char *alg, const char *crv, size_t eklen)
{
	struct error err = { { 0 } };
	json_t *pub = tee_pubkey(priv, alg), *j, *h;
	struct jwe_key *k = jwe_key_new(pub, &err);
	char *jwe, *first = NULL;
	uint8_t pt[64], *b;
	size_t i, len;

	if (k == NULL)
		fail_msg("jwe_key_new: %s", err.msg);
	for (i = 0; i < 3; i++) {
		randombytes_buf(pt, sizeof(pt));
		jwe = jwe_encrypt_key(k, pt, sizeof(pt), &err);
		if (jwe == NULL)
			fail_msg("jwe_encrypt_key: %s", err.msg);
		check_wire(jwe, alg, crv, eklen, sizeof(pt));
		expect_decrypt(jwe, priv, pt, sizeof(pt));
		j = parse(jwe);
		b = member_bytes(j, "protected", &len);
		if (crv != NULL && first != NULL) {
			h = parse((char *)b);
			assert_string_not_equal(json_string_value(
			    json_object_get(json_object_get(h, "epk"), "x")),
			    first);
			json_decref(h);
		} else if (crv != NULL) {
			h = parse((char *)b);
			first = xstrdup(json_string_value(json_object_get(
			    json_object_get(h, "epk"), "x")));
			json_decref(h);
		}
		free(b);
		json_decref(j);
		free(jwe);
	}
	free(first);
	jwe_key_free(k);
	json_decref(pub);
}

static void
test_key_reuse(void **state)
{
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	EVP_PKEY *rsa = pem_key(RSA_KEY_PEM);

	(void)state;
	reuse_key(p256, "ECDH-ES+A256KW", "P-256", 40);
	reuse_key(p521, "ECDH-ES+A256KW", "P-521", 40);
	reuse_key(rsa, "RSA-OAEP-256", NULL, 256);
	reuse_key(rsa, "RSA1_5", NULL, 256);
	jwe_key_free(NULL);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(rsa);
}

/* jwe_key_adopt: a parsed key with the alg it must fit. */
static void
test_key_adopt(void **state)
{
	struct error err = { { 0 } };
	EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = pem_key(RSA_KEY_PEM), *pk;
	json_t *pub = tee_pubkey(priv, "ECDH-ES+A256KW");
	struct jwe_key *k;
	uint8_t pt[16] = "adopted";
	char *jwe;

	(void)state;
	assert_int_equal(jwk_to_pkey(pub, &pk, &err), 0);
	k = jwe_key_adopt(pk, "ECDH-ES+A256KW", &err);
	assert_non_null(k);
	jwe = jwe_encrypt_key(k, pt, sizeof(pt), &err);
	assert_non_null(jwe);
	expect_decrypt(jwe, priv, pt, sizeof(pt));
	free(jwe);
	jwe_key_free(k);
	/* Keys that do not fit the alg are refused (and freed). */
	assert_true(EVP_PKEY_up_ref(p384));
	assert_null(jwe_key_adopt(p384, "ECDH-ES+A256KW", &err));
	assert_string_equal(err.msg, "tee-pubkey: ECDH-ES+A256KW needs a "
	    "P-256 or P-521 key");
	assert_true(EVP_PKEY_up_ref(rsa));
	assert_null(jwe_key_adopt(rsa, "ECDH-ES+A256KW", &err));
	assert_true(EVP_PKEY_up_ref(priv));
	assert_null(jwe_key_adopt(priv, "RSA-OAEP-256", &err));
	assert_string_equal(err.msg, "tee-pubkey: RSA-OAEP-256 needs an RSA "
	    "key");
	assert_true(EVP_PKEY_up_ref(rsa));
	assert_null(jwe_key_adopt(rsa, "A128KW", &err));
	json_decref(pub);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
}

/* Threads encrypting to one shared key at once (the session cache hands
 * one key to every GET of a session). */
struct shared_key_arg {
	const struct jwe_key *k;
	EVP_PKEY *priv;
	int failures;
};

static void *
shared_key_thread(void *p)
{
	struct shared_key_arg *a = p;
	struct error err;
	uint8_t pt[32], *out;
	size_t outlen;
	char *jwe;
	int i;

	for (i = 0; i < 50; i++) {
		randombytes_buf(pt, sizeof(pt));
		jwe = jwe_encrypt_key(a->k, pt, sizeof(pt), &err);
		if (jwe == NULL || jwe_decrypt(jwe, strlen(jwe), a->priv, &out,
		    &outlen, &err) != 0) {
			a->failures++;
		} else {
			if (outlen != sizeof(pt) || memcmp(out, pt, outlen) != 0)
				a->failures++;
			secret_free(out, outlen);
		}
		free(jwe);
	}
	return NULL;
}

static void
test_key_shared_by_threads(void **state)
{
	struct error err = { { 0 } };
	EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *pub = tee_pubkey(priv, "ECDH-ES+A256KW");
	struct jwe_key *k = jwe_key_new(pub, &err);
	struct shared_key_arg a[4];
	pthread_t t[4];
	int i;

	(void)state;
	assert_non_null(k);
	for (i = 0; i < 4; i++) {
		a[i].k = k;
		a[i].priv = priv;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, shared_key_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	jwe_key_free(k);
	json_decref(pub);
	EVP_PKEY_free(priv);
}

/* Fresh CEK, IV and ephemeral key every time. */
static void
test_randomized(void **state)
{
	EVP_PKEY *k = pem_key(EC_KEY_PEM);
	json_t *pub = tee_pubkey(k, "ECDH-ES+A256KW"), *a, *b;
	const char *const m[] = { "protected", "encrypted_key", "iv",
	    "ciphertext", "tag" };
	char *j1, *j2;
	size_t i;

	(void)state;
	j1 = encrypt_ok(pub, "same", 4);
	j2 = encrypt_ok(pub, "same", 4);
	a = parse(j1);
	b = parse(j2);
	for (i = 0; i < ARRAY_SIZE(m); i++)
		assert_string_not_equal(json_string_value(json_object_get(a,
		    m[i])), json_string_value(json_object_get(b, m[i])));
	json_decref(a);
	json_decref(b);
	free(j1);
	free(j2);
	json_decref(pub);
	EVP_PKEY_free(k);
}

/* KEK = SHA-256(00000001 || Z || u32be(14) || "ECDH-ES+A256KW" ||
 * u32be(0) || u32be(0) || u32be(256)), written out from RFC 7518. */
static void
raw_concat_kdf(const uint8_t z[32], uint8_t kek[32])
{
	uint8_t otherinfo[4 + 32 + 4 + 14 + 12];
	unsigned int kl = 0;

	memcpy(otherinfo, "\0\0\0\1", 4);
	memcpy(otherinfo + 4, z, 32);
	memcpy(otherinfo + 36, "\0\0\0\x0e" "ECDH-ES+A256KW", 18);
	memcpy(otherinfo + 54, "\0\0\0\0" "\0\0\0\0" "\0\0\1\0", 12);
	assert_int_equal(EVP_Digest(otherinfo, sizeof(otherinfo), kek, &kl,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(kl, 32);
}

/*
 * Independent check of the server construction for ECDH-ES+A256KW:
 * ECDH with the header's epk, the Concat KDF written out from RFC 7518
 * §4.6.2, AES-KW unwrap and AES-256-GCM with the received protected
 * string as AAD, all done here with plain EVP calls.
 */
static void
test_ecdh_crosscheck(void **state)
{
	static const char msg[] = "cross-check of the KDF";
	EVP_PKEY *priv = pem_key(EC_KEY_PEM), *eph = NULL;
	json_t *pub = tee_pubkey(priv, "ECDH-ES+A256KW"), *j, *hdr, *epk;
	EVP_PKEY_CTX *pctx;
	EVP_CIPHER_CTX *c;
	OSSL_PARAM params[3];
	uint8_t *x, *y, *ek, *iv, *ct, *tag, *ph, pt[64], point[65], z[32];
	uint8_t kek[32], cek[40];
	size_t xl, yl, ekl, ivl, ctl, tagl, phl, zl = sizeof(z);
	int n, f;
	char *jwe;

	(void)state;
	jwe = encrypt_ok(pub, msg, strlen(msg));
	j = parse(jwe);
	ph = member_bytes(j, "protected", &phl);
	hdr = parse((char *)ph);
	epk = json_object_get(hdr, "epk");
	x = member_bytes(epk, "x", &xl);
	y = member_bytes(epk, "y", &yl);
	assert_int_equal(xl, 32);
	assert_int_equal(yl, 32);
	point[0] = 4;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string("group",
	    (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string("pub", point, 65);
	params[2] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(pctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(pctx, &eph, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(pctx);

	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(pctx, eph), 1);
	assert_int_equal(EVP_PKEY_derive(pctx, z, &zl), 1);
	assert_int_equal(zl, 32);
	EVP_PKEY_CTX_free(pctx);

	raw_concat_kdf(z, kek);

	ek = member_bytes(j, "encrypted_key", &ekl);
	assert_int_equal(ekl, 40);
	c = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek,
	    NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, cek, &n, ek, 40), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, cek + n, &f), 1);
	assert_int_equal(n + f, 32);
	EVP_CIPHER_CTX_free(c);

	iv = member_bytes(j, "iv", &ivl);
	ct = member_bytes(j, "ciphertext", &ctl);
	tag = member_bytes(j, "tag", &tagl);
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, cek,
	    iv), 1);
	{
		const char *prot = json_string_value(json_object_get(j,
		    "protected"));

		assert_int_equal(EVP_DecryptUpdate(c, NULL, &n,
		    (const uint8_t *)prot, (int)strlen(prot)), 1);
	}
	assert_int_equal(EVP_DecryptUpdate(c, pt, &n, ct, (int)ctl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag),
	    1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pt + n, &f), 1);
	assert_int_equal(n + f, strlen(msg));
	assert_memory_equal(pt, msg, strlen(msg));
	EVP_CIPHER_CTX_free(c);

	free(x);
	free(y);
	free(ek);
	free(iv);
	free(ct);
	free(tag);
	free(ph);
	json_decref(hdr);
	json_decref(j);
	free(jwe);
	json_decref(pub);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(priv);
}

/*
 * A JWE to P-256 key priv whose protected header is sent as
 * {"alg","enc","epk"<sent_extra>} while the GCM AAD is computed over
 * {"alg","enc"<canon_pre>,"epk"<canon_extra>}: it decrypts only if
 * jwe_decrypt re-serializes the sent header to exactly that text.
 */
static char *
forge_jwe(EVP_PKEY *priv, const char *sent_extra, const char *canon_pre,
    const char *canon_extra, const char *msg)
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY_CTX *pctx;
	EVP_CIPHER_CTX *c;
	json_t *epk = jwk_from_pkey(eph, NULL);
	uint8_t z[32], kek[32], cek[32], ek[40], iv[12], tag[16], ct[256];
	size_t zl = sizeof(z), msglen = strlen(msg);
	char *epktext, *sent, *canon, *prot, *aad, *out, *s[4];
	int n, f;

	assert_true(msglen <= sizeof(ct));
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
	assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(pctx, priv), 1);
	assert_int_equal(EVP_PKEY_derive(pctx, z, &zl), 1);
	EVP_PKEY_CTX_free(pctx);
	raw_concat_kdf(z, kek);
	randombytes_buf(cek, sizeof(cek));
	randombytes_buf(iv, sizeof(iv));
	c = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek,
	    NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(c, ek, &n, cek, 32), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ek + n, &f), 1);
	assert_int_equal(n + f, 40);
	EVP_CIPHER_CTX_free(c);

	epktext = xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", json_string_value(json_object_get(epk, "x")),
	    json_string_value(json_object_get(epk, "y")));
	sent = xasprintf("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\","
	    "\"epk\":%s%s}", epktext, sent_extra);
	canon = xasprintf("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\""
	    "%s,\"epk\":%s%s}", canon_pre, epktext, canon_extra);
	prot = b64_encode(sent, strlen(sent), B64_URL_NOPAD);
	aad = b64_encode(canon, strlen(canon), B64_URL_NOPAD);

	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, cek,
	    iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, (uint8_t *)aad,
	    (int)strlen(aad)), 1);
	assert_int_equal(EVP_EncryptUpdate(c, ct, &n, (const uint8_t *)msg,
	    (int)msglen), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ct + n, &f), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag),
	    1);
	EVP_CIPHER_CTX_free(c);

	s[0] = b64_encode(ek, sizeof(ek), B64_URL_NOPAD);
	s[1] = b64_encode(iv, sizeof(iv), B64_URL_NOPAD);
	s[2] = b64_encode(ct, msglen, B64_URL_NOPAD);
	s[3] = b64_encode(tag, sizeof(tag), B64_URL_NOPAD);
	out = xasprintf("{\"protected\":\"%s\",\"encrypted_key\":\"%s\","
	    "\"iv\":\"%s\",\"ciphertext\":\"%s\",\"tag\":\"%s\"}", prot, s[0],
	    s[1], s[2], s[3]);
	for (n = 0; n < 4; n++)
		free(s[n]);
	free(epktext);
	free(sent);
	free(canon);
	free(prot);
	free(aad);
	json_decref(epk);
	EVP_PKEY_free(eph);
	return out;
}

/*
 * The guest's AAD is serde_json::to_string of the parsed header: members
 * after alg/enc in byte order (BTreeMap), nested keys too, strings with
 * only '"', '\\' and control characters escaped (\u00xx lowercase), '/'
 * and non-ASCII raw, floats in ryu's shortest form ("100.0", "1e16").
 * Any header JSON must therefore decrypt iff we reproduce that text.
 */
static void
test_header_canonical_forms(void **state)
{
	static const struct {
		const char *sent, *pre, *canon;
	} cases[] = {
		{ "", "", "" },
		/* apu goes into the AAD only: the KDF ignores it. */
		{ ",\"zz\":1,\"apu\":\"QWxpY2U\",\"b\":{\"z\":[],\"a\":{}},\"z\":0",
		  ",\"apu\":\"QWxpY2U\",\"b\":{\"a\":{},\"z\":[]}",
		  ",\"z\":0,\"zz\":1" },
		{ ",\"\\u00e9\":1,\"z\":2,\"Z\":3,\"ez\":4", ",\"Z\":3",
		  ",\"ez\":4,\"z\":2,\"\xc3\xa9\":1" },
		{ ",\"s\":\"\\u001F\\/\\u00e9\\ud83d\\ude00\\b\\f\\n\\r\\t\\\"\\\\"
		  "\\u007f\"", "",
		  ",\"s\":\"\\u001f/\xc3\xa9\xf0\x9f\x98\x80\\b\\f\\n\\r\\t\\\"\\\\"
		  "\x7f\"" },
		{ ",\"i\":-9223372036854775808,\"j\":[true,false,null]", "",
		  ",\"i\":-9223372036854775808,\"j\":[true,false,null]" },
		{ ",\"r\":[1E2,1e15,1e16,0.1,-0.5,123456.789e3]", "",
		  ",\"r\":[100.0,1000000000000000.0,1e16,0.1,-0.5,123456789.0]" },
		{ ",\"r\":[1.5e-7,0.00001,1e-6,2.5e300,-0.0,5e-324]", "",
		  ",\"r\":[1.5e-7,0.00001,1e-6,2.5e300,-0.0,5e-324]" },
	};
	EVP_PKEY *ec = pem_key(EC_KEY_PEM);
	struct error err = { { 0 } };
	uint8_t *pt;
	size_t i, ptlen;
	char *jwe;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		jwe = forge_jwe(ec, cases[i].sent, cases[i].pre, cases[i].canon,
		    "canon");
		if (jwe_decrypt(jwe, strlen(jwe), ec, &pt, &ptlen, &err) != 0)
			fail_msg("header case %zu: %s", i, err.msg);
		assert_int_equal(ptlen, 5);
		assert_memory_equal(pt, "canon", 5);
		secret_free(pt, ptlen);
		free(jwe);
	}
	/* The check can fail: a different canonical text is refused. */
	jwe = forge_jwe(ec, ",\"r\":1E2", "", ",\"r\":1E2", "canon");
	expect_decrypt_fail(jwe, ec, "jwe: AES-256-GCM authentication failed");
	free(jwe);
	jwe = forge_jwe(ec, ",\"s\":\"/\"", "", ",\"s\":\"\\/\"", "canon");
	expect_decrypt_fail(jwe, ec, "jwe: AES-256-GCM authentication failed");
	free(jwe);
	EVP_PKEY_free(ec);
}

static void
test_jwcrypto_vectors(void **state)
{
	EVP_PKEY *ec = pem_key(EC_KEY_PEM), *ec521 = pem_key(EC521_KEY_PEM);
	EVP_PKEY *rsa = pem_key(RSA_KEY_PEM);

	(void)state;
	expect_decrypt(EC_JWE, ec, EC_PT, strlen(EC_PT));
	expect_decrypt(EC_EXTRA_JWE, ec, EC_EXTRA_PT, strlen(EC_EXTRA_PT));
	expect_decrypt(EC521_JWE, ec521, EC521_PT, strlen(EC521_PT));
	expect_decrypt(RSA_JWE, rsa, RSA_PT, strlen(RSA_PT));
	expect_decrypt(RSA15_JWE, rsa, RSA15_PT, strlen(RSA15_PT));
	/* The guest recomputes the AAD canonically: this one fails there. */
	expect_decrypt_fail(EC_NONCANON_JWE, ec,
	    "jwe: AES-256-GCM authentication failed");
	(void)EC_NONCANON_PT;
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec521);
	EVP_PKEY_free(rsa);
}

/* jwe_encrypt(tee-pubkey) must fail with exactly msg. */
static void
expect_encrypt_fail(const char *pubtext, const char *msg)
{
	struct error err = { { 0 } };
	json_t *pub = parse(pubtext);

	assert_null(jwe_encrypt(pub, (const uint8_t *)"x", 1, &err));
	assert_string_equal(err.msg, msg);
	json_decref(pub);
}

static void
test_encrypt_rejects(void **state)
{
	struct error err = { { 0 } };
	EVP_PKEY *k;
	json_t *pub;
	char *s, *text;
	BIGNUM *bn;
	uint8_t nb[640];

	(void)state;
	/* P-384 is a valid JWK but not a KBS ECDH-ES curve. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	pub = tee_pubkey(k, "ECDH-ES+A256KW");
	assert_null(jwe_encrypt(pub, (const uint8_t *)"x", 1, &err));
	assert_string_equal(err.msg, "tee-pubkey.crv: unsupported curve "
	    "\"P-384\" for ECDH-ES+A256KW (expected P-256 or P-521)");
	json_decref(pub);
	EVP_PKEY_free(k);

	k = pem_key(RSA_KEY_PEM);
	pub = tee_pubkey(k, "RSA-OAEP");
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey.alg: unsupported algorithm "
	    "\"RSA-OAEP\" (expected ECDH-ES+A256KW, RSA-OAEP-256 or RSA1_5)");
	free(s);
	json_object_del(pub, "alg");
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey.alg: missing");
	free(s);
	/* RSA key with an EC algorithm. */
	json_object_set_new(pub, "alg", json_string("ECDH-ES+A256KW"));
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey: unsupported key type \"RSA\" for "
	    "ECDH-ES+A256KW (expected EC)");
	free(s);
	json_decref(pub);
	EVP_PKEY_free(k);

	k = pem_key(EC_KEY_PEM);
	pub = tee_pubkey(k, "dir");
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey.alg: unsupported algorithm \"dir\" "
	    "(expected ECDH-ES+A256KW, RSA-OAEP-256 or RSA1_5)");
	free(s);
	json_object_set_new(pub, "alg", json_string("ECDH-ES"));
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey.alg: unsupported algorithm "
	    "\"ECDH-ES\" (expected ECDH-ES+A256KW, RSA-OAEP-256 or RSA1_5)");
	free(s);
	json_object_set_new(pub, "alg", json_string("RSA-OAEP-256"));
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey: unsupported key type \"EC\" for "
	    "RSA-OAEP-256 (expected RSA)");
	free(s);
	/* A point off the curve is caught by the JWK decoder. */
	json_object_set_new(pub, "alg", json_string("ECDH-ES+A256KW"));
	json_object_set_new(pub, "y", json_string(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
	s = json_dumps(pub, JSON_COMPACT);
	expect_encrypt_fail(s, "tee-pubkey: jwk: (x, y) is not a point on "
	    "P-256");
	free(s);
	json_decref(pub);
	EVP_PKEY_free(k);

	/* OKP (X25519 would be the ECDH-ES curve there) and AKP. */
	expect_encrypt_fail("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"alg\":"
	    "\"ECDH-ES+A256KW\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaP"
	    "cHURo\"}", "tee-pubkey: unsupported key type \"OKP\" for "
	    "ECDH-ES+A256KW (expected EC)");
	expect_encrypt_fail("{\"kty\":\"AKP\",\"alg\":\"ML-KEM-768+A192KW\","
	    "\"pub\":\"AAAA\"}", "tee-pubkey.alg: unsupported algorithm "
	    "\"ML-KEM-768+A192KW\" (expected ECDH-ES+A256KW, RSA-OAEP-256 or "
	    "RSA1_5)");
	expect_encrypt_fail("{\"alg\":\"RSA1_5\"}", "tee-pubkey.kty: missing");
	expect_encrypt_fail("[1]", "tee-pubkey: not a JSON object");

	/* Moduli above 4096 bits: Trustee's rsa crate refuses them too. */
	bn = BN_new();
	assert_int_equal(BN_rand(bn, 5000, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD),
	    1);
	assert_int_equal(BN_bn2binpad(bn, nb, 625), 625);
	s = b64_encode(nb, 625, B64_URL_NOPAD);
	text = xasprintf("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":"
	    "\"%s\",\"e\":\"AQAB\"}", s);
	expect_encrypt_fail(text, "tee-pubkey.n: unsupported 5000-bit RSA "
	    "modulus (at most 4096 bits)");
	free(text);
	free(s);
	BN_free(bn);
}

/* Copy of jwe with member set to value (NULL: deleted). */
static char *
jwe_with(const char *jwe, const char *member, json_t *value)
{
	json_t *j = parse(jwe);
	char *s;

	if (value == NULL)
		json_object_del(j, member);
	else
		json_object_set_new(j, member, value);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Copy of jwe with one bit flipped in the decoded member. */
static char *
jwe_flip(const char *jwe, const char *member, size_t byte, uint8_t mask)
{
	json_t *j = parse(jwe);
	uint8_t *b;
	size_t len;
	char *s, *out;

	b = member_bytes(j, member, &len);
	assert_true(byte < len);
	b[byte] ^= mask;
	s = b64_encode(b, len, B64_URL_NOPAD);
	out = jwe_with(jwe, member, json_string(s));
	free(s);
	free(b);
	json_decref(j);
	return out;
}

/* Copy of jwe whose protected header is replaced by hdrtext. */
static char *
jwe_with_header(const char *jwe, const char *hdrtext)
{
	char *s = b64_encode(hdrtext, strlen(hdrtext), B64_URL_NOPAD);
	char *out = jwe_with(jwe, "protected", json_string(s));

	free(s);
	return out;
}

static void
tamper_all(const char *jwe, EVP_PKEY *priv, size_t ctlen)
{
	static const char *const members[] = {
		"encrypted_key", "iv", "ciphertext", "tag",
	};
	size_t i;
	char *t;

	for (i = 0; i < ARRAY_SIZE(members); i++) {
		if (strcmp(members[i], "ciphertext") == 0 && ctlen == 0)
			continue;
		t = jwe_flip(jwe, members[i], 0, 0x01);
		expect_decrypt_fail(t, priv, NULL);
		free(t);
		t = jwe_flip(jwe, members[i], 0, 0x80);
		expect_decrypt_fail(t, priv, NULL);
		free(t);
	}
	/* Header bits: the enc value "A256GCM" -> "A256GCL" changes the AAD
	 * (the guest does not check enc, only authenticates it). */
	{
		json_t *j = parse(jwe);
		size_t hl;
		uint8_t *h = member_bytes(j, "protected", &hl);
		char *enc = strstr((char *)h, "\"A256GCM\"");

		assert_non_null(enc);
		t = jwe_flip(jwe, "protected", (size_t)(enc - (char *)h) + 7,
		    0x01);
		free(h);
		json_decref(j);
	}
	expect_decrypt_fail(t, priv, "jwe: AES-256-GCM authentication failed");
	free(t);
}

static void
test_tamper(void **state)
{
	EVP_PKEY *ec = pem_key(EC_KEY_PEM), *rsa = pem_key(RSA_KEY_PEM);
	json_t *pub, *j, *hdr;
	char *jwe, *t, *h;
	uint8_t *ph;
	size_t phl;

	(void)state;
	pub = tee_pubkey(ec, "ECDH-ES+A256KW");
	jwe = encrypt_ok(pub, "secret", 6);
	json_decref(pub);
	tamper_all(jwe, ec, 6);

	/* A wrong tag byte gives the GCM error, a wrong wrapped key the
	 * AES-KW integrity error. */
	t = jwe_flip(jwe, "tag", 15, 0x40);
	expect_decrypt_fail(t, ec, "jwe: AES-256-GCM authentication failed");
	free(t);
	t = jwe_flip(jwe, "encrypted_key", 39, 0x40);
	expect_decrypt_fail(t, ec, "jwe.encrypted_key: AES key unwrap failed "
	    "(wrong key or corrupted data)");
	free(t);

	/* Header changes: an added member changes the canonical AAD; the
	 * same header with whitespace and another member order does not
	 * (the guest re-serializes, so neither do we). */
	j = parse(jwe);
	ph = member_bytes(j, "protected", &phl);
	hdr = parse((char *)ph);
	json_object_set_new(hdr, "kid", json_string("k"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	expect_decrypt_fail(t, ec, "jwe: AES-256-GCM authentication failed");
	free(t);
	free(h);
	json_object_del(hdr, "kid");
	h = json_dumps(hdr, JSON_INDENT(2) | JSON_SORT_KEYS);
	t = jwe_with_header(jwe, h);
	expect_decrypt(t, ec, "secret", 6);
	free(t);
	free(h);
	/* An epk from another curve or with a short coordinate. */
	json_object_set_new(json_object_get(hdr, "epk"), "crv",
	    json_string("P-521"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	expect_decrypt_fail(t, ec, "jwe header.epk.crv: \"P-521\" does not "
	    "match the private key's curve P-256");
	free(t);
	free(h);
	json_object_set_new(json_object_get(hdr, "epk"), "crv",
	    json_string("P-256"));
	json_object_set_new(json_object_get(hdr, "epk"), "x",
	    json_string("AAAA"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	expect_decrypt_fail(t, ec, "jwe header.epk: jwk.x: decodes to 3 bytes, "
	    "expected 32");
	free(t);
	free(h);
	json_decref(hdr);
	free(ph);
	json_decref(j);

	/* Truncations of the fixed-size members. */
	t = jwe_with(jwe, "tag", json_string("AAAAAAAAAAAAAAAAAAAA"));
	expect_decrypt_fail(t, ec, "jwe.tag: 15 bytes, expected 16");
	free(t);
	t = jwe_with(jwe, "iv", json_string("AAAAAAAAAAAAAAAAAAAAAA"));
	expect_decrypt_fail(t, ec, "jwe.iv: 16 bytes, expected 12");
	free(t);
	t = jwe_with(jwe, "encrypted_key", json_string("AAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));	/* 48 bytes */
	expect_decrypt_fail(t, ec, "jwe.encrypted_key: 48 bytes, expected 40");
	free(t);
	free(jwe);

	pub = tee_pubkey(rsa, "RSA-OAEP-256");
	jwe = encrypt_ok(pub, "", 0);
	json_decref(pub);
	tamper_all(jwe, rsa, 0);
	t = jwe_flip(jwe, "encrypted_key", 100, 0x04);
	expect_decrypt_fail(t, rsa, "jwe.encrypted_key: RSA decryption "
	    "failed");
	free(t);
	free(jwe);

	pub = tee_pubkey(rsa, "RSA1_5");
	jwe = encrypt_ok(pub, "abc", 3);
	json_decref(pub);
	tamper_all(jwe, rsa, 3);
	free(jwe);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void
test_wrong_key(void **state)
{
	EVP_PKEY *ec = pem_key(EC_KEY_PEM), *rsa = pem_key(RSA_KEY_PEM);
	EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ec521 = pem_key(EC521_KEY_PEM);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	(void)state;
	expect_decrypt_fail(EC_JWE, ec2, "jwe.encrypted_key: AES key unwrap "
	    "failed (wrong key or corrupted data)");
	expect_decrypt_fail(EC_JWE, ec521, "jwe header.epk.crv: \"P-256\" does "
	    "not match the private key's curve P-521");
	expect_decrypt_fail(EC_JWE, p384, "jwe: ECDH-ES+A256KW needs a P-256 "
	    "or P-521 private key");
	expect_decrypt_fail(EC_JWE, rsa, "jwe: ECDH-ES+A256KW needs a P-256 "
	    "or P-521 private key");
	expect_decrypt_fail(RSA_JWE, ec, "jwe: RSA-OAEP-256 needs an RSA "
	    "private key");
	expect_decrypt_fail(RSA15_JWE, ec, "jwe: RSA1_5 needs an RSA private "
	    "key");
	expect_decrypt_fail(RSA_JWE, rsa2, "jwe.encrypted_key: RSA decryption "
	    "failed");
	/* PKCS#1 v1.5 with a wrong key fails the padding check or, rarely,
	 * yields a wrong-length key; either way it fails. */
	expect_decrypt_fail(RSA15_JWE, rsa2, NULL);
	/* OAEP-256 ciphertext decrypted as RSA1_5 and vice versa. */
	{
		char *h = xasprintf("{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}");
		char *t = jwe_with_header(RSA_JWE, h);

		expect_decrypt_fail(t, rsa, NULL);
		free(t);
		free(h);
	}
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(ec521);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
}

static void
test_decrypt_parse(void **state)
{
	EVP_PKEY *ec = pem_key(EC_KEY_PEM);
	char *t, *s;
	size_t i;

	(void)state;
	/* "aad" is optional; a string is ignored, null is an error. */
	t = jwe_with(EC_JWE, "aad", json_string("ignored, not base64 !"));
	expect_decrypt(t, ec, EC_PT, strlen(EC_PT));
	free(t);
	t = jwe_with(EC_JWE, "aad", json_null());
	expect_decrypt_fail(t, ec, "jwe.aad: not a string");
	free(t);
	t = jwe_with(EC_JWE, "aad", json_integer(1));
	expect_decrypt_fail(t, ec, "jwe.aad: not a string");
	free(t);
	/* Unknown members are ignored (serde does not deny them). */
	t = jwe_with(EC_JWE, "header", json_pack("{s:s}", "kid", "x"));
	expect_decrypt(t, ec, EC_PT, strlen(EC_PT));
	free(t);

	t = jwe_with(EC_JWE, "tag", NULL);
	expect_decrypt_fail(t, ec, "jwe.tag: missing");
	free(t);
	t = jwe_with(EC_JWE, "protected", NULL);
	expect_decrypt_fail(t, ec, "jwe.protected: missing");
	free(t);
	t = jwe_with(EC_JWE, "iv", json_integer(12));
	expect_decrypt_fail(t, ec, "jwe.iv: not a string");
	free(t);
	t = jwe_with(EC_JWE, "ciphertext", json_null());
	expect_decrypt_fail(t, ec, "jwe.ciphertext: not a string");
	free(t);
	/* Padding and the standard alphabet are refused. */
	{
		json_t *j = parse(EC_JWE);

		s = xasprintf("%s==", json_string_value(json_object_get(j,
		    "tag")));
		json_decref(j);
	}
	t = jwe_with(EC_JWE, "tag", json_string(s));
	expect_decrypt_fail(t, ec, "jwe.tag: not base64url without padding");
	free(t);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '-' || s[i] == '_')
			s[i] = s[i] == '-' ? '+' : '/';
	s[strcspn(s, "=")] = '\0';
	t = jwe_with(EC_JWE, "tag", json_string(s));
	if (strpbrk(s, "+/") != NULL)
		expect_decrypt_fail(t, ec, "jwe.tag: not base64url without "
		    "padding");
	free(t);
	free(s);

	/* Bytes >= 0x80 inside a base64 quantum (libsodium alone would
	 * accept them). */
	t = jwe_with(EC_JWE, "iv", json_string("3W4XpM-7GzV7A9\xc4\xab"));
	expect_decrypt_fail(t, ec, "jwe.iv: not base64url without padding");
	free(t);

	expect_decrypt_fail("", ec, NULL);
	expect_decrypt_fail("[]", ec, "jwe: not a JSON object");
	expect_decrypt_fail("{\"protected\":\"e30\",\"protected\":\"e30\"}", ec,
	    NULL);
	/* Header problems. */
	t = jwe_with_header(EC_JWE, "[]");
	expect_decrypt_fail(t, ec, "jwe.protected: not a JSON object");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}");
	expect_decrypt_fail(t, ec, "jwe header.alg: unsupported algorithm "
	    "\"dir\"");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"RSA-OAEP\",\"enc\":"
	    "\"A256GCM\"}");
	expect_decrypt_fail(t, ec, "jwe header.alg: unsupported algorithm "
	    "\"RSA-OAEP\"");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\"}");
	expect_decrypt_fail(t, ec, "jwe header.enc: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"enc\":\"A256GCM\"}");
	expect_decrypt_fail(t, ec, "jwe header.alg: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\"}");
	expect_decrypt_fail(t, ec, "jwe header.epk: missing or not an object");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\",\"epk\":{\"crv\":\"P-256\",\"x\":\"AAAA\"}}");
	expect_decrypt_fail(t, ec, "jwe header.epk.y: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\",\"alg\":\"x\"}");
	expect_decrypt_fail(t, ec, NULL);
	free(t);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_p256),
		cmocka_unit_test(test_roundtrip_p521),
		cmocka_unit_test(test_roundtrip_rsa),
		cmocka_unit_test(test_randomized),
		cmocka_unit_test(test_key_reuse),
		cmocka_unit_test(test_key_adopt),
		cmocka_unit_test(test_key_shared_by_threads),
		cmocka_unit_test(test_ecdh_crosscheck),
		cmocka_unit_test(test_header_canonical_forms),
		cmocka_unit_test(test_jwcrypto_vectors),
		cmocka_unit_test(test_encrypt_rejects),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_decrypt_parse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
