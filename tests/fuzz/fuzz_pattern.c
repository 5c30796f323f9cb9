/*
 * fuzz_pattern.c: the policy sandbox's pattern matcher
 * (server/policy_pattern.c) and string.find/match/gmatch/gsub on it
 * (server/policy_strlib.c), differentially against Lua's own string
 * library.
 *
 * Input: byte 0 picks the function and the replacement kind, byte 1 is
 * the start position (signed), byte 2 the pattern length; the pattern
 * follows, the rest is the subject (both may hold any byte, NUL too).
 * Our function runs first under an instruction budget; when it finishes
 * (a result or a Lua error), Lua's runs on the same arguments and both
 * must give the same values or the same error message. When ours stops
 * for its budget, Lua's is not run (it could take exponential time: that
 * is the point of ours).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../../server/policy.h"
#include "../../server/policy_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_STEPS 200000

/* Called as compare(fname, kind, s, p, init): nil, or a description of
 * the difference. ours is the table with our four functions. */
static const char compare_lua[] =
"local ours = ...\n"
"local function ser(t)\n"
"  local out = {}\n"
"  for i = 1, t.n do\n"
"    local v = t[i]\n"
"    if i == 2 and not t[1] and type(v) == 'string' then\n"
"      v = v:gsub('^.-:%d+: ', '')\n"
"    end\n"
"    if type(v) == 'string' then out[i] = string.format('%q', v)\n"
"    elseif math.type(v) == 'integer' then out[i] = string.format('%d', v)\n"
"    else out[i] = tostring(v) end\n"
"  end\n"
"  return table.concat(out, ',')\n"
"end\n"
"local function collect(gmatch, s, p, init)\n"
"  local out, it = {}, gmatch(s, p, init)\n"
"  for n = 1, 20 do\n"
"    local r = table.pack(it())\n"
"    if r.n == 0 or r[1] == nil then break end\n"
"    r.n = r.n + 1 table.insert(r, 1, true)\n"
"    out[#out + 1] = ser(r)\n"
"  end\n"
"  return table.concat(out, ';')\n"
"end\n"
"local repls = { '<%0>', '%1%%', function(a, b) return b or a end,\n"
"  { a = 'A', b = false, ['('] = 1 }, '%2', 'x%' }\n"
"local function call(lib, f, kind, s, p, init)\n"
"  if f == 'gmatch' then\n"
"    return table.pack(pcall(collect, lib.gmatch, s, p, init))\n"
"  elseif f == 'gsub' then\n"
"    return table.pack(pcall(lib.gsub, s, p, repls[kind % #repls + 1],\n"
"      kind >= #repls and init or nil))\n"
"  elseif f == 'find' and kind % 2 == 1 then\n"
"    return table.pack(pcall(lib.find, s, p, init, true))\n"
"  end\n"
"  return table.pack(pcall(lib[f], s, p, init))\n"
"end\n"
"return function(f, kind, s, p, init)\n"
"  local a = ser(call(ours, f, kind, s, p, init))\n"
"  local b = ser(call(string, f, kind, s, p, init))\n"
"  if a ~= b then return f .. ': ' .. a .. ' vs Lua ' .. b end\n"
"end\n";

static lua_State *fuzz_L;
static struct pstate fuzz_ps;
static int fuzz_compare_ref;

static void
fuzz_init(void)
{
	fuzz_L = luaL_newstate();
	if (fuzz_L == NULL)
		abort();
	luaL_openlibs(fuzz_L);
	/* our functions read their budget from the state's extra space */
	fuzz_ps.L = fuzz_L;
	*(struct pstate **)lua_getextraspace(fuzz_L) = &fuzz_ps;
	lua_newtable(fuzz_L);
	policy_strlib_open(fuzz_L, -1);
	if (luaL_loadstring(fuzz_L, compare_lua) != LUA_OK)
		abort();
	lua_insert(fuzz_L, -2);
	if (lua_pcall(fuzz_L, 1, 1, 0) != LUA_OK)
		abort();
	fuzz_compare_ref = luaL_ref(fuzz_L, LUA_REGISTRYINDEX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fnames[] = { "find", "match", "gmatch",
	    "gsub" };
	lua_State *L;
	size_t plen;
	int rc;

	if (size < 3 || size > 2048)
		return 0;
	if (fuzz_L == NULL)
		fuzz_init();
	L = fuzz_L;
	plen = data[2];
	if (plen > size - 3)
		plen = size - 3;
	fuzz_ps.in_call = 1;
	fuzz_ps.remaining = FUZZ_STEPS;
	fuzz_ps.deadline = UINT64_MAX;
	fuzz_ps.abort = PABORT_NONE;
	fuzz_ps.abort_what = NULL;
	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_compare_ref);
	lua_pushstring(L, fnames[data[0] & 3]);
	lua_pushinteger(L, data[0] >> 2);
	lua_pushlstring(L, (const char *)data + 3 + plen, size - 3 - plen);
	lua_pushlstring(L, (const char *)data + 3, plen);
	lua_pushinteger(L, (int8_t)data[1]);
	rc = lua_pcall(L, 5, 1, 0);
	lua_sethook(L, NULL, 0, 0);
	fuzz_ps.in_call = 0;
	if (rc != LUA_OK) {
		/* only our budget may end the comparison itself */
		if (fuzz_ps.abort == PABORT_NONE)
			abort();
	} else if (!lua_isnil(L, -1)) {
		fprintf(stderr, "MISMATCH %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
