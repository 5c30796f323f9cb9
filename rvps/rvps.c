/*
 * rvps.c: the reference value store (see rvps.h for the model): its
 * state, the in-memory copy behind rvps_query (loaded from table "rv",
 * reloaded lazily), lifecycle and the reads rvps_get and rvps_list.
 * Checks are in rvps_check.c, records and rows in rvps_record.c, writes
 * in rvps_write.c, the history in rvps_history.c, the register envelope
 * in rvps_register.c; what they share is in rvps_internal.h.
 *
 * Locking: rvps_g.wlock serializes every writer and every reload (so a
 * reload never drops a write made while it scanned the store); it is
 * taken before rvps_g.lock, which guards the in-memory copy for readers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "rvps.h"
#include "rvps_internal.h"

struct rvps_state rvps_g = {
	.lock = PTHREAD_RWLOCK_INITIALIZER,
	.wlock = PTHREAD_MUTEX_INITIALIZER,
};

int
rvps_need_store(struct error *err)
{
	if (rvps_g.st == NULL)
		return error_set(err, "reference values: the store is not "
		    "open (rvps_init was not called)");
	return 0;
}

/*
 * A write reads the current record to make the next version: across the
 * instances sharing the store it runs under the store lock RVPS_LOCK (in
 * this process wlock already orders the threads). 0 with the lock held,
 * or -1 (err set: another instance held it past the store timeout, or
 * the database is away).
 */
int
rvps_store_lock(struct error *err)
{
	return store_lock(rvps_g.st, RVPS_LOCK, err) == STORE_OK ? 0 : -1;
}

/* ------------------------------------------------------ in-memory copy */

static int
rvps_cmp_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "name")),
	    json_string_value(json_object_get(y, "name")));
}

/* Sort the records of array arr in place with cmp. */
void
rvps_sort(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t i, n = json_array_size(arr);
	json_t **v;

	if (n < 2)
		return;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

struct rvps_load_ctx {
	json_t *cache;
	json_t *records;	/* or NULL */
	int64_t now;
	struct error *err;
	int failed;
};

static int
rvps_load_row(const char *row, const uint8_t *val, size_t len, void *arg)
{
	struct rvps_load_ctx *c = arg;
	struct rvps_rec r;
	char esc[RVPS_ESC];
	json_t *rec;

	if (rvps_record_decode(RVPS_TABLE, row, val, len, &rec, &r,
	    c->err) == -1) {
		c->failed = 1;
		return 1;
	}
	if (strcmp(r.name, row) != 0) {
		error_set(c->err, "reference values: stored row '%s' holds "
		    "the record of another name", log_escape(row, esc,
		    sizeof(esc)));
		json_decref(rec);
		c->failed = 1;
		return 1;
	}
	json_object_set_new(c->cache, row, rvps_record_cache_entry(&r));
	if (c->records != NULL)
		json_array_append_new(c->records, rvps_record_out(rec,
		    rvps_record_state(&r, c->now)));
	json_decref(rec);
	return 0;
}

/* Scan table "rv" into a fresh in-memory copy (and *records, sorted, if
 * not NULL). The caller holds wlock. */
static int
rvps_load(int64_t now, json_t **records, struct error *err)
{
	struct rvps_load_ctx c = { json_object(), NULL, now, err, 0 };
	json_t *old;

	if (records != NULL)
		c.records = json_array();
	if (store_list(rvps_g.st, RVPS_TABLE, rvps_load_row, &c, err) < 0 ||
	    c.failed) {
		json_decref(c.cache);
		json_decref(c.records);
		return -1;
	}
	pthread_rwlock_wrlock(&rvps_g.lock);
	old = rvps_g.cache;
	rvps_g.cache = c.cache;
	rvps_g.loaded_ns = now_mono_ns();
	pthread_rwlock_unlock(&rvps_g.lock);
	json_decref(old);
	if (records != NULL) {
		rvps_sort(c.records, rvps_cmp_name);
		*records = c.records;
	}
	return 0;
}

/* Put (entry != NULL; consumed) or drop one name in the in-memory copy. */
void
rvps_cache_set(const char *name, json_t *entry)
{
	pthread_rwlock_wrlock(&rvps_g.lock);
	if (rvps_g.cache != NULL) {
		if (entry != NULL)
			json_object_set(rvps_g.cache, name, entry);
		else
			json_object_del(rvps_g.cache, name);
	}
	pthread_rwlock_unlock(&rvps_g.lock);
	json_decref(entry);
}

/* rvps_query's lazy reload: one thread reloads, the others go on with
 * the copy they have. A failure keeps the old copy (logged) until the
 * next interval. */
static void
rvps_refresh_if_stale(void)
{
	uint64_t now = now_mono_ns(), age = 0;
	struct error err = { "" };
	int stale;

	pthread_rwlock_rdlock(&rvps_g.lock);
	stale = rvps_g.cache != NULL && rvps_g.st != NULL;
	if (stale)
		age = now - rvps_g.loaded_ns;
	pthread_rwlock_unlock(&rvps_g.lock);
	if (!stale || age < (uint64_t)RVPS_REFRESH_S * 1000000000ull ||
	    pthread_mutex_trylock(&rvps_g.wlock) != 0)
		return;
	pthread_rwlock_rdlock(&rvps_g.lock);
	stale = rvps_g.cache != NULL && now_mono_ns() - rvps_g.loaded_ns >=
	    (uint64_t)RVPS_REFRESH_S * 1000000000ull;
	pthread_rwlock_unlock(&rvps_g.lock);
	if (stale && rvps_load(0, NULL, &err) == -1) {
		log_warnx("%s (keeping the values loaded before)", err.msg);
		pthread_rwlock_wrlock(&rvps_g.lock);
		rvps_g.loaded_ns = now_mono_ns();
		pthread_rwlock_unlock(&rvps_g.lock);
	}
	pthread_mutex_unlock(&rvps_g.wlock);
}

/* -------------------------------------------------------------- lifecycle */

/* Another instance wrote reference values (store_watch, on the store's
 * poller thread): make the copy stale, so the next query reloads it. */
static void
rvps_on_change(const char *table, void *arg)
{
	(void)table;
	(void)arg;
	pthread_rwlock_wrlock(&rvps_g.lock);
	rvps_g.loaded_ns = 0;
	pthread_rwlock_unlock(&rvps_g.lock);
}

int
rvps_init(struct store *st, struct error *err)
{
	int rc;

	if (st == NULL)
		return error_set(err, "reference values: no store");
	if (store_watch(st, RVPS_TABLE, rvps_on_change, NULL, err) != 0)
		return error_prefix(err, "reference values");
	pthread_mutex_lock(&rvps_g.wlock);
	pthread_rwlock_wrlock(&rvps_g.lock);
	rvps_g.st = st;
	pthread_rwlock_unlock(&rvps_g.lock);
	rc = rvps_load(0, NULL, err);
	if (rc == -1) {
		pthread_rwlock_wrlock(&rvps_g.lock);
		rvps_g.st = NULL;
		pthread_rwlock_unlock(&rvps_g.lock);
	}
	pthread_mutex_unlock(&rvps_g.wlock);
	return rc;
}

void
rvps_shutdown(void)
{
	json_t *old;

	pthread_mutex_lock(&rvps_g.wlock);
	pthread_rwlock_wrlock(&rvps_g.lock);
	old = rvps_g.cache;
	rvps_g.cache = NULL;
	rvps_g.st = NULL;
	pthread_rwlock_unlock(&rvps_g.lock);
	pthread_mutex_unlock(&rvps_g.wlock);
	json_decref(old);
}

int
rvps_reload(struct error *err)
{
	int rc;

	pthread_mutex_lock(&rvps_g.wlock);
	rc = rvps_need_store(err);
	if (rc == 0)
		rc = rvps_load(0, NULL, err);
	pthread_mutex_unlock(&rvps_g.wlock);
	return rc;
}

/* ------------------------------------------------------------------ reads */

json_t *
rvps_query(const char *name, int64_t now)
{
	json_t *e, *out = NULL;

	if (name == NULL)
		return NULL;
	rvps_refresh_if_stale();
	pthread_rwlock_rdlock(&rvps_g.lock);
	if (rvps_g.cache != NULL &&
	    (e = json_object_get(rvps_g.cache, name)) != NULL &&
	    !json_is_true(json_object_get(e, "r")) &&
	    now < json_integer_value(json_object_get(e, "e")))
		out = json_deep_copy(json_object_get(e, "v"));
	pthread_rwlock_unlock(&rvps_g.lock);
	return out;
}

int
rvps_get(const char *name, int64_t now, json_t **record, struct error *err)
{
	struct rvps_rec r;
	json_t *rec;
	int rc;

	*record = NULL;
	if (rvps_check_name(name, err) == -1 || rvps_need_store(err) == -1)
		return -1;
	rc = rvps_record_get(RVPS_TABLE, name, &rec, &r, err);
	if (rc != 0)
		return rc;
	*record = rvps_record_out(rec, rvps_record_state(&r, now));
	json_decref(rec);
	return 0;
}

int
rvps_list(int64_t now, json_t **records, struct error *err)
{
	int rc;

	*records = NULL;
	pthread_mutex_lock(&rvps_g.wlock);
	rc = rvps_need_store(err);
	if (rc == 0)
		rc = rvps_load(now, records, err);
	pthread_mutex_unlock(&rvps_g.wlock);
	return rc;
}
