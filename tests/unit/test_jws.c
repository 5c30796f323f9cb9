/*
 * test_jws.c: compact JWS sign/parse/verify: round trips for every alg,
 * tampering, alg/key confusion, malformed tokens and known-answer
 * vectors from RFC 7515 Appendix A and RFC 8037 Appendix A.4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "jws.h"
#include "util.h"

/* RFC 7515 A.2/A.3 payload: {"iss":"joe",\r\n "exp":1300819380,\r\n
 * "http://example.com/is_root":true} */
#define RFC7515_PAYLOAD "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog" \
	"Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

/* RFC 7515 A.2: RS256. */
#define A2_N "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp" \
	"-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b3269" \
	"0r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo" \
	"7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK" \
	"-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_E "AQAB"
#define A2_JWS "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD ".cC4hiUPoj9Eetdgtv3hF8" \
	"0EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5" \
	"jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6x" \
	"BArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHW" \
	"EsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIh" \
	"WkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

/* RFC 7515 A.3: ES256. */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_JWS "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD ".DtEhU3ljbEg8L38VWAfUA" \
	"qOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

/* RFC 7515 A.4: ES512 over the (non-JSON) payload "Payload". */
#define A4_X "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6" \
	"OvLFV1jSfS9tsz4qUxcWceqwQGk"
#define A4_Y "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79aj" \
	"L4Kkd0AZMaZmh9ubmf63e3kyMj2"
#define A4_INPUT "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA"
#define A4_SIG "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-" \
	"mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHw" \
	"JjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"

/* RFC 8037 A.4: Ed25519 over "Example of Ed25519 signing". */
#define ED_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGj" \
	"g5BhVsPt9g7sVvpAr_MuM0KAg"

enum { K_P256, K_P384, K_P521, K_ED25519, K_RSA, K_P256B, K_RSAB, K_COUNT };

static EVP_PKEY *keys[K_COUNT];

static const struct {
	const char *alg;
	int key;
	size_t sig_len;
} algs[] = {
	{ "ES256", K_P256, 64 },
	{ "ES384", K_P384, 96 },
	{ "ES512", K_P521, 132 },
	{ "EdDSA", K_ED25519, 64 },
	{ "RS256", K_RSA, 256 },
	{ "RS384", K_RSA, 256 },
	{ "RS512", K_RSA, 256 },
	{ "PS256", K_RSA, 256 },
};

static const char test_payload[] = "{\"sub\":\"guest\",\"n\":1}";

static int
setup_keys(void **state)
{
	(void)state;
	keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_P256B] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_RSAB] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (size_t i = 0; i < K_COUNT; i++) {
		if (keys[i] == NULL)
			return -1;
	}
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < K_COUNT; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

static uint8_t *
b64u(const char *s, size_t *len)
{
	uint8_t *out = NULL;

	if (b64_decode(s, strlen(s), B64_URL_NOPAD, &out, len) != 0)
		fail_msg("test vector is not b64url: %s", s);
	return out;
}

/* Public EC key on curve (OpenSSL group name) from JWK x and y. */
static EVP_PKEY *
ec_public(const char *group, const char *x64, const char *y64)
{
	uint8_t pub[1 + 2 * 66], *x, *y;
	size_t xl, yl;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;

	x = b64u(x64, &xl);
	y = b64u(y64, &yl);
	assert_int_equal(xl, yl);
	pub[0] = 0x04;
	memcpy(pub + 1, x, xl);
	memcpy(pub + 1 + xl, y, yl);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    pub, 1 + xl + yl);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	free(x);
	free(y);
	return pk;
}

static EVP_PKEY *
rsa_public(const char *n64, const char *e64)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	BIGNUM *n, *e;
	uint8_t *nb, *eb;
	size_t nl, el;

	nb = b64u(n64, &nl);
	eb = b64u(e64, &el);
	n = BN_bin2bn(nb, (int)nl, NULL);
	e = BN_bin2bn(eb, (int)el, NULL);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n),
	    1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e),
	    1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return pk;
}

static EVP_PKEY *
ed25519_public(const char *x64)
{
	uint8_t *x;
	size_t xl;
	EVP_PKEY *pk;

	x = b64u(x64, &xl);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
	assert_non_null(pk);
	free(x);
	return pk;
}

/* A struct jws filled by hand, for vectors whose payload is not a JSON
 * object (jws_parse rightly refuses those). */
static struct jws *
jws_by_hand(const char *header, const char *input, const char *sig64)
{
	struct jws *j = xcalloc(1, sizeof(*j));

	j->header = json_loads(header, 0, NULL);
	assert_non_null(j->header);
	j->alg = json_string_value(json_object_get(j->header, "alg"));
	j->signing_input = xstrdup(input);
	j->signing_input_len = strlen(input);
	j->sig = b64u(sig64, &j->sig_len);
	return j;
}

static char *
sign_token(EVP_PKEY *key, const char *alg, const char *payload)
{
	struct error err = { "" };
	json_t *hdr = json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
	char *tok;

	tok = jws_sign(key, hdr, payload, strlen(payload), &err);
	if (tok == NULL)
		fail_msg("jws_sign %s: %s", alg, err.msg);
	json_decref(hdr);
	return tok;
}

/* Parse must fail and the error must mention want. */
static void
assert_parse_fails(const char *tok, const char *want)
{
	struct error err = { "" };
	struct jws *j;

	j = jws_parse(tok, strlen(tok), &err);
	if (j != NULL)
		fail_msg("parsed malformed token %s", tok);
	if (strstr(err.msg, want) == NULL)
		fail_msg("token %s: error \"%s\" lacks \"%s\"", tok, err.msg,
		    want);
}

/* Verify must fail and the error must mention want. */
static void
assert_verify_fails(const struct jws *j, EVP_PKEY *key, const char *want)
{
	struct error err = { "" };

	assert_int_equal(jws_verify(j, key, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
}

/* Token from three raw parts (each b64url-encoded here). */
static char *
token3(const char *hdr, const char *payload, const char *sig64)
{
	char *h = b64_encode(hdr, strlen(hdr), B64_URL_NOPAD);
	char *p = b64_encode(payload, strlen(payload), B64_URL_NOPAD);
	char *t = xasprintf("%s.%s.%s", h, p, sig64);

	free(h);
	free(p);
	return t;
}

static void
test_alg_for_key(void **state)
{
	EVP_PKEY *k1, *x25519, *ed448;

	(void)state;
	assert_string_equal(jws_alg_for_key(keys[K_P256]), "ES256");
	assert_string_equal(jws_alg_for_key(keys[K_P384]), "ES384");
	assert_string_equal(jws_alg_for_key(keys[K_P521]), "ES512");
	assert_string_equal(jws_alg_for_key(keys[K_ED25519]), "EdDSA");
	assert_string_equal(jws_alg_for_key(keys[K_RSA]), "RS256");
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	assert_null(jws_alg_for_key(k1));
	assert_null(jws_alg_for_key(x25519));
	assert_null(jws_alg_for_key(ed448));
	assert_null(jws_alg_for_key(NULL));
	EVP_PKEY_free(k1);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(ed448);
}

/* Every alg: exact token layout, parse, verify, wrong key refused. */
static void
test_roundtrip(void **state)
{
	struct error err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(algs); i++) {
		EVP_PKEY *key = keys[algs[i].key], *other;
		char *tok, *hdr_json, *want_prefix;
		struct jws *j;

		tok = sign_token(key, algs[i].alg, test_payload);
		hdr_json = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}",
		    algs[i].alg);
		want_prefix = token3(hdr_json, test_payload, "");
		/* Header in insertion order, compact; payload as given. */
		assert_true(strncmp(tok, want_prefix,
		    strlen(want_prefix)) == 0);
		assert_null(strchr(tok, '='));

		j = jws_parse(tok, strlen(tok), &err);
		if (j == NULL)
			fail_msg("%s: %s", algs[i].alg, err.msg);
		assert_string_equal(j->alg, algs[i].alg);
		assert_int_equal(j->sig_len, algs[i].sig_len);
		assert_int_equal(j->signing_input_len, strlen(want_prefix) - 1);
		assert_memory_equal(j->signing_input, tok,
		    j->signing_input_len);
		assert_string_equal(json_string_value(json_object_get(
		    j->payload, "sub")), "guest");
		if (jws_verify(j, key, &err) != 0)
			fail_msg("%s: %s", algs[i].alg, err.msg);

		/* Same type, other key. */
		other = key == keys[K_RSA] ? keys[K_RSAB] :
		    key == keys[K_P256] ? keys[K_P256B] : NULL;
		if (other != NULL)
			assert_verify_fails(j, other, "does not verify");
		jws_free(j);
		free(tok);
		free(hdr_json);
		free(want_prefix);
	}
}

/* ECDSA and PSS are randomized: two signatures differ, both verify. */
/* The parts of a signed token are exactly the base64url (no padding) of
 * the header and payload, whatever the payload's length modulo 3. */
static void
test_encoding_lengths(void **state)
{
	char payload[80], *tok, *want, *dot;
	size_t n, dashes = 0;

	(void)state;
	for (n = 2; n < sizeof(payload); n++) {
		/* Bytes 0xfb..0xff encode to '-' and '_' (62 and 63). */
		memset(payload, (char)(0xfb + n % 5), n);
		payload[0] = '"';
		payload[n - 1] = '"';
		payload[n] = '\0';
		tok = sign_token(keys[K_P256], "ES256", payload);
		want = b64_encode(payload, n, B64_URL_NOPAD);
		dot = strchr(tok, '.');
		assert_non_null(dot);
		assert_int_equal(strncmp(dot + 1, want, strlen(want)), 0);
		assert_int_equal(dot[1 + strlen(want)], '.');
		dashes += strchr(want, '-') != NULL && strchr(want, '_') != NULL;
		free(want);
		free(tok);
	}
	assert_true(dashes > 0);
}

static void
test_randomized_sigs(void **state)
{
	char *t1, *t2;

	(void)state;
	t1 = sign_token(keys[K_P256], "ES256", test_payload);
	t2 = sign_token(keys[K_P256], "ES256", test_payload);
	assert_string_not_equal(t1, t2);
	free(t1);
	free(t2);
	t1 = sign_token(keys[K_RSA], "PS256", test_payload);
	t2 = sign_token(keys[K_RSA], "PS256", test_payload);
	assert_string_not_equal(t1, t2);
	free(t1);
	free(t2);
	/* PKCS#1 v1.5 is deterministic. */
	t1 = sign_token(keys[K_RSA], "RS256", test_payload);
	t2 = sign_token(keys[K_RSA], "RS256", test_payload);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
}

static void
test_tampered(void **state)
{
	struct error err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(algs); i++) {
		EVP_PKEY *key = keys[algs[i].key];
		char *tok, *other, *mixed, *hdr;
		const char *dot1, *dot2, *odot2;
		struct jws *j;

		tok = sign_token(key, algs[i].alg, test_payload);
		other = sign_token(key, algs[i].alg, "{\"sub\":\"admin\"}");
		dot1 = strchr(tok, '.');
		dot2 = strchr(dot1 + 1, '.');
		odot2 = strchr(strchr(other, '.') + 1, '.');

		/* Payload of one token with the signature of the other. */
		mixed = xasprintf("%.*s%s", (int)(odot2 - other), other, dot2);
		j = jws_parse(mixed, strlen(mixed), &err);
		assert_non_null(j);
		assert_verify_fails(j, key, "does not verify");
		jws_free(j);
		free(mixed);

		/* The same header fields in another order: other bytes. */
		hdr = xasprintf("{\"typ\":\"JWT\",\"alg\":\"%s\"}",
		    algs[i].alg);
		mixed = token3(hdr, test_payload, dot2 + 1);
		free(hdr);
		j = jws_parse(mixed, strlen(mixed), &err);
		assert_non_null(j);
		assert_verify_fails(j, key, "does not verify");
		jws_free(j);
		free(mixed);

		/* Every single-bit flip of the first and last signature
		 * byte. */
		j = jws_parse(tok, strlen(tok), &err);
		assert_non_null(j);
		for (int bit = 0; bit < 8; bit++) {
			j->sig[0] ^= (uint8_t)(1 << bit);
			assert_int_equal(jws_verify(j, key, &err), -1);
			j->sig[0] ^= (uint8_t)(1 << bit);
			j->sig[j->sig_len - 1] ^= (uint8_t)(1 << bit);
			assert_int_equal(jws_verify(j, key, &err), -1);
			j->sig[j->sig_len - 1] ^= (uint8_t)(1 << bit);
		}
		/* A flipped signing-input byte. */
		j->signing_input[dot1 - tok + 3] ^= 1;
		assert_int_equal(jws_verify(j, key, &err), -1);
		j->signing_input[dot1 - tok + 3] ^= 1;
		assert_int_equal(jws_verify(j, key, &err), 0);
		jws_free(j);
		free(tok);
		free(other);
	}
}

static void
test_alg_key_mismatch(void **state)
{
	struct error err = { "" };
	struct jws *j;
	json_t *hdr;
	char *tok;

	(void)state;
	/* ES256 token, P-384 key. */
	tok = sign_token(keys[K_P256], "ES256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_verify_fails(j, keys[K_P384], "ES256 needs curve prime256v1");
	assert_verify_fails(j, keys[K_RSA], "ES256 needs an EC key");
	assert_verify_fails(j, keys[K_ED25519], "ES256 needs an EC key");
	jws_free(j);
	free(tok);

	/* RS256 header, EC key. */
	tok = sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_verify_fails(j, keys[K_P256], "RS256 needs an RSA key");
	jws_free(j);
	free(tok);

	/* EdDSA with an RSA key. */
	tok = sign_token(keys[K_ED25519], "EdDSA", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_verify_fails(j, keys[K_RSA], "EdDSA needs an Ed25519 key");
	jws_free(j);
	free(tok);

	/* ES512 token against a P-256 key, ES384 against P-521. */
	tok = sign_token(keys[K_P521], "ES512", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_verify_fails(j, keys[K_P256], "needs curve secp521r1");
	jws_free(j);
	free(tok);

	/* A PS256 signature relabelled RS256 (by hand: the header is
	 * signed, so only a forged struct can carry it). */
	tok = sign_token(keys[K_RSA], "PS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->alg = "RS256";
	assert_verify_fails(j, keys[K_RSA], "does not verify");
	j->alg = "HS256";
	assert_verify_fails(j, keys[K_RSA], "unsupported alg \"HS256\"");
	j->alg = "none";
	assert_verify_fails(j, keys[K_RSA], "unsupported alg \"none\"");
	j->alg = "es256";
	assert_verify_fails(j, keys[K_P256], "unsupported alg \"es256\"");
	jws_free(j);
	free(tok);

	/* jws_sign refuses a header alg the key cannot make. */
	hdr = json_pack("{s:s}", "alg", "ES384");
	assert_null(jws_sign(keys[K_P256], hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "ES384 needs curve secp384r1"));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "EdDSA");
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "none");
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("{s:i}", "alg", 1);
	assert_null(jws_sign(keys[K_RSA], hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "\"alg\" missing or not a string"));
	json_decref(hdr);
	hdr = json_pack("{s:s}", "alg", "ES256");
	assert_null(jws_sign(NULL, hdr, "{}", 2, &err));
	json_decref(hdr);
	hdr = json_pack("[s]", "ES256");
	assert_null(jws_sign(keys[K_P256], hdr, "{}", 2, &err));
	json_decref(hdr);
}

/* RFC 7518 §3.3: RSA below 2048 bits is refused both ways. */
static void
test_rsa_too_small(void **state)
{
	struct error err = { "" };
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	json_t *hdr = json_pack("{s:s}", "alg", "RS256");
	struct jws *j;
	char *tok;

	(void)state;
	assert_non_null(small);
	assert_null(jws_sign(small, hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "1024 bits is below the 2048-bit"));
	tok = sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_verify_fails(j, small, "below the 2048-bit minimum");
	jws_free(j);
	free(tok);
	json_decref(hdr);
	EVP_PKEY_free(small);
}

/* Signatures of the wrong size never reach OpenSSL: in particular a DER
 * ECDSA signature (what a naive signer emits) is refused. */
static void
test_signature_length(void **state)
{
	struct error err = { "" };
	struct jws *j;
	uint8_t *saved;
	size_t saved_len;
	char *tok;

	(void)state;
	tok = sign_token(keys[K_P256], "ES256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	saved = j->sig;
	saved_len = j->sig_len;
	j->sig_len = 63;
	assert_verify_fails(j, keys[K_P256], "signature is 63 bytes, "
	    "expected 64");
	j->sig = xcalloc(1, 72);
	j->sig_len = 72;
	assert_verify_fails(j, keys[K_P256], "signature is 72 bytes");
	/* All-zero r and s of the right size: well-formed, invalid. */
	j->sig_len = 64;
	assert_verify_fails(j, keys[K_P256], "does not verify");
	free(j->sig);
	j->sig = saved;
	j->sig_len = saved_len;
	assert_int_equal(jws_verify(j, keys[K_P256], &err), 0);
	jws_free(j);
	free(tok);

	tok = sign_token(keys[K_RSA], "RS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->sig_len = 255;
	assert_verify_fails(j, keys[K_RSA], "signature is 255 bytes, "
	    "expected 256");
	jws_free(j);
	free(tok);

	tok = sign_token(keys[K_ED25519], "EdDSA", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	j->sig_len = 63;
	assert_verify_fails(j, keys[K_ED25519], "signature is 63 bytes");
	jws_free(j);
	free(tok);
}

static void
test_crit_refused(void **state)
{
	struct error err = { "" };
	json_t *hdr = json_pack("{s:s,s:[s],s:b}", "alg", "ES256", "crit",
	    "exp", "exp", 1);
	struct jws *j;
	char *tok;

	(void)state;
	tok = jws_sign(keys[K_P256], hdr, test_payload, strlen(test_payload),
	    &err);
	assert_non_null(tok);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	assert_verify_fails(j, keys[K_P256], "\"crit\"");
	jws_free(j);
	free(tok);
	json_decref(hdr);
}

static void
test_malformed(void **state)
{
	const char *sig;
	char *good, *t, *hdr_pad, *pay;
	struct error err = { "" };
	struct jws *j;

	(void)state;
	good = sign_token(keys[K_P256], "ES256", test_payload);
	sig = strrchr(good, '.') + 1;
	pay = b64_encode(test_payload, strlen(test_payload), B64_URL_NOPAD);

	assert_parse_fails("", "found 1");
	assert_parse_fails("abc", "found 1");
	assert_parse_fails("eyJhbGciOiJFUzI1NiJ9.e30", "found 2");
	t = xasprintf("%s.x", good);
	assert_parse_fails(t, "found 4");
	free(t);
	t = xasprintf("%s.", good);
	assert_parse_fails(t, "found 4");
	free(t);
	t = xasprintf(".%s.%s", pay, sig);
	assert_parse_fails(t, "header: empty");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9..%s", sig);
	assert_parse_fails(t, "payload: empty");
	free(t);
	t = token3("{\"alg\":\"ES256\"}", test_payload, "");
	assert_parse_fails(t, "signature: empty");
	free(t);

	/* Padding in any part ({"alg":"ES256"} is 15 bytes: "==" would
	 * be its std padding; {"alg":"ES25"} is 14 bytes: one "="). */
	hdr_pad = xasprintf("eyJhbGciOiJFUzI1NiJ9=.%s.%s", pay, sig);
	assert_parse_fails(hdr_pad, "header: not base64url");
	free(hdr_pad);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s=.%s", pay, sig);
	assert_parse_fails(t, "payload: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s==", pay, sig);
	assert_parse_fails(t, "signature: not base64url");
	free(t);
	/* Standard alphabet, whitespace, junk, non-canonical last char. */
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s", pay, "ab+/");
	assert_parse_fails(t, "signature: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9 .%s.%s", pay, sig);
	assert_parse_fails(t, "header: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s\n", pay, sig);
	assert_parse_fails(t, "signature: not base64url");
	free(t);
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.%s.%s", pay, "A");
	assert_parse_fails(t, "signature: not base64url");
	free(t);
	/* "e30" is {}; "e31" has stray low bits in its last character. */
	t = xasprintf("eyJhbGciOiJFUzI1NiJ9.e31.%s", sig);
	assert_parse_fails(t, "payload: not base64url");
	free(t);

	/* JSON problems. */
	t = token3("[\"alg\",\"ES256\"]", test_payload, sig);
	assert_parse_fails(t, "header: not a JSON object");
	free(t);
	t = token3("\"ES256\"", test_payload, sig);
	assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = token3("{\"alg\":\"ES256\"", test_payload, sig);
	assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = token3("{\"alg\":\"ES256\"} x", test_payload, sig);
	assert_parse_fails(t, "header: invalid JSON");
	free(t);
	t = token3("{\"typ\":\"JWT\"}", test_payload, sig);
	assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = token3("{\"alg\":256}", test_payload, sig);
	assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = token3("{\"alg\":null}", test_payload, sig);
	assert_parse_fails(t, "\"alg\" missing or not a string");
	free(t);
	t = token3("{\"alg\":\"none\"}", test_payload, sig);
	assert_parse_fails(t, "alg \"none\"");
	free(t);
	t = xasprintf("eyJhbGciOiJub25lIn0.%s.", pay);
	assert_parse_fails(t, "alg \"none\"");
	free(t);
	t = token3("{\"alg\":\"ES256\",\"alg\":\"none\"}", test_payload, sig);
	assert_parse_fails(t, "header: invalid JSON: duplicate object key");
	free(t);
	t = token3("{\"alg\":\"ES256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}", sig);
	assert_parse_fails(t, "payload: invalid JSON: duplicate object key");
	free(t);
	t = token3("{\"alg\":\"ES256\"}", "[1,2]", sig);
	assert_parse_fails(t, "payload: not a JSON object");
	free(t);
	t = token3("{\"alg\":\"ES256\"}", "{\"a\":\"\\u0000\"}", sig);
	assert_parse_fails(t, "payload: invalid JSON");
	free(t);

	/* len is honoured: the token is not read past it, and a NUL
	 * inside the counted length is not accepted. */
	j = jws_parse(good, strlen(good) - 1, &err);
	assert_null(j);
	t = xasprintf("%sXYZ", good);
	j = jws_parse(t, strlen(good), &err);
	assert_non_null(j);
	assert_int_equal(jws_verify(j, keys[K_P256], &err), 0);
	jws_free(j);
	free(t);
	t = xstrdup(good);
	t[5] = '\0';
	assert_null(jws_parse(t, strlen(good), &err));
	free(t);

	assert_null(jws_parse(NULL, 0, &err));
	jws_free(NULL);
	assert_int_equal(jws_verify(NULL, keys[K_P256], &err), -1);
	free(pay);
	free(good);
}

/* RFC 7515 A.2 (RS256) and A.3 (ES256): complete tokens. */
static void
test_kat_rfc7515(void **state)
{
	struct error err = { "" };
	EVP_PKEY *rsa = rsa_public(A2_N, A2_E);
	EVP_PKEY *ec = ec_public("prime256v1", A3_X, A3_Y);
	struct jws *j;

	(void)state;
	j = jws_parse(A2_JWS, strlen(A2_JWS), &err);
	if (j == NULL)
		fail_msg("A.2: %s", err.msg);
	assert_string_equal(j->alg, "RS256");
	assert_int_equal(json_integer_value(json_object_get(j->payload,
	    "exp")), 1300819380);
	if (jws_verify(j, rsa, &err) != 0)
		fail_msg("A.2: %s", err.msg);
	assert_verify_fails(j, keys[K_RSA], "does not verify");
	assert_verify_fails(j, ec, "RS256 needs an RSA key");
	jws_free(j);

	j = jws_parse(A3_JWS, strlen(A3_JWS), &err);
	if (j == NULL)
		fail_msg("A.3: %s", err.msg);
	if (jws_verify(j, ec, &err) != 0)
		fail_msg("A.3: %s", err.msg);
	assert_verify_fails(j, keys[K_P256], "does not verify");
	assert_verify_fails(j, rsa, "ES256 needs an EC key");
	jws_free(j);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/* RFC 7515 A.4 (ES512, 66-byte coordinates with a leading zero byte). */
static void
test_kat_es512(void **state)
{
	struct error err = { "" };
	EVP_PKEY *ec = ec_public("secp521r1", A4_X, A4_Y);
	struct jws *j;

	(void)state;
	assert_string_equal(jws_alg_for_key(ec), "ES512");
	j = jws_by_hand("{\"alg\":\"ES512\"}", A4_INPUT, A4_SIG);
	assert_int_equal(j->sig_len, 132);
	if (jws_verify(j, ec, &err) != 0)
		fail_msg("A.4: %s", err.msg);
	j->signing_input[j->signing_input_len - 1] ^= 1;
	assert_verify_fails(j, ec, "does not verify");
	jws_free(j);
	/* The full token's payload is not JSON, so jws_parse says no. */
	assert_parse_fails(A4_INPUT "." A4_SIG, "payload: invalid JSON");
	EVP_PKEY_free(ec);
}

/* RFC 8037 A.4/A.5: Ed25519 is deterministic, so signing is a KAT too. */
static void
test_kat_ed25519(void **state)
{
	struct error err = { "" };
	EVP_PKEY *pub = ed25519_public(ED_X), *priv;
	json_t *hdr = json_pack("{s:s}", "alg", "EdDSA");
	const char *msg = "Example of Ed25519 signing";
	struct jws *j;
	uint8_t *d;
	size_t dl;
	char *tok;

	(void)state;
	j = jws_by_hand("{\"alg\":\"EdDSA\"}", ED_INPUT, ED_SIG);
	if (jws_verify(j, pub, &err) != 0)
		fail_msg("RFC 8037: %s", err.msg);
	j->sig[10] ^= 0x80;
	assert_verify_fails(j, pub, "does not verify");
	jws_free(j);

	d = b64u(ED_D, &dl);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dl);
	assert_non_null(priv);
	tok = jws_sign(priv, hdr, msg, strlen(msg), &err);
	assert_non_null(tok);
	assert_string_equal(tok, ED_INPUT "." ED_SIG);
	assert_parse_fails(tok, "payload: invalid JSON");
	free(tok);
	secret_free(d, dl);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	json_decref(hdr);
}

/* RSA-PSS sign of data with an explicit salt length, outside jws.c. */
static uint8_t *
pss_sign(EVP_PKEY *key, const char *data, int saltlen, size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig;

	assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", NULL,
	    NULL, key, NULL), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen), 1);
	*len = (size_t)EVP_PKEY_get_size(key);
	sig = xmalloc(*len);
	assert_int_equal(EVP_DigestSign(ctx, sig, len, (const uint8_t *)data,
	    strlen(data)), 1);
	EVP_MD_CTX_free(ctx);
	return sig;
}

/* PS256 per RFC 7518 §3.5: MGF1-SHA256 and a 32-byte salt, both ways. */
static void
test_ps256_salt_length(void **state)
{
	struct error err = { "" };
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	struct jws *j;
	char *tok;

	(void)state;
	/* Our PS256 signature passes a verifier that insists on salt 32. */
	tok = sign_token(keys[K_RSA], "PS256", test_payload);
	j = jws_parse(tok, strlen(tok), &err);
	assert_non_null(j);
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL,
	    NULL, keys[K_RSA], NULL), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
	assert_int_equal(EVP_DigestVerify(ctx, j->sig, j->sig_len,
	    (const uint8_t *)j->signing_input, j->signing_input_len), 1);
	EVP_MD_CTX_free(ctx);

	/* Independent salt-32 signature verifies; salt 20 or max does not. */
	free(j->sig);
	j->sig = pss_sign(keys[K_RSA], j->signing_input, 32, &j->sig_len);
	assert_int_equal(jws_verify(j, keys[K_RSA], &err), 0);
	free(j->sig);
	j->sig = pss_sign(keys[K_RSA], j->signing_input, 20, &j->sig_len);
	assert_verify_fails(j, keys[K_RSA], "does not verify");
	free(j->sig);
	j->sig = pss_sign(keys[K_RSA], j->signing_input, RSA_PSS_SALTLEN_MAX,
	    &j->sig_len);
	assert_verify_fails(j, keys[K_RSA], "does not verify");
	jws_free(j);
	free(tok);
}

/* A public key cannot sign: an error, not a crash or a bogus token. */
static void
test_sign_with_public_key(void **state)
{
	struct error err = { "" };
	EVP_PKEY *pub = ec_public("prime256v1", A3_X, A3_Y);
	json_t *hdr = json_pack("{s:s}", "alg", "ES256");

	(void)state;
	assert_null(jws_sign(pub, hdr, "{}", 2, &err));
	assert_non_null(strstr(err.msg, "JWS ES256"));
	json_decref(hdr);
	EVP_PKEY_free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg_for_key),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_randomized_sigs),
		cmocka_unit_test(test_encoding_lengths),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg_key_mismatch),
		cmocka_unit_test(test_rsa_too_small),
		cmocka_unit_test(test_signature_length),
		cmocka_unit_test(test_crit_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_kat_rfc7515),
		cmocka_unit_test(test_kat_es512),
		cmocka_unit_test(test_kat_ed25519),
		cmocka_unit_test(test_ps256_salt_length),
		cmocka_unit_test(test_sign_with_public_key),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
