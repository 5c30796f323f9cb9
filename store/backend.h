/*
 * backend.h: the storage backend interface, private to store.c and the
 * store_<backend>.c files.
 *
 * A backend is a dumb keyed blob store: it sees only a table name (from a
 * fixed set chosen by the daemon's code, never user input), an opaque
 * 32-byte row id (a keyed hash of the row's name) and an opaque sealed
 * blob. It never sees names, plaintext or keys; all cryptography lives in
 * store.c, so a new backend (MariaDB) only moves bytes.
 *
 * Contract for every backend:
 * - all functions are safe to call concurrently from several threads on
 *   the same handle;
 * - errors fill err with a message naming the backend and what failed;
 * - get returns a malloc'd copy of the blob (free()), 1 if absent;
 * - list calls cb without holding any backend lock (cb may call back into
 *   the store); cb returns non-zero to stop, which is not an error;
 * - put is an upsert: insert, or replace the blob of an existing row.
 */
#ifndef TRUSTEE_STORE_BACKEND_H
#define TRUSTEE_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define STORE_ID_LEN 32

typedef int (*store_backend_list_cb)(const uint8_t id[STORE_ID_LEN],
    const uint8_t *blob, size_t len, void *arg);

struct store_backend {
	const char *name;
	/* Open (creating when absent) the store named by dsn. */
	int (*open)(const char *dsn, void **handle, struct error *err);
	/* Release everything; handle may be NULL. */
	void (*close)(void *handle);
	int (*put)(void *handle, const char *table,
	    const uint8_t id[STORE_ID_LEN], const uint8_t *blob, size_t len,
	    struct error *err);
	/* 0 found, 1 not found, -1 error. */
	int (*get)(void *handle, const char *table,
	    const uint8_t id[STORE_ID_LEN], uint8_t **blob, size_t *len,
	    struct error *err);
	/* 0 deleted, 1 not found, -1 error. */
	int (*del)(void *handle, const char *table,
	    const uint8_t id[STORE_ID_LEN], struct error *err);
	/* 0 when every row was visited or cb stopped early, -1 error. */
	int (*list)(void *handle, const char *table, store_backend_list_cb cb,
	    void *arg, struct error *err);
};

#endif
