/*
 * guest.c: the guest side of KBS protocol v0 (guest-components 0.4.0
 * wire format), as trusteectl and the benchmark play it with the sample
 * attester: /auth, /attest with report data bound to a fresh TEE key,
 * then resource GETs decrypted with that key.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "b64.h"
#include "guest.h"
#include "guest_internal.h"
#include "hash.h"
#include "jcs.h"
#include "jwe.h"
#include "jwk.h"
#include "log.h"

#define KBS_PROTOCOL_VERSION	"0.4.0"
/* Longest problem body text quoted in an error. */
#define PROBLEM_QUOTE_MAX	200

struct guest {
	EVP_PKEY *key;		/* TEE key pair (private part secret) */
	json_t *jwk;		/* its public TeePubKey JWK */
	char *token;		/* EAR token of the last attestation */
};

struct guest *
guest_new(enum guest_key_alg alg, struct error *err)
{
	struct guest *g = xcalloc(1, sizeof(*g));
	const char *jalg;

	switch (alg) {
	case GUEST_KEY_P256:
		g->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		jalg = "ECDH-ES+A256KW";
		break;
	case GUEST_KEY_P521:
		g->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		jalg = "ECDH-ES+A256KW";
		break;
	case GUEST_KEY_RSA_OAEP256:
		g->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		jalg = "RSA-OAEP-256";
		break;
	case GUEST_KEY_RSA1_5:
		g->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		jalg = "RSA1_5";
		break;
	default:
		error_set(err, "unknown TEE key algorithm %d", (int)alg);
		goto fail;
	}
	if (g->key == NULL) {
		error_set(err, "cannot generate the TEE key pair");
		goto fail;
	}
	g->jwk = jwk_from_pkey(g->key, jalg);
	if (g->jwk == NULL) {
		error_set(err, "cannot express the TEE public key as a JWK");
		goto fail;
	}
	return g;
fail:
	guest_free(g);
	return NULL;
}

void
guest_free(struct guest *g)
{
	if (g == NULL)
		return;
	/* EVP_PKEY_free clears the private key material (BN_clear_free). */
	EVP_PKEY_free(g->key);
	json_decref(g->jwk);
	secret_strfree(g->token);
	free(g);
}

const char *
guest_token(const struct guest *g)
{
	return g->token;
}

/* Copy len bytes of s into out (capacity cap) with anything but printable
 * ASCII as \xNN, truncating with "..." when it does not fit or when len
 * exceeds max. */
static const char *
escape_bytes(const uint8_t *s, size_t len, size_t max, char *out, size_t cap)
{
	size_t i, o = 0;
	int trunc = len > max;

	if (trunc)
		len = max;
	for (i = 0; i < len; i++) {
		char tmp[5];
		size_t n;

		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			tmp[0] = (char)s[i];
			n = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			n = 4;
		}
		if (o + n + 4 > cap) {
			trunc = 1;
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (trunc && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int
guest_problem(const char *what, const struct httpc_response *r,
    struct error *err)
{
	const uint8_t *data = r->body.data;
	const char *type, *detail, *slash;
	char etype[128], edetail[420];
	json_t *j = NULL;

	if (data == NULL || r->body.len == 0)
		return error_set(err, "%s: %d (empty response body)", what,
		    r->status);
	j = json_loadb((const char *)data, r->body.len, JSON_REJECT_DUPLICATES,
	    NULL);
	type = json_string_value(json_object_get(j, "type"));
	detail = json_string_value(json_object_get(j, "detail"));
	if (type == NULL || detail == NULL) {
		json_decref(j);
		return error_set(err, "%s: %d: %s", what, r->status,
		    escape_bytes(data, r->body.len, PROBLEM_QUOTE_MAX, edetail,
		    sizeof(edetail)));
	}
	slash = strrchr(type, '/');
	if (slash != NULL)
		type = slash + 1;
	error_set(err, "%s: %d %s: %s", what, r->status,
	    escape_bytes((const uint8_t *)type, strlen(type), 100, etype,
	    sizeof(etype)),
	    escape_bytes((const uint8_t *)detail, strlen(detail), 400, edetail,
	    sizeof(edetail)));
	json_decref(j);
	return -1;
}

int
guest_hash_from_challenge(const json_t *extra, enum hash_alg *out,
    struct error *err)
{
	const json_t *sel;
	char name[16];
	const char *s;
	size_t i, n;

	*out = HASH_SHA384;
	if (!json_is_object(extra))
		return 0;
	sel = json_object_get(extra, "selected-hash-algorithm");
	if (sel == NULL)
		return 0;
	if (!json_is_string(sel))
		return error_set(err, "extra-params.selected-hash-algorithm: "
		    "not a string");
	s = json_string_value(sel);
	n = json_string_length(sel);
	if (n >= sizeof(name) || strlen(s) != n)
		return error_set(err, "extra-params.selected-hash-algorithm: "
		    "unknown algorithm");
	for (i = 0; i <= n; i++)
		name[i] = (char)tolower((unsigned char)s[i]);
	if (hash_alg_from_name(name, out) == -1)
		return error_set(err, "extra-params.selected-hash-algorithm: "
		    "unknown algorithm '%s'", name);
	return 0;
}

int
guest_runtime_digest(const json_t *jwk, const char *nonce, enum hash_alg alg,
    uint8_t *out, size_t *len, struct error *err)
{
	json_t *obj;
	char *text;
	size_t n;
	int rc;

	obj = json_pack("{s:s, s:s, s:o}", "additional-evidence", "",
	    "nonce", nonce, "tee-pubkey", json_deep_copy(jwk));
	if (obj == NULL)
		return error_set(err, "runtime data: nonce or tee-pubkey "
		    "cannot be encoded");
	text = jcs_serialize(obj, &n);
	json_decref(obj);
	if (text == NULL)
		return error_set(err, "runtime data: cannot be canonicalized");
	rc = hash_digest(alg, text, n, out, len);
	free(text);
	if (rc == -1)
		return error_set(err, "hash %s is not available",
		    hash_alg_name(alg));
	return 0;
}

/* The client side of Token::new: a compact JWS whose payload is a JSON
 * object with integer iat/exp/nbf when present. */
static int
token_check(const char *tok, struct error *err)
{
	const char *d1, *d2, *claims[] = { "iat", "exp", "nbf" };
	uint8_t *raw = NULL;
	size_t rawlen, i;
	json_t *j;

	d1 = strchr(tok, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return error_set(err, "token: not a compact JWT");
	if (b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), B64_URL_NOPAD, &raw,
	    &rawlen) == -1)
		return error_set(err, "token: claims are not base64url");
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(j)) {
		json_decref(j);
		return error_set(err, "token: claims are not a JSON object");
	}
	for (i = 0; i < ARRAY_SIZE(claims); i++) {
		json_t *v = json_object_get(j, claims[i]);

		if (v != NULL && !json_is_integer(v)) {
			json_decref(j);
			return error_set(err, "token: claim %s is not an "
			    "integer", claims[i]);
		}
	}
	json_decref(j);
	return 0;
}

static json_t *
load_json(const struct httpc_response *r, const char *what, struct error *err)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb((const char *)r->body.data, r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		error_set(err, "%s: response is not JSON: %s", what, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		error_set(err, "%s: response is not a JSON object", what);
		return NULL;
	}
	return j;
}

/* POST a JSON body; 0 on a 200 answer (in resp), -1 otherwise. */
static int
post_json(struct httpc *c, const char *path, json_t *body,
    struct httpc_response *resp, struct error *err)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json", NULL
	};
	char *text, what[64];
	int rc;

	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL)
		return error_set(err, "POST %s: cannot encode the body", path);
	rc = httpc_request(c, "POST", path, hdrs, text, strlen(text), resp,
	    err);
	free(text);
	if (rc == -1)
		return -1;
	if (resp->status != 200) {
		snprintf(what, sizeof(what), "POST %s", path);
		return guest_problem(what, resp, err);
	}
	return 0;
}

/* The sample attester: {"svn":"1","report_data":base64 std(digest)}. */
static int
guest_sample_evidence(void *arg, const uint8_t *rd, size_t rdlen,
    json_t **evidence, struct error *err)
{
	char *b = b64_encode(rd, rdlen, B64_STD);

	(void)arg;
	*evidence = json_pack("{s:s, s:s}", "svn", "1", "report_data", b);
	free(b);
	if (*evidence == NULL)
		return error_set(err, "cannot build sample evidence");
	return 0;
}

int
guest_attest(struct guest *g, struct httpc *c, const char *tee,
    const char *init_data, size_t init_data_len, struct error *err)
{
	return guest_attest_evidence(g, c, tee, guest_sample_evidence, NULL,
	    init_data, init_data_len, err);
}

int
guest_attest_evidence(struct guest *g, struct httpc *c, const char *tee,
    guest_evidence_fn fn, void *arg, const char *init_data,
    size_t init_data_len, struct error *err)
{
	struct httpc_response resp = { 0 };
	json_t *req = NULL, *chal = NULL, *att = NULL, *initd, *ev = NULL;
	const char *nonce, *tok;
	uint8_t dig[HASH_MAX_SIZE];
	size_t dlen;
	enum hash_alg alg;
	int rc = -1;

	secret_strfree(g->token);
	g->token = NULL;

	req = json_pack("{s:s, s:s, s:{s:[s,s,s,s]}}",
	    "version", KBS_PROTOCOL_VERSION, "tee", tee,
	    "extra-params", "supported-hash-algorithms",
	    "sha256", "sha384", "sha512", "sm3");
	if (req == NULL) {
		error_set(err, "tee name cannot be encoded");
		goto out;
	}
	if (post_json(c, "/kbs/v0/auth", req, &resp, err) == -1)
		goto out;
	if ((chal = load_json(&resp, "POST /kbs/v0/auth", err)) == NULL)
		goto out;
	httpc_response_clear(&resp);
	nonce = json_string_value(json_object_get(chal, "nonce"));
	if (nonce == NULL) {
		error_set(err, "POST /kbs/v0/auth: challenge has no string "
		    "\"nonce\"");
		goto out;
	}
	if (json_object_get(chal, "extra-params") == NULL) {
		error_set(err, "POST /kbs/v0/auth: challenge has no "
		    "\"extra-params\"");
		goto out;
	}
	if (guest_hash_from_challenge(json_object_get(chal, "extra-params"),
	    &alg, err) == -1) {
		error_prefix(err, "POST /kbs/v0/auth: challenge");
		goto out;
	}
	log_debug("challenge: hash %s", hash_alg_name(alg));
	if (guest_runtime_digest(g->jwk, nonce, alg, dig, &dlen, err) == -1)
		goto out;
	if (fn(arg, dig, dlen, &ev, err) == -1) {
		error_prefix(err, "evidence");
		goto out;
	}

	if (init_data != NULL) {
		json_t *body = json_stringn(init_data, init_data_len);

		if (body == NULL) {
			error_set(err, "init-data: not valid UTF-8 text");
			goto out;
		}
		initd = json_pack("{s:s, s:o}", "format", "toml", "body", body);
	} else
		initd = json_null();
	att = json_pack("{s:o, s:{s:s, s:O}, s:{s:O, s:s}}",
	    "init-data", initd,
	    "runtime-data", "nonce", nonce, "tee-pubkey", g->jwk,
	    "tee-evidence", "primary_evidence", ev,
	    "additional_evidence", "");
	if (att == NULL) {
		error_set(err, "cannot build the attestation request");
		goto out;
	}
	if (post_json(c, "/kbs/v0/attest", att, &resp, err) == -1)
		goto out;
	json_decref(req);
	if ((req = load_json(&resp, "POST /kbs/v0/attest", err)) == NULL)
		goto out;
	tok = json_string_value(json_object_get(req, "token"));
	if (tok == NULL) {
		error_set(err, "POST /kbs/v0/attest: response has no string "
		    "\"token\"");
		goto out;
	}
	if (token_check(tok, err) == -1) {
		error_prefix(err, "POST /kbs/v0/attest");
		goto out;
	}
	g->token = xstrdup(tok);
	rc = 0;
out:
	httpc_response_clear(&resp);
	json_decref(req);
	json_decref(chal);
	json_decref(att);
	json_decref(ev);
	return rc;
}

/* guest_get / guest_get_locked. */
static int
guest_get_to(struct guest *g, struct httpc *c, const char *path, int bearer,
    int locked, uint8_t **out, size_t *outlen, struct error *err)
{
	struct httpc_response resp = { 0 };
	const char *hdrs[2] = { NULL, NULL };
	char *uri, *auth = NULL, what[300], esc[256];
	int saved = httpc_cookies_enabled(c), rc = -1;

	*out = NULL;
	*outlen = 0;
	while (*path == '/')
		path++;
	uri = xasprintf("/kbs/v0/%s", path);
	snprintf(what, sizeof(what), "GET %s",
	    log_escape(uri, esc, sizeof(esc)));
	if (bearer) {
		if (g->token == NULL) {
			error_set(err, "%s: no attestation token (attest "
			    "first)", what);
			goto out;
		}
		auth = xasprintf("Authorization: Bearer %s", g->token);
		hdrs[0] = auth;
		/* Passport mode, as CDH does it: the token alone, no
		 * session cookie. */
		httpc_set_cookies(c, 0);
	}
	rc = httpc_request(c, "GET", uri, hdrs, NULL, 0, &resp, err);
	httpc_set_cookies(c, saved);
	if (rc == -1)
		goto out;
	rc = -1;
	if (resp.status != 200) {
		guest_problem(what, &resp, err);
		goto out;
	}
	if ((locked ? jwe_decrypt_locked : jwe_decrypt)(
	    (const char *)resp.body.data, resp.body.len, g->key, out, outlen,
	    err) == -1) {
		error_prefix(err, "%s: cannot decrypt the response", what);
		goto out;
	}
	rc = 0;
out:
	httpc_response_clear(&resp);
	secret_strfree(auth);
	free(uri);
	return rc;
}

int
guest_get(struct guest *g, struct httpc *c, const char *path, int bearer,
    uint8_t **out, size_t *outlen, struct error *err)
{
	return guest_get_to(g, c, path, bearer, 0, out, outlen, err);
}

int
guest_get_locked(struct guest *g, struct httpc *c, const char *path,
    int bearer, uint8_t **out, size_t *outlen, struct error *err)
{
	return guest_get_to(g, c, path, bearer, 1, out, outlen, err);
}
