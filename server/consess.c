/*
 * consess.c: console sessions in the encrypted store (table
 * "console_sessions"; see console.h for the row). The cookie carries 32
 * random bytes; the row is named by their SHA-256, so neither the store
 * nor a listing of it can give a usable token back.
 *
 * The row's plain columns do the bookkeeping: ord = the creation time
 * (so a scan in ord order is oldest first), exp = the moment the session
 * ends if unused (the idle expiry, never past the absolute one). Every
 * refresh of "seen" moves exp, with a compare-and-swap on the row's
 * revision (two instances refreshing at once: one write wins, both
 * sessions stay valid). Expired rows go with store_purge; nothing here
 * lists rows to find them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "console.h"

#define CONSESS_TABLE "console_sessions"
#define CONSESS_ROW_MAX 4096
#define CONSESS_COUNT_EVERY_S 10
#define CONSESS_PURGE_BATCH 1000
#define CONSESS_NAME_LEN (2 * crypto_hash_sha256_BYTES)

static pthread_mutex_t consess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *consess_store;
static int consess_idle = 900, consess_lifetime = 28800;
static size_t consess_live;
static int64_t consess_counted;

/* How stale "seen" may get before a use refreshes it: CONSESS_TOUCH_S,
 * or a quarter of a short idle timeout. */
static int
consess_touch_s(void)
{
	int t = consess_idle / 4;

	return t < 1 ? 1 : t > CONSESS_TOUCH_S ? CONSESS_TOUCH_S : t;
}

/* The row name for a token: lowercase hex SHA-256. 0, or -1 when the
 * token is not CONSESS_TOKEN_LEN base64url characters. */
static int
consess_row_name(const char *token, char out[CONSESS_NAME_LEN + 1])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	size_t n = strlen(token);

	if (n != CONSESS_TOKEN_LEN || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWX"
	    "YZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return -1;
	crypto_hash_sha256(d, (const unsigned char *)token, n);
	hex_encode(d, sizeof(d), out);
	return 0;
}

static void
consess_random(char *out, size_t cap)
{
	uint8_t r[32];

	randombytes_buf(r, sizeof(r));
	sodium_bin2base64(out, cap, r, sizeof(r),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(r, sizeof(r));
}

/* idle_expires from seen, never past the absolute expiry. */
static void
consess_idle_from_seen(struct consess *s)
{
	s->idle_expires = s->seen + consess_idle;
	if (s->idle_expires > s->expires)
		s->idle_expires = s->expires;
}

/* Parse a row into *s; -1 when malformed. */
static int
consess_parse(const uint8_t *val, size_t len, struct consess *s)
{
	json_t *o;
	const char *user, *csrf;
	int ok;

	memset(s, 0, sizeof(*s));
	if (len > CONSESS_ROW_MAX)
		return -1;
	o = json_loadb((const char *)val, len, 0, NULL);
	user = json_string_value(json_object_get(o, "user"));
	csrf = json_string_value(json_object_get(o, "csrf"));
	ok = json_is_object(o) && user != NULL && strlen(user) <=
	    USERS_NAME_MAX && csrf != NULL && strlen(csrf) ==
	    CONSESS_CSRF_LEN && json_is_integer(json_object_get(o, "pwgen")) &&
	    json_is_integer(json_object_get(o, "created")) &&
	    json_is_integer(json_object_get(o, "seen")) &&
	    json_is_integer(json_object_get(o, "expires"));
	if (ok) {
		snprintf(s->user, sizeof(s->user), "%s", user);
		snprintf(s->csrf, sizeof(s->csrf), "%s", csrf);
		s->pwgen = json_integer_value(json_object_get(o, "pwgen"));
		s->created = json_integer_value(json_object_get(o, "created"));
		s->seen = json_integer_value(json_object_get(o, "seen"));
		s->expires = json_integer_value(json_object_get(o, "expires"));
		consess_idle_from_seen(s);
	}
	json_decref(o);
	return ok ? 0 : -1;
}

/*
 * Write a session row: ord = created, exp = idle_expires. expect_rev as
 * store_put_ex (STORE_REV_ABSENT for a new session). The store's codes.
 */
static int
consess_write(const char *row, const struct consess *s, const char *peer,
    uint64_t expect_rev, struct error *err)
{
	json_t *o;
	char *txt;
	int rc;

	o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s}", "user", s->user,
	    "pwgen", (json_int_t)s->pwgen, "csrf", s->csrf, "created",
	    (json_int_t)s->created, "seen", (json_int_t)s->seen, "expires",
	    (json_int_t)s->expires, "peer", peer != NULL ? peer : "");
	txt = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (txt == NULL)
		return error_set(err, "console sessions: cannot serialize");
	rc = store_put_ex(consess_store, CONSESS_TABLE, row, txt, strlen(txt),
	    s->created, s->idle_expires, expect_rev, NULL, err);
	secret_strfree(txt);
	return rc;
}

/* ------------------------------------------------------------ scanning */

/* Live rows of one user (or, user NULL, rows without an expiry: those
 * written before sessions had one), oldest first. */
struct consess_scan {
	const char *user;
	char (*names)[CONSESS_NAME_LEN + 1];
	uint64_t *revs;
	struct consess *sess;		/* legacy rows: the parsed session */
	size_t n, cap;
};

static void
consess_scan_add(struct consess_scan *sc, const char *name, uint64_t rev,
    const struct consess *s)
{
	if (strlen(name) != CONSESS_NAME_LEN)
		return;
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->names = xrealloc(sc->names, sc->cap * sizeof(*sc->names));
		sc->revs = xrealloc(sc->revs, sc->cap * sizeof(*sc->revs));
		sc->sess = xrealloc(sc->sess, sc->cap * sizeof(*sc->sess));
	}
	memcpy(sc->names[sc->n], name, sizeof(sc->names[0]));
	sc->revs[sc->n] = rev;
	if (s != NULL)
		sc->sess[sc->n] = *s;
	else
		memset(&sc->sess[sc->n], 0, sizeof(sc->sess[0]));
	sc->n++;
}

static int
consess_scan_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct consess_scan *sc = arg;
	struct consess s;
	int ok = consess_parse(val, len, &s) == 0;

	if (sc->user != NULL) {
		if (ok && strcmp(s.user, sc->user) == 0)
			consess_scan_add(sc, name, meta->rev, NULL);
	} else if (meta->exp == 0)
		consess_scan_add(sc, name, meta->rev, ok ? &s : NULL);
	sodium_memzero(&s, sizeof(s));
	return 0;
}

static void
consess_scan_free(struct consess_scan *sc)
{
	if (sc->sess != NULL)
		sodium_memzero(sc->sess, sc->cap * sizeof(*sc->sess));
	free(sc->names);
	free(sc->revs);
	free(sc->sess);
}

/* Every page of the table in ord order; live_only skips expired rows. */
static int
consess_scan_all(struct consess_scan *sc, int live_only, struct error *err)
{
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct store_page q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = 500;
	q.live_only = live_only;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(consess_store, CONSESS_TABLE, &q,
		    consess_scan_cb, NULL, sc, next, err);
		if (rc != STORE_OK || next[0] == '\0')
			return rc;
		memcpy(cursor, next, sizeof(cursor));
	}
}

/* Delete the collected rows from..to-1 (each only if unchanged since
 * the scan); returns how many went, or a store code < 0. */
static int
consess_scan_delete(struct consess_scan *sc, size_t from, size_t to,
    struct error *err)
{
	size_t i;
	int n = 0, rc;

	for (i = from; i < to && i < sc->n; i++) {
		rc = store_delete_ex(consess_store, CONSESS_TABLE,
		    sc->names[i], sc->revs[i], err);
		if (rc < 0)
			return rc;
		n += rc == 0;
	}
	return n;
}

/*
 * Rows written before sessions carried an expiry (exp 0) would never be
 * purged: give each its expiry, or delete it when it has ended or cannot
 * be read. Runs once at start; the table holds at most CONSESS_PER_USER
 * rows per user.
 */
static int
consess_migrate(int64_t now, struct error *err)
{
	struct consess_scan sc;
	size_t i, fixed = 0;
	int rc;

	memset(&sc, 0, sizeof(sc));
	rc = consess_scan_all(&sc, 0, err);
	for (i = 0; rc == STORE_OK && i < sc.n; i++) {
		struct consess *s = &sc.sess[i];

		if (s->user[0] == '\0' || s->expires <= now ||
		    s->idle_expires <= now)
			rc = store_delete_ex(consess_store, CONSESS_TABLE,
			    sc.names[i], sc.revs[i], err);
		else
			rc = consess_write(sc.names[i], s, NULL, sc.revs[i],
			    err);
		if (rc == STORE_ABSENT)		/* changed meanwhile */
			rc = STORE_OK;
		fixed++;
	}
	consess_scan_free(&sc);
	if (rc == STORE_OK && fixed > 0)
		log_info("console sessions: %zu row%s from an earlier version "
		    "given an expiry", fixed, fixed == 1 ? "" : "s");
	return rc;
}

/* ----------------------------------------------------------------- API */

int
consess_init(struct store *st, int idle_s, int lifetime_s, struct error *err)
{
	pthread_mutex_lock(&consess_lock);
	consess_store = st;
	consess_idle = idle_s;
	consess_lifetime = lifetime_s;
	consess_live = 0;
	consess_counted = 0;
	pthread_mutex_unlock(&consess_lock);
	if (consess_migrate(now_unix(), err) < 0)
		return error_prefix(err, "console sessions");
	return 0;
}

void
consess_shutdown(void)
{
	pthread_mutex_lock(&consess_lock);
	consess_store = NULL;
	pthread_mutex_unlock(&consess_lock);
}

int
consess_idle_s(void)
{
	return consess_idle;
}

int
consess_create(const char *user, int64_t pwgen, const char *peer,
    int64_t now, char token[CONSESS_TOKEN_LEN + 1], struct consess *out,
    struct error *err)
{
	struct consess_scan sc;
	struct error cerr;
	char row[CONSESS_NAME_LEN + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->pwgen = pwgen;
	consess_random(out->csrf, sizeof(out->csrf));
	out->created = out->seen = now;
	out->expires = now + consess_lifetime;
	consess_idle_from_seen(out);
	consess_random(token, CONSESS_TOKEN_LEN + 1);
	consess_row_name(token, row);
	rc = consess_write(row, out, peer, STORE_REV_ABSENT, err);
	if (rc != 0) {
		sodium_memzero(token, CONSESS_TOKEN_LEN + 1);
		sodium_memzero(out, sizeof(*out));
		if (rc == STORE_ABSENT)		/* 256 random bits collided */
			rc = error_set(err, "console sessions: token reused");
		return rc;
	}
	/* Bound the sessions of one user: the oldest beyond the cap end
	 * (the scan is in creation order). */
	memset(&sc, 0, sizeof(sc));
	sc.user = user;
	if (consess_scan_all(&sc, 1, &cerr) == STORE_OK &&
	    sc.n > CONSESS_PER_USER)
		consess_scan_delete(&sc, 0, sc.n - CONSESS_PER_USER, &cerr);
	consess_scan_free(&sc);
	pthread_mutex_lock(&consess_lock);
	consess_live++;
	pthread_mutex_unlock(&consess_lock);
	return 0;
}

int
consess_lookup(const char *token, int64_t now, struct consess *out,
    struct error *err)
{
	char row[CONSESS_NAME_LEN + 1];
	struct store_meta meta;
	struct error derr;
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (consess_row_name(token, row) != 0)
		return 1;
	rc = store_get_ex(consess_store, CONSESS_TABLE, row, &val, &len,
	    &meta, err);
	if (rc == STORE_CORRUPT) {
		/* Grants nothing; logged with its row id by the store, and
		 * `trusteectl store check` names it. */
		return 1;
	}
	if (rc != 0)
		return rc;
	rc = consess_parse(val, len, out);
	secret_free(val, len);
	if (rc != 0 || out->expires <= now || out->idle_expires <= now ||
	    (meta.exp != 0 && meta.exp <= now)) {
		/* Only this revision: another instance may just have
		 * refreshed it (then it is not over). */
		store_delete_ex(consess_store, CONSESS_TABLE, row, meta.rev,
		    &derr);
		sodium_memzero(out, sizeof(*out));
		return 1;
	}
	if (now - out->seen >= consess_touch_s()) {
		out->seen = now;
		consess_idle_from_seen(out);
		rc = consess_write(row, out, NULL, meta.rev, &derr);
		if (rc < 0)
			log_warnx("console session: cannot refresh: %s",
			    derr.msg);
		/* 1: another instance refreshed it first: fine. */
	}
	return 0;
}

int
consess_delete(const char *token, struct error *err)
{
	char row[CONSESS_NAME_LEN + 1];
	int rc;

	if (consess_row_name(token, row) != 0)
		return 1;
	rc = store_delete(consess_store, CONSESS_TABLE, row, err);
	if (rc == 0) {
		pthread_mutex_lock(&consess_lock);
		if (consess_live > 0)
			consess_live--;
		pthread_mutex_unlock(&consess_lock);
	}
	return rc;
}

int
consess_delete_user(const char *user, struct error *err)
{
	struct consess_scan sc;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.user = user;
	rc = consess_scan_all(&sc, 0, err);
	if (rc == STORE_OK)
		rc = consess_scan_delete(&sc, 0, sc.n, err);
	consess_scan_free(&sc);
	pthread_mutex_lock(&consess_lock);
	consess_counted = 0;		/* recount on the next query */
	pthread_mutex_unlock(&consess_lock);
	return rc;
}

int
consess_gc(struct error *err)
{
	size_t n, total = 0;
	int rc, i;

	/* A few batches per call; the next tick takes the rest. */
	for (i = 0; i < 10; i++) {
		rc = store_purge(consess_store, CONSESS_TABLE, INT64_MIN,
		    CONSESS_PURGE_BATCH, &n, err);
		if (rc != STORE_OK)
			return rc;
		total += n;
		if (n < CONSESS_PURGE_BATCH)
			break;
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

size_t
consess_count(int64_t now)
{
	struct error err;
	uint64_t rows;
	size_t n;

	pthread_mutex_lock(&consess_lock);
	if (consess_store == NULL || now - consess_counted <
	    CONSESS_COUNT_EVERY_S) {
		n = consess_live;
		pthread_mutex_unlock(&consess_lock);
		return n;
	}
	consess_counted = now;
	pthread_mutex_unlock(&consess_lock);
	/* Purge first, so that the count is of live sessions only. */
	if (consess_gc(&err) >= 0 && store_count(consess_store, CONSESS_TABLE,
	    &rows, &err) == STORE_OK) {
		pthread_mutex_lock(&consess_lock);
		consess_live = (size_t)rows;
		pthread_mutex_unlock(&consess_lock);
	}
	pthread_mutex_lock(&consess_lock);
	n = consess_live;
	pthread_mutex_unlock(&consess_lock);
	return n;
}

int
consess_csrf_ok(const struct consess *s, const char *header)
{
	if (header == NULL || strlen(header) != CONSESS_CSRF_LEN ||
	    strlen(s->csrf) != CONSESS_CSRF_LEN)
		return 0;
	return sodium_memcmp(s->csrf, header, CONSESS_CSRF_LEN) == 0;
}
