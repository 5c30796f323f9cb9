/*
 * policy.c: policies as versioned documents in the encrypted store, the
 * cache of active policies, and the API of policy.h (evaluation itself is
 * in policy_lua.c, result checking in policy_result.c).
 *
 * Store layout, table "policies" (names and values are sealed by the
 * store):
 *   "<kind>:<id>"     {"kind","id","active_version","latest_version",
 *                      "updated","updated_by"}
 *   "<kind>:<id>#<n>" {"version","created","created_by","sha256","text",
 *                      "restored_from"?}
 * with kind "attestation" or "resource". Versions are never rewritten; a
 * restore stores the old text again as a new version.
 *
 * The active text of each policy is cached in memory (shared, reference
 * counted) and revalidated against the store's meta row every
 * POLICY_CACHE_TTL; a write by another instance sharing the database
 * empties the cache within about two store poll intervals (store_watch),
 * and an upload through this process takes effect at once.
 *
 * Without a store (policy_init not called, e.g. trusteectl offline) the
 * shipped defaults compiled into the binary are the active policies.
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

#define POLICY_TABLE "policies"
#define POLICY_CACHE_TTL_NS (2ULL * 1000000000ULL)
#define POLICY_KEY_MAX (POLICY_ID_MAX + 32)
#define POLICY_SHIPPED_BY "trusteed (shipped default)"

/* An active policy text: immutable, reference counted under policy_mu
 * (the cache list holds one reference). */
struct pactive {
	int refs;
	int version;			/* 0: shipped default, no store */
	char key[POLICY_KEY_MAX];
	uint8_t sha[HASH_MAX_SIZE];	/* SHA-256 in the first 32 */
	char *text;
	size_t len;
	uint64_t checked;		/* monotonic ns of the last check */
	struct pactive *next;
};

static pthread_mutex_t policy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t policy_put_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store *policy_store;
static struct pactive *policy_cache;
static enum resource_policy_mode policy_rmode = RPOLICY_DEFAULT;

struct policy_shipped {
	const char *id;
	const char *file;
};

static const struct policy_shipped policy_shipped_attestation[] = {
	{ "default_cpu", "lua-policies/default_cpu.lua" },
	{ "default_gpu", "lua-policies/default_gpu.lua" },
};

static const char *
policy_kind_name(enum policy_kind kind)
{
	return kind == POLICY_RESOURCE ? "resource" : "attestation";
}

static const char *
policy_resource_file(enum resource_policy_mode m)
{
	switch (m) {
	case RPOLICY_ALLOW_ALL:
		return "lua-policies/allow_all.lua";
	case RPOLICY_DENY_ALL:
		return "lua-policies/deny_all.lua";
	case RPOLICY_DEFAULT:
	default:
		return "lua-policies/resource_default.lua";
	}
}

/* The shipped file for (kind, id), or NULL. */
static const char *
policy_shipped_file(enum policy_kind kind, const char *id)
{
	size_t i;

	if (kind == POLICY_RESOURCE)
		return strcmp(id, POLICY_RESOURCE_ID) == 0 ?
		    policy_resource_file(policy_rmode) : NULL;
	for (i = 0; i < ARRAY_SIZE(policy_shipped_attestation); i++)
		if (strcmp(id, policy_shipped_attestation[i].id) == 0)
			return policy_shipped_attestation[i].file;
	return NULL;
}

/* Attestation ids: 1..64 of [A-Za-z0-9._-], not starting with '.'
 * ("default_cpu"); the resource policy id is fixed. */
static int
policy_id_check(enum policy_kind kind, const char *id, struct error *err)
{
	size_t len;

	if (id == NULL)
		return error_set(err, "no policy id");
	if (kind == POLICY_RESOURCE) {
		if (strcmp(id, POLICY_RESOURCE_ID) != 0)
			return error_set(err, "the resource policy's id is "
			    "\"%s\"", POLICY_RESOURCE_ID);
		return 0;
	}
	len = strlen(id);
	if (len == 0 || len > POLICY_ID_MAX || id[0] == '.' ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != len)
		return error_set(err, "invalid attestation policy id: expected "
		    "1..%d characters of [A-Za-z0-9._-] such as "
		    "\"default_cpu\"", POLICY_ID_MAX);
	return 0;
}

static void
policy_key(enum policy_kind kind, const char *id, char key[POLICY_KEY_MAX])
{
	snprintf(key, POLICY_KEY_MAX, "%s:%s", policy_kind_name(kind), id);
}

static int
policy_text_check(const char *text, size_t len, struct error *err)
{
	json_t *s;

	if (text == NULL || len == 0)
		return error_set(err, "empty policy text");
	if (len > POLICY_TEXT_MAX)
		return error_set(err, "policy text is %zu bytes; at most %d "
		    "are accepted", len, POLICY_TEXT_MAX);
	if (memchr(text, '\0', len) != NULL)
		return error_set(err, "policy text contains a NUL byte "
		    "(binary chunks are not accepted)");
	if ((s = json_stringn(text, len)) == NULL)
		return error_set(err, "policy text is not valid UTF-8");
	json_decref(s);
	return 0;
}

static void
policy_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---------------------------------------------------------- store rows */

/* 0 found (*out new object), 1 absent, -1 error. */
static int
policy_row_get(const char *name, json_t **out, struct error *err)
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
policy_row_put(const char *name, const json_t *row, struct error *err)
{
	char *s = json_dumps(row, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return error_set(err, "cannot serialize policy row");
	rc = store_put(policy_store, POLICY_TABLE, name, s, strlen(s), err);
	free(s);
	return rc;
}

static int
policy_meta_int(const json_t *meta, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(meta, k));

	return v > 0 && v < INT32_MAX ? (int)v : 0;
}

/* Text of version v (>= 1) of key: 0, 1 absent, -1 error. */
static int
policy_version_text(const char *key, int v, char **text, size_t *len,
    json_t **rowp, struct error *err)
{
	char name[POLICY_KEY_MAX + 16];
	json_t *row, *t;
	int rc;

	snprintf(name, sizeof(name), "%s#%d", key, v);
	if ((rc = policy_row_get(name, &row, err)) != 0)
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

/* ------------------------------------------------------ active policies */

static void
pactive_free(struct pactive *e)
{
	if (e == NULL)
		return;
	free(e->text);
	free(e);
}

static void
pactive_release(struct pactive *e)
{
	int last;

	pthread_mutex_lock(&policy_mu);
	last = --e->refs == 0;
	pthread_mutex_unlock(&policy_mu);
	if (last)
		pactive_free(e);
}

/* Unlink key (every entry when NULL) from the cache (policy_mu held);
 * entries still in use are freed by their last release. */
static void
policy_cache_drop_locked(const char *key)
{
	struct pactive **pp = &policy_cache, *e;

	while ((e = *pp) != NULL) {
		if (key != NULL && strcmp(e->key, key) != 0) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		if (--e->refs == 0)
			pactive_free(e);
	}
}

static void
policy_cache_drop(const char *key)
{
	pthread_mutex_lock(&policy_mu);
	policy_cache_drop_locked(key);
	pthread_mutex_unlock(&policy_mu);
}

static struct pactive *
pactive_new(const char *key, int version, const char *text, size_t len)
{
	struct pactive *e = xcalloc(1, sizeof(*e));
	size_t n;

	policy_copy(e->key, sizeof(e->key), key);
	e->version = version;
	e->text = xstrndup(text, len);
	e->len = len;
	if (hash_digest(HASH_SHA256, text, len, e->sha, &n) != 0)
		fatalx("policy: SHA-256 unavailable");
	e->refs = 1;
	e->checked = now_mono_ns();
	return e;
}

/*
 * The active policy (kind, id) with a reference taken (release with
 * pactive_release), loading or revalidating it as needed. -1, or
 * STORE_UNAVAILABLE when it is not cached and the store cannot be
 * reached.
 */
static int
policy_active(enum policy_kind kind, const char *id, struct pactive **out,
    struct error *err)
{
	char key[POLICY_KEY_MAX];
	struct pactive *e, *ne = NULL;
	const unsigned char *ship;
	const char *file;
	json_t *meta = NULL;
	char *text = NULL;
	size_t len = 0, elen;
	uint64_t now = now_mono_ns();
	int rc, active;

	*out = NULL;
	policy_key(kind, id, key);
	pthread_mutex_lock(&policy_mu);
	for (e = policy_cache; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (e != NULL && (policy_store == NULL ||
	    now - e->checked < POLICY_CACHE_TTL_NS))
		goto hit;
	if (policy_store == NULL) {
		file = policy_shipped_file(kind, id);
		ship = file != NULL ? embedded_get(file, &elen) : NULL;
		if (ship == NULL) {
			pthread_mutex_unlock(&policy_mu);
			return error_set(err, "no %s policy '%s' (and no policy "
			    "store)", policy_kind_name(kind), id);
		}
		ne = pactive_new(key, 0, (const char *)ship, elen);
		goto install;
	}
	rc = policy_row_get(key, &meta, err);
	if (rc != 0) {
		if (rc < 0 && e != NULL) {
			log_warnx("policy %s: %s; using the cached version %d",
			    key, err->msg, e->version);
			e->checked = now;
			goto hit;
		}
		pthread_mutex_unlock(&policy_mu);
		if (rc > 0)
			error_set(err, "no %s policy '%s'",
			    policy_kind_name(kind), id);
		return rc == STORE_UNAVAILABLE ? rc : -1;
	}
	active = policy_meta_int(meta, "active_version");
	json_decref(meta);
	if (e != NULL && e->version == active) {
		e->checked = now;
		goto hit;
	}
	rc = policy_version_text(key, active, &text, &len, NULL, err);
	if (rc != 0) {
		pthread_mutex_unlock(&policy_mu);
		if (rc > 0)
			error_set(err, "policy %s: active version %d is missing",
			    key, active);
		return rc == STORE_UNAVAILABLE ? rc : -1;
	}
	ne = pactive_new(key, active, text, len);
	free(text);
install:
	if (e != NULL)
		policy_cache_drop_locked(key);
	ne->next = policy_cache;
	policy_cache = ne;
	e = ne;
hit:
	e->refs++;
	pthread_mutex_unlock(&policy_mu);
	*out = e;
	return 0;
}

/* ------------------------------------------------------------- storing */

static int
policy_store_version(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int restored_from, int *version,
    struct error *err)
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
	 * time here (policy_put_mu) and across the instances sharing the
	 * store (its "policies" lock). */
	pthread_mutex_lock(&policy_put_mu);
	if ((rc = store_lock(policy_store, "policies", err)) != 0) {
		pthread_mutex_unlock(&policy_put_mu);
		return rc < 0 ? rc : -1;
	}
	rc = policy_row_get(key, &meta, err);
	if (rc < 0)
		goto out;
	n = rc == 0 ? policy_meta_int(meta, "latest_version") + 1 : 1;
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
	if (policy_row_put(name, row, err) != 0)
		goto out;
	json_decref(meta);
	meta = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "kind",
	    policy_kind_name(kind), "id", id, "active_version", n,
	    "latest_version", n, "updated", when, "updated_by", whoc);
	if (meta == NULL) {
		error_set(err, "cannot build the policy meta row");
		goto out;
	}
	if (policy_row_put(key, meta, err) != 0)
		goto out;
	*version = n;
	rc = 0;
out:
	store_unlock(policy_store, "policies");
	pthread_mutex_unlock(&policy_put_mu);
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
	if (policy_store_version(kind, id, text, len, who, 0, &v, err) != 0)
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
	if ((rc = policy_row_get(key, &meta, err)) != 0)
		return rc;
	v = version > 0 ? version : policy_meta_int(meta, "active_version");
	if (v > policy_meta_int(meta, "latest_version")) {
		json_decref(meta);
		return 1;
	}
	json_decref(meta);
	rc = policy_version_text(key, v, text, len, NULL, err);
	return rc;
}

struct policy_list_ctx {
	json_t *arr;
};

static int
policy_list_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct policy_list_ctx *ctx = arg;
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
policy_list_cmp(const void *a, const void *b)
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
	struct policy_list_ctx ctx;
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
	if (store_list(policy_store, POLICY_TABLE, policy_list_cb, &ctx,
	    err) != 0) {
		json_decref(ctx.arr);
		return -1;
	}
	n = json_array_size(ctx.arr);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(ctx.arr, i);
	qsort(v, n, sizeof(*v), policy_list_cmp);
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
	if ((rc = policy_row_get(key, &meta, err)) != 0) {
		if (rc > 0)
			error_set(err, "no %s policy '%s'",
			    policy_kind_name(kind), id);
		return -1;
	}
	latest = policy_meta_int(meta, "latest_version");
	active = policy_meta_int(meta, "active_version");
	json_decref(meta);
	arr = json_array();
	for (v = 1; v <= latest; v++) {
		snprintf(name, sizeof(name), "%s#%d", key, v);
		rc = policy_row_get(name, &row, err);
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
		rc = policy_store_version(kind, id, text, len, who, version,
		    &v, err);
	free(text);
	if (rc == 0 && new_version != NULL)
		*new_version = v;
	return rc;
}

/* ----------------------------------------------------------- evaluation */

int
policy_appraise(const char *policy_id, const char *tee_class,
    const json_t *input, int v[8], json_t **extensions, struct error *err)
{
	char id[POLICY_KEY_MAX];
	struct plua_call c;
	struct pactive *e;
	struct error perr;
	int n;

	*extensions = NULL;
	if (policy_id == NULL || policy_id[0] == '\0')
		policy_id = "default";
	if (tee_class == NULL || tee_class[0] == '\0')
		return error_set(err, "no TEE class for the attestation "
		    "policy");
	n = snprintf(id, sizeof(id), "%s_%s", policy_id, tee_class);
	if (n < 0 || (size_t)n >= sizeof(id) ||
	    policy_id_check(POLICY_ATTESTATION, id, err) != 0)
		return error_set(err, "invalid attestation policy id "
		    "\"%.64s\" for TEE class \"%.32s\"", policy_id, tee_class);
	if (policy_active(POLICY_ATTESTATION, id, &e, err) != 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.label = id;
	c.text = e->text;
	c.len = e->len;
	c.sha = e->sha;
	c.args[0] = input;
	c.nargs = 1;
	c.shape = PLUA_SHAPE_ATTESTATION;
	if (plua_run(&c, &perr) != 0) {
		error_set(err, "attestation policy %s (version %d): %s", id,
		    e->version, perr.msg);
		presult_clean_error(err);
		log_info("%s", err->msg);
		pactive_release(e);
		return -1;
	}
	pactive_release(e);
	memcpy(v, c.v, sizeof(c.v));
	*extensions = c.ext;
	return 0;
}

int
policy_resource(const json_t *claims, const json_t *request, int *allowed,
    char reason[POLICY_REASON_MAX], struct error *err)
{
	struct plua_call c;
	struct pactive *e;
	struct error perr;
	int rc;

	*allowed = 0;
	if ((rc = policy_active(POLICY_RESOURCE, POLICY_RESOURCE_ID, &e,
	    err)) != 0) {
		policy_copy(reason, POLICY_REASON_MAX, err->msg);
		return rc == STORE_UNAVAILABLE ? rc : -1;
	}
	memset(&c, 0, sizeof(c));
	c.label = POLICY_RESOURCE_ID;
	c.text = e->text;
	c.len = e->len;
	c.sha = e->sha;
	c.args[0] = claims;
	c.args[1] = request;
	c.nargs = 2;
	c.shape = PLUA_SHAPE_RESOURCE;
	if (plua_run(&c, &perr) != 0) {
		error_set(err, "resource policy (version %d) failed: %s",
		    e->version, perr.msg);
		presult_clean_error(err);
		policy_copy(reason, POLICY_REASON_MAX, err->msg);
		log_warnx("%s", err->msg);
		pactive_release(e);
		return -1;
	}
	pactive_release(e);
	*allowed = c.allowed;
	policy_copy(reason, POLICY_REASON_MAX, c.reason);
	return 0;
}

/* "ear.status affirming" or the claims that made it worse. */
static void
policy_vector_reason(const int v[8], const char *status, char *out,
    size_t cap)
{
	struct buf b = { 0 };
	size_t i;
	int any = 0;

	buf_printf(&b, "ear.status %s", status);
	for (i = 0; i < 8; i++) {
		const char *t = ear_tier(v[i]);

		if (ear_tier_rank(t) < 2)
			continue;
		buf_printf(&b, "%s%s %d (%s)", any ? ", " : ": ",
		    presult_claim_names[i], v[i], t);
		any = 1;
	}
	policy_copy(out, cap, buf_cstr(&b));
	buf_free(&b);
}

int
policy_test(enum policy_kind kind, const char *text, size_t len,
    const char *id, int version, const json_t *input, json_t **result,
    struct error *err)
{
	char reason[POLICY_REASON_MAX], shahex[65];
	uint8_t sha[HASH_MAX_SIZE];
	struct plua_call c;
	struct error perr;
	const char *status = "none";
	json_t *res, *vec;
	char *owned = NULL;
	size_t i, shalen;
	int rc;

	if (result == NULL)
		return error_set(err, "no result pointer");
	*result = NULL;
	if (text == NULL) {
		if (id == NULL)
			return error_set(err, "give a policy text or a stored "
			    "policy id");
		rc = policy_get(kind, id, version, &owned, &len, err);
		if (rc > 0)
			return error_set(err, "no %s policy '%s' version %d",
			    policy_kind_name(kind), id, version);
		if (rc < 0)
			return -1;
		text = owned;
	} else if (policy_text_check(text, len, err) != 0) {
		return -1;
	}
	if (kind == POLICY_RESOURCE && input != NULL &&
	    !json_is_object(input)) {
		free(owned);
		return error_set(err, "resource policy test input must be "
		    "{\"claims\": {...}, \"request\": {...}}");
	}
	memset(&c, 0, sizeof(c));
	c.label = id != NULL ? id : "test";
	c.text = text;
	c.len = len;
	c.log = json_array();
	if (kind == POLICY_ATTESTATION) {
		c.shape = PLUA_SHAPE_ATTESTATION;
		c.args[0] = input;
		c.nargs = 1;
	} else {
		c.shape = PLUA_SHAPE_RESOURCE;
		c.args[0] = json_object_get(input, "claims");
		c.args[1] = json_object_get(input, "request");
		c.nargs = 2;
	}
	rc = plua_run(&c, &perr);
	res = json_object();
	if (rc != 0) {
		json_object_set_new(res, "result", json_null());
		json_object_set_new(res, "reason", json_string(perr.msg));
		json_object_set_new(res, "error", json_string(perr.msg));
	} else if (kind == POLICY_ATTESTATION) {
		vec = json_object();
		for (i = 0; i < 8; i++) {
			const char *t = ear_tier(c.v[i]);

			json_object_set_new(vec, presult_claim_names[i],
			    json_integer(c.v[i]));
			if (ear_tier_rank(t) > ear_tier_rank(status))
				status = t;
		}
		policy_vector_reason(c.v, status, reason, sizeof(reason));
		json_object_set_new(res, "result", vec);
		json_object_set_new(res, "status", json_string(status));
		json_object_set_new(res, "extensions", c.ext);
		json_object_set_new(res, "reason", json_string(reason));
	} else {
		json_object_set_new(res, "result", json_boolean(c.allowed));
		json_object_set_new(res, "reason", json_string(c.reason));
	}
	json_object_set_new(res, "log", c.log);
	if (hash_digest(HASH_SHA256, text, len, sha, &shalen) == 0) {
		hex_encode(sha, shalen, shahex);
		json_object_set_new(res, "sha256", json_string(shahex));
	}
	free(owned);
	*result = res;
	return 0;
}

/* ---------------------------------------------------------- lifecycle */

static int
policy_seed(enum policy_kind kind, const char *id, const char *file,
    struct error *err)
{
	char key[POLICY_KEY_MAX];
	const unsigned char *text;
	json_t *meta;
	size_t len;
	int rc;

	policy_key(kind, id, key);
	rc = policy_row_get(key, &meta, err);
	json_decref(meta);
	if (rc <= 0)
		return rc;
	text = embedded_get(file, &len);
	if (text == NULL)
		return error_set(err, "shipped policy %s is missing from this "
		    "build", file);
	if (policy_put(kind, id, (const char *)text, len, POLICY_SHIPPED_BY,
	    NULL, NULL, err) != 0)
		return error_prefix(err, "shipped policy %s", file);
	log_info("policy %s: seeded from %s", key, file);
	return 0;
}

/* Another instance wrote the policies table (store_watch, on the store's
 * poller thread): forget the cached texts, so the next evaluation reads
 * the active version from the store. */
static void
policy_on_change(const char *table, void *arg)
{
	(void)table;
	(void)arg;
	policy_cache_drop(NULL);
}

int
policy_init(struct store *st, const struct config *cfg, struct error *err)
{
	size_t i;

	plua_configure(cfg != NULL ? cfg->policy_instructions : 0,
	    cfg != NULL ? cfg->policy_memory_kib : 0,
	    cfg != NULL ? cfg->policy_time_ms : 0);
	policy_cache_drop(NULL);
	policy_rmode = cfg != NULL ? cfg->resource_policy : RPOLICY_DEFAULT;
	policy_store = st;
	if (st == NULL)
		return 0;
	if (store_watch(st, POLICY_TABLE, policy_on_change, NULL, err) != 0)
		goto fail;
	for (i = 0; i < ARRAY_SIZE(policy_shipped_attestation); i++)
		if (policy_seed(POLICY_ATTESTATION,
		    policy_shipped_attestation[i].id,
		    policy_shipped_attestation[i].file, err) != 0)
			goto fail;
	if (policy_seed(POLICY_RESOURCE, POLICY_RESOURCE_ID,
	    policy_resource_file(policy_rmode), err) != 0)
		goto fail;
	return 0;
fail:
	policy_store = NULL;
	return -1;
}

void
policy_shutdown(void)
{
	policy_cache_drop(NULL);
	policy_store = NULL;
	policy_rmode = RPOLICY_DEFAULT;
	plua_thread_release();
}

void
policy_reload(void)
{
	policy_cache_drop(NULL);
}

int
policy_health(struct error *err)
{
	return plua_health(err);
}

void
policy_stats(struct policy_stats *out)
{
	plua_stats(out);
}
