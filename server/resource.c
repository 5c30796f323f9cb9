/*
 * resource.c: versioned resources with metadata (see resource.h for the
 * row layout and the concurrency contract).
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

/* Load and check the index row: 0, 1 absent, -1 error. */
static int
resource_index_load(struct store *st, const char *name, json_t **idx,
    struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0, i;
	json_t *v, *vers, *e;
	int rc;

	*idx = NULL;
	rc = store_get(st, RESOURCE_INDEX, name, &val, &len, err);
	if (rc != 0)
		return rc;
	v = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
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
	return error_set(err, "resource %s: the index row is malformed", name);
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

/* ------------------------------------------------------------- write */

/* Caller holds resource_lock. */
static int
resource_put_locked(struct store *st, const char *name, const void *val,
    size_t len, const char *content_type, const char *who, json_t **meta,
    int *created, struct error *err)
{
	char when[TIME_RFC3339_LEN], *dname;
	json_t *idx = NULL, *vers, *e;
	json_int_t version;
	int rc;

	rc = resource_index_load(st, name, &idx, err);
	if (rc < 0)
		return -1;
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
	if (store_put(st, RESOURCE_DATA, dname, val, len, err) != 0) {
		free(dname);
		json_decref(idx);
		return -1;
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
	if (resource_index_save(st, name, idx, err) != 0) {
		dname = resource_data_name(name, (int)version);
		store_delete(st, RESOURCE_DATA, dname, NULL);
		free(dname);
		json_decref(e);
		json_decref(idx);
		return -1;
	}
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
		*created = rc == 1;
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
	pthread_mutex_lock(&resource_lock);
	rc = resource_put_locked(st, name, val, len, content_type, who, meta,
	    created, err);
	pthread_mutex_unlock(&resource_lock);
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

	pthread_mutex_lock(&resource_lock);
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
		if (rc == 1)
			error_set(err, "resource %s: the value of version %d "
			    "is missing", name, version);
		rc = -1;
		goto out;
	}
	rc = resource_put_locked(st, name, val, len, ct, who, meta, NULL, err);
out:
	pthread_mutex_unlock(&resource_lock);
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

	pthread_mutex_lock(&resource_lock);
	rc = resource_index_load(st, name, &idx, err);
	if (rc == 0)
		rc = store_delete(st, RESOURCE_INDEX, name, err);
	if (rc == 0) {
		json_array_foreach(json_object_get(idx, "versions"), i, e) {
			dname = resource_data_name(name, (int)json_integer_value(
			    json_object_get(e, "version")));
			if (store_delete(st, RESOURCE_DATA, dname, &derr) < 0)
				log_warnx("resource %s: deleting a version: %s",
				    name, derr.msg);
			free(dname);
		}
	}
	pthread_mutex_unlock(&resource_lock);
	json_decref(idx);
	return rc;
}

/* -------------------------------------------------------------- read */

int
resource_get_value(struct store *st, const char *name, uint8_t **val,
    size_t *len, struct error *err)
{
	json_t *idx;
	char *dname;
	int rc;

	*val = NULL;
	*len = 0;
	rc = resource_index_load(st, name, &idx, err);
	if (rc != 0)
		return rc;
	dname = resource_data_name(name, (int)json_integer_value(
	    json_object_get(idx, "active")));
	json_decref(idx);
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

struct resource_list_ctx {
	const char *prefix;
	const char *after;
	json_t *found;		/* {name: metadata} */
};

static int
resource_list_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct resource_list_ctx *c = arg;
	json_t *idx;

	if (c->prefix != NULL && strncmp(name, c->prefix,
	    strlen(c->prefix)) != 0)
		return 0;
	if (c->after != NULL && strcmp(name, c->after) <= 0)
		return 0;
	idx = json_loadb((const char *)val, len, 0, NULL);
	if (json_is_integer(json_object_get(idx, "active")) &&
	    json_is_array(json_object_get(idx, "versions")))
		json_object_set_new(c->found, name, resource_meta(name, idx));
	else
		log_warnx("resource %s: the index row is malformed", name);
	json_decref(idx);
	return 0;
}

static int
resource_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
resource_list(struct store *st, const char *prefix, const char *after,
    size_t limit, json_t **items, int *more, struct error *err)
{
	struct resource_list_ctx c = { prefix, after, json_object() };
	const char **names, *k;
	json_t *v;
	size_t n = 0, i;

	*items = NULL;
	*more = 0;
	if (store_list(st, RESOURCE_INDEX, resource_list_cb, &c, err) != 0) {
		json_decref(c.found);
		return -1;
	}
	names = xcalloc(json_object_size(c.found) + 1, sizeof(*names));
	json_object_foreach(c.found, k, v)
		names[n++] = k;
	qsort(names, n, sizeof(*names), resource_strcmp);
	*items = json_array();
	for (i = 0; i < n && i < limit; i++)
		json_array_append(*items, json_object_get(c.found, names[i]));
	*more = n > limit;
	free(names);
	json_decref(c.found);
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
