/*
 * consess.c: console sessions in the encrypted store (table
 * "console_sessions"; see console.h for the row). The cookie carries 32
 * random bytes; the row is named by their SHA-256, so neither the store
 * nor a listing of it can give a usable token back. All store access for
 * sessions is here (a read, a write, a delete and a scan); the store's
 * row expiry can later replace consess_gc.
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
consess_row_name(const char *token, char out[2 * crypto_hash_sha256_BYTES + 1])
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
		s->idle_expires = s->seen + consess_idle;
		if (s->idle_expires > s->expires)
			s->idle_expires = s->expires;
	}
	json_decref(o);
	return ok ? 0 : -1;
}

static int
consess_write(const char *row, const struct consess *s, const char *peer,
    struct error *err)
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
	rc = store_put(consess_store, CONSESS_TABLE, row, txt, strlen(txt),
	    err);
	secret_strfree(txt);
	return rc;
}

/* ------------------------------------------------------------ scanning */

struct consess_scan {
	int64_t now;
	const char *user;		/* collect this user's rows, or NULL */
	char (*names)[2 * crypto_hash_sha256_BYTES + 1];	/* to delete */
	int64_t *created;
	size_t n, cap;
	size_t live;
	int expired_only;
};

static void
consess_scan_add(struct consess_scan *sc, const char *name, int64_t created)
{
	if (strlen(name) != 2 * crypto_hash_sha256_BYTES)
		return;
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->names = xrealloc(sc->names, sc->cap * sizeof(*sc->names));
		sc->created = xrealloc(sc->created, sc->cap *
		    sizeof(*sc->created));
	}
	memcpy(sc->names[sc->n], name, sizeof(sc->names[0]));
	sc->created[sc->n++] = created;
}

static int
consess_scan_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct consess_scan *sc = arg;
	struct consess s;
	int dead;

	if (consess_parse(val, len, &s) != 0) {
		consess_scan_add(sc, name, 0);	/* malformed: drop it */
		return 0;
	}
	dead = s.expires <= sc->now || s.idle_expires <= sc->now;
	if (!dead)
		sc->live++;
	if (sc->user == NULL ? dead : strcmp(s.user, sc->user) == 0 &&
	    (!sc->expired_only || dead))
		consess_scan_add(sc, name, s.created);
	return 0;
}

static void
consess_scan_free(struct consess_scan *sc)
{
	free(sc->names);
	free(sc->created);
}

/* Delete the collected rows; returns how many went. */
static int
consess_scan_delete(struct consess_scan *sc, size_t from, size_t to,
    struct error *err)
{
	size_t i;
	int n = 0, rc;

	for (i = from; i < to && i < sc->n; i++) {
		rc = store_delete(consess_store, CONSESS_TABLE, sc->names[i],
		    err);
		if (rc < 0)
			return -1;
		n += rc == 0;
	}
	return n;
}

/* Oldest first. */
static void
consess_scan_sort(struct consess_scan *sc)
{
	size_t i, j;

	for (i = 1; i < sc->n; i++)
		for (j = i; j > 0 && sc->created[j - 1] > sc->created[j]; j--) {
			char tmp[2 * crypto_hash_sha256_BYTES + 1];
			int64_t t = sc->created[j];

			memcpy(tmp, sc->names[j], sizeof(tmp));
			memcpy(sc->names[j], sc->names[j - 1], sizeof(tmp));
			memcpy(sc->names[j - 1], tmp, sizeof(tmp));
			sc->created[j] = sc->created[j - 1];
			sc->created[j - 1] = t;
		}
}

/* ----------------------------------------------------------------- API */

int
consess_init(struct store *st, int idle_s, int lifetime_s, struct error *err)
{
	(void)err;
	pthread_mutex_lock(&consess_lock);
	consess_store = st;
	consess_idle = idle_s;
	consess_lifetime = lifetime_s;
	consess_live = 0;
	consess_counted = 0;
	pthread_mutex_unlock(&consess_lock);
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
	char row[2 * crypto_hash_sha256_BYTES + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->pwgen = pwgen;
	consess_random(out->csrf, sizeof(out->csrf));
	out->created = out->seen = now;
	out->expires = now + consess_lifetime;
	out->idle_expires = now + consess_idle;
	if (out->idle_expires > out->expires)
		out->idle_expires = out->expires;
	consess_random(token, CONSESS_TOKEN_LEN + 1);
	consess_row_name(token, row);
	rc = consess_write(row, out, peer, err);
	if (rc != 0) {
		sodium_memzero(token, CONSESS_TOKEN_LEN + 1);
		return -1;
	}
	/* Bound the sessions of one user: the oldest beyond the cap end. */
	memset(&sc, 0, sizeof(sc));
	sc.now = now;
	sc.user = user;
	if (store_list(consess_store, CONSESS_TABLE, consess_scan_cb, &sc,
	    err) == 0 && sc.n > CONSESS_PER_USER) {
		consess_scan_sort(&sc);
		consess_scan_delete(&sc, 0, sc.n - CONSESS_PER_USER, err);
	}
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
	char row[2 * crypto_hash_sha256_BYTES + 1];
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (consess_row_name(token, row) != 0)
		return 1;
	rc = store_get(consess_store, CONSESS_TABLE, row, &val, &len, err);
	if (rc != 0)
		return rc;
	rc = consess_parse(val, len, out);
	secret_free(val, len);
	if (rc != 0 || out->expires <= now || out->idle_expires <= now) {
		store_delete(consess_store, CONSESS_TABLE, row, err);
		sodium_memzero(out, sizeof(*out));
		return 1;
	}
	if (now - out->seen >= consess_touch_s()) {
		out->seen = now;
		out->idle_expires = now + consess_idle;
		if (out->idle_expires > out->expires)
			out->idle_expires = out->expires;
		if (consess_write(row, out, NULL, err) != 0)
			log_warnx("console session: cannot refresh: %s",
			    err->msg);
	}
	return 0;
}

int
consess_delete(const char *token, struct error *err)
{
	char row[2 * crypto_hash_sha256_BYTES + 1];
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
	int n;

	memset(&sc, 0, sizeof(sc));
	sc.now = now_unix();
	sc.user = user;
	if (store_list(consess_store, CONSESS_TABLE, consess_scan_cb, &sc,
	    err) != 0) {
		consess_scan_free(&sc);
		return -1;
	}
	n = consess_scan_delete(&sc, 0, sc.n, err);
	consess_scan_free(&sc);
	pthread_mutex_lock(&consess_lock);
	consess_counted = 0;		/* recount on the next query */
	pthread_mutex_unlock(&consess_lock);
	return n;
}

int
consess_gc(int64_t now, struct error *err)
{
	struct consess_scan sc;
	int n;

	memset(&sc, 0, sizeof(sc));
	sc.now = now;
	if (store_list(consess_store, CONSESS_TABLE, consess_scan_cb, &sc,
	    err) != 0) {
		consess_scan_free(&sc);
		return -1;
	}
	n = consess_scan_delete(&sc, 0, sc.n, err);
	pthread_mutex_lock(&consess_lock);
	consess_live = sc.live;
	consess_counted = now;
	pthread_mutex_unlock(&consess_lock);
	consess_scan_free(&sc);
	return n;
}

size_t
consess_count(int64_t now)
{
	struct consess_scan sc;
	struct error err;
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
	memset(&sc, 0, sizeof(sc));
	sc.now = now;
	sc.user = "";			/* collect nothing, count live */
	if (store_list(consess_store, CONSESS_TABLE, consess_scan_cb, &sc,
	    &err) == 0) {
		pthread_mutex_lock(&consess_lock);
		consess_live = sc.live;
		pthread_mutex_unlock(&consess_lock);
	}
	consess_scan_free(&sc);
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
