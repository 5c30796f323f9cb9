/*
 * test_jws_kat.c: compact JWS known answers from RFC 7515 Appendix A
 * (RS256, ES256, ES512) and RFC 8037 Appendix A.4 (Ed25519), PS256's
 * MGF1 and salt length per RFC 7518, and a public key of those vectors
 * refused for signing.
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
#include "jwsfix.h"

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
	jwsfix_assert_verify_fails(j, keys[K_RSA], "does not verify");
	jwsfix_assert_verify_fails(j, ec, "RS256 needs an RSA key");
	jws_free(j);

	j = jws_parse(A3_JWS, strlen(A3_JWS), &err);
	if (j == NULL)
		fail_msg("A.3: %s", err.msg);
	if (jws_verify(j, ec, &err) != 0)
		fail_msg("A.3: %s", err.msg);
	jwsfix_assert_verify_fails(j, keys[K_P256], "does not verify");
	jwsfix_assert_verify_fails(j, rsa, "ES256 needs an EC key");
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
	jwsfix_assert_verify_fails(j, ec, "does not verify");
	jws_free(j);
	/* The full token's payload is not JSON, so jws_parse says no. */
	jwsfix_assert_parse_fails(A4_INPUT "." A4_SIG, "payload: invalid JSON");
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
	jwsfix_assert_verify_fails(j, pub, "does not verify");
	jws_free(j);

	d = b64u(ED_D, &dl);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dl);
	assert_non_null(priv);
	tok = jws_sign(priv, hdr, msg, strlen(msg), &err);
	assert_non_null(tok);
	assert_string_equal(tok, ED_INPUT "." ED_SIG);
	jwsfix_assert_parse_fails(tok, "payload: invalid JSON");
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
	tok = jwsfix_sign_token(keys[K_RSA], "PS256", test_payload);
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
	jwsfix_assert_verify_fails(j, keys[K_RSA], "does not verify");
	free(j->sig);
	j->sig = pss_sign(keys[K_RSA], j->signing_input, RSA_PSS_SALTLEN_MAX,
	    &j->sig_len);
	jwsfix_assert_verify_fails(j, keys[K_RSA], "does not verify");
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
		cmocka_unit_test(test_kat_rfc7515),
		cmocka_unit_test(test_kat_es512),
		cmocka_unit_test(test_kat_ed25519),
		cmocka_unit_test(test_ps256_salt_length),
		cmocka_unit_test(test_sign_with_public_key),
	};

	return cmocka_run_group_tests(tests, jwsfix_setup,
	    jwsfix_teardown);
}
