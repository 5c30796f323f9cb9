/*
 * store_dsn.c: where the store lives, as one string (store.h):
 *   sqlite:PATH                       (also sqlite:///ABSOLUTE/PATH)
 *   mariadb://USER@HOST[:PORT]/DATABASE
 *   mariadb://USER@localhost/DATABASE?socket=PATH
 * HOST is a name, an IPv4 address or [IPv6]. USER and DATABASE are
 * [A-Za-z0-9_$-]{1,64} (no %-escapes: nothing an operator needs). A
 * password in the DSN ("USER:PASS@") is refused: passwords come from
 * [store] password_file (one line, mode 0600 or stricter) or the systemd
 * credential "trustee-db-password", and live in sodium memory. The
 * redacted form (for logs, errors, /api/v1/health) is the DSN itself,
 * which by these rules never holds a secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "backend.h"
#include "store.h"

#define DSN_PART_MAX		64
#define DSN_PASSWORD_MAX	4096
#define DSN_CREDENTIAL		"trustee-db-password"

/* store_dsn with the storage it points into. */
struct dsn_owned {
	struct store_dsn pub;		/* first: store_dsn_free casts back */
	char *scheme, *path, *user, *host, *database, *socket, *redacted;
	char *password;			/* sodium_malloc'd */
	size_t password_cap;
};

void
store_dsn_redact(const char *text, char *out, size_t cap)
{
	const char *at, *colon, *scheme_end;
	size_t n;

	if (text == NULL) {
		snprintf(out, cap, "(none)");
		return;
	}
	/* Drop anything between "://user" and "@" that looks like a
	 * password, so a refused DSN can still be named. */
	scheme_end = strstr(text, "://");
	at = scheme_end != NULL ? strchr(scheme_end + 3, '@') : NULL;
	colon = scheme_end != NULL ? strchr(scheme_end + 3, ':') : NULL;
	if (at != NULL && colon != NULL && colon < at) {
		n = (size_t)(colon - text);
		snprintf(out, cap, "%.*s:***%s", (int)n, text, at);
		return;
	}
	snprintf(out, cap, "%s", text);
}

static int
dsn_part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > DSN_PART_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '$' || s[i] == '-'))
			return 0;
	return 1;
}

static int
dsn_host_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 253)
		return 0;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' && strspn(s + 1,
		    "0123456789abcdefABCDEF:.") >= n - 2;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* Read the password (one line) from a 0600 file into sodium memory. */
static int
dsn_password_file(struct dsn_owned *d, const char *path, struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (file_check_secret(path, err) != 0)
		return -1;
	if (file_read_all(path, DSN_PASSWORD_MAX, &data, &len, err) != 0)
		return error_prefix(err, "[store] password_file");
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (len == 0 || memchr(data, '\n', len) != NULL ||
	    memchr(data, '\0', len) != NULL) {
		secret_free(data, len + 1);
		return error_set(err, "%s: expected the database password on "
		    "one line", path);
	}
	d->password_cap = len + 1;
	d->password = sodium_malloc(d->password_cap);
	if (d->password == NULL) {
		secret_free(data, len + 1);
		return error_set(err, "cannot allocate secure memory");
	}
	memcpy(d->password, data, len);
	d->password[len] = '\0';
	secret_free(data, len + 1);
	return 0;
}

static int
dsn_parse_mariadb(struct dsn_owned *d, const char *text, struct error *err)
{
	const char *p = text + strlen("mariadb://"), *at, *slash, *q, *hend;
	const char *colon, *port = NULL;
	char *end;
	long v;

	at = strchr(p, '@');
	slash = at != NULL ? strchr(at, '/') : NULL;
	if (at == NULL || slash == NULL)
		return error_set(err, "expected mariadb://USER@HOST[:PORT]/"
		    "DATABASE");
	colon = memchr(p, ':', (size_t)(at - p));
	if (colon != NULL)
		return error_set(err, "a password does not belong in the DSN; "
		    "put it in [store] password_file (mode 0600) or the "
		    "systemd credential " DSN_CREDENTIAL);
	if (!dsn_part_ok(p, (size_t)(at - p)))
		return error_set(err, "the user name must be 1..%d of "
		    "[A-Za-z0-9_$-]", DSN_PART_MAX);
	d->user = xstrndup(p, (size_t)(at - p));
	p = at + 1;
	hend = slash;
	if (p[0] == '[') {
		const char *rb = memchr(p, ']', (size_t)(slash - p));

		if (rb == NULL)
			return error_set(err, "an IPv6 host needs [brackets]");
		if (rb + 1 < slash) {
			if (rb[1] != ':')
				return error_set(err, "junk after the IPv6 "
				    "host");
			port = rb + 2;
		}
		hend = rb + 1;
	} else if ((colon = memchr(p, ':', (size_t)(slash - p))) != NULL) {
		hend = colon;
		port = colon + 1;
	}
	if (!dsn_host_ok(p, (size_t)(hend - p)))
		return error_set(err, "the host must be a name, an IPv4 "
		    "address or [IPv6]");
	d->host = xstrndup(p, (size_t)(hend - p));
	if (port != NULL) {
		errno = 0;
		v = strtol(port, &end, 10);
		if (port == slash || end != slash || errno != 0 || v < 1 ||
		    v > 65535)
			return error_set(err, "the port must be 1..65535");
		d->pub.port = (unsigned)v;
	}
	p = slash + 1;
	q = strchr(p, '?');
	if (!dsn_part_ok(p, q != NULL ? (size_t)(q - p) : strlen(p)))
		return error_set(err, "the database name must be 1..%d of "
		    "[A-Za-z0-9_$-]", DSN_PART_MAX);
	d->database = q != NULL ? xstrndup(p, (size_t)(q - p)) : xstrdup(p);
	if (q != NULL) {
		if (strncmp(q, "?socket=", 8) != 0 || q[8] != '/' ||
		    strchr(q + 8, '&') != NULL)
			return error_set(err, "the only parameter is "
			    "?socket=/ABSOLUTE/PATH");
		if (strcmp(d->host, "localhost") != 0)
			return error_set(err, "?socket= goes with host "
			    "localhost");
		if (port != NULL)
			return error_set(err, "?socket= and a port exclude "
			    "each other");
		d->socket = xstrdup(q + 8);
	}
	return 0;
}

int
store_dsn_parse(const char *text, const char *password_file, int timeout_ms,
    struct store_dsn **out, struct error *err)
{
	struct dsn_owned *d;
	char red[256], *cred;
	const char *dir;
	int rc = -1;

	*out = NULL;
	store_dsn_redact(text, red, sizeof(red));
	if (text == NULL || text[0] == '\0')
		return error_set(err, "store: empty DSN");
	d = xcalloc(1, sizeof(*d));
	if (strncmp(text, "sqlite:", 7) == 0) {
		const char *p = text + 7;

		if (strncmp(p, "//", 2) == 0)
			p += 2;
		if (p[0] == '\0') {
			error_set(err, "expected sqlite:PATH");
			goto out;
		}
		if (password_file != NULL) {
			error_set(err, "[store] password_file is used only "
			    "with mariadb:// DSNs");
			goto out;
		}
		d->scheme = xstrdup("sqlite");
		d->path = xstrdup(p);
	} else if (strncmp(text, "mariadb://", 10) == 0) {
		d->scheme = xstrdup("mariadb");
		if (dsn_parse_mariadb(d, text, err) != 0)
			goto out;
		if (password_file != NULL) {
			if (dsn_password_file(d, password_file, err) != 0)
				goto out;
		} else if ((dir = getenv("CREDENTIALS_DIRECTORY")) != NULL &&
		    dir[0] != '\0') {
			cred = xasprintf("%s/" DSN_CREDENTIAL, dir);
			if (access(cred, F_OK) == 0 &&
			    dsn_password_file(d, cred, err) != 0) {
				free(cred);
				goto out;
			}
			free(cred);
		}
	} else {
		error_set(err, "unknown scheme (expected sqlite:PATH or "
		    "mariadb://USER@HOST/DATABASE)");
		goto out;
	}
	d->redacted = xstrdup(red);
	d->pub.scheme = d->scheme;
	d->pub.path = d->path;
	d->pub.user = d->user;
	d->pub.host = d->host;
	d->pub.database = d->database;
	d->pub.socket = d->socket;
	d->pub.password = d->password;
	d->pub.timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	d->pub.redacted = d->redacted;
	*out = &d->pub;
	rc = 0;
out:
	if (rc != 0) {
		error_prefix(err, "store: DSN %s", red);
		store_dsn_free(&d->pub);
	}
	return rc;
}

void
store_dsn_free(struct store_dsn *dsn)
{
	struct dsn_owned *d = (struct dsn_owned *)(void *)dsn;

	if (d == NULL)
		return;
	if (d->password != NULL)
		sodium_free(d->password);	/* wipes */
	free(d->scheme);
	free(d->path);
	free(d->user);
	free(d->host);
	free(d->database);
	free(d->socket);
	free(d->redacted);
	free(d);
}

const struct store_backend *
store_dsn_backend(const struct store_dsn *dsn, struct error *err)
{
	if (strcmp(dsn->scheme, "sqlite") == 0)
		return &store_backend_sqlite;
	if (strcmp(dsn->scheme, "mariadb") == 0)
		return &store_backend_mariadb;
	error_set(err, "store: %s: unknown scheme", dsn->redacted);
	return NULL;
}
