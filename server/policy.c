/*
 * policy.c: the active policies and the API of policy.h around them:
 * the cache of active policy texts, evaluation (policy_appraise,
 * policy_resource), lifecycle, and the names, ids and texts every policy
 * file checks the same way. Stored versions are in policy_doc.c, dry runs
 * (policy_test) in policy_test.c, one evaluation in policy_lua.c, result
 * checking in policy_result.c.
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

#define POLICY_CACHE_TTL_NS (2ULL * 1000000000ULL)

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
struct store *policy_store;
static struct pactive *policy_cache;
static enum resource_policy_mode policy_rmode = RPOLICY_DEFAULT;

const struct policy_shipped policy_shipped_attestation[] = {
	{ "default_cpu", "lua-policies/default_cpu.lua" },
	{ "default_gpu", "lua-policies/default_gpu.lua" },
};

const char *
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
const char *
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
int
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

void
policy_key(enum policy_kind kind, const char *id, char key[POLICY_KEY_MAX])
{
	snprintf(key, POLICY_KEY_MAX, "%s:%s", policy_kind_name(kind), id);
}

int
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

void
policy_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
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

void
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
	rc = policy_doc_row_get(key, &meta, err);
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
	active = policy_doc_meta_int(meta, "active_version");
	json_decref(meta);
	if (e != NULL && e->version == active) {
		e->checked = now;
		goto hit;
	}
	rc = policy_doc_version_text(key, active, &text, &len, NULL, err);
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

/* stamp (POLICY_STAMP_LEN): e's text's SHA-256, then the budgets'
 * generation gen, big-endian. */
static void
policy_stamp(const struct pactive *e, uint64_t gen,
    uint8_t stamp[POLICY_STAMP_LEN])
{
	int i;

	memcpy(stamp, e->sha, 32);
	for (i = 0; i < 8; i++)
		stamp[32 + i] = (uint8_t)(gen >> (56 - 8 * i));
}

int
policy_resource_stamp(uint8_t stamp[POLICY_STAMP_LEN], struct error *err)
{
	struct pactive *e;
	uint64_t gen = plua_generation();
	int rc;

	if ((rc = policy_active(POLICY_RESOURCE, POLICY_RESOURCE_ID, &e,
	    err)) != 0)
		return rc == STORE_UNAVAILABLE ? rc : -1;
	policy_stamp(e, gen, stamp);
	pactive_release(e);
	return 0;
}

int
policy_resource(const json_t *claims, const json_t *request, int *allowed,
    char reason[POLICY_REASON_MAX], uint8_t stamp[POLICY_STAMP_LEN],
    struct error *err)
{
	struct plua_call c;
	struct pactive *e;
	struct error perr;
	uint64_t gen = plua_generation();
	int rc;

	*allowed = 0;
	if (stamp != NULL)
		memset(stamp, 0, POLICY_STAMP_LEN);
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
	/* The generation read before the run: a budget changed meanwhile
	 * gives a stamp no later lookup matches. */
	if (stamp != NULL && !c.impure)
		policy_stamp(e, gen, stamp);
	pactive_release(e);
	*allowed = c.allowed;
	policy_copy(reason, POLICY_REASON_MAX, c.reason);
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
	rc = policy_doc_row_get(key, &meta, err);
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
