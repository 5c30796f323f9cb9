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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED_PT "fuzz_jwe seed plaintext"

static const char FUZZ_EC_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkM3KsCE8oZhr06m2\n"
	"6v10xlAudVyR/5LksYjBh5YGcJihRANCAATo8LP3UAuLcV22k2/7NngUsRItSk3Q\n"
	"2Zb5A1WBhnqaDxRGIGlW9y07kQkXq8JF6rMdIe9e/msAte0XuTs+HsPy\n"
	"-----END PRIVATE KEY-----\n";
static const char FUZZ_RSA_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCmxuPyOYnC8gcN\n"
	"fe2BjWDAtbSDd5HngtSGJZU9awQDCLy+fDu9JOqVpk07yyGI+Qvtc6OMI3J+/U1a\n"
	"3uOom2CPKoWV8a0Lmh+3E0k2Kg4Ue6J8nta8JV0XMshh6T96pDcP12wNTBVK7yZ6\n"
	"SP4J/ajs/sTmBwp4CHSCRPeAWKadyzj4Q/8q+ue0VvNyt77eWZCqJigPbvKlJjCk\n"
	"1Ixypm5CJWBc25fYV6QKWWzzFdQ9klZzbA4oYwgFDSeotD0KNczmObHgCJc3S7AX\n"
	"N7uxUKgBzayz21X3Xq0mvfm3v0QJoC7PguIh1RMflBlYn3U+93EUAsIIucSEssrT\n"
	"s8RxN6opAgMBAAECggEAKvK7DszMcjx7nnjYae1rhhUE+HoZQ8JIUodpKFjfvpxI\n"
	"ZtF9XNcd5g3eg9BqwWhJLwwBiPwz5wn6GrWdcPUaZ6PupM+I3Z0CH9ZCm0U3PQUd\n"
	"sfQBnpAMqgW03qn/Y+jYGSdDtyTpstNlWEZlzVLaZrWxJP+ZLZIX1thF2HJ77dRW\n"
	"UiNYTxPtp3Begjewv1BSYPU4cRh0/HRGYn05iHJHfvrD4bFgb7aR7Kk/+zbV4Vvs\n"
	"B46uywgnes1H6tEnZhSxgfHWj1Wll58xVX4aQjLIeU+gEZhBE8Vnf86Am9egVnbc\n"
	"qLYId0RiOw6jUTf9JQWQJSdx1lWco+wBs1EU5iN2tQKBgQDTvsBfPopftHXIv2il\n"
	"AzIC09PCFG5F75gMBWMbKVkZr3jQr1C3Lx/QL+o5V0kMHw8cJfDnliOrTOokCDC5\n"
	"sk9Fl15yCzcXUIZokjsPVYeD5qG0SsuzmQgrIFFHZwmp7OLwXTEPw5jI0+ezc/z/\n"
	"gkogENqUjoHxiWMHxBqmZR+OSwKBgQDJoibsOvLRdJIvUWSQqAFJ1Q3FCYFdE1as\n"
	"jU60xrvdWBLrvoMf3flqFEzCWl2QdnaGl+MkHkjZlm+S/7XqOm0zjXtzwC+bRtI/\n"
	"yczZvQQABMgMmK98U0mzl8ExwaLGaxT2QCls1x27sGzSI2HhvLJVsERUpWGJwUBq\n"
	"xmH58VTQ2wKBgBAX3l0ezruJZq5URerMvF9UpDKLBPqRxDedrTOiR+BY4tDRkkvp\n"
	"6/wRuDaVeLrQHYDhLVccpSde2CjW6oUilT3PzGDUk2JVP3HxM0XuFTekLsQaLzM+\n"
	"PU2xzhukLCrbE0B7hMAS+KjC2khcV21ABMw9G6/QyPWHoJw1fmUJKIXTAoGAAqlK\n"
	"PDn29H7GYyt+2U3uXmwad2xNsc3MihB/ZnFtD1nXPhdQob4LSbQk4zfQHlUB8XrV\n"
	"u6dOrNiIdnc7jnDg+ho28+sodbM0mTTvqDwPbnShs1DcmBZ9VYp+OUrl/Bpzt2BX\n"
	"a6FXOh/0/70J0LHt5KWj8T4RkIDlecNOjb76sJsCgYAM0Mazf1FcsmSceN2Hy7qE\n"
	"1P/IJQJoWGwhMBpJ17jE18HtWF1pimzJQ6SUYViE1aOiU+nT+92T1qJcZgvd7Qoi\n"
	"Gy3GC+icq7fzmKHhhcQd0o2+43+DQu1gtxr3BaG9VpdN4uMFH3WXYtKUeJCGsFhF\n"
	"2528iL+CsLL+NQ/QKTyo2g==\n"
	"-----END PRIVATE KEY-----\n";

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
