/*
 * rvps_check.c: the checks on what callers hand the reference value
 * store: names and other texts (bounded length, valid UTF-8, no control
 * characters) and values (bounded size as compact JSON). Each returns 0,
 * or -1 with a message that names the offending input (escaped).
 */
#include <inttypes.h>
#include <string.h>

#include "../lib/log.h"
#include "rvps.h"
#include "rvps_internal.h"

/*
 * Decode one UTF-8 sequence of s[*i..len) (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF). 0 and *cp, or -1.
 */
static int
rvps_check_utf8_next(const unsigned char *s, size_t len, size_t *i,
    uint32_t *cp)
{
	uint32_t c = s[*i], min;
	size_t n, k;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[*i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*i += n + 1;
	return 0;
}

/*
 * Check s (what names it in messages): at most max bytes, valid UTF-8,
 * no control character (C0, DEL, C1); empty only if allow_empty.
 */
int
rvps_check_text(const char *s, size_t max, const char *what, int allow_empty,
    struct error *err)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[RVPS_ESC];
	size_t len, i = 0, at;
	uint32_t cp;

	if (s == NULL || s[0] == '\0') {
		if (allow_empty)
			return 0;
		return error_set(err, "%s is empty", what);
	}
	len = strnlen(s, max + 1);
	if (len > max)
		return error_set(err, "%s '%s' is longer than %zu bytes", what,
		    log_escape(s, esc, sizeof(esc)), max);
	while (i < len) {
		at = i;
		if (rvps_check_utf8_next(u, len, &i, &cp) == -1)
			return error_set(err, "%s '%s' is not valid UTF-8 "
			    "(at byte %zu)", what,
			    log_escape(s, esc, sizeof(esc)), at);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return error_set(err, "%s '%s' contains the control "
			    "character U+%04" PRIX32 " (at byte %zu)", what,
			    log_escape(s, esc, sizeof(esc)), cp, at);
	}
	return 0;
}

int
rvps_check_name(const char *name, struct error *err)
{
	return rvps_check_text(name, RVPS_NAME_MAX, "reference value name", 0,
	    err);
}

/* A value must serialize to at most RVPS_VALUE_MAX bytes. */
int
rvps_check_value(const char *name, const json_t *value, struct error *err)
{
	char esc[RVPS_ESC];
	size_t n;

	if (value == NULL)
		return error_set(err, "reference value '%s' has no value",
		    log_escape(name, esc, sizeof(esc)));
	n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (n == 0)
		return error_set(err, "reference value '%s': the value "
		    "cannot be encoded as JSON",
		    log_escape(name, esc, sizeof(esc)));
	if (n > RVPS_VALUE_MAX)
		return error_set(err, "reference value '%s': the value is "
		    "%zu bytes as JSON, more than the limit of %d",
		    log_escape(name, esc, sizeof(esc)), n, RVPS_VALUE_MAX);
	return 0;
}
