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
 *
 * This file parses the options, finds the service account, plans and then
 * takes the steps in order, and prints the report; the steps themselves
 * are in setup_store.c (1, 5, 6), setup_keys.c (2, 3) and setup_sealer.c
 * (4), sharing setup_internal.h. Exit codes: 0 done (or nothing to do),
 * 1 a step failed or the configuration has errors, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../lib/log.h"
#include "setup_internal.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define SETUP_USER		"_trustee"

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

/* --------------------------------------------- helpers for the steps */

char *
setup_dirname(const char *path)
{
	char *copy = xstrdup(path), *d = xstrdup(dirname(copy));

	free(copy);
	return d;
}

int
setup_parent(const char *path, mode_t mode, struct error *err)
{
	char *d = setup_dirname(path);
	int rc = dir_create(d, mode, err);

	free(d);
	return rc;
}

int
setup_chown(const struct setup_plan *pl, const char *path, struct error *err)
{
	if (!pl->root)
		return 0;
	if (chown(path, pl->uid, pl->gid) != 0)
		return error_set(err, "%s: chown %s: %s", path, pl->user,
		    strerror(errno));
	return 0;
}

/* ---------------------------------------------------------- this command */

/* The service account: --user, SETUP_USER as root, or ourselves. */
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
	    setup_sealer_plan(&o, &cfg, &pl, &err) != 0 ||
	    setup_keys_plan(&o, &cfg, &pl, &err) != 0 ||
	    setup_sealer_plan_passphrase(&o, &pl, &err) != 0) {
		fprintf(stderr, "trusteed setup: %s; nothing was changed\n",
		    err.msg);
		goto out;
	}
	if (!pl.store_exists && cfg.console_enabled)
		pl.console_pw_path = setup_store_console_pw_path(&cfg, &pl);
	changed = pl.edit_conf || !pl.store_exists ||
	    pl.tls == SETUP_CREATE || pl.tls == SETUP_COPY ||
	    pl.admin == SETUP_CREATE;

	/* Then do it, in an order that a re-run can always complete. */
	if (setup_store_dir(&cfg, &pl, &err) != 0 ||
	    setup_keys_tls(&o, &cfg, &pl, &err) != 0 ||
	    setup_keys_admin(&cfg, &pl, &err) != 0 ||
	    setup_sealer_conf(&cfg, &pl, &err) != 0 ||
	    setup_sealer_credential(&pl, &err) != 0 ||
	    setup_store_init(&cfg, &pl, &err) != 0) {
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
