/*
 * attlog_row.c: one row of the attestation log (attlog_internal.h): its
 * id "<16 hex: unix ms>-<8 hex>", its value, and the summary the index
 * keeps of it.
 *
 * A row's value is "<summary>\n<rest>": the summary members first as
 * their own JSON object, so pages and the index parse a few hundred
 * bytes instead of the whole record (claims and token run to kilobytes);
 * then the record's other members. The whole record is rest with the
 * summary's members added. Compact JSON never holds a raw newline. Rows
 * of earlier versions hold the whole record as rest (and so the summary
 * twice), or the record alone.
 *
 * No state, no store access: the values are read and written by
 * attlog.c, attlog_index.c and attlog_read.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/jcs.h"
#include "attlog_internal.h"

/* ------------------------------------------------------------- the ids */

int
attlog_row_id_parse(const char *s, int64_t *ms)
{
	uint64_t v = 0;
	size_t i;

	if (strlen(s) != ATTLOG_ID_LEN || s[16] != '-')
		return 0;
	for (i = 0; i < ATTLOG_ID_LEN; i++) {
		int c = s[i];

		if (i == 16)
			continue;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
		if (i < 16)
			v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (v > (uint64_t)INT64_MAX)
		return 0;
	if (ms != NULL)
		*ms = (int64_t)v;
	return 1;
}

int
attlog_row_id_valid(const char *s)
{
	return attlog_row_id_parse(s, NULL);
}

/* ----------------------------------------------------------- the summary */

int
attlog_row_ent(const char *id, const json_t *rec, struct attlog_ent *e)
{
	const char *src = json_string_value(json_object_get(rec, "source"));
	int v = observe_verdict_index(json_string_value(json_object_get(rec,
	    "verdict")));

	memset(e, 0, sizeof(*e));
	if (!json_is_object(rec) || v < 0 || !attlog_row_id_parse(id, &e->ord))
		return -1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->tee = (uint8_t)observe_tee_index(json_string_value(json_object_get(
	    rec, "tee")));
	e->verdict = (uint8_t)v;
	snprintf(e->source, sizeof(e->source), "%s", src != NULL ? src : "");
	return 0;
}

json_t *
attlog_row_summary(const json_t *rec)
{
	static const char *const keys[] = { "id", "time", "endpoint", "tee",
	    "source", "verdict", "reason", "trust_vector", "policy_id",
	    "token", "latency_us" };
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(rec, keys[i]);

		json_object_set(o, keys[i], v != NULL ? v : json_null());
	}
	return o;
}

/* ------------------------------------------------------------- the value */

/* The length of a value's summary part (all of it when it has none). */
static size_t
attlog_row_split(const uint8_t *val, size_t len)
{
	const uint8_t *nl = memchr(val, '\n', len);

	return nl != NULL ? (size_t)(nl - val) : len;
}

json_t *
attlog_row_summary_parse(const uint8_t *val, size_t len)
{
	return json_loadb((const char *)val, attlog_row_split(val, len), 0,
	    NULL);
}

json_t *
attlog_row_record_parse(const uint8_t *val, size_t len)
{
	size_t k = attlog_row_split(val, len);
	json_t *sum, *rec;

	if (k == len)
		return json_loadb((const char *)val, len, 0, NULL);
	rec = json_loadb((const char *)val + k + 1, len - k - 1, 0, NULL);
	sum = json_loadb((const char *)val, k, 0, NULL);
	if (!json_is_object(rec) || !json_is_object(sum) ||
	    json_object_update_missing(rec, sum) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	json_decref(sum);
	return rec;
}

/*
 * The summary, a newline, then rec's other members; ear, when not NULL,
 * is the JSON text of the "ear" member (rec has none then), spliced in
 * as it is: the token's own decoded header and payload, not serialized
 * again.
 */
char *
attlog_row_value(const json_t *rec, const char *ear)
{
	json_t *sum = attlog_row_summary(rec), *rest = json_object();
	const char *k;
	json_t *v;
	char *s1 = NULL, *s2 = NULL, *s = NULL;
	struct buf b = { 0 };
	size_t n;

	if (sum == NULL || rest == NULL)
		goto out;
	json_object_foreach((json_t *)rec, k, v)
		if (json_object_get(sum, k) == NULL &&
		    json_object_set(rest, k, v) != 0)
			goto out;
	s1 = jcs_compact(sum, NULL);
	s2 = jcs_compact(rest, NULL);
	if (s1 == NULL || s2 == NULL)
		goto out;
	/* Copied, not formatted: the texts are kilobytes. */
	buf_addstr(&b, s1);
	buf_add(&b, "\n", 1);
	n = strlen(s2);
	if (ear == NULL)
		buf_add(&b, s2, n);
	else {
		/* s2 is "{...}" or "{}": ear goes in before the brace. */
		buf_add(&b, s2, n - 1);
		if (n > 2)
			buf_add(&b, ",", 1);
		buf_add(&b, "\"ear\":", 6);
		buf_addstr(&b, ear);
		buf_add(&b, "}", 1);	/* buf keeps its text NUL-terminated */
	}
	s = (char *)b.data;
out:
	free(s1);
	free(s2);
	json_decref(sum);
	json_decref(rest);
	return s;
}
