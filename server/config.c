/*
 * config.c: trusteed's configuration file. The file is TOML; every
 * section and key is described by one row of key_table, whose handler
 * checks the type and range and stores the value. Problems are collected
 * (all of them, each with the line of the key at fault), sorted by line
 * and printed as "path:line: message"; the caller refuses to start when
 * config_load returns non-zero.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/log.h"
#include "../lib/toml.h"
#include "../store/seal.h"
#include "trusteed.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define DEFAULT_LISTEN		"127.0.0.1:8080"
#define DEFAULT_MAX_BODY	((size_t)2 * 1024 * 1024)
#define DEFAULT_LIFETIME	300
#define MAX_DEFAULT_WORKERS	16
#define CONFIG_MAX_FILE		((size_t)1024 * 1024)

struct problem {
	int line;
	size_t seq;		/* keeps report order stable within a line */
	char *msg;
};

struct loader {
	const char *path;	/* as given, for messages */
	char *dir;		/* the file's directory, for relative paths */
	json_t *lines;		/* line numbers, shaped like the doc */
	struct problem *probs;
	size_t nprobs;
	int body_line;		/* line of the first body-size key */
};

struct key_def;
typedef void (*key_fn)(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);

struct key_def {
	const char *section;
	const char *key;
	key_fn fn;
	size_t off;			/* field in struct config */
	long long min, max;		/* integers */
	const char *const *choices;	/* NULL-terminated allowed strings */
};

static void problem(struct loader *ld, int line, const char *fmt, ...)
    ATTR_PRINTF(3, 4);

static void
problem(struct loader *ld, int line, const char *fmt, ...)
{
	struct problem *p;
	va_list ap;
	int n;

	ld->probs = xrealloc(ld->probs, (ld->nprobs + 1) * sizeof(*p));
	p = &ld->probs[ld->nprobs];
	p->line = line;
	p->seq = ld->nprobs++;
	va_start(ap, fmt);
	n = vasprintf(&p->msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, "config: out of memory\n");
		abort();
	}
}

static int
problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The smallest line number recorded under a lines node, 0 if none. */
static int
first_line(const json_t *n)
{
	const char *k;
	json_t *v;
	size_t i;
	int best = 0, l;

	if (json_is_integer(n))
		return (int)json_integer_value(n);
	if (json_is_object(n)) {
		json_object_foreach((json_t *)n, k, v) {
			l = first_line(v);
			if (l > 0 && (best == 0 || l < best))
				best = l;
		}
	} else if (json_is_array(n)) {
		json_array_foreach(n, i, v) {
			l = first_line(v);
			if (l > 0 && (best == 0 || l < best))
				best = l;
		}
	}
	return best;
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "a table";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a float";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static void
wrong_type(struct loader *ld, const struct key_def *def, const json_t *v,
    int line, const char *want)
{
	problem(ld, line, "%s.%s: expected %s, got %s", def->section, def->key,
	    want, type_name(v));
}

/* Relative paths are taken from the config file's directory. */
static char *
resolve(const struct loader *ld, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	if (ld->dir[0] != '\0' && ld->dir[strlen(ld->dir) - 1] == '/')
		return xasprintf("%s%s", ld->dir, p);
	return xasprintf("%s/%s", ld->dir, p);
}

static char **
field_str(struct config *cfg, const struct key_def *def)
{
	return (char **)(void *)((char *)cfg + def->off);
}

static int *
field_int(struct config *cfg, const struct key_def *def)
{
	return (int *)(void *)((char *)cfg + def->off);
}

/* A string that is one of def->choices; returns its index or -1. */
static int
get_choice(struct loader *ld, const struct key_def *def, json_t *v, int line)
{
	struct buf list = { 0 };
	const char *s;
	char esc[128];
	int i;

	if (!json_is_string(v)) {
		wrong_type(ld, def, v, line, "a string");
		return -1;
	}
	s = json_string_value(v);
	for (i = 0; def->choices[i] != NULL; i++)
		if (strcmp(s, def->choices[i]) == 0)
			return i;
	for (i = 0; def->choices[i] != NULL; i++)
		buf_printf(&list, "%s\"%s\"", i ? ", " : "", def->choices[i]);
	problem(ld, line, "%s.%s: \"%s\" is not one of %s", def->section,
	    def->key, log_escape(s, esc, sizeof(esc)), buf_cstr(&list));
	buf_free(&list);
	return -1;
}

/* A non-empty string; NULL (problem recorded) otherwise. */
static const char *
get_string(struct loader *ld, const struct key_def *def, json_t *v, int line)
{
	if (!json_is_string(v)) {
		wrong_type(ld, def, v, line, "a string");
		return NULL;
	}
	if (json_string_length(v) == 0) {
		problem(ld, line, "%s.%s: must not be empty", def->section,
		    def->key);
		return NULL;
	}
	return json_string_value(v);
}

static int
get_int(struct loader *ld, const struct key_def *def, json_t *v, int line,
    long long *out)
{
	long long n;

	if (!json_is_integer(v)) {
		wrong_type(ld, def, v, line, "an integer");
		return -1;
	}
	n = (long long)json_integer_value(v);
	if (n < def->min || n > def->max) {
		problem(ld, line, "%s.%s: %lld is out of range %lld..%lld",
		    def->section, def->key, n, def->min, def->max);
		return -1;
	}
	*out = n;
	return 0;
}

/* ------------------------------------------------------------ handlers */

static void
set_string(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	char **f = field_str(cfg, def);
	const char *s;
	int i;

	if (def->choices != NULL) {
		if ((i = get_choice(ld, def, v, line)) == -1)
			return;
		s = def->choices[i];
	} else if ((s = get_string(ld, def, v, line)) == NULL)
		return;
	free(*f);
	*f = xstrdup(s);
}

static void
set_path(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	char **f = field_str(cfg, def);
	const char *s;

	if ((s = get_string(ld, def, v, line)) == NULL)
		return;
	free(*f);
	*f = resolve(ld, s);
}

static void
set_bool(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	if (!json_is_boolean(v)) {
		wrong_type(ld, def, v, line, "a boolean (true or false)");
		return;
	}
	*field_int(cfg, def) = json_is_true(v);
}

static void
set_int(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	long long n;

	if (get_int(ld, def, v, line, &n) == 0)
		*field_int(cfg, def) = (int)n;
}

/* payload_request_size (MiB) and max_body_bytes set the same limit. */
static void
set_body(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	long long n;

	if (ld->body_line != 0) {
		problem(ld, line, "http_server: payload_request_size and "
		    "max_body_bytes both set (line %d); use one",
		    ld->body_line);
		return;
	}
	ld->body_line = line;
	if (get_int(ld, def, v, line, &n) == -1)
		return;
	cfg->max_body = (size_t)n *
	    (strcmp(def->key, "payload_request_size") == 0 ? 1024 * 1024 : 1);
}

/* "IPv4:port" or "[IPv6]:port", port 0..65535. */
static int
listen_valid(const char *s, char *why, size_t cap)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *port, *end;
	size_t hlen;
	int family;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':') {
			snprintf(why, cap, "expected [IPv6]:port");
			return -1;
		}
		s++;
		hlen = (size_t)(end - s);
		port = end + 2;
		family = AF_INET6;
	} else {
		end = strrchr(s, ':');
		if (end == NULL) {
			snprintf(why, cap, "missing :port");
			return -1;
		}
		hlen = (size_t)(end - s);
		port = end + 1;
		family = AF_INET;
	}
	if (hlen >= sizeof(host)) {
		snprintf(why, cap, "not an IP address");
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(family, host, addr) != 1) {
		snprintf(why, cap, family == AF_INET ? "not an IPv4 address "
		    "(IPv6 goes in brackets: [::1]:8080)" :
		    "not an IPv6 address");
		return -1;
	}
	if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || strtol(port, NULL, 10) > 65535) {
		snprintf(why, cap, "port must be a number 0..65535");
		return -1;
	}
	return 0;
}

static void
set_listen(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	char *addrs[CONFIG_MAX_LISTEN], esc[128], why[96];
	size_t i, j, n;
	json_t *item;
	int ok = 1;

	if (!json_is_array(v)) {
		wrong_type(ld, def, v, line, "an array of strings");
		return;
	}
	n = json_array_size(v);
	if (n == 0 || n > CONFIG_MAX_LISTEN) {
		problem(ld, line, "http_server.listen: needs 1 to %d "
		    "addresses, got %zu", CONFIG_MAX_LISTEN, n);
		ok = 0;
	}
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (!json_is_string(item)) {
			problem(ld, line, "http_server.listen[%zu]: expected a "
			    "string, got %s", i, type_name(item));
			ok = 0;
			continue;
		}
		if (listen_valid(s, why, sizeof(why)) == -1) {
			problem(ld, line, "http_server.listen: \"%s\": %s",
			    log_escape(s, esc, sizeof(esc)), why);
			ok = 0;
			continue;
		}
		for (j = 0; j < i; j++)
			if (json_is_string(json_array_get(v, j)) &&
			    strcmp(s, json_string_value(json_array_get(v,
			    j))) == 0) {
				problem(ld, line, "http_server.listen: \"%s\" "
				    "listed twice", log_escape(s, esc,
				    sizeof(esc)));
				ok = 0;
			}
	}
	if (!ok)
		return;
	for (i = 0; i < n; i++)
		addrs[i] = xstrdup(json_string_value(json_array_get(v, i)));
	for (i = 0; i < (size_t)cfg->nlisten; i++)
		free(cfg->listen[i]);
	memset(cfg->listen, 0, sizeof(cfg->listen));
	memcpy(cfg->listen, addrs, n * sizeof(addrs[0]));
	cfg->nlisten = (int)n;
}

static void
set_admin_keys(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	size_t i, n;
	json_t *item;

	if (!json_is_array(v)) {
		wrong_type(ld, def, v, line, "an array of strings");
		return;
	}
	n = json_array_size(v);
	if (n > CONFIG_MAX_ADMIN_KEYS) {
		problem(ld, line, "admin.public_keys: at most %d keys, got %zu",
		    CONFIG_MAX_ADMIN_KEYS, n);
		return;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || json_string_length(item) == 0) {
			problem(ld, line, "admin.public_keys[%zu]: expected a "
			    "file name, got %s", i, json_is_string(item) ?
			    "an empty string" : type_name(item));
			return;
		}
	}
	for (i = 0; i < (size_t)cfg->nadmin_keys; i++)
		free(cfg->admin_keys[i]);
	memset(cfg->admin_keys, 0, sizeof(cfg->admin_keys));
	for (i = 0; i < n; i++)
		cfg->admin_keys[i] = resolve(ld,
		    json_string_value(json_array_get(v, i)));
	cfg->nadmin_keys = (int)n;
}

static const char *const admin_modes[] = {
	"bearer_jwt", "deny_all", "insecure_allow_all", NULL
};

static void
set_admin_mode(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	static const enum admin_mode modes[] = {
		ADMIN_BEARER_JWT, ADMIN_DENY_ALL, ADMIN_INSECURE_ALLOW_ALL
	};
	int i = get_choice(ld, def, v, line);

	if (i >= 0)
		cfg->admin_mode = modes[i];
}

/*
 * The Trustee form of [admin] (reference kbs-server.md §6):
 *   authorization_mode = "InsecureAllowAll" | "DenyAll" |
 *                        "AuthenticatedAuthorization"
 *   [admin.authentication.bearer_jwt] identity_providers = [{...}]
 *   [admin.authorization.regex_acl] acls = [{role, allowed_endpoints}]
 * Cross-key rules (one form only, what each mode needs) are checked in
 * check_admin once everything is read.
 */
static const char *const admin_authz_modes[] = {
	"InsecureAllowAll", "DenyAll", "AuthenticatedAuthorization", NULL
};

static void
set_admin_authz_mode(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	static const enum admin_mode modes[] = {
		ADMIN_INSECURE_ALLOW_ALL, ADMIN_DENY_ALL, ADMIN_AUTHENTICATED
	};
	int i = get_choice(ld, def, v, line);

	if (i >= 0) {
		cfg->admin_mode = modes[i];
		cfg->admin_trustee_form = 1;
	}
}

static void
set_admin_legacy(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	(void)cfg;
	(void)v;
	problem(ld, line, "admin.%s: the legacy Trustee form is not supported; "
	    "use authorization_mode = \"AuthenticatedAuthorization\" (or "
	    "mode = \"bearer_jwt\" with public_keys)", def->key);
}

/* The line of lines-node n's member key (0 when unknown). */
static int
admin_line(const json_t *n, const char *key, int fallback)
{
	int l = first_line(json_object_get(n, key));

	return l > 0 ? l : fallback;
}

/* Check that table t has only the listed keys. */
static int
admin_only_keys(struct loader *ld, const char *where, json_t *t,
    const json_t *lt, int line, const char *const *keys)
{
	const char *k;
	json_t *v;
	char esc[128];
	int i, bad = 0;

	json_object_foreach(t, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			problem(ld, admin_line(lt, k, line), "%s: unknown key "
			    "'%s'%s", where, log_escape(k, esc, sizeof(esc)),
			    strcmp(k, "type") == 0 ? " (the legacy Trustee "
			    "form is not supported)" : "");
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Optional non-empty string member; -1 (problem recorded) if mistyped. */
static int
admin_opt_string(struct loader *ld, const char *where, json_t *t,
    const json_t *lt, int line, const char *key, const char **out)
{
	json_t *v = json_object_get(t, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		problem(ld, admin_line(lt, key, line), "%s.%s: expected a "
		    "non-empty string, got %s", where, key, json_is_string(v) ?
		    "an empty string" : type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* A key location: plain path (relative to the config file) or file://;
 * https:// is refused (keys are loaded offline, once, at start). */
static char *
admin_key_uri(struct loader *ld, const char *where, const char *uri,
    int line)
{
	if (strncmp(uri, "file://", 7) == 0) {
		if (uri[7] != '/') {
			problem(ld, line, "%s: \"%s\": a file:// URI needs an "
			    "absolute path (file:///...)", where, uri);
			return NULL;
		}
		return xstrdup(uri + 7);
	}
	if (strncmp(uri, "https://", 8) == 0 || strncmp(uri, "http://", 7) ==
	    0) {
		problem(ld, line, "%s: \"%s\": fetching keys over the network "
		    "is not supported offline; copy the key to a file and name "
		    "its path (or file:// URI)", where, uri);
		return NULL;
	}
	if (strstr(uri, "://") != NULL) {
		problem(ld, line, "%s: \"%s\": unsupported URI scheme (use a "
		    "path or file://)", where, uri);
		return NULL;
	}
	return resolve(ld, uri);
}

/* The line of element i of an array whose line record is la, else
 * fallback (the TOML reader records one line record per element). */
static int
admin_elem_line(const json_t *la, size_t i, int fallback)
{
	int l = first_line(json_array_get(la, i));

	return l > 0 ? l : fallback;
}

static void
admin_idp(struct loader *ld, struct config *cfg, json_t *t, const json_t *lt,
    int line, size_t idx)
{
	static const char *const keys[] = { "issuer", "audience",
	    "public_key_uri", "jwk_set_uri", NULL };
	struct config_admin_idp *p;
	const char *iss, *aud, *pk, *jwks;
	char where[96];
	int bad = 0;

	snprintf(where, sizeof(where), "admin.authentication.bearer_jwt."
	    "identity_providers[%zu]", idx);
	if (!json_is_object(t)) {
		problem(ld, line, "%s: expected a table ({ public_key_uri = "
		    "... }), got %s", where, type_name(t));
		return;
	}
	line = first_line(lt) > 0 ? first_line(lt) : line;
	bad |= admin_only_keys(ld, where, t, lt, line, keys);
	bad |= admin_opt_string(ld, where, t, lt, line, "issuer", &iss);
	bad |= admin_opt_string(ld, where, t, lt, line, "audience", &aud);
	bad |= admin_opt_string(ld, where, t, lt, line, "public_key_uri", &pk);
	bad |= admin_opt_string(ld, where, t, lt, line, "jwk_set_uri", &jwks);
	if (bad)
		return;
	if (pk == NULL && jwks == NULL) {
		problem(ld, line, "%s: needs public_key_uri and/or jwk_set_uri",
		    where);
		return;
	}
	if (cfg->nadmin_idps == CONFIG_MAX_ADMIN_IDPS) {
		problem(ld, line, "%s: at most %d identity providers", where,
		    CONFIG_MAX_ADMIN_IDPS);
		return;
	}
	p = &cfg->admin_idps[cfg->nadmin_idps];
	memset(p, 0, sizeof(*p));
	if (pk != NULL && (p->public_key = admin_key_uri(ld, where, pk,
	    admin_line(lt, "public_key_uri", line))) == NULL)
		return;
	if (jwks != NULL && (p->jwk_set = admin_key_uri(ld, where, jwks,
	    admin_line(lt, "jwk_set_uri", line))) == NULL) {
		free(p->public_key);
		p->public_key = NULL;
		return;
	}
	p->issuer = iss != NULL ? xstrdup(iss) : NULL;
	p->audience = aud != NULL ? xstrdup(aud) : NULL;
	cfg->nadmin_idps++;
}

static void
set_admin_authentication(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	static const char *const top[] = { "bearer_jwt", NULL };
	static const char *const bj[] = { "identity_providers", NULL };
	const json_t *lt = json_object_get(json_object_get(ld->lines, "admin"),
	    "authentication");
	const json_t *lbj, *lidps;
	json_t *b, *idps, *item;
	size_t i;
	int l;

	if (!json_is_object(v)) {
		wrong_type(ld, def, v, line, "a table "
		    "([admin.authentication.bearer_jwt])");
		return;
	}
	if (admin_only_keys(ld, "admin.authentication", v, lt, line, top))
		return;
	b = json_object_get(v, "bearer_jwt");
	lbj = json_object_get(lt, "bearer_jwt");
	if (b == NULL) {
		problem(ld, line, "admin.authentication: needs "
		    "[admin.authentication.bearer_jwt]");
		return;
	}
	l = admin_line(lt, "bearer_jwt", line);
	if (!json_is_object(b)) {
		problem(ld, l, "admin.authentication.bearer_jwt: expected a "
		    "table, got %s", type_name(b));
		return;
	}
	if (admin_only_keys(ld, "admin.authentication.bearer_jwt", b, lbj, l,
	    bj))
		return;
	idps = json_object_get(b, "identity_providers");
	lidps = json_object_get(lbj, "identity_providers");
	if (idps == NULL) {
		problem(ld, l, "admin.authentication.bearer_jwt: "
		    "identity_providers is required");
		return;
	}
	l = admin_line(lbj, "identity_providers", l);
	if (!json_is_array(idps) || json_array_size(idps) == 0) {
		problem(ld, l, "admin.authentication.bearer_jwt."
		    "identity_providers: expected a non-empty array of tables, "
		    "got %s", json_is_array(idps) ? "an empty array" :
		    type_name(idps));
		return;
	}
	json_array_foreach(idps, i, item)
		admin_idp(ld, cfg, item, json_array_get(lidps, i),
		    admin_elem_line(lidps, i, l), i);
}

/* Trustee requires ^/kbs ... $; the dialect here is POSIX ERE. */
static void
admin_acl(struct loader *ld, struct config *cfg, json_t *t, const json_t *lt,
    int line, size_t idx)
{
	static const char *const keys[] = { "role", "allowed_endpoints",
	    NULL };
	struct config_admin_acl *a;
	const char *role, *re;
	char where[80], msg[160];
	regex_t rx;
	size_t n;
	int bad = 0, rc;

	snprintf(where, sizeof(where), "admin.authorization.regex_acl."
	    "acls[%zu]", idx);
	if (!json_is_object(t)) {
		problem(ld, line, "%s: expected a table ({ role = ..., "
		    "allowed_endpoints = ... }), got %s", where, type_name(t));
		return;
	}
	line = first_line(lt) > 0 ? first_line(lt) : line;
	bad |= admin_only_keys(ld, where, t, lt, line, keys);
	bad |= admin_opt_string(ld, where, t, lt, line, "role", &role);
	bad |= admin_opt_string(ld, where, t, lt, line, "allowed_endpoints",
	    &re);
	if (bad)
		return;
	if (role == NULL || re == NULL) {
		problem(ld, line, "%s: needs role and allowed_endpoints", where);
		return;
	}
	line = admin_line(lt, "allowed_endpoints", line);
	n = strlen(re);
	if (strncmp(re, "^/kbs", 5) != 0 || re[n - 1] != '$' ||
	    (n >= 2 && re[n - 2] == '\\')) {
		problem(ld, line, "%s.allowed_endpoints: the regex must be "
		    "anchored: start with ^/kbs and end with $", where);
		return;
	}
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &rx, msg, sizeof(msg));
		problem(ld, line, "%s.allowed_endpoints: not a POSIX extended "
		    "regular expression: %s", where, msg);
		return;
	}
	regfree(&rx);
	if (cfg->nadmin_acls == CONFIG_MAX_ADMIN_ACLS) {
		problem(ld, line, "%s: at most %d ACL entries", where,
		    CONFIG_MAX_ADMIN_ACLS);
		return;
	}
	a = &cfg->admin_acls[cfg->nadmin_acls++];
	a->role = xstrdup(role);
	a->regex = xstrdup(re);
}

static void
set_admin_authorization(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	static const char *const top[] = { "regex_acl", NULL };
	static const char *const ra[] = { "acls", NULL };
	const json_t *lt = json_object_get(json_object_get(ld->lines, "admin"),
	    "authorization");
	const json_t *lra, *lacls;
	json_t *r, *acls, *item;
	size_t i;
	int l;

	if (!json_is_object(v)) {
		wrong_type(ld, def, v, line, "a table "
		    "([admin.authorization.regex_acl])");
		return;
	}
	if (admin_only_keys(ld, "admin.authorization", v, lt, line, top))
		return;
	r = json_object_get(v, "regex_acl");
	lra = json_object_get(lt, "regex_acl");
	if (r == NULL) {
		problem(ld, line, "admin.authorization: needs "
		    "[admin.authorization.regex_acl]");
		return;
	}
	l = admin_line(lt, "regex_acl", line);
	if (!json_is_object(r)) {
		problem(ld, l, "admin.authorization.regex_acl: expected a "
		    "table, got %s", type_name(r));
		return;
	}
	if (admin_only_keys(ld, "admin.authorization.regex_acl", r, lra, l,
	    ra))
		return;
	acls = json_object_get(r, "acls");
	lacls = json_object_get(lra, "acls");
	if (acls == NULL) {
		problem(ld, l, "admin.authorization.regex_acl: acls is "
		    "required (it may be empty)");
		return;
	}
	l = admin_line(lra, "acls", l);
	if (!json_is_array(acls)) {
		problem(ld, l, "admin.authorization.regex_acl.acls: expected an "
		    "array of tables, got %s", type_name(acls));
		return;
	}
	json_array_foreach(acls, i, item)
		admin_acl(ld, cfg, item, json_array_get(lacls, i),
		    admin_elem_line(lacls, i, l), i);
}

/* [admin] rules that span keys. */
static void
check_admin(struct loader *ld, struct config *cfg, json_t *admin)
{
	const json_t *la = json_object_get(ld->lines, "admin");
	int aline = first_line(la);
	json_t *mode = json_object_get(admin, "mode");
	json_t *amode = json_object_get(admin, "authorization_mode");
	json_t *keys = json_object_get(admin, "public_keys");
	json_t *authn = json_object_get(admin, "authentication");
	json_t *authz = json_object_get(admin, "authorization");

	if (amode != NULL) {
		if (mode != NULL)
			problem(ld, admin_line(la, "mode", aline), "admin.mode "
			    "and admin.authorization_mode are two forms of the "
			    "same setting; use one");
		if (keys != NULL)
			problem(ld, admin_line(la, "public_keys", aline),
			    "admin.public_keys belongs to the simple form "
			    "(mode = \"bearer_jwt\"); with authorization_mode "
			    "use [admin.authentication.bearer_jwt] "
			    "identity_providers");
		if (!cfg->admin_trustee_form)
			return;		/* the mode itself was wrong */
		if (cfg->admin_mode == ADMIN_AUTHENTICATED) {
			if (authn == NULL)
				problem(ld, admin_line(la,
				    "authorization_mode", aline),
				    "admin.authorization_mode "
				    "\"AuthenticatedAuthorization\" needs "
				    "[admin.authentication.bearer_jwt]");
			if (authz == NULL)
				problem(ld, admin_line(la,
				    "authorization_mode", aline),
				    "admin.authorization_mode "
				    "\"AuthenticatedAuthorization\" needs "
				    "[admin.authorization.regex_acl]");
			return;
		}
		if (authn != NULL || authz != NULL)
			problem(ld, admin_line(la, authn != NULL ?
			    "authentication" : "authorization", aline),
			    "admin.%s is used only with authorization_mode = "
			    "\"AuthenticatedAuthorization\"", authn != NULL ?
			    "authentication" : "authorization");
		return;
	}
	if (authn != NULL || authz != NULL) {
		problem(ld, admin_line(la, authn != NULL ? "authentication" :
		    "authorization", aline), "admin.%s needs authorization_mode "
		    "= \"AuthenticatedAuthorization\"", authn != NULL ?
		    "authentication" : "authorization");
		return;
	}
	if (cfg->admin_mode == ADMIN_BEARER_JWT && cfg->nadmin_keys == 0 &&
	    (mode == NULL || (json_is_string(mode) &&
	    strcmp(json_string_value(mode), "bearer_jwt") == 0))) {
		if (keys == NULL)
			problem(ld, aline, "admin.public_keys is required when "
			    "admin.mode is \"bearer_jwt\" (the default)");
		else if (json_is_array(keys) && json_array_size(keys) == 0)
			problem(ld, first_line(json_object_get(la,
			    "public_keys")), "admin.public_keys: must not be "
			    "empty when admin.mode is \"bearer_jwt\"");
	}
}

static const char *const resource_policies[] = {
	"default", "allow_all", "deny_all", NULL
};

static void
set_resource_policy(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	static const enum resource_policy_mode modes[] = {
		RPOLICY_DEFAULT, RPOLICY_ALLOW_ALL, RPOLICY_DENY_ALL
	};
	int i = get_choice(ld, def, v, line);

	if (i >= 0)
		cfg->resource_policy = modes[i];
}

/* ------------------------------------------------------------ [limits] */

/*
 * What clients may make the daemon hold and how fast they may ask
 * (README "Limits"); applied by trusteed.c to the HTTP server, the rate
 * limiter and the session quota. trusteed --limit NAME=VALUE sets the
 * same keys through config_limit_set.
 */
static void
limits_defaults(struct config_limits *l)
{
	l->auth_rate = l->attest_rate = l->attestation_rate = 20;
	l->auth_burst = l->attest_burst = l->attestation_burst = 100;
	l->login_rate = 1;
	l->login_burst = 10;
	l->rate_sources = 65536;
	l->max_sessions = 100000;
	l->max_unattested_per_source = 64;
	l->session_memory_mib = 256;
	l->max_init_data = 64 * 1024;
	l->max_token = 1024 * 1024;
	l->max_evidence_body = 1024 * 1024;
	l->max_connections = 4096;
	l->max_connections_per_source = 128;
	l->handshake_timeout_s = 10;
	l->request_timeout_s = 30;
	l->idle_timeout_s = 60;
	l->inflight_memory_mib = 128;
}

/* Requests per second: an integer or a float, 0 (no limit) to 1e6. */
static void
set_rate(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	double r;

	if (!json_is_number(v)) {
		wrong_type(ld, def, v, line, "a number");
		return;
	}
	r = json_number_value(v);
	if (!(r >= 0 && r <= 1e6)) {
		problem(ld, line, "%s.%s: %g is out of range 0..1000000 "
		    "(requests per second; 0 = no limit)", def->section,
		    def->key, r);
		return;
	}
	*(double *)(void *)((char *)cfg + def->off) = r;
}

/* Rules between [limits] keys (and max_body); NULL when consistent. */
static const char *
limits_inconsistent(const struct config *cfg, char *why, size_t cap)
{
	const struct config_limits *l = &cfg->limits;
	size_t inflight = (size_t)l->inflight_memory_mib << 20;

	if (inflight < cfg->max_body || inflight < (size_t)l->max_evidence_body)
		snprintf(why, cap, "limits.inflight_memory_mib (%d MiB) must "
		    "hold one request at the largest body cap "
		    "(http_server max body %zu, limits.max_evidence_body %d)",
		    l->inflight_memory_mib, cfg->max_body,
		    l->max_evidence_body);
	else if (((size_t)l->session_memory_mib << 20) < (size_t)l->max_token)
		snprintf(why, cap, "limits.session_memory_mib (%d MiB) must "
		    "hold at least one token of limits.max_token (%d bytes)",
		    l->session_memory_mib, l->max_token);
	else if (l->max_init_data > l->max_evidence_body)
		snprintf(why, cap, "limits.max_init_data (%d) cannot exceed "
		    "limits.max_evidence_body (%d), which carries it",
		    l->max_init_data, l->max_evidence_body);
	else
		return NULL;
	return why;
}

static void
check_limits(struct loader *ld, struct config *cfg)
{
	char why[256];

	if (limits_inconsistent(cfg, why, sizeof(why)) != NULL)
		problem(ld, first_line(json_object_get(ld->lines, "limits")),
		    "%s", why);
}

static const char *const tls_versions[] = { "1.2", "1.3", NULL };
static const char *const store_types[] = { "sqlite", NULL };
static const char *const sealers[] = { "file", NULL };

/* ------------------------------------------------- [store] and [sealer] */

/* "tdx" is a choice so that it gets its own message (check_sealer). */
static const char *const seal_kinds[] = { "file", "tpm2", "snp",
	"passphrase", "tdx", NULL };

/* Seconds as an integer or a float, stored in milliseconds. */
static void
set_seconds_ms(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	double s;

	if (json_is_integer(v))
		s = (double)json_integer_value(v);
	else if (json_is_real(v))
		s = json_real_value(v);
	else {
		wrong_type(ld, def, v, line, "a number of seconds");
		return;
	}
	if (s * 1000 < (double)def->min || s * 1000 > (double)def->max) {
		problem(ld, line, "%s.%s: %g seconds is out of range %g..%g",
		    def->section, def->key, s, (double)def->min / 1000,
		    (double)def->max / 1000);
		return;
	}
	*field_int(cfg, def) = (int)(s * 1000 + 0.5);
}

/* A DSN: checked by the store's parser (which never echoes a password);
 * a relative sqlite path is taken from the config file's directory. */
static void
set_dsn(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	struct store_dsn *dsn;
	struct error err;
	const char *s;
	char *abs;

	if ((s = get_string(ld, def, v, line)) == NULL)
		return;
	if (store_dsn_parse(s, NULL, 0, &dsn, &err) != 0) {
		problem(ld, line, "store.dsn: %s", strncmp(err.msg, "store: ",
		    7) == 0 ? err.msg + 7 : err.msg);
		return;
	}
	store_dsn_free(dsn);
	free(cfg->store_dsn);
	if (strncmp(s, "sqlite:", 7) == 0 && s[7] != '/') {
		abs = resolve(ld, s + 7);
		cfg->store_dsn = xasprintf("sqlite:%s", abs);
		free(abs);
	} else
		cfg->store_dsn = xstrdup(s);
}

/* Keys of [sealer] that belong to one kind each. */
static const struct {
	const char *key;
	const char *kind;
} sealer_kind_keys[] = {
	{ "key_file", "file" }, { "tcti", "tpm2" }, { "pcrs", "tpm2" },
	{ "device", "snp" }, { "passphrase_file", "passphrase" },
	{ "passphrase_fd", "passphrase" },
	{ "passphrase_credential", "passphrase" },
};

/* [store], [storage] and [sealer] rules that span keys. */
static void
check_store(struct loader *ld, struct config *cfg, json_t *doc)
{
	json_t *storage = json_object_get(doc, "storage");
	json_t *store = json_object_get(doc, "store");
	json_t *sealer = json_object_get(doc, "sealer");
	const json_t *lstorage = json_object_get(ld->lines, "storage");
	const json_t *lsealer = json_object_get(ld->lines, "sealer");
	const char *kind = cfg->sealer;
	size_t i;
	int kline = first_line(json_object_get(lsealer, "kind"));

	if (json_object_get(store, "dsn") != NULL &&
	    (json_object_get(storage, "path") != NULL ||
	    json_object_get(storage, "type") != NULL))
		problem(ld, first_line(json_object_get(lstorage,
		    json_object_get(storage, "path") != NULL ? "path" :
		    "type")), "storage.%s and store.dsn both name the "
		    "database; use store.dsn", json_object_get(storage,
		    "path") != NULL ? "path" : "type");
	if (json_object_get(sealer, "kind") != NULL &&
	    json_object_get(storage, "sealer") != NULL)
		problem(ld, first_line(json_object_get(lstorage, "sealer")),
		    "storage.sealer and sealer.kind are the same setting; use "
		    "sealer.kind");
	if (json_object_get(sealer, "key_file") != NULL &&
	    json_object_get(storage, "data_key_file") != NULL)
		problem(ld, first_line(json_object_get(lstorage,
		    "data_key_file")), "storage.data_key_file and "
		    "sealer.key_file are the same setting; use sealer.key_file");
	if (kind == NULL)
		return;
	if (strcmp(kind, "tdx") == 0) {
		problem(ld, kline, "sealer.kind: \"tdx\": TDX offers no "
		    "sealing key; use \"tpm2\" (the TD's vTPM) or "
		    "\"passphrase\"");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(sealer_kind_keys); i++)
		if (json_object_get(sealer, sealer_kind_keys[i].key) != NULL &&
		    strcmp(kind, sealer_kind_keys[i].kind) != 0)
			problem(ld, first_line(json_object_get(lsealer,
			    sealer_kind_keys[i].key)), "sealer.%s is used only "
			    "with kind = \"%s\" (kind is \"%s\")",
			    sealer_kind_keys[i].key, sealer_kind_keys[i].kind,
			    kind);
	if (strcmp(kind, "passphrase") == 0 &&
	    (json_object_get(sealer, "passphrase_file") != NULL) +
	    (json_object_get(sealer, "passphrase_fd") != NULL) +
	    (json_object_get(sealer, "passphrase_credential") != NULL) != 1)
		problem(ld, kline, "sealer.kind \"passphrase\" needs exactly "
		    "one of passphrase_file, passphrase_fd and "
		    "passphrase_credential");
	if (json_object_get(store, "password_file") != NULL && cfg->store_dsn !=
	    NULL && strncmp(cfg->store_dsn, "mariadb:", 8) != 0)
		problem(ld, first_line(json_object_get(json_object_get(
		    ld->lines, "store"), "password_file")), "store."
		    "password_file is used only with a mariadb:// dsn");
}

#define OFF(f) offsetof(struct config, f)

static const struct key_def key_table[] = {
	{ "http_server", "listen", set_listen, 0, 0, 0, NULL },
	{ "http_server", "insecure_http", set_bool, OFF(insecure_http), 0, 0,
	    NULL },
	{ "http_server", "certificate", set_path, OFF(tls_cert), 0, 0, NULL },
	{ "http_server", "private_key", set_path, OFF(tls_key), 0, 0, NULL },
	{ "http_server", "tls_min_version", set_string, OFF(tls_min_version),
	    0, 0, tls_versions },
	{ "http_server", "payload_request_size", set_body, 0, 1, 64, NULL },
	{ "http_server", "max_body_bytes", set_body, 0, 1024, 64 * 1024 * 1024,
	    NULL },
	{ "http_server", "workers", set_int, OFF(workers), 1, 64, NULL },
	{ "attestation", "session_lifetime", set_int, OFF(session_lifetime_s),
	    10, 86400, NULL },
	{ "attestation", "token_lifetime", set_int, OFF(token_lifetime_s),
	    10, 86400, NULL },
	{ "verifier", "snp_cert_cache", set_path, OFF(snp_cert_cache), 0, 0,
	    NULL },
	{ "verifier", "snp_kds_url", set_string, OFF(snp_kds_url), 0, 0,
	    NULL },
	{ "verifier", "dcap_collateral", set_path, OFF(dcap_collateral), 0, 0,
	    NULL },
	{ "verifier", "dcap_pccs_url", set_string, OFF(dcap_pccs_url), 0, 0,
	    NULL },
	{ "verifier", "dcap_cache_dir", set_path, OFF(dcap_cache_dir), 0, 0,
	    NULL },
	{ "storage", "state_dir", set_path, OFF(state_dir), 0, 0, NULL },
	{ "storage", "type", set_string, OFF(store_type), 0, 0, store_types },
	{ "storage", "path", set_path, OFF(store_path), 0, 0, NULL },
	{ "storage", "sealer", set_string, OFF(sealer), 0, 0, sealers },
	{ "storage", "data_key_file", set_path, OFF(data_key_file), 0, 0,
	    NULL },
	{ "store", "dsn", set_dsn, 0, 0, 0, NULL },
	{ "store", "password_file", set_path, OFF(store_password_file), 0, 0,
	    NULL },
	{ "store", "timeout", set_seconds_ms, OFF(store_timeout_ms), 100,
	    300000, NULL },
	{ "store", "poll_interval", set_seconds_ms, OFF(store_poll_ms), 50,
	    60000, NULL },
	{ "sealer", "kind", set_string, OFF(sealer), 0, 0, seal_kinds },
	{ "sealer", "key_file", set_path, OFF(data_key_file), 0, 0, NULL },
	{ "sealer", "tcti", set_string, OFF(seal_tcti), 0, 0, NULL },
	{ "sealer", "pcrs", set_string, OFF(seal_pcrs), 0, 0, NULL },
	{ "sealer", "device", set_path, OFF(seal_device), 0, 0, NULL },
	{ "sealer", "passphrase_file", set_path, OFF(seal_passphrase_file), 0,
	    0, NULL },
	{ "sealer", "passphrase_fd", set_int, OFF(seal_passphrase_fd), 0, 1023,
	    NULL },
	{ "sealer", "passphrase_credential", set_string,
	    OFF(seal_passphrase_credential), 0, 0, NULL },
	{ "audit", "admin_retention_days", set_int,
	    OFF(audit_admin_retention_days), 1, 36500, NULL },
	{ "audit", "guest_records", set_int, OFF(audit_guest_records), 100,
	    10000000, NULL },
	{ "audit", "guest_records_per_minute", set_int,
	    OFF(audit_guest_per_minute), 1, 1000000, NULL },
	{ "admin", "mode", set_admin_mode, 0, 0, 0, admin_modes },
	{ "admin", "public_keys", set_admin_keys, 0, 0, 0, NULL },
	{ "admin", "authorization_mode", set_admin_authz_mode, 0, 0, 0,
	    admin_authz_modes },
	{ "admin", "authentication", set_admin_authentication, 0, 0, 0,
	    NULL },
	{ "admin", "authorization", set_admin_authorization, 0, 0, 0, NULL },
	{ "admin", "type", set_admin_legacy, 0, 0, 0, NULL },
	/* the longest admin token accepted, seconds (admin.c) */
	{ "admin", "max_token_lifetime", set_int,
	    OFF(admin_max_token_lifetime_s), 60, 315360000, NULL },
	{ "policy", "resource", set_resource_policy, 0, 0, 0,
	    resource_policies },
	{ "policy", "instruction_budget", set_int, OFF(policy_instructions),
	    100, 1000000, NULL },
	{ "policy", "memory_limit", set_int, OFF(policy_memory_kib), 1024,
	    1048576, NULL },
	/* wall clock per policy evaluation, ms (policy_lua.c) */
	{ "policy", "time_limit", set_int, OFF(policy_time_ms), 10, 60000,
	    NULL },
	{ "limits", "auth_rate", set_rate, OFF(limits.auth_rate), 0, 0, NULL },
	{ "limits", "auth_burst", set_int, OFF(limits.auth_burst), 1, 1000000,
	    NULL },
	{ "limits", "attest_rate", set_rate, OFF(limits.attest_rate), 0, 0,
	    NULL },
	{ "limits", "attest_burst", set_int, OFF(limits.attest_burst), 1,
	    1000000, NULL },
	{ "limits", "attestation_rate", set_rate, OFF(limits.attestation_rate),
	    0, 0, NULL },
	{ "limits", "attestation_burst", set_int,
	    OFF(limits.attestation_burst), 1, 1000000, NULL },
	{ "limits", "login_rate", set_rate, OFF(limits.login_rate), 0, 0,
	    NULL },
	{ "limits", "login_burst", set_int, OFF(limits.login_burst), 1,
	    1000000, NULL },
	{ "limits", "rate_sources", set_int, OFF(limits.rate_sources), 1024,
	    16777216, NULL },
	{ "limits", "max_sessions", set_int, OFF(limits.max_sessions), 10,
	    10000000, NULL },
	{ "limits", "max_unattested_per_source", set_int,
	    OFF(limits.max_unattested_per_source), 0, 10000000, NULL },
	{ "limits", "session_memory_mib", set_int,
	    OFF(limits.session_memory_mib), 1, 65536, NULL },
	{ "limits", "max_init_data", set_int, OFF(limits.max_init_data), 1024,
	    64 * 1024 * 1024, NULL },
	{ "limits", "max_token", set_int, OFF(limits.max_token), 4096,
	    64 * 1024 * 1024, NULL },
	{ "limits", "max_evidence_body", set_int,
	    OFF(limits.max_evidence_body), 16384, 64 * 1024 * 1024, NULL },
	{ "limits", "max_connections", set_int, OFF(limits.max_connections),
	    16, 1000000, NULL },
	{ "limits", "max_connections_per_source", set_int,
	    OFF(limits.max_connections_per_source), 0, 1000000, NULL },
	{ "limits", "handshake_timeout", set_int,
	    OFF(limits.handshake_timeout_s), 1, 300, NULL },
	{ "limits", "request_timeout", set_int, OFF(limits.request_timeout_s),
	    1, 3600, NULL },
	{ "limits", "idle_timeout", set_int, OFF(limits.idle_timeout_s), 1,
	    3600, NULL },
	{ "limits", "inflight_memory_mib", set_int,
	    OFF(limits.inflight_memory_mib), 1, 65536, NULL },
	/* The attestation log and the console (docs/console.md). */
	{ "attestation", "log_keep", set_int, OFF(attlog_keep), 100, 10000000,
	    NULL },
	{ "attestation", "log_max_age_days", set_int, OFF(attlog_max_age_days),
	    1, 3650, NULL },
	{ "console", "enabled", set_bool, OFF(console_enabled), 0, 0, NULL },
	{ "console", "files", set_path, OFF(console_files), 0, 0, NULL },
	{ "console", "session_idle_timeout", set_int, OFF(console_idle_s), 60,
	    86400, NULL },
	{ "console", "session_lifetime", set_int, OFF(console_lifetime_s), 300,
	    604800, NULL },
	{ "console", "login_lockout_failures", set_int,
	    OFF(login_user_failures), 3, 1000, NULL },
	{ "console", "login_lockout_source_failures", set_int,
	    OFF(login_source_failures), 3, 100000, NULL },
	{ "console", "login_delay_after", set_int, OFF(login_delay_after), 1,
	    1000, NULL },
	{ "console", "login_lockout_seconds", set_int, OFF(login_lockout_s), 10,
	    86400, NULL },
};

static const char *const sections[] = {
	"http_server", "attestation", "verifier", "storage", "store",
	"sealer", "audit", "admin", "policy", "limits", "console", NULL
};

static const struct key_def *
key_lookup(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(key_table); i++)
		if (strcmp(key_table[i].section, section) == 0 &&
		    strcmp(key_table[i].key, key) == 0)
			return &key_table[i];
	return NULL;
}

static int
is_section(const char *name)
{
	size_t i;

	for (i = 0; sections[i] != NULL; i++)
		if (strcmp(sections[i], name) == 0)
			return 1;
	return 0;
}

/* ----------------------------------------------------------------- load */

static void
load_section(struct loader *ld, struct config *cfg, const char *sec,
    json_t *table, json_t *ltable)
{
	const struct key_def *def;
	const char *key;
	char esc[128];
	json_t *v;

	json_object_foreach(table, key, v) {
		int line = first_line(json_object_get(ltable, key));

		def = key_lookup(sec, key);
		if (def == NULL)
			problem(ld, line, "unknown key '%s' in [%s]",
			    log_escape(key, esc, sizeof(esc)), sec);
		else
			def->fn(ld, cfg, def, v, line);
	}
}

/* Requirements that span keys, checked once everything is read. */
static void
check_required(struct loader *ld, struct config *cfg, json_t *doc)
{
	json_t *http = json_object_get(doc, "http_server");
	json_t *admin = json_object_get(doc, "admin");
	json_t *v;
	int hline = first_line(json_object_get(ld->lines, "http_server"));

	/* A requirement that hinges on a key which is itself wrong would
	 * only repeat that problem, so it is skipped. */
	v = json_object_get(http, "insecure_http");
	if (!cfg->insecure_http && (v == NULL || json_is_boolean(v))) {
		if (cfg->tls_cert == NULL &&
		    json_object_get(http, "certificate") == NULL)
			problem(ld, hline, "http_server.certificate is "
			    "required unless insecure_http = true");
		if (cfg->tls_key == NULL &&
		    json_object_get(http, "private_key") == NULL)
			problem(ld, hline, "http_server.private_key is "
			    "required unless insecure_http = true");
	}
	check_admin(ld, cfg, admin);
	check_limits(ld, cfg);
	check_store(ld, cfg, doc);
}

/* The directory holding path, made absolute so a later chdir is harmless. */
static char *
config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *cwd, *dir;

	if (slash == path)
		return xstrdup("/");
	if (slash != NULL && path[0] == '/')
		return xstrndup(path, (size_t)(slash - path));
	cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return slash ? xstrndup(path, (size_t)(slash - path)) :
		    xstrdup(".");
	dir = slash ? xasprintf("%s/%.*s", strcmp(cwd, "/") ? cwd : "",
	    (int)(slash - path), path) : xstrdup(cwd);
	free(cwd);
	return dir;
}

static void
load_document(struct loader *ld, struct config *cfg, json_t *doc)
{
	const char *sec;
	json_t *v, *storage;
	char esc[128];

	json_object_foreach(doc, sec, v) {
		json_t *lsec = json_object_get(ld->lines, sec);
		int line = first_line(lsec);

		if (!is_section(sec)) {
			if (json_is_object(v))
				problem(ld, line, "unknown section [%s]",
				    log_escape(sec, esc, sizeof(esc)));
			else
				problem(ld, line, "unknown key '%s' outside of "
				    "any [section]", log_escape(sec, esc,
				    sizeof(esc)));
		} else if (!json_is_object(v))
			problem(ld, line, "%s must be a table ([%s]), got %s",
			    sec, sec, type_name(v));
		else
			load_section(ld, cfg, sec, v, lsec);
	}
	check_required(ld, cfg, doc);
	/* Storage files follow state_dir unless named explicitly. */
	storage = json_object_get(doc, "storage");
	if (json_object_get(storage, "path") == NULL) {
		free(cfg->store_path);
		cfg->store_path = xasprintf("%s/trustee.db", cfg->state_dir);
	}
	if (json_object_get(storage, "data_key_file") == NULL &&
	    json_object_get(json_object_get(doc, "sealer"), "key_file") ==
	    NULL) {
		free(cfg->data_key_file);
		cfg->data_key_file = xasprintf("%s/data.key", cfg->state_dir);
	}
}

void
config_defaults(struct config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen[0] = xstrdup(DEFAULT_LISTEN);
	cfg->nlisten = 1;
	cfg->tls_min_version = xstrdup("1.2");
	cfg->max_body = DEFAULT_MAX_BODY;
	cfg->workers = n < 1 ? 1 : n > MAX_DEFAULT_WORKERS ?
	    MAX_DEFAULT_WORKERS : (int)n;
	cfg->session_lifetime_s = DEFAULT_LIFETIME;
	cfg->token_lifetime_s = DEFAULT_LIFETIME;
	cfg->state_dir = xstrdup(LOCALSTATEDIR "/lib/trustee");
	cfg->store_type = xstrdup("sqlite");
	cfg->store_path = xasprintf("%s/trustee.db", cfg->state_dir);
	cfg->sealer = xstrdup("file");
	cfg->data_key_file = xasprintf("%s/data.key", cfg->state_dir);
	cfg->seal_passphrase_fd = -1;
	cfg->admin_mode = ADMIN_BEARER_JWT;
	cfg->admin_max_token_lifetime_s = 86400;
	cfg->resource_policy = RPOLICY_DEFAULT;
	cfg->policy_instructions = 10000;
	cfg->policy_memory_kib = 16384;
	cfg->policy_time_ms = 2000;
	limits_defaults(&cfg->limits);
	cfg->attlog_keep = 100000;
	cfg->attlog_max_age_days = 30;
	cfg->console_enabled = 1;
	cfg->console_idle_s = 900;
	cfg->console_lifetime_s = 28800;
	cfg->login_user_failures = 10;
	cfg->login_source_failures = 30;
	cfg->login_delay_after = 3;
	cfg->login_lockout_s = 900;
	cfg->store_timeout_ms = 5000;
	cfg->store_poll_ms = 1000;
	cfg->audit_admin_retention_days = 365;
	cfg->audit_guest_records = 10000;
	cfg->audit_guest_per_minute = 600;
	cfg->seal_passphrase_fd = -1;
}

int
config_line(const struct config *cfg, const char *section, const char *key)
{
	return first_line(json_object_get(json_object_get(cfg->lines,
	    section), key));
}

const char *
config_where(const struct config *cfg, const char *section, const char *key,
    const char *fallback, char *buf, size_t cap)
{
	int line = cfg->path != NULL ? config_line(cfg, section, key) : 0;

	if (line > 0)
		snprintf(buf, cap, "%s:%d", cfg->path, line);
	else if (fallback != NULL)
		snprintf(buf, cap, "%s", fallback);
	else
		snprintf(buf, cap, "%s", cfg->path != NULL ? cfg->path :
		    "--dev");
	return buf;
}

void
config_store_options(const struct config *cfg, struct seal_config *sc,
    struct store_options *so)
{
	memset(sc, 0, sizeof(*sc));
	sc->kind = cfg->sealer;
	sc->tpm2_tcti = cfg->seal_tcti;
	sc->tpm2_pcrs = cfg->seal_pcrs;
	sc->snp_device = cfg->seal_device;
	sc->passphrase_fd = cfg->seal_passphrase_fd;
	sc->passphrase_file = cfg->seal_passphrase_file;
	sc->passphrase_credential = cfg->seal_passphrase_credential;
	sc->key_file = cfg->data_key_file;
	/* The development key file is created on first start. */
	sc->create = cfg->sealer != NULL && strcmp(cfg->sealer, "file") == 0;
	memset(so, 0, sizeof(*so));
	so->dsn = cfg->store_dsn;
	so->password_file = cfg->store_password_file;
	so->state_dir = cfg->state_dir;
	so->seal = sc;
	so->timeout_ms = cfg->store_timeout_ms;
	so->poll_ms = cfg->store_poll_ms;
	so->create = 1;
	so->exclusive = 1;
	so->background = 1;
}

int
config_load(const char *path, struct config *cfg)
{
	struct loader ld;
	struct toml_error terr;
	struct error err;
	json_t *doc = NULL;
	uint8_t *text = NULL;
	size_t len, i;
	int nerr;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	free(cfg->path);
	cfg->path = xstrdup(path);
	if (file_read_all(path, CONFIG_MAX_FILE, &text, &len, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (toml_parse((const char *)text, len, &doc, &ld.lines, &terr) == -1) {
		if (terr.line > 0)
			fprintf(stderr, "%s:%d: %s\n", path, terr.line,
			    terr.msg);
		else
			fprintf(stderr, "%s: %s\n", path, terr.msg);
		free(text);
		return 1;
	}
	free(text);
	ld.dir = config_dir(path);
	load_document(&ld, cfg, doc);
	if (ld.nprobs > 0)
		qsort(ld.probs, ld.nprobs, sizeof(*ld.probs), problem_cmp);
	for (i = 0; i < ld.nprobs; i++) {
		if (ld.probs[i].line > 0)
			fprintf(stderr, "%s:%d: %s\n", path, ld.probs[i].line,
			    ld.probs[i].msg);
		else
			fprintf(stderr, "%s: %s\n", path, ld.probs[i].msg);
		free(ld.probs[i].msg);
	}
	fflush(stderr);
	nerr = (int)ld.nprobs;
	free(ld.probs);
	free(ld.dir);
	json_decref(cfg->lines);
	cfg->lines = ld.lines;		/* for config_line */
	json_decref(doc);
	return nerr;
}

void
config_free(struct config *cfg)
{
	int i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	for (i = 0; i < CONFIG_MAX_LISTEN; i++)
		free(cfg->listen[i]);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_min_version);
	free(cfg->state_dir);
	free(cfg->store_type);
	free(cfg->store_path);
	free(cfg->sealer);
	free(cfg->data_key_file);
	free(cfg->store_dsn);
	free(cfg->store_password_file);
	free(cfg->seal_tcti);
	free(cfg->seal_pcrs);
	free(cfg->seal_device);
	free(cfg->seal_passphrase_file);
	free(cfg->seal_passphrase_credential);
	json_decref(cfg->lines);
	free(cfg->snp_cert_cache);
	free(cfg->snp_kds_url);
	free(cfg->dcap_collateral);
	free(cfg->dcap_pccs_url);
	free(cfg->dcap_cache_dir);
	free(cfg->console_files);
	free(cfg->console_password_file);
	for (i = 0; i < CONFIG_MAX_ADMIN_KEYS; i++)
		free(cfg->admin_keys[i]);
	for (i = 0; i < cfg->nadmin_idps; i++) {
		free(cfg->admin_idps[i].issuer);
		free(cfg->admin_idps[i].audience);
		free(cfg->admin_idps[i].public_key);
		free(cfg->admin_idps[i].jwk_set);
	}
	for (i = 0; i < cfg->nadmin_acls; i++) {
		free(cfg->admin_acls[i].role);
		free(cfg->admin_acls[i].regex);
	}
	memset(cfg, 0, sizeof(*cfg));
}

int
config_limit_set(struct config *cfg, const char *assignment,
    struct error *err)
{
	const char *eq = strchr(assignment, '=');
	const struct key_def *def;
	struct loader ld;
	char name[64], esc[128], *end;
	double d;
	json_t *v;
	size_t i;

	if (eq == NULL || (size_t)(eq - assignment) >= sizeof(name) ||
	    eq == assignment)
		return error_set(err, "--limit %s: expected NAME=VALUE",
		    log_escape(assignment, esc, sizeof(esc)));
	memcpy(name, assignment, (size_t)(eq - assignment));
	name[eq - assignment] = '\0';
	if ((def = key_lookup("limits", name)) == NULL)
		return error_set(err, "--limit: unknown limit '%s' (see the "
		    "[limits] section of trusteed.toml)",
		    log_escape(name, esc, sizeof(esc)));
	d = strtod(eq + 1, &end);
	if (eq[1] == '\0' || *end != '\0')
		return error_set(err, "--limit %s: '%s' is not a number", name,
		    log_escape(eq + 1, esc, sizeof(esc)));
	v = strpbrk(eq + 1, ".eE") == NULL && d >= -1e15 && d <= 1e15 ?
	    json_integer((json_int_t)d) : json_real(d);
	memset(&ld, 0, sizeof(ld));
	ld.path = "--limit";
	def->fn(&ld, cfg, def, v, 0);
	json_decref(v);
	if (ld.nprobs > 0) {
		error_set(err, "--limit: %s", ld.probs[0].msg);
		for (i = 0; i < ld.nprobs; i++)
			free(ld.probs[i].msg);
		free(ld.probs);
		return -1;
	}
	return 0;
}

int
config_limits_check(const struct config *cfg, struct error *err)
{
	char why[256];

	if (limits_inconsistent(cfg, why, sizeof(why)) != NULL)
		return error_set(err, "%s", why);
	return 0;
}
