/*
 * store.h: the encrypted store, the layer below server/ and rvps/ (one
 * section per file of store/; functions carry the file's name).
 *
 * Nothing in store/ includes a server/ header.
 *
 * Return codes shared by every call below (the same numbers as the
 * backend's, backend.h):
 *    0  STORE_OK           done
 *    1  STORE_ABSENT       no such row, or (for _ex calls with an expected
 *                          revision) the condition did not hold
 *   -1  STORE_ERROR        failure; err says what
 *   -2  STORE_UNAVAILABLE  the database is unreachable or timed out: try
 *                          later (the API answers 503 with Retry-After)
 *   -3  STORE_CORRUPT      a row failed authentication or is malformed:
 *                          err names the table and the row id (hex); only
 *                          that row is affected (the API answers a problem
 *                          of type IntegrityError)
 * Callers that only need "worked or not" test rc < 0.
 */
#ifndef TRUSTEE_STORE_H
#define TRUSTEE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define STORE_OK		0
#define STORE_ABSENT		1
#define STORE_ERROR		(-1)
#define STORE_UNAVAILABLE	(-2)
#define STORE_CORRUPT		(-3)

/* Expected revisions for the _ex calls (as backend.h). */
#define STORE_REV_ANY		UINT64_MAX	/* unconditional */
#define STORE_REV_ABSENT	0		/* put: insert only if absent */

#define STORE_ID_HEX_LEN	64		/* a row id as lowercase hex */
#define STORE_CURSOR_MAX	96		/* a scan cursor, with its NUL */

struct store;
struct store_backend;
struct seal_config;

/* ----------------------------------------------------------------- store.c */

/*
 * Where and how to open the store (store_open). Strings are borrowed for
 * the life of the store.
 */
struct store_options {
	const char *dsn;		/* "sqlite:PATH" or "mariadb://..."
					 * (store_dsn.c); NULL = "sqlite:
					 * <state_dir>/trustee.db" */
	const char *password_file;	/* [store] password_file, or NULL */
	const char *state_dir;		/* holds instance-id and, while
					 * joining, join.key */
	const struct seal_config *seal;	/* [sealer]; seal.h */
	int timeout_ms;			/* bound on every database operation;
					 * 0 = 5000 */
	int poll_ms;			/* how often generations, new data-key
					 * versions and heartbeats are
					 * polled; 0 = 1000 */
	int create;			/* may start a new deployment on an
					 * empty database */
	int exclusive;			/* SQLite: the daemon lock (a second
					 * daemon on the file fails, naming
					 * the holder's pid) */
	int background;			/* run the poller (watch, heartbeat,
					 * new key versions) and the rotation
					 * worker threads */
	int lease_ms;			/* a database other instances write:
					 * how long cached rows may answer
					 * between polls of their generation
					 * (lease.c); 0 = never from cache */
};

/*
 * Open the store: parse the DSN, connect (migrating the schema), then
 * recover the master key: this instance's sealed copy (table _instances,
 * keyed by <state_dir>/instance-id) unsealed by the configured sealer and
 * proven by the key check row; or, on an empty database with create set,
 * a new deployment (random master key, a new instance id); or a database
 * written by an earlier trusteed under a plain data key file, which is
 * adopted (sealed into _instances) when the sealer is "file" and its
 * key_file holds that key. A wrong sealer, a sealer that refuses, a
 * database of another deployment (this instance is not in _instances)
 * fail with a message saying which and what to do, before anything is
 * written. NULL with err set on failure.
 */
struct store *store_open(const struct store_options *o, struct error *err);
/*
 * What `trusteed -n` checks without opening or writing anything: the DSN
 * parses, the password file exists with a safe mode, the sealer kind is
 * known and its files (key file, passphrase file) exist with safe modes,
 * an existing SQLite file has a safe mode and its directory exists. 0 or
 * -1 with err naming the first problem.
 */
int store_options_check(const struct store_options *o, struct error *err);
/*
 * Tests, fuzzers and benchmarks: open an SQLite file with the master key
 * given (no sealer, no instance row, no background threads). A new file
 * gets a key check row for that key.
 */
struct store *store_open_key(const struct store_backend *backend,
    const char *path, const uint8_t master_key[32], struct error *err);
/* Stop the threads, wipe every key, close; NULL is fine. */
void store_close(struct store *st);

/* Insert or replace. */
int store_put(struct store *st, const char *table, const char *name,
    const void *val, size_t len, struct error *err);
/* 0 found (*val malloc'd, followed by a NUL not counted in *len: release
 * with secret_free(*val, *len)), 1 not found, < 0 as above. */
int store_get(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct error *err);
/* 0 deleted, 1 not found, < 0 as above. */
int store_delete(struct store *st, const char *table, const char *name,
    struct error *err);
/*
 * Call cb for every row of table with its decrypted name and value (valid
 * during the call only); cb returns non-zero to stop. A row that fails
 * authentication is skipped and logged (table and row id); the walk goes
 * on. Use store_scan to learn about such rows.
 */
typedef int (*store_list_cb)(const char *name, const uint8_t *val, size_t len,
    void *arg);
int store_list(struct store *st, const char *table, store_list_cb cb,
    void *arg, struct error *err);

/* The plain columns of a row (backend.h): they are not secret. */
struct store_meta {
	int64_t ord;		/* ordering key chosen by the writer */
	int64_t exp;		/* unix seconds it expires at; 0 = never */
	uint64_t rev;		/* revision: 1 on insert, +1 per replace */
	uint32_t kv;		/* data-key version that sealed it */
	uint64_t tag;		/* the row's tag (store_row_tag) */
};

/*
 * put with the plain columns and a condition: expect_rev STORE_REV_ANY
 * (upsert), STORE_REV_ABSENT (insert only if absent) or the revision the
 * row must have. 0 (*rev, if not NULL, the new revision), 1 when the
 * condition did not hold, < 0 as above.
 */
int store_put_ex(struct store *st, const char *table, const char *name,
    const void *val, size_t len, int64_t ord, int64_t exp,
    uint64_t expect_rev, uint64_t *rev, struct error *err);
/*
 * Group commit: insert or replace n rows of one table (STORE_REV_ANY
 * each), in one transaction where the backend has them (SQLite: one
 * commit, one fsync for all of them), else one put after another (the
 * backend's put_many is optional). 0 when every row was written; < 0
 * with err when not: with a transaction none was, without one a prefix
 * may have been. For many small rows whose durability may wait for a
 * batch (audit and attestation records).
 */
struct store_item {
	const char *name;
	const void *val;
	size_t len;
	int64_t ord;
	int64_t exp;
};
int store_put_many(struct store *st, const char *table,
    const struct store_item *items, size_t n, struct error *err);
/*
 * Two rows, (table[i], name[i]) for i = 0, 1, each as store_get: rc[i] is
 * 0 (val[i] malloc'd, release with secret_free), 1 (absent) or < 0. On
 * MariaDB they come from one statement: one round trip, one consistent
 * read. Returns 0 when rc[] holds each row's outcome (err describes the
 * first failed one), < 0 when neither could be read (rc[] is that code).
 */
int store_get2(struct store *st, const char *const table[2],
    const char *const name[2], uint8_t *val[2], size_t len[2], int rc[2],
    struct error *err);
/* get with the plain columns (meta may be NULL). Expired rows are
 * returned: the caller decides (compare meta->exp with now). */
int store_get_ex(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct store_meta *meta, struct error *err);
/* delete if the revision matches (STORE_REV_ANY: always): 0, 1 absent or
 * another revision (of several concurrent deleters exactly one gets 0). */
int store_delete_ex(struct store *st, const char *table, const char *name,
    uint64_t expect_rev, struct error *err);

/*
 * Paged scans in (ord, row id) order. The row id is a keyed hash of the
 * name, so rows with equal ord come in an order that reveals nothing and
 * names never sort: callers that need name order keep their own index
 * (e.g. resource.c). A page costs O(limit) rows read.
 */
struct store_page {
	int desc;		/* newest (highest ord) first */
	const char *cursor;	/* start after this (from next_cursor), or
				 * NULL */
	size_t limit;		/* rows per page, 1..10000; 0 = 100 */
	int ord_range;		/* only ord_min <= ord <= ord_max */
	int64_t ord_min, ord_max;
	int live_only;		/* skip rows whose exp has passed */
	/* Optional: asked with each row's ord and tag (store_row_tag), with
	 * the scan's arg, before the row is read; non-zero skips the row:
	 * it is neither fetched nor unsealed and the callback does not see
	 * it, but it counts towards the page. The scan then reads the
	 * page's ids first and fetches only the other rows (64 to a
	 * statement on MariaDB). For a caller that knows most rows of a
	 * range already (a log following other writers). */
	int (*skip)(int64_t ord, uint64_t tag, void *arg);
};
typedef int (*store_row_cb)(const char *name, const uint8_t *val, size_t len,
    const struct store_meta *meta, void *arg);
/* A row that cannot be opened: table, row id (hex) and why. */
typedef void (*store_bad_cb)(const char *table, const char *id_hex,
    const char *reason, void *arg);
/*
 * Visit one page of table. cb sees each good row; bad (may be NULL: then
 * they are only logged) sees each bad one, which is skipped and counts
 * towards the page. next_cursor (STORE_CURSOR_MAX bytes) receives an
 * opaque cursor for the next page, or "" when this page reached the end
 * (or cb stopped the walk: then the cursor is after the row cb stopped
 * at). A malformed cursor is an error (STORE_ERROR, "bad cursor").
 */
int store_scan(struct store *st, const char *table, const struct store_page *q,
    store_row_cb cb, store_bad_cb bad, void *arg, char *next_cursor,
    struct error *err);
/* Delete up to limit rows of table that expired (exp in (0, now]) or whose
 * ord < ord_before (INT64_MIN: ignore ord); *n receives the count. */
int store_purge(struct store *st, const char *table, int64_t ord_before,
    size_t limit, size_t *n, struct error *err);
/* Number of rows in table. */
int store_count(struct store *st, const char *table, uint64_t *n,
    struct error *err);

/* The row id (hex, STORE_ID_HEX_LEN + 1 bytes) a name has in table: what
 * integrity errors and store_check name, so a caller can match a bad row
 * it was told about to a name it knows. 0 or -1. */
int store_row_id_hex(struct store *st, const char *table, const char *name,
    char *out, struct error *err);

/* A row's tag: the first 8 bytes of its id, which a scan's skip and
 * store_meta show, so that a caller can recognise a row it wrote or read
 * before without opening it again. Rows of one table with equal ord
 * share a tag with probability 2^-64 (the id is a keyed hash). 0 or -1
 * (a name store_put would refuse). */
int store_row_tag(struct store *st, const char *table, const char *name,
    uint64_t *tag, struct error *err);

/* Delete a row by its id (hex), whatever it holds: the repair for a row
 * that store_check reports and whose name nobody knows. Tables of the
 * store itself are refused. 0, 1 absent, < 0. */
int store_delete_id(struct store *st, const char *table, const char *id_hex,
    struct error *err);

/* What /api/v1/health and `trusteectl status` show about the store. */
struct store_info {
	const char *backend;		/* "sqlite", "mariadb" */
	char dsn[256];			/* redacted */
	char sealer[128];		/* the sealer's description */
	int insecure_sealer;		/* 1: "file" (development only) */
	char instance[33];		/* this instance's id (hex) */
	uint32_t key_version;		/* data-key version of new writes */
	uint32_t key_oldest;		/* lowest version not dropped: below
					 * key_version while rotating */
	int cache;			/* 1: reads of cached tables may be
					 * served from memory (store_cache) */
	uint64_t cache_hits, cache_misses;
	size_t cache_bytes;		/* sealed rows held */
	uint64_t lease_waits;		/* writes that waited out another
					 * instance's lease (lease.c) */
};
void store_info(struct store *st, struct store_info *out);
/*
 * Serve reads of table's rows from this process's memory when that is
 * provably current. A handle that is its database's only writer (the
 * embedded SQLite store under its daemon lock) keeps a cache, and every
 * write through it invalidates it first-hand. A handle on a database
 * that other instances write keeps one only with a lease (lease_ms): its
 * rows then answer only within a lease the poller renews by reading the
 * table's shared generation, and a write elsewhere is acknowledged only
 * after store_settle (lease.c). The cache holds rows still sealed, and
 * each hit is authenticated as a database read is. Without either, a
 * no-op. Call before serving; 0, or STORE_ERROR.
 */
int store_cache(struct store *st, const char *table, struct error *err);
/*
 * Before acknowledging writes to cached tables made by this thread (on
 * any handle): wait until no other instance can still answer from its
 * cache with the rows as they were before (at most the lease and a
 * margin after the last such write; at once when there was none or no
 * handle has a lease).
 */
void store_settle(void);
/* 0 if the database answers now (one round trip), < 0 otherwise. */
int store_ping(struct store *st, struct error *err);

/*
 * Timing of store calls, for the daemon's metrics: once set, cb runs
 * after every get, put, delete (plain and _ex), scan page (its time
 * includes the row callbacks), purge and count, on the calling thread,
 * with the call's duration in nanoseconds. It must be quick and must
 * not call the store. One hook per process; NULL removes it.
 */
enum store_op {
	STORE_OP_GET, STORE_OP_PUT, STORE_OP_DELETE, STORE_OP_SCAN,
	STORE_OP_PURGE, STORE_OP_COUNT, STORE_NOPS
};
extern const char *const store_op_names[STORE_NOPS];
typedef void (*store_timing_cb)(enum store_op op, uint64_t ns);
void store_set_timing(store_timing_cb cb);

/* --------------------------------------------------------- store_sqlite.c */

/* The embedded default backend; dsn is the database file path. */
extern const struct store_backend store_backend_sqlite;
const struct store_backend *store_backend_lookup(const char *name);

/* ------------------------------------------------------------ store_dsn.c */

struct store_dsn;
/*
 * Parse a store DSN: "sqlite:PATH" or
 * "mariadb://USER@HOST[:PORT]/DATABASE" or
 * "mariadb://USER@localhost/DATABASE?socket=PATH". A password in the DSN
 * is refused ("put it in [store] password_file"); the password comes
 * from password_file (a 0600 file; one line, trailing newline dropped),
 * else from the systemd credential "trustee-db-password" in
 * $CREDENTIALS_DIRECTORY, else none. The password is held in sodium
 * memory. dsn->redacted is the DSN as it may be printed (no secrets).
 * Errors name the DSN without secrets. timeout_ms is copied into the
 * result.
 */
int store_dsn_parse(const char *text, const char *password_file,
    int timeout_ms, struct store_dsn **out, struct error *err);
/* Wipe the password and free; NULL is fine. */
void store_dsn_free(struct store_dsn *dsn);
/* The backend for a parsed DSN's scheme, or NULL with err set. */
const struct store_backend *store_dsn_backend(const struct store_dsn *dsn,
    struct error *err);
/* The redacted form of a DSN text without parsing it fully (for messages
 * before parsing succeeded): never contains a password. */
void store_dsn_redact(const char *text, char *out, size_t cap);

/* ------------------------------------------------------------ keystatus.c */

/* The data-key versions and their rows, for `trusteectl key status`. */
#define STORE_KEY_VERSIONS_MAX	16
#define STORE_INSTANCES_MAX	32
struct store_key_status {
	uint32_t current;		/* version of new writes */
	uint32_t oldest;		/* lowest version not yet dropped */
	struct {
		uint32_t version;
		uint64_t rows;
	} versions[STORE_KEY_VERSIONS_MAX];
	size_t nversions;
	uint64_t unreadable;		/* rows under old versions that
					 * cannot be re-sealed (corrupt) */
	const char *state;		/* "idle", "rotating", "waiting for
					 * instances", "draining" */
	char detail[256];		/* what rotation waits for */
	struct {
		char id[33];
		char sealer[128];
		int64_t created, last_seen;
		uint32_t loaded;	/* highest version it has loaded */
		int live;		/* heartbeat recent */
		int self;
	} instances[STORE_INSTANCES_MAX];
	size_t ninstances;
};
int store_key_status(struct store *st, struct store_key_status *out,
    struct error *err);

/* ---------------------------------------------------------- keyring.c */

/*
 * Keys for the store's users, derived from the deployment's master key:
 * every instance that shares the store derives the same key for a
 * purpose, no two purposes the same key, and none is a key the store
 * itself uses. Never rotated (store_rotate changes data keys only). The
 * caller keeps out in guarded memory and wipes it.
 */
enum store_purpose {
	STORE_PURPOSE_CHALLENGE = 1	/* KBS challenge nonces (session) */
};
void store_derive_key(struct store *st, enum store_purpose purpose,
    uint8_t out[32]);

/* --------------------------------------------------------------- rotate.c */

/*
 * Start a rotation: create data-key version current + 1 (insert-only, so
 * two concurrent calls on two instances give one new version) and use it
 * for new writes at once; the rotation worker re-seals older rows in the
 * background and drops the old version when no row and no live instance
 * uses it. Refused (STORE_ERROR, err says so) while a previous rotation
 * is still draining. *version receives the new version.
 */
int store_rotate(struct store *st, uint32_t *version, struct error *err);
/*
 * One step of the rotation worker, run synchronously (the background
 * thread calls it; tests too): re-seal up to max_rows rows under older
 * versions, then drop old versions if nothing uses them. *done is 1 when
 * no rotation is pending any more.
 */
int store_rotate_step(struct store *st, size_t max_rows, int *done,
    struct error *err);

/* ---------------------------------------------------------------- watch.c */

/*
 * Follow writes to a table by any instance sharing the database: cb runs
 * on the store's poller thread within about two poll intervals after
 * another instance (or trusteectl offline) wrote the table. Writes through
 * this store handle do not trigger it (the writer updates its own cache).
 * Register before the first write; watches live until store_close.
 */
typedef void (*store_watch_cb)(const char *table, void *arg);
int store_watch(struct store *st, const char *table, store_watch_cb cb,
    void *arg, struct error *err);
/* Run one poll now (tests; the poller thread does this every poll_ms). */
void store_poll(struct store *st);
/* Poll the cached tables' generations now, renewing their leases (tests;
 * the lease poller does this every lease_ms / 4 while lookups come). The
 * number of leases renewed. */
int store_lease_poll(struct store *st);
/* End this handle's leases now and leave the registry of lease holders
 * (tests; the lease poller does this once lookups stopped for a while). */
void store_lease_release(struct store *st);

/* ----------------------------------------------------------------- join.c */

/*
 * Joining a deployment (docs in README "Joining"):
 * 1. on the new instance: store_join_request writes FILE, a JSON request
 *    naming the instance id and an X25519 public key; the private key is
 *    sealed by the instance's own sealer into <state_dir>/join.key;
 * 2. on a running instance: store_join_export wraps the master key to that
 *    public key (crypto_box_seal) into a join file;
 * 3. on the new instance: store_join unwraps it, proves it against the key
 *    check row, seals it with its own sealer into _instances and removes
 *    join.key. No plaintext key is written anywhere.
 */
int store_join_request(const struct store_options *o, const char *path,
    struct error *err);
/* req: the request file's bytes (untrusted). *out malloc'd JSON text. */
int store_join_export(struct store *st, const uint8_t *req, size_t len,
    char **out, struct error *err);
int store_join(const struct store_options *o, const char *path,
    struct error *err);

/* ------------------------------------------------------------ seal_file.c */

/*
 * The previous release's file sealer: the data key lives in a file (32
 * random bytes, mode 0600). Created when missing and create is set;
 * refused when the file is group/world accessible. Kept for the sealers
 * branch to replace; the store no longer calls it.
 */
int seal_file_load(const char *path, int create, uint8_t key[32],
    struct error *err);

/* ----------------------------------------------------------------- lock.c */

/*
 * Take the named lock (lower-case letters and '_') for every instance
 * sharing the store, waiting up to the store timeout: STORE_OK, or
 * STORE_UNAVAILABLE when another instance held it that long (or the
 * database is away), STORE_ERROR otherwise. A lock is not re-entrant;
 * one thread of a process asks for a name at a time (callers serialize
 * their own threads first).
 */
int store_lock(struct store *st, const char *name, struct error *err);
void store_unlock(struct store *st, const char *name);

/* ---------------------------------------------------------------- check.c */

/*
 * Read and authenticate every row of every table (also the store's own),
 * calling bad for each that fails (table, row id, reason). *rows and
 * *bad_rows receive the totals. 0 when the scan completed (whatever it
 * found), < 0 when it could not.
 */
int store_check(struct store *st, store_bad_cb bad, void *arg, uint64_t *rows,
    uint64_t *bad_rows, struct error *err);

#endif
