/*
 * policy_strlib.c: string.find, string.match, string.gmatch and
 * string.gsub as policies see them: Lua 5.4's functions, same arguments,
 * results and error messages, on the counted matcher of policy_pattern.c.
 *
 * Cost: every matcher step is one instruction of the call's budget, paid
 * every PPAT_TICK steps while the match runs (so the budget and the wall
 * clock stop a match in the middle: policy_lua.c's plua_spend), plain
 * searches cost a sixteenth of an instruction per byte (memmem is
 * linear), and gsub pays for each replacement string it expands. A match
 * that runs out of budget raises the budget error, which the policy
 * cannot catch (policy_lua.c), so the evaluation denies.
 */
#include <string.h>

#include <lauxlib.h>

#include "policy_internal.h"

#define PSTR_WHAT "pattern matching"

/* The budget side of one match: steps already paid for. */
struct pstr_meter {
	lua_State *L;
	uint64_t paid;
};

static int
pstr_tick(void *arg, uint64_t steps)
{
	struct pstr_meter *m = arg;
	uint64_t n = steps - m->paid;

	m->paid = steps;
	return plua_spend(m->L, (double)n, PSTR_WHAT);
}

static void
pstr_start(lua_State *L, struct ppat *ms, struct pstr_meter *m,
    const char *s, size_t ls, const char *p, size_t lp)
{
	ppat_init(ms, s, ls, p, lp);
	m->L = L;
	m->paid = 0;
	ms->tick = pstr_tick;
	ms->tick_arg = m;
}

/* Pay for the steps so far; raise if a budget ran out or the pattern is
 * malformed. */
static void
pstr_settle(lua_State *L, struct ppat *ms, struct pstr_meter *m)
{
	uint64_t n = ms->steps - m->paid;

	m->paid = ms->steps;
	if (ms->status == PPAT_STOPPED || plua_spend(L, (double)n,
	    PSTR_WHAT) != 0)
		plua_raise(L);
	if (ms->status == PPAT_EPATTERN)
		luaL_error(L, "%s", ms->msg);
}

/* Lua's posrelatI: a 1-based start position, clipped to 1. */
static size_t
pstr_posrelat(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 1;
	return len + (size_t)pos + 1;
}

static void
pstr_push_capture(lua_State *L, struct ppat *ms, int i, const char *s,
    const char *e)
{
	const char *start;
	ptrdiff_t len;

	if (ppat_capture(ms, i, s, e, &start, &len) != 0)
		luaL_error(L, "%s", ms->msg);
	if (len == PPAT_CAP_POSITION)
		lua_pushinteger(L, (lua_Integer)(start - ms->src_init) + 1);
	else
		lua_pushlstring(L, start, (size_t)len);
}

/* Push the captures (or the whole match s..e when there are none and s is
 * not NULL); returns how many. */
static int
pstr_push_captures(lua_State *L, struct ppat *ms, const char *s,
    const char *e)
{
	int n = ms->level == 0 && s != NULL ? 1 : ms->level, i;

	luaL_checkstack(L, n, "too many captures");
	for (i = 0; i < n; i++)
		pstr_push_capture(L, ms, i, s, e);
	return n;
}

static int
pstr_find_aux(lua_State *L, int find)
{
	size_t ls, lp, init;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	const char *s1, *e, *f;
	struct pstr_meter m;
	struct ppat ms;
	int anchor;

	init = pstr_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
	if (init > ls) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || !ppat_has_specials(p, lp))) {
		plua_charge(L, 1 + (double)(ls - init + lp) / 16,
		    "searching a string");
		f = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
		if (f != NULL) {
			lua_pushinteger(L, (lua_Integer)(f - s) + 1);
			lua_pushinteger(L, (lua_Integer)(f - s + lp));
			return 2;
		}
		luaL_pushfail(L);
		return 1;
	}
	anchor = lp > 0 && p[0] == '^';
	if (anchor) {
		p++;
		lp--;
	}
	pstr_start(L, &ms, &m, s, ls, p, lp);
	for (s1 = s + init;; s1++) {
		e = ppat_match(&ms, s1, p);
		if (ms.status != PPAT_OK)
			break;
		if (e != NULL) {
			pstr_settle(L, &ms, &m);
			if (!find)
				return pstr_push_captures(L, &ms, s1, e);
			lua_pushinteger(L, (lua_Integer)(s1 - s) + 1);
			lua_pushinteger(L, (lua_Integer)(e - s));
			return pstr_push_captures(L, &ms, NULL, NULL) + 2;
		}
		if (anchor || s1 >= ms.src_end)
			break;
	}
	pstr_settle(L, &ms, &m);
	luaL_pushfail(L);
	return 1;
}

static int
pstr_find(lua_State *L)
{
	return pstr_find_aux(L, 1);
}

static int
pstr_match(lua_State *L)
{
	return pstr_find_aux(L, 0);
}

/* gmatch's iteration state (a userdata upvalue; offsets into the
 * subject, which is upvalue 1). */
struct pstr_gmatch {
	size_t pos;
	size_t last;			/* end of the last match, or NONE */
};
#define PSTR_NONE ((size_t)-1)

static int
pstr_gmatch_next(lua_State *L)
{
	size_t ls, lp;
	const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
	const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
	struct pstr_gmatch *gm = lua_touserdata(L, lua_upvalueindex(3));
	const char *src, *e;
	struct pstr_meter m;
	struct ppat ms;
	size_t i;

	pstr_start(L, &ms, &m, s, ls, p, lp);
	for (i = gm->pos; i <= ls; i++) {
		src = s + i;
		e = ppat_match(&ms, src, p);
		if (ms.status != PPAT_OK)
			break;
		if (e != NULL && (gm->last == PSTR_NONE ||
		    e != s + gm->last)) {
			pstr_settle(L, &ms, &m);
			gm->pos = gm->last = (size_t)(e - s);
			return pstr_push_captures(L, &ms, src, e);
		}
	}
	pstr_settle(L, &ms, &m);
	gm->pos = ls + 1;	/* done: later calls find nothing at once */
	return 0;
}

/* '^' does not anchor in gmatch (it would stop the iteration); it is an
 * ordinary character there, as in Lua. */
static int
pstr_gmatch(lua_State *L)
{
	size_t ls, lp, init;
	struct pstr_gmatch *gm;

	luaL_checklstring(L, 1, &ls);
	luaL_checklstring(L, 2, &lp);
	init = pstr_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
	lua_settop(L, 2);
	gm = lua_newuserdatauv(L, sizeof(*gm), 0);
	gm->pos = init > ls ? ls + 1 : init;
	gm->last = PSTR_NONE;
	lua_pushcclosure(L, pstr_gmatch_next, 3);
	return 1;
}

/* Expand the replacement string (argument 3) for the match s..e. */
static void
pstr_add_s(lua_State *L, luaL_Buffer *b, struct ppat *ms, const char *s,
    const char *e)
{
	size_t l;
	const char *news = lua_tolstring(L, 3, &l), *p;
	const char *end = news + l;
	const char *cap;
	ptrdiff_t len;

	plua_charge(L, 1 + (double)l / 16, "string.gsub");
	while ((p = memchr(news, '%', (size_t)(end - news))) != NULL) {
		luaL_addlstring(b, news, (size_t)(p - news));
		p++;
		if (p < end && *p == '%') {
			luaL_addchar(b, '%');
		} else if (p < end && *p == '0') {
			luaL_addlstring(b, s, (size_t)(e - s));
		} else if (p < end && *p >= '1' && *p <= '9') {
			if (ppat_capture(ms, *p - '1', s, e, &cap, &len) != 0)
				luaL_error(L, "%s", ms->msg);
			if (len == PPAT_CAP_POSITION) {
				lua_pushinteger(L, (lua_Integer)(cap -
				    ms->src_init) + 1);
				luaL_addvalue(b);
			} else {
				luaL_addlstring(b, cap, (size_t)len);
			}
		} else {
			luaL_error(L, "invalid use of '%%' in replacement "
			    "string");
		}
		news = p + 1;
	}
	luaL_addlstring(b, news, (size_t)(end - news));
}

/* Add the replacement for s..e; 1 when it changed the text. */
static int
pstr_add_value(lua_State *L, luaL_Buffer *b, struct ppat *ms,
    const char *s, const char *e, int tr)
{
	switch (tr) {
	case LUA_TFUNCTION:
		lua_pushvalue(L, 3);
		lua_call(L, pstr_push_captures(L, ms, s, e), 1);
		break;
	case LUA_TTABLE:
		pstr_push_capture(L, ms, 0, s, e);
		lua_gettable(L, 3);
		break;
	default:
		pstr_add_s(L, b, ms, s, e);
		return 1;
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
		return 0;
	}
	if (!lua_isstring(L, -1))
		return luaL_error(L, "invalid replacement value (a %s)",
		    luaL_typename(L, -1));
	luaL_addvalue(b);
	return 1;
}

static int
pstr_gsub(lua_State *L)
{
	size_t srcl, lp;
	const char *src = luaL_checklstring(L, 1, &srcl);
	const char *p = luaL_checklstring(L, 2, &lp);
	const char *lastmatch = NULL, *e;
	int tr = lua_type(L, 3), anchor, changed = 0;
	lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
	lua_Integer n = 0;
	struct pstr_meter m;
	struct ppat ms;
	luaL_Buffer b;

	luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
	    tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
	    "string/function/table");
	luaL_buffinit(L, &b);
	anchor = lp > 0 && p[0] == '^';
	if (anchor) {
		p++;
		lp--;
	}
	pstr_start(L, &ms, &m, src, srcl, p, lp);
	while (n < max_s) {
		e = ppat_match(&ms, src, p);
		if (ms.status != PPAT_OK)
			pstr_settle(L, &ms, &m);
		if (e != NULL && e != lastmatch) {
			n++;
			/* pay before running the replacement's own code */
			pstr_settle(L, &ms, &m);
			changed |= pstr_add_value(L, &b, &ms, src, e, tr);
			src = lastmatch = e;
		} else if (src < ms.src_end) {
			luaL_addchar(&b, *src++);
		} else {
			break;
		}
		if (anchor)
			break;
	}
	pstr_settle(L, &ms, &m);
	if (!changed) {
		lua_pushvalue(L, 1);
	} else {
		luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

void
policy_strlib_open(lua_State *L, int lib)
{
	static const luaL_Reg funcs[] = {
		{ "find", pstr_find }, { "match", pstr_match },
		{ "gmatch", pstr_gmatch }, { "gsub", pstr_gsub },
		{ NULL, NULL }
	};
	const luaL_Reg *f;

	lib = lua_absindex(L, lib);
	for (f = funcs; f->name != NULL; f++) {
		lua_pushcfunction(L, f->func);
		lua_setfield(L, lib, f->name);
	}
}
