/*
 * setup_sealer.c: the sealer step of `trusteed setup` (step 4 in setup.c):
 * which sealer protects the master key, and the configuration and systemd
 * files that make trusteed use it.
 *
 *   - the choice: an initialised store keeps its sealer (a different
 *     --sealer is refused); otherwise --sealer, or asked on a terminal,
 *     or detected (tpm2 when /dev/tpmrm0 exists, snp when /dev/sev-guest
 *     exists, otherwise passphrase). "file" is refused (development only);
 *   - the passphrase sealer's passphrase: from --passphrase-file (0600 or
 *     0400) or asked twice with echo off, SETUP_PASS_MIN to SETUP_PASS_MAX
 *     bytes, held in sodium memory (pl->pass, freed by the caller);
 *   - the [sealer] table of the configuration, rewritten only when it says
 *     something else (setup_conf.c edits the text; the result must pass
 *     config_load before it replaces the file, keeping the file's mode);
 *   - for a passphrase, the systemd credential SETUP_CREDENTIAL: encrypted
 *     by systemd-creds or a root-only file (or not stored: "none"), and a
 *     drop-in that makes trusteed.service load it.
 *
 * Planning (setup_sealer_plan*) writes nothing; errors are returned in err.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "../store/seal.h"
#include "setup_internal.h"

#define SETUP_SYSTEMD_CREDS	"/usr/bin/systemd-creds"
#define SETUP_PASS_MIN		12
#define SETUP_PASS_MAX		1024

/* ------------------------------------------------------------- helpers */

/* A line from the terminal (without its newline) into buf; echo off for
 * secrets. -1 at end of input. */
static int
setup_sealer_ask(const char *prompt, int secret, char *buf, size_t cap)
{
	struct termios old, quiet;
	int fd, restore = 0;
	size_t n = 0;
	ssize_t r;
	char c;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return -1;
	}
	if (secret && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	while ((r = read(fd, &c, 1)) == 1 && c != '\n')
		if (n + 1 < cap)
			buf[n++] = c;
	buf[n] = '\0';
	sodium_memzero(&c, sizeof(c));
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0)
			r = -1;
	}
	close(fd);
	return r == 1 ? 0 : -1;
}

static int
setup_sealer_interactive(const struct setup_opts *o)
{
	return !o->non_interactive && isatty(STDIN_FILENO);
}

/* Run argv with data on its stdin (umask 077); 0 if it exited 0. */
static int
setup_sealer_run(char *const argv[], const uint8_t *data, size_t len,
    struct error *err)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	size_t off = 0;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return error_set(err, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == -1) {
		close(fds[0]);
		close(fds[1]);
		return error_set(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		umask(077);
		if (dup2(fds[0], STDIN_FILENO) == -1)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	while (off < len) {
		n = write(fds[1], data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return error_set(err, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, "%s failed (%s %d)", argv[0],
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

/* ------------------------------------------------------------ planning */

static const char *
setup_sealer_detect(void)
{
	if (access("/dev/tpmrm0", F_OK) == 0)
		return "tpm2";
	if (access("/dev/sev-guest", F_OK) == 0)
		return "snp";
	return "passphrase";
}

int
setup_sealer_plan(const struct setup_opts *o, const struct config *cfg,
    struct setup_plan *pl, struct error *err)
{
	const char *cur = cfg->sealer, *detected = setup_sealer_detect();
	static char answer[32];
	struct error e2;

	if (pl->store_exists) {
		if (o->sealer != NULL && strcmp(o->sealer, cur) != 0)
			return error_set(err, "the store in %s is already "
			    "initialised with sealer \"%s\"; refusing to "
			    "change it to \"%s\" (a new sealer joins through "
			    "`trusteed --join`; see docs/sealing.md)",
			    cfg->state_dir, cur, o->sealer);
		if (o->tpm2_pcrs != NULL || o->passphrase_file != NULL)
			return error_set(err, "the store in %s is already "
			    "initialised; --tpm2-pcrs and --passphrase-file "
			    "only apply to a new one", cfg->state_dir);
		pl->kind = cur;
		return 0;
	}
	pl->kind = o->sealer;
	if (pl->kind == NULL && setup_sealer_interactive(o)) {
		printf("Seal the master key with: tpm2 (a TPM or vTPM), snp "
		    "(inside an SEV-SNP guest)\nor passphrase (asked at "
		    "setup, kept as a systemd credential).\n");
		if (setup_sealer_ask(detected[0] == 't' ? "Sealer [tpm2]: " :
		    detected[0] == 's' ? "Sealer [snp]: " :
		    "Sealer [passphrase]: ", 0, answer, sizeof(answer)) == 0 &&
		    answer[0] != '\0')
			pl->kind = answer;
	}
	if (pl->kind == NULL)
		pl->kind = detected;
	if (strcmp(pl->kind, "file") == 0)
		return error_set(err, "sealer \"file\" is for development "
		    "only (trusteed --dev); choose tpm2, snp or passphrase");
	if (seal_lookup(pl->kind, &e2) == NULL)
		return error_set(err, "--sealer: %s", e2.msg);
	if (o->tpm2_pcrs != NULL && strcmp(pl->kind, "tpm2") != 0)
		return error_set(err, "--tpm2-pcrs only applies to the tpm2 "
		    "sealer");
	if (o->passphrase_file != NULL && strcmp(pl->kind, "passphrase") != 0)
		return error_set(err, "--passphrase-file only applies to the "
		    "passphrase sealer");
	pl->pcrs = o->tpm2_pcrs;
	if (strcmp(pl->kind, "passphrase") == 0) {
		pl->pass_store = o->passphrase_store != NULL ?
		    o->passphrase_store : access(SETUP_SYSTEMD_CREDS, X_OK) == 0 ?
		    "encrypted" : "plain";
		if (strcmp(pl->pass_store, "encrypted") != 0 &&
		    strcmp(pl->pass_store, "plain") != 0 &&
		    strcmp(pl->pass_store, "none") != 0)
			return error_set(err, "--passphrase-store: \"%s\" is "
			    "not encrypted, plain or none", pl->pass_store);
		if (strcmp(pl->pass_store, "encrypted") == 0 &&
		    access(SETUP_SYSTEMD_CREDS, X_OK) != 0)
			return error_set(err, "--passphrase-store encrypted "
			    "needs " SETUP_SYSTEMD_CREDS " (package systemd)");
		if (strcmp(pl->pass_store, "none") != 0 && !pl->root)
			return error_set(err, "storing the passphrase for "
			    "systemd needs root (or --passphrase-store none)");
	}
	/* Does the [sealer] table already say this? */
	pl->edit_conf = strcmp(cur, pl->kind) != 0 ||
	    (pl->pcrs == NULL) != (cfg->seal_pcrs == NULL) ||
	    (pl->pcrs != NULL && strcmp(pl->pcrs, cfg->seal_pcrs) != 0) ||
	    (pl->pass_store != NULL && (cfg->seal_passphrase_credential ==
	    NULL || strcmp(cfg->seal_passphrase_credential,
	    SETUP_CREDENTIAL) != 0));
	return 0;
}

/* The passphrase: from --passphrase-file (0600/0400) or asked twice. */
int
setup_sealer_plan_passphrase(const struct setup_opts *o,
    struct setup_plan *pl, struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *again;

	if (pl->store_exists || strcmp(pl->kind, "passphrase") != 0)
		return 0;
	pl->pass = sodium_malloc(SETUP_PASS_MAX + 2);
	if (pl->pass == NULL)
		fatalx("sodium_malloc failed");
	if (o->passphrase_file != NULL) {
		if (file_check_secret(o->passphrase_file, err) != 0 ||
		    file_read_all(o->passphrase_file, SETUP_PASS_MAX + 1,
		    &data, &len, err) != 0)
			return error_prefix(err, "--passphrase-file");
		if (len > 0 && data[len - 1] == '\n')
			len--;
		memcpy(pl->pass, data, len);
		secret_free(data, len);
	} else if (setup_sealer_interactive(o)) {
		again = sodium_malloc(SETUP_PASS_MAX + 2);
		if (again == NULL)
			fatalx("sodium_malloc failed");
		if (setup_sealer_ask("Passphrase for the master key: ", 1,
		    (char *)pl->pass, SETUP_PASS_MAX + 2) != 0 ||
		    setup_sealer_ask("Again: ", 1, again,
		    SETUP_PASS_MAX + 2) != 0) {
			sodium_free(again);
			return error_set(err, "no passphrase given");
		}
		if (!secret_streq((char *)pl->pass, again)) {
			sodium_free(again);
			return error_set(err, "the two passphrases differ");
		}
		sodium_free(again);
		len = strlen((char *)pl->pass);
	} else
		return error_set(err, "the passphrase sealer needs "
		    "--passphrase-file FILE (or run setup on a terminal)");
	pl->pass_len = len;
	if (len < SETUP_PASS_MIN)
		return error_set(err, "the passphrase has %zu bytes; use at "
		    "least %d", len, SETUP_PASS_MIN);
	if (len > SETUP_PASS_MAX)
		return error_set(err, "the passphrase is longer than %d bytes",
		    SETUP_PASS_MAX);
	return 0;
}

/* ------------------------------------------------------------- actions */

/* Write the [sealer] table, proving the result parses first. */
int
setup_sealer_conf(const struct config *cfg, const struct setup_plan *pl,
    struct error *err)
{
	struct buf lines = { 0 };
	struct config check;
	struct stat sb;
	uint8_t *text = NULL;
	size_t len = 0;
	char *out = NULL, *tmp = NULL;
	int rc = -1;

	if (!pl->edit_conf)
		return 0;
	buf_addstr(&lines, "kind = ");
	setup_conf_quote(&lines, pl->kind);
	buf_addstr(&lines, "\n");
	if (pl->pcrs != NULL) {
		buf_addstr(&lines, "pcrs = ");
		setup_conf_quote(&lines, pl->pcrs);
		buf_addstr(&lines, "\n");
	}
	if (pl->pass_store != NULL)
		buf_addstr(&lines, "passphrase_credential = \"" SETUP_CREDENTIAL
		    "\"\n");
	if (stat(cfg->path, &sb) != 0 ||
	    file_read_all(cfg->path, 1024 * 1024, &text, &len, err) != 0) {
		if (text == NULL)
			error_set(err, "%s: %s", cfg->path, strerror(errno));
		goto out;
	}
	out = setup_conf_set_table((const char *)text, "sealer",
	    buf_cstr(&lines));
	tmp = xasprintf("%s.setup-check", cfg->path);
	if (file_write_atomic(tmp, out, strlen(out), 0600, err) != 0)
		goto out;
	config_defaults(&check);
	if (config_load(tmp, &check) != 0) {
		config_free(&check);
		unlink(tmp);
		error_set(err, "%s: the edited configuration does not parse "
		    "(the errors are above); nothing was changed", cfg->path);
		goto out;
	}
	config_free(&check);
	unlink(tmp);
	rc = file_write_atomic(cfg->path, out, strlen(out),
	    sb.st_mode & 07777, err);
out:
	free(tmp);
	free(out);
	free(text);
	buf_free(&lines);
	return rc;
}

/* The passphrase as a systemd credential, and the drop-in that loads it. */
int
setup_sealer_credential(const struct setup_plan *pl, struct error *err)
{
	char *argv[] = { SETUP_SYSTEMD_CREDS, "encrypt",
	    "--name=" SETUP_CREDENTIAL, "-",
	    SETUP_CREDSTORE_ENC "/" SETUP_CREDENTIAL, NULL };
	const char *line;
	char *text;
	int enc, rc;

	if (pl->pass_store == NULL || strcmp(pl->pass_store, "none") == 0)
		return 0;
	enc = strcmp(pl->pass_store, "encrypted") == 0;
	if (dir_create(enc ? SETUP_CREDSTORE_ENC : SETUP_CREDSTORE, 0700,
	    err) != 0)
		return -1;
	if (enc) {
		unlink(argv[4]);
		if (setup_sealer_run(argv, pl->pass, pl->pass_len, err) != 0)
			return -1;
		line = "LoadCredentialEncrypted=" SETUP_CREDENTIAL ":"
		    SETUP_CREDSTORE_ENC "/" SETUP_CREDENTIAL;
	} else {
		if (file_write_atomic(SETUP_CREDSTORE "/" SETUP_CREDENTIAL,
		    pl->pass, pl->pass_len, 0600, err) != 0)
			return -1;
		line = "LoadCredential=" SETUP_CREDENTIAL ":" SETUP_CREDSTORE
		    "/" SETUP_CREDENTIAL;
	}
	if (dir_create(SETUP_DROPIN_DIR, 0755, err) != 0)
		return -1;
	text = xasprintf("# Written by `trusteed setup`: the passphrase sealer's "
	    "secret, as a systemd\n# credential (trusteed(8)). Removed by "
	    "`apt purge trustee-appliance`.\n[Service]\n%s\n", line);
	rc = file_write_atomic(SETUP_DROPIN, text, strlen(text), 0644, err);
	free(text);
	if (rc == 0 && access("/run/systemd/system", F_OK) == 0) {
		char *reload[] = { "/bin/systemctl", "daemon-reload", NULL };
		struct error e2;

		if (setup_sealer_run(reload, NULL, 0, &e2) != 0)
			fprintf(stderr, "trusteed setup: warning: %s; run "
			    "`systemctl daemon-reload`\n", e2.msg);
	}
	return rc;
}

