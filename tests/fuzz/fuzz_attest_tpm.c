/*
 * fuzz_attest_tpm.c: the AK public area the TPM attester reads back
 * (TPM2B_PUBLIC from TPM2_ReadPublic) turned into a DER
 * SubjectPublicKeyInfo (cli/attest_tpm.c). Properties: no crash or leak;
 * what it accepts is a public key the verifier's own AK parser accepts
 * (RSA 2048..4096 aside: the verifier may still refuse the size).
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../cli/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	uint8_t *der = NULL;
	const unsigned char *p;
	size_t n;
	EVP_PKEY *k;

	if (attest_tpm_public_to_spki(data, size, &der, &n, &err) != 0)
		return 0;
	p = der;
	k = d2i_PUBKEY(NULL, &p, (long)n);
	if (k == NULL || p != der + n)
		abort();
	EVP_PKEY_free(k);
	free(der);
	return 0;
}
