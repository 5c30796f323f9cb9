/*
 * policy_doc.c: policies as versioned documents in the encrypted store:
 * its rows, policy_put (checked, probed, then stored as a new version),
 * policy_get, policy_list, policy_versions and policy_restore.
 *
 * Store layout, table "policies" (names and values are sealed by the
 * store):
 *   "<kind>:<id>"     {"kind","id","active_version","latest_version",
 *                      "updated","updated_by"}
 *   "<kind>:<id>#<n>" {"version","created","created_by","sha256","text",
 *                      "restored_from"?}
 * with kind "attestation" or "resource". Versions are never rewritten; a
 * restore stores the old text again as a new version. A new version
 * empties this process's cache of that policy (policy.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/embedded.h"
#include "../lib/hash.h"
#include "../lib/log.h"
#include "policy_internal.h"
#include "trusteed.h"

static pthread_mutex_t policy_doc_put_mu = PTHREAD_MUTEX_INITIALIZER;

/* 0 found (*out new object), 1 absent, -1 error. */
int
policy_doc_row_get(const char *name, json_t **out, struct error *err)
{
	json_error_t jerr;
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = store_get(policy_store, POLICY_TABLE, name, &val, &len, err);
	if (rc != 0)
		return rc;
	*out = json_loadb((const char *)val, len, 0, &jerr);
	secret_free(val, len);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return error_set(err, "policy store row %s is corrupt: %s",
		    name, jerr.text);
	}
	return 0;
}

static int
policy_doc_row_put(const char *name, const json_t *row, struct error *err)
{
	char *s = json_dumps(row, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return error_set(err, "cannot serialize policy row");
	rc = store_put(policy_store, POLICY_TABLE, name, s, strlen(s), err);
	free(s);
	return rc;
}

int
policy_doc_meta_int(const json_t *meta, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(meta, k));

	return v > 0 && v < INT32_MAX ? (int)v : 0;
}

/* Text of version v (>= 1) of key: 0, 1 absent, -1 error. */
int
policy_doc_version_text(const char *key, int v, char **text, size_t *len,
    json_t **rowp, struct error *err)
{
	char name[POLICY_KEY_MAX + 16];
	json_t *row, *t;
	int rc;

	snprintf(name, sizeof(name), "%s#%d", key, v);
	if ((rc = policy_doc_row_get(name, &row, err)) != 0)
		return rc;
	t = json_object_get(row, "text");
	if (!json_is_string(t)) {
		json_decref(row);
		return error_set(err, "policy store row %s has no text", name);
	}
	*len = json_string_length(t);
	*text = xstrndup(json_string_value(t), *len);
	if (rowp != NULL)
		*rowp = row;
	else
		json_decref(row);
	return 0;
}

static int
policy_doc_store_version(enum policy_kind kind, const char *id,
    const char *text, size_t len, const char *who, int restored_from,
    int *version, struct error *err)
{
	char key[POLICY_KEY_MAX], name[POLICY_KEY_MAX + 16];
	char when[TIME_RFC3339_LEN], shahex[65], whoc[128];
	uint8_t sha[HASH_MAX_SIZE];
	size_t shalen;
	json_t *meta = NULL, *row = NULL;
	int rc, n = 0;

	if (policy_store == NULL)
		return error_set(err, "no policy store (policy_init was not "
		    "called)");
	presult_clean(who != NULL ? who : "unknown", strlen(who != NULL ?
	    who : "unknown"), whoc, sizeof(whoc));
	if (hash_digest(HASH_SHA256, text, len, sha, &shalen) != 0)
		return error_set(err, "SHA-256 unavailable");
	hex_encode(sha, shalen, shahex);
	time_format_rfc3339(now_unix(), when);
	policy_key(kind, id, key);

	/* The next version number is read, then written: one writer at a
	 * time here (policy_doc_put_mu) and across the instances sharing the
	 * store (its "policies" lock). */
	pthread_mutex_lock(&policy_doc_put_mu);
	if ((rc = store_lock(policy_store, "policies", err)) != 0) {
		pthread_mutex_unlock(&policy_doc_put_mu);
		return rc < 0 ? rc : -1;
	}
	rc = policy_doc_row_get(key, &meta, err);
	if (rc < 0)
		goto out;
	n = rc == 0 ? policy_doc_meta_int(meta, "latest_version") + 1 : 1;
	rc = -1;
	row = json_pack("{s:i, s:s, s:s, s:s, s:s%}", "version", n,
	    "created", when, "created_by", whoc, "sha256", shahex, "text",
	    text, len);
	if (row == NULL) {
		error_set(err, "cannot build the policy row");
		goto out;
	}
	if (restored_from > 0)
		json_object_set_new(row, "restored_from",
		    json_integer(restored_from));
	snprintf(name, sizeof(name), "%s#%d", key, n);
	if (policy_doc_row_put(name, row, err) != 0)
		goto out;
	json_decref(meta);
	meta = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "kind",
	    policy_kind_name(kind), "id", id, "active_version", n,
	    "latest_version", n, "updated", when, "updated_by", whoc);
	if (meta == NULL) {
		error_set(err, "cannot build the policy meta row");
		goto out;
	}
	if (policy_doc_row_put(key, meta, err) != 0)
		goto out;
	*version = n;
	rc = 0;
out:
	store_unlock(policy_store, "policies");
	pthread_mutex_unlock(&policy_doc_put_mu);
	json_decref(meta);
	json_decref(row);
	if (rc == 0) {
		policy_cache_drop(key);
		log_info("policy %s: version %d stored by %s%s", key, n, whoc,
		    restored_from > 0 ? " (restored)" : "");
	}
	return rc;
}

int
policy_put(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int *version, json_t *warnings,
    struct error *err)
{
	int v;

	if (policy_id_check(kind, id, err) != 0 ||
	    policy_text_check(text, len, err) != 0)
		return -1;
	if (policy_store == NULL)
		return error_set(err, "no policy store (policy_init was not "
		    "called)");
	if (plua_check(text, len, err) != 0 ||
	    policy_probe(kind, id, text, len, warnings, err) != 0)
		return -1;
	if (policy_doc_store_version(kind, id, text, len, who, 0, &v, err) != 0)
		return -1;
	if (version != NULL)
		*version = v;
	return 0;
}

int
policy_get(enum policy_kind kind, const char *id, int version, char **text,
    size_t *len, struct error *err)
{
	char key[POLICY_KEY_MAX];
	const unsigned char *ship;
	const char *file;
	json_t *meta;
	size_t elen;
	int rc, v;

	*text = NULL;
	*len = 0;
	if (policy_id_check(kind, id, err) != 0)
		return -1;
	if (version < 0)
		return 1;
	if (policy_store == NULL) {
		file = policy_shipped_file(kind, id);
		ship = file != NULL ? embedded_get(file, &elen) : NULL;
		if (ship == NULL || version > 0)
			return 1;
		*text = xstrndup((const char *)ship, elen);
		*len = elen;
		return 0;
	}
	policy_key(kind, id, key);
	if ((rc = policy_doc_row_get(key, &meta, err)) != 0)
		return rc;
	v = version > 0 ? version : policy_doc_meta_int(meta, "active_version");
	if (v > policy_doc_meta_int(meta, "latest_version")) {
		json_decref(meta);
		return 1;
	}
	json_decref(meta);
	rc = policy_doc_version_text(key, v, text, len, NULL, err);
	return rc;
}

struct policy_doc_list_ctx {
	json_t *arr;
};

static int
policy_doc_list_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct policy_doc_list_ctx *ctx = arg;
	json_t *row, *e;

	if (strchr(name, '#') != NULL)
		return 0;
	row = json_loadb((const char *)val, len, 0, NULL);
	if (!json_is_object(row)) {
		log_warnx("policy store: corrupt meta row");
		json_decref(row);
		return 0;
	}
	e = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}",
	    "kind", json_object_get(row, "kind"),
	    "id", json_object_get(row, "id"),
	    "active_version", json_object_get(row, "active_version"),
	    "updated", json_object_get(row, "updated"),
	    "updated_by", json_object_get(row, "updated_by"));
	if (e != NULL)
		json_array_append_new(ctx->arr, e);
	json_decref(row);
	return 0;
}

static int
policy_doc_list_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *kx = json_string_value(json_object_get(x, "kind"));
	const char *ky = json_string_value(json_object_get(y, "kind"));
	const char *ix = json_string_value(json_object_get(x, "id"));
	const char *iy = json_string_value(json_object_get(y, "id"));
	int c = strcmp(kx ? kx : "", ky ? ky : "");

	return c != 0 ? c : strcmp(ix ? ix : "", iy ? iy : "");
}

int
policy_list(json_t **out, struct error *err)
{
	struct policy_doc_list_ctx ctx;
	json_t **v, *sorted;
	size_t i, n;

	*out = NULL;
	ctx.arr = json_array();
	if (policy_store == NULL) {
		for (i = 0; i < ARRAY_SIZE(policy_shipped_attestation); i++)
			json_array_append_new(ctx.arr, json_pack("{s:s, s:s, "
			    "s:i, s:n, s:s}", "kind", "attestation", "id",
			    policy_shipped_attestation[i].id, "active_version",
			    0, "updated", "updated_by", POLICY_SHIPPED_BY));
		json_array_append_new(ctx.arr, json_pack("{s:s, s:s, s:i, "
		    "s:n, s:s}", "kind", "resource", "id", POLICY_RESOURCE_ID,
		    "active_version", 0, "updated", "updated_by",
		    POLICY_SHIPPED_BY));
		*out = ctx.arr;
		return 0;
	}
	if (store_list(policy_store, POLICY_TABLE, policy_doc_list_cb, &ctx,
	    err) != 0) {
		json_decref(ctx.arr);
		return -1;
	}
	n = json_array_size(ctx.arr);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(ctx.arr, i);
	qsort(v, n, sizeof(*v), policy_doc_list_cmp);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(ctx.arr);
	*out = sorted;
	return 0;
}

int
policy_versions(enum policy_kind kind, const char *id, json_t **out,
    struct error *err)
{
	char key[POLICY_KEY_MAX], name[POLICY_KEY_MAX + 16];
	json_t *meta, *row, *arr, *e;
	int rc, v, latest, active;

	*out = NULL;
	if (policy_id_check(kind, id, err) != 0)
		return -1;
	if (policy_store == NULL)
		return error_set(err, "no policy store (policy_init was not "
		    "called)");
	policy_key(kind, id, key);
	if ((rc = policy_doc_row_get(key, &meta, err)) != 0) {
		if (rc > 0)
			error_set(err, "no %s policy '%s'",
			    policy_kind_name(kind), id);
		return -1;
	}
	latest = policy_doc_meta_int(meta, "latest_version");
	active = policy_doc_meta_int(meta, "active_version");
	json_decref(meta);
	arr = json_array();
	for (v = 1; v <= latest; v++) {
		snprintf(name, sizeof(name), "%s#%d", key, v);
		rc = policy_doc_row_get(name, &row, err);
		if (rc < 0) {
			json_decref(arr);
			return -1;
		}
		if (rc > 0)
			continue;
		e = json_pack("{s:i, s:O?, s:O?, s:O?, s:b}", "version", v,
		    "created", json_object_get(row, "created"),
		    "created_by", json_object_get(row, "created_by"),
		    "sha256", json_object_get(row, "sha256"),
		    "active", v == active);
		if (e != NULL && json_object_get(row, "restored_from") != NULL)
			json_object_set(e, "restored_from",
			    json_object_get(row, "restored_from"));
		if (e != NULL)
			json_array_append_new(arr, e);
		json_decref(row);
	}
	*out = arr;
	return 0;
}

int
policy_restore(enum policy_kind kind, const char *id, int version,
    const char *who, int *new_version, struct error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc, v;

	if (policy_store == NULL)
		return error_set(err, "no policy store (policy_init was not "
		    "called)");
	if (version < 1)
		return 1;
	rc = policy_get(kind, id, version, &text, &len, err);
	if (rc != 0)
		return rc;
	rc = plua_check(text, len, err);
	if (rc == 0)
		rc = policy_doc_store_version(kind, id, text, len, who, version,
		    &v, err);
	free(text);
	if (rc == 0 && new_version != NULL)
		*new_version = v;
	return rc;
}
