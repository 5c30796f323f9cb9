/*
 * devmode.c: `trusteed --dev --state-dir DIR`: a working appliance with no
 * config file. Everything it needs is created under DIR on first start and
 * reused afterwards; nothing here is fit for production (plain-file data
 * key, self-signed certificate), and trusteed says so when it starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../lib/admintoken.h"
#include "../lib/log.h"
#include "trusteed.h"

static int
devmode_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int
devmode_add_ext(X509 *crt, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, crt, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Self-signed P-256 leaf (CA:FALSE, so rustls-based guests accept it as an
 * extra root without CaUsedAsEndEntity), valid for 825 days. */
static int
devmode_tls(const char *cert, const char *key, struct error *err)
{
	EVP_PKEY *pk = NULL;
	X509 *crt = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	int fd, rc = -1;

	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	crt = X509_new();
	if (pk == NULL || crt == NULL)
		goto ossl;
	X509_set_version(crt, 2);
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto ossl;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt))
	    == NULL)
		goto ossl;
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 825L * 86400);
	name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"trusteed development", -1, -1, 0);
	X509_set_issuer_name(crt, name);
	X509_set_pubkey(crt, pk);
	if (!devmode_add_ext(crt, NID_basic_constraints, "critical,CA:FALSE") ||
	    !devmode_add_ext(crt, NID_key_usage,
	    "critical,digitalSignature") ||
	    !devmode_add_ext(crt, NID_ext_key_usage, "serverAuth") ||
	    !devmode_add_ext(crt, NID_subject_key_identifier, "hash") ||
	    !devmode_add_ext(crt, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1"))
		goto ossl;
	if (!X509_sign(crt, pk, EVP_sha256()))
		goto ossl;

	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		error_set(err, "%s: %s", key, strerror(errno));
		goto out;
	}
	if (!PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0) {
		f = NULL;
		error_set(err, "%s: write failed", key);
		goto out;
	}
	f = fopen(cert, "w");
	if (f == NULL || !PEM_write_X509(f, crt) || fclose(f) != 0) {
		f = NULL;
		error_set(err, "%s: write failed", cert);
		goto out;
	}
	f = NULL;
	rc = 0;
	goto out;
ossl:
	error_set(err, "cannot create the development TLS certificate");
out:
	if (f != NULL)
		fclose(f);
	BN_free(bn);
	X509_free(crt);
	EVP_PKEY_free(pk);
	return rc;
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
}

int
devmode_create(struct config *cfg, struct error *err)
{
	const char *state_dir = cfg->state_dir;
	char *tlsdir, *admindir, *priv, *pub;
	int created_tls = 0, created_admin = 0, rc = -1;

	if (dir_create(state_dir, 0700, err) != 0)
		return -1;
	tlsdir = xasprintf("%s/tls", state_dir);
	admindir = xasprintf("%s/admin", state_dir);
	priv = xasprintf("%s/private.pem", admindir);
	pub = xstrdup(cfg->admin_keys[0]);
	if (dir_create(tlsdir, 0700, err) != 0 ||
	    dir_create(admindir, 0700, err) != 0)
		goto out;
	if (!devmode_exists(cfg->tls_cert) || !devmode_exists(cfg->tls_key)) {
		if (devmode_tls(cfg->tls_cert, cfg->tls_key, err) != 0)
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

	fprintf(stderr, "trusteed: development mode, state in %s\n"
	    "  TLS certificate  %s%s\n"
	    "  admin key        %s%s (public key %s)\n"
	    "  sealer           file: %s (plain key file)\n"
	    "  database         %s\n"
	    "  resource policy  allow_all (the sample TEE is accepted)\n"
	    "trusteed: WARNING: --dev is not for production: the master key is "
	    "sealed by a plain key file, the certificate is self-signed and "
	    "attestation of the sample TEE proves nothing\n",
	    state_dir, cfg->tls_cert, created_tls ? " (created)" : "", priv,
	    created_admin ? " (created)" : "", pub, cfg->data_key_file,
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
