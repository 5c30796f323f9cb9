/*
 * toml_value.c: the lexical half of the TOML reader (see toml.c): the
 * whole-input encoding checks, comments, and values -- basic, literal and
 * multi-line strings with their escapes, integers, floats, booleans, the
 * refusal of date-times, inf and nan, arrays and inline tables.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"
#include "util.h"

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
int
toml_value_check_encoding(struct toml_parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t n = (size_t)(ps->end - ps->p), i = 0, k;
	int line = 1;

	while (i < n) {
		if (s[i] == '\0')
			return toml_perr(ps, line, "NUL byte in input");
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return toml_perr(ps, line,
			    "carriage return not followed by a line feed");
		if (s[i] == '\n')
			line++;
		k = utf8_len(s + i, n - i);
		if (k == 0)
			return toml_perr(ps, line,
			    "invalid UTF-8 (byte 0x%02x)", s[i]);
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
const char *
toml_value_describe(const struct toml_parser *ps, char *out, size_t cap)
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

/* --------------------------------------------------------------- lexing */

/* At '#': skip to the end of the line (not past it). */
int
toml_value_skip_comment(struct toml_parser *ps)
{
	for (ps->p++; ps->p < ps->end && !toml_at_newline(ps); ps->p++)
		if (toml_is_control((unsigned char)*ps->p))
			return toml_perr(ps, ps->line,
			    "control character U+%04X in comment",
			    (unsigned char)*ps->p);
	return 0;
}

/* Whitespace, comments and newlines, as allowed between array items. */
static int
skip_blank(struct toml_parser *ps)
{
	for (;;) {
		toml_skip_ws(ps);
		if (toml_at(ps, '#')) {
			if (toml_value_skip_comment(ps) == -1)
				return -1;
		} else if (toml_at_newline(ps))
			toml_eat_newline(ps);
		else
			return 0;
	}
}

/* ------------------------------------------------------------- strings */

static int
parse_ucs(struct toml_parser *ps, int ndig, char esc)
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
			return toml_perr(ps, ps->line,
			    "invalid escape \\%c: expected %d hex digits", esc,
			    ndig);
		cp = cp << 4 | (unsigned long)d;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return toml_perr(ps, ps->line,
		    "invalid escape \\%c%.*s: surrogate code point", esc, ndig,
		    ps->p);
	if (cp > 0x10ffff)
		return toml_perr(ps, ps->line,
		    "invalid escape \\%c%.*s: beyond U+10FFFF", esc, ndig,
		    ps->p);
	if (cp == 0)
		return toml_perr(ps, ps->line,
		    "escape \\%c%.*s (NUL) is not supported", esc, ndig, ps->p);
	put_utf8(&ps->sb, (unsigned)cp);
	ps->p += ndig;
	return 0;
}

/* After a backslash in a basic string. */
static int
parse_escape(struct toml_parser *ps)
{
	char c, out;

	if (ps->p >= ps->end)
		return toml_perr(ps, ps->line, "unterminated string");
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
			return toml_perr(ps, ps->line, "invalid escape \\%c",
			    c);
		return toml_perr(ps, ps->line, "invalid escape sequence");
	}
	buf_add(&ps->sb, &out, 1);
	return 0;
}

/* Copy one (valid) UTF-8 character, refusing control characters. */
static int
string_char(struct toml_parser *ps)
{
	unsigned char c = (unsigned char)*ps->p;
	size_t n;

	if (toml_is_control(c))
		return toml_perr(ps, ps->line,
		    "control character U+%04X in string must be escaped", c);
	n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
	buf_add(&ps->sb, ps->p, n);
	ps->p += n;
	return 0;
}

/* Single-line basic ("...") or literal ('...') string at the cursor. */
static int
parse_line_string(struct toml_parser *ps)
{
	char q = *ps->p++;

	for (;;) {
		if (ps->p >= ps->end || toml_at_newline(ps))
			return toml_perr(ps, ps->line, "unterminated string");
		if (*ps->p == q) {
			ps->p++;
			return 0;
		}
		if (q == '"' && *ps->p == '\\') {
			ps->p++;
			if (ps->p >= ps->end || toml_at_newline(ps))
				return toml_perr(ps, ps->line,
				    "unterminated string");
			if (parse_escape(ps) == -1)
				return -1;
		} else if (string_char(ps) == -1)
			return -1;
	}
}

/* Multi-line """...""" or '''...''' at the cursor. */
static int
parse_ml_string(struct toml_parser *ps)
{
	char q = *ps->p;
	int start = ps->line;
	const char *t;
	size_t nq;

	ps->p += 3;
	if (toml_at_newline(ps))
		toml_eat_newline(ps);	/* trimmed, per the spec */
	for (;;) {
		if (ps->p >= ps->end)
			return toml_perr(ps, start, "unterminated string "
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
				return toml_perr(ps, ps->line, "too many "
				    "quotes (%zu) in a row in multi-line "
				    "string", nq);
			buf_add(&ps->sb, ps->p, nq);
			ps->p += nq;
		} else if (toml_at_newline(ps)) {
			buf_add(&ps->sb, "\n", 1);
			toml_eat_newline(ps);
		} else if (q == '"' && *ps->p == '\\') {
			/* Line-ending backslash: drop it and all whitespace
			 * and newlines up to the next visible character. */
			for (t = ps->p + 1; t < ps->end &&
			    (*t == ' ' || *t == '\t'); t++)
				;
			if (t < ps->end && (*t == '\n' || *t == '\r')) {
				ps->p = t;
				for (;;) {
					toml_skip_ws(ps);
					if (!toml_at_newline(ps))
						break;
					toml_eat_newline(ps);
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
int
toml_value_parse_string(struct toml_parser *ps, int allow_ml)
{
	ps->sb.len = 0;
	if (toml_at_str(ps, "\"\"\"") || toml_at_str(ps, "'''")) {
		if (!allow_ml)
			return toml_perr(ps, ps->line,
			    "a multi-line string cannot be a key");
		return parse_ml_string(ps);
	}
	return parse_line_string(ps);
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
parse_number(struct toml_parser *ps, const char *tok, size_t n, json_t **v)
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
			return toml_perr(ps, ps->line, "a sign is not allowed "
			    "on a hex, octal or binary integer ('%s')", show);
		s += 2;
		if (scan_digits(s, e, radix) != e)
			return toml_perr(ps, ps->line, "invalid integer '%s'",
			    show);
		if (accumulate(s, e, radix, INT64_MAX, &mag) == -1)
			return toml_perr(ps, ps->line,
			    "integer '%s' is out of the 64-bit range", show);
		*v = toml_jmust(json_integer((json_int_t)mag));
		return 0;
	}
	q = scan_digits(s, e, 10);
	if (q == NULL)
		return toml_perr(ps, ps->line, "invalid number '%s'", show);
	if (s[0] == '0' && q - s > 1)
		return toml_perr(ps, ps->line,
		    "leading zeros are not allowed ('%s')", show);
	if (q < e && *q == '.') {
		isfloat = 1;
		q = scan_digits(q + 1, e, 10);
		if (q == NULL)
			return toml_perr(ps, ps->line, "invalid float '%s'",
			    show);
	}
	if (q < e && (*q == 'e' || *q == 'E')) {
		isfloat = 1;
		q++;
		if (q < e && (*q == '+' || *q == '-'))
			q++;
		q = scan_digits(q, e, 10);
		if (q == NULL)
			return toml_perr(ps, ps->line, "invalid float '%s'",
			    show);
	}
	if (q != e)
		return toml_perr(ps, ps->line, "invalid number '%s'", show);
	if (!isfloat) {
		if (accumulate(s, e, 10, neg ? (uint64_t)INT64_MAX + 1 :
		    INT64_MAX, &mag) == -1)
			return toml_perr(ps, ps->line,
			    "integer '%s' is out of the 64-bit range", show);
		if (neg)
			*v = toml_jmust(json_integer(mag ==
			    (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			    -(json_int_t)mag));
		else
			*v = toml_jmust(json_integer((json_int_t)mag));
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
		return toml_perr(ps, ps->line, "float '%s' is out of range",
		    show);
	*v = toml_jmust(json_real(d));
	return 0;
}

/* A bare token: boolean, number, or one of the unsupported forms. */
static int
parse_scalar(struct toml_parser *ps, json_t **v)
{
	const char *s = ps->p, *e = ps->p, *w;
	char what[32];
	size_t n;

	while (e < ps->end && (toml_is_bare((unsigned char)*e) || *e == '+' ||
	    *e == '.'))
		e++;
	n = (size_t)(e - s);
	if (n == 0)
		return toml_perr(ps, ps->line, "expected a value, found %s",
		    toml_value_describe(ps, what, sizeof(what)));
	if (n >= 5 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
	    s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' &&
	    s[3] <= '9' && s[4] == '-')
		return toml_perr(ps, ps->line, "date-times are not supported");
	if (n == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
	    s[1] <= '9' && e < ps->end && *e == ':')
		return toml_perr(ps, ps->line, "date-times are not supported");
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
		return toml_perr(ps, ps->line, "inf and nan are not supported");
	if (w < e && *w >= '0' && *w <= '9')
		return parse_number(ps, s, n, v);
	return toml_perr(ps, ps->line, "invalid value '%.*s'%s", n > 40 ? 40 :
	    (int)n, s, *s == '+' || *s == '-' || *s == '.' ? "" :
	    " (strings must be quoted)");
}

/*
 * An array at the cursor. *lv gets its line record: an array holding each
 * element's record (the line the element starts on, or the record of an
 * inline table or nested array), or keyline when the array is empty.
 */
static int
parse_array(struct toml_parser *ps, int level, int keyline, json_t **v,
    json_t **lv)
{
	json_t *arr, *larr, *item, *litem;
	int start = ps->line;
	char what[32];

	if (level > TOML_MAX_DEPTH)
		return toml_perr(ps, ps->line, "nesting deeper than %d levels",
		    TOML_MAX_DEPTH);
	ps->p++;
	arr = toml_jmust(json_array());
	larr = toml_jmust(json_array());
	for (;;) {
		if (skip_blank(ps) == -1)
			goto fail;
		if (toml_at(ps, ']'))
			break;
		if (ps->p >= ps->end) {
			toml_perr(ps, start, "unterminated array");
			goto fail;
		}
		if (toml_value_parse(ps, level + 1, ps->line, &item,
		    &litem) == -1)
			goto fail;
		toml_jappend(arr, item);
		toml_jappend(larr, litem);
		if (skip_blank(ps) == -1)
			goto fail;
		if (toml_at(ps, ','))
			ps->p++;
		else if (toml_at(ps, ']'))
			break;
		else if (ps->p >= ps->end) {
			toml_perr(ps, start, "unterminated array");
			goto fail;
		} else {
			toml_perr(ps, ps->line,
			    "expected ',' or ']' in array, found %s",
			    toml_value_describe(ps, what, sizeof(what)));
			goto fail;
		}
	}
	ps->p++;
	*v = arr;
	if (json_array_size(larr) == 0) {
		json_decref(larr);
		larr = toml_jmust(json_integer(keyline));
	}
	*lv = larr;
	return 0;
fail:
	json_decref(arr);
	json_decref(larr);
	return -1;
}

/*
 * Inline tables are single-line and closed once written (TOML 1.0). *lv
 * gets the object of key lines, or keyline when the table is empty.
 */
static int
parse_inline_table(struct toml_parser *ps, int level, int keyline,
    json_t **v, json_t **lv)
{
	json_t *obj, *lobj;
	unsigned saved = ps->block;
	char what[32];

	if (level > TOML_MAX_DEPTH)
		return toml_perr(ps, ps->line, "nesting deeper than %d levels",
		    TOML_MAX_DEPTH);
	ps->p++;
	obj = toml_jmust(json_object());
	lobj = toml_jmust(json_object());
	ps->block = ++ps->nblocks;
	toml_skip_ws(ps);
	if (toml_at(ps, '}'))
		goto close;
	for (;;) {
		toml_skip_ws(ps);
		if (toml_at_newline(ps)) {
			toml_perr(ps, ps->line,
			    "newline in inline table (must be on one line)");
			goto fail;
		}
		if (toml_parse_keyval(ps, obj, lobj, level) == -1)
			goto fail;
		toml_skip_ws(ps);
		if (toml_at(ps, '}'))
			break;
		if (!toml_at(ps, ',')) {
			if (ps->p >= ps->end)
				toml_perr(ps, ps->line,
				    "unterminated inline table");
			else
				toml_perr(ps, ps->line, "expected ',' or '}' "
				    "in inline table, found %s",
				    toml_value_describe(ps, what,
				    sizeof(what)));
			goto fail;
		}
		ps->p++;
		toml_skip_ws(ps);
		if (toml_at(ps, '}')) {
			toml_perr(ps, ps->line,
			    "trailing comma not allowed in inline table");
			goto fail;
		}
	}
close:
	ps->p++;
	ps->block = saved;
	*v = obj;
	if (json_object_size(lobj) == 0) {
		json_decref(lobj);
		lobj = toml_jmust(json_integer(keyline));
	}
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
 * record (see toml.h): an object of key lines for an inline table, an
 * array of element records for an array, keyline for anything else and
 * for an empty array or inline table.
 */
int
toml_value_parse(struct toml_parser *ps, int level, int keyline, json_t **v,
    json_t **lv)
{
	char what[32];

	*v = *lv = NULL;
	if (ps->p >= ps->end || toml_at_newline(ps) || toml_at(ps, '#'))
		return toml_perr(ps, ps->line, "expected a value, found %s",
		    toml_at(ps, '#') ? "comment" :
		    toml_value_describe(ps, what, sizeof(what)));
	switch (*ps->p) {
	case '"':
	case '\'':
		if (toml_value_parse_string(ps, 1) == -1)
			return -1;
		/* Cannot fail on content: the input was validated. */
		*v = json_stringn(buf_cstr(&ps->sb), ps->sb.len);
		if (*v == NULL)
			return toml_perr(ps, ps->line,
			    "string is not valid UTF-8");
		break;
	case '[':
		return parse_array(ps, level, keyline, v, lv);
	case '{':
		return parse_inline_table(ps, level, keyline, v, lv);
	default:
		if (parse_scalar(ps, v) == -1)
			return -1;
		break;
	}
	*lv = toml_jmust(json_integer(keyline));
	return 0;
}
