/*
 * config_limits.c: the [limits] section of trusteed's configuration and
 * trusteed --limit NAME=VALUE, which sets the same keys with the same
 * checks; their defaults and the rules between them. The loader itself is
 * config.c (config_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/log.h"
#include "config_int.h"
#include "trusteed.h"

/*
 * What clients may make the daemon hold and how fast they may ask
 * (README "Limits"); applied by trusteed.c to the HTTP server, the rate
 * limiter and the session quota. trusteed --limit NAME=VALUE sets the
 * same keys through config_limit_set.
 */
void
config_limits_defaults(struct config_limits *l)
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
		config_wrong_type(ld, def, v, line, "a number");
		return;
	}
	r = json_number_value(v);
	if (!(r >= 0 && r <= 1e6)) {
		config_problem(ld, line, "%s.%s: %g is out of range 0..1000000 "
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

void
config_limits_rules(struct loader *ld, struct config *cfg)
{
	char why[256];

	if (limits_inconsistent(cfg, why, sizeof(why)) != NULL)
		config_problem(ld, config_first_line(json_object_get(ld->lines,
		    "limits")), "%s", why);
}

#define OFF(f) offsetof(struct config, f)

const struct key_def config_limits_table[] = {
	{ "limits", "auth_rate", set_rate, OFF(limits.auth_rate), 0, 0, NULL },
	{ "limits", "auth_burst", config_set_int, OFF(limits.auth_burst), 1,
	    1000000, NULL },
	{ "limits", "attest_rate", set_rate, OFF(limits.attest_rate), 0, 0,
	    NULL },
	{ "limits", "attest_burst", config_set_int, OFF(limits.attest_burst), 1,
	    1000000, NULL },
	{ "limits", "attestation_rate", set_rate, OFF(limits.attestation_rate),
	    0, 0, NULL },
	{ "limits", "attestation_burst", config_set_int,
	    OFF(limits.attestation_burst), 1, 1000000, NULL },
	{ "limits", "login_rate", set_rate, OFF(limits.login_rate), 0, 0,
	    NULL },
	{ "limits", "login_burst", config_set_int, OFF(limits.login_burst), 1,
	    1000000, NULL },
	{ "limits", "rate_sources", config_set_int, OFF(limits.rate_sources),
	    1024, 16777216, NULL },
	{ "limits", "max_sessions", config_set_int, OFF(limits.max_sessions),
	    10, 10000000, NULL },
	{ "limits", "max_unattested_per_source", config_set_int,
	    OFF(limits.max_unattested_per_source), 0, 10000000, NULL },
	{ "limits", "session_memory_mib", config_set_int,
	    OFF(limits.session_memory_mib), 1, 65536, NULL },
	{ "limits", "max_init_data", config_set_int, OFF(limits.max_init_data),
	    1024, 64 * 1024 * 1024, NULL },
	{ "limits", "max_token", config_set_int, OFF(limits.max_token), 4096,
	    64 * 1024 * 1024, NULL },
	{ "limits", "max_evidence_body", config_set_int,
	    OFF(limits.max_evidence_body), 16384, 64 * 1024 * 1024, NULL },
	{ "limits", "max_connections", config_set_int,
	    OFF(limits.max_connections), 16, 1000000, NULL },
	{ "limits", "max_connections_per_source", config_set_int,
	    OFF(limits.max_connections_per_source), 0, 1000000, NULL },
	{ "limits", "handshake_timeout", config_set_int,
	    OFF(limits.handshake_timeout_s), 1, 300, NULL },
	{ "limits", "request_timeout", config_set_int,
	    OFF(limits.request_timeout_s), 1, 3600, NULL },
	{ "limits", "idle_timeout", config_set_int, OFF(limits.idle_timeout_s),
	    1, 3600, NULL },
	{ "limits", "inflight_memory_mib", config_set_int,
	    OFF(limits.inflight_memory_mib), 1, 65536, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, NULL }
};

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
	if ((def = config_key_lookup("limits", name)) == NULL)
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
