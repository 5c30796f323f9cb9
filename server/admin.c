/*
 * admin.c: authentication and authorization of admin requests, for the
 * native API (/api/v1, built-in roles decided in api.c) and for Trustee's
 * admin endpoints under /kbs/v0 (role "admin" in the simple form, regex
 * ACLs in the Trustee form). See docs/api.md §2 and §9.
 *
 * Keys are loaded once at start (PEM public keys, JWKS files); nothing is
 * fetched over the network. The state is read-only after admin_init, so
 * the functions below are thread-safe.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "../lib/jwk.h"
#include "../lib/jws.h"
#include "../lib/log.h"
#include "trusteed.h"

#define ADMIN_LEEWAY_S 60		/* exp/nbf leeway, as Trustee */
#define ADMIN_JWKS_MAX ((size_t)1024 * 1024)
#define ADMIN_MAX_KEYS 64		/* per identity provider */

struct admin_key {
	EVP_PKEY *pkey;
	char *kid;			/* JWKS "kid", or NULL */
	char *alg;			/* JWKS "alg", or NULL */
};

struct admin_idp {
	char *issuer;
	char *audience;
	struct admin_key keys[ADMIN_MAX_KEYS];
	int nkeys;
};

struct admin_acl {
	char *role;
	regex_t rx;
};

static enum admin_mode admin_mode;
static int64_t admin_max_lifetime = 86400;
static struct admin_idp admin_idps[CONFIG_MAX_ADMIN_IDPS];
static int admin_nidps;
static struct admin_acl admin_acls[CONFIG_MAX_ADMIN_ACLS];
static int admin_nacls;
static int admin_trustee_form;

/* --------------------------------------------------------------- keys */

static int
admin_load_pem(struct admin_idp *p, const char *path, struct error *err)
{
	FILE *f;
	EVP_PKEY *k;

	if (p->nkeys == ADMIN_MAX_KEYS)
		return error_set(err, "%s: too many keys", path);
	if ((f = fopen(path, "r")) == NULL)
		return error_set(err, "%s: cannot open admin public key", path);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || jws_alg_for_key(k) == NULL) {
		EVP_PKEY_free(k);
		return error_set(err, "%s: not a PEM public key of a supported "
		    "type (Ed25519, P-256, P-384, RSA)", path);
	}
	p->keys[p->nkeys++].pkey = k;
	return 0;
}

static int
admin_load_jwks(struct admin_idp *p, const char *path, struct error *err)
{
	struct error jerr;
	json_error_t je;
	uint8_t *text = NULL;
	size_t len, i;
	json_t *doc, *keys, *k;
	int n = 0;

	if (file_read_all(path, ADMIN_JWKS_MAX, &text, &len, err) != 0)
		return -1;
	doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (doc == NULL)
		return error_set(err, "%s: invalid JSON at line %d: %s", path,
		    je.line, je.text);
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		json_decref(doc);
		return error_set(err, "%s: not a JWK set (no \"keys\" array)",
		    path);
	}
	json_array_foreach(keys, i, k) {
		const char *use = json_string_value(json_object_get(k, "use"));
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *alg = json_string_value(json_object_get(k, "alg"));
		EVP_PKEY *pk = NULL;

		if (use != NULL && strcmp(use, "sig") != 0)
			continue;	/* encryption keys do not sign */
		if (jwk_to_pkey(k, &pk, &jerr) != 0) {
			json_decref(doc);
			return error_set(err, "%s: keys[%zu]: %s", path, i,
			    jerr.msg);
		}
		if (p->nkeys == ADMIN_MAX_KEYS) {
			EVP_PKEY_free(pk);
			json_decref(doc);
			return error_set(err, "%s: more than %d keys", path,
			    ADMIN_MAX_KEYS);
		}
		p->keys[p->nkeys].pkey = pk;
		p->keys[p->nkeys].kid = kid != NULL ? xstrdup(kid) : NULL;
		p->keys[p->nkeys].alg = alg != NULL ? xstrdup(alg) : NULL;
		p->nkeys++;
		n++;
	}
	json_decref(doc);
	if (n == 0)
		return error_set(err, "%s: the JWK set holds no signing key",
		    path);
	return 0;
}

int
admin_init(const struct config *cfg, struct error *err)
{
	int i;

	admin_shutdown();
	admin_mode = cfg->admin_mode;
	admin_max_lifetime = cfg->admin_max_token_lifetime_s > 0 ?
	    cfg->admin_max_token_lifetime_s : 86400;
	admin_trustee_form = cfg->admin_trustee_form;
	switch (admin_mode) {
	case ADMIN_INSECURE_ALLOW_ALL:
		log_warnx("*** admin authorization mode %s: EVERY admin "
		    "request is allowed WITHOUT authentication; never use this "
		    "outside a test bench ***", admin_mode_name());
		return 0;
	case ADMIN_DENY_ALL:
		log_info("admin authorization mode %s: every admin request is "
		    "refused", admin_mode_name());
		return 0;
	case ADMIN_BEARER_JWT:
		if (cfg->nadmin_keys == 0)
			return error_set(err, "[admin] needs at least one "
			    "public key");
		admin_nidps = 1;
		for (i = 0; i < cfg->nadmin_keys; i++)
			if (admin_load_pem(&admin_idps[0], cfg->admin_keys[i],
			    err) != 0)
				goto fail;
		return 0;
	case ADMIN_AUTHENTICATED:
		break;
	}
	if (cfg->nadmin_idps == 0)
		return error_set(err, "[admin.authentication.bearer_jwt] needs "
		    "at least one identity provider");
	for (i = 0; i < cfg->nadmin_idps; i++) {
		const struct config_admin_idp *c = &cfg->admin_idps[i];
		struct admin_idp *p = &admin_idps[admin_nidps++];

		p->issuer = c->issuer != NULL ? xstrdup(c->issuer) : NULL;
		p->audience = c->audience != NULL ? xstrdup(c->audience) : NULL;
		if ((c->public_key != NULL && admin_load_pem(p, c->public_key,
		    err) != 0) || (c->jwk_set != NULL && admin_load_jwks(p,
		    c->jwk_set, err) != 0)) {
			error_prefix(err, "identity provider %d", i + 1);
			goto fail;
		}
	}
	for (i = 0; i < cfg->nadmin_acls; i++) {
		struct admin_acl *a = &admin_acls[admin_nacls];

		if (regcomp(&a->rx, cfg->admin_acls[i].regex, REG_EXTENDED |
		    REG_NOSUB) != 0) {
			error_set(err, "ACL %d: the regex does not compile",
			    i + 1);
			goto fail;
		}
		a->role = xstrdup(cfg->admin_acls[i].role);
		admin_nacls++;
	}
	return 0;
fail:
	admin_shutdown();
	return -1;
}

void
admin_shutdown(void)
{
	int i, j;

	for (i = 0; i < admin_nidps; i++) {
		struct admin_idp *p = &admin_idps[i];

		for (j = 0; j < p->nkeys; j++) {
			EVP_PKEY_free(p->keys[j].pkey);
			free(p->keys[j].kid);
			free(p->keys[j].alg);
		}
		free(p->issuer);
		free(p->audience);
		memset(p, 0, sizeof(*p));
	}
	admin_nidps = 0;
	for (i = 0; i < admin_nacls; i++) {
		free(admin_acls[i].role);
		regfree(&admin_acls[i].rx);
	}
	admin_nacls = 0;
}

const char *
admin_mode_name(void)
{
	switch (admin_mode) {
	case ADMIN_BEARER_JWT:
		return "bearer_jwt";
	case ADMIN_DENY_ALL:
		return admin_trustee_form ? "DenyAll" : "deny_all";
	case ADMIN_INSECURE_ALLOW_ALL:
		return admin_trustee_form ? "InsecureAllowAll" :
		    "insecure_allow_all";
	case ADMIN_AUTHENTICATED:
		return "AuthenticatedAuthorization";
	}
	return "unknown";
}

/* ------------------------------------------------------ authentication */

/* 1 if some key of p verifies j (honouring the JWKS kid and alg). */
static int
admin_idp_verifies(const struct admin_idp *p, const struct jws *j)
{
	const char *kid = json_string_value(json_object_get(j->header, "kid"));
	struct error verr;
	int i;

	for (i = 0; i < p->nkeys; i++) {
		const struct admin_key *k = &p->keys[i];

		if (k->kid != NULL && kid != NULL && strcmp(k->kid, kid) != 0)
			continue;
		if (k->alg != NULL && strcmp(k->alg, j->alg) != 0)
			continue;
		if (jws_verify(j, k->pkey, &verr) == 0)
			return 1;
	}
	return 0;
}

static int
admin_aud_matches(const json_t *aud, const char *want)
{
	const json_t *v;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud))
		json_array_foreach(aud, i, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), want) == 0)
				return 1;
	return 0;
}

/* The identity provider that vouches for j: signature, then iss/aud. */
static int
admin_find_idp(const struct jws *j, struct error *err)
{
	const char *why = "token signature does not verify under any trusted "
	    "admin key";
	const json_t *iss;
	int i;

	for (i = 0; i < admin_nidps; i++) {
		const struct admin_idp *p = &admin_idps[i];

		if (!admin_idp_verifies(p, j))
			continue;
		iss = json_object_get(j->payload, "iss");
		if (p->issuer != NULL && (!json_is_string(iss) ||
		    strcmp(json_string_value(iss), p->issuer) != 0)) {
			why = "token iss does not match the issuer of the "
			    "identity provider whose key signed it";
			continue;
		}
		if (p->audience != NULL && !admin_aud_matches(json_object_get(
		    j->payload, "aud"), p->audience)) {
			why = "token aud does not name the audience of the "
			    "identity provider whose key signed it";
			continue;
		}
		return 0;
	}
	return error_set(err, "%s", why);
}

/* A claim string safe to log and to put into actor names. */
static int
admin_claim_ok(const char *s, size_t cap)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= cap)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * exp, nbf and the lifetime. The claims are any int64 (INT64_MAX too), so
 * every comparison is arranged around `now` (a sane time) and never adds
 * to a claim. The lifetime is exp - iat when iat is an integer, and the
 * time left (exp - now) in any case; either above the maximum
 * ([admin] max_token_lifetime) refuses the token, so that a leaked token
 * is useless after at most that long.
 */
static int
admin_check_times(const json_t *c, int64_t now, struct error *err)
{
	const json_t *exp = json_object_get(c, "exp");
	const json_t *nbf = json_object_get(c, "nbf");
	const json_t *iat = json_object_get(c, "iat");
	int64_t e, i, life;

	if (!json_is_integer(exp))
		return error_set(err, "token has no integer exp claim");
	e = (int64_t)json_integer_value(exp);
	if (e <= now - ADMIN_LEEWAY_S)
		return error_set(err, "token expired");
	if (nbf != NULL && (!json_is_integer(nbf) ||
	    (int64_t)json_integer_value(nbf) > now + ADMIN_LEEWAY_S))
		return error_set(err, "token not valid yet (nbf)");
	if (e - now > admin_max_lifetime + ADMIN_LEEWAY_S)
		return error_set(err, "token lifetime too long: it expires in "
		    "%lld s, at most %lld s are accepted ([admin] "
		    "max_token_lifetime)", (long long)(e - now),
		    (long long)admin_max_lifetime);
	if (json_is_integer(iat)) {
		i = (int64_t)json_integer_value(iat);
		if (__builtin_sub_overflow(e, i, &life) ||
		    life > admin_max_lifetime)
			return error_set(err, "token lifetime too long: exp - "
			    "iat is more than %lld s ([admin] "
			    "max_token_lifetime)", (long long)admin_max_lifetime);
	}
	return 0;
}

static int
admin_check_claims(const json_t *c, struct admin_identity *id,
    struct error *err)
{
	const json_t *exp = json_object_get(c, "exp");
	const json_t *role = json_object_get(c, "role");
	const json_t *sub = json_object_get(c, "sub");
	int64_t now = now_unix();
	char esc[80];

	if (admin_check_times(c, now, err) != 0)
		return -1;
	if (role == NULL)
		return error_set(err, "missing required `role` claim in token");
	if (!json_is_string(role))
		return error_set(err, "the `role` claim must be a string");
	if (!admin_claim_ok(json_string_value(role), sizeof(id->role)))
		return error_set(err, "role '%s' is not a valid role name",
		    log_escape(json_string_value(role), esc, sizeof(esc)));
	if (sub != NULL && (!json_is_string(sub) ||
	    !admin_claim_ok(json_string_value(sub), sizeof(id->sub))))
		return error_set(err, "the `sub` claim must be a string of "
		    "1..%zu printable bytes", sizeof(id->sub) - 1);
	snprintf(id->role, sizeof(id->role), "%s", json_string_value(role));
	snprintf(id->sub, sizeof(id->sub), "%s",
	    sub != NULL ? json_string_value(sub) : "");
	snprintf(id->actor, sizeof(id->actor), "%s%s(%s)", id->sub,
	    id->sub[0] != '\0' ? " " : "", id->role);
	id->exp = json_integer_value(exp);
	return 0;
}

enum admin_result
admin_authenticate(const struct http_request *req, struct admin_identity *id,
    struct error *err)
{
	const char *auth, *jwt;
	struct jws *j;
	struct error perr;
	int rc;

	memset(id, 0, sizeof(*id));
	if (admin_mode == ADMIN_INSECURE_ALLOW_ALL) {
		snprintf(id->role, sizeof(id->role), "admin");
		snprintf(id->actor, sizeof(id->actor), "anonymous");
		return ADMIN_OK;
	}
	if (admin_mode == ADMIN_DENY_ALL) {
		error_set(err, "admin access is disabled (authorization mode "
		    "%s)", admin_mode_name());
		return ADMIN_FORBIDDEN;
	}
	auth = http_request_header(req, "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		error_set(err, "missing bearer token (Authorization: Bearer "
		    "<JWT>)");
		return ADMIN_UNAUTHENTICATED;
	}
	jwt = auth + 7;
	while (*jwt == ' ')
		jwt++;
	j = jws_parse(jwt, strlen(jwt), &perr);
	if (j == NULL) {
		error_set(err, "malformed token: %s", perr.msg);
		return ADMIN_UNAUTHENTICATED;
	}
	rc = admin_find_idp(j, err) == 0 &&
	    admin_check_claims(j->payload, id, err) == 0;
	jws_free(j);
	if (!rc) {
		memset(id, 0, sizeof(*id));
		return ADMIN_UNAUTHENTICATED;
	}
	return ADMIN_OK;
}

/* ------------------------------------------------------- authorization */

int
admin_acl_allows(const char *role, const char *target)
{
	int i;

	for (i = 0; i < admin_nacls; i++)
		if (strcmp(admin_acls[i].role, role) == 0 &&
		    regexec(&admin_acls[i].rx, target, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

int
admin_authorize_kbs(const struct http_request *req,
    struct admin_identity *id, struct error *err)
{
	char esc[64], tesc[160];

	switch (admin_authenticate(req, id, err)) {
	case ADMIN_OK:
		break;
	default:
		return -1;
	}
	if (admin_mode == ADMIN_INSECURE_ALLOW_ALL)
		return 0;
	if (admin_mode == ADMIN_AUTHENTICATED) {
		if (admin_acl_allows(id->role, req->target))
			return 0;
		return error_set(err, "role '%s' not allowed for path %s",
		    log_escape(id->role, esc, sizeof(esc)),
		    log_escape(req->target, tesc, sizeof(tesc)));
	}
	if (strcmp(id->role, "admin") == 0)
		return 0;
	return error_set(err, "role '%s' not allowed (the Trustee-compatible "
	    "admin endpoints need role admin)", log_escape(id->role, esc,
	    sizeof(esc)));
}
