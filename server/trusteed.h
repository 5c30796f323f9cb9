/*
 * trusteed.h: interfaces between the daemon's files, one section per file
 * (functions carry the file's name as prefix).
 */
#ifndef TRUSTEED_H
#define TRUSTEED_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "../lib/util.h"
#include "../lib/hash.h"
#include "../store/store.h"

#define TRUSTEE_VERSION "0.1.0"
#define KBS_PROTOCOL_VERSION "0.4.0"
#define KBS_ERROR_PREFIX "https://github.com/confidential-containers/kbs/errors/"

/* ---------------------------------------------------------------- config.c */

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_ADMIN_KEYS 16

enum resource_policy_mode {
	RPOLICY_DEFAULT,	/* allow plugin "resource" unless the TEE is sample */
	RPOLICY_ALLOW_ALL,	/* allow plugin "resource" for any attested TEE */
	RPOLICY_DENY_ALL
};

enum admin_mode {
	ADMIN_BEARER_JWT,	/* Bearer JWT signed by a trusted key, role required */
	ADMIN_DENY_ALL,
	ADMIN_INSECURE_ALLOW_ALL,
	ADMIN_AUTHENTICATED	/* Trustee's AuthenticatedAuthorization:
				 * identity providers + regex ACLs */
};

#define CONFIG_MAX_ADMIN_IDPS 16
#define CONFIG_MAX_ADMIN_ACLS 64

/* [admin.authentication.bearer_jwt] identity_providers = [{...}] */
struct config_admin_idp {
	char *issuer;		/* JWT "iss" must equal it, or NULL */
	char *audience;		/* must be in JWT "aud", or NULL */
	char *public_key;	/* PEM file (resolved path), or NULL */
	char *jwk_set;		/* JWKS file (resolved path), or NULL */
};

/* [admin.authorization.regex_acl] acls = [{role, allowed_endpoints}] */
struct config_admin_acl {
	char *role;
	char *regex;		/* POSIX ERE, anchored ^/kbs...$ (checked) */
};

struct config {
	char *path;			/* config file, NULL in --dev */
	/* [http_server] */
	char *listen[CONFIG_MAX_LISTEN];	/* "IP:PORT" / "[IPv6]:PORT" */
	int nlisten;
	int insecure_http;
	char *tls_cert;			/* PEM chain */
	char *tls_key;			/* PEM private key (0600) */
	char *tls_min_version;		/* "1.2" (default) or "1.3" */
	size_t max_body;		/* bytes; default 2 MiB */
	int workers;			/* event loops; default = CPUs */
	/* [attestation] */
	int session_lifetime_s;		/* default 300 */
	int token_lifetime_s;		/* EAR exp - iat; default 300 */
	/* [verifier] (see verifier/verifier.h, struct verifier_config) */
	char *snp_cert_cache;		/* offline VCEK/VLEK cache dir, or NULL */
	char *snp_kds_url;		/* AMD KDS base URL; NULL = never fetch */
	char *dcap_collateral;		/* PCS v4 body dir or PCS-tool JSON */
	char *dcap_pccs_url;		/* PCCS / PCS base URL, or NULL */
	char *dcap_cache_dir;		/* on-disk cache of PCCS fetches */
	/* [storage] */
	char *state_dir;		/* default /var/lib/trustee */
	char *store_type;		/* "sqlite" */
	char *store_path;		/* default <state_dir>/trustee.db */
	char *sealer;			/* [sealer] kind (or the older
					 * [storage] sealer): "file" default */
	char *data_key_file;		/* [sealer] key_file (or [storage]
					 * data_key_file); default
					 * <state_dir>/data.key */
	/* [store] (see store/store.h, struct store_options) */
	char *store_dsn;		/* NULL: "sqlite:" store_path */
	char *store_password_file;	/* MariaDB password (0600), or NULL */
	int store_timeout_ms;		/* every database operation; 5000 */
	int store_poll_ms;		/* watch / heartbeat period; 1000 */
	/* [sealer] per-kind settings (store/seal.h, struct seal_config) */
	char *seal_tcti;		/* tpm2 */
	char *seal_pcrs;		/* tpm2 */
	char *seal_device;		/* snp */
	char *seal_passphrase_file;	/* passphrase */
	char *seal_passphrase_credential; /* passphrase */
	int seal_passphrase_fd;		/* passphrase; -1 = none */
	/* [audit] (server/audit.h) */
	int audit_admin_retention_days;	/* default 365 */
	int audit_guest_records;	/* default 10000 */
	int audit_guest_per_minute;	/* default 600 */
	/* [admin] */
	enum admin_mode admin_mode;
	int admin_trustee_form;		/* set by authorization_mode = ... */
	char *admin_keys[CONFIG_MAX_ADMIN_KEYS];	/* PEM public keys */
	int nadmin_keys;
	struct config_admin_idp admin_idps[CONFIG_MAX_ADMIN_IDPS];
	int nadmin_idps;
	struct config_admin_acl admin_acls[CONFIG_MAX_ADMIN_ACLS];
	int nadmin_acls;
	/* [policy] */
	enum resource_policy_mode resource_policy;	/* seeds the first
					 * stored resource policy */
	int policy_instructions;	/* Lua instruction budget per call
					 * (in thousands); default 10000 */
	int policy_memory_kib;		/* Lua memory cap per state; 16384 */
	/* runtime */
	int dev;			/* --dev: warn loudly */
	int debug;
	json_t *lines;			/* line of each key (config_line) */
};

/* Fill *cfg with the built-in defaults (no allocation failures). */
void config_defaults(struct config *cfg);
/*
 * Parse the TOML config file at path into *cfg (on top of defaults).
 * Every problem is printed to stderr as "path:line: message" (all of them,
 * not just the first). Returns the number of errors (0 = usable).
 * Unknown sections/keys and wrong types are errors. Files holding secrets
 * (tls_key, data_key_file) must not be group/world accessible; that is
 * checked at use, not here.
 */
int config_load(const char *path, struct config *cfg);
void config_free(struct config *cfg);
/* The line of [section] key in the loaded file, 0 if not given there. */
int config_line(const struct config *cfg, const char *section,
    const char *key);
/* Where a setting came from, for messages: "FILE:LINE" when the config
 * file set it, else fallback (a flag such as "--store", or NULL: the
 * file name, or "--dev"). Returns buf. */
const char *config_where(const struct config *cfg, const char *section,
    const char *key, const char *fallback, char *buf, size_t cap);
/* The sealer and store settings as the store layer takes them (strings
 * borrowed from cfg). */
struct seal_config;
struct store_options;
void config_store_options(const struct config *cfg, struct seal_config *sc,
    struct store_options *so);

/* ------------------------------------------------------------------ http.c */

enum http_method {
	HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_DELETE,
	HTTP_M_OTHER
};

struct http_header {
	char *name;
	char *value;
};

/* One parsed request. Strings are NUL-terminated; body is NUL-terminated
 * too (not counted in body_len). Valid only during the handler call. */
struct http_request {
	enum http_method method;
	const char *method_name;	/* "GET", ... as received */
	char *target;			/* raw request-target: path[?query] */
	char *path;			/* target before '?', not decoded */
	char *query;			/* after '?', or NULL */
	struct http_header *headers;
	size_t nheaders;
	uint8_t *body;
	size_t body_len;
	char peer[64];			/* "ip:port" of the client */
	int tls;			/* arrived over TLS */
};

struct http_response {
	int status;
	struct buf headers;	/* extra header lines, each "Name: value\r\n" */
	struct buf body;
	int close;		/* close the connection after this response */
};

/* Case-insensitive lookup of the first header with this name. */
const char *http_request_header(const struct http_request *r, const char *name);
/* Copy the value of cookie `name` (from any Cookie header) into out
 * (capacity cap). 0 if found and it fit, -1 otherwise. */
int http_request_cookie(const struct http_request *r, const char *name,
    char *out, size_t cap);
/* Add a header line (value formatted; CR/LF are refused, i.e. dropped). */
void http_response_header(struct http_response *resp, const char *name,
    const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Set body (replacing any) and Content-Type (NULL: no Content-Type). */
void http_response_body(struct http_response *resp, const char *content_type,
    const void *data, size_t len);
/*
 * A problem response: status, Content-Type application/json and body
 * {"type":KBS_ERROR_PREFIX <type>,"detail":<detail>} (keys in that order,
 * valid JSON whatever bytes detail holds).
 */
void http_problem(struct http_response *resp, int status, const char *type,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

typedef void (*http_handler_fn)(struct http_request *req,
    struct http_response *resp, void *arg);

struct http_server_config {
	char *const *listen;	/* "IP:PORT" / "[IPv6]:PORT"; port 0 = any */
	size_t nlisten;
	SSL_CTX *tls;		/* NULL: plain HTTP (insecure_http) */
	size_t max_body;	/* larger bodies get 413 PayloadTooLarge */
	size_t max_header;	/* request line + headers; 0 = 64 KiB */
	int workers;		/* event-loop threads; 0 = 1 */
	int idle_timeout_s;	/* keep-alive idle timeout; 0 = 60 */
	http_handler_fn handler;
	void *arg;
};

struct http_server;
/*
 * Bind every listener (SO_REUSEPORT, one listening socket per worker per
 * address) and start the worker threads, each with its own event_base.
 * The handler runs on a worker thread; it must be thread-safe.
 * Returns NULL with err set if any address cannot be bound.
 */
struct http_server *http_server_start(const struct http_server_config *cfg,
    struct error *err);
/* The port actually bound for listen address i (useful with port 0). */
int http_server_port(const struct http_server *s, size_t i);
/* Stop accepting, let in-flight requests finish (bounded), join threads. */
void http_server_stop(struct http_server *s);

/* ------------------------------------------------------------------- tls.c */

/* Server TLS context: TLS >= min_version ("1.2"/"1.3"), AEAD-only
 * TLS 1.2 ciphers with forward secrecy, groups X25519:P-256:P-384,
 * no renegotiation, no compression, no session tickets across restarts.
 * The key file must not be group/world accessible. */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file,
    const char *min_version, struct error *err);

/* --------------------------------------------------------------- session.c */

#define SESSION_ID_LEN 32		/* lowercase hex */
#define SESSION_NONCE_LEN 44		/* std base64 of 32 bytes */

enum session_state { SESSION_AUTHED, SESSION_ATTESTED };

/* A copy of a session record; release with session_clear. */
struct session {
	char id[SESSION_ID_LEN + 1];
	char tee[32];
	char nonce[SESSION_NONCE_LEN + 1];
	enum hash_alg hash;		/* negotiated runtime-data hash */
	int64_t expires;		/* unix seconds */
	enum session_state state;
	int nonce_used;
	char *token;			/* EAR token when attested */
};

void session_init(int lifetime_s);
void session_shutdown(void);
/* Create a fresh session (random id and nonce). */
int session_new(const char *tee, enum hash_alg hash, struct session *out);
/* 0 and a copy if present and unexpired; -1 otherwise (expired ones are
 * removed). */
int session_get(const char *id, struct session *out);
/*
 * Atomically consume the session's nonce for an /attest: succeeds (0) only
 * if the session exists, is unexpired, and its nonce is unused and equals
 * `nonce` (constant-time). Fills *out. On failure returns -1 with a reason.
 */
int session_take_nonce(const char *id, const char *nonce, struct session *out,
    struct error *err);
int session_set_attested(const char *id, const char *token);
void session_clear(struct session *s);
/* Drop expired sessions; returns how many were dropped. */
int session_gc(void);
size_t session_count(void);

/* ----------------------------------------------------------------- token.c */

/* Load the EAR signing key (P-256) from the store, creating it on first
 * start. */
int token_init(struct store *st, int lifetime_s, struct error *err);
void token_shutdown(void);
/* Sign an EAR token whose "submods" member is the given object (a new
 * reference is taken). Returns a malloc'd JWT. */
char *token_issue(json_t *submods, struct error *err);
/* Verify an EAR token issued by us: compact JWS, ES256 with our key, "exp"
 * an integer in the future. *claims is a new reference. */
int token_verify(const char *jwt, size_t len, json_t **claims,
    struct error *err);
/* {"keys":[<public JWK with alg ES256 and kid>]} */
const char *token_jwks(void);

/* ----------------------------------------------------------------- admin.c */

/*
 * Admin authentication (docs/api.md §2). Keys: the simple form's
 * public_keys (one implicit identity provider), or the Trustee form's
 * identity providers (PEM and/or JWKS files). Tokens: compact JWS (EdDSA,
 * ES256, ES384, RS256, ...; alg must fit the key), integer "exp" (60 s
 * leeway), optional "nbf", string "role"; "iss"/"aud" when the provider
 * names them.
 */
#define ADMIN_ROLE_MAX 64
#define ADMIN_SUB_MAX 128

/* Who is calling (valid after a successful admin_authenticate). */
struct admin_identity {
	char role[ADMIN_ROLE_MAX];
	char sub[ADMIN_SUB_MAX];	/* "" when the token has none */
	char actor[ADMIN_ROLE_MAX + ADMIN_SUB_MAX + 8];	/* for audit */
	int64_t exp;			/* 0 in InsecureAllowAll */
};

enum admin_result {
	ADMIN_OK = 0,
	ADMIN_UNAUTHENTICATED = -1,	/* no/bad token: 401 */
	ADMIN_FORBIDDEN = -2		/* DenyAll, or not allowed: 403 */
};

int admin_init(const struct config *cfg, struct error *err);
void admin_shutdown(void);
/* The configured mode as docs/api.md names it ("bearer_jwt",
 * "AuthenticatedAuthorization", ...). */
const char *admin_mode_name(void);
/*
 * Authenticate the request's bearer token. InsecureAllowAll: ADMIN_OK as
 * role "admin", actor "anonymous". DenyAll: ADMIN_FORBIDDEN. Otherwise
 * ADMIN_OK with *id filled, or ADMIN_UNAUTHENTICATED with the reason.
 */
enum admin_result admin_authenticate(const struct http_request *req,
    struct admin_identity *id, struct error *err);
/*
 * Authorize a Trustee-compatible /kbs/v0 admin request: authenticate, then
 * the simple form requires role "admin" and the Trustee form the first ACL
 * whose role equals the token's and whose regex matches the request target
 * (path and query). 0 if allowed (*id filled); -1 with the reason.
 */
int admin_authorize_kbs(const struct http_request *req,
    struct admin_identity *id, struct error *err);
/* The ACL decision alone (for tests): 1 if some ACL allows role on target. */
int admin_acl_allows(const char *role, const char *target);

/* ------------------------------------------------------------------- ear.c */

/*
 * One EAR appraisal (a "submods" member) from a verifier's claims, in
 * Trustee's layout: the annotated evidence is {"<tee>": claims without
 * report_data/init_data, "report_data", "runtime_data_claims",
 * ["init_data", "init_data_claims"]}; the trust vector and extra members
 * (e.g. "ear.trustee.identifiers") come from the attestation policy
 * "<policy_id>_<tee class>" (policy_id NULL = "default", which is also
 * "ear.appraisal-policy-id"), and ear.status is the worst tier over the
 * vector. claims is consumed; the others are borrowed. NULL on failure,
 * including a failing policy (err says why: refuse the attestation).
 */
json_t *ear_appraisal(const char *tee, json_t *claims,
    const json_t *runtime_data_claims, const json_t *init_data_claims,
    const char *policy_id, struct error *err);
/* ear.status for an AR4SI value: "none", "affirming", "warning",
 * "contraindicated" (tiers -1..1, <32, <96, otherwise, by magnitude). */
const char *ear_tier(int v);
/* The order of the tiers: 0 "none" or unknown, 1 "affirming", 2
 * "warning", 3 "contraindicated". */
int ear_tier_rank(const char *t);

/* ------------------------------------------------------------------- kbs.c */

struct kbs_context {
	const struct config *cfg;
	struct store *store;
};
/* The http_handler_fn for everything: route table dispatch. */
void kbs_handle(struct http_request *req, struct http_response *resp,
    void *arg);

/* ----------------------------------------------------------- attestation.c */

/* POST /attestation: Trustee's RESTful AS evaluate (see attestation.c). */
void attestation_handle(const struct http_request *req,
    struct http_response *resp);

/* ------------------------------------------------------------- preflight.c */

/*
 * Check, without writing anything, what a start needs (store_options_check
 * always; with files_too PREFLIGHT_ALL the TLS certificate and key (they
 * parse and match), admin keys and JWK sets, verifier paths;
 * PREFLIGHT_EXISTING the same for the files that exist, as --dev creates
 * the others). Prints every problem as "FILE:LINE: message" (or with
 * store_flag / "--dev") on stderr and returns how many there were.
 */
#define PREFLIGHT_STORE		0
#define PREFLIGHT_ALL		1
#define PREFLIGHT_EXISTING	2
int preflight_run(const struct config *cfg, const struct store_options *so,
    const char *store_flag, int files_too);

/* --------------------------------------------------------------- devmode.c */

/*
 * --dev: create (or reuse) the state directory layout:
 *   DIR/tls/cert.pem, DIR/tls/key.pem   (self-signed P-256, SAN localhost,
 *                                        127.0.0.1, ::1; CA:FALSE)
 *   DIR/admin/private.pem (0600), DIR/admin/public.pem   (Ed25519)
 *   DIR/data.key (0600, the file sealer's data key)
 * and set cfg to use them, with resource policy allow_all.
 */
int devmode_setup(struct config *cfg, const char *state_dir, struct error *err);
/* The two halves of devmode_setup: set cfg's paths for DIR (writes
 * nothing), then create what is missing (after the checks passed). */
void devmode_config(struct config *cfg, const char *state_dir);
int devmode_create(struct config *cfg, struct error *err);

#endif
