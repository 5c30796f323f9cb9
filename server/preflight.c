/*
 * preflight.c: everything a start checks before it writes anything
 * (`trusteed -n` runs exactly this and exits): each file the
 * configuration names exists, is readable, has a safe mode when it holds
 * a secret, and parses as what it claims (a PEM certificate chain, a PEM
 * private key that matches it, PEM public keys, JWK sets); the store and
 * sealer settings pass store_options_check. Every problem is printed as
 * "FILE:LINE: message" (the line of the key that names the file), or
 * with the flag that set it, and all of them are reported, not just the
 * first. Messages name the file, what was expected and the OS error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../lib/log.h"
#include "../store/seal.h"
#include "trusteed.h"

struct preflight {
	const struct config *cfg;
	int missing_ok;		/* --dev creates what is missing */
	int nerr;
};

static void pf_problem(struct preflight *pf, const char *section,
    const char *key, const char *fallback, const char *fmt, ...)
    ATTR_PRINTF(5, 6);

static void
pf_problem(struct preflight *pf, const char *section, const char *key,
    const char *fallback, const char *fmt, ...)
{
	char where[512], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", config_where(pf->cfg, section, key,
	    fallback, where, sizeof(where)), msg);
	pf->nerr++;
}

/* The last OpenSSL error as text, without the "error:0A...:" codes. */
static const char *
pf_ossl_reason(void)
{
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unrecognised content";
}

/* Open a file for reading; NULL after a problem naming it and errno. */
static FILE *
pf_open(struct preflight *pf, const char *section, const char *key,
    const char *fallback, const char *what, const char *path)
{
	struct stat sb;
	FILE *f;

	if (stat(path, &sb) != 0) {
		if (errno != ENOENT || !pf->missing_ok)
			pf_problem(pf, section, key, fallback, "%s.%s: %s %s: "
			    "%s", section, key, what, path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		pf_problem(pf, section, key, fallback, "%s.%s: %s %s: not a "
		    "regular file", section, key, what, path);
		return NULL;
	}
	f = fopen(path, "r");
	if (f == NULL)
		pf_problem(pf, section, key, fallback, "%s.%s: %s %s: %s",
		    section, key, what, path, strerror(errno));
	return f;
}

static void
pf_tls(struct preflight *pf, const char *fallback)
{
	const struct config *cfg = pf->cfg;
	struct error err;
	X509 *crt = NULL;
	EVP_PKEY *key = NULL;
	FILE *f;

	if (cfg->insecure_http)
		return;
	if (cfg->tls_cert != NULL && (f = pf_open(pf, "http_server",
	    "certificate", fallback, "the TLS certificate", cfg->tls_cert)) !=
	    NULL) {
		crt = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (crt == NULL)
			pf_problem(pf, "http_server", "certificate", fallback,
			    "http_server.certificate: %s: expected a PEM "
			    "certificate (chain) starting with \"-----BEGIN "
			    "CERTIFICATE-----\": %s", cfg->tls_cert,
			    pf_ossl_reason());
	}
	if (cfg->tls_key != NULL && (f = pf_open(pf, "http_server",
	    "private_key", fallback, "the TLS private key", cfg->tls_key)) !=
	    NULL) {
		if (file_check_secret(cfg->tls_key, &err) != 0)
			pf_problem(pf, "http_server", "private_key", fallback,
			    "http_server.private_key: %s", err.msg);
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (key == NULL)
			pf_problem(pf, "http_server", "private_key", fallback,
			    "http_server.private_key: %s: expected an "
			    "unencrypted PEM private key: %s", cfg->tls_key,
			    pf_ossl_reason());
	}
	if (crt != NULL && key != NULL && X509_check_private_key(crt, key) !=
	    1) {
		ERR_clear_error();
		pf_problem(pf, "http_server", "private_key", fallback,
		    "http_server.private_key: %s is not the key of the "
		    "certificate %s", cfg->tls_key, cfg->tls_cert);
	}
	X509_free(crt);
	EVP_PKEY_free(key);
}

static void
pf_pubkey(struct preflight *pf, const char *section, const char *key,
    const char *fallback, const char *path)
{
	EVP_PKEY *pk;
	FILE *f = pf_open(pf, section, key, fallback, "public key", path);

	if (f == NULL)
		return;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL)
		pf_problem(pf, section, key, fallback, "%s.%s: %s: expected a "
		    "PEM public key (\"-----BEGIN PUBLIC KEY-----\"): %s",
		    section, key, path, pf_ossl_reason());
	EVP_PKEY_free(pk);
}

static void
pf_jwks(struct preflight *pf, const char *path, const char *fallback)
{
	json_error_t je;
	json_t *j;
	FILE *f = pf_open(pf, "admin", "authentication", fallback,
	    "JWK set", path);

	if (f == NULL)
		return;
	j = json_loadf(f, 0, &je);
	fclose(f);
	if (!json_is_array(json_object_get(j, "keys")))
		pf_problem(pf, "admin", "authentication", fallback, "admin: "
		    "%s: expected a JWK set ({\"keys\": [...]}): %s", path,
		    j == NULL ? je.text : "no \"keys\" array");
	json_decref(j);
}

static void
pf_admin(struct preflight *pf, const char *fallback)
{
	const struct config *cfg = pf->cfg;
	int i;

	for (i = 0; i < cfg->nadmin_keys; i++)
		pf_pubkey(pf, "admin", "public_keys", fallback,
		    cfg->admin_keys[i]);
	for (i = 0; i < cfg->nadmin_idps; i++) {
		if (cfg->admin_idps[i].public_key != NULL)
			pf_pubkey(pf, "admin", "authentication", fallback,
			    cfg->admin_idps[i].public_key);
		if (cfg->admin_idps[i].jwk_set != NULL)
			pf_jwks(pf, cfg->admin_idps[i].jwk_set, fallback);
	}
}

/* A path the verifiers read: it must exist. */
static void
pf_exists(struct preflight *pf, const char *key, const char *path,
    const char *fallback)
{
	if (path != NULL && access(path, R_OK) != 0)
		pf_problem(pf, "verifier", key, fallback, "verifier.%s: %s: %s",
		    key, path, strerror(errno));
}

/* Which key a store/sealer message is about, for its line. */
static void
pf_store_key(const char *msg, const char **section, const char **key)
{
	static const char *const sealer_keys[] = { "key_file", "tcti",
	    "pcrs", "passphrase_file", "passphrase_fd",
	    "passphrase_credential" };
	char want[64];
	size_t i;

	*section = "store";
	*key = strstr(msg, "password_file") != NULL ? "password_file" : "dsn";
	for (i = 0; i < ARRAY_SIZE(sealer_keys); i++) {
		snprintf(want, sizeof(want), "[sealer] %s", sealer_keys[i]);
		if (strstr(msg, want) != NULL) {
			*section = "sealer";
			*key = sealer_keys[i];
			return;
		}
	}
	if (strstr(msg, "[sealer]") != NULL) {
		*section = "sealer";
		*key = strstr(msg, "device") != NULL ? "device" : "kind";
	}
}

int
preflight_run(const struct config *cfg, const struct store_options *so,
    const char *store_flag, int files_too)
{
	struct preflight pf = { cfg, files_too == PREFLIGHT_EXISTING, 0 };
	const char *fallback = cfg->dev ? "--dev" : NULL, *sec, *key;
	struct error err;
	struct stat sb;

	if (store_options_check(so, &err) != 0) {
		pf_store_key(err.msg, &sec, &key);
		pf_problem(&pf, sec, key, strcmp(sec, "store") == 0 &&
		    store_flag != NULL ? store_flag : fallback, "%s", err.msg);
	}
	if (stat(cfg->state_dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
		pf_problem(&pf, "storage", "state_dir", cfg->dev ?
		    "--state-dir" : NULL, "storage.state_dir: %s is not a "
		    "directory", cfg->state_dir);
	if (!files_too)
		return pf.nerr;
	pf_tls(&pf, fallback);
	pf_admin(&pf, fallback);
	pf_exists(&pf, "snp_cert_cache", cfg->snp_cert_cache,
	    "--snp-cert-cache");
	pf_exists(&pf, "dcap_collateral", cfg->dcap_collateral,
	    "--dcap-collateral");
	return pf.nerr;
}
