/*
 * test_ratelimit.c: the per-source limiter (server/ratelimit.c: sources,
 * token buckets with their fixed LRU table, counters, log notes) and the
 * session quota (server/session_quota.c: per-source unattested cap,
 * eviction order at the global count and memory caps, expiry), plus
 * session.c's use of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "testutil.h"

#define SEC 1000000000ull

static void
src4(const char *ip, struct source_addr *out)
{
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &s4.sin_addr), 1);
	ratelimit_source_from((struct sockaddr *)&s4, out);
}

static void
src6(const char *ip, struct source_addr *out)
{
	struct sockaddr_in6 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &s6.sin6_addr), 1);
	ratelimit_source_from((struct sockaddr *)&s6, out);
}

static void
test_sources(void **state)
{
	struct source_addr a, b;
	char s[64];

	(void)state;
	src4("127.0.0.2", &a);
	assert_string_equal(ratelimit_source_str(&a, s, sizeof(s)),
	    "127.0.0.2");
	/* An IPv4-mapped IPv6 peer is the same source as the IPv4 one. */
	src6("::ffff:127.0.0.2", &b);
	assert_memory_equal(a.b, b.b, 16);
	src4("127.0.0.3", &b);
	assert_memory_not_equal(a.b, b.b, 16);
	/* IPv6: one source per /64. */
	src6("2001:db8:0:1::1", &a);
	src6("2001:db8:0:1:ffff:ffff:ffff:ffff", &b);
	assert_memory_equal(a.b, b.b, 16);
	assert_string_equal(ratelimit_source_str(&a, s, sizeof(s)),
	    "2001:db8:0:1::/64");
	src6("2001:db8:0:2::1", &b);
	assert_memory_not_equal(a.b, b.b, 16);
}

static void
test_buckets(void **state)
{
	struct ratelimit_rule rules[RL_NCLASS] = {
		[RL_AUTH] = { 2, 3 },		/* 2/s, burst 3 */
		[RL_ATTEST] = { 0.1, 1 },	/* one per 10 s */
		[RL_ATTESTATION] = { 0, 1 },	/* no limit */
		[RL_LOGIN] = { 1, 1 },
	};
	struct source_addr a, b;
	uint64_t t0 = 1000 * SEC;
	int retry, i;

	(void)state;
	src4("10.0.0.1", &a);
	src4("10.0.0.2", &b);
	/* Not initialised: everything passes. */
	for (i = 0; i < 100; i++)
		assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0, &retry), 0);
	ratelimit_init(rules, 100);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0, &retry), 0);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0, &retry), -1);
	assert_int_equal(retry, 1);		/* 0.5 s, rounded up */
	/* Another source and another class are untouched. */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &b, t0, &retry), 0);
	assert_int_equal(ratelimit_take_at(RL_ATTEST, &a, t0, &retry), 0);
	assert_int_equal(ratelimit_take_at(RL_ATTEST, &a, t0, &retry), -1);
	assert_int_equal(retry, 10);
	for (i = 0; i < 100; i++)
		assert_int_equal(ratelimit_take_at(RL_ATTESTATION, &a, t0,
		    &retry), 0);
	/* Refill: half a second gives one token, not more. */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0 + SEC / 2, &retry),
	    0);
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0 + SEC / 2, &retry),
	    -1);
	/* A long pause refills to the burst, never beyond. */
	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0 + 3600 * SEC,
		    &retry), 0);
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0 + 3600 * SEC,
	    &retry), -1);
	/* A clock that goes backwards does not mint tokens. */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0, &retry), -1);
	ratelimit_shutdown();
	assert_int_equal(ratelimit_take_at(RL_AUTH, &a, t0, &retry), 0);
}

static void
test_lru(void **state)
{
	struct ratelimit_rule rules[RL_NCLASS] = { [RL_AUTH] = { 1, 1 } };
	struct source_addr s[17];
	uint64_t t0 = 5 * SEC;
	char ip[32];
	int retry, i;

	(void)state;
	ratelimit_init(rules, 16);	/* the smallest table */
	for (i = 0; i < 17; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		src4(ip, &s[i]);
	}
	/* 16 sources spend their one token. */
	for (i = 0; i < 16; i++)
		assert_int_equal(ratelimit_take_at(RL_AUTH, &s[i], t0, &retry),
		    0);
	assert_int_equal(ratelimit_sources(), 16);
	/* Source 0 is used again: source 1 is now the least recent. */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &s[0], t0, &retry), -1);
	/* A 17th source takes source 1's slot... */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &s[16], t0, &retry), 0);
	assert_int_equal(ratelimit_sources(), 16);
	/* ...so source 1 comes back with a fresh bucket, and source 0,
	 * recently seen, was kept with its empty one. */
	assert_int_equal(ratelimit_take_at(RL_AUTH, &s[1], t0, &retry), 0);
	assert_int_equal(ratelimit_take_at(RL_AUTH, &s[0], t0, &retry), -1);
	/* Churning many sources never grows the table. */
	for (i = 0; i < 5000; i++) {
		struct source_addr x;

		snprintf(ip, sizeof(ip), "198.51.%d.%d", i / 250, i % 250);
		src4(ip, &x);
		(void)ratelimit_take_at(RL_AUTH, &x, t0, &retry);
	}
	assert_int_equal(ratelimit_sources(), 16);
	ratelimit_shutdown();
}

static void
test_counts(void **state)
{
	struct ratelimit_counts *c = ratelimit_counts_new(4);
	struct source_addr a, b;
	char ip[32];
	int i;

	(void)state;
	src4("10.1.0.1", &a);
	src4("10.1.0.2", &b);
	assert_int_equal(ratelimit_counts_add(c, &a, 2), 0);
	assert_int_equal(ratelimit_counts_add(c, &a, 2), 0);
	assert_int_equal(ratelimit_counts_add(c, &a, 2), -1);
	assert_int_equal(ratelimit_counts_get(c, &a), 2);
	assert_int_equal(ratelimit_counts_add(c, &b, 0), -1);
	assert_int_equal(ratelimit_counts_get(c, &b), 0);
	assert_int_equal(ratelimit_counts_sources(c), 1);
	ratelimit_counts_sub(c, &a);
	assert_int_equal(ratelimit_counts_add(c, &a, 2), 0);
	ratelimit_counts_sub(c, &a);
	ratelimit_counts_sub(c, &a);
	assert_int_equal(ratelimit_counts_sources(c), 0);
	ratelimit_counts_sub(c, &a);		/* unknown: ignored */
	/* Entries live only while counted. */
	for (i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 200, i % 200);
		src4(ip, &a);
		assert_int_equal(ratelimit_counts_add(c, &a, 1), 0);
	}
	assert_int_equal(ratelimit_counts_sources(c), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 200, i % 200);
		src4(ip, &a);
		ratelimit_counts_sub(c, &a);
	}
	assert_int_equal(ratelimit_counts_sources(c), 0);
	ratelimit_counts_free(c);
}

/* ---------------------------------------------------------- quota */

static char evicted[64][SESSION_ID_LEN + 1];
static int nevicted;

static void
record_evict(const char *id, void *arg)
{
	(void)arg;
	assert_true(nevicted < 64);
	snprintf(evicted[nevicted++], sizeof(evicted[0]), "%s", id);
}

/* A session id: 32 hex digits, n in the last ones. */
static const char *
qid(int n)
{
	static char ids[8][SESSION_ID_LEN + 1];
	static int k;
	char *s = ids[k++ % 8];

	snprintf(s, SESSION_ID_LEN + 1, "%08x%024x", (unsigned)n * 2654435761u,
	    (unsigned)n);
	return s;
}

static void
test_quota(void **state)
{
	struct session_quota_config cfg = {
		.max_sessions = 4,
		.max_unattested_per_source = 2,
		.max_bytes = 10000,
	};
	struct session_quota_stats st;
	struct source_addr a, b;
	int64_t exp = now_unix() + 300;

	(void)state;
	src4("10.3.0.1", &a);
	src4("10.3.0.2", &b);
	session_quota_init(&cfg);
	nevicted = 0;
	assert_int_equal(session_quota_admit(qid(1), &a, exp, 100,
	    record_evict, NULL), 0);
	assert_int_equal(session_quota_admit(qid(2), &a, exp, 100,
	    record_evict, NULL), 0);
	/* Per source: refused, nothing evicted. */
	assert_int_equal(session_quota_admit(qid(3), &a, exp, 100,
	    record_evict, NULL), SESSION_BUSY);
	assert_int_equal(nevicted, 0);
	assert_int_equal(session_quota_admit(qid(3), &b, exp, 100,
	    record_evict, NULL), 0);
	/* Session 1 attests: it leaves the unattested count of a. */
	assert_int_equal(session_quota_attested(qid(1), 1000, record_evict,
	    NULL), 0);
	assert_int_equal(session_quota_admit(qid(4), &a, exp, 100,
	    record_evict, NULL), 0);
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 4);
	assert_int_equal(st.unattested, 3);
	assert_int_equal(st.bytes, 1300);
	assert_int_equal(st.refused, 1);
	/* Global count cap: the oldest unattested (2) goes, not the
	 * attested 1 even though it is older. */
	assert_int_equal(session_quota_admit(qid(5), &b, exp, 100,
	    record_evict, NULL), 0);
	assert_int_equal(nevicted, 1);
	assert_string_equal(evicted[0], qid(2));
	/* Memory cap: a big token evicts the oldest sessions of either
	 * kind, by when they entered their list: 3 (its /auth came before
	 * 1's /attest), then 1 (attested before 4's /auth); 4 fits beside
	 * it; never itself. */
	assert_int_equal(session_quota_attested(qid(5), 9500, record_evict,
	    NULL), 0);
	assert_int_equal(nevicted, 3);
	assert_string_equal(evicted[1], qid(3));
	assert_string_equal(evicted[2], qid(1));
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 2);
	assert_int_equal(st.bytes, 9600);
	assert_int_equal(st.unattested, 1);
	assert_int_equal(st.sources, 1);
	session_quota_forget(qid(4));
	/* More than the cap can never fit; unknown ids are refused. */
	assert_int_equal(session_quota_attested(qid(5), 10001, record_evict,
	    NULL), -1);
	assert_int_equal(session_quota_attested(qid(99), 10, record_evict,
	    NULL), -1);
	/* forget and gc. */
	session_quota_forget(qid(5));
	session_quota_forget(qid(5));
	assert_int_equal(session_quota_admit(qid(6), &a, 10, 10, record_evict,
	    NULL), 0);
	assert_int_equal(session_quota_admit(qid(7), &a, exp, 10, record_evict,
	    NULL), 0);
	assert_int_equal(session_quota_gc(11), 1);
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.evicted, 3);
	session_quota_shutdown();
}

/* An expired session at the head is dropped, not counted as evicted. */
static void
test_quota_expired(void **state)
{
	struct session_quota_config cfg = { .max_sessions = 2 };
	struct session_quota_stats st;
	struct source_addr a;

	(void)state;
	src4("10.4.0.1", &a);
	session_quota_init(&cfg);
	nevicted = 0;
	assert_int_equal(session_quota_admit(qid(1), &a, 1, 1, record_evict,
	    NULL), 0);
	assert_int_equal(session_quota_admit(qid(2), &a, now_unix() + 300, 1,
	    record_evict, NULL), 0);
	assert_int_equal(session_quota_admit(qid(3), &a, now_unix() + 300, 1,
	    record_evict, NULL), 0);
	assert_int_equal(nevicted, 1);
	assert_string_equal(evicted[0], qid(1));
	session_quota_stats(&st);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.sessions, 2);
	/* The next one evicts a live session, and counts it. */
	assert_int_equal(session_quota_admit(qid(4), &a, now_unix() + 300, 1,
	    record_evict, NULL), 0);
	assert_string_equal(evicted[1], qid(2));
	session_quota_stats(&st);
	assert_int_equal(st.evicted, 1);
	session_quota_shutdown();
}

/* The source the cap tests below admit from. */
static struct source_addr quota_src;

/* A fresh quota with these caps, nothing evicted yet. */
static void
quota_start(size_t max_sessions, size_t max_bytes)
{
	struct session_quota_config cfg = {
		.max_sessions = max_sessions,
		.max_bytes = max_bytes,
	};

	src4("10.5.0.1", &quota_src);
	session_quota_init(&cfg);
	nevicted = 0;
}

/* Session n enters (unattested, 300 s to live) holding bytes. */
static void
quota_admit(int n, size_t bytes)
{
	assert_int_equal(session_quota_admit(qid(n), &quota_src,
	    now_unix() + 300, bytes, record_evict, NULL), 0);
}

/* Session n attests and now holds bytes. */
static void
quota_attest(int n, size_t bytes)
{
	assert_int_equal(session_quota_attested(qid(n), bytes, record_evict,
	    NULL), 0);
}

/* The evictions so far are exactly these sessions, in this order. */
static void
quota_evicted(int n, ...)
{
	va_list ap;
	int i;

	assert_int_equal(nevicted, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(evicted[i], qid(va_arg(ap, int)));
	va_end(ap);
}

/*
 * Every live session attested (no unattested one to evict first): a
 * newcomer at the count cap, and a token at the memory cap, evict the
 * oldest attested session. This crashed (a NULL list head taken for the
 * session to keep) until 2026-12-08.
 */
static void
test_quota_all_attested(void **state)
{
	struct session_quota_stats st;

	(void)state;
	quota_start(2, 3000);
	quota_admit(1, 100);
	quota_admit(2, 100);
	quota_attest(1, 1000);
	quota_attest(2, 1000);
	quota_evicted(0);
	/* The count cap: the oldest attested (1) goes. */
	quota_admit(3, 100);
	quota_evicted(1, 1);
	/* 3 attests with a token that fits only beside nothing else: 2
	 * goes, 3 itself is kept. */
	quota_attest(3, 2500);
	quota_evicted(2, 1, 2);
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.unattested, 0);
	assert_int_equal(st.bytes, 2500);
	/* The memory cap with only 3 (attested) held: a newcomer evicts
	 * it. */
	quota_admit(4, 600);
	quota_evicted(3, 1, 2, 3);
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.evicted, 3);
	session_quota_shutdown();
}

/*
 * At the memory cap alone, a token evicts the oldest session, attested or
 * not: under a steady load that is a session attested long ago, not the
 * handshake another guest has in flight (the youngest session).
 */
static void
test_quota_memory_oldest_first(void **state)
{
	struct session_quota_stats st;

	(void)state;
	quota_start(100, 3000);
	quota_admit(1, 100);
	quota_attest(1, 1000);
	quota_admit(2, 100);
	quota_attest(2, 1000);
	/* Two handshakes in flight; 3 attests and needs room. */
	quota_admit(3, 100);
	quota_admit(4, 100);
	quota_attest(3, 1000);
	quota_evicted(1, 1);
	session_quota_stats(&st);
	assert_int_equal(st.sessions, 3);
	assert_int_equal(st.unattested, 1);
	assert_int_equal(st.bytes, 2100);
	/* 4 is now the oldest: a 2500-byte token for 2 takes 4's 100
	 * bytes first, then 3. */
	quota_attest(2, 2500);
	quota_evicted(3, 1, 4, 3);
	session_quota_shutdown();
}

/* session.c under the quota: a source at its cap gets SESSION_BUSY, the
 * global cap evicts the oldest session from the table. */
static void
test_sessions(void **state)
{
	struct session_quota_config cfg = {
		.max_sessions = 3,
		.max_unattested_per_source = 2,
	};
	struct session s1, s2, s3, s4, x;
	struct source_addr a, b, c;

	(void)state;
	src4("10.5.0.1", &a);
	src4("10.5.0.2", &b);
	src4("10.5.0.3", &c);
	session_init(300);
	session_quota_init(&cfg);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s1), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &s2), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &x),
	    SESSION_BUSY);
	assert_int_equal(session_new("sample", HASH_SHA384, &b, &s3), 0);
	assert_int_equal(session_count(), 3);
	/* s1 attests; the next newcomer evicts s2, the oldest unattested. */
	assert_int_equal(session_set_attested(s1.id, "header.claims.sig"), 0);
	assert_int_equal(session_new("sample", HASH_SHA384, &c, &s4), 0);
	assert_int_equal(session_count(), 3);
	assert_int_equal(session_get(s2.id, &x), -1);
	assert_int_equal(session_get(s1.id, &x), 0);
	assert_string_equal(x.token, "header.claims.sig");
	session_clear(&x);
	/* a may open another one now that s2 is gone. */
	assert_int_equal(session_new("sample", HASH_SHA384, &a, &x), 0);
	session_clear(&x);
	session_clear(&s1);
	session_clear(&s2);
	session_clear(&s3);
	session_clear(&s4);
	session_shutdown();
	session_quota_shutdown();
}

/* A flood of one limit is one log line (until the period is over). */
static void
test_notes(void **state)
{
	struct testutil_capture cap;
	struct source_addr a;
	char *out, *p;
	int i, lines = 0;

	(void)state;
	src4("10.6.0.1", &a);
	testutil_stderr_begin(&cap);
	for (i = 0; i < 1000; i++)
		ratelimit_note(RL_EV_ATTESTATION, &a);
	ratelimit_flush();
	out = testutil_stderr_end(&cap);
	for (p = out; (p = strstr(p, "limits: ")) != NULL; p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "limits: rate limit on /attestation: "
	    "source 10.6.0.1"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_quota_expired),
		cmocka_unit_test(test_quota_all_attested),
		cmocka_unit_test(test_quota_memory_oldest_first),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_notes),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_ratelimit", LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
