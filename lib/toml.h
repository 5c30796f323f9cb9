/*
 * toml.h: the TOML subset trusteed needs, for its config file and for
 * init-data documents (which embed aa.toml / cdh.toml as multi-line
 * strings). Parsed straight into jansson values so init-data claims come
 * out as JSON.
 *
 * Supported: comments; bare, quoted and dotted keys; basic strings with
 * escapes (\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX), literal strings,
 * multi-line basic (with line-ending backslash) and literal strings;
 * decimal/hex/octal/binary integers with '_' separators (64-bit range,
 * overflow is an error); floats (incl. inf/nan are rejected); booleans;
 * arrays (mixed, nested, multi-line, trailing comma); inline tables;
 * [table], [a.b."c"] headers and [[array of tables]].
 * Not supported (an error naming the line): date-times.
 * Redefinition of a key or table is an error, as TOML requires.
 * Input must be UTF-8 without NUL bytes.
 */
#ifndef TRUSTEE_TOML_H
#define TRUSTEE_TOML_H

#include <stddef.h>
#include <jansson.h>

struct toml_error {
	int line;		/* 1-based; 0 when not tied to a line */
	char msg[256];
};

/*
 * Parse text (len bytes) into *doc (a JSON object; new reference). When
 * lines is non-NULL, *lines receives a "line map" of the same shape, so
 * that config checks can report file:line for semantic errors: tables
 * (including inline tables) map to objects, arrays (including arrays of
 * tables) to arrays with one record per element, and every other value
 * to the 1-based line number where it was defined -- the key's line for
 * a keyed value, the line the element starts on for an array element.
 * An empty array or empty inline table, having no members to record,
 * maps to its line number instead. So the smallest number under a record
 * is where that value (or its first member) is. Returns 0, or -1 with
 * err set.
 */
int toml_parse(const char *text, size_t len, json_t **doc, json_t **lines,
    struct toml_error *err);

#endif
