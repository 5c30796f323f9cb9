/*
 * rvps_internal.h: what the files of the reference value store share:
 *  - rvps.c: the state, the in-memory copy behind rvps_query, lifecycle,
 *    reads (rvps_get, rvps_list);
 *  - rvps_check.c: checks of names, texts and values;
 *  - rvps_record.c: a record and its row in the store;
 *  - rvps_write.c: new versions and revocation;
 *  - rvps_history.c: the history table, rvps_history, rvps_delete;
 *  - rvps_register.c: the Trustee message envelope.
 * Not for use outside rvps/.
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
#define RVPS_TABLE "rv"
#define RVPS_HISTORY_TABLE "rv_history"
#define RVPS_VERSION_MAX 2000000000
/* The store lock every writer holds across the instances (rvps.c). */
#define RVPS_LOCK "reference_values"

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

/* A stored record, parsed and checked (pointers borrowed from the JSON). */
struct rvps_rec {
	const char *name;
	json_int_t version;
	json_t *value;
	int64_t created;
	int64_t expiration;
	int revoked;
};

/* ----------------------------------------------------------------- rvps.c */

/* 0, or -1 with err set when rvps_init has not opened the store. */
int rvps_need_store(struct error *err);
/* Take RVPS_LOCK: 0 with the lock held, or -1 (err set: another instance
 * held it past the store timeout, or the database is away). */
int rvps_store_lock(struct error *err);
/* Sort the records of array arr in place with cmp. */
void rvps_sort(json_t *arr, int (*cmp)(const void *, const void *));
/* Put (entry != NULL; consumed) or drop one name in the in-memory copy. */
void rvps_cache_set(const char *name, json_t *entry);

/* ----------------------------------------------------------- rvps_check.c */

/*
 * Check s (what names it in messages): at most max bytes, valid UTF-8,
 * no control character (C0, DEL, C1); empty only if allow_empty.
 */
int rvps_check_text(const char *s, size_t max, const char *what,
    int allow_empty, struct error *err);
/* A value must serialize to at most RVPS_VALUE_MAX bytes. */
int rvps_check_value(const char *name, const json_t *value,
    struct error *err);

/* ---------------------------------------------------------- rvps_record.c */

json_t *rvps_record_time_json(int64_t t);
/* A new record for version of name (the value is copied). */
json_t *rvps_record_new(const char *name, json_int_t version,
    const json_t *value, int64_t created, int64_t expiration,
    const char *who);
/* Parse and check a stored record (a row we wrote, so any flaw is a bug
 * or a damaged database: reported with what is wrong). */
int rvps_record_parse(json_t *rec, struct rvps_rec *r, struct error *err);
/* "revoked", "expired" or "valid" at now. */
const char *rvps_record_state(const struct rvps_rec *r, int64_t now);
/* A copy of rec with "state" appended. */
json_t *rvps_record_out(const json_t *rec, const char *state);
/* The in-memory copy's entry for r (see struct rvps_state). */
json_t *rvps_record_cache_entry(const struct rvps_rec *r);
/* Parse row bytes of table into a checked record (*rec new ref). */
int rvps_record_decode(const char *table, const char *row,
    const uint8_t *val, size_t len, json_t **rec, struct rvps_rec *r,
    struct error *err);
/* Read row of table: 0 found (*rec new ref), 1 absent, -1 error. */
int rvps_record_get(const char *table, const char *row, json_t **rec,
    struct rvps_rec *r, struct error *err);
int rvps_record_put(const char *table, const char *row, const json_t *rec,
    struct error *err);

/* ----------------------------------------------------------- rvps_write.c */

/*
 * Store a new version of every member of values (checked names and
 * values), all or nothing. The caller holds wlock and checked expiration
 * (0 = default) and who. *records (if not NULL): the new records with
 * "state", in the order of values.
 */
int rvps_write(const json_t *values, int64_t expiration, const char *who,
    json_t **records, struct error *err);

/* --------------------------------------------------------- rvps_history.c */

/* Store rec as its version's history row. */
int rvps_history_put(const json_t *rec, struct error *err);
/* Drop one history row; a failure is logged. */
void rvps_history_delete(const char *name, json_int_t version);

#endif
