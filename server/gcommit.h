/*
 * gcommit.h: group commit of records whose durability may wait a bounded
 * delay (gcommit.c): guest audit records, attestation-log rows. A writer
 * thread takes whatever rows are queued and commits them with one
 * store_put_many per table (SQLite: one transaction, one fsync), instead
 * of one durable commit per request.
 *
 * The guarantee, exactly: a queued row is committed within delay_ms of
 * being queued, plus the time of the commit itself (and of the commits of
 * the batches before it); gcommit_flush and gcommit_free (what a clean
 * stop, SIGTERM, calls) return only when every row queued before them is
 * committed. A crash (power loss, SIGKILL) loses at most the rows of the
 * last delay_ms and the batch being committed. The queue is bounded: when
 * it is full, gcommit_put refuses and the caller writes the row itself,
 * durably, as it would without batching. A batch the store refuses as
 * unavailable is retried (the rows stay queued, within the bound); one it
 * refuses otherwise is logged and dropped, as a failed direct write is.
 */
#ifndef TRUSTEE_GCOMMIT_H
#define TRUSTEE_GCOMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

struct store;
struct gcommit;

/* A writer for st. what names it in log lines. delay_ms: the longest a
 * row waits (> 0); max_rows, max_bytes: the queue's bound (0: 4096 rows,
 * 16 MiB). NULL when the thread cannot be started. */
struct gcommit *gcommit_new(struct store *st, const char *what, int delay_ms,
    size_t max_rows, size_t max_bytes);
/* Queue a copy of a row (store_put_ex with STORE_REV_ANY, later). 0, or
 * -1 when the queue is full or the writer is stopping: then write it
 * yourself. */
int gcommit_put(struct gcommit *g, const char *table, const char *name,
    const void *val, size_t len, int64_t ord, int64_t exp);
/* Return when every row queued before the call has been committed (or
 * dropped after an error). */
void gcommit_flush(struct gcommit *g);
/* Flush, stop the writer thread, free; NULL is fine. */
void gcommit_free(struct gcommit *g);

struct gcommit_stats {
	size_t queued;			/* rows waiting now */
	uint64_t rows, batches;		/* committed since start */
	uint64_t refused;		/* puts refused (queue full) */
	uint64_t dropped;		/* rows lost to store errors */
};
void gcommit_stats(struct gcommit *g, struct gcommit_stats *st);

#endif
