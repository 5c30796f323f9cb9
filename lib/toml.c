/*
 * toml.c: a reader for the TOML subset described in toml.h, written from
 * the TOML 1.0.0 specification (https://toml.io/en/v1.0.0). This file
 * holds the document structure (keys, dotted keys, [table] headers,
 * [[arrays of tables]], the line map) and the public API; toml_value.c
 * holds encoding checks, lexing and values.
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
#include "toml_internal.h"
#include "util.h"

/* How a table (or array of tables) came to exist. */
enum origin {
	ORIGIN_NONE = 0,	/* a value: closed */
	ORIGIN_IMPLICIT,	/* intermediate of a [a.b.c] header */
	ORIGIN_HEADER,		/* [header], or an element of [[x]] */
	ORIGIN_DOTTED,		/* by a dotted key in block `owner` */
	ORIGIN_AOT		/* the array behind [[header]] */
};

struct toml_mark {
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

int
toml_perr(struct toml_parser *ps, int line, const char *fmt, ...)
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
json_t *
toml_jmust(json_t *v)
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

void
toml_jappend(json_t *arr, json_t *v)
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
static struct toml_mark *
mark_slot(struct toml_mark *marks, size_t cap, const json_t *node)
{
	size_t i, mask = cap - 1;

	for (i = ptr_hash(node) & mask;; i = (i + 1) & mask)
		if (marks[i].node == node || marks[i].node == NULL)
			return &marks[i];
}

static enum origin
mark_get(const struct toml_parser *ps, const json_t *node, unsigned *owner)
{
	struct toml_mark *m;

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
mark_set(struct toml_parser *ps, const json_t *node, enum origin origin)
{
	struct toml_mark *m;
	size_t i;

	if ((ps->mlen + 1) * 2 > ps->mcap) {
		size_t ncap = ps->mcap ? ps->mcap * 2 : 64;
		struct toml_mark *nm = xcalloc(ncap, sizeof(*nm));

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
		for (s = k->part[i]; *s != '\0' &&
		    toml_is_bare((unsigned char)*s); s++)
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
parse_key(struct toml_parser *ps, struct key *k, int base)
{
	char what[32];
	const char *s;

	k->n = 0;
	k->line = ps->line;
	for (;;) {
		toml_skip_ws(ps);
		if (base + k->n >= TOML_MAX_DEPTH)
			return toml_perr(ps, ps->line,
			    "nesting deeper than %d levels", TOML_MAX_DEPTH);
		if (toml_at(ps, '"') || toml_at(ps, '\'')) {
			if (toml_value_parse_string(ps, 0) == -1)
				return -1;
			k->part[k->n++] = xstrndup(buf_cstr(&ps->sb),
			    ps->sb.len);
		} else if (ps->p < ps->end &&
		    toml_is_bare((unsigned char)*ps->p)) {
			for (s = ps->p; s < ps->end &&
			    toml_is_bare((unsigned char)*s); s++)
				;
			k->part[k->n++] = xstrndup(ps->p, (size_t)(s - ps->p));
			ps->p = s;
		} else if (k->n == 0)
			return toml_perr(ps, ps->line,
			    "expected a key, found %s",
			    toml_value_describe(ps, what, sizeof(what)));
		else
			return toml_perr(ps, ps->line,
			    "expected a key after '.', found %s",
			    toml_value_describe(ps, what, sizeof(what)));
		toml_skip_ws(ps);
		if (!toml_at(ps, '.'))
			return 0;
		ps->p++;
	}
}

static int insert_keyval(struct toml_parser *ps, json_t *t, json_t *lt,
    struct key *k, json_t *v, json_t *lv);

/* key = value at the cursor, into table t (line numbers into lt). */
int
toml_parse_keyval(struct toml_parser *ps, json_t *t, json_t *lt, int base)
{
	struct key k;
	json_t *v, *lv;
	int r = -1;

	if (parse_key(ps, &k, base) == -1)
		goto done;
	toml_skip_ws(ps);
	if (!toml_at(ps, '=')) {
		toml_perr(ps, ps->line, "expected '=' after key");
		goto done;
	}
	ps->p++;
	toml_skip_ws(ps);
	if (toml_value_parse(ps, base + k.n, k.line, &v, &lv) == -1)
		goto done;
	r = insert_keyval(ps, t, lt, &k, v, lv);
done:
	key_free(&k);
	return r;
}

/* ------------------------------------------------------------ structure */

static void
new_table(struct toml_parser *ps, json_t *t, json_t *lt, const char *name,
    enum origin origin, json_t **c, json_t **lc)
{
	*c = toml_jmust(json_object());
	*lc = toml_jmust(json_object());
	jset(t, name, *c);
	jset(lt, name, *lc);
	mark_set(ps, *c, origin);
}

static void
kind_of(const struct toml_parser *ps, const json_t *c, char *out, size_t cap)
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

/* The smallest line number under line record lc (0 if none). Records
 * nest no deeper than the values they describe (TOML_MAX_DEPTH). */
static int
min_line(const json_t *lc)
{
	const char *name;
	json_t *e;
	size_t i;
	int best = 0, l;

	if (json_is_integer(lc))
		return (int)json_integer_value(lc);
	json_array_foreach(lc, i, e) {
		l = min_line(e);
		if (l > 0 && (best == 0 || l < best))
			best = l;
	}
	json_object_foreach((json_t *)lc, name, e) {
		l = min_line(e);
		if (l > 0 && (best == 0 || l < best))
			best = l;
	}
	return best;
}

/* Where the leaf c (line record lc) was defined, as " (first defined on
 * line N)"; a non-empty array value records only its elements' lines, so
 * it counts as defined where its first element is. */
static void
first_line(const struct toml_parser *ps, const json_t *c, const json_t *lc,
    char *out, size_t cap)
{
	int l = 0;

	if (json_is_integer(lc))
		l = (int)json_integer_value(lc);
	else if (json_is_array(c) && mark_get(ps, c, NULL) == ORIGIN_NONE)
		l = min_line(lc);
	if (l > 0)
		snprintf(out, cap, " (first defined on line %d)", l);
	else
		out[0] = '\0';
}

static int
insert_keyval(struct toml_parser *ps, json_t *t, json_t *lt, struct key *k,
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
		first_line(ps, c, lc, where, sizeof(where));
		toml_perr(ps, k->line, "duplicate key '%s': already defined as "
		    "%s%s", key_str(k, i + 1, ks, sizeof(ks)), kind, where);
		goto fail;
	}
	c = json_object_get(t, k->part[k->n - 1]);
	if (c != NULL) {
		first_line(ps, c, json_object_get(lt, k->part[k->n - 1]),
		    where, sizeof(where));
		toml_perr(ps, k->line, "duplicate key '%s'%s",
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
header_walk(struct toml_parser *ps, const struct key *k, json_t **t,
    json_t **lt)
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
		return toml_perr(ps, k->line, "cannot extend '%s': it is %s",
		    key_str(k, i + 1, ks, sizeof(ks)), kind);
	}
	return 0;
}

/* [table] or [[array of tables]] at the cursor; sets the current table. */
static int
parse_header(struct toml_parser *ps, json_t *root, json_t *lroot, json_t **cur,
    json_t **lcur, int *depth)
{
	struct key k;
	json_t *t = root, *lt = lroot, *c, *lc, *arr, *larr;
	const char *last;
	char ks[200], kind[48], what[32];
	int aot, r = -1;

	k.n = 0;
	ps->p++;
	aot = toml_at(ps, '[');
	if (aot)
		ps->p++;
	if (parse_key(ps, &k, 0) == -1)
		goto done;
	if (!toml_at(ps, ']') || (aot && !toml_at_str(ps, "]]"))) {
		toml_perr(ps, ps->line, "expected '%s' to close the table "
		    "header, found %s", aot ? "]]" : "]",
		    toml_value_describe(ps, what, sizeof(what)));
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
			arr = toml_jmust(json_array());
			larr = toml_jmust(json_array());
			jset(t, last, arr);
			jset(lt, last, larr);
			mark_set(ps, arr, ORIGIN_AOT);
		} else if (json_is_array(c) &&
		    mark_get(ps, c, NULL) == ORIGIN_AOT) {
			arr = c;
			larr = lc;
		} else {
			kind_of(ps, c, kind, sizeof(kind));
			toml_perr(ps, k.line, "cannot define [[%s]]: '%s' is "
			    "already %s", ks, ks, kind);
			goto done;
		}
		c = toml_jmust(json_object());
		lc = toml_jmust(json_object());
		toml_jappend(arr, c);
		toml_jappend(larr, lc);
		mark_set(ps, c, ORIGIN_HEADER);
	} else if (c == NULL) {
		new_table(ps, t, lt, last, ORIGIN_HEADER, &c, &lc);
	} else if (json_is_object(c) &&
	    mark_get(ps, c, NULL) == ORIGIN_IMPLICIT) {
		mark_set(ps, c, ORIGIN_HEADER);
	} else {
		if (json_is_object(c) &&
		    mark_get(ps, c, NULL) == ORIGIN_HEADER)
			toml_perr(ps, k.line, "duplicate table [%s]", ks);
		else {
			kind_of(ps, c, kind, sizeof(kind));
			toml_perr(ps, k.line, "duplicate table [%s]: already "
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
end_of_line(struct toml_parser *ps, const char *after)
{
	char what[32];

	toml_skip_ws(ps);
	if (toml_at(ps, '#') && toml_value_skip_comment(ps) == -1)
		return -1;
	if (ps->p >= ps->end)
		return 0;
	if (toml_at_newline(ps)) {
		toml_eat_newline(ps);
		return 0;
	}
	return toml_perr(ps, ps->line, "unexpected %s after %s (expected a new "
	    "line)", toml_value_describe(ps, what, sizeof(what)), after);
}

static int
parse_document(struct toml_parser *ps, json_t *root, json_t *lroot)
{
	json_t *cur = root, *lcur = lroot;
	int depth = 0;

	ps->block = ++ps->nblocks;
	if (toml_at_str(ps, "\xef\xbb\xbf"))
		ps->p += 3;	/* a byte order mark */
	for (;;) {
		toml_skip_ws(ps);
		if (ps->p >= ps->end)
			return 0;
		if (toml_at(ps, '[')) {
			if (parse_header(ps, root, lroot, &cur, &lcur,
			    &depth) == -1 ||
			    end_of_line(ps, "table header") == -1)
				return -1;
		} else if (toml_at(ps, '#') || toml_at_newline(ps)) {
			if (end_of_line(ps, "comment") == -1)
				return -1;
		} else if (toml_parse_keyval(ps, cur, lcur, depth) == -1 ||
		    end_of_line(ps, "value") == -1)
			return -1;
	}
}

int
toml_parse(const char *text, size_t len, json_t **doc, json_t **lines,
    struct toml_error *err)
{
	struct toml_parser ps;
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
	if (toml_value_check_encoding(&ps) == -1)
		return -1;
	root = toml_jmust(json_object());
	lroot = toml_jmust(json_object());
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
