/*
 * resource.h: the secrets the KBS releases, with metadata and a bounded
 * version history, in the encrypted store (docs/api.md §4).
 *
 * Layout (every row sealed by store.c like any other):
 *   table "resource_index", name = "<repo>/<type>/<tag>":
 *     {"name", "next": next version number, "active": version,
 *      "versions": [{"version","size","created","created_by",
 *                    "content_type"}, ...]   oldest first, at most
 *                                            RESOURCE_KEEP}
 *   table "resource_data", name = "<name>@<version>": the value bytes.
 * The previous format (table "resources", name -> value bytes) is moved
 * into this one by resource_migrate at start-up (as version 1).
 *
 * No digest of a value is ever computed or exposed: it would tell equal
 * secrets apart and allow offline guessing of weak ones.
 *
 * Writers are serialized by a mutex in one process and by the store's
 * named lock across the processes sharing one store (resource.c); a put
 * writes the new value row first and the index last (the commit point),
 * so a reader never sees an index naming a missing active value. A write
 * answers only after store_settle: then no instance releases the value
 * as it was.
 *
 * Integrity: a resource_index row that fails authentication makes reads of
 * that name fail with STORE_CORRUPT (naming table and row id), listings
 * skip and report it, and a PUT (new history) or DELETE of the name
 * repairs it. Functions below return 0, 1 (absent) or the store.h codes
 * (-1 error, -2 unavailable, -3 corrupt).
 */
#ifndef TRUSTEE_RESOURCE_H
#define TRUSTEE_RESOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;

#define RESOURCE_KEEP 10		/* versions kept per resource */
#define RESOURCE_SEGMENT_MAX 128
#define RESOURCE_NAME_MAX (3 * RESOURCE_SEGMENT_MAX + 3)

/* ---------------------------------------------------------- resource.c */

/* Trustee's rule: exactly repo/type/tag, each segment
 * [A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}. */
int resource_name_check(const char *name, struct error *err);
/* The same for one segment. */
int resource_segment_ok(const char *seg);

/* 1 if ct is an acceptable content_type to record: 1..RESOURCE_CT_MAX
 * printable ASCII bytes. */
#define RESOURCE_CT_MAX 128
int resource_content_type_ok(const char *ct);

/*
 * Store val as a new version (the active one), dropping versions beyond
 * RESOURCE_KEEP. content_type may be NULL ("application/octet-stream");
 * otherwise it must pass resource_content_type_ok.
 * On success *meta (if not NULL) is the new metadata object and *created
 * (if not NULL) 1 when the name was new.
 */
int resource_put(struct store *st, const char *name, const void *val,
    size_t len, const char *content_type, const char *who, json_t **meta,
    int *created, struct error *err);
/* Copy kept version `version` as a new active version: 0 (*meta new
 * metadata if not NULL), 1 unknown resource, 2 version not kept, -1. */
int resource_restore(struct store *st, const char *name, int version,
    const char *who, json_t **meta, struct error *err);
/* Delete the resource and all its versions: 0, 1 unknown, -1 error. */
int resource_delete(struct store *st, const char *name, struct error *err);

/* ----------------------------------------------------- resource_read.c */

/* The active value: 0 (*val malloc'd, release with secret_free), 1 no
 * such resource, -1 error. */
int resource_read_value(struct store *st, const char *name, uint8_t **val,
    size_t *len, struct error *err);
/* Metadata {"name","version","size","created","created_by","content_type",
 * "versions"}: 0, 1 unknown, -1 error. */
int resource_read_meta(struct store *st, const char *name, json_t **meta,
    struct error *err);
/* Versions, newest first, each {"version","size","created","created_by",
 * "content_type","active"}: 0, 1 unknown, -1 error. */
int resource_read_versions(struct store *st, const char *name, json_t **items,
    struct error *err);

/* ----------------------------------------------------- resource_list.c */

/*
 * Metadata of up to limit resources whose names start with prefix (NULL:
 * all) and sort strictly after `after` (NULL: from the start), by name,
 * from the ordered name index (resource_list_init): O(log n + limit).
 * *more is set when further items may exist. *items is a new array;
 * *problems (if not NULL) a new array of index rows that fail
 * authentication, each {"table","row" (id hex),"detail"} (and "name" when
 * known): they are skipped, not fatal. Returns 0 or < 0 (store.h codes).
 */
int resource_list(struct store *st, const char *prefix, const char *after,
    size_t limit, json_t **items, int *more, json_t **problems,
    struct error *err);
/* Build the ordered name index, follow other instances' writes
 * (store_watch), and let releases read both tables from memory where that
 * is provably current (store_cache); resource_list_shutdown frees the
 * index. */
int resource_list_init(struct store *st, struct error *err);
void resource_list_shutdown(void);

/* -------------------------------------------------- resource_migrate.c */

/* Move rows of the previous format into the versioned layout (idempotent;
 * logs how many). */
int resource_migrate(struct store *st, struct error *err);

/* ----------------------------------------------------- resource_hint.c */

/* The guessed active version of name, 0 when none
 * (versions start at 1, so an empty slot guesses nothing). */
int resource_hint_get(const char *name);
/* The active version resource_hint_set recorded for name if row (an index
 * row's value) is byte for byte the row it was given then, else 0. */
int resource_hint_active(const char *name, const uint8_t *row, size_t len);
/* Record the version a release found active in the index row row. */
void resource_hint_set(const char *name, int version, const uint8_t *row,
    size_t len);

#endif
