/*
 * extract_corim.c: the "corim" extractor: an unsigned CBOR CoRIM
 * (draft-ietf-rats-corim) to reference values, by Trustee's rules
 * (reference/attestation-service.md §5):
 *
 *   corim = [#6.500 / #6.502 wrappers] [#6.501] corim-map
 *   corim-map = { 0: id, 1: [ + #6.506(concise-mid-tag or bstr .cbor it)
 *                              / #6.505(CoSWID, skipped) ], ... }
 *   concise-mid-tag = { ..., 4: triples-map }
 *   triples-map = { ? 0: [ + [ environment-map, [ + measurement-map ] ] ] }
 *   environment-map = { ? 0: class-map { ? 1: vendor tstr, ? 2: model tstr } }
 *   measurement-map = { ? 0: mkey, 1: mval }
 *   mkey: tstr | uint ("claim<N>") | #6.37(uuid bstr) (others ignored)
 *   mval = { ? 2: digests [ + [alg, bstr] ], ? 4: raw-value, ? 8: serial-
 *            number tstr, ? 11: name tstr, ... }
 *
 * For each measurement, path = vendor / model / mkey / name / serial (those
 * present), and "<path>/digests" = [hex of every digest] when mval has
 * digests; "<path>/raw_bytes" = hex when the raw value is #6.560(bstr).
 * Signed CoRIMs (COSE_Sign1, #6.18) are refused: verify and unwrap them
 * before registering. A triple record whose claims are one measurement-map
 * instead of a list (earlier drafts) is accepted.
 *
 * The bytes are untrusted: before libcbor sees them, a non-recursive scan
 * checks well-formedness, nesting depth, item count and that no declared
 * length exceeds the bytes left, so cbor_load neither over-allocates nor
 * builds a tree too deep for its recursive release.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "rvps.h"

#define CORIM_MAX_DEPTH 32
#define CORIM_MAX_ITEMS 100000
#define CORIM_MAX_TAGS 8	/* wrapper tags peeled around the CoRIM */
#define CORIM_WHERE 160

#define CORIM_TAG_COSE_SIGN1 18
#define CORIM_TAG_COSE_SIGN 98
#define CORIM_TAG_UUID 37
#define CORIM_TAG_CORIM 500
#define CORIM_TAG_UNSIGNED 501
#define CORIM_TAG_SIGNED_OLD 502
#define CORIM_TAG_COSWID 505
#define CORIM_TAG_COMID 506
#define CORIM_TAG_BYTES 560

/* ----------------------------------------------------------- the scan */

struct corim_level {
	uint64_t left;		/* items still expected (definite) */
	uint64_t count;		/* items seen (indefinite) */
	int indef;
	int map;
};

/* One item head at *pos: major type, additional info, argument. */
static int
corim_head(const uint8_t *p, size_t len, size_t *pos, int *major, int *ai,
    uint64_t *val)
{
	size_t n, i;

	if (*pos >= len)
		return -1;
	*major = p[*pos] >> 5;
	*ai = p[*pos] & 0x1f;
	(*pos)++;
	*val = 0;
	if (*ai < 24)
		*val = (uint64_t)*ai;
	else if (*ai <= 27) {
		n = (size_t)1 << (*ai - 24);
		if (len - *pos < n)
			return -1;
		for (i = 0; i < n; i++)
			*val = (*val << 8) | p[(*pos)++];
	} else if (*ai != 31)
		return -1;
	return 0;
}

static int
corim_scan_fail(const char *what, const char *why, size_t pos,
    struct error *err)
{
	return error_set(err, "corim payload: %s: malformed CBOR at byte "
	    "%zu: %s", what, pos, why);
}

/* An indefinite-length string: definite chunks of the same major type up
 * to the break. */
static int
corim_scan_chunks(const uint8_t *p, size_t len, size_t *pos, int major,
    size_t *items, const char *what, struct error *err)
{
	uint64_t val;
	int m, ai;

	for (;;) {
		if (*pos >= len)
			return corim_scan_fail(what, "truncated string", *pos,
			    err);
		if (p[*pos] == 0xff) {
			(*pos)++;
			return 0;
		}
		if (++*items > CORIM_MAX_ITEMS)
			return corim_scan_fail(what, "too many items", *pos,
			    err);
		if (corim_head(p, len, pos, &m, &ai, &val) == -1 ||
		    m != major || ai == 31 || val > len - *pos)
			return corim_scan_fail(what, "bad string chunk", *pos,
			    err);
		*pos += (size_t)val;
	}
}

/* Check that p[0..len) is exactly one well-formed CBOR item within the
 * limits. Iterative. */
static int
corim_scan(const uint8_t *p, size_t len, const char *what,
    struct error *err)
{
	struct corim_level st[CORIM_MAX_DEPTH];
	size_t pos = 0, items = 0, start;
	uint64_t val;
	int d = 0, major, ai;

	memset(&st[0], 0, sizeof(st[0]));
	st[0].left = 1;
	for (;;) {
		struct corim_level *l = &st[d];
		struct corim_level next = { 0, 0, 0, 0 };

		if (!l->indef && l->left == 0) {
			if (d == 0)
				break;
			d--;
			continue;
		}
		if (l->indef) {
			if (pos >= len)
				return corim_scan_fail(what, "truncated", pos,
				    err);
			if (p[pos] == 0xff) {
				if (l->map && l->count % 2 != 0)
					return corim_scan_fail(what, "map with "
					    "a key but no value", pos, err);
				pos++;
				d--;
				continue;
			}
			l->count++;
		} else
			l->left--;
		if (++items > CORIM_MAX_ITEMS)
			return corim_scan_fail(what, "more than 100000 items",
			    pos, err);
		start = pos;
		if (corim_head(p, len, &pos, &major, &ai, &val) == -1)
			return corim_scan_fail(what, "truncated or reserved "
			    "item head", start, err);
		switch (major) {
		case 0:
		case 1:
			if (ai == 31)
				return corim_scan_fail(what, "indefinite "
				    "integer", start, err);
			continue;
		case 2:
		case 3:
			if (ai == 31) {
				if (corim_scan_chunks(p, len, &pos, major,
				    &items, what, err) == -1)
					return -1;
			} else if (val > len - pos)
				return corim_scan_fail(what, "string longer "
				    "than the input", start, err);
			else
				pos += (size_t)val;
			continue;
		case 4:
			if (ai == 31)
				next.indef = 1;
			else if (val > len - pos)
				return corim_scan_fail(what, "array longer "
				    "than the input", start, err);
			else
				next.left = val;
			break;
		case 5:
			next.map = 1;
			if (ai == 31)
				next.indef = 1;
			else if (val > (len - pos) / 2)
				return corim_scan_fail(what, "map longer than "
				    "the input", start, err);
			else
				next.left = val * 2;
			break;
		case 6:
			if (ai == 31)
				return corim_scan_fail(what, "indefinite tag",
				    start, err);
			/* libcbor 0.8 refuses these; no CoRIM uses them */
			if (ai >= 6 && ai <= 20)
				return corim_scan_fail(what, "CBOR tags 6..20 "
				    "are not supported", start, err);
			next.left = 1;
			break;
		default:
			if (ai == 31)
				return corim_scan_fail(what, "unexpected "
				    "break", start, err);
			continue;
		}
		if (d + 1 >= CORIM_MAX_DEPTH)
			return corim_scan_fail(what, "nested deeper than 32 "
			    "levels", start, err);
		st[++d] = next;
	}
	if (pos != len)
		return corim_scan_fail(what, "trailing bytes after the item",
		    pos, err);
	return 0;
}

/* Scan, then decode with libcbor. *item is a new reference. */
static int
corim_load(const uint8_t *p, size_t len, const char *what,
    cbor_item_t **item, struct error *err)
{
	struct cbor_load_result res;

	*item = NULL;
	if (len == 0)
		return error_set(err, "corim payload: %s: empty", what);
	if (corim_scan(p, len, what, err) == -1)
		return -1;
	*item = cbor_load(p, len, &res);
	if (*item == NULL || res.error.code != CBOR_ERR_NONE ||
	    res.read != len) {
		if (*item != NULL)
			cbor_decref(item);
		return error_set(err, "corim payload: %s: libcbor cannot "
		    "decode it (error %d near byte %zu)", what,
		    (int)res.error.code, res.error.position);
	}
	return 0;
}

/* -------------------------------------------------------- typed access */

static const char *
corim_type_name(const cbor_item_t *it)
{
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		return "an unsigned integer";
	case CBOR_TYPE_NEGINT:
		return "a negative integer";
	case CBOR_TYPE_BYTESTRING:
		return "a byte string";
	case CBOR_TYPE_STRING:
		return "a text string";
	case CBOR_TYPE_ARRAY:
		return "an array";
	case CBOR_TYPE_MAP:
		return "a map";
	case CBOR_TYPE_TAG:
		return "a tagged item";
	default:
		return "a simple value or float";
	}
}

/* The item a tag wraps (borrowed: the tag keeps it alive). */
static cbor_item_t *
corim_tag_content(const cbor_item_t *tag)
{
	cbor_item_t *c = cbor_tag_item(tag), *ret = c;

	cbor_decref(&c);
	return ret;
}

/* Value of unsigned key in map: 1 found, 0 absent, -1 duplicate key. */
static int
corim_get(const cbor_item_t *map, uint64_t key, cbor_item_t **val,
    const char *where, struct error *err)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	size_t i, n = cbor_map_size(map);

	*val = NULL;
	for (i = 0; i < n; i++) {
		if (!cbor_isa_uint(pairs[i].key) ||
		    cbor_get_int(pairs[i].key) != key)
			continue;
		if (*val != NULL)
			return error_set(err, "corim payload: %s: key %" PRIu64
			    " appears twice", where, key);
		*val = pairs[i].value;
	}
	return *val != NULL;
}

/* A byte or text string's bytes (chunks joined) into b. */
static void
corim_string_bytes(const cbor_item_t *it, struct buf *b)
{
	cbor_item_t **chunks;
	size_t i, n;

	if (cbor_isa_bytestring(it)) {
		if (cbor_bytestring_is_definite(it)) {
			buf_add(b, cbor_bytestring_handle(it),
			    cbor_bytestring_length(it));
			return;
		}
		chunks = cbor_bytestring_chunks_handle(it);
		n = cbor_bytestring_chunk_count(it);
		for (i = 0; i < n; i++)
			buf_add(b, cbor_bytestring_handle(chunks[i]),
			    cbor_bytestring_length(chunks[i]));
		return;
	}
	if (cbor_string_is_definite(it)) {
		buf_add(b, cbor_string_handle(it), cbor_string_length(it));
		return;
	}
	chunks = cbor_string_chunks_handle(it);
	n = cbor_string_chunk_count(it);
	for (i = 0; i < n; i++)
		buf_add(b, cbor_string_handle(chunks[i]),
		    cbor_string_length(chunks[i]));
}

/* A text string as a new C string (no NUL inside). */
static int
corim_text(const cbor_item_t *it, char **out, const char *where,
    struct error *err)
{
	struct buf b = { NULL, 0, 0 };

	*out = NULL;
	if (!cbor_isa_string(it))
		return error_set(err, "corim payload: %s: expected a text "
		    "string, found %s", where, corim_type_name(it));
	corim_string_bytes(it, &b);
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		buf_free(&b);
		return error_set(err, "corim payload: %s: the text string "
		    "contains a NUL character", where);
	}
	*out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return 0;
}

/* A byte string as new lowercase hex. */
static int
corim_hex(const cbor_item_t *it, char **out, const char *where,
    struct error *err)
{
	struct buf b = { NULL, 0, 0 };

	*out = NULL;
	if (!cbor_isa_bytestring(it))
		return error_set(err, "corim payload: %s: expected a byte "
		    "string, found %s", where, corim_type_name(it));
	corim_string_bytes(it, &b);
	*out = xmalloc(2 * b.len + 1);
	hex_encode(b.data, b.len, *out);
	buf_free(&b);
	return 0;
}

/* --------------------------------------------------------- the CoRIM */

struct corim_ctx {
	json_t *out;
	struct error *err;
};

/* Add name = value (consumed) to the output; a name twice is an error. */
static int
corim_emit(struct corim_ctx *c, const char *name, json_t *value,
    const char *where)
{
	if (json_object_get(c->out, name) != NULL) {
		json_decref(value);
		return error_set(c->err, "corim payload: %s: reference value "
		    "'%.200s' is produced twice", where, name);
	}
	if (json_object_size(c->out) >= RVPS_REGISTER_MAX) {
		json_decref(value);
		return error_set(c->err, "corim payload: more than %d "
		    "reference values", RVPS_REGISTER_MAX);
	}
	if (json_object_set_new(c->out, name, value) == -1)
		return error_set(c->err, "corim payload: %s: the name "
		    "'%.200s' is not valid UTF-8", where, name);
	return 0;
}

/* Append "/s" (or s first) to the path. */
static void
corim_path_add(struct buf *path, const char *s)
{
	if (path->len > 0)
		buf_addstr(path, "/");
	buf_addstr(path, s);
}

/* A tstr member of map (if present) onto the path. */
static int
corim_path_text(struct corim_ctx *c, const cbor_item_t *map, uint64_t key,
    const char *what, struct buf *path, const char *where)
{
	char w[CORIM_WHERE];
	cbor_item_t *v;
	char *s;
	int rc;

	rc = corim_get(map, key, &v, where, c->err);
	if (rc <= 0)
		return rc;
	snprintf(w, sizeof(w), "%s: %s", where, what);
	if (corim_text(v, &s, w, c->err) == -1)
		return -1;
	corim_path_add(path, s);
	free(s);
	return 0;
}

static void
corim_path_mkey(const cbor_item_t *mkey, struct buf *path)
{
	const cbor_item_t *u;
	char tmp[40];
	uint8_t *b;
	struct buf s = { NULL, 0, 0 };

	if (cbor_isa_string(mkey)) {
		corim_string_bytes(mkey, &s);
		if (s.len > 0 && memchr(s.data, '\0', s.len) == NULL)
			corim_path_add(path, buf_cstr(&s));
		buf_free(&s);
	} else if (cbor_isa_uint(mkey)) {
		snprintf(tmp, sizeof(tmp), "claim%" PRIu64,
		    cbor_get_int(mkey));
		corim_path_add(path, tmp);
	} else if (cbor_isa_tag(mkey) &&
	    cbor_tag_value(mkey) == CORIM_TAG_UUID &&
	    cbor_isa_bytestring(u = corim_tag_content(mkey))) {
		corim_string_bytes(u, &s);
		if (s.len == 16) {
			b = s.data;
			snprintf(tmp, sizeof(tmp), "%02x%02x%02x%02x-%02x%02x-"
			    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
			    b[8], b[9], b[10], b[11], b[12], b[13], b[14],
			    b[15]);
			corim_path_add(path, tmp);
		}
		buf_free(&s);
	}
	/* Other keys (OIDs, ...) add nothing, as in Trustee. */
}

/* mval digests (key 2) -> "<path>/digests" = [hex, ...]. */
static int
corim_digests(struct corim_ctx *c, const cbor_item_t *digests,
    const char *path, const char *where)
{
	char w[CORIM_WHERE], *hex, *name;
	cbor_item_t **v, **e;
	json_t *list;
	size_t i, n;
	int rc;

	if (!cbor_isa_array(digests))
		return error_set(c->err, "corim payload: %s: digests: expected "
		    "an array, found %s", where, corim_type_name(digests));
	list = json_array();
	v = cbor_array_handle(digests);
	n = cbor_array_size(digests);
	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: digests[%zu]", where, i);
		if (!cbor_isa_array(v[i]) || cbor_array_size(v[i]) != 2) {
			json_decref(list);
			return error_set(c->err, "corim payload: %s: expected "
			    "[algorithm, digest bytes]", w);
		}
		e = cbor_array_handle(v[i]);
		if (!cbor_isa_uint(e[0]) && !cbor_isa_negint(e[0]) &&
		    !cbor_isa_string(e[0])) {
			json_decref(list);
			return error_set(c->err, "corim payload: %s: the "
			    "algorithm must be an integer or a text string, "
			    "found %s", w, corim_type_name(e[0]));
		}
		if (corim_hex(e[1], &hex, w, c->err) == -1) {
			json_decref(list);
			return -1;
		}
		json_array_append_new(list, json_string(hex));
		free(hex);
	}
	name = xasprintf("%s%sdigests", path, path[0] ? "/" : "");
	rc = corim_emit(c, name, list, where);
	free(name);
	return rc;
}

/* mval raw-value (key 4) #6.560(bstr) -> "<path>/raw_bytes" = hex. */
static int
corim_raw(struct corim_ctx *c, const cbor_item_t *raw, const char *path,
    const char *where)
{
	cbor_item_t *b;
	char *hex, *name;
	int rc;

	if (!cbor_isa_tag(raw) || cbor_tag_value(raw) != CORIM_TAG_BYTES)
		return 0;	/* masked and other raw values: not mapped */
	b = corim_tag_content(raw);
	if (corim_hex(b, &hex, where, c->err) == -1)
		return -1;
	name = xasprintf("%s%sraw_bytes", path, path[0] ? "/" : "");
	rc = corim_emit(c, name, json_string(hex), where);
	free(name);
	free(hex);
	return rc;
}

static int
corim_measurement(struct corim_ctx *c, const cbor_item_t *m,
    const char *base, const char *where)
{
	struct buf path = { NULL, 0, 0 };
	cbor_item_t *mkey, *mval, *v;
	char w[CORIM_WHERE];
	int rc = -1;

	if (!cbor_isa_map(m))
		return error_set(c->err, "corim payload: %s: expected a "
		    "measurement-map, found %s", where, corim_type_name(m));
	buf_addstr(&path, base);
	if (corim_get(m, 0, &mkey, where, c->err) == -1 ||
	    corim_get(m, 1, &mval, where, c->err) == -1)
		goto out;
	if (mval == NULL) {
		error_set(c->err, "corim payload: %s: no mval (key 1)", where);
		goto out;
	}
	if (!cbor_isa_map(mval)) {
		error_set(c->err, "corim payload: %s: mval: expected a map, "
		    "found %s", where, corim_type_name(mval));
		goto out;
	}
	if (mkey != NULL)
		corim_path_mkey(mkey, &path);
	snprintf(w, sizeof(w), "%s: mval", where);
	if (corim_path_text(c, mval, 11, "name", &path, w) == -1 ||
	    corim_path_text(c, mval, 8, "serial-number", &path, w) == -1)
		goto out;
	buf_cstr(&path);
	if (corim_get(mval, 2, &v, w, c->err) == -1 ||
	    (v != NULL && corim_digests(c, v, (char *)path.data, w) == -1))
		goto out;
	if (corim_get(mval, 4, &v, w, c->err) == -1 ||
	    (v != NULL && corim_raw(c, v, (char *)path.data, w) == -1))
		goto out;
	rc = 0;
out:
	buf_free(&path);
	return rc;
}

static int
corim_triple(struct corim_ctx *c, const cbor_item_t *t, const char *where)
{
	struct buf base = { NULL, 0, 0 };
	cbor_item_t **rec, *class = NULL, **ms;
	char w[CORIM_WHERE];
	size_t i, n;
	int rc = -1;

	if (!cbor_isa_array(t) || cbor_array_size(t) != 2)
		return error_set(c->err, "corim payload: %s: expected "
		    "[environment-map, [measurement-map, ...]]", where);
	rec = cbor_array_handle(t);
	if (!cbor_isa_map(rec[0]))
		return error_set(c->err, "corim payload: %s: environment: "
		    "expected a map, found %s", where,
		    corim_type_name(rec[0]));
	snprintf(w, sizeof(w), "%s: environment", where);
	if (corim_get(rec[0], 0, &class, w, c->err) == -1)
		return -1;
	if (class != NULL) {
		snprintf(w, sizeof(w), "%s: environment: class", where);
		if (!cbor_isa_map(class))
			return error_set(c->err, "corim payload: %s: expected "
			    "a map, found %s", w, corim_type_name(class));
		if (corim_path_text(c, class, 1, "vendor", &base, w) == -1 ||
		    corim_path_text(c, class, 2, "model", &base, w) == -1)
			goto out;
	}
	buf_cstr(&base);
	if (cbor_isa_map(rec[1])) {
		snprintf(w, sizeof(w), "%s: measurement", where);
		rc = corim_measurement(c, rec[1], (char *)base.data, w);
		goto out;
	}
	if (!cbor_isa_array(rec[1])) {
		error_set(c->err, "corim payload: %s: measurements: expected "
		    "an array, found %s", where, corim_type_name(rec[1]));
		goto out;
	}
	ms = cbor_array_handle(rec[1]);
	n = cbor_array_size(rec[1]);
	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: measurement %zu", where, i);
		if (corim_measurement(c, ms[i], (char *)base.data, w) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_free(&base);
	return rc;
}

static int
corim_comid(struct corim_ctx *c, const cbor_item_t *comid, const char *where)
{
	cbor_item_t *triples, *refs, **v;
	char w[CORIM_WHERE];
	size_t i, n;

	if (cbor_isa_tag(comid) && cbor_tag_value(comid) == CORIM_TAG_COMID)
		comid = corim_tag_content(comid);
	if (!cbor_isa_map(comid))
		return error_set(c->err, "corim payload: %s: expected a CoMID "
		    "map, found %s", where, corim_type_name(comid));
	if (corim_get(comid, 4, &triples, where, c->err) == -1)
		return -1;
	if (triples == NULL)
		return error_set(c->err, "corim payload: %s: the CoMID has no "
		    "triples (key 4)", where);
	snprintf(w, sizeof(w), "%s: triples", where);
	if (!cbor_isa_map(triples))
		return error_set(c->err, "corim payload: %s: expected a map, "
		    "found %s", w, corim_type_name(triples));
	if (corim_get(triples, 0, &refs, w, c->err) == -1)
		return -1;
	if (refs == NULL)
		return 0;	/* endorsements etc. only: nothing to extract */
	if (!cbor_isa_array(refs))
		return error_set(c->err, "corim payload: %s: "
		    "reference-triples: expected an array, found %s", w,
		    corim_type_name(refs));
	v = cbor_array_handle(refs);
	n = cbor_array_size(refs);
	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: reference triple %zu", where, i);
		if (corim_triple(c, v[i], w) == -1)
			return -1;
	}
	return 0;
}

/* One entry of the corim-map's tags array. */
static int
corim_tag_entry(struct corim_ctx *c, const cbor_item_t *t, size_t idx)
{
	const cbor_item_t *content = t;
	struct buf b = { NULL, 0, 0 };
	cbor_item_t *inner;
	char w[CORIM_WHERE];
	uint64_t tag;
	int rc;

	snprintf(w, sizeof(w), "tags[%zu]", idx);
	if (cbor_isa_tag(t)) {
		tag = cbor_tag_value(t);
		if (tag != CORIM_TAG_COMID)
			return 0;	/* CoSWID (505), CoTL (508)...: skip */
		content = corim_tag_content(t);
		snprintf(w, sizeof(w), "tags[%zu] (CoMID)", idx);
	}
	if (cbor_isa_map(content))
		return corim_comid(c, content, w);
	if (!cbor_isa_bytestring(content) && content != t)
		return error_set(c->err, "corim payload: %s: expected a CoMID "
		    "map or a byte string holding one, found %s", w,
		    corim_type_name(content));
	if (!cbor_isa_bytestring(content))
		return error_set(c->err, "corim payload: %s: expected a "
		    "tagged CoMID (#6.506) or CoSWID (#6.505), found %s", w,
		    corim_type_name(content));
	/* bstr .cbor concise-mid-tag */
	corim_string_bytes(content, &b);
	rc = corim_load(b.data, b.len, w, &inner, c->err);
	buf_free(&b);
	if (rc == -1)
		return -1;
	rc = corim_comid(c, inner, w);
	cbor_decref(&inner);
	return rc;
}

static int
corim_extract(struct corim_ctx *c, const cbor_item_t *it)
{
	cbor_item_t *tags, **v;
	size_t i, n;

	if (cbor_isa_array(it) && cbor_array_size(it) == 4 &&
	    cbor_isa_bytestring(cbor_array_handle(it)[0]))
		return error_set(c->err, "corim payload: this looks like a "
		    "COSE_Sign1 (signed CoRIM), which is not supported: "
		    "register the unsigned CoRIM (tag 501)");
	if (!cbor_isa_map(it))
		return error_set(c->err, "corim payload: expected a corim-map, "
		    "found %s", corim_type_name(it));
	if (corim_get(it, 1, &tags, "corim-map", c->err) == -1)
		return -1;
	if (tags == NULL)
		return error_set(c->err, "corim payload: corim-map: no tags "
		    "(key 1)");
	if (!cbor_isa_array(tags))
		return error_set(c->err, "corim payload: corim-map: tags: "
		    "expected an array, found %s", corim_type_name(tags));
	v = cbor_array_handle(tags);
	n = cbor_array_size(tags);
	for (i = 0; i < n; i++)
		if (corim_tag_entry(c, v[i], i) == -1)
			return -1;
	return 0;
}

/*
 * Peel the wrapper tags in front of the CoRIM from the bytes (libcbor 0.8
 * cannot decode tags 6..20 in their one-byte form, COSE_Sign1's 18
 * among them, so a signed CoRIM is recognised here). *skip: their length.
 */
static int
corim_peel(const uint8_t *p, size_t len, size_t *skip, struct error *err)
{
	size_t pos = 0, i;
	uint64_t tag;
	int major, ai;

	for (i = 0; pos < len && (p[pos] >> 5) == 6; i++) {
		if (corim_head(p, len, &pos, &major, &ai, &tag) == -1 ||
		    ai == 31)
			return corim_scan_fail("CoRIM", "bad tag", pos, err);
		if (tag == CORIM_TAG_COSE_SIGN1 || tag == CORIM_TAG_COSE_SIGN)
			return error_set(err, "corim payload: a signed CoRIM "
			    "(COSE, tag %" PRIu64 ") is not supported: "
			    "register the unsigned CoRIM (tag 501)", tag);
		if (tag != CORIM_TAG_CORIM && tag != CORIM_TAG_UNSIGNED &&
		    tag != CORIM_TAG_SIGNED_OLD)
			return error_set(err, "corim payload: unexpected CBOR "
			    "tag %" PRIu64 " around the CoRIM (expected 501, "
			    "possibly inside 500/502)", tag);
		if (i >= CORIM_MAX_TAGS)
			return error_set(err, "corim payload: more than %d "
			    "wrapper tags", CORIM_MAX_TAGS);
	}
	*skip = pos;
	return 0;
}

int
rvps_extract_corim(const uint8_t *payload, size_t len, json_t **out,
    struct error *err)
{
	struct corim_ctx c;
	cbor_item_t *root;
	size_t skip = 0;
	int rc;

	*out = NULL;
	if (len > RVPS_PAYLOAD_MAX)
		return error_set(err, "corim payload: %zu bytes, more than "
		    "the limit of %d", len, RVPS_PAYLOAD_MAX);
	if (corim_peel(payload, len, &skip, err) == -1 ||
	    corim_load(payload + skip, len - skip, "CoRIM", &root, err) == -1)
		return -1;
	c.out = json_object();
	c.err = err;
	rc = corim_extract(&c, root);
	cbor_decref(&root);
	if (rc == -1) {
		json_decref(c.out);
		return -1;
	}
	*out = c.out;
	return 0;
}
