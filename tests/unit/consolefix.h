/*
 * consolefix.h: the fixture of the console's server-side unit tests
 * (test_console_*.c): consolefix_setup opens a scratch SQLite store
 * (under a fresh random key, kept in the fixture) with the users and
 * console sessions on it; consolefix_teardown shuts them down and removes
 * the store. consolefix_db_contains looks for raw bytes in the database
 * file and its WAL. Header-only; include after <cmocka.h>, <sodium.h>,
 * server/console.h and server/trusteed.h. Every helper fails the running
 * test on error.
 */
#ifndef TRUSTEE_CONSOLEFIX_H
#define TRUSTEE_CONSOLEFIX_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

struct fixture {
	char dir[128], db[160];
	uint8_t key[32];
	struct store *st;
};

static inline int
consolefix_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err;
	uint8_t key[32];

	testutil_tmpdb("test_console", f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	randombytes_buf(key, sizeof(key));
	memcpy(f->key, key, sizeof(key));
	f->st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	if (f->st == NULL)
		fail_msg("store_open: %s", err.msg);
	if (users_init(f->st, &err) != 0 ||
	    consess_init(f->st, 600, 3600, &err) != 0)
		fail_msg("init: %s", err.msg);
	*state = f;
	return 0;
}

static inline int
consolefix_teardown(void **state)
{
	struct fixture *f = *state;

	consess_shutdown();
	users_shutdown();
	store_close(f->st);
	testutil_db_unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* 1 when needle occurs in the database file or its WAL (raw bytes). */
static inline int
consolefix_db_contains(const struct fixture *f, const char *needle)
{
	static const char *const suffix[] = { "", "-wal" };
	struct error err;
	uint8_t *data;
	size_t len, i;
	int found = 0;

	for (i = 0; i < 2; i++) {
		char *p = xasprintf("%s%s", f->db, suffix[i]);

		if (access(p, R_OK) == 0 &&
		    file_read_all(p, 64u << 20, &data, &len, &err) == 0) {
			found |= memmem(data, len, needle, strlen(needle)) !=
			    NULL;
			free(data);
		}
		free(p);
	}
	return found;
}

#endif
