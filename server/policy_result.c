/*
 * policy_result.c: values across the Lua boundary. JSON documents (claims,
 * reference values, requests) become Lua tables; what a policy returns is
 * checked and converted back: a trust vector, appraisal extensions, or an
 * allow/deny decision with its reason. Everything that leaves Lua is
 * bounded (depth, values, bytes) and read with raw accesses only, so no
 * policy code (metamethods) runs during a conversion.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "policy_internal.h"

const char presult_null_tag = 0;

const char *const presult_claim_names[8] = {
	"instance-identity", "configuration", "executables", "file-system",
	"hardware", "runtime-opaque", "storage-opaque", "sourced-data",
};

/* Appraisal members a policy extension may not replace. */
static const char *const presult_reserved[] = {
	"ear.status", "ear.trustworthiness-vector", "ear.appraisal-policy-id",
	"ear.veraison.annotated-evidence", "ear.trustee.annotations",
};

/* ------------------------------------------------------- JSON -> Lua */

static void
presult_push_depth(lua_State *L, const json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i, n;

	if (depth > PLUA_INPUT_DEPTH)
		luaL_error(L, "input nested deeper than %d levels",
		    PLUA_INPUT_DEPTH);
	luaL_checkstack(L, 4, "input too deep");
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		n = json_object_size(j);
		lua_createtable(L, 0, n > 1024 ? 1024 : (int)n);
		json_object_foreach((json_t *)j, key, v) {
			if (json_is_null(v))
				continue;
			lua_pushstring(L, key);
			presult_push_depth(L, v, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	case JSON_ARRAY:
		n = json_array_size(j);
		lua_createtable(L, n > 4096 ? 4096 : (int)n, 0);
		for (i = 0; i < n; i++) {
			v = json_array_get(j, i);
			if (json_is_null(v))
				lua_pushlightuserdata(L, PRESULT_NULL);
			else
				presult_push_depth(L, v, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	case JSON_NULL:
	default:
		lua_pushnil(L);
		break;
	}
}

void
presult_push_json(lua_State *L, const json_t *j)
{
	if (j == NULL)
		lua_pushnil(L);
	else
		presult_push_depth(L, j, 0);
}

/* ------------------------------------------------------- Lua -> JSON */

struct presult_budget {
	size_t nodes;
	size_t bytes;
};

static int presult_value(lua_State *L, int idx, int depth,
    struct presult_budget *b, json_t **out, struct error *err);

static const char *
presult_typename(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
	    lua_touserdata(L, idx) == PRESULT_NULL)
		return "trustee.null";
	return lua_typename(L, lua_type(L, idx));
}

/*
 * Classify the table at idx (absolute): 1 array of n > 0 elements,
 * 0 object (string keys only, or empty), -1 anything else.
 */
static int
presult_table_kind(lua_State *L, int idx, size_t *n, struct error *err)
{
	size_t count = 0;
	int strings = 0, ints = 0;
	lua_Integer k;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (++count > PRESULT_NODES) {
			lua_pop(L, 1);
			return error_set(err, "a table has more than %d "
			    "entries", PRESULT_NODES);
		}
		if (lua_type(L, -1) == LUA_TSTRING) {
			strings++;
		} else if (lua_isinteger(L, -1)) {
			k = lua_tointeger(L, -1);
			if (k < 1 || (lua_Unsigned)k > PRESULT_NODES) {
				lua_pop(L, 1);
				return error_set(err, "a table has the integer "
				    "key %lld (arrays must use keys 1..n)",
				    (long long)k);
			}
			ints++;
		} else {
			error_set(err, "a table has a key of type %s (only "
			    "string keys or array indexes 1..n)",
			    presult_typename(L, -1));
			lua_pop(L, 1);
			return -1;
		}
	}
	if (strings > 0 && ints > 0)
		return error_set(err, "a table mixes string keys and array "
		    "indexes");
	*n = count;
	if (ints == 0)
		return 0;
	/* count distinct integer keys, each in 1..count: exactly 1..n? */
	if ((size_t)lua_rawlen(L, idx) != count)
		return error_set(err, "an array has holes (use trustee.null "
		    "for a JSON null element)");
	return 1;
}

static int
presult_table(lua_State *L, int idx, int depth, struct presult_budget *b,
    json_t **out, struct error *err)
{
	json_t *res, *v;
	size_t n, i, klen;
	const char *k;
	int kind;

	if (depth >= PRESULT_DEPTH)
		return error_set(err, "result nested deeper than %d levels "
		    "(or a table contains itself)", PRESULT_DEPTH);
	if (!lua_checkstack(L, 6))
		return error_set(err, "result too deep for the Lua stack");
	kind = presult_table_kind(L, idx, &n, err);
	if (kind < 0)
		return -1;
	if (kind == 1) {
		res = json_array();
		for (i = 1; i <= n; i++) {
			if (lua_rawgeti(L, idx, (lua_Integer)i) == LUA_TNIL) {
				lua_pop(L, 1);
				json_decref(res);
				return error_set(err, "an array has holes (use "
				    "trustee.null for a JSON null element)");
			}
			if (presult_value(L, lua_gettop(L), depth + 1, b, &v,
			    err) != 0) {
				lua_pop(L, 1);
				json_decref(res);
				return error_prefix(err, "[%zu]", i);
			}
			lua_pop(L, 1);
			json_array_append_new(res, v);
		}
		*out = res;
		return 0;
	}
	res = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		k = lua_tolstring(L, -2, &klen);	/* a string: no coercion */
		b->bytes += klen;
		if (b->bytes > PRESULT_BYTES) {
			lua_pop(L, 2);
			json_decref(res);
			return error_set(err, "result larger than %d bytes",
			    PRESULT_BYTES);
		}
		if (presult_value(L, lua_gettop(L), depth + 1, b, &v,
		    err) != 0) {
			char kb[64];

			presult_clean(k, klen, kb, sizeof(kb));
			lua_pop(L, 2);
			json_decref(res);
			return error_prefix(err, "%s", kb);
		}
		if (json_object_setn_new(res, k, klen, v) != 0) {
			lua_pop(L, 2);
			json_decref(res);
			return error_set(err, "a table key is not valid UTF-8");
		}
		lua_pop(L, 1);
	}
	*out = res;
	return 0;
}

static int
presult_value(lua_State *L, int idx, int depth, struct presult_budget *b,
    json_t **out, struct error *err)
{
	const char *s;
	size_t len;
	double d;

	*out = NULL;
	if (++b->nodes > PRESULT_NODES)
		return error_set(err, "result has more than %d values",
		    PRESULT_NODES);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		*out = json_null();
		return 0;
	case LUA_TBOOLEAN:
		*out = json_boolean(lua_toboolean(L, idx));
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			*out = json_integer((json_int_t)lua_tointeger(L, idx));
			return 0;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return error_set(err, "a number is not finite");
		*out = json_real(d);
		return 0;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		b->bytes += len;
		if (b->bytes > PRESULT_BYTES)
			return error_set(err, "result larger than %d bytes",
			    PRESULT_BYTES);
		*out = json_stringn(s, len);
		if (*out == NULL)
			return error_set(err, "a string is not valid UTF-8");
		return 0;
	case LUA_TTABLE:
		return presult_table(L, idx, depth, b, out, err);
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == PRESULT_NULL) {
			*out = json_null();
			return 0;
		}
		/* FALLTHROUGH */
	default:
		return error_set(err, "a value of type %s cannot be converted "
		    "to JSON", presult_typename(L, idx));
	}
}

int
presult_to_json(lua_State *L, int idx, json_t **out, struct error *err)
{
	struct presult_budget b = { 0, 0 };

	return presult_value(L, lua_absindex(L, idx), 0, &b, out, err);
}

/* ------------------------------------------------- result conversion */

/* The raw field name of t[key] if t is a table: pushes the value. */
static int
presult_rawfield(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);	/* short string: interned, never fails */
	return lua_rawget(L, t);
}

static int
presult_int(lua_State *L, int idx, lua_Integer *out)
{
	int isnum;

	if (lua_type(L, idx) != LUA_TNUMBER)
		return -1;
	*out = lua_tointegerx(L, idx, &isnum);
	return isnum ? 0 : -1;
}

static int
presult_vector(lua_State *L, int t, int v[8], struct error *err)
{
	const char *k;
	char kb[64];
	size_t klen, i;
	lua_Integer x;

	if (lua_type(L, t) != LUA_TTABLE)
		return error_set(err, "trust_vector is a %s, expected a table "
		    "{executables = 3, hardware = 2, ...}",
		    presult_typename(L, t));
	memset(v, 0, 8 * sizeof(int));
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			error_set(err, "trust_vector has a key of type %s; "
			    "keys are claim names", presult_typename(L, -2));
			lua_pop(L, 2);
			return -1;
		}
		k = lua_tolstring(L, -2, &klen);
		for (i = 0; i < 8; i++)
			if (strlen(presult_claim_names[i]) == klen &&
			    memcmp(presult_claim_names[i], k, klen) == 0)
				break;
		presult_clean(k, klen, kb, sizeof(kb));
		if (i == 8) {
			lua_pop(L, 2);
			return error_set(err, "unknown claim name '%s' in "
			    "trust_vector (expected instance-identity, "
			    "configuration, executables, file-system, "
			    "hardware, runtime-opaque, storage-opaque or "
			    "sourced-data)", kb);
		}
		if (presult_int(L, -1, &x) != 0) {
			error_set(err, "trust_vector claim '%s' is a %s, "
			    "expected an integer in -128..127", kb,
			    presult_typename(L, -1));
			lua_pop(L, 2);
			return -1;
		}
		if (x < -128 || x > 127) {
			lua_pop(L, 2);
			return error_set(err, "trust_vector claim '%s' is %lld, "
			    "outside the AR4SI range -128..127", kb,
			    (long long)x);
		}
		v[i] = (int)x;
		lua_pop(L, 1);
	}
	return 0;
}

static int
presult_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 128)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* One extension {name = str, key = int, value = any} at table index e. */
static int
presult_extension(lua_State *L, int e, json_t *ext, struct error *err)
{
	const char *name;
	size_t len, i;
	lua_Integer key;
	json_t *val;

	if (lua_type(L, e) != LUA_TTABLE)
		return error_set(err, "is a %s, expected {name = ..., key = "
		    "..., value = ...}", presult_typename(L, e));
	lua_pushnil(L);
	while (lua_next(L, e) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    (strcmp(lua_tostring(L, -1), "name") != 0 &&
		    strcmp(lua_tostring(L, -1), "key") != 0 &&
		    strcmp(lua_tostring(L, -1), "value") != 0)) {
			lua_pop(L, 1);
			return error_set(err, "has a field other than name, "
			    "key and value");
		}
	}
	if (presult_rawfield(L, e, "name") != LUA_TSTRING) {
		lua_pop(L, 1);
		return error_set(err, "has no string name");
	}
	name = lua_tolstring(L, -1, &len);
	if (!presult_name_ok(name, len)) {
		lua_pop(L, 1);
		return error_set(err, "name must be 1..128 printable ASCII "
		    "characters without spaces");
	}
	for (i = 0; i < ARRAY_SIZE(presult_reserved); i++)
		if (strcmp(name, presult_reserved[i]) == 0) {
			lua_pop(L, 1);
			return error_set(err, "name '%s' is reserved",
			    presult_reserved[i]);
		}
	if (json_object_get(ext, name) != NULL) {
		error_set(err, "name '%s' appears twice", name);
		lua_pop(L, 1);
		return -1;
	}
	presult_rawfield(L, e, "key");
	if (presult_int(L, -1, &key) != 0 || key < INT32_MIN ||
	    key > INT32_MAX) {
		lua_pop(L, 2);
		return error_set(err, "key must be a 32-bit integer");
	}
	lua_pop(L, 1);
	presult_rawfield(L, e, "value");
	if (presult_to_json(L, -1, &val, err) != 0) {
		lua_pop(L, 2);
		return error_prefix(err, "value");
	}
	lua_pop(L, 1);
	json_object_set_new(ext, name, val);	/* name validated above */
	lua_pop(L, 1);
	return 0;
}

static int
presult_extensions(lua_State *L, int t, json_t *ext, struct error *err)
{
	size_t n, i;
	int kind;

	if (lua_type(L, t) != LUA_TTABLE)
		return error_set(err, "extensions is a %s, expected a list",
		    presult_typename(L, t));
	kind = presult_table_kind(L, t, &n, err);
	if (kind < 0)
		return error_prefix(err, "extensions");
	if (kind == 0 && n > 0)
		return error_set(err, "extensions must be a list of "
		    "{name, key, value} tables");
	if (n > PRESULT_EXTENSIONS)
		return error_set(err, "more than %d extensions",
		    PRESULT_EXTENSIONS);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, t, (lua_Integer)i);
		if (presult_extension(L, lua_gettop(L), ext, err) != 0) {
			lua_pop(L, 1);
			return error_prefix(err, "extensions[%zu]", i);
		}
		lua_pop(L, 1);
	}
	return 0;
}

int
presult_attestation(lua_State *L, int idx, int v[8], json_t **ext,
    struct error *err)
{
	json_t *obj = NULL, *ann;
	const char *k;
	int t, rc = -1;

	*ext = NULL;
	t = lua_absindex(L, idx);
	if (!lua_checkstack(L, 8))
		return error_set(err, "malformed result: Lua stack exhausted");
	if (lua_type(L, t) != LUA_TTABLE) {
		error_set(err, "malformed result: the policy returned a %s, "
		    "expected a table {trust_vector = {...}}",
		    presult_typename(L, t));
		return -1;
	}
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
		if (strcmp(k, "trust_vector") != 0 &&
		    strcmp(k, "extensions") != 0 &&
		    strcmp(k, "annotations") != 0) {
			char kb[64];

			if (lua_type(L, -1) == LUA_TSTRING)
				presult_clean(k, strlen(k), kb, sizeof(kb));
			else
				snprintf(kb, sizeof(kb), "<%s>",
				    presult_typename(L, -1));
			lua_pop(L, 1);
			return error_set(err, "malformed result: unknown field "
			    "'%s' (expected trust_vector, extensions, "
			    "annotations)", kb);
		}
	}
	if (presult_rawfield(L, t, "trust_vector") == LUA_TNIL) {
		lua_pop(L, 1);
		return error_set(err, "malformed result: no trust_vector");
	}
	if (presult_vector(L, lua_gettop(L), v, err) != 0)
		goto out;
	lua_pop(L, 1);
	obj = json_object();
	if (presult_rawfield(L, t, "extensions") != LUA_TNIL &&
	    presult_extensions(L, lua_gettop(L), obj, err) != 0)
		goto out;
	lua_pop(L, 1);
	if (presult_rawfield(L, t, "annotations") != LUA_TNIL) {
		if (presult_to_json(L, -1, &ann, err) != 0) {
			error_prefix(err, "annotations");
			goto out;
		}
		json_object_set_new(obj, "ear.trustee.annotations", ann);
	}
	*ext = obj;
	obj = NULL;
	rc = 0;
out:
	lua_pop(L, 1);
	json_decref(obj);
	if (rc != 0)
		error_prefix(err, "malformed result");
	return rc;
}

int
presult_resource(lua_State *L, int first, int nres, int *allowed,
    char reason[POLICY_REASON_MAX], struct error *err)
{
	const char *s;
	size_t len;

	*allowed = 0;
	if (nres < 1 || lua_type(L, first) != LUA_TBOOLEAN) {
		snprintf(reason, POLICY_REASON_MAX, "malformed result: the "
		    "resource policy returned %s%s, expected a boolean and a "
		    "reason", nres < 1 ? "nothing" : "a ", nres < 1 ? "" :
		    presult_typename(L, first));
		return error_set(err, "%s", reason);
	}
	*allowed = lua_toboolean(L, first);
	if (nres < 2 || lua_isnil(L, first + 1)) {
		snprintf(reason, POLICY_REASON_MAX, "%s by the resource "
		    "policy", *allowed ? "allowed" : "denied");
		return 0;
	}
	if (lua_type(L, first + 1) != LUA_TSTRING) {
		*allowed = 0;
		snprintf(reason, POLICY_REASON_MAX, "malformed result: the "
		    "reason is a %s, expected a string",
		    presult_typename(L, first + 1));
		return error_set(err, "%s", reason);
	}
	s = lua_tolstring(L, first + 1, &len);
	presult_clean(s, len, reason, POLICY_REASON_MAX);
	return 0;
}

/* ------------------------------------------------------------ helpers */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
presult_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
presult_clean(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	if (cap < 8) {
		if (cap > 0)
			out[0] = '\0';
		return;
	}
	while (i < len) {
		n = presult_utf8_len(s + i, len - i);
		if (o + (n ? n : 1) + 4 > cap) {	/* room for "..." */
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

void
presult_clean_error(struct error *err)
{
	char tmp[sizeof(err->msg)];

	presult_clean(err->msg, strnlen(err->msg, sizeof(err->msg)), tmp,
	    sizeof(tmp));
	memcpy(err->msg, tmp, sizeof(tmp));
}

/* One comparison's work: entries visited, paid PRESULT_EQ_BATCH at a
 * time (shared subtables make the walk exponential in the depth, so the
 * work, not the size, is what must be bounded). */
#define PRESULT_EQ_BATCH 1024

struct presult_eq {
	lua_State *L;
	unsigned n;
	int stopped;
};

static int
presult_eq_step(struct presult_eq *q)
{
	if (++q->n < PRESULT_EQ_BATCH)
		return 0;
	q->n = 0;
	if (plua_spend(q->L, PRESULT_EQ_BATCH, "comparing tables") != 0)
		q->stopped = 1;
	return q->stopped ? -1 : 0;
}

static int
presult_equal_r(struct presult_eq *q, int a, int b, int depth)
{
	lua_State *L = q->L;
	int eq;

	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (lua_rawequal(L, a, b))
		return 1;
	if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE ||
	    depth > PRESULT_DEPTH || !lua_checkstack(L, 4))
		return 0;
	if (lua_rawlen(L, a) != lua_rawlen(L, b))
		return 0;
	/* every a[k] equals b[k], and b has no key a lacks */
	lua_pushnil(L);
	while (lua_next(L, a) != 0) {
		lua_pushvalue(L, -2);
		lua_rawget(L, b);
		eq = presult_eq_step(q) == 0 && !lua_isnil(L, -1) &&
		    presult_equal_r(q, -1, -2, depth + 1);
		lua_pop(L, 2);
		if (!eq) {
			lua_pop(L, 1);
			return 0;
		}
	}
	lua_pushnil(L);
	while (lua_next(L, b) != 0) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		if (presult_eq_step(q) != 0 || lua_rawget(L, a) == LUA_TNIL) {
			lua_pop(L, 2);
			return 0;
		}
		lua_pop(L, 1);
	}
	return 1;
}

int
presult_equal(lua_State *L, int a, int b, int depth)
{
	struct presult_eq q = { L, 0, 0 };
	int eq = presult_equal_r(&q, a, b, depth);

	if (!q.stopped && plua_spend(L, q.n, "comparing tables") != 0)
		q.stopped = 1;
	return q.stopped ? 0 : eq;
}
