/*
 * console.h: the operator's console (docs/console.md): users and their
 * passwords, console sessions, the login guard, the login/logout
 * endpoints with the cookie authentication /api/v1 accepts beside admin
 * bearer tokens, and the static files under /console/. One section per
 * file; functions carry the file's name.
 *
 * Store access is confined to users.c (table "users") and consess.c
 * (table "console_sessions"), each behind the small interface below.
 */
#ifndef TRUSTEE_CONSOLE_H
#define TRUSTEE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trusteed.h"

/* -------------------------------------------------------------- password.c */

/*
 * Password hashing with argon2id (libsodium crypto_pwhash_str, the
 * "interactive" limits: 2 passes, 64 MiB). At most PASSWORD_SLOTS hashes
 * or verifications run at once in the process (each holds 64 MiB); a
 * caller that cannot get a slot within a second gets PASSWORD_BUSY.
 */
#define PASSWORD_MIN 8			/* bytes */
#define PASSWORD_MAX 1024		/* bytes */
#define PASSWORD_HASH_MAX 128		/* crypto_pwhash_STRBYTES */
#define PASSWORD_SLOTS 2
#define PASSWORD_BUSY (-12)		/* apart from the store's codes */

/* 0 when pw (len bytes) is acceptable: PASSWORD_MIN..PASSWORD_MAX bytes,
 * no NUL, not only spaces. (Passwords arrive in JSON strings, which
 * jansson has already checked to be UTF-8.) */
int password_check(const char *pw, size_t len, struct error *err);
/* Hash into out (NUL-terminated "$argon2id$..."). 0, -1, PASSWORD_BUSY. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX],
    struct error *err);
/* 0 when pw matches hash, 1 when it does not (or hash is malformed),
 * PASSWORD_BUSY. Runs the full argon2id computation either way. */
int password_verify(const char *hash, const char *pw, size_t len);
/* 1 when hash was made with other limits than the current ones. */
int password_needs_rehash(const char *hash);
/* A random password of n characters from the base64url alphabet
 * (malloc'd: release with secret_strfree). */
char *password_generate(size_t n);

/* ----------------------------------------------------------------- users.c */

/*
 * Console users: rows of table "users" in the encrypted store, name = the
 * user name (the store keeps only a keyed hash of it outside the
 * ciphertext, so a dump shows no user name), value = {"name", "role",
 * "hash" (argon2id string), "disabled", "pwgen" (bumped by every password
 * change: sessions from before it end), "created", "created_by",
 * "updated", "updated_by", "password_changed"}, ord = the creation time.
 * Roles are the /api/v1 roles: admin, operator, auditor (docs/api.md
 * §2.2).
 *
 * Changes are compare-and-swap writes on the row's revision, made again
 * on a fresh read when another instance sharing the store changed the
 * user in between; the last enabled admin is kept across instances too
 * (users.c says how).
 *
 * Return codes: 0; 1 no such user (users_add: the name exists);
 * USERS_INVALID (bad name, role or password, or the last enabled admin:
 * err says which); USERS_CONFLICT (the user kept changing elsewhere:
 * retry); PASSWORD_BUSY; or the store's codes (store.h: STORE_ERROR,
 * STORE_UNAVAILABLE, STORE_CORRUPT naming the row).
 */
#define USERS_NAME_MAX 64
#define USERS_ROLE_MAX 16
#define USERS_INVALID (-10)
#define USERS_CONFLICT (-11)

int users_init(struct store *st, struct error *err);
void users_shutdown(void);
/* 1..64 bytes of [A-Za-z0-9._@-], starting with a letter or digit. */
int users_name_check(const char *name, struct error *err);
/* 1 for "admin", "operator", "auditor". */
int users_role_ok(const char *role);
/* Add a user (insert only if absent). */
int users_add(const char *name, const char *role, const char *pw,
    size_t pwlen, const char *who, struct error *err);
/* The public view {"name","role","disabled","created","created_by",
 * "updated","updated_by","password_changed"} (no hash). */
int users_get(const char *name, json_t **user, struct error *err);
/*
 * The users' public views sorted by name, after the name `after` (NULL:
 * from the first), at most limit (0: all); *more when more follow. The
 * rows are read with the store's paged scans; rows that cannot be read
 * are skipped and counted in *bad (may be NULL; the store logs each with
 * its row id).
 */
int users_list(const char *after, size_t limit, json_t **items, int *more,
    size_t *bad, struct error *err);
/* Number of users (rows). */
int users_count(uint64_t *n, struct error *err);
int users_set_password(const char *name, const char *pw, size_t pwlen,
    const char *who, struct error *err);
/* The last enabled admin cannot lose the role. */
int users_set_role(const char *name, const char *role, const char *who,
    struct error *err);
/* The last enabled admin cannot be disabled. */
int users_set_disabled(const char *name, int disabled, const char *who,
    struct error *err);
/* The last enabled admin cannot be deleted. */
int users_delete(const char *name, struct error *err);
/*
 * Check a login. 0: the password is right and the user enabled (*role
 * and *pwgen filled); 1: wrong password, unknown user or disabled user
 * (indistinguishable to the caller, and an unknown name costs the same
 * argon2id run); < 0 store codes; PASSWORD_BUSY.
 */
int users_authenticate(const char *name, const char *pw, size_t pwlen,
    char role[USERS_ROLE_MAX], int64_t *pwgen, struct error *err);
/* For every request of a session: 0 when the user exists, is enabled and
 * its pwgen still equals pwgen (*role gets its current role); 1 when
 * not; < 0 store codes. */
int users_session_check(const char *name, int64_t pwgen,
    char role[USERS_ROLE_MAX], struct error *err);
/* Add name (role) with this password unless a user of that name exists
 * (--dev, `trusteed setup`). 0, or < 0. */
int users_ensure(const char *name, const char *role, const char *pw,
    const char *who, struct error *err);
/* Tests: called between the read and the conditional write of every
 * change (another instance's write goes here). NULL otherwise. */
extern void (*users_test_hook)(const char *name);

/* --------------------------------------------------------------- consess.c */

/*
 * Console sessions: rows of table "console_sessions", name = hex
 * SHA-256 of the cookie token (the token itself is never stored), value
 * = {"user","pwgen","csrf","created","seen","expires","peer"}, ord =
 * created, exp = when it ends unless used again. Any instance sharing
 * the store honours them. A session ends at its absolute expiry (created
 * + lifetime), after idle seconds without use (seen is refreshed at most
 * every CONSESS_TOUCH_S, or a quarter of a shorter idle timeout, with a
 * compare-and-swap on the row), at logout, and when its user is
 * disabled, deleted or changes password. Ended rows are removed by
 * store_purge (consess_gc), never by listing the table.
 *
 * Return codes: as the store's (store.h): STORE_UNAVAILABLE when the
 * database cannot be reached, so callers can answer 503.
 */
#define CONSESS_TOKEN_LEN 43		/* base64url of 32 random bytes */
#define CONSESS_CSRF_LEN 43
#define CONSESS_TOUCH_S 30
#define CONSESS_PER_USER 16		/* oldest sessions end beyond this */

struct consess {
	char user[USERS_NAME_MAX + 1];
	int64_t pwgen;
	char csrf[CONSESS_CSRF_LEN + 1];
	int64_t created, seen, expires;	/* unix seconds */
	int64_t idle_expires;		/* seen + idle */
};

/* Also gives rows from an earlier version (without exp) their expiry. */
int consess_init(struct store *st, int idle_s, int lifetime_s,
    struct error *err);
void consess_shutdown(void);
int consess_idle_s(void);
/* A new session for user: token (NUL-terminated) for the cookie, *out
 * filled. 0 or < 0. */
int consess_create(const char *user, int64_t pwgen, const char *peer,
    int64_t now, char token[CONSESS_TOKEN_LEN + 1], struct consess *out,
    struct error *err);
/* 0 live (*out filled; seen refreshed when older than CONSESS_TOUCH_S),
 * 1 unknown, expired (the row is deleted) or failing authentication
 * (logged), < 0 store error. */
int consess_lookup(const char *token, int64_t now, struct consess *out,
    struct error *err);
/* End one session: 0, 1 unknown, < 0. */
int consess_delete(const char *token, struct error *err);
/* End every session of user; returns how many, or < 0. */
int consess_delete_user(const char *user, struct error *err);
/* Purge ended sessions (by the store's clock); returns how many, or < 0. */
int consess_gc(struct error *err);
/* Live sessions (purge, then count; at most every 10 s). */
size_t consess_count(int64_t now);
/* 1 when header equals the session's CSRF token (constant time). */
int consess_csrf_ok(const struct consess *s, const char *header);

/* ------------------------------------------------------------ loginguard.c */

/*
 * Failed-login accounting per user name, in memory (per process). After
 * `delay_after` failures of a name each further attempt must wait 1, 2,
 * 4, ... seconds (at most max_delay_s); after `user_failures` failures
 * the name is locked for lockout_s. Failures older than lockout_s are
 * forgotten. Names are kept as keyed hashes, never as text. Times
 * (now_ms) are unix milliseconds; waits are whole seconds, rounded up.
 * Per source address, logins are limited by the shared rate limiter
 * (RL_LOGIN, [limits] login_rate and login_burst), not here.
 */
struct loginguard_config {
	int user_failures;		/* default 10 */
	int delay_after;		/* default 3 */
	int max_delay_s;		/* default 60 */
	int lockout_s;			/* default 900 */
};

void loginguard_init(const struct loginguard_config *cfg);
/* 0 when an attempt for user may be made now; else the seconds to wait
 * (>= 1), with *locked set when that is a lockout rather than a delay. */
int loginguard_check(const char *user, int64_t now_ms, int *locked);
void loginguard_failure(const char *user, int64_t now_ms);
/* A successful login clears the user's failures. */
void loginguard_success(const char *user, int64_t now_ms);
int64_t loginguard_now_ms(void);
/* Forget a user's failures and lockout (an admin set a new password). */
void loginguard_reset_user(const char *user);

/* ---------------------------------------------------------- console_auth.c */

/*
 * The console's session endpoints (routes.c):
 *   POST /console/api/login   {"username","password"} -> cookie + session
 *   POST /console/api/logout  (cookie, X-CSRF-Token)   -> 204
 *   GET  /console/api/session (cookie)                 -> session
 * The cookie CONSOLE_COOKIE is HttpOnly, Secure, SameSite=Strict, Path=/.
 * A session answer is {"user","role","csrf","expires","idle_timeout"}.
 */
#define CONSOLE_COOKIE "__Host-trustee-console"
#define CONSOLE_CSRF_HEADER "X-CSRF-Token"

struct console_auth_config {
	int enabled;
	int idle_s;
	int lifetime_s;
	struct loginguard_config guard;
};

int console_auth_init(struct store *st, const struct console_auth_config *cfg,
    struct error *err);
void console_auth_shutdown(void);
void console_auth_login(struct http_request *req, struct http_response *resp,
    void *arg);
void console_auth_logout(struct http_request *req, struct http_response *resp,
    void *arg);
void console_auth_session(struct http_request *req, struct http_response *resp,
    void *arg);
/* 1 when the request carries the console cookie (and no Authorization
 * header, which always wins) and the console is enabled. */
int console_auth_applies(const struct http_request *req);
/*
 * Authenticate an /api/v1 request by its console cookie, as
 * admin_authenticate does a bearer token: ADMIN_OK with *id (role = the
 * user's current role, sub = the user name, actor "<user> (<role>)"),
 * ADMIN_UNAUTHENTICATED (no/expired session, user disabled), or
 * ADMIN_FORBIDDEN for a state-changing request (not GET/HEAD) without the
 * session's CSRF token in X-CSRF-Token, or from another Origin.
 */
enum admin_result console_auth_api(const struct http_request *req,
    struct admin_identity *id, struct error *err);
/* The client address without port ("ip" of "ip:port" / "[ip]:port"). */
void console_auth_source(const char *peer, char *out, size_t cap);

/* --------------------------------------------------------- console_files.c */

/*
 * The console's static files under /console/: compiled in (console/...
 * in lib/embedded.h) or, when dir is set, read from that directory at
 * start (e.g. $(pkgdatadir)/console). Each answer carries its
 * Content-Type, a strong ETag (a digest of the bytes) honoured in
 * If-None-Match (304), and Cache-Control: no-cache.
 */
int console_files_init(const char *dir, struct error *err);
void console_files_shutdown(void);
void console_files_handle(struct http_request *req, struct http_response *resp,
    void *arg);

#endif
