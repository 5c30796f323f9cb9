/*
 * jcs.c: RFC 8785 JSON Canonicalization Scheme over jansson values.
 *
 * The output is what the guest hashes into report_data, so every byte
 * matters: object members are ordered by their keys' UTF-16 code units
 * (not UTF-8 bytes, which differs for non-BMP characters), strings use
 * the minimal escaping of RFC 8785 §3.2.2.2 and reals use the ECMAScript
 * Number::toString form (shortest round-trip digits, ES6 layout).
 * jansson integers are emitted as plain decimals, as serde_json does.
 * jcs_compact is the same writer keeping members in insertion order.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"
#include "util.h"

/* One object member with its key widened to UTF-16 for sorting. */
struct jcs_member {
	const char *key;
	size_t keylen;
	uint16_t *u16;
	size_t u16len;
	json_t *value;
};

static int jcs_value(struct buf *b, const json_t *v, int sorted);

/*
 * Convert UTF-8 to UTF-16 code units; out must hold n units (UTF-16 never
 * needs more units than UTF-8 needs bytes). jansson has already validated
 * keys, but a malformed byte is mapped to itself rather than trusted, so
 * the order stays total and deterministic (ties are broken by bytes).
 */
static size_t
jcs_utf16(const unsigned char *s, size_t n, uint16_t *out)
{
	size_t i = 0, o = 0, len, j;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			len = 2;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			len = 3;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			len = 4;
		} else {
			cp = c;
			len = 0;
		}
		if (len > 1) {
			if (i + len > n)
				len = 0;
			for (j = 1; j < len; j++) {
				if ((s[i + j] & 0xc0) != 0x80) {
					len = 0;
					break;
				}
				cp = (cp << 6) | (s[i + j] & 0x3f);
			}
			if (len == 0 || cp > 0x10ffff)
				cp = c, len = 0;
		}
		if (len == 0) {
			out[o++] = c;
			i++;
			continue;
		}
		i += len;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			out[o++] = (uint16_t)(0xd800 + (cp >> 10));
			out[o++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else
			out[o++] = (uint16_t)cp;
	}
	return o;
}

static int
jcs_member_cmp(const void *pa, const void *pb)
{
	const struct jcs_member *a = pa, *b = pb;
	size_t i, n = a->u16len < b->u16len ? a->u16len : b->u16len;
	int r;

	for (i = 0; i < n; i++) {
		if (a->u16[i] != b->u16[i])
			return a->u16[i] < b->u16[i] ? -1 : 1;
	}
	if (a->u16len != b->u16len)
		return a->u16len < b->u16len ? -1 : 1;
	/* Only reachable for keys holding malformed UTF-8. */
	n = a->keylen < b->keylen ? a->keylen : b->keylen;
	r = memcmp(a->key, b->key, n);
	if (r != 0)
		return r;
	return a->keylen < b->keylen ? -1 : a->keylen > b->keylen;
}

void
jcs_append_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	char esc[7];

	buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;

		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (c >= 0x20)
				continue;
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc[6] = '\0';
			e = esc;
			break;
		}
		buf_add(b, s + start, i - start);
		buf_addstr(b, e);
		start = i + 1;
	}
	buf_add(b, s + start, n - start);
	buf_add(b, "\"", 1);
}

/*
 * Split "%.*e" output ("d.ddde+XX") into its significant digits and the
 * ES exponent n (value = 0.d1d2... * 10^n). Returns the digit count.
 * Whatever the locale uses as decimal point is skipped.
 */
static size_t
jcs_split_e(const char *e, char *digits, int *n)
{
	size_t k = 0;

	for (; *e != 'e'; e++) {
		if (*e >= '0' && *e <= '9')
			digits[k++] = *e;
	}
	*n = atoi(e + 1) + 1;
	digits[k] = '\0';
	return k;
}

/* Does the k-digit decimal digits * 10^(n-k) parse back to exactly d?
 * (Written as an integer mantissa: no locale-dependent decimal point.) */
static int
jcs_roundtrips(const char *digits, size_t k, int n, double d)
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "%se%d", digits, n - (int)k);
	return strtod(tmp, NULL) == d;
}

/*
 * Step the k-digit decimal digits * 10^(n-k) by one unit in its last
 * place (dir = +1 or -1), keeping k significant digits.
 */
static void
jcs_step(char *digits, size_t k, int *n, int dir)
{
	size_t i = k;

	if (dir > 0) {
		while (i > 0 && digits[i - 1] == '9')
			digits[--i] = '0';
		if (i == 0) {
			/* 999 + 1 = 1000: same digit count, next decade. */
			digits[0] = '1';
			(*n)++;
		} else
			digits[i - 1]++;
		return;
	}
	while (i > 0 && digits[i - 1] == '0')
		digits[--i] = '9';
	digits[i - 1]--;	/* digits[0] is never '0', so i > 0 here */
	if (digits[0] == '0') {
		/* 1000 - 1 = 0999: renormalize to 9999, previous decade. */
		memmove(digits, digits + 1, k - 1);
		digits[k - 1] = '9';
		(*n)--;
	}
}

/*
 * Shortest digits that strtod maps back to d (d finite, > 0), and among
 * those the nearest to d, as ES requires. printf's k-digit output is the
 * nearest k-digit decimal. Where the round-trip interval is asymmetric
 * (d a power of two: the gap below is half the gap above) that nearest
 * value can miss while its neighbour on the other side of d hits, e.g.
 * 2^-44 = 5.684341886080802e-14 where %.15e gives ...801e-14; any hit
 * is one of those two, so both are tried. 17 digits always round-trip.
 */
static size_t
jcs_shortest(double d, char *digits, int *n)
{
	char tmp[48], cand[24];
	size_t k;
	int p, cn, dir;

	for (p = 0; p < 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p, d);
		k = jcs_split_e(tmp, digits, n);
		if (strtod(tmp, NULL) == d)
			goto strip;
		for (dir = -1; dir <= 1; dir += 2) {
			memcpy(cand, digits, k + 1);
			cn = *n;
			jcs_step(cand, k, &cn, dir);
			if (jcs_roundtrips(cand, k, cn, d)) {
				memcpy(digits, cand, k + 1);
				*n = cn;
				goto strip;
			}
		}
	}
	/* Not reached for finite d: %.16e always round-trips. */
	snprintf(tmp, sizeof(tmp), "%.16e", d);
	k = jcs_split_e(tmp, digits, n);
strip:
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	return k;
}

/* ECMAScript Number::toString(d) (ES2015 §7.1.12.1), d finite. */
static void
jcs_real(struct buf *b, double d)
{
	char digits[24];
	size_t k;
	int n, i;

	if (d == 0) {
		/* Covers -0 too. */
		buf_add(b, "0", 1);
		return;
	}
	if (d < 0) {
		buf_add(b, "-", 1);
		d = -d;
	}
	k = jcs_shortest(d, digits, &n);
	if ((int)k <= n && n <= 21) {
		buf_add(b, digits, k);
		for (i = (int)k; i < n; i++)
			buf_add(b, "0", 1);
	} else if (0 < n && n <= 21) {
		buf_add(b, digits, (size_t)n);
		buf_add(b, ".", 1);
		buf_add(b, digits + n, k - (size_t)n);
	} else if (-6 < n && n <= 0) {
		buf_add(b, "0.", 2);
		for (i = n; i < 0; i++)
			buf_add(b, "0", 1);
		buf_add(b, digits, k);
	} else {
		buf_add(b, digits, 1);
		if (k > 1) {
			buf_add(b, ".", 1);
			buf_add(b, digits + 1, k - 1);
		}
		buf_printf(b, "e%c%d", n - 1 >= 0 ? '+' : '-',
		    n - 1 >= 0 ? n - 1 : 1 - n);
	}
}

/* Decimal digits of v (what "%" JSON_INTEGER_FORMAT prints, at a
 * fraction of vsnprintf's cost: texts carry dozens of integers). */
static void
jcs_integer(struct buf *b, json_int_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[--i] = '-';
	buf_add(b, tmp + i, sizeof(tmp) - i);
}

/* Members in the object's own (insertion) order: jcs_compact. */
static int
jcs_object_ordered(struct buf *b, const json_t *v)
{
	const char *key;
	json_t *value;
	size_t keylen;
	int first = 1;

	buf_add(b, "{", 1);
	/* The foreach macro takes a non-const object; it does not modify. */
	json_object_keylen_foreach((json_t *)v, key, keylen, value) {
		if (!first)
			buf_add(b, ",", 1);
		first = 0;
		jcs_append_string(b, key, keylen);
		buf_add(b, ":", 1);
		if (jcs_value(b, value, 0) == -1)
			return -1;
	}
	buf_add(b, "}", 1);
	return 0;
}

static int
jcs_object(struct buf *b, const json_t *v)
{
	struct jcs_member *m;
	const char *key;
	json_t *value;
	size_t n = json_object_size(v), i = 0, keylen;
	int rc = 0;

	m = xcalloc(n, sizeof(*m));
	/* The foreach macro takes a non-const object; it does not modify. */
	json_object_keylen_foreach((json_t *)v, key, keylen, value) {
		m[i].key = key;
		m[i].keylen = keylen;
		m[i].u16 = xcalloc(keylen, sizeof(uint16_t));
		m[i].u16len = jcs_utf16((const unsigned char *)key, keylen,
		    m[i].u16);
		m[i].value = value;
		i++;
	}
	n = i;
	qsort(m, n, sizeof(*m), jcs_member_cmp);
	buf_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_add(b, ",", 1);
		jcs_append_string(b, m[i].key, m[i].keylen);
		buf_add(b, ":", 1);
		if (jcs_value(b, m[i].value, 1) == -1) {
			rc = -1;
			break;
		}
	}
	buf_add(b, "}", 1);
	for (i = 0; i < n; i++)
		free(m[i].u16);
	free(m);
	return rc;
}

static int
jcs_value(struct buf *b, const json_t *v, int sorted)
{
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return sorted ? jcs_object(b, v) : jcs_object_ordered(b, v);
	case JSON_ARRAY:
		buf_add(b, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_add(b, ",", 1);
			if (jcs_value(b, json_array_get(v, i), sorted) == -1)
				return -1;
		}
		buf_add(b, "]", 1);
		return 0;
	case JSON_STRING:
		jcs_append_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		jcs_integer(b, json_integer_value(v));
		return 0;
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return -1;
		i = b->len;
		jcs_real(b, json_real_value(v));
		/* Outside the canonical form a real stays a real when the
		 * text is parsed again: 1.0 is "1.0", not "1". */
		if (!sorted && memchr(b->data + i, '.', b->len - i) == NULL &&
		    memchr(b->data + i, 'e', b->len - i) == NULL)
			buf_add(b, ".0", 2);
		return 0;
	case JSON_TRUE:
		buf_addstr(b, "true");
		return 0;
	case JSON_FALSE:
		buf_addstr(b, "false");
		return 0;
	case JSON_NULL:
		buf_addstr(b, "null");
		return 0;
	}
	return -1;
}

static char *
jcs_text(const json_t *v, int sorted, size_t *len)
{
	struct buf b = { 0 };

	if (v == NULL)
		return NULL;
	/* Most texts fit without growing the buffer. */
	buf_reserve(&b, 1023);
	if (jcs_value(&b, v, sorted) == -1) {
		buf_free(&b);
		return NULL;
	}
	buf_cstr(&b);
	if (len != NULL)
		*len = b.len;
	return (char *)b.data;
}

char *
jcs_serialize(const json_t *v, size_t *len)
{
	return jcs_text(v, 1, len);
}

char *
jcs_compact(const json_t *v, size_t *len)
{
	return jcs_text(v, 0, len);
}
