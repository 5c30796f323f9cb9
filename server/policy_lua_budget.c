/*
 * policy_lua_budget.c: what a policy call pays. Budgets per call: an
 * instruction count (a count hook every PLUA_HOOK_COUNT instructions),
 * charged also for library work the hook cannot see (bytes allocated,
 * table shifting, ...; pattern matching runs on policy_pattern.c's
 * counted matcher, which pays as it goes and can be stopped mid-call),
 * and a wall clock, looked at in every hook, in every charge and once
 * more when the call returns (finishing late fails, plua_run); a memory
 * cap per state through the allocator. Once a budget is exhausted the
 * hook fires at every instruction, so a policy cannot pcall its way past
 * it.
 */
#include <stdlib.h>

#include "policy_internal.h"

#define PLUA_ALLOC_COST 64		/* bytes allocated per instruction */

/* Raise the abort error; the hook keeps raising at every instruction. */
static int
plua_budget_raise_abort(lua_State *L, struct pstate *p)
{
	lua_sethook(L, plua_budget_hook, LUA_MASKCOUNT, 1);
	lua_pushstring(L, p->abort == PABORT_TIME ? "time limit exceeded" :
	    "instruction budget exceeded");
	return lua_error(L);
}

/* Record the first abort; from now on the hook fires at every
 * instruction and raises. Never raises itself. */
static void
plua_budget_note_abort(struct pstate *p, enum plua_abort why, const char *what)
{
	if (p->abort == PABORT_NONE) {
		p->abort = why;
		p->abort_what = what;
	}
	if (p->L != NULL)
		lua_sethook(p->L, plua_budget_hook, LUA_MASKCOUNT, 1);
}

static int
plua_budget_abort(lua_State *L, struct pstate *p, enum plua_abort why,
    const char *what)
{
	plua_budget_note_abort(p, why, what);
	return plua_budget_raise_abort(L, p);
}

/*
 * Every PLUA_HOOK_COUNT instructions: pay for them and look at the clock
 * (a few tens of nanoseconds per hundred instructions; checking every
 * time keeps the overshoot of the wall limit to one hook period even when
 * each instruction is slow, e.g. comparing long strings).
 */
void
plua_budget_hook(lua_State *L, lua_Debug *ar)
{
	struct pstate *p = plua_p(L);

	(void)ar;
	if (!p->in_call)
		return;
	if (p->abort != PABORT_NONE)
		plua_budget_raise_abort(L, p);
	p->remaining -= PLUA_HOOK_COUNT;
	if (p->remaining < 0)
		plua_budget_abort(L, p, PABORT_BUDGET, NULL);
	p->ticks++;
	if (now_mono_ns() > p->deadline)
		plua_budget_abort(L, p, PABORT_TIME, NULL);
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
		plua_budget_note_abort(p, PABORT_BUDGET, what);
		return -1;
	}
	p->remaining -= (int64_t)n;
	if (now_mono_ns() > p->deadline) {
		plua_budget_note_abort(p, PABORT_TIME, what);
		return -1;
	}
	return 0;
}

int
plua_raise(lua_State *L)
{
	struct pstate *p = plua_p(L);

	if (p->abort == PABORT_NONE)
		plua_budget_note_abort(p, PABORT_BUDGET, NULL);
	return plua_budget_raise_abort(L, p);
}

/*
 * The allocator: refuses growth beyond the state's cap (Lua then collects
 * garbage and retries once before raising "not enough memory"), and
 * charges the instruction budget for bytes allocated during a call, so
 * that O(n) work hidden in one instruction (concatenation, string.rep)
 * is paid for.
 */
void *
plua_budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
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
				plua_budget_note_abort(p, PABORT_BUDGET,
				    "allocating memory");
		}
	}
	np = realloc(ptr, nsize);
	if (np == NULL)
		return nsize <= old ? ptr : NULL;
	p->used = p->used - old + nsize;
	return np;
}
