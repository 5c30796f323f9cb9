/*
 * rvps_record.c: a reference value record: building one, parsing and
 * checking a stored one, what callers see of it (with "state") and what
 * the in-memory copy keeps of it, and reading and writing it as a row of
 * the store (table "rv" or "rv_history"). The caller holds rvps_g.wlock
 * for rows and has checked that the store is open.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "rvps_internal.h"

json_t *
rvps_record_time_json(int64_t t)
{
	char buf[TIME_RFC3339_LEN];

	time_format_rfc3339(t, buf);
	return json_string(buf);
}

/* A new record for version of name (the value is copied). */
json_t *
rvps_record_new(const char *name, json_int_t version, const json_t *value,
    int64_t created, int64_t expiration, const char *who)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "name", json_string(name));
	json_object_set_new(rec, "version", json_integer(version));
	json_object_set_new(rec, "value", json_deep_copy(value));
	json_object_set_new(rec, "created", rvps_record_time_json(created));
	json_object_set_new(rec, "expiration",
	    rvps_record_time_json(expiration));
	json_object_set_new(rec, "added_by", json_string(who ? who : ""));
	json_object_set_new(rec, "revoked", json_null());
	return rec;
}

static int
rvps_record_time_member(const json_t *obj, const char *key, int64_t *t)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s == NULL ? -1 : time_parse_rfc3339(s, t);
}

/* Parse and check a stored record (a row we wrote, so any flaw is a bug
 * or a damaged database: reported with what is wrong). */
int
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
	if (rvps_record_time_member(rec, "created", &r->created) == -1)
		return error_set(err, "no RFC 3339 \"created\"");
	if (rvps_record_time_member(rec, "expiration", &r->expiration) == -1)
		return error_set(err, "no RFC 3339 \"expiration\"");
	if (!json_is_string(json_object_get(rec, "added_by")))
		return error_set(err, "no string \"added_by\"");
	rv = json_object_get(rec, "revoked");
	if (json_is_object(rv)) {
		if (!json_is_string(json_object_get(rv, "by")) ||
		    !json_is_string(json_object_get(rv, "reason")) ||
		    rvps_record_time_member(rv, "at", &at) == -1)
			return error_set(err, "\"revoked\" lacks by, at or "
			    "reason");
		r->revoked = 1;
	} else if (!json_is_null(rv))
		return error_set(err, "\"revoked\" is neither null nor an "
		    "object");
	return 0;
}

const char *
rvps_record_state(const struct rvps_rec *r, int64_t now)
{
	if (r->revoked)
		return "revoked";
	return now >= r->expiration ? "expired" : "valid";
}

/* A copy of rec with "state" appended. */
json_t *
rvps_record_out(const json_t *rec, const char *state)
{
	json_t *out = json_deep_copy(rec);

	json_object_set_new(out, "state", json_string(state));
	return out;
}

json_t *
rvps_record_cache_entry(const struct rvps_rec *r)
{
	json_t *e = json_object();

	json_object_set(e, "v", r->value);
	json_object_set_new(e, "e", json_integer(r->expiration));
	json_object_set_new(e, "r", json_boolean(r->revoked));
	return e;
}

/* Parse row bytes into a checked record (*rec new ref). */
int
rvps_record_decode(const char *table, const char *row, const uint8_t *val,
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
int
rvps_record_get(const char *table, const char *row, json_t **rec,
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
	rc = rvps_record_decode(table, row, val, len, rec, r, err);
	secret_free(val, len);
	return rc;
}

int
rvps_record_put(const char *table, const char *row, const json_t *rec,
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
