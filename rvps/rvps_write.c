/*
 * rvps_write.c: the writes of the reference value store: rvps_write (a
 * new version of each of a set of values, all or nothing, rolled back on
 * failure), rvps_add (one value, checked) and rvps_revoke. Every writer
 * holds rvps_g.wlock and the store lock RVPS_LOCK, and updates the
 * in-memory copy once its rows are stored.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "rvps.h"
#include "rvps_internal.h"

struct rvps_write_item {
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
rvps_write_rollback(struct rvps_write_item *items, size_t n)
{
	struct error err = { "" };
	char esc[RVPS_ESC];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (items[i].current_done) {
			if (items[i].prev != NULL)
				rc = rvps_record_put(RVPS_TABLE, items[i].name,
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
	struct rvps_write_item *items;
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
		rc = rvps_record_get(RVPS_TABLE, name, &items[i].prev, &r, err);
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
		if (rvps_record_put(RVPS_TABLE, items[i].name, items[i].rec,
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
		rvps_write_rollback(items, i + 1);
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
		rvps_cache_set(items[i].name, rvps_record_cache_entry(&r));
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
	    rvps_check_value(name, value, err) == -1 ||
	    rvps_check_text(who, RVPS_WHO_MAX, "admin identity", 1,
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
rvps_revoke(const char *name, const char *who, const char *reason,
    struct error *err)
{
	struct rvps_rec r;
	struct error herr = { "" };
	char esc[RVPS_ESC];
	json_t *rec = NULL;
	int rc;

	if (rvps_check_name(name, err) == -1 ||
	    rvps_check_text(who, RVPS_WHO_MAX, "admin identity", 1,
	    err) == -1 ||
	    rvps_check_text(reason, RVPS_REASON_MAX, "revocation reason", 1,
	    err) == -1)
		return -1;
	pthread_mutex_lock(&rvps_g.wlock);
	if ((rc = rvps_need_store(err)) == -1 ||
	    (rc = rvps_store_lock(err)) == -1) {
		pthread_mutex_unlock(&rvps_g.wlock);
		return -1;
	}
	if ((rc = rvps_record_get(RVPS_TABLE, name, &rec, &r, err)) != 0 ||
	    r.revoked)
		goto out;
	json_object_set_new(rec, "revoked", json_pack("{s:s, s:o, s:s}",
	    "by", who ? who : "", "at", rvps_record_time_json(now_unix()),
	    "reason", reason ? reason : ""));
	rc = rvps_record_put(RVPS_TABLE, name, rec, err);
	if (rc == -1)
		goto out;
	if (rvps_history_put(rec, &herr) == -1)
		log_warnx("reference values: revoked '%s' but cannot update "
		    "its history: %s", log_escape(name, esc, sizeof(esc)),
		    herr.msg);
	rvps_record_parse(rec, &r, NULL);
	rvps_cache_set(name, rvps_record_cache_entry(&r));
out:
	store_unlock(rvps_g.st, RVPS_LOCK);
	pthread_mutex_unlock(&rvps_g.wlock);
	json_decref(rec);
	return rc;
}
