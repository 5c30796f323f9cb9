/*
 * fuzz_jwe.c: jwe_decrypt of arbitrary input with two fixed private keys
 * (P-256 and RSA-2048, generated once for this target and the unit tests).
 *
 * Invariant: decryption only succeeds for input that a holder of the
 * public key produced. The seeds are such JWEs and all carry SEED_PT, and
 * mutations can only keep what the guest's parser ignores (whitespace,
 * member order, extra members, an "aad" string), so any success must
 * return exactly SEED_PT; anything else would be a forgery: abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../lib/jwe.h"
#include "../../lib/util.h"

#include "../testkeys.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED_PT "fuzz_jwe seed plaintext"

#define FUZZ_EC_PEM TESTKEY_P256_PEM
#define FUZZ_RSA_PEM TESTKEY_RSA2048_PEM

static EVP_PKEY *fuzz_keys[2];

static EVP_PKEY *
load_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	if (k == NULL)
		abort();
	return k;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keys[0] = load_key(FUZZ_EC_PEM);
	fuzz_keys[1] = load_key(FUZZ_RSA_PEM);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	uint8_t *pt;
	size_t i, ptlen;

	for (i = 0; i < ARRAY_SIZE(fuzz_keys); i++) {
		if (jwe_decrypt((const char *)data, size, fuzz_keys[i], &pt,
		    &ptlen, &err) != 0) {
			if (pt != NULL || ptlen != 0)
				abort();
			continue;
		}
		if (ptlen != strlen(SEED_PT) || memcmp(pt, SEED_PT, ptlen) != 0)
			abort();
		secret_free(pt, ptlen);
	}
	return 0;
}
