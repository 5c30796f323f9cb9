/*
 * policy_lua.c: the Lua 5.4 sandbox. One lua_State per thread, created on
 * first use and reused for every evaluation on that thread; compiled
 * chunks are cached in it by the SHA-256 of their text.
 *
 * What a policy can reach: the safe base functions, read-only views of
 * string (no dump), table, math and utf8, and the trustee library
 * (policy_lib.c); nothing else (no io, os, package, require, load*,
 * dofile, debug, collectgarbage, print, rawset, coroutine). Globals and
 * library tables are read-only proxies, the string metatable is
 * protected, setmetatable refuses __gc.
 * Each evaluation re-runs the chunk's top level, so no state survives from
 * one evaluation to the next.
 *
 * Budgets per call: an instruction count (a count hook every
 * PLUA_HOOK_COUNT instructions), charged also for library work the hook
 * cannot see (bytes allocated, table shifting, ...; pattern matching runs
 * on policy_pattern.c's counted matcher, which pays as it goes and can be
 * stopped mid-call), and a wall clock, looked at in every hook, in every
 * charge and once more when the call returns (finishing late fails); a
 * memory cap per state through the allocator. Once a budget is exhausted
 * the hook fires at every instruction, so a policy cannot pcall its way
 * past it. A state that overran a budget or ran out of memory is
 * discarded and recreated on the next call.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../lib/hash.h"
#include "../lib/log.h"
#include "policy_internal.h"

#define PLUA_HOOK_COUNT 100
#define PLUA_CACHE_MAX 64		/* compiled chunks kept per state */
#define PLUA_ALLOC_COST 64		/* bytes allocated per instruction */

static atomic_llong plua_clock;		/* tests: fixed "now" */
static atomic_int plua_kinstr = PLUA_DEFAULT_KINSTR;
static atomic_int plua_mem_kib = PLUA_DEFAULT_MEM_KIB;
static atomic_int plua_time_ms = PLUA_WALL_LIMIT_MS;

static atomic_ullong st_created, st_live, st_evals, st_failures,
    st_discards, st_compiles;

static _Thread_local struct pstate *plua_tls;
static pthread_key_t plua_key;
static pthread_once_t plua_once = PTHREAD_ONCE_INIT;

void
plua_test_clock(int64_t now)
{
	atomic_store(&plua_clock, (long long)now);
}

void
plua_configure(int kinstr, int mem_kib, int time_ms)
{
	atomic_store(&plua_kinstr, kinstr > 0 ? kinstr : PLUA_DEFAULT_KINSTR);
	atomic_store(&plua_mem_kib, mem_kib > 0 ? mem_kib :
	    PLUA_DEFAULT_MEM_KIB);
	atomic_store(&plua_time_ms, time_ms > 0 ? time_ms :
	    PLUA_WALL_LIMIT_MS);
}

/* ------------------------------------------------------------ budgets */

static void plua_hook(lua_State *L, lua_Debug *ar);

/* Raise the abort error; the hook keeps raising at every instruction. */
static int
plua_raise_abort(lua_State *L, struct pstate *p)
{
	lua_sethook(L, plua_hook, LUA_MASKCOUNT, 1);
	lua_pushstring(L, p->abort == PABORT_TIME ? "time limit exceeded" :
	    "instruction budget exceeded");
	return lua_error(L);
}

/* Record the first abort; from now on the hook fires at every
 * instruction and raises. Never raises itself. */
static void
plua_note_abort(struct pstate *p, enum plua_abort why, const char *what)
{
	if (p->abort == PABORT_NONE) {
		p->abort = why;
		p->abort_what = what;
	}
	if (p->L != NULL)
		lua_sethook(p->L, plua_hook, LUA_MASKCOUNT, 1);
}

static int
plua_abort(lua_State *L, struct pstate *p, enum plua_abort why,
    const char *what)
{
	plua_note_abort(p, why, what);
	return plua_raise_abort(L, p);
}

/*
 * Every PLUA_HOOK_COUNT instructions: pay for them and look at the clock
 * (a few tens of nanoseconds per hundred instructions; checking every
 * time keeps the overshoot of the wall limit to one hook period even when
 * each instruction is slow, e.g. comparing long strings).
 */
static void
plua_hook(lua_State *L, lua_Debug *ar)
{
	struct pstate *p = plua_p(L);

	(void)ar;
	if (!p->in_call)
		return;
	if (p->abort != PABORT_NONE)
		plua_raise_abort(L, p);
	p->remaining -= PLUA_HOOK_COUNT;
	if (p->remaining < 0)
		plua_abort(L, p, PABORT_BUDGET, NULL);
	p->ticks++;
	if (now_mono_ns() > p->deadline)
		plua_abort(L, p, PABORT_TIME, NULL);
}

int
plua_spend(lua_State *L, double n, const char *what)
{
	struct pstate *p = plua_p(L);

	if (p == NULL || !p->in_call)
		return 0;
	if (p->abort != PABORT_NONE)
		return -1;
	if (!(n < (double)p->remaining)) {
		p->remaining = -1;
		plua_note_abort(p, PABORT_BUDGET, what);
		return -1;
	}
	p->remaining -= (int64_t)n;
	if (now_mono_ns() > p->deadline) {
		plua_note_abort(p, PABORT_TIME, what);
		return -1;
	}
	return 0;
}

int
plua_raise(lua_State *L)
{
	struct pstate *p = plua_p(L);

	if (p->abort == PABORT_NONE)
		plua_note_abort(p, PABORT_BUDGET, NULL);
	return plua_raise_abort(L, p);
}

void
plua_charge(lua_State *L, double n, const char *what)
{
	if (plua_spend(L, n, what) != 0)
		plua_raise(L);
}

/*
 * The allocator: refuses growth beyond the state's cap (Lua then collects
 * garbage and retries once before raising "not enough memory"), and
 * charges the instruction budget for bytes allocated during a call, so
 * that O(n) work hidden in one instruction (concatenation, string.rep)
 * is paid for.
 */
static void *
plua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct pstate *p = ud;
	size_t old = ptr != NULL ? osize : 0;
	void *np;

	if (nsize == 0) {
		free(ptr);
		p->used -= old < p->used ? old : p->used;
		return NULL;
	}
	if (nsize > old) {
		size_t grow = nsize - old;

		if (grow > p->limit || p->used + grow > p->limit)
			return NULL;
		if (p->in_call) {
			p->remaining -= (int64_t)(grow / PLUA_ALLOC_COST);
			if (p->remaining < 0 && p->abort == PABORT_NONE)
				plua_note_abort(p, PABORT_BUDGET,
				    "allocating memory");
		}
	}
	np = realloc(ptr, nsize);
	if (np == NULL)
		return nsize <= old ? ptr : NULL;
	p->used = p->used - old + nsize;
	return np;
}

/* ------------------------------------------------ library cost wrappers */

enum plua_wrap_kind {
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
};

static double
plua_strlen(lua_State *L, int i)
{
	size_t len = 0;

	if (lua_type(L, i) == LUA_TSTRING)
		lua_tolstring(L, i, &len);
	return (double)len;
}

/* The length table functions will use: __len when the table has one
 * (it may run policy code or raise, as the function itself would). */
static double
plua_tlen(lua_State *L, int i)
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
plua_num(lua_State *L, int i, double dflt)
{
	int ok;
	double d = lua_tonumberx(L, i, &ok);

	return ok && isfinite(d) ? d : dflt;
}

static double
plua_cost(lua_State *L, int kind)
{
	int nargs = lua_gettop(L), i;
	double len, cnt, a, b;
	const char *f;
	size_t fl, k;

	switch (kind) {
	case W_BYTES:
		return 1 + plua_strlen(L, 1) / 16;
	case W_NARGS:
		return 1 + nargs;
	case W_REP:
		/* the loop runs cnt times even for empty strings */
		cnt = plua_num(L, 2, 0);
		len = plua_strlen(L, 1) + plua_strlen(L, 3) + 1;
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
			len += plua_strlen(L, i);
		return 1 + nargs + len / 16;
	case W_TLEN:
		return 1 + plua_tlen(L, 1);
	case W_TCONCAT:
	case W_TUNPACK:
		i = kind == W_TCONCAT ? 3 : 2;
		len = lua_isnoneornil(L, i + 1) ? plua_tlen(L, 1) : 0;
		a = plua_num(L, i, 1);
		b = plua_num(L, i + 1, len);
		return 1 + (b >= a ? b - a + 1 : 0);
	case W_TMOVE:
		a = plua_num(L, 2, 1);
		b = plua_num(L, 3, 0);
		return 1 + (b >= a ? b - a + 1 : 0);
	case W_TSORT:
		len = plua_tlen(L, 1);
		for (a = 1, b = len; b >= 2; b /= 2)
			a++;
		return 1 + len * a;
	}
	return 1;
}

static const char *const plua_wrap_what[] = {
	[W_BYTES] = "processing a string", [W_NARGS] = "handling arguments",
	[W_REP] = "string.rep", [W_FORMAT] = "string.format",
	[W_PACK] = "string.pack/unpack",
	[W_TLEN] = "shifting a table", [W_TCONCAT] = "table.concat",
	[W_TUNPACK] = "table.unpack", [W_TMOVE] = "table.move",
	[W_TSORT] = "table.sort",
};

/*
 * Upvalue 1 the library's C function, 2 the cost kind. The original runs
 * in this same frame (standard library functions use no upvalues), so
 * its argument errors still name it.
 */
static int
plua_wrap(lua_State *L)
{
	lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
	int kind = (int)lua_tointeger(L, lua_upvalueindex(2));

	plua_charge(L, plua_cost(L, kind), plua_wrap_what[kind]);
	return f(L);
}

struct plua_wrap_entry {
	const char *name;
	int kind;
};

static void
plua_wrap_lib(lua_State *L, int lib, const struct plua_wrap_entry *w)
{
	for (; w->name != NULL; w++) {
		if (lua_getfield(L, lib, w->name) != LUA_TFUNCTION ||
		    lua_tocfunction(L, -1) == NULL)
			luaL_error(L, "library function %s missing", w->name);
		lua_pushinteger(L, w->kind);
		lua_pushcclosure(L, plua_wrap, 2);
		lua_setfield(L, lib, w->name);
	}
}

static const struct plua_wrap_entry plua_string_wraps[] = {
	{ "byte", W_BYTES }, { "char", W_NARGS }, { "format", W_FORMAT },
	{ "lower", W_BYTES }, { "rep", W_REP },
	{ "reverse", W_BYTES }, { "sub", W_BYTES }, { "upper", W_BYTES },
	{ "pack", W_PACK }, { "packsize", W_PACK }, { "unpack", W_PACK },
	{ NULL, 0 }
};
static const struct plua_wrap_entry plua_table_wraps[] = {
	{ "concat", W_TCONCAT }, { "insert", W_TLEN }, { "move", W_TMOVE },
	{ "pack", W_NARGS }, { "remove", W_TLEN }, { "sort", W_TSORT },
	{ "unpack", W_TUNPACK }, { NULL, 0 }
};
static const struct plua_wrap_entry plua_utf8_wraps[] = {
	{ "char", W_NARGS }, { "codepoint", W_BYTES }, { "len", W_BYTES },
	{ "offset", W_BYTES }, { "codes", W_BYTES }, { NULL, 0 }
};
static const struct plua_wrap_entry plua_math_wraps[] = {
	{ "max", W_NARGS }, { "min", W_NARGS }, { NULL, 0 }
};
static const struct plua_wrap_entry plua_base_wraps[] = {
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
plua_b_tostring(lua_State *L)
{
	luaL_checkany(L, 1);
	plua_tostring(L, 1);
	return 1;
}

/* setmetatable, refusing finalizers (they would run outside any call's
 * budget). Upvalue 1: the base library's setmetatable. */
static int
plua_b_setmetatable(lua_State *L)
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
plua_ro_newindex(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "cannot assign '%s': globals and library "
		    "tables are read-only (declare a local)",
		    lua_tostring(L, 2));
	return luaL_error(L, "globals and library tables are read-only");
}

/* Iterator over a proxy's real table (upvalue 1), never exposing it. */
static int
plua_proxy_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(1)) != 0)
		return 2;
	lua_pushnil(L);
	return 1;
}

static int
plua_proxy_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Push a read-only view of the table at real. */
static void
plua_push_proxy(lua_State *L, int real)
{
	real = lua_absindex(L, real);
	lua_newtable(L);
	lua_createtable(L, 0, 4);
	lua_pushvalue(L, real);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, plua_ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, plua_proxy_next, 1);
	lua_pushcclosure(L, plua_proxy_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------- states */

/* Names the result conversion pushes: anchored so pushing them never
 * allocates (and so never raises outside a protected call). */
static const char *const plua_anchored[] = {
	"trust_vector", "extensions", "annotations", "name", "key", "value",
	"__gc", "__tostring",
};

/* Build the sandbox (runs protected, on an empty stack). */
static int
plua_setup(lua_State *L)
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
	plua_wrap_lib(L, 2, plua_string_wraps);
	policy_strlib_open(L, 2);	/* find, match, gmatch, gsub */
	plua_wrap_lib(L, 3, plua_table_wraps);
	plua_wrap_lib(L, 4, plua_math_wraps);
	plua_wrap_lib(L, 5, plua_utf8_wraps);

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
	for (i = 0; plua_base_wraps[i].name != NULL; i++) {
		lua_getfield(L, 1, plua_base_wraps[i].name);
		lua_pushinteger(L, plua_base_wraps[i].kind);
		lua_pushcclosure(L, plua_wrap, 2);
		lua_setfield(L, 6, plua_base_wraps[i].name);
	}
	lua_getfield(L, 1, "setmetatable");
	lua_pushcclosure(L, plua_b_setmetatable, 1);
	lua_setfield(L, 6, "setmetatable");
	lua_pushcfunction(L, plua_b_tostring);
	lua_setfield(L, 6, "tostring");

	plua_push_proxy(L, 2);
	lua_setfield(L, 6, "string");
	plua_push_proxy(L, 3);
	lua_setfield(L, 6, "table");
	plua_push_proxy(L, 4);
	lua_setfield(L, 6, "math");
	plua_push_proxy(L, 5);
	lua_setfield(L, 6, "utf8");
	policy_lib_open(L);					/* 7 */
	plua_push_proxy(L, 7);
	lua_setfield(L, 6, "trustee");
	lua_pop(L, 1);
	plua_push_proxy(L, 6);
	lua_setfield(L, 6, "_G");

	plua_push_proxy(L, 6);
	p->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	p->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	for (i = 0; i < ARRAY_SIZE(plua_anchored); i++) {
		lua_pushstring(L, plua_anchored[i]);
		lua_setfield(L, -2, plua_anchored[i]);
	}
	p->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, 0);
	return 0;
}

static int
plua_panic(lua_State *L)
{
	const char *m = lua_tostring(L, -1);

	fatalx("policy engine: unprotected Lua error: %s",
	    m != NULL ? m : "?");
}

static void
plua_state_free(struct pstate *p)
{
	if (p == NULL)
		return;
	if (p->L != NULL) {
		lua_close(p->L);
		atomic_fetch_sub(&st_live, 1);
	}
	free(p);
}

static struct pstate *
plua_state_new(struct error *err)
{
	struct pstate *p = xcalloc(1, sizeof(*p));
	lua_State *L;
	int rc;

	p->limit = (size_t)atomic_load(&plua_mem_kib) * 1024;
	p->memo_ref = LUA_NOREF;
	L = lua_newstate(plua_alloc, p);
	if (L == NULL) {
		free(p);
		error_set(err, "cannot create a Lua state within %d KiB",
		    atomic_load(&plua_mem_kib));
		return NULL;
	}
	*(struct pstate **)lua_getextraspace(L) = p;
	p->L = L;
	atomic_fetch_add(&st_created, 1);
	atomic_fetch_add(&st_live, 1);
	lua_atpanic(L, plua_panic);
	lua_pushcfunction(L, plua_setup);
	rc = lua_pcall(L, 0, 0, 0);
	if (rc != LUA_OK) {
		error_set(err, "cannot build the Lua sandbox: %s",
		    rc == LUA_ERRMEM ? "memory limit too small" :
		    lua_tostring(L, -1) != NULL ? lua_tostring(L, -1) : "?");
		plua_state_free(p);
		return NULL;
	}
	return p;
}

static void
plua_key_destroy(void *v)
{
	plua_state_free(v);
}

static void
plua_key_init(void)
{
	if (pthread_key_create(&plua_key, plua_key_destroy) != 0)
		fatalx("policy engine: pthread_key_create failed");
}

static struct pstate *
plua_get(struct error *err)
{
	struct pstate *p;

	if (plua_tls != NULL)
		return plua_tls;
	pthread_once(&plua_once, plua_key_init);
	p = plua_state_new(err);
	if (p == NULL)
		return NULL;
	plua_tls = p;
	pthread_setspecific(plua_key, p);
	return p;
}

static void
plua_discard(void)
{
	struct pstate *p = plua_tls;

	plua_tls = NULL;
	pthread_setspecific(plua_key, NULL);
	plua_state_free(p);
}

void
plua_thread_release(void)
{
	if (plua_tls == NULL)
		return;
	plua_discard();
}

int
plua_health(struct error *err)
{
	struct pstate *p = plua_get(err);

	if (p == NULL)
		return -1;
	if (p->in_call || lua_gettop(p->L) != 0)
		return error_set(err, "policy engine: Lua state busy");
	return 0;
}

void
plua_stats(struct policy_stats *s)
{
	s->states_created = atomic_load(&st_created);
	s->states_live = atomic_load(&st_live);
	s->evaluations = atomic_load(&st_evals);
	s->failures = atomic_load(&st_failures);
	s->discards = atomic_load(&st_discards);
	s->compiles = atomic_load(&st_compiles);
}

/* ---------------------------------------------------------- evaluation */

/* The protected body of one call: argument 1 is the plua_call. */
static int
plua_main(lua_State *L)
{
	struct plua_call *c = lua_touserdata(L, 1);
	struct pstate *p = plua_p(L);
	uint8_t sha[HASH_MAX_SIZE];
	size_t shalen;
	int i, nres;

	lua_settop(L, 0);
	if (c->sha != NULL) {
		memcpy(sha, c->sha, 32);
		shalen = 32;
	} else if (hash_digest(HASH_SHA256, c->text, c->len, sha,
	    &shalen) != 0) {
		return luaL_error(L, "cannot hash the policy text");
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->cache_ref);	/* 1 */
	lua_pushlstring(L, (const char *)sha, shalen);
	if (lua_rawget(L, 1) != LUA_TFUNCTION) {		/* 2 */
		lua_pop(L, 1);
		p->phase = PHASE_COMPILE;
		if (luaL_loadbufferx(L, c->text, c->len, "=policy", "t") !=
		    LUA_OK)
			return lua_error(L);
		atomic_fetch_add(&st_compiles, 1);
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->env_ref);
		if (lua_setupvalue(L, 2, 1) == NULL)
			return luaL_error(L, "chunk without _ENV");
		if (p->ncached >= PLUA_CACHE_MAX) {
			luaL_unref(L, LUA_REGISTRYINDEX, p->cache_ref);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			p->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
			lua_replace(L, 1);
			p->ncached = 0;
		}
		lua_pushlstring(L, (const char *)sha, shalen);
		lua_pushvalue(L, 2);
		lua_rawset(L, 1);
		p->ncached++;
	}
	p->phase = PHASE_TOP;
	lua_call(L, 0, 1);					/* 2 */
	if (lua_type(L, 2) != LUA_TFUNCTION) {
		p->phase = PHASE_SHAPE;
		lua_pushfstring(L, "the policy must return a function "
		    "(`return function(...) ... end`), but the chunk returned "
		    "a %s value", luaL_typename(L, 2));
		return lua_error(L);
	}
	if (c->shape == PLUA_SHAPE_NONE)
		return 0;
	p->phase = PHASE_CALL;
	luaL_checkstack(L, c->nargs + 4, "arguments");
	for (i = 0; i < c->nargs; i++)
		presult_push_json(L, c->args[i]);
	lua_call(L, c->nargs, LUA_MULTRET);
	nres = lua_gettop(L) - 1;
	p->phase = PHASE_CONVERT;
	if (c->shape == PLUA_SHAPE_ATTESTATION) {
		if (nres < 1)
			lua_pushnil(L);
		p->failed_convert = presult_attestation(L, 2, c->v, &c->ext,
		    &p->conv_err) != 0;
	} else {
		p->failed_convert = presult_resource(L, 2, nres, &c->allowed,
		    c->reason, &p->conv_err) != 0;
	}
	return 0;
}

/* "policy:12: msg" -> "line 12: msg" (keeps anything else as is). */
static void
plua_format(enum plua_phase phase, const char *msg, struct error *err)
{
	char clean[POLICY_REASON_MAX - 96];
	const char *rest = NULL, *q;
	const char *what = phase == PHASE_COMPILE ? "syntax error" : "error";
	long line = 0;

	presult_clean(msg, strlen(msg), clean, sizeof(clean));
	if (strncmp(clean, "policy:", 7) == 0) {
		q = clean + 7;
		while (*q >= '0' && *q <= '9' && line < 100000000)
			line = line * 10 + (*q++ - '0');
		if (q > clean + 7 && *q == ':')
			rest = q + 1;
	}
	if (phase == PHASE_SHAPE)
		error_set(err, "%s", clean);
	else if (rest != NULL)
		error_set(err, "%s at line %ld:%s", what, line, rest);
	else
		error_set(err, "%s: %s", what, clean);
}

int
plua_run(struct plua_call *c, struct error *err)
{
	struct pstate *p;
	lua_State *L;
	int status, discard;

	memset(c->v, 0, sizeof(c->v));
	c->ext = NULL;
	c->allowed = 0;
	c->reason[0] = '\0';
	c->overran = 0;
	atomic_fetch_add(&st_evals, 1);
	if ((p = plua_get(err)) == NULL) {
		atomic_fetch_add(&st_failures, 1);
		return -1;
	}
	L = p->L;
	p->call = c;
	p->limit = (size_t)atomic_load(&plua_mem_kib) * 1024;
	p->remaining = (int64_t)atomic_load(&plua_kinstr) * 1000;
	p->deadline = now_mono_ns() + (uint64_t)atomic_load(&plua_time_ms) *
	    1000000;
	if (c->deadline != 0 && c->deadline < p->deadline)
		p->deadline = c->deadline;
	c->deadline = p->deadline;
	c->overran = 0;
	p->ticks = 0;
	p->abort = PABORT_NONE;
	p->abort_what = NULL;
	p->phase = PHASE_SETUP;
	p->now = atomic_load(&plua_clock) != 0 ?
	    (int64_t)atomic_load(&plua_clock) : now_unix();
	p->log = c->log;
	p->nlog = 0;
	p->dropped = 0;
	p->failed_convert = 0;
	p->in_call = 1;
	lua_settop(L, 0);
	lua_sethook(L, plua_hook, LUA_MASKCOUNT, PLUA_HOOK_COUNT);
	lua_pushcfunction(L, plua_main);
	lua_pushlightuserdata(L, c);
	status = lua_pcall(L, 1, 0, 0);
	lua_sethook(L, NULL, 0, 0);
	/* Finishing late is failing: a slow last library call must not
	 * let a policy past the wall limit. */
	if (p->abort == PABORT_NONE && now_mono_ns() > p->deadline)
		p->abort = PABORT_TIME;
	p->in_call = 0;
	json_decref(p->pending);
	p->pending = NULL;
	if (p->memo_ref != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, p->memo_ref);
		p->memo_ref = LUA_NOREF;
	}
	if (p->log != NULL && p->dropped > 0)
		json_array_append_new(p->log, json_sprintf("(%d more log "
		    "lines dropped)", p->dropped));
	p->log = NULL;
	p->call = NULL;
	if (status == LUA_OK && p->abort == PABORT_NONE &&
	    !p->failed_convert) {
		lua_settop(L, 0);
		return 0;
	}
	if (p->abort == PABORT_BUDGET)
		error_set(err, "instruction budget exceeded (%d thousand "
		    "instructions per evaluation)%s%s",
		    atomic_load(&plua_kinstr), p->abort_what != NULL ?
		    " while " : "", p->abort_what != NULL ? p->abort_what : "");
	else if (p->abort == PABORT_TIME)
		error_set(err, "time limit exceeded (%d ms per evaluation)%s%s",
		    atomic_load(&plua_time_ms), p->abort_what != NULL ?
		    " while " : "", p->abort_what != NULL ? p->abort_what : "");
	else if (status == LUA_ERRMEM)
		error_set(err, "memory limit exceeded (%d KiB per Lua state)",
		    atomic_load(&plua_mem_kib));
	else if (status == LUA_OK)
		*err = p->conv_err;
	else if (status == LUA_ERRERR)
		error_set(err, "error: C stack overflow (error while handling "
		    "an error)");
	else if (lua_type(L, -1) == LUA_TSTRING)
		plua_format(p->phase, lua_tostring(L, -1), err);
	else
		error_set(err, "error: the policy raised a %s value instead "
		    "of a message", luaL_typename(L, -1));
	presult_clean_error(err);
	discard = p->abort != PABORT_NONE || status == LUA_ERRMEM;
	c->overran = discard;
	lua_settop(L, 0);
	json_decref(c->ext);
	c->ext = NULL;
	c->allowed = 0;
	atomic_fetch_add(&st_failures, 1);
	if (discard) {
		atomic_fetch_add(&st_discards, 1);
		plua_discard();
	}
	return -1;
}

int
plua_check(const char *text, size_t len, struct error *err)
{
	struct plua_call c;

	memset(&c, 0, sizeof(c));
	c.label = "upload";
	c.text = text;
	c.len = len;
	c.shape = PLUA_SHAPE_NONE;
	return plua_run(&c, err);
}
