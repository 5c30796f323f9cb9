/*
 * lease.c: how a handle on a database that other instances write
 * (MariaDB, Galera) answers reads of its cached tables (store_cache: the
 * resources' index and value rows) from rowcache.c without a round trip,
 * and still never answers with a row as it was before a write that
 * another instance has acknowledged. store_open.c gives such a handle a
 * leased cache when [store] lease (L, st->lease_ms) is not 0.
 *
 * The rules:
 *   - every write to a cached table bumps the table's shared generation
 *     (backend gen_bump), whatever the write returned, since a write that
 *     failed may still have committed (lease_wrote);
 *   - the writer acknowledges a successful write only once L and a
 *     margin (LEASE_MARGIN_PCT percent, for clocks that do not run at
 *     quite the same rate) have passed since the bump returned: a caller
 *     that acknowledges calls store_settle first, which waits for that;
 *   - the lease thread reads each cached table's generation every L / 4,
 *     noting the monotonic time t0 before it asks. If the generation is
 *     not the one it read last, it first drops the table's entries here
 *     (rowcache_wrote); then the table's entries may serve until t0 + L.
 *     A failed read extends nothing.
 *
 * Why then no stale answer: say a write was acknowledged at a, its bump
 * committed at c <= a - L. An entry served at t >= a needs a lease from
 * a poll that began at t0 > t - L >= c, so that poll read a generation
 * that includes the bump: it found it changed and dropped the entries
 * before extending, or an earlier poll that also began after c did. An
 * entry filled after the drop carries the generation read before its own
 * backend read, which began after the drop, hence after c; one filled
 * before carries an older generation and is never served (rowcache.c).
 * This needs causal reads on Galera (sessions set wsrep_sync_wait) and
 * monotonic clocks that agree on the length of L within the margin.
 *
 * The registry of lease holders spares most writes the wait. A handle
 * notes itself in the database (backend holder: a row with its name and
 * the database clock) before its first lease and again every
 * LEASE_NOTE_MS while it gives leases, and gives none that ends more than
 * LEASE_HOLD_MS after the monotonic time taken before its last note; once
 * lookups stopped and its last lease ended it drops its note. A writer,
 * after its bump returned, counts the other holders noted less than
 * LEASE_LIVE_MS ago by the database clock, and waits only when there is
 * one (or the count fails; a backend without a registry: always). Why
 * that suffices, for a holder H the count missed: either H's note
 * committed after the count began, so every poll H makes under it began
 * after the bump and sees it; or H's last note is older than
 * LEASE_LIVE_MS, so every lease it gave ended LEASE_LIVE_MS -
 * LEASE_HOLD_MS before the count; or H dropped its note, after its last
 * lease ended, and gives none before noting again. The last two need the
 * database clocks (one per Galera node) and the holders' monotonic
 * clocks to agree within that difference, ten seconds.
 *
 * Should the bump fail after a successful write, lease_wrote turns the
 * success into STORE_UNAVAILABLE; other instances may then answer with
 * the row as it was until their entry's age bound (ROWCACHE_MAX_AGE_MS).
 *
 * The thread asks only while lookups come (the last less than
 * LEASE_IDLE_MS ago): an idle instance sends nothing, and after a pause
 * its first lookups go to the database until the next poll.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "store_internal.h"

#define LEASE_MARGIN_PCT	5
#define LEASE_IDLE_MS		2000
#define LEASE_NOTE_MS		5000	/* a holder notes itself this often */
#define LEASE_HOLD_MS		20000	/* leases end this long after a note */
#define LEASE_LIVE_MS		30000	/* writers count notes this young */
#define LEASE_FORGET_MS		3600000	/* a first note forgets older ones */

/* The monotonic ms until which this thread's acknowledged writes may
 * still be answered from another instance's lease (store_settle). */
static __thread int64_t lease_settle_ms;

void
lease_init(struct store *st, int lease_ms)
{
	uint8_t id[8];
	char *p;
	size_t i;

	st->cache = rowcache_new(1);
	st->lease_ms = lease_ms;
	randombytes_buf(id, sizeof(id));
	p = st->lease_holder + snprintf(st->lease_holder,
	    sizeof(st->lease_holder), "%s", STORE_HOLDER_PREFIX);
	for (i = 0; i < sizeof(id); i++, p += 2)
		snprintf(p, 3, "%02x", id[i]);
}

/*
 * Have st noted in the registry now if its last note is LEASE_NOTE_MS old
 * (or there is none). The monotonic ms until which leases may run: 0
 * (none) when st is not noted, INT64_MAX without a registry. lease_mu
 * held.
 */
static int64_t
lease_note_locked(struct store *st)
{
	struct error err;
	int64_t t;

	if (st->be->holder == NULL)
		return INT64_MAX;
	t = store_mono_ms();
	if (st->lease_noted && t - st->lease_noted_ms < LEASE_NOTE_MS)
		return st->lease_noted_ms + LEASE_HOLD_MS;
	if (st->be->holder(st->handle, STORE_HOLDER_BEAT, st->lease_holder,
	    st->lease_noted ? 0 : LEASE_FORGET_MS, NULL, &err) < 0)
		return st->lease_noted ? st->lease_noted_ms + LEASE_HOLD_MS : 0;
	st->lease_noted = 1;
	st->lease_noted_ms = t;
	return t + LEASE_HOLD_MS;
}

/* End every lease of st, then drop its note. lease_mu held. */
static void
lease_leave_locked(struct store *st)
{
	struct error err;
	int tix, n;

	n = rowcache_count(st->cache);
	for (tix = 0; tix < n; tix++)
		rowcache_lease(st->cache, tix, 0);
	st->lease_last_ms = 0;
	/* A note that stays (the drop failed) only makes writers wait. */
	if (st->lease_noted && st->be->holder != NULL)
		(void)st->be->holder(st->handle, STORE_HOLDER_DROP,
		    st->lease_holder, 0, NULL, &err);
	st->lease_noted = 0;
}

void
lease_release(struct store *st)
{
	if (!rowcache_leased(st->cache))
		return;
	pthread_mutex_lock(&st->lease_mu);
	lease_leave_locked(st);
	pthread_mutex_unlock(&st->lease_mu);
}

int
lease_poll(struct store *st, int force)
{
	struct error err;
	const char *table;
	int64_t t0, hold, until;
	uint64_t g;
	int tix, n, fresh = 0;

	if (!rowcache_leased(st->cache) || st->lease_ms <= 0)
		return 0;
	pthread_mutex_lock(&st->lease_mu);
	t0 = store_mono_ms();
	if (!force && t0 - rowcache_last_get(st->cache) > LEASE_IDLE_MS) {
		/* Idle: leave the registry once the last lease ran out. */
		if (st->lease_noted && t0 >= st->lease_last_ms)
			lease_leave_locked(st);
		pthread_mutex_unlock(&st->lease_mu);
		return 0;
	}
	hold = lease_note_locked(st);
	n = rowcache_count(st->cache);
	for (tix = 0; tix < n; tix++) {
		table = rowcache_name(st->cache, tix);
		t0 = store_mono_ms();
		if (t0 >= hold ||
		    st->be->gen_get(st->handle, table, &g, &err) < 0)
			continue;
		if (!st->lease_seen_ok[tix] || g != st->lease_seen[tix]) {
			rowcache_wrote(st->cache, table);
			st->lease_seen[tix] = g;
			st->lease_seen_ok[tix] = 1;
		}
		until = t0 + st->lease_ms < hold ? t0 + st->lease_ms : hold;
		rowcache_lease(st->cache, tix, until);
		if (until > st->lease_last_ms)
			st->lease_last_ms = until;
		fresh++;
	}
	pthread_mutex_unlock(&st->lease_mu);
	return fresh;
}

static void *
lease_thread(void *arg)
{
	struct store *st = arg;
	struct timespec ts;
	int ms = st->lease_ms / 4 > 0 ? st->lease_ms / 4 : 1;

	pthread_mutex_lock(&st->thr_mu);
	while (!st->stopping) {
		pthread_mutex_unlock(&st->thr_mu);
		lease_poll(st, 0);
		pthread_mutex_lock(&st->thr_mu);
		if (st->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&st->thr_cv, &st->thr_mu, &ts);
	}
	pthread_mutex_unlock(&st->thr_mu);
	return NULL;
}

int
lease_start(struct store *st, struct error *err)
{
	int rc;

	if (!rowcache_leased(st->cache) || st->lease_ms <= 0)
		return 0;
	rc = pthread_create(&st->leaser, NULL, lease_thread, st);
	if (rc != 0)
		return error_set(err, "store: cannot start the lease poller: "
		    "%s", strerror(rc));
	st->leaser_up = 1;
	return 0;
}

/* 1 when another handle may answer from a lease: a holder other than st
 * noted lately, or the registry cannot say. */
static int
lease_others(struct store *st)
{
	struct error err;
	uint64_t n;

	if (st->be->holder == NULL || st->be->holder(st->handle,
	    STORE_HOLDER_OTHERS, st->lease_holder, LEASE_LIVE_MS, &n,
	    &err) < 0)
		return 1;
	return n > 0;
}

int
lease_wrote(struct store *st, const char *table, int rc, struct error *err)
{
	struct error berr;
	int64_t until;
	int b;

	b = watch_wrote(st, table);
	if (b == 0)
		b = st->be->gen_bump(st->handle, table, &berr) < 0 ? -1 : 1;
	if (b < 0) {
		if (rc != STORE_OK)
			return rc;
		error_set(err, "store: %s: '%s' was written, but other "
		    "instances could not be told (retry the write)",
		    st->redacted, table);
		return STORE_UNAVAILABLE;
	}
	if (rc == STORE_OK && lease_others(st)) {
		atomic_fetch_add(&st->lease_waits, 1);
		until = store_mono_ms() + (int64_t)st->lease_ms *
		    (100 + LEASE_MARGIN_PCT) / 100 + 1;
		if (until > lease_settle_ms)
			lease_settle_ms = until;
	}
	return rc;
}

void
store_settle(void)
{
	struct timespec ts;
	int64_t left;

	while ((left = lease_settle_ms - store_mono_ms()) > 0) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	lease_settle_ms = 0;
}
