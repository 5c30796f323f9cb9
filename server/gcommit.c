/*
 * gcommit.c: group commit (gcommit.h). One writer thread per instance of
 * struct gcommit, a FIFO of copied rows under one mutex, and two
 * condition variables: "work" wakes the writer (first row of a batch, a
 * full batch, a flush, the stop), "done" wakes flushers when a batch is
 * finished. Rows carry a sequence number so a flush waits exactly for
 * the rows queued before it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "gcommit.h"
#include "trusteed.h"

#define GCOMMIT_MAX_ROWS	4096
#define GCOMMIT_MAX_BYTES	((size_t)16 << 20)
#define GCOMMIT_STOP_TRIES	3	/* commits tried at stop when unavailable */
#define GCOMMIT_FLUSH_WAIT_MS	5000	/* a flush waits at most this long */
#define GCOMMIT_TABLE_MAX	32	/* as the store's table names */
/* While the store stays unavailable, its rows are retried every delay
 * but reported at most this often (a long outage must not flood the
 * log). */
#define GCOMMIT_WARN_EVERY_NS	(30ull * 1000000000u)

struct gcommit_row {
	struct gcommit_row *next;
	char table[GCOMMIT_TABLE_MAX + 1];
	char *name;
	uint8_t *val;
	size_t len;
	int64_t ord, exp;
	uint64_t seq;
};

struct gcommit {
	struct store *st;
	char what[32];
	int delay_ms;
	size_t max_rows, max_bytes;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct gcommit_row *head, *tail;
	size_t n, bytes;
	uint64_t seq;			/* last queued */
	uint64_t done_seq;		/* every row up to it is finished */
	uint64_t first_ns;		/* when the oldest queued row came */
	int flush_req, stop;
	uint64_t rows, batches, refused, dropped;
	/* The writer thread's own: when it last reported rows waiting for
	 * the store (0: none wait), and how many retries since. */
	uint64_t warned_ns, retries;
};

static void
gcommit_row_free(struct gcommit_row *r)
{
	free(r->name);
	secret_free(r->val, r->len);
	free(r);
}

static void
gcommit_deadline(struct timespec *ts, uint64_t mono_ns)
{
	/* The condition variables run on CLOCK_MONOTONIC (gcommit_new). */
	ts->tv_sec = (time_t)(mono_ns / 1000000000u);
	ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

/* Rows wait for an unavailable store: say so at the first failure, then
 * at most every GCOMMIT_WARN_EVERY_NS. Writer thread only. */
static void
gcommit_report_waiting(struct gcommit *g, size_t k, const struct error *err)
{
	uint64_t now = now_mono_ns();

	g->retries++;
	if (g->warned_ns != 0 && now - g->warned_ns < GCOMMIT_WARN_EVERY_NS)
		return;
	log_warnx("%s: %zu record(s) wait for the store (retried every %d "
	    "ms; %llu tries so far): %s", g->what, k, g->delay_ms,
	    (unsigned long long)g->retries, err->msg);
	g->warned_ns = now;
}

/* Commit a detached list, one store_put_many per table (rows of a table
 * keep their order, so the later of two puts of one name wins). Rows the
 * store could not take because it is unavailable are returned, in order;
 * the others are freed. */
static struct gcommit_row *
gcommit_commit(struct gcommit *g, struct gcommit_row *list, uint64_t *nrows,
    uint64_t *ndropped)
{
	struct gcommit_row *keep = NULL, **kt = &keep, *mine, **mt, *rest;
	struct gcommit_row **rt, *r, *next;
	struct store_item *items;
	struct error err;
	size_t n = 0, k;
	int rc;

	for (r = list; r != NULL; r = r->next)
		n++;
	items = xcalloc(n, sizeof(*items));
	while (list != NULL) {
		/* Split off the rows of the first row's table. */
		mine = rest = NULL;
		mt = &mine;
		rt = &rest;
		k = 0;
		for (r = list; r != NULL; r = next) {
			next = r->next;
			r->next = NULL;
			if (strcmp(r->table, list->table) == 0 || r == list) {
				*mt = r;
				mt = &r->next;
				items[k].name = r->name;
				items[k].val = r->val;
				items[k].len = r->len;
				items[k].ord = r->ord;
				items[k].exp = r->exp;
				k++;
			} else {
				*rt = r;
				rt = &r->next;
			}
		}
		list = rest;
		rc = store_put_many(g->st, mine->table, items, k, &err);
		if (rc == STORE_OK)
			*nrows += k;
		else if (rc == STORE_UNAVAILABLE)
			gcommit_report_waiting(g, k, &err);
		else {
			log_warnx("%s: %zu record(s) lost: %s", g->what, k,
			    err.msg);
			*ndropped += k;
		}
		if (rc == STORE_UNAVAILABLE) {
			*kt = mine;
			kt = mt;
		} else {
			for (r = mine; r != NULL; r = next) {
				next = r->next;
				gcommit_row_free(r);
			}
		}
	}
	free(items);
	return keep;
}

static void *
gcommit_main(void *arg)
{
	struct gcommit *g = arg;
	struct gcommit_row *list, *back, *r;
	struct timespec ts;
	uint64_t last, rows, dropped;
	int tries = 0;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		if (g->head == NULL) {
			if (g->stop)
				break;
			pthread_cond_wait(&g->work, &g->mu);
			continue;
		}
		/* A batch is due at the delay after its first row, or at
		 * once when full, flushed or stopping. */
		if (!g->stop && !g->flush_req && g->n < g->max_rows / 2 &&
		    now_mono_ns() < g->first_ns + (uint64_t)g->delay_ms *
		    1000000u) {
			gcommit_deadline(&ts, g->first_ns + (uint64_t)
			    g->delay_ms * 1000000u);
			pthread_cond_timedwait(&g->work, &g->mu, &ts);
			continue;
		}
		list = g->head;
		last = g->seq;
		g->head = g->tail = NULL;
		g->n = 0;
		g->bytes = 0;
		g->flush_req = 0;
		pthread_mutex_unlock(&g->mu);

		rows = dropped = 0;
		back = gcommit_commit(g, list, &rows, &dropped);

		pthread_mutex_lock(&g->mu);
		g->rows += rows;
		g->dropped += dropped;
		g->batches++;
		if (back != NULL && g->stop && ++tries >= GCOMMIT_STOP_TRIES) {
			/* Stopping and the store stays away: give up. */
			for (; back != NULL; back = r) {
				r = back->next;
				gcommit_row_free(back);
				g->dropped++;
			}
			log_warnx("%s: records lost: the store is unavailable "
			    "at stop", g->what);
		}
		if (back != NULL) {
			/* Unavailable: the rows go back to the front and wait
			 * one delay; flushers wait for them. */
			last = back->seq - 1;
			for (r = back;; r = r->next) {
				g->n++;
				g->bytes += r->len;
				if (r->seq - 1 < last)
					last = r->seq - 1;
				if (r->next == NULL)
					break;
			}
			r->next = g->head;
			if (g->head == NULL)
				g->tail = r;
			g->head = back;
			g->first_ns = now_mono_ns();
			gcommit_deadline(&ts, g->first_ns + (uint64_t)
			    g->delay_ms * 1000000u);
			if (last > g->done_seq)
				g->done_seq = last;
			pthread_cond_broadcast(&g->done);
			pthread_cond_timedwait(&g->work, &g->mu, &ts);
			continue;
		}
		tries = 0;
		if (g->warned_ns != 0) {
			log_info("%s: the store took the records that waited "
			    "for it (after %llu tries)", g->what,
			    (unsigned long long)g->retries);
			g->warned_ns = 0;
			g->retries = 0;
		}
		if (last > g->done_seq)
			g->done_seq = last;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct gcommit *
gcommit_new(struct store *st, const char *what, int delay_ms, size_t max_rows,
    size_t max_bytes)
{
	struct gcommit *g = xcalloc(1, sizeof(*g));
	pthread_condattr_t ca;

	g->st = st;
	snprintf(g->what, sizeof(g->what), "%s", what);
	g->delay_ms = delay_ms > 0 ? delay_ms : 1;
	g->max_rows = max_rows > 0 ? max_rows : GCOMMIT_MAX_ROWS;
	g->max_bytes = max_bytes > 0 ? max_bytes : GCOMMIT_MAX_BYTES;
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->work, &ca);
	pthread_cond_init(&g->done, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, gcommit_main, g) != 0) {
		pthread_cond_destroy(&g->work);
		pthread_cond_destroy(&g->done);
		pthread_mutex_destroy(&g->mu);
		free(g);
		return NULL;
	}
	return g;
}

int
gcommit_put(struct gcommit *g, const char *table, const char *name,
    const void *val, size_t len, int64_t ord, int64_t exp)
{
	struct gcommit_row *r;

	if (strlen(table) > GCOMMIT_TABLE_MAX)
		return -1;
	r = xcalloc(1, sizeof(*r));
	snprintf(r->table, sizeof(r->table), "%s", table);
	r->name = xstrdup(name);
	r->val = xmalloc(len > 0 ? len : 1);
	memcpy(r->val, val, len);
	r->len = len;
	r->ord = ord;
	r->exp = exp;
	pthread_mutex_lock(&g->mu);
	if (g->stop || g->n >= g->max_rows || g->bytes + len > g->max_bytes) {
		g->refused++;
		pthread_mutex_unlock(&g->mu);
		gcommit_row_free(r);
		return -1;
	}
	r->seq = ++g->seq;
	if (g->tail != NULL)
		g->tail->next = r;
	else {
		g->head = r;
		g->first_ns = now_mono_ns();
	}
	g->tail = r;
	g->n++;
	g->bytes += len;
	/* Wake the writer for the first row (it starts the delay) and when
	 * half the bound is queued (commit early). */
	if (g->n == 1 || g->n == g->max_rows / 2)
		pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

void
gcommit_flush(struct gcommit *g)
{
	struct timespec ts;
	uint64_t target, until;

	if (g == NULL)
		return;
	until = now_mono_ns() + (uint64_t)GCOMMIT_FLUSH_WAIT_MS * 1000000u;
	gcommit_deadline(&ts, until);
	pthread_mutex_lock(&g->mu);
	target = g->seq;
	if (g->done_seq < target) {
		g->flush_req = 1;
		pthread_cond_signal(&g->work);
	}
	while (g->done_seq < target && now_mono_ns() < until)
		pthread_cond_timedwait(&g->done, &g->mu, &ts);
	if (g->done_seq < target)
		log_warnx("%s: records not yet committed after %d ms",
		    g->what, GCOMMIT_FLUSH_WAIT_MS);
	pthread_mutex_unlock(&g->mu);
}

void
gcommit_free(struct gcommit *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
	/* The writer commits what is queued before it exits. */
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->work);
	pthread_cond_destroy(&g->done);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

void
gcommit_stats(struct gcommit *g, struct gcommit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	st->queued = g->n;
	st->rows = g->rows;
	st->batches = g->batches;
	st->refused = g->refused;
	st->dropped = g->dropped;
	pthread_mutex_unlock(&g->mu);
}
