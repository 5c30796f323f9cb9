/*
 * toml.c: a reader for the TOML subset described in toml.h, written from
 * the TOML 1.0.0 specification (https://toml.io/en/v1.0.0).
 *
 * One pass over the text, after a first pass that rejects NUL bytes,
 * invalid UTF-8 and bare CRs so that the parser proper never sees them.
 * Values go straight into jansson; a parallel object tree collects the
 * line number of every key.
 *
 * TOML forbids redefinition in ways that depend on how a table came to
 * exist, which jansson cannot record; a side map from node to origin
 * does. Nodes absent from the map are values (inline tables, arrays
 * written with [...]) and are closed to any later extension.
 *
 * Deliberate restrictions beyond TOML 1.0: date-times, inf and nan are
 * rejected, and so is the escape \u0000 (every consumer handles strings
 * as C strings). Nesting is limited to TOML_MAX_DEPTH levels so hostile
 * input cannot exhaust the stack here or in jansson.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "toml.h"
#include "util.h"

#define TOML_MAX_DEPTH 64

/* How a table (or array of tables) came to exist. */
enum origin {
	ORIGIN_NONE = 0,	/* a value: closed */
	ORIGIN_IMPLICIT,	/* intermediate of a [a.b.c] header */
	ORIGIN_HEADER,		/* [header], or an element of [[x]] */
	ORIGIN_DOTTED,		/* by a dotted key in block `owner` */
	ORIGIN_AOT		/* the array behind [[header]] */
};

struct mark {
	const json_t *node;
	enum origin origin;
	unsigned owner;
};

/* A key as written: up to TOML_MAX_DEPTH dotted parts. */
struct key {
	char *part[TOML_MAX_DEPTH];
	int n;
	int line;
};

struct parser {
	const char *p, *end;
	int line;
	struct toml_error *err;
	struct mark *marks;	/* open addressing, power-of-two capacity */
	size_t mcap, mlen;
	/* The block (table section or inline table) being parsed: dotted
	 * keys may only extend tables that dotted keys made in it. */
	unsigned block, nblocks;
	struct buf sb;		/* scratch for string contents */
};

static int perr(struct parser *ps, int line, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
static int parse_value(struct parser *ps, int level, int keyline, json_t **v,
    json_t **lv);

static int
perr(struct parser *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->err != NULL) {
		ps->err->line = line;
		va_start(ap, fmt);
		vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* jansson allocation failures are treated like xmalloc's: fatal. */
static json_t *
jmust(json_t *v)
{
	if (v == NULL) {
		fprintf(stderr, "toml: out of memory\n");
		abort();
	}
	return v;
}

static void
jset(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v) == -1) {
		fprintf(stderr, "toml: out of memory\n");
		abort();
	}
}

static void
jappend(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) == -1) {
		fprintf(stderr, "toml: out of memory\n");
		abort();
	}
}

/* ------------------------------------------------------------ origin map */

static size_t
ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

/* The slot holding node, or the empty slot where it would go. */
static struct mark *
mark_slot(struct mark *marks, size_t cap, const json_t *node)
{
	size_t i, mask = cap - 1;

	for (i = ptr_hash(node) & mask;; i = (i + 1) & mask)
		if (marks[i].node == node || marks[i].node == NULL)
			return &marks[i];
}

static enum origin
mark_get(const struct parser *ps, const json_t *node, unsigned *owner)
{
	struct mark *m;

	if (ps->mcap == 0)
		return ORIGIN_NONE;
	m = mark_slot(ps->marks, ps->mcap, node);
	if (m->node == NULL)
		return ORIGIN_NONE;
	if (owner != NULL)
		*owner = m->owner;
	return m->origin;
}

static void
mark_set(struct parser *ps, const json_t *node, enum origin origin)
{
	struct mark *m;
	size_t i;

	if ((ps->mlen + 1) * 2 > ps->mcap) {
		size_t ncap = ps->mcap ? ps->mcap * 2 : 64;
		struct mark *nm = xcalloc(ncap, sizeof(*nm));

		for (i = 0; i < ps->mcap; i++)
			if (ps->marks[i].node != NULL)
				*mark_slot(nm, ncap, ps->marks[i].node) =
				    ps->marks[i];
		free(ps->marks);
		ps->marks = nm;
		ps->mcap = ncap;
	}
	m = mark_slot(ps->marks, ps->mcap, node);
	if (m->node == NULL) {
		m->node = node;
		ps->mlen++;
	}
	m->origin = origin;
	m->owner = ps->block;
}

/* ------------------------------------------------------------- encoding */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* beyond U+10FFFF */
	} else
		return 0;
	if (n < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

/* Whole-input checks, so the parser can assume clean UTF-8 text whose
 * every CR starts a CRLF. */
static int
check_encoding(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t n = (size_t)(ps->end - ps->p), i = 0, k;
	int line = 1;

	while (i < n) {
		if (s[i] == '\0')
			return perr(ps, line, "NUL byte in input");
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return perr(ps, line,
			    "carriage return not followed by a line feed");
		if (s[i] == '\n')
			line++;
		k = utf8_len(s + i, n - i);
		if (k == 0)
			return perr(ps, line, "invalid UTF-8 (byte 0x%02x)",
			    s[i]);
		i += k;
	}
	return 0;
}

static unsigned
decode_cp(const unsigned char *s)
{
	if (s[0] < 0x80)
		return s[0];
	if (s[0] < 0xe0)
		return (unsigned)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	if (s[0] < 0xf0)
		return (unsigned)(s[0] & 0x0f) << 12 |
		    (unsigned)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3f) << 12 |
	    (unsigned)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* What is at the cursor, for "expected X, found Y" messages. */
static const char *
describe(const struct parser *ps, char *out, size_t cap)
{
	unsigned char c;

	if (ps->p >= ps->end)
		return "end of file";
	c = (unsigned char)*ps->p;
	if (c == '\n' || c == '\r')
		return "end of line";
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, cap, "'%c'", c);
	else
		snprintf(out, cap, "U+%04X",
		    decode_cp((const unsigned char *)ps->p));
	return out;
}

static int
is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
is_bare(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* --------------------------------------------------------------- lexing */

static int
at(const struct parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

static int
at_str(const struct parser *ps, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static int
at_newline(const struct parser *ps)
{
	return at(ps, '\n') || at(ps, '\r');
}

static void
eat_newline(struct parser *ps)
{
	ps->p += *ps->p == '\r' ? 2 : 1;
	ps->line++;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* At '#': skip to the end of the line (not past it). */
static int
skip_comment(struct parser *ps)
{
	for (ps->p++; ps->p < ps->end && !at_newline(ps); ps->p++)
		if (is_control((unsigned char)*ps->p))
			return perr(ps, ps->line,
			    "control character U+%04X in comment",
			    (unsigned char)*ps->p);
	return 0;
}

/* Whitespace, comments and newlines, as allowed between array items. */
static int
skip_blank(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (at(ps, '#')) {
			if (skip_comment(ps) == -1)
				return -1;
		} else if (at_newline(ps))
			eat_newline(ps);
		else
			return 0;
	}
}

/* ------------------------------------------------------------- strings */

static int
parse_ucs(struct parser *ps, int ndig, char esc)
{
	unsigned long cp = 0;
	int i;

	for (i = 0; i < ndig; i++) {
		char c = ps->p + i < ps->end ? ps->p[i] : '\0';
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return perr(ps, ps->line,
			    "invalid escape \\%c: expected %d hex digits", esc,
			    ndig);
		cp = cp << 4 | (unsigned long)d;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return perr(ps, ps->line,
		    "invalid escape \\%c%.*s: surrogate code point", esc, ndig,
		    ps->p);
	if (cp > 0x10ffff)
		return perr(ps, ps->line,
		    "invalid escape \\%c%.*s: beyond U+10FFFF", esc, ndig,
		    ps->p);
	if (cp == 0)
		return perr(ps, ps->line,
		    "escape \\%c%.*s (NUL) is not supported", esc, ndig, ps->p);
	put_utf8(&ps->sb, (unsigned)cp);
	ps->p += ndig;
	return 0;
}

/* After a backslash in a basic string. */
static int
parse_escape(struct parser *ps)
{
	char c, out;

	if (ps->p >= ps->end)
		return perr(ps, ps->line, "unterminated string");
	c = *ps->p++;
	switch (c) {
	case 'b': out = '\b'; break;
	case 't': out = '\t'; break;
	case 'n': out = '\n'; break;
	case 'f': out = '\f'; break;
	case 'r': out = '\r'; break;
	case '"': out = '"'; break;
	case '\\': out = '\\'; break;
	case 'u': return parse_ucs(ps, 4, c);
	case 'U': return parse_ucs(ps, 8, c);
	default:
		if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
			return perr(ps, ps->line, "invalid escape \\%c", c);
		return perr(ps, ps->line, "invalid escape sequence");
	}
	buf_add(&ps->sb, &out, 1);
	return 0;
}

/* Copy one (valid) UTF-8 character, refusing control characters. */
static int
string_char(struct parser *ps)
{
	unsigned char c = (unsigned char)*ps->p;
	size_t n;

	if (is_control(c))
		return perr(ps, ps->line,
		    "control character U+%04X in string must be escaped", c);
	n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
	buf_add(&ps->sb, ps->p, n);
	ps->p += n;
	return 0;
}

/* Single-line basic ("...") or literal ('...') string at the cursor. */
static int
parse_line_string(struct parser *ps)
{
	char q = *ps->p++;

	for (;;) {
		if (ps->p >= ps->end || at_newline(ps))
			return perr(ps, ps->line, "unterminated string");
		if (*ps->p == q) {
			ps->p++;
			return 0;
		}
		if (q == '"' && *ps->p == '\\') {
			ps->p++;
			if (ps->p >= ps->end || at_newline(ps))
				return perr(ps, ps->line,
				    "unterminated string");
			if (parse_escape(ps) == -1)
				return -1;
		} else if (string_char(ps) == -1)
			return -1;
	}
}

/* Multi-line """...""" or '''...''' at the cursor. */
static int
parse_ml_string(struct parser *ps)
{
	char q = *ps->p;
	int start = ps->line;
	const char *t;
	size_t nq;

	ps->p += 3;
	if (at_newline(ps))
		eat_newline(ps);	/* trimmed, per the spec */
	for (;;) {
		if (ps->p >= ps->end)
			return perr(ps, start, "unterminated string "
			    "(multi-line string opened on this line)");
		if (*ps->p == q) {
			for (nq = 0; ps->p + nq < ps->end && ps->p[nq] == q;
			    nq++)
				;
			/* Up to two quotes may precede the closing three. */
			if (nq >= 3 && nq <= 5) {
				buf_add(&ps->sb, ps->p, nq - 3);
				ps->p += nq;
				return 0;
			}
			if (nq > 5)
				return perr(ps, ps->line, "too many quotes "
				    "(%zu) in a row in multi-line string", nq);
			buf_add(&ps->sb, ps->p, nq);
			ps->p += nq;
		} else if (at_newline(ps)) {
			buf_add(&ps->sb, "\n", 1);
			eat_newline(ps);
		} else if (q == '"' && *ps->p == '\\') {
			/* Line-ending backslash: drop it and all whitespace
			 * and newlines up to the next visible character. */
			for (t = ps->p + 1; t < ps->end &&
			    (*t == ' ' || *t == '\t'); t++)
				;
			if (t < ps->end && (*t == '\n' || *t == '\r')) {
				ps->p = t;
				for (;;) {
					skip_ws(ps);
					if (!at_newline(ps))
						break;
					eat_newline(ps);
				}
				continue;
			}
			ps->p++;
			if (parse_escape(ps) == -1)
				return -1;
		} else if (string_char(ps) == -1)
			return -1;
	}
}

/* Any string value at the cursor, contents into ps->sb. */
static int
parse_string(struct parser *ps, int allow_ml)
{
	ps->sb.len = 0;
	if (at_str(ps, "\"\"\"") || at_str(ps, "'''")) {
		if (!allow_ml)
			return perr(ps, ps->line,
			    "a multi-line string cannot be a key");
		return parse_ml_string(ps);
	}
	return parse_line_string(ps);
}

/* ----------------------------------------------------------------- keys */

static void
key_free(struct key *k)
{
	int i;

	for (i = 0; i < k->n; i++)
		free(k->part[i]);
	k->n = 0;
}

/* The first n parts of k as they could be written, for messages. */
static const char *
key_str(const struct key *k, int n, char *out, size_t cap)
{
	struct buf b = { 0 };
	char esc[96];
	int i;
	const char *s;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addstr(&b, ".");
		for (s = k->part[i]; *s != '\0' && is_bare((unsigned char)*s);
		    s++)
			;
		if (*s == '\0' && s != k->part[i])
			buf_addstr(&b, k->part[i]);
		else
			buf_printf(&b, "\"%s\"",
			    log_escape(k->part[i], esc, sizeof(esc)));
	}
	snprintf(out, cap, "%s", b.len ? buf_cstr(&b) : "");
	buf_free(&b);
	return out;
}

/* A (dotted) key at the cursor; base is the nesting level of the table
 * it lives in, to bound the depth of what it creates. */
static int
parse_key(struct parser *ps, struct key *k, int base)
{
	char what[32];
	const char *s;

	k->n = 0;
	k->line = ps->line;
	for (;;) {
		skip_ws(ps);
		if (base + k->n >= TOML_MAX_DEPTH)
			return perr(ps, ps->line,
			    "nesting deeper than %d levels", TOML_MAX_DEPTH);
		if (at(ps, '"') || at(ps, '\'')) {
			if (parse_string(ps, 0) == -1)
				return -1;
			k->part[k->n++] = xstrndup(buf_cstr(&ps->sb),
			    ps->sb.len);
		} else if (ps->p < ps->end && is_bare((unsigned char)*ps->p)) {
			for (s = ps->p; s < ps->end &&
			    is_bare((unsigned char)*s); s++)
				;
			k->part[k->n++] = xstrndup(ps->p, (size_t)(s - ps->p));
			ps->p = s;
		} else if (k->n == 0)
			return perr(ps, ps->line, "expected a key, found %s",
			    describe(ps, what, sizeof(what)));
		else
			return perr(ps, ps->line,
			    "expected a key after '.', found %s",
			    describe(ps, what, sizeof(what)));
		skip_ws(ps);
		if (!at(ps, '.'))
			return 0;
		ps->p++;
	}
}

/* ---------------------------------------------------------------- values */

/* [+-]?digits with '_' only between two digits; returns the end of the
 * run, or NULL when malformed. */
static const char *
scan_digits(const char *s, const char *e, int radix)
{
	const char *p = s;
	int ok;

#define IS_DIGIT(c) (radix == 16 ? \
	(((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f') || \
	((c) >= 'A' && (c) <= 'F')) : ((c) >= '0' && (c) < '0' + radix))
	if (p == e || !IS_DIGIT(*p))
		return NULL;
	for (p++; p < e; p++) {
		if (*p == '_') {
			ok = p + 1 < e && IS_DIGIT(p[1]);
			if (!ok)
				return NULL;
		} else if (!IS_DIGIT(*p))
			break;
	}
#undef IS_DIGIT
	return p;
}

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/* Accumulate the digits in [s,e) (underscores skipped) against a limit. */
static int
accumulate(const char *s, const char *e, int radix, uint64_t limit,
    uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	for (; s < e; s++) {
		if (*s == '_')
			continue;
		d = (unsigned)digit_value(*s);
		if (v > (limit - d) / (uint64_t)radix)
			return -1;
		v = v * (uint64_t)radix + d;
	}
	*out = v;
	return 0;
}

static int
parse_number(struct parser *ps, const char *tok, size_t n, json_t **v)
{
	const char *s = tok, *e = tok + n, *q;
	char show[48], *flat;
	uint64_t mag;
	int neg = 0, sign = 0, radix = 0, isfloat = 0;
	double d;
	size_t i, j;

	snprintf(show, sizeof(show), "%.*s%s", n > 40 ? 40 : (int)n, tok,
	    n > 40 ? "..." : "");
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		sign = 1;
		s++;
	}
	if (e - s > 2 && s[0] == '0' &&
	    (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
		radix = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
	if (radix != 0) {
		if (sign)
			return perr(ps, ps->line, "a sign is not allowed on "
			    "a hex, octal or binary integer ('%s')", show);
		s += 2;
		if (scan_digits(s, e, radix) != e)
			return perr(ps, ps->line, "invalid integer '%s'", show);
		if (accumulate(s, e, radix, INT64_MAX, &mag) == -1)
			return perr(ps, ps->line,
			    "integer '%s' is out of the 64-bit range", show);
		*v = jmust(json_integer((json_int_t)mag));
		return 0;
	}
	q = scan_digits(s, e, 10);
	if (q == NULL)
		return perr(ps, ps->line, "invalid number '%s'", show);
	if (s[0] == '0' && q - s > 1)
		return perr(ps, ps->line,
		    "leading zeros are not allowed ('%s')", show);
	if (q < e && *q == '.') {
		isfloat = 1;
		q = scan_digits(q + 1, e, 10);
		if (q == NULL)
			return perr(ps, ps->line, "invalid float '%s'", show);
	}
	if (q < e && (*q == 'e' || *q == 'E')) {
		isfloat = 1;
		q++;
		if (q < e && (*q == '+' || *q == '-'))
			q++;
		q = scan_digits(q, e, 10);
		if (q == NULL)
			return perr(ps, ps->line, "invalid float '%s'", show);
	}
	if (q != e)
		return perr(ps, ps->line, "invalid number '%s'", show);
	if (!isfloat) {
		if (accumulate(s, e, 10, neg ? (uint64_t)INT64_MAX + 1 :
		    INT64_MAX, &mag) == -1)
			return perr(ps, ps->line,
			    "integer '%s' is out of the 64-bit range", show);
		if (neg)
			*v = jmust(json_integer(mag == (uint64_t)INT64_MAX + 1 ?
			    INT64_MIN : -(json_int_t)mag));
		else
			*v = jmust(json_integer((json_int_t)mag));
		return 0;
	}
	flat = xmalloc(n + 1);
	for (i = j = 0; i < n; i++)
		if (tok[i] != '_')
			flat[j++] = tok[i];
	flat[j] = '\0';
	d = strtod(flat, NULL);
	free(flat);
	if (!isfinite(d))
		return perr(ps, ps->line, "float '%s' is out of range", show);
	*v = jmust(json_real(d));
	return 0;
}

/* A bare token: boolean, number, or one of the unsupported forms. */
static int
parse_scalar(struct parser *ps, json_t **v)
{
	const char *s = ps->p, *e = ps->p, *w;
	char what[32];
	size_t n;

	while (e < ps->end && (is_bare((unsigned char)*e) || *e == '+' ||
	    *e == '.'))
		e++;
	n = (size_t)(e - s);
	if (n == 0)
		return perr(ps, ps->line, "expected a value, found %s",
		    describe(ps, what, sizeof(what)));
	if (n >= 5 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
	    s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' &&
	    s[3] <= '9' && s[4] == '-')
		return perr(ps, ps->line, "date-times are not supported");
	if (n == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
	    s[1] <= '9' && e < ps->end && *e == ':')
		return perr(ps, ps->line, "date-times are not supported");
	ps->p = e;
	if (n == 4 && memcmp(s, "true", 4) == 0) {
		*v = json_true();
		return 0;
	}
	if (n == 5 && memcmp(s, "false", 5) == 0) {
		*v = json_false();
		return 0;
	}
	w = (*s == '+' || *s == '-') ? s + 1 : s;
	if (e - w == 3 && (memcmp(w, "inf", 3) == 0 ||
	    memcmp(w, "nan", 3) == 0))
		return perr(ps, ps->line, "inf and nan are not supported");
	if (w < e && *w >= '0' && *w <= '9')
		return parse_number(ps, s, n, v);
	return perr(ps, ps->line, "invalid value '%.*s'%s", n > 40 ? 40 :
	    (int)n, s, *s == '+' || *s == '-' || *s == '.' ? "" :
	    " (strings must be quoted)");
}

static int
parse_array(struct parser *ps, int level, json_t **v)
{
	json_t *arr, *item, *litem;
	int start = ps->line;
	char what[32];

	if (level > TOML_MAX_DEPTH)
		return perr(ps, ps->line, "nesting deeper than %d levels",
		    TOML_MAX_DEPTH);
	ps->p++;
	arr = jmust(json_array());
	for (;;) {
		if (skip_blank(ps) == -1)
			goto fail;
		if (at(ps, ']'))
			break;
		if (ps->p >= ps->end) {
			perr(ps, start, "unterminated array");
			goto fail;
		}
		if (parse_value(ps, level + 1, ps->line, &item, &litem) == -1)
			goto fail;
		json_decref(litem);
		jappend(arr, item);
		if (skip_blank(ps) == -1)
			goto fail;
		if (at(ps, ','))
			ps->p++;
		else if (at(ps, ']'))
			break;
		else if (ps->p >= ps->end) {
			perr(ps, start, "unterminated array");
			goto fail;
		} else {
			perr(ps, ps->line,
			    "expected ',' or ']' in array, found %s",
			    describe(ps, what, sizeof(what)));
			goto fail;
		}
	}
	ps->p++;
	*v = arr;
	return 0;
fail:
	json_decref(arr);
	return -1;
}

static int insert_keyval(struct parser *ps, json_t *t, json_t *lt,
    struct key *k, json_t *v, json_t *lv);

/* key = value at the cursor, into table t (line numbers into lt). */
static int
parse_keyval(struct parser *ps, json_t *t, json_t *lt, int base)
{
	struct key k;
	json_t *v, *lv;
	int r = -1;

	if (parse_key(ps, &k, base) == -1)
		goto done;
	skip_ws(ps);
	if (!at(ps, '=')) {
		perr(ps, ps->line, "expected '=' after key");
		goto done;
	}
	ps->p++;
	skip_ws(ps);
	if (parse_value(ps, base + k.n, k.line, &v, &lv) == -1)
		goto done;
	r = insert_keyval(ps, t, lt, &k, v, lv);
done:
	key_free(&k);
	return r;
}

/* Inline tables are single-line and closed once written (TOML 1.0). */
static int
parse_inline_table(struct parser *ps, int level, json_t **v, json_t **lv)
{
	json_t *obj, *lobj;
	unsigned saved = ps->block;
	char what[32];

	if (level > TOML_MAX_DEPTH)
		return perr(ps, ps->line, "nesting deeper than %d levels",
		    TOML_MAX_DEPTH);
	ps->p++;
	obj = jmust(json_object());
	lobj = jmust(json_object());
	ps->block = ++ps->nblocks;
	skip_ws(ps);
	if (at(ps, '}'))
		goto close;
	for (;;) {
		skip_ws(ps);
		if (at_newline(ps)) {
			perr(ps, ps->line,
			    "newline in inline table (must be on one line)");
			goto fail;
		}
		if (parse_keyval(ps, obj, lobj, level) == -1)
			goto fail;
		skip_ws(ps);
		if (at(ps, '}'))
			break;
		if (!at(ps, ',')) {
			if (ps->p >= ps->end)
				perr(ps, ps->line, "unterminated inline table");
			else
				perr(ps, ps->line, "expected ',' or '}' in "
				    "inline table, found %s",
				    describe(ps, what, sizeof(what)));
			goto fail;
		}
		ps->p++;
		skip_ws(ps);
		if (at(ps, '}')) {
			perr(ps, ps->line,
			    "trailing comma not allowed in inline table");
			goto fail;
		}
	}
close:
	ps->p++;
	ps->block = saved;
	*v = obj;
	*lv = lobj;
	return 0;
fail:
	ps->block = saved;
	json_decref(obj);
	json_decref(lobj);
	return -1;
}

/*
 * A value at the cursor; level is its nesting depth. *lv gets its line
 * record: an object of key lines for an inline table, else keyline.
 */
static int
parse_value(struct parser *ps, int level, int keyline, json_t **v,
    json_t **lv)
{
	char what[32];

	*v = *lv = NULL;
	if (ps->p >= ps->end || at_newline(ps) || at(ps, '#'))
		return perr(ps, ps->line, "expected a value, found %s",
		    at(ps, '#') ? "comment" : describe(ps, what, sizeof(what)));
	switch (*ps->p) {
	case '"':
	case '\'':
		if (parse_string(ps, 1) == -1)
			return -1;
		/* Cannot fail on content: the input was validated. */
		*v = json_stringn(buf_cstr(&ps->sb), ps->sb.len);
		if (*v == NULL)
			return perr(ps, ps->line, "string is not valid UTF-8");
		break;
	case '[':
		if (parse_array(ps, level, v) == -1)
			return -1;
		break;
	case '{':
		return parse_inline_table(ps, level, v, lv);
	default:
		if (parse_scalar(ps, v) == -1)
			return -1;
		break;
	}
	*lv = jmust(json_integer(keyline));
	return 0;
}

/* ------------------------------------------------------------ structure */

static void
new_table(struct parser *ps, json_t *t, json_t *lt, const char *name,
    enum origin origin, json_t **c, json_t **lc)
{
	*c = jmust(json_object());
	*lc = jmust(json_object());
	jset(t, name, *c);
	jset(lt, name, *lc);
	mark_set(ps, *c, origin);
}

static void
kind_of(const struct parser *ps, const json_t *c, char *out, size_t cap)
{
	switch (mark_get(ps, c, NULL)) {
	case ORIGIN_NONE:
		snprintf(out, cap, "%s", json_is_object(c) ? "an inline table" :
		    json_is_array(c) ? "an array" : "a value");
		break;
	case ORIGIN_IMPLICIT:
	case ORIGIN_HEADER:
		snprintf(out, cap, "a table");
		break;
	case ORIGIN_DOTTED:
		snprintf(out, cap, "a table (by dotted keys)");
		break;
	case ORIGIN_AOT:
		snprintf(out, cap, "an array of tables");
		break;
	}
}

/* Where the leaf c was defined, as " (first defined on line N)". */
static void
first_line(const json_t *lc, char *out, size_t cap)
{
	if (json_is_integer(lc))
		snprintf(out, cap, " (first defined on line %d)",
		    (int)json_integer_value(lc));
	else
		out[0] = '\0';
}

static int
insert_keyval(struct parser *ps, json_t *t, json_t *lt, struct key *k,
    json_t *v, json_t *lv)
{
	json_t *c, *lc;
	char ks[200], kind[48], where[48];
	enum origin origin;
	unsigned owner = 0;
	int i;

	for (i = 0; i < k->n - 1; i++) {
		c = json_object_get(t, k->part[i]);
		if (c == NULL) {
			new_table(ps, t, lt, k->part[i], ORIGIN_DOTTED, &t,
			    &lt);
			continue;
		}
		lc = json_object_get(lt, k->part[i]);
		origin = json_is_object(c) ? mark_get(ps, c, &owner) :
		    ORIGIN_NONE;
		/* A table only implied by a header may be claimed by dotted
		 * keys; it then counts as theirs (so [that.table] is a
		 * redefinition later), as in toml_edit and tomllib. */
		if (origin == ORIGIN_IMPLICIT)
			mark_set(ps, c, ORIGIN_DOTTED);
		if (origin == ORIGIN_IMPLICIT ||
		    (origin == ORIGIN_DOTTED && owner == ps->block)) {
			t = c;
			lt = lc;
			continue;
		}
		kind_of(ps, c, kind, sizeof(kind));
		first_line(lc, where, sizeof(where));
		perr(ps, k->line, "duplicate key '%s': already defined as "
		    "%s%s", key_str(k, i + 1, ks, sizeof(ks)), kind, where);
		goto fail;
	}
	c = json_object_get(t, k->part[k->n - 1]);
	if (c != NULL) {
		first_line(json_object_get(lt, k->part[k->n - 1]), where,
		    sizeof(where));
		perr(ps, k->line, "duplicate key '%s'%s",
		    key_str(k, k->n, ks, sizeof(ks)), where);
		goto fail;
	}
	jset(t, k->part[k->n - 1], v);
	jset(lt, k->part[k->n - 1], lv);
	return 0;
fail:
	json_decref(v);
	json_decref(lv);
	return -1;
}

/* Walk a header path (all but its last part), creating implicit tables. */
static int
header_walk(struct parser *ps, const struct key *k, json_t **t, json_t **lt)
{
	json_t *c, *lc;
	char ks[200], kind[48];
	size_t n;
	int i;

	for (i = 0; i < k->n - 1; i++) {
		c = json_object_get(*t, k->part[i]);
		if (c == NULL) {
			new_table(ps, *t, *lt, k->part[i], ORIGIN_IMPLICIT, t,
			    lt);
			continue;
		}
		lc = json_object_get(*lt, k->part[i]);
		if (json_is_object(c) && mark_get(ps, c, NULL) != ORIGIN_NONE) {
			*t = c;
			*lt = lc;
			continue;
		}
		if (json_is_array(c) && mark_get(ps, c, NULL) == ORIGIN_AOT) {
			n = json_array_size(c);
			*t = json_array_get(c, n - 1);
			*lt = json_array_get(lc, n - 1);
			continue;
		}
		kind_of(ps, c, kind, sizeof(kind));
		return perr(ps, k->line, "cannot extend '%s': it is %s",
		    key_str(k, i + 1, ks, sizeof(ks)), kind);
	}
	return 0;
}

/* [table] or [[array of tables]] at the cursor; sets the current table. */
static int
parse_header(struct parser *ps, json_t *root, json_t *lroot, json_t **cur,
    json_t **lcur, int *depth)
{
	struct key k;
	json_t *t = root, *lt = lroot, *c, *lc, *arr, *larr;
	const char *last;
	char ks[200], kind[48], what[32];
	int aot, r = -1;

	k.n = 0;
	ps->p++;
	aot = at(ps, '[');
	if (aot)
		ps->p++;
	if (parse_key(ps, &k, 0) == -1)
		goto done;
	if (!at(ps, ']') || (aot && !at_str(ps, "]]"))) {
		perr(ps, ps->line, "expected '%s' to close the table header, "
		    "found %s", aot ? "]]" : "]",
		    describe(ps, what, sizeof(what)));
		goto done;
	}
	ps->p += aot ? 2 : 1;
	if (header_walk(ps, &k, &t, &lt) == -1)
		goto done;
	last = k.part[k.n - 1];
	c = json_object_get(t, last);
	lc = json_object_get(lt, last);
	key_str(&k, k.n, ks, sizeof(ks));
	if (aot) {
		if (c == NULL) {
			arr = jmust(json_array());
			larr = jmust(json_array());
			jset(t, last, arr);
			jset(lt, last, larr);
			mark_set(ps, arr, ORIGIN_AOT);
		} else if (json_is_array(c) &&
		    mark_get(ps, c, NULL) == ORIGIN_AOT) {
			arr = c;
			larr = lc;
		} else {
			kind_of(ps, c, kind, sizeof(kind));
			perr(ps, k.line, "cannot define [[%s]]: '%s' is "
			    "already %s", ks, ks, kind);
			goto done;
		}
		c = jmust(json_object());
		lc = jmust(json_object());
		jappend(arr, c);
		jappend(larr, lc);
		mark_set(ps, c, ORIGIN_HEADER);
	} else if (c == NULL) {
		new_table(ps, t, lt, last, ORIGIN_HEADER, &c, &lc);
	} else if (json_is_object(c) &&
	    mark_get(ps, c, NULL) == ORIGIN_IMPLICIT) {
		mark_set(ps, c, ORIGIN_HEADER);
	} else {
		if (json_is_object(c) &&
		    mark_get(ps, c, NULL) == ORIGIN_HEADER)
			perr(ps, k.line, "duplicate table [%s]", ks);
		else {
			kind_of(ps, c, kind, sizeof(kind));
			perr(ps, k.line, "duplicate table [%s]: already "
			    "defined as %s", ks, kind);
		}
		goto done;
	}
	*cur = c;
	*lcur = lc;
	*depth = k.n;
	ps->block = ++ps->nblocks;
	r = 0;
done:
	key_free(&k);
	return r;
}

/* After a statement: optional whitespace and comment, then end of line. */
static int
end_of_line(struct parser *ps, const char *after)
{
	char what[32];

	skip_ws(ps);
	if (at(ps, '#') && skip_comment(ps) == -1)
		return -1;
	if (ps->p >= ps->end)
		return 0;
	if (at_newline(ps)) {
		eat_newline(ps);
		return 0;
	}
	return perr(ps, ps->line, "unexpected %s after %s (expected a new "
	    "line)", describe(ps, what, sizeof(what)), after);
}

static int
parse_document(struct parser *ps, json_t *root, json_t *lroot)
{
	json_t *cur = root, *lcur = lroot;
	int depth = 0;

	ps->block = ++ps->nblocks;
	if (at_str(ps, "\xef\xbb\xbf"))
		ps->p += 3;	/* a byte order mark */
	for (;;) {
		skip_ws(ps);
		if (ps->p >= ps->end)
			return 0;
		if (at(ps, '[')) {
			if (parse_header(ps, root, lroot, &cur, &lcur,
			    &depth) == -1 ||
			    end_of_line(ps, "table header") == -1)
				return -1;
		} else if (at(ps, '#') || at_newline(ps)) {
			if (end_of_line(ps, "comment") == -1)
				return -1;
		} else if (parse_keyval(ps, cur, lcur, depth) == -1 ||
		    end_of_line(ps, "value") == -1)
			return -1;
	}
}

int
toml_parse(const char *text, size_t len, json_t **doc, json_t **lines,
    struct toml_error *err)
{
	struct parser ps;
	json_t *root, *lroot;
	int r = -1;

	memset(&ps, 0, sizeof(ps));
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.err = err;
	if (err != NULL) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	*doc = NULL;
	if (lines != NULL)
		*lines = NULL;
	if (check_encoding(&ps) == -1)
		return -1;
	root = jmust(json_object());
	lroot = jmust(json_object());
	if (parse_document(&ps, root, lroot) == -1) {
		json_decref(root);
		json_decref(lroot);
		goto done;
	}
	*doc = root;
	if (lines != NULL)
		*lines = lroot;
	else
		json_decref(lroot);
	r = 0;
done:
	free(ps.marks);
	buf_free(&ps.sb);
	return r;
}
