/*
 * store_internal.h: what the files of store/ share about one open store
 * (store.c rows by name, store_scan.c scans, lists, purge and counts,
 * store_open.c opening and closing, store_timing.c the clocks and the
 * timing hook, store_row.c the row format, keyring.c the keys in memory,
 * datakey.c the _keys rows, instance.c this instance and the _instances
 * rows, master.c K_m at start, keystatus.c key status, rotate.c rotation,
 * watch.c the poller, join.c joining, check.c the integrity scan).
 * Nothing outside store/ includes it.
 *
 * Keys (keyring.c has the details):
 *   master key K_m   32 random bytes per deployment; outside memory only
 *                    sealed per instance in _instances
 *   name key         KDF(K_m, 1, "trusteeS"): keyed BLAKE2b of names
 *                    into row ids; never rotated (ids stay stable)
 *   data key v1      KDF(K_m, 2, "trusteeS"): what the previous release
 *                    called the row key, so its databases open unchanged
 *   data key v>=2    random, in _keys, wrapped under
 *                    KDF(K_m, 3, "trusteeS")
 *   MAC key          KDF(K_m, 4, "trusteeS"): authenticates _instances
 *                    rows (heartbeats, sealer descriptions)
 */
#ifndef TRUSTEE_STORE_INTERNAL_H
#define TRUSTEE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <sodium.h>

#include "backend.h"
#include "seal.h"
#include "store.h"

#define STORE_NAME_MAX		1024
/*
 * Values are secrets, policies, keys and records: far below this. With
 * padding (store_row.c) a sealed row stays below 16 MiB, the MariaDB
 * backend's packet limit.
 */
#define STORE_VALUE_MAX		(15u * 1024 * 1024)

#define STORE_KDF_CONTEXT	"trusteeS"
#define STORE_SUBKEY_NAME	1
#define STORE_SUBKEY_V1		2
#define STORE_SUBKEY_WRAP	3
#define STORE_SUBKEY_MAC	4
/* store_derive_key: purpose p is subkey STORE_SUBKEY_PURPOSE + p. */
#define STORE_SUBKEY_PURPOSE	64

/*
 * Store-internal tables (written through the backend directly). Their
 * rows have kv = 0, so they never count as rows of a data-key version.
 */
#define STORE_CHECK_TABLE	"_store"	/* the key check row */
#define STORE_KEYS_TABLE	"_keys"		/* data keys v >= 2, floor */
#define STORE_INSTANCES_TABLE	"_instances"	/* sealed K_m per instance */

#define STORE_INSTANCE_ID_LEN	16		/* bytes; 32 hex digits */
#define STORE_INSTANCE_FILE	"instance-id"	/* in the state directory */
#define STORE_DEFAULT_TIMEOUT_MS 5000
#define STORE_DEFAULT_POLL_MS	1000
#define ROWCACHE_TABLES		8	/* tables store_cache may name */

/* ---------------------------------------------- big-endian integers */

/* The integers of the store's row formats and cursors (store_row.c,
 * datakey.c, instance.c, store_scan.c). */
static inline void
store_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
store_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void
store_be64_put(uint8_t *p, int64_t v)
{
	store_be32_put(p, (uint32_t)((uint64_t)v >> 32));
	store_be32_put(p + 4, (uint32_t)v);
}

static inline int64_t
store_be64_get(const uint8_t *p)
{
	return (int64_t)((uint64_t)store_be32_get(p) << 32 |
	    store_be32_get(p + 4));
}

/* A row's tag (store_row_tag): the first 8 bytes of its id. */
static inline uint64_t
store_id_tag(const uint8_t id[STORE_ID_LEN])
{
	return (uint64_t)store_be64_get(id);
}

/* ------------------------------------------------------------ keyring */

/* K_m and the keys derived from it (sodium_malloc, read-only). */
struct keyring_master {
	uint8_t master[32];
	uint8_t name_key[crypto_generichash_KEYBYTES];
	uint8_t wrap_key[32];
	uint8_t mac_key[32];
};

/* One data-key version (sodium_malloc, read-only). */
struct keyring_dkey {
	uint32_t version;
	int64_t created_ms;		/* from its _keys row; 0 for v1 */
	uint8_t key[32];
};

#define KEYRING_SLOTS		STORE_KEY_VERSIONS_MAX

struct keyring {
	struct keyring_master *m;
	pthread_rwlock_t lock;		/* guards the fields below */
	uint32_t current;		/* version of new writes */
	uint32_t floor;			/* lowest version not dropped */
	struct keyring_dkey *slot[KEYRING_SLOTS];
	pthread_mutex_t refresh_mu;	/* one reload of _keys at a time */
};

/* ----------------------------------------------------------- instance */

/* A parsed _instances row (points into the row's bytes). */
struct instance_row {
	uint8_t id[STORE_INSTANCE_ID_LEN];
	int64_t created;
	int64_t last_seen;
	uint32_t loaded;
	char desc[128];
	const uint8_t *sealed;
	size_t sealed_len;
	const uint8_t *mac;		/* 32 bytes */
	size_t mac_off;			/* bytes covered by the MAC */
};

/* ------------------------------------------------------------ watch */

struct store_watch {
	char table[STORE_TABLE_MAX + 1];
	store_watch_cb cb;
	void *arg;
	uint64_t seen_gen;		/* generation at the last poll */
	uint64_t seen_own;		/* own_bumps at the last poll */
	uint64_t own_bumps;		/* bumps by this handle (atomic) */
	struct store_watch *next;
};

/* ------------------------------------------------------------ store */

struct store {
	const struct store_backend *be;
	void *handle;
	struct rowcache *cache;		/* rowcache.c; NULL unless this handle
					 * is its database's only writer or
					 * has a lease (lease.c) */
	int lease_ms;			/* lease.c; 0: no leased cache */
	uint64_t lease_seen[ROWCACHE_TABLES];	/* generation last read */
	int lease_seen_ok[ROWCACHE_TABLES];
	/* lease.c: this handle in the registry of lease holders; all but
	 * lease_waits under lease_mu */
	pthread_mutex_t lease_mu;
	char lease_holder[STORE_TABLE_MAX + 1];	/* its name there */
	int lease_noted;		/* noted and not dropped since */
	int64_t lease_noted_ms;		/* monotonic ms before the last note */
	int64_t lease_last_ms;		/* the latest lease given */
	_Atomic uint64_t lease_waits;	/* writes that waited out a lease */
	struct store_dsn *dsn;		/* NULL for store_open_key */
	char redacted[256];
	struct keyring kr;
	/* this instance */
	uint8_t instance[STORE_INSTANCE_ID_LEN];
	int has_instance;		/* 0 for store_open_key */
	int64_t instance_created;
	const struct seal_config *seal;
	char sealer_desc[128];
	int sealer_insecure;
	uint8_t *sealed;		/* our sealed K_m (for heartbeats) */
	size_t sealed_len;
	/* timing */
	int timeout_ms;
	int poll_ms;
	/* outage.c: monotonic ms since the database hangs (0: it answers),
	 * and of the last probe */
	_Atomic int64_t outage_since;
	_Atomic int64_t outage_probe;
	/* watches and the poller (watch.c) */
	pthread_mutex_t watch_mu;
	struct store_watch *watches;
	uint64_t keys_gen;		/* _keys generation last seen */
	int64_t heartbeat_ms;		/* monotonic ms of the last one */
	uint32_t heartbeat_loaded;	/* version it reported */
	/* threads */
	pthread_mutex_t thr_mu;
	pthread_cond_t thr_cv;
	int stopping;
	int poller_up, rotator_up, leaser_up;
	pthread_t poller, rotator, leaser;
	/* rotation progress (rotate.c), under thr_mu */
	char rot_table[STORE_TABLE_MAX + 1];
	int rot_have_cursor;
	int64_t rot_ord;
	uint8_t rot_id[STORE_ID_LEN];
	uint64_t rot_unreadable;	/* rows the last pass could not
					 * re-seal */
	uint64_t rot_pass_unreadable;	/* the same, in the current pass */
	int64_t rot_drain_since;	/* monotonic ms: nothing left under
					 * old versions since then */
	char rot_state[32];
	char rot_detail[256];
};

/* ---------------------------------------------------------- store_row.c */

/* Padded plaintext size for n bytes (see store_row.c). */
size_t store_row_padded(size_t n);
/* Row id = BLAKE2b-256(key = name key, table || 0x00 || name). */
void store_row_id(const uint8_t name_key[32], const char *table,
    const char *name, size_t nlen, uint8_t id[STORE_ID_LEN]);
/* Seal name and value under data key dk into a malloc'd blob (format 2). */
void store_row_seal(const struct keyring_dkey *dk, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *name, size_t nlen,
    const void *val, size_t vlen, uint8_t **blob, size_t *bloblen);
/* The data-key version a blob names in its header, or 0 if the blob is
 * too short or of an unknown format. */
uint32_t store_row_version(const uint8_t *blob, size_t len);
/*
 * Open a blob of table/id with key (whose version the blob names).
 * want_name: must match the sealed name, or NULL to return it in
 * *name_out (secret_strfree). *val malloc'd with a NUL after *vlen bytes
 * (secret_free(*val, *vlen)). 0, or STORE_CORRUPT with err naming table
 * and id.
 */
int store_row_open(const uint8_t key[32], uint32_t key_version,
    const char *table, const uint8_t id[STORE_ID_LEN], const char *want_name,
    const uint8_t *blob, size_t len, char **name_out, uint8_t **val,
    size_t *vlen, struct error *err);
/* err = "store: row <hex id> of table '<t>' <what>"; returns
 * STORE_CORRUPT. */
int store_row_corrupt(struct error *err, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *fmt, ...) ATTR_PRINTF(4, 5);

/* ------------------------------------------------------------ store.c */

/* A table name is [a-z_]{1,32}; names starting with '_' are the store's
 * own and refused unless internal_ok. */
int store_table_check(const char *table, int internal_ok, struct error *err);
/*
 * Open a row read from the backend, loading an unknown data-key version
 * from _keys once: as store_row_open, with the key chosen by the blob's
 * header.
 */
int store_open_row(struct store *st, const char *table,
    const struct store_row *row, const char *want_name, char **name_out,
    uint8_t **val, size_t *vlen, struct error *err);
/*
 * After a write to table returned rc: tell the instances sharing the
 * database (watch.c; lease.c for a table cached under a lease, whose
 * generation is bumped whatever rc was). rc, or STORE_UNAVAILABLE for a
 * successful write other instances could not be told of.
 */
int store_wrote(struct store *st, const char *table, int rc,
    struct error *err);
/* Seal and put one row under the current data key (CAS on expect_rev). */
int store_seal_put(struct store *st, const char *table, const uint8_t id[
    STORE_ID_LEN], const char *name, size_t nlen, const void *val,
    size_t vlen, int64_t ord, int64_t exp, uint64_t expect_rev,
    uint64_t *rev, struct error *err);

/* ---------------------------------------------------------- store_open.c */

/* Parse the DSN and connect the backend (no keys yet): a bare store for
 * store_open and store_join. */
int store_connect(const struct store_options *o, struct store **out,
    struct error *err);

/* -------------------------------------------------------- store_timing.c */

/* Milliseconds since the epoch / monotonic. */
int64_t store_now_ms(void);
int64_t store_mono_ms(void);

/* The hook of store_set_timing (NULL: none); read and written atomically. */
extern store_timing_cb store_timing_hook;

/* The start of a timed call (0 without a hook). Inline: every request-path
 * call of store.c and store_scan.c runs it. */
static inline uint64_t
store_timing_start(void)
{
	struct timespec ts;

	if (__atomic_load_n(&store_timing_hook, __ATOMIC_ACQUIRE) == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Report a call started at t0; returns rc, so a call site can wrap its
 * return. */
static inline int
store_timing_end(enum store_op op, uint64_t t0, int rc)
{
	store_timing_cb cb = __atomic_load_n(&store_timing_hook,
	    __ATOMIC_ACQUIRE);
	struct timespec ts;
	uint64_t now;

	if (cb == NULL || t0 == 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	cb(op, now > t0 ? now - t0 : 0);
	return rc;
}

/* ------------------------------------------------------------ outage.c */

/*
 * Around each request-path backend call: outage_enter (0: go ahead, with
 * *t0 the start; STORE_UNAVAILABLE with err set: the database hangs, fail
 * fast) and outage_note with the call's result and *t0 (starts an outage
 * when an unavailable answer took at least half the timeout; any other
 * answer ends it). The poller notes its own reads with t0 = -1: they end
 * an outage but never start one.
 */
int outage_enter(struct store *st, int64_t *t0, struct error *err);
void outage_note(struct store *st, int rc, int64_t t0);

/* ----------------------------------------------------------- keyring.c */

/* Derive the master's keys from K_m into a new keyring (sodium memory);
 * data-key version 1 is loaded unless floor says it was dropped. */
int keyring_init(struct keyring *kr, const uint8_t master[32],
    struct error *err);
void keyring_free(struct keyring *kr);
/* A copy of key as data-key version `version` in sodium memory, read-only
 * (sodium_free), or NULL when that memory cannot be had. */
struct keyring_dkey *keyring_dkey_new(uint32_t version, int64_t created_ms,
    const uint8_t key[32]);
/* Load _keys: every version in [floor, current] (wrapped keys are opened
 * with the wrap key); drops versions below floor from memory. */
int keyring_refresh(struct store *st, struct error *err);
/* The key of version v, or of the current version (v == 0), with the
 * read lock held: call keyring_release after use. NULL (no lock held)
 * when that version is not loaded. */
const struct keyring_dkey *keyring_acquire(struct keyring *kr, uint32_t v);
void keyring_release(struct keyring *kr);
uint32_t keyring_current(struct keyring *kr);
uint32_t keyring_floor(struct keyring *kr);

/* ----------------------------------------------------------- datakey.c */

/* Parse a _keys version row (untrusted; fuzzed): its version, nonce and
 * ciphertext positions. 0 or -1. */
int datakey_parse(const uint8_t *b, size_t len, uint32_t *version,
    struct error *err);
/* Wrap / unwrap a data key for _keys. */
void datakey_wrap(const struct keyring_master *m, uint32_t version,
    const uint8_t key[32], uint8_t **out, size_t *len);
int datakey_unwrap(const struct keyring_master *m, const uint8_t *b,
    size_t len, uint32_t *version, uint8_t key[32], struct error *err);
/* The _keys row ids. */
void datakey_row_id(uint32_t version, uint8_t rid[STORE_ID_LEN]);
void datakey_floor_row_id(uint8_t rid[STORE_ID_LEN]);
/* Floor row (lowest version not dropped) build / open. */
void datakey_floor_wrap(const struct keyring_master *m, uint32_t floor,
    uint8_t **out, size_t *len);
int datakey_floor_unwrap(const struct keyring_master *m, const uint8_t *b,
    size_t len, uint32_t *floor, struct error *err);

/* ---------------------------------------------------------- instance.c */

/* Instance ids as hex. */
void instance_id_hex(const uint8_t id[STORE_INSTANCE_ID_LEN], char out[33]);
/* Read (or, with create, make) <state_dir>/instance-id. 0, 1 when absent
 * and not created, -1 on error. */
int instance_file(const char *state_dir, int create,
    uint8_t id[STORE_INSTANCE_ID_LEN], struct error *err);
/* The _instances row id of an instance id. */
void instance_row_id(const uint8_t id[STORE_INSTANCE_ID_LEN],
    uint8_t rid[STORE_ID_LEN]);
/* Build an _instances row (malloc'd). */
void instance_build(const struct keyring_master *m,
    const uint8_t id[STORE_INSTANCE_ID_LEN], int64_t created,
    int64_t last_seen, uint32_t loaded, const char *desc,
    const uint8_t *sealed, size_t sealed_len, uint8_t **out, size_t *len);
/* Parse an _instances row (untrusted bytes; fuzzed). 0 or -1. */
int instance_parse(const uint8_t *b, size_t len, struct instance_row *out,
    struct error *err);
/* Check its MAC under the master's MAC key: 0 or -1. */
int instance_verify(const struct keyring_master *m, const uint8_t *b,
    const struct instance_row *in, struct error *err);
/* Write this instance's _instances row with a fresh heartbeat. */
int instance_heartbeat(struct store *st, struct error *err);
/* Seconds an instance counts as live after its last heartbeat. */
int64_t instance_live_seconds(const struct store *st);

/* ------------------------------------------------------------ master.c */

/*
 * Recover or create K_m for store_open (see store.h), set up st->kr and
 * this instance's row. (`trusteed -n` never gets here: it runs
 * store_options_check, which opens nothing.)
 */
int master_open(struct store *st, const struct store_options *o,
    struct error *err);
/* The key check row: create it for a new database (create != 0) or
 * authenticate it. 0, or STORE_ERROR "wrong master key". */
int master_check(struct store *st, int create, struct error *err);
/* Seal K_m with this instance's sealer and write its _instances row. */
int master_enrol(struct store *st, struct error *err);

/* ------------------------------------------------------------ watch.c */

/* Start / stop the poller and rotation threads. */
int watch_start(struct store *st, struct error *err);
void watch_stop(struct store *st);
/* A write to table went through this handle: bump its generation if it
 * is watched (so other instances see it). 1 bumped, 0 not watched, -1 the
 * bump failed (logged). */
int watch_wrote(struct store *st, const char *table);
/* Wake the rotation worker. */
void watch_kick(struct store *st);

/* The rotation worker thread (runs store_rotate_step). */
void *rotate_thread(void *arg);

/* ------------------------------------------------------------ lease.c */

/* Give st a leased cache of lease_ms (store_open) and a name in the
 * registry of lease holders. */
void lease_init(struct store *st, int lease_ms);
/* Start the lease poller (watch_start; nothing without a leased cache). */
int lease_start(struct store *st, struct error *err);
/* End every lease of st now and leave the registry (watch_stop, after the
 * poller ended; tests). */
void lease_release(struct store *st);
/* One poll of the cached tables' generations (force: even when no
 * lookup came lately). The number of tables whose lease it extended. */
int lease_poll(struct store *st, int force);
/* After a write to a cached table of a leased handle returned rc: bump
 * its generation and have store_settle wait out the leases. rc, or
 * STORE_UNAVAILABLE when rc was STORE_OK but the bump failed. */
int lease_wrote(struct store *st, const char *table, int rc,
    struct error *err);

/* -------------------------------------------------------------- join.c */

/* A parsed join request / join file (untrusted bytes; fuzzed). */
struct join_request {
	uint8_t instance[STORE_INSTANCE_ID_LEN];
	uint8_t public_key[32];
	char sealer[128];
};
struct join_file {
	uint8_t instance[STORE_INSTANCE_ID_LEN];
	uint8_t *sealed;		/* crypto_box_seal output (malloc'd) */
	size_t sealed_len;
};
int join_parse_request(const uint8_t *text, size_t len,
    struct join_request *out, struct error *err);
int join_parse_file(const uint8_t *text, size_t len, struct join_file *out,
    struct error *err);
void join_file_free(struct join_file *jf);

/* ----------------------------------------------------------- rowcache.c */

/*
 * The cache of sealed rows of chosen tables (rowcache.c has the rules).
 * rowcache_table: the table's index, or -1 when it is not cached (also
 * for rc NULL). rowcache_gen: the generation to pass to rowcache_put,
 * read before the backend read. rowcache_get: 1 and a copy of the row
 * (blob malloc'd) when an entry of the current generation is there.
 * rowcache_wrote: after every write to table (NULL: every table).
 * Leased (rowcache_new(1), a database other instances write): a table's
 * entries serve only before the monotonic ms its lease.c lease runs to
 * (rowcache_lease; 0 at first); rowcache_last_get: the monotonic ms of
 * the last lookup; rowcache_count / rowcache_name: the cached tables.
 * rowcache_serves: 1 when table tix is cached and, if leased, its lease
 * runs (a lookup may be answered from memory now); it counts as a lookup
 * for rowcache_last_get.
 */
struct rowcache;
struct rowcache *rowcache_new(int leased);
int rowcache_leased(struct rowcache *rc);
int rowcache_count(struct rowcache *rc);
const char *rowcache_name(struct rowcache *rc, int tix);
void rowcache_lease(struct rowcache *rc, int tix, int64_t until_ms);
int64_t rowcache_last_get(struct rowcache *rc);
int rowcache_serves(struct rowcache *rc, int tix);
void rowcache_free(struct rowcache *rc);
int rowcache_add(struct rowcache *rc, const char *table);
int rowcache_table(struct rowcache *rc, const char *table);
uint64_t rowcache_gen(struct rowcache *rc, int tix);
int rowcache_get(struct rowcache *rc, int tix, const uint8_t id[STORE_ID_LEN],
    struct store_row *out);
void rowcache_put(struct rowcache *rc, int tix, uint64_t gen,
    const struct store_row *row);
void rowcache_drop(struct rowcache *rc, int tix,
    const uint8_t id[STORE_ID_LEN]);
void rowcache_wrote(struct rowcache *rc, const char *table);
void rowcache_stats(struct rowcache *rc, uint64_t *hits, uint64_t *misses,
    size_t *bytes);

#endif
