/*
 * test_session_stateless.c: KBS sessions in a shared store with
 * stateless challenges (session_share's stateless; session_challenge.c),
 * on an SQLite store file standing in for MariaDB (sessionfix.h). A
 * fresh cache on the same store (sessionfix_other_instance) plays the
 * instance that did not make the session.
 *
 * - /auth writes no row; /attest, here or on another instance, reads the
 *   session from the nonce and inserts the attested row;
 * - a nonce is spent once: by the attested row or by a failed
 *   attestation's spent row, among 8 racing threads exactly one wins;
 * - a forged, altered, expired or other-id nonce, or one made under
 *   another deployment's key, attests nothing and writes nothing;
 * - a TEE name too long for the nonce falls back to a stored challenge;
 *   stored and stateless instances attest each other's sessions;
 * - rows outlive their session by the clock-skew grace;
 * - the per-source cap learns of sessions spent elsewhere from their
 *   rows; evicting an unspent stateless session spends its nonce.
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
	return sessionfix_setup(state, 300, 1);
}

static int
setup_expired(void **state)
{
	return sessionfix_setup(state, -10, 1);
}

#define teardown sessionfix_teardown

static uint64_t
rows(struct store *st)
{
	struct error err = { "" };
	uint64_t n = 0;

	assert_int_equal(store_count(st, "session_nonces", &n, &err), 0);
	return n;
}

static void
test_handshake_here(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(1);
	struct session s, t, g;
	struct error err = { "" };

	assert_int_equal(session_new("sample", HASH_SHA512, &a, &s), 0);
	assert_int_equal(strlen(s.nonce), SESSION_NONCE_LEN);
	/* /auth wrote nothing; the instance knows its session. */
	assert_int_equal(rows(f->st), 0);
	assert_int_equal(session_count(), 1);
	assert_int_equal(session_known(s.id, &g), 0);
	assert_string_equal(g.tee, "sample");
	session_clear(&g);
	/* Unattested sessions are not served. */
	assert_int_equal(session_get(s.id, &g), -1);

	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_string_equal(t.tee, "sample");
	assert_int_equal(t.hash, HASH_SHA512);
	assert_int_equal(t.expires, s.expires);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "already used"));
	assert_int_equal(session_set_attested_copy(&t, "h.c.s"), 0);
	session_clear(&t);
	assert_int_equal(rows(f->st), 1);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_equal(g.state, SESSION_ATTESTED);
	assert_string_equal(g.token, "h.c.s");
	session_clear(&g);

	/* Another instance serves it from the row, and refuses the nonce
	 * again. */
	sessionfix_other_instance(f);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_string_equal(g.token, "h.c.s");
	session_clear(&g);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "already used"));
	session_clear(&s);
}

static void
test_handshake_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(2);
	struct session s, t, g;
	struct store_meta meta;
	struct error err = { "" };
	uint8_t *val = NULL;
	size_t len = 0;

	assert_int_equal(session_new("tdx", HASH_SHA384, &a, &s), 0);
	sessionfix_other_instance(f);
	/* No row: known, TEE unknown until the nonce is read. */
	assert_rowless(s.id);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_string_equal(t.tee, "tdx");
	assert_int_equal(t.hash, HASH_SHA384);
	assert_int_equal(t.expires, s.expires);
	assert_int_equal(t.rev, STORE_REV_ABSENT);
	assert_int_equal(rows(f->st), 0);
	assert_int_equal(session_set_attested(s.id, "tok"), 0);
	session_clear(&t);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_string_equal(g.tee, "tdx");
	assert_string_equal(g.token, "tok");
	session_clear(&g);
	/* The row outlives the session by the skew grace; the session's
	 * own expiry is in the record. */
	assert_int_equal(store_get_ex(f->st, "session_nonces", s.id, &val,
	    &len, &meta, &err), 0);
	secret_free(val, len);
	assert_int_equal(meta.exp, s.expires + 120);
	session_clear(&s);
}

static void
test_bad_nonces(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(3);
	struct session s, s2, g;
	struct error err = { "" };
	char bad[SESSION_NONCE_LEN + 1];
	size_t i;

	assert_int_equal(session_new("snp", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_new("snp", HASH_SHA384, &a, &s2), 0);
	sessionfix_other_instance(f);
	/* Every single-character change of the nonce fails, and spends
	 * nothing. */
	for (i = 0; i < SESSION_NONCE_LEN - 1; i++) {
		memcpy(bad, s.nonce, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(session_take_nonce(s.id, bad, &g, &err),
		    0);
	}
	/* Another session's nonce, a random one, a short one. */
	assert_int_equal(session_take_nonce(s.id, s2.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "not found"));
	assert_int_equal(session_take_nonce(s.id,
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &g, &err), -1);
	assert_int_equal(session_take_nonce(s.id, "AAEC", &g, &err), -1);
	assert_int_equal(session_take_nonce("not-an-id", s.nonce, &g, &err),
	    -1);
	assert_int_equal(rows(f->st), 0);
	/* The real one still works. */
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), 0);
	session_abandon(&g);
	session_clear(&g);
	session_clear(&s);
	session_clear(&s2);
}

static void
test_other_deployment(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(4);
	struct session s, g;
	struct store *other;
	struct error err = { "" };
	char dir[64], db[128];
	uint8_t key[32];

	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	/* The same id and nonce at a deployment with another master key. */
	testutil_tmpdb("test_session_other", dir, sizeof(dir), db, sizeof(db));
	randombytes_buf(key, sizeof(key));
	other = store_open_key(&store_backend_sqlite, db, key, &err);
	assert_non_null(other);
	session_shutdown();
	session_share(other, 1000, 1 << 20, 1);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "not found"));
	session_shutdown();
	store_close(other);
	testutil_db_unlink(db);
	rmdir(dir);
	session_share(f->st, 1000, 1 << 20, 1);
	session_clear(&s);
}

static void
test_expired(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(5);
	struct session s, g;
	struct error err = { "" };

	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), -1);
	assert_non_null(strstr(err.msg, "expired"));
	assert_int_equal(rows(f->st), 0);
	session_clear(&s);
}

static void
test_spent_once(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(6);
	struct session s, t, g;
	struct error err = { "" };
	int i, rc[8], wins = 0;

	/* Made here, raced by 8 threads of an instance without a copy:
	 * all may take it, one insert wins. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	sessionfix_other_instance(f);
	sessionfix_race(&s, 1, 8, rc);
	for (i = 0; i < 8; i++) {
		assert_true(rc[i] == 0 || rc[i] == -1 || rc[i] == SESSION_SPENT);
		wins += rc[i] == 0;
	}
	assert_int_equal(wins, 1);
	assert_int_equal(rows(f->st), 1);
	session_clear(&s);

	/* A failed attestation spends it: a spent row, seen everywhere.
	 * Taking the nonce again reads nothing (a stateless challenge),
	 * but the insert that would spend it loses, here and elsewhere,
	 * for an attestation that passes or fails. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	session_abandon(&t);
	session_clear(&t);
	assert_true(row_exists(f->st, "session_nonces", s.id));
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "again"),
	    SESSION_SPENT);
	session_clear(&t);
	sessionfix_other_instance(f);
	assert_rowless(s.id);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_string_equal(t.tee, "sample");
	session_abandon(&t);
	session_clear(&t);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "again"),
	    SESSION_SPENT);
	session_clear(&t);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_not_equal(g.state, SESSION_ATTESTED);
	session_clear(&g);
	/* And one instance's spent row makes another's attest lose. */
	session_clear(&s);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &g, &err), 0);
	session_abandon(&g);
	session_clear(&g);
	assert_int_equal(session_set_attested_copy(&t, "late"),
	    SESSION_SPENT);
	session_clear(&t);
	session_clear(&s);
}

static void
test_stored_and_stateless(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(7);
	struct session s, t, g;
	struct error err = { "" };
	const char *longtee = "a-tee-name-of-20-chr";

	/* Too long for the nonce: a stored challenge. */
	assert_int_equal(session_new(longtee, HASH_SHA256, &a, &s), 0);
	assert_true(row_exists(f->st, "session_nonces", s.id));
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_string_equal(t.tee, longtee);
	assert_int_equal(session_set_attested_copy(&t, "tok"), 0);
	session_clear(&t);
	session_clear(&s);

	/* An instance that stores its challenges, and one that does not,
	 * attest each other's sessions. */
	session_shutdown();
	session_share(f->st, 1000, 1 << 20, 0);
	assert_int_equal(session_new("sample", HASH_SHA256, &a, &s), 0);
	assert_true(row_exists(f->st, "session_nonces", s.id));
	sessionfix_other_instance(f);	/* stateless */
	assert_rowless(s.id);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "stored"), 0);
	session_clear(&t);
	session_clear(&s);
	assert_int_equal(session_new("sample", HASH_SHA256, &a, &s), 0);
	assert_false(row_exists(f->st, "session_nonces", s.id));
	session_shutdown();
	session_share(f->st, 1000, 1 << 20, 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "minted"), 0);
	session_clear(&t);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_string_equal(g.token, "minted");
	session_clear(&g);
	session_clear(&s);
	session_shutdown();
	session_share(f->st, 1000, 1 << 20, 1);
}

static void
test_quota(void **state)
{
	struct fixture *f = *state;
	struct source_addr a = src_n(8), b;
	struct session s1, s2, s3, t, g[3];
	struct session_quota_stats qs;
	struct error err = { "" };
	int i;

	quota(0, 2);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s1), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s2), 0);
	/* No rows: both unspent, the cap holds. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3),
	    SESSION_BUSY);
	/* s1 attested elsewhere (a row now): counted as attested. */
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(s1.id, s1.nonce, &t, &err), 0);
	assert_int_equal(session_set_attested_copy(&t, "tok"), 0);
	session_clear(&t);
	session_shutdown();
	/* (the quota is the first instance's: session_shutdown keeps it) */
	session_share(f->st, 1000, 1 << 20, 1);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s3), 0);
	session_quota_stats(&qs);
	assert_int_equal(qs.unattested, 2);
	session_clear(&s1);
	session_clear(&s2);
	session_clear(&s3);

	/* Evicting an unspent stateless session spends its nonce with a
	 * spent row, as evicting a stored one deletes its row: the guest
	 * runs /auth again, wherever it attests. */
	quota(2, 0);
	for (i = 0; i < 3; i++) {
		b = src_n((uint8_t)(20 + i));
		assert_int_equal(session_new("sample", HASH_SHA384, &b, &g[i]),
		    0);
	}
	assert_int_equal(session_count(), 2);
	assert_int_equal(rows(f->st), 2);
	assert_true(row_exists(f->st, "session_nonces", g[0].id));
	assert_false(row_exists(f->st, "session_nonces", g[1].id));
	assert_int_equal(session_take_nonce(g[0].id, g[0].nonce, &t, &err),
	    0);
	assert_int_equal(session_set_attested_copy(&t, "late"),
	    SESSION_SPENT);
	session_clear(&t);
	sessionfix_other_instance(f);
	assert_int_equal(session_take_nonce(g[0].id, g[0].nonce, &t, &err),
	    0);
	assert_int_equal(session_set_attested_copy(&t, "late"),
	    SESSION_SPENT);
	session_clear(&t);
	/* The others attest. */
	assert_int_equal(session_take_nonce(g[1].id, g[1].nonce, &t, &err),
	    0);
	assert_int_equal(session_set_attested_copy(&t, "tok"), 0);
	session_clear(&t);
	for (i = 0; i < 3; i++)
		session_clear(&g[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_here, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_handshake_elsewhere,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_nonces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_deployment, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup_expired,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spent_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stored_and_stateless,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("session_stateless", tests, NULL,
	    NULL);
}
