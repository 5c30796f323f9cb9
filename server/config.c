/*
 * config.c: trusteed's configuration file. The file is TOML; every
 * section and key is described by one row of a key table, whose handler
 * checks the type and range and stores the value. Problems are collected
 * (all of them, each with the line of the key at fault), sorted by line
 * and printed as "path:line: message"; the caller refuses to start when
 * config_load returns non-zero.
 *
 * This file is the core (defaults, the walk over the file's sections,
 * problems, value getters and plain handlers, config_free) and holds the
 * small sections; the larger ones have their own files (config_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/log.h"
#include "../lib/toml.h"
#include "config_int.h"
#include "trusteed.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define DEFAULT_LISTEN		"127.0.0.1:8080"
#define DEFAULT_MAX_BODY	((size_t)2 * 1024 * 1024)
#define DEFAULT_LIFETIME	300
#define MAX_DEFAULT_WORKERS	16
/* Event-loop workers per CPU on a store over the network (see
 * config_default_workers). */
#define NETWORK_WORKERS_PER_CPU	4
#define CONFIG_MAX_FILE		((size_t)1024 * 1024)

void
config_problem(struct loader *ld, int line, const char *fmt, ...)
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
int
config_first_line(const json_t *n)
{
	const char *k;
	json_t *v;
	size_t i;
	int best = 0, l;

	if (json_is_integer(n))
		return (int)json_integer_value(n);
	if (json_is_object(n)) {
		json_object_foreach((json_t *)n, k, v) {
			l = config_first_line(v);
			if (l > 0 && (best == 0 || l < best))
				best = l;
		}
	} else if (json_is_array(n)) {
		json_array_foreach(n, i, v) {
			l = config_first_line(v);
			if (l > 0 && (best == 0 || l < best))
				best = l;
		}
	}
	return best;
}

const char *
config_type_name(const json_t *v)
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

void
config_wrong_type(struct loader *ld, const struct key_def *def, const json_t *v,
    int line, const char *want)
{
	config_problem(ld, line, "%s.%s: expected %s, got %s", def->section,
	    def->key, want, config_type_name(v));
}

/* Relative paths are taken from the config file's directory. */
char *
config_resolve(const struct loader *ld, const char *p)
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
config_field_str(struct config *cfg, const struct key_def *def)
{
	return (char **)(void *)((char *)cfg + def->off);
}

int *
config_field_int(struct config *cfg, const struct key_def *def)
{
	return (int *)(void *)((char *)cfg + def->off);
}

/* A string that is one of def->choices; returns its index or -1. */
int
config_get_choice(struct loader *ld, const struct key_def *def, json_t *v,
    int line)
{
	struct buf list = { 0 };
	const char *s;
	char esc[128];
	int i;

	if (!json_is_string(v)) {
		config_wrong_type(ld, def, v, line, "a string");
		return -1;
	}
	s = json_string_value(v);
	for (i = 0; def->choices[i] != NULL; i++)
		if (strcmp(s, def->choices[i]) == 0)
			return i;
	for (i = 0; def->choices[i] != NULL; i++)
		buf_printf(&list, "%s\"%s\"", i ? ", " : "", def->choices[i]);
	config_problem(ld, line, "%s.%s: \"%s\" is not one of %s", def->section,
	    def->key, log_escape(s, esc, sizeof(esc)), buf_cstr(&list));
	buf_free(&list);
	return -1;
}

/* A non-empty string; NULL (problem recorded) otherwise. */
const char *
config_get_string(struct loader *ld, const struct key_def *def, json_t *v,
    int line)
{
	if (!json_is_string(v)) {
		config_wrong_type(ld, def, v, line, "a string");
		return NULL;
	}
	if (json_string_length(v) == 0) {
		config_problem(ld, line, "%s.%s: must not be empty",
		    def->section, def->key);
		return NULL;
	}
	return json_string_value(v);
}

int
config_get_int(struct loader *ld, const struct key_def *def, json_t *v,
    int line, long long *out)
{
	long long n;

	if (!json_is_integer(v)) {
		config_wrong_type(ld, def, v, line, "an integer");
		return -1;
	}
	n = (long long)json_integer_value(v);
	if (n < def->min || n > def->max) {
		config_problem(ld, line, "%s.%s: %lld is out of range "
		    "%lld..%lld", def->section, def->key, n, def->min,
		    def->max);
		return -1;
	}
	*out = n;
	return 0;
}

/* ------------------------------------------------------------ handlers */

void
config_set_string(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	char **f = config_field_str(cfg, def);
	const char *s;
	int i;

	if (def->choices != NULL) {
		if ((i = config_get_choice(ld, def, v, line)) == -1)
			return;
		s = def->choices[i];
	} else if ((s = config_get_string(ld, def, v, line)) == NULL)
		return;
	free(*f);
	*f = xstrdup(s);
}

void
config_set_path(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	char **f = config_field_str(cfg, def);
	const char *s;

	if ((s = config_get_string(ld, def, v, line)) == NULL)
		return;
	free(*f);
	*f = config_resolve(ld, s);
}

void
config_set_bool(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	if (!json_is_boolean(v)) {
		config_wrong_type(ld, def, v, line, "a boolean (true or "
		    "false)");
		return;
	}
	*config_field_int(cfg, def) = json_is_true(v);
}

void
config_set_int(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	long long n;

	if (config_get_int(ld, def, v, line, &n) == 0)
		*config_field_int(cfg, def) = (int)n;
}

/* ------------------------- [attestation] [verifier] [audit] [policy] ... */

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
	int i = config_get_choice(ld, def, v, line);

	if (i >= 0)
		cfg->resource_policy = modes[i];
}

#define OFF(f) offsetof(struct config, f)

static const struct key_def core_table[] = {
	{ "attestation", "session_lifetime", config_set_int,
	    OFF(session_lifetime_s), 10, 86400, NULL },
	{ "attestation", "token_lifetime", config_set_int,
	    OFF(token_lifetime_s), 10, 86400, NULL },
	{ "verifier", "snp_cert_cache", config_set_path, OFF(snp_cert_cache), 0,
	    0, NULL },
	{ "verifier", "snp_kds_url", config_set_string, OFF(snp_kds_url), 0, 0,
	    NULL },
	{ "verifier", "dcap_collateral", config_set_path, OFF(dcap_collateral),
	    0, 0, NULL },
	{ "verifier", "dcap_pccs_url", config_set_string, OFF(dcap_pccs_url), 0,
	    0, NULL },
	{ "verifier", "dcap_cache_dir", config_set_path, OFF(dcap_cache_dir), 0,
	    0, NULL },
	{ "audit", "admin_retention_days", config_set_int,
	    OFF(audit_admin_retention_days), 1, 36500, NULL },
	{ "audit", "guest_records", config_set_int, OFF(audit_guest_records),
	    100, 10000000, NULL },
	{ "audit", "guest_records_per_minute", config_set_int,
	    OFF(audit_guest_per_minute), 1, 1000000, NULL },
	{ "policy", "resource", set_resource_policy, 0, 0, 0,
	    resource_policies },
	{ "policy", "instruction_budget", config_set_int,
	    OFF(policy_instructions), 100, 1000000, NULL },
	{ "policy", "memory_limit", config_set_int, OFF(policy_memory_kib),
	    1024, 1048576, NULL },
	/* wall clock per policy evaluation, ms (policy_lua.c) */
	{ "policy", "time_limit", config_set_int, OFF(policy_time_ms), 10,
	    60000, NULL },
	/* The attestation log and the console (docs/console.md). */
	{ "attestation", "log_keep", config_set_int, OFF(attlog_keep), 100,
	    10000000, NULL },
	{ "attestation", "log_max_age_days", config_set_int,
	    OFF(attlog_max_age_days), 1, 3650, NULL },
	{ "console", "enabled", config_set_bool, OFF(console_enabled), 0, 0,
	    NULL },
	{ "console", "files", config_set_path, OFF(console_files), 0, 0, NULL },
	{ "console", "session_idle_timeout", config_set_int,
	    OFF(console_idle_s), 60, 86400, NULL },
	{ "console", "session_lifetime", config_set_int,
	    OFF(console_lifetime_s), 300, 604800, NULL },
	{ "console", "login_lockout_failures", config_set_int,
	    OFF(login_user_failures), 3, 1000, NULL },
	{ "console", "login_lockout_source_failures", config_set_int,
	    OFF(login_source_failures), 3, 100000, NULL },
	{ "console", "login_delay_after", config_set_int,
	    OFF(login_delay_after), 1, 1000, NULL },
	{ "console", "login_lockout_seconds", config_set_int,
	    OFF(login_lockout_s), 10, 86400, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, NULL }
};

static const char *const sections[] = {
	"http_server", "attestation", "verifier", "storage", "store",
	"sealer", "audit", "admin", "policy", "limits", "console", NULL
};

/* Every key table, each ended by a row whose section is NULL. */
static const struct key_def *const key_tables[] = {
	config_http_table, core_table, config_store_table, config_admin_table,
	config_limits_table,
};

const struct key_def *
config_key_lookup(const char *section, const char *key)
{
	const struct key_def *d;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(key_tables); i++)
		for (d = key_tables[i]; d->section != NULL; d++)
			if (strcmp(d->section, section) == 0 &&
			    strcmp(d->key, key) == 0)
				return d;
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
		int line = config_first_line(json_object_get(ltable, key));

		def = config_key_lookup(sec, key);
		if (def == NULL)
			config_problem(ld, line, "unknown key '%s' in [%s]",
			    log_escape(key, esc, sizeof(esc)), sec);
		else
			def->fn(ld, cfg, def, v, line);
	}
}

/* Requirements that span keys, checked once everything is read. */
static void
check_required(struct loader *ld, struct config *cfg, json_t *doc)
{
	config_http_rules(ld, cfg, doc);
	config_admin_rules(ld, cfg, json_object_get(doc, "admin"));
	config_limits_rules(ld, cfg);
	config_store_rules(ld, cfg, doc);
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
	json_t *v;
	char esc[128];

	json_object_foreach(doc, sec, v) {
		json_t *lsec = json_object_get(ld->lines, sec);
		int line = config_first_line(lsec);

		if (!is_section(sec)) {
			if (json_is_object(v))
				config_problem(ld, line, "unknown section [%s]",
				    log_escape(sec, esc, sizeof(esc)));
			else
				config_problem(ld, line, "unknown key '%s' "
				    "outside of any [section]", log_escape(sec,
				    esc, sizeof(esc)));
		} else if (!json_is_object(v))
			config_problem(ld, line, "%s must be a table ([%s]), "
			    "got %s", sec, sec, config_type_name(v));
		else
			load_section(ld, cfg, sec, v, lsec);
	}
	check_required(ld, cfg, doc);
	config_store_paths(cfg, doc);
}

int
config_default_workers(int networked)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (networked)
		n *= NETWORK_WORKERS_PER_CPU;
	return n > MAX_DEFAULT_WORKERS ? MAX_DEFAULT_WORKERS : (int)n;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen[0] = xstrdup(DEFAULT_LISTEN);
	cfg->nlisten = 1;
	cfg->tls_min_version = xstrdup("1.2");
	cfg->max_body = DEFAULT_MAX_BODY;
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
	config_limits_defaults(&cfg->limits);
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
	cfg->store_lease_ms = 200;
	cfg->store_stateless_auth = 1;
	cfg->audit_admin_retention_days = 365;
	cfg->audit_guest_records = 10000;
	cfg->audit_guest_per_minute = 600;
	cfg->seal_passphrase_fd = -1;
}

int
config_line(const struct config *cfg, const char *section, const char *key)
{
	return config_first_line(json_object_get(json_object_get(cfg->lines,
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

