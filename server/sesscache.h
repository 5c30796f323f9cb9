/*
 * sesscache.h: the verified-token cache (sesscache.c). An attested
 * session's token, or a Bearer token, is verified once; what the
 * verification produced (the claims, the TEE key they name, parsed) is
 * kept here, keyed by the token's digest, so a later resource GET with the
 * same token pays only for its own release.
 *
 * Per instance, bounded in entries and bytes (least recently used first
 * out), honours the token's exp. It answers "this exact token was
 * verified, and these are its claims" and nothing else: whether a session
 * still exists is always asked of the session store (session_get), never
 * of this cache.
 */
#ifndef TRUSTEE_SESSCACHE_H
#define TRUSTEE_SESSCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SESSCACHE_KEY_LEN	32	/* BLAKE2b-256 of the token */
#define SESSCACHE_MAX_ENTRIES	16384	/* defaults of sesscache_init */
#define SESSCACHE_MAX_BYTES	((size_t)64 << 20)

struct jwe_key;
struct sesscache_ent;

/* Bounds (0: the defaults above); re-init drops every entry. Before init
 * (and after shutdown) nothing is cached: put hands back an entry that
 * only its caller holds. */
void sesscache_init(size_t max_entries, size_t max_bytes);
void sesscache_shutdown(void);
/* Drop every entry (the signing key changed); entries in use stay valid
 * until released. */
void sesscache_flush(void);

/* The key of a token: BLAKE2b-256 of its text. */
void sesscache_digest(const char *token, size_t len,
    uint8_t key[SESSCACHE_KEY_LEN]);

/*
 * The entry of key if cached and exp > now: a new reference (release it
 * with sesscache_release), marked most recently used. NULL otherwise; an
 * expired entry is dropped.
 */
struct sesscache_ent *sesscache_get(const uint8_t key[SESSCACHE_KEY_LEN],
    int64_t now);
/*
 * Remember a verified token: takes over the caller's reference to claims
 * and tee_key (may be NULL: the claims name no usable key). bytes is the
 * caller's estimate of the memory held. Returns a reference for the
 * caller: the new entry, or the entry already cached under key (the
 * arguments are then freed). Not cached (but returned) when exp <= now,
 * when bytes alone exceed the byte bound, or before init. Evicts least
 * recently used entries to stay within the bounds.
 */
struct sesscache_ent *sesscache_put(const uint8_t key[SESSCACHE_KEY_LEN],
    json_t *claims, struct jwe_key *tee_key, int64_t exp, size_t bytes,
    int64_t now);
/* Drop a reference; NULL is fine. The last one frees the entry. */
void sesscache_release(struct sesscache_ent *e);

/* What an entry holds: immutable while referenced, readable by several
 * threads at once. */
const json_t *sesscache_claims(const struct sesscache_ent *e);
const struct jwe_key *sesscache_tee_key(const struct sesscache_ent *e);
int64_t sesscache_exp(const struct sesscache_ent *e);

/*
 * Decisions made from an entry's claims (the resource policy's), kept
 * with it: at most SESSCACHE_MEMO_SLOTS per entry, each a key (the
 * caller's digest of everything the decision depended on besides the
 * claims) with an allowed flag and a text (at most
 * SESSCACHE_MEMO_TEXT_MAX bytes with its NUL). Whatever a key stands for
 * is the caller's contract; the cache compares keys in constant time.
 * memo_get: 1 with *allowed and text (size bytes) filled when key is
 * there, 0 otherwise. memo_put: remember (replacing key's slot, or the
 * least recently put); a text too long is not kept. The texts count in
 * the entry's bytes (checked against the byte bound at the next put).
 */
#define SESSCACHE_MEMO_SLOTS	2
#define SESSCACHE_MEMO_KEY_LEN	32
#define SESSCACHE_MEMO_TEXT_MAX	512
int sesscache_memo_get(struct sesscache_ent *e,
    const uint8_t key[SESSCACHE_MEMO_KEY_LEN], int *allowed, char *text,
    size_t size);
void sesscache_memo_put(struct sesscache_ent *e,
    const uint8_t key[SESSCACHE_MEMO_KEY_LEN], int allowed,
    const char *text);
/* Whether e has kept a decision yet (a caller may skip making a key for
 * memo_get when not). */
int sesscache_memo_any(struct sesscache_ent *e);

struct sesscache_stats {
	size_t entries, bytes, max_entries, max_bytes;
	uint64_t hits, misses, evicted, expired;
	uint64_t memo_hits, memo_misses;
};
void sesscache_stats(struct sesscache_stats *st);

#endif
