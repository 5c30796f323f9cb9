/*
 * fuzz_policy_result.c: the conversion of what a policy returns into a
 * trust vector, extensions or a decision (server/policy_result.c).
 *
 * Two modes, chosen by the input:
 *  - "lua:<expression>": a policy `return function(input) return
 *    <expression> end` runs in the real sandbox (small budgets) and its
 *    result goes through the attestation and the resource conversion;
 *    this reaches Lua values JSON cannot express (holes, cycles, functions,
 *    non-string keys, huge tables);
 *  - anything else: the bytes as a JSON document, turned into a Lua value
 *    the way the engine builds inputs, then converted back.
 * Properties: a vector is always within -128..127, a reason always fits
 * and is valid UTF-8 without control bytes, and Lua -> JSON is idempotent
 * (converting a converted value again gives the same JSON).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../../server/policy.h"
#include "../../server/policy_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_reason(const char *r)
{
	size_t n = strlen(r), i;
	json_t *s;

	if (n >= POLICY_REASON_MAX)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			abort();
	if ((s = json_string(r)) == NULL)
		abort();
	json_decref(s);
}

/* Protected: argument 1 the JSON document. */
static int
fuzz_convert(lua_State *L)
{
	const json_t *j = lua_touserdata(L, 1);
	char reason[POLICY_REASON_MAX];
	json_t *ext = NULL, *out = NULL, *again = NULL;
	struct error err;
	int v[8], i, allowed;

	lua_settop(L, 0);
	presult_push_json(L, j);				/* 1 */
	if (presult_attestation(L, 1, v, &ext, &err) == 0) {
		for (i = 0; i < 8; i++)
			if (v[i] < -128 || v[i] > 127)
				abort();
		if (!json_is_object(ext))
			abort();
		json_decref(ext);
	} else if (ext != NULL || err.msg[0] == '\0') {
		abort();
	}
	if (presult_to_json(L, 1, &out, &err) == 0) {
		presult_push_json(L, out);			/* 2 */
		if (presult_to_json(L, 2, &again, &err) != 0 ||
		    !json_equal(out, again))
			abort();
		json_decref(again);
		json_decref(out);
		lua_settop(L, 1);
	}
	if (!presult_equal(L, 1, 1, 0))
		abort();
	/* as the results of a resource policy: the value, then each array
	 * element as one result */
	presult_resource(L, 1, 1, &allowed, reason, &err);
	fuzz_check_reason(reason);
	if (json_is_array(j) && json_array_size(j) < 64) {
		size_t k;

		for (k = 0; k < json_array_size(j); k++)
			presult_push_json(L, json_array_get(j, k));
		presult_resource(L, 2, (int)json_array_size(j), &allowed,
		    reason, &err);
		fuzz_check_reason(reason);
	}
	return 0;
}

static void
fuzz_lua(const char *expr, size_t len)
{
	static const char head[] = "return function(input) return ";
	static const char tail[] = "\nend";
	struct error err;
	json_t *res = NULL;
	char *text;
	size_t tlen = sizeof(head) - 1 + len + sizeof(tail) - 1;
	int k;

	text = malloc(tlen + 1);
	if (text == NULL)
		return;
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, expr, len);
	memcpy(text + sizeof(head) - 1 + len, tail, sizeof(tail));
	for (k = 0; k < 2; k++) {
		if (policy_test(k == 0 ? POLICY_ATTESTATION : POLICY_RESOURCE,
		    text, tlen, NULL, 0, NULL, &res, &err) != 0)
			continue;	/* not UTF-8, NUL, ... */
		if (json_object_get(res, "reason") == NULL)
			abort();
		fuzz_check_reason(json_string_value(json_object_get(res,
		    "reason")));
		json_decref(res);
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	json_t *j;

	if (L == NULL) {
		/* small budgets keep each run short */
		plua_configure(200, 2048, 0);
		L = luaL_newstate();
		if (L == NULL)
			abort();
		/* no engine state: comparisons run unmetered */
		*(void **)lua_getextraspace(L) = NULL;
	}
	if (size >= 4 && memcmp(data, "lua:", 4) == 0) {
		fuzz_lua((const char *)data + 4, size - 4);
		return 0;
	}
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (j == NULL)
		return 0;
	lua_pushcfunction(L, fuzz_convert);
	lua_pushlightuserdata(L, j);
	lua_pcall(L, 1, 0, 0);	/* too deep a document: a Lua error */
	lua_settop(L, 0);
	json_decref(j);
	return 0;
}
