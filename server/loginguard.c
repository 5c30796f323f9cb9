/*
 * loginguard.c: progressive delay and lockout after failed console
 * logins, per user name (console.h). In memory, per process: a fixed
 * table of LOGINGUARD_SLOTS entries keyed by a keyed BLAKE2b hash of the
 * name (so the table holds no names), probed over LOGINGUARD_PROBE
 * slots; when the window is full the entry with the oldest failure is
 * replaced. An attacker who fills the table can thus only make the guard
 * forget old failures, never lock anyone out who has not failed.
 *
 * The per-source side is not here: every login attempt takes a token of
 * the shared rate limiter's RL_LOGIN class (ratelimit.c, [limits]
 * login_rate/login_burst) for its source, in console_auth.c.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "console.h"

#define LOGINGUARD_SLOTS 4096
#define LOGINGUARD_PROBE 8
#define LOGINGUARD_KEYLEN 16

struct loginguard_entry {
	uint8_t key[LOGINGUARD_KEYLEN];
	int used;
	int failures;
	int64_t last_failure;		/* all times in milliseconds */
	int64_t next_allowed;		/* progressive delay */
	int64_t locked_until;
};

static pthread_mutex_t loginguard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loginguard_entry loginguard_table[LOGINGUARD_SLOTS];
static uint8_t loginguard_secret[crypto_generichash_KEYBYTES];
static struct loginguard_config loginguard_cfg = { 10, 3, 60, 900 };
static int loginguard_ready;

void
loginguard_init(const struct loginguard_config *cfg)
{
	pthread_mutex_lock(&loginguard_lock);
	if (cfg != NULL)
		loginguard_cfg = *cfg;
	sodium_memzero(loginguard_table, sizeof(loginguard_table));
	randombytes_buf(loginguard_secret, sizeof(loginguard_secret));
	loginguard_ready = 1;
	pthread_mutex_unlock(&loginguard_lock);
}

static void
loginguard_key(char kind, const char *s, uint8_t out[LOGINGUARD_KEYLEN])
{
	crypto_generichash_state st;

	if (!loginguard_ready) {
		randombytes_buf(loginguard_secret, sizeof(loginguard_secret));
		loginguard_ready = 1;
	}
	crypto_generichash_init(&st, loginguard_secret,
	    sizeof(loginguard_secret), LOGINGUARD_KEYLEN);
	crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
	crypto_generichash_update(&st, (const unsigned char *)s, strlen(s));
	crypto_generichash_final(&st, out, LOGINGUARD_KEYLEN);
}

/* 1 when e is a better slot to recycle than v: a free slot first, then
 * one that is not locked, then the oldest failure. */
static int
loginguard_better_victim(const struct loginguard_entry *e,
    const struct loginguard_entry *v, int64_t now)
{
	int el, vl;

	if (v == NULL)
		return 1;
	if (!v->used || !e->used)
		return !e->used && v->used;
	el = e->locked_until > now;
	vl = v->locked_until > now;
	if (el != vl)
		return !el;
	return e->last_failure < v->last_failure;
}

/* The entry for key; with create, a fresh or recycled one. Caller holds
 * the lock. Failures older than the lockout window are forgotten here. */
static struct loginguard_entry *
loginguard_find(const uint8_t key[LOGINGUARD_KEYLEN], int64_t now, int create)
{
	struct loginguard_entry *e, *victim = NULL;
	size_t start, i;

	memcpy(&start, key, sizeof(start));
	start %= LOGINGUARD_SLOTS;
	for (i = 0; i < LOGINGUARD_PROBE; i++) {
		e = &loginguard_table[(start + i) % LOGINGUARD_SLOTS];
		if (e->used && memcmp(e->key, key, LOGINGUARD_KEYLEN) == 0) {
			if (now - e->last_failure >=
			    (int64_t)loginguard_cfg.lockout_s * 1000 &&
			    e->locked_until <= now) {
				e->failures = 0;
				e->next_allowed = 0;
			}
			return e;
		}
		if (loginguard_better_victim(e, victim, now))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, LOGINGUARD_KEYLEN);
	victim->used = 1;
	return victim;
}

/* Whole seconds to wait for one entry, rounded up (0: go), *locked for a
 * lockout. */
static int
loginguard_wait(const struct loginguard_entry *e, int64_t now, int *locked)
{
	if (e == NULL)
		return 0;
	if (e->locked_until > now) {
		*locked = 1;
		return (int)((e->locked_until - now + 999) / 1000);
	}
	if (e->next_allowed > now)
		return (int)((e->next_allowed - now + 999) / 1000);
	return 0;
}

int
loginguard_check(const char *user, int64_t now, int *locked)
{
	uint8_t k[LOGINGUARD_KEYLEN];
	int w, l = 0;

	pthread_mutex_lock(&loginguard_lock);
	loginguard_key('u', user, k);
	w = loginguard_wait(loginguard_find(k, now, 0), now, &l);
	pthread_mutex_unlock(&loginguard_lock);
	*locked = l && w > 0;
	return w;
}

void
loginguard_failure(const char *user, int64_t now)
{
	struct loginguard_entry *e;
	uint8_t k[LOGINGUARD_KEYLEN];
	int over;

	pthread_mutex_lock(&loginguard_lock);
	loginguard_key('u', user, k);
	e = loginguard_find(k, now, 1);
	e->failures++;
	e->last_failure = now;
	if (e->failures >= loginguard_cfg.user_failures) {
		e->locked_until = now + (int64_t)loginguard_cfg.lockout_s * 1000;
		e->failures = 0;	/* a fresh count once the lock ends */
		e->next_allowed = 0;
	} else if ((over = e->failures - loginguard_cfg.delay_after) >= 0) {
		int64_t d = over >= 30 ? loginguard_cfg.max_delay_s :
		    (int64_t)1 << over;

		if (d > loginguard_cfg.max_delay_s)
			d = loginguard_cfg.max_delay_s;
		e->next_allowed = now + d * 1000;
	}
	pthread_mutex_unlock(&loginguard_lock);
}

void
loginguard_success(const char *user, int64_t now)
{
	struct loginguard_entry *e;
	uint8_t k[LOGINGUARD_KEYLEN];

	pthread_mutex_lock(&loginguard_lock);
	loginguard_key('u', user, k);
	e = loginguard_find(k, now, 0);
	if (e != NULL)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&loginguard_lock);
}

void
loginguard_reset_user(const char *user)
{
	loginguard_success(user, loginguard_now_ms());
}

int64_t
loginguard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
