/*
 * session_shared.c: KBS sessions as rows of a store that several
 * trusteed instances share (MariaDB, Galera), so that a guest may run
 * /auth on one instance, /attest on another and fetch resources from any
 * (a load balancer without sticky sessions). session.c hands every call
 * here once session_share() was called; the contracts are session.c's
 * (trusteed.h).
 *
 * Two tables, both sealed like every row (the names are keyed hashes of
 * the session id; the exp column is the session's expiry):
 *   session_nonces  a session: unattested, its challenge nonce and its
 *                   record (state, expiry, TEE, hash), written by /auth;
 *                   or attested, its record with the EAR token after 44
 *                   zero bytes where the nonce was (no nonce, which has
 *                   no NUL, can match them). /attest spends the nonce by
 *                   replacing the row with the revision it read
 *                   (store_put_ex): the attested record when the
 *                   evidence passed, else a delete (store_delete_ex). Of
 *                   several instances racing for one nonce exactly one
 *                   wins; an absent row is a spent (failed, expired or
 *                   evicted) nonce.
 *   sessions        an attested session as releases before this one
 *                   wrote it (a delete, then an insert here): still read
 *                   when session_nonces has no row, never written, so
 *                   that instances of both releases share sessions while
 *                   they are upgraded one by one.
 * So /auth costs one write, and /attest of a session this instance
 * created one write; of one made elsewhere a read and a write. Expired
 * rows are left to session_shared_gc (store_purge on the collection
 * tick, by every instance) and are ignored when read.
 *
 * Stateless challenges (session_share's stateless, the default): /auth
 * writes no row. Its nonce carries the session's TEE, hash and expiry
 * under a MAC bound to the id (session_challenge.c), so /attest on any
 * instance reads the session from the nonce the guest echoes, without
 * reading the row, and spends it by inserting the row (STORE_REV_ABSENT):
 * the attested record, or for a failed attestation a spent one (the
 * unattested record after 44 zero bytes). Such a session has rev
 * STORE_REV_ABSENT until then. Here a row means spent, its absence
 * (with an unexpired nonce) unspent; the nonce is spent exactly once as
 * long as the row outlives the nonce on every instance's clock, so rows
 * expire SS_ROW_GRACE after their session. Stateless nonces are accepted
 * whatever this instance mints (an instance that still stores
 * challenges, during a rolling change of the setting, attests the
 * sessions of those that do not); instances of releases before this one
 * cannot attest them. /auth then costs nothing in the store, and /attest
 * one write, wherever the session was made: a stateless challenge is
 * taken without a read (the spending insert finds a row that spent it),
 * and session_shared_known reads nothing (the nonce is in the body).
 *
 * An attested session never changes again (same token, same expiry), so
 * this instance keeps a bounded cache of the attested sessions it has
 * seen and serves resource GETs from it without a round trip. The cache
 * also keeps the unattested sessions this instance created, with their
 * row's revision, for their /attest only: session_known and
 * session_take_nonce use that copy instead of reading the row (a stale
 * copy only makes the revision-checked write fail); session_get never
 * serves it, since another instance may have attested the session. A
 * taken flag lets one /attest at a time use the copy. A cached session
 * that another instance's quota evicted stays usable here until it
 * expires: eviction bounds what clients make the deployment keep, it
 * revokes nothing.
 *
 * The session quota (session_quota.c) stays per instance: it counts the
 * sessions this instance created. When a guest attests elsewhere, this
 * instance learns it only when the guest's source reaches its unattested
 * cap here: then the oldest of them are looked up and those whose nonce
 * is spent are counted as attested before the cap is enforced.
 *
 * A row's value: the 44-character nonce (44 zero bytes once spent), then
 * the session's record (session_record.c).
 *
 * session_set_attested_copy takes the copy session_take_nonce hands
 * out (with the revision to replace); session_set_attested(id) finds it
 * in a per-thread slot that session_take_nonce fills (the same thread,
 * the same request).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/log.h"
#include "session_internal.h"
#include "trusteed.h"

#define SS_TABLE		"sessions"
#define SS_NONCES		"session_nonces"
#define SS_CACHE_BUCKETS	4096
/* How many of a source's oldest unattested sessions are looked up in
 * the store when it reaches its cap here. */
#define SS_RECONCILE_MAX	16
/* Rows removed per store_purge call, and calls per collection tick. */
#define SS_PURGE_BATCH		1000
#define SS_PURGE_ROUNDS		20
/* What the quota counts for a session record: the struct and the row's
 * overhead (the token is added once attested). */
#define SS_RECORD_BYTES		(sizeof(struct session) + 128)
/* Seconds a row outlives its session: instances whose clocks differ by
 * less never purge the row of a nonce another one still accepts. */
#define SS_ROW_GRACE		120

struct ss_cached {
	struct session s;		/* owns s.token when attested */
	int taken;			/* unattested: an /attest runs */
	size_t bytes;
	struct ss_cached *hnext;	/* hash chain */
	struct ss_cached *prev, *next;	/* insertion order, oldest first */
};

/* Ids the quota asked to evict, deleted once its lock is released. */
struct ss_evicted {
	char (*ids)[SESSION_ID_LEN + 1];
	size_t n, cap;
};

static struct {
	struct store *st;
	int lifetime;
	int stateless;			/* /auth mints, writes nothing */
	uint8_t *ckey;			/* challenge key (sodium_malloc) */
	pthread_mutex_t lock;		/* the cache */
	struct ss_cached *tab[SS_CACHE_BUCKETS];
	struct ss_cached *oldest, *newest;
	size_t n, bytes, max_n, max_bytes;
} ss = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------ records */

static size_t
ss_bucket(const char *id)
{
	size_t h = 0;
	int i;

	for (i = 0; i < 8 && id[i] != '\0'; i++)
		h = h * 16 + (size_t)(hex_digit_value((unsigned char)id[i]) &
		    0xf);
	return h % SS_CACHE_BUCKETS;
}

/* A session id as session.c makes them: 32 lowercase hex digits. */
static int
ss_id_ok(const char *id)
{
	size_t i;

	for (i = 0; i < SESSION_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[SESSION_ID_LEN] == '\0';
}

/* Map a store return code to session.c's: 0, -1 (absent or unusable),
 * SESSION_UNAVAILABLE. */
static int
ss_rc(int rc)
{
	return rc == STORE_OK ? 0 : rc == STORE_UNAVAILABLE ?
	    SESSION_UNAVAILABLE : -1;
}

/*
 * Read the session id from table (SS_NONCES: unattested with its nonce,
 * or attested; SS_TABLE: attested): 0 and *s (a copy to session_clear)
 * with the row's revision in s->rev; -1 when absent, expired or
 * unreadable (logged); SESSION_UNAVAILABLE when the store cannot be
 * reached.
 */
static int
ss_read(const char *table, const char *id, struct session *s)
{
	struct store_meta meta;
	struct error err;
	uint8_t *val = NULL;
	size_t len = 0, off = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = store_get_ex(ss.st, table, id, &val, &len, &meta, &err);
	if (rc < 0 && rc != STORE_UNAVAILABLE)
		log_warnx("session %.8s: %s", id, err.msg);
	if (rc != STORE_OK)
		return ss_rc(rc);
	memcpy(s->id, id, SESSION_ID_LEN + 1);
	if (strcmp(table, SS_NONCES) == 0) {
		off = SESSION_NONCE_LEN;
		if (len < off) {
			secret_free(val, len);
			log_warnx("session %.8s: nonce row too short", id);
			return -1;
		}
		memcpy(s->nonce, val, SESSION_NONCE_LEN);
		s->nonce[SESSION_NONCE_LEN] = '\0';
	}
	rc = session_record_decode(val + off, len - off, s, &err);
	secret_free(val, len);
	if (rc != 0) {
		log_warnx("session %.8s: %s", id, err.msg);
		session_clear(s);
		return -1;
	}
	if (s->expires <= now_unix()) {
		session_clear(s);
		return -1;
	}
	s->rev = meta.rev;
	return 0;
}

/* -------------------------------------------------------------- cache */

static struct ss_cached **
ss_cache_find_locked(const char *id)
{
	struct ss_cached **pp;

	for (pp = &ss.tab[ss_bucket(id)]; *pp != NULL; pp = &(*pp)->hnext)
		if (secret_equal((*pp)->s.id, id, SESSION_ID_LEN))
			break;
	return pp;
}

static void
ss_cache_unlink_locked(struct ss_cached **pp)
{
	struct ss_cached *e = *pp;

	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ss.oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		ss.newest = e->prev;
	ss.n--;
	ss.bytes -= e->bytes;
	session_clear(&e->s);
	free(e);
}

/* Drop id's cached copy. 1 when it was an unattested session with a
 * stateless challenge that no /attest has taken (it has no row), with
 * a copy in *rowless (may be NULL), else 0. */
static int
ss_cache_drop(const char *id, struct session *rowless)
{
	struct ss_cached **pp;
	int rc = 0;

	pthread_mutex_lock(&ss.lock);
	if (*(pp = ss_cache_find_locked(id)) != NULL) {
		rc = (*pp)->s.state == SESSION_AUTHED &&
		    (*pp)->s.rev == STORE_REV_ABSENT && !(*pp)->taken;
		if (rc && rowless != NULL)
			*rowless = (*pp)->s;	/* no token: unattested */
		ss_cache_unlink_locked(pp);
	}
	pthread_mutex_unlock(&ss.lock);
	return rc;
}

/* Keep a copy of s (attested, or unattested and created here, with its
 * row's revision); the oldest go when full. An attested copy replaces an
 * unattested one; otherwise a cached id stays as it is. */
static void
ss_cache_put(const struct session *s)
{
	struct ss_cached *e, **pp;
	size_t bytes = sizeof(*e) + (s->token != NULL ? strlen(s->token) + 1 :
	    0);

	if (ss.max_n == 0 || bytes > ss.max_bytes)
		return;
	pthread_mutex_lock(&ss.lock);
	if (*(pp = ss_cache_find_locked(s->id)) != NULL) {
		if ((*pp)->s.state == SESSION_ATTESTED ||
		    s->state != SESSION_ATTESTED) {
			pthread_mutex_unlock(&ss.lock);
			return;
		}
		ss_cache_unlink_locked(pp);
	}
	while (ss.oldest != NULL && (ss.n + 1 > ss.max_n ||
	    ss.bytes + bytes > ss.max_bytes))
		ss_cache_unlink_locked(ss_cache_find_locked(ss.oldest->s.id));
	e = xcalloc(1, sizeof(*e));
	e->s = *s;
	e->s.token = s->token != NULL ? xstrdup(s->token) : NULL;
	e->bytes = bytes;
	e->hnext = ss.tab[ss_bucket(s->id)];
	ss.tab[ss_bucket(s->id)] = e;
	e->prev = ss.newest;
	if (ss.newest != NULL)
		ss.newest->next = e;
	else
		ss.oldest = e;
	ss.newest = e;
	ss.n++;
	ss.bytes += bytes;
	pthread_mutex_unlock(&ss.lock);
}

/* The unexpired cache entry of id (an expired one is dropped), or NULL.
 * Call with ss.lock held. */
static struct ss_cached *
ss_cache_live_locked(const char *id)
{
	struct ss_cached **pp = ss_cache_find_locked(id);

	if (*pp != NULL && (*pp)->s.expires <= now_unix()) {
		ss_cache_unlink_locked(pp);
		return NULL;
	}
	return *pp;
}

/* 1 and a copy when id is cached, unexpired and attested (or, with
 * any_state, cached at all), else 0. */
static int
ss_cache_get(const char *id, int any_state, struct session *out)
{
	struct ss_cached *e;
	int hit = 0;

	pthread_mutex_lock(&ss.lock);
	e = ss_cache_live_locked(id);
	if (e != NULL && (any_state || e->s.state == SESSION_ATTESTED)) {
		*out = e->s;
		out->token = e->s.token != NULL ? xstrdup(e->s.token) : NULL;
		hit = 1;
	}
	pthread_mutex_unlock(&ss.lock);
	return hit;
}

/*
 * session_take_nonce on the cached copy: 0 and *out when id is cached
 * unattested, not taken, and nonce matches (it is then taken); 1 when id
 * is not cached (the store decides); -1 and err otherwise.
 */
static int
ss_cache_take(const char *id, const char *nonce, struct session *out,
    struct error *err)
{
	struct ss_cached *e;
	int rc = 1;

	pthread_mutex_lock(&ss.lock);
	if ((e = ss_cache_live_locked(id)) == NULL)
		;
	else if (e->s.state == SESSION_ATTESTED || e->taken)
		rc = error_set(err, "the challenge nonce of this session was "
		    "already used; run /auth again");
	else if (strlen(nonce) != SESSION_NONCE_LEN ||
	    !secret_equal(e->s.nonce, nonce, SESSION_NONCE_LEN))
		rc = error_set(err, "runtime-data nonce does not match this "
		    "session's challenge");
	else {
		e->taken = 1;
		*out = e->s;
		rc = 0;
	}
	pthread_mutex_unlock(&ss.lock);
	return rc;
}

/* The /attest that took id's cached copy did not get to spend it. */
static void
ss_cache_untake(const char *id)
{
	struct ss_cached *e;

	pthread_mutex_lock(&ss.lock);
	if ((e = *ss_cache_find_locked(id)) != NULL)
		e->taken = 0;
	pthread_mutex_unlock(&ss.lock);
}

/*
 * Write s's session_nonces row: nonce (44 characters; NULL: 44 zero
 * bytes, no nonce) then the record of s with token (NULL: none), the
 * row expiring at exp, under store_put_ex's condition expect_rev.
 * store_put_ex's return, *rev set on success (rev may be NULL).
 */
static int
ss_put_row(const struct session *s, const char *nonce, const char *token,
    int64_t exp, uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	uint8_t *rec, *row;
	size_t len;
	int rc;

	rec = session_record_encode(s, token, &len);
	row = xcalloc(1, SESSION_NONCE_LEN + len);
	if (nonce != NULL)
		memcpy(row, nonce, SESSION_NONCE_LEN);
	memcpy(row + SESSION_NONCE_LEN, rec, len);
	secret_free(rec, len);
	rc = store_put_ex(ss.st, SS_NONCES, s->id, row, SESSION_NONCE_LEN + len,
	    0, exp, expect_rev, rev, err);
	secret_free(row, SESSION_NONCE_LEN + len);
	return rc;
}

/* Spend a stateless challenge that failed or was evicted: insert its
 * row, the unattested record after 44 zero bytes (no nonce matches
 * them). 0, 1
 * when a row was there (spent already), < 0 as store_put_ex. */
static int
ss_put_spent(const struct session *taken, struct error *err)
{
	return ss_put_row(taken, NULL, NULL, taken->expires + SS_ROW_GRACE,
	    STORE_REV_ABSENT, NULL, err);
}

/* ---------------------------------------------------------- eviction */

/* session_quota_evict_fn: note the id (the quota's lock is held, so no
 * store round trip here); ss_evict_run deletes them afterwards. */
static void
ss_evict_note(const char *id, void *arg)
{
	struct ss_evicted *ev = arg;

	if (ev->n == ev->cap) {
		ev->cap = ev->cap == 0 ? 8 : ev->cap * 2;
		ev->ids = xrealloc(ev->ids, ev->cap * sizeof(*ev->ids));
	}
	memcpy(ev->ids[ev->n++], id, SESSION_ID_LEN + 1);
}

/* End the sessions the quota evicted: delete their rows (and the cache
 * copy); an unattested one with a stateless challenge has none, so its
 * nonce is spent by a spent row instead, on every instance alike. */
static void
ss_evict_run(struct ss_evicted *ev)
{
	struct session s;
	struct error err;
	size_t i;
	int rc;

	for (i = 0; i < ev->n; i++) {
		if (ss_cache_drop(ev->ids[i], &s) == 1) {
			rc = ss_put_spent(&s, &err);
			sodium_memzero(&s, sizeof(s));
		} else if ((rc = store_delete(ss.st, SS_NONCES, ev->ids[i],
		    &err)) >= 0)
			rc = store_delete(ss.st, SS_TABLE, ev->ids[i], &err);
		if (rc < 0)
			log_warnx("evicting session %.8s: %s (it ends when it "
			    "expires)", ev->ids[i], err.msg);
	}
	free(ev->ids);
	memset(ev, 0, sizeof(*ev));
}

/*
 * src is at its unattested cap here: count as attested those of its
 * oldest sessions whose nonce another instance spent. 1 when some were,
 * 0 when none, SESSION_UNAVAILABLE when the store cannot tell.
 */
static int
ss_reconcile(const struct source_addr *src, struct ss_evicted *ev)
{
	char ids[SS_RECONCILE_MAX][SESSION_ID_LEN + 1];
	struct session s;
	size_t n, i;
	int rc, moved = 0;

	n = session_quota_unattested(src, ids, SS_RECONCILE_MAX);
	for (i = 0; i < n; i++) {
		rc = ss_read(SS_NONCES, ids[i], &s);
		if (rc == SESSION_UNAVAILABLE)
			return SESSION_UNAVAILABLE;
		if ((rc == 0 && s.state == SESSION_AUTHED &&
		    s.nonce[0] != '\0') || (rc == -1 && ss.stateless)) {
			/* Its nonce is still unspent: a stored one, or (no
			 * row) a stateless one as this instance mints. */
			session_clear(&s);
			continue;
		}
		session_clear(&s);
		/* Attested, or its nonce spent otherwise: the cached
		 * unattested copy is stale. */
		ss_cache_drop(ids[i], NULL);
		if (session_quota_attested(ids[i], SS_RECORD_BYTES,
		    ss_evict_note, ev) == 0)
			moved = 1;
	}
	return moved;
}

/* ---------------------------------------------------------- the API */

void
session_shared_init(struct store *st, int lifetime_s, size_t cache_max,
    size_t cache_bytes, int stateless)
{
	ss.st = st;
	ss.lifetime = lifetime_s;
	ss.max_n = cache_max;
	ss.max_bytes = cache_bytes;
	ss.stateless = stateless;
	if ((ss.ckey = sodium_malloc(32)) == NULL)
		fatalx("cannot allocate secure memory for the challenge key");
	store_derive_key(st, STORE_PURPOSE_CHALLENGE, ss.ckey);
	sodium_mprotect_readonly(ss.ckey);
}

void
session_shared_shutdown(void)
{
	pthread_mutex_lock(&ss.lock);
	while (ss.oldest != NULL)
		ss_cache_unlink_locked(ss_cache_find_locked(ss.oldest->s.id));
	pthread_mutex_unlock(&ss.lock);
	sodium_free(ss.ckey);
	ss.ckey = NULL;
	ss.st = NULL;
}

/* The copy of the nonce this thread took last (session_take_nonce), for
 * session_set_attested(id). */
static _Thread_local struct session ss_taken;

int
session_shared_new(const char *tee, enum hash_alg hash,
    const struct source_addr *src, struct session *out)
{
	struct ss_evicted ev = { 0 };
	struct session s;
	struct error err;
	int rc;

	memset(&s, 0, sizeof(s));
	if (strlen(tee) >= sizeof(s.tee))
		return -1;
	session_mint(&s);
	snprintf(s.tee, sizeof(s.tee), "%s", tee);
	s.hash = hash;
	s.expires = now_unix() + ss.lifetime;
	s.state = SESSION_AUTHED;

	rc = session_quota_admit(s.id, src, s.expires, SS_RECORD_BYTES,
	    ss_evict_note, &ev);
	if (rc == SESSION_BUSY) {
		int moved = ss_reconcile(src, &ev);

		if (moved == 1)
			rc = session_quota_admit(s.id, src, s.expires,
			    SS_RECORD_BYTES, ss_evict_note, &ev);
		else if (moved == SESSION_UNAVAILABLE)
			rc = SESSION_UNAVAILABLE;
	}
	ss_evict_run(&ev);
	if (rc != 0)
		return rc;
	if (ss.stateless && session_challenge_mint(ss.ckey, &s) == 0) {
		s.rev = STORE_REV_ABSENT;	/* no row until /attest */
		ss_cache_put(&s);
		*out = s;
		return 0;
	}

	rc = ss_put_row(&s, s.nonce, NULL, s.expires, STORE_REV_ABSENT, &s.rev,
	    &err);
	if (rc != STORE_OK) {
		session_quota_forget(s.id);
		if (rc != STORE_UNAVAILABLE)
			log_warnx("creating a session: %s", rc > 0 ? "the "
			    "random session id exists" : err.msg);
		sodium_memzero(&s, sizeof(s));
		return rc == STORE_UNAVAILABLE ? SESSION_UNAVAILABLE : -1;
	}
	ss_cache_put(&s);
	*out = s;
	return 0;
}

/* session_get from the store: the nonce row (unattested, or attested by
 * this release), else an attested row of an earlier release. Attested
 * sessions are cached. */
static int
ss_lookup(const char *id, struct session *out)
{
	int rc;

	rc = ss_read(SS_NONCES, id, out);
	if (rc == -1)
		rc = ss_read(SS_TABLE, id, out);
	if (rc == 0 && out->state == SESSION_ATTESTED)
		ss_cache_put(out);
	return rc;
}

int
session_shared_get(const char *id, struct session *out)
{
	if (!ss_id_ok(id))
		return -1;
	if (ss_cache_get(id, 0, out))
		return 0;
	return ss_lookup(id, out);
}

int
session_shared_known(const char *id, struct session *out)
{
	if (!ss_id_ok(id))
		return -1;
	if (ss_cache_get(id, 1, out))
		return 0;
	/*
	 * Not cached: what the session is, session_take_nonce finds out
	 * from the nonce in the body (a stateless challenge, whose spending
	 * insert needs no read first) or from its row. Until then its TEE
	 * is unknown ("").
	 */
	memset(out, 0, sizeof(*out));
	memcpy(out->id, id, SESSION_ID_LEN + 1);
	out->state = SESSION_AUTHED;
	out->expires = now_unix() + 1;
	return 0;
}

/*
 * session_take_nonce of a session this instance has no copy of. A
 * stateless challenge for id is taken without a read: the insert that
 * spends it (session_set_attested_copy, session_abandon) fails when a
 * row exists, i.e. when it was spent. Else the nonce row decides.
 */
static int
ss_store_take(const char *id, const char *nonce, struct session *s,
    struct error *err)
{
	int rc;

	if (session_challenge_open(ss.ckey, id, nonce, s) == 0) {
		if (s->expires > now_unix())
			return 0;
		session_clear(s);
		return error_set(err, "session expired; run /auth again");
	}
	rc = ss_read(SS_NONCES, id, s);
	if (rc == SESSION_UNAVAILABLE) {
		error_set(err, "the session store is unavailable");
		return SESSION_UNAVAILABLE;
	}
	if (rc == 0 && s->state == SESSION_AUTHED && s->nonce[0] != '\0') {
		if (strlen(nonce) == SESSION_NONCE_LEN &&
		    secret_equal(s->nonce, nonce, SESSION_NONCE_LEN))
			return 0;
		session_clear(s);
		return error_set(err, "runtime-data nonce does not match this "
		    "session's challenge");
	}
	/* Attested, or spent (here or elsewhere), expired or evicted: only
	 * a row tells of a spending. */
	if (rc == 0 || ss_read(SS_TABLE, id, s) == 0) {
		session_clear(s);
		return error_set(err, "the challenge nonce of this session was "
		    "already used; run /auth again");
	}
	/* No row, and not a stateless challenge for id: an unknown or
	 * expired session, a spent stored challenge, or a wrong nonce. */
	return error_set(err, "session not found, expired or its challenge "
	    "nonce already used, or the runtime-data nonce does not match "
	    "its challenge; run /auth again");
}

int
session_shared_take_nonce(const char *id, const char *nonce,
    struct session *out, struct error *err)
{
	struct session s;
	int rc;

	if (!ss_id_ok(id))
		return error_set(err, "session not found or expired; run "
		    "/auth again");
	/* Created here: the cached copy, one /attest at a time. */
	if ((rc = ss_cache_take(id, nonce, &s, err)) == 1)
		rc = ss_store_take(id, nonce, &s, err);
	if (rc != 0)
		return rc;
	s.nonce_used = 1;
	session_clear(&ss_taken);
	ss_taken = s;
	*out = s;
	return 0;
}

int
session_shared_set_attested_copy(const struct session *taken,
    const char *token)
{
	struct ss_evicted ev = { 0 };
	struct session s;
	struct error err;
	int rc;

	if (!ss_id_ok(taken->id) || taken->state != SESSION_AUTHED ||
	    !taken->nonce_used || taken->expires <= now_unix())
		return -1;
	s = *taken;
	s.token = NULL;
	s.state = SESSION_ATTESTED;
	/* This thread's slot has served its purpose. */
	if (taken != &ss_taken && strcmp(ss_taken.id, s.id) == 0)
		session_clear(&ss_taken);
	/* Spend the nonce: replace the revision read (a stateless
	 * challenge: insert the row), once. No nonce in the row. */
	rc = ss_put_row(&s, NULL, token, s.expires + SS_ROW_GRACE, taken->rev,
	    &s.rev, &err);
	if (rc > 0) {
		ss_cache_drop(s.id, NULL);
		sodium_memzero(&s, sizeof(s));
		return SESSION_SPENT;
	}
	if (rc != STORE_OK) {
		/* Nothing spent: the guest may try again. */
		if (rc != STORE_UNAVAILABLE)
			log_warnx("session %.8s: %s", s.id, err.msg);
		ss_cache_untake(s.id);
		sodium_memzero(&s, sizeof(s));
		return SESSION_UNAVAILABLE;
	}
	/* -1 when another instance created it: its quota counts it. */
	(void)session_quota_attested(s.id, SS_RECORD_BYTES + strlen(token) +
	    1, ss_evict_note, &ev);
	ss_evict_run(&ev);
	memset(s.nonce, 0, sizeof(s.nonce));
	s.token = xstrdup(token);
	ss_cache_put(&s);
	session_clear(&s);
	return 0;
}

int
session_shared_set_attested(const char *id, const char *token)
{
	int rc;

	if (strcmp(ss_taken.id, id) != 0)
		return -1;	/* not taken by this thread: nothing to attest */
	rc = session_shared_set_attested_copy(&ss_taken, token);
	session_clear(&ss_taken);
	return rc;
}

void
session_shared_abandon(const struct session *taken)
{
	struct error err;
	int rc;

	if (!ss_id_ok(taken->id) || !taken->nonce_used)
		return;
	(void)ss_cache_drop(taken->id, NULL);
	if (taken->rev == STORE_REV_ABSENT)
		rc = ss_put_spent(taken, &err);
	else
		rc = store_delete_ex(ss.st, SS_NONCES, taken->id, taken->rev,
		    &err);
	if (rc < 0)
		log_warnx("session %.8s: spending the nonce of a failed "
		    "attestation: %s (it expires with the session)", taken->id,
		    rc == STORE_UNAVAILABLE ? "the store is unavailable" :
		    err.msg);
	if (taken != &ss_taken && strcmp(ss_taken.id, taken->id) == 0)
		session_clear(&ss_taken);
}

int
session_shared_gc(void)
{
	static const char *const tables[] = { SS_TABLE, SS_NONCES };
	static struct log_limit lim;	/* repeats while the store is away */
	struct ss_cached *e, *next;
	int64_t now = now_unix();
	struct error err;
	size_t n, i, total = 0;
	int k, rc;

	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		for (k = 0; k < SS_PURGE_ROUNDS; k++) {
			n = 0;
			rc = store_purge(ss.st, tables[i], INT64_MIN,
			    SS_PURGE_BATCH, &n, &err);
			if (rc < 0) {
				log_warnx_limited(&lim, 60, "expiring "
				    "sessions: %s", err.msg);
				break;
			}
			total += n;	/* a session has one row or the other */
			if (n < SS_PURGE_BATCH)
				break;
		}
	}
	pthread_mutex_lock(&ss.lock);
	for (e = ss.oldest; e != NULL; e = next) {
		next = e->next;
		if (e->s.expires <= now)
			ss_cache_unlink_locked(ss_cache_find_locked(e->s.id));
	}
	pthread_mutex_unlock(&ss.lock);
	(void)session_quota_gc(now);
	return (int)(total > INT32_MAX ? INT32_MAX : total);
}

size_t
session_shared_count(void)
{
	struct session_quota_stats st;

	session_quota_stats(&st);
	return st.sessions;
}
