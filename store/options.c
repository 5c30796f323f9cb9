/*
 * options.c: store_options_check, what `trusteed -n` verifies about the
 * store and the sealer without connecting, creating or writing anything:
 * every file a start would read exists, is readable and has a safe mode,
 * and the settings parse. A start can still fail later for what only
 * trying shows (a TPM that refuses, a database that is down, a wrong
 * passphrase); those errors name the same things.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "backend.h"
#include "seal.h"
#include "store.h"

/* A secret file a start will read: present, readable, 0600/0400. */
static int
options_secret_file(const char *what, const char *path, size_t want_len,
    struct error *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return error_set(err, "%s %s: %s", what, path,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return error_set(err, "%s %s: not a regular file", what, path);
	if (access(path, R_OK) != 0)
		return error_set(err, "%s %s: %s", what, path,
		    strerror(errno));
	if (file_check_secret(path, err) != 0)
		return error_prefix(err, "%s", what);
	if (want_len != 0 && (size_t)sb.st_size != want_len)
		return error_set(err, "%s %s: expected %zu bytes, found %lld",
		    what, path, want_len, (long long)sb.st_size);
	return 0;
}

static int
options_device(const char *what, const char *path, struct error *err)
{
	if (access(path, R_OK | W_OK) != 0)
		return error_set(err, "%s %s: %s", what, path,
		    strerror(errno));
	return 0;
}

/* "sha256:0,1,7" */
static int
options_pcrs(const char *s, struct error *err)
{
	static const char *const banks[] = { "sha1", "sha256", "sha384",
	    "sha512" };
	const char *colon = strchr(s, ':'), *p;
	char *end;
	size_t i;
	long v;
	int ok = 0;

	if (colon == NULL)
		return error_set(err, "[sealer] pcrs \"%s\": expected BANK:"
		    "N[,N...] such as \"sha256:0,7\"", s);
	for (i = 0; i < ARRAY_SIZE(banks); i++)
		if (strlen(banks[i]) == (size_t)(colon - s) &&
		    strncmp(s, banks[i], (size_t)(colon - s)) == 0)
			ok = 1;
	if (!ok)
		return error_set(err, "[sealer] pcrs \"%s\": the bank is one of "
		    "sha1, sha256, sha384, sha512", s);
	for (p = colon + 1;;) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 0 || v > 23 || *p == '-' ||
		    *p == '+' || *p == ' ')
			return error_set(err, "[sealer] pcrs \"%s\": PCR "
			    "numbers are 0..23", s);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return error_set(err, "[sealer] pcrs \"%s\": expected "
			    "comma-separated PCR numbers", s);
		p = end + 1;
	}
}

static int
options_seal(const struct seal_config *c, struct error *err)
{
	const char *dir, *dev;
	char *path;
	int rc;

	if (c == NULL || c->kind == NULL)
		return error_set(err, "no [sealer] kind");
	if (seal_lookup(c->kind, err) == NULL &&
	    strcmp(c->kind, "tpm2") != 0 && strcmp(c->kind, "snp") != 0 &&
	    strcmp(c->kind, "passphrase") != 0)
		return error_prefix(err, "[sealer] kind");
	if (strcmp(c->kind, "file") == 0) {
		if (c->key_file == NULL)
			return error_set(err, "[sealer] kind \"file\" needs "
			    "key_file");
		if (access(c->key_file, F_OK) != 0 && errno == ENOENT &&
		    c->create)
			return 0;	/* --dev creates it */
		return options_secret_file("[sealer] key_file", c->key_file,
		    32, err);
	}
	if (strcmp(c->kind, "passphrase") == 0) {
		if (c->passphrase_fd >= 0) {
			if (fcntl(c->passphrase_fd, F_GETFD) == -1)
				return error_set(err, "[sealer] passphrase_fd "
				    "%d: %s", c->passphrase_fd,
				    strerror(errno));
			return 0;
		}
		if (c->passphrase_file != NULL)
			return options_secret_file("[sealer] passphrase_file",
			    c->passphrase_file, 0, err);
		if (c->passphrase_credential != NULL) {
			/* Outside systemd (`trusteed -n` from a shell) there
			 * is no credential to look at: unsealing says so
			 * clearly if a start really lacks it. */
			dir = getenv("CREDENTIALS_DIRECTORY");
			if (dir == NULL || dir[0] == '\0')
				return 0;
			path = xasprintf("%s/%s", dir,
			    c->passphrase_credential);
			rc = access(path, R_OK) == 0 ? 0 : error_set(err,
			    "[sealer] passphrase_credential %s: %s", path,
			    strerror(errno));
			free(path);
			return rc;
		}
		return error_set(err, "[sealer] kind \"passphrase\" needs "
		    "passphrase_file, passphrase_fd or passphrase_credential");
	}
	if (strcmp(c->kind, "tpm2") == 0) {
		if (c->tpm2_pcrs != NULL && options_pcrs(c->tpm2_pcrs, err) !=
		    0)
			return -1;
		dev = c->tpm2_tcti == NULL ? "/dev/tpmrm0" :
		    strncmp(c->tpm2_tcti, "device:", 7) == 0 ?
		    c->tpm2_tcti + 7 : NULL;
		if (c->tpm2_tcti != NULL && dev == NULL &&
		    strncmp(c->tpm2_tcti, "swtpm:", 6) != 0 &&
		    strncmp(c->tpm2_tcti, "mssim:", 6) != 0 &&
		    strncmp(c->tpm2_tcti, "tabrmd", 6) != 0)
			return error_set(err, "[sealer] tcti \"%s\": expected "
			    "device:PATH, swtpm:..., mssim:... or tabrmd",
			    c->tpm2_tcti);
		return dev != NULL ? options_device("[sealer] TPM device",
		    dev, err) : 0;
	}
	if (strcmp(c->kind, "snp") == 0)
		return options_device("[sealer] SEV-SNP guest device",
		    c->snp_device != NULL ? c->snp_device : "/dev/sev-guest",
		    err);
	return 0;
}

int
store_options_check(const struct store_options *o, struct error *err)
{
	struct store_dsn *dsn = NULL;
	char *text = NULL, *dir;
	struct stat sb;
	int rc = -1;

	if (options_seal(o->seal, err) != 0)
		return -1;
	if (o->dsn == NULL && o->state_dir == NULL)
		return error_set(err, "store: neither a DSN nor a state "
		    "directory");
	if (o->dsn == NULL)
		text = xasprintf("sqlite:%s/trustee.db", o->state_dir);
	if (store_dsn_parse(o->dsn != NULL ? o->dsn : text, o->password_file,
	    o->timeout_ms, &dsn, err) != 0)
		goto out;
	if (store_dsn_backend(dsn, err) == NULL)
		goto out;
	if (strcmp(dsn->scheme, "sqlite") == 0) {
		if (stat(dsn->path, &sb) == 0) {
			if (file_check_secret(dsn->path, err) != 0)
				goto out;
		} else if (errno != ENOENT) {
			error_set(err, "store: %s: %s", dsn->path,
			    strerror(errno));
			goto out;
		} else {
			dir = xstrdup(dsn->path);
			if (strrchr(dir, '/') != NULL)
				*strrchr(dir, '/') = '\0';
			else
				strcpy(dir, ".");
			/* The state directory itself is created at start. */
			if (stat(dir[0] != '\0' ? dir : "/", &sb) != 0 &&
			    (o->state_dir == NULL ||
			    strcmp(dir, o->state_dir) != 0)) {
				error_set(err, "store: %s: directory %s: %s",
				    dsn->path, dir, strerror(errno));
				free(dir);
				goto out;
			}
			free(dir);
		}
	}
	rc = 0;
out:
	store_dsn_free(dsn);
	free(text);
	return rc;
}
