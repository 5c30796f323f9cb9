/*
 * test_jwk.c: JWK <-> EVP_PKEY and the TeePubKey normalization.
 * Known answers come from RFC 7517 A.1/A.2, RFC 8037 A.1 and keys whose
 * public coordinates were computed independently with pyca/cryptography.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "../../lib/b64.h"
#include "../../lib/jwk.h"
#include "../../lib/util.h"

/* RFC 7517 Appendix A.1. */
#define RFC_EC_X "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define RFC_EC_Y "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
/* RFC 7517 Appendix A.2: the private scalar of that key. */
#define RFC_EC_D "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"
#define RFC_RSA_N \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu" \
	"1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4H" \
	"c5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqz" \
	"s8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4" \
	"vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8a" \
	"wapJzKnqDKgw"
/* RFC 8037 Appendix A.1/A.2. */
#define RFC_ED_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC_ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
/* A 1024-bit modulus (too small) with e = 65537. */
#define RSA1024_N \
	"mdQuHQIEYHZwmq6AhKteQQtEJcaeEVC1Usr7JvA-ff68OmgxCtoNRfXF8WTlodjCq8" \
	"cI6KX8Sgx34QsjhMeA6ETk3cD_I1181ClHOGH8cZbsdNlbLLcqGHhFGmpScMChlWke" \
	"Zcrm3eCAMfZ9hA3Sj6-EGf3JHftlkaJiugdaUw0"

/* P-256 key whose x starts with a zero byte (padding must be kept). */
static const char P256_LZ_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzMH7wneflobK/Rll\n"
	"dGTkf84riWigCqUPGT+6A32JZWahRANCAAQAaPRRK78cbnPh/FlL55xnyKG9SGfd\n"
	"nNtFLl150uu7EZVfIN2jxCtO03S+DqMcGLCdktfj3MZXOq4ING74yd2k\n"
	"-----END PRIVATE KEY-----\n";
#define P256_LZ_X "AGj0USu_HG5z4fxZS-ecZ8ihvUhn3ZzbRS5dedLruxE"
#define P256_LZ_Y "lV8g3aPEK07TdL4OoxwYsJ2S1-Pcxlc6rgg0bvjJ3aQ"

/* P-521 key whose x starts with two zero bytes. */
static const char P521_LZ_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBbrpXj63+hcUfMS2E\n"
	"jaskYm9Z6mDNxnqbrdY65kEitYINA/AgfY7MvWGoVSUpxktkihnUZwOVdNk7h5Dr\n"
	"wjQb9uChgYkDgYYABAAAb4BBIRTm4siO1rzt+FQHS4JQJIEnoaXuxqpW/5bEfZ8O\n"
	"3JFW0r9RuZV1FRo+lX3KmE4WiUGbE3aqAlG6qGqKQgGH0AKIk15HmU66aa0Bbe63\n"
	"1YsUAdZxICxjZxh6S6gOJNmcS0BQC5NfUF8JI1J4WU2bxaK++WPUYLemLOkjemzM\n"
	"Ng==\n"
	"-----END PRIVATE KEY-----\n";
#define P521_LZ_X "AABvgEEhFObiyI7WvO34VAdLglAkgSehpe7Gqlb_lsR9nw7ckVbSv1G5lXUVGj" \
	"6VfcqYThaJQZsTdqoCUbqoaopC"
#define P521_LZ_Y "AYfQAoiTXkeZTrpprQFt7rfVixQB1nEgLGNnGHpLqA4k2ZxLQFALk19QXwkjUn" \
	"hZTZvFor75Y9Rgt6Ys6SN6bMw2"

static json_t *
parse(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", jerr.text, s);
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

/* Public part of a key, as a separate EVP_PKEY (PEM round trip). */
static EVP_PKEY *
public_only(EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	EVP_PKEY *pub;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
	pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pub);
	return pub;
}

/* jwk_to_pkey(text) must fail with exactly msg. */
static void
expect_reject(const char *text, const char *msg)
{
	struct error err = { { 0 } };
	json_t *j = parse(text);
	EVP_PKEY *k = (EVP_PKEY *)1;

	assert_int_equal(jwk_to_pkey(j, &k, &err), -1);
	assert_null(k);
	assert_string_equal(err.msg, msg);
	json_decref(j);
}

static EVP_PKEY *
expect_accept(const char *text)
{
	struct error err = { { 0 } };
	json_t *j = parse(text);
	EVP_PKEY *k = NULL;

	if (jwk_to_pkey(j, &k, &err) != 0)
		fail_msg("rejected: %s: %s", err.msg, text);
	json_decref(j);
	return k;
}

static void
assert_jwk_text(EVP_PKEY *k, const char *alg, const char *want)
{
	json_t *j = jwk_from_pkey(k, alg);
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, want);
	free(s);
	json_decref(j);
}

static void
test_rfc7517_ec(void **state)
{
	EVP_PKEY *k;
	char group[64];

	(void)state;
	k = expect_accept("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC_EC_X
	    "\",\"y\":\"" RFC_EC_Y "\",\"use\":\"enc\",\"kid\":\"1\"}");
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k,
	    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL), 1);
	assert_string_equal(group, "prime256v1");
	/* Extra members are dropped, order kty, crv, alg, x, y. */
	assert_jwk_text(k, NULL, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    RFC_EC_X "\",\"y\":\"" RFC_EC_Y "\"}");
	assert_jwk_text(k, "ES256", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"alg\":\"ES256\",\"x\":\"" RFC_EC_X "\",\"y\":\"" RFC_EC_Y "\"}");
	EVP_PKEY_free(k);
}

/* The private scalar of RFC 7517 A.2 belongs to the public key of A.1:
 * OpenSSL's pairwise check of (d, x, y) must pass, and jwk_from_pkey of
 * the private key gives the A.1 coordinates. */
static void
test_rfc7517_ec_private_matches(void **state)
{
	EVP_PKEY *pub, *priv = NULL;
	EVP_PKEY_CTX *ctx, *chk;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	BIGNUM *bn;
	uint8_t pt[65], *d;
	size_t ptlen = 0, dlen;

	(void)state;
	pub = expect_accept("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    RFC_EC_X "\",\"y\":\"" RFC_EC_Y "\"}");
	assert_int_equal(EVP_PKEY_get_octet_string_param(pub,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen), 1);
	assert_int_equal(ptlen, 65);
	assert_int_equal(b64_decode(RFC_EC_D, strlen(RFC_EC_D), B64_URL_NOPAD,
	    &d, &dlen), 0);
	assert_int_equal(dlen, 32);
	bn = BN_bin2bn(d, (int)dlen, NULL);
	bld = OSSL_PARAM_BLD_new();
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld,
	    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
	    bn), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &priv, EVP_PKEY_KEYPAIR,
	    params), 1);
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	assert_int_equal(EVP_PKEY_pairwise_check(chk), 1);
	assert_jwk_text(priv, NULL, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    RFC_EC_X "\",\"y\":\"" RFC_EC_Y "\"}");
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	secret_free(d, dlen);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

static void
test_rfc7517_rsa(void **state)
{
	EVP_PKEY *k;

	(void)state;
	k = expect_accept("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":"
	    "\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
	assert_true(EVP_PKEY_is_a(k, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	assert_jwk_text(k, "RS256", "{\"kty\":\"RSA\",\"alg\":\"RS256\","
	    "\"n\":\"" RFC_RSA_N "\",\"e\":\"AQAB\"}");
	assert_jwk_text(k, NULL, "{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N
	    "\",\"e\":\"AQAB\"}");
	EVP_PKEY_free(k);
}

static void
test_rfc8037_ed25519(void **state)
{
	EVP_PKEY *priv, *pub;
	uint8_t *d;
	size_t dlen;

	(void)state;
	assert_int_equal(b64_decode(RFC_ED_D, strlen(RFC_ED_D), B64_URL_NOPAD,
	    &d, &dlen), 0);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dlen);
	secret_free(d, dlen);
	assert_non_null(priv);
	assert_jwk_text(priv, "EdDSA", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"alg\":\"EdDSA\",\"x\":\"" RFC_ED_X "\"}");
	pub = expect_accept("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""
	    RFC_ED_X "\"}");
	assert_int_equal(EVP_PKEY_eq(priv, pub), 1);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* Coordinates keep their leading zero bytes (fixed length). */
static void
test_fixed_length_coordinates(void **state)
{
	EVP_PKEY *k, *back;

	(void)state;
	k = pem_key(P256_LZ_PEM);
	assert_jwk_text(k, "ECDH-ES+A256KW", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"alg\":\"ECDH-ES+A256KW\",\"x\":\"" P256_LZ_X "\",\"y\":\""
	    P256_LZ_Y "\"}");
	back = expect_accept("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    P256_LZ_X "\",\"y\":\"" P256_LZ_Y "\"}");
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(back);

	k = pem_key(P521_LZ_PEM);
	assert_jwk_text(k, NULL, "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\""
	    P521_LZ_X "\",\"y\":\"" P521_LZ_Y "\"}");
	back = expect_accept("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\""
	    P521_LZ_X "\",\"y\":\"" P521_LZ_Y "\"}");
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(back);
}

static void
roundtrip(EVP_PKEY *k, int want_bits)
{
	struct error err = { { 0 } };
	json_t *j = jwk_from_pkey(k, "X");
	EVP_PKEY *back = NULL, *pub;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "alg")), "X");
	if (jwk_to_pkey(j, &back, &err) != 0)
		fail_msg("round trip rejected: %s", err.msg);
	assert_int_equal(EVP_PKEY_get_bits(back), want_bits);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	pub = public_only(k);
	assert_int_equal(EVP_PKEY_eq(pub, back), 1);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(back);
	json_decref(j);
}

static void
test_roundtrip_all_types(void **state)
{
	static const struct {
		const char *crv;
		int bits;
	} ec[] = { { "P-256", 256 }, { "P-384", 384 }, { "P-521", 521 } };
	EVP_PKEY *k;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ec); i++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ec[i].crv);
		assert_non_null(k);
		roundtrip(k, ec[i].bits);
		EVP_PKEY_free(k);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	roundtrip(k, 2048);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	roundtrip(k, 3072);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	roundtrip(k, 256);
	EVP_PKEY_free(k);
	/* X25519 has no JWK form here. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_null(jwk_from_pkey(k, NULL));
	EVP_PKEY_free(k);
	assert_null(jwk_from_pkey(NULL, NULL));
}

static void
test_reject_ec(void **state)
{
	EVP_PKEY *k;

	(void)state;
	/* 31-byte x (first byte dropped). */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"oEJM0hwpRIOKLXXJKzfnbqINnwCJOjtO7oo8Cq_sPg\",\"y\":\"" RFC_EC_Y
	    "\"}", "jwk.x: decodes to 31 bytes, expected 32");
	/* A P-256 coordinate for P-384. */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" RFC_EC_X
	    "\",\"y\":\"" RFC_EC_Y "\"}",
	    "jwk.x: decodes to 32 bytes, expected 48");
	/* y changed in its last byte: not on the curve. */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC_EC_X
	    "\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyE\"}",
	    "jwk: (x, y) is not a point on P-256");
	/* x = y = 0. */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    "jwk: (x, y) is not a point on P-256");
	/* (5, y) is on P-256, and 5 + p still fits in 32 bytes: the same
	 * point with a non-canonical x, refused when decoded. */
	k = expect_accept("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAU\",\"y\":"
	    "\"RZJDuapYGAb-kTvOmYF63hHKUDxk2aPFM0FcCDJI-8w\"}");
	EVP_PKEY_free(k);
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"_____wAAAAEAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAQ\",\"y\":"
	    "\"RZJDuapYGAb-kTvOmYF63hHKUDxk2aPFM0FcCDJI-8w\"}",
	    "jwk: (x, y) is not a point on P-256");
	/* x = p (the field prime), an out-of-range coordinate. */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"_____wAAAAEAAAAAAAAAAAAAAAD_______________8\",\"y\":\""
	    RFC_EC_Y "\"}", "jwk: (x, y) is not a point on P-256");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC_EC_X
	    "\"}", "jwk.y: missing");
	expect_reject("{\"kty\":\"EC\",\"x\":\"" RFC_EC_X "\",\"y\":\""
	    RFC_EC_Y "\"}", "jwk.crv: missing");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":5,\"y\":\""
	    RFC_EC_Y "\"}", "jwk.x: not a string");
	expect_reject("{\"kty\":\"EC\",\"crv\":256,\"x\":\"" RFC_EC_X
	    "\",\"y\":\"" RFC_EC_Y "\"}", "jwk.crv: not a string");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"" RFC_EC_X
	    "\",\"y\":\"" RFC_EC_Y "\"}", "jwk.crv: unsupported curve "
	    "\"P-192\" (expected P-256, P-384 or P-521)");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\""
	    RFC_EC_X "\",\"y\":\"" RFC_EC_Y "\"}", "jwk.crv: unsupported "
	    "curve \"secp256k1\" (expected P-256, P-384 or P-521)");
	/* Padding, standard alphabet, whitespace. */
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC_EC_X
	    "=\",\"y\":\"" RFC_EC_Y "\"}",
	    "jwk.x: not base64url without padding");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC_EC_X
	    "\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8P+ltmWWlbbM4IFyM\"}",
	    "jwk.y: not base64url without padding");
	/* "7T" -> U+012B (bytes c4 ab): libsodium alone would accept it. */
	expect_reject("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_\xc4\xabyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
	    "jwk.x: not base64url without padding");
	expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\" " RFC_EC_X
	    "\",\"y\":\"" RFC_EC_Y "\"}",
	    "jwk.x: not base64url without padding");
}

static void
test_reject_rsa(void **state)
{
	(void)state;
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RSA1024_N "\",\"e\":"
	    "\"AQAB\"}", "jwk.n: 1024-bit modulus, expected 2048..8192 bits");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":\"AQ\"}",
	    "jwk.e: exponent must be odd and greater than 1");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":\"Ag\"}",
	    "jwk.e: exponent must be odd and greater than 1");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":\"\"}",
	    "jwk.e: exponent must be odd and greater than 1");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\"}",
	    "jwk.e: missing");
	expect_reject("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", "jwk.n: missing");
	expect_reject("{\"kty\":\"RSA\",\"n\":[],\"e\":\"AQAB\"}",
	    "jwk.n: not a string");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":65537}",
	    "jwk.e: not a string");
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":"
	    "\"AQAB==\"}", "jwk.e: not base64url without padding");
	/* An even modulus: the RFC modulus with its last byte 0x82. */
	expect_reject("{\"kty\":\"RSA\",\"n\":\"" "0vx7agoebGcQSuuPiLJXZptN9"
	    "nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
	    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5"
	    "w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
	    "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd"
	    "2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgg"
	    "\",\"e\":\"AQAB\"}", "jwk.n: modulus is even");
}

static void
test_reject_other(void **state)
{
	struct error err = { { 0 } };
	EVP_PKEY *k = NULL;
	json_t *j;

	(void)state;
	expect_reject("{\"crv\":\"P-256\"}", "jwk.kty: missing");
	expect_reject("{\"kty\":null}", "jwk.kty: not a string");
	expect_reject("{\"kty\":\"oct\",\"k\":\"AAAA\"}", "jwk.kty: "
	    "unsupported key type \"oct\" (expected EC, RSA or OKP)");
	expect_reject("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" RFC_ED_X
	    "\"}", "jwk.crv: unsupported OKP curve \"X25519\" "
	    "(expected Ed25519)");
	expect_reject("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"WpgBgrEKt9VL_tPJZAc6DuFy89qmIyWvAhpo9wdRGg\"}",
	    "jwk.x: decodes to 31 bytes, expected 32");
	/* Control characters are escaped in messages. */
	expect_reject("{\"kty\":\"E\\nC\"}", "jwk.kty: unsupported key type "
	    "\"E\\x0aC\" (expected EC, RSA or OKP)");
	j = json_array();
	assert_int_equal(jwk_to_pkey(j, &k, &err), -1);
	assert_string_equal(err.msg, "jwk: not a JSON object");
	json_decref(j);
	/* A NUL inside kty must not pass as "EC". */
	j = json_pack("{s:s%}", "kty", "EC\0x", (size_t)4);
	assert_int_equal(jwk_to_pkey(j, &k, &err), -1);
	assert_string_equal(err.msg, "jwk.kty: contains a NUL character");
	json_decref(j);
}

static void
expect_normalized(const char *in, const char *want)
{
	struct error err = { { 0 } };
	json_t *j = parse(in), *out;
	char *s;

	out = jwk_tee_pubkey_normalize(j, &err);
	if (out == NULL)
		fail_msg("normalize rejected: %s", err.msg);
	s = json_dumps(out, JSON_COMPACT);
	assert_string_equal(s, want);
	free(s);
	json_decref(out);
	json_decref(j);
}

static void
expect_not_normalized(const char *in, const char *msg)
{
	struct error err = { { 0 } };
	json_t *j = parse(in);

	assert_null(jwk_tee_pubkey_normalize(j, &err));
	assert_string_equal(err.msg, msg);
	json_decref(j);
}

static void
test_normalize(void **state)
{
	(void)state;
	/* The guest's member order, plus extras that must disappear. */
	expect_normalized("{\"y\":\"Y\",\"use\":\"enc\",\"kty\":\"EC\","
	    "\"kid\":\"1\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
	    "\"x\":\"X\",\"d\":{\"secret\":1}}",
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
	    "\"x\":\"X\",\"y\":\"Y\"}");
	expect_normalized("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":"
	    "\"N\",\"e\":\"AQAB\",\"kid\":7}", "{\"kty\":\"RSA\",\"alg\":"
	    "\"RSA-OAEP-256\",\"n\":\"N\",\"e\":\"AQAB\"}");
	expect_normalized("{\"pub\":\"P\",\"kty\":\"AKP\",\"alg\":"
	    "\"ML-KEM-768+A192KW\",\"x\":\"ignored\"}", "{\"kty\":\"AKP\","
	    "\"alg\":\"ML-KEM-768+A192KW\",\"pub\":\"P\"}");
	/* Values are not interpreted, only required to be strings. */
	expect_normalized("{\"kty\":\"EC\",\"crv\":\"\",\"alg\":\"\",\"x\":"
	    "\"\",\"y\":\"\\u00e9/\"}", "{\"kty\":\"EC\",\"crv\":\"\",\"alg\":"
	    "\"\",\"x\":\"\",\"y\":\"\xc3\xa9/\"}");

	expect_not_normalized("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"X\","
	    "\"y\":\"Y\"}", "tee-pubkey.alg: missing");
	expect_not_normalized("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\","
	    "\"n\":\"N\"}", "tee-pubkey.e: missing");
	expect_not_normalized("{\"kty\":\"AKP\",\"alg\":\"A\"}",
	    "tee-pubkey.pub: missing");
	expect_not_normalized("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":"
	    "\"A\",\"x\":1,\"y\":\"Y\"}", "tee-pubkey.x: not a string");
	expect_not_normalized("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":null,"
	    "\"x\":\"X\",\"y\":\"Y\"}", "tee-pubkey.alg: not a string");
	expect_not_normalized("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":"
	    "\"EdDSA\",\"x\":\"X\"}", "tee-pubkey.kty: unsupported key type "
	    "\"OKP\" (expected EC, RSA or AKP)");
	expect_not_normalized("{\"alg\":\"A\"}", "tee-pubkey.kty: missing");
	expect_not_normalized("[]", "tee-pubkey: not a JSON object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7517_ec),
		cmocka_unit_test(test_rfc7517_ec_private_matches),
		cmocka_unit_test(test_rfc7517_rsa),
		cmocka_unit_test(test_rfc8037_ed25519),
		cmocka_unit_test(test_fixed_length_coordinates),
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_reject_ec),
		cmocka_unit_test(test_reject_rsa),
		cmocka_unit_test(test_reject_other),
		cmocka_unit_test(test_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
