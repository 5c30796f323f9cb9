/*
 * guest_internal.h: the pure pieces of the client side (httpc.c, guest.c)
 * exposed for the unit tests and for guest.c. Not a public interface:
 * only lib/ and tests/unit/ include it.
 */
#ifndef TRUSTEE_GUEST_INTERNAL_H
#define TRUSTEE_GUEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "hash.h"
#include "httpc.h"
#include "util.h"

/* httpc.c */

/* A parsed base URL: "http(s)://host[:port][/prefix]". */
struct httpc_url {
	int https;
	char *host;		/* without the [] of an IPv6 literal */
	int host_is_ip;		/* IPv4 or IPv6 literal */
	int port;
	char *prefix;		/* "" or "/a/b" (no trailing '/') */
};

/* Parse url into u (strings malloc'd; release with httpc_url_clear).
 * Userinfo, queries, fragments and empty hosts are refused. */
int httpc_url_parse(const char *url, struct httpc_url *u, struct error *err);
void httpc_url_clear(struct httpc_url *u);

/* The "name=value" of a Set-Cookie header value (the first attribute
 * pair, trimmed), malloc'd; NULL when it has no usable pair. */
char *httpc_cookie_from_header(const char *set_cookie);

/* Whether cookies are currently kept and sent (see httpc_set_cookies). */
int httpc_cookies_enabled(const struct httpc *c);

/* guest.c */

/*
 * The hash to bind runtime data with, from the challenge's extra-params:
 * "selected-hash-algorithm" (case-insensitive name) when extra-params is
 * an object holding it, else SHA-384. A non-string or unknown name fails.
 */
int guest_hash_from_challenge(const json_t *extra_params, enum hash_alg *out,
    struct error *err);

/*
 * HASH(JCS({"additional-evidence":"","nonce":nonce,"tee-pubkey":jwk})):
 * the report data a sample (or any) attester binds. out must hold
 * HASH_MAX_SIZE bytes.
 */
int guest_runtime_digest(const json_t *jwk, const char *nonce,
    enum hash_alg alg, uint8_t *out, size_t *len, struct error *err);

#endif
