/*
 * policy_lua_sandbox.c: the sandbox a policy runs in (plua_sandbox_setup,
 * once per Lua state). What a policy can reach: the safe base functions,
 * read-only views of string (no dump), table, math and utf8, and the
 * trustee library (policy_lib.c); nothing else (no io, os, package,
 * require, load*, dofile, debug, collectgarbage, print, rawset,
 * coroutine). Globals and library tables are read-only proxies, the
 * string metatable is protected, setmetatable refuses __gc. Library
 * functions whose work grows with their arguments are wrapped to charge
 * the call's budget for it first (plua_charge).
 */
#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "policy_internal.h"

/* ------------------------------------------------ library cost wrappers */

enum plua_sandbox_wrap_kind {
	W_BYTES,	/* O(#arg1) */
	W_NARGS,	/* O(number of arguments) */
	W_REP,
	W_FORMAT,
	W_PACK,
	W_TLEN,		/* O(#arg1): table.insert/remove */
	W_TCONCAT,
	W_TUNPACK,
	W_TMOVE,
	W_TSORT,
	W_IMPURE,	/* math.random: O(1), and not a function of inputs */
};

static double
plua_sandbox_strlen(lua_State *L, int i)
{
	size_t len = 0;

	if (lua_type(L, i) == LUA_TSTRING)
		lua_tolstring(L, i, &len);
	return (double)len;
}

/* The length table functions will use: __len when the table has one
 * (it may run policy code or raise, as the function itself would). */
static double
plua_sandbox_tlen(lua_State *L, int i)
{
	if (lua_type(L, i) != LUA_TTABLE)
		return 0;
	if (luaL_getmetafield(L, i, "__len") != LUA_TNIL) {
		lua_pop(L, 1);
		return (double)luaL_len(L, i);
	}
	return (double)lua_rawlen(L, i);
}

static double
plua_sandbox_num(lua_State *L, int i, double dflt)
{
	int ok;
	double d = lua_tonumberx(L, i, &ok);

	return ok && isfinite(d) ? d : dflt;
}

static double
plua_sandbox_cost(lua_State *L, int kind)
{
	int nargs = lua_gettop(L), i;
	double len, cnt, a, b;
	const char *f;
	size_t fl, k;

	switch (kind) {
	case W_BYTES:
		return 1 + plua_sandbox_strlen(L, 1) / 16;
	case W_NARGS:
		return 1 + nargs;
	case W_REP:
		/* the loop runs cnt times even for empty strings */
		cnt = plua_sandbox_num(L, 2, 0);
		len = plua_sandbox_strlen(L, 1) + plua_sandbox_strlen(L, 3) + 1;
		return 1 + (cnt > 0 ? cnt : 0) * len / 16;
	case W_FORMAT:
		if (lua_type(L, 1) == LUA_TSTRING) {
			f = lua_tolstring(L, 1, &fl);
			for (k = 0; k < fl; k++) {
				if (f[k] != '%')
					continue;
				if (++k < fl && f[k] == '%')
					continue;
				while (k < fl && f[k] != '\0' &&
				    strchr("-+ #0123456789.", f[k]) != NULL)
					k++;
				if (k < fl && f[k] == 'p')
					luaL_error(L, "string.format: %%p "
					    "(addresses) is not available to "
					    "policies");
			}
		}
		/* FALLTHROUGH */
	case W_PACK:
		len = 0;
		for (i = 1; i <= nargs; i++)
			len += plua_sandbox_strlen(L, i);
		return 1 + nargs + len / 16;
	case W_TLEN:
		return 1 + plua_sandbox_tlen(L, 1);
	case W_TCONCAT:
	case W_TUNPACK:
		i = kind == W_TCONCAT ? 3 : 2;
		len = lua_isnoneornil(L, i + 1) ? plua_sandbox_tlen(L, 1) : 0;
		a = plua_sandbox_num(L, i, 1);
		b = plua_sandbox_num(L, i + 1, len);
		return 1 + (b >= a ? b - a + 1 : 0);
	case W_TMOVE:
		a = plua_sandbox_num(L, 2, 1);
		b = plua_sandbox_num(L, 3, 0);
		return 1 + (b >= a ? b - a + 1 : 0);
	case W_TSORT:
		len = plua_sandbox_tlen(L, 1);
		for (a = 1, b = len; b >= 2; b /= 2)
			a++;
		return 1 + len * a;
	}
	return 1;
}

static const char *const plua_sandbox_wrap_what[] = {
	[W_BYTES] = "processing a string", [W_NARGS] = "handling arguments",
	[W_REP] = "string.rep", [W_FORMAT] = "string.format",
	[W_PACK] = "string.pack/unpack",
	[W_TLEN] = "shifting a table", [W_TCONCAT] = "table.concat",
	[W_TUNPACK] = "table.unpack", [W_TMOVE] = "table.move",
	[W_TSORT] = "table.sort", [W_IMPURE] = "math.random",
};

/*
 * Upvalue 1 the library's C function, 2 the cost kind. The original runs
 * in this same frame (standard library functions use no upvalues), so
 * its argument errors still name it.
 */
static int
plua_sandbox_wrap(lua_State *L)
{
	lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
	int kind = (int)lua_tointeger(L, lua_upvalueindex(2));

	plua_charge(L, plua_sandbox_cost(L, kind),
	    plua_sandbox_wrap_what[kind]);
	return f(L);
}

/*
 * math.random and math.randomseed (upvalue 1, the library's closure:
 * they keep their generator in an upvalue of their own, so they are
 * called, not run in this frame): mark the call impure (plua_call), so
 * that its result is never reused for the same inputs.
 */
static int
plua_sandbox_wrap_impure(lua_State *L)
{
	int n = lua_gettop(L);

	plua_mark_impure(L);
	plua_charge(L, 1 + n, plua_sandbox_wrap_what[W_IMPURE]);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	return lua_gettop(L);
}

struct plua_sandbox_wrap_entry {
	const char *name;
	int kind;
};

static void
plua_sandbox_wrap_lib(lua_State *L, int lib,
    const struct plua_sandbox_wrap_entry *w)
{
	for (; w->name != NULL; w++) {
		if (lua_getfield(L, lib, w->name) != LUA_TFUNCTION ||
		    lua_tocfunction(L, -1) == NULL)
			luaL_error(L, "library function %s missing", w->name);
		if (w->kind == W_IMPURE)
			lua_pushcclosure(L, plua_sandbox_wrap_impure, 1);
		else {
			lua_pushinteger(L, w->kind);
			lua_pushcclosure(L, plua_sandbox_wrap, 2);
		}
		lua_setfield(L, lib, w->name);
	}
}

static const struct plua_sandbox_wrap_entry plua_sandbox_string_wraps[] = {
	{ "byte", W_BYTES }, { "char", W_NARGS }, { "format", W_FORMAT },
	{ "lower", W_BYTES }, { "rep", W_REP },
	{ "reverse", W_BYTES }, { "sub", W_BYTES }, { "upper", W_BYTES },
	{ "pack", W_PACK }, { "packsize", W_PACK }, { "unpack", W_PACK },
	{ NULL, 0 }
};
static const struct plua_sandbox_wrap_entry plua_sandbox_table_wraps[] = {
	{ "concat", W_TCONCAT }, { "insert", W_TLEN }, { "move", W_TMOVE },
	{ "pack", W_NARGS }, { "remove", W_TLEN }, { "sort", W_TSORT },
	{ "unpack", W_TUNPACK }, { NULL, 0 }
};
static const struct plua_sandbox_wrap_entry plua_sandbox_utf8_wraps[] = {
	{ "char", W_NARGS }, { "codepoint", W_BYTES }, { "len", W_BYTES },
	{ "offset", W_BYTES }, { "codes", W_BYTES }, { NULL, 0 }
};
static const struct plua_sandbox_wrap_entry plua_sandbox_math_wraps[] = {
	{ "max", W_NARGS }, { "min", W_NARGS }, { "random", W_IMPURE },
	{ "randomseed", W_IMPURE }, { NULL, 0 }
};
static const struct plua_sandbox_wrap_entry plua_sandbox_base_wraps[] = {
	{ "select", W_NARGS }, { "tonumber", W_BYTES }, { NULL, 0 }
};

/* ------------------------------------------------------ safe base lib */

/* tostring without addresses: tables, functions, ... print their type. */
const char *
plua_tostring(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == PRESULT_NULL) {
			lua_pushliteral(L, "null");
			return lua_tostring(L, -1);
		}
		/* FALLTHROUGH */
	case LUA_TTABLE:
	case LUA_TFUNCTION:
	case LUA_TUSERDATA:
	case LUA_TTHREAD:
		if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
			lua_pop(L, 1);
			return luaL_tolstring(L, idx, NULL);
		}
		lua_pushstring(L, luaL_typename(L, idx));
		return lua_tostring(L, -1);
	default:
		return luaL_tolstring(L, idx, NULL);
	}
}

static int
plua_sandbox_tostring(lua_State *L)
{
	luaL_checkany(L, 1);
	plua_tostring(L, 1);
	return 1;
}

/* setmetatable, refusing finalizers (they would run outside any call's
 * budget). Upvalue 1: the base library's setmetatable. */
static int
plua_sandbox_setmetatable(lua_State *L)
{
	lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
	struct pstate *p = plua_p(L);

	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->names_ref);
		lua_getfield(L, -1, "__gc");	/* the interned name */
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc metamethods "
			    "are not allowed in policies");
		lua_pop(L, 2);
	}
	return f(L);
}

static int
plua_sandbox_ro_newindex(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "cannot assign '%s': globals and library "
		    "tables are read-only (declare a local)",
		    lua_tostring(L, 2));
	return luaL_error(L, "globals and library tables are read-only");
}

/* Iterator over a proxy's real table (upvalue 1), never exposing it. */
static int
plua_sandbox_proxy_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(1)) != 0)
		return 2;
	lua_pushnil(L);
	return 1;
}

static int
plua_sandbox_proxy_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Push a read-only view of the table at real. */
static void
plua_sandbox_push_proxy(lua_State *L, int real)
{
	real = lua_absindex(L, real);
	lua_newtable(L);
	lua_createtable(L, 0, 4);
	lua_pushvalue(L, real);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, plua_sandbox_ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, plua_sandbox_proxy_next, 1);
	lua_pushcclosure(L, plua_sandbox_proxy_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------ the sandbox */

/* Names the result conversion pushes: anchored so pushing them never
 * allocates (and so never raises outside a protected call). */
static const char *const plua_sandbox_anchored[] = {
	"trust_vector", "extensions", "annotations", "name", "key", "value",
	"__gc", "__tostring",
};

/* Build the sandbox (runs protected, on an empty stack). */
int
plua_sandbox_setup(lua_State *L)
{
	static const char *const base_copy[] = {
		"assert", "error", "getmetatable", "ipairs", "next", "pairs",
		"pcall", "rawequal", "rawget", "rawlen", "type", "xpcall",
		"_VERSION",
	};
	struct pstate *p = plua_p(L);
	size_t i;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 0);		/* 1 */
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);	/* 2 */
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);	/* 3 */
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);	/* 4 */
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);	/* 5 */

	lua_pushnil(L);
	lua_setfield(L, 2, "dump");
	plua_sandbox_wrap_lib(L, 2, plua_sandbox_string_wraps);
	policy_strlib_open(L, 2);	/* find, match, gmatch, gsub */
	plua_sandbox_wrap_lib(L, 3, plua_sandbox_table_wraps);
	plua_sandbox_wrap_lib(L, 4, plua_sandbox_math_wraps);
	plua_sandbox_wrap_lib(L, 5, plua_sandbox_utf8_wraps);

	/* getmetatable("") must not hand out the shared string metatable */
	lua_pushliteral(L, "");
	if (!lua_getmetatable(L, -1))
		return luaL_error(L, "no string metatable");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	lua_newtable(L);					/* 6: base */
	for (i = 0; i < ARRAY_SIZE(base_copy); i++) {
		lua_getfield(L, 1, base_copy[i]);
		lua_setfield(L, 6, base_copy[i]);
	}
	for (i = 0; plua_sandbox_base_wraps[i].name != NULL; i++) {
		lua_getfield(L, 1, plua_sandbox_base_wraps[i].name);
		lua_pushinteger(L, plua_sandbox_base_wraps[i].kind);
		lua_pushcclosure(L, plua_sandbox_wrap, 2);
		lua_setfield(L, 6, plua_sandbox_base_wraps[i].name);
	}
	lua_getfield(L, 1, "setmetatable");
	lua_pushcclosure(L, plua_sandbox_setmetatable, 1);
	lua_setfield(L, 6, "setmetatable");
	lua_pushcfunction(L, plua_sandbox_tostring);
	lua_setfield(L, 6, "tostring");

	plua_sandbox_push_proxy(L, 2);
	lua_setfield(L, 6, "string");
	plua_sandbox_push_proxy(L, 3);
	lua_setfield(L, 6, "table");
	plua_sandbox_push_proxy(L, 4);
	lua_setfield(L, 6, "math");
	plua_sandbox_push_proxy(L, 5);
	lua_setfield(L, 6, "utf8");
	policy_lib_open(L);					/* 7 */
	plua_sandbox_push_proxy(L, 7);
	lua_setfield(L, 6, "trustee");
	lua_pop(L, 1);
	plua_sandbox_push_proxy(L, 6);
	lua_setfield(L, 6, "_G");

	plua_sandbox_push_proxy(L, 6);
	p->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	p->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	for (i = 0; i < ARRAY_SIZE(plua_sandbox_anchored); i++) {
		lua_pushstring(L, plua_sandbox_anchored[i]);
		lua_setfield(L, -2, plua_sandbox_anchored[i]);
	}
	p->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, 0);
	return 0;
}
