/*
 * store.h: the encrypted store, the layer below server/ and rvps/ (one
 * section per file of store/; functions carry the file's name).
 *
 * Nothing in store/ includes a server/ header.
 */
#ifndef TRUSTEE_STORE_H
#define TRUSTEE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

/* ----------------------------------------------------------------- store.c */

/*
 * The encrypted store. Every row is sealed with XChaCha20-Poly1305 under a
 * subkey of the data key, with (table, keyed name hash) as associated
 * data; the row's key in the backend is a keyed BLAKE2b hash of the name,
 * so a database dump reveals neither values nor names. Thread-safe.
 */
struct store;
struct store_backend;

/* data_key: 32 bytes from the sealer (copied into secure memory). */
struct store *store_open(const struct store_backend *backend, const char *dsn,
    const uint8_t data_key[32], struct error *err);
void store_close(struct store *st);
/* Insert or replace. */
int store_put(struct store *st, const char *table, const char *name,
    const void *val, size_t len, struct error *err);
/* 0 found (*val malloc'd: release with secret_free(*val, *len)),
 * 1 not found, -1 error (including a row that fails authentication). */
int store_get(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct error *err);
/* 0 deleted, 1 not found, -1 error. */
int store_delete(struct store *st, const char *table, const char *name,
    struct error *err);
/* Call cb for every row of table with its decrypted name and value
 * (valid during the call only). cb returns non-zero to stop. */
typedef int (*store_list_cb)(const char *name, const uint8_t *val, size_t len,
    void *arg);
int store_list(struct store *st, const char *table, store_list_cb cb,
    void *arg, struct error *err);

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

/* ------------------------------------------------------------ seal_file.c */

/*
 * The development sealer: the data key lives in a file (32 random bytes,
 * mode 0600). Created when missing and create is set; refused when the
 * file is group/world accessible. Logs a loud warning: not for production.
 */
int seal_file_load(const char *path, int create, uint8_t key[32],
    struct error *err);

#endif
