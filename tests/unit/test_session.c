/*
 * test_session.c: KBS sessions kept in a shared store (session_share,
 * server/session_shared.c) with stored challenges (/auth writes the
 * nonce row; test_session_stateless.c has the stateless ones), on an
 * SQLite store file standing in for MariaDB (sessionfix.h;
 * tests/integration/test_ha.py runs two daemons on a real MariaDB). A
 * second store handle on the same file plays "another instance" where
 * one is needed.
 *
 * - the handshake: unattested sessions read from the store (but taken
 *   from this instance's copy when it made them), a wrong nonce spends
 *   nothing, a nonce is spent once (by the attested row, or by
 *   session_abandon), attested sessions cached;
 * - a nonce raced by 8 threads, by another handle, and by two takers
 *   that both read it from the store: one winner;
 * - another instance attested this instance's sessions: the per-source
 *   cap counts them as attested instead of refusing the source;
 * - the quota's evictions delete rows; expired rows are purged;
 * - a record that cannot be decoded is "not found", not a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../server/trusteed.h"
#include "testutil.h"
#include "sessionfix.h"

static int
setup(void **state)
{
	return sessionfix_setup(state, 300, 0);
}

static int
setup_expired(void **state)
{
	/* Sessions that are born expired: what the collection tick
	 * meets after a lifetime. */
	return sessionfix_setup(state, -10, 0);
}

#define teardown sessionfix_teardown

static void
test_handshake(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(1);
	struct session s, g, t;
	struct error err = { "" };
	char wrong[SESSION_NONCE_LEN + 1];

	assert_true(session_is_shared());
	assert_int_equal(session_new("sample", HASH_SHA512, &a, &s), 0);
	assert_int_equal(strlen(s.id), SESSION_ID_LEN);
	assert_int_equal(strlen(s.nonce), SESSION_NONCE_LEN);
	/* /auth writes one row: the nonce with the record. */
	assert_false(row_exists(f->st, "sessions", s.id));
	assert_true(row_exists(f->st, "session_nonces", s.id));
	assert_int_equal(session_count(), 1);

	/* Read back from the store. */
	assert_int_equal(session_get(s.id, &g), 0);
	assert_string_equal(g.tee, "sample");
	assert_int_equal(g.hash, HASH_SHA512);
	assert_int_equal(g.state, SESSION_AUTHED);
	assert_int_equal(g.expires, s.expires);
	assert_null(g.token);
	session_clear(&g);
	assert_int_not_equal(session_get("0123456789abcdef0123456789abcdef",
	    &g), 0);
	assert_int_not_equal(session_get("not-an-id", &g), 0);

	/* A wrong nonce spends nothing. */
	memcpy(wrong, s.nonce, sizeof(wrong));
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	assert_int_equal(session_take_nonce(s.id, wrong, &t, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_true(row_exists(f->st, "session_nonces", s.id));

	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_string_equal(t.nonce, s.nonce);
	assert_string_equal(t.tee, "sample");
	assert_int_equal(t.hash, HASH_SHA512);
	assert_int_equal(t.expires, s.expires);
	/* Taken, not yet spent: no second /attest meanwhile, and the row
	 * still says unattested. */
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "already used"));
	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_equal(g.state, SESSION_AUTHED);
	session_clear(&g);

	/* The attested record replaces the nonce row: one write. */
	assert_int_equal(session_set_attested_copy(&t, "header.claims.sig"),
	    0);
	session_clear(&t);
	assert_false(row_exists(f->st, "sessions", s.id));
	assert_true(row_exists(f->st, "session_nonces", s.id));
	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_equal(g.state, SESSION_ATTESTED);
	assert_string_equal(g.token, "header.claims.sig");
	assert_string_equal(g.nonce, "");
	session_clear(&g);
	/* Attested once is final. */
	assert_int_equal(session_set_attested(s.id, "other"), -1);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), -1);
	assert_non_null(strstr(err.msg, "already used"));

	/* The attested session is cached: served without its row. */
	assert_int_equal(store_delete(f->st, "session_nonces", s.id, &err), 0);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_string_equal(g.token, "header.claims.sig");
	session_clear(&g);

	/* An unattested one is always read from the store... */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &t), 0);
	assert_int_equal(session_get(t.id, &g), 0);
	session_clear(&g);
	assert_int_equal(store_delete(f->st, "session_nonces", t.id, &err), 0);
	assert_int_equal(session_get(t.id, &g), -1);
	assert_int_equal(session_set_attested(t.id, "tok"), -1);
	/* ... except for its /attest here, which finds out at the write
	 * that the nonce went elsewhere. */
	assert_int_equal(session_known(t.id, &g), 0);
	assert_int_equal(g.state, SESSION_AUTHED);
	assert_string_equal(g.tee, "sample");
	session_clear(&g);
	assert_int_equal(session_take_nonce(t.id, t.nonce, &g, &err), 0);
	assert_int_equal(session_set_attested_copy(&g, "tok"), SESSION_SPENT);
	session_clear(&g);
	assert_rowless(t.id);
	assert_int_equal(session_take_nonce(t.id, t.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "not found"));
	session_clear(&t);

	/* A failed attestation spends the nonce too. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &t), 0);
	assert_int_equal(session_take_nonce(t.id, t.nonce, &g, &err), 0);
	session_abandon(&g);
	session_clear(&g);
	assert_false(row_exists(f->st, "session_nonces", t.id));
	assert_rowless(t.id);
	assert_int_equal(session_take_nonce(t.id, t.nonce, &g, &err), -1);
	session_clear(&t);
	session_clear(&s);

	/* session_set_attested(id) after session_take_nonce on this
	 * thread. */
	assert_int_equal(session_new("sample", HASH_SHA256, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	session_clear(&t);
	assert_int_equal(session_set_attested(s.id, "tok.by.id"), 0);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_equal(g.hash, HASH_SHA256);
	assert_string_equal(g.token, "tok.by.id");
	session_clear(&g);
	session_clear(&s);
}

static void
test_nonce_spent_once(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(2);
	struct session s, t, t2;
	struct store_meta meta;
	struct store *other;
	struct error err = { "" };
	uint8_t *val = NULL;
	size_t len = 0;
	int i, rc[8], wins = 0;

	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	sessionfix_race(&s, 0, 8, rc);
	for (i = 0; i < 8; i++) {
		assert_true(rc[i] == 0 || rc[i] == -1);
		wins += rc[i] == 0;
	}
	assert_int_equal(wins, 1);
	session_clear(&s);

	/* Another instance (its own handle) read the nonce row, then this
	 * one spent it: the other's revision-checked delete loses. */
	other = store_open_key(&store_backend_sqlite, f->db, f->key, &err);
	assert_non_null(other);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(store_get_ex(other, "session_nonces", s.id, &val,
	    &len, &meta, &err), 0);
	secret_free(val, len);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "tok"), 0);
	session_clear(&t);
	assert_int_equal(store_delete_ex(other, "session_nonces", s.id,
	    meta.rev, &err), 1);
	/* And the other way round: the other instance wins while this one
	 * verifies; this one is told at its write. */
	session_clear(&s);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(store_get_ex(other, "session_nonces", s.id, &val,
	    &len, &meta, &err), 0);
	secret_free(val, len);
	assert_int_equal(store_delete_ex(other, "session_nonces", s.id,
	    meta.rev, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "tok"), SESSION_SPENT);
	session_clear(&t);
	assert_int_equal(session_get(s.id, &t), -1);
	session_clear(&s);
	store_close(other);

	/* A session this instance did not make (a fresh cache stands for
	 * another instance): two takers both read the row, both may
	 * verify, exactly one write wins. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t2, &err), 0);
	assert_int_equal(t.rev, t2.rev);
	assert_int_equal(session_set_attested_copy(&t2, "second"), 0);
	assert_int_equal(session_set_attested_copy(&t, "first"), SESSION_SPENT);
	session_clear(&t);
	session_clear(&t2);
	assert_int_equal(session_get(s.id, &t), 0);
	assert_string_equal(t.token, "second");
	session_clear(&t);
	session_clear(&s);
}

static void
test_attested_elsewhere_frees_the_cap(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(3);
	struct session s1, s2, s3;
	struct session_quota_stats qs;
	struct error err = { "" };

	quota(0, 2);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s1), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s2), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3),
	    SESSION_BUSY);
	/* Another instance spends s1's nonce (the guest's /attest went
	 * there): the cap here counts it as attested now. */
	assert_int_equal(store_delete(f->st, "session_nonces", s1.id, &err),
	    0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3), 0);
	session_quota_stats(&qs);
	assert_int_equal(qs.sessions, 3);
	assert_int_equal(qs.unattested, 2);
	/* Nothing spent: the cap holds. */
	session_clear(&s3);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3),
	    SESSION_BUSY);
	/* Another instance attests s2: its row now holds the attested
	 * record (no nonce, state 1, expiry, TEE, hash, token). */
	{
		uint8_t row[SESSION_NONCE_LEN + 2 + 8 + 7 + 7 + 3];
		uint8_t *p = row + SESSION_NONCE_LEN;
		struct session g;
		int i;

		memset(row, 0, SESSION_NONCE_LEN);
		*p++ = 1;
		*p++ = 1;
		for (i = 7; i >= 0; i--)
			*p++ = (uint8_t)((uint64_t)s2.expires >> (8 * i));
		memcpy(p, "\x06sample\x06sha384tok", 17);
		assert_int_equal(store_put(f->st, "session_nonces", s2.id, row,
		    sizeof(row), &err), 0);
		assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3),
		    0);
		session_quota_stats(&qs);
		assert_int_equal(qs.unattested, 2);
		/* ... and this instance serves it. */
		assert_int_equal(session_get(s2.id, &g), 0);
		assert_int_equal(g.state, SESSION_ATTESTED);
		assert_string_equal(g.token, "tok");
		session_clear(&g);
		session_clear(&s3);
	}
	session_clear(&s1);
	session_clear(&s2);
}

static void
test_eviction_deletes_rows(void **state)
{
	struct fixture *f = *state;
	struct session s[3], g;
	struct source_addr a;
	int i;

	quota(2, 0);
	for (i = 0; i < 3; i++) {
		a = src_n((uint8_t)(10 + i));
		assert_int_equal(session_new("sample", HASH_SHA384, &a, &s[i]),
		    0);
	}
	/* The oldest went, rows, cached copy and all. */
	assert_false(row_exists(f->st, "session_nonces", s[0].id));
	assert_int_equal(session_get(s[0].id, &g), -1);
	assert_rowless(s[0].id);
	assert_int_equal(session_known(s[1].id, &g), 0);
	session_clear(&g);
	assert_true(row_exists(f->st, "session_nonces", s[1].id));
	assert_true(row_exists(f->st, "session_nonces", s[2].id));
	assert_int_equal(session_count(), 2);
	for (i = 0; i < 3; i++)
		session_clear(&s[i]);
}

static void
test_expired_rows_purged(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(4);
	struct session s, g;
	struct error err = { "" };
	uint64_t n = 0;
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
		assert_int_equal(session_get(s.id, &g), -1);
		assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err),
		    -1);
		session_clear(&s);
	}
	assert_int_equal(store_count(f->st, "session_nonces", &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(session_gc(), 3);
	assert_int_equal(store_count(f->st, "sessions", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_count(f->st, "session_nonces", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(session_count(), 0);
}

static void
test_bad_record_is_not_found(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(5);
	struct session s, g;
	struct error err = { "" };
	static const uint8_t junk[][16] = {
		{ 9 },					/* unknown version */
		{ 1, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 200, 's' },	/* TEE */
		{ 1, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0, 1, 's', 6, 's', 'h',
		    'a', },				/* hash cut short */
		{ 1, 1, 0, 0, 0, 0, 0x7f, 0, 0, 0, 1, 's', 2, 'x', 'y' },
							/* unknown hash */
	};
	uint8_t row[SESSION_NONCE_LEN + 16];
	size_t i;

	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	/* As another instance reads it (without this one's copy). */
	sessionfix_other_instance(f);
	memcpy(row, s.nonce, SESSION_NONCE_LEN);
	/* A nonce row too short for its nonce. */
	assert_int_equal(store_put(f->st, "session_nonces", s.id, row, 20,
	    &err), 0);
	assert_int_equal(session_get(s.id, &g), -1);
	for (i = 0; i < ARRAY_SIZE(junk); i++) {
		memcpy(row + SESSION_NONCE_LEN, junk[i], sizeof(junk[i]));
		assert_int_equal(store_put(f->st, "session_nonces", s.id, row,
		    sizeof(row), &err), 0);
		assert_int_equal(session_get(s.id, &g), -1);
		assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err),
		    -1);
		/* and as an attested row */
		assert_int_equal(store_put(f->st, "sessions", s.id, junk[i],
		    sizeof(junk[i]), &err), 0);
		assert_int_equal(store_delete(f->st, "session_nonces", s.id,
		    &err), 0);
		assert_int_equal(session_get(s.id, &g), -1);
		assert_int_equal(store_delete(f->st, "sessions", s.id, &err),
		    0);
	}
	session_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nonce_spent_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_attested_elsewhere_frees_the_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_deletes_rows,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_rows_purged,
		    setup_expired, teardown),
		cmocka_unit_test_setup_teardown(test_bad_record_is_not_found,
		    setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("session_shared", tests, NULL,
	    NULL);
}
