/*
 * lock.c: named locks held across every instance sharing the store
 * (store.h), for read-modify-write sequences that span several rows and
 * so cannot be one compare-and-swap: a resource's index row and its
 * version rows, say. MariaDB: GET_LOCK on a connection of the lock's
 * own; SQLite: a lock file beside the database (one daemon per file, so
 * the lock only orders that daemon's threads with tools on the file).
 */
#include "../lib/util.h"
#include "store_internal.h"

int
store_lock(struct store *st, const char *name, struct error *err)
{
	int rc;

	rc = st->be->lock(st->handle, name, st->timeout_ms, err);
	if (rc == STORE_ABSENT) {
		error_set(err, "store: %s: another instance held the lock "
		    "'%s' for the whole store timeout; retry", st->redacted,
		    name);
		return STORE_UNAVAILABLE;
	}
	return rc;
}

void
store_unlock(struct store *st, const char *name)
{
	st->be->unlock(st->handle, name);
}
