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
	};

	log_init("test_policy_resource", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
