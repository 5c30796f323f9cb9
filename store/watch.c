/*
 * watch.c: following what other instances write, and this instance's
 * heartbeat. One poller thread per store (with options.background) runs
 * every poll_ms:
 *   - for each watched table, read its generation (backend gen_get); a
 *     change not explained by this handle's own writes calls the watch's
 *     callback;
 *   - the generation of _keys: a change (a rotation on any instance)
 *     reloads the data-key versions at once;
 *   - every HEARTBEAT_POLLS polls, or at once when the loaded key version
 *     changed, rewrite this instance's _instances row (last seen, highest
 *     version loaded): rotation drops an old version only when every live
 *     instance reports the new one.
 *
 * Writers bump the generation of a watched table after a successful write
 * (store.c calls watch_wrote). Own writes are told apart by counting them:
 * the count goes up before the bump reaches the database, so a poll can
 * credit a bump still in flight to this handle and miss a foreign one for
 * that round; the next poll then sees it. A foreign write is therefore
 * seen within two poll intervals, never missed; an own write may cause
 * one extra callback, which is harmless (callbacks only mark caches
 * stale).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/log.h"
#include "store_internal.h"

#define HEARTBEAT_POLLS	5

int
store_watch(struct store *st, const char *table, store_watch_cb cb, void *arg,
    struct error *err)
{
	struct store_watch *w;

	if (store_table_check(table, 0, err) != 0)
		return STORE_ERROR;
	w = xcalloc(1, sizeof(*w));
	snprintf(w->table, sizeof(w->table), "%s", table);
	w->cb = cb;
	w->arg = arg;
	if (st->be->gen_get(st->handle, table, &w->seen_gen, err) < 0) {
		free(w);
		return STORE_ERROR;
	}
	pthread_mutex_lock(&st->watch_mu);
	w->next = st->watches;
	st->watches = w;
	pthread_mutex_unlock(&st->watch_mu);
	return 0;
}

static struct store_watch *
watch_find(struct store *st, const char *table)
{
	struct store_watch *w;

	pthread_mutex_lock(&st->watch_mu);
	for (w = st->watches; w != NULL; w = w->next)
		if (strcmp(w->table, table) == 0)
			break;
	pthread_mutex_unlock(&st->watch_mu);
	return w;
}

int
watch_wrote(struct store *st, const char *table)
{
	struct store_watch *w = watch_find(st, table);
	struct error err;

	if (w == NULL)
		return 0;
	__atomic_add_fetch(&w->own_bumps, 1, __ATOMIC_SEQ_CST);
	if (st->be->gen_bump(st->handle, table, &err) < 0) {
		__atomic_sub_fetch(&w->own_bumps, 1, __ATOMIC_SEQ_CST);
		log_warnx("store: %s: other instances will see the change to "
		    "'%s' late: %s", st->redacted, table, err.msg);
		return -1;
	}
	return 1;
}

void
store_poll(struct store *st)
{
	struct store_watch *w, *head;
	struct error err;
	uint64_t g, own;
	int64_t now;
	int rc;

	pthread_mutex_lock(&st->watch_mu);
	head = st->watches;	/* entries are never freed before close */
	pthread_mutex_unlock(&st->watch_mu);
	for (w = head; w != NULL; w = w->next) {
		if (st->be->gen_get(st->handle, w->table, &g, &err) < 0)
			continue;
		own = __atomic_load_n(&w->own_bumps, __ATOMIC_SEQ_CST);
		if (g != w->seen_gen && g - w->seen_gen > own - w->seen_own) {
			w->seen_gen = g;
			w->seen_own = own;
			w->cb(w->table, w->arg);
		} else {
			w->seen_gen = g;
			w->seen_own = own;
		}
	}
	/* This read also tells outage.c when the database answers again. */
	rc = st->be->gen_get(st->handle, STORE_KEYS_TABLE, &g, &err);
	outage_note(st, rc, -1);
	if (rc == 0 && g != st->keys_gen) {
		if (keyring_refresh(st, &err) != 0)
			log_warnx("store: reloading data keys: %s", err.msg);
		else
			st->keys_gen = g;
		watch_kick(st);
	}
	now = store_mono_ms();
	if (st->has_instance && (keyring_current(&st->kr) !=
	    st->heartbeat_loaded || now - st->heartbeat_ms >=
	    (int64_t)st->poll_ms * HEARTBEAT_POLLS)) {
		if (instance_heartbeat(st, &err) < 0) {
			static struct log_limit lim;

			log_warnx_limited(&lim, 60, "store: heartbeat: %s",
			    err.msg);
		}
	}
}

/* Wait on thr_cv for ms or until kicked / stopping; thr_mu held. */
static void
watch_wait(struct store *st, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&st->thr_cv, &st->thr_mu, &ts);
}

static void *
watch_thread(void *arg)
{
	struct store *st = arg;

	pthread_mutex_lock(&st->thr_mu);
	while (!st->stopping) {
		pthread_mutex_unlock(&st->thr_mu);
		store_poll(st);
		pthread_mutex_lock(&st->thr_mu);
		if (!st->stopping)
			watch_wait(st, st->poll_ms);
	}
	pthread_mutex_unlock(&st->thr_mu);
	return NULL;
}

void *
rotate_thread(void *arg)
{
	struct store *st = arg;
	struct error err;
	int done = 1, rc;

	pthread_mutex_lock(&st->thr_mu);
	while (!st->stopping) {
		pthread_mutex_unlock(&st->thr_mu);
		rc = store_rotate_step(st, 256, &done, &err);
		if (rc < 0)
			log_warnx("store: key rotation: %s", err.msg);
		pthread_mutex_lock(&st->thr_mu);
		if (st->stopping)
			break;
		/* Between batches a short pause lets requests through; when
		 * idle or waiting, the poll interval (or a kick). */
		watch_wait(st, rc == 0 && !done && strcmp(st->rot_state,
		    "rotating") == 0 ? 5 : st->poll_ms);
	}
	pthread_mutex_unlock(&st->thr_mu);
	return NULL;
}

void
watch_kick(struct store *st)
{
	pthread_mutex_lock(&st->thr_mu);
	pthread_cond_broadcast(&st->thr_cv);
	pthread_mutex_unlock(&st->thr_mu);
}

int
watch_start(struct store *st, struct error *err)
{
	int rc;

	if (st->be->gen_get(st->handle, STORE_KEYS_TABLE, &st->keys_gen,
	    err) < 0)
		return -1;
	rc = pthread_create(&st->poller, NULL, watch_thread, st);
	if (rc != 0)
		return error_set(err, "store: cannot start the poller: %s",
		    strerror(rc));
	st->poller_up = 1;
	rc = pthread_create(&st->rotator, NULL, rotate_thread, st);
	if (rc != 0)
		return error_set(err, "store: cannot start the rotation "
		    "worker: %s", strerror(rc));
	st->rotator_up = 1;
	return lease_start(st, err);
}

void
watch_stop(struct store *st)
{
	pthread_mutex_lock(&st->thr_mu);
	st->stopping = 1;
	pthread_cond_broadcast(&st->thr_cv);
	pthread_mutex_unlock(&st->thr_mu);
	if (st->poller_up)
		pthread_join(st->poller, NULL);
	if (st->rotator_up)
		pthread_join(st->rotator, NULL);
	if (st->leaser_up)
		pthread_join(st->leaser, NULL);
	lease_release(st);
	st->poller_up = st->rotator_up = st->leaser_up = 0;
}
