/*
 * fuzz_jws.c: jws_parse on arbitrary bytes; whatever parses is verified
 * against keys generated at start-up (P-256, Ed25519, RSA-2048). Nobody
 * holds those private keys, so a successful verification is a bug.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "jws.h"
#include "util.h"

static EVP_PKEY *fuzz_keys[3];

static void
fuzz_jws_init(void)
{
	size_t i;

	if (fuzz_keys[0] != NULL)
		return;
	fuzz_keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fuzz_keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	fuzz_keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (i = 0; i < ARRAY_SIZE(fuzz_keys); i++) {
		if (fuzz_keys[i] == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct jws *j;
	size_t i;

	fuzz_jws_init();
	if (size > 65536)
		return 0;
	j = jws_parse((const char *)data, size, &err);
	if (j == NULL)
		return 0;
	if (j->alg == NULL || j->header == NULL || j->payload == NULL ||
	    j->signing_input == NULL || j->sig == NULL || j->sig_len == 0)
		abort();
	for (i = 0; i < ARRAY_SIZE(fuzz_keys); i++) {
		if (jws_verify(j, fuzz_keys[i], &err) == 0)
			abort();
	}
	jws_free(j);
	return 0;
}
