/*
 * outage.c: failing fast while a shared database hangs.
 *
 * A MariaDB server that stops answering (a frozen host, a network
 * partition, a Galera node cut off) makes every operation wait for the
 * store timeout, and a request may need several operations: without care
 * a request would take a multiple of the timeout, and every event-loop
 * worker would sit in such waits. So once an operation on a shared
 * backend waited at least half the timeout and still found the database
 * unavailable, the store is "in an outage": the request-path operations
 * (rows: put, get, delete, scan, purge, count) answer STORE_UNAVAILABLE at
 * once, with a message saying since when. The poller thread keeps asking
 * the database (store_poll reads the _keys generation every poll
 * interval) and its first answer ends the outage; a store without the
 * poller (no background threads) lets one request-path operation through
 * as a probe every OUTAGE_PROBE_MS instead.
 *
 * An operation that fails at once (refused connection, server shut down,
 * a certification conflict) starts no outage: it costs nothing to try the
 * next one. SQLite (a local file) never enters one.
 */
#include <stdatomic.h>
#include <string.h>

#include "../lib/log.h"
#include "store_internal.h"

#define OUTAGE_PROBE_MS	1000

static int
outage_applies(const struct store *st)
{
	return strcmp(st->be->name, "sqlite") != 0;
}

int
outage_enter(struct store *st, int64_t *t0, struct error *err)
{
	int64_t since, now, last;

	*t0 = store_mono_ms();
	if (!outage_applies(st) ||
	    (since = atomic_load(&st->outage_since)) == 0)
		return 0;
	now = *t0;
	if (!st->poller_up) {
		last = atomic_load(&st->outage_probe);
		if (now - last >= OUTAGE_PROBE_MS &&
		    atomic_compare_exchange_strong(&st->outage_probe, &last, now))
			return 0;		/* this one is the probe */
	}
	error_set(err, "store: %s: the database is unavailable (no answer "
	    "for %lld s); retrying in the background", st->redacted,
	    (long long)((now - since) / 1000));
	return STORE_UNAVAILABLE;
}

void
outage_note(struct store *st, int rc, int64_t t0)
{
	int64_t zero = 0, now;

	if (!outage_applies(st))
		return;
	if (rc != STORE_UNAVAILABLE) {
		if (atomic_exchange(&st->outage_since, 0) != 0)
			log_info("store: %s: the database answers again",
			    st->redacted);
		return;
	}
	now = store_mono_ms();
	if (t0 < 0 || now - t0 < st->timeout_ms / 2)
		return;
	atomic_store(&st->outage_probe, now);
	if (atomic_compare_exchange_strong(&st->outage_since, &zero, now))
		log_warnx("store: %s: the database did not answer within %d "
		    "ms: failing fast until it does", st->redacted,
		    st->timeout_ms);
}
