/*
 * attlog.c: the attestation log (observe.h): one sealed row per
 * attestation outcome in table "attestations", plus an in-memory index
 * of every kept row's summary (id, time, TEE, verdict, source), sorted by
 * id, so that filtering and paging read only the rows they return.
 *
 * All store access of the log is here: a put per outcome, a get per
 * returned row, deletes for retention and one scan at start. With the
 * store's paged, filtered scans and row expiry the index and
 * attlog_expire can go (see the lead's store notes).
 *
 * Several processes sharing one store each index what they wrote or
 * found at start, as the audit trail does.
 *
 * Rows are group-committed (gcommit.h, ATTLOG_BATCH_MS): an attestation
 * does not wait for, or pay, a durable commit of its own. A row is
 * durable at most ATTLOG_BATCH_MS (plus the commit) after the answer; a
 * clean stop writes every queued row; a crash loses at most that last
 * interval. Reads commit what is queued first, deletes whenever a row to
 * delete may still be queued.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../lib/jws.h"
#include "../lib/log.h"
#include "../verifier/verifier.h"
#include "gcommit.h"
#include "observe.h"

#define ATTLOG_TABLE "attestations"
#define ATTLOG_ID_LEN 25		/* 16 + 1 + 8 */
#define ATTLOG_EAR_MAX ((size_t)256 * 1024)
#define ATTLOG_SOURCE_MAX 48
#define ATTLOG_EXPIRE_BATCH 5000
#define ATTLOG_BATCH_MS 100		/* group commit delay */
#define ATTLOG_BATCH_ROWS 4096		/* rows queued at most */

struct attlog_ent {
	char id[ATTLOG_ID_LEN + 1];
	int64_t time;
	uint8_t tee;			/* observe_tee_index */
	uint8_t verdict;		/* enum observe_verdict */
	char source[ATTLOG_SOURCE_MAX];
};

static pthread_mutex_t attlog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *attlog_store;
static struct gcommit *attlog_batch;	/* NULL: rows written directly */
static struct attlog_ent *attlog_idx;	/* sorted by id, oldest first */
static size_t attlog_n, attlog_cap;
static size_t attlog_keep = 100000;
static int64_t attlog_max_age = 30 * 86400;
static uint64_t attlog_last_ms;
static uint32_t attlog_seq;
static _Thread_local struct attlog_obs *attlog_current;

const char *const observe_tee_names[OBSERVE_TEES] = {
	"sample", "snp", "tdx", "sgx", "tpm", "az-snp-vtpm", "az-tdx-vtpm",
	"cca", "csv", "se", "hygondcu", "nvidia", "sampledevice", "other"
};

const char *const observe_verdict_names[OBSERVE_NVERDICTS] = {
	"affirming", "warning", "contraindicated", "none", "refused"
};

int
observe_tee_index(const char *tee)
{
	int i;

	for (i = 0; tee != NULL && i < OBSERVE_TEES - 1; i++)
		if (strcmp(observe_tee_names[i], tee) == 0)
			return i;
	return OBSERVE_TEES - 1;
}

int
observe_verdict_index(const char *v)
{
	int i;

	for (i = 0; v != NULL && i < OBSERVE_NVERDICTS; i++)
		if (strcmp(observe_verdict_names[i], v) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------- the index */

static int
attlog_id_valid(const char *s)
{
	size_t i;

	if (strlen(s) != ATTLOG_ID_LEN || s[16] != '-')
		return 0;
	for (i = 0; i < ATTLOG_ID_LEN; i++)
		if (i != 16 && !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
attlog_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attlog_ent *)a)->id,
	    ((const struct attlog_ent *)b)->id);
}

/* The summary of a record into e; -1 when the record is unusable. */
static int
attlog_ent_from(const char *id, const json_t *rec, struct attlog_ent *e)
{
	const char *when = json_string_value(json_object_get(rec, "time"));
	const char *src = json_string_value(json_object_get(rec, "source"));
	int v = observe_verdict_index(json_string_value(json_object_get(rec,
	    "verdict")));

	memset(e, 0, sizeof(*e));
	if (!json_is_object(rec) || when == NULL ||
	    time_parse_rfc3339(when, &e->time) != 0 || v < 0)
		return -1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->tee = (uint8_t)observe_tee_index(json_string_value(json_object_get(
	    rec, "tee")));
	e->verdict = (uint8_t)v;
	snprintf(e->source, sizeof(e->source), "%s", src != NULL ? src : "");
	return 0;
}

static void
attlog_push(const struct attlog_ent *e)
{
	if (attlog_n == attlog_cap) {
		attlog_cap = attlog_cap ? attlog_cap * 2 : 1024;
		attlog_idx = xrealloc(attlog_idx, attlog_cap *
		    sizeof(*attlog_idx));
	}
	attlog_idx[attlog_n++] = *e;
}

static int
attlog_load_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct attlog_ent e;
	json_t *rec;

	(void)arg;
	if (!attlog_id_valid(name))
		return 0;
	rec = json_loadb((const char *)val, len, 0, NULL);
	if (attlog_ent_from(name, rec, &e) == 0)
		attlog_push(&e);
	else
		log_warnx("attestation log: skipping a malformed row");
	json_decref(rec);
	return 0;
}

/* Drop the n oldest rows. Caller holds attlog_lock. */
static int
attlog_drop_oldest(size_t n)
{
	struct error err;
	size_t i;

	if (n > attlog_n)
		n = attlog_n;
	if (n == 0)
		return 0;
	/* Queued rows are among the newest ATTLOG_BATCH_ROWS: commit them
	 * before a delete could overtake their put. */
	if (attlog_n - n < ATTLOG_BATCH_ROWS)
		gcommit_flush(attlog_batch);
	for (i = 0; i < n; i++)
		if (store_delete(attlog_store, ATTLOG_TABLE, attlog_idx[i].id,
		    &err) < 0)
			log_warnx("attestation log: dropping an old row: %s",
			    err.msg);
	memmove(attlog_idx, attlog_idx + n, (attlog_n - n) *
	    sizeof(*attlog_idx));
	attlog_n -= n;
	return (int)n;
}

/* ------------------------------------------------------------- the API */

int
attlog_init(struct store *st, size_t keep, int64_t max_age_s,
    struct error *err)
{
	uint64_t t0 = now_mono_ns();

	pthread_mutex_lock(&attlog_lock);
	attlog_n = 0;
	attlog_store = st;
	attlog_keep = keep;
	attlog_max_age = max_age_s;
	if (store_list(st, ATTLOG_TABLE, attlog_load_cb, NULL, err) != 0) {
		attlog_store = NULL;
		pthread_mutex_unlock(&attlog_lock);
		return error_prefix(err, "attestation log");
	}
	metrics_store("list", now_mono_ns() - t0);
	if (attlog_n > 1)
		qsort(attlog_idx, attlog_n, sizeof(*attlog_idx),
		    attlog_ent_cmp);
	attlog_seq = randombytes_uniform(1u << 24);
	attlog_last_ms = 0;
	if (attlog_n > attlog_keep)
		attlog_drop_oldest(attlog_n - attlog_keep);
	/* Without the writer thread rows are written directly. */
	attlog_batch = gcommit_new(st, "attestation log", ATTLOG_BATCH_MS,
	    ATTLOG_BATCH_ROWS, (size_t)8 << 20);
	pthread_mutex_unlock(&attlog_lock);
	attlog_expire(now_unix());
	return 0;
}

void
attlog_shutdown(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&attlog_lock);
	batch = attlog_batch;
	attlog_batch = NULL;
	pthread_mutex_unlock(&attlog_lock);
	/* Every queued row is written before the store closes. */
	gcommit_free(batch);
	pthread_mutex_lock(&attlog_lock);
	attlog_store = NULL;
	free(attlog_idx);
	attlog_idx = NULL;
	attlog_n = attlog_cap = 0;
	pthread_mutex_unlock(&attlog_lock);
}

void
attlog_flush(void)
{
	struct gcommit *batch;

	pthread_mutex_lock(&attlog_lock);
	batch = attlog_batch;
	pthread_mutex_unlock(&attlog_lock);
	gcommit_flush(batch);
}

size_t
attlog_count(void)
{
	size_t n;

	pthread_mutex_lock(&attlog_lock);
	n = attlog_n;
	pthread_mutex_unlock(&attlog_lock);
	return n;
}

int
attlog_expire(int64_t now)
{
	size_t n = 0;
	int dropped;

	pthread_mutex_lock(&attlog_lock);
	if (attlog_store == NULL) {
		pthread_mutex_unlock(&attlog_lock);
		return 0;
	}
	while (n < attlog_n && n < ATTLOG_EXPIRE_BATCH &&
	    attlog_idx[n].time < now - attlog_max_age)
		n++;
	dropped = attlog_drop_oldest(n);
	pthread_mutex_unlock(&attlog_lock);
	return dropped;
}

int
attlog_append(json_t *rec, struct error *err)
{
	char id[ATTLOG_ID_LEN + 1], when[TIME_RFC3339_LEN];
	struct attlog_ent e;
	struct timespec ts;
	uint64_t ms, t0;
	char *s;
	int rc;

	pthread_mutex_lock(&attlog_lock);
	if (attlog_store == NULL) {
		pthread_mutex_unlock(&attlog_lock);
		return error_set(err, "the attestation log is not open");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms <= attlog_last_ms)
		ms = attlog_last_ms;	/* ids keep increasing */
	attlog_last_ms = ms;
	snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32, ms,
	    attlog_seq++ & 0xffffffffu);
	if (attlog_n > 0 && strcmp(id, attlog_idx[attlog_n - 1].id) <= 0) {
		attlog_last_ms = ++ms;
		snprintf(id, sizeof(id), "%016" PRIx64 "-%08" PRIx32, ms,
		    attlog_seq++ & 0xffffffffu);
	}
	time_format_rfc3339((int64_t)(ms / 1000), when);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	if (attlog_ent_from(id, rec, &e) != 0) {
		pthread_mutex_unlock(&attlog_lock);
		return error_set(err, "attestation log: incomplete record");
	}
	s = json_dumps(rec, JSON_COMPACT);
	if (s == NULL) {
		pthread_mutex_unlock(&attlog_lock);
		return error_set(err, "attestation log: cannot serialize");
	}
	t0 = now_mono_ns();
	if (attlog_batch != NULL && gcommit_put(attlog_batch, ATTLOG_TABLE, id,
	    s, strlen(s), 0, 0) == 0)
		rc = 0;
	else
		rc = store_put(attlog_store, ATTLOG_TABLE, id, s, strlen(s),
		    err);
	metrics_store("put", now_mono_ns() - t0);
	free(s);
	if (rc == 0) {
		attlog_push(&e);
		if (attlog_n > attlog_keep)
			attlog_drop_oldest(attlog_n - attlog_keep);
	}
	pthread_mutex_unlock(&attlog_lock);
	return rc;
}

static int
attlog_matches(const struct attlog_ent *e, const struct attlog_filter *f,
    int tee)
{
	if (f == NULL)
		return 1;
	if (tee >= 0 && e->tee != tee)
		return 0;
	if (f->verdict >= 0 && e->verdict != f->verdict)
		return 0;
	if (f->source != NULL && strcmp(f->source, e->source) != 0)
		return 0;
	if (f->since != 0 && e->time < f->since)
		return 0;
	if (f->until != 0 && e->time > f->until)
		return 0;
	return 1;
}

/* The summary members of a record (a new object). */
static json_t *
attlog_summary(const json_t *rec)
{
	static const char *const keys[] = { "id", "time", "endpoint", "tee",
	    "source", "verdict", "reason", "trust_vector", "policy_id",
	    "token", "latency_us" };
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(rec, keys[i]);

		json_object_set(o, keys[i], v != NULL ? v : json_null());
	}
	return o;
}

static int
attlog_read(struct store *st, const char *id, json_t **rec,
    struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0;
	uint64_t t0 = now_mono_ns();
	int rc;

	*rec = NULL;
	rc = store_get(st, ATTLOG_TABLE, id, &val, &len, err);
	if (rc == STORE_ABSENT) {
		/* Perhaps still waiting for its group commit. */
		attlog_flush();
		rc = store_get(st, ATTLOG_TABLE, id, &val, &len, err);
	}
	metrics_store("get", now_mono_ns() - t0);
	if (rc != 0)
		return rc;
	*rec = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
	if (!json_is_object(*rec)) {
		json_decref(*rec);
		*rec = NULL;
		return error_set(err, "attestation log: row %s is malformed",
		    id);
	}
	return 0;
}

int
attlog_list(const char *before, size_t limit, const struct attlog_filter *f,
    json_t **items, int *more, struct error *err)
{
	char (*ids)[ATTLOG_ID_LEN + 1];
	struct store *st;
	json_t *rec;
	size_t i, n = 0;
	int tee = -1, rc;

	*items = NULL;
	*more = 0;
	if (f != NULL && f->tee != NULL) {
		tee = observe_tee_index(f->tee);
		if (tee == OBSERVE_TEES - 1 && strcmp(f->tee, "other") != 0) {
			*items = json_array();
			return 0;
		}
	}
	ids = xcalloc(limit + 1, sizeof(*ids));
	pthread_mutex_lock(&attlog_lock);
	st = attlog_store;
	if (st == NULL) {
		pthread_mutex_unlock(&attlog_lock);
		free(ids);
		return error_set(err, "the attestation log is not open");
	}
	for (i = attlog_n; i-- > 0;) {
		if (before != NULL && strcmp(attlog_idx[i].id, before) >= 0)
			continue;
		if (!attlog_matches(&attlog_idx[i], f, tee))
			continue;
		if (n == limit) {
			*more = 1;
			break;
		}
		memcpy(ids[n++], attlog_idx[i].id, ATTLOG_ID_LEN + 1);
	}
	pthread_mutex_unlock(&attlog_lock);

	*items = json_array();
	for (i = 0; i < n; i++) {
		rc = attlog_read(st, ids[i], &rec, err);
		if (rc == 1)
			continue;	/* expired meanwhile */
		if (rc < 0) {
			free(ids);
			json_decref(*items);
			*items = NULL;
			return -1;
		}
		json_array_append_new(*items, attlog_summary(rec));
		json_decref(rec);
	}
	free(ids);
	return 0;
}

int
attlog_get(const char *id, json_t **rec, struct error *err)
{
	struct store *st;
	const json_t *sub, *ann;
	const char *name;
	int rc;

	*rec = NULL;
	if (!attlog_id_valid(id))
		return 1;
	pthread_mutex_lock(&attlog_lock);
	st = attlog_store;
	pthread_mutex_unlock(&attlog_lock);
	if (st == NULL)
		return error_set(err, "the attestation log is not open");
	rc = attlog_read(st, id, rec, err);
	if (rc != 0)
		return rc;
	/* Claims travel in the token: the first appraisal's annotated
	 * evidence is the policy input. */
	if (json_is_null(json_object_get(*rec, "claims")) ||
	    json_object_get(*rec, "claims") == NULL) {
		json_object_foreach(json_object_get(json_object_get(
		    json_object_get(*rec, "ear"), "payload"), "submods"),
		    name, sub) {
			ann = json_object_get(sub,
			    "ear.veraison.annotated-evidence");
			if (json_is_object(ann)) {
				json_object_set(*rec, "claims", (json_t *)ann);
				json_object_set_new(*rec, "claims_from",
				    json_sprintf("ear submods.%s", name));
				break;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------- observations */

/* "ip:port" / "[ip]:port" -> "ip". */
static void
attlog_source(const char *peer, char *out, size_t cap)
{
	const char *end;

	if (peer[0] == '[' && (end = strchr(peer, ']')) != NULL)
		snprintf(out, cap, "%.*s", (int)(end - peer - 1), peer + 1);
	else if ((end = strrchr(peer, ':')) != NULL)
		snprintf(out, cap, "%.*s", (int)(end - peer), peer);
	else
		snprintf(out, cap, "%s", peer);
}

void
attlog_begin(struct attlog_obs *o, const char *endpoint,
    const struct http_request *req)
{
	char sid[SESSION_ID_LEN + 2];
	struct session s;

	memset(o, 0, sizeof(*o));
	o->endpoint = endpoint;
	o->start_ns = now_mono_ns();
	attlog_source(req->peer, o->source, sizeof(o->source));
	if (strcmp(endpoint, "/kbs/v0/attest") == 0 &&
	    http_request_cookie(req, "kbs-session-id", sid, sizeof(sid)) == 0 &&
	    session_get(sid, &s) == 0) {
		snprintf(o->tee, sizeof(o->tee), "%s", s.tee);
		session_clear(&s);
	}
	attlog_current = o;
}

void
attlog_note_input(const char *tee, const json_t *input)
{
	struct attlog_obs *o = attlog_current;

	if (o == NULL || o->input != NULL || input == NULL)
		return;
	o->input = json_incref((json_t *)input);
	snprintf(o->input_tee, sizeof(o->input_tee), "%s", tee);
}

void
attlog_note_token(const json_t *header, const json_t *claims,
    const char *jwt)
{
	struct attlog_obs *o = attlog_current;
	const char *d1, *d2;

	if (o == NULL || o->token_claims != NULL || claims == NULL ||
	    header == NULL || (d1 = strchr(jwt, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL)
		return;
	o->token_header = json_incref((json_t *)header);
	o->token_claims = json_incref((json_t *)claims);
	/* base64url without padding: 4 characters for 3 bytes. */
	o->token_plen = (size_t)(d2 - d1 - 1) * 3 / 4;
}

/* The TEE a refused /attestation request named (first request). */
static void
attlog_body_tee(const struct http_request *req, char *out, size_t cap)
{
	json_t *b = json_loadb((const char *)req->body, req->body_len, 0,
	    NULL);
	const char *t = json_string_value(json_object_get(json_array_get(
	    json_object_get(b, "verification_requests"), 0), "tee"));

	if (t != NULL && verifier_tee_known(t))
		snprintf(out, cap, "%s", t);
	json_decref(b);
}

/* The problem detail of an error answer (or a fixed text). */
static json_t *
attlog_reason(const struct http_response *resp)
{
	json_t *b = json_loadb((const char *)resp->body.data, resp->body.len,
	    0, NULL);
	const char *d = json_string_value(json_object_get(b, "detail"));
	json_t *r;

	r = d != NULL ? json_stringn(d, strnlen(d, ATTLOG_REASON_MAX)) : NULL;
	json_decref(b);
	return r != NULL ? r : json_sprintf("HTTP %d", resp->status);
}

/* Fill rec from the issued token's protected header and payload (claims);
 * plen: the length of the payload's JSON text. */
static void
attlog_from_parts(json_t *rec, const json_t *header, const json_t *payload,
    size_t plen, char *tee, size_t cap, enum observe_verdict *v)
{
	const json_t *sub, *first = NULL;
	json_t *subs;
	const char *name, *st;
	int worst = -1, rank;

	subs = json_object();
	json_object_foreach(json_object_get((json_t *)payload, "submods"), name,
	    sub) {
		st = json_string_value(json_object_get(sub, "ear.status"));
		json_object_set_new(subs, name, json_pack("{s:s?, s:O?, s:O?}",
		    "status", st, "trust_vector", json_object_get(sub,
		    "ear.trustworthiness-vector"), "policy_id",
		    json_object_get(sub, "ear.appraisal-policy-id")));
		rank = st != NULL ? ear_tier_rank(st) : 0;
		if (rank > worst) {
			worst = rank;
			*v = rank == 1 ? OBSERVE_AFFIRMING : rank == 2 ?
			    OBSERVE_WARNING : rank == 3 ?
			    OBSERVE_CONTRAINDICATED : OBSERVE_NONE;
		}
		if (first == NULL)
			first = sub;
	}
	json_object_set_new(rec, "submods", subs);
	if (first != NULL) {
		const json_t *ann = json_object_get(first,
		    "ear.veraison.annotated-evidence");
		const char *k;
		json_t *x;

		json_object_set(rec, "trust_vector", json_object_get(first,
		    "ear.trustworthiness-vector") != NULL ?
		    json_object_get(first, "ear.trustworthiness-vector") :
		    json_null());
		json_object_set(rec, "policy_id", json_object_get(first,
		    "ear.appraisal-policy-id") != NULL ?
		    json_object_get(first, "ear.appraisal-policy-id") :
		    json_null());
		/* The annotated evidence is keyed by the TEE name. */
		json_object_foreach((json_t *)ann, k, x)
			if (tee[0] == '\0' && verifier_tee_known(k)) {
				snprintf(tee, cap, "%s", k);
				break;
			}
	}
	json_object_set_new(rec, "token", json_pack("{s:O?, s:O?, s:O?}",
	    "jti", json_object_get((json_t *)payload, "jti"), "exp",
	    json_object_get((json_t *)payload, "exp"), "iat",
	    json_object_get((json_t *)payload, "iat")));
	if (plen <= ATTLOG_EAR_MAX)
		json_object_set_new(rec, "ear", json_pack("{s:O, s:O}",
		    "header", header, "payload", (json_t *)payload));
	else
		json_object_set_new(rec, "ear", json_pack("{s:O, s:n, s:I}",
		    "header", header, "payload", "dropped_bytes",
		    (json_int_t)plen));
}

/* Fill rec from the issued token (compact JWS text). */
static void
attlog_from_token(json_t *rec, const char *tok, size_t len, char *tee,
    size_t cap, enum observe_verdict *v)
{
	struct error err;
	struct jws *j = jws_parse(tok, len, &err);
	char *payload;

	if (j == NULL) {
		json_object_set_new(rec, "reason", json_sprintf("issued token "
		    "does not decode: %s", err.msg));
		return;
	}
	payload = json_dumps(j->payload, JSON_COMPACT);
	attlog_from_parts(rec, j->header, j->payload, payload != NULL ?
	    strlen(payload) : 0, tee, cap, v);
	free(payload);
	jws_free(j);
}

void
attlog_end(struct attlog_obs *o, const struct http_request *req,
    const struct http_response *resp, enum observe_verdict *verdict,
    int *tee_index)
{
	enum observe_verdict v = OBSERVE_REFUSED;
	struct error err;
	char tee[32];
	json_t *rec;

	attlog_current = NULL;
	snprintf(tee, sizeof(tee), "%s", o->input_tee[0] != '\0' ?
	    o->input_tee : o->tee);
	rec = json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:n}", "endpoint",
	    o->endpoint, "source", o->source, "reason", "trust_vector",
	    "policy_id", "token", "ear", "claims");
	if (resp->status == 200 && o->token_claims != NULL) {
		/* The handler noted what it signed: nothing to decode. */
		v = OBSERVE_NONE;
		attlog_from_parts(rec, o->token_header, o->token_claims,
		    o->token_plen, tee, sizeof(tee), &v);
		json_object_set_new(rec, "reason", json_string(""));
	} else if (resp->status == 200) {
		json_t *b = NULL;
		const char *tok;
		size_t len;

		if (strcmp(o->endpoint, "/attestation") == 0) {
			tok = (const char *)resp->body.data;
			len = resp->body.len;
		} else {
			b = json_loadb((const char *)resp->body.data,
			    resp->body.len, 0, NULL);
			tok = json_string_value(json_object_get(b, "token"));
			len = tok != NULL ? strlen(tok) : 0;
		}
		v = OBSERVE_NONE;
		if (tok != NULL)
			attlog_from_token(rec, tok, len, tee, sizeof(tee), &v);
		json_decref(b);
		json_object_set_new(rec, "reason", json_string(""));
	} else {
		json_object_set_new(rec, "reason", attlog_reason(resp));
		if (tee[0] == '\0' && strcmp(o->endpoint, "/attestation") == 0)
			attlog_body_tee(req, tee, sizeof(tee));
		if (o->input != NULL) {
			char *s = json_dumps(o->input, JSON_COMPACT);

			if (s != NULL && strlen(s) <= ATTLOG_CLAIMS_MAX)
				json_object_set(rec, "claims", o->input);
			else
				json_object_set_new(rec, "claims_dropped_bytes",
				    json_integer(s != NULL ? (json_int_t)
				    strlen(s) : 0));
			free(s);
		}
	}
	json_object_set_new(rec, "tee", json_string(tee[0] != '\0' ? tee :
	    "unknown"));
	json_object_set_new(rec, "verdict",
	    json_string(observe_verdict_names[v]));
	json_object_set_new(rec, "latency_us", json_integer((json_int_t)
	    ((now_mono_ns() - o->start_ns) / 1000)));
	if (attlog_append(rec, &err) != 0)
		log_warnx("attestation log: %s", err.msg);
	json_decref(rec);
	json_decref(o->input);
	o->input = NULL;
	json_decref(o->token_header);
	json_decref(o->token_claims);
	o->token_header = o->token_claims = NULL;
	*verdict = v;
	*tee_index = observe_tee_index(tee);
}
