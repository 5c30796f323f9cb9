/*
 * mariadb_group.c: inserts-if-absent (backend.h put with
 * STORE_REV_ABSENT) that callers on several threads make at the same
 * time share one statement and one commit. What this is for: with shared
 * sessions every /attest spends its nonce by such an insert, each an
 * autocommit transaction, so MariaDB flushed its redo log (an fsync) for
 * nearly every attestation; waking the server's threads for each commit
 * and the flushes were the largest share of its CPU per guest flow.
 *
 * A flat combiner, without any added delay. A caller queues its insert;
 * when no batch is running it runs one itself (the leader): it takes up
 * to STORE_MARIADB_MANY queued inserts (and STORE_MARIADB_MANY_BYTES of
 * rows) from the front, its own first, sends them as one multi-row
 * INSERT (autocommit: all rows or none, one commit), and hands every
 * caller of the batch its result. Inserts queued meanwhile wait for the
 * next batch, led by the first of them, so a leader runs one batch and
 * no caller waits behind more than the batches queued before it.
 *
 * Each caller's result is exactly what its insert alone would have had:
 * when the multi-row statement inserted nothing because one row was
 * there already (ER_DUP_ENTRY: a spent nonce, or two callers of one row
 * in one batch), or failed otherwise, the batch's rows are inserted one
 * by one, each with its own outcome (STORE_OK, STORE_ABSENT, an error).
 * Only an unavailable database is everybody's answer: the statement may
 * or may not have committed, as for a single insert whose connection
 * was lost. When the batch waited at least half the store timeout for
 * that answer (a hanging database), the inserts queued behind it get
 * the same answer at once, as store/outage.c answers every operation
 * after such a wait, instead of waiting a timeout again batch after
 * batch. A lone insert goes as before, one single-row statement.
 */
#include <pthread.h>
#include <string.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "mariadb_int.h"

struct mariadb_group_req {
	struct mariadb_group_req *next;
	const char *table;
	const struct store_row *row;
	int rc;
	struct error err;
	int done;			/* rc and err are final */
	int lead;			/* this caller runs the next batch */
};

struct mariadb_group_batch {
	struct mariadb_group_req *req[STORE_MARIADB_MANY];
	size_t n;
	struct error hung;		/* mariadb_group_run returned 1: why */
};

void
mariadb_group_init(struct mariadb_group *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
}

void
mariadb_group_destroy(struct mariadb_group *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

/* One multi-row INSERT of the batch: STORE_OK (every row inserted),
 * STORE_ABSENT (a row was there: none inserted) or -1 (c->err_*). */
static int
mariadb_group_fn(struct store_mariadb *m, struct store_mariadb_conn *c,
    void *arg)
{
	struct mariadb_group_batch *b = arg;
	MYSQL_BIND bind[6 * STORE_MARIADB_MANY];
	MYSQL_STMT *stmt;
	size_t i;

	(void)m;
	if ((stmt = store_mariadb_many_prepare(c, &c->many_new[b->n], b->n,
	    "")) == NULL)
		return -1;
	for (i = 0; i < b->n; i++)
		mariadb_bind_row(&bind[6 * i], b->req[i]->table,
		    b->req[i]->row);
	if (mariadb_conn_exec(c, stmt, bind) == -1)
		return c->err_no == ER_DUP_ENTRY ? STORE_ABSENT : -1;
	return STORE_OK;
}

/* Run a batch (leader, without the group's lock): fill each rc/err.
 * Returns 1 (and b->hung) when the database was unavailable after a wait
 * of at least half the timeout. */
static int
mariadb_group_run(struct store_mariadb *m, struct mariadb_group_batch *b)
{
	uint64_t t0 = now_mono_ns();
	struct store_mariadb_call k = { "put into", b->req[0]->table, 0,
	    mariadb_group_fn, b };
	struct error err = { "" };
	size_t i;
	int rc;

	if (b->n > 1) {
		rc = mariadb_conn_run(m, &k, &err);
		if (rc == STORE_OK || rc == STORE_UNAVAILABLE) {
			for (i = 0; i < b->n; i++) {
				b->req[i]->rc = rc;
				b->req[i]->err = err;
			}
			goto out;
		}
	}
	/* One row, or the batch did not go in whole: one by one. */
	for (i = 0; i < b->n; i++)
		b->req[i]->rc = store_mariadb_put_one(m, b->req[i]->table,
		    b->req[i]->row, STORE_REV_ABSENT, NULL, &b->req[i]->err);
out:
	if (b->req[b->n - 1]->rc != STORE_UNAVAILABLE ||
	    now_mono_ns() - t0 < (uint64_t)m->timeout_ms * 500000u)
		return 0;
	b->hung = b->req[b->n - 1]->err;
	return 1;
}

int
mariadb_group_put_new(struct store_mariadb *m, const char *table,
    const struct store_row *row, struct error *err)
{
	struct mariadb_group *g = &m->group;
	struct mariadb_group_req r, *q;
	struct mariadb_group_batch b;
	size_t bytes;
	int hung;

	memset(&r, 0, sizeof(r));
	r.table = table;
	r.row = row;
	pthread_mutex_lock(&g->mu);
	if (g->tail != NULL)
		g->tail->next = &r;
	else
		g->head = &r;
	g->tail = &r;
	if (!g->busy) {
		g->busy = 1;
		r.lead = 1;
	}
	while (!r.done && !r.lead)
		pthread_cond_wait(&g->cv, &g->mu);
	if (!r.done) {
		/* The leader is the head of the queue. */
		b.n = 0;
		bytes = 0;
		while ((q = g->head) != NULL && b.n < STORE_MARIADB_MANY &&
		    (b.n == 0 || bytes + q->row->len <=
		    STORE_MARIADB_MANY_BYTES)) {
			b.req[b.n++] = q;
			bytes += q->row->len;
			g->head = q->next;
		}
		if (g->head == NULL)
			g->tail = NULL;
		pthread_mutex_unlock(&g->mu);

		hung = mariadb_group_run(m, &b);

		pthread_mutex_lock(&g->mu);
		while (b.n > 0)
			b.req[--b.n]->done = 1;
		/* A hanging database: what queued meanwhile fails at once. */
		while (hung && (q = g->head) != NULL) {
			q->rc = STORE_UNAVAILABLE;
			q->err = b.hung;
			q->done = 1;
			g->head = q->next;
		}
		if (g->head != NULL)
			g->head->lead = 1;
		else {
			g->tail = NULL;
			g->busy = 0;
		}
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	if (r.rc < 0)
		*err = r.err;
	return r.rc;
}
