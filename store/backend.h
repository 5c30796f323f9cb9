/*
 * backend.h: the storage backend interface, private to the store layer
 * (store.c and the store_<backend>.c files; nothing outside store/
 * includes it).
 *
 * A backend is a keyed row store that only moves bytes. It sees a table
 * name (from a fixed set chosen by the daemon's code, never user input),
 * an opaque 32-byte row id (a keyed hash of the row's name), a sealed
 * blob, and a few plain columns chosen by store.c that reveal nothing a
 * database administrator could not see anyway (when a row was written,
 * when it expires, which data-key version sealed it). It never sees
 * names, plaintext or keys; all cryptography lives in store.c, so the
 * SQLite and MariaDB backends have the same behaviour.
 *
 * Schema (both backends, same columns and meaning):
 *   rows(tbl, id, kv, ord, exp, rev, blob)  PRIMARY KEY (tbl, id),
 *        index (tbl, ord, id), index (kv), index (tbl, exp) (SQLite:
 *        (kv, tbl, ord) and (tbl, exp, ord), so time-ordered rows append)
 *   meta(k, v)     'schema_version' and the store's counters
 *   gen(tbl, n)    per-table write generation (store_backend.gen_*)
 * Tables whose name starts with '_' belong to the store itself (data-key
 * versions, sealed per-instance copies of the master key, the key check
 * row); their blobs are written by store.c like any other.
 *
 * Return codes of every function below:
 *    0  done
 *    1  absent, or the condition (expected revision) did not hold
 *   -1  error (err names the backend, the operation and the table)
 *   -2  the database is unavailable (connection lost or refused, timeout,
 *       Galera not ready): the caller may retry later; a request that
 *       needs the store answers 503 with Retry-After.
 *
 * Every function is safe to call concurrently from several threads on one
 * handle. Callbacks run without any backend lock held (they may call back
 * into the store); a callback returns non-zero to stop, which is not an
 * error. Blobs handed to callbacks are valid during the call only.
 * Acknowledged writes are durable when the call returns 0 (SQLite:
 * synchronous=FULL in WAL mode; MariaDB: a committed InnoDB transaction).
 */
#ifndef TRUSTEE_STORE_BACKEND_H
#define TRUSTEE_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define STORE_ID_LEN		32
#define STORE_TABLE_MAX		32
#define STORE_GET_MANY_MAX	64	/* ids per get_many */

#define STORE_OK		0
#define STORE_ABSENT		1
#define STORE_ERROR		(-1)
#define STORE_UNAVAILABLE	(-2)

/* put/del conditions on the row's revision. */
#define STORE_REV_ANY		UINT64_MAX	/* unconditional */
#define STORE_REV_ABSENT	0		/* put: insert only if absent */

/* One row. rev is set by the backend: 1 on insert, +1 on every put that
 * replaces the row; a caller's expected revision makes put and del
 * compare-and-swap operations. */
struct store_row {
	uint8_t id[STORE_ID_LEN];
	uint32_t kv;		/* data-key version that sealed blob */
	int64_t ord;		/* ordering key (e.g. µs time of a log entry) */
	int64_t exp;		/* unix seconds the row dies at; 0 = never */
	uint64_t rev;
	const uint8_t *blob;
	size_t len;
};

/* A page of rows of one table in (ord, id) order, ascending or
 * descending; or of every table (rotation, checks) in (tbl, ord, id)
 * order, where the cursor includes after_table. A zeroed struct selects
 * every row, ascending. */
struct store_scan {
	int desc;		/* descending order */
	int have_after;		/* start strictly after the cursor */
	char after_table[STORE_TABLE_MAX + 1];	/* table NULL scans only */
	int64_t after_ord;
	uint8_t after_id[STORE_ID_LEN];
	int ord_range;		/* only ord_min <= ord <= ord_max */
	int64_t ord_min;
	int64_t ord_max;
	uint32_t kv_below;	/* only rows with kv < kv_below; 0 = any */
	int live_only;		/* skip rows with exp != 0 && exp <= now_s */
	int64_t now_s;
	size_t limit;		/* at most this many rows; 0 = no limit */
	int ids_only;		/* rows without their blob: only table, id
				 * and ord are filled (kv, exp, rev 0, an
				 * empty blob), so that the database can
				 * answer from its (tbl, ord, id) index */
};

/* table: the row's table (also when the scan covers every table). */
typedef int (*store_backend_row_cb)(const char *table,
    const struct store_row *row, void *arg);

/* Rows per data-key version, for rotation progress. */
struct store_kv_count {
	uint32_t kv;
	uint64_t rows;
};

/* Where the database is; parsed from the DSN by store_dsn.c. password is
 * read from a 0600 file or a systemd credential, never from the DSN; it
 * lives in sodium-guarded memory owned by the store layer. */
struct store_dsn {
	const char *scheme;	/* "sqlite" or "mariadb" */
	const char *path;	/* sqlite: database file */
	const char *user;	/* mariadb */
	const char *host;	/* mariadb: NULL/"localhost" with socket */
	unsigned port;		/* mariadb: 0 = 3306 */
	const char *database;	/* mariadb */
	const char *socket;	/* mariadb: unix socket path, or NULL */
	const char *password;	/* mariadb: NUL-terminated, or NULL */
	int timeout_ms;		/* bound on every operation (connect, read,
				 * write, lock waits); > 0 */
	int exclusive;		/* sqlite: take the file lock that keeps a
				 * second daemon out */
	const char *redacted;	/* the DSN as it may be printed */
};

#define STORE_HOLDER_PREFIX	"lease:"
enum store_holder_op {
	STORE_HOLDER_BEAT,
	STORE_HOLDER_DROP,
	STORE_HOLDER_OTHERS
};

struct store_backend {
	const char *name;
	/*
	 * Connect (creating the database file for SQLite), then bring the
	 * schema to the current version: forward migrations only, applied
	 * under a lock that every instance honours (SQLite: an IMMEDIATE
	 * transaction; MariaDB: GET_LOCK) so that instances starting
	 * together migrate once. A schema newer than this build is an
	 * error that changes nothing.
	 */
	int (*open)(const struct store_dsn *dsn, void **handle,
	    struct error *err);
	/* Release everything; handle may be NULL. */
	void (*close)(void *handle);
	/*
	 * Insert or replace row->id in table with the given columns and
	 * blob. expect_rev: STORE_REV_ANY (upsert), STORE_REV_ABSENT
	 * (insert only if absent) or the revision the row must have. *rev
	 * (if not NULL) receives the new revision.
	 */
	int (*put)(void *handle, const char *table,
	    const struct store_row *row, uint64_t expect_rev, uint64_t *rev,
	    struct error *err);
	/* Fill *row; row->blob is malloc'd (the caller frees it). Expired
	 * rows are returned too: store.c decides about expiry. */
	int (*get)(void *handle, const char *table,
	    const uint8_t id[STORE_ID_LEN], struct store_row *row,
	    struct error *err);
	/* Optional (NULL: store.c reads one row after the other): the rows
	 * (table[i], id[i]), i = 0, 1, in one statement, so one round trip
	 * and one consistent read. found[i] is 1 when rows[i] was filled
	 * (blob malloc'd, as get), 0 when that row is absent. STORE_OK or
	 * < 0 as get (then nothing is filled). */
	int (*get2)(void *handle, const char *const table[2],
	    const uint8_t *const id[2], struct store_row rows[2], int found[2],
	    struct error *err);
	/* Optional (NULL: store.c calls get once per id): the rows of
	 * table with the n ids (1 <= n <= STORE_GET_MANY_MAX) in one
	 * statement. found[i] is 1 when rows[i] was filled (blob malloc'd,
	 * as get), 0 when that row is absent. STORE_OK or < 0 as get (then
	 * nothing is filled). */
	int (*get_many)(void *handle, const char *table,
	    const uint8_t (*id)[STORE_ID_LEN], size_t n, struct store_row *rows,
	    int *found, struct error *err);
	/* Delete when the revision matches (STORE_REV_ANY: always). 1 when
	 * absent or the revision differs: exactly one of several concurrent
	 * deleters of one row gets 0 (this is how a nonce is spent once). */
	int (*del)(void *handle, const char *table,
	    const uint8_t id[STORE_ID_LEN], uint64_t expect_rev,
	    struct error *err);
	/* Visit the rows q selects (table NULL: every table); 0 when all
	 * were visited or cb stopped. */
	int (*scan)(void *handle, const char *table, const struct store_scan *q,
	    store_backend_row_cb cb, void *arg, struct error *err);
	/* Rows per kv over every table (table NULL) or one: fills up to max
	 * entries, ascending kv, and *n. */
	int (*count)(void *handle, const char *table, struct store_kv_count *out,
	    size_t max, size_t *n, struct error *err);
	/* Delete up to limit rows of table whose exp is in (0, exp_before]
	 * or whose ord < ord_before (pass INT64_MIN to ignore ord); *n
	 * receives how many. Used for session expiry and log retention. */
	int (*purge)(void *handle, const char *table, int64_t exp_before,
	    int64_t ord_before, size_t limit, size_t *n, struct error *err);
	/* The write generation of a table: bump (atomically +1) and read.
	 * Other instances poll it to learn that a cached table changed. */
	int (*gen_bump)(void *handle, const char *table, struct error *err);
	int (*gen_get)(void *handle, const char *table, uint64_t *n,
	    struct error *err);
	/*
	 * Optional (NULL: a write to a leased table always waits out a
	 * lease): the registry of the instances that answer reads from a
	 * leased cache (lease.c). Its rows sit beside the generation
	 * counters, named holder (STORE_HOLDER_PREFIX and an id), and are
	 * timed by the database's own clock, in ms:
	 *   STORE_HOLDER_BEAT    note holder as holding now; with ms > 0
	 *                        also forget every holder not noted for ms;
	 *   STORE_HOLDER_DROP    forget holder;
	 *   STORE_HOLDER_OTHERS  *n = the holders other than holder noted
	 *                        less than ms ago.
	 * 0 or -1/-2 as above.
	 */
	int (*holder)(void *handle, enum store_holder_op op,
	    const char *holder, int64_t ms, uint64_t *n, struct error *err);
	/*
	 * A named advisory lock held across instances (MariaDB GET_LOCK;
	 * SQLite: a process-shared lock file beside the database), waiting
	 * at most timeout_ms: 0 taken, 1 busy, -1/-2 as above. Used around
	 * key rotation steps and first-time initialisation.
	 */
	int (*lock)(void *handle, const char *name, int timeout_ms,
	    struct error *err);
	void (*unlock)(void *handle, const char *name);
	/*
	 * Optional (NULL: store.c calls put once per row): put n rows,
	 * each STORE_REV_ANY, in one transaction: all or none, durable as
	 * one commit (SQLite: one fsync).
	 */
	int (*put_many)(void *handle, const char *table,
	    const struct store_row *rows, size_t n, struct error *err);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_mariadb;

#endif
