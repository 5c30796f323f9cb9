/*
 * users.c: console users in the encrypted store (table "users"; see
 * console.h for the row). All store access for users is here.
 *
 * Every change is a read-modify-write with a compare-and-swap on the
 * row's revision (store_put_ex with the revision read): when another
 * instance sharing the store changed the same user in between, the write
 * is refused and the change is made again on the fresh row, so two
 * changes never interleave. A change that can take away an enabled admin
 * (demote, disable, delete) checks afterwards that one is left, and puts
 * the row back when not: two instances demoting the last two admins at
 * once cannot both see the other's change missed (each checks after its
 * own write), so at least one of them undoes its change.
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
#define USERS_CAS_TRIES 8
#define USERS_SCAN_PAGE 500

void (*users_test_hook)(const char *name);

static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *users_store;
/* A real hash of a random password: unknown names are verified against
 * it so that they cost what a known name costs. */
static char users_dummy[PASSWORD_HASH_MAX];

/* ------------------------------------------------------------ the rows */

/* 0 and *row (an object) with its revision, 1 no such user, < 0 the
 * store's code (a malformed row is STORE_CORRUPT, named). */
static int
users_read(const char *name, json_t **row, uint64_t *rev, struct error *err)
{
	struct store_meta meta;
	char id[STORE_ID_HEX_LEN + 1];
	struct error ierr;
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	*row = NULL;
	rc = store_get_ex(users_store, USERS_TABLE, name, &val, &len, &meta,
	    err);
	if (rc != 0)
		return rc;
	*row = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
	if (!json_is_object(*row) ||
	    !json_is_string(json_object_get(*row, "hash")) ||
	    !json_is_string(json_object_get(*row, "role"))) {
		json_decref(*row);
		*row = NULL;
		if (store_row_id_hex(users_store, USERS_TABLE, name, id,
		    &ierr) != 0)
			snprintf(id, sizeof(id), "?");
		error_set(err, "table users, row %s: the user's row is "
		    "malformed", id);
		return STORE_CORRUPT;
	}
	if (rev != NULL)
		*rev = meta.rev;
	return 0;
}

/* Write with the condition expect_rev (store_put_ex): 0, 1 when the row
 * changed meanwhile, < 0. ord is the creation time, for a stable order. */
static int
users_write(const char *name, const json_t *row, uint64_t expect_rev,
    uint64_t *rev, struct error *err)
{
	char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
	int64_t created = 0;
	int rc;

	if (s == NULL)
		return error_set(err, "users: cannot serialize a row");
	time_parse_rfc3339(json_string_value(json_object_get(row, "created")),
	    &created);
	rc = store_put_ex(users_store, USERS_TABLE, name, s, strlen(s),
	    created, 0, expect_rev, rev, err);
	secret_strfree(s);
	return rc;
}

static json_t *users_public(const json_t *row);

/* What a walk over every row collects. */
struct users_scan {
	json_t *items;			/* public views, or NULL */
	int enabled_admins;
	const char *except;		/* not counted */
	int bad;			/* rows that could not be read */
};

static int
users_scan_cb(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg)
{
	struct users_scan *sc = arg;
	json_t *row;
	const char *role;

	(void)meta;
	row = len <= USERS_ROW_MAX ? json_loadb((const char *)val, len, 0,
	    NULL) : NULL;
	role = json_string_value(json_object_get(row, "role"));
	if (!json_is_object(row) || role == NULL) {
		log_warnx("users: skipping a malformed row");
		sc->bad++;
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

static void
users_scan_bad(const char *table, const char *id_hex, const char *reason,
    void *arg)
{
	struct users_scan *sc = arg;

	(void)table;
	(void)id_hex;
	(void)reason;		/* the store logged table, row id, reason */
	sc->bad++;
}

/* Every row, a page (USERS_SCAN_PAGE rows) at a time. */
static int
users_scan(struct users_scan *sc, struct error *err)
{
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
	struct store_page q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.limit = USERS_SCAN_PAGE;
	for (;;) {
		q.cursor = cursor;
		rc = store_scan(users_store, USERS_TABLE, &q, users_scan_cb,
		    users_scan_bad, sc, next, err);
		if (rc != STORE_OK || next[0] == '\0')
			return rc;
		memcpy(cursor, next, sizeof(cursor));
	}
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

static int
users_is_enabled_admin(const json_t *row)
{
	const char *role = json_string_value(json_object_get(row, "role"));

	return role != NULL && strcmp(role, "admin") == 0 &&
	    !json_is_true(json_object_get(row, "disabled"));
}

/* 0 when some enabled admin other than except (NULL: any) exists;
 * USERS_INVALID with err naming name when none; < 0 store codes. */
static int
users_keep_an_admin(const char *name, const char *except, struct error *err)
{
	struct users_scan sc = { NULL, 0, except, 0 };
	int rc;

	if ((rc = users_scan(&sc, err)) != 0)
		return rc;
	if (sc.enabled_admins == 0) {
		error_set(err, "'%s' is the last enabled admin: add or enable "
		    "another admin first", name);
		return USERS_INVALID;
	}
	return 0;
}

/*
 * One change of a user, made again on a fresh read whenever another
 * writer got in between. edit changes row (0), or refuses (< 0, err
 * set). *before (if not NULL) receives a copy of the row as it was, *rev
 * the new revision.
 */
typedef int (*users_edit_fn)(json_t *row, void *arg, struct error *err);

static int
users_update(const char *name, users_edit_fn edit, void *arg,
    json_t **before, uint64_t *rev, struct error *err)
{
	json_t *row;
	uint64_t old;
	int rc, i;

	if (before != NULL)
		*before = NULL;
	for (i = 0; i < USERS_CAS_TRIES; i++) {
		if ((rc = users_read(name, &row, &old, err)) != 0)
			return rc;
		if (before != NULL) {
			json_decref(*before);
			*before = json_deep_copy(row);
		}
		if ((rc = edit(row, arg, err)) == 0) {
			if (users_test_hook != NULL)
				users_test_hook(name);
			rc = users_write(name, row, old, rev, err);
		}
		json_decref(row);
		if (rc != STORE_ABSENT)
			return rc;
		/* Another instance changed this user: again, freshly. */
	}
	error_set(err, "user '%s' is being changed elsewhere at the same "
	    "time: try again", name);
	return USERS_CONFLICT;
}

/*
 * After a change that may have taken away an enabled admin: if none is
 * left, put the user's row back as it was (only if nobody changed it
 * since) and refuse with USERS_INVALID.
 */
static int
users_admin_guard(const char *name, const json_t *before, uint64_t rev,
    int deleted, struct error *err)
{
	struct error uerr;
	int rc, urc;

	if (before == NULL || !users_is_enabled_admin(before))
		return 0;
	rc = users_keep_an_admin(name, NULL, err);
	if (rc != USERS_INVALID)
		return rc;
	urc = users_write(name, before, deleted ? STORE_REV_ABSENT : rev, NULL,
	    &uerr);
	if (urc != 0)
		log_warnx("users: '%s' was the last enabled admin, and putting "
		    "it back failed (%s): add an admin with `trusteectl user "
		    "add --role admin`", name, urc == 1 ? "it was changed "
		    "again meanwhile" : uerr.msg);
	return USERS_INVALID;
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

/* password_hash's failures as users_* codes. */
static int
users_hash(const char *pw, size_t pwlen, char hash[PASSWORD_HASH_MAX],
    struct error *err)
{
	int rc;

	if (password_check(pw, pwlen, err) != 0)
		return USERS_INVALID;
	rc = password_hash(pw, pwlen, hash, err);
	return rc == 0 || rc == PASSWORD_BUSY ? rc : STORE_ERROR;
}

int
users_add(const char *name, const char *role, const char *pw, size_t pwlen,
    const char *who, struct error *err)
{
	char hash[PASSWORD_HASH_MAX];
	json_t *row;
	int rc;

	if (users_name_check(name, err) != 0)
		return USERS_INVALID;
	if (!users_role_ok(role)) {
		error_set(err, "role must be admin, operator or auditor");
		return USERS_INVALID;
	}
	if ((rc = users_hash(pw, pwlen, hash, err)) != 0)
		return rc;
	row = json_pack("{s:s, s:s, s:s, s:b, s:I, s:o, s:s, s:o, s:s, s:o}",
	    "name", name, "role", role, "hash", hash, "disabled", 0,
	    "pwgen", (json_int_t)1, "created", users_now_string(),
	    "created_by", who != NULL ? who : "", "updated",
	    users_now_string(), "updated_by", who != NULL ? who : "",
	    "password_changed", users_now_string());
	sodium_memzero(hash, sizeof(hash));
	if (row == NULL)
		return error_set(err, "users: cannot build the row");
	/* Insert only if absent: of two instances adding one name, one
	 * gets 1. */
	pthread_mutex_lock(&users_lock);
	rc = users_write(name, row, STORE_REV_ABSENT, NULL, err);
	pthread_mutex_unlock(&users_lock);
	json_decref(row);
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
	rc = users_read(name, &row, NULL, err);
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
users_list(const char *after, size_t limit, json_t **items, int *more,
    size_t *bad, struct error *err)
{
	struct users_scan sc = { json_array(), 0, NULL, 0 };
	json_t **v, *out;
	size_t i, n;
	int rc;

	*items = NULL;
	*more = 0;
	if (bad != NULL)
		*bad = 0;
	if ((rc = users_scan(&sc, err)) != 0) {
		json_decref(sc.items);
		return rc;
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
	for (i = 0; i < n; i++) {
		if (after != NULL && strcmp(json_string_value(json_object_get(
		    v[i], "name")), after) <= 0)
			continue;
		if (limit > 0 && json_array_size(out) == limit) {
			*more = 1;
			break;
		}
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(sc.items);
	if (bad != NULL)
		*bad = (size_t)sc.bad;
	*items = out;
	return 0;
}

int
users_count(uint64_t *n, struct error *err)
{
	return store_count(users_store, USERS_TABLE, n, err);
}

struct users_pw_edit {
	const char *hash;
	const char *who;
};

static int
users_edit_password(json_t *row, void *arg, struct error *err)
{
	struct users_pw_edit *e = arg;

	(void)err;
	json_object_set_new(row, "hash", json_string(e->hash));
	json_object_set_new(row, "pwgen", json_integer(
	    json_integer_value(json_object_get(row, "pwgen")) + 1));
	json_object_set_new(row, "password_changed", users_now_string());
	users_touch(row, e->who);
	return 0;
}

int
users_set_password(const char *name, const char *pw, size_t pwlen,
    const char *who, struct error *err)
{
	char hash[PASSWORD_HASH_MAX];
	struct users_pw_edit e = { hash, who };
	int rc;

	if (users_name_check(name, err) != 0)
		return 1;
	if ((rc = users_hash(pw, pwlen, hash, err)) != 0)
		return rc;
	pthread_mutex_lock(&users_lock);
	rc = users_update(name, users_edit_password, &e, NULL, NULL, err);
	pthread_mutex_unlock(&users_lock);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

struct users_field_edit {
	const char *name;
	const char *role;		/* or NULL */
	int disabled;			/* -1: unchanged */
	const char *who;
};

static int
users_edit_field(json_t *row, void *arg, struct error *err)
{
	struct users_field_edit *e = arg;
	json_t *after = json_deep_copy(row);
	int rc = 0;

	if (e->role != NULL)
		json_object_set_new(after, "role", json_string(e->role));
	if (e->disabled >= 0)
		json_object_set_new(after, "disabled",
		    json_boolean(e->disabled));
	/* The quick check, before writing (the guard checks after). */
	if (users_is_enabled_admin(row) && !users_is_enabled_admin(after))
		rc = users_keep_an_admin(e->name, e->name, err);
	json_decref(after);
	if (rc != 0)
		return rc;
	if (e->role != NULL)
		json_object_set_new(row, "role", json_string(e->role));
	if (e->disabled >= 0)
		json_object_set_new(row, "disabled", json_boolean(e->disabled));
	users_touch(row, e->who);
	return 0;
}

static int
users_set_field(struct users_field_edit *e, struct error *err)
{
	json_t *before = NULL;
	uint64_t rev = 0;
	int rc;

	pthread_mutex_lock(&users_lock);
	rc = users_update(e->name, users_edit_field, e, &before, &rev, err);
	if (rc == 0 && (e->role == NULL || strcmp(e->role, "admin") != 0 ||
	    e->disabled == 1))
		rc = users_admin_guard(e->name, before, rev, 0, err);
	pthread_mutex_unlock(&users_lock);
	json_decref(before);
	return rc;
}

int
users_set_role(const char *name, const char *role, const char *who,
    struct error *err)
{
	struct users_field_edit e = { name, role, -1, who };

	if (users_name_check(name, err) != 0)
		return 1;
	if (!users_role_ok(role)) {
		error_set(err, "role must be admin, operator or auditor");
		return USERS_INVALID;
	}
	return users_set_field(&e, err);
}

int
users_set_disabled(const char *name, int disabled, const char *who,
    struct error *err)
{
	struct users_field_edit e = { name, NULL, disabled != 0, who };

	if (users_name_check(name, err) != 0)
		return 1;
	return users_set_field(&e, err);
}

int
users_delete(const char *name, struct error *err)
{
	json_t *row = NULL;
	uint64_t rev;
	int rc, i;

	if (users_name_check(name, err) != 0)
		return 1;
	pthread_mutex_lock(&users_lock);
	for (i = 0; i < USERS_CAS_TRIES; i++) {
		json_decref(row);
		if ((rc = users_read(name, &row, &rev, err)) != 0)
			break;
		if (users_is_enabled_admin(row) &&
		    (rc = users_keep_an_admin(name, name, err)) != 0)
			break;
		if (users_test_hook != NULL)
			users_test_hook(name);
		rc = store_delete_ex(users_store, USERS_TABLE, name, rev, err);
		if (rc == 0)
			rc = users_admin_guard(name, row, 0, 1, err);
		if (rc != STORE_ABSENT)
			break;
	}
	if (i == USERS_CAS_TRIES) {
		error_set(err, "user '%s' is being changed elsewhere at the "
		    "same time: try again", name);
		rc = USERS_CONFLICT;
	}
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
		rc = users_read(name, &row, NULL, err);
		if (rc < 0)
			return rc;
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
	rc = users_read(name, &row, NULL, err);
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
    const char *who, struct error *err)
{
	int rc = users_add(name, role, pw, strlen(pw), who, err);

	return rc == 1 ? 0 : rc;
}
