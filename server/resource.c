/*
 * resource.c: the resource names' rule, and writing resources: a put (a
 * new active version), a restore (a kept version copied as a new one) and
 * a delete, with the repair of an index row that fails authentication
 * (resource.h has the row layout and the concurrency contract).
 *
 * Every write goes through resource_write_begin and resource_write_end:
 * serialized in this process and across the instances sharing the store,
 * and acknowledged only once settled (store_settle), so that no instance
 * answers a release from the rows as they were before. A put writes the
 * value row first and the index row last (the commit point), then drops
 * the versions beyond RESOURCE_KEEP; the name index behind listing
 * (resource_list.c) follows each put and delete.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "resource.h"
#include "resource_internal.h"

#define RESOURCE_DEFAULT_CT "application/octet-stream"

static pthread_mutex_t resource_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* ------------------------------------------------------------- write */

/* Write the index row: a put's commit point. */
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

	rc = resource_read_index(st, name, &idx, err);
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
	resource_list_ensure(st);
	resource_list_add(name);
	resource_list_repaired(st, name);
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
		*meta = resource_read_describe(name, idx);
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
	rc = resource_read_index(st, name, &idx, err);
	if (rc != 0)
		goto out;
	e = resource_read_entry(idx, version);
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
	rc = resource_read_index(st, name, &idx, err);
	if (rc == STORE_CORRUPT) {
		/* Deleting repairs it: the row goes by its name's id, and the
		 * values it listed are found by name. */
		log_warnx("resource %s: %s; deleting it", name, err->msg);
		rc = store_delete(st, RESOURCE_INDEX, name, err);
		if (rc == 0) {
			resource_drop_orphans(st, name);
			resource_list_ensure(st);
			resource_list_remove(name);
			resource_list_repaired(st, name);
		}
		resource_write_end(st);
		return rc;
	}
	if (rc == 0)
		rc = store_delete(st, RESOURCE_INDEX, name, err);
	if (rc == 0) {
		resource_list_ensure(st);
		resource_list_remove(name);
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
