/*
 * users.c: console users in the encrypted store (table "users"; see
 * console.h for the row). All store access for users is here: a read,
 * a write, a delete and a scan, each a plain store call, so the store's
 * paging and watch interfaces can replace them in one place.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "console.h"

#define USERS_TABLE "users"
#define USERS_ROW_MAX ((size_t)16 * 1024)

static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *users_store;
/* A real hash of a random password: unknown names are verified against
 * it so that they cost what a known name costs. */
static char users_dummy[PASSWORD_HASH_MAX];

/* ------------------------------------------------------------ the rows */

/* 0 and *row (an object), 1 no such user, -1 error. */
static int
users_read(const char *name, json_t **row, struct error *err)
{
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*row = NULL;
	rc = store_get(users_store, USERS_TABLE, name, &val, &len, err);
	if (rc != 0)
		return rc;
	*row = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
	if (!json_is_object(*row) ||
	    !json_is_string(json_object_get(*row, "hash")) ||
	    !json_is_string(json_object_get(*row, "role"))) {
		json_decref(*row);
		*row = NULL;
		return error_set(err, "users: the row of a user is malformed");
	}
	return 0;
}

static int
users_write(const char *name, const json_t *row, struct error *err)
{
	char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (s == NULL)
		return error_set(err, "users: cannot serialize a row");
	rc = store_put(users_store, USERS_TABLE, name, s, strlen(s), err);
	secret_strfree(s);
	return rc;
}

struct users_scan {
	json_t *items;			/* public views */
	int enabled_admins;
	const char *except;		/* not counted */
};

static json_t *users_public(const json_t *row);

static int
users_scan_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	struct users_scan *sc = arg;
	json_t *row;
	const char *role;

	if (len > USERS_ROW_MAX)
		return 0;
	row = json_loadb((const char *)val, len, 0, NULL);
	role = json_string_value(json_object_get(row, "role"));
	if (!json_is_object(row) || role == NULL) {
		log_warnx("users: skipping a malformed row");
		json_decref(row);
		return 0;
	}
	if (strcmp(role, "admin") == 0 &&
	    !json_is_true(json_object_get(row, "disabled")) &&
	    (sc->except == NULL || strcmp(sc->except, name) != 0))
		sc->enabled_admins++;
	if (sc->items != NULL)
		json_array_append_new(sc->items, users_public(row));
	json_decref(row);
	return 0;
}

static int
users_scan(struct users_scan *sc, struct error *err)
{
	return store_list(users_store, USERS_TABLE, users_scan_cb, sc, err);
}

/* ------------------------------------------------------------- helpers */

static json_t *
users_public(const json_t *row)
{
	static const char *const keys[] = { "name", "role", "disabled",
	    "created", "created_by", "updated", "updated_by",
	    "password_changed" };
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(row, keys[i]);

		json_object_set(o, keys[i], v != NULL ? v :
		    (strcmp(keys[i], "disabled") == 0 ? json_false() :
		    json_null()));
	}
	return o;
}

static json_t *
users_now_string(void)
{
	char t[TIME_RFC3339_LEN];

	time_format_rfc3339(now_unix(), t);
	return json_string(t);
}

static void
users_touch(json_t *row, const char *who)
{
	json_object_set_new(row, "updated", users_now_string());
	json_object_set_new(row, "updated_by", json_string(who != NULL ? who :
	    ""));
}

/* -1 with err unless some enabled admin other than name remains. */
static int
users_keep_an_admin(const char *name, struct error *err)
{
	struct users_scan sc = { NULL, 0, name };

	if (users_scan(&sc, err) != 0)
		return -1;
	if (sc.enabled_admins == 0)
		return error_set(err, "'%s' is the last enabled admin: add or "
		    "enable another admin first", name);
	return 0;
}

/* ---------------------------------------------------------------- API */

int
users_init(struct store *st, struct error *err)
{
	char *pw = password_generate(32);
	int rc;

	rc = password_hash(pw, strlen(pw), users_dummy, err);
	secret_strfree(pw);
	if (rc != 0)
		return error_prefix(err, "users");
	pthread_mutex_lock(&users_lock);
	users_store = st;
	pthread_mutex_unlock(&users_lock);
	return 0;
}

void
users_shutdown(void)
{
	pthread_mutex_lock(&users_lock);
	users_store = NULL;
	pthread_mutex_unlock(&users_lock);
}

int
users_name_check(const char *name, struct error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > USERS_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._@-") != n || strchr("._@-", name[0]) != NULL)
		return error_set(err, "a user name has 1 to %d characters of "
		    "[A-Za-z0-9._@-] and starts with a letter or digit",
		    USERS_NAME_MAX);
	return 0;
}

int
users_role_ok(const char *role)
{
	return role != NULL && (strcmp(role, "admin") == 0 ||
	    strcmp(role, "operator") == 0 || strcmp(role, "auditor") == 0);
}

int
users_add(const char *name, const char *role, const char *pw, size_t pwlen,
    const char *who, struct error *err)
{
	char hash[PASSWORD_HASH_MAX];
	json_t *row = NULL;
	int rc;

	if (users_name_check(name, err) != 0)
		return -1;
	if (!users_role_ok(role))
		return error_set(err, "role must be admin, operator or auditor");
	if ((rc = password_hash(pw, pwlen, hash, err)) != 0)
		return rc;
	pthread_mutex_lock(&users_lock);
	rc = users_read(name, &row, err);
	if (rc == 0) {
		json_decref(row);
		rc = 1;
		goto out;
	}
	if (rc < 0)
		goto out;
	row = json_pack("{s:s, s:s, s:s, s:b, s:I, s:o, s:s, s:o, s:s, s:o}",
	    "name", name, "role", role, "hash", hash, "disabled", 0,
	    "pwgen", (json_int_t)1, "created", users_now_string(),
	    "created_by", who != NULL ? who : "", "updated",
	    users_now_string(), "updated_by", who != NULL ? who : "",
	    "password_changed", users_now_string());
	rc = row != NULL ? users_write(name, row, err) :
	    error_set(err, "users: cannot build the row");
	json_decref(row);
out:
	pthread_mutex_unlock(&users_lock);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
users_get(const char *name, json_t **user, struct error *err)
{
	json_t *row;
	int rc;

	*user = NULL;
	if (users_name_check(name, err) != 0)
		return 1;
	rc = users_read(name, &row, err);
	if (rc == 0) {
		*user = users_public(row);
		json_decref(row);
	}
	return rc;
}

static int
users_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
	    "name")), json_string_value(json_object_get(*(json_t *const *)b,
	    "name")));
}

int
users_list(json_t **items, struct error *err)
{
	struct users_scan sc = { json_array(), 0, NULL };
	json_t **v, *out;
	size_t i, n;

	*items = NULL;
	if (users_scan(&sc, err) != 0) {
		json_decref(sc.items);
		return -1;
	}
	n = json_array_size(sc.items);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i] = json_array_get(sc.items, i);
		if (!json_is_string(json_object_get(v[i], "name")))
			json_object_set_new(v[i], "name", json_string(""));
	}
	qsort(v, n, sizeof(*v), users_cmp);
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(sc.items);
	*items = out;
	return 0;
}

int
users_set_password(const char *name, const char *pw, size_t pwlen,
    const char *who, struct error *err)
{
	char hash[PASSWORD_HASH_MAX];
	json_t *row = NULL;
	int rc;

	if (users_name_check(name, err) != 0)
		return 1;
	if ((rc = password_hash(pw, pwlen, hash, err)) != 0)
		return rc;
	pthread_mutex_lock(&users_lock);
	rc = users_read(name, &row, err);
	if (rc == 0) {
		json_object_set_new(row, "hash", json_string(hash));
		json_object_set_new(row, "pwgen", json_integer(
		    json_integer_value(json_object_get(row, "pwgen")) + 1));
		json_object_set_new(row, "password_changed",
		    users_now_string());
		users_touch(row, who);
		rc = users_write(name, row, err);
	}
	pthread_mutex_unlock(&users_lock);
	json_decref(row);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
users_set_role(const char *name, const char *role, const char *who,
    struct error *err)
{
	json_t *row = NULL;
	int rc;

	if (users_name_check(name, err) != 0)
		return 1;
	if (!users_role_ok(role))
		return error_set(err, "role must be admin, operator or auditor");
	pthread_mutex_lock(&users_lock);
	rc = users_read(name, &row, err);
	if (rc == 0 && strcmp(role, "admin") != 0 &&
	    strcmp(json_string_value(json_object_get(row, "role")),
	    "admin") == 0 && users_keep_an_admin(name, err) != 0)
		rc = -1;
	if (rc == 0) {
		json_object_set_new(row, "role", json_string(role));
		users_touch(row, who);
		rc = users_write(name, row, err);
	}
	pthread_mutex_unlock(&users_lock);
	json_decref(row);
	return rc;
}

int
users_set_disabled(const char *name, int disabled, const char *who,
    struct error *err)
{
	json_t *row = NULL;
	int rc;

	if (users_name_check(name, err) != 0)
		return 1;
	pthread_mutex_lock(&users_lock);
	rc = users_read(name, &row, err);
	if (rc == 0 && disabled && strcmp(json_string_value(json_object_get(
	    row, "role")), "admin") == 0 && users_keep_an_admin(name,
	    err) != 0)
		rc = -1;
	if (rc == 0) {
		json_object_set_new(row, "disabled", json_boolean(disabled));
		users_touch(row, who);
		rc = users_write(name, row, err);
	}
	pthread_mutex_unlock(&users_lock);
	json_decref(row);
	return rc;
}

int
users_delete(const char *name, struct error *err)
{
	json_t *row = NULL;
	int rc;

	if (users_name_check(name, err) != 0)
		return 1;
	pthread_mutex_lock(&users_lock);
	rc = users_read(name, &row, err);
	if (rc == 0 && strcmp(json_string_value(json_object_get(row, "role")),
	    "admin") == 0 && users_keep_an_admin(name, err) != 0)
		rc = -1;
	if (rc == 0)
		rc = store_delete(users_store, USERS_TABLE, name, err);
	pthread_mutex_unlock(&users_lock);
	json_decref(row);
	return rc;
}

int
users_authenticate(const char *name, const char *pw, size_t pwlen,
    char role[USERS_ROLE_MAX], int64_t *pwgen, struct error *err)
{
	struct error nerr;
	const char *hash = users_dummy, *r;
	json_t *row = NULL;
	int rc, found = 0, v;

	role[0] = '\0';
	*pwgen = 0;
	if (users_name_check(name, &nerr) == 0) {
		rc = users_read(name, &row, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			found = 1;
			hash = json_string_value(json_object_get(row, "hash"));
		}
	}
	v = password_verify(hash, pw, pwlen);
	if (v == PASSWORD_BUSY) {
		json_decref(row);
		error_set(err, "too many logins at once: try again");
		return PASSWORD_BUSY;
	}
	r = json_string_value(json_object_get(row, "role"));
	if (v != 0 || !found || json_is_true(json_object_get(row,
	    "disabled")) || !users_role_ok(r)) {
		json_decref(row);
		return 1;
	}
	snprintf(role, USERS_ROLE_MAX, "%s", r);
	*pwgen = json_integer_value(json_object_get(row, "pwgen"));
	json_decref(row);
	return 0;
}

int
users_session_check(const char *name, int64_t pwgen,
    char role[USERS_ROLE_MAX], struct error *err)
{
	json_t *row;
	const char *r;
	int rc;

	role[0] = '\0';
	rc = users_read(name, &row, err);
	if (rc != 0)
		return rc;
	r = json_string_value(json_object_get(row, "role"));
	if (json_is_true(json_object_get(row, "disabled")) ||
	    json_integer_value(json_object_get(row, "pwgen")) != pwgen ||
	    !users_role_ok(r)) {
		json_decref(row);
		return 1;
	}
	snprintf(role, USERS_ROLE_MAX, "%s", r);
	json_decref(row);
	return 0;
}

int
users_ensure(const char *name, const char *role, const char *pw,
    struct error *err)
{
	int rc = users_add(name, role, pw, strlen(pw), "trusteed --dev", err);

	return rc == 1 ? 0 : rc;
}
