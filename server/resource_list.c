/*
 * resource_list.c: the ordered name index behind listing resources, and
 * the listing (resource_list).
 *
 * Names are keyed hashes in the database, so it cannot order them (and
 * must not: an order-preserving id would leak the names' order). The
 * order lives here instead: a sorted array of every resource name, built
 * at start by one scan of resource_index (O(total), once), kept current by
 * this process's puts and deletes (resource.c calls resource_list_add and
 * resource_list_remove), and rebuilt (on the store's poller thread, off
 * the request path) when another instance writes the table
 * (store_watch). A page then costs a binary search plus one index-row read
 * per item: O(log n + page). Rows that fail authentication are remembered
 * by row id and reported with every listing until an admin deletes or
 * overwrites the name (resource_list_repaired).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "resource.h"
#include "resource_internal.h"

/* The ordered name index (see the top of the file). */
#define RESOURCE_BAD_MAX 64
static struct {
	pthread_rwlock_t lock;
	struct store *st;
	char **names;			/* sorted, malloc'd strings */
	size_t n, cap;
	char bad[RESOURCE_BAD_MAX][STORE_ID_HEX_LEN + 1];
	char bad_why[RESOURCE_BAD_MAX][160];
	size_t nbad;
	int loaded;
} resource_ix = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static const char *
resource_list_name_at(const void *ctx, size_t i)
{
	return ((char *const *)ctx)[i];
}

/* Position of name, or where it would go; *found set when present.
 * Caller holds resource_ix.lock. */
static size_t
resource_list_find(const char *name, int *found)
{
	return sorted_find(name, resource_ix.n, resource_list_name_at,
	    resource_ix.names, found);
}

void
resource_list_add(const char *name)
{
	size_t i;
	int found;

	pthread_rwlock_wrlock(&resource_ix.lock);
	i = resource_list_find(name, &found);
	if (!found) {
		if (resource_ix.n == resource_ix.cap) {
			resource_ix.cap = resource_ix.cap ? resource_ix.cap * 2 :
			    256;
			resource_ix.names = xrealloc(resource_ix.names,
			    resource_ix.cap * sizeof(char *));
		}
		memmove(resource_ix.names + i + 1, resource_ix.names + i,
		    (resource_ix.n - i) * sizeof(char *));
		resource_ix.names[i] = xstrdup(name);
		resource_ix.n++;
	}
	pthread_rwlock_unlock(&resource_ix.lock);
}

void
resource_list_remove(const char *name)
{
	size_t i;
	int found;

	pthread_rwlock_wrlock(&resource_ix.lock);
	i = resource_list_find(name, &found);
	if (found) {
		free(resource_ix.names[i]);
		memmove(resource_ix.names + i, resource_ix.names + i + 1,
		    (resource_ix.n - i - 1) * sizeof(char *));
		resource_ix.n--;
	}
	pthread_rwlock_unlock(&resource_ix.lock);
}

/* Forget a bad row once its name was deleted or overwritten. */
void
resource_list_repaired(struct store *st, const char *name)
{
	char hex[STORE_ID_HEX_LEN + 1];
	struct error err;
	size_t i;

	if (store_row_id_hex(st, RESOURCE_INDEX, name, hex, &err) != 0)
		return;
	pthread_rwlock_wrlock(&resource_ix.lock);
	for (i = 0; i < resource_ix.nbad; i++) {
		if (strcmp(resource_ix.bad[i], hex) == 0) {
			memmove(resource_ix.bad[i], resource_ix.bad[i + 1],
			    (resource_ix.nbad - i - 1) *
			    sizeof(resource_ix.bad[0]));
			memmove(resource_ix.bad_why[i], resource_ix.bad_why[i +
			    1], (resource_ix.nbad - i - 1) *
			    sizeof(resource_ix.bad_why[0]));
			resource_ix.nbad--;
			break;
		}
	}
	pthread_rwlock_unlock(&resource_ix.lock);
}

/* Remember a bad index row (by id) to report with listings. Caller
 * holds the write lock. */
static void
resource_list_bad_locked(const char *id_hex, const char *why)
{
	size_t i;

	for (i = 0; i < resource_ix.nbad; i++)
		if (strcmp(resource_ix.bad[i], id_hex) == 0)
			return;
	if (resource_ix.nbad == RESOURCE_BAD_MAX)
		return;
	snprintf(resource_ix.bad[resource_ix.nbad], sizeof(resource_ix.bad[0]),
	    "%s", id_hex);
	snprintf(resource_ix.bad_why[resource_ix.nbad],
	    sizeof(resource_ix.bad_why[0]), "%s", why);
	resource_ix.nbad++;
}

struct resource_list_load {
	char **names;
	size_t n, cap;
	char bad[RESOURCE_BAD_MAX][STORE_ID_HEX_LEN + 1];
	char why[RESOURCE_BAD_MAX][160];
	size_t nbad;
};

static int
resource_list_load_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct resource_list_load *l = arg;

	(void)val;
	(void)len;
	(void)m;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->names = xrealloc(l->names, l->cap * sizeof(char *));
	}
	l->names[l->n++] = xstrdup(name);
	return 0;
}

static void
resource_list_load_bad(const char *table, const char *id_hex,
    const char *reason, void *arg)
{
	struct resource_list_load *l = arg;

	(void)table;
	(void)reason;
	if (l->nbad < RESOURCE_BAD_MAX) {
		snprintf(l->bad[l->nbad], sizeof(l->bad[0]), "%s", id_hex);
		snprintf(l->why[l->nbad], sizeof(l->why[0]), "failed "
		    "authentication (tampered, or written under another key)");
		l->nbad++;
	}
}

static int
resource_list_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Build the index from the store (one scan, a page at a time) and swap
 * it in. */
static int
resource_list_reload(struct store *st, struct error *err)
{
	struct resource_list_load *l = xcalloc(1, sizeof(*l));
	struct store_page q;
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	char **old;
	size_t nold, i;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(st, RESOURCE_INDEX, &q, resource_list_load_row,
		    resource_list_load_bad, l, next, err);
		if (rc != 0 || next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	if (rc != 0) {
		for (i = 0; i < l->n; i++)
			free(l->names[i]);
		free(l->names);
		free(l);
		return rc;
	}
	if (l->n > 1)
		qsort(l->names, l->n, sizeof(char *), resource_list_strcmp);
	pthread_rwlock_wrlock(&resource_ix.lock);
	old = resource_ix.names;
	nold = resource_ix.n;
	resource_ix.names = l->names;
	resource_ix.n = l->n;
	resource_ix.cap = l->cap;
	resource_ix.nbad = 0;
	for (i = 0; i < l->nbad; i++)
		resource_list_bad_locked(l->bad[i], l->why[i]);
	resource_ix.loaded = 1;
	resource_ix.st = st;
	pthread_rwlock_unlock(&resource_ix.lock);
	for (i = 0; i < nold; i++)
		free(old[i]);
	free(old);
	free(l);
	return 0;
}

/* Build the index on first use, or for another store (tests and tools
 * that never called resource_list_init). */
void
resource_list_ensure(struct store *st)
{
	struct error err;
	int ok;

	pthread_rwlock_rdlock(&resource_ix.lock);
	ok = resource_ix.loaded && resource_ix.st == st;
	pthread_rwlock_unlock(&resource_ix.lock);
	if (ok)
		return;
	if (resource_list_reload(st, &err) != 0)
		log_warnx("resources: building the name index: %s", err.msg);
}

/* Another instance wrote resource_index: rebuild (poller thread). */
static void
resource_list_changed(const char *table, void *arg)
{
	struct error err;

	(void)table;
	if (resource_list_reload(arg, &err) != 0)
		log_warnx("resources: reloading the name index: %s", err.msg);
}

int
resource_list_init(struct store *st, struct error *err)
{
	int64_t t0 = (int64_t)(now_mono_ns() / 1000000);
	int rc;

	resource_ix.st = st;
	/* A release reads both rows: from memory where that is provably
	 * current (store_cache). */
	if (store_watch(st, RESOURCE_INDEX, resource_list_changed, st,
	    err) != 0 ||
	    store_cache(st, RESOURCE_INDEX, err) != 0 ||
	    store_cache(st, RESOURCE_DATA, err) != 0)
		return error_prefix(err, "resources");
	rc = resource_list_reload(st, err);
	if (rc != 0)
		return error_prefix(err, "resources: building the name index");
	log_info("resources: %zu names indexed in %lld ms%s", resource_ix.n,
	    (long long)(now_mono_ns() / 1000000) - (long long)t0,
	    resource_ix.nbad > 0 ? " (some index rows fail authentication: "
	    "see `trusteectl store check`)" : "");
	return 0;
}

void
resource_list_shutdown(void)
{
	size_t i;

	pthread_rwlock_wrlock(&resource_ix.lock);
	for (i = 0; i < resource_ix.n; i++)
		free(resource_ix.names[i]);
	free(resource_ix.names);
	resource_ix.names = NULL;
	resource_ix.n = resource_ix.cap = resource_ix.nbad = 0;
	resource_ix.loaded = 0;
	resource_ix.st = NULL;
	pthread_rwlock_unlock(&resource_ix.lock);
}

int
resource_list(struct store *st, const char *prefix, const char *after,
    size_t limit, json_t **items, int *more, json_t **problems,
    struct error *err)
{
	char **page;
	size_t i, n = 0, plen = prefix != NULL ? strlen(prefix) : 0, start;
	json_t *meta;
	int found, rc;

	resource_list_ensure(st);
	*items = json_array();
	*more = 0;
	if (problems != NULL)
		*problems = json_array();
	/* Copy one page of names (and one more, for *more) under the read
	 * lock; read their rows without it. */
	page = xcalloc(limit + 1, sizeof(char *));
	pthread_rwlock_rdlock(&resource_ix.lock);
	if (after != NULL && (prefix == NULL || strcmp(after, prefix) >= 0)) {
		start = resource_list_find(after, &found);
		if (found)
			start++;
	} else
		start = prefix != NULL ? resource_list_find(prefix, &found) : 0;
	for (i = start; i < resource_ix.n && n <= limit; i++) {
		if (prefix != NULL && strncmp(resource_ix.names[i], prefix,
		    plen) != 0)
			break;	/* sorted: the prefix range has ended */
		page[n++] = xstrdup(resource_ix.names[i]);
	}
	if (problems != NULL)
		for (i = 0; i < resource_ix.nbad; i++)
			json_array_append_new(*problems, json_pack("{s:s, s:s, "
			    "s:s}", "table", RESOURCE_INDEX, "row",
			    resource_ix.bad[i], "detail",
			    resource_ix.bad_why[i]));
	pthread_rwlock_unlock(&resource_ix.lock);
	for (i = 0; i < n; i++) {
		if (json_array_size(*items) == limit) {
			*more = 1;
			break;
		}
		rc = resource_read_meta(st, page[i], &meta, err);
		if (rc == 0)
			json_array_append_new(*items, meta);
		else if (rc == STORE_CORRUPT) {
			char hex[STORE_ID_HEX_LEN + 1];
			struct error e2;

			if (problems != NULL && store_row_id_hex(st,
			    RESOURCE_INDEX, page[i], hex, &e2) == 0)
				json_array_append_new(*problems, json_pack(
				    "{s:s, s:s, s:s, s:s}", "table",
				    RESOURCE_INDEX, "row", hex, "name",
				    page[i], "detail", err->msg));
		} else if (rc < 0) {
			for (; i < n; i++)
				free(page[i]);
			free(page);
			json_decref(*items);
			*items = NULL;
			if (problems != NULL) {
				json_decref(*problems);
				*problems = NULL;
			}
			return rc;
		}
		free(page[i]);
	}
	for (; i < n; i++)
		free(page[i]);
	free(page);
	if (n == limit + 1)
		*more = 1;	/* the next page may come out empty */
	return 0;
}

