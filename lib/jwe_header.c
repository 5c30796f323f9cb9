/*
 * jwe_header.c: the protected header as the guest re-serializes it
 * (guest-components' ProtectedHeader::generate_aad, serde_json): compact
 * JSON with "alg" and "enc" first, then the other members and all nested
 * object keys in byte-wise order, numbers as serde_json writes them, at
 * most serde_json's nesting depth. The guest authenticates the
 * ciphertext against the base64url of this text, not the received
 * "protected" string, so lib/jwe_decrypt.c does the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jcs.h"
#include "jwe_internal.h"
#include "util.h"

/* serde_json's recursion limit: deeper headers fail in the guest. */
#define JWE_HEADER_MAX_DEPTH	128

/*
 * A double the way serde_json (ryu) writes it: the shortest digits that
 * read back to the same value, laid out as 1.0, 0.001, 1e16, 1.5e-7.
 * Shortest digits come from "%.*e" at increasing precision, which agrees
 * with ryu except perhaps for ties at the rounding-interval edge; headers
 * with fractional numbers do not occur in this protocol.
 */
static void
jwe_header_ser_real(struct buf *b, double d)
{
	char tmp[64], digits[24];
	int prec, e, ndig = 0, k, kk, i;
	char *p;

	if (d == 0) {
		buf_addstr(b, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	p = tmp;
	if (*p == '-') {
		buf_addstr(b, "-");
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[ndig++] = *p;
	e = atoi(p + 1);
	while (ndig > 1 && digits[ndig - 1] == '0')
		ndig--;
	digits[ndig] = '\0';
	k = e - (ndig - 1);	/* value = digits * 10^k */
	kk = e + 1;		/* 10^(kk-1) <= |value| < 10^kk */
	if (k >= 0 && kk <= 16) {
		buf_addstr(b, digits);
		for (i = 0; i < k; i++)
			buf_addstr(b, "0");
		buf_addstr(b, ".0");
	} else if (kk > 0 && kk <= 16) {
		buf_add(b, digits, (size_t)kk);
		buf_addstr(b, ".");
		buf_addstr(b, digits + kk);
	} else if (kk > -5 && kk <= 0) {
		buf_addstr(b, "0.");
		for (i = 0; i < -kk; i++)
			buf_addstr(b, "0");
		buf_addstr(b, digits);
	} else if (ndig == 1) {
		buf_printf(b, "%se%d", digits, kk - 1);
	} else {
		buf_printf(b, "%c.%se%d", digits[0], digits + 1, kk - 1);
	}
}

struct jwe_header_member {
	const char *key;
	size_t len;
	const json_t *value;
};

/* serde_json's Map is a BTreeMap<String, _>: byte-wise key order. */
static int
jwe_header_member_cmp(const void *a, const void *b)
{
	const struct jwe_header_member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The members of obj, sorted, minus alg and enc when skip_alg_enc. */
static struct jwe_header_member *
jwe_header_sorted_members(const json_t *obj, int skip_alg_enc, size_t *count)
{
	struct jwe_header_member *keys;
	const char *key;
	json_t *value;
	size_t n = 0;

	keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	json_object_foreach((json_t *)obj, key, value) {
		if (skip_alg_enc && (strcmp(key, "alg") == 0 ||
		    strcmp(key, "enc") == 0))
			continue;
		keys[n].key = key;
		keys[n].len = strlen(key);
		keys[n].value = value;
		n++;
	}
	qsort(keys, n, sizeof(*keys), jwe_header_member_cmp);
	*count = n;
	return keys;
}

static int
jwe_header_ser_value(struct buf *b, const json_t *v, int depth)
{
	struct jwe_header_member *keys;
	size_t i, n;

	if (depth > JWE_HEADER_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		keys = jwe_header_sorted_members(v, 0, &n);
		buf_addstr(b, "{");
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addstr(b, ",");
			jcs_append_string(b, keys[i].key, keys[i].len);
			buf_addstr(b, ":");
			if (jwe_header_ser_value(b, keys[i].value,
			    depth + 1) != 0) {
				free(keys);
				return -1;
			}
		}
		buf_addstr(b, "}");
		free(keys);
		return 0;
	case JSON_ARRAY:
		buf_addstr(b, "[");
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_addstr(b, ",");
			if (jwe_header_ser_value(b, json_array_get(v, i),
			    depth + 1) != 0)
				return -1;
		}
		buf_addstr(b, "]");
		return 0;
	case JSON_STRING:
		jcs_append_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_REAL:
		jwe_header_ser_real(b, json_real_value(v));
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

/*
 * The AAD the guest computes (ProtectedHeader::generate_aad): the header
 * re-serialized as {"alg":..,"enc":..,<other members sorted>} compact,
 * then base64url without padding. Returns a malloc'd string or NULL.
 */
char *
jwe_header_canonical_aad(const json_t *hdr)
{
	const json_t *alg = json_object_get(hdr, "alg");
	const json_t *enc = json_object_get(hdr, "enc");
	struct jwe_header_member *keys;
	struct buf b = { 0 };
	size_t i, n;
	char *aad = NULL;

	buf_addstr(&b, "{\"alg\":");
	jcs_append_string(&b, json_string_value(alg), json_string_length(alg));
	buf_addstr(&b, ",\"enc\":");
	jcs_append_string(&b, json_string_value(enc), json_string_length(enc));
	keys = jwe_header_sorted_members(hdr, 1, &n);
	for (i = 0; i < n; i++) {
		buf_addstr(&b, ",");
		jcs_append_string(&b, keys[i].key, keys[i].len);
		buf_addstr(&b, ":");
		if (jwe_header_ser_value(&b, keys[i].value, 2) != 0)
			goto out;
	}
	buf_addstr(&b, "}");
	aad = b64_encode(b.data, b.len, B64_URL_NOPAD);
out:
	free(keys);
	buf_free(&b);
	return aad;
}
