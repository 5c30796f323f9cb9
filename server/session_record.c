/*
 * session_record.c: the record of a KBS session as rows of a shared
 * store keep it (session_shared.c). Format, version 1 (a `sessions`
 * row's value; a `session_nonces` row's value is 44 bytes of nonce, then
 * the record):
 *   u8 version (1) | u8 state (0 authed, 1 attested) | be64 expires |
 *   u8 n, n bytes TEE name | u8 m, m bytes hash name | token (the rest;
 *   empty unless attested)
 * Rows are authenticated by the store; decode checks every length
 * anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "session_internal.h"

#define SR_VERSION	1

/* The record of s (with token when attested); malloc'd, *len set.
 * Holds the token: release with secret_free. */
uint8_t *
session_record_encode(const struct session *s, const char *token, size_t *len)
{
	const char *hash = hash_alg_name(s->hash);
	size_t tl = strlen(s->tee), hl = strlen(hash);
	size_t kl = token != NULL ? strlen(token) : 0;
	uint8_t *b, *p;
	int i;

	*len = 1 + 1 + 8 + 1 + tl + 1 + hl + kl;
	p = b = xmalloc(*len);
	*p++ = SR_VERSION;
	*p++ = s->state == SESSION_ATTESTED ? 1 : 0;
	for (i = 7; i >= 0; i--)
		*p++ = (uint8_t)((uint64_t)s->expires >> (8 * i));
	*p++ = (uint8_t)tl;
	memcpy(p, s->tee, tl);
	p += tl;
	*p++ = (uint8_t)hl;
	memcpy(p, hash, hl);
	p += hl;
	if (kl > 0)
		memcpy(p, token, kl);
	return b;
}

/* Fill *s (id set by the caller; token malloc'd when attested) from a
 * record. The row authenticated, but check every length anyway. */
int
session_record_decode(const uint8_t *b, size_t len, struct session *s,
    struct error *err)
{
	const uint8_t *p = b, *end = b + len;
	char name[16];
	uint64_t exp = 0;
	size_t n;
	int i;

	if (len < 12 || p[0] != SR_VERSION || p[1] > 1)
		return error_set(err, "session record: unknown format");
	s->state = p[1] == 1 ? SESSION_ATTESTED : SESSION_AUTHED;
	p += 2;
	for (i = 0; i < 8; i++)
		exp = exp << 8 | *p++;
	s->expires = (int64_t)exp;
	n = *p++;
	if (n >= sizeof(s->tee) || (size_t)(end - p) < n + 1 ||
	    memchr(p, '\0', n) != NULL)
		return error_set(err, "session record: bad TEE name");
	memcpy(s->tee, p, n);
	s->tee[n] = '\0';
	p += n;
	n = *p++;
	if (n >= sizeof(name) || (size_t)(end - p) < n ||
	    memchr(p, '\0', n) != NULL)
		return error_set(err, "session record: bad hash name");
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	if (hash_alg_from_name(name, &s->hash) != 0)
		return error_set(err, "session record: unknown hash '%s'",
		    name);
	if (s->state != SESSION_ATTESTED && p != end)
		return error_set(err, "session record: bytes after an "
		    "unattested record");
	s->nonce_used = s->state == SESSION_ATTESTED;
	if (s->state == SESSION_ATTESTED) {
		if (p == end || memchr(p, '\0', (size_t)(end - p)) != NULL)
			return error_set(err, "session record: attested "
			    "without a token, or with a NUL in it");
		s->token = xmalloc((size_t)(end - p) + 1);
		memcpy(s->token, p, (size_t)(end - p));
		s->token[end - p] = '\0';
	}
	return 0;
}
