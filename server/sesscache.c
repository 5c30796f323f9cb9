/*
 * sesscache.c: the verified-token cache (sesscache.h).
 *
 * Why keyed by the token's digest and not by session id: what is cached
 * is a fact about a token (its signature verified under this trustee's
 * key; its claims; the TEE key they name), and that fact stays true for
 * the token's life wherever the token is presented: in a session of this
 * instance, a session another instance sharing the store attested, or an
 * Authorization header. Whether the session still exists is a fact about
 * the session store, which changes (deleted, expired, evicted by another
 * instance); the resource GET asks the store for it every time (it needs
 * the session's token anyway) and only then looks the token up here. So
 * the cache can never serve anything for a session the store no longer
 * has, and needs no invalidation when sessions go. Entries end at the
 * token's exp, by LRU eviction, or by sesscache_flush (a new signing key).
 *
 * One mutex guards a hash table (chained, power-of-two buckets, indexed
 * by digest bytes: tokens enter only once verified, so the digests are
 * not chosen by a client) and an LRU list. Entries are reference counted:
 * a reader holds an entry outside the lock while it uses the claims and
 * the key; eviction only unlinks, the last release frees.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/jwe.h"
#include "../lib/util.h"
#include "sesscache.h"

#define SESSCACHE_MAX_BUCKETS	((size_t)1 << 20)

/* A decision kept with an entry (sesscache_memo_put); text NULL: empty. */
struct sesscache_memo {
	uint8_t key[SESSCACHE_MEMO_KEY_LEN];
	int allowed;
	char *text;
};

struct sesscache_ent {
	uint8_t key[SESSCACHE_KEY_LEN];
	json_t *claims;
	struct jwe_key *tee_key;
	int64_t exp;
	size_t bytes;
	struct sesscache_memo memo[SESSCACHE_MEMO_SLOTS];
	unsigned memo_next;		/* the slot the next new key takes */
	unsigned refs;		/* the cache's own (while cached) + readers' */
	struct sesscache_ent *hnext;		/* bucket chain */
	struct sesscache_ent *prev, *next;	/* LRU: head = most recent */
};

static pthread_mutex_t sesscache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sesscache_ent **sesscache_tab;
static size_t sesscache_mask;
static struct sesscache_ent *sesscache_head, *sesscache_tail;
static size_t sesscache_n, sesscache_bytes;
static size_t sesscache_max_n, sesscache_max_bytes;
static uint64_t sesscache_hits, sesscache_misses, sesscache_evicted,
    sesscache_expired, sesscache_memo_hits, sesscache_memo_misses;

static void
sesscache_ent_free(struct sesscache_ent *e)
{
	size_t i;

	json_decref(e->claims);
	jwe_key_free(e->tee_key);
	for (i = 0; i < SESSCACHE_MEMO_SLOTS; i++)
		free(e->memo[i].text);
	free(e);
}

static size_t
sesscache_bucket(const uint8_t key[SESSCACHE_KEY_LEN])
{
	size_t h;

	memcpy(&h, key, sizeof(h));
	return h & sesscache_mask;
}

/* Unlink e from table and list; returns e when the cache held the last
 * reference (the caller frees it after unlocking). Lock held. */
static struct sesscache_ent *
sesscache_unlink_locked(struct sesscache_ent *e)
{
	struct sesscache_ent **pp;

	for (pp = &sesscache_tab[sesscache_bucket(e->key)]; *pp != e;
	    pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sesscache_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sesscache_tail = e->prev;
	e->hnext = e->prev = e->next = NULL;
	sesscache_n--;
	sesscache_bytes -= e->bytes;
	return --e->refs == 0 ? e : NULL;
}

static void
sesscache_to_front_locked(struct sesscache_ent *e)
{
	if (sesscache_head == e)
		return;
	e->prev->next = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sesscache_tail = e->prev;
	e->prev = NULL;
	e->next = sesscache_head;
	sesscache_head->prev = e;
	sesscache_head = e;
}

/* Unlink everything; the entries to free (no reader holds them) are
 * chained through hnext into *dead. Lock held. */
static void
sesscache_clear_locked(struct sesscache_ent **dead)
{
	struct sesscache_ent *e;

	while ((e = sesscache_head) != NULL) {
		if (sesscache_unlink_locked(e) != NULL) {
			e->hnext = *dead;
			*dead = e;
		}
	}
}

static void
sesscache_free_chain(struct sesscache_ent *dead)
{
	struct sesscache_ent *e;

	while ((e = dead) != NULL) {
		dead = e->hnext;
		sesscache_ent_free(e);
	}
}

void
sesscache_init(size_t max_entries, size_t max_bytes)
{
	struct sesscache_ent *dead = NULL, **tab, **old;
	size_t nb = 16;

	if (max_entries == 0)
		max_entries = SESSCACHE_MAX_ENTRIES;
	if (max_bytes == 0)
		max_bytes = SESSCACHE_MAX_BYTES;
	while (nb < max_entries && nb < SESSCACHE_MAX_BUCKETS)
		nb <<= 1;
	tab = xcalloc(nb, sizeof(*tab));
	pthread_mutex_lock(&sesscache_lock);
	if (sesscache_tab != NULL)
		sesscache_clear_locked(&dead);
	old = sesscache_tab;
	sesscache_tab = tab;
	sesscache_mask = nb - 1;
	sesscache_max_n = max_entries;
	sesscache_max_bytes = max_bytes;
	sesscache_hits = sesscache_misses = sesscache_evicted =
	    sesscache_expired = sesscache_memo_hits = sesscache_memo_misses =
	    0;
	pthread_mutex_unlock(&sesscache_lock);
	free(old);
	sesscache_free_chain(dead);
}

void
sesscache_shutdown(void)
{
	struct sesscache_ent *dead = NULL, **old;

	pthread_mutex_lock(&sesscache_lock);
	if (sesscache_tab != NULL)
		sesscache_clear_locked(&dead);
	old = sesscache_tab;
	sesscache_tab = NULL;
	sesscache_mask = 0;
	pthread_mutex_unlock(&sesscache_lock);
	free(old);
	sesscache_free_chain(dead);
}

void
sesscache_flush(void)
{
	struct sesscache_ent *dead = NULL;

	pthread_mutex_lock(&sesscache_lock);
	if (sesscache_tab != NULL)
		sesscache_clear_locked(&dead);
	pthread_mutex_unlock(&sesscache_lock);
	sesscache_free_chain(dead);
}

void
sesscache_digest(const char *token, size_t len, uint8_t key[SESSCACHE_KEY_LEN])
{
	crypto_generichash(key, SESSCACHE_KEY_LEN, (const uint8_t *)token, len,
	    NULL, 0);
}

static struct sesscache_ent *
sesscache_find_locked(const uint8_t key[SESSCACHE_KEY_LEN])
{
	struct sesscache_ent *e;

	for (e = sesscache_tab[sesscache_bucket(key)]; e != NULL; e = e->hnext)
		if (memcmp(e->key, key, SESSCACHE_KEY_LEN) == 0)
			return e;
	return NULL;
}

struct sesscache_ent *
sesscache_get(const uint8_t key[SESSCACHE_KEY_LEN], int64_t now)
{
	struct sesscache_ent *e, *dead = NULL;

	pthread_mutex_lock(&sesscache_lock);
	if (sesscache_tab == NULL) {
		pthread_mutex_unlock(&sesscache_lock);
		return NULL;
	}
	e = sesscache_find_locked(key);
	if (e != NULL && e->exp <= now) {
		dead = sesscache_unlink_locked(e);
		sesscache_expired++;
		e = NULL;
	}
	if (e != NULL) {
		e->refs++;
		sesscache_to_front_locked(e);
		sesscache_hits++;
	} else
		sesscache_misses++;
	pthread_mutex_unlock(&sesscache_lock);
	if (dead != NULL)
		sesscache_ent_free(dead);
	return e;
}

struct sesscache_ent *
sesscache_put(const uint8_t key[SESSCACHE_KEY_LEN], json_t *claims,
    struct jwe_key *tee_key, int64_t exp, size_t bytes, int64_t now)
{
	struct sesscache_ent *e, *old, *dead = NULL, *d;
	size_t b;

	e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, SESSCACHE_KEY_LEN);
	e->claims = claims;
	e->tee_key = tee_key;
	e->exp = exp;
	e->bytes = bytes + sizeof(*e);
	e->refs = 1;			/* the caller's */
	pthread_mutex_lock(&sesscache_lock);
	if (sesscache_tab == NULL || exp <= now ||
	    e->bytes > sesscache_max_bytes) {
		pthread_mutex_unlock(&sesscache_lock);
		return e;
	}
	if ((old = sesscache_find_locked(key)) != NULL && old->exp > now) {
		/* Verified twice at once: keep the first. */
		old->refs++;
		sesscache_to_front_locked(old);
		pthread_mutex_unlock(&sesscache_lock);
		sesscache_ent_free(e);
		return old;
	}
	if (old != NULL && (d = sesscache_unlink_locked(old)) != NULL) {
		d->hnext = dead;
		dead = d;
	}
	while (sesscache_tail != NULL && (sesscache_n + 1 > sesscache_max_n ||
	    sesscache_bytes + e->bytes > sesscache_max_bytes)) {
		if ((d = sesscache_unlink_locked(sesscache_tail)) != NULL) {
			d->hnext = dead;
			dead = d;
		}
		sesscache_evicted++;
	}
	b = sesscache_bucket(key);
	e->hnext = sesscache_tab[b];
	sesscache_tab[b] = e;
	e->next = sesscache_head;
	if (sesscache_head != NULL)
		sesscache_head->prev = e;
	sesscache_head = e;
	if (sesscache_tail == NULL)
		sesscache_tail = e;
	e->refs++;			/* the cache's */
	sesscache_n++;
	sesscache_bytes += e->bytes;
	pthread_mutex_unlock(&sesscache_lock);
	sesscache_free_chain(dead);
	return e;
}

void
sesscache_release(struct sesscache_ent *e)
{
	unsigned refs;

	if (e == NULL)
		return;
	pthread_mutex_lock(&sesscache_lock);
	refs = --e->refs;
	pthread_mutex_unlock(&sesscache_lock);
	if (refs == 0)
		sesscache_ent_free(e);
}

const json_t *
sesscache_claims(const struct sesscache_ent *e)
{
	return e->claims;
}

const struct jwe_key *
sesscache_tee_key(const struct sesscache_ent *e)
{
	return e->tee_key;
}

int64_t
sesscache_exp(const struct sesscache_ent *e)
{
	return e->exp;
}

/* The slot holding key, or NULL. Lock held. */
static struct sesscache_memo *
sesscache_memo_find_locked(struct sesscache_ent *e,
    const uint8_t key[SESSCACHE_MEMO_KEY_LEN])
{
	size_t i;

	for (i = 0; i < SESSCACHE_MEMO_SLOTS; i++)
		if (e->memo[i].text != NULL && sodium_memcmp(e->memo[i].key,
		    key, SESSCACHE_MEMO_KEY_LEN) == 0)
			return &e->memo[i];
	return NULL;
}

int
sesscache_memo_get(struct sesscache_ent *e,
    const uint8_t key[SESSCACHE_MEMO_KEY_LEN], int *allowed, char *text,
    size_t size)
{
	struct sesscache_memo *m;
	int found = 0;

	pthread_mutex_lock(&sesscache_lock);
	if ((m = sesscache_memo_find_locked(e, key)) != NULL &&
	    strlen(m->text) < size) {
		*allowed = m->allowed;
		memcpy(text, m->text, strlen(m->text) + 1);
		found = 1;
		sesscache_memo_hits++;
	} else
		sesscache_memo_misses++;
	pthread_mutex_unlock(&sesscache_lock);
	return found;
}

int
sesscache_memo_any(struct sesscache_ent *e)
{
	int any;

	pthread_mutex_lock(&sesscache_lock);
	any = e->memo[0].text != NULL;	/* slots fill from the first */
	pthread_mutex_unlock(&sesscache_lock);
	return any;
}

void
sesscache_memo_put(struct sesscache_ent *e,
    const uint8_t key[SESSCACHE_MEMO_KEY_LEN], int allowed,
    const char *text)
{
	struct sesscache_memo *m;
	size_t len = strlen(text) + 1, old;
	char *copy, *drop;

	if (len > SESSCACHE_MEMO_TEXT_MAX)
		return;
	copy = xmalloc(len);
	memcpy(copy, text, len);
	pthread_mutex_lock(&sesscache_lock);
	if ((m = sesscache_memo_find_locked(e, key)) == NULL) {
		m = &e->memo[e->memo_next];
		e->memo_next = (e->memo_next + 1) % SESSCACHE_MEMO_SLOTS;
	}
	drop = m->text;
	old = drop != NULL ? strlen(drop) + 1 : 0;
	memcpy(m->key, key, SESSCACHE_MEMO_KEY_LEN);
	m->allowed = allowed;
	m->text = copy;
	e->bytes = e->bytes - old + len;
	/* Counted in the total while the entry is cached (its bytes leave
	 * the total when it is unlinked). */
	if (sesscache_tab != NULL && sesscache_find_locked(e->key) == e)
		sesscache_bytes = sesscache_bytes - old + len;
	pthread_mutex_unlock(&sesscache_lock);
	free(drop);
}

void
sesscache_stats(struct sesscache_stats *st)
{
	pthread_mutex_lock(&sesscache_lock);
	st->entries = sesscache_n;
	st->bytes = sesscache_bytes;
	st->max_entries = sesscache_tab != NULL ? sesscache_max_n : 0;
	st->max_bytes = sesscache_tab != NULL ? sesscache_max_bytes : 0;
	st->hits = sesscache_hits;
	st->misses = sesscache_misses;
	st->evicted = sesscache_evicted;
	st->expired = sesscache_expired;
	st->memo_hits = sesscache_memo_hits;
	st->memo_misses = sesscache_memo_misses;
	pthread_mutex_unlock(&sesscache_lock);
}
