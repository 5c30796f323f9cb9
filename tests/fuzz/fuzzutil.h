/*
 * fuzzutil.h: header-only helpers shared by the fuzz targets that drive
 * the server's handlers (each target is its own program, so shared code
 * lives here rather than in a library).
 */
#ifndef TRUSTEE_FUZZUTIL_H
#define TRUSTEE_FUZZUTIL_H

#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/util.h"

static char *fuzzutil_db;

/* Remove the scratch database and its WAL files when the fuzzer exits. */
static void
fuzzutil_cleanup(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	size_t i;

	if (fuzzutil_db == NULL)
		return;
	for (i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", fuzzutil_db, suffix[i]);

		unlink(p);
		free(p);
	}
	free(fuzzutil_db);
	fuzzutil_db = NULL;
}

/* A fresh scratch database path for this process, removed at exit. */
static const char *
fuzzutil_scratch_db(const char *name)
{
	fuzzutil_db = xasprintf("/tmp/%s.%ld.db", name, (long)getpid());
	unlink(fuzzutil_db);
	atexit(fuzzutil_cleanup);
	return fuzzutil_db;
}

/* Abort unless body is a problem document: exactly {"type", "detail"},
 * both strings. */
static void
fuzzutil_check_problem(const struct buf *body)
{
	json_t *v = json_loadb((const char *)body->data, body->len, 0, NULL);
	json_t *t = json_object_get(v, "type");
	json_t *d = json_object_get(v, "detail");

	if (!json_is_object(v) || json_object_size(v) != 2 ||
	    !json_is_string(t) || !json_is_string(d))
		abort();
	json_decref(v);
}

#endif
