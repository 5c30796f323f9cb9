/*
 * setup_keys.c: the key files of `trusteed setup` (steps 2 and 3 in
 * setup.c), at the paths the configuration names:
 *
 *   - the TLS certificate and key ([http_server]): kept when both exist;
 *     copied from --tls-cert/--tls-key (the key written 0600 and never
 *     over an existing file, the pair proven to load, both removed again
 *     when it does not); or generated self-signed (certgen.c) for the
 *     --hostname names, or this host's name, plus localhost, 127.0.0.1
 *     and ::1. The key is chowned to the service account. Nothing when
 *     the configuration serves plain HTTP;
 *   - the first admin key (Ed25519), when [admin] uses bearer_jwt with
 *     public_keys: the public half where public_keys[0] points, the
 *     private half at --admin-key-out or private.pem beside it
 *     (admintoken_keygen); a missing directory is created 0755 for the
 *     public half, 0700 for the private one.
 *
 * Planning (setup_keys_plan) writes nothing and refuses what would
 * overwrite or leave half a pair; errors are returned in err.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "../lib/admintoken.h"
#include "setup_internal.h"

#define SETUP_CERT_DAYS		825

/* ------------------------------------------------------------ planning */

static int
setup_keys_exists(const char *path)
{
	struct stat sb;

	return path != NULL && lstat(path, &sb) == 0;
}

int
setup_keys_plan(const struct setup_opts *o, const struct config *cfg,
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
		have_cert = setup_keys_exists(cfg->tls_cert);
		have_key = setup_keys_exists(cfg->tls_key);
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
		have_pub = setup_keys_exists(cfg->admin_keys[0]);
		have_priv = setup_keys_exists(pl->admin_priv);
		if (!have_pub && have_priv)
			return error_set(err, "%s exists but its public key %s "
			    "does not: remove it, or restore the public key",
			    pl->admin_priv, cfg->admin_keys[0]);
		pl->admin = have_pub ? SETUP_KEEP : SETUP_CREATE;
	}
	return 0;
}

/* ------------------------------------------------------------- actions */

/* "DNS:a,DNS:localhost,IP:127.0.0.1,IP:::1" from the names asked for. */
static int
setup_keys_san(const struct setup_opts *o, char *cn, size_t cncap,
    struct buf *san, struct error *err)
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
setup_keys_copy_tls(const struct setup_opts *o, const struct config *cfg,
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

int
setup_keys_tls(const struct setup_opts *o, const struct config *cfg,
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
		rc = setup_keys_copy_tls(o, cfg, err);
	else {
		rc = setup_keys_san(o, cn, sizeof(cn), &san, err);
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

int
setup_keys_admin(const struct config *cfg, const struct setup_plan *pl,
    struct error *err)
{
	if (pl->admin != SETUP_CREATE)
		return 0;
	if (setup_parent(cfg->admin_keys[0], 0755, err) != 0 ||
	    setup_parent(pl->admin_priv, 0700, err) != 0)
		return -1;
	return admintoken_keygen(pl->admin_priv, cfg->admin_keys[0], err);
}

