/*
 * session_internal.h: between session.c and session_shared.c (sessions
 * as rows of a shared store). The contracts are session.c's, in
 * trusteed.h; nothing else includes this header.
 */
#ifndef TRUSTEE_SESSION_INTERNAL_H
#define TRUSTEE_SESSION_INTERNAL_H

#include "trusteed.h"

/* A new session's id (128 random bits, hex) and challenge nonce (256
 * random bits, standard base64) into s, from one draw of the CSPRNG. */
void session_mint(struct session *s);

/*
 * Stateless challenges (session_challenge.c). mint: s->nonce from s's id,
 * TEE, hash and expiry under key; -1 (s unchanged) when they do not fit
 * (a TEE name over 12 bytes): the session's challenge is then stored.
 * open: 0 when nonce is one that mint made for id under key, and *out
 * the session it describes (unattested, rev STORE_REV_ABSENT, expiry
 * not checked); -1 for anything else (a random nonce included).
 */
int session_challenge_mint(const uint8_t key[32], struct session *s);
int session_challenge_open(const uint8_t key[32], const char *id,
    const char *nonce, struct session *out);

/*
 * A session's record (session_record.c). encode: of s, with token when
 * attested (NULL: none); malloc'd, *len set; it holds the token: release
 * with secret_free. decode: fill *s (id set by the caller; token
 * malloc'd when attested); 0, or -1 and err for a record it cannot read.
 */
uint8_t *session_record_encode(const struct session *s, const char *token,
    size_t *len);
int session_record_decode(const uint8_t *b, size_t len, struct session *s,
    struct error *err);

/* Serve sessions from st from now on. cache_max / cache_bytes bound the
 * per-instance cache of attested sessions (0: no cache). stateless: /auth
 * mints stateless challenges instead of writing rows (session_share). */
void session_shared_init(struct store *st, int lifetime_s, size_t cache_max,
    size_t cache_bytes, int stateless);
/* Drop the cache; the rows stay (other instances serve them). */
void session_shared_shutdown(void);
int session_shared_new(const char *tee, enum hash_alg hash,
    const struct source_addr *src, struct session *out);
int session_shared_get(const char *id, struct session *out);
int session_shared_known(const char *id, struct session *out);
int session_shared_take_nonce(const char *id, const char *nonce,
    struct session *out, struct error *err);
int session_shared_set_attested(const char *id, const char *token);
int session_shared_set_attested_copy(const struct session *taken,
    const char *token);
void session_shared_abandon(const struct session *taken);
int session_shared_gc(void);
/* Live sessions this instance created (its quota's count). */
size_t session_shared_count(void);

#endif
