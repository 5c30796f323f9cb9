/*
 * toml_internal.h: what lib/toml.c (document structure and the public
 * API) and lib/toml_value.c (encoding, lexing and values) share. Private
 * to those two files; everything else uses toml.h.
 */
#ifndef TRUSTEE_TOML_INTERNAL_H
#define TRUSTEE_TOML_INTERNAL_H

#include <stddef.h>
#include <string.h>
#include <jansson.h>

#include "toml.h"
#include "util.h"

/* Nesting limit, so hostile input cannot exhaust the stack here or in
 * jansson. */
#define TOML_MAX_DEPTH 64

struct toml_mark;	/* the origin map's slot, private to toml.c */

struct toml_parser {
	const char *p, *end;
	int line;
	struct toml_error *err;
	struct toml_mark *marks; /* open addressing, power-of-two capacity */
	size_t mcap, mlen;
	/* The block (table section or inline table) being parsed: dotted
	 * keys may only extend tables that dotted keys made in it. */
	unsigned block, nblocks;
	struct buf sb;		/* scratch for string contents */
};

/* ------------------------------------------------------------- toml.c */

/* Record the error (line, printf-style message) in ps->err; returns -1. */
int toml_perr(struct toml_parser *ps, int line, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* jansson allocation failures are treated like xmalloc's: fatal. */
json_t *toml_jmust(json_t *v);
void toml_jappend(json_t *arr, json_t *v);
/* key = value at the cursor, into table t (line numbers into lt); base
 * is the nesting level of t. */
int toml_parse_keyval(struct toml_parser *ps, json_t *t, json_t *lt,
    int base);

/* ------------------------------------------------------- toml_value.c */

/* Whole-input checks, so the parser can assume clean UTF-8 text whose
 * every CR starts a CRLF. */
int toml_value_check_encoding(struct toml_parser *ps);
/* What is at the cursor, for "expected X, found Y" messages. */
const char *toml_value_describe(const struct toml_parser *ps, char *out,
    size_t cap);
/* At '#': skip to the end of the line (not past it). */
int toml_value_skip_comment(struct toml_parser *ps);
/* Any string value at the cursor, contents into ps->sb. */
int toml_value_parse_string(struct toml_parser *ps, int allow_ml);
/*
 * A value at the cursor; level is its nesting depth. *lv gets its line
 * record (see toml.h): an object of key lines for an inline table, an
 * array of element records for an array, keyline for anything else and
 * for an empty array or inline table.
 */
int toml_value_parse(struct toml_parser *ps, int level, int keyline,
    json_t **v, json_t **lv);

/* --------------------------------------------------------------- lexing */

static inline int
toml_is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static inline int
toml_is_bare(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static inline int
toml_at(const struct toml_parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

static inline int
toml_at_str(const struct toml_parser *ps, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static inline int
toml_at_newline(const struct toml_parser *ps)
{
	return toml_at(ps, '\n') || toml_at(ps, '\r');
}

static inline void
toml_eat_newline(struct toml_parser *ps)
{
	ps->p += *ps->p == '\r' ? 2 : 1;
	ps->line++;
}

static inline void
toml_skip_ws(struct toml_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

#endif
