/*
 * b64.h: base64 in the four variants the protocols use, on top of
 * libsodium's sodium_bin2base64 / sodium_base642bin. Decoding is strict:
 * the whole input must be valid for the variant (no whitespace, no
 * missing or extra padding).
 */
#ifndef TRUSTEE_B64_H
#define TRUSTEE_B64_H

#include <stddef.h>
#include <stdint.h>

enum b64_variant {
	B64_STD,		/* RFC 4648 §4 with '=' padding */
	B64_STD_NOPAD,
	B64_URL,		/* RFC 4648 §5 with '=' padding */
	B64_URL_NOPAD		/* JOSE */
};

/* Returns a malloc'd NUL-terminated string (never NULL). */
char *b64_encode(const void *data, size_t len, enum b64_variant v);
/*
 * base64url without padding of public bytes (JOSE headers, ciphertexts,
 * signatures, public keys) into out, which has room for
 * B64URL_PUBLIC_CAP(len) bytes; writes a NUL and returns the length
 * before it. Table-driven (OpenSSL's EVP_EncodeBlock), several times
 * faster than b64_encode, whose constant-time encoder only secrets need.
 */
#define B64URL_PUBLIC_CAP(len)	(4 * (((len) + 2) / 3) + 1)
size_t b64url_public(char *out, const void *data, size_t len);
/* Append b64url_public(data) to b (its text stays NUL-terminated). */
struct buf;
void b64url_public_add(struct buf *b, const void *data, size_t len);
/* Decode slen bytes of s. On success *out is malloc'd (one extra NUL byte
 * is appended, not counted) and 0 is returned; -1 on any invalid input. */
int b64_decode(const char *s, size_t slen, enum b64_variant v, uint8_t **out,
    size_t *outlen);
/* Decode any one of the four variants (what Trustee's clients send varies:
 * URL-safe without padding, with padding, or standard). Still strict
 * within the variant; -1 when no variant accepts the whole input. */
int b64_decode_any(const char *s, size_t slen, uint8_t **out,
    size_t *outlen);

#endif
