/*
 * resource_migrate.c: moving the previous format's rows (table
 * "resources", name -> value bytes) into the versioned layout of
 * resource.h, at start-up before the name index is built.
 *
 * Each valid name becomes version 1 (created_by "migrated", the default
 * content type) through resource_put, and its old row is deleted only
 * after; a name whose index row exists already was moved by a run that
 * stopped before the delete, so it is only deleted. A row whose name
 * breaks the naming rule is left alone (and logged). Idempotent.
 */
#include <stdlib.h>

#include "../lib/log.h"
#include "../store/store.h"
#include "resource.h"
#include "resource_internal.h"

#define RESOURCE_LEGACY "resources"

/* store_list callback: collect the previous format's names. */
static int
resource_migrate_name(const char *name, const uint8_t *val, size_t len,
    void *arg)
{
	(void)val;
	(void)len;
	json_array_append_new(arg, json_string(name));
	return 0;
}

int
resource_migrate(struct store *st, struct error *err)
{
	json_t *names = json_array(), *idx, *n;
	uint8_t *val;
	size_t len, i;
	int rc, moved = 0;

	if (store_list(st, RESOURCE_LEGACY, resource_migrate_name, names,
	    err) != 0) {
		json_decref(names);
		return error_prefix(err, "migrating resources");
	}
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);

		rc = resource_read_index(st, name, &idx, err);
		json_decref(idx);
		if (rc < 0)
			goto fail;
		if (rc == 1 && resource_name_check(name, err) != 0) {
			log_warnx("resource row '%s' of the previous format "
			    "left alone: %s", name, err->msg);
			continue;
		}
		if (rc == 1) {
			/* Not migrated yet (a crash may have stopped a
			 * previous run after the put: then rc == 0). */
			if (store_get(st, RESOURCE_LEGACY, name, &val, &len,
			    err) != 0)
				goto fail;
			rc = resource_put(st, name, val, len, NULL,
			    "migrated", NULL, NULL, err);
			secret_free(val, len);
			if (rc != 0)
				goto fail;
		}
		if (store_delete(st, RESOURCE_LEGACY, name, err) < 0)
			goto fail;
		moved++;
	}
	json_decref(names);
	if (moved > 0)
		log_info("migrated %d resource(s) to the versioned layout",
		    moved);
	return 0;
fail:
	json_decref(names);
	return error_prefix(err, "migrating resources");
}
