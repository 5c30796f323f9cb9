/*
 * session.c: KBS protocol sessions (RCAR: /auth creates, /attest attests).
 *
 * Sessions live in a mutex-protected hash table shared by the event-loop
 * threads. Lookups hand out copies so no caller ever holds a pointer into
 * the table. Lifetimes are counted from /auth and never extended (as in
 * Trustee); expired sessions are removed on lookup and by session_gc().
 * How many sessions and how much memory clients may hold is decided by
 * session_quota.c, which names the sessions to evict; this file only
 * stores and deletes.
 *
 * With a store shared by several instances (session_share: MariaDB,
 * Galera) every call goes to session_shared.c instead, which keeps the
 * sessions as rows of the store.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "session_internal.h"
#include "sesscache.h"
#include "trusteed.h"

#define SESSION_BUCKETS 4096

struct session_entry {
	struct session s;
	struct session_entry *next;
};

static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_entry *session_table[SESSION_BUCKETS];
static size_t session_n;
static int session_lifetime = 300;
/* Set once, before serving: sessions live in the shared store. */
static int session_in_store;

static size_t
session_bucket(const char *id)
{
	/* ids are random hex: the first 8 digits spread evenly. */
	return (size_t)strtoul((char[9]){ id[0], id[1], id[2], id[3], id[4],
	    id[5], id[6], id[7], 0 }, NULL, 16) % SESSION_BUCKETS;
}

static void
session_entry_free(struct session_entry *e)
{
	secret_strfree(e->s.token);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

/* session_quota_evict_fn: delete a session the quota evicts. Called with
 * session_lock held (the quota is only asked with it held). */
static void
session_evict_locked(const char *id, void *arg)
{
	struct session_entry **pp, *e;

	(void)arg;
	for (pp = &session_table[session_bucket(id)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (strcmp(e->s.id, id) == 0) {
			*pp = e->next;
			session_n--;
			session_entry_free(e);
			return;
		}
	}
}

void
session_init(int lifetime_s)
{
	session_lifetime = lifetime_s;
}

void
session_share(struct store *st, size_t cache_max, size_t cache_bytes,
    int stateless)
{
	session_shared_init(st, session_lifetime, cache_max, cache_bytes,
	    stateless);
	session_in_store = 1;
}

int
session_is_shared(void)
{
	return session_in_store;
}

void
session_shutdown(void)
{
	size_t i;

	if (session_in_store) {
		session_shared_shutdown();
		session_in_store = 0;
		return;
	}
	pthread_mutex_lock(&session_lock);
	for (i = 0; i < SESSION_BUCKETS; i++) {
		while (session_table[i] != NULL) {
			struct session_entry *e = session_table[i];

			session_table[i] = e->next;
			session_quota_forget(e->s.id);
			session_entry_free(e);
		}
	}
	session_n = 0;
	pthread_mutex_unlock(&session_lock);
}

static void
session_copy(const struct session *from, struct session *to)
{
	*to = *from;
	to->token = from->token != NULL ? xstrdup(from->token) : NULL;
}

void
session_clear(struct session *s)
{
	secret_strfree(s->token);
	sodium_memzero(s, sizeof(*s));
}

void
session_mint(struct session *s)
{
	uint8_t rnd[16 + 32];
	char *nonce;

	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, 16, s->id);
	nonce = b64_encode(rnd + 16, 32, B64_STD);
	memcpy(s->nonce, nonce, SESSION_NONCE_LEN);
	s->nonce[SESSION_NONCE_LEN] = '\0';
	free(nonce);
	sodium_memzero(rnd, sizeof(rnd));
}

int
session_new(const char *tee, enum hash_alg hash,
    const struct source_addr *src, struct session *out)
{
	struct session_entry *e;
	size_t b;
	int rc;

	if (session_in_store)
		return session_shared_new(tee, hash, src, out);
	if (strlen(tee) >= sizeof(e->s.tee))
		return -1;
	e = xcalloc(1, sizeof(*e));
	session_mint(&e->s);
	snprintf(e->s.tee, sizeof(e->s.tee), "%s", tee);
	e->s.hash = hash;
	e->s.expires = now_unix() + session_lifetime;
	e->s.state = SESSION_AUTHED;

	pthread_mutex_lock(&session_lock);
	rc = session_quota_admit(e->s.id, src, e->s.expires, sizeof(*e),
	    session_evict_locked, NULL);
	if (rc != 0) {
		pthread_mutex_unlock(&session_lock);
		session_entry_free(e);
		return rc;
	}
	b = session_bucket(e->s.id);
	e->next = session_table[b];
	session_table[b] = e;
	session_n++;
	session_copy(&e->s, out);
	pthread_mutex_unlock(&session_lock);
	return 0;
}

/* Find a live entry; drops it if expired. Call with the lock held. */
static struct session_entry *
session_find_locked(const char *id)
{
	struct session_entry **pp, *e;

	if (strlen(id) != SESSION_ID_LEN)
		return NULL;
	for (pp = &session_table[session_bucket(id)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (!secret_equal(e->s.id, id, SESSION_ID_LEN))
			continue;
		if (e->s.expires <= now_unix()) {
			*pp = e->next;
			session_n--;
			session_quota_forget(e->s.id);
			session_entry_free(e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

int
session_get(const char *id, struct session *out)
{
	struct session_entry *e;

	if (session_in_store)
		return session_shared_get(id, out);
	pthread_mutex_lock(&session_lock);
	e = session_find_locked(id);
	if (e != NULL)
		session_copy(&e->s, out);
	pthread_mutex_unlock(&session_lock);
	return e != NULL ? 0 : -1;
}

int
session_known(const char *id, struct session *out)
{
	if (session_in_store)
		return session_shared_known(id, out);
	return session_get(id, out);
}

int
session_take_nonce(const char *id, const char *nonce, struct session *out,
    struct error *err)
{
	struct session_entry *e;
	int rc = -1;

	if (session_in_store)
		return session_shared_take_nonce(id, nonce, out, err);
	pthread_mutex_lock(&session_lock);
	e = session_find_locked(id);
	if (e == NULL)
		error_set(err, "session not found or expired; run /auth again");
	else if (!secret_streq(e->s.nonce, nonce))
		error_set(err, "runtime-data nonce does not match this "
		    "session's challenge");
	else if (e->s.nonce_used)
		error_set(err, "the challenge nonce of this session was "
		    "already used; run /auth again");
	else {
		e->s.nonce_used = 1;
		session_copy(&e->s, out);
		rc = 0;
	}
	pthread_mutex_unlock(&session_lock);
	return rc;
}

/* Attest session id with token, whose cache key is key. */
static int
session_attest(const char *id, const char *token,
    const uint8_t key[SESSION_TOKEN_KEY_LEN])
{
	struct session_entry *e;

	pthread_mutex_lock(&session_lock);
	e = session_find_locked(id);
	if (e != NULL && session_quota_attested(id, sizeof(*e) +
	    strlen(token) + 1, session_evict_locked, NULL) != 0)
		e = NULL;
	if (e != NULL) {
		secret_strfree(e->s.token);
		e->s.token = xstrdup(token);
		memcpy(e->s.token_key, key, SESSION_TOKEN_KEY_LEN);
		e->s.token_keyed = 1;
		e->s.state = SESSION_ATTESTED;
	}
	pthread_mutex_unlock(&session_lock);
	return e != NULL ? 0 : -1;
}

int
session_set_attested(const char *id, const char *token)
{
	uint8_t key[SESSION_TOKEN_KEY_LEN];

	if (session_in_store)
		return session_shared_set_attested(id, token);
	sesscache_digest(token, strlen(token), key);
	return session_attest(id, token, key);
}

int
session_set_attested_copy(const struct session *taken, const char *token)
{
	if (session_in_store)
		return session_shared_set_attested_copy(taken, token);
	if (!taken->token_keyed)
		return session_set_attested(taken->id, token);
	return session_attest(taken->id, token, taken->token_key);
}

void
session_abandon(const struct session *taken)
{
	if (session_in_store)
		session_shared_abandon(taken);
	/* In memory, session_take_nonce spent it. */
}

int
session_gc(void)
{
	int64_t now = now_unix();
	int dropped = 0;
	size_t i;

	if (session_in_store)
		return session_shared_gc();
	pthread_mutex_lock(&session_lock);
	for (i = 0; i < SESSION_BUCKETS; i++) {
		struct session_entry **pp = &session_table[i], *e;

		while ((e = *pp) != NULL) {
			if (e->s.expires <= now) {
				*pp = e->next;
				session_quota_forget(e->s.id);
				session_entry_free(e);
				session_n--;
				dropped++;
			} else
				pp = &e->next;
		}
	}
	(void)session_quota_gc(now);
	pthread_mutex_unlock(&session_lock);
	return dropped;
}

size_t
session_count(void)
{
	size_t n;

	if (session_in_store)
		return session_shared_count();
	pthread_mutex_lock(&session_lock);
	n = session_n;
	pthread_mutex_unlock(&session_lock);
	return n;
}
