/*
 * setup_store.c: the store steps of `trusteed setup` (steps 1, 5 and 6 in
 * setup.c):
 *
 *   - the state directory: created 0700, chowned to the service account,
 *     and its mode tightened to 0700 when group or others had access;
 *   - whether a deployment already exists there (instance-id, the
 *     embedded database or a file sealer's key file): then the store and
 *     its console users are kept;
 *   - a new store, opened with create by a child process running as the
 *     service account (so the database and the sealed master key belong
 *     to it), with the planned sealer; the passphrase reaches it through
 *     a pipe;
 *   - the first console user SETUP_CONSOLE_USER (role admin), with a
 *     random password written root-only (0600) to SETUP_CONSOLE_PW_FILE
 *     beside the admin key before the user exists, handed to the child
 *     through a pipe (never argv or the environment), and removed again
 *     when the child fails.
 *
 * Errors are returned in err; the child reports its own on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../store/seal.h"
#include "console.h"
#include "setup_internal.h"

#define SETUP_CONSOLE_PW_FILE	"console-password"
#define SETUP_CONSOLE_PW_LEN	24

/* ------------------------------------------------------------ planning */

/* 1 if the state directory already holds a deployment: the store wrote
 * its instance id, or the embedded database or a file sealer's key file
 * exists. */
int
setup_store_exists(const struct config *cfg)
{
	char *id = xasprintf("%s/instance-id", cfg->state_dir);
	struct stat sb;
	int yes;

	yes = stat(id, &sb) == 0 ||
	    (cfg->store_dsn == NULL && stat(cfg->store_path, &sb) == 0) ||
	    (cfg->data_key_file != NULL && stat(cfg->data_key_file, &sb) == 0);
	free(id);
	return yes;
}

/* Where the first console user's password goes: beside the admin key
 * (or the configuration when there is no admin key). malloc'd. */
char *
setup_store_console_pw_path(const struct config *cfg,
    const struct setup_plan *pl)
{
	char *d = setup_dirname(pl->admin_priv != NULL ? pl->admin_priv :
	    cfg->path), *p = xasprintf("%s/" SETUP_CONSOLE_PW_FILE, d);

	free(d);
	return p;
}

/* ------------------------------------------------------------- actions */

int
setup_store_dir(const struct config *cfg, const struct setup_plan *pl,
    struct error *err)
{
	struct stat sb;

	if (dir_create(cfg->state_dir, 0700, err) != 0)
		return -1;
	if (stat(cfg->state_dir, &sb) != 0)
		return error_set(err, "%s: %s", cfg->state_dir,
		    strerror(errno));
	if (sb.st_uid != pl->uid && setup_chown(pl, cfg->state_dir, err) != 0)
		return -1;
	if ((sb.st_mode & 077) != 0 && chmod(cfg->state_dir, 0700) != 0)
		return error_set(err, "%s: chmod: %s", cfg->state_dir,
		    strerror(errno));
	return 0;
}

/*
 * The service account's side of the first console user: read the
 * password from fd (the parent wrote it there) and add user admin (role
 * admin) unless a user of that name exists. Runs in the child that
 * opened the store.
 */
static int
setup_store_first_user(struct store *st, int fd, struct error *err)
{
	char *pw = sodium_malloc(PASSWORD_MAX + 1);
	size_t n = 0;
	ssize_t r;
	int rc;

	if (pw == NULL)
		return error_set(err, "out of memory");
	while (n < PASSWORD_MAX && (r = read(fd, pw + n, PASSWORD_MAX - n)) !=
	    0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sodium_free(pw);
			return error_set(err, "reading the console password: "
			    "%s", strerror(errno));
		}
		n += (size_t)r;
	}
	pw[n] = '\0';
	rc = users_init(st, err);
	if (rc == 0)
		rc = users_ensure(SETUP_CONSOLE_USER, "admin", pw,
		    "trusteed setup", err);
	users_shutdown();
	sodium_free(pw);
	return rc == 0 ? 0 : error_prefix(err, "the first console user");
}

/*
 * Initialise the store as the service account (a child process, so the
 * database and the sealed key belong to it), with the sealer as planned;
 * the passphrase goes in through a pipe (passphrase_fd).
 */
int
setup_store_init(const struct config *cfg, const struct setup_plan *pl,
    struct error *err)
{
	struct seal_config seal;
	struct store_options so;
	struct store *st;
	char dsnbuf[PATH_MAX + 8];
	int fds[2] = { -1, -1 }, ufds[2] = { -1, -1 }, status, rc;
	char *pw, *line;
	pid_t pid;

	if (pl->store_exists)
		return 0;
	/* The first console user's password: written (root, 0600) before
	 * the user exists, handed to the child through a pipe (never argv
	 * or the environment), removed again if the child fails. */
	if (pl->console_pw_path != NULL) {
		pw = password_generate(SETUP_CONSOLE_PW_LEN);
		line = xasprintf("%s\n", pw);
		rc = setup_parent(pl->console_pw_path, 0700, err) != 0 ||
		    file_write_atomic(pl->console_pw_path, line, strlen(line),
		    0600, err) != 0 ? -1 : 0;
		if (rc == 0 && (pipe2(ufds, O_CLOEXEC) != 0 ||
		    write(ufds[1], pw, strlen(pw)) != (ssize_t)strlen(pw)))
			rc = error_set(err, "pipe: %s", strerror(errno));
		secret_strfree(line);
		secret_strfree(pw);
		if (ufds[1] != -1)
			close(ufds[1]);
		if (rc != 0)
			goto fail;
	}
	config_store_options(cfg, &seal, &so);
	if (so.dsn == NULL) {
		snprintf(dsnbuf, sizeof(dsnbuf), "sqlite:%s", cfg->store_path);
		so.dsn = dsnbuf;
	}
	so.create = 1;
	seal.kind = pl->kind;
	seal.tpm2_pcrs = pl->pcrs;
	seal.passphrase_file = NULL;
	seal.passphrase_credential = NULL;
	seal.passphrase_fd = -1;
	if (pl->pass != NULL) {
		if (pipe2(fds, O_CLOEXEC) != 0 ||
		    write(fds[1], pl->pass, pl->pass_len) !=
		    (ssize_t)pl->pass_len) {
			error_set(err, "pipe: %s", strerror(errno));
			if (fds[0] != -1) {
				close(fds[0]);
				close(fds[1]);
			}
			goto fail;
		}
		close(fds[1]);
		seal.passphrase_fd = fds[0];
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		if (fds[0] != -1)
			close(fds[0]);
		error_set(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		umask(077);
		if (pl->root && pl->uid != 0 &&
		    (initgroups(pl->user, pl->gid) != 0 ||
		    setresgid(pl->gid, pl->gid, pl->gid) != 0 ||
		    setresuid(pl->uid, pl->uid, pl->uid) != 0)) {
			fprintf(stderr, "trusteed setup: becoming %s: %s\n",
			    pl->user, strerror(errno));
			_exit(1);
		}
		st = store_open(&so, err);
		if (st == NULL || (ufds[0] != -1 &&
		    setup_store_first_user(st, ufds[0], err) != 0)) {
			fprintf(stderr, "trusteed setup: %s\n", err->msg);
			store_close(st);
			_exit(1);
		}
		store_close(st);
		_exit(0);
	}
	if (fds[0] != -1)
		close(fds[0]);
	if (ufds[0] != -1) {
		close(ufds[0]);
		ufds[0] = -1;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			error_set(err, "waitpid: %s", strerror(errno));
			goto fail;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error_set(err, "the store in %s was not initialised "
		    "(the reason is above); run setup again once it is fixed",
		    cfg->state_dir);
		goto fail;
	}
	return 0;
fail:
	if (ufds[0] != -1)
		close(ufds[0]);
	if (pl->console_pw_path != NULL)
		unlink(pl->console_pw_path);
	return -1;
}

