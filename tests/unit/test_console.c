/*
 * test_console.c: the console's server side over a scratch SQLite store:
 * argon2id password hashing (password.c), users (users.c), console
 * sessions and CSRF (consess.c, console_auth.c), the login guard
 * (loginguard.c), the attestation log (attlog.c) and the metrics text
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

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"

struct fixture {
	char dir[128], db[160];
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

	assert_int_equal(users_add("zelda-admin", "admin", "pw-zelda-1", 10,
	    "test", &err), 0);
	assert_int_equal(users_add("zelda-admin", "auditor", "pw-zelda-2", 10,
	    "test", &err), 1);
	assert_int_equal(users_add("bad name", "admin", "pw-zelda-1", 10,
	    "test", &err), -1);
	assert_int_equal(users_add("quentin", "root", "pw-zelda-1", 10,
	    "test", &err), -1);
	assert_int_equal(users_add("quentin", "auditor", "short", 5, "test",
	    &err), -1);
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
	assert_int_equal(users_delete("zelda-admin", &err), -1);
	assert_int_equal(users_set_disabled("zelda-admin", 1, "t", &err), -1);
	assert_int_equal(users_set_role("zelda-admin", "auditor", "t", &err),
	    -1);

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

	assert_int_equal(users_list(&list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "name")), "quentin-auditor");
	json_decref(list);

	/* With a second admin the first may go. */
	assert_int_equal(users_set_role("quentin-auditor", "admin", "t", &err),
	    0);
	assert_int_equal(users_delete("zelda-admin", &err), 0);
	assert_int_equal(users_delete("zelda-admin", &err), 1);

	/* A dump of the database shows no user name and no hash. */
	assert_false(db_contains(f, "quentin-auditor"));
	assert_false(db_contains(f, "$argon2id$"));
}

/* ------------------------------------------------------------- sessions */

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	char tok[CONSESS_TOKEN_LEN + 1], tok2[CONSESS_TOKEN_LEN + 1];
	struct consess s, s2;
	struct error err;
	int64_t t0 = 1800000000;

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

	/* gc drops what expired, keeps the rest. */
	assert_int_equal(consess_create("carol", 1, "p", t0, tok, &s, &err),
	    0);
	assert_int_equal(consess_create("carol", 1, "p", t0 + 3300, tok2, &s,
	    &err), 0);
	assert_int_equal(consess_gc(t0 + 3601, &err), 1);
	assert_int_equal(consess_lookup(tok2, t0 + 3602, &s2, &err), 0);
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
	struct console_auth_config cc = { 1, 600, 3600, { 5, 20, 3, 60, 900 } };
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
	struct loginguard_config c = { 6, 9, 3, 60, 900 };
	int64_t t = 1800000000000LL;	/* ms */
	int locked, i;

	(void)state;
	loginguard_init(&c);
	for (i = 0; i < 2; i++) {
		assert_int_equal(loginguard_check("frank", "10.0.0.9", t,
		    &locked), 0);
		loginguard_failure("frank", "10.0.0.9", t);
	}
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t, &locked), 0);
	loginguard_failure("frank", "10.0.0.9", t);	/* 3rd: wait 1 s */
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t, &locked), 1);
	assert_false(locked);
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t + 1000, &locked),
	    0);
	loginguard_failure("frank", "10.0.0.9", t + 1000);	/* 4th: 2 s */
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t + 1000, &locked),
	    2);
	loginguard_failure("frank", "10.0.0.9", t + 3000);	/* 5th: 4 s */
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t + 3000, &locked),
	    4);
	loginguard_failure("frank", "10.0.0.9", t + 7000);	/* 6th: locked */
	assert_int_equal(loginguard_check("frank", "10.0.0.9", t + 7000, &locked),
	    900);
	assert_true(locked);
	/* The lock is on the name: another address is locked out too ... */
	assert_int_equal(loginguard_check("frank", "10.0.0.10", t + 8000,
	    &locked), 899);
	/* ... and it ends. */
	assert_int_equal(loginguard_check("frank", "10.0.0.10", t + 907000,
	    &locked), 0);
	/* The source counts across names: 6 failures so far; 3 more. */
	loginguard_failure("g1", "10.0.0.9", t + 8000);
	loginguard_failure("g2", "10.0.0.9", t + 8000);
	loginguard_failure("g3", "10.0.0.9", t + 8000);
	assert_int_equal(loginguard_check("someone", "10.0.0.9", t + 9000,
	    &locked), 899);
	assert_true(locked);
	assert_int_equal(loginguard_check("someone", "10.0.0.11", t + 9000,
	    &locked), 0);
	/* A success clears the name's failures; an admin reset too. */
	loginguard_init(&c);
	for (i = 0; i < 4; i++)
		loginguard_failure("henry", "10.0.0.1", t);
	assert_true(loginguard_check("henry", "10.0.0.2", t, &locked) > 0);
	loginguard_success("henry", t);
	assert_int_equal(loginguard_check("henry", "10.0.0.2", t, &locked), 0);
	for (i = 0; i < 6; i++)
		loginguard_failure("henry", "10.0.0.3", t);
	assert_true(loginguard_check("henry", "10.0.0.4", t, &locked) > 0);
	loginguard_reset_user("henry");
	assert_int_equal(loginguard_check("henry", "10.0.0.4", t, &locked), 0);
	/* Waits round up to whole seconds. */
	loginguard_init(&c);
	for (i = 0; i < 3; i++)
		loginguard_failure("judy", "10.0.0.7", t);
	assert_int_equal(loginguard_check("judy", "10.0.0.8", t + 1, &locked),
	    1);
	assert_int_equal(loginguard_check("judy", "10.0.0.8", t + 999,
	    &locked), 1);
	assert_int_equal(loginguard_check("judy", "10.0.0.8", t + 1000,
	    &locked), 0);
	/* Failures older than the window are forgotten. */
	for (i = 0; i < 3; i++)
		loginguard_failure("ivan", "10.0.0.5", t);
	assert_int_equal(loginguard_check("ivan", "10.0.0.6", t + 901000, &locked),
	    0);
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

static void
test_attlog(void **state)
{
	struct fixture *f = *state;
	struct attlog_filter flt;
	struct error err;
	json_t *items, *r, *one;
	char last[64];
	int more, i;

	assert_int_equal(attlog_init(f->st, 5, 86400, &err), 0);
	for (i = 0; i < 7; i++) {
		r = rec(i % 2 ? "snp" : "tdx", i % 3 == 0 ? "refused" :
		    "affirming", i < 4 ? "10.0.0.1" : "10.0.0.2");
		if (i == 6)
			json_object_set_new(r, "claims", json_pack("{s:{s:s}}",
			    "tdx", "x", "<script>alert(1)</script>"));
		assert_int_equal(attlog_append(r, &err), 0);
		json_decref(r);
	}
	/* Retention by count: 5 of 7. */
	assert_int_equal(attlog_count(), 5);
	memset(&flt, 0, sizeof(flt));
	flt.verdict = -1;
	assert_int_equal(attlog_list(NULL, 2, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(more);
	/* Newest first; no claims in summaries. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 0), "source")), "10.0.0.2");
	assert_null(json_object_get(json_array_get(items, 0), "claims"));
	snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(
	    json_array_get(items, 1), "id")));
	assert_int_equal(attlog_get(json_string_value(json_object_get(
	    json_array_get(items, 0), "id")), &one, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(one, "claims"), "tdx"), "x")),
	    "<script>alert(1)</script>");
	json_decref(one);
	json_decref(items);
	/* The next page continues strictly after the cursor. */
	assert_int_equal(attlog_list(last, 10, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 3);
	assert_false(more);
	json_decref(items);
	/* Filters. */
	flt.tee = "snp";
	assert_int_equal(attlog_list(NULL, 10, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);	/* i = 3, 5 */
	json_decref(items);
	flt.tee = NULL;
	flt.verdict = observe_verdict_index("refused");
	assert_int_equal(attlog_list(NULL, 10, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);	/* i = 3, 6 */
	json_decref(items);
	flt.verdict = -1;
	flt.source = "10.0.0.1";
	assert_int_equal(attlog_list(NULL, 10, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);	/* i = 2, 3 */
	json_decref(items);
	flt.source = NULL;
	flt.tee = "no-such-tee";
	assert_int_equal(attlog_list(NULL, 10, &flt, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	assert_int_equal(attlog_get("0000000000000000-00000000", &one, &err),
	    1);
	assert_int_equal(attlog_get("../../etc", &one, &err), 1);
	/* The index is rebuilt from the store. */
	attlog_shutdown();
	assert_int_equal(attlog_init(f->st, 5, 86400, &err), 0);
	assert_int_equal(attlog_count(), 5);
	/* Retention by age. */
	assert_int_equal(attlog_expire(now_unix() + 86400 + 10), 5);
	assert_int_equal(attlog_count(), 0);
	attlog_shutdown();
	assert_false(db_contains(f, "10.0.0.2"));
}

/* --------------------------------------------------------------- metrics */

static void
test_metrics_text(void **state)
{
	struct config cfg;
	struct http_request req;
	struct http_response resp;
	char *text;

	(void)state;
	config_defaults(&cfg);
	metrics_init(&cfg, NULL);
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
	buf_free(&resp.body);
	buf_free(&resp.headers);
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
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_user_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_auth_api, setup,
		    teardown),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_loginguard),
		cmocka_unit_test_setup_teardown(test_attlog, setup, teardown),
		cmocka_unit_test(test_metrics_text),
	};

	log_init("test_console", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
