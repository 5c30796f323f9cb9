/*
 * resource_read.c: reading a resource's rows (resource.h has the layout):
 * the index row loaded and checked, the active value a release asks for
 * (resource_read_value, the hot path of every release), the metadata and
 * the version history.
 *
 * An index row is trusted only once checked: "active" and "next" are
 * integers, "versions" a non-empty array of complete entries, and the
 * active version is among them; an authentic row that fails this is
 * STORE_CORRUPT, like one that fails authentication. No lock is taken: a
 * writer puts the value row before the index row that names it
 * (resource.c), so a reader sees either the old or the new version, and
 * a value deleted between the two reads reads as absent (1).
 */
#include <stdlib.h>
#include <string.h>

#include "resource.h"
#include "resource_internal.h"
#include "trusteed.h"

json_t *
resource_read_entry(const json_t *idx, json_int_t version)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(idx, "versions"), i, e)
		if (json_integer_value(json_object_get(e, "version")) ==
		    version)
			return e;
	return NULL;
}

/* Check an index row's value (left to the caller): 0 and *idx, or
 * STORE_CORRUPT when it is not a valid index. */
static int
resource_read_check(const char *name, const uint8_t *val, size_t len,
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
	if (resource_read_entry(v, json_integer_value(json_object_get(v,
	    "active"))) == NULL)
		goto bad;
	*idx = v;
	return 0;
bad:
	json_decref(v);
	error_set(err, "resource %s: the index row is malformed", name);
	return STORE_CORRUPT;
}

int
resource_read_index(struct store *st, const char *name, json_t **idx,
    struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*idx = NULL;
	rc = store_get(st, RESOURCE_INDEX, name, &val, &len, err);
	if (rc != 0)
		return rc;
	rc = resource_read_check(name, val, len, idx, err);
	secret_free(val, len);
	return rc;
}

json_t *
resource_read_describe(const char *name, const json_t *idx)
{
	json_int_t active = json_integer_value(json_object_get(idx, "active"));
	const json_t *e = resource_read_entry(idx, active);

	return json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:I}", "name", name,
	    "version", (json_int_t)active,
	    "size", json_object_get(e, "size"),
	    "created", json_object_get(e, "created"),
	    "created_by", json_object_get(e, "created_by"),
	    "content_type", json_object_get(e, "content_type"),
	    "versions", (json_int_t)json_array_size(json_object_get(idx,
	    "versions")));
}

int
resource_read_value(struct store *st, const char *name, uint8_t **val,
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
		rc = resource_read_check(name, v[0], l[0], &idx, err);
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
resource_read_meta(struct store *st, const char *name, json_t **meta,
    struct error *err)
{
	json_t *idx;
	int rc;

	*meta = NULL;
	rc = resource_read_index(st, name, &idx, err);
	if (rc != 0)
		return rc;
	*meta = resource_read_describe(name, idx);
	json_decref(idx);
	return 0;
}

int
resource_read_versions(struct store *st, const char *name, json_t **items,
    struct error *err)
{
	json_t *idx, *vers, *e, *c;
	json_int_t active;
	size_t i;
	int rc;

	*items = NULL;
	rc = resource_read_index(st, name, &idx, err);
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

