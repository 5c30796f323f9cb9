/*
 * fuzz_jwk.c: JWK decoding and TeePubKey normalization on arbitrary JSON.
 *
 * Invariants checked (abort on violation):
 *   - a JWK that decodes re-encodes with jwk_from_pkey and decodes again
 *     to an equal key (EVP_PKEY_eq);
 *   - decoding is canonical: for EC and OKP the re-encoded coordinates are
 *     the input strings (strict base64url, fixed lengths), so no two JWK
 *     texts of these types give the same key;
 *   - a normalized TeePubKey holds exactly kty plus the modelled string
 *     members, copied unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../../lib/jwk.h"
#include "../../lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same_string(const json_t *a, const json_t *b, const char *name)
{
	const json_t *x = json_object_get(a, name), *y = json_object_get(b,
	    name);

	if (!json_is_string(x) || !json_is_string(y) || !json_equal(x, y))
		abort();
}

static void
check_normalized(const json_t *in, const json_t *out)
{
	const char *kty = json_string_value(json_object_get(out, "kty"));
	const char *key;
	json_t *v;
	size_t want;

	if (kty == NULL)
		abort();
	if (strcmp(kty, "EC") == 0)
		want = 5;
	else if (strcmp(kty, "RSA") == 0)
		want = 4;
	else if (strcmp(kty, "AKP") == 0)
		want = 3;
	else
		abort();
	if (json_object_size(out) != want)
		abort();
	json_object_foreach((json_t *)out, key, v)
		check_same_string(in, out, key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	json_t *j, *norm, *back = NULL;
	EVP_PKEY *k = NULL, *k2 = NULL;
	const char *kty;

	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return 0;
	if ((norm = jwk_tee_pubkey_normalize(j, &err)) != NULL) {
		check_normalized(j, norm);
		json_decref(norm);
	}
	if (jwk_to_pkey(j, &k, &err) == 0) {
		if (k == NULL || (back = jwk_from_pkey(k, "A")) == NULL)
			abort();
		if (jwk_to_pkey(back, &k2, &err) != 0 ||
		    EVP_PKEY_eq(k, k2) != 1)
			abort();
		kty = json_string_value(json_object_get(j, "kty"));
		check_same_string(j, back, "kty");
		if (strcmp(kty, "EC") == 0) {
			check_same_string(j, back, "crv");
			check_same_string(j, back, "x");
			check_same_string(j, back, "y");
		} else if (strcmp(kty, "OKP") == 0) {
			check_same_string(j, back, "crv");
			check_same_string(j, back, "x");
		}
	} else if (k != NULL)
		abort();
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	json_decref(back);
	json_decref(j);
	return 0;
}
