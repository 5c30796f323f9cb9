/*
 * devmode.c: `trusteed --dev --state-dir DIR`: a working appliance with no
 * config file. Everything it needs is created under DIR on first start and
 * reused afterwards; nothing here is fit for production (plain-file data
 * key, self-signed certificate), and trusteed says so when it starts.
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

int
devmode_setup(struct config *cfg, const char *state_dir, struct error *err)
{
	char *tlsdir, *admindir, *cert, *key, *priv, *pub, *cpw;
	int created_tls = 0, created_admin = 0, created_cpw = 0, rc = -1;

	if (dir_create(state_dir, 0700, err) != 0)
		return -1;
	tlsdir = xasprintf("%s/tls", state_dir);
	admindir = xasprintf("%s/admin", state_dir);
	cert = xasprintf("%s/cert.pem", tlsdir);
	key = xasprintf("%s/key.pem", tlsdir);
	priv = xasprintf("%s/private.pem", admindir);
	pub = xasprintf("%s/public.pem", admindir);
	cpw = xasprintf("%s/console-password", admindir);
	if (dir_create(tlsdir, 0700, err) != 0 ||
	    dir_create(admindir, 0700, err) != 0)
		goto out;
	if (!devmode_exists(cert) || !devmode_exists(key)) {
		/* Half a pair is useless: make both anew. */
		unlink(cert);
		unlink(key);
		if (certgen_self_signed(cert, key, "localhost",
		    "DNS:localhost,IP:127.0.0.1,IP:::1", "trusteed development",
		    825, err) != 0)
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

	free(cfg->state_dir);
	cfg->state_dir = xstrdup(state_dir);
	free(cfg->store_path);
	cfg->store_path = xasprintf("%s/trustee.db", state_dir);
	free(cfg->data_key_file);
	cfg->data_key_file = xasprintf("%s/data.key", state_dir);
	free(cfg->tls_cert);
	cfg->tls_cert = xstrdup(cert);
	free(cfg->tls_key);
	cfg->tls_key = xstrdup(key);
	while (cfg->nadmin_keys > 0)
		free(cfg->admin_keys[--cfg->nadmin_keys]);
	cfg->admin_keys[cfg->nadmin_keys++] = xstrdup(pub);
	cfg->admin_mode = ADMIN_BEARER_JWT;
	cfg->resource_policy = RPOLICY_ALLOW_ALL;
	cfg->insecure_http = 0;
	cfg->dev = 1;
	free(cfg->console_password_file);
	cfg->console_password_file = xstrdup(cpw);

	fprintf(stderr, "trusteed: development mode, state in %s\n"
	    "  TLS certificate  %s%s\n"
	    "  admin key        %s%s (public key %s)\n"
	    "  console          user admin, password in %s%s\n"
	    "  data key         %s (plain file)\n"
	    "  database         %s\n"
	    "  resource policy  allow_all (the sample TEE is accepted)\n"
	    "trusteed: WARNING: --dev is not for production: the data key is a "
	    "plain file, the certificate is self-signed and attestation of "
	    "the sample TEE proves nothing\n",
	    state_dir, cert, created_tls ? " (created)" : "", priv,
	    created_admin ? " (created)" : "", pub, cpw,
	    created_cpw ? " (created)" : "", cfg->data_key_file,
	    cfg->store_path);
	rc = 0;
out:
	free(tlsdir);
	free(admindir);
	free(cert);
	free(key);
	free(priv);
	free(pub);
	free(cpw);
	return rc;
}
