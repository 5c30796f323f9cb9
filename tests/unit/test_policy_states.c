/*
 * test_policy_states.c: the per-thread Lua states: reused across
 * evaluations (nothing created or compiled per evaluation), discarded
 * after a budget overrun, one per thread and freed when the thread
 * exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
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
	return policyfix_setup(state, "test_policy_states");
}

static void
test_budget_discards_state(void **state)
{
	struct policy_stats a, b;
	json_t *in = policyfix_sample_input(), *res;
	int v[8], i;

	(void)state;
	policyfix_appraise(in, v, NULL);
	policy_stats(&a);
	for (i = 0; i < 200; i++)
		policyfix_appraise(in, v, NULL);
	policy_stats(&b);
	/* one state per thread, reused: nothing created per evaluation */
	assert_int_equal(b.states_created, a.states_created);
	assert_int_equal(b.compiles, a.compiles);
	assert_true(b.evaluations >= a.evaluations + 200);

	res = policyfix_dry_attestation(
	    "return function() while true do end end", in);
	policyfix_assert_contains(policyfix_res_error(res),
	    "instruction budget");
	json_decref(res);
	policy_stats(&a);
	assert_int_equal(a.discards, b.discards + 1);
	policyfix_appraise(in, v, NULL);
	policy_stats(&b);
	assert_int_equal(b.states_created, a.states_created + 1);
	json_decref(in);
}

/* A state per thread: other threads get their own and can evaluate
 * concurrently. */
static void *
thread_eval(void *arg)
{
	json_t *in = policyfix_sample_input();
	int v[8], i, *ok = arg;
	json_t *ext = NULL;
	struct error err;

	*ok = 1;
	for (i = 0; i < 50; i++) {
		if (policy_appraise("default", "cpu", in, v, &ext, &err) != 0 ||
		    v[C_HW] != 97)
			*ok = 0;
		json_decref(ext);
	}
	json_decref(in);
	return NULL;
}

static void
test_threads(void **state)
{
	struct policy_stats a, b;
	pthread_t t[4];
	int ok[4], i;

	(void)state;
	policy_stats(&a);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_eval,
		    &ok[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(ok[i]);
	}
	policy_stats(&b);
	assert_int_equal(b.states_created, a.states_created + 4);
	/* freed at thread exit */
	assert_int_equal(b.states_live, a.states_live);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_budget_discards_state,
		    setup, policyfix_teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup,
		    policyfix_teardown),
	};

	log_init("test_policy_states", LOG_LVL_WARN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
