/*
 * ratelimit.c: per-source limits for what unauthenticated clients may ask
 * of the daemon.
 *
 * - Sources: an IPv4 address, or the /64 prefix of an IPv6 address (one
 *   customer network gets one share, not 2^64 of them).
 * - Token buckets (ratelimit_take): one bucket per source and class
 *   (/kbs/v0/auth, /kbs/v0/attest, /attestation, logins), in one table of
 *   fixed capacity. A source not in the table has a full bucket; when the
 *   table is full the least recently used source is forgotten, which at
 *   worst hands that source a fresh burst. Memory: capacity * ~100 bytes,
 *   whatever the traffic.
 * - Counters (ratelimit_counts_*): exact per-source counts of things a
 *   source holds (connections, unattested sessions); an entry lives while
 *   its count is non-zero, so the caller's global cap bounds the memory.
 * - Notes (ratelimit_note): one log line per kind of limit per
 *   RATELIMIT_LOG_PERIOD seconds, with a count of what was not logged.
 *
 * Hashes are keyed (SipHash, random key per process), so a client cannot
 * choose addresses that collide. Everything here is thread-safe.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "../lib/log.h"
#include "trusteed.h"

#define RATELIMIT_LOG_PERIOD	10	/* seconds between lines per kind */
#define RATELIMIT_NIL		UINT32_MAX

/* ------------------------------------------------------------ sources */

void
ratelimit_source_from(const struct sockaddr *sa, struct source_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)
		    (const void *)sa;

		out->b[10] = 0xff;
		out->b[11] = 0xff;
		memcpy(out->b + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)
		    (const void *)sa;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0xff, 0xff };

		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0)
			memcpy(out->b, s6->sin6_addr.s6_addr, 16);
		else
			memcpy(out->b, s6->sin6_addr.s6_addr, 8);
	}
}

const char *
ratelimit_source_str(const struct source_addr *src, char *out, size_t cap)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char ip[INET6_ADDRSTRLEN];

	if (memcmp(src->b, mapped, 12) == 0) {
		inet_ntop(AF_INET, src->b + 12, ip, sizeof(ip));
		snprintf(out, cap, "%s", ip);
	} else {
		inet_ntop(AF_INET6, src->b, ip, sizeof(ip));
		snprintf(out, cap, "%s/64", ip);
	}
	return out;
}

static uint8_t ratelimit_hkey[crypto_shorthash_KEYBYTES];
static pthread_once_t ratelimit_hkey_once = PTHREAD_ONCE_INIT;

static void
ratelimit_hkey_init(void)
{
	randombytes_buf(ratelimit_hkey, sizeof(ratelimit_hkey));
}

static uint64_t
ratelimit_hash(const struct source_addr *src)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	pthread_once(&ratelimit_hkey_once, ratelimit_hkey_init);
	crypto_shorthash(h, src->b, sizeof(src->b), ratelimit_hkey);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* ------------------------------------------------------ token buckets */

struct ratelimit_bucket {
	double tokens;
	uint64_t t_ns;		/* when tokens was computed */
};

struct ratelimit_entry {
	struct source_addr key;
	uint32_t hnext;			/* hash chain */
	uint32_t lprev, lnext;		/* LRU list, most recent first */
	struct ratelimit_bucket b[RL_NCLASS];
};

static struct {
	pthread_mutex_t lock;
	struct ratelimit_rule rule[RL_NCLASS];
	struct ratelimit_entry *e;
	uint32_t *heads;
	uint32_t cap, used, nheads;
	uint32_t lru_head, lru_tail;
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
ratelimit_init(const struct ratelimit_rule rules[RL_NCLASS], size_t capacity)
{
	size_t n = 1;

	ratelimit_shutdown();
	if (capacity < 16)
		capacity = 16;
	if (capacity > UINT32_MAX / 4)
		capacity = UINT32_MAX / 4;
	while (n < capacity)
		n <<= 1;
	pthread_mutex_lock(&rl.lock);
	memcpy(rl.rule, rules, sizeof(rl.rule));
	/* calloc: pages are only touched as sources arrive. */
	rl.e = xcalloc(capacity, sizeof(*rl.e));
	rl.heads = xmalloc(n * sizeof(*rl.heads));
	memset(rl.heads, 0xff, n * sizeof(*rl.heads));
	rl.cap = (uint32_t)capacity;
	rl.nheads = (uint32_t)n;
	rl.used = 0;
	rl.lru_head = rl.lru_tail = RATELIMIT_NIL;
	pthread_mutex_unlock(&rl.lock);
}

void
ratelimit_shutdown(void)
{
	pthread_mutex_lock(&rl.lock);
	free(rl.e);
	free(rl.heads);
	rl.e = NULL;
	rl.heads = NULL;
	rl.cap = rl.used = rl.nheads = 0;
	pthread_mutex_unlock(&rl.lock);
}

static void
ratelimit_lru_unlink(uint32_t i)
{
	struct ratelimit_entry *e = &rl.e[i];

	if (e->lprev != RATELIMIT_NIL)
		rl.e[e->lprev].lnext = e->lnext;
	else
		rl.lru_head = e->lnext;
	if (e->lnext != RATELIMIT_NIL)
		rl.e[e->lnext].lprev = e->lprev;
	else
		rl.lru_tail = e->lprev;
}

static void
ratelimit_lru_push(uint32_t i)
{
	struct ratelimit_entry *e = &rl.e[i];

	e->lprev = RATELIMIT_NIL;
	e->lnext = rl.lru_head;
	if (rl.lru_head != RATELIMIT_NIL)
		rl.e[rl.lru_head].lprev = i;
	rl.lru_head = i;
	if (rl.lru_tail == RATELIMIT_NIL)
		rl.lru_tail = i;
}

/* Forget the least recently used source; returns its slot. */
static uint32_t
ratelimit_evict(void)
{
	uint32_t i = rl.lru_tail, *pp;
	struct ratelimit_entry *e = &rl.e[i];

	ratelimit_lru_unlink(i);
	for (pp = &rl.heads[ratelimit_hash(&e->key) & (rl.nheads - 1)];
	    *pp != i; pp = &rl.e[*pp].hnext)
		;
	*pp = e->hnext;
	return i;
}

/* The entry for src, created (full buckets) when new. Lock held. */
static struct ratelimit_entry *
ratelimit_lookup(const struct source_addr *src, uint64_t now_ns)
{
	uint32_t *head = &rl.heads[ratelimit_hash(src) & (rl.nheads - 1)];
	uint32_t i;
	size_t k;

	for (i = *head; i != RATELIMIT_NIL; i = rl.e[i].hnext)
		if (memcmp(rl.e[i].key.b, src->b, sizeof(src->b)) == 0)
			break;
	if (i != RATELIMIT_NIL) {
		ratelimit_lru_unlink(i);
		ratelimit_lru_push(i);
		return &rl.e[i];
	}
	i = rl.used < rl.cap ? rl.used++ : ratelimit_evict();
	memset(&rl.e[i], 0, sizeof(rl.e[i]));
	rl.e[i].key = *src;
	for (k = 0; k < RL_NCLASS; k++) {
		rl.e[i].b[k].tokens = rl.rule[k].burst;
		rl.e[i].b[k].t_ns = now_ns;
	}
	rl.e[i].hnext = *head;
	*head = i;
	ratelimit_lru_push(i);
	return &rl.e[i];
}

int
ratelimit_take_at(enum ratelimit_class cls, const struct source_addr *src,
    uint64_t now_ns, int *retry_after)
{
	const struct ratelimit_rule *r;
	struct ratelimit_bucket *b;
	double wait;
	int rc = 0;

	*retry_after = 0;
	if ((unsigned)cls >= RL_NCLASS)
		return 0;
	pthread_mutex_lock(&rl.lock);
	r = &rl.rule[cls];
	if (rl.e == NULL || r->rate <= 0) {
		pthread_mutex_unlock(&rl.lock);
		return 0;
	}
	b = &ratelimit_lookup(src, now_ns)->b[cls];
	if (now_ns > b->t_ns) {
		b->tokens += (double)(now_ns - b->t_ns) / 1e9 * r->rate;
		if (b->tokens > r->burst)
			b->tokens = r->burst;
	}
	b->t_ns = now_ns;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else {
		wait = ceil((1.0 - b->tokens) / r->rate);
		*retry_after = wait < 1 ? 1 : wait > 86400 ? 86400 : (int)wait;
		rc = -1;
	}
	pthread_mutex_unlock(&rl.lock);
	return rc;
}

int
ratelimit_take(enum ratelimit_class cls, const struct source_addr *src,
    int *retry_after)
{
	return ratelimit_take_at(cls, src, now_mono_ns(), retry_after);
}

void
ratelimit_give_back(enum ratelimit_class cls, const struct source_addr *src)
{
	const struct ratelimit_rule *r;
	uint32_t i;

	if ((unsigned)cls >= RL_NCLASS)
		return;
	pthread_mutex_lock(&rl.lock);
	r = &rl.rule[cls];
	if (rl.e != NULL && r->rate > 0) {
		/* Only a source still in the table: a forgotten one starts
		 * with a full bucket anyway. */
		for (i = rl.heads[ratelimit_hash(src) & (rl.nheads - 1)];
		    i != RATELIMIT_NIL; i = rl.e[i].hnext)
			if (memcmp(rl.e[i].key.b, src->b, sizeof(src->b)) ==
			    0) {
				rl.e[i].b[cls].tokens += 1.0;
				if (rl.e[i].b[cls].tokens > r->burst)
					rl.e[i].b[cls].tokens = r->burst;
				break;
			}
	}
	pthread_mutex_unlock(&rl.lock);
}

size_t
ratelimit_sources(void)
{
	size_t n;

	pthread_mutex_lock(&rl.lock);
	n = rl.used;
	pthread_mutex_unlock(&rl.lock);
	return n;
}

/* ----------------------------------------------------------- counters */

struct ratelimit_count {
	struct source_addr key;
	unsigned n;
	struct ratelimit_count *next;
};

struct ratelimit_counts {
	pthread_mutex_t lock;
	size_t nbuckets;		/* a power of two */
	size_t nentries;
	struct ratelimit_count **b;
};

struct ratelimit_counts *
ratelimit_counts_new(size_t nbuckets)
{
	struct ratelimit_counts *c = xcalloc(1, sizeof(*c));
	size_t n = 16;

	while (n < nbuckets && n < ((size_t)1 << 24))
		n <<= 1;
	pthread_mutex_init(&c->lock, NULL);
	c->nbuckets = n;
	c->b = xcalloc(n, sizeof(*c->b));
	return c;
}

void
ratelimit_counts_free(struct ratelimit_counts *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		while (c->b[i] != NULL) {
			struct ratelimit_count *e = c->b[i];

			c->b[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c->b);
	free(c);
}

static struct ratelimit_count **
ratelimit_counts_slot(struct ratelimit_counts *c, const struct source_addr *src)
{
	struct ratelimit_count **pp;

	for (pp = &c->b[ratelimit_hash(src) & (c->nbuckets - 1)];
	    *pp != NULL; pp = &(*pp)->next)
		if (memcmp((*pp)->key.b, src->b, sizeof(src->b)) == 0)
			break;
	return pp;
}

int
ratelimit_counts_add(struct ratelimit_counts *c, const struct source_addr *src,
    unsigned max)
{
	struct ratelimit_count **pp;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	pp = ratelimit_counts_slot(c, src);
	if (*pp == NULL) {
		if (max == 0)
			rc = -1;
		else {
			*pp = xcalloc(1, sizeof(**pp));
			(*pp)->key = *src;
			(*pp)->n = 1;
			c->nentries++;
		}
	} else if (max != 0 && (*pp)->n >= max)
		rc = -1;
	else
		(*pp)->n++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void
ratelimit_counts_sub(struct ratelimit_counts *c, const struct source_addr *src)
{
	struct ratelimit_count **pp, *e;

	pthread_mutex_lock(&c->lock);
	pp = ratelimit_counts_slot(c, src);
	if ((e = *pp) != NULL && --e->n == 0) {
		*pp = e->next;
		free(e);
		c->nentries--;
	}
	pthread_mutex_unlock(&c->lock);
}

unsigned
ratelimit_counts_get(struct ratelimit_counts *c, const struct source_addr *src)
{
	struct ratelimit_count **pp;
	unsigned n;

	pthread_mutex_lock(&c->lock);
	pp = ratelimit_counts_slot(c, src);
	n = *pp != NULL ? (*pp)->n : 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t
ratelimit_counts_sources(struct ratelimit_counts *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->nentries;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* -------------------------------------------------------------- notes */

static const char *const ratelimit_event_names[RL_NEVENT] = {
	[RL_EV_AUTH] = "rate limit on /kbs/v0/auth",
	[RL_EV_ATTEST] = "rate limit on /kbs/v0/attest",
	[RL_EV_ATTESTATION] = "rate limit on /attestation",
	[RL_EV_LOGIN] = "rate limit on logins",
	[RL_EV_SESSIONS_SOURCE] = "unattested sessions per source "
	    "(max_unattested_per_source)",
	[RL_EV_SESSIONS_EVICTED] = "session cap reached, oldest sessions "
	    "evicted (max_sessions / session_memory)",
	[RL_EV_CONN_SOURCE] = "connections per source "
	    "(max_connections_per_source)",
	[RL_EV_CONN_SHED] = "connection cap reached, idle connections closed "
	    "(max_connections)",
	[RL_EV_CONN_REFUSED] = "connection cap reached and nothing idle to "
	    "close, new connection refused (max_connections)",
	[RL_EV_INFLIGHT] = "memory for requests in flight exhausted, "
	    "request refused (inflight_memory)",
	[RL_EV_BODY] = "request body over the route's limit",
	[RL_EV_TIMEOUT] = "connection closed by a handshake or request "
	    "timeout",
};

static struct {
	pthread_mutex_t lock;
	uint64_t last_ns[RL_NEVENT];
	unsigned long long pending[RL_NEVENT];
	struct source_addr last_src[RL_NEVENT];
	int logged[RL_NEVENT];
} rln = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
ratelimit_note_emit(enum ratelimit_event ev, const struct source_addr *src,
    unsigned long long more, int summary)
{
	char s[64] = "-";

	if (src != NULL)
		ratelimit_source_str(src, s, sizeof(s));
	if (summary)
		log_warnx("limits: %s: %llu more times in the last %d s, last "
		    "source %s", ratelimit_event_names[ev], more,
		    RATELIMIT_LOG_PERIOD, s);
	else if (more > 0)
		log_warnx("limits: %s: source %s (and %llu more times in the "
		    "last %d s)", ratelimit_event_names[ev], s, more,
		    RATELIMIT_LOG_PERIOD);
	else
		log_warnx("limits: %s: source %s", ratelimit_event_names[ev],
		    s);
}

void
ratelimit_note(enum ratelimit_event ev, const struct source_addr *src)
{
	uint64_t now = now_mono_ns(), period = (uint64_t)RATELIMIT_LOG_PERIOD *
	    1000000000ull;
	struct source_addr copy;
	unsigned long long more = 0;
	int emit = 0;

	if ((unsigned)ev >= RL_NEVENT)
		return;
	pthread_mutex_lock(&rln.lock);
	if (src != NULL)
		rln.last_src[ev] = *src;
	if (!rln.logged[ev] || now - rln.last_ns[ev] >= period) {
		emit = 1;
		more = rln.pending[ev];
		rln.logged[ev] = 1;
		rln.last_ns[ev] = now;
		rln.pending[ev] = 0;
		if (src != NULL)
			copy = *src;
	} else
		rln.pending[ev]++;
	pthread_mutex_unlock(&rln.lock);
	if (emit)
		ratelimit_note_emit(ev, src != NULL ? &copy : NULL, more, 0);
}

void
ratelimit_flush(void)
{
	uint64_t now = now_mono_ns(), period = (uint64_t)RATELIMIT_LOG_PERIOD *
	    1000000000ull;
	unsigned long long n[RL_NEVENT];
	struct source_addr src[RL_NEVENT];
	size_t i;

	pthread_mutex_lock(&rln.lock);
	for (i = 0; i < RL_NEVENT; i++) {
		n[i] = 0;
		if (rln.pending[i] == 0 || now - rln.last_ns[i] < period)
			continue;
		n[i] = rln.pending[i];
		src[i] = rln.last_src[i];
		rln.pending[i] = 0;
		rln.last_ns[i] = now;
	}
	pthread_mutex_unlock(&rln.lock);
	for (i = 0; i < RL_NEVENT; i++)
		if (n[i] > 0)
			ratelimit_note_emit((enum ratelimit_event)i, &src[i],
			    n[i], 1);
}
