/*
 * admin.c: authorization of admin requests (resource upload/delete now,
 * policies and reference values later). As in Trustee's bearer_jwt mode:
 * "Authorization: Bearer <JWT>" signed by one of the trusted admin public
 * keys, an integer "exp" in the future, and a string "role" claim. The
 * only role this build grants is "admin".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "../lib/jws.h"
#include "../lib/log.h"
#include "trusteed.h"

static enum admin_mode admin_mode;
static EVP_PKEY *admin_keys[CONFIG_MAX_ADMIN_KEYS];
static int admin_nkeys;

int
admin_init(const struct config *cfg, struct error *err)
{
	int i;

	admin_mode = cfg->admin_mode;
	if (admin_mode == ADMIN_INSECURE_ALLOW_ALL)
		log_warnx("admin mode insecure_allow_all: every admin request "
		    "is allowed without authentication");
	if (admin_mode != ADMIN_BEARER_JWT)
		return 0;
	if (cfg->nadmin_keys == 0)
		return error_set(err, "[admin] needs at least one public key");
	for (i = 0; i < cfg->nadmin_keys; i++) {
		FILE *f = fopen(cfg->admin_keys[i], "r");
		EVP_PKEY *k;

		if (f == NULL)
			return error_set(err, "%s: cannot open admin public key",
			    cfg->admin_keys[i]);
		k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		fclose(f);
		if (k == NULL || jws_alg_for_key(k) == NULL) {
			EVP_PKEY_free(k);
			return error_set(err, "%s: not a PEM public key of a "
			    "supported type (Ed25519, P-256, P-384, RSA)",
			    cfg->admin_keys[i]);
		}
		admin_keys[admin_nkeys++] = k;
	}
	return 0;
}

void
admin_shutdown(void)
{
	while (admin_nkeys > 0)
		EVP_PKEY_free(admin_keys[--admin_nkeys]);
}

int
admin_authorize(const struct http_request *req, struct error *err)
{
	const char *auth, *jwt;
	struct jws *j;
	struct error verr;
	json_t *exp, *role;
	int i, ok = 0;

	if (admin_mode == ADMIN_INSECURE_ALLOW_ALL)
		return 0;
	if (admin_mode == ADMIN_DENY_ALL)
		return error_set(err, "admin access is disabled "
		    "(mode deny_all)");
	auth = http_request_header(req, "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return error_set(err, "missing bearer token");
	jwt = auth + 7;
	j = jws_parse(jwt, strlen(jwt), &verr);
	if (j == NULL)
		return error_set(err, "malformed token: %s", verr.msg);
	for (i = 0; i < admin_nkeys && !ok; i++)
		ok = jws_verify(j, admin_keys[i], &verr) == 0;
	if (!ok) {
		jws_free(j);
		return error_set(err, "token signature does not verify under "
		    "any trusted admin key");
	}
	exp = json_object_get(j->payload, "exp");
	role = json_object_get(j->payload, "role");
	if (!json_is_integer(exp))
		error_set(err, "token has no integer exp claim");
	else if (json_integer_value(exp) <= now_unix())
		error_set(err, "token expired");
	else if (!json_is_string(role))
		error_set(err, "missing required `role` claim in token");
	else if (strcmp(json_string_value(role), "admin") != 0) {
		char esc[64];

		error_set(err, "role '%s' not allowed",
		    log_escape(json_string_value(role), esc, sizeof(esc)));
	} else {
		jws_free(j);
		return 0;
	}
	jws_free(j);
	return -1;
}
