/*
 * rvps_history.c: the history table "rv_history" (one row per version of
 * a name, "<name>\x1f<version>", the last RVPS_HISTORY_KEEP kept):
 * writing and dropping its rows, rvps_history (every kept version, newest
 * first, with the current row winning over its copy) and rvps_delete (a
 * name with its whole history).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "rvps.h"
#include "rvps_internal.h"

static char *
rvps_history_row_name(const char *name, json_int_t version)
{
	return xasprintf("%s\x1f%" JSON_INTEGER_FORMAT, name, version);
}

int
rvps_history_put(const json_t *rec, struct error *err)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	json_int_t v = json_integer_value(json_object_get(rec, "version"));
	char *row = rvps_history_row_name(name, v);
	int rc;

	rc = rvps_record_put(RVPS_HISTORY_TABLE, row, rec, err);
	free(row);
	return rc;
}

void
rvps_history_delete(const char *name, json_int_t version)
{
	struct error err = { "" };
	char *row = rvps_history_row_name(name, version);
	char esc[RVPS_ESC];

	if (store_delete(rvps_g.st, RVPS_HISTORY_TABLE, row, &err) == -1)
		log_warnx("reference values: cannot delete version %"
		    JSON_INTEGER_FORMAT " of '%s' from the history: %s",
		    version, log_escape(name, esc, sizeof(esc)), err.msg);
	free(row);
}

static int
rvps_history_cmp_version(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "version"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "version"));

	return x < y ? 1 : x > y ? -1 : 0;
}

struct rvps_history_ctx {
	const char *name;
	json_t *records;	/* matching history records */
	struct error *err;
	int failed;
};

static int
rvps_history_scan_row(const char *row, const uint8_t *val, size_t len,
    void *arg)
{
	struct rvps_history_ctx *c = arg;
	struct rvps_rec r;
	json_t *rec;

	if (rvps_record_decode(RVPS_HISTORY_TABLE, row, val, len, &rec, &r,
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
rvps_history_scan(const char *name, json_t **records, struct error *err)
{
	struct rvps_history_ctx c = { name, json_array(), err, 0 };

	if (store_list(rvps_g.st, RVPS_HISTORY_TABLE, rvps_history_scan_row, &c,
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
	    (rc = rvps_record_get(RVPS_TABLE, name, &cur, &cr, err)) != -1 &&
	    (rc = rvps_history_scan(name, &hist, err)) == 0 && cur != NULL) {
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
	rvps_sort(hist, rvps_history_cmp_version);
	out = json_array();
	json_array_foreach(hist, i, rec) {
		const char *state;

		rvps_record_parse(rec, &r, NULL);
		state = rvps_record_state(&r, now);
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
	if (locked && (rc = rvps_history_scan(name, &hist, err)) == 0) {
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
