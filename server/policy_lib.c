/*
 * policy_lib.c: the `trustee` library a policy sees (trustee.rv, log, hex,
 * unhex, b64, unb64, b64url, sha256/384/512, now, parse_time, contains,
 * equal, null). Each function runs inside the sandbox of policy_lua.c:
 * it charges its work to the call's instruction budget (plua_charge) and
 * reads the call's state (plua_p).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <sodium.h>

#include "../lib/hash.h"
#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "policy_internal.h"

#define POLICY_LIB_HELPER_MAX (1024 * 1024) /* trustee.* string arguments */
#define POLICY_LIB_RV_COST 1000		/* instructions per rv() lookup */

static const char policy_lib_memo_none = 0;	/* rv() memo of "no value" */

static const char *
policy_lib_helper_arg(lua_State *L, int i, size_t *len)
{
	const char *s = luaL_checklstring(L, i, len);

	if (*len > POLICY_LIB_HELPER_MAX)
		luaL_error(L, "argument larger than %d bytes",
		    POLICY_LIB_HELPER_MAX);
	plua_charge(L, 1 + (double)*len / 16, "processing a string");
	return s;
}

/* trustee.rv(name): the reference value (any JSON), nil when unknown,
 * expired or revoked. Memoized for the rest of the call. */
static int
policy_lib_rv(lua_State *L)
{
	struct pstate *p = plua_p(L);
	const char *name;
	size_t len;
	json_t *j;

	plua_mark_impure(L);
	name = luaL_checklstring(L, 1, &len);
	luaL_argcheck(L, len > 0 && len <= RVPS_NAME_MAX &&
	    strlen(name) == len, 1, "a reference value name is 1..256 bytes "
	    "without NUL");
	lua_settop(L, 1);
	if (p->memo_ref == LUA_NOREF) {
		lua_newtable(L);
		p->memo_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->memo_ref);		/* 2 */
	lua_pushvalue(L, 1);
	if (lua_rawget(L, 2) != LUA_TNIL) {
		if (lua_touserdata(L, -1) == &policy_lib_memo_none)
			lua_pushnil(L);
		return 1;
	}
	lua_pop(L, 1);
	plua_charge(L, POLICY_LIB_RV_COST, "looking up reference values");
	j = rvps_query(name, p->now);
	p->pending = j;
	presult_push_json(L, j);				/* 3 */
	p->pending = NULL;
	json_decref(j);
	lua_pushvalue(L, 1);
	if (lua_isnil(L, 3))
		lua_pushlightuserdata(L, (void *)&policy_lib_memo_none);
	else
		lua_pushvalue(L, 3);
	lua_rawset(L, 2);
	return 1;
}

/* trustee.log(...): one captured line (also the daemon log at debug). */
static int
policy_lib_log(lua_State *L)
{
	struct pstate *p = plua_p(L);
	char line[PLUA_LOG_LINE_MAX];
	int n = lua_gettop(L), i;
	const char *s;
	size_t len;
	luaL_Buffer b;

	plua_mark_impure(L);
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		plua_tostring(L, i);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	plua_charge(L, 10 + (double)len / 16, "logging");
	presult_clean(s, len, line, sizeof(line));
	if (log_enabled(LOG_LVL_DEBUG)) {
		const char *label = p->call != NULL && p->call->label != NULL ?
		    p->call->label : "policy";

		log_debug("policy %s: log: %s", label, line);
	}
	if (p->log != NULL) {
		if (p->nlog < PLUA_LOG_LINES) {
			json_array_append_new(p->log, json_string(line));
			p->nlog++;
		} else {
			p->dropped++;
		}
	}
	return 0;
}

static int
policy_lib_hex(lua_State *L)
{
	const char *s;
	size_t len;
	luaL_Buffer b;
	char *o;

	s = policy_lib_helper_arg(L, 1, &len);
	o = luaL_buffinitsize(L, &b, len * 2 + 1);
	hex_encode((const uint8_t *)s, len, o);
	luaL_pushresultsize(&b, len * 2);
	return 1;
}

/* trustee.unhex(s): bytes, or nil and a reason. */
static int
policy_lib_unhex(lua_State *L)
{
	const char *s;
	size_t len, i;
	luaL_Buffer b;
	char *o;
	int hi, lo;

	s = policy_lib_helper_arg(L, 1, &len);
	if (len % 2 != 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "odd number of hex digits");
		return 2;
	}
	o = luaL_buffinitsize(L, &b, len / 2 + 1);
	for (i = 0; i < len / 2; i++) {
		hi = hex_digit_value((unsigned char)s[2 * i]);
		lo = hex_digit_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			lua_pushnil(L);
			lua_pushliteral(L, "not a hex string");
			return 2;
		}
		o[i] = (char)(hi << 4 | lo);
	}
	luaL_pushresultsize(&b, len / 2);
	return 1;
}

static int
policy_lib_b64_encode(lua_State *L, int variant)
{
	const char *s;
	size_t len, cap;
	luaL_Buffer b;
	char *o;

	s = policy_lib_helper_arg(L, 1, &len);
	cap = sodium_base64_encoded_len(len, variant);
	o = luaL_buffinitsize(L, &b, cap);
	sodium_bin2base64(o, cap, (const unsigned char *)s, len, variant);
	luaL_pushresultsize(&b, strlen(o));
	return 1;
}

static int
policy_lib_b64(lua_State *L)
{
	return policy_lib_b64_encode(L, sodium_base64_VARIANT_ORIGINAL);
}

static int
policy_lib_b64url(lua_State *L)
{
	return policy_lib_b64_encode(L,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* trustee.unb64(s): standard or URL-safe alphabet, padded or not. */
static int
policy_lib_unb64(lua_State *L)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	const char *s;
	size_t len, outlen, i;
	luaL_Buffer b;
	char *o;

	s = policy_lib_helper_arg(L, 1, &len);
	o = luaL_buffinitsize(L, &b, len / 4 * 3 + 3);
	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		if (sodium_base642bin((unsigned char *)o, len / 4 * 3 + 3, s,
		    len, NULL, &outlen, NULL, variants[i]) == 0) {
			luaL_pushresultsize(&b, outlen);
			return 1;
		}
	}
	lua_pushnil(L);
	lua_pushliteral(L, "not base64");
	return 2;
}

static int
policy_lib_digest(lua_State *L, enum hash_alg alg)
{
	uint8_t md[HASH_MAX_SIZE];
	char hex[2 * HASH_MAX_SIZE + 1];
	const char *s;
	size_t len, mdlen;

	s = policy_lib_helper_arg(L, 1, &len);
	if (hash_digest(alg, s, len, md, &mdlen) != 0)
		return luaL_error(L, "digest failed");
	hex_encode(md, mdlen, hex);
	lua_pushlstring(L, hex, 2 * mdlen);
	return 1;
}

static int
policy_lib_sha256(lua_State *L)
{
	return policy_lib_digest(L, HASH_SHA256);
}

static int
policy_lib_sha384(lua_State *L)
{
	return policy_lib_digest(L, HASH_SHA384);
}

static int
policy_lib_sha512(lua_State *L)
{
	return policy_lib_digest(L, HASH_SHA512);
}

static int
policy_lib_now(lua_State *L)
{
	plua_mark_impure(L);
	lua_pushinteger(L, (lua_Integer)plua_p(L)->now);
	return 1;
}

/* trustee.parse_time("2025-01-02T03:04:05Z") -> unix seconds or nil. */
static int
policy_lib_parse_time(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	int64_t t;

	if (len > 64 || time_parse_rfc3339(s, &t) != 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "not an RFC 3339 time");
		return 2;
	}
	lua_pushinteger(L, (lua_Integer)t);
	return 1;
}

/* trustee.contains(list, value): like Rego's `value in list` (deep
 * equality; false when list is not a table). */
static int
policy_lib_contains(lua_State *L)
{
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	if (lua_type(L, 1) != LUA_TTABLE) {
		lua_pushboolean(L, 0);
		return 1;
	}
	plua_charge(L, 1 + (double)lua_rawlen(L, 1), "searching a list");
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		if (presult_equal(L, -1, 2, 0)) {
			lua_pushboolean(L, 1);
			return 1;
		}
		plua_charge(L, 0, "comparing tables");	/* raises if spent */
		lua_pop(L, 1);
	}
	lua_pushboolean(L, 0);
	return 1;
}

/* trustee.equal(a, b): deep equality, like Rego's ==. */
static int
policy_lib_equal(lua_State *L)
{
	luaL_checkany(L, 1);
	luaL_checkany(L, 2);
	lua_pushboolean(L, presult_equal(L, 1, 2, 0));
	plua_charge(L, 0, "comparing tables");	/* raises if spent */
	return 1;
}

static const luaL_Reg policy_lib_funcs[] = {
	{ "rv", policy_lib_rv }, { "log", policy_lib_log },
	{ "hex", policy_lib_hex }, { "unhex", policy_lib_unhex },
	{ "b64", policy_lib_b64 }, { "unb64", policy_lib_unb64 },
	{ "b64url", policy_lib_b64url }, { "sha256", policy_lib_sha256 },
	{ "sha384", policy_lib_sha384 }, { "sha512", policy_lib_sha512 },
	{ "now", policy_lib_now }, { "parse_time", policy_lib_parse_time },
	{ "contains", policy_lib_contains }, { "equal", policy_lib_equal },
	{ NULL, NULL }
};

void
policy_lib_open(lua_State *L)
{
	luaL_newlib(L, policy_lib_funcs);
	lua_pushlightuserdata(L, PRESULT_NULL);
	lua_setfield(L, -2, "null");
}
