/*
 * password.c: argon2id password hashes for console users (libsodium's
 * crypto_pwhash_str, "$argon2id$v=19$m=65536,t=2,p=1$..."). Each
 * computation holds 64 MiB, so a counting semaphore bounds how many run
 * at once; the login guard (loginguard.c) bounds how often they run.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "console.h"

#ifndef FUZZING
#define PASSWORD_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE
#else
/* The fuzz targets run logins by the thousand: cheap argon2id there. */
#define PASSWORD_OPS crypto_pwhash_OPSLIMIT_MIN
#define PASSWORD_MEM crypto_pwhash_MEMLIMIT_MIN
#endif
#define PASSWORD_WAIT_S 1

static pthread_once_t password_once = PTHREAD_ONCE_INIT;
static sem_t password_sem;

static void
password_sem_init(void)
{
	sem_init(&password_sem, 0, PASSWORD_SLOTS);
}

/* Take a slot (0), or PASSWORD_BUSY after PASSWORD_WAIT_S. */
static int
password_enter(void)
{
	struct timespec ts;

	pthread_once(&password_once, password_sem_init);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PASSWORD_WAIT_S;
	while (sem_timedwait(&password_sem, &ts) != 0)
		if (errno != EINTR)
			return PASSWORD_BUSY;
	return 0;
}

static void
password_leave(void)
{
	sem_post(&password_sem);
}

int
password_check(const char *pw, size_t len, struct error *err)
{
	size_t i;

	if (len < PASSWORD_MIN || len > PASSWORD_MAX)
		return error_set(err, "a password has %d to %d bytes",
		    PASSWORD_MIN, PASSWORD_MAX);
	if (memchr(pw, '\0', len) != NULL)
		return error_set(err, "a password may not contain NUL");
	for (i = 0; i < len; i++)
		if (pw[i] != ' ')
			return 0;
	return error_set(err, "a password may not be only spaces");
}

int
password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX],
    struct error *err)
{
	int rc;

	if (password_check(pw, len, err) != 0)
		return -1;
	if (password_enter() != 0) {
		error_set(err, "too many password computations at once: try "
		    "again");
		return PASSWORD_BUSY;
	}
	rc = crypto_pwhash_str(out, pw, len, PASSWORD_OPS, PASSWORD_MEM);
	password_leave();
	if (rc != 0)
		return error_set(err, "argon2id failed (out of memory?)");
	return 0;
}

int
password_verify(const char *hash, const char *pw, size_t len)
{
	int rc;

	if (password_enter() != 0)
		return PASSWORD_BUSY;
	/* A malformed hash fails inside libsodium without the computation;
	 * callers keep unknown users on the same path with a real hash. */
	rc = crypto_pwhash_str_verify(hash, pw, len);
	password_leave();
	return rc == 0 ? 0 : 1;
}

int
password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPS,
	    PASSWORD_MEM) != 0;
}

char *
password_generate(size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk"
	    "lmnopqrstuvwxyz0123456789-_";
	char *s = xmalloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	s[n] = '\0';
	return s;
}
