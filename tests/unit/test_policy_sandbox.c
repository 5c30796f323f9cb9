/*
 * test_policy_sandbox.c: what a policy can and cannot reach: escapes
 * from the Lua sandbox (missing globals, locked metatables, the
 * instruction, memory and time limits, malformed results) are denied
 * with their reason and leave the engine working; the trustee library
 * and the standard functions a policy keeps work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../lib/embedded.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/policy.h"
#include "../../server/policy_internal.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "policyfix.h"

static int
setup(void **state)
{
	return policyfix_setup(state, "test_policy_sandbox");
}

struct escape {
	const char *name;
	const char *body;	/* inside function(claims, request) */
	const char *reason;	/* expected in the denial */
	const char *alt;	/* or this */
};

static const struct escape escapes[] = {
	{ "io.open", "local f = io.open('/etc/passwd') return true, f:read()",
	  "global 'io'", NULL },
	{ "os.execute", "os.execute('id') return true, 'escaped'",
	  "global 'os'", NULL },
	{ "require", "local os = require('os') return true, 'escaped'",
	  "global 'require'", NULL },
	{ "package", "return true, package.path", "global 'package'", NULL },
	{ "load bytecode", "local f = load(string.dump(function() end)) "
	  "return true, 'escaped'", "global 'load'", "field 'dump'" },
	{ "string.dump gone", "if string.dump == nil and ('').dump == nil "
	  "then error('no dump') end return true, 'escaped'", "no dump", NULL },
	{ "loadstring/dofile", "return true, dofile('/etc/passwd') or "
	  "loadstring('x')", "global 'dofile'", NULL },
	{ "debug", "return true, debug.getregistry()", "global 'debug'",
	  NULL },
	{ "collectgarbage", "collectgarbage('stop') return true, 'x'",
	  "global 'collectgarbage'", NULL },
	{ "print", "print('x') return true, 'x'", "global 'print'", NULL },
	{ "coroutine", "return true, coroutine.create(print)",
	  "global 'coroutine'", NULL },
	{ "string.rep bomb", "local s = string.rep('x', 1 << 30) "
	  "return true, s", "instruction budget exceeded", "memory limit" },
	{ "string.rep 64 MiB", "local s = string.rep('x', 64 << 20) "
	  "return true, #s", "memory limit exceeded", NULL },
	{ "string.rep of nothing", "local s = string.rep('', 1 << 60) "
	  "return true, s", "per evaluation) while string.rep",
	  NULL },
	{ "__len shifting", "local t = setmetatable({}, {__len = function() "
	  "return 1 << 50 end}) table.insert(t, 1, 'x') return true, 'x'",
	  "per evaluation) while shifting", NULL },
	{ "long string compares", "local a = string.rep('x', 4 << 20) "
	  "local b = a:sub(1) while true do local c = a == b end",
	  "time limit exceeded", "instruction budget exceeded" },
	{ "doubling", "local s = 'x' while true do s = s .. s end",
	  "memory limit exceeded", "instruction budget" },
	{ "string.format bomb", "local s = string.format('%099999999d', 1) "
	  "return true, s", "invalid conversion", "too long" },
	{ "string.format %p", "return false, string.format('%p', {})",
	  "%p", NULL },
	{ "deep recursion", "local function f(n) return 1 + f(n + 1) end "
	  "return true, f(1)", "stack overflow", "memory limit" },
	{ "C stack recursion", "local t = setmetatable({}, {__index = "
	  "function(t, k) return t[k] end}) return true, t.x",
	  "stack overflow", NULL },
	{ "infinite loop", "while true do end", "instruction budget exceeded",
	  NULL },
	{ "pcall loop", "while true do pcall(function() while true do end "
	  "end) end", "instruction budget exceeded", NULL },
	{ "pcall memory", "local ok = pcall(string.rep, 'x', 64 << 20) "
	  "while true do end", "instruction budget exceeded", NULL },
	{ "exponential pattern", "return true, tostring(string.find("
	  "string.rep('a', 40), 'a*a*a*a*a*a*a*a*a*b'))",
	  "per evaluation) while pattern matching", NULL },
	{ "table.insert shifting", "local t = {} for i = 1, 100000 do "
	  "t[i] = i end for i = 1, 1e9 do table.insert(t, 1, i) end",
	  "instruction budget exceeded", NULL },
	{ "concat copying", "local s = string.rep('x', 4 << 20) "
	  "for i = 1, 1e9 do local y = s .. i end",
	  "instruction budget exceeded", "memory limit" },
	{ "getmetatable('')", "local mt = getmetatable('') "
	  "if type(mt) == 'table' then mt.__index = {} return true, 'x' end "
	  "error('string metatable is ' .. tostring(mt))",
	  "string metatable is locked", NULL },
	{ "string metatable __index", "getmetatable('').__index.upper = nil "
	  "return true, 'escaped'", "attempt to index", NULL },
	{ "rawset(_G)", "rawset(_G, 'x', 1) return true, 'escaped'",
	  "global 'rawset'", NULL },
	{ "setmetatable(_ENV)", "setmetatable(_ENV, {}) return true, 'x'",
	  "protected metatable", NULL },
	{ "setmetatable(_G)", "setmetatable(_G, {__newindex = rawset}) "
	  "return true, 'x'", "protected metatable", NULL },
	{ "global assignment", "x = 1 return true, 'x'", "cannot assign 'x'",
	  NULL },
	{ "library write", "string.upper = nil return true, 'x'",
	  "cannot assign 'upper'", NULL },
	{ "library via pairs", "for k, v in pairs(string) do end "
	  "local f, s = pairs(string) s.upper = nil return true, 'x'",
	  "cannot assign 'upper'", NULL },
	{ "__gc", "setmetatable({}, {__gc = function() while true do end "
	  "end}) return true, 'x'", "__gc", NULL },
	{ "error object", "error({})", "raised a table", NULL },
	{ "huge result list", "local t = {} for i = 1, 100000 do t[i] = i "
	  "end return table.unpack(t)", "malformed result", NULL },
	{ "non-string reason", "return false, {}", "malformed result", NULL },
	{ "non-boolean", "return 1, 'x'", "malformed result", NULL },
};

static void
test_sandbox_escapes(void **state)
{
	char text[1024], reason[POLICY_REASON_MAX];
	struct policy_stats before, after;
	json_t *req = policyfix_request_for("resource");
	json_t *good = policyfix_claims_for("snp", "affirming", 2);
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(escapes); i++) {
		const struct escape *e = &escapes[i];

		/* the guard keeps the upload check's requests (other paths)
		 * away from the body, as a policy may */
		snprintf(text, sizeof(text), "return function(claims, request)"
		    " if request['resource-path'][1] ~= 'repo' then return "
		    "false, 'no' end\n%s\nend\n", e->body);
		policyfix_put_resource_ok(text);
		r = policyfix_decide(good, req, reason);
		if (r == 1)
			fail_msg("escape '%s' was allowed: %s", e->name,
			    reason);
		/* a slow (sanitizer) build may meet the wall limit first */
		if (strstr(reason, e->reason) == NULL &&
		    (e->alt == NULL || strstr(reason, e->alt) == NULL) &&
		    !(strstr(e->reason, "budget") != NULL &&
		    strstr(reason, "time limit exceeded") != NULL))
			fail_msg("escape '%s': reason \"%s\" lacks \"%s\"",
			    e->name, reason, e->reason);
		/* the engine keeps working: the default policy allows */
		policyfix_put_resource_ok(
		    policyfix_shipped("resource_default.lua"));
		policy_stats(&before);
		r = policyfix_decide(good, req, reason);
		if (r != 1)
			fail_msg("after '%s': %s", e->name, reason);
		policy_stats(&after);
		assert_int_equal(after.states_created, before.states_created);
	}
	/* the big reason is cut, the address is not shown */
	policyfix_put_resource_ok("return function() return false, "
	    "tostring({}) .. string.rep('y', 100000) end");
	assert_int_equal(policyfix_decide(good, req, reason), 0);
	assert_true(strlen(reason) < POLICY_REASON_MAX);
	assert_null(strstr(reason, "0x"));
	policyfix_assert_contains(reason, "tableyyy");
	json_decref(good);
	json_decref(req);
}

static void
test_trustee_library(void **state)
{
	json_t *in = policyfix_sample_input(), *res;
	const char *pol =
	    "local t = trustee\n"
	    "local function check(c, what) if not c then error(what, 2) end end\n"
	    "return function(input)\n"
	    "check(t.hex('\\1\\255') == '01ff', 'hex')\n"
	    "check(t.unhex('01FF') == '\\1\\255', 'unhex')\n"
	    "check(t.unhex('0g') == nil, 'unhex bad')\n"
	    "check(t.unhex('abc') == nil, 'unhex odd')\n"
	    "check(t.b64('hi?') == 'aGk/', 'b64')\n"
	    "check(t.b64url('hi?') == 'aGk_', 'b64url')\n"
	    "check(t.unb64('aGk/') == 'hi?', 'unb64 std')\n"
	    "check(t.unb64('aGk_') == 'hi?', 'unb64 url')\n"
	    "check(t.unb64('aGk') == 'hi', 'unb64 nopad')\n"
	    "check(t.unb64('a*') == nil, 'unb64 bad')\n"
	    "check(t.sha256('abc') == 'ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad', 'sha256')\n"
	    "check(#t.sha384('') == 96 and #t.sha512('') == 128, 'sha2')\n"
	    "check(t.parse_time('2025-01-02T03:04:05Z') == 1735787045, 'time')\n"
	    "check(t.parse_time('yesterday') == nil, 'time bad')\n"
	    "check(math.type(t.now()) == 'integer' and t.now() > 1700000000, "
	    "'now')\n"
	    "check(t.contains({'a', 1, {x = 1}}, 1.0), 'contains num')\n"
	    "check(t.contains({'a', {x = {1}}}, {x = {1}}), 'contains deep')\n"
	    "check(not t.contains(nil, 1) and not t.contains('abc', 'a'), "
	    "'contains nonlist')\n"
	    "check(t.equal({1, {a = 'b'}}, {1, {a = 'b'}}), 'equal')\n"
	    "check(not t.equal({1}, {1, 2}), 'not equal')\n"
	    "check(t.rv('nothing here') == nil, 'rv missing')\n"
	    "check(t.rv('svn')[1] == '1', 'rv')\n"
	    "check(tostring(t.null) == 'null', 'null')\n"
	    "check(input.runtime_data_claims.nonce == 'n', 'input')\n"
	    "check(input.sample.platform_version.minor == 4, 'int')\n"
	    "check(math.type(input.sample.platform_version.minor) == "
	    "'integer', 'int type')\n"
	    "check(select('#', string.byte('abc', 1, -1)) == 3, 'select')\n"
	    "check(('x'):rep(3) == 'xxx', 'methods')\n"
	    "check(string.format('%5.2f|%s', 1.5, 'a') == ' 1.50|a', 'fmt')\n"
	    "check(not pcall(t.rv, 42 == 0), 'rv arg')\n"
	    "local n = 0 for k in pairs(t) do n = n + 1 end\n"
	    "check(n >= 15, 'pairs on library')\n"
	    "check(_G.string == string and _VERSION == 'Lua 5.4', 'globals')\n"
	    "return {trust_vector = {hardware = 2}}\n"
	    "end\n";

	(void)state;
	policyfix_add_rv("svn", "[\"1\"]", 0);
	res = policyfix_dry_attestation(pol, in);
	if (policyfix_res_error(res) != NULL)
		fail_msg("%s", policyfix_res_error(res));
	json_decref(res);
	/* trustee.rv() argument errors carry the line */
	res = policyfix_dry_attestation(
	    "return function()\nreturn trustee.rv(nil)\nend", in);
	policyfix_assert_contains(policyfix_res_error(res),
	    "error at line 2: bad argument #1");
	json_decref(res);
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sandbox_escapes, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_trustee_library, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_sandbox", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
