/*
 * test_policy_resource.c: the resource policy's decisions: the shipped
 * default (resource_default.lua), the other shipped policies and
 * examples, and which one the [policy] resource key seeds (a stored
 * policy wins; no store: the shipped default).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return policyfix_setup(state, "test_policy_resource");
}

static void
test_resource_default(void **state)
{
	char reason[POLICY_REASON_MAX];
	json_t *req = policyfix_request_for("resource"), *c;

	(void)state;
	c = policyfix_claims_for("snp", "affirming", 2);
	assert_int_equal(policyfix_decide(c, req, reason), 1);
	policyfix_assert_contains(reason, "cpu0 affirming");
	json_decref(c);

	c = policyfix_claims_for("tdx", "warning", 2);
	assert_int_equal(policyfix_decide(c, req, reason), 1);
	json_decref(c);

	c = policyfix_claims_for("sample", "affirming", 2);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "sample TEE");
	json_decref(c);

	c = policyfix_claims_for("snp", "contraindicated", 97);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "contraindicated (hardware 97)");
	json_decref(c);

	c = policyfix_claims_for("snp", "none", 0);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "affirming or warning is required");
	json_decref(c);

	c = testutil_json("{\"submods\": {}}");
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "no appraisal");
	json_decref(c);

	c = policyfix_claims_for("snp", "affirming", 2);
	json_decref(req);
	req = policyfix_request_for("nebula-ca");
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "only the resource plugin");
	json_decref(req);
	json_decref(c);
}

static void
test_resource_shipped_variants(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char reason[POLICY_REASON_MAX];
	json_t *req = policyfix_request_for("resource");
	json_t *other = policyfix_request_for("x");
	json_t *c = policyfix_claims_for("sample", "contraindicated", 97);

	policyfix_put_resource_ok(policyfix_shipped("allow_all.lua"));
	assert_int_equal(policyfix_decide(c, req, reason), 1);
	assert_int_equal(policyfix_decide(c, other, reason), 0);

	policyfix_put_resource_ok(policyfix_shipped("deny_all.lua"));
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "deny_all");

	policyfix_put_resource_ok(policyfix_shipped("affirming.lua"));
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	json_decref(c);
	c = policyfix_claims_for("snp", "affirming", 2);
	assert_int_equal(policyfix_decide(c, req, reason), 1);

	/* the examples compile and decide */
	policyfix_put_resource_ok(
	    policyfix_shipped("example_per_repository.lua"));
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "no rule for repository repo");
	policyfix_put_resource_ok(policyfix_shipped("example_init_data.lua"));
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "init-data digest");

	/* the [policy] resource key picks the seed; a stored one wins */
	policy_shutdown();
	f->cfg.resource_policy = RPOLICY_DENY_ALL;
	if (policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	/* still the stored one */
	policyfix_assert_contains(reason, "init-data");
	json_decref(c);
	json_decref(req);
	json_decref(other);
}

static void
test_resource_seed_modes(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char reason[POLICY_REASON_MAX];
	json_t *req = policyfix_request_for("resource");
	json_t *c = policyfix_claims_for("sample", "contraindicated", 97);
	char db2[160];
	struct store *st2;
	uint8_t key[32] = { 1 };

	/* a fresh store seeded with allow_all (what --dev asks for) */
	policy_shutdown();
	snprintf(db2, sizeof(db2), "%s/second.db", f->dir);
	st2 = store_open_key(&store_backend_sqlite, db2, key, &err);
	assert_non_null(st2);
	f->cfg.resource_policy = RPOLICY_ALLOW_ALL;
	if (policy_init(st2, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(policyfix_decide(c, req, reason), 1);
	policyfix_assert_contains(reason, "allow_all");
	policy_shutdown();
	store_close(st2);
	unlink(db2);
	/* no store at all: the shipped defaults */
	f->cfg.resource_policy = RPOLICY_DEFAULT;
	if (policy_init(NULL, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	assert_int_equal(policyfix_decide(c, req, reason), 0);
	policyfix_assert_contains(reason, "sample TEE");
	policy_shutdown();
	if (policy_init(f->st, &f->cfg, &err) != 0)
		fail_msg("policy_init: %s", err.msg);
	json_decref(c);
	json_decref(req);
}

/* Decide with a stamp; returns allowed (-1: failed). */
static int
decide_stamped(const json_t *c, const json_t *req,
    uint8_t stamp[POLICY_STAMP_LEN])
{
	char reason[POLICY_REASON_MAX];
	struct error err = { "" };
	int allowed = 0;

	memset(stamp, 0xee, POLICY_STAMP_LEN);
	if (policy_resource(c, req, &allowed, reason, stamp, &err) != 0)
		return -1;
	return allowed;
}

/* Store text as the resource policy, decide (expecting allowed), and
 * check that the decision is stamped (reusable) or not; the stamp in
 * stamp. */
static void
put_decide(const char *text, const json_t *c, const json_t *req,
    int allowed, int stamped, uint8_t stamp[POLICY_STAMP_LEN])
{
	static const uint8_t zero[POLICY_STAMP_LEN];
	uint8_t now[POLICY_STAMP_LEN];
	struct error err = { "" };

	if (text != NULL)
		policyfix_put_resource_ok(text);
	assert_int_equal(decide_stamped(c, req, stamp), allowed);
	if (!stamped) {
		assert_memory_equal(stamp, zero, sizeof(zero));
		return;
	}
	assert_memory_not_equal(stamp, zero, sizeof(zero));
	assert_int_equal(policy_resource_stamp(now, &err), 0);
	assert_memory_equal(stamp, now, sizeof(now));
}

/*
 * A decision's stamp: the same for the same policy and budgets, and what
 * policy_resource_stamp says; another when the policy or the budgets
 * change; all zeros (not to be reused) when the evaluation read the
 * clock, a reference value or random numbers, or logged, and when it
 * failed.
 */
static void
test_resource_stamp(void **state)
{
	static const char *const impure[] = {
		"return function(c, r) return trustee.now() > 0, 'late' end",
		"return function(c, r) return trustee.rv('x') == nil, 'rv' end",
		"return function(c, r) trustee.log('hi') return true, 'l' end",
		"return function(c, r) local n = math.random(1, 6) "
		    "return n >= 1 and n <= 6, 'dice' end",
		"return function(c, r) math.randomseed(7) return true, 's' end",
	};
	static const char pure[] = "return function(c, r) "
	    "return r.plugin == 'resource', 'pure ' .. r.plugin end";
	json_t *req = policyfix_request_for("resource"), *c, *boom;
	uint8_t s1[POLICY_STAMP_LEN], s2[POLICY_STAMP_LEN];
	size_t i;

	(void)state;
	c = policyfix_claims_for("snp", "affirming", 2);
	put_decide(pure, c, req, 1, 1, s1);
	put_decide(NULL, c, req, 1, 1, s2);
	assert_memory_equal(s1, s2, sizeof(s1));
	/* New budgets: a new generation. */
	plua_configure(0, 0, 0);
	put_decide(NULL, c, req, 1, 1, s2);
	assert_memory_not_equal(s1, s2, sizeof(s1));
	/* A new policy text: another stamp. */
	put_decide("return function(c, r) return false, 'no' end", c, req, 0,
	    1, s1);
	assert_memory_not_equal(s1, s2, sizeof(s1));
	/* Impure evaluations, whatever they decide. */
	for (i = 0; i < ARRAY_SIZE(impure); i++)
		put_decide(impure[i], c, req, 1, 0, s1);
	/* Pure again: stamped again (the flag is per call). */
	put_decide(pure, c, req, 1, 1, s1);
	/* A failure is never stamped. */
	boom = json_pack("{s:s, s:[sss], s:{s:s}, s:s}", "plugin", "resource",
	    "resource-path", "repo", "type", "tag", "query", "boom", "1",
	    "method", "GET");
	put_decide("return function(c, r) if r.query.boom then error('boom') "
	    "end return true, 'ok' end", c, req, 1, 1, s1);
	put_decide(NULL, c, boom, -1, 0, s1);
	json_decref(boom);
	json_decref(c);
	json_decref(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resource_default, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_resource_shipped_variants,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_resource_seed_modes, setup,
		    policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_resource_stamp, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_resource", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
