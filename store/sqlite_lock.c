/*
 * sqlite_lock.c: the SQLite backend's lock files: the daemon lock that
 * keeps an embedded store to one daemon, and the named locks (backend.h
 * lock and unlock).
 *
 * Contracts: every lock is an flock on a file created 0600 beside the
 * database, held for as long as its descriptor is open (the kernel drops
 * it when the process dies). The daemon lock, "<db>.lock", is taken
 * without waiting when the handle opens with dsn->exclusive, records the
 * holder's pid, and is held until close; a second daemon fails with a
 * message naming that pid. A named lock "<db>.lock-<name>" ([a-z_]
 * names) waits up to its timeout in 10 ms steps and occupies one of the
 * STORE_SQLITE_LOCKS slots of s->locks[] (under s->locks_mu) until
 * unlock: STORE_OK taken, STORE_ABSENT still held by another at the
 * timeout, STORE_ERROR.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "sqlite_int.h"

/* Open (creating, 0600) and flock a lock file, waiting up to wait_ms.
 * Returns the fd, -1 on error, -2 when another holder has it. */
static int
sqlite_lock_flock(const char *path, int wait_ms, struct error *err)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int fd, waited = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return error_set(err, "sqlite: %s: %s", path, strerror(errno));
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error_set(err, "sqlite: %s: lock: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (waited >= wait_ms) {
			close(fd);
			return -2;
		}
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

/* The daemon lock (sqlite_int.h). */
int
sqlite_lock_daemon(struct store_sqlite *s, struct error *err)
{
	char *lp = xasprintf("%s.lock", s->path), pid[32], held[32] = "";
	ssize_t n;
	int fd;

	fd = sqlite_lock_flock(lp, 0, err);
	if (fd == -2) {
		fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd != -1) {
			n = read(fd, held, sizeof(held) - 1);
			held[n > 0 ? n : 0] = '\0';
			held[strcspn(held, "\n")] = '\0';
			close(fd);
		}
		error_set(err, "sqlite: %s is in use by another trusteed%s%s "
		    "(an embedded store is opened by one daemon only; share a "
		    "MariaDB store between instances instead)", s->path,
		    held[0] != '\0' ? ", pid " : "", held);
		free(lp);
		return -1;
	}
	free(lp);
	if (fd < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
		log_warnx("sqlite: %s.lock: cannot record the pid: %s",
		    s->path, strerror(errno));
	s->lock_fd = fd;
	return 0;
}

int
sqlite_lock_acquire(void *handle, const char *name, int timeout_ms,
    struct error *err)
{
	struct store_sqlite *s = handle;
	struct store_sqlite_lock *slot = NULL;
	char *lp;
	size_t i;
	int fd;

	if (strlen(name) > STORE_TABLE_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
		return error_set(err, "sqlite: invalid lock name");
	pthread_mutex_lock(&s->locks_mu);
	for (i = 0; i < STORE_SQLITE_LOCKS && slot == NULL; i++)
		if (s->locks[i].fd == -1)
			slot = &s->locks[i];
	if (slot != NULL)
		slot->fd = -3;		/* reserved while we wait */
	pthread_mutex_unlock(&s->locks_mu);
	if (slot == NULL)
		return error_set(err, "sqlite: too many named locks held");
	lp = xasprintf("%s.lock-%s", s->path, name);
	fd = sqlite_lock_flock(lp, timeout_ms, err);
	free(lp);
	pthread_mutex_lock(&s->locks_mu);
	if (fd >= 0) {
		snprintf(slot->name, sizeof(slot->name), "%s", name);
		slot->fd = fd;
	} else
		slot->fd = -1;
	pthread_mutex_unlock(&s->locks_mu);
	return fd >= 0 ? STORE_OK : fd == -2 ? STORE_ABSENT : STORE_ERROR;
}

void
sqlite_lock_release(void *handle, const char *name)
{
	struct store_sqlite *s = handle;
	size_t i;

	pthread_mutex_lock(&s->locks_mu);
	for (i = 0; i < STORE_SQLITE_LOCKS; i++) {
		if (s->locks[i].fd >= 0 &&
		    strcmp(s->locks[i].name, name) == 0) {
			close(s->locks[i].fd);	/* releases the flock */
			s->locks[i].fd = -1;
			break;
		}
	}
	pthread_mutex_unlock(&s->locks_mu);
}
