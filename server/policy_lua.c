/*
 * policy_lua.c: the policy engine's Lua states and one evaluation
 * (plua_run). One lua_State per thread, created on first use and reused
 * for every evaluation on that thread; compiled chunks are cached in it
 * by the SHA-256 of their text. Each evaluation re-runs the chunk's top
 * level, so no state survives from one evaluation to the next. A state
 * that overran a budget or ran out of memory is discarded and recreated
 * on the next call.
 *
 * The sandbox a state runs (what a policy can reach) is built by
 * policy_lua_sandbox.c; budgets are metered by policy_lua_budget.c with
 * the limits set here (plua_configure).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "../lib/hash.h"
#include "../lib/log.h"
#include "policy_internal.h"

#define PLUA_CACHE_MAX 64		/* compiled chunks kept per state */

static atomic_llong plua_clock;		/* tests: fixed "now" */
static atomic_int plua_kinstr = PLUA_DEFAULT_KINSTR;
static atomic_int plua_mem_kib = PLUA_DEFAULT_MEM_KIB;
static atomic_int plua_time_ms = PLUA_WALL_LIMIT_MS;
static atomic_ullong plua_gen;

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
	atomic_fetch_add(&plua_gen, 1);
}

uint64_t
plua_generation(void)
{
	return atomic_load(&plua_gen);
}

void
plua_mark_impure(lua_State *L)
{
	struct pstate *p = plua_p(L);

	if (p->call != NULL)
		p->call->impure = 1;
}

/* ------------------------------------------------------------- states */

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
	L = lua_newstate(plua_budget_alloc, p);
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
	lua_pushcfunction(L, plua_sandbox_setup);
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
	c->impure = 0;
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
	lua_sethook(L, plua_budget_hook, LUA_MASKCOUNT, PLUA_HOOK_COUNT);
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
