/*
 * test_sesscache.c: the verified-token cache (server/sesscache.c) and
 * token_check / token_remember (server/token.c) on top of it: the entry
 * and byte bounds, least-recently-used eviction, exp, entries that stay
 * valid while held after eviction or a flush, duplicates, threads; and
 * that a token is verified once, a remembered token never, and a bad or
 * expired one is never cached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "../../lib/b64.h"
#include "../../lib/jwe.h"
#include "../../lib/jwk.h"
#include "../../server/sesscache.h"
#include "../../server/trusteed.h"
#include "testutil.h"

#define NOW 1700000000

static void
key_of(int i, uint8_t key[SESSCACHE_KEY_LEN])
{
	char tok[32];

	snprintf(tok, sizeof(tok), "token-%d", i);
	sesscache_digest(tok, strlen(tok), key);
}

/* Claims naming their key index, to check what a lookup returns. */
static json_t *
claims_of(int i)
{
	return json_pack("{s:i}", "i", i);
}

static int
claims_index(const struct sesscache_ent *e)
{
	return (int)json_integer_value(json_object_get(sesscache_claims(e),
	    "i"));
}

/* Put entry i (exp NOW + 100, bytes b) and drop the returned reference. */
static void
put(int i, size_t b)
{
	uint8_t key[SESSCACHE_KEY_LEN];

	key_of(i, key);
	sesscache_release(sesscache_put(key, claims_of(i), NULL, NOW + 100, b,
	    NOW));
}

static int
present(int i)
{
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *e;

	key_of(i, key);
	if ((e = sesscache_get(key, NOW)) == NULL)
		return 0;
	assert_int_equal(claims_index(e), i);
	sesscache_release(e);
	return 1;
}

static int
teardown_cache(void **state)
{
	(void)state;
	sesscache_shutdown();
	return 0;
}

static void
test_digest(void **state)
{
	uint8_t a[SESSCACHE_KEY_LEN], b[SESSCACHE_KEY_LEN];

	(void)state;
	sesscache_digest("abc", 3, a);
	sesscache_digest("abc", 3, b);
	assert_memory_equal(a, b, sizeof(a));
	sesscache_digest("abd", 3, b);
	assert_memory_not_equal(a, b, sizeof(a));
	/* The whole text counts, not a prefix. */
	sesscache_digest("abc", 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* Before init nothing is cached, but put still hands back a usable
 * entry that only the caller holds. */
static void
test_not_initialized(void **state)
{
	struct sesscache_stats st;
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *e;

	(void)state;
	sesscache_shutdown();
	key_of(1, key);
	assert_null(sesscache_get(key, NOW));
	e = sesscache_put(key, claims_of(1), NULL, NOW + 100, 10, NOW);
	assert_non_null(e);
	assert_int_equal(claims_index(e), 1);
	assert_null(sesscache_tee_key(e));
	assert_int_equal(sesscache_exp(e), NOW + 100);
	sesscache_release(e);
	assert_null(sesscache_get(key, NOW));
	sesscache_stats(&st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.max_entries, 0);
}

static void
test_entry_bound_lru(void **state)
{
	struct sesscache_stats st;
	int i;

	(void)state;
	sesscache_init(4, 1 << 20);
	for (i = 0; i < 4; i++)
		put(i, 100);
	/* 0 becomes the most recently used: 1 is the oldest now. */
	assert_true(present(0));
	put(4, 100);
	assert_false(present(1));
	assert_true(present(0));
	assert_true(present(2));
	assert_true(present(3));
	assert_true(present(4));
	for (i = 5; i < 100; i++)
		put(i, 100);
	sesscache_stats(&st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.max_entries, 4);
	assert_int_equal(st.evicted, 96);
	for (i = 96; i < 100; i++)
		assert_true(present(i));
	assert_false(present(95));
}

static void
test_byte_bound(void **state)
{
	struct sesscache_stats st;
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *e;
	int i;

	(void)state;
	sesscache_init(1000, 10000);
	for (i = 0; i < 10; i++)
		put(i, 3000);
	sesscache_stats(&st);
	assert_int_equal(st.entries, 3);
	assert_true(st.bytes <= 10000);
	assert_true(present(7) && present(8) && present(9));
	/* Larger than the whole bound: returned, not cached, nothing
	 * evicted for it. */
	key_of(50, key);
	e = sesscache_put(key, claims_of(50), NULL, NOW + 100, 20000, NOW);
	assert_non_null(e);
	assert_int_equal(claims_index(e), 50);
	sesscache_release(e);
	assert_false(present(50));
	sesscache_stats(&st);
	assert_int_equal(st.entries, 3);
}

/* Assert e's memo has key with allowed and text; NULL text: absent. */
static void
memo_is(struct sesscache_ent *e, const uint8_t key[SESSCACHE_MEMO_KEY_LEN],
    int allowed, const char *text)
{
	char got[SESSCACHE_MEMO_TEXT_MAX];
	int a = -1;

	if (text == NULL) {
		assert_false(sesscache_memo_get(e, key, &a, got, sizeof(got)));
		assert_int_equal(a, -1);
		return;
	}
	assert_true(sesscache_memo_get(e, key, &a, got, sizeof(got)));
	assert_int_equal(a, allowed);
	assert_string_equal(got, text);
}

/* Decisions kept with an entry: found by exact key only, two slots
 * (the oldest put goes), a key put again replaces its own slot, texts
 * over the limit are not kept, and the texts count in the cache's
 * bytes while the entry is cached (and leave with it). */
static void
test_memo(void **state)
{
	struct sesscache_stats st0, st;
	uint8_t key[SESSCACHE_KEY_LEN], k[4][SESSCACHE_MEMO_KEY_LEN];
	char text[8], big[SESSCACHE_MEMO_TEXT_MAX + 1];
	struct sesscache_ent *e, *loose;
	int allowed, i;

	(void)state;
	sesscache_init(10, 100000);
	for (i = 0; i < 4; i++)
		memset(k[i], 'a' + i, sizeof(k[i]));
	key_of(1, key);
	e = sesscache_put(key, claims_of(1), NULL, NOW + 100, 100, NOW);
	sesscache_stats(&st0);
	memo_is(e, k[0], 0, NULL);
	assert_false(sesscache_memo_any(e));
	sesscache_memo_put(e, k[0], 1, "allowed by zero");
	assert_true(sesscache_memo_any(e));
	sesscache_memo_put(e, k[1], 0, "denied by one");
	sesscache_stats(&st);
	assert_int_equal(st.bytes, st0.bytes + strlen("allowed by zero") +
	    strlen("denied by one") + 2);
	memo_is(e, k[0], 1, "allowed by zero");
	memo_is(e, k[1], 0, "denied by one");
	/* A key one byte off is another key. */
	memcpy(k[3], k[0], sizeof(k[3]));
	k[3][SESSCACHE_MEMO_KEY_LEN - 1] ^= 1;
	memo_is(e, k[3], 0, NULL);
	/* Too small a buffer: not found, nothing written past it. */
	assert_false(sesscache_memo_get(e, k[0], &allowed, text, 5));
	/* Put again: its own slot, the other stays. */
	sesscache_memo_put(e, k[1], 1, "now allowed");
	memo_is(e, k[1], 1, "now allowed");
	memo_is(e, k[0], 1, "allowed by zero");
	/* A third key takes the slot of the oldest new key (k[0]). */
	sesscache_memo_put(e, k[2], 0, "");
	memo_is(e, k[0], 0, NULL);
	memo_is(e, k[2], 0, "");
	memo_is(e, k[1], 1, "now allowed");
	sesscache_stats(&st);
	assert_int_equal(st.bytes, st0.bytes + strlen("now allowed") + 2);
	assert_true(st.memo_hits > 0 && st.memo_misses > 0);
	/* Over the limit: not kept (the slot's old text stays). */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sesscache_memo_put(e, k[3], 1, big);
	memo_is(e, k[3], 0, NULL);
	memo_is(e, k[2], 0, "");
	sesscache_release(e);
	/* An entry not cached keeps memos too; they leave nothing in the
	 * cache's total. */
	key_of(2, key);
	loose = sesscache_put(key, claims_of(2), NULL, NOW - 1, 100, NOW);
	/* Too long: no slot taken. */
	sesscache_memo_put(loose, k[1], 1, big);
	assert_false(sesscache_memo_any(loose));
	sesscache_memo_put(loose, k[0], 1, "loose");
	memo_is(loose, k[0], 1, "loose");
	sesscache_stats(&st0);
	assert_int_equal(st0.bytes, st.bytes);
	sesscache_release(loose);
	/* The entry leaves with its texts' bytes. */
	sesscache_flush();
	sesscache_stats(&st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
}

static void
test_exp(void **state)
{
	struct sesscache_stats st;
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *e;

	(void)state;
	sesscache_init(10, 1 << 20);
	key_of(1, key);
	sesscache_release(sesscache_put(key, claims_of(1), NULL, NOW + 10, 10,
	    NOW));
	e = sesscache_get(key, NOW + 9);
	assert_non_null(e);
	sesscache_release(e);
	/* At exp the token is expired: a miss, and the entry is gone. */
	assert_null(sesscache_get(key, NOW + 10));
	sesscache_stats(&st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	assert_null(sesscache_get(key, NOW));
	/* Already expired when put: handed back, not cached. */
	key_of(2, key);
	e = sesscache_put(key, claims_of(2), NULL, NOW, 10, NOW);
	assert_non_null(e);
	sesscache_release(e);
	assert_null(sesscache_get(key, NOW - 1));
	sesscache_stats(&st);
	assert_int_equal(st.entries, 0);
	/* An expired entry under the key is replaced by a fresh put. */
	key_of(3, key);
	sesscache_release(sesscache_put(key, claims_of(3), NULL, NOW + 5, 10,
	    NOW));
	sesscache_release(sesscache_put(key, claims_of(33), NULL, NOW + 50,
	    10, NOW + 5));
	e = sesscache_get(key, NOW + 20);
	assert_non_null(e);
	assert_int_equal(claims_index(e), 33);
	sesscache_release(e);
}

/* An entry a reader holds survives its eviction and a flush. */
static void
test_held_entry_outlives_eviction(void **state)
{
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *e, *f;
	int i;

	(void)state;
	sesscache_init(2, 1 << 20);
	key_of(1, key);
	e = sesscache_put(key, claims_of(1), NULL, NOW + 100, 10, NOW);
	f = sesscache_get(key, NOW);
	assert_ptr_equal(e, f);
	for (i = 2; i < 10; i++)
		put(i, 10);
	assert_false(present(1));
	assert_int_equal(claims_index(e), 1);
	sesscache_release(e);
	assert_int_equal(claims_index(f), 1);
	sesscache_release(f);

	key_of(20, key);
	e = sesscache_put(key, claims_of(20), NULL, NOW + 100, 10, NOW);
	sesscache_flush();
	assert_false(present(20));
	assert_int_equal(claims_index(e), 20);
	sesscache_release(e);
	/* Still usable after a flush. */
	put(21, 10);
	assert_true(present(21));
}

/* Two verifications of one token at once: the first entry stays, the
 * second put's claims are dropped. */
static void
test_duplicate_put(void **state)
{
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *a, *b;
	json_t *c2 = claims_of(2);

	(void)state;
	sesscache_init(10, 1 << 20);
	key_of(1, key);
	a = sesscache_put(key, claims_of(1), NULL, NOW + 100, 10, NOW);
	json_incref(c2);
	b = sesscache_put(key, c2, NULL, NOW + 100, 10, NOW);
	assert_ptr_equal(a, b);
	assert_int_equal(claims_index(b), 1);
	assert_int_equal(c2->refcount, 1);	/* the cache let go of it */
	json_decref(c2);
	sesscache_release(a);
	sesscache_release(b);
	assert_true(present(1));
}

/* The entry owns the TEE key it was given and hands it out. */
static void
test_tee_key(void **state)
{
	struct error err;
	uint8_t key[SESSCACHE_KEY_LEN], pt[8] = "secret", *out;
	EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *pub = jwk_from_pkey(priv, "ECDH-ES+A256KW");
	struct jwe_key *k = jwe_key_new(pub, &err);
	struct sesscache_ent *e;
	size_t outlen;
	char *jwe;

	(void)state;
	assert_non_null(k);
	sesscache_init(10, 1 << 20);
	key_of(1, key);
	sesscache_release(sesscache_put(key, claims_of(1), k, NOW + 100, 10,
	    NOW));
	e = sesscache_get(key, NOW);
	assert_ptr_equal(sesscache_tee_key(e), k);
	jwe = jwe_encrypt_key(sesscache_tee_key(e), pt, sizeof(pt), &err);
	assert_non_null(jwe);
	assert_int_equal(jwe_decrypt(jwe, strlen(jwe), priv, &out, &outlen,
	    &err), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	secret_free(out, outlen);
	free(jwe);
	sesscache_release(e);
	json_decref(pub);
	EVP_PKEY_free(priv);
}

/* Threads putting, getting and releasing over more keys than the cache
 * holds: every lookup returns the claims of its own key, the bounds hold
 * (ASan/TSan builds check the memory). */
#define THREADS 4
#define KEYS 64
#define ROUNDS 20000

static void *
hammer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	uint8_t key[SESSCACHE_KEY_LEN];
	struct sesscache_ent *held[4] = { NULL };
	struct sesscache_ent *e;
	long bad = 0;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		i = (int)(rand_r(&seed) % KEYS);
		key_of(i, key);
		if ((e = sesscache_get(key, NOW)) == NULL)
			e = sesscache_put(key, claims_of(i), NULL, NOW + 100,
			    100, NOW);
		if (claims_index(e) != i)
			bad++;
		/* Keep a few references for a while. */
		sesscache_release(held[r % 4]);
		held[r % 4] = e;
		if (r % 5000 == 0 && seed % 2 == 0)
			sesscache_flush();
	}
	for (i = 0; i < 4; i++)
		sesscache_release(held[i]);
	return (void *)bad;
}

static void
test_threads(void **state)
{
	struct sesscache_stats st;
	pthread_t t[THREADS];
	void *bad;
	int i;

	(void)state;
	sesscache_init(16, 1 << 20);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer,
		    (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
	sesscache_stats(&st);
	assert_true(st.entries <= 16);
	assert_true(st.hits > 0);
	assert_true(st.misses > 0);
	assert_true(st.evicted > 0);
}

/* ------------------------------------------------ token_check */

static struct store *tk_store;
static char tk_dir[64], tk_db[128];

static int
setup_token(void **state)
{
	struct error err = { "" };
	uint8_t key[32];

	(void)state;
	memset(key, 9, sizeof(key));
	testutil_tmpdb("test_sesscache", tk_dir, sizeof(tk_dir), tk_db,
	    sizeof(tk_db));
	tk_store = store_open_key(&store_backend_sqlite, tk_db, key, &err);
	if (tk_store == NULL)
		fail_msg("store_open: %s", err.msg);
	if (token_init(tk_store, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	sesscache_init(100, 1 << 20);
	return 0;
}

static int
teardown_token(void **state)
{
	(void)state;
	sesscache_shutdown();
	token_shutdown();
	store_close(tk_store);
	testutil_db_unlink(tk_db);
	rmdir(tk_dir);
	return 0;
}

/* EAR-shaped submods with a tee-pubkey where the KBS looks for it. */
static json_t *
submods_with_key(EVP_PKEY **priv)
{
	json_t *tpk;

	*priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	tpk = jwk_from_pkey(*priv, "ECDH-ES+A256KW");
	return json_pack("{s:{s:s, s:{s:{s:o}}}}", "cpu0", "ear.status",
	    "affirming", "ear.veraison.annotated-evidence",
	    "runtime_data_claims", "tee-pubkey", tpk);
}

static void
test_token_verified_once(void **state)
{
	struct sesscache_stats st0, st;
	struct sesscache_ent *e1, *e2;
	struct error err = { "" };
	EVP_PKEY *priv;
	json_t *sub = submods_with_key(&priv);
	char *tok = token_issue(sub, &err);

	(void)state;
	assert_non_null(tok);
	sesscache_stats(&st0);
	/* First presentation: verified, then cached with its key parsed. */
	assert_int_equal(token_check(tok, strlen(tok), &e1, &err), 0);
	sesscache_stats(&st);
	assert_int_equal(st.misses, st0.misses + 1);
	assert_int_equal(st.entries, st0.entries + 1);
	assert_non_null(sesscache_tee_key(e1));
	assert_string_equal(json_string_value(json_object_get(
	    sesscache_claims(e1), "iss")), "CoCo-Attestation-Service");
	/* Second: a hit, the same entry. */
	assert_int_equal(token_check(tok, strlen(tok), &e2, &err), 0);
	sesscache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_ptr_equal(e1, e2);
	sesscache_release(e1);
	sesscache_release(e2);
	free(tok);
	json_decref(sub);
	EVP_PKEY_free(priv);
}

/* /attest remembers what it issued: the first GET is already a hit. */
static void
test_token_remembered(void **state)
{
	struct sesscache_stats st0, st;
	struct sesscache_ent *e;
	struct error err = { "" };
	EVP_PKEY *priv, *pk;
	json_t *sub = submods_with_key(&priv), *claims = NULL;
	struct jwe_key *k;
	char *tok = token_issue_claims(sub, &claims, NULL, &err);

	(void)state;
	assert_non_null(tok);
	assert_non_null(claims);
	assert_int_equal(jwk_to_pkey(token_tee_pubkey(claims), &pk, &err), 0);
	k = jwe_key_adopt(pk, "ECDH-ES+A256KW", &err);
	assert_non_null(k);
	token_remember(tok, strlen(tok), claims, k);
	sesscache_stats(&st0);
	assert_int_equal(token_check(tok, strlen(tok), &e, &err), 0);
	sesscache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_int_equal(st.misses, st0.misses);
	assert_ptr_equal(sesscache_tee_key(e), k);
	sesscache_release(e);
	free(tok);
	json_decref(sub);
	EVP_PKEY_free(priv);
}

/* A session keeps its token's cache key from /attest (kbs.c computes it
 * once, for token_remember_key and session_set_attested_copy), so its
 * GETs find the remembered entry without hashing the token; by id,
 * session_set_attested computes the key itself. */
static void
test_session_token_key(void **state)
{
	struct session_quota_config qcfg = { .max_sessions = 8 };
	struct sesscache_stats st0, st;
	struct sesscache_ent *e;
	struct error err = { "" };
	struct sockaddr_in s4;
	struct source_addr a;
	struct session s, t, g;
	EVP_PKEY *priv, *pk;
	json_t *sub = submods_with_key(&priv), *claims = NULL;
	struct jwe_key *k;
	uint8_t want[SESSCACHE_KEY_LEN];
	char *tok = token_issue_claims(sub, &claims, NULL, &err);

	(void)state;
	assert_non_null(tok);
	sesscache_digest(tok, strlen(tok), want);
	session_init(300);
	session_quota_init(&qcfg);
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(0x7f000002);
	ratelimit_source_from((struct sockaddr *)&s4, &a);

	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_take_nonce(s.id, s.nonce, &t, &err), 0);
	assert_false(t.token_keyed);
	sesscache_digest(tok, strlen(tok), t.token_key);
	t.token_keyed = 1;
	assert_int_equal(session_set_attested_copy(&t, tok), 0);
	assert_int_equal(jwk_to_pkey(token_tee_pubkey(claims), &pk, &err), 0);
	k = jwe_key_adopt(pk, "ECDH-ES+A256KW", &err);
	assert_non_null(k);
	token_remember_key(t.token_key, strlen(tok), claims, k);
	session_clear(&t);

	assert_int_equal(session_get(s.id, &g), 0);
	assert_int_equal(g.state, SESSION_ATTESTED);
	assert_true(g.token_keyed);
	assert_memory_equal(g.token_key, want, sizeof(want));
	sesscache_stats(&st0);
	assert_int_equal(token_check_own(g.token, strlen(g.token), g.token_key,
	    &e, &err), 0);
	sesscache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_ptr_equal(sesscache_tee_key(e), k);
	sesscache_release(e);
	session_clear(&g);
	session_clear(&s);

	/* By id: the same key, computed by the session. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s), 0);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_false(g.token_keyed);
	session_clear(&g);
	assert_int_equal(session_set_attested(s.id, tok), 0);
	assert_int_equal(session_get(s.id, &g), 0);
	assert_true(g.token_keyed);
	assert_memory_equal(g.token_key, want, sizeof(want));
	session_clear(&g);
	session_clear(&s);

	session_shutdown();
	session_quota_shutdown();
	free(tok);
	json_decref(sub);
	EVP_PKEY_free(priv);
}

/* A token issued with lifetime 0 is refused as expired by token_check
 * (own: token_check_own) and not cached; the lifetime is 300 again
 * after. */
static void
expect_expired(json_t *sub, int own)
{
	struct sesscache_stats st;
	struct sesscache_ent *e = NULL;
	struct error err = { "" };
	char *tok;

	token_shutdown();
	if (token_init(tk_store, 0, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	tok = token_issue(sub, &err);
	assert_non_null(tok);
	assert_int_equal(own ? token_check_own(tok, strlen(tok), NULL, &e,
	    &err) : token_check(tok, strlen(tok), &e, &err), -1);
	assert_string_equal(err.msg, "token expired");
	assert_null(e);
	sesscache_stats(&st);
	assert_int_equal(st.entries, 0);
	free(tok);
	token_shutdown();
	if (token_init(tk_store, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
}

/* A forged or expired token is refused and never cached; a new signing
 * key (token_init) forgets every verified token. */
static void
test_token_refused_not_cached(void **state)
{
	struct sesscache_stats st0, st;
	struct sesscache_ent *e = NULL;
	struct error err = { "" };
	EVP_PKEY *priv;
	json_t *sub = submods_with_key(&priv);
	char *tok = token_issue(sub, &err), *bad;

	(void)state;
	assert_non_null(tok);
	bad = xstrdup(tok);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	sesscache_stats(&st0);
	assert_int_equal(token_check(bad, strlen(bad), &e, &err), -1);
	assert_null(e);
	assert_int_equal(token_check(bad, strlen(bad), &e, &err), -1);
	sesscache_stats(&st);
	assert_int_equal(st.entries, st0.entries);
	assert_int_equal(st.hits, st0.hits);
	free(bad);

	/* Cached, then the key is reloaded: verified again. */
	assert_int_equal(token_check(tok, strlen(tok), &e, &err), 0);
	sesscache_release(e);
	token_shutdown();
	if (token_init(tk_store, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	sesscache_stats(&st0);
	assert_int_equal(st0.entries, 0);
	assert_int_equal(token_check(tok, strlen(tok), &e, &err), 0);
	sesscache_stats(&st);
	assert_int_equal(st.misses, st0.misses + 1);
	sesscache_release(e);
	free(tok);

	/* Lifetime 0: expired as soon as issued. */
	expect_expired(sub, 0);
	json_decref(sub);
	EVP_PKEY_free(priv);
}

/*
 * A session's own token (token_check_own), not cached: parsed and cached
 * without a signature check. Refused and not cached: another header
 * than the current key's (a token signed before the key was replaced),
 * an expired one, a malformed one.
 */
static void
test_token_own(void **state)
{
	struct sesscache_stats st0, st;
	struct sesscache_ent *e = NULL;
	struct error err = { "" };
	EVP_PKEY *priv;
	json_t *sub = submods_with_key(&priv);
	char *tok = token_issue(sub, &err), *bad, *hdr;
	const char *dot;
	uint8_t key[SESSCACHE_KEY_LEN];

	(void)state;
	assert_non_null(tok);
	sesscache_flush();
	sesscache_stats(&st0);
	assert_int_equal(token_check_own(tok, strlen(tok), NULL, &e, &err), 0);
	assert_non_null(sesscache_tee_key(e));
	assert_true(json_integer_value(json_object_get(sesscache_claims(e),
	    "exp")) > now_unix());
	sesscache_release(e);
	sesscache_digest(tok, strlen(tok), key);
	assert_int_equal(token_check_own(tok, strlen(tok), key, &e, &err), 0);
	sesscache_release(e);
	sesscache_stats(&st);
	assert_int_equal(st.misses, st0.misses + 1);
	assert_int_equal(st.hits, st0.hits + 1);

	/* Another key's header over the same payload and signature. */
	sesscache_flush();
	hdr = b64_encode((const uint8_t *)"{\"alg\":\"ES256\",\"typ\":"
	    "\"JWT\"}", 27, B64_URL_NOPAD);
	dot = strchr(tok, '.');
	bad = xasprintf("%s%s", hdr, dot);
	assert_int_equal(token_check_own(bad, strlen(bad), NULL, &e, &err),
	    -1);
	assert_null(e);
	assert_string_equal(err.msg,
	    "token not signed by this trustee's current key");
	free(bad);
	free(hdr);
	/* Malformed after a right header. */
	bad = xasprintf("%.*s.!!!.x", (int)(dot - tok), tok);
	assert_int_equal(token_check_own(bad, strlen(bad), NULL, &e, &err),
	    -1);
	free(bad);
	assert_int_equal(token_check_own(tok, (size_t)(dot - tok), NULL, &e,
	    &err), -1);

	/* The signing key replaced: the old key's token is refused. */
	assert_int_equal(store_delete(tk_store, "keys", "ear-signer", &err), 0);
	token_shutdown();
	if (token_init(tk_store, 300, &err) != 0)
		fail_msg("token_init: %s", err.msg);
	assert_int_equal(token_check_own(tok, strlen(tok), NULL, &e, &err),
	    -1);
	assert_string_equal(err.msg,
	    "token not signed by this trustee's current key");
	free(tok);

	expect_expired(sub, 1);
	json_decref(sub);
	EVP_PKEY_free(priv);
}

/* Claims without a usable tee-pubkey: verified and cached, key NULL. */
static void
test_token_without_key(void **state)
{
	struct sesscache_ent *e;
	struct error err = { "" };
	json_t *sub = json_pack("{s:{s:s}}", "cpu0", "ear.status",
	    "affirming");
	char *tok = token_issue(sub, &err);

	(void)state;
	assert_non_null(tok);
	assert_int_equal(token_check(tok, strlen(tok), &e, &err), 0);
	assert_null(sesscache_tee_key(e));
	assert_null(token_tee_pubkey(sesscache_claims(e)));
	sesscache_release(e);
	free(tok);
	json_decref(sub);
}

int
main(void)
{
	const struct CMUnitTest cache[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_not_initialized),
		cmocka_unit_test_teardown(test_entry_bound_lru, teardown_cache),
		cmocka_unit_test_teardown(test_byte_bound, teardown_cache),
		cmocka_unit_test_teardown(test_memo, teardown_cache),
		cmocka_unit_test_teardown(test_exp, teardown_cache),
		cmocka_unit_test_teardown(test_held_entry_outlives_eviction,
		    teardown_cache),
		cmocka_unit_test_teardown(test_duplicate_put, teardown_cache),
		cmocka_unit_test_teardown(test_tee_key, teardown_cache),
		cmocka_unit_test_teardown(test_threads, teardown_cache),
	};
	const struct CMUnitTest token[] = {
		cmocka_unit_test(test_token_verified_once),
		cmocka_unit_test(test_token_remembered),
		cmocka_unit_test(test_session_token_key),
		cmocka_unit_test(test_token_refused_not_cached),
		cmocka_unit_test(test_token_own),
		cmocka_unit_test(test_token_without_key),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	rc = cmocka_run_group_tests_name("sesscache", cache, NULL, NULL);
	rc |= cmocka_run_group_tests_name("token_check", token, setup_token,
	    teardown_token);
	return rc;
}
