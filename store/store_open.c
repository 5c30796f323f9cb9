/*
 * store_open.c: opening and closing the store (store.h): a handle on the
 * backend the DSN names (store_connect, which store_open and store_join
 * build on), the keys and this instance's row (store_open, through
 * master.c and instance.c), an embedded store opened with a known master
 * key (store_open_key: tests, fuzzers, benchmarks), and what a handle
 * reports about itself (store_info, store_ping) or is told to cache
 * (store_cache).
 *
 * Contracts: a handle caches rows (rowcache.c) only when it is the only
 * writer of an embedded database (exclusive SQLite) or has a lease
 * (lease.c, o->lease_ms); store_close stops the threads, wipes the keys,
 * frees whatever a failed open left, and takes NULL. The backends
 * compiled in are store_backends[] (store_backend_lookup).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_internal.h"

static struct store *
store_open_alloc(void)
{
	struct store *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->watch_mu, NULL);
	pthread_mutex_init(&st->thr_mu, NULL);
	pthread_mutex_init(&st->lease_mu, NULL);
	pthread_cond_init(&st->thr_cv, NULL);
	st->timeout_ms = STORE_DEFAULT_TIMEOUT_MS;
	st->poll_ms = STORE_DEFAULT_POLL_MS;
	snprintf(st->rot_state, sizeof(st->rot_state), "idle");
	return st;
}

int
store_connect(const struct store_options *o, struct store **out,
    struct error *err)
{
	struct store *st;
	struct store_dsn *dsn = NULL;
	const struct store_backend *be;
	char *text = NULL;
	int timeout = o->timeout_ms > 0 ? o->timeout_ms :
	    STORE_DEFAULT_TIMEOUT_MS;

	*out = NULL;
	if (sodium_init() < 0)
		return error_set(err, "store: libsodium failed to initialise");
	if (o->seal == NULL)
		return error_set(err, "store: no sealer configured");
	if (seal_lookup(o->seal->kind, err) == NULL)
		return error_prefix(err, "store: [sealer] kind");
	if (o->dsn == NULL && o->state_dir == NULL)
		return error_set(err, "store: neither a DSN nor a state "
		    "directory");
	if (o->dsn == NULL)
		text = xasprintf("sqlite:%s/trustee.db", o->state_dir);
	if (store_dsn_parse(o->dsn != NULL ? o->dsn : text, o->password_file,
	    timeout, &dsn, err) != 0) {
		free(text);
		return -1;
	}
	free(text);
	dsn->exclusive = o->exclusive;
	be = store_dsn_backend(dsn, err);
	if (be == NULL) {
		store_dsn_free(dsn);
		return -1;
	}
	st = store_open_alloc();
	st->be = be;
	st->dsn = dsn;
	st->timeout_ms = timeout;
	if (o->poll_ms > 0)
		st->poll_ms = o->poll_ms;
	snprintf(st->redacted, sizeof(st->redacted), "%s", dsn->redacted);
	if (be->open(dsn, &st->handle, err) != 0) {
		store_close(st);
		return -1;
	}
	/* Under its daemon lock the embedded store is the only writer of
	 * its database: what it read stays true until it writes. Others
	 * cache under a lease (lease.c). */
	if (dsn->exclusive && strcmp(be->name, "sqlite") == 0)
		st->cache = rowcache_new(0);
	else if (o->lease_ms > 0)
		lease_init(st, o->lease_ms);
	*out = st;
	return 0;
}

struct store *
store_open(const struct store_options *o, struct error *err)
{
	struct store *st;

	if (store_connect(o, &st, err) != 0)
		return NULL;
	if (master_open(st, o, err) != 0 ||
	    instance_heartbeat(st, err) < 0 ||
	    (o->background && watch_start(st, err) != 0)) {
		store_close(st);
		return NULL;
	}
	return st;
}

struct store *
store_open_key(const struct store_backend *backend, const char *path,
    const uint8_t master_key[32], struct error *err)
{
	struct store *st;
	struct store_dsn dsn = { .scheme = "sqlite", .path = path,
	    .timeout_ms = STORE_DEFAULT_TIMEOUT_MS, .redacted = path };

	if (backend == NULL) {
		error_set(err, "store: no storage backend");
		return NULL;
	}
	if (sodium_init() < 0) {
		error_set(err, "store: libsodium failed to initialise");
		return NULL;
	}
	st = store_open_alloc();
	st->be = backend;
	snprintf(st->redacted, sizeof(st->redacted), "%s",
	    path != NULL ? path : "");
	if (backend->open(&dsn, &st->handle, err) != 0 ||
	    keyring_init(&st->kr, master_key, err) != 0 ||
	    master_check(st, 1, err) != 0 ||
	    keyring_refresh(st, err) != 0) {
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	struct store_watch *w, *next;

	if (st == NULL)
		return;
	watch_stop(st);
	if (st->handle != NULL)
		st->be->close(st->handle);
	keyring_free(&st->kr);
	rowcache_free(st->cache);
	for (w = st->watches; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	free(st->sealed);
	store_dsn_free(st->dsn);
	pthread_mutex_destroy(&st->watch_mu);
	pthread_mutex_destroy(&st->thr_mu);
	pthread_mutex_destroy(&st->lease_mu);
	pthread_cond_destroy(&st->thr_cv);
	free(st);
}

void
store_info(struct store *st, struct store_info *out)
{
	memset(out, 0, sizeof(*out));
	out->backend = st->be->name;
	snprintf(out->dsn, sizeof(out->dsn), "%s", st->redacted);
	snprintf(out->sealer, sizeof(out->sealer), "%s", st->sealer_desc);
	out->insecure_sealer = st->sealer_insecure;
	if (st->has_instance)
		instance_id_hex(st->instance, out->instance);
	out->key_version = keyring_current(&st->kr);
	out->key_oldest = keyring_floor(&st->kr);
	out->cache = st->cache != NULL;
	rowcache_stats(st->cache, &out->cache_hits, &out->cache_misses,
	    &out->cache_bytes);
	out->lease_waits = atomic_load(&st->lease_waits);
}

int
store_cache(struct store *st, const char *table, struct error *err)
{
	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	if (st->cache != NULL && rowcache_add(st->cache, table) < 0)
		return error_set(err, "store: more than %d cached tables",
		    ROWCACHE_TABLES);
	return 0;
}

int
store_lease_poll(struct store *st)
{
	return lease_poll(st, 1);
}

void
store_lease_release(struct store *st)
{
	lease_release(st);
}

int
store_ping(struct store *st, struct error *err)
{
	uint64_t n;
	int64_t ot0;
	int rc;

	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	rc = st->be->gen_get(st->handle, STORE_KEYS_TABLE, &n, err);
	outage_note(st, rc, ot0);
	return rc;
}

/* Every backend compiled in. */
static const struct store_backend *const store_backends[] = {
	&store_backend_sqlite,
	&store_backend_mariadb,
};

const struct store_backend *
store_backend_lookup(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	}
	return NULL;
}
