/*
 * rvps_internal.h: what rvps.c (store, records, in-memory copy) and
 * rvps_register.c (the Trustee message envelope) share. Not for use
 * outside rvps/.
 *
 * Locking: rvps_g.wlock serializes every writer and every reload (so a
 * reload never drops a write made while it scanned the store); it is
 * taken before rvps_g.lock, which guards the in-memory copy for readers.
 */
#ifndef TRUSTEE_RVPS_INTERNAL_H
#define TRUSTEE_RVPS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;

#define RVPS_ESC 96		/* escaped name in messages */

struct rvps_state {
	pthread_rwlock_t lock;	/* cache and loaded_ns */
	pthread_mutex_t wlock;	/* writers and reloads */
	struct store *st;	/* set by rvps_init only */
	/* name -> {"v": value, "e": expiration (int), "r": revoked (bool)} */
	json_t *cache;
	uint64_t loaded_ns;	/* monotonic time of the last full load */
};

/* The one RVPS state (rvps.c). */
extern struct rvps_state rvps_g;

/*
 * Check s (what names it in messages): at most max bytes, valid UTF-8,
 * no control character (C0, DEL, C1); empty only if allow_empty.
 */
int rvps_text_check(const char *s, size_t max, const char *what,
    int allow_empty, struct error *err);
/* A value must serialize to at most RVPS_VALUE_MAX bytes. */
int rvps_value_check(const char *name, const json_t *value,
    struct error *err);
/*
 * Store a new version of every member of values (checked names and
 * values), all or nothing. The caller holds wlock and checked expiration
 * (0 = default) and who. *records (if not NULL): the new records with
 * "state", in the order of values.
 */
int rvps_write(const json_t *values, int64_t expiration, const char *who,
    json_t **records, struct error *err);

#endif
