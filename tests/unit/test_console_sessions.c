/*
 * test_console_sessions.c: the console's sessions (consess.c) over a
 * scratch SQLite store: create and look them up (the token stored only
 * as a hash), the CSRF token, idle and absolute expiry, logout and
 * per-user ends, the row's plain columns and the store's purge, rows
 * written before sessions had an expiry, and the cap on sessions per
 * user.
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
#include "consolefix.h"

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
	assert_false(consolefix_db_contains(f, tok));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sessions, consolefix_setup,
		    consolefix_teardown),
		cmocka_unit_test_setup_teardown(test_sessions_legacy,
		    consolefix_setup, consolefix_teardown),
		cmocka_unit_test_setup_teardown(test_sessions_per_user_cap,
		    consolefix_setup, consolefix_teardown),
	};

	log_init("test_console_sessions", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
