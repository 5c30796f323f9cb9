/*
 * jcs.h: RFC 8785 JSON Canonicalization Scheme over jansson values.
 * Keys sorted by UTF-16 code units, no whitespace, ES6 number form,
 * minimal string escaping (\" \\ \b \f \n \r \t, other controls as
 * lowercase \u00xx; '/' and non-ASCII are emitted raw).
 */
#ifndef TRUSTEE_JCS_H
#define TRUSTEE_JCS_H

#include <stddef.h>
#include <jansson.h>
#include "util.h"

/* Returns a malloc'd NUL-terminated string and its length, or NULL when
 * the value cannot be canonicalized (non-finite number). */
char *jcs_serialize(const json_t *v, size_t *len);

/*
 * The same text without the canonical order: object members in their
 * insertion order, as json_dumps(v, JSON_COMPACT) lists them, with the
 * escaping and number forms above. For texts kept or signed as they
 * are produced (token payloads, log rows), never recomputed elsewhere:
 * jansson's dumper costs about ten times as much (it enters every
 * object and array into a loop-detection table keyed by its printed
 * address). A value built by jansson has no cycles. Same return
 * contract as jcs_serialize.
 */
char *jcs_compact(const json_t *v, size_t *len);

/* Append s (n bytes) as a JSON string literal with the escaping above.
 * serde_json (what the guest uses to rebuild JWE headers) escapes
 * identically, so lib/jwe_header.c uses it too. */
void jcs_append_string(struct buf *b, const char *s, size_t n);

#endif
