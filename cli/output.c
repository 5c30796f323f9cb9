/*
 * output.c: what trusteectl prints for humans and for scripts.
 *
 * Humans get aligned tables and "key: value" blocks; every string that
 * came from the server or a file passes through output_sanitize() first,
 * so control characters (escape sequences) never reach the terminal.
 * Scripts (--json) get the server's JSON unchanged, pretty-printed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trusteectl.h"

/* Longest cell a table shows before cutting it with "..." (columns):
 * room for a SHA-256 in hex. */
#define CELL_MAX	64

struct table {
	size_t ncols;
	size_t nrows;		/* including the header row */
	size_t cap;
	char **cells;		/* nrows * ncols, row-major, malloc'd */
};

char *
output_sanitize(const char *s, size_t max)
{
	struct buf b = { 0 };
	size_t cols = 0;
	const unsigned char *p;

	if (s == NULL)
		return xstrdup("-");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (max != 0 && cols >= max) {
			/* Drop the rest (and any partial UTF-8 sequence). */
			while (b.len > 0 && (b.data[b.len - 1] & 0xc0) == 0x80)
				b.len--;
			if (b.len > 0 && b.data[b.len - 1] >= 0xc0)
				b.len--;
			buf_addstr(&b, "...");
			break;
		}
		if (*p == '\n') {
			buf_addstr(&b, "\\n");
			cols += 2;
		} else if (*p == '\t') {
			buf_addstr(&b, "\\t");
			cols += 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_printf(&b, "\\x%02x", *p);
			cols += 4;
		} else {
			buf_add(&b, p, 1);
			if ((*p & 0xc0) != 0x80)
				cols++;
		}
	}
	return b.len ? buf_cstr(&b) : xstrdup("");
}

/* Display width: code points (continuation bytes do not count). */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

char *
output_cell(const json_t *v)
{
	char *txt, *out;

	if (v == NULL || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		return output_sanitize(json_string_value(v), CELL_MAX);
	if (json_is_true(v))
		return xstrdup("yes");
	if (json_is_false(v))
		return xstrdup("no");
	txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (txt == NULL)
		return xstrdup("?");
	out = output_sanitize(txt, CELL_MAX);
	free(txt);
	return out;
}

/* A table of ncols columns whose header cells the caller fills in. */
static struct table *
table_alloc(size_t ncols)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	t->cap = 16;
	t->cells = xcalloc(t->cap * ncols, sizeof(char *));
	t->nrows = 1;
	return t;
}

struct table *
table_new(size_t ncols, ...)
{
	struct table *t = table_alloc(ncols);
	va_list ap;
	size_t i;

	va_start(ap, ncols);
	for (i = 0; i < ncols; i++)
		t->cells[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return t;
}

/* Append a row of ncols already-sanitized, malloc'd cells (taken over). */
static void
table_add_owned(struct table *t, char **cells)
{
	size_t i;

	if (t->nrows == t->cap) {
		t->cap *= 2;
		t->cells = xrealloc(t->cells, t->cap * t->ncols *
		    sizeof(char *));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = cells[i];
	t->nrows++;
}

void
table_add_json(struct table *t, ...)
{
	char **cells = xcalloc(t->ncols, sizeof(char *));
	va_list ap;
	size_t i;

	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		cells[i] = output_cell(va_arg(ap, const json_t *));
	va_end(ap);
	table_add_owned(t, cells);
	free(cells);
}

void
output_items(const json_t *items, const struct output_column *cols,
    size_t ncols, const char *empty)
{
	struct table *t = table_alloc(ncols);
	const json_t *it;
	char **cells;
	size_t i, c;

	for (c = 0; c < ncols; c++)
		t->cells[c] = xstrdup(cols[c].header);
	json_array_foreach(items, i, it) {
		cells = xcalloc(ncols, sizeof(char *));
		for (c = 0; c < ncols; c++)
			cells[c] = output_cell(json_object_get(it,
			    cols[c].member));
		table_add_owned(t, cells);
		free(cells);
	}
	if (table_rows(t) == 0 && empty != NULL)
		printf("%s\n", empty);
	else
		table_print(t, stdout);
	table_free(t);
}

void
output_page(const json_t *page, const struct output_column *cols,
    size_t ncols, const char *empty)
{
	const json_t *items = json_object_get(page, "items");

	output_items(items, cols, ncols, empty);
	if (json_is_string(json_object_get(page, "next_cursor")))
		printf("(newest %zu shown; --limit N for more, up to 1000)\n",
		    json_array_size(items));
}

/* Add a row of strings, each cut at max columns (0: whole). */
static void
table_add_va(struct table *t, size_t max, va_list ap)
{
	char **cells = xcalloc(t->ncols, sizeof(char *));
	size_t i;

	for (i = 0; i < t->ncols; i++)
		cells[i] = output_sanitize(va_arg(ap, const char *), max);
	table_add_owned(t, cells);
	free(cells);
}

void
table_add(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_add_va(t, CELL_MAX, ap);
	va_end(ap);
}

void
table_add_whole(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_add_va(t, 0, ap);
	va_end(ap);
}

size_t
table_rows(const struct table *t)
{
	return t->nrows - 1;
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *w = xcalloc(t->ncols, sizeof(size_t));
	size_t r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t n = text_width(t->cells[r * t->ncols + c]);

			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		size_t last = 0;

		/* No trailing blanks: stop after the last non-empty cell. */
		for (c = 0; c < t->ncols; c++)
			if (*t->cells[r * t->ncols + c] != '\0')
				last = c;
		for (c = 0; c <= last; c++) {
			const char *s = t->cells[r * t->ncols + c];

			fputs(s, f);
			if (c < last)
				fprintf(f, "%*s", (int)(w[c] - text_width(s) +
				    2), "");
		}
		fputc('\n', f);
	}
	free(w);
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void
output_kv(const char *key, const char *value)
{
	char *v = output_sanitize(value, 0);

	printf("%-12s %s\n", key, v);
	free(v);
}

void
output_kv_json(const char *key, const json_t *value)
{
	char *v;

	if (json_is_string(value)) {
		output_kv(key, json_string_value(value));
		return;
	}
	if (value == NULL || json_is_null(value)) {
		output_kv(key, "-");
		return;
	}
	v = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	output_kv(key, v != NULL ? v : "?");
	free(v);
}

void
output_kv_members(const json_t *o, const struct output_column *fields,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		output_kv_json(fields[i].header, json_object_get(o,
		    fields[i].member));
}

void
output_kv_time(const char *key, const json_t *value)
{
	char ts[TIME_RFC3339_LEN];

	if (!json_is_integer(value)) {
		output_kv_json(key, value);
		return;
	}
	time_format_rfc3339(json_integer_value(value), ts);
	output_kv(key, ts);
}

int
output_json(const json_t *v)
{
	if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY |
	    JSON_PRESERVE_ORDER) == -1 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0)
		return ctl_fail("stdout: %s", strerror(errno));
	return EXIT_OK;
}

void
output_text_block(const char *text, size_t len)
{
	if (len > 0 && fwrite(text, 1, len, stdout) != len)
		return;
	if (len > 0 && text[len - 1] != '\n')
		fputc('\n', stdout);
}
