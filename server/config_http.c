/*
 * config_http.c: the [http_server] section of trusteed's configuration
 * (listen addresses, TLS certificate and key, request body size, worker
 * threads) and its rule that TLS needs a certificate and a key. The
 * loader itself is config.c (config_int.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/log.h"
#include "config_int.h"
#include "trusteed.h"

static const char *const tls_versions[] = { "1.2", "1.3", NULL };

/* payload_request_size (MiB) and max_body_bytes set the same limit. */
static void
set_body(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	long long n;

	if (ld->body_line != 0) {
		config_problem(ld, line, "http_server: payload_request_size "
		    "and max_body_bytes both set (line %d); use one",
		    ld->body_line);
		return;
	}
	ld->body_line = line;
	if (config_get_int(ld, def, v, line, &n) == -1)
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
		config_wrong_type(ld, def, v, line, "an array of strings");
		return;
	}
	n = json_array_size(v);
	if (n == 0 || n > CONFIG_MAX_LISTEN) {
		config_problem(ld, line, "http_server.listen: needs 1 to %d "
		    "addresses, got %zu", CONFIG_MAX_LISTEN, n);
		ok = 0;
	}
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (!json_is_string(item)) {
			config_problem(ld, line, "http_server.listen[%zu]: "
			    "expected a string, got %s", i,
			    config_type_name(item));
			ok = 0;
			continue;
		}
		if (listen_valid(s, why, sizeof(why)) == -1) {
			config_problem(ld, line, "http_server.listen: \"%s\": "
			    "%s", log_escape(s, esc, sizeof(esc)), why);
			ok = 0;
			continue;
		}
		for (j = 0; j < i; j++)
			if (json_is_string(json_array_get(v, j)) &&
			    strcmp(s, json_string_value(json_array_get(v,
			    j))) == 0) {
				config_problem(ld, line, "http_server.listen: "
				    "\"%s\" listed twice", log_escape(s, esc,
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

/* Requirements that span [http_server] keys. */
void
config_http_rules(struct loader *ld, struct config *cfg, json_t *doc)
{
	json_t *http = json_object_get(doc, "http_server");
	json_t *v;
	int hline = config_first_line(json_object_get(ld->lines,
	    "http_server"));

	/* A requirement that hinges on a key which is itself wrong would
	 * only repeat that problem, so it is skipped. */
	v = json_object_get(http, "insecure_http");
	if (!cfg->insecure_http && (v == NULL || json_is_boolean(v))) {
		if (cfg->tls_cert == NULL &&
		    json_object_get(http, "certificate") == NULL)
			config_problem(ld, hline, "http_server.certificate is "
			    "required unless insecure_http = true");
		if (cfg->tls_key == NULL &&
		    json_object_get(http, "private_key") == NULL)
			config_problem(ld, hline, "http_server.private_key is "
			    "required unless insecure_http = true");
	}
}

#define OFF(f) offsetof(struct config, f)

const struct key_def config_http_table[] = {
	{ "http_server", "listen", set_listen, 0, 0, 0, NULL },
	{ "http_server", "insecure_http", config_set_bool, OFF(insecure_http),
	    0, 0, NULL },
	{ "http_server", "certificate", config_set_path, OFF(tls_cert), 0, 0,
	    NULL },
	{ "http_server", "private_key", config_set_path, OFF(tls_key), 0, 0,
	    NULL },
	{ "http_server", "tls_min_version", config_set_string,
	    OFF(tls_min_version), 0, 0, tls_versions },
	{ "http_server", "payload_request_size", set_body, 0, 1, 64, NULL },
	{ "http_server", "max_body_bytes", set_body, 0, 1024, 64 * 1024 * 1024,
	    NULL },
	{ "http_server", "workers", config_set_int, OFF(workers), 1, 64, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, NULL }
};
