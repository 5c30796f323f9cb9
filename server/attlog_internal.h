/*
 * attlog_internal.h: what the attestation log's files share. attlog.c
 * (lifecycle, writing, retention) owns the state below; attlog_row.c is
 * a row's id and value; attlog_index.c the index in memory of every
 * row's summary; attlog_read.c pages and lookups. The contracts to the
 * rest of the daemon are in observe.h; nothing else includes this header.
 */
#ifndef TRUSTEE_ATTLOG_INTERNAL_H
#define TRUSTEE_ATTLOG_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "observe.h"

#define ATTLOG_TABLE "attestations"
#define ATTLOG_ID_LEN 25		/* 16 + 1 + 8 */
#define ATTLOG_SOURCE_MAX 48

/* The log's state that every file reads (attlog.c sets it). lock guards
 * it, the index (attlog_index.c) and attlog.c's own state. */
struct attlog_state {
	pthread_mutex_t lock;
	struct store *st;		/* NULL: the log is not open */
	size_t keep;			/* rows at most */
	int64_t max_age;		/* seconds */
	int64_t rows_when;		/* unix s of the cached count; 0: count
					 * again (attlog_count) */
};
extern struct attlog_state attlog_state;

/* The open log's store, or NULL (takes the lock). */
struct store *attlog_store(void);
/* The ord (unix ms) below which rows are older than max_age at now (unix
 * s). */
int64_t attlog_age_floor(int64_t now);

/* ------------------------------------------------------------ attlog_row.c */

/* A row's summary as the index keeps it. */
struct attlog_ent {
	char id[ATTLOG_ID_LEN + 1];
	int64_t ord;			/* unix ms: the id's time */
	uint8_t tee;			/* observe_tee_index */
	uint8_t verdict;		/* enum observe_verdict */
	char source[ATTLOG_SOURCE_MAX];
	uint64_t tag;			/* its row's store_row_tag; 0 unknown */
};

/* 1 when s is "<16 hex>-<8 hex>" (lowercase), *ms (when not NULL) the
 * time it names; else 0. */
int attlog_row_id_parse(const char *s, int64_t *ms);
int attlog_row_id_valid(const char *s);
/* The summary of record rec, named id, into e; -1 when the record is
 * unusable. */
int attlog_row_ent(const char *id, const json_t *rec, struct attlog_ent *e);
/* The summary members of a row's value, or the whole record; NULL when
 * the value does not parse. */
json_t *attlog_row_summary_parse(const uint8_t *val, size_t len);
json_t *attlog_row_record_parse(const uint8_t *val, size_t len);
/* The summary members of a record (a new object). */
json_t *attlog_row_summary(const json_t *rec);
/* A row's value for rec and ear (see attlog_row.c); NULL when out of
 * memory. */
char *attlog_row_value(const json_t *rec, const char *ear);

/* ---------------------------------------------------------- attlog_index.c */

/* Functions named _locked want the caller to hold attlog_state.lock; the
 * others take it themselves. */

/* A sorted (by id, which is by time) array of summaries. */
struct attlog_ix {
	struct attlog_ent *v;
	size_t n, cap;
};

/* Every row of st into ix (empty; sorted by id); *hw the highest ord
 * seen. 0 or the store's codes. */
int attlog_index_load(struct store *st, struct attlog_ix *ix, int64_t *hw,
    struct error *err);
void attlog_index_free(struct attlog_ix *ix);
/* ix (taken) is the index from now on, built now; hw its highest ord. */
void attlog_index_take_locked(struct attlog_ix *ix, int64_t hw);
/* Forget every entry. */
void attlog_index_clear_locked(void);
/* This process appended e (the index stays within keep + a slack). */
void attlog_index_add_locked(const struct attlog_ent *e);
/* Entries older than ord_before, and beyond keep + a slack (oldest
 * first), go. */
void attlog_index_trim_locked(int64_t ord_before);
/* When the index knows every one of the log's rows (rows of them): the
 * ord just above its n-th oldest (n >= 1); else 0. */
int64_t attlog_index_above_nth(uint64_t rows, uint64_t n);
/* The ids of up to max entries matching f (and tee, -1: any) strictly
 * older than the id before ("": from the newest), newest first; returns
 * how many. */
size_t attlog_index_select(const char *before, const struct attlog_filter *f,
    int tee, char (*ids)[ATTLOG_ID_LEN + 1], size_t max);
/* The row id is gone (another instance's retention dropped it). */
void attlog_index_forget(const char *id);
/* store_watch's callback (arg: the store): another instance wrote. */
void attlog_index_changed(const char *table, void *arg);

#endif
