/*
 * resource_internal.h: what the resource files share (resource.h has the
 * row layout and the contracts to the rest of the daemon). resource.c
 * writes versions under the write locks; resource_read.c reads and
 * checks the rows (a release's hot path); resource_list.c keeps the
 * ordered name index behind listing; resource_migrate.c moves the
 * previous format's rows. Nothing else includes this header.
 */
#ifndef TRUSTEE_RESOURCE_INTERNAL_H
#define TRUSTEE_RESOURCE_INTERNAL_H

#include <jansson.h>

#include "../lib/util.h"

struct store;

#define RESOURCE_INDEX "resource_index"
#define RESOURCE_DATA "resource_data"

/* The value row's name "<name>@<version>" (malloc'd). */
static inline char *
resource_data_name(const char *name, int version)
{
	return xasprintf("%s@%d", name, version);
}

/* ---------------------------------------------------------- resource_read.c */

/* Load and check the index row: 0, 1 absent, < 0 as store_get (an
 * authentic row that is not a valid index is STORE_CORRUPT too). */
int resource_read_index(struct store *st, const char *name, json_t **idx,
    struct error *err);
/* The entry of version in a checked index row's "versions", or NULL. */
json_t *resource_read_entry(const json_t *idx, json_int_t version);
/* The public metadata of a checked index row's active version (a new
 * object, as resource_read_meta gives it). */
json_t *resource_read_describe(const char *name, const json_t *idx);

/* ---------------------------------------------------------- resource_list.c */

/* Build the name index now unless it is built for st already (tests and
 * tools that never called resource_list_init); a failure is logged. */
void resource_list_ensure(struct store *st);
/* This process put or deleted name: enter it in, or drop it from, the
 * name index. */
void resource_list_add(const char *name);
void resource_list_remove(const char *name);
/* name was deleted or overwritten: stop reporting its index row as
 * failing authentication. */
void resource_list_repaired(struct store *st, const char *name);

#endif
