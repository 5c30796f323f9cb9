/*
 * policy.h: the embedded Lua 5.4 policy engine.
 *
 * Two kinds of policy, each stored with versions in the encrypted store
 * (table "policies"):
 *  - attestation policies, looked up as "<policy_id>_<tee_class>"
 *    ("default_cpu", "default_gpu", ...) as Trustee does;
 *  - the resource policy, id "resource-policy".
 *
 * A policy is a Lua chunk that returns a function (see docs/policies.md
 * and lua-policies/):
 *  - attestation:  return function(input) ... return {
 *        ["trust_vector"] = {executables = 3, hardware = 2, ...},
 *        extensions = { {name=..., key=..., value=...}, ... },  -- optional
 *        annotations = {...} }                                  -- optional
 *    input is the transformed claims (reference/attestation-service.md §0:
 *    {"<tee>": {...}, "report_data", "runtime_data_claims", ...}).
 *    Claims the vector omits are 0; an unknown claim name or a value
 *    outside -128..127 is a malformed result.
 *  - resource:  return function(claims, request) ...
 *        return allowed (boolean), reason (string) end
 *    claims: the verified EAR token payload; request: {plugin = "resource",
 *    ["resource-path"] = {"repo","type","tag"}, query = {k = v}, method =
 *    "GET"}.
 *
 * Sandbox: string, table, math, utf8 and the `trustee` library only
 * (trustee.rv(name) -> reference value or nil (unknown, expired, revoked),
 * trustee.log(...), hex/unhex, b64/unb64/b64url, sha256/384/512, now(),
 * parse_time(), contains(), equal(), null); globals read-only; an
 * instruction budget per call (cfg->policy_instructions thousands; work
 * inside library calls, pattern matching step by step, is paid from it),
 * a wall-clock limit per call (cfg->policy_time_ms, also inside library
 * calls and for dry runs) and a memory cap per state
 * (cfg->policy_memory_kib). Any error, budget overrun or malformed result
 * denies with a reason; so does finishing after the wall limit.
 * docs/policies.md has the details.
 *
 * Error messages name the line: "syntax error at line N: ..." (upload),
 * "error at line N: ..." (runtime), "malformed result: ...",
 * "instruction budget exceeded (...)", "memory limit exceeded (...)".
 *
 * Lua states are per thread and reused; compiled chunks are cached by
 * their text's hash. Thread-safe after policy_init. Without policy_init
 * (no store) the shipped defaults are the active policies, read-only.
 */
#ifndef TRUSTEE_POLICY_H
#define TRUSTEE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;
struct config;

enum policy_kind { POLICY_ATTESTATION, POLICY_RESOURCE };

#define POLICY_RESOURCE_ID "resource-policy"
#define POLICY_REASON_MAX 512

/* Seed the shipped defaults (lua-policies/, compiled in) into the store
 * when absent: default_cpu (and the other classes) and the resource policy
 * named by cfg->resource_policy. Stored versions win. */
int policy_init(struct store *st, const struct config *cfg,
    struct error *err);
void policy_shutdown(void);
/* Forget every cached active policy: the next evaluation of each reads it
 * from the store again (SIGHUP, reload.c). */
void policy_reload(void);

/*
 * Appraise one TEE's transformed claims with "<policy_id>_<tee_class>".
 * On success v[8] is the AR4SI vector in ear.c's claim order
 * (instance-identity, configuration, executables, file-system, hardware,
 * runtime-opaque, storage-opaque, sourced-data) and *extensions a new
 * object of extra appraisal members (may be empty). On failure (no such
 * policy, error, budget, malformed result) -1 with the reason: the caller
 * refuses the attestation.
 */
int policy_appraise(const char *policy_id, const char *tee_class,
    const json_t *input, int v[8], json_t **extensions, struct error *err);

#define POLICY_STAMP_LEN	40	/* policy_resource's stamp */

/*
 * Decide a resource request. 0 with *allowed set and reason filled
 * (always, for the log and the problem detail); -1 when the policy failed
 * (counts as deny; *allowed 0, the reason in both reason and err);
 * STORE_UNAVAILABLE (also a deny) when the policy is not cached and the
 * store cannot be reached: the caller answers 503, not a denial.
 */
int policy_resource(const json_t *claims, const json_t *request,
    int *allowed, char reason[POLICY_REASON_MAX],
    uint8_t stamp[POLICY_STAMP_LEN], struct error *err);
/*
 * A decision's stamp (policy_resource, when stamp is not NULL): what it
 * was made under, the SHA-256 of the policy text that ran and the
 * evaluation budgets' generation. A decision whose evaluation read the
 * clock (trustee.now), a reference value (trustee.rv) or random numbers
 * (math.random), or logged (trustee.log), depends on more than its
 * inputs: its stamp is all zeros. Otherwise the policy, a function of
 * (claims, request), gives the same decision for the same inputs while
 * the stamp stays the same, so a caller may keep the decision under
 * (stamp, inputs) and reuse it while policy_resource_stamp still says
 * the same stamp. Policies are written as such functions
 * (docs/policies.md): state a policy keeps between calls is per thread
 * and may not be consulted.
 *
 * policy_resource_stamp: the stamp a decision made now would have if it
 * depends only on its inputs: 0, or like policy_resource when the policy
 * cannot be loaded (-1, or STORE_UNAVAILABLE, with err set).
 */
int policy_resource_stamp(uint8_t stamp[POLICY_STAMP_LEN],
    struct error *err);

/*
 * Store a new version of a policy after compiling it, checking that it
 * returns a function (a syntax error names its line) and running it on
 * the built-in sample inputs (policy_probe.c: refused when it overruns a
 * budget on one or fails on all of them, naming the input, the error and
 * its line; a failure on some is a message appended to warnings, when not
 * NULL). The active policy is unchanged on any error. *version gets the
 * new version number. The text is at most 256 KiB of UTF-8 without NUL;
 * attestation ids are 1..128 of [A-Za-z0-9._-] (not starting with '.'),
 * the resource policy's id is POLICY_RESOURCE_ID.
 */
int policy_put(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int *version, json_t *warnings,
    struct error *err);
/* Text of a version (0 = active). 0 ok (*text malloc'd, NUL-terminated),
 * 1 unknown, -1 error. */
int policy_get(enum policy_kind kind, const char *id, int version,
    char **text, size_t *len, struct error *err);
/* [{"kind","id","active_version","updated","updated_by"}] */
int policy_list(json_t **out, struct error *err);
/* [{"version","created","created_by","sha256","active",
 * "restored_from"?}], oldest first. -1 for an unknown policy too. */
int policy_versions(enum policy_kind kind, const char *id, json_t **out,
    struct error *err);
/* Make an older version active again (recorded as a new version).
 * 0 ok, 1 unknown policy or version, -1 error (e.g. it no longer
 * compiles). */
int policy_restore(enum policy_kind kind, const char *id, int version,
    const char *who, int *new_version, struct error *err);

/*
 * Dry run: evaluate text (or, when text is NULL, the stored version of id)
 * against input without storing anything. input for attestation: the
 * transformed claims; for resource: {"claims": {...}, "request": {...}}.
 * *result is a new object {"result": <vector object | allowed bool>,
 * "status"?: ear status, "reason": str, "log": [str...], "error"?: str}.
 * Returns 0 whenever the evaluation ran (even if the policy failed: see
 * "error"), -1 only for bad arguments.
 */
int policy_test(enum policy_kind kind, const char *text, size_t len,
    const char *id, int version, const json_t *input, json_t **result,
    struct error *err);

/* Health: 0 when the engine can evaluate (creates nothing per call). */
int policy_health(struct error *err);

/* Counters since start (all threads), e.g. for /metrics and benchmarks. */
struct policy_stats {
	uint64_t states_created;	/* Lua states ever created */
	uint64_t states_live;
	uint64_t evaluations;		/* policy runs, uploads' checks too */
	uint64_t failures;		/* errors, budgets, malformed results */
	uint64_t discards;		/* states dropped after a budget overrun */
	uint64_t compiles;		/* chunk cache misses */
};
void policy_stats(struct policy_stats *out);

#endif
