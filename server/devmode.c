/*
 * devmode.c: `trusteed --dev --state-dir DIR`: a working appliance with no
 * config file. Everything it needs is created under DIR on first start and
 * reused afterwards; nothing here is fit for production (plain-file
 * sealer, self-signed certificate), and trusteed says so when it starts.
 *
 * Two halves, so that nothing is written before everything is checked:
 * devmode_config only sets the paths, devmode_create makes what is
 * missing (trusteed.c runs the preflight checks in between).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/admintoken.h"
#include "../lib/log.h"
#include "console.h"
#include "trusteed.h"

static int
devmode_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

void
devmode_config(struct config *cfg, const char *state_dir)
{
	free(cfg->state_dir);
	cfg->state_dir = xstrdup(state_dir);
	free(cfg->store_path);
	cfg->store_path = xasprintf("%s/trustee.db", state_dir);
	free(cfg->sealer);
	cfg->sealer = xstrdup("file");
	free(cfg->data_key_file);
	cfg->data_key_file = xasprintf("%s/data.key", state_dir);
	free(cfg->tls_cert);
	cfg->tls_cert = xasprintf("%s/tls/cert.pem", state_dir);
	free(cfg->tls_key);
	cfg->tls_key = xasprintf("%s/tls/key.pem", state_dir);
	while (cfg->nadmin_keys > 0)
		free(cfg->admin_keys[--cfg->nadmin_keys]);
	cfg->admin_keys[cfg->nadmin_keys++] = xasprintf("%s/admin/public.pem",
	    state_dir);
	cfg->admin_mode = ADMIN_BEARER_JWT;
	cfg->resource_policy = RPOLICY_ALLOW_ALL;
	cfg->insecure_http = 0;
	cfg->dev = 1;
	free(cfg->console_password_file);
	cfg->console_password_file = xasprintf("%s/admin/console-password",
	    state_dir);
}

int
devmode_create(struct config *cfg, struct error *err)
{
	const char *state_dir = cfg->state_dir, *cpw;
	char *tlsdir, *admindir, *priv, *pub;
	int created_tls = 0, created_admin = 0, created_cpw = 0, rc = -1;

	if (dir_create(state_dir, 0700, err) != 0)
		return -1;
	tlsdir = xasprintf("%s/tls", state_dir);
	admindir = xasprintf("%s/admin", state_dir);
	priv = xasprintf("%s/private.pem", admindir);
	pub = xstrdup(cfg->admin_keys[0]);
	cpw = cfg->console_password_file;
	if (dir_create(tlsdir, 0700, err) != 0 ||
	    dir_create(admindir, 0700, err) != 0)
		goto out;
	if (!devmode_exists(cfg->tls_cert) || !devmode_exists(cfg->tls_key)) {
		/* Half a pair is useless: make both anew. */
		unlink(cfg->tls_cert);
		unlink(cfg->tls_key);
		if (certgen_self_signed(cfg->tls_cert, cfg->tls_key,
		    "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1",
		    "trusteed development", 825, err) != 0)
			goto out;
		created_tls = 1;
	}
	if (!devmode_exists(priv)) {
		if (admintoken_keygen(priv, pub, err) != 0)
			goto out;
		created_admin = 1;
	} else if (!devmode_exists(pub)) {
		error_set(err, "%s exists but %s is missing", priv, pub);
		goto out;
	}
	/* The console's first user: trusteed adds `admin` with this password
	 * when the store has no console user yet. */
	if (!devmode_exists(cpw)) {
		char *pw = password_generate(24), *line = xasprintf("%s\n", pw);
		int wrc = file_write_atomic(cpw, line, strlen(line), 0600, err);

		secret_strfree(line);
		secret_strfree(pw);
		if (wrc != 0)
			goto out;
		created_cpw = 1;
	}

	fprintf(stderr, "trusteed: development mode, state in %s\n"
	    "  TLS certificate  %s%s\n"
	    "  admin key        %s%s (public key %s)\n"
	    "  console          user admin, password in %s%s\n"
	    "  sealer           file: %s (plain key file)\n"
	    "  database         %s\n"
	    "  resource policy  allow_all (the sample TEE is accepted)\n"
	    "trusteed: WARNING: --dev is not for production: the master key is "
	    "sealed by a plain key file, the certificate is self-signed and "
	    "attestation of the sample TEE proves nothing\n",
	    state_dir, cfg->tls_cert, created_tls ? " (created)" : "", priv,
	    created_admin ? " (created)" : "", pub, cpw,
	    created_cpw ? " (created)" : "", cfg->data_key_file,
	    cfg->store_dsn != NULL ? cfg->store_dsn : cfg->store_path);
	rc = 0;
out:
	free(tlsdir);
	free(admindir);
	free(priv);
	free(pub);
	return rc;
}

int
devmode_setup(struct config *cfg, const char *state_dir, struct error *err)
{
	devmode_config(cfg, state_dir);
	return devmode_create(cfg, err);
}
