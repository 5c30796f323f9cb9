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

/* ------------------------------------------------ config.c and config_*.c */

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

/*
 * [limits]: what clients may make the daemon hold and how fast they may
 * ask (README "Limits"). Rates are requests per second per source (0 =
 * no limit); counts and timeouts are per instance.
 */
struct config_limits {
	double auth_rate, attest_rate, attestation_rate, login_rate;
	int auth_burst, attest_burst, attestation_burst, login_burst;
	int rate_sources;		/* sources the rate limiter remembers */
	int max_sessions;		/* live KBS sessions */
	int max_unattested_per_source;
	int session_memory_mib;		/* bytes held by live sessions */
	int max_init_data;		/* bytes of init-data TOML in /attest */
	int max_token;			/* bytes of an EAR token kept in a session */
	int max_evidence_body;		/* bytes: /kbs/v0/attest, /attestation */
	int max_connections;		/* open connections, all workers */
	int max_connections_per_source;
	int handshake_timeout_s;	/* accept -> first request byte */
	int request_timeout_s;		/* first byte -> whole request */
	int idle_timeout_s;		/* keep-alive between requests */
	int inflight_memory_mib;	/* request heads and bodies held */
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
	int workers;			/* event loops; 0 (the default):
					 * config_default_workers */
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
	int store_lease_ms;		/* shared store: resource rows from
					 * memory under a lease; 200, 0 off */
	int store_stateless_auth;	/* shared store: /auth writes no row
					 * (session_share); 1 */
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
	int admin_max_token_lifetime_s;	/* exp - iat, exp - now; 86400 */
	/* [policy] */
	enum resource_policy_mode resource_policy;	/* seeds the first
					 * stored resource policy */
	int policy_instructions;	/* Lua instruction budget per call
					 * (in thousands); default 10000 */
	int policy_memory_kib;		/* Lua memory cap per state; 16384 */
	int policy_time_ms;		/* wall clock per evaluation; 2000 */
	/* [limits] */
	struct config_limits limits;
	/* [attestation] log_keep, log_max_age_days: the attestation log */
	int attlog_keep;		/* rows kept; default 100000 */
	int attlog_max_age_days;	/* default 30 */
	/* [console] (docs/console.md) */
	int console_enabled;		/* default 1 */
	char *console_files;		/* serve from this dir; NULL: built in */
	int console_idle_s;		/* session idle timeout; 900 */
	int console_lifetime_s;		/* absolute session lifetime; 28800 */
	int login_user_failures;	/* lockout after; 10 */
	int login_source_failures;	/* obsolete (accepted, warned
					 * about): [limits] login_rate */
	int login_delay_after;		/* delays start after; 3 */
	int login_lockout_s;		/* 900 */
	char *console_password_file;	/* --dev: <state>/admin/console-password */
	/* runtime */
	int dev;			/* --dev: warn loudly */
	int debug;
	json_t *lines;			/* line of each key (config_line) */
};

/* Fill *cfg with the built-in defaults (no allocation failures). */
void config_defaults(struct config *cfg);
/*
 * The event-loop workers when the configuration names none: the online
 * CPUs; with networked (a store other instances share, over the network)
 * four per CPU, since a request waits for the database on its worker
 * (its commit, a session read) and the worker's other connections wait
 * with it. At most 16.
 */
int config_default_workers(int networked);
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
/*
 * Set one [limits] key from "name=value" (trusteed --limit), with the
 * type and range checks the config file gets; then config_limits_check.
 * 0, or -1 with the reason in err.
 */
int config_limit_set(struct config *cfg, const char *assignment,
    struct error *err);
/* The rules between [limits] keys (checked by config_load too). */
int config_limits_check(const struct config *cfg, struct error *err);
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

/* A client for per-source limits (ratelimit.c): an IPv4 address (stored
 * IPv4-mapped) or the /64 prefix of an IPv6 address. */
struct source_addr {
	uint8_t b[16];
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
	struct source_addr source;	/* the client, for per-source limits */
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
/*
 * The security headers every answer carries (docs/console.md): a strict
 * Content-Security-Policy with frame-ancestors 'none', nosniff,
 * Referrer-Policy, X-Frame-Options, COOP. routes.c adds them after the
 * handler; http_conn.c to the answers it makes itself (malformed request,
 * 408, 413, 429, 431, ...).
 */
void http_security_headers(struct http_response *resp);

typedef void (*http_handler_fn)(struct http_request *req,
    struct http_response *resp, void *arg);

/*
 * What the handler decides from a request's head alone, before any of its
 * body is read or buffered: the body cap for this route (e.g. large only
 * for admin uploads whose bearer token verified), or a refusal (e.g. 429
 * from a rate limit). The request passed has no body (NULL, 0) and is
 * valid only during the call.
 */
struct http_preflight {
	size_t max_body;	/* in: the server's max_body; out: this
				 * request's cap (never above max_body) */
	char note[96];		/* out: appended to a 413's detail, e.g.
				 * "without a valid admin token" */
	int status;		/* out: non-zero refuses the request with
				 * this problem; the connection then closes */
	const char *type;	/* problem type (static string) */
	char detail[192];
	int retry_after;	/* out: seconds for Retry-After; 0 = none */
};
typedef void (*http_preflight_fn)(const struct http_request *req,
    struct http_preflight *pf, void *arg);

struct http_server_config {
	char *const *listen;	/* "IP:PORT" / "[IPv6]:PORT"; port 0 = any */
	size_t nlisten;
	SSL_CTX *tls;		/* NULL: plain HTTP (insecure_http) */
	size_t max_body;	/* larger bodies get 413 PayloadTooLarge;
				 * the ceiling of every route's cap */
	size_t max_header;	/* request line + headers; 0 = 64 KiB */
	int workers;		/* event-loop threads; 0 = 1 */
	int idle_timeout_s;	/* keep-alive idle timeout; 0 = 60 */
	int handshake_timeout_s;	/* accept -> first byte of the first
				 * request, TLS handshake included; 0 = 10 */
	int request_timeout_s;	/* first byte -> whole request; 0 = 30 */
	size_t max_connections;	/* all workers; at the cap the oldest idle
				 * connection is closed; 0 = 4096 */
	size_t max_connections_per_source;	/* 0 = no limit */
	size_t max_inflight;	/* bytes of request heads and bodies held
				 * over all connections (503 beyond);
				 * 0 = 64 MiB, at least max_body */
	http_preflight_fn preflight;	/* NULL: any request may send
					 * max_body */
	http_handler_fn handler;
	void *arg;		/* for preflight and handler */
};

struct http_server;
/*
 * Bind every listener and start the worker threads, each with its own
 * event_base. Each address is first locked for this process (an abstract
 * UNIX socket named after it) and checked free with an exclusive bind;
 * then every worker binds its own SO_REUSEPORT socket. So a second
 * trusteed on the same address fails here (naming the holder's pid when
 * it is a trusteed), instead of silently sharing the port.
 * The handler runs on a worker thread; it must be thread-safe.
 * Returns NULL with err set if any address cannot be bound.
 */
struct http_server *http_server_start(const struct http_server_config *cfg,
    struct error *err);
/* The port actually bound for listen address i (useful with port 0). */
int http_server_port(const struct http_server *s, size_t i);
/* Counters for tests and metrics. */
struct http_server_stats {
	size_t connections;	/* open now */
	size_t inflight;	/* bytes of requests held now */
};
void http_server_stats(const struct http_server *s,
    struct http_server_stats *st);
/* Stop accepting, let in-flight requests finish (bounded), join threads. */
void http_server_stop(struct http_server *s);

/* ------------------------------------------------------------------- tls.c */

/* Server TLS context: TLS >= min_version ("1.2"/"1.3"), AEAD-only
 * TLS 1.2 ciphers with forward secrecy, groups X25519:P-256:P-384,
 * no renegotiation, no compression, no session tickets across restarts.
 * The key file must not be group/world accessible. */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file,
    const char *min_version, struct error *err);
/* Give OpenSSL its secure heap (locked, guarded, wiped on free) for the
 * private parts of every key loaded or generated after this call (the
 * EAR signing key, the TLS key, handshake keys). Call once at start,
 * before token_init. -1 when it cannot be set up (keys then live in the
 * ordinary heap); a heap that could not be locked is a warning. */
int tls_secure_heap_init(struct error *err);
/* Read the context's certificate chain and key files again; handshakes
 * from now on present the new pair, established connections keep theirs.
 * On failure (err says why) the current pair stays in use. */
int tls_reload(SSL_CTX *ctx, struct error *err);

/* --------------------------------------------------------------- session.c */

#define SESSION_ID_LEN 32		/* lowercase hex */
#define SESSION_NONCE_LEN 44		/* std base64 of 32 bytes */

enum session_state { SESSION_AUTHED, SESSION_ATTESTED };

/* A copy of a session record; release with session_clear. */
#define SESSION_TOKEN_KEY_LEN	32

struct session {
	char id[SESSION_ID_LEN + 1];
	char tee[32];
	char nonce[SESSION_NONCE_LEN + 1];
	enum hash_alg hash;		/* negotiated runtime-data hash */
	int64_t expires;		/* unix seconds */
	enum session_state state;
	int nonce_used;
	char *token;			/* EAR token when attested */
	uint64_t rev;			/* shared store: its row's revision */
	/* With token_keyed: the token's verified-token cache key
	 * (sesscache_digest), kept so a GET need not hash the token. */
	uint8_t token_key[SESSION_TOKEN_KEY_LEN];
	int token_keyed;
};

#define SESSION_BUSY (-2)
/* The shared session store cannot be reached (session_share): answer 503
 * with Retry-After. Only session_new, session_get, session_known,
 * session_take_nonce and session_set_attested return it, and only after
 * session_share. */
#define SESSION_UNAVAILABLE (-3)
/* Shared store: the nonce was spent while this instance verified the
 * evidence, by another attestation or the session cap's eviction
 * (session_set_attested_copy). */
#define SESSION_SPENT (-4)

void session_init(int lifetime_s);
/*
 * Keep sessions as rows of st instead of this process's memory, for a
 * store that several instances share (MariaDB, Galera): a session made
 * by /auth on one instance is attested and used on any other, and its
 * nonce is spent once across all of them (session_shared.c). Call once
 * after session_init, before serving. Attested sessions are immutable, so
 * each instance caches those it has seen (at most cache_max of them and
 * cache_bytes; 0 = no cache), and with them the unattested ones it
 * created, for their /attest only (their state is read from st).
 * session_count then counts the live sessions this instance created.
 * With stateless, /auth writes no row: the nonce carries the session,
 * authenticated under a key every instance derives from st
 * (session_challenge.c), and /attest inserts the row. Instances accept
 * stateless challenges whatever they mint themselves.
 */
void session_share(struct store *st, size_t cache_max, size_t cache_bytes,
    int stateless);
/* 1 after session_share. */
int session_is_shared(void);
void session_shutdown(void);
/*
 * Create a fresh session (random id and nonce) for a client at src, under
 * the limits of session_quota.c: SESSION_BUSY when src already holds
 * max_unattested_per_source unattested sessions; at the global caps the
 * oldest sessions are evicted instead (unattested ones first). -1 when tee
 * is unusable.
 */
int session_new(const char *tee, enum hash_alg hash,
    const struct source_addr *src, struct session *out);
/* 0 and a copy if present and unexpired; -1 otherwise (expired ones are
 * removed); SESSION_UNAVAILABLE (shared store). */
int session_get(const char *id, struct session *out);
/*
 * 0 and a copy when id names a live session as far as this instance
 * knows: what /attest looks up before it reads its body, and the
 * attestation log for the session's TEE. In memory the same as
 * session_get. With a shared store nothing is read: the copy is this
 * instance's cached one (an unattested session it created: TEE, hash
 * and expiry are the session's, its state may be stale), else a
 * placeholder with an empty TEE for any well-formed id, since only the
 * nonce in the body (a stateless challenge) or the row tells
 * (session_take_nonce, session_set_attested_copy). -1 for a malformed
 * id; SESSION_UNAVAILABLE.
 */
int session_known(const char *id, struct session *out);
/*
 * Take the session's nonce for one /attest: succeeds (0) only if the
 * session exists, is unexpired, and its nonce is unused and equals `nonce`
 * (constant-time); no other /attest of it succeeds meanwhile. Fills *out.
 * On failure returns -1 with a reason (SESSION_UNAVAILABLE when a shared
 * store cannot be reached). The nonce is spent by the
 * session_set_attested_copy or session_abandon that must follow: in
 * memory already here; with a shared store there, in the same statement
 * that writes the outcome, so that of several instances racing for one
 * nonce exactly one wins.
 */
int session_take_nonce(const char *id, const char *nonce, struct session *out,
    struct error *err);
/* Keep the session's EAR token (evicting older sessions if the memory
 * cap needs it). -1 if the session is gone; SESSION_UNAVAILABLE. */
int session_set_attested(const char *id, const char *token);
/*
 * The same, given the copy session_take_nonce filled: with a shared store
 * this copy (and its revision) is what the attested record is made of,
 * and SESSION_SPENT says another instance spent the nonce first (the
 * attestation must then fail). session_set_attested(id) works there only
 * on the thread that took the nonce (it keeps that copy per thread).
 * With taken->token_keyed, taken->token_key must be token's cache key
 * (sesscache_digest); the session keeps it instead of hashing the token
 * again (session_set_attested computes it).
 */
int session_set_attested_copy(const struct session *taken, const char *token);
/* The /attest that took this copy's nonce failed: spend the nonce (with a
 * shared store; in memory it is spent already). */
void session_abandon(const struct session *taken);
void session_clear(struct session *s);
/* Drop expired sessions; returns how many were dropped (shared store:
 * purges the expired rows of every instance). */
int session_gc(void);
size_t session_count(void);

/* --------------------------------------------------------- session_quota.c */

/*
 * Per-instance accounting of the sessions this instance created, apart
 * from where session records are stored (a shared store included): live
 * unattested sessions per source, the global count and memory caps, and
 * which sessions to evict to stay under them (unattested before attested,
 * oldest first). Caps are per instance: N instances sharing one store hold
 * at most N times the caps. Thread-safe.
 */
struct session_quota_config {
	size_t max_sessions;		/* 0 = 100000 */
	size_t max_unattested_per_source;	/* 0 = no limit */
	size_t max_bytes;		/* 0 = 256 MiB */
};
/* Called (quota lock held; must not call session_quota_*) for each
 * session that must be deleted from the store. */
typedef void (*session_quota_evict_fn)(const char *id, void *arg);

void session_quota_init(const struct session_quota_config *cfg);
void session_quota_shutdown(void);
/*
 * Account a new unattested session of `bytes` for src, evicting others
 * (through evict) when a global cap is reached. 0, or SESSION_BUSY when
 * src is at its unattested cap (nothing accounted, nothing evicted).
 */
int session_quota_admit(const char *id, const struct source_addr *src,
    int64_t expires, size_t bytes, session_quota_evict_fn evict, void *arg);
/* The session became attested and now holds `bytes`: evict others if the
 * memory cap needs it. -1 if id is unknown or bytes can never fit. */
int session_quota_attested(const char *id, size_t bytes,
    session_quota_evict_fn evict, void *arg);
/* The session is gone (deleted, expired); unknown ids are ignored. */
void session_quota_forget(const char *id);
/* Forget sessions expired at now; returns how many. */
size_t session_quota_gc(int64_t now);
/* Up to max ids of the unattested sessions src holds, oldest first. With
 * a shared store another instance may have attested them: session.c
 * checks them there and calls session_quota_attested for those whose
 * nonce is spent, before refusing src at its cap. Returns how many. */
size_t session_quota_unattested(const struct source_addr *src,
    char ids[][SESSION_ID_LEN + 1], size_t max);
struct session_quota_stats {
	size_t sessions, unattested, bytes, sources;
	unsigned long long evicted, refused;	/* since init */
};
void session_quota_stats(struct session_quota_stats *st);

/* ------------------------------------------------------------- ratelimit.c */

/* struct source_addr: see the http.c section. */
struct sockaddr;
void ratelimit_source_from(const struct sockaddr *sa, struct source_addr *out);
/* "192.0.2.1" or "2001:db8::/64"; returns out. */
const char *ratelimit_source_str(const struct source_addr *src, char *out,
    size_t cap);

enum ratelimit_class { RL_AUTH, RL_ATTEST, RL_ATTESTATION, RL_LOGIN,
	RL_NCLASS };
struct ratelimit_rule {
	double rate;		/* tokens per second; <= 0: no limit */
	double burst;		/* bucket size */
};
/* The token buckets: rules per class, a table of `capacity` sources
 * (least recently used ones are forgotten). Re-init replaces them. */
void ratelimit_init(const struct ratelimit_rule rules[RL_NCLASS],
    size_t capacity);
void ratelimit_shutdown(void);
/*
 * One request of class cls from src: 0 if allowed (a token taken), -1 if
 * refused, with *retry_after the whole seconds until a token is there.
 * Without ratelimit_init everything is allowed. Other code (admin and
 * console logins) uses RL_LOGIN the same way.
 */
int ratelimit_take(enum ratelimit_class cls, const struct source_addr *src,
    int *retry_after);
/* Return the token a ratelimit_take of cls took for src (a login that
 * succeeded: only failed logins use up RL_LOGIN). */
void ratelimit_give_back(enum ratelimit_class cls,
    const struct source_addr *src);
/* As ratelimit_take at a given monotonic time (tests). */
int ratelimit_take_at(enum ratelimit_class cls, const struct source_addr *src,
    uint64_t now_ns, int *retry_after);
size_t ratelimit_sources(void);

/* Exact per-source counts of held things (connections, sessions). */
struct ratelimit_counts;
struct ratelimit_counts *ratelimit_counts_new(size_t nbuckets);
void ratelimit_counts_free(struct ratelimit_counts *c);
/* Count one more for src unless it holds max already (-1); max 0 refuses
 * everything. */
int ratelimit_counts_add(struct ratelimit_counts *c,
    const struct source_addr *src, unsigned max);
void ratelimit_counts_sub(struct ratelimit_counts *c,
    const struct source_addr *src);
unsigned ratelimit_counts_get(struct ratelimit_counts *c,
    const struct source_addr *src);
size_t ratelimit_counts_sources(struct ratelimit_counts *c);

/* Limits that triggered, logged "limits: ..." at most once per kind per
 * 10 s; ratelimit_flush (on a timer) logs the counts held back. */
enum ratelimit_event {
	RL_EV_AUTH, RL_EV_ATTEST, RL_EV_ATTESTATION, RL_EV_LOGIN,
	RL_EV_SESSIONS_SOURCE, RL_EV_SESSIONS_EVICTED, RL_EV_CONN_SOURCE,
	RL_EV_CONN_SHED, RL_EV_CONN_REFUSED, RL_EV_INFLIGHT, RL_EV_BODY,
	RL_EV_TIMEOUT, RL_NEVENT
};
void ratelimit_note(enum ratelimit_event ev, const struct source_addr *src);
void ratelimit_flush(void);

/* ----------------------------------------------------------------- token.c */

/* Load the EAR signing key (P-256) from the store, creating it on first
 * start. */
int token_init(struct store *st, int lifetime_s, struct error *err);
void token_shutdown(void);
/* Sign an EAR token whose "submods" member is the given object (a new
 * reference is taken). Returns a malloc'd JWT. */
char *token_issue(json_t *submods, struct error *err);
/* token_issue, also handing out the claims the token was serialized from
 * (a new reference in *claims; the caller must not modify them) and, when
 * payload is not NULL, the exact payload text signed (malloc'd). */
char *token_issue_claims(json_t *submods, json_t **claims, char **payload,
    struct error *err);
/* Verify an EAR token issued by us: compact JWS, ES256 with our key, "exp"
 * an integer in the future. *claims is a new reference. */
int token_verify(const char *jwt, size_t len, json_t **claims,
    struct error *err);
/*
 * token_verify through the verified-token cache (sesscache.h): a token
 * verified before is only looked up (its exp checked); otherwise it is
 * verified and remembered with its TEE key parsed. *out is a reference
 * (sesscache_release it): its claims, and its TEE key or NULL when the
 * claims name none that jwe_key_new accepts. -1 with err as token_verify.
 */
struct sesscache_ent;
struct jwe_key;
int token_check(const char *jwt, size_t len, struct sesscache_ent **out,
    struct error *err);
/*
 * The same for an attested session's token (struct session.token: issued
 * here, or read from the session's sealed row): when not cached, its
 * signature is not verified again, only its header (the current signing
 * key's) and exp (token_open in token.c says why that suffices). key:
 * its cache key (sesscache_digest of jwt, len), which a session keeps
 * with its token (struct session.token_key), or NULL to compute it.
 */
int token_check_own(const char *jwt, size_t len, const uint8_t *key,
    struct sesscache_ent **out, struct error *err);
/* Remember a token this instance just issued as verified: takes over the
 * references to claims (from token_issue_claims) and tee_key (or NULL). */
void token_remember(const char *jwt, size_t len, json_t *claims,
    struct jwe_key *tee_key);
/* The same given its cache key (sesscache_digest) and length. */
void token_remember_key(const uint8_t key[SESSION_TOKEN_KEY_LEN], size_t len,
    json_t *claims, struct jwe_key *tee_key);
/* submods.cpu0["ear.veraison.annotated-evidence"].runtime_data_claims
 * ["tee-pubkey"] of EAR claims, or NULL. */
const json_t *token_tee_pubkey(const json_t *claims);
/* {"keys":[<public JWK with alg ES256 and kid>]} */
const char *token_jwks(void);
/* The protected header every token is signed with: {"typ","alg","jwk",
 * "kid"} (borrowed; valid until token_shutdown). */
const json_t *token_jws_header(void);
/* That header's exact text as signed (compact JSON; borrowed, valid until
 * token_shutdown). */
const char *token_jws_header_text(void);

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
	ADMIN_FORBIDDEN = -2,		/* DenyAll, or not allowed: 403 */
	ADMIN_UNAVAILABLE = -3,		/* a console session could not be
					 * read: the store is unreachable
					 * (503) */
	ADMIN_ERROR = -4,		/* ... another store failure (500) */
	ADMIN_CORRUPT = -5		/* ... a row failed authentication
					 * (500 IntegrityError) */
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
/* ear_appraisal for a class given by the caller (a multi-device
 * verifier tells each device's class: "gpu", "switch", ...). */
json_t *ear_appraisal_class(const char *tee, const char *tee_class,
    json_t *claims, const json_t *runtime_data_claims,
    const json_t *init_data_claims, const char *policy_id,
    struct error *err);
/* The appraisal of a device this build could not verify: contraindicated
 * (hardware 97), empty annotated evidence, and "ear.trustee.unverified":
 * {"tee", "reason"}. No policy runs. A new reference. */
json_t *ear_unverified(const char *tee, const char *policy_id,
    const char *reason);
/* Add app (consumed) to submods as "<tee_class><n>", n the first number
 * not taken (Trustee's per-class counter: cpu0, gpu0, gpu1, ...). */
#define EAR_SUBMODS_MAX 32
int ear_submod_add(json_t *submods, const char *tee_class, json_t *app,
    struct error *err);
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
/* The KBS protocol and Trustee's admin endpoints: every request under
 * /kbs/v0/, dispatched by plugin name (routes.c routes them here; anything
 * else gets a 404). */
void kbs_handle(struct http_request *req, struct http_response *resp,
    void *arg);
/*
 * The http_preflight_fn (arg: the kbs_context): 429 from the per-source
 * rate limits of /kbs/v0/auth, /kbs/v0/attest and /attestation; body caps
 * of 16 KiB, limits.max_evidence_body for evidence, and max_body only for
 * admin routes (/kbs/v0 admin plugins, /api/v1) whose token verified; the
 * HTTP layer never lets a cap exceed max_body.
 */
void kbs_preflight(const struct http_request *req, struct http_preflight *pf,
    void *arg);

/* --------------------------------------------------------------- devices.c */

/*
 * The additional (device) evidence of /kbs/v0/attest (see devices.c).
 * devices_parse: the additional_evidence string (len 0: *map = NULL) to
 * a new object {TEE name: evidence} in the order sent; -1 with the reason
 * when it is not a JSON object or names a TEE kbs-types does not know.
 * devices_appraise: bind each device to HASH(JCS({"nonce", "tee-pubkey"}))
 * with alg, verify it and add its appraisals to submods (<class><n>);
 * -1 with the reason, naming the device, when its evidence is malformed
 * or fails verification, or its policy fails.
 */
int devices_parse(const char *s, size_t len, json_t **map,
    struct error *err);
int devices_appraise(const json_t *map, const char *nonce,
    const json_t *tee_pubkey, enum hash_alg alg, const char *policy_id,
    int64_t now, json_t *submods, struct error *err);

/* ---------------------------------------------------------------- routes.c */

/* The http_handler_fn of the daemon: every route in one table (arg is
 * the struct kbs_context). */
void routes_handle(struct http_request *req, struct http_response *resp,
    void *arg);

/* ----------------------------------------------------------- attestation.c */

/* POST /attestation: Trustee's RESTful AS evaluate (see attestation.c). */
void attestation_handle(const struct http_request *req,
    struct http_response *resp);

/* --------------------------------------------------------------- certgen.c */

/*
 * A self-signed P-256 server certificate (CA:FALSE, serverAuth) valid for
 * days, with subject CN=cn, O=org and the subject alternative names san
 * ("DNS:host,IP:127.0.0.1", OpenSSL's syntax). The key is written 0600,
 * the certificate 0644; neither file may exist yet (nothing is ever
 * overwritten; on failure neither is left behind).
 */
int certgen_self_signed(const char *cert, const char *key, const char *cn,
    const char *san, const char *org, int days, struct error *err);

/* ---------------------------------------------------------------- notify.c */

/*
 * Send one state change to the service manager ("READY=1", "RELOADING=1",
 * "STOPPING=1", "STATUS=...", newline-separated): systemd's sd_notify
 * protocol over $NOTIFY_SOCKET. 0 when sent or when there is no
 * $NOTIFY_SOCKET; -1 (logged) when sending failed.
 */
int notify_send(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* ---------------------------------------------------------------- reload.c */

/* SIGHUP: read the TLS pair again (tls may be NULL), drop collateral
 * caches, reload policies and reference values from the store. 0, or -1
 * when something kept its old state (logged). */
int reload_run(SSL_CTX *tls);

/* ----------------------------------------------------------------- setup.c */

/* `trusteed setup [options]`: argv[0] is "setup". Returns the exit code. */
int setup_main(int argc, char **argv);

/* ------------------------------------------------------------ setup_conf.c */

/*
 * text with the active key lines of [table] replaced by lines (complete
 * "key = value\n" lines, written right after the header); comments, blank
 * lines and every other table are kept byte for byte. A missing table is
 * appended. Returns a malloc'd string.
 */
char *setup_conf_set_table(const char *text, const char *table,
    const char *lines);
/* Append s as a TOML basic string (quoted, escaped). */
void setup_conf_quote(struct buf *b, const char *s);

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
 *   DIR/admin/console-password (0600)   (the console user `admin`)
 *   DIR/data.key (0600, the file sealer's data key)
 * and set cfg to use them, with resource policy allow_all.
 */
int devmode_setup(struct config *cfg, const char *state_dir, struct error *err);
/* The two halves of devmode_setup: set cfg's paths for DIR (writes
 * nothing), then create what is missing (after the checks passed). */
void devmode_config(struct config *cfg, const char *state_dir);
int devmode_create(struct config *cfg, struct error *err);

#endif
