/*
 * policy_internal.h: interfaces between the policy engine's files.
 *  - policy.c: the active-policy cache, evaluation and lifecycle of
 *    policy.h, and the id and text checks;
 *  - policy_doc.c: stored versions (policy_put, _get, _list, _versions,
 *    _restore);
 *  - policy_test.c: dry runs (policy_test);
 *  - policy_lua.c: per-thread Lua states, the compiled-chunk cache, one
 *    evaluation (plua_run);
 *  - policy_lua_budget.c: instruction, wall-clock and memory budgets;
 *  - policy_lua_sandbox.c: the sandbox (safe libraries, read-only
 *    proxies, library cost wrappers);
 *  - policy_lib.c: the trustee library policies call (policy_lib_*);
 *  - policy_result.c: JSON <-> Lua conversion and the conversion of a
 *    policy's result into a trust vector or a decision (presult_*).
 * Not for use outside the engine, except by its tests, fuzzer and bench.
 */
#ifndef TRUSTEE_POLICY_INTERNAL_H
#define TRUSTEE_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <lua.h>

#include "policy.h"

#define POLICY_TEXT_MAX (256 * 1024)	/* bytes of Lua source */
#define POLICY_ID_MAX 128

/* Limits on what crosses the Lua boundary. */
#define PLUA_INPUT_DEPTH 64		/* JSON -> Lua nesting */
#define PRESULT_DEPTH 32		/* Lua -> JSON nesting */
#define PRESULT_NODES 10000		/* Lua -> JSON values */
#define PRESULT_BYTES (1024 * 1024)	/* Lua -> JSON string bytes */
#define PRESULT_EXTENSIONS 16
#define PLUA_LOG_LINES 100		/* trustee.log lines kept per call */
#define PLUA_LOG_LINE_MAX 1024

/* Default budgets (struct config: policy_instructions, policy_memory_kib)
 * and the wall-clock backstop for work the instruction count cannot see. */
#define PLUA_DEFAULT_KINSTR 10000
#define PLUA_DEFAULT_MEM_KIB 16384
#define PLUA_WALL_LIMIT_MS 2000

/* The eight AR4SI claims in ear.c's order (the v[8] index). */
extern const char *const presult_claim_names[8];

/* What kind of result a call converts. */
enum plua_shape { PLUA_SHAPE_ATTESTATION, PLUA_SHAPE_RESOURCE,
	PLUA_SHAPE_NONE };

/* One evaluation: inputs, then outputs filled by plua_run. */
struct plua_call {
	const char *label;		/* policy id, for the daemon log */
	const char *text;		/* Lua source (compiled unless cached) */
	size_t len;
	const uint8_t *sha;		/* SHA-256 of text, or NULL */
	const json_t *args[2];		/* borrowed; NULL passes nil */
	int nargs;
	enum plua_shape shape;
	json_t *log;			/* array to capture trustee.log lines
					 * into, or NULL */
	uint64_t deadline;		/* in: monotonic ns to stop by at the
					 * latest (0: the limit from now);
					 * out: the one used */
	int overran;			/* out: a budget or the memory cap
					 * stopped it */
	int impure;			/* out: it read the clock, a
					 * reference value or random numbers,
					 * or logged: the same inputs may not
					 * give the same result again */
	/* attestation */
	int v[8];
	json_t *ext;			/* new object {member: value} */
	/* resource */
	int allowed;
	char reason[POLICY_REASON_MAX];
};

/* Budgets for every later call (thousands of instructions, KiB, wall
 * clock ms). Values <= 0 restore the defaults. */
void plua_configure(int kinstr, int mem_kib, int time_ms);
/*
 * Evaluate c->text with c->args in this thread's state. 0 on success
 * with the shape's outputs set; -1 with the reason in err: a syntax
 * error ("syntax error at line N: ..."), a runtime error ("error at line
 * N: ..."), a budget overrun, or a malformed result ("malformed result:
 * ..."). Never raises; a state that overran a budget is discarded.
 */
int plua_run(struct plua_call *c, struct error *err);
/* Changes whenever plua_configure changes the budgets: a result made
 * under one budget is not known to fit another. */
uint64_t plua_generation(void);
/* The running call's result depends on more than its inputs (see
 * plua_call.impure). */
void plua_mark_impure(lua_State *L);
/* Tests: evaluate as of this unix time (trustee.now(), rv() expiry);
 * 0 restores the real clock. */
void plua_test_clock(int64_t now);
/* Compile text and run its top level: it must return a function. */
int plua_check(const char *text, size_t len, struct error *err);
/* Free this thread's state (others go at thread exit). */
void plua_thread_release(void);
int plua_health(struct error *err);

struct policy_stats;
void plua_stats(struct policy_stats *s);

/* ------------------------------ policy.c, policy_doc.c, policy_test.c */

struct store;

#define POLICY_TABLE "policies"
#define POLICY_KEY_MAX (POLICY_ID_MAX + 32)	/* "<kind>:<id>" */
#define POLICY_SHIPPED_BY "trusteed (shipped default)"

/* The policy store (policy_init), or NULL: the shipped defaults only. */
extern struct store *policy_store;

struct policy_shipped {
	const char *id;
	const char *file;
};
/* The shipped attestation policies (policy.c), seeded into the store. */
extern const struct policy_shipped policy_shipped_attestation[2];

/* "attestation" or "resource". */
const char *policy_kind_name(enum policy_kind kind);
/* The shipped file for (kind, id), or NULL. */
const char *policy_shipped_file(enum policy_kind kind, const char *id);
/* Attestation ids: 1..POLICY_ID_MAX of [A-Za-z0-9._-], not starting
 * with '.' ("default_cpu"); the resource policy id is fixed. */
int policy_id_check(enum policy_kind kind, const char *id,
    struct error *err);
/* The meta row name "<kind>:<id>". */
void policy_key(enum policy_kind kind, const char *id,
    char key[POLICY_KEY_MAX]);
/* A policy text: 1..POLICY_TEXT_MAX bytes of UTF-8 without NUL. */
int policy_text_check(const char *text, size_t len, struct error *err);
/* strlcpy: src cut to cap - 1 bytes. */
void policy_copy(char *dst, size_t cap, const char *src);
/* Unlink key (every entry when NULL) from the active-policy cache. */
void policy_cache_drop(const char *key);

/* Store row name: 0 found (*out new object), 1 absent, -1 error. */
int policy_doc_row_get(const char *name, json_t **out, struct error *err);
/* Integer member k of a meta row, 0 when absent or out of range. */
int policy_doc_meta_int(const json_t *meta, const char *k);
/* Text of version v (>= 1) of key: 0, 1 absent, -1 error. *rowp (if not
 * NULL) gets the version row. */
int policy_doc_version_text(const char *key, int v, char **text,
    size_t *len, json_t **rowp, struct error *err);

/* ---------------------- policy_lua*.c <-> policy_lib.c: the Lua states */

enum plua_abort { PABORT_NONE, PABORT_BUDGET, PABORT_TIME };

enum plua_phase { PHASE_SETUP, PHASE_COMPILE, PHASE_TOP, PHASE_SHAPE,
	PHASE_CALL, PHASE_CONVERT };

struct pstate {
	lua_State *L;
	size_t used;			/* bytes held by the state */
	size_t limit;
	int in_call;
	int64_t remaining;		/* instructions left in this call */
	uint64_t deadline;		/* monotonic ns */
	unsigned ticks;
	enum plua_abort abort;
	const char *abort_what;		/* what ran out, for the reason */
	enum plua_phase phase;
	int64_t now;			/* trustee.now(), rv() time */
	struct plua_call *call;
	json_t *log;			/* capture array or NULL */
	int nlog;
	int dropped;
	json_t *pending;		/* freed after the call: raise-safe */
	int env_ref;
	int cache_ref;
	int names_ref;
	int memo_ref;			/* rv() results of this call */
	int ncached;
	int failed_convert;
	struct error conv_err;
};

/* This state's engine data (kept in the Lua extra space). */
static inline struct pstate *
plua_p(lua_State *L)
{
	return *(struct pstate **)lua_getextraspace(L);
}

/* ------------------------------------------------- policy_lua_budget.c */

#define PLUA_HOOK_COUNT 100		/* instructions between count hooks */

/* Charge n instructions' worth of library work without raising, for C
 * code that must unwind first: 0, or -1 once a budget is exhausted
 * (recorded; raise it with plua_raise). */
int plua_spend(lua_State *L, double n, const char *what);
/* Raise the recorded budget error (does not return). Once raised it is
 * raised again at every instruction, so pcall cannot swallow it. */
int plua_raise(lua_State *L);
/* Charge n instructions' worth of library work before doing it; raises
 * when a budget (instructions or wall clock) is exhausted. Inline: every
 * wrapped library call pays through it. */
static inline void
plua_charge(lua_State *L, double n, const char *what)
{
	if (plua_spend(L, n, what) != 0)
		plua_raise(L);
}
/* The count hook plua_run installs (every PLUA_HOOK_COUNT instructions):
 * pays for them, looks at the clock, raises once a budget is gone. */
void plua_budget_hook(lua_State *L, lua_Debug *ar);
/* The allocator of every state (ud: its struct pstate): refuses growth
 * beyond p->limit and charges allocations during a call. */
void *plua_budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* ------------------------------------------------ policy_lua_sandbox.c */

/* Build the sandbox in a new state (runs protected, on an empty stack);
 * sets the state's env_ref, cache_ref and names_ref. */
int plua_sandbox_setup(lua_State *L);
/* tostring without addresses: tables, functions, ... print their type. */
const char *plua_tostring(lua_State *L, int idx);
/* Push the trustee library table (with trustee.null = PRESULT_NULL);
 * defined in policy_lib.c. */
void policy_lib_open(lua_State *L);

/* ------------------------------------------------------ policy_probe.c */

/*
 * The upload check: run text as a (kind, id) policy on the built-in sample
 * inputs. -1 with the reason (naming the input and the error with its
 * line) when it overruns a budget on any of them or fails on all of them;
 * 0 otherwise, with a message appended to warnings (when not NULL) for
 * each input it fails on.
 */
int policy_probe(enum policy_kind kind, const char *id, const char *text,
    size_t len, json_t *warnings, struct error *err);

/* ----------------------------------------------------- policy_pattern.c */

#define PPAT_MAXCAPTURES 32		/* Lua's LUA_MAXCAPTURES */
#define PPAT_MAXDEPTH 200		/* Lua's MAXCCALLS: "too complex" */
#define PPAT_TICK 1024			/* steps between tick calls */
#define PPAT_CAP_UNFINISHED (-1)
#define PPAT_CAP_POSITION (-2)

enum ppat_status { PPAT_OK, PPAT_EPATTERN, PPAT_STOPPED };

/*
 * One pattern match state (Lua 5.4 patterns, counted steps). The subject
 * and pattern are borrowed. tick, when set, is called about every
 * PPAT_TICK steps with the total so far; a nonzero return stops the match
 * (status PPAT_STOPPED). A malformed pattern gives PPAT_EPATTERN with
 * Lua's message in msg. Once status is not PPAT_OK every call fails.
 */
struct ppat {
	const char *src_init, *src_end, *p_end;
	int level, depth;
	struct {
		const char *init;
		ptrdiff_t len;		/* or PPAT_CAP_* */
	} capture[PPAT_MAXCAPTURES];
	uint64_t steps, next_tick;
	int (*tick)(void *arg, uint64_t steps);
	void *tick_arg;
	enum ppat_status status;
	char msg[64];
};

void ppat_init(struct ppat *ms, const char *src, size_t srclen,
    const char *pat, size_t patlen);
/* Forget captures and depth before a new attempt (steps accumulate). */
void ppat_reset(struct ppat *ms);
/* Match pattern p (up to the p_end given to ppat_init; a leading '^' is
 * the caller's business) at s: the end of the match, or NULL (no match,
 * or status not PPAT_OK). Resets captures first. */
const char *ppat_match(struct ppat *ms, const char *s, const char *p);
/* Capture i of the match s..e (i = 0 without captures is the whole
 * match): 0 with *start and *len (PPAT_CAP_POSITION: a position capture
 * at *start), or -1 with status PPAT_EPATTERN. */
int ppat_capture(struct ppat *ms, int i, const char *s, const char *e,
    const char **start, ptrdiff_t *len);
/* 1 when p has a magic character (find must use the matcher). */
int ppat_has_specials(const char *p, size_t len);

/* ----------------------------------------------------- policy_strlib.c */

/* Replace string.find, match, gmatch and gsub in the string library table
 * at index lib with the counted versions (also reached as s:find(...)). */
void policy_strlib_open(lua_State *L, int lib);

/* ------------------------------------------------------ policy_result.c */

/* The sentinel that stands for JSON null inside arrays (trustee.null). */
extern const char presult_null_tag;
#define PRESULT_NULL ((void *)&presult_null_tag)

/*
 * Push j as a Lua value: objects and arrays become tables (arrays 1-based),
 * null members of an object are left out, null array elements become
 * trustee.null. Raises a Lua error beyond PLUA_INPUT_DEPTH: call it only
 * in protected code.
 */
void presult_push_json(lua_State *L, const json_t *j);
/*
 * Convert the Lua value at idx to JSON within the PRESULT_* limits: nil
 * and trustee.null -> null; a table with keys exactly 1..n -> array,
 * with string keys only (or empty) -> object; NaN/inf, other key types,
 * functions, userdata, invalid UTF-8 or cycles -> error. Never raises.
 */
int presult_to_json(lua_State *L, int idx, json_t **out, struct error *err);
/*
 * An attestation policy's result at idx: {trust_vector = {...},
 * extensions = {{name, key, value}...}?, annotations = any?}. v[8] gets
 * the vector (omitted claims 0); *ext a new object of appraisal members
 * (extension names, and "ear.trustee.annotations"). Never raises.
 */
int presult_attestation(lua_State *L, int idx, int v[8], json_t **ext,
    struct error *err);
/* A resource policy's results (first, nres of them): boolean allowed,
 * optional string reason (default reasons when absent). Never raises. */
int presult_resource(lua_State *L, int first, int nres, int *allowed,
    char reason[POLICY_REASON_MAX], struct error *err);
/* Copy at most cap-1 bytes of in to out for logs, audit and problem
 * details: control bytes become '?', invalid UTF-8 becomes '?', and a cut
 * is marked with "...". */
void presult_clean(const char *in, size_t len, char *out, size_t cap);
/* Make err->msg safe the same way (it may have been cut mid-character). */
void presult_clean_error(struct error *err);
/* Deep equality of two Lua values (numbers by value, tables by content,
 * bounded depth). Every entry visited is paid from the call's budget
 * (plua_spend); once that runs out the answer is 0 and the abort is
 * recorded, so callers in a policy call must then plua_raise. Never
 * raises. */
int presult_equal(lua_State *L, int a, int b, int depth);

#endif
