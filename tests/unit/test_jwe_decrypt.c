/*
 * test_jwe_decrypt.c: what jwe_decrypt (the guest side) refuses, each
 * with its exact message where it has one: flipped bits in every member
 * and in the protected header, header changes and epk curve or size
 * mismatches, truncated members, the wrong private key or key type, and
 * malformed JWE JSON, members and headers (missing, wrong type, padded
 * or standard base64, duplicate members).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "jwefix.h"

/* Copy of jwe with member set to value (NULL: deleted). */
static char *
jwe_with(const char *jwe, const char *member, json_t *value)
{
	json_t *j = jwefix_parse(jwe);
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
	json_t *j = jwefix_parse(jwe);
	uint8_t *b;
	size_t len;
	char *s, *out;

	b = jwefix_member(j, member, &len);
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
		jwefix_decrypt_fail(t, priv, NULL);
		free(t);
		t = jwe_flip(jwe, members[i], 0, 0x80);
		jwefix_decrypt_fail(t, priv, NULL);
		free(t);
	}
	/* Header bits: the enc value "A256GCM" -> "A256GCL" changes the AAD
	 * (the guest does not check enc, only authenticates it). */
	{
		json_t *j = jwefix_parse(jwe);
		size_t hl;
		uint8_t *h = jwefix_member(j, "protected", &hl);
		char *enc = strstr((char *)h, "\"A256GCM\"");

		assert_non_null(enc);
		t = jwe_flip(jwe, "protected", (size_t)(enc - (char *)h) + 7,
		    0x01);
		free(h);
		json_decref(j);
	}
	jwefix_decrypt_fail(t, priv, "jwe: AES-256-GCM authentication failed");
	free(t);
}

static void
test_tamper(void **state)
{
	EVP_PKEY *ec = jwefix_key(EC_KEY_PEM), *rsa = jwefix_key(RSA_KEY_PEM);
	json_t *pub, *j, *hdr;
	char *jwe, *t, *h;
	uint8_t *ph;
	size_t phl;

	(void)state;
	pub = jwefix_pubkey(ec, "ECDH-ES+A256KW");
	jwe = jwefix_encrypt(pub, "secret", 6);
	json_decref(pub);
	tamper_all(jwe, ec, 6);

	/* A wrong tag byte gives the GCM error, a wrong wrapped key the
	 * AES-KW integrity error. */
	t = jwe_flip(jwe, "tag", 15, 0x40);
	jwefix_decrypt_fail(t, ec, "jwe: AES-256-GCM authentication failed");
	free(t);
	t = jwe_flip(jwe, "encrypted_key", 39, 0x40);
	jwefix_decrypt_fail(t, ec, "jwe.encrypted_key: AES key unwrap failed "
	    "(wrong key or corrupted data)");
	free(t);

	/* Header changes: an added member changes the canonical AAD; the
	 * same header with whitespace and another member order does not
	 * (the guest re-serializes, so neither do we). */
	j = jwefix_parse(jwe);
	ph = jwefix_member(j, "protected", &phl);
	hdr = jwefix_parse((char *)ph);
	json_object_set_new(hdr, "kid", json_string("k"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	jwefix_decrypt_fail(t, ec, "jwe: AES-256-GCM authentication failed");
	free(t);
	free(h);
	json_object_del(hdr, "kid");
	h = json_dumps(hdr, JSON_INDENT(2) | JSON_SORT_KEYS);
	t = jwe_with_header(jwe, h);
	jwefix_decrypt(t, ec, "secret", 6);
	free(t);
	free(h);
	/* An epk from another curve or with a short coordinate. */
	json_object_set_new(json_object_get(hdr, "epk"), "crv",
	    json_string("P-521"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	jwefix_decrypt_fail(t, ec, "jwe header.epk.crv: \"P-521\" does not "
	    "match the private key's curve P-256");
	free(t);
	free(h);
	json_object_set_new(json_object_get(hdr, "epk"), "crv",
	    json_string("P-256"));
	json_object_set_new(json_object_get(hdr, "epk"), "x",
	    json_string("AAAA"));
	h = json_dumps(hdr, JSON_COMPACT);
	t = jwe_with_header(jwe, h);
	jwefix_decrypt_fail(t, ec, "jwe header.epk: jwk.x: decodes to 3 bytes, "
	    "expected 32");
	free(t);
	free(h);
	json_decref(hdr);
	free(ph);
	json_decref(j);

	/* Truncations of the fixed-size members. */
	t = jwe_with(jwe, "tag", json_string("AAAAAAAAAAAAAAAAAAAA"));
	jwefix_decrypt_fail(t, ec, "jwe.tag: 15 bytes, expected 16");
	free(t);
	t = jwe_with(jwe, "iv", json_string("AAAAAAAAAAAAAAAAAAAAAA"));
	jwefix_decrypt_fail(t, ec, "jwe.iv: 16 bytes, expected 12");
	free(t);
	t = jwe_with(jwe, "encrypted_key", json_string("AAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));	/* 48 bytes */
	jwefix_decrypt_fail(t, ec, "jwe.encrypted_key: 48 bytes, expected 40");
	free(t);
	free(jwe);

	pub = jwefix_pubkey(rsa, "RSA-OAEP-256");
	jwe = jwefix_encrypt(pub, "", 0);
	json_decref(pub);
	tamper_all(jwe, rsa, 0);
	t = jwe_flip(jwe, "encrypted_key", 100, 0x04);
	jwefix_decrypt_fail(t, rsa, "jwe.encrypted_key: RSA decryption "
	    "failed");
	free(t);
	free(jwe);

	pub = jwefix_pubkey(rsa, "RSA1_5");
	jwe = jwefix_encrypt(pub, "abc", 3);
	json_decref(pub);
	tamper_all(jwe, rsa, 3);
	free(jwe);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void
test_wrong_key(void **state)
{
	EVP_PKEY *ec = jwefix_key(EC_KEY_PEM), *rsa = jwefix_key(RSA_KEY_PEM);
	EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ec521 = jwefix_key(EC521_KEY_PEM);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	(void)state;
	jwefix_decrypt_fail(EC_JWE, ec2, "jwe.encrypted_key: AES key unwrap "
	    "failed (wrong key or corrupted data)");
	jwefix_decrypt_fail(EC_JWE, ec521, "jwe header.epk.crv: \"P-256\" does "
	    "not match the private key's curve P-521");
	jwefix_decrypt_fail(EC_JWE, p384, "jwe: ECDH-ES+A256KW needs a P-256 "
	    "or P-521 private key");
	jwefix_decrypt_fail(EC_JWE, rsa, "jwe: ECDH-ES+A256KW needs a P-256 "
	    "or P-521 private key");
	jwefix_decrypt_fail(RSA_JWE, ec, "jwe: RSA-OAEP-256 needs an RSA "
	    "private key");
	jwefix_decrypt_fail(RSA15_JWE, ec, "jwe: RSA1_5 needs an RSA private "
	    "key");
	jwefix_decrypt_fail(RSA_JWE, rsa2, "jwe.encrypted_key: RSA decryption "
	    "failed");
	/* PKCS#1 v1.5 with a wrong key fails the padding check or, rarely,
	 * yields a wrong-length key; either way it fails. */
	jwefix_decrypt_fail(RSA15_JWE, rsa2, NULL);
	/* OAEP-256 ciphertext decrypted as RSA1_5 and vice versa. */
	{
		char *h = xasprintf("{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}");
		char *t = jwe_with_header(RSA_JWE, h);

		jwefix_decrypt_fail(t, rsa, NULL);
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
	EVP_PKEY *ec = jwefix_key(EC_KEY_PEM);
	char *t, *s;
	size_t i;

	(void)state;
	/* "aad" is optional; a string is ignored, null is an error. */
	t = jwe_with(EC_JWE, "aad", json_string("ignored, not base64 !"));
	jwefix_decrypt(t, ec, EC_PT, strlen(EC_PT));
	free(t);
	t = jwe_with(EC_JWE, "aad", json_null());
	jwefix_decrypt_fail(t, ec, "jwe.aad: not a string");
	free(t);
	t = jwe_with(EC_JWE, "aad", json_integer(1));
	jwefix_decrypt_fail(t, ec, "jwe.aad: not a string");
	free(t);
	/* Unknown members are ignored (serde does not deny them). */
	t = jwe_with(EC_JWE, "header", json_pack("{s:s}", "kid", "x"));
	jwefix_decrypt(t, ec, EC_PT, strlen(EC_PT));
	free(t);

	t = jwe_with(EC_JWE, "tag", NULL);
	jwefix_decrypt_fail(t, ec, "jwe.tag: missing");
	free(t);
	t = jwe_with(EC_JWE, "protected", NULL);
	jwefix_decrypt_fail(t, ec, "jwe.protected: missing");
	free(t);
	t = jwe_with(EC_JWE, "iv", json_integer(12));
	jwefix_decrypt_fail(t, ec, "jwe.iv: not a string");
	free(t);
	t = jwe_with(EC_JWE, "ciphertext", json_null());
	jwefix_decrypt_fail(t, ec, "jwe.ciphertext: not a string");
	free(t);
	/* Padding and the standard alphabet are refused. */
	{
		json_t *j = jwefix_parse(EC_JWE);

		s = xasprintf("%s==", json_string_value(json_object_get(j,
		    "tag")));
		json_decref(j);
	}
	t = jwe_with(EC_JWE, "tag", json_string(s));
	jwefix_decrypt_fail(t, ec, "jwe.tag: not base64url without padding");
	free(t);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '-' || s[i] == '_')
			s[i] = s[i] == '-' ? '+' : '/';
	s[strcspn(s, "=")] = '\0';
	t = jwe_with(EC_JWE, "tag", json_string(s));
	if (strpbrk(s, "+/") != NULL)
		jwefix_decrypt_fail(t, ec, "jwe.tag: not base64url without "
		    "padding");
	free(t);
	free(s);

	/* Bytes >= 0x80 inside a base64 quantum (libsodium alone would
	 * accept them). */
	t = jwe_with(EC_JWE, "iv", json_string("3W4XpM-7GzV7A9\xc4\xab"));
	jwefix_decrypt_fail(t, ec, "jwe.iv: not base64url without padding");
	free(t);

	jwefix_decrypt_fail("", ec, NULL);
	jwefix_decrypt_fail("[]", ec, "jwe: not a JSON object");
	jwefix_decrypt_fail("{\"protected\":\"e30\",\"protected\":\"e30\"}", ec,
	    NULL);
	/* Header problems. */
	t = jwe_with_header(EC_JWE, "[]");
	jwefix_decrypt_fail(t, ec, "jwe.protected: not a JSON object");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}");
	jwefix_decrypt_fail(t, ec, "jwe header.alg: unsupported algorithm "
	    "\"dir\"");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"RSA-OAEP\",\"enc\":"
	    "\"A256GCM\"}");
	jwefix_decrypt_fail(t, ec, "jwe header.alg: unsupported algorithm "
	    "\"RSA-OAEP\"");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\"}");
	jwefix_decrypt_fail(t, ec, "jwe header.enc: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"enc\":\"A256GCM\"}");
	jwefix_decrypt_fail(t, ec, "jwe header.alg: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\"}");
	jwefix_decrypt_fail(t, ec, "jwe header.epk: missing or not an object");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\",\"epk\":{\"crv\":\"P-256\",\"x\":\"AAAA\"}}");
	jwefix_decrypt_fail(t, ec, "jwe header.epk.y: missing");
	free(t);
	t = jwe_with_header(EC_JWE, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\",\"alg\":\"x\"}");
	jwefix_decrypt_fail(t, ec, NULL);
	free(t);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_decrypt_parse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
