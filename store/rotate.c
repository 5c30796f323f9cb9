/*
 * rotate.c: online rotation of the data key.
 *
 * store_rotate creates version N+1 (random, wrapped into _keys under the
 * wrap key; insert-only, under the named lock "rotate", so two concurrent
 * requests on two instances give one new version) and bumps _keys'
 * generation; this instance uses it for new writes at once, the others
 * within a poll interval (watch.c), or at once when they meet a row
 * sealed under it (store.c).
 *
 * The rotation worker (store_rotate_step, on the store's rotation thread
 * of whichever instance holds the "rotate" lock) then walks every row with
 * kv < N+1 in (table, ord, id) order, in batches, and re-seals each under
 * N+1 with a compare-and-swap on its revision: a request that rewrote the
 * row meanwhile wins, and its row is left alone (it carries the new
 * version, or is met again in the next pass). Requests never wait for the
 * worker: each re-seal is one ordinary row write.
 *
 * When a pass finds nothing left under older versions, the old versions
 * are dropped only once
 *   1. every live instance (a heartbeat within instance_live_seconds)
 *      reports in _instances that it has loaded N+1, so none can still be
 *      writing under an old version, and
 *   2. the count is still zero after a grace period of timeout_ms +
 *      poll_ms (a write sealed just before the instance loaded N+1 has
 *      landed or failed by then).
 * Dropping writes the floor row (the lowest version kept) first and then
 * deletes the old versions' _keys rows; version 1, derived from K_m, has
 * no row: the floor retires it. A row that cannot be re-sealed because it
 * fails authentication keeps its version alive: `key status` says how many
 * and `store check` names them; deleting or rewriting them lets the
 * rotation finish.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define ROTATE_LOCK	"rotate"

static void
rotate_set_state(struct store *st, const char *state, const char *fmt, ...)
    ATTR_PRINTF(3, 4);

static void
rotate_set_state(struct store *st, const char *state, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st->thr_mu);
	snprintf(st->rot_state, sizeof(st->rot_state), "%s", state);
	va_start(ap, fmt);
	vsnprintf(st->rot_detail, sizeof(st->rot_detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&st->thr_mu);
}

int
store_rotate(struct store *st, uint32_t *version, struct error *err)
{
	struct store_row row;
	uint64_t left = 0;
	uint8_t key[32], *blob;
	size_t len;
	uint32_t cur, floor;
	struct store_key_status ks;
	size_t i;
	int rc;

	*version = 0;
	if (keyring_refresh(st, err) != 0)
		return STORE_ERROR;
	rc = st->be->lock(st->handle, ROTATE_LOCK, st->timeout_ms, err);
	if (rc < 0)
		return rc;
	if (rc == STORE_ABSENT)
		return error_set(err, "store: another instance is working on "
		    "the data keys; try again");
	cur = keyring_current(&st->kr);
	floor = keyring_floor(&st->kr);
	if (cur != floor) {
		st->be->unlock(st->handle, ROTATE_LOCK);
		if (store_key_status(st, &ks, err) == 0)
			for (i = 0; i < ks.nversions; i++)
				if (ks.versions[i].version < cur)
					left += ks.versions[i].rows;
		return error_set(err, "store: the rotation to data key version "
		    "%" PRIu32 " is still in progress (%" PRIu64 " rows under "
		    "older versions); rotate again when `key status` shows it "
		    "idle", cur, left);
	}
	randombytes_buf(key, sizeof(key));
	datakey_wrap(st->kr.m, cur + 1, key, &blob, &len);
	sodium_memzero(key, sizeof(key));
	memset(&row, 0, sizeof(row));
	datakey_row_id(cur + 1, row.id);
	row.ord = store_now_ms();
	row.blob = blob;
	row.len = len;
	rc = st->be->put(st->handle, STORE_KEYS_TABLE, &row, STORE_REV_ABSENT,
	    NULL, err);
	free(blob);
	if (rc == STORE_OK && st->be->gen_bump(st->handle, STORE_KEYS_TABLE,
	    err) < 0)
		log_warnx("store: other instances will load the new key "
		    "version late: %s", err->msg);
	st->be->unlock(st->handle, ROTATE_LOCK);
	if (rc < 0)
		return rc;
	/* rc == STORE_ABSENT: another instance created it just now. */
	if (keyring_refresh(st, err) != 0)
		return STORE_ERROR;
	*version = keyring_current(&st->kr);
	if (instance_heartbeat(st, err) < 0)
		log_warnx("store: heartbeat: %s", err->msg);
	log_info("store: data key version %" PRIu32 " created; rows under "
	    "older versions are being re-sealed in the background", *version);
	rotate_set_state(st, "rotating", "re-sealing rows under versions "
	    "below %" PRIu32, *version);
	watch_kick(st);
	return 0;
}

static void
rotate_drain(struct store *st, int64_t since)
{
	pthread_mutex_lock(&st->thr_mu);
	st->rot_drain_since = since;
	pthread_mutex_unlock(&st->thr_mu);
}

/* One batch of re-sealing. */
struct rotate_ctx {
	struct store *st;
	size_t seen;
	size_t resealed;
	size_t unreadable;
	int failed;
	char table[STORE_TABLE_MAX + 1];
	int64_t ord;
	uint8_t id[STORE_ID_LEN];
	struct error *err;
};

static int
rotate_row(const char *table, const struct store_row *row, void *arg)
{
	struct rotate_ctx *c = arg;
	struct store *st = c->st;
	struct error rerr;
	uint8_t *val = NULL;
	char *name = NULL;
	size_t vlen = 0;
	int rc;

	c->seen++;
	snprintf(c->table, sizeof(c->table), "%s", table);
	c->ord = row->ord;
	memcpy(c->id, row->id, STORE_ID_LEN);
	if (table[0] == '_' || row->kv == 0)
		return 0;	/* the store's own rows carry no version */
	rc = store_open_row(st, table, row, NULL, &name, &val, &vlen, &rerr);
	if (rc != 0) {
		c->unreadable++;
		return 0;
	}
	rc = store_seal_put(st, table, row->id, name, strlen(name), val,
	    vlen, row->ord, row->exp, row->rev, NULL, &rerr);
	secret_free(val, vlen);
	secret_strfree(name);
	if (rc == STORE_OK)
		c->resealed++;
	else if (rc < 0) {
		error_set(c->err, "%s", rerr.msg);
		c->failed = rc;
		return 1;
	}
	/* rc == STORE_ABSENT: rewritten meanwhile, left alone. */
	return 0;
}

/* Rows under versions in [1, cur). */
static int
rotate_left(struct store *st, uint32_t cur, uint64_t *left, struct error *err)
{
	struct store_kv_count counts[STORE_KEY_VERSIONS_MAX + 1];
	size_t n = 0, i;
	int rc;

	*left = 0;
	rc = st->be->count(st->handle, NULL, counts, ARRAY_SIZE(counts), &n,
	    err);
	for (i = 0; rc == STORE_OK && i < n; i++)
		if (counts[i].kv != 0 && counts[i].kv < cur)
			*left += counts[i].rows;
	return rc;
}

/* Do all live instances report version cur? Names one that does not. */
static int
rotate_instances_ready(struct store *st, uint32_t cur, char *who, size_t cap,
    struct error *err)
{
	struct store_key_status ks;
	size_t i;
	int rc;

	rc = store_key_status(st, &ks, err);
	if (rc != 0)
		return rc;
	for (i = 0; i < ks.ninstances; i++) {
		if (ks.instances[i].live && ks.instances[i].loaded < cur) {
			snprintf(who, cap, "%s", ks.instances[i].id);
			return 1;
		}
	}
	return 0;
}

/* Retire every version below cur. */
static int
rotate_drop(struct store *st, uint32_t floor, uint32_t cur, struct error *err)
{
	struct store_row row;
	uint8_t *blob;
	size_t len;
	uint32_t v;
	int rc;

	datakey_floor_wrap(st->kr.m, cur, &blob, &len);
	memset(&row, 0, sizeof(row));
	datakey_floor_row_id(row.id);
	row.blob = blob;
	row.len = len;
	rc = st->be->put(st->handle, STORE_KEYS_TABLE, &row, STORE_REV_ANY,
	    NULL, err);
	free(blob);
	if (rc != STORE_OK)
		return rc;
	for (v = floor < 2 ? 2 : floor; v < cur; v++) {
		datakey_row_id(v, row.id);
		if (st->be->del(st->handle, STORE_KEYS_TABLE, row.id,
		    STORE_REV_ANY, err) < 0)
			log_warnx("store: deleting data key version %" PRIu32
			    ": %s", v, err->msg);
	}
	if (st->be->gen_bump(st->handle, STORE_KEYS_TABLE, err) < 0)
		log_warnx("store: %s", err->msg);
	if (keyring_refresh(st, err) != 0)
		return STORE_ERROR;
	log_info("store: data key versions %" PRIu32 "..%" PRIu32 " dropped: "
	    "every row is sealed under version %" PRIu32, floor, cur - 1, cur);
	return 0;
}

int
store_rotate_step(struct store *st, size_t max_rows, int *done,
    struct error *err)
{
	struct rotate_ctx c;
	struct store_scan q;
	uint32_t cur, floor;
	uint64_t left;
	char who[40];
	int rc, drain;
	int64_t drain_since;

	*done = 0;
	cur = keyring_current(&st->kr);
	floor = keyring_floor(&st->kr);
	if (cur <= floor) {
		*done = 1;
		rotate_set_state(st, "idle", "%s", "");
		return 0;
	}
	rc = st->be->lock(st->handle, ROTATE_LOCK, 0, err);
	if (rc < 0)
		return rc;
	if (rc == STORE_ABSENT) {
		rotate_set_state(st, "rotating", "another instance holds the "
		    "rotation lock");
		return 0;
	}
	memset(&q, 0, sizeof(q));
	q.kv_below = cur;
	q.limit = max_rows;
	pthread_mutex_lock(&st->thr_mu);
	if (!st->rot_have_cursor)
		st->rot_pass_unreadable = 0;
	else {
		q.have_after = 1;
		snprintf(q.after_table, sizeof(q.after_table), "%s",
		    st->rot_table);
		q.after_ord = st->rot_ord;
		memcpy(q.after_id, st->rot_id, STORE_ID_LEN);
	}
	pthread_mutex_unlock(&st->thr_mu);
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.err = err;
	rc = st->be->scan(st->handle, NULL, &q, rotate_row, &c, err);
	if (rc == STORE_OK && c.failed)
		rc = c.failed;
	if (rc != STORE_OK)
		goto out;
	pthread_mutex_lock(&st->thr_mu);
	if (c.seen == max_rows) {
		/* More to come: continue after the last row seen. */
		st->rot_have_cursor = 1;
		snprintf(st->rot_table, sizeof(st->rot_table), "%s", c.table);
		st->rot_ord = c.ord;
		memcpy(st->rot_id, c.id, STORE_ID_LEN);
		st->rot_pass_unreadable += c.unreadable;
		pthread_mutex_unlock(&st->thr_mu);
		rotate_set_state(st, "rotating", "re-sealing rows under "
		    "versions below %" PRIu32, cur);
		goto out;
	}
	/* End of a pass. */
	st->rot_have_cursor = 0;
	st->rot_unreadable = st->rot_pass_unreadable + c.unreadable;
	drain_since = st->rot_drain_since;
	pthread_mutex_unlock(&st->thr_mu);
	rc = rotate_left(st, cur, &left, err);
	if (rc != STORE_OK)
		goto out;
	if (left > 0) {
		rotate_drain(st, 0);
		pthread_mutex_lock(&st->thr_mu);
		drain = left <= st->rot_unreadable;
		pthread_mutex_unlock(&st->thr_mu);
		if (drain)
			rotate_set_state(st, "rotating", "%" PRIu64 " row(s) "
			    "under older versions fail authentication and "
			    "cannot be re-sealed: see `trusteectl store "
			    "check`", left);
		else
			rotate_set_state(st, "rotating", "%" PRIu64 " row(s) "
			    "left under versions below %" PRIu32, left, cur);
		goto out;
	}
	rc = rotate_instances_ready(st, cur, who, sizeof(who), err);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rotate_drain(st, 0);
		rotate_set_state(st, "waiting", "instance %s has not loaded "
		    "version %" PRIu32 " yet", who, cur);
		rc = 0;
		goto out;
	}
	if (drain_since == 0) {
		rotate_drain(st, store_mono_ms());
		rotate_set_state(st, "draining", "no rows left under older "
		    "versions; dropping them after a grace period");
		goto out;
	}
	if (store_mono_ms() - drain_since < (int64_t)st->timeout_ms +
	    st->poll_ms) {
		rotate_set_state(st, "draining", "no rows left under older "
		    "versions; dropping them after a grace period");
		goto out;
	}
	rotate_drain(st, 0);
	rc = rotate_drop(st, floor, cur, err);
	if (rc == 0) {
		*done = 1;
		rotate_set_state(st, "idle", "%s", "");
	}
out:
	st->be->unlock(st->handle, ROTATE_LOCK);
	return rc;
}
