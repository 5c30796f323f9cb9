/*
 * setup_conf.c: the one edit `trusteed setup` makes to trusteed.toml:
 * replace the key lines of one table (e.g. [sealer]) and keep everything
 * else byte for byte, comments included, so the file stays the commented
 * document the operator (and dpkg's conffile handling) knows.
 *
 * Within the table, every active "key = value" line is removed and the new
 * lines are written right after the table's header; comment and blank
 * lines stay where they are. A missing table is appended at the end. The
 * result is checked by the caller with config_load before it replaces the
 * file.
 */
#include <ctype.h>
#include <string.h>

#include "trusteed.h"

/* 1 if line (len bytes, no newline) is the header [name]. */
static int
setup_conf_is_header(const char *line, size_t len, const char *name)
{
	size_t i = 0, n = strlen(name);

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != '[' || len - i < n + 2 ||
	    strncmp(line + i + 1, name, n) != 0 || line[i + 1 + n] != ']')
		return 0;
	for (i += n + 2; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	return i == len || line[i] == '#';
}

/* 1 for any table header "[...]" (also [[arrays]]). */
static int
setup_conf_any_header(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == '[';
}

/* 1 for an active key line "name = ..." (not a comment). */
static int
setup_conf_is_key(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || !(isalnum((unsigned char)line[i]) || line[i] == '_' ||
	    line[i] == '"'))
		return 0;
	return memchr(line + i, '=', len - i) != NULL;
}

void
setup_conf_quote(struct buf *b, const char *s)
{
	buf_addstr(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			buf_add(b, s, 1);
	}
	buf_addstr(b, "\"");
}

char *
setup_conf_set_table(const char *text, const char *table, const char *lines)
{
	struct buf out = { 0 };
	const char *p = text, *nl;
	size_t len;
	int in = 0, found = 0;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (setup_conf_any_header(p, len))
			in = 0;
		if (!found && setup_conf_is_header(p, len, table)) {
			buf_add(&out, p, len);
			buf_addstr(&out, "\n");
			buf_addstr(&out, lines);
			in = found = 1;
		} else if (!(in && setup_conf_is_key(p, len))) {
			buf_add(&out, p, len);
			if (nl != NULL)
				buf_addstr(&out, "\n");
		}
		p += len + (nl != NULL);
	}
	if (!found) {
		if (out.len > 0 && out.data[out.len - 1] != '\n')
			buf_addstr(&out, "\n");
		buf_printf(&out, "\n[%s]\n%s", table, lines);
	}
	return buf_cstr(&out);
}
