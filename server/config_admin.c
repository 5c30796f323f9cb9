/*
 * config_admin.c: the [admin] section of trusteed's configuration, in
 * both its forms: the simple one (mode, public_keys) and Trustee's
 * (authorization_mode with [admin.authentication.bearer_jwt] identity
 * providers and [admin.authorization.regex_acl] ACLs), plus the rules
 * between them. Keys are only named here; admin.c loads them at start.
 * The loader itself is config.c (config_int.h).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/log.h"
#include "config_int.h"
#include "trusteed.h"

static void
set_admin_keys(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	size_t i, n;
	json_t *item;

	if (!json_is_array(v)) {
		config_wrong_type(ld, def, v, line, "an array of strings");
		return;
	}
	n = json_array_size(v);
	if (n > CONFIG_MAX_ADMIN_KEYS) {
		config_problem(ld, line, "admin.public_keys: at most %d keys, "
		    "got %zu", CONFIG_MAX_ADMIN_KEYS, n);
		return;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || json_string_length(item) == 0) {
			config_problem(ld, line, "admin.public_keys[%zu]: "
			    "expected a file name, got %s", i,
			    json_is_string(item) ? "an empty string" :
			    config_type_name(item));
			return;
		}
	}
	for (i = 0; i < (size_t)cfg->nadmin_keys; i++)
		free(cfg->admin_keys[i]);
	memset(cfg->admin_keys, 0, sizeof(cfg->admin_keys));
	for (i = 0; i < n; i++)
		cfg->admin_keys[i] = config_resolve(ld,
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
	int i = config_get_choice(ld, def, v, line);

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
	int i = config_get_choice(ld, def, v, line);

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
	config_problem(ld, line, "admin.%s: the legacy Trustee form is not "
	    "supported; use authorization_mode = "
	    "\"AuthenticatedAuthorization\" (or mode = \"bearer_jwt\" with "
	    "public_keys)", def->key);
}

/* The line of lines-node n's member key (0 when unknown). */
static int
admin_line(const json_t *n, const char *key, int fallback)
{
	int l = config_first_line(json_object_get(n, key));

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
			config_problem(ld, admin_line(lt, k, line), "%s: "
			    "unknown key '%s'%s", where, log_escape(k, esc,
			    sizeof(esc)), strcmp(k, "type") == 0 ? " (the "
			    "legacy Trustee form is not supported)" : "");
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
		config_problem(ld, admin_line(lt, key, line), "%s.%s: expected "
		    "a non-empty string, got %s", where, key,
		    json_is_string(v) ? "an empty string" :
		    config_type_name(v));
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
			config_problem(ld, line, "%s: \"%s\": a file:// URI "
			    "needs an absolute path (file:///...)", where, uri);
			return NULL;
		}
		return xstrdup(uri + 7);
	}
	if (strncmp(uri, "https://", 8) == 0 || strncmp(uri, "http://", 7) ==
	    0) {
		config_problem(ld, line, "%s: \"%s\": fetching keys over the "
		    "network is not supported offline; copy the key to a file "
		    "and name its path (or file:// URI)", where, uri);
		return NULL;
	}
	if (strstr(uri, "://") != NULL) {
		config_problem(ld, line, "%s: \"%s\": unsupported URI scheme "
		    "(use a path or file://)", where, uri);
		return NULL;
	}
	return config_resolve(ld, uri);
}

/* The line of element i of an array whose line record is la, else
 * fallback (the TOML reader records one line record per element). */
static int
admin_elem_line(const json_t *la, size_t i, int fallback)
{
	int l = config_first_line(json_array_get(la, i));

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
		config_problem(ld, line, "%s: expected a table ({ "
		    "public_key_uri = ... }), got %s", where,
		    config_type_name(t));
		return;
	}
	line = config_first_line(lt) > 0 ? config_first_line(lt) : line;
	bad |= admin_only_keys(ld, where, t, lt, line, keys);
	bad |= admin_opt_string(ld, where, t, lt, line, "issuer", &iss);
	bad |= admin_opt_string(ld, where, t, lt, line, "audience", &aud);
	bad |= admin_opt_string(ld, where, t, lt, line, "public_key_uri", &pk);
	bad |= admin_opt_string(ld, where, t, lt, line, "jwk_set_uri", &jwks);
	if (bad)
		return;
	if (pk == NULL && jwks == NULL) {
		config_problem(ld, line, "%s: needs public_key_uri and/or "
		    "jwk_set_uri", where);
		return;
	}
	if (cfg->nadmin_idps == CONFIG_MAX_ADMIN_IDPS) {
		config_problem(ld, line, "%s: at most %d identity providers",
		    where, CONFIG_MAX_ADMIN_IDPS);
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
		config_wrong_type(ld, def, v, line, "a table "
		    "([admin.authentication.bearer_jwt])");
		return;
	}
	if (admin_only_keys(ld, "admin.authentication", v, lt, line, top))
		return;
	b = json_object_get(v, "bearer_jwt");
	lbj = json_object_get(lt, "bearer_jwt");
	if (b == NULL) {
		config_problem(ld, line, "admin.authentication: needs "
		    "[admin.authentication.bearer_jwt]");
		return;
	}
	l = admin_line(lt, "bearer_jwt", line);
	if (!json_is_object(b)) {
		config_problem(ld, l, "admin.authentication.bearer_jwt: "
		    "expected a table, got %s", config_type_name(b));
		return;
	}
	if (admin_only_keys(ld, "admin.authentication.bearer_jwt", b, lbj, l,
	    bj))
		return;
	idps = json_object_get(b, "identity_providers");
	lidps = json_object_get(lbj, "identity_providers");
	if (idps == NULL) {
		config_problem(ld, l, "admin.authentication.bearer_jwt: "
		    "identity_providers is required");
		return;
	}
	l = admin_line(lbj, "identity_providers", l);
	if (!json_is_array(idps) || json_array_size(idps) == 0) {
		config_problem(ld, l, "admin.authentication.bearer_jwt."
		    "identity_providers: expected a non-empty array of tables, "
		    "got %s", json_is_array(idps) ? "an empty array" :
		    config_type_name(idps));
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
		config_problem(ld, line, "%s: expected a table ({ role = ..., "
		    "allowed_endpoints = ... }), got %s", where,
		    config_type_name(t));
		return;
	}
	line = config_first_line(lt) > 0 ? config_first_line(lt) : line;
	bad |= admin_only_keys(ld, where, t, lt, line, keys);
	bad |= admin_opt_string(ld, where, t, lt, line, "role", &role);
	bad |= admin_opt_string(ld, where, t, lt, line, "allowed_endpoints",
	    &re);
	if (bad)
		return;
	if (role == NULL || re == NULL) {
		config_problem(ld, line, "%s: needs role and allowed_endpoints",
		    where);
		return;
	}
	line = admin_line(lt, "allowed_endpoints", line);
	n = strlen(re);
	if (strncmp(re, "^/kbs", 5) != 0 || re[n - 1] != '$' ||
	    (n >= 2 && re[n - 2] == '\\')) {
		config_problem(ld, line, "%s.allowed_endpoints: the regex must "
		    "be anchored: start with ^/kbs and end with $", where);
		return;
	}
	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &rx, msg, sizeof(msg));
		config_problem(ld, line, "%s.allowed_endpoints: not a POSIX "
		    "extended regular expression: %s", where, msg);
		return;
	}
	regfree(&rx);
	if (cfg->nadmin_acls == CONFIG_MAX_ADMIN_ACLS) {
		config_problem(ld, line, "%s: at most %d ACL entries", where,
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
		config_wrong_type(ld, def, v, line, "a table "
		    "([admin.authorization.regex_acl])");
		return;
	}
	if (admin_only_keys(ld, "admin.authorization", v, lt, line, top))
		return;
	r = json_object_get(v, "regex_acl");
	lra = json_object_get(lt, "regex_acl");
	if (r == NULL) {
		config_problem(ld, line, "admin.authorization: needs "
		    "[admin.authorization.regex_acl]");
		return;
	}
	l = admin_line(lt, "regex_acl", line);
	if (!json_is_object(r)) {
		config_problem(ld, l, "admin.authorization.regex_acl: expected "
		    "a table, got %s", config_type_name(r));
		return;
	}
	if (admin_only_keys(ld, "admin.authorization.regex_acl", r, lra, l,
	    ra))
		return;
	acls = json_object_get(r, "acls");
	lacls = json_object_get(lra, "acls");
	if (acls == NULL) {
		config_problem(ld, l, "admin.authorization.regex_acl: acls is "
		    "required (it may be empty)");
		return;
	}
	l = admin_line(lra, "acls", l);
	if (!json_is_array(acls)) {
		config_problem(ld, l, "admin.authorization.regex_acl.acls: "
		    "expected an array of tables, got %s",
		    config_type_name(acls));
		return;
	}
	json_array_foreach(acls, i, item)
		admin_acl(ld, cfg, item, json_array_get(lacls, i),
		    admin_elem_line(lacls, i, l), i);
}

/* [admin] rules that span keys. */
void
config_admin_rules(struct loader *ld, struct config *cfg, json_t *admin)
{
	const json_t *la = json_object_get(ld->lines, "admin");
	int aline = config_first_line(la);
	json_t *mode = json_object_get(admin, "mode");
	json_t *amode = json_object_get(admin, "authorization_mode");
	json_t *keys = json_object_get(admin, "public_keys");
	json_t *authn = json_object_get(admin, "authentication");
	json_t *authz = json_object_get(admin, "authorization");

	if (amode != NULL) {
		if (mode != NULL)
			config_problem(ld, admin_line(la, "mode", aline),
			    "admin.mode and admin.authorization_mode are two "
			    "forms of the same setting; use one");
		if (keys != NULL)
			config_problem(ld, admin_line(la, "public_keys", aline),
			    "admin.public_keys belongs to the simple form "
			    "(mode = \"bearer_jwt\"); with authorization_mode "
			    "use [admin.authentication.bearer_jwt] "
			    "identity_providers");
		if (!cfg->admin_trustee_form)
			return;		/* the mode itself was wrong */
		if (cfg->admin_mode == ADMIN_AUTHENTICATED) {
			if (authn == NULL)
				config_problem(ld, admin_line(la,
				    "authorization_mode", aline),
				    "admin.authorization_mode "
				    "\"AuthenticatedAuthorization\" needs "
				    "[admin.authentication.bearer_jwt]");
			if (authz == NULL)
				config_problem(ld, admin_line(la,
				    "authorization_mode", aline),
				    "admin.authorization_mode "
				    "\"AuthenticatedAuthorization\" needs "
				    "[admin.authorization.regex_acl]");
			return;
		}
		if (authn != NULL || authz != NULL)
			config_problem(ld, admin_line(la, authn != NULL ?
			    "authentication" : "authorization", aline),
			    "admin.%s is used only with authorization_mode = "
			    "\"AuthenticatedAuthorization\"", authn != NULL ?
			    "authentication" : "authorization");
		return;
	}
	if (authn != NULL || authz != NULL) {
		config_problem(ld, admin_line(la, authn != NULL ?
		    "authentication" : "authorization", aline), "admin.%s "
		    "needs authorization_mode = \"AuthenticatedAuthorization\"",
		    authn != NULL ? "authentication" : "authorization");
		return;
	}
	if (cfg->admin_mode == ADMIN_BEARER_JWT && cfg->nadmin_keys == 0 &&
	    (mode == NULL || (json_is_string(mode) &&
	    strcmp(json_string_value(mode), "bearer_jwt") == 0))) {
		if (keys == NULL)
			config_problem(ld, aline, "admin.public_keys is "
			    "required when admin.mode is \"bearer_jwt\" (the "
			    "default)");
		else if (json_is_array(keys) && json_array_size(keys) == 0)
			config_problem(ld, config_first_line(json_object_get(la,
			    "public_keys")), "admin.public_keys: must not be "
			    "empty when admin.mode is \"bearer_jwt\"");
	}
}

#define OFF(f) offsetof(struct config, f)

const struct key_def config_admin_table[] = {
	{ "admin", "mode", set_admin_mode, 0, 0, 0, admin_modes },
	{ "admin", "public_keys", set_admin_keys, 0, 0, 0, NULL },
	{ "admin", "authorization_mode", set_admin_authz_mode, 0, 0, 0,
	    admin_authz_modes },
	{ "admin", "authentication", set_admin_authentication, 0, 0, 0,
	    NULL },
	{ "admin", "authorization", set_admin_authorization, 0, 0, 0, NULL },
	{ "admin", "type", set_admin_legacy, 0, 0, 0, NULL },
	/* the longest admin token accepted, seconds (admin.c) */
	{ "admin", "max_token_lifetime", config_set_int,
	    OFF(admin_max_token_lifetime_s), 60, 315360000, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, NULL }
};
