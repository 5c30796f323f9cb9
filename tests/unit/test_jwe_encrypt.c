/*
 * test_jwe_encrypt.c: the KBS JWE resource response as the server makes
 * it (jwe_encrypt, jwe_key_new, jwe_key_adopt, jwe_encrypt_key): round
 * trips for ECDH-ES+A256KW on P-256 and P-521, RSA-OAEP-256 and RSA1_5,
 * with the exact wire form pinned (member order, lengths, protected
 * header bytes); fresh CEK, IV and ephemeral key every time; one key
 * reused, adopted or shared by threads; and the TEE public keys refused,
 * each with its exact message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include <openssl/bn.h>
#include <sodium.h>

#include "jwefix.h"

#define EC_HDR_PREFIX \
	"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":"

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
	json_t *j = jwefix_parse(jwe), *hdr;
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

	free(jwefix_member(j, "encrypted_key", &len));
	assert_int_equal(len, eklen);
	free(jwefix_member(j, "iv", &len));
	assert_int_equal(len, 12);
	free(jwefix_member(j, "tag", &len));
	assert_int_equal(len, 16);
	free(jwefix_member(j, "ciphertext", &len));
	assert_int_equal(len, ptlen);

	b = jwefix_member(j, "protected", &len);
	if (crv == NULL) {
		snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"enc\":"
		    "\"A256GCM\"}", alg);
		assert_string_equal((char *)b, want);
	} else {
		snprintf(want, sizeof(want), EC_HDR_PREFIX "\"%s\",\"kty\":"
		    "\"EC\",\"x\":\"", crv);
		assert_int_equal(strncmp((char *)b, want, strlen(want)), 0);
		hdr = jwefix_parse((char *)b);
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
	json_t *pub = jwefix_pubkey(priv, alg);
	uint8_t *pt;
	size_t i;
	char *jwe;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		pt = xmalloc(sizes[i]);
		randombytes_buf(pt, sizes[i]);
		jwe = jwefix_encrypt(pub, pt, sizes[i]);
		check_wire(jwe, alg, crv, eklen, sizes[i]);
		jwefix_decrypt(jwe, priv, pt, sizes[i]);
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
	EVP_PKEY *k2048 = jwefix_key(RSA_KEY_PEM);
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
	json_t *pub = jwefix_pubkey(priv, alg), *j, *h;
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
		jwefix_decrypt(jwe, priv, pt, sizeof(pt));
		j = jwefix_parse(jwe);
		b = jwefix_member(j, "protected", &len);
		if (crv != NULL && first != NULL) {
			h = jwefix_parse((char *)b);
			assert_string_not_equal(json_string_value(
			    json_object_get(json_object_get(h, "epk"), "x")),
			    first);
			json_decref(h);
		} else if (crv != NULL) {
			h = jwefix_parse((char *)b);
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
	EVP_PKEY *rsa = jwefix_key(RSA_KEY_PEM);

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
	EVP_PKEY *rsa = jwefix_key(RSA_KEY_PEM), *pk;
	json_t *pub = jwefix_pubkey(priv, "ECDH-ES+A256KW");
	struct jwe_key *k;
	uint8_t pt[16] = "adopted";
	char *jwe;

	(void)state;
	assert_int_equal(jwk_to_pkey(pub, &pk, &err), 0);
	k = jwe_key_adopt(pk, "ECDH-ES+A256KW", &err);
	assert_non_null(k);
	jwe = jwe_encrypt_key(k, pt, sizeof(pt), &err);
	assert_non_null(jwe);
	jwefix_decrypt(jwe, priv, pt, sizeof(pt));
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
	json_t *pub = jwefix_pubkey(priv, "ECDH-ES+A256KW");
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
	EVP_PKEY *k = jwefix_key(EC_KEY_PEM);
	json_t *pub = jwefix_pubkey(k, "ECDH-ES+A256KW"), *a, *b;
	const char *const m[] = { "protected", "encrypted_key", "iv",
	    "ciphertext", "tag" };
	char *j1, *j2;
	size_t i;

	(void)state;
	j1 = jwefix_encrypt(pub, "same", 4);
	j2 = jwefix_encrypt(pub, "same", 4);
	a = jwefix_parse(j1);
	b = jwefix_parse(j2);
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

/* jwe_encrypt(tee-pubkey) must fail with exactly msg. */
static void
expect_encrypt_fail(const char *pubtext, const char *msg)
{
	struct error err = { { 0 } };
	json_t *pub = jwefix_parse(pubtext);

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
	pub = jwefix_pubkey(k, "ECDH-ES+A256KW");
	assert_null(jwe_encrypt(pub, (const uint8_t *)"x", 1, &err));
	assert_string_equal(err.msg, "tee-pubkey.crv: unsupported curve "
	    "\"P-384\" for ECDH-ES+A256KW (expected P-256 or P-521)");
	json_decref(pub);
	EVP_PKEY_free(k);

	k = jwefix_key(RSA_KEY_PEM);
	pub = jwefix_pubkey(k, "RSA-OAEP");
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

	k = jwefix_key(EC_KEY_PEM);
	pub = jwefix_pubkey(k, "dir");
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
		cmocka_unit_test(test_encrypt_rejects),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
