/*
 * test_console.c: the console's server side over a scratch SQLite store:
 * argon2id password hashing (password.c), users (users.c), console
 * sessions and CSRF (consess.c, console_auth.c), the login guard
 * (loginguard.c), the attestation log (attlog*.c) and the metrics text
 * (metrics.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"

struct fixture {
	char dir[128], db[160];
	uint8_t key[32];
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err;
	uint8_t key[32];

	testutil_tmpdb("test_console", f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	randombytes_buf(key, sizeof(key));
	memcpy(f->key, key, sizeof(key));
	f->st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	if (f->st == NULL)
		fail_msg("store_open: %s", err.msg);
	if (users_init(f->st, &err) != 0 ||
	    consess_init(f->st, 600, 3600, &err) != 0)
		fail_msg("init: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	consess_shutdown();
	users_shutdown();
	store_close(f->st);
	testutil_db_unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* 1 when needle occurs in the database file or its WAL (raw bytes). */
static int
db_contains(const struct fixture *f, const char *needle)
{
	static const char *const suffix[] = { "", "-wal" };
	struct error err;
	uint8_t *data;
	size_t len, i;
	int found = 0;

	for (i = 0; i < 2; i++) {
		char *p = xasprintf("%s%s", f->db, suffix[i]);

		if (access(p, R_OK) == 0 &&
		    file_read_all(p, 64u << 20, &data, &len, &err) == 0) {
			found |= memmem(data, len, needle, strlen(needle)) !=
			    NULL;
			free(data);
		}
		free(p);
	}
	return found;
}

/* ------------------------------------------------------------ passwords */

static void
test_password_hash_verify(void **state)
{
	char hash[PASSWORD_HASH_MAX], other[PASSWORD_HASH_MAX];
	struct error err;

	(void)state;
	assert_int_equal(password_hash("correct horse", 13, hash, &err), 0);
	assert_true(strncmp(hash, "$argon2id$", 10) == 0);
	assert_int_equal(password_verify(hash, "correct horse", 13), 0);
	assert_int_equal(password_verify(hash, "correct hors", 12), 1);
	assert_int_equal(password_verify(hash, "Correct horse", 13), 1);
	assert_int_equal(password_verify("not a hash", "correct horse", 13), 1);
	/* A fresh salt every time. */
	assert_int_equal(password_hash("correct horse", 13, other, &err), 0);
	assert_string_not_equal(hash, other);
	assert_int_equal(password_needs_rehash(hash), 0);
	/* A hash made with other limits asks to be redone. */
	assert_int_equal(crypto_pwhash_str(other, "x", 1,
	    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
	assert_int_equal(password_needs_rehash(other), 1);
	assert_int_equal(password_verify(other, "x", 1), 0);
}

static void
test_password_check(void **state)
{
	struct error err;
	char big[PASSWORD_MAX + 2];
	char *g;

	(void)state;
	assert_int_equal(password_check("short", 5, &err), -1);
	assert_int_equal(password_check("        ", 8, &err), -1);
	assert_int_equal(password_check("abc\0defgh", 9, &err), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(password_check(big, PASSWORD_MAX + 1, &err), -1);
	assert_int_equal(password_check(big, PASSWORD_MAX, &err), 0);
	assert_int_equal(password_check("eight ch", 8, &err), 0);
	g = password_generate(24);
	assert_int_equal(strlen(g), 24);
	assert_int_equal(strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), 24);
	secret_strfree(g);
}

/* ---------------------------------------------------------------- users */

static void
test_users_lifecycle(void **state)
{
	struct fixture *f = *state;
	char role[USERS_ROLE_MAX];
	struct error err;
	json_t *u, *list;
	int64_t gen, gen2;
	size_t bad;
	uint64_t n;
	int more;

	assert_int_equal(users_add("zelda-admin", "admin", "pw-zelda-1", 10,
	    "test", &err), 0);
	assert_int_equal(users_add("zelda-admin", "auditor", "pw-zelda-2", 10,
	    "test", &err), 1);
	assert_int_equal(users_add("bad name", "admin", "pw-zelda-1", 10,
	    "test", &err), USERS_INVALID);
	assert_int_equal(users_add("quentin", "root", "pw-zelda-1", 10,
	    "test", &err), USERS_INVALID);
	assert_int_equal(users_add("quentin", "auditor", "short", 5, "test",
	    &err), USERS_INVALID);
	assert_int_equal(users_add("quentin-auditor", "auditor",
	    "quentin-pw-9", 12, "test", &err), 0);

	assert_int_equal(users_authenticate("zelda-admin", "pw-zelda-1", 10,
	    role, &gen, &err), 0);
	assert_string_equal(role, "admin");
	assert_int_equal(users_authenticate("zelda-admin", "pw-zelda-2", 10,
	    role, &gen2, &err), 1);
	assert_int_equal(users_authenticate("nobody", "pw-zelda-1", 10, role,
	    &gen2, &err), 1);
	assert_int_equal(users_authenticate("not a valid name!", "x", 1, role,
	    &gen2, &err), 1);

	/* The public view has no hash. */
	assert_int_equal(users_get("zelda-admin", &u, &err), 0);
	assert_null(json_object_get(u, "hash"));
	assert_null(json_object_get(u, "pwgen"));
	assert_string_equal(json_string_value(json_object_get(u, "role")),
	    "admin");
	json_decref(u);
	assert_int_equal(users_get("nobody", &u, &err), 1);

	/* The last enabled admin stays. */
	assert_int_equal(users_delete("zelda-admin", &err), USERS_INVALID);
	assert_int_equal(users_set_disabled("zelda-admin", 1, "t", &err),
	    USERS_INVALID);
	assert_int_equal(users_set_role("zelda-admin", "auditor", "t", &err),
	    USERS_INVALID);

	/* A password change ends old sessions (pwgen). */
	assert_int_equal(users_session_check("quentin-auditor", 1, role, &err),
	    0);
	assert_string_equal(role, "auditor");
	assert_int_equal(users_set_password("quentin-auditor", "newpass-123",
	    11, "t", &err), 0);
	assert_int_equal(users_session_check("quentin-auditor", 1, role, &err),
	    1);
	assert_int_equal(users_authenticate("quentin-auditor", "newpass-123",
	    11, role, &gen, &err), 0);
	assert_int_equal(gen, 2);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 0);

	/* Role changes apply at once; disabled users cannot log in. */
	assert_int_equal(users_set_role("quentin-auditor", "operator", "t",
	    &err), 0);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 0);
	assert_string_equal(role, "operator");
	assert_int_equal(users_set_disabled("quentin-auditor", 1, "t", &err),
	    0);
	assert_int_equal(users_authenticate("quentin-auditor", "newpass-123",
	    11, role, &gen2, &err), 1);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 1);
	assert_int_equal(users_set_disabled("quentin-auditor", 0, "t", &err),
	    0);

	assert_int_equal(users_list(NULL, 0, &list, &more, &bad, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_false(more);
	assert_int_equal(bad, 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "name")), "quentin-auditor");
	json_decref(list);
	/* Pages by name. */
	assert_int_equal(users_list(NULL, 1, &list, &more, &bad, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_true(more);
	json_decref(list);
	assert_int_equal(users_list("quentin-auditor", 1, &list, &more, &bad,
	    &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "name")), "zelda-admin");
	json_decref(list);
	assert_int_equal(users_count(&n, &err), 0);
	assert_int_equal(n, 2);

	/* With a second admin the first may go. */
	assert_int_equal(users_set_role("quentin-auditor", "admin", "t", &err),
	    0);
	assert_int_equal(users_delete("zelda-admin", &err), 0);
	assert_int_equal(users_delete("zelda-admin", &err), 1);

	/* A dump of the database shows no user name and no hash. */
	assert_false(db_contains(f, "quentin-auditor"));
	assert_false(db_contains(f, "$argon2id$"));
}

/* "Another instance": a second handle on the same database file. */
static struct store *other_st;
static const char *other_role;		/* set this role on the hooked user */
static const char *other_disable;	/* disable this user */
static int other_fired;

static void
other_instance_writes(const char *name)
{
	struct store_meta meta;
	struct error err;
	uint8_t *val;
	size_t len;
	json_t *row;
	char *txt;
	const char *who = other_disable != NULL ? other_disable : name;

	if (other_fired++ > 0)
		return;		/* once: the retry must then succeed */
	assert_int_equal(store_get_ex(other_st, "users", who, &val, &len,
	    &meta, &err), 0);
	row = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
	if (other_role != NULL)
		json_object_set_new(row, "role", json_string(other_role));
	if (other_disable != NULL)
		json_object_set_new(row, "disabled", json_true());
	txt = json_dumps(row, JSON_COMPACT);
	assert_int_equal(store_put_ex(other_st, "users", who, txt,
	    strlen(txt), meta.ord, 0, meta.rev, NULL, &err), 0);
	free(txt);
	json_decref(row);
}

static void
test_users_cas(void **state)
{
	struct fixture *f = *state;
	char role[USERS_ROLE_MAX];
	struct error err;
	uint8_t key[32];
	json_t *u;
	int64_t gen;

	memcpy(key, f->key, sizeof(key));
	other_st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(other_st);
	assert_int_equal(users_add("root-a", "admin", "pw-root-a-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_add("root-b", "admin", "pw-root-b-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_add("olga", "operator", "pw-olga-01", 10, "t",
	    &err), 0);

	/* Another instance demotes olga while we change her password:
	 * our write is refused, made again on the fresh row, and both
	 * changes are there. */
	users_test_hook = other_instance_writes;
	other_fired = 0;
	other_role = "auditor";
	other_disable = NULL;
	assert_int_equal(users_set_password("olga", "pw-olga-02", 10, "t",
	    &err), 0);
	assert_int_equal(other_fired, 2);	/* a second round was made */
	assert_int_equal(users_authenticate("olga", "pw-olga-02", 10, role,
	    &gen, &err), 0);
	assert_string_equal(role, "auditor");
	assert_int_equal(gen, 2);

	/* Two instances disable the last two admins at once: the check
	 * after the write finds none left and puts root-a back. */
	other_fired = 0;
	other_role = NULL;
	other_disable = "root-b";
	assert_int_equal(users_set_disabled("root-a", 1, "t", &err),
	    USERS_INVALID);
	users_test_hook = NULL;
	assert_non_null(strstr(err.msg, "last enabled admin"));
	assert_int_equal(users_get("root-a", &u, &err), 0);
	assert_false(json_is_true(json_object_get(u, "disabled")));
	json_decref(u);
	/* ... and the same for a delete. */
	users_test_hook = other_instance_writes;
	other_fired = 0;
	other_disable = "root-c";
	assert_int_equal(users_add("root-c", "admin", "pw-root-c-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_delete("root-a", &err), USERS_INVALID);
	users_test_hook = NULL;
	assert_int_equal(users_get("root-a", &u, &err), 0);
	json_decref(u);
	/* Two instances adding one name: one wins. */
	assert_int_equal(users_add("olga", "admin", "pw-olga-03", 10, "t",
	    &err), 1);
	store_close(other_st);
	other_st = NULL;
}

/* ------------------------------------------------------------- sessions */

/* The row name of a session token (hex SHA-256). */
static const char *
row_of(const char *tok, char out[65])
{
	uint8_t d[32];

	crypto_hash_sha256(d, (const unsigned char *)tok, strlen(tok));
	hex_encode(d, sizeof(d), out);
	return out;
}

static void
session_meta(struct fixture *f, const char *tok, struct store_meta *meta)
{
	struct error err;
	uint8_t *val;
	size_t len;
	char row[65];

	assert_int_equal(store_get_ex(f->st, "console_sessions",
	    row_of(tok, row), &val, &len, meta, &err), 0);
	secret_free(val, len);
}

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	char tok[CONSESS_TOKEN_LEN + 1], tok2[CONSESS_TOKEN_LEN + 1];
	char row[65];
	struct consess s, s2;
	struct store_meta meta;
	struct error err;
	int64_t t0 = 1800000000, now;
	uint8_t *val;
	size_t len;

	assert_int_equal(consess_create("alice", 1, "10.0.0.1", t0, tok, &s,
	    &err), 0);
	assert_int_equal(strlen(tok), CONSESS_TOKEN_LEN);
	assert_int_equal(strlen(s.csrf), CONSESS_CSRF_LEN);
	assert_string_not_equal(tok, s.csrf);
	assert_int_equal(s.expires, t0 + 3600);
	assert_int_equal(consess_lookup(tok, t0 + 10, &s2, &err), 0);
	assert_string_equal(s2.user, "alice");
	assert_string_equal(s2.csrf, s.csrf);
	/* The token is stored only as a hash. */
	assert_false(db_contains(f, tok));
	/* Unknown and malformed tokens. */
	tok2[0] = '\0';
	assert_int_equal(consess_lookup("nope", t0, &s2, &err), 1);
	memcpy(tok2, tok, sizeof(tok2));
	tok2[0] = tok2[0] == 'A' ? 'B' : 'A';
	assert_int_equal(consess_lookup(tok2, t0, &s2, &err), 1);

	/* CSRF: constant-time equality, exact length. */
	assert_true(consess_csrf_ok(&s, s.csrf));
	assert_false(consess_csrf_ok(&s, NULL));
	assert_false(consess_csrf_ok(&s, ""));
	memcpy(tok2, s.csrf, sizeof(tok2));
	tok2[5] ^= 1;
	assert_false(consess_csrf_ok(&s, tok2));

	/* Use keeps it alive (idle 600 s) ... */
	assert_int_equal(consess_lookup(tok, t0 + 500, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 1000, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 1500, &s2, &err), 0);
	/* ... until the absolute lifetime (3600 s). */
	assert_int_equal(consess_lookup(tok, t0 + 2000, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 2500, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 3000, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 3500, &s2, &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 3600, &s2, &err), 1);
	/* Gone for good: the expired row was deleted. */
	assert_int_equal(consess_lookup(tok, t0 + 10, &s2, &err), 1);

	/* Idle: unused for more than 600 s. */
	assert_int_equal(consess_create("alice", 1, "10.0.0.1", t0, tok, &s,
	    &err), 0);
	assert_int_equal(consess_lookup(tok, t0 + 601, &s2, &err), 1);

	/* Logout and per-user ends. */
	assert_int_equal(consess_create("alice", 1, "p", t0, tok, &s, &err),
	    0);
	assert_int_equal(consess_create("bob", 1, "p", t0, tok2, &s, &err), 0);
	assert_int_equal(consess_delete(tok, &err), 0);
	assert_int_equal(consess_delete(tok, &err), 1);
	assert_int_equal(consess_lookup(tok, t0 + 1, &s2, &err), 1);
	assert_int_equal(consess_delete_user("bob", &err), 1);
	assert_int_equal(consess_lookup(tok2, t0 + 1, &s2, &err), 1);

	/* The row's plain columns: ord = created, exp = the idle expiry,
	 * moved by a refresh. */
	assert_int_equal(consess_create("carol", 1, "p", t0, tok, &s, &err),
	    0);
	session_meta(f, tok, &meta);
	assert_int_equal(meta.ord, t0);
	assert_int_equal(meta.exp, t0 + 600);
	assert_int_equal(consess_lookup(tok, t0 + 100, &s2, &err), 0);
	session_meta(f, tok, &meta);
	assert_int_equal(meta.exp, t0 + 700);
	assert_int_equal(meta.rev, 2);

	/* gc is the store's purge, by the store's clock: sessions that
	 * ended (idle or absolute) go, live ones stay. */
	now = now_unix();
	assert_int_equal(consess_create("carol", 1, "p", now - 700, tok, &s,
	    &err), 0);			/* idle since 700 s */
	assert_int_equal(consess_create("carol", 1, "p", now - 10, tok2, &s,
	    &err), 0);
	assert_true(consess_gc(&err) >= 1);
	assert_int_equal(consess_lookup(tok2, now, &s2, &err), 0);
	assert_int_equal(store_get(f->st, "console_sessions", row_of(tok, row),
	    &val, &len, &err), 1);
	assert_int_equal(consess_gc(&err), 0);
}

/* Rows written before sessions had an expiry get one at start. */
static void
test_sessions_legacy(void **state)
{
	struct fixture *f = *state;
	char tok[CONSESS_TOKEN_LEN + 1], tok2[CONSESS_TOKEN_LEN + 1];
	char row[65], row2[65], *v;
	struct store_meta meta;
	struct consess s;
	struct error err;
	int64_t now = now_unix();

	assert_int_equal(consess_create("lena", 1, "p", now, tok, &s, &err),
	    0);
	assert_int_equal(consess_create("lena", 1, "p", now - 5000, tok2, &s,
	    &err), 0);
	/* Rewrite both as an earlier version did: plain store_put. */
	v = xasprintf("{\"user\":\"lena\",\"pwgen\":1,\"csrf\":\"%s\","
	    "\"created\":%lld,\"seen\":%lld,\"expires\":%lld,\"peer\":\"p\"}",
	    s.csrf, (long long)now, (long long)now, (long long)now + 3600);
	assert_int_equal(store_put(f->st, "console_sessions", row_of(tok, row),
	    v, strlen(v), &err), 0);
	free(v);
	v = xasprintf("{\"user\":\"lena\",\"pwgen\":1,\"csrf\":\"%s\","
	    "\"created\":%lld,\"seen\":%lld,\"expires\":%lld,\"peer\":\"p\"}",
	    s.csrf, (long long)now - 5000, (long long)now - 5000,
	    (long long)now - 1400);
	assert_int_equal(store_put(f->st, "console_sessions",
	    row_of(tok2, row2), v, strlen(v), &err), 0);
	free(v);
	session_meta(f, tok, &meta);
	assert_int_equal(meta.exp, 0);
	consess_shutdown();
	assert_int_equal(consess_init(f->st, 600, 3600, &err), 0);
	session_meta(f, tok, &meta);
	assert_int_equal(meta.exp, now + 600);
	assert_int_equal(meta.ord, now);
	assert_int_equal(consess_lookup(tok, now + 1, &s, &err), 0);
	/* The one that had ended is gone. */
	assert_int_equal(consess_lookup(tok2, now + 1, &s, &err), 1);
}

static void
test_sessions_per_user_cap(void **state)
{
	char tok[CONSESS_TOKEN_LEN + 1], first[CONSESS_TOKEN_LEN + 1];
	struct consess s;
	struct error err;
	int64_t t0 = 1800000000;
	int i;

	(void)state;
	for (i = 0; i <= CONSESS_PER_USER; i++) {
		assert_int_equal(consess_create("dave", 1, "p", t0 + i, tok, &s,
		    &err), 0);
		if (i == 0)
			memcpy(first, tok, sizeof(first));
	}
	/* The oldest ended; the newest lives. */
	assert_int_equal(consess_lookup(first, t0 + 20, &s, &err), 1);
	assert_int_equal(consess_lookup(tok, t0 + 20, &s, &err), 0);
}

/* ------------------------------------------------- console_auth (CSRF) */

static struct http_header hdrs[4];

static void
fake_request(struct http_request *r, enum http_method m, const char *cookie,
    const char *csrf, const char *origin)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->method = m;
	r->method_name = m == HTTP_M_GET ? "GET" : "POST";
	r->path = r->target = (char *)"/api/v1/whoami";
	snprintf(r->peer, sizeof(r->peer), "10.1.2.3:5555");
	r->tls = 1;
	if (cookie != NULL) {
		hdrs[n].name = (char *)"Cookie";
		hdrs[n++].value = (char *)cookie;
	}
	if (csrf != NULL) {
		hdrs[n].name = (char *)"X-CSRF-Token";
		hdrs[n++].value = (char *)csrf;
	}
	if (origin != NULL) {
		hdrs[n].name = (char *)"Origin";
		hdrs[n++].value = (char *)origin;
		hdrs[n].name = (char *)"Host";
		hdrs[n++].value = (char *)"console.example:8443";
	}
	r->headers = hdrs;
	r->nheaders = n;
}

static void
test_console_auth_api(void **state)
{
	struct console_auth_config cc = { 1, 600, 3600, { 5, 3, 60, 900 } };
	char tok[CONSESS_TOKEN_LEN + 1], cookie[128];
	struct admin_identity id;
	struct http_request r;
	struct consess s;
	struct error err;
	int64_t gen;
	char role[USERS_ROLE_MAX];
	struct fixture *f = *state;

	assert_int_equal(console_auth_init(f->st, &cc, &err), 0);
	assert_int_equal(users_add("erin", "operator", "erin-pass-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_authenticate("erin", "erin-pass-1", 11, role,
	    &gen, &err), 0);
	assert_int_equal(consess_create("erin", gen, "p", now_unix(), tok, &s,
	    &err), 0);
	snprintf(cookie, sizeof(cookie), "a=b; %s=%s", CONSOLE_COOKIE, tok);

	/* No cookie: not this path. An Authorization header always wins. */
	fake_request(&r, HTTP_M_GET, NULL, NULL, NULL);
	assert_false(console_auth_applies(&r));
	fake_request(&r, HTTP_M_GET, cookie, NULL, NULL);
	assert_true(console_auth_applies(&r));

	/* GET needs no CSRF token. */
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	assert_string_equal(id.role, "operator");
	assert_string_equal(id.sub, "erin");
	assert_string_equal(id.actor, "erin (operator)");
	/* A state change needs it, and from the same origin. */
	fake_request(&r, HTTP_M_POST, cookie, NULL, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, "wrong", NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf, "https://evil.example");
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_FORBIDDEN);
	fake_request(&r, HTTP_M_POST, cookie, s.csrf,
	    "https://console.example:8443");
	assert_int_equal(console_auth_api(&r, &id, &err), ADMIN_OK);
	/* A disabled user's session is over. */
	assert_int_equal(users_set_disabled("erin", 1, "t", &err), 0);
	fake_request(&r, HTTP_M_GET, cookie, NULL, NULL);
	assert_int_equal(console_auth_api(&r, &id, &err),
	    ADMIN_UNAUTHENTICATED);
	console_auth_shutdown();
	users_init(f->st, &err);
	consess_init(f->st, 600, 3600, &err);
}

static void
test_source(void **state)
{
	char out[64];

	(void)state;
	console_auth_source("192.0.2.1:443", out, sizeof(out));
	assert_string_equal(out, "192.0.2.1");
	console_auth_source("[2001:db8::1]:8080", out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
}

/* ----------------------------------------------------------- login guard */

static void
test_loginguard(void **state)
{
	struct loginguard_config c = { 6, 3, 60, 900 };
	int64_t t = 1800000000000LL;	/* ms */
	int locked, i;

	(void)state;
	loginguard_init(&c);
	for (i = 0; i < 2; i++) {
		assert_int_equal(loginguard_check("frank", t, &locked), 0);
		loginguard_failure("frank", t);
	}
	assert_int_equal(loginguard_check("frank", t, &locked), 0);
	loginguard_failure("frank", t);			/* 3rd: wait 1 s */
	assert_int_equal(loginguard_check("frank", t, &locked), 1);
	assert_false(locked);
	assert_int_equal(loginguard_check("frank", t + 1000, &locked), 0);
	loginguard_failure("frank", t + 1000);		/* 4th: 2 s */
	assert_int_equal(loginguard_check("frank", t + 1000, &locked), 2);
	loginguard_failure("frank", t + 3000);		/* 5th: 4 s */
	assert_int_equal(loginguard_check("frank", t + 3000, &locked), 4);
	loginguard_failure("frank", t + 7000);		/* 6th: locked */
	assert_int_equal(loginguard_check("frank", t + 7000, &locked), 900);
	assert_true(locked);
	assert_int_equal(loginguard_check("frank", t + 8000, &locked), 899);
	/* Other names are not affected ... */
	assert_int_equal(loginguard_check("gina", t + 8000, &locked), 0);
	/* ... and the lock ends. */
	assert_int_equal(loginguard_check("frank", t + 907000, &locked), 0);
	/* A success clears the name's failures; an admin reset too. */
	loginguard_init(&c);
	for (i = 0; i < 4; i++)
		loginguard_failure("henry", t);
	assert_true(loginguard_check("henry", t, &locked) > 0);
	loginguard_success("henry", t);
	assert_int_equal(loginguard_check("henry", t, &locked), 0);
	for (i = 0; i < 6; i++)
		loginguard_failure("henry", t);
	assert_true(loginguard_check("henry", t, &locked) > 0);
	loginguard_reset_user("henry");
	assert_int_equal(loginguard_check("henry", t, &locked), 0);
	/* Waits round up to whole seconds. */
	loginguard_init(&c);
	for (i = 0; i < 3; i++)
		loginguard_failure("judy", t);
	assert_int_equal(loginguard_check("judy", t + 1, &locked), 1);
	assert_int_equal(loginguard_check("judy", t + 999, &locked), 1);
	assert_int_equal(loginguard_check("judy", t + 1000, &locked), 0);
	/* Failures older than the window are forgotten. */
	for (i = 0; i < 3; i++)
		loginguard_failure("ivan", t);
	assert_int_equal(loginguard_check("ivan", t + 901000, &locked), 0);
}

/* Per source, logins take tokens of the shared limiter (RL_LOGIN). */
static void
test_login_rate(void **state)
{
	struct console_auth_config cc = { 1, 600, 3600, { 50, 50, 60, 900 } };
	struct ratelimit_rule rules[RL_NCLASS] = { { 0, 0 } };
	static const char bad[] = "{\"username\":\"nobody\",\"password\":"
	    "\"wrong-password\"}";
	static const char good[] = "{\"username\":\"rita\",\"password\":"
	    "\"rita-password\"}";
	const char *body;
	struct http_header h[1] = { { (char *)"Content-Type",
	    (char *)"application/json" } };
	struct http_request r;
	struct http_response resp;
	struct sockaddr_in sa;
	struct fixture *f = *state;
	struct error err;
	int i, status[8];

	rules[RL_LOGIN].rate = 0.01;
	rules[RL_LOGIN].burst = 3;
	ratelimit_init(rules, 64);
	assert_int_equal(console_auth_init(f->st, &cc, &err), 0);
	assert_int_equal(users_add("rita", "auditor", "rita-password", 13, "t",
	    &err), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0xc0000201);		/* 192.0.2.1 */
	for (i = 0; i < 8; i++) {
		body = i < 4 ? good : bad;
		memset(&r, 0, sizeof(r));
		memset(&resp, 0, sizeof(resp));
		r.method = HTTP_M_POST;
		r.method_name = "POST";
		r.path = r.target = (char *)"/console/api/login";
		snprintf(r.peer, sizeof(r.peer), "192.0.2.1:4444");
		ratelimit_source_from((struct sockaddr *)&sa, &r.source);
		r.tls = 1;
		r.headers = h;
		r.nheaders = 1;
		r.body = (uint8_t *)body;
		r.body_len = strlen(body);
		console_auth_login(&r, &resp, NULL);
		status[i] = resp.status;
		if (i == 7) {
			assert_non_null(memmem(resp.headers.data,
			    resp.headers.len, "Retry-After: ", 13));
		}
		buf_free(&resp.body);
		buf_free(&resp.headers);
	}
	/* Logins that succeed use none of the rate (burst 3) ... */
	for (i = 0; i < 4; i++)
		assert_int_equal(status[i], 200);
	/* ... three wrong passwords do, then the source is over it: 429
	 * before any password work. */
	assert_int_equal(status[4], 401);
	assert_int_equal(status[6], 401);
	assert_int_equal(status[7], 429);
	ratelimit_shutdown();
	console_auth_shutdown();
	users_init(f->st, &err);
	consess_init(f->st, 600, 3600, &err);
}

/* -------------------------------------------------------- attestation log */

static json_t *
rec(const char *tee, const char *verdict, const char *source)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:n}",
	    "endpoint", "/kbs/v0/attest", "tee", tee, "verdict", verdict,
	    "source", source, "reason", verdict[0] == 'r' ? "nope" : "",
	    "trust_vector", "token", "ear", "claims");
}

/* All pages of a query; returns the number of items, checks newest
 * first and that no id repeats. */
static size_t
attlog_walk(const struct attlog_filter *flt, size_t limit)
{
	char next[ATTLOG_CURSOR_MAX], cur[ATTLOG_CURSOR_MAX] = "";
	char last[64] = "~";
	json_t *items, *problems, *it;
	struct error err;
	size_t total = 0, i;

	do {
		assert_int_equal(attlog_read_page(cur[0] != '\0' ? cur :
		    NULL, limit, flt, &items, next, &problems, &err), 0);
		assert_true(json_array_size(items) <= limit);
		json_array_foreach(items, i, it) {
			const char *id = json_string_value(json_object_get(it,
			    "id"));

			assert_true(strcmp(id, last) < 0);
			snprintf(last, sizeof(last), "%s", id);
			total++;
		}
		assert_int_equal(json_array_size(problems), 0);
		json_decref(items);
		json_decref(problems);
		memcpy(cur, next, sizeof(cur));
	} while (cur[0] != '\0');
	return total;
}

static void
test_attlog(void **state)
{
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct store_meta meta;
	struct error err;
	json_t *items, *problems, *r, *one;
	char next[ATTLOG_CURSOR_MAX], id0[64];
	uint8_t *val;
	size_t len;
	int64_t ms;
	int i;

	assert_int_equal(attlog_init(f->st, 5, 86400, 0, &err), 0);
	for (i = 0; i < 7; i++) {
		r = rec(i % 2 ? "snp" : "tdx", i % 3 == 0 ? "refused" :
		    "affirming", i < 4 ? "10.0.0.1" : "10.0.0.2");
		if (i == 6)
			json_object_set_new(r, "claims", json_pack("{s:{s:s}}",
			    "tdx", "x", "<script>alert(1)</script>"));
		assert_int_equal(attlog_append(r, NULL, &err), 0);
		json_decref(r);
	}
	/* ord is the id's time. */
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_read_page(NULL, 1, &flt, &items, next,
	    &problems, &err), 0);
	snprintf(id0, sizeof(id0), "%s", json_string_value(json_object_get(
	    json_array_get(items, 0), "id")));
	json_decref(items);
	json_decref(problems);
	assert_int_equal(store_get_ex(f->st, "attestations", id0, &val, &len,
	    &meta, &err), 0);
	secret_free(val, len);
	id0[16] = '\0';
	ms = (int64_t)strtoull(id0, NULL, 16);
	assert_int_equal(meta.ord, ms);
	/* Retention by count is the housekeeping's: 5 of 7. */
	assert_int_equal(attlog_count(), 7);
	assert_int_equal(attlog_expire(now_unix()), 2);
	assert_int_equal(attlog_count(), 5);
	assert_int_equal(attlog_walk(&flt, 10), 5);
	assert_int_equal(attlog_walk(&flt, 2), 5);	/* store cursors */

	assert_int_equal(attlog_read_page(NULL, 2, &flt, &items, next,
	    &problems, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(next[0] == 's');
	/* Newest first; no claims in summaries. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 0), "source")), "10.0.0.2");
	assert_null(json_object_get(json_array_get(items, 0), "claims"));
	assert_int_equal(attlog_read_record(json_string_value(
	    json_object_get(json_array_get(items, 0), "id")), &one, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(one, "claims"), "tdx"), "x")),
	    "<script>alert(1)</script>");
	json_decref(one);
	json_decref(items);
	json_decref(problems);
	/* Filters (the index); i = 2..6 are kept. */
	flt.tee = "snp";
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 3, 5 */
	assert_int_equal(attlog_walk(&flt, 1), 2);	/* index cursors */
	flt.tee = NULL;
	flt.verdict = observe_verdict_index("refused");
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 3, 6 */
	flt.verdict = -1;
	flt.source = "10.0.0.1";
	assert_int_equal(attlog_walk(&flt, 10), 2);	/* i = 2, 3 */
	/* A cursor of one kind of query is refused by the other. */
	assert_int_equal(attlog_read_page("s-not-a-cursor", 10, &flt, &items,
	    next, &problems, &err), ATTLOG_BAD_CURSOR);
	flt.source = NULL;
	assert_int_equal(attlog_read_page("i0000000000000000-00000000", 10,
	    &flt, &items, next, &problems, &err), ATTLOG_BAD_CURSOR);
	assert_int_equal(attlog_read_page("sc1.bogus", 10, &flt, &items, next,
	    &problems, &err), ATTLOG_BAD_CURSOR);
	flt.tee = "no-such-tee";
	assert_int_equal(attlog_walk(&flt, 10), 0);
	flt.tee = NULL;
	/* Time filters: the store's ord range. */
	flt.since = now_unix() + 3600;
	assert_int_equal(attlog_walk(&flt, 10), 0);
	flt.since = now_unix() - 3600;
	flt.until = now_unix() + 3600;
	assert_int_equal(attlog_walk(&flt, 2), 5);
	flt.since = flt.until = 0;
	assert_int_equal(attlog_read_record("0000000000000000-00000000", &one,
	    &err), 1);
	assert_int_equal(attlog_read_record("../../etc", &one, &err), 1);
	/* The index is rebuilt from the store. */
	attlog_shutdown();
	assert_int_equal(attlog_init(f->st, 5, 86400, 0, &err), 0);
	assert_int_equal(attlog_count(), 5);
	flt.tee = "snp";
	assert_int_equal(attlog_walk(&flt, 10), 2);
	flt.tee = NULL;
	/* Retention by age. */
	assert_int_equal(attlog_expire(now_unix() + 86400 + 10), 5);
	assert_int_equal(attlog_count(), 0);
	flt.verdict = observe_verdict_index("refused");
	assert_int_equal(attlog_walk(&flt, 10), 0);
	attlog_shutdown();
	assert_false(db_contains(f, "10.0.0.2"));
}

/* A row's forms: this version's "<summary>\n<rest>" with the ear
 * spliced in as given (also when rest holds nothing else), and the two
 * forms earlier versions wrote ("<summary>\n<record>", the record
 * alone) all read back as the whole record. */
static void
test_attlog_row_forms(void **state)
{
	static const char ear[] = "{\"header\":{\"alg\":\"ES256\"},"
	    "\"payload\":{\"iat\":1,\"submods\":{\"cpu0\":{}}}}";
	static const char *const summary_keys[] = { "id", "time",
	    "endpoint", "tee", "source", "verdict", "reason",
	    "trust_vector", "policy_id", "token", "latency_us" };
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct error err;
	json_t *items, *problems, *r, *one, *want_ear;
	char next[ATTLOG_CURSOR_MAX], id[32], *txt, *sum;
	int64_t ms = (int64_t)now_unix() * 1000 - 5000;
	size_t i, k;
	int form;

	assert_int_equal(attlog_init(f->st, 1000, 86400, 0, &err), 0);
	want_ear = json_loads(ear, 0, NULL);
	assert_non_null(want_ear);
	/* Spliced: with other members, and with none but the summary's. */
	r = rec("tdx", "affirming", "10.1.1.1");
	json_object_del(r, "ear");
	json_object_set_new(r, "submods", json_pack("{s:{s:s}}", "cpu0",
	    "status", "affirming"));
	assert_int_equal(attlog_append(r, ear, &err), 0);
	json_decref(r);
	r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "endpoint",
	    "/kbs/v0/attest", "tee", "snp", "verdict", "none", "source",
	    "10.1.1.2", "reason", "");
	assert_int_equal(attlog_append(r, ear, &err), 0);
	json_decref(r);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_read_page(NULL, 10, &flt, &items, next,
	    &problems, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	for (i = 0; i < 2; i++) {
		const json_t *it = json_array_get(items, i);

		assert_null(json_object_get(it, "ear"));
		assert_int_equal(attlog_read_record(json_string_value(
		    json_object_get(it, "id")), &one, &err), 0);
		assert_true(json_equal(json_object_get(one, "ear"), want_ear));
		for (k = 0; k < sizeof(summary_keys) /
		    sizeof(summary_keys[0]); k++)
			assert_true(json_equal(json_object_get(one,
			    summary_keys[k]), json_object_get(it,
			    summary_keys[k])));
		/* The newest is the one without submods. */
		assert_true((json_object_get(one, "submods") != NULL) ==
		    (i == 1));
		json_decref(one);
	}
	json_decref(items);
	json_decref(problems);

	/* Rows as earlier versions wrote them. */
	for (form = 0; form < 2; form++) {
		snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
		    (ms + form), 0x5150 + form);
		r = rec("sgx", "refused", "10.1.1.3");
		json_object_set_new(r, "id", json_string(id));
		json_object_set_new(r, "submods", json_object());
		txt = json_dumps(r, JSON_COMPACT);
		if (form == 0) {
			sum = txt;
			txt = xasprintf("{\"id\":\"%s\",\"tee\":\"sgx\"}\n%s",
			    id, sum);
			free(sum);
		}
		assert_int_equal(store_put_ex(f->st, "attestations", id, txt,
		    strlen(txt), ms + form, 0, STORE_REV_ABSENT, NULL, &err),
		    0);
		free(txt);
		assert_int_equal(attlog_read_record(id, &one, &err), 0);
		assert_true(json_equal(one, r));
		json_decref(one);
		json_decref(r);
	}
	json_decref(want_ear);
	attlog_shutdown();
}

static void
ignore_change(const char *table, void *arg)
{
	(void)table;
	(void)arg;
}

/* Another instance's rows (a second handle on the file) appear in
 * filtered pages once the watch has seen them; rows of an earlier
 * version (ord 0) are ordered at start. */
static void
test_attlog_shared(void **state)
{
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct store_meta meta;
	struct store *other;
	struct error err;
	char id[32], *txt;
	uint8_t key[32], *val;
	size_t len;
	int64_t ms = (int64_t)now_unix() * 1000 - 5000;
	json_t *r;
	int i;

	memcpy(key, f->key, sizeof(key));
	other = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(other);
	/* The other instance follows the table too (so its writes bump the
	 * table's generation). */
	assert_int_equal(store_watch(other, "attestations", ignore_change,
	    NULL, &err), 0);
	/* Two rows as an earlier version wrote them: ord 0. */
	for (i = 0; i < 2; i++) {
		snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
		    (ms - 60000 + i), 0xabc0 + i);
		r = rec("sgx", "refused", "10.9.9.9");
		json_object_set_new(r, "id", json_string(id));
		txt = json_dumps(r, JSON_COMPACT);
		assert_int_equal(store_put(other, "attestations", id, txt,
		    strlen(txt), &err), 0);
		free(txt);
		json_decref(r);
	}
	assert_int_equal(attlog_init(f->st, 1000, 86400, 1, &err), 0);
	assert_int_equal(store_get_ex(f->st, "attestations", id, &val, &len,
	    &meta, &err), 0);
	secret_free(val, len);
	assert_int_equal(meta.ord, ms - 60000 + 1);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	flt.tee = "sgx";
	assert_int_equal(attlog_walk(&flt, 10), 2);

	/* The other instance attests from 10.7.7.7 (a little in the past,
	 * as a write that took its time to commit). */
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "%016llx-%08x", (unsigned long long)
		    (ms + i), 0xdef0 + i);
		r = rec("tdx", "affirming", "10.7.7.7");
		json_object_set_new(r, "id", json_string(id));
		txt = json_dumps(r, JSON_COMPACT);
		assert_int_equal(store_put_ex(other, "attestations", id, txt,
		    strlen(txt), ms + i, 0, STORE_REV_ABSENT, NULL, &err), 0);
		free(txt);
		json_decref(r);
	}
	flt.tee = NULL;
	flt.source = "10.7.7.7";
	/* Unfiltered pages read the store: there at once. */
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_walk(&flt, 2), 5);
	/* Filtered pages: after the poll that sees the other's writes. */
	flt.source = "10.7.7.7";
	store_poll(f->st);
	assert_int_equal(attlog_walk(&flt, 2), 3);
	/* Dropped by the other instance: skipped, and forgotten. */
	assert_int_equal(store_delete(other, "attestations", id, &err), 0);
	assert_int_equal(attlog_walk(&flt, 10), 2);
	attlog_shutdown();
	store_close(other);
}

/* --------------------------------------------------------------- metrics */

static void
test_metrics_text(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct http_request req;
	struct http_response resp;
	struct error err;
	char *text;

	config_defaults(&cfg);
	metrics_init(&cfg, f->st);
	/* Store calls are timed through the store's hook. */
	assert_int_equal(store_put(f->st, "metrics_probe", "a", "1", 1, &err),
	    0);
	assert_int_equal(store_put(f->st, "metrics_probe", "b", "1", 1, &err),
	    0);
	metrics_request(MR_KBS_AUTH, 200, 100, 50, 1000000);
	metrics_request(MR_KBS_RESOURCE, 401, 0, 80, 2000000);
	metrics_attestation(observe_tee_index("snp"), OBSERVE_AFFIRMING,
	    3000000);
	metrics_attestation(observe_tee_index("x<y\"z"), OBSERVE_REFUSED, 1);
	metrics_release(0);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	metrics_handle(&req, &resp, NULL);
	assert_int_equal(resp.status, 200);
	text = buf_cstr(&resp.body);
	assert_non_null(strstr(text, "\nkbs_http_requests_total 2\n"));
	assert_non_null(strstr(text, "kbs_auth_successes_total 1\n"));
	assert_non_null(strstr(text, "kbs_plugin_errors_total{plugin_name="
	    "\"resource\"} 1\n"));
	assert_non_null(strstr(text, "kbs_attestation_successes_total{"
	    "tee_type=\"snp\"} 1\n"));
	assert_non_null(strstr(text, "kbs_attestation_failures_total{"
	    "tee_type=\"other\"} 1\n"));
	assert_non_null(strstr(text, "trustee_verifications_total{tee=\"snp\","
	    "result=\"affirming\"} 1\n"));
	assert_non_null(strstr(text, "kbs_policy_violations_total 1\n"));
	assert_non_null(strstr(text, "kbs_http_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} 2\n"));
	/* A client-chosen TEE name never becomes a label value. */
	assert_null(strstr(text, "x<y"));
	assert_non_null(strstr(text, "trustee_store_operation_duration_"
	    "seconds_count{op=\"put\"} 2\n"));
	assert_non_null(strstr(text, "trustee_store_operation_duration_"
	    "seconds_count{op=\"scan\"}"));
	/* The data key as the store reports it. */
	assert_non_null(strstr(text, "\ntrustee_data_key_version 1\n"));
	assert_non_null(strstr(text, "\ntrustee_data_key_rotation_in_progress "
	    "0\n"));
	buf_free(&resp.body);
	buf_free(&resp.headers);
	store_set_timing(NULL);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_hash_verify),
		cmocka_unit_test(test_password_check),
		cmocka_unit_test_setup_teardown(test_users_lifecycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_users_cas, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_legacy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_user_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_auth_api, setup,
		    teardown),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_loginguard),
		cmocka_unit_test_setup_teardown(test_login_rate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attlog_row_forms, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attlog_shared, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_metrics_text, setup,
		    teardown),
	};

	log_init("test_console", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
