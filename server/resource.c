/*
 * resource.c: versioned resources with metadata (see resource.h for the
 * row layout and the concurrency contract), and the ordered name index
 * behind listing.
 *
 * Names are keyed hashes in the database, so it cannot order them (and
 * must not: an order-preserving id would leak the names' order). The
 * order lives here instead: a sorted array of every resource name, built
 * at start by one scan of resource_index (O(total), once), kept current by
 * this process's puts and deletes, and rebuilt (on the store's poller
 * thread, off the request path) when another instance writes the table
 * (store_watch). A page then costs a binary search plus one index-row read
 * per item: O(log n + page). Rows that fail authentication are remembered
 * by row id and reported with every listing until an admin deletes or
 * overwrites the name.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "resource.h"
#include "trusteed.h"

#define RESOURCE_INDEX "resource_index"
#define RESOURCE_DATA "resource_data"
#define RESOURCE_LEGACY "resources"
#define RESOURCE_DEFAULT_CT "application/octet-stream"

static pthread_mutex_t resource_lock = PTHREAD_MUTEX_INITIALIZER;

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

int
resource_segment_ok(const char *p)
{
	size_t n = strlen(p);

	return n > 0 && n <= RESOURCE_SEGMENT_MAX && p[0] != '.' &&
	    strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-.") == n;
}

int
resource_content_type_ok(const char *ct)
{
	size_t i, n = strlen(ct);

	if (n == 0 || n > RESOURCE_CT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (ct[i] < 0x20 || ct[i] > 0x7e)
			return 0;
	return 1;
}

int
resource_name_check(const char *name, struct error *err)
{
	char buf[RESOURCE_NAME_MAX + 2], *seg, *save = NULL;
	size_t n = strlen(name);
	int i = 0;

	if (n > RESOURCE_NAME_MAX)
		return error_set(err, "invalid resource name: longer than %d "
		    "bytes", RESOURCE_NAME_MAX);
	memcpy(buf, name, n + 1);
	if (n == 0 || name[0] == '/' || name[n - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return error_set(err, "invalid resource name: expected "
		    "<repository>/<type>/<tag>");
	for (seg = strtok_r(buf, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (++i > 3)
			break;
		if (!resource_segment_ok(seg))
			return error_set(err, "invalid resource name: segment "
			    "%d must match [A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}",
			    i);
	}
	if (i != 3)
		return error_set(err, "invalid resource name: expected "
		    "<repository>/<type>/<tag>, got %s segments", i > 3 ?
		    "more than 3" : i == 2 ? "2" : "1");
	return 0;
}

static char *
resource_data_name(const char *name, int version)
{
	return xasprintf("%s@%d", name, version);
}

/* ------------------------------------------------------------ index */

static json_t *resource_find_version(const json_t *idx, json_int_t version);

/* Check an index row's value (left to the caller): 0 and *idx, or
 * STORE_CORRUPT when it is not a valid index. */
static int
resource_index_check(const char *name, const uint8_t *val, size_t len,
    json_t **idx, struct error *err)
{
	json_t *v, *vers, *e;
	size_t i;

	*idx = NULL;
	v = json_loadb((const char *)val, len, 0, NULL);
	vers = json_object_get(v, "versions");
	if (!json_is_integer(json_object_get(v, "active")) ||
	    !json_is_integer(json_object_get(v, "next")) ||
	    !json_is_array(vers) || json_array_size(vers) == 0)
		goto bad;
	json_array_foreach(vers, i, e)
		if (!json_is_integer(json_object_get(e, "version")) ||
		    !json_is_integer(json_object_get(e, "size")) ||
		    !json_is_string(json_object_get(e, "created")) ||
		    !json_is_string(json_object_get(e, "created_by")) ||
		    !json_is_string(json_object_get(e, "content_type")))
			goto bad;
	if (resource_find_version(v, json_integer_value(json_object_get(v,
	    "active"))) == NULL)
		goto bad;
	*idx = v;
	return 0;
bad:
	json_decref(v);
	error_set(err, "resource %s: the index row is malformed", name);
	return STORE_CORRUPT;
}

/* Load and check the index row: 0, 1 absent, < 0 as store_get (an
 * authentic row that is not a valid index is STORE_CORRUPT too). */
static int
resource_index_load(struct store *st, const char *name, json_t **idx,
    struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*idx = NULL;
	rc = store_get(st, RESOURCE_INDEX, name, &val, &len, err);
	if (rc != 0)
		return rc;
	rc = resource_index_check(name, val, len, idx, err);
	secret_free(val, len);
	return rc;
}

static int
resource_index_save(struct store *st, const char *name, const json_t *idx,
    struct error *err)
{
	char *s = json_dumps(idx, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return error_set(err, "resource %s: cannot serialize the index",
		    name);
	rc = store_put(st, RESOURCE_INDEX, name, s, strlen(s), err);
	free(s);
	return rc;
}

static json_t *
resource_find_version(const json_t *idx, json_int_t version)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(idx, "versions"), i, e)
		if (json_integer_value(json_object_get(e, "version")) ==
		    version)
			return e;
	return NULL;
}

/* The public metadata of the active version. */
static json_t *
resource_meta(const char *name, const json_t *idx)
{
	json_int_t active = json_integer_value(json_object_get(idx, "active"));
	const json_t *e = resource_find_version(idx, active);

	return json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:I}", "name", name,
	    "version", (json_int_t)active,
	    "size", json_object_get(e, "size"),
	    "created", json_object_get(e, "created"),
	    "created_by", json_object_get(e, "created_by"),
	    "content_type", json_object_get(e, "content_type"),
	    "versions", (json_int_t)json_array_size(json_object_get(idx,
	    "versions")));
}

/* ------------------------------------------------------- name index */

/* Position of name, or where it would go; *found set when present.
 * Caller holds resource_ix.lock. */
static size_t
resource_ix_find(const char *name, int *found)
{
	size_t lo = 0, hi = resource_ix.n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(resource_ix.names[mid], name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
resource_ix_add(const char *name)
{
	size_t i;
	int found;

	pthread_rwlock_wrlock(&resource_ix.lock);
	i = resource_ix_find(name, &found);
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

static void
resource_ix_remove(const char *name)
{
	size_t i;
	int found;

	pthread_rwlock_wrlock(&resource_ix.lock);
	i = resource_ix_find(name, &found);
	if (found) {
		free(resource_ix.names[i]);
		memmove(resource_ix.names + i, resource_ix.names + i + 1,
		    (resource_ix.n - i - 1) * sizeof(char *));
		resource_ix.n--;
	}
	pthread_rwlock_unlock(&resource_ix.lock);
}

/* Forget a bad row once its name was deleted or overwritten. */
static void
resource_ix_repaired(struct store *st, const char *name)
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
resource_ix_bad_locked(const char *id_hex, const char *why)
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

struct resource_load {
	char **names;
	size_t n, cap;
	char bad[RESOURCE_BAD_MAX][STORE_ID_HEX_LEN + 1];
	char why[RESOURCE_BAD_MAX][160];
	size_t nbad;
};

static int
resource_load_row(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct resource_load *l = arg;

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
resource_load_bad(const char *table, const char *id_hex, const char *reason,
    void *arg)
{
	struct resource_load *l = arg;

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
resource_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Build the index from the store (one scan, a page at a time) and swap
 * it in. */
static int
resource_ix_reload(struct store *st, struct error *err)
{
	struct resource_load *l = xcalloc(1, sizeof(*l));
	struct store_page q;
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	char **old;
	size_t nold, i;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(st, RESOURCE_INDEX, &q, resource_load_row,
		    resource_load_bad, l, next, err);
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
		qsort(l->names, l->n, sizeof(char *), resource_strcmp);
	pthread_rwlock_wrlock(&resource_ix.lock);
	old = resource_ix.names;
	nold = resource_ix.n;
	resource_ix.names = l->names;
	resource_ix.n = l->n;
	resource_ix.cap = l->cap;
	resource_ix.nbad = 0;
	for (i = 0; i < l->nbad; i++)
		resource_ix_bad_locked(l->bad[i], l->why[i]);
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
 * that never called resource_init). */
static void
resource_ix_ensure(struct store *st)
{
	struct error err;
	int ok;

	pthread_rwlock_rdlock(&resource_ix.lock);
	ok = resource_ix.loaded && resource_ix.st == st;
	pthread_rwlock_unlock(&resource_ix.lock);
	if (ok)
		return;
	if (resource_ix_reload(st, &err) != 0)
		log_warnx("resources: building the name index: %s", err.msg);
}

/* Another instance wrote resource_index: rebuild (poller thread). */
static void
resource_ix_changed(const char *table, void *arg)
{
	struct error err;

	(void)table;
	if (resource_ix_reload(arg, &err) != 0)
		log_warnx("resources: reloading the name index: %s", err.msg);
}

int
resource_init(struct store *st, struct error *err)
{
	int64_t t0 = (int64_t)(now_mono_ns() / 1000000);
	int rc;

	resource_ix.st = st;
	/* A release reads both rows: from memory where that is provably
	 * current (store_cache). */
	if (store_watch(st, RESOURCE_INDEX, resource_ix_changed, st, err) != 0 ||
	    store_cache(st, RESOURCE_INDEX, err) != 0 ||
	    store_cache(st, RESOURCE_DATA, err) != 0)
		return error_prefix(err, "resources");
	rc = resource_ix_reload(st, err);
	if (rc != 0)
		return error_prefix(err, "resources: building the name index");
	log_info("resources: %zu names indexed in %lld ms%s", resource_ix.n,
	    (long long)(now_mono_ns() / 1000000) - (long long)t0,
	    resource_ix.nbad > 0 ? " (some index rows fail authentication: "
	    "see `trusteectl store check`)" : "");
	return 0;
}

void
resource_shutdown(void)
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

/*
 * Delete the value rows "<name>@<n>" a corrupt index row no longer lists
 * (the repair path only: it reads every value row's name).
 */
struct resource_orphans {
	const char *name;
	size_t nlen;
	json_t *found;
};

static int
resource_orphan_row(const char *dname, const uint8_t *val, size_t len,
    const struct store_meta *m, void *arg)
{
	struct resource_orphans *o = arg;

	(void)val;
	(void)len;
	(void)m;
	if (strncmp(dname, o->name, o->nlen) == 0 && dname[o->nlen] == '@')
		json_array_append_new(o->found, json_string(dname));
	return 0;
}

static void
resource_drop_orphans(struct store *st, const char *name)
{
	struct resource_orphans o = { name, strlen(name), json_array() };
	struct store_page q;
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct error err;
	json_t *d;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	for (;;) {
		q.cursor = cursor;
		if (store_scan(st, RESOURCE_DATA, &q, resource_orphan_row, NULL,
		    &o, next, &err) != 0) {
			log_warnx("resource %s: looking for old values: %s",
			    name, err.msg);
			break;
		}
		if (next[0] == '\0')
			break;
		memcpy(cursor, next, sizeof(cursor));
	}
	json_array_foreach(o.found, i, d)
		if (store_delete(st, RESOURCE_DATA, json_string_value(d),
		    &err) < 0)
			log_warnx("resource %s: %s", name, err.msg);
	json_decref(o.found);
}

/* ------------------------------------------------------------- write */

/*
 * Writes of a name's index and version rows are one read-modify-write:
 * serialized in this process (resource_lock) and across the instances
 * sharing the store (the store lock RESOURCE_LOCK), so two PUTs of one
 * name on two instances cannot both take the same version number.
 * 0 with both held, or the store's error with neither.
 */
#define RESOURCE_LOCK "resources"

static int
resource_write_begin(struct store *st, struct error *err)
{
	int rc;

	pthread_mutex_lock(&resource_lock);
	if ((rc = store_lock(st, RESOURCE_LOCK, err)) != 0)
		pthread_mutex_unlock(&resource_lock);
	return rc;
}

/* Releases both locks, then returns only once no other instance can
 * answer a release with the rows as they were before (store_settle). */
static void
resource_write_end(struct store *st)
{
	store_unlock(st, RESOURCE_LOCK);
	pthread_mutex_unlock(&resource_lock);
	store_settle();
}

/* Caller holds the write locks (resource_write_begin). */
static int
resource_put_locked(struct store *st, const char *name, const void *val,
    size_t len, const char *content_type, const char *who, json_t **meta,
    int *created, struct error *err)
{
	char when[TIME_RFC3339_LEN], *dname;
	json_t *idx = NULL, *vers, *e;
	json_int_t version;
	int rc, was_new;

	rc = resource_index_load(st, name, &idx, err);
	if (rc == STORE_CORRUPT) {
		/* Overwriting repairs it: a new history starts at 1. */
		log_warnx("resource %s: %s; overwriting it (its version "
		    "history is lost)", name, err->msg);
		resource_drop_orphans(st, name);
		rc = 1;
	}
	if (rc < 0)
		return rc;
	was_new = rc == 1;
	if (rc == 1)
		idx = json_pack("{s:s, s:I, s:I, s:[]}", "name", name, "next",
		    (json_int_t)1, "active", (json_int_t)0, "versions");
	version = json_integer_value(json_object_get(idx, "next"));
	if (version < 1 || version >= INT32_MAX) {
		json_decref(idx);
		return error_set(err, "resource %s: version counter out of "
		    "range", name);
	}
	dname = resource_data_name(name, (int)version);
	if ((rc = store_put(st, RESOURCE_DATA, dname, val, len, err)) != 0) {
		free(dname);
		json_decref(idx);
		return rc;
	}
	free(dname);
	time_format_rfc3339(now_unix(), when);
	vers = json_object_get(idx, "versions");
	e = json_pack("{s:I, s:I, s:s, s:s, s:s}", "version", version, "size",
	    (json_int_t)len, "created", when, "created_by", who != NULL ? who :
	    "", "content_type", content_type != NULL ? content_type :
	    RESOURCE_DEFAULT_CT);
	if (e == NULL || json_array_append_new(vers, e) != 0) {
		dname = resource_data_name(name, (int)version);
		store_delete(st, RESOURCE_DATA, dname, NULL);
		free(dname);
		json_decref(idx);
		return error_set(err, "resource %s: cannot record the version "
		    "(creator not UTF-8?)", name);
	}
	json_object_set_new(idx, "active", json_integer(version));
	json_object_set_new(idx, "next", json_integer(version + 1));
	/* Versions beyond the bound go after the index names the new one. */
	e = json_array();
	while (json_array_size(vers) > RESOURCE_KEEP) {
		json_array_append(e, json_array_get(vers, 0));
		json_array_remove(vers, 0);
	}
	if ((rc = resource_index_save(st, name, idx, err)) != 0) {
		struct error derr;

		dname = resource_data_name(name, (int)version);
		store_delete(st, RESOURCE_DATA, dname, &derr);
		free(dname);
		json_decref(e);
		json_decref(idx);
		return rc;
	}
	resource_ix_ensure(st);
	resource_ix_add(name);
	resource_ix_repaired(st, name);
	{
		size_t i;
		json_t *old;
		struct error derr;

		json_array_foreach(e, i, old) {
			dname = resource_data_name(name, (int)json_integer_value(
			    json_object_get(old, "version")));
			if (store_delete(st, RESOURCE_DATA, dname, &derr) < 0)
				log_warnx("resource %s: dropping an old "
				    "version: %s", name, derr.msg);
			free(dname);
		}
	}
	json_decref(e);
	if (created != NULL)
		*created = was_new;
	if (meta != NULL)
		*meta = resource_meta(name, idx);
	json_decref(idx);
	return 0;
}

int
resource_put(struct store *st, const char *name, const void *val, size_t len,
    const char *content_type, const char *who, json_t **meta, int *created,
    struct error *err)
{
	int rc;

	if (resource_name_check(name, err) != 0)
		return -1;
	if (content_type != NULL && !resource_content_type_ok(content_type))
		return error_set(err, "content type must be 1..%d printable "
		    "ASCII characters", RESOURCE_CT_MAX);
	if ((rc = resource_write_begin(st, err)) != 0)
		return rc;
	rc = resource_put_locked(st, name, val, len, content_type, who, meta,
	    created, err);
	resource_write_end(st);
	return rc;
}

int
resource_restore(struct store *st, const char *name, int version,
    const char *who, json_t **meta, struct error *err)
{
	json_t *idx = NULL, *e;
	uint8_t *val = NULL;
	size_t len = 0;
	char *dname, *ct = NULL;
	int rc;

	if ((rc = resource_write_begin(st, err)) != 0)
		return rc;
	rc = resource_index_load(st, name, &idx, err);
	if (rc != 0)
		goto out;
	e = resource_find_version(idx, version);
	if (e == NULL) {
		rc = 2;
		goto out;
	}
	ct = xstrdup(json_string_value(json_object_get(e, "content_type")));
	dname = resource_data_name(name, version);
	rc = store_get(st, RESOURCE_DATA, dname, &val, &len, err);
	free(dname);
	if (rc != 0) {
		if (rc == 1) {
			error_set(err, "resource %s: the value of version %d "
			    "is missing", name, version);
			rc = -1;
		}
		goto out;
	}
	rc = resource_put_locked(st, name, val, len, ct, who, meta, NULL, err);
out:
	resource_write_end(st);
	secret_free(val, len);
	free(ct);
	json_decref(idx);
	return rc;
}

int
resource_delete(struct store *st, const char *name, struct error *err)
{
	json_t *idx = NULL, *e;
	struct error derr;
	size_t i;
	char *dname;
	int rc;

	if ((rc = resource_write_begin(st, err)) != 0)
		return rc;
	rc = resource_index_load(st, name, &idx, err);
	if (rc == STORE_CORRUPT) {
		/* Deleting repairs it: the row goes by its name's id, and the
		 * values it listed are found by name. */
		log_warnx("resource %s: %s; deleting it", name, err->msg);
		rc = store_delete(st, RESOURCE_INDEX, name, err);
		if (rc == 0) {
			resource_drop_orphans(st, name);
			resource_ix_ensure(st);
			resource_ix_remove(name);
			resource_ix_repaired(st, name);
		}
		resource_write_end(st);
		return rc;
	}
	if (rc == 0)
		rc = store_delete(st, RESOURCE_INDEX, name, err);
	if (rc == 0) {
		resource_ix_ensure(st);
		resource_ix_remove(name);
		json_array_foreach(json_object_get(idx, "versions"), i, e) {
			dname = resource_data_name(name, (int)json_integer_value(
			    json_object_get(e, "version")));
			if (store_delete(st, RESOURCE_DATA, dname, &derr) < 0)
				log_warnx("resource %s: deleting a version: %s",
				    name, derr.msg);
			free(dname);
		}
	}
	resource_write_end(st);
	json_decref(idx);
	return rc;
}

/* -------------------------------------------------------------- read */

int
resource_get_value(struct store *st, const char *name, uint8_t **val,
    size_t *len, struct error *err)
{
	uint8_t *v[2] = { NULL, NULL };
	size_t l[2] = { 0, 0 };
	int r[2] = { 1, 1 }, rc, guess, active;
	json_t *idx;
	char *dname;

	*val = NULL;
	*len = 0;
	guess = resource_hint_get(name);
	if (guess > 0) {
		/* The index row and the value row it probably names,
		 * together. */
		const char *tables[2] = { RESOURCE_INDEX, RESOURCE_DATA };
		const char *names[2];

		names[0] = name;
		names[1] = dname = resource_data_name(name, guess);
		rc = store_get2(st, tables, names, v, l, r, err);
		free(dname);
		if (rc < 0)
			return rc;
		if (r[0] != 0) {
			if (r[1] == 0)
				secret_free(v[1], l[1]);
			return r[0];
		}
	} else if ((rc = store_get(st, RESOURCE_INDEX, name, &v[0], &l[0],
	    err)) != 0)
		return rc;
	/* An index row read before is not parsed and checked again. */
	if ((active = resource_hint_active(name, v[0], l[0])) == 0) {
		rc = resource_index_check(name, v[0], l[0], &idx, err);
		if (rc != 0) {
			secret_free(v[0], l[0]);
			if (guess > 0 && r[1] == 0)
				secret_free(v[1], l[1]);
			return rc;
		}
		active = (int)json_integer_value(json_object_get(idx,
		    "active"));
		json_decref(idx);
		resource_hint_set(name, active, v[0], l[0]);
	}
	secret_free(v[0], l[0]);
	if (guess > 0 && guess == active) {
		if (r[1] == 0) {
			*val = v[1];
			*len = l[1];
		}
		return r[1];	/* 1: deleted between the two reads */
	}
	if (guess > 0 && r[1] == 0)
		secret_free(v[1], l[1]);
	dname = resource_data_name(name, active);
	rc = store_get(st, RESOURCE_DATA, dname, val, len, err);
	free(dname);
	if (rc == 1)	/* deleted between the two reads */
		return 1;
	return rc;
}

int
resource_get_meta(struct store *st, const char *name, json_t **meta,
    struct error *err)
{
	json_t *idx;
	int rc;

	*meta = NULL;
	rc = resource_index_load(st, name, &idx, err);
	if (rc != 0)
		return rc;
	*meta = resource_meta(name, idx);
	json_decref(idx);
	return 0;
}

int
resource_versions(struct store *st, const char *name, json_t **items,
    struct error *err)
{
	json_t *idx, *vers, *e, *c;
	json_int_t active;
	size_t i;
	int rc;

	*items = NULL;
	rc = resource_index_load(st, name, &idx, err);
	if (rc != 0)
		return rc;
	active = json_integer_value(json_object_get(idx, "active"));
	vers = json_object_get(idx, "versions");
	*items = json_array();
	for (i = json_array_size(vers); i-- > 0;) {
		e = json_array_get(vers, i);
		c = json_deep_copy(e);
		json_object_set_new(c, "active", json_boolean(
		    json_integer_value(json_object_get(e, "version")) ==
		    active));
		json_array_append_new(*items, c);
	}
	json_decref(idx);
	return 0;
}

/* One index row as list metadata: 0, 1 gone meanwhile, < 0. */
static int
resource_list_meta(struct store *st, const char *name, json_t **meta,
    struct error *err)
{
	json_t *idx;
	int rc;

	*meta = NULL;
	rc = resource_index_load(st, name, &idx, err);
	if (rc != 0)
		return rc;
	*meta = resource_meta(name, idx);
	json_decref(idx);
	return 0;
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

	resource_ix_ensure(st);
	*items = json_array();
	*more = 0;
	if (problems != NULL)
		*problems = json_array();
	/* Copy one page of names (and one more, for *more) under the read
	 * lock; read their rows without it. */
	page = xcalloc(limit + 1, sizeof(char *));
	pthread_rwlock_rdlock(&resource_ix.lock);
	if (after != NULL && (prefix == NULL || strcmp(after, prefix) >= 0)) {
		start = resource_ix_find(after, &found);
		if (found)
			start++;
	} else
		start = prefix != NULL ? resource_ix_find(prefix, &found) : 0;
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
		rc = resource_list_meta(st, page[i], &meta, err);
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

/* ---------------------------------------------------------- migration */

static int
resource_legacy_cb(const char *name, const uint8_t *val, size_t len,
    void *arg)
{
	(void)val;
	(void)len;
	json_array_append_new(arg, json_string(name));
	return 0;
}

int
resource_migrate(struct store *st, struct error *err)
{
	json_t *names = json_array(), *idx, *n;
	uint8_t *val;
	size_t len, i;
	int rc, moved = 0;

	if (store_list(st, RESOURCE_LEGACY, resource_legacy_cb, names,
	    err) != 0) {
		json_decref(names);
		return error_prefix(err, "migrating resources");
	}
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);

		rc = resource_index_load(st, name, &idx, err);
		json_decref(idx);
		if (rc < 0)
			goto fail;
		if (rc == 1 && resource_name_check(name, err) != 0) {
			log_warnx("resource row '%s' of the previous format "
			    "left alone: %s", name, err->msg);
			continue;
		}
		if (rc == 1) {
			/* Not migrated yet (a crash may have stopped a
			 * previous run after the put: then rc == 0). */
			if (store_get(st, RESOURCE_LEGACY, name, &val, &len,
			    err) != 0)
				goto fail;
			rc = resource_put(st, name, val, len, NULL,
			    "migrated", NULL, NULL, err);
			secret_free(val, len);
			if (rc != 0)
				goto fail;
		}
		if (store_delete(st, RESOURCE_LEGACY, name, err) < 0)
			goto fail;
		moved++;
	}
	json_decref(names);
	if (moved > 0)
		log_info("migrated %d resource(s) to the versioned layout",
		    moved);
	return 0;
fail:
	json_decref(names);
	return error_prefix(err, "migrating resources");
}
