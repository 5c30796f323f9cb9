/*
 * b64.c: strict base64 on libsodium.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "b64.h"
#include "util.h"

static int
b64_sodium_variant(enum b64_variant v)
{
	switch (v) {
	case B64_STD:
		return sodium_base64_VARIANT_ORIGINAL;
	case B64_STD_NOPAD:
		return sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	case B64_URL:
		return sodium_base64_VARIANT_URLSAFE;
	case B64_URL_NOPAD:
	default:
		return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	}
}

char *
b64_encode(const void *data, size_t len, enum b64_variant v)
{
	int sv = b64_sodium_variant(v);
	size_t cap = sodium_base64_encoded_len(len, sv);
	char *out = xmalloc(cap);

	sodium_bin2base64(out, cap, data, len, sv);
	return out;
}

size_t
b64url_public(char *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off = 0, n = 0, i;
	int chunk;

	/* EVP_EncodeBlock takes an int length: whole 3-byte groups. */
	while (off < len) {
		chunk = len - off > (size_t)3 << 28 ? 3 << 28 : (int)(len - off);
		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, p + off,
		    chunk);
		off += (size_t)chunk;
	}
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return n;
}

void
b64url_public_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, B64URL_PUBLIC_CAP(len));
	b->len += b64url_public((char *)b->data + b->len, data, len);
}

/*
 * libsodium 1.0.18 lets bytes >= 0x80 through inside a full quantum, so
 * check the alphabet (and that '=' only ends a padded variant) first.
 */
static int
b64_alphabet_ok(const char *s, size_t slen, enum b64_variant v)
{
	int url = v == B64_URL || v == B64_URL_NOPAD;
	int pad = v == B64_STD || v == B64_URL;
	size_t i;

	for (i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == (url ? '-' : '+') || c == (url ? '_' : '/'))
			continue;
		if (c == '=' && pad && slen - i <= 2)
			continue;
		return 0;
	}
	return 1;
}

int
b64_decode(const char *s, size_t slen, enum b64_variant v, uint8_t **out,
    size_t *outlen)
{
	size_t cap = slen / 4 * 3 + 3, n = 0;
	const char *end = NULL;
	uint8_t *p;

	*out = NULL;
	*outlen = 0;
	if (!b64_alphabet_ok(s, slen, v))
		return -1;
	p = xmalloc(cap + 1);
	if (sodium_base642bin(p, cap, s, slen, NULL, &n, &end,
	    b64_sodium_variant(v)) != 0 || end != s + slen) {
		secret_free(p, cap + 1);
		return -1;
	}
	p[n] = '\0';
	*out = p;
	*outlen = n;
	return 0;
}

int
b64_decode_any(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	static const enum b64_variant order[] = {
		B64_URL_NOPAD, B64_URL, B64_STD, B64_STD_NOPAD
	};
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (b64_decode(s, slen, order[i], out, outlen) == 0)
			return 0;
	return -1;
}
