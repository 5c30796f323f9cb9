/*
 * setup_internal.h: between the files of `trusteed setup` (setup.c, which
 * runs the command, and setup_sealer.c, setup_keys.c, setup_store.c, one
 * per step it plans and takes). The command's contract is setup.c's, in
 * trusteed.h; nothing else includes this header.
 */
#ifndef TRUSTEE_SETUP_INTERNAL_H
#define TRUSTEE_SETUP_INTERNAL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "trusteed.h"

#define SETUP_UNIT		"trusteed.service"
#define SETUP_CREDENTIAL	"trustee-passphrase"
#define SETUP_CREDSTORE		"/etc/credstore"
#define SETUP_CREDSTORE_ENC	"/etc/credstore.encrypted"
#define SETUP_DROPIN_DIR	"/etc/systemd/system/" SETUP_UNIT ".d"
#define SETUP_DROPIN		SETUP_DROPIN_DIR "/passphrase.conf"
#define SETUP_MAX_NAMES		8
#define SETUP_CONSOLE_USER	"admin"

/* The command line, as parsed by setup_main. */
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

/*
 * The functions below that take err return 0, or -1 with err set. A
 * planning step (*_plan*) writes nothing; the other steps do nothing
 * when the plan says there is nothing to do.
 */

/* ----------------------------------------------------------------- setup.c */

/* dirname(path), malloc'd. */
char *setup_dirname(const char *path);
/* mkdir -p dirname(path) with mode for what it creates. */
int setup_parent(const char *path, mode_t mode, struct error *err);
/* chown path to the service account when running as root. */
int setup_chown(const struct setup_plan *pl, const char *path,
    struct error *err);

/* ---------------------------------------------------------- setup_sealer.c */

/* pl->kind, pl->pcrs, pl->pass_store and pl->edit_conf: the sealer
 * (kept for an initialised store; else --sealer, asked, or detected) and
 * where its passphrase will be kept. Needs pl->store_exists and pl->root.
 * pl->kind may point into static storage. */
int setup_sealer_plan(const struct setup_opts *o, const struct config *cfg,
    struct setup_plan *pl, struct error *err);
/* pl->pass and pl->pass_len for a new passphrase-sealed store: from
 * --passphrase-file (0600/0400) or asked twice on the terminal. */
int setup_sealer_plan_passphrase(const struct setup_opts *o,
    struct setup_plan *pl, struct error *err);
/* Write the [sealer] table into the configuration, proving the result
 * parses first (pl->edit_conf). */
int setup_sealer_conf(const struct config *cfg, const struct setup_plan *pl,
    struct error *err);
/* The passphrase as a systemd credential (pl->pass_store), and the
 * drop-in that makes trusteed.service load it. */
int setup_sealer_credential(const struct setup_plan *pl, struct error *err);

/* ------------------------------------------------------------ setup_keys.c */

/* pl->tls, pl->admin and pl->admin_priv: what to do with the TLS pair and
 * the first admin key the configuration names; refuses to overwrite. */
int setup_keys_plan(const struct setup_opts *o, const struct config *cfg,
    struct setup_plan *pl, struct error *err);
/* The TLS pair: generated (self-signed) or copied, the key owned by the
 * service account (pl->tls). */
int setup_keys_tls(const struct setup_opts *o, const struct config *cfg,
    const struct setup_plan *pl, struct error *err);
/* The first admin key pair (pl->admin). */
int setup_keys_admin(const struct config *cfg, const struct setup_plan *pl,
    struct error *err);

/* ----------------------------------------------------------- setup_store.c */

/* 1 if the state directory already holds a deployment. */
int setup_store_exists(const struct config *cfg);
/* Where the first console user's password goes. malloc'd. */
char *setup_store_console_pw_path(const struct config *cfg,
    const struct setup_plan *pl);
/* The state directory, 0700, owned by the service account. */
int setup_store_dir(const struct config *cfg, const struct setup_plan *pl,
    struct error *err);
/* A new store initialised as the service account with the planned
 * sealer, and the first console user (pl->console_pw_path). */
int setup_store_init(const struct config *cfg, const struct setup_plan *pl,
    struct error *err);

#endif
