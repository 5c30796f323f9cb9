/*
 * dcap_collateral.c: Intel PCS v4 TCB info and QE identity JSON: locating
 * the exact signed bytes of the member value, and parsing the member into
 * the structures of dcap_internal.h. Nothing here checks a signature or a
 * time; dcap_source.c does that.
 *
 * Formats (Intel PCS API v4):
 *   {"tcbInfo": {id "SGX"|"TDX", version 2|3, issueDate, nextUpdate,
 *     fmspc, pceId, tcbType, tcbEvaluationDataNumber, [tdxModule{mrsigner,
 *     attributes, attributesMask}], [tdxModuleIdentities[{id, mrsigner,
 *     attributes, attributesMask, tcbLevels[{tcb{isvsvn}, tcbDate,
 *     tcbStatus, advisoryIDs?}]}]], tcbLevels[{tcb{sgxtcbcomponents[16
 *     {svn}], pcesvn, [tdxtcbcomponents[16 {svn}]]} (v3) or tcb{
 *     sgxtcbcomp01svn..16, pcesvn} (v2), tcbDate, tcbStatus,
 *     advisoryIDs?}]}, "signature": "hex r||s"}
 *   {"enclaveIdentity": {id "QE"|"TD_QE", version 2, issueDate,
 *     nextUpdate, tcbEvaluationDataNumber, miscselect, miscselectMask,
 *     attributes, attributesMask, mrsigner, isvprodid, tcbLevels[{tcb{
 *     isvsvn}, tcbDate, tcbStatus, advisoryIDs?}]}, "signature": "hex"}
 */
#include <string.h>

#include "dcap_internal.h"

static const char *const status_names[] = {
	[DCAP_ST_UPTODATE] = "UpToDate",
	[DCAP_ST_SWHARDENING] = "SWHardeningNeeded",
	[DCAP_ST_CONFIG] = "ConfigurationNeeded",
	[DCAP_ST_CONFIG_SWHARDENING] = "ConfigurationAndSWHardeningNeeded",
	[DCAP_ST_OUTOFDATE] = "OutOfDate",
	[DCAP_ST_OUTOFDATE_CONFIG] = "OutOfDateConfigurationNeeded",
	[DCAP_ST_REVOKED] = "Revoked",
	[DCAP_ST_TD_RELAUNCH] = "TDRelaunchAdvised",
	[DCAP_ST_TD_RELAUNCH_CONFIG] = "TDRelaunchAdvisedConfigurationNeeded",
	[DCAP_ST_NOT_SUPPORTED] = "NotSupported",
};

const char *
dcap_status_name(enum dcap_status s)
{
	if ((size_t)s >= ARRAY_SIZE(status_names))
		return "?";
	return status_names[s];
}

/* ---- raw JSON scanning (iterative, bounded by len) ---------------------- */

static size_t
js_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' ||
	    t[i] == '\r'))
		i++;
	return i;
}

/* i at the opening quote; returns the index after the closing quote, or
 * 0 if unterminated. */
static size_t
js_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Skip one value starting at i; index after it, or 0 on malformed text.
 * Containers are skipped by counting brackets (no recursion); jansson
 * validates the text separately. */
static size_t
js_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;

	if (i >= len)
		return 0;
	if (t[i] == '"')
		return js_string(t, len, i);
	if (t[i] != '{' && t[i] != '[') {
		size_t s = i;

		while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' &&
		    t[i] != ' ' && t[i] != '\t' && t[i] != '\n' &&
		    t[i] != '\r')
			i++;
		return i > s ? i : 0;
	}
	while (i < len) {
		if (t[i] == '"') {
			i = js_string(t, len, i);
			if (i == 0)
				return 0;
			continue;
		}
		if (t[i] == '{' || t[i] == '[')
			depth++;
		else if (t[i] == '}' || t[i] == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return 0;
}

int
dcap_signed_json_split(const char *text, size_t len, const char *member,
    size_t *signed_off, size_t *signed_len, uint8_t sig[64], json_t **value,
    struct error *err)
{
	size_t i, mlen = strlen(member), found = 0, foff = 0, flen = 0;
	json_t *doc = NULL, *m, *s, *span = NULL;
	json_error_t je;
	uint8_t tmp[64];
	size_t n;

	*value = NULL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return error_set(err, "%s: invalid JSON: %s (line %d)", member,
		    je.text, je.line);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return error_set(err, "%s: the body is not a JSON object",
		    member);
	}
	/* Find the member's raw value bytes at the top level. */
	i = js_ws(text, len, 0);
	if (i >= len || text[i] != '{')
		goto malformed;
	i = js_ws(text, len, i + 1);
	while (i < len && text[i] != '}') {
		size_t ks = i, ke, vs, ve;

		if (text[i] != '"')
			goto malformed;
		ke = js_string(text, len, i);
		if (ke == 0)
			goto malformed;
		i = js_ws(text, len, ke);
		if (i >= len || text[i] != ':')
			goto malformed;
		vs = js_ws(text, len, i + 1);
		ve = js_value(text, len, vs);
		if (ve == 0)
			goto malformed;
		if (ke - ks - 2 == mlen && memcmp(text + ks + 1, member,
		    mlen) == 0) {
			found++;
			foff = vs;
			flen = ve - vs;
		}
		i = js_ws(text, len, ve);
		if (i < len && text[i] == ',')
			i = js_ws(text, len, i + 1);
	}
	if (found != 1)
		goto malformed;
	m = json_object_get(doc, member);
	s = json_object_get(doc, "signature");
	if (!json_is_object(m)) {
		error_set(err, "%s: member \"%s\" is not an object", member,
		    member);
		goto fail;
	}
	if (!json_is_string(s) || json_string_length(s) != 128 ||
	    hex_decode(json_string_value(s), tmp, sizeof(tmp), &n) != 0 ||
	    n != 64) {
		error_set(err, "%s: \"signature\" is not 64 bytes of hex",
		    member);
		goto fail;
	}
	/* The raw span must be exactly the value jansson saw. */
	span = json_loadb(text + foff, flen, JSON_REJECT_DUPLICATES, &je);
	if (span == NULL || !json_equal(span, m)) {
		error_set(err, "%s: could not isolate the signed member text",
		    member);
		goto fail;
	}
	json_decref(span);
	memcpy(sig, tmp, 64);
	*signed_off = foff;
	*signed_len = flen;
	*value = json_incref(m);
	json_decref(doc);
	return 0;
malformed:
	error_set(err, "%s: could not locate exactly one \"%s\" member in the "
	    "body", member, member);
fail:
	json_decref(span);
	json_decref(doc);
	return -1;
}

/* ---- typed getters --------------------------------------------------------- */

static int
get_hex(const json_t *o, const char *k, uint8_t *out, size_t n,
    const char *ctx, struct error *err)
{
	const json_t *v = json_object_get(o, k);
	size_t got;

	if (!json_is_string(v) || json_string_length(v) != 2 * n ||
	    hex_decode(json_string_value(v), out, n, &got) != 0 || got != n)
		return error_set(err, "%s: \"%s\" is not %zu bytes of hex", ctx,
		    k, n);
	return 0;
}

static int
get_uint(const json_t *o, const char *k, json_int_t max, json_int_t *out,
    const char *ctx, struct error *err)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return error_set(err, "%s: \"%s\" is not an integer in 0..%lld",
		    ctx, k, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int
get_time(const json_t *o, const char *k, int64_t *out, const char *ctx,
    struct error *err)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v),
	    out) != 0)
		return error_set(err, "%s: \"%s\" is not an RFC 3339 time", ctx,
		    k);
	return 0;
}

/* tcbStatus; isv: only the QE / TDX module statuses are allowed. */
static int
get_status(const json_t *o, int isv, enum dcap_status *out, const char *ctx,
    struct error *err)
{
	const json_t *v = json_object_get(o, "tcbStatus");
	const char *s;
	size_t i;

	if (!json_is_string(v))
		return error_set(err, "%s: \"tcbStatus\" missing", ctx);
	s = json_string_value(v);
	for (i = 0; i <= DCAP_ST_REVOKED; i++) {
		if (strcmp(s, status_names[i]) != 0)
			continue;
		if (isv && i != DCAP_ST_UPTODATE && i != DCAP_ST_OUTOFDATE &&
		    i != DCAP_ST_REVOKED)
			break;
		*out = (enum dcap_status)i;
		return 0;
	}
	return error_set(err, "%s: unrecognized tcbStatus \"%.40s\"", ctx, s);
}

static void
adv_free(struct dcap_advisories *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->ids[i]);
	free(a->ids);
	a->ids = NULL;
	a->n = 0;
}

static int
get_advisories(const json_t *o, struct dcap_advisories *a, const char *ctx,
    struct error *err)
{
	const json_t *v = json_object_get(o, "advisoryIDs");
	size_t i;

	a->n = 0;
	a->ids = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > DCAP_MAX_ADVISORIES)
		return error_set(err, "%s: \"advisoryIDs\" is not an array of "
		    "at most %d strings", ctx, DCAP_MAX_ADVISORIES);
	a->ids = xcalloc(json_array_size(v) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);

		if (!json_is_string(s) || json_string_length(s) == 0 ||
		    json_string_length(s) > 64 ||
		    strlen(json_string_value(s)) != json_string_length(s)) {
			adv_free(a);
			return error_set(err, "%s: advisory ID %zu is not a "
			    "short string", ctx, i);
		}
		a->ids[a->n++] = xstrdup(json_string_value(s));
	}
	return 0;
}

/* A [16 x {"svn": n}] component array. */
static int
get_components(const json_t *tcb, const char *k, uint8_t out[16],
    const char *ctx, struct error *err)
{
	const json_t *a = json_object_get(tcb, k);
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != 16)
		return error_set(err, "%s: \"%s\" is not an array of 16 "
		    "components", ctx, k);
	for (i = 0; i < 16; i++) {
		json_int_t x;

		if (!json_is_object(json_array_get(a, i)) ||
		    get_uint(json_array_get(a, i), "svn", 255, &x, ctx,
		    err) != 0)
			return error_set(err, "%s: %s[%zu].svn is not an "
			    "integer 0..255", ctx, k, i);
		out[i] = (uint8_t)x;
	}
	return 0;
}

static int
parse_isv_levels(const json_t *arr, struct dcap_isv_level **out, size_t *n,
    const char *ctx, struct error *err)
{
	size_t i, cnt;
	struct dcap_isv_level *lv;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > DCAP_MAX_LEVELS)
		return error_set(err, "%s: \"tcbLevels\" is not an array of "
		    "1..%d levels", ctx, DCAP_MAX_LEVELS);
	cnt = json_array_size(arr);
	lv = xcalloc(cnt, sizeof(*lv));
	for (i = 0; i < cnt; i++) {
		const json_t *l = json_array_get(arr, i), *tcb;
		json_int_t x;

		tcb = json_object_get(l, "tcb");
		if (!json_is_object(l) || !json_is_object(tcb) ||
		    get_uint(tcb, "isvsvn", 65535, &x, ctx, err) != 0 ||
		    get_time(l, "tcbDate", &lv[i].tcb_date, ctx, err) != 0 ||
		    get_status(l, 1, &lv[i].status, ctx, err) != 0 ||
		    get_advisories(l, &lv[i].adv, ctx, err) != 0) {
			error_prefix(err, "level %zu", i);
			*out = lv;
			*n = i;
			return -1;
		}
		lv[i].isvsvn = (uint16_t)x;
	}
	*out = lv;
	*n = cnt;
	return 0;
}

static void
free_isv_levels(struct dcap_isv_level *lv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		adv_free(&lv[i].adv);
	free(lv);
}

void
dcap_tcb_info_free(struct dcap_tcb_info *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nlevels; i++)
		adv_free(&t->levels[i].adv);
	free(t->levels);
	for (i = 0; i < t->nmodules; i++)
		free_isv_levels(t->modules[i].levels, t->modules[i].nlevels);
	free(t->modules);
	free(t);
}

void
dcap_qe_identity_free(struct dcap_qe_identity *q)
{
	if (q == NULL)
		return;
	free_isv_levels(q->levels, q->nlevels);
	free(q);
}

static int
parse_tcb_level(const json_t *l, const struct dcap_tcb_info *t,
    struct dcap_tcb_level *lv, struct error *err)
{
	const json_t *tcb = json_object_get(l, "tcb");
	const char *ctx = "TCB info level";
	json_int_t x;
	char k[24];
	int i;

	if (!json_is_object(l) || !json_is_object(tcb))
		return error_set(err, "%s: not an object with \"tcb\"", ctx);
	if (t->version >= 3) {
		if (get_components(tcb, "sgxtcbcomponents", lv->sgx_svn, ctx,
		    err) != 0)
			return -1;
		if (json_object_get(tcb, "tdxtcbcomponents") != NULL) {
			if (get_components(tcb, "tdxtcbcomponents",
			    lv->tdx_svn, ctx, err) != 0)
				return -1;
			lv->has_tdx = 1;
		} else if (t->is_tdx) {
			return error_set(err, "%s: TDX level without "
			    "\"tdxtcbcomponents\"", ctx);
		}
	} else {
		for (i = 0; i < 16; i++) {
			snprintf(k, sizeof(k), "sgxtcbcomp%02dsvn", i + 1);
			if (get_uint(tcb, k, 255, &x, ctx, err) != 0)
				return -1;
			lv->sgx_svn[i] = (uint8_t)x;
		}
	}
	if (get_uint(tcb, "pcesvn", 65535, &x, ctx, err) != 0)
		return -1;
	lv->pcesvn = (uint16_t)x;
	if (get_time(l, "tcbDate", &lv->tcb_date, ctx, err) != 0 ||
	    get_status(l, 0, &lv->status, ctx, err) != 0 ||
	    get_advisories(l, &lv->adv, ctx, err) != 0)
		return -1;
	return 0;
}

static int
parse_module_identity(const json_t *o, struct dcap_module_identity *m,
    struct error *err)
{
	const char *ctx = "TCB info tdxModuleIdentities";
	const json_t *id = json_object_get(o, "id");
	size_t i;

	if (!json_is_object(o) || !json_is_string(id) ||
	    json_string_length(id) == 0 ||
	    json_string_length(id) >= sizeof(m->id))
		return error_set(err, "%s: entry without a short \"id\"", ctx);
	for (i = 0; i < json_string_length(id); i++) {
		char c = json_string_value(id)[i];

		m->id[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	if (get_hex(o, "mrsigner", m->mrsigner, 48, ctx, err) != 0 ||
	    get_hex(o, "attributes", m->attributes, 8, ctx, err) != 0 ||
	    get_hex(o, "attributesMask", m->attributes_mask, 8, ctx, err) != 0)
		return -1;
	return parse_isv_levels(json_object_get(o, "tcbLevels"), &m->levels,
	    &m->nlevels, ctx, err);
}

int
dcap_tcb_info_from_json(const json_t *v, struct dcap_tcb_info **out,
    struct error *err)
{
	const char *ctx = "TCB info";
	struct dcap_tcb_info *t;
	const json_t *id, *levels, *mod, *mids;
	json_int_t x;
	size_t i;

	*out = NULL;
	if (!json_is_object(v))
		return error_set(err, "%s: not an object", ctx);
	t = xcalloc(1, sizeof(*t));
	id = json_object_get(v, "id");
	if (!json_is_string(id) || (strcmp(json_string_value(id), "SGX") != 0 &&
	    strcmp(json_string_value(id), "TDX") != 0)) {
		error_set(err, "%s: \"id\" is not \"SGX\" or \"TDX\"", ctx);
		goto fail;
	}
	t->is_tdx = strcmp(json_string_value(id), "TDX") == 0;
	if (get_uint(v, "version", 3, &x, ctx, err) != 0)
		goto fail;
	t->version = (int)x;
	if (t->version < 2 || (t->is_tdx && t->version < 3)) {
		error_set(err, "%s: unsupported version %d for id %s", ctx,
		    t->version, t->is_tdx ? "TDX" : "SGX");
		goto fail;
	}
	if (get_time(v, "issueDate", &t->issue_date, ctx, err) != 0 ||
	    get_time(v, "nextUpdate", &t->next_update, ctx, err) != 0 ||
	    get_hex(v, "fmspc", t->fmspc, 6, ctx, err) != 0 ||
	    get_hex(v, "pceId", t->pceid, 2, ctx, err) != 0 ||
	    get_uint(v, "tcbType", 255, &x, ctx, err) != 0)
		goto fail;
	t->tcb_type = (int)x;
	if (get_uint(v, "tcbEvaluationDataNumber", UINT32_MAX, &x, ctx,
	    err) != 0)
		goto fail;
	t->eval_num = (uint32_t)x;
	mod = json_object_get(v, "tdxModule");
	if (mod != NULL) {
		if (!json_is_object(mod) ||
		    get_hex(mod, "mrsigner", t->module_mrsigner, 48,
		    "TCB info tdxModule", err) != 0 ||
		    get_hex(mod, "attributes", t->module_attributes, 8,
		    "TCB info tdxModule", err) != 0 ||
		    get_hex(mod, "attributesMask", t->module_attributes_mask, 8,
		    "TCB info tdxModule", err) != 0) {
			error_set(err, "%s: malformed \"tdxModule\"", ctx);
			goto fail;
		}
		t->has_tdx_module = 1;
	}
	mids = json_object_get(v, "tdxModuleIdentities");
	if (mids != NULL) {
		if (!json_is_array(mids) ||
		    json_array_size(mids) > DCAP_MAX_MODULE_IDS) {
			error_set(err, "%s: \"tdxModuleIdentities\" is not an "
			    "array of at most %d", ctx, DCAP_MAX_MODULE_IDS);
			goto fail;
		}
		t->modules = xcalloc(json_array_size(mids) + 1,
		    sizeof(*t->modules));
		for (i = 0; i < json_array_size(mids); i++) {
			t->nmodules = i + 1;
			if (parse_module_identity(json_array_get(mids, i),
			    &t->modules[i], err) != 0)
				goto fail;
		}
	}
	levels = json_object_get(v, "tcbLevels");
	if (!json_is_array(levels) || json_array_size(levels) == 0 ||
	    json_array_size(levels) > DCAP_MAX_LEVELS) {
		error_set(err, "%s: \"tcbLevels\" is not an array of 1..%d "
		    "levels", ctx, DCAP_MAX_LEVELS);
		goto fail;
	}
	t->levels = xcalloc(json_array_size(levels), sizeof(*t->levels));
	for (i = 0; i < json_array_size(levels); i++) {
		t->nlevels = i + 1;
		if (parse_tcb_level(json_array_get(levels, i), t,
		    &t->levels[i], err) != 0) {
			error_prefix(err, "level %zu", i);
			goto fail;
		}
	}
	*out = t;
	return 0;
fail:
	dcap_tcb_info_free(t);
	return -1;
}

int
dcap_qe_identity_from_json(const json_t *v, struct dcap_qe_identity **out,
    struct error *err)
{
	const char *ctx = "QE identity";
	struct dcap_qe_identity *q;
	const json_t *id;
	json_int_t x;

	*out = NULL;
	if (!json_is_object(v))
		return error_set(err, "%s: not an object", ctx);
	q = xcalloc(1, sizeof(*q));
	id = json_object_get(v, "id");
	if (!json_is_string(id) || (strcmp(json_string_value(id), "QE") != 0 &&
	    strcmp(json_string_value(id), "TD_QE") != 0)) {
		error_set(err, "%s: \"id\" is not \"QE\" or \"TD_QE\"", ctx);
		goto fail;
	}
	q->is_td_qe = strcmp(json_string_value(id), "TD_QE") == 0;
	if (get_uint(v, "version", 2, &x, ctx, err) != 0 || x != 2) {
		error_set(err, "%s: unsupported version (expected 2)", ctx);
		goto fail;
	}
	q->version = (int)x;
	if (get_time(v, "issueDate", &q->issue_date, ctx, err) != 0 ||
	    get_time(v, "nextUpdate", &q->next_update, ctx, err) != 0 ||
	    get_uint(v, "tcbEvaluationDataNumber", UINT32_MAX, &x, ctx,
	    err) != 0)
		goto fail;
	q->eval_num = (uint32_t)x;
	if (get_hex(v, "miscselect", q->miscselect, 4, ctx, err) != 0 ||
	    get_hex(v, "miscselectMask", q->miscselect_mask, 4, ctx, err) != 0 ||
	    get_hex(v, "attributes", q->attributes, 16, ctx, err) != 0 ||
	    get_hex(v, "attributesMask", q->attributes_mask, 16, ctx,
	    err) != 0 ||
	    get_hex(v, "mrsigner", q->mrsigner, 32, ctx, err) != 0 ||
	    get_uint(v, "isvprodid", 65535, &x, ctx, err) != 0)
		goto fail;
	q->isvprodid = (uint16_t)x;
	if (parse_isv_levels(json_object_get(v, "tcbLevels"), &q->levels,
	    &q->nlevels, ctx, err) != 0)
		goto fail;
	*out = q;
	return 0;
fail:
	dcap_qe_identity_free(q);
	return -1;
}
