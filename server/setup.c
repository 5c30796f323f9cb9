/*
 * setup.c: `trusteed setup`, which turns a fresh installation into a
 * working appliance in one command (trusteed(8), "FIRST RUN"):
 *
 *   1. the state directory, owned by the service account;
 *   2. the TLS certificate and key the configuration names: generated
 *      (self-signed, certgen.c) or copied from --tls-cert/--tls-key;
 *   3. the first admin key (Ed25519): the public half where [admin]
 *      public_keys points, the private half beside it (root, 0600);
 *   4. the sealer: --sealer, or asked on a terminal, or detected (tpm2
 *      when /dev/tpmrm0 exists, snp when /dev/sev-guest exists, otherwise
 *      passphrase), written into the [sealer] table of the configuration;
 *      for passphrase, the passphrase is stored as a systemd credential
 *      (encrypted by systemd-creds, or a root-only file) and a drop-in
 *      makes trusteed.service load it;
 *   5. the store, initialised by the service account so that the sealed
 *      master key exists (store_open; its row is in the database);
 *   6. the first console user, "admin" with a random password that only
 *      root can read (console-password beside the admin key, 0600); the
 *      password reaches the service account's process through a pipe;
 * and prints what to do next.
 *
 * Idempotent: what exists is kept and said to be kept; a second run
 * changes nothing. It never overwrites: options that contradict what
 * exists (another sealer for an initialised store, a certificate when one
 * is there) are refused before anything is written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../lib/admintoken.h"
#include "../lib/log.h"
#include "../store/seal.h"
#include "console.h"
#include "trusteed.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define SETUP_USER		"_trustee"
#define SETUP_UNIT		"trusteed.service"
#define SETUP_CREDENTIAL	"trustee-passphrase"
#define SETUP_CREDSTORE		"/etc/credstore"
#define SETUP_CREDSTORE_ENC	"/etc/credstore.encrypted"
#define SETUP_DROPIN_DIR	"/etc/systemd/system/" SETUP_UNIT ".d"
#define SETUP_DROPIN		SETUP_DROPIN_DIR "/passphrase.conf"
#define SETUP_SYSTEMD_CREDS	"/usr/bin/systemd-creds"
#define SETUP_PASS_MIN		12
#define SETUP_PASS_MAX		1024
#define SETUP_MAX_NAMES		8
#define SETUP_CERT_DAYS		825
#define SETUP_CONSOLE_USER	"admin"
#define SETUP_CONSOLE_PW_FILE	"console-password"
#define SETUP_CONSOLE_PW_LEN	24

struct setup_opts {
	const char *config;
	const char *user;
	const char *sealer;
	const char *tpm2_pcrs;
	const char *passphrase_file;
	const char *passphrase_store;	/* "encrypted", "plain", "none" */
	const char *tls_cert, *tls_key;
	const char *admin_key_out;
	const char *names[SETUP_MAX_NAMES];
	int nnames;
	int non_interactive;
};

enum setup_act { SETUP_SKIP, SETUP_KEEP, SETUP_CREATE, SETUP_COPY };

/* What the run will do, decided before anything is written. */
struct setup_plan {
	const char *user;
	uid_t uid;
	gid_t gid;
	int root;			/* running as root: chown to user */
	int store_exists;
	const char *kind;		/* the sealer */
	const char *pcrs;		/* tpm2_pcrs, or NULL */
	int edit_conf;			/* [sealer] changes */
	enum setup_act tls;
	enum setup_act admin;
	char *admin_priv;
	const char *pass_store;		/* passphrase sealer, new store */
	uint8_t *pass;			/* sodium_malloc'd */
	size_t pass_len;
	char *console_pw_path;		/* the first console user's password
					 * file, or NULL (no new store, or
					 * the console is disabled) */
};

static void
setup_usage(FILE *f)
{
	fprintf(f,
	    "usage: trusteed setup [options]\n"
	    "\n"
	    "Turn a fresh installation into a working appliance: TLS "
	    "certificate,\nfirst admin key, sealer, configuration, store. "
	    "Keeps what exists.\n"
	    "\n"
	    "  -c, --config FILE          configuration [" SYSCONFDIR
	    "/trustee/trusteed.toml]\n"
	    "      --user NAME            service account that runs trusteed "
	    "[" SETUP_USER "]\n"
	    "      --sealer KIND          tpm2, snp or passphrase [detected]\n"
	    "      --tpm2-pcrs BANK:N,..  bind the tpm2 sealer to PCRs "
	    "(e.g. sha256:7)\n"
	    "      --passphrase-file FILE passphrase sealer: the passphrase "
	    "(0600) instead of asking\n"
	    "      --passphrase-store HOW encrypted (systemd-creds), plain "
	    "(root-only file)\n"
	    "                             or none (you provide it) "
	    "[encrypted]\n"
	    "      --hostname NAME        name or address in the generated "
	    "certificate\n"
	    "                             (repeatable) [this host's name]\n"
	    "      --tls-cert FILE        use this certificate chain (PEM) "
	    "instead of generating one\n"
	    "      --tls-key FILE         ... and its private key\n"
	    "      --admin-key-out FILE   the first admin's private key "
	    "[beside the public key]\n"
	    "  -y, --non-interactive      never ask; fail when something is "
	    "missing\n");
}

/* ------------------------------------------------------------- helpers */

static int
setup_exists(const char *path)
{
	struct stat sb;

	return path != NULL && lstat(path, &sb) == 0;
}

static char *
setup_dirname(const char *path)
{
	char *copy = xstrdup(path), *d = xstrdup(dirname(copy));

	free(copy);
	return d;
}

/* mkdir -p dirname(path) with mode for what it creates. */
static int
setup_parent(const char *path, mode_t mode, struct error *err)
{
	char *d = setup_dirname(path);
	int rc = dir_create(d, mode, err);

	free(d);
	return rc;
}

static int
setup_chown(const struct setup_plan *pl, const char *path, struct error *err)
{
	if (!pl->root)
		return 0;
	if (chown(path, pl->uid, pl->gid) != 0)
		return error_set(err, "%s: chown %s: %s", path, pl->user,
		    strerror(errno));
	return 0;
}

/* A line from the terminal (without its newline) into buf; echo off for
 * secrets. -1 at end of input. */
static int
setup_ask(const char *prompt, int secret, char *buf, size_t cap)
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
setup_interactive(const struct setup_opts *o)
{
	return !o->non_interactive && isatty(STDIN_FILENO);
}

/* Run argv with data on its stdin (umask 077); 0 if it exited 0. */
static int
setup_run(char *const argv[], const uint8_t *data, size_t len,
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
setup_detect_sealer(void)
{
	if (access("/dev/tpmrm0", F_OK) == 0)
		return "tpm2";
	if (access("/dev/sev-guest", F_OK) == 0)
		return "snp";
	return "passphrase";
}

static int
setup_plan_user(const struct setup_opts *o, struct setup_plan *pl,
    struct error *err)
{
	struct passwd *pw;

	pl->root = geteuid() == 0;
	if (o->user == NULL && !pl->root) {
		/* Not root: set up for ourselves (tests, a private instance). */
		pw = getpwuid(geteuid());
		if (pw == NULL)
			return error_set(err, "who am I? (uid %d has no "
			    "account)", (int)geteuid());
	} else {
		pw = getpwnam(o->user != NULL ? o->user : SETUP_USER);
		if (pw == NULL)
			return error_set(err, "no account named \"%s\" (the "
			    "package creates " SETUP_USER "; otherwise create "
			    "one or name it with --user)",
			    o->user != NULL ? o->user : SETUP_USER);
		if (!pl->root && pw->pw_uid != geteuid())
			return error_set(err, "--user %s: only root can set up "
			    "for another account", pw->pw_name);
	}
	pl->user = xstrdup(pw->pw_name);
	pl->uid = pw->pw_uid;
	pl->gid = pw->pw_gid;
	return 0;
}

static int
setup_plan_sealer(const struct setup_opts *o, const struct config *cfg,
    struct setup_plan *pl, struct error *err)
{
	const char *cur = cfg->sealer, *detected = setup_detect_sealer();
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
	if (pl->kind == NULL && setup_interactive(o)) {
		printf("Seal the master key with: tpm2 (a TPM or vTPM), snp "
		    "(inside an SEV-SNP guest)\nor passphrase (asked at "
		    "setup, kept as a systemd credential).\n");
		if (setup_ask(detected[0] == 't' ? "Sealer [tpm2]: " :
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
static int
setup_plan_passphrase(const struct setup_opts *o, struct setup_plan *pl,
    struct error *err)
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
	} else if (setup_interactive(o)) {
		again = sodium_malloc(SETUP_PASS_MAX + 2);
		if (again == NULL)
			fatalx("sodium_malloc failed");
		if (setup_ask("Passphrase for the master key: ", 1,
		    (char *)pl->pass, SETUP_PASS_MAX + 2) != 0 ||
		    setup_ask("Again: ", 1, again, SETUP_PASS_MAX + 2) != 0) {
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

static int
setup_plan_files(const struct setup_opts *o, const struct config *cfg,
    struct setup_plan *pl, struct error *err)
{
	int have_cert, have_key, have_pub, have_priv;
	char *d;

	if ((o->tls_cert != NULL) != (o->tls_key != NULL))
		return error_set(err, "--tls-cert and --tls-key go together");
	if (cfg->insecure_http) {
		if (o->tls_cert != NULL)
			return error_set(err, "the configuration serves plain "
			    "HTTP (insecure_http): no certificate to install");
		pl->tls = SETUP_SKIP;
	} else {
		if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
			return error_set(err, "%s: [http_server] certificate "
			    "and private_key must be set", cfg->path);
		have_cert = setup_exists(cfg->tls_cert);
		have_key = setup_exists(cfg->tls_key);
		if (have_cert != have_key)
			return error_set(err, "%s exists but %s does not: "
			    "remove it, or provide both", have_cert ?
			    cfg->tls_cert : cfg->tls_key, have_cert ?
			    cfg->tls_key : cfg->tls_cert);
		if (have_cert && o->tls_cert != NULL)
			return error_set(err, "%s already exists; refusing to "
			    "overwrite it with %s (replace the files yourself, "
			    "then `systemctl reload trusteed`)", cfg->tls_cert,
			    o->tls_cert);
		pl->tls = have_cert ? SETUP_KEEP : o->tls_cert != NULL ?
		    SETUP_COPY : SETUP_CREATE;
	}
	pl->admin = SETUP_SKIP;
	if (cfg->admin_mode == ADMIN_BEARER_JWT && cfg->nadmin_keys > 0) {
		if (o->admin_key_out != NULL)
			pl->admin_priv = xstrdup(o->admin_key_out);
		else {
			d = setup_dirname(cfg->admin_keys[0]);
			pl->admin_priv = xasprintf("%s/private.pem", d);
			free(d);
		}
		have_pub = setup_exists(cfg->admin_keys[0]);
		have_priv = setup_exists(pl->admin_priv);
		if (!have_pub && have_priv)
			return error_set(err, "%s exists but its public key %s "
			    "does not: remove it, or restore the public key",
			    pl->admin_priv, cfg->admin_keys[0]);
		pl->admin = have_pub ? SETUP_KEEP : SETUP_CREATE;
	}
	return 0;
}

/* ------------------------------------------------------------- actions */

static int
setup_do_state_dir(const struct config *cfg, const struct setup_plan *pl,
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

/* "DNS:a,DNS:localhost,IP:127.0.0.1,IP:::1" from the names asked for. */
static int
setup_san(const struct setup_opts *o, char *cn, size_t cncap, struct buf *san,
    struct error *err)
{
	unsigned char addr[16];
	const char *n;
	int i;

	if (o->nnames == 0) {
		if (gethostname(cn, cncap) != 0 || cn[0] == '\0')
			snprintf(cn, cncap, "localhost");
		cn[cncap - 1] = '\0';
	} else
		snprintf(cn, cncap, "%s", o->names[0]);
	for (i = 0; i < (o->nnames == 0 ? 1 : o->nnames); i++) {
		n = o->nnames == 0 ? cn : o->names[i];
		if (n[0] == '\0' || strspn(n, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:*") != strlen(n))
			return error_set(err, "--hostname \"%s\": not a host "
			    "name or an IP address", n);
		buf_printf(san, "%s%s:%s", san->len ? "," : "",
		    inet_pton(AF_INET, n, addr) == 1 ||
		    inet_pton(AF_INET6, n, addr) == 1 ? "IP" : "DNS", n);
	}
	if (strcmp(cn, "localhost") != 0)
		buf_addstr(san, ",DNS:localhost");
	buf_addstr(san, ",IP:127.0.0.1,IP:::1");
	return 0;
}

/* Copy the operator's pair (the key stays 0600), then prove it loads. */
static int
setup_copy_tls(const struct setup_opts *o, const struct config *cfg,
    struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	SSL_CTX *ctx;
	int fd;

	if (file_read_all(o->tls_key, 1024 * 1024, &data, &len, err) != 0)
		return -1;
	fd = open(cfg->tls_key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1 || write(fd, data, len) != (ssize_t)len ||
	    close(fd) != 0) {
		error_set(err, "%s: %s", cfg->tls_key, strerror(errno));
		secret_free(data, len);
		return -1;
	}
	secret_free(data, len);
	if (file_read_all(o->tls_cert, 1024 * 1024, &data, &len, err) != 0 ||
	    file_write_atomic(cfg->tls_cert, data, len, 0644, err) != 0) {
		free(data);
		unlink(cfg->tls_key);
		return -1;
	}
	free(data);
	ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, cfg->tls_min_version,
	    err);
	if (ctx == NULL) {
		unlink(cfg->tls_key);
		unlink(cfg->tls_cert);
		return error_prefix(err, "--tls-cert/--tls-key");
	}
	SSL_CTX_free(ctx);
	return 0;
}

static int
setup_do_tls(const struct setup_opts *o, const struct config *cfg,
    const struct setup_plan *pl, struct error *err)
{
	struct buf san = { 0 };
	char cn[256];
	int rc;

	if (pl->tls == SETUP_SKIP || pl->tls == SETUP_KEEP)
		return 0;
	if (setup_parent(cfg->tls_cert, 0755, err) != 0 ||
	    setup_parent(cfg->tls_key, 0755, err) != 0)
		return -1;
	if (pl->tls == SETUP_COPY)
		rc = setup_copy_tls(o, cfg, err);
	else {
		rc = setup_san(o, cn, sizeof(cn), &san, err);
		if (rc == 0)
			rc = certgen_self_signed(cfg->tls_cert, cfg->tls_key,
			    cn, buf_cstr(&san), "trusteed", SETUP_CERT_DAYS,
			    err);
		buf_free(&san);
	}
	if (rc != 0)
		return -1;
	return setup_chown(pl, cfg->tls_key, err);
}

static int
setup_do_admin(const struct config *cfg, const struct setup_plan *pl,
    struct error *err)
{
	if (pl->admin != SETUP_CREATE)
		return 0;
	if (setup_parent(cfg->admin_keys[0], 0755, err) != 0 ||
	    setup_parent(pl->admin_priv, 0700, err) != 0)
		return -1;
	return admintoken_keygen(pl->admin_priv, cfg->admin_keys[0], err);
}

/* Write the [sealer] table, proving the result parses first. */
static int
setup_do_conf(const struct config *cfg, const struct setup_plan *pl,
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
static int
setup_do_credential(const struct setup_plan *pl, struct error *err)
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
		if (setup_run(argv, pl->pass, pl->pass_len, err) != 0)
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

		if (setup_run(reload, NULL, 0, &e2) != 0)
			fprintf(stderr, "trusteed setup: warning: %s; run "
			    "`systemctl daemon-reload`\n", e2.msg);
	}
	return rc;
}

/*
 * The service account's side of the first console user: read the
 * password from fd (the parent wrote it there) and add user admin (role
 * admin) unless a user of that name exists. Runs in the child that
 * opened the store.
 */
static int
setup_first_user(struct store *st, int fd, struct error *err)
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

/* Where the first console user's password goes: beside the admin key
 * (or the configuration when there is no admin key). malloc'd. */
static char *
setup_console_pw_path(const struct config *cfg, const struct setup_plan *pl)
{
	char *d = setup_dirname(pl->admin_priv != NULL ? pl->admin_priv :
	    cfg->path), *p = xasprintf("%s/" SETUP_CONSOLE_PW_FILE, d);

	free(d);
	return p;
}

/* 1 if the state directory already holds a deployment: the store wrote
 * its instance id, or the embedded database or a file sealer's key file
 * exists. */
static int
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

/*
 * Initialise the store as the service account (a child process, so the
 * database and the sealed key belong to it), with the sealer as planned;
 * the passphrase goes in through a pipe (passphrase_fd).
 */
static int
setup_do_store(const struct config *cfg, const struct setup_plan *pl,
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
		    setup_first_user(st, ufds[0], err) != 0)) {
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

/* ------------------------------------------------------------ the end */

static const char *
setup_said(enum setup_act a)
{
	return a == SETUP_KEEP ? "kept" : a == SETUP_COPY ? "installed" :
	    "created";
}

/* "https://host:port" for the first listen address. */
static void
setup_url(const struct config *cfg, const char *host, char *out, size_t cap)
{
	const char *a = cfg->listen[0], *colon = strrchr(a, ':');

	snprintf(out, cap, "%s://%s:%s", cfg->insecure_http ? "http" :
	    "https", host, colon != NULL ? colon + 1 : "8080");
}

static void
setup_fingerprint(const char *cert, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	X509 *x = NULL;
	FILE *f;
	size_t off = 0;

	snprintf(out, cap, "?");
	if ((f = fopen(cert, "r")) == NULL)
		return;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1) {
		X509_free(x);
		return;
	}
	for (i = 0; i < n && off + 4 < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%02X",
		    i ? ":" : "", md[i]);
	X509_free(x);
}

static void
setup_report(const struct setup_opts *o, const struct config *cfg,
    const struct setup_plan *pl, int changed)
{
	char host[256], url[320], fp[160];

	if (o->nnames > 0)
		snprintf(host, sizeof(host), "%s", o->names[0]);
	else if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	setup_url(cfg, host, url, sizeof(url));
	printf("\ntrusteed setup: %s\n", changed ? "done" :
	    "already set up; nothing changed");
	printf("  configuration    %s (sealer %s%s)\n", cfg->path, pl->kind,
	    pl->edit_conf ? ", [sealer] written" : "");
	if (pl->tls != SETUP_SKIP) {
		setup_fingerprint(cfg->tls_cert, fp, sizeof(fp));
		printf("  TLS certificate  %s (%s)\n", cfg->tls_cert,
		    setup_said(pl->tls));
		printf("                   SHA-256 %s\n", fp);
		printf("  TLS key          %s (owned by %s)\n", cfg->tls_key,
		    pl->user);
	}
	if (pl->admin != SETUP_SKIP)
		printf("  admin key        %s (%s; public key %s)\n",
		    pl->admin == SETUP_CREATE ? pl->admin_priv :
		    cfg->admin_keys[0], setup_said(pl->admin),
		    cfg->admin_keys[0]);
	if (pl->pass_store != NULL && !pl->store_exists)
		printf("  passphrase       %s\n",
		    strcmp(pl->pass_store, "encrypted") == 0 ?
		    SETUP_CREDSTORE_ENC "/" SETUP_CREDENTIAL " (systemd-creds), "
		    "loaded by " SETUP_DROPIN :
		    strcmp(pl->pass_store, "plain") == 0 ?
		    SETUP_CREDSTORE "/" SETUP_CREDENTIAL " (root, 0600), loaded "
		    "by " SETUP_DROPIN :
		    "not stored: provide the credential " SETUP_CREDENTIAL
		    " (or passphrase_fd) yourself");
	printf("  store            %s (%s, service account %s)\n",
	    cfg->state_dir, pl->store_exists ? "kept" : "initialised",
	    pl->user);
	if (pl->console_pw_path != NULL)
		printf("  console user     " SETUP_CONSOLE_USER " (created; "
		    "password in %s, root only)\n", pl->console_pw_path);
	else if (pl->store_exists)
		printf("  console user     kept (trusteectl user list)\n");
	else
		printf("  console user     none ([console] enabled = false)\n");
	printf("\nNext:\n"
	    "  1. start it:       systemctl enable --now trusteed\n"
	    "                     (journalctl -u trusteed shows its log; "
	    "systemctl reload trusteed\n"
	    "                     reads a renewed certificate again)\n");
	if (pl->admin != SETUP_SKIP && pl->tls != SETUP_SKIP)
		printf("  2. talk to it:      export TRUSTEE_URL=%s\n"
		    "                     export TRUSTEE_CACERT=%s\n"
		    "                     export TRUSTEE_ADMIN_KEY=%s\n"
		    "                     trusteectl status\n"
		    "  3. move the admin key to the operators' machines and "
		    "delete it here;\n"
		    "     more admins: trusteectl admin keygen, then add the "
		    "public key to [admin]\n"
		    "     public_keys in %s\n",
		    url, cfg->tls_cert, pl->admin_priv != NULL ?
		    pl->admin_priv : "<admin private key>", cfg->path);
	if (pl->console_pw_path != NULL)
		printf("  the console:      %s/console/ (user "
		    SETUP_CONSOLE_USER ", password in %s;\n"
		    "                     change it in the console, then "
		    "delete the file)\n", url, pl->console_pw_path);
	printf("  4. guests: point the attestation agent / CDH at %s and give "
	    "them\n     %s; then set the resource policy and upload secrets "
	    "(trusteectl(8)).\n", url, pl->tls != SETUP_SKIP ? cfg->tls_cert :
	    "the server's certificate");
}

int
setup_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "sealer", required_argument, NULL, 's' },
		{ "tpm2-pcrs", required_argument, NULL, 'p' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "passphrase-store", required_argument, NULL, 'S' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "admin-key-out", required_argument, NULL, 'A' },
		{ "non-interactive", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct setup_opts o;
	struct setup_plan pl;
	struct config cfg;
	struct error err;
	int c, rc = 1, changed;

	memset(&o, 0, sizeof(o));
	memset(&pl, 0, sizeof(pl));
	o.config = SYSCONFDIR "/trustee/trusteed.toml";
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:yh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'u': o.user = optarg; break;
		case 's': o.sealer = optarg; break;
		case 'p': o.tpm2_pcrs = optarg; break;
		case 'P': o.passphrase_file = optarg; break;
		case 'S': o.passphrase_store = optarg; break;
		case 'H':
			if (o.nnames == SETUP_MAX_NAMES) {
				fprintf(stderr, "trusteed setup: at most %d "
				    "--hostname\n", SETUP_MAX_NAMES);
				return 2;
			}
			o.names[o.nnames++] = optarg;
			break;
		case 'C': o.tls_cert = optarg; break;
		case 'K': o.tls_key = optarg; break;
		case 'A': o.admin_key_out = optarg; break;
		case 'y': o.non_interactive = 1; break;
		case 'h': setup_usage(stdout); return 0;
		default: setup_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		setup_usage(stderr);
		return 2;
	}
	log_init("trusteed setup", LOG_LVL_WARN);
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	config_defaults(&cfg);
	if (config_load(o.config, &cfg) != 0) {
		fprintf(stderr, "trusteed setup: %s: configuration has errors "
		    "(fix them first)\n", o.config);
		config_free(&cfg);
		return 1;
	}

	/* Decide everything, refuse contradictions, write nothing. */
	pl.store_exists = setup_store_exists(&cfg);
	if (setup_plan_user(&o, &pl, &err) != 0 ||
	    setup_plan_sealer(&o, &cfg, &pl, &err) != 0 ||
	    setup_plan_files(&o, &cfg, &pl, &err) != 0 ||
	    setup_plan_passphrase(&o, &pl, &err) != 0) {
		fprintf(stderr, "trusteed setup: %s; nothing was changed\n",
		    err.msg);
		goto out;
	}
	if (!pl.store_exists && cfg.console_enabled)
		pl.console_pw_path = setup_console_pw_path(&cfg, &pl);
	changed = pl.edit_conf || !pl.store_exists ||
	    pl.tls == SETUP_CREATE || pl.tls == SETUP_COPY ||
	    pl.admin == SETUP_CREATE;

	/* Then do it, in an order that a re-run can always complete. */
	if (setup_do_state_dir(&cfg, &pl, &err) != 0 ||
	    setup_do_tls(&o, &cfg, &pl, &err) != 0 ||
	    setup_do_admin(&cfg, &pl, &err) != 0 ||
	    setup_do_conf(&cfg, &pl, &err) != 0 ||
	    setup_do_credential(&pl, &err) != 0 ||
	    setup_do_store(&cfg, &pl, &err) != 0) {
		fprintf(stderr, "trusteed setup: %s\n", err.msg);
		goto out;
	}
	setup_report(&o, &cfg, &pl, changed);
	rc = 0;
out:
	if (pl.pass != NULL)
		sodium_free(pl.pass);
	free(pl.admin_priv);
	free(pl.console_pw_path);
	free((char *)pl.user);
	config_free(&cfg);
	return rc;
}
