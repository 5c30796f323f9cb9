/*
 * audit.c: the audit trail in the encrypted store (table "audit"; every
 * row sealed like any other). Row name = a time-ordered id
 * "<16 hex digits: unix milliseconds>-<8 hex digits: sequence>", so ids
 * sort as strings in time order. The ids are also kept in memory (sorted),
 * which makes listing newest-first and rotation (AUDIT_KEEP) cheap.
 *
 * Several processes sharing one store each rotate by what they know; the
 * bound then holds per process, not globally.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../lib/log.h"
#include "audit.h"
#include "trusteed.h"

#define AUDIT_TABLE "audit"
#define AUDIT_ID_LEN 25			/* 16 + 1 + 8 */
#define AUDIT_FIELD_MAX 1024		/* bytes kept per text field */

struct audit_id {
	char s[AUDIT_ID_LEN + 1];
};

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *audit_store;
static struct audit_id *audit_ids;	/* sorted, oldest first */
static size_t audit_nids, audit_cap;
static uint32_t audit_seq;
static uint64_t audit_last_ms;

static int
audit_id_valid(const char *s)
{
	size_t i;

	if (strlen(s) != AUDIT_ID_LEN || s[16] != '-')
		return 0;
	for (i = 0; i < AUDIT_ID_LEN; i++)
		if (i != 16 && !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
audit_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct audit_id *)a)->s,
	    ((const struct audit_id *)b)->s);
}

static void
audit_ids_push(const char *id)
{
	if (audit_nids == audit_cap) {
		audit_cap = audit_cap ? audit_cap * 2 : 256;
		audit_ids = xrealloc(audit_ids, audit_cap * sizeof(*audit_ids));
	}
	snprintf(audit_ids[audit_nids++].s, AUDIT_ID_LEN + 1, "%s", id);
}

static int
audit_load_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	(void)val;
	(void)len;
	(void)arg;
	if (audit_id_valid(name))
		audit_ids_push(name);
	return 0;
}

/* Drop the oldest records beyond AUDIT_KEEP. Caller holds audit_lock. */
static void
audit_rotate(void)
{
	struct error err;
	size_t drop, i;

	if (audit_nids <= AUDIT_KEEP)
		return;
	drop = audit_nids - AUDIT_KEEP;
	for (i = 0; i < drop; i++)
		if (store_delete(audit_store, AUDIT_TABLE, audit_ids[i].s,
		    &err) < 0)
			log_warnx("audit: dropping an old record: %s", err.msg);
	memmove(audit_ids, audit_ids + drop, AUDIT_KEEP * sizeof(*audit_ids));
	audit_nids = AUDIT_KEEP;
}

int
audit_init(struct store *st, struct error *err)
{
	pthread_mutex_lock(&audit_lock);
	audit_nids = 0;
	if (store_list(st, AUDIT_TABLE, audit_load_cb, NULL, err) != 0) {
		pthread_mutex_unlock(&audit_lock);
		return error_prefix(err, "audit");
	}
	if (audit_nids > 1)
		qsort(audit_ids, audit_nids, sizeof(*audit_ids),
		    audit_id_cmp);
	audit_store = st;
	audit_seq = randombytes_uniform(1u << 24);
	audit_last_ms = 0;
	audit_rotate();
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

void
audit_shutdown(void)
{
	pthread_mutex_lock(&audit_lock);
	audit_store = NULL;
	free(audit_ids);
	audit_ids = NULL;
	audit_nids = audit_cap = 0;
	pthread_mutex_unlock(&audit_lock);
}

static json_t *
audit_text(const char *s)
{
	json_t *v;
	size_t n;

	if (s == NULL)
		return json_string("");
	n = strnlen(s, AUDIT_FIELD_MAX);
	/* Invalid UTF-8 (or a cut inside a character) is kept readable. */
	v = json_stringn(s, n);
	return v != NULL ? v : json_string("(not UTF-8)");
}

void
audit_record(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason)
{
	char id[AUDIT_ID_LEN + 1], when[TIME_RFC3339_LEN], esc[256];
	struct error err;
	struct timespec ts;
	json_t *rec;
	char *s;
	uint64_t ms;

	log_info("audit: %s %s %s %s%s%s", actor ? actor : "-",
	    action ? action : "-", log_escape(target ? target : "-", esc,
	    sizeof(esc)), outcome ? outcome : "-", reason && *reason ? ": " :
	    "", reason && *reason ? reason : "");
	pthread_mutex_lock(&audit_lock);
	if (audit_store == NULL) {
		pthread_mutex_unlock(&audit_lock);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms < audit_last_ms)
		ms = audit_last_ms;	/* keep ids increasing */
	audit_last_ms = ms;
	snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32, ms,
	    audit_seq++);
	if (audit_nids > 0 && strcmp(id, audit_ids[audit_nids - 1].s) <= 0) {
		audit_last_ms++;
		snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32,
		    audit_last_ms, audit_seq++);
	}
	time_format_rfc3339(now_unix(), when);
	rec = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", id,
	    "time", when, "actor", audit_text(actor), "action",
	    audit_text(action), "target", audit_text(target), "outcome",
	    audit_text(outcome), "reason", audit_text(reason));
	s = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (s == NULL)
		log_warnx("audit: cannot serialize a record");
	else if (store_put(audit_store, AUDIT_TABLE, id, s, strlen(s),
	    &err) != 0)
		log_warnx("audit: cannot store a record: %s", err.msg);
	else {
		audit_ids_push(id);
		audit_rotate();
	}
	free(s);
	pthread_mutex_unlock(&audit_lock);
}

static int
audit_matches(const json_t *rec, const struct audit_filter *f)
{
	const char *action = json_string_value(json_object_get(rec, "action"));
	const char *actor = json_string_value(json_object_get(rec, "actor"));
	const char *when = json_string_value(json_object_get(rec, "time"));
	int64_t t;

	if (f == NULL)
		return 1;
	if (f->action_prefix != NULL && (action == NULL ||
	    strncmp(action, f->action_prefix, strlen(f->action_prefix)) != 0))
		return 0;
	if (f->actor != NULL && (actor == NULL || strcmp(actor, f->actor) != 0))
		return 0;
	if (f->since != 0 || f->until != 0) {
		if (when == NULL || time_parse_rfc3339(when, &t) != 0)
			return 0;
		if ((f->since != 0 && t < f->since) ||
		    (f->until != 0 && t > f->until))
			return 0;
	}
	return 1;
}

int
audit_list(const char *before, size_t limit, const struct audit_filter *f,
    json_t **items, int *more, struct error *err)
{
	struct audit_id *snap;
	struct store *st;
	size_t n, i;
	uint8_t *val;
	size_t len;
	json_t *rec;
	int rc;

	*items = NULL;
	*more = 0;
	pthread_mutex_lock(&audit_lock);
	st = audit_store;
	if (st == NULL) {
		pthread_mutex_unlock(&audit_lock);
		return error_set(err, "the audit trail is not open");
	}
	/* Snapshot the ids older than the cursor. */
	n = audit_nids;
	if (before != NULL) {
		struct audit_id key;

		snprintf(key.s, sizeof(key.s), "%s", before);
		for (n = audit_nids; n > 0 && strcmp(audit_ids[n - 1].s,
		    key.s) >= 0; n--)
			;
	}
	snap = xcalloc(n + 1, sizeof(*snap));
	if (n > 0)
		memcpy(snap, audit_ids, n * sizeof(*snap));
	pthread_mutex_unlock(&audit_lock);

	*items = json_array();
	for (i = n; i-- > 0;) {
		rc = store_get(st, AUDIT_TABLE, snap[i].s, &val, &len, err);
		if (rc == 1)
			continue;	/* rotated out meanwhile */
		if (rc < 0) {
			free(snap);
			json_decref(*items);
			*items = NULL;
			return -1;
		}
		rec = json_loadb((const char *)val, len, 0, NULL);
		secret_free(val, len);
		if (!json_is_object(rec) || !audit_matches(rec, f)) {
			json_decref(rec);
			continue;
		}
		if (json_array_size(*items) == limit) {
			*more = 1;
			json_decref(rec);
			break;
		}
		json_array_append_new(*items, rec);
	}
	free(snap);
	return 0;
}
