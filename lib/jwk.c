/*
 * jwk.c: JSON Web Keys (RFC 7517/7518/8037) <-> OpenSSL EVP_PKEY, public
 * keys only, and the KBS TeePubKey normalization.
 *
 * Everything here parses untrusted input (tee-pubkey from a guest, JWKS
 * of admin token issuers), so decoding is strict: base64url without
 * padding, exact EC coordinate lengths, points validated on the curve and
 * in range, bounded RSA moduli. Error messages name the member but never
 * echo more than a short, printable excerpt of untrusted values.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "b64.h"
#include "jwk.h"
#include "log.h"
#include "util.h"

#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BITS 8192
#define JWK_B64URL_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

struct jwk_curve {
	const char *crv;	/* JOSE name */
	const char *group;	/* OpenSSL group name */
	size_t len;		/* coordinate length in bytes */
};

static const struct jwk_curve jwk_curves[] = {
	{ "P-256", SN_X9_62_prime256v1, 32 },
	{ "P-384", SN_secp384r1, 48 },
	{ "P-521", SN_secp521r1, 66 },
};

const char *
jwk_member_string(const json_t *obj, const char *what, const char *name,
    struct error *err)
{
	const json_t *v = json_object_get(obj, name);
	const char *s;

	if (v == NULL) {
		error_set(err, "%s.%s: missing", what, name);
		return NULL;
	}
	if (!json_is_string(v)) {
		error_set(err, "%s.%s: not a string", what, name);
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		error_set(err, "%s.%s: contains a NUL character", what, name);
		return NULL;
	}
	return s;
}

static const char *
jwk_get_string(const json_t *jwk, const char *name, struct error *err)
{
	return jwk_member_string(jwk, "jwk", name, err);
}

/* Decode the base64url (no padding) member `name`. With want != 0 the
 * decoded length must be exactly want. *out is malloc'd. */
static int
jwk_get_b64(const json_t *jwk, const char *name, size_t want, uint8_t **out,
    size_t *outlen, struct error *err)
{
	const char *s;

	*out = NULL;
	*outlen = 0;
	if ((s = jwk_get_string(jwk, name, err)) == NULL)
		return -1;
	/* libsodium 1.0.18 lets bytes >= 0x80 through inside a quantum. */
	if (s[strspn(s, JWK_B64URL_ALPHABET)] != '\0' ||
	    b64_decode(s, strlen(s), B64_URL_NOPAD, out, outlen) != 0)
		return error_set(err, "jwk.%s: not base64url without padding",
		    name);
	if (want != 0 && *outlen != want) {
		error_set(err, "jwk.%s: decodes to %zu bytes, expected %zu",
		    name, *outlen, want);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static const struct jwk_curve *
jwk_curve_by_crv(const char *crv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(jwk_curves); i++)
		if (strcmp(jwk_curves[i].crv, crv) == 0)
			return &jwk_curves[i];
	return NULL;
}

static const struct jwk_curve *
jwk_curve_by_group(const char *group)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(jwk_curves); i++)
		if (strcmp(jwk_curves[i].group, group) == 0)
			return &jwk_curves[i];
	return NULL;
}

static EVP_PKEY *
jwk_pkey_fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/*
 * Curve templates: a parameters-only key per curve, built once. A public
 * key made by copying a template's parameters and setting the encoded
 * point costs less than half of EVP_PKEY_fromdata with the group name,
 * which rebuilds the curve group from its name for every key (a TEE key
 * is parsed at every /attest). The point gets the same validation: it
 * must decode on the curve (EC_POINT_oct2point), then the quick public
 * check below.
 */
static struct {
	pthread_once_t once;
	EVP_PKEY *k[ARRAY_SIZE(jwk_curves)];
} jwk_tmpl = { PTHREAD_ONCE_INIT, { NULL } };

static void
jwk_tmpl_make(void)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(jwk_curves); i++) {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)jwk_curves[i].group, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ==
		    NULL)
			continue;
		if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
		    EVP_PKEY_fromdata(ctx, &jwk_tmpl.k[i],
		    EVP_PKEY_KEY_PARAMETERS, params) <= 0)
			jwk_tmpl.k[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
}

/* The public key of curve c at the SEC1 point pt: from the template, or
 * (no template) from the group name. NULL when pt is not on the curve. */
static EVP_PKEY *
jwk_ec_from_point(const struct jwk_curve *c, const uint8_t *pt, size_t len)
{
	OSSL_PARAM params[3];
	EVP_PKEY *tmpl, *pkey;

	pthread_once(&jwk_tmpl.once, jwk_tmpl_make);
	tmpl = jwk_tmpl.k[c - jwk_curves];
	if (tmpl != NULL) {
		if ((pkey = EVP_PKEY_new()) == NULL)
			return NULL;
		if (EVP_PKEY_copy_parameters(pkey, tmpl) == 1 &&
		    EVP_PKEY_set1_encoded_public_key(pkey, pt, len) == 1)
			return pkey;
		EVP_PKEY_free(pkey);
		return NULL;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	return jwk_pkey_fromdata("EC", params);
}

static int
jwk_ec_to_pkey(const json_t *jwk, EVP_PKEY **out, struct error *err)
{
	const struct jwk_curve *c;
	const char *crv;
	char ex[40];
	uint8_t *x = NULL, *y = NULL, *pt = NULL;
	size_t xlen, ylen;
	EVP_PKEY *pkey = NULL;
	int rc = -1;

	if ((crv = jwk_get_string(jwk, "crv", err)) == NULL)
		return -1;
	if ((c = jwk_curve_by_crv(crv)) == NULL)
		return error_set(err, "jwk.crv: unsupported curve \"%s\" "
		    "(expected P-256, P-384 or P-521)",
		    log_escape(crv, ex, sizeof(ex)));
	if (jwk_get_b64(jwk, "x", c->len, &x, &xlen, err) != 0 ||
	    jwk_get_b64(jwk, "y", c->len, &y, &ylen, err) != 0)
		goto out;

	/* SEC1 uncompressed point: 0x04 || x || y. */
	pt = xmalloc(1 + 2 * c->len);
	pt[0] = 0x04;
	memcpy(pt + 1, x, c->len);
	memcpy(pt + 1 + c->len, y, c->len);
	if ((pkey = jwk_ec_from_point(c, pt, 1 + 2 * c->len)) == NULL) {
		error_set(err, "jwk: (x, y) is not a point on %s", c->crv);
		goto out;
	}
	/* Decoding (EC_POINT_oct2point) is the whole public-key check:
	 * it refuses a coordinate >= p (a non-canonical encoding) and a
	 * point off the curve, and 0x04 || x || y cannot encode the point
	 * at infinity; what EVP_PKEY_public_check_quick would test again
	 * (at a seventh of a P-256 ECDH). The full check's extra n*Q == O
	 * is redundant on these cofactor-1 curves. */
	*out = pkey;
	pkey = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	free(x);
	free(y);
	free(pt);
	return rc;
}

static int
jwk_rsa_to_pkey(const json_t *jwk, EVP_PKEY **out, struct error *err)
{
	uint8_t *nb = NULL, *eb = NULL;
	size_t nlen, elen;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	int bits, rc = -1;

	if (jwk_get_b64(jwk, "n", 0, &nb, &nlen, err) != 0 ||
	    jwk_get_b64(jwk, "e", 0, &eb, &elen, err) != 0)
		goto out;
	/* Cap before converting, so an absurd member costs nothing. */
	if (nlen > JWK_RSA_MAX_BITS / 8 + 1 || elen > JWK_RSA_MAX_BITS / 8) {
		error_set(err, "jwk.%s: too long", nlen > JWK_RSA_MAX_BITS / 8 +
		    1 ? "n" : "e");
		goto out;
	}
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL) {
		error_set(err, "jwk: out of memory");
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS) {
		error_set(err, "jwk.n: %d-bit modulus, expected %d..%d bits",
		    bits, JWK_RSA_MIN_BITS, JWK_RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(n)) {
		error_set(err, "jwk.n: modulus is even");
		goto out;
	}
	if (!BN_is_odd(e) || BN_is_one(e)) {
		error_set(err, "jwk.e: exponent must be odd and greater than 1");
		goto out;
	}
	if (BN_cmp(e, n) >= 0) {
		error_set(err, "jwk.e: exponent not smaller than the modulus");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		error_set(err, "jwk: out of memory");
		goto out;
	}
	if ((pkey = jwk_pkey_fromdata("RSA", params)) == NULL) {
		error_set(err, "jwk: OpenSSL rejected the RSA key");
		goto out;
	}
	*out = pkey;
	rc = 0;
out:
	ERR_clear_error();
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

static int
jwk_okp_to_pkey(const json_t *jwk, EVP_PKEY **out, struct error *err)
{
	const char *crv;
	char ex[40];
	uint8_t *x = NULL;
	size_t xlen;
	EVP_PKEY *pkey;

	if ((crv = jwk_get_string(jwk, "crv", err)) == NULL)
		return -1;
	if (strcmp(crv, "Ed25519") != 0)
		return error_set(err, "jwk.crv: unsupported OKP curve \"%s\" "
		    "(expected Ed25519)", log_escape(crv, ex, sizeof(ex)));
	if (jwk_get_b64(jwk, "x", 32, &x, &xlen, err) != 0)
		return -1;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen);
	free(x);
	if (pkey == NULL) {
		ERR_clear_error();
		return error_set(err, "jwk.x: OpenSSL rejected the Ed25519 key");
	}
	*out = pkey;
	return 0;
}

int
jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct error *err)
{
	const char *kty;
	char ex[40];

	*out = NULL;
	if (!json_is_object(jwk))
		return error_set(err, "jwk: not a JSON object");
	if ((kty = jwk_get_string(jwk, "kty", err)) == NULL)
		return -1;
	if (strcmp(kty, "EC") == 0)
		return jwk_ec_to_pkey(jwk, out, err);
	if (strcmp(kty, "RSA") == 0)
		return jwk_rsa_to_pkey(jwk, out, err);
	if (strcmp(kty, "OKP") == 0)
		return jwk_okp_to_pkey(jwk, out, err);
	return error_set(err, "jwk.kty: unsupported key type \"%s\" "
	    "(expected EC, RSA or OKP)", log_escape(kty, ex, sizeof(ex)));
}

/* Set member `name` to b64url(data). */
static void
jwk_set_b64(json_t *obj, const char *name, const uint8_t *data, size_t len)
{
	char *s = b64_encode(data, len, B64_URL_NOPAD);

	json_object_set_new(obj, name, json_string(s));
	free(s);
}

static json_t *
jwk_ec_from_pkey(EVP_PKEY *pkey, const char *alg)
{
	const struct jwk_curve *c;
	char group[64];
	BIGNUM *x = NULL, *y = NULL;
	uint8_t xb[66], yb[66];
	json_t *jwk = NULL;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) != 1 ||
	    (c = jwk_curve_by_group(group)) == NULL)
		goto out;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, xb, (int)c->len) < 0 ||
	    BN_bn2binpad(y, yb, (int)c->len) < 0)
		goto out;
	jwk = json_object();
	json_object_set_new(jwk, "kty", json_string("EC"));
	json_object_set_new(jwk, "crv", json_string(c->crv));
	if (alg != NULL)
		json_object_set_new(jwk, "alg", json_string(alg));
	jwk_set_b64(jwk, "x", xb, c->len);
	jwk_set_b64(jwk, "y", yb, c->len);
out:
	BN_free(x);
	BN_free(y);
	return jwk;
}

static json_t *
jwk_rsa_from_pkey(EVP_PKEY *pkey, const char *alg)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *nb = NULL, *eb = NULL;
	int nlen, elen;
	json_t *jwk = NULL;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto out;
	/* Minimal big-endian, as RFC 7518 §6.3.1 requires (for a modulus
	 * that is the full key size, e.g. 256 bytes for RSA-2048). */
	nlen = BN_num_bytes(n);
	elen = BN_num_bytes(e);
	nb = xmalloc((size_t)nlen);
	eb = xmalloc((size_t)elen);
	BN_bn2bin(n, nb);
	BN_bn2bin(e, eb);
	jwk = json_object();
	json_object_set_new(jwk, "kty", json_string("RSA"));
	if (alg != NULL)
		json_object_set_new(jwk, "alg", json_string(alg));
	jwk_set_b64(jwk, "n", nb, (size_t)nlen);
	jwk_set_b64(jwk, "e", eb, (size_t)elen);
out:
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return jwk;
}

static json_t *
jwk_ed25519_from_pkey(EVP_PKEY *pkey, const char *alg)
{
	uint8_t x[32];
	size_t xlen = sizeof(x);
	json_t *jwk;

	if (EVP_PKEY_get_raw_public_key(pkey, x, &xlen) != 1 || xlen != 32)
		return NULL;
	jwk = json_object();
	json_object_set_new(jwk, "kty", json_string("OKP"));
	json_object_set_new(jwk, "crv", json_string("Ed25519"));
	if (alg != NULL)
		json_object_set_new(jwk, "alg", json_string(alg));
	jwk_set_b64(jwk, "x", x, xlen);
	return jwk;
}

json_t *
jwk_from_pkey(EVP_PKEY *pkey, const char *alg)
{
	json_t *jwk = NULL;

	if (pkey == NULL)
		return NULL;
	if (EVP_PKEY_is_a(pkey, "EC"))
		jwk = jwk_ec_from_pkey(pkey, alg);
	else if (EVP_PKEY_is_a(pkey, "RSA"))
		jwk = jwk_rsa_from_pkey(pkey, alg);
	else if (EVP_PKEY_is_a(pkey, "ED25519"))
		jwk = jwk_ed25519_from_pkey(pkey, alg);
	ERR_clear_error();
	return jwk;
}

/*
 * kbs-types TeePubKey is a serde enum tagged by "kty" whose variants have
 * only string fields; deserializing drops anything else, and a missing or
 * non-string field fails the whole request. Trustee and the guest both
 * hash the re-serialized value, so we must keep exactly these members.
 */
json_t *
jwk_tee_pubkey_normalize(const json_t *in, struct error *err)
{
	static const char *const ec[] = { "crv", "alg", "x", "y" };
	static const char *const rsa[] = { "alg", "n", "e" };
	static const char *const akp[] = { "alg", "pub" };
	const char *const *members;
	size_t i, n;
	const char *kty, *s;
	char ex[40];
	json_t *out;

	if (!json_is_object(in)) {
		error_set(err, "tee-pubkey: not a JSON object");
		return NULL;
	}
	if ((kty = jwk_member_string(in, "tee-pubkey", "kty", err)) == NULL)
		return NULL;
	if (strcmp(kty, "EC") == 0) {
		members = ec;
		n = ARRAY_SIZE(ec);
	} else if (strcmp(kty, "RSA") == 0) {
		members = rsa;
		n = ARRAY_SIZE(rsa);
	} else if (strcmp(kty, "AKP") == 0) {
		members = akp;
		n = ARRAY_SIZE(akp);
	} else {
		error_set(err, "tee-pubkey.kty: unsupported key type \"%s\" "
		    "(expected EC, RSA or AKP)",
		    log_escape(kty, ex, sizeof(ex)));
		return NULL;
	}
	out = json_object();
	json_object_set_new(out, "kty", json_string(kty));
	for (i = 0; i < n; i++) {
		s = jwk_member_string(in, "tee-pubkey", members[i], err);
		if (s == NULL) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, members[i],
		    json_copy(json_object_get(in, members[i])));
	}
	return out;
}
