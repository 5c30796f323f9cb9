/*
 * keystatus.c: store_key_status (store.h), the report behind `trusteectl
 * key status`: the current and the oldest data-key version (keyring.c),
 * the rows under each version (the backend's counts by kv, without the
 * store's own rows, kv 0), every _instances row that authenticates
 * (instance.c; one that does not is left to store check) and the state
 * of rotation (rotate.c, under thr_mu). It only reads; no key material
 * leaves the keyring.
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* One scan of _instances into out. */
struct keystatus_ctx {
	struct store *st;
	struct store_key_status *out;
	int64_t now;
	int64_t live_s;
};

static int
keystatus_instance(const char *table, const struct store_row *row, void *arg)
{
	struct keystatus_ctx *c = arg;
	struct store_key_status *o = c->out;
	struct instance_row in;
	struct error err;
	size_t i;

	(void)table;
	if (o->ninstances == STORE_INSTANCES_MAX)
		return 1;
	if (instance_parse(row->blob, row->len, &in, &err) != 0 ||
	    instance_verify(c->st->kr.m, row->blob, &in, &err) != 0)
		return 0;	/* store check reports it */
	i = o->ninstances++;
	instance_id_hex(in.id, o->instances[i].id);
	snprintf(o->instances[i].sealer, sizeof(o->instances[i].sealer), "%s",
	    in.desc);
	o->instances[i].created = in.created;
	o->instances[i].last_seen = in.last_seen;
	o->instances[i].loaded = in.loaded;
	o->instances[i].live = c->now - in.last_seen <= c->live_s;
	o->instances[i].self = c->st->has_instance &&
	    memcmp(in.id, c->st->instance, STORE_INSTANCE_ID_LEN) == 0;
	return 0;
}

int
store_key_status(struct store *st, struct store_key_status *out,
    struct error *err)
{
	struct store_kv_count counts[STORE_KEY_VERSIONS_MAX + 1];
	struct keystatus_ctx c = { st, out, store_now_ms() / 1000,
	    instance_live_seconds(st) };
	struct store_scan all = { 0 };
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->current = keyring_current(&st->kr);
	out->oldest = keyring_floor(&st->kr);
	rc = st->be->count(st->handle, NULL, counts, ARRAY_SIZE(counts), &n,
	    err);
	if (rc != STORE_OK)
		return rc;
	for (i = 0; i < n && out->nversions < STORE_KEY_VERSIONS_MAX; i++) {
		if (counts[i].kv == 0)
			continue;	/* the store's own rows */
		out->versions[out->nversions].version = counts[i].kv;
		out->versions[out->nversions].rows = counts[i].rows;
		out->nversions++;
	}
	rc = st->be->scan(st->handle, STORE_INSTANCES_TABLE, &all,
	    keystatus_instance, &c, err);
	if (rc != STORE_OK)
		return rc;
	pthread_mutex_lock(&st->thr_mu);
	out->unreadable = st->rot_unreadable;
	snprintf(out->detail, sizeof(out->detail), "%s", st->rot_detail);
	out->state = out->current == out->oldest ? "idle" :
	    strcmp(st->rot_state, "waiting") == 0 ? "waiting for instances" :
	    strcmp(st->rot_state, "draining") == 0 ? "draining" : "rotating";
	pthread_mutex_unlock(&st->thr_mu);
	return 0;
}
