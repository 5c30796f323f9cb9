/*
 * session_quota.c: how many KBS sessions, and how much session memory, the
 * clients of this instance may make it keep (contract in trusteed.h).
 *
 * An index of the sessions this instance created, apart from the session
 * records themselves (session.c keeps those, in memory today, in the
 * shared store later): id, source, expiry, the bytes the record holds and
 * whether it is attested. Two lists in admission order, unattested and
 * attested, give the eviction order; a per-source count bounds the
 * unattested sessions one client may hold. Memory: about 120 bytes per
 * live session, bounded by max_sessions.
 *
 * Why evict instead of refusing at the global caps: refusing lets one
 * client that fills the table lock every other guest out until expiry.
 * Evicting the oldest unattested session costs an abandoned handshake
 * (or, at worst, a guest that must run /auth again), never the newcomer.
 *
 * Which session goes depends on the cap. At max_sessions, unattested
 * before attested: a flood of /auth fills the count long before the
 * memory (an unattested session holds a few hundred bytes), and must not
 * push out the sessions that attested. At the memory cap alone, the
 * oldest session of either kind, by when it entered its list (its /auth
 * or its /attest): what fills memory there is attested sessions' tokens,
 * and taking unattested ones first would free a few hundred bytes each
 * by ending the handshakes in flight (the youngest sessions; a token
 * needs dozens of them) while minutes-old attested sessions stay. Under
 * a steady load at the memory cap every /attest then ended some other
 * guest's handshake.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trusteed.h"

#define SESSION_QUOTA_DEFAULT_MAX	100000
#define SESSION_QUOTA_DEFAULT_BYTES	((size_t)256 << 20)
#define SESSION_QUOTA_BUCKETS		16384

enum { Q_UNATTESTED, Q_ATTESTED };

struct quota_entry {
	char id[SESSION_ID_LEN + 1];
	struct source_addr src;
	int64_t expires;
	size_t bytes;
	uint64_t seq;			/* when it entered its list */
	int list;			/* Q_UNATTESTED or Q_ATTESTED */
	struct quota_entry *hnext;	/* hash chain by id */
	struct quota_entry *prev, *next;	/* its list, oldest first */
};

struct quota_list {
	struct quota_entry *head, *tail;
};

static struct {
	pthread_mutex_t lock;
	int ready;
	struct session_quota_config cfg;
	struct quota_entry *tab[SESSION_QUOTA_BUCKETS];
	struct quota_list list[2];
	size_t n, nlist[2], bytes;
	uint64_t seq;			/* the last entry's seq */
	struct ratelimit_counts *per_src;	/* unattested per source */
	unsigned long long evicted, refused;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t
session_quota_bucket(const char *id)
{
	/* ids are random hex made by session.c: the first digits spread. */
	size_t h = 0;
	int i;

	for (i = 0; i < 8 && id[i] != '\0'; i++)
		h = h * 16 + (size_t)(hex_digit_value((unsigned char)id[i]) & 0xf);
	return h % SESSION_QUOTA_BUCKETS;
}

/* Defaults for callers (tests, fuzzers) that never called init. Lock
 * held. */
static void
session_quota_ready(void)
{
	if (q.ready)
		return;
	q.cfg.max_sessions = SESSION_QUOTA_DEFAULT_MAX;
	q.cfg.max_bytes = SESSION_QUOTA_DEFAULT_BYTES;
	q.per_src = ratelimit_counts_new(4096);
	q.ready = 1;
}

static void
session_quota_reset(void)
{
	size_t i;

	for (i = 0; i < SESSION_QUOTA_BUCKETS; i++) {
		while (q.tab[i] != NULL) {
			struct quota_entry *e = q.tab[i];

			q.tab[i] = e->hnext;
			free(e);
		}
	}
	memset(q.list, 0, sizeof(q.list));
	q.n = q.nlist[0] = q.nlist[1] = q.bytes = 0;
	ratelimit_counts_free(q.per_src);
	q.per_src = NULL;
	q.evicted = q.refused = 0;
	q.ready = 0;
}

void
session_quota_init(const struct session_quota_config *cfg)
{
	pthread_mutex_lock(&q.lock);
	session_quota_reset();
	session_quota_ready();
	q.cfg = *cfg;
	if (q.cfg.max_sessions == 0)
		q.cfg.max_sessions = SESSION_QUOTA_DEFAULT_MAX;
	if (q.cfg.max_bytes == 0)
		q.cfg.max_bytes = SESSION_QUOTA_DEFAULT_BYTES;
	pthread_mutex_unlock(&q.lock);
}

void
session_quota_shutdown(void)
{
	pthread_mutex_lock(&q.lock);
	session_quota_reset();
	pthread_mutex_unlock(&q.lock);
}

static struct quota_entry **
session_quota_find(const char *id)
{
	struct quota_entry **pp;

	for (pp = &q.tab[session_quota_bucket(id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (strcmp((*pp)->id, id) == 0)
			break;
	return pp;
}

static void
session_quota_list_add(struct quota_entry *e, int list)
{
	struct quota_list *l = &q.list[list];

	e->list = list;
	e->seq = ++q.seq;
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	q.nlist[list]++;
}

static void
session_quota_list_del(struct quota_entry *e)
{
	struct quota_list *l = &q.list[e->list];

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	q.nlist[e->list]--;
}

/* Drop an entry (found at *pp) from every index. Lock held. */
static void
session_quota_drop(struct quota_entry **pp)
{
	struct quota_entry *e = *pp;

	*pp = e->hnext;
	session_quota_list_del(e);
	if (e->list == Q_UNATTESTED)
		ratelimit_counts_sub(q.per_src, &e->src);
	q.n--;
	q.bytes -= e->bytes;
	free(e);
}

/* The oldest entry of a list other than keep; NULL if none. Lock held. */
static struct quota_entry *
session_quota_oldest(int list, const struct quota_entry *keep)
{
	struct quota_entry *e = q.list[list].head;

	return e != NULL && e == keep ? e->next : e;
}

/*
 * Evict until `want` more bytes (and one more session when adding) fit,
 * never `keep`: at the count cap unattested sessions, then attested ones,
 * each oldest first (with one lifetime, the oldest is also the first to
 * expire); at the memory cap alone the oldest of either kind (file
 * comment). Returns how many live sessions were evicted (expired ones are
 * only dropped); -1 if it cannot fit. Lock held.
 */
static int
session_quota_make_room(size_t add, size_t want, const struct quota_entry *keep,
    session_quota_evict_fn evict, void *arg)
{
	int64_t now = now_unix();
	int evicted = 0;

	while (q.n + add > q.cfg.max_sessions ||
	    q.bytes + want > q.cfg.max_bytes) {
		struct quota_entry *u = session_quota_oldest(Q_UNATTESTED, keep);
		struct quota_entry *a = session_quota_oldest(Q_ATTESTED, keep);
		struct quota_entry *victim;

		if (u == NULL)
			victim = a;
		else if (a == NULL || q.n + add > q.cfg.max_sessions)
			victim = u;
		else
			victim = a->seq < u->seq ? a : u;
		if (victim == NULL)
			return -1;
		if (victim->expires > now)
			evicted++;
		if (evict != NULL)
			evict(victim->id, arg);
		session_quota_drop(session_quota_find(victim->id));
	}
	q.evicted += (unsigned long long)evicted;
	return evicted;
}

int
session_quota_admit(const char *id, const struct source_addr *src,
    int64_t expires, size_t bytes, session_quota_evict_fn evict, void *arg)
{
	struct quota_entry *e;
	unsigned max;
	int n;

	pthread_mutex_lock(&q.lock);
	session_quota_ready();
	max = q.cfg.max_unattested_per_source > 0 ?
	    (unsigned)q.cfg.max_unattested_per_source : 0;
	if (max > 0 && ratelimit_counts_get(q.per_src, src) >= max) {
		q.refused++;
		pthread_mutex_unlock(&q.lock);
		ratelimit_note(RL_EV_SESSIONS_SOURCE, src);
		return SESSION_BUSY;
	}
	n = session_quota_make_room(1, bytes, NULL, evict, arg);
	e = xcalloc(1, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->src = *src;
	e->expires = expires;
	e->bytes = bytes;
	e->hnext = q.tab[session_quota_bucket(id)];
	q.tab[session_quota_bucket(id)] = e;
	session_quota_list_add(e, Q_UNATTESTED);
	(void)ratelimit_counts_add(q.per_src, src, 0xffffffffu);
	q.n++;
	q.bytes += bytes;
	pthread_mutex_unlock(&q.lock);
	if (n > 0)
		ratelimit_note(RL_EV_SESSIONS_EVICTED, src);
	return 0;
}

int
session_quota_attested(const char *id, size_t bytes,
    session_quota_evict_fn evict, void *arg)
{
	struct quota_entry *e;
	struct source_addr src;
	int n;

	pthread_mutex_lock(&q.lock);
	session_quota_ready();
	e = *session_quota_find(id);
	if (e == NULL || bytes > q.cfg.max_bytes) {
		pthread_mutex_unlock(&q.lock);
		return -1;
	}
	src = e->src;
	if (e->list == Q_UNATTESTED) {
		session_quota_list_del(e);
		ratelimit_counts_sub(q.per_src, &e->src);
		session_quota_list_add(e, Q_ATTESTED);
	}
	q.bytes -= e->bytes;
	e->bytes = 0;
	n = session_quota_make_room(0, bytes, e, evict, arg);
	e->bytes = bytes;
	q.bytes += bytes;
	pthread_mutex_unlock(&q.lock);
	if (n > 0)
		ratelimit_note(RL_EV_SESSIONS_EVICTED, &src);
	return 0;
}

void
session_quota_forget(const char *id)
{
	struct quota_entry **pp;

	pthread_mutex_lock(&q.lock);
	if (q.ready && *(pp = session_quota_find(id)) != NULL)
		session_quota_drop(pp);
	pthread_mutex_unlock(&q.lock);
}

size_t
session_quota_unattested(const struct source_addr *src,
    char ids[][SESSION_ID_LEN + 1], size_t max)
{
	struct quota_entry *e;
	size_t n = 0;

	pthread_mutex_lock(&q.lock);
	for (e = q.ready ? q.list[Q_UNATTESTED].head : NULL;
	    e != NULL && n < max; e = e->next)
		if (memcmp(&e->src, src, sizeof(*src)) == 0)
			memcpy(ids[n++], e->id, SESSION_ID_LEN + 1);
	pthread_mutex_unlock(&q.lock);
	return n;
}

size_t
session_quota_gc(int64_t now)
{
	size_t i, n = 0;

	pthread_mutex_lock(&q.lock);
	for (i = 0; q.ready && i < SESSION_QUOTA_BUCKETS; i++) {
		struct quota_entry **pp = &q.tab[i];

		while (*pp != NULL) {
			if ((*pp)->expires <= now) {
				session_quota_drop(pp);
				n++;
			} else
				pp = &(*pp)->hnext;
		}
	}
	pthread_mutex_unlock(&q.lock);
	return n;
}

void
session_quota_stats(struct session_quota_stats *st)
{
	pthread_mutex_lock(&q.lock);
	memset(st, 0, sizeof(*st));
	if (q.ready) {
		st->sessions = q.n;
		st->unattested = q.nlist[Q_UNATTESTED];
		st->bytes = q.bytes;
		st->sources = ratelimit_counts_sources(q.per_src);
		st->evicted = q.evicted;
		st->refused = q.refused;
	}
	pthread_mutex_unlock(&q.lock);
}
