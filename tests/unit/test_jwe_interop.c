/*
 * test_jwe_interop.c: the KBS JWE against constructions made elsewhere:
 * the ECDH-ES Concat KDF + AES-KW + GCM construction cross-checked with an
 * independent computation written from the raw RFC 7518 formula; headers
 * forged to check that jwe_decrypt recomputes the guest's canonical AAD
 * (serde_json's member order, escapes and float forms); and JWEs
 * produced by Python jwcrypto (jwefix.h), decrypted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "jwefix.h"

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
	EVP_PKEY *priv = jwefix_key(EC_KEY_PEM), *eph = NULL;
	json_t *pub = jwefix_pubkey(priv, "ECDH-ES+A256KW"), *j, *hdr, *epk;
	EVP_PKEY_CTX *pctx;
	EVP_CIPHER_CTX *c;
	OSSL_PARAM params[3];
	uint8_t *x, *y, *ek, *iv, *ct, *tag, *ph, pt[64], point[65], z[32];
	uint8_t kek[32], cek[40];
	size_t xl, yl, ekl, ivl, ctl, tagl, phl, zl = sizeof(z);
	int n, f;
	char *jwe;

	(void)state;
	jwe = jwefix_encrypt(pub, msg, strlen(msg));
	j = jwefix_parse(jwe);
	ph = jwefix_member(j, "protected", &phl);
	hdr = jwefix_parse((char *)ph);
	epk = json_object_get(hdr, "epk");
	x = jwefix_member(epk, "x", &xl);
	y = jwefix_member(epk, "y", &yl);
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

	ek = jwefix_member(j, "encrypted_key", &ekl);
	assert_int_equal(ekl, 40);
	c = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek,
	    NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, cek, &n, ek, 40), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, cek + n, &f), 1);
	assert_int_equal(n + f, 32);
	EVP_CIPHER_CTX_free(c);

	iv = jwefix_member(j, "iv", &ivl);
	ct = jwefix_member(j, "ciphertext", &ctl);
	tag = jwefix_member(j, "tag", &tagl);
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
	EVP_PKEY *ec = jwefix_key(EC_KEY_PEM);
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
	jwefix_decrypt_fail(jwe, ec, "jwe: AES-256-GCM authentication failed");
	free(jwe);
	jwe = forge_jwe(ec, ",\"s\":\"/\"", "", ",\"s\":\"\\/\"", "canon");
	jwefix_decrypt_fail(jwe, ec, "jwe: AES-256-GCM authentication failed");
	free(jwe);
	EVP_PKEY_free(ec);
}

static void
test_jwcrypto_vectors(void **state)
{
	EVP_PKEY *ec = jwefix_key(EC_KEY_PEM);
	EVP_PKEY *ec521 = jwefix_key(EC521_KEY_PEM);
	EVP_PKEY *rsa = jwefix_key(RSA_KEY_PEM);

	(void)state;
	jwefix_decrypt(EC_JWE, ec, EC_PT, strlen(EC_PT));
	jwefix_decrypt(EC_EXTRA_JWE, ec, EC_EXTRA_PT, strlen(EC_EXTRA_PT));
	jwefix_decrypt(EC521_JWE, ec521, EC521_PT, strlen(EC521_PT));
	jwefix_decrypt(RSA_JWE, rsa, RSA_PT, strlen(RSA_PT));
	jwefix_decrypt(RSA15_JWE, rsa, RSA15_PT, strlen(RSA15_PT));
	/* The guest recomputes the AAD canonically: this one fails there. */
	jwefix_decrypt_fail(EC_NONCANON_JWE, ec,
	    "jwe: AES-256-GCM authentication failed");
	(void)EC_NONCANON_PT;
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec521);
	EVP_PKEY_free(rsa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdh_crosscheck),
		cmocka_unit_test(test_header_canonical_forms),
		cmocka_unit_test(test_jwcrypto_vectors),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
