/*
 * hash.c: digests by kbs-types name, through OpenSSL EVP.
 */
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"

static const struct {
	const char *name;
	const char *ossl;
	size_t size;
} hash_table[] = {
	[HASH_SHA256] = { "sha256", "SHA256", 32 },
	[HASH_SHA384] = { "sha384", "SHA384", 48 },
	[HASH_SHA512] = { "sha512", "SHA512", 64 },
	[HASH_SM3] = { "sm3", "SM3", 32 },
};

int
hash_alg_from_name(const char *name, enum hash_alg *out)
{
	size_t i;

	for (i = 0; i < sizeof(hash_table) / sizeof(hash_table[0]); i++) {
		if (strcmp(name, hash_table[i].name) == 0) {
			*out = (enum hash_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *
hash_alg_name(enum hash_alg a)
{
	return hash_table[a].name;
}

size_t
hash_alg_size(enum hash_alg a)
{
	return hash_table[a].size;
}

int
hash_digest(enum hash_alg a, const void *data, size_t len,
    uint8_t out[HASH_MAX_SIZE], size_t *outlen)
{
	EVP_MD *md;
	unsigned int n = 0;
	int ok;

	/* Implicit fetch is cached by OpenSSL; the explicit fetch lets SM3
	 * fail cleanly where the provider lacks it. */
	md = EVP_MD_fetch(NULL, hash_table[a].ossl, NULL);
	if (md == NULL)
		return -1;
	ok = EVP_Digest(data, len, out, &n, md, NULL);
	EVP_MD_free(md);
	if (!ok)
		return -1;
	*outlen = n;
	return 0;
}
