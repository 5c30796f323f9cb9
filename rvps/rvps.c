/*
 * rvps.c: the reference value store (see rvps.h for the model): name and
 * text checks, records, store rows (current + history), the in-memory
 * copy behind rvps_query, expiry and revocation. The register envelope
 * is in rvps_register.c; what both share is in rvps_internal.h.
 *
 * Locking: rvps_g.wlock serializes every writer and every reload (so a
 * reload never drops a write made while it scanned the store); it is
 * taken before rvps_g.lock, which guards the in-memory copy for readers.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "rvps.h"
#include "rvps_internal.h"

#define RVPS_TABLE "rv"
#define RVPS_HISTORY_TABLE "rv_history"
#define RVPS_VERSION_MAX 2000000000

struct rvps_state rvps_g = {
	.lock = PTHREAD_RWLOCK_INITIALIZER,
	.wlock = PTHREAD_MUTEX_INITIALIZER,
};

/* A stored record, parsed and checked (pointers borrowed from the JSON). */
struct rvps_rec {
	const char *name;
	json_int_t version;
	json_t *value;
	int64_t created;
	int64_t expiration;
	int revoked;
};

/* ------------------------------------------------------------ text checks */

/*
 * Decode one UTF-8 sequence of s[*i..len) (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF). 0 and *cp, or -1.
 */
static int
rvps_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	uint32_t c = s[*i], min;
	size_t n, k;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[*i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*i += n + 1;
	return 0;
}

/*
 * Check s (what names it in messages): at most max bytes, valid UTF-8,
 * no control character (C0, DEL, C1); empty only if allow_empty.
 */
int
rvps_text_check(const char *s, size_t max, const char *what, int allow_empty,
    struct error *err)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[RVPS_ESC];
	size_t len, i = 0, at;
	uint32_t cp;

	if (s == NULL || s[0] == '\0') {
		if (allow_empty)
			return 0;
		return error_set(err, "%s is empty", what);
	}
	len = strnlen(s, max + 1);
	if (len > max)
		return error_set(err, "%s '%s' is longer than %zu bytes", what,
		    log_escape(s, esc, sizeof(esc)), max);
	while (i < len) {
		at = i;
		if (rvps_utf8_next(u, len, &i, &cp) == -1)
			return error_set(err, "%s '%s' is not valid UTF-8 "
			    "(at byte %zu)", what,
			    log_escape(s, esc, sizeof(esc)), at);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return error_set(err, "%s '%s' contains the control "
			    "character U+%04" PRIX32 " (at byte %zu)", what,
			    log_escape(s, esc, sizeof(esc)), cp, at);
	}
	return 0;
}

int
rvps_check_name(const char *name, struct error *err)
{
	return rvps_text_check(name, RVPS_NAME_MAX, "reference value name", 0,
	    err);
}

/* A value must serialize to at most RVPS_VALUE_MAX bytes. */
int
rvps_value_check(const char *name, const json_t *value, struct error *err)
{
	char esc[RVPS_ESC];
	size_t n;

	if (value == NULL)
		return error_set(err, "reference value '%s' has no value",
		    log_escape(name, esc, sizeof(esc)));
	n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (n == 0)
		return error_set(err, "reference value '%s': the value "
		    "cannot be encoded as JSON",
		    log_escape(name, esc, sizeof(esc)));
	if (n > RVPS_VALUE_MAX)
		return error_set(err, "reference value '%s': the value is "
		    "%zu bytes as JSON, more than the limit of %d",
		    log_escape(name, esc, sizeof(esc)), n, RVPS_VALUE_MAX);
	return 0;
}

/* -------------------------------------------------------------- records */

static json_t *
rvps_time_json(int64_t t)
{
	char buf[TIME_RFC3339_LEN];

	time_format_rfc3339(t, buf);
	return json_string(buf);
}

/* A new record for version of name (the value is copied). */
static json_t *
rvps_record_new(const char *name, json_int_t version, const json_t *value,
    int64_t created, int64_t expiration, const char *who)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "name", json_string(name));
	json_object_set_new(rec, "version", json_integer(version));
	json_object_set_new(rec, "value", json_deep_copy(value));
	json_object_set_new(rec, "created", rvps_time_json(created));
	json_object_set_new(rec, "expiration", rvps_time_json(expiration));
	json_object_set_new(rec, "added_by", json_string(who ? who : ""));
	json_object_set_new(rec, "revoked", json_null());
	return rec;
}

static int
rvps_time_member(const json_t *obj, const char *key, int64_t *t)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s == NULL ? -1 : time_parse_rfc3339(s, t);
}

/* Parse and check a stored record (a row we wrote, so any flaw is a bug
 * or a damaged database: reported with what is wrong). */
static int
rvps_record_parse(json_t *rec, struct rvps_rec *r, struct error *err)
{
	json_t *rv;
	int64_t at;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(rec))
		return error_set(err, "not a JSON object");
	r->name = json_string_value(json_object_get(rec, "name"));
	if (r->name == NULL)
		return error_set(err, "no string \"name\"");
	if (!json_is_integer(json_object_get(rec, "version")) ||
	    (r->version = json_integer_value(json_object_get(rec,
	    "version"))) < 1 || r->version > RVPS_VERSION_MAX)
		return error_set(err, "no \"version\" in 1..%d",
		    RVPS_VERSION_MAX);
	r->value = json_object_get(rec, "value");
	if (r->value == NULL)
		return error_set(err, "no \"value\"");
	if (rvps_time_member(rec, "created", &r->created) == -1)
		return error_set(err, "no RFC 3339 \"created\"");
	if (rvps_time_member(rec, "expiration", &r->expiration) == -1)
		return error_set(err, "no RFC 3339 \"expiration\"");
	if (!json_is_string(json_object_get(rec, "added_by")))
		return error_set(err, "no string \"added_by\"");
	rv = json_object_get(rec, "revoked");
	if (json_is_object(rv)) {
		if (!json_is_string(json_object_get(rv, "by")) ||
		    !json_is_string(json_object_get(rv, "reason")) ||
		    rvps_time_member(rv, "at", &at) == -1)
			return error_set(err, "\"revoked\" lacks by, at or "
			    "reason");
		r->revoked = 1;
	} else if (!json_is_null(rv))
		return error_set(err, "\"revoked\" is neither null nor an "
		    "object");
	return 0;
}

static const char *
rvps_state_of(const struct rvps_rec *r, int64_t now)
{
	if (r->revoked)
		return "revoked";
	return now >= r->expiration ? "expired" : "valid";
}

/* A copy of rec with "state" appended. */
static json_t *
rvps_record_out(const json_t *rec, const char *state)
{
	json_t *out = json_deep_copy(rec);

	json_object_set_new(out, "state", json_string(state));
	return out;
}

static json_t *
rvps_cache_entry(const struct rvps_rec *r)
{
	json_t *e = json_object();

	json_object_set(e, "v", r->value);
	json_object_set_new(e, "e", json_integer(r->expiration));
	json_object_set_new(e, "r", json_boolean(r->revoked));
	return e;
}

/* ------------------------------------------------------------ store rows */

static char *
rvps_history_row(const char *name, json_int_t version)
{
	return xasprintf("%s\x1f%" JSON_INTEGER_FORMAT, name, version);
}

/* Parse row bytes into a checked record (*rec new ref). */
static int
rvps_row_decode(const char *table, const char *row, const uint8_t *val,
    size_t len, json_t **rec, struct rvps_rec *r, struct error *err)
{
	char esc[RVPS_ESC];
	json_error_t jerr;
	json_t *j;

	*rec = NULL;
	j = json_loadb((const char *)val, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return error_set(err, "reference values: stored row '%s' in "
		    "table '%s' is not JSON: %s", log_escape(row, esc,
		    sizeof(esc)), table, jerr.text);
	if (rvps_record_parse(j, r, err) == -1) {
		json_decref(j);
		return error_prefix(err, "reference values: stored row '%s' "
		    "in table '%s' is malformed", log_escape(row, esc,
		    sizeof(esc)), table);
	}
	*rec = j;
	return 0;
}

/* 0 found (*rec new ref), 1 absent, -1 error. */
static int
rvps_row_get(const char *table, const char *row, json_t **rec,
    struct rvps_rec *r, struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*rec = NULL;
	rc = store_get(rvps_g.st, table, row, &val, &len, err);
	/* An unreachable database is an error; a row that fails
	 * authentication is as good as absent (logged by the store): a new
	 * value replaces it. */
	if (rc == STORE_UNAVAILABLE)
		return -1;
	if (rc == STORE_CORRUPT)
		return 1;
	if (rc != 0)
		return rc;
	rc = rvps_row_decode(table, row, val, len, rec, r, err);
	secret_free(val, len);
	return rc;
}

static int
rvps_row_put(const char *table, const char *row, const json_t *rec,
    struct error *err)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return error_set(err, "reference values: cannot encode a "
		    "record");
	rc = store_put(rvps_g.st, table, row, s, strlen(s), err);
	free(s);
	return rc;
}

static int
rvps_history_put(const json_t *rec, struct error *err)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	json_int_t v = json_integer_value(json_object_get(rec, "version"));
	char *row = rvps_history_row(name, v);
	int rc;

	rc = rvps_row_put(RVPS_HISTORY_TABLE, row, rec, err);
	free(row);
	return rc;
}

static void
rvps_history_delete(const char *name, json_int_t version)
{
	struct error err = { "" };
	char *row = rvps_history_row(name, version);
	char esc[RVPS_ESC];

	if (store_delete(rvps_g.st, RVPS_HISTORY_TABLE, row, &err) == -1)
		log_warnx("reference values: cannot delete version %"
		    JSON_INTEGER_FORMAT " of '%s' from the history: %s",
		    version, log_escape(name, esc, sizeof(esc)), err.msg);
	free(row);
}

static int
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
#define RVPS_LOCK "reference_values"

static int
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

static int
rvps_cmp_version_desc(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "version"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "version"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Sort the records of array arr in place with cmp. */
static void
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

	if (rvps_row_decode(RVPS_TABLE, row, val, len, &rec, &r,
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
	json_object_set_new(c->cache, row, rvps_cache_entry(&r));
	if (c->records != NULL)
		json_array_append_new(c->records, rvps_record_out(rec,
		    rvps_state_of(&r, c->now)));
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
static void
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

/* ------------------------------------------------------------------ query */

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

/* ----------------------------------------------------------------- writes */

struct rvps_item {
	const char *name;
	json_t *prev;		/* the current record before, or NULL */
	json_t *rec;		/* the new record */
	int current_done;	/* rows written, for the rollback */
	int history_done;
};

/* Undo the rows written for items[0..n): restore each previous record
 * (or drop the new name) and drop the new history rows. Best effort:
 * failures are logged. */
static void
rvps_rollback(struct rvps_item *items, size_t n)
{
	struct error err = { "" };
	char esc[RVPS_ESC];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (items[i].current_done) {
			if (items[i].prev != NULL)
				rc = rvps_row_put(RVPS_TABLE, items[i].name,
				    items[i].prev, &err);
			else
				rc = store_delete(rvps_g.st, RVPS_TABLE,
				    items[i].name, &err) == -1 ? -1 : 0;
			if (rc == -1)
				log_warnx("reference values: cannot roll back "
				    "'%s': %s", log_escape(items[i].name, esc,
				    sizeof(esc)), err.msg);
		}
		if (items[i].history_done)
			rvps_history_delete(items[i].name, json_integer_value(
			    json_object_get(items[i].rec, "version")));
	}
}

/*
 * Store a new version of every member of values (checked names and
 * values), all or nothing. The caller holds wlock and checked expiration
 * (0 = default) and who. *records (if not NULL): the new records with
 * "state", in the order of values.
 */
int
rvps_write(const json_t *values, int64_t expiration, const char *who,
    json_t **records, struct error *err)
{
	int64_t now = now_unix();
	struct rvps_item *items;
	struct rvps_rec r;
	char esc[RVPS_ESC];
	const char *name;
	json_t *value;
	size_t i = 0, n = json_object_size(values);
	int rc = -1;

	if (rvps_need_store(err) == -1 || rvps_store_lock(err) == -1)
		return -1;
	if (expiration == 0)
		expiration = now + RVPS_DEFAULT_LIFETIME;
	items = xcalloc(n ? n : 1, sizeof(*items));
	/* Read every current record first: a read failure stores nothing. */
	json_object_foreach((json_t *)values, name, value) {
		json_int_t version = 1;

		items[i].name = name;
		rc = rvps_row_get(RVPS_TABLE, name, &items[i].prev, &r, err);
		if (rc == -1)
			goto out;
		if (rc == 0) {
			if (r.version >= RVPS_VERSION_MAX) {
				rc = error_set(err, "reference value '%s' is "
				    "at version %" JSON_INTEGER_FORMAT ", the "
				    "last one", log_escape(name, esc,
				    sizeof(esc)), r.version);
				goto out;
			}
			version = r.version + 1;
		}
		items[i].rec = rvps_record_new(name, version, value, now,
		    expiration, who);
		i++;
	}
	for (i = 0; i < n; i++) {
		if (rvps_row_put(RVPS_TABLE, items[i].name, items[i].rec,
		    err) == -1)
			break;
		items[i].current_done = 1;
		if (rvps_history_put(items[i].rec, err) == -1)
			break;
		items[i].history_done = 1;
	}
	if (i < n) {
		error_prefix(err, "reference values: storing '%s' failed "
		    "(nothing was stored)", log_escape(items[i].name, esc,
		    sizeof(esc)));
		rvps_rollback(items, i + 1);
		rc = -1;
		goto out;
	}
	if (records != NULL)
		*records = json_array();
	for (i = 0; i < n; i++) {
		json_int_t v = json_integer_value(json_object_get(items[i].rec,
		    "version"));

		if (v > RVPS_HISTORY_KEEP)
			rvps_history_delete(items[i].name,
			    v - RVPS_HISTORY_KEEP);
		rvps_record_parse(items[i].rec, &r, NULL);
		rvps_cache_set(items[i].name, rvps_cache_entry(&r));
		if (records != NULL)
			json_array_append_new(*records,
			    rvps_record_out(items[i].rec, "valid"));
	}
	rc = 0;
out:
	store_unlock(rvps_g.st, RVPS_LOCK);
	for (i = 0; i < n; i++) {
		json_decref(items[i].prev);
		json_decref(items[i].rec);
	}
	free(items);
	return rc;
}

int
rvps_add(const char *name, const json_t *value, int64_t expiration,
    const char *who, json_t **record, struct error *err)
{
	int64_t now = now_unix();
	char buf[TIME_RFC3339_LEN];
	json_t *values, *recs = NULL;
	int rc;

	if (record != NULL)
		*record = NULL;
	if (rvps_check_name(name, err) == -1 ||
	    rvps_value_check(name, value, err) == -1 ||
	    rvps_text_check(who, RVPS_WHO_MAX, "admin identity", 1,
	    err) == -1)
		return -1;
	if (expiration != 0 && expiration <= now) {
		time_format_rfc3339(expiration, buf);
		return error_set(err, "reference value expiration %s is not "
		    "in the future", buf);
	}
	if (expiration > RVPS_EXPIRATION_MAX)
		return error_set(err, "reference value expiration %" PRId64
		    " is after 9999-12-31T23:59:59Z", expiration);
	values = json_object();
	json_object_set_new(values, name, json_deep_copy(value));
	pthread_mutex_lock(&rvps_g.wlock);
	rc = rvps_write(values, expiration, who, record ? &recs : NULL, err);
	pthread_mutex_unlock(&rvps_g.wlock);
	json_decref(values);
	if (rc == 0 && record != NULL)
		*record = json_incref(json_array_get(recs, 0));
	json_decref(recs);
	return rc;
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
	rc = rvps_row_get(RVPS_TABLE, name, &rec, &r, err);
	if (rc != 0)
		return rc;
	*record = rvps_record_out(rec, rvps_state_of(&r, now));
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

int
rvps_revoke(const char *name, const char *who, const char *reason,
    struct error *err)
{
	struct rvps_rec r;
	struct error herr = { "" };
	char esc[RVPS_ESC];
	json_t *rec = NULL;
	int rc;

	if (rvps_check_name(name, err) == -1 ||
	    rvps_text_check(who, RVPS_WHO_MAX, "admin identity", 1,
	    err) == -1 ||
	    rvps_text_check(reason, RVPS_REASON_MAX, "revocation reason", 1,
	    err) == -1)
		return -1;
	pthread_mutex_lock(&rvps_g.wlock);
	if ((rc = rvps_need_store(err)) == -1 ||
	    (rc = rvps_store_lock(err)) == -1) {
		pthread_mutex_unlock(&rvps_g.wlock);
		return -1;
	}
	if ((rc = rvps_row_get(RVPS_TABLE, name, &rec, &r, err)) != 0 ||
	    r.revoked)
		goto out;
	json_object_set_new(rec, "revoked", json_pack("{s:s, s:o, s:s}",
	    "by", who ? who : "", "at", rvps_time_json(now_unix()),
	    "reason", reason ? reason : ""));
	rc = rvps_row_put(RVPS_TABLE, name, rec, err);
	if (rc == -1)
		goto out;
	if (rvps_history_put(rec, &herr) == -1)
		log_warnx("reference values: revoked '%s' but cannot update "
		    "its history: %s", log_escape(name, esc, sizeof(esc)),
		    herr.msg);
	rvps_record_parse(rec, &r, NULL);
	rvps_cache_set(name, rvps_cache_entry(&r));
out:
	store_unlock(rvps_g.st, RVPS_LOCK);
	pthread_mutex_unlock(&rvps_g.wlock);
	json_decref(rec);
	return rc;
}

/* ---------------------------------------------------------------- history */

struct rvps_hist_ctx {
	const char *name;
	json_t *records;	/* matching history records */
	struct error *err;
	int failed;
};

static int
rvps_hist_row(const char *row, const uint8_t *val, size_t len, void *arg)
{
	struct rvps_hist_ctx *c = arg;
	struct rvps_rec r;
	json_t *rec;

	if (rvps_row_decode(RVPS_HISTORY_TABLE, row, val, len, &rec, &r,
	    c->err) == -1) {
		c->failed = 1;
		return 1;
	}
	if (strcmp(r.name, c->name) == 0)
		json_array_append_new(c->records, rec);
	else
		json_decref(rec);
	return 0;
}

/* The history records of name (any order). Caller holds wlock. */
static int
rvps_hist_scan(const char *name, json_t **records, struct error *err)
{
	struct rvps_hist_ctx c = { name, json_array(), err, 0 };

	if (store_list(rvps_g.st, RVPS_HISTORY_TABLE, rvps_hist_row, &c,
	    err) == -1 || c.failed) {
		json_decref(c.records);
		return -1;
	}
	*records = c.records;
	return 0;
}

int
rvps_history(const char *name, int64_t now, json_t **records,
    struct error *err)
{
	json_t *hist = NULL, *cur = NULL, *out, *rec;
	struct rvps_rec r, cr = { 0 };
	size_t i;
	int rc;

	*records = NULL;
	if (rvps_check_name(name, err) == -1)
		return -1;
	pthread_mutex_lock(&rvps_g.wlock);
	if ((rc = rvps_need_store(err)) == 0 &&
	    (rc = rvps_row_get(RVPS_TABLE, name, &cur, &cr, err)) != -1 &&
	    (rc = rvps_hist_scan(name, &hist, err)) == 0 && cur != NULL) {
		/* The current row wins over its history copy. */
		for (i = 0; i < json_array_size(hist); i++) {
			rvps_record_parse(json_array_get(hist, i), &r, NULL);
			if (r.version == cr.version)
				json_array_remove(hist, i--);
		}
		json_array_append(hist, cur);
	}
	pthread_mutex_unlock(&rvps_g.wlock);
	if (rc == -1) {
		json_decref(cur);
		json_decref(hist);
		return -1;
	}
	if (json_array_size(hist) == 0) {
		json_decref(cur);
		json_decref(hist);
		return 1;
	}
	rvps_sort(hist, rvps_cmp_version_desc);
	out = json_array();
	json_array_foreach(hist, i, rec) {
		const char *state;

		rvps_record_parse(rec, &r, NULL);
		state = rvps_state_of(&r, now);
		if (!r.revoked && cur != NULL && r.version < cr.version)
			state = "superseded";
		json_array_append_new(out, rvps_record_out(rec, state));
	}
	json_decref(cur);
	json_decref(hist);
	*records = out;
	return 0;
}

int
rvps_delete(const char *name, struct error *err)
{
	json_t *hist = NULL, *rec;
	struct rvps_rec r;
	size_t i;
	int rc, locked = 0;

	if (rvps_check_name(name, err) == -1)
		return -1;
	pthread_mutex_lock(&rvps_g.wlock);
	if ((rc = rvps_need_store(err)) == 0 &&
	    (rc = rvps_store_lock(err)) == 0)
		locked = 1;
	if (locked && (rc = rvps_hist_scan(name, &hist, err)) == 0) {
		rc = store_delete(rvps_g.st, RVPS_TABLE, name, err);
		if (rc == 1 && json_array_size(hist) > 0)
			rc = 0;
		if (rc != -1) {
			json_array_foreach(hist, i, rec) {
				rvps_record_parse(rec, &r, NULL);
				rvps_history_delete(name, r.version);
			}
			rvps_cache_set(name, NULL);
		}
	}
	if (locked)
		store_unlock(rvps_g.st, RVPS_LOCK);
	pthread_mutex_unlock(&rvps_g.wlock);
	json_decref(hist);
	return rc;
}
