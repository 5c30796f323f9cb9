/*
 * jwefix.h: the fixture of the KBS JWE unit tests (test_jwe_*.c): JWEs
 * produced by Python jwcrypto with their keys and plaintexts (EC_*,
 * EC521_*, RSA_*, RSA15_*), and helpers that load a PEM key, make the
 * TEE public key JWK the guest sends, encrypt, decode a base64url member,
 * and decrypt expecting a plaintext or exactly an error message.
 * Header-only; include after <cmocka.h>. Every helper fails the running
 * test on error.
 */
#ifndef TRUSTEE_JWEFIX_H
#define TRUSTEE_JWEFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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

static inline json_t *
jwefix_parse(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		fail_msg("bad JSON: %s: %s", jerr.text, s);
	return j;
}

static inline EVP_PKEY *
jwefix_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(k);
	return k;
}

/* Decoded base64url member of a JSON object. Not inline: inlined, GCC's
 * -Wdangling-pointer takes the result for a pointer to the local handed to
 * b64_decode and refuses callers that search the decoded bytes. */
static __attribute__((unused, noinline)) uint8_t *
jwefix_member(const json_t *obj, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, name));
	uint8_t *out;

	assert_non_null(s);
	assert_int_equal(b64_decode(s, strlen(s), B64_URL_NOPAD, &out, len),
	    0);
	return out;
}

static inline void
jwefix_decrypt(const char *jwe, EVP_PKEY *priv, const void *want,
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
static inline void
jwefix_decrypt_fail(const char *jwe, EVP_PKEY *priv, const char *msg)
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
static inline json_t *
jwefix_pubkey(EVP_PKEY *priv, const char *alg)
{
	json_t *j = jwk_from_pkey(priv, alg);

	assert_non_null(j);
	return j;
}

static inline char *
jwefix_encrypt(const json_t *pub, const void *pt, size_t ptlen)
{
	struct error err = { { 0 } };
	char *jwe = jwe_encrypt(pub, pt, ptlen, &err);

	if (jwe == NULL)
		fail_msg("encrypt failed: %s", err.msg);
	return jwe;
}

#endif
