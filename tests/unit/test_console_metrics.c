/*
 * test_console_metrics.c: the metrics text (metrics.c) over a scratch
 * SQLite store: requests, store calls timed through the store's hook,
 * attestations per TEE and verdict (a client-chosen TEE name never a
 * label value) and the data key, in the exposition text.
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

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "consolefix.h"

static void
test_metrics_text(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct http_request req;
	struct http_response resp;
	struct error err;
	char *text;

	config_defaults(&cfg);
	metrics_init(&cfg, f->st);
	/* Store calls are timed through the store's hook. */
	assert_int_equal(store_put(f->st, "metrics_probe", "a", "1", 1, &err),
	    0);
	assert_int_equal(store_put(f->st, "metrics_probe", "b", "1", 1, &err),
	    0);
	metrics_request(MR_KBS_AUTH, 200, 100, 50, 1000000);
	metrics_request(MR_KBS_RESOURCE, 401, 0, 80, 2000000);
	metrics_attestation(observe_tee_index("snp"), OBSERVE_AFFIRMING,
	    3000000);
	metrics_attestation(observe_tee_index("x<y\"z"), OBSERVE_REFUSED, 1);
	metrics_release(0);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	metrics_handle(&req, &resp, NULL);
	assert_int_equal(resp.status, 200);
	text = buf_cstr(&resp.body);
	assert_non_null(strstr(text, "\nkbs_http_requests_total 2\n"));
	assert_non_null(strstr(text, "kbs_auth_successes_total 1\n"));
	assert_non_null(strstr(text, "kbs_plugin_errors_total{plugin_name="
	    "\"resource\"} 1\n"));
	assert_non_null(strstr(text, "kbs_attestation_successes_total{"
	    "tee_type=\"snp\"} 1\n"));
	assert_non_null(strstr(text, "kbs_attestation_failures_total{"
	    "tee_type=\"other\"} 1\n"));
	assert_non_null(strstr(text, "trustee_verifications_total{tee=\"snp\","
	    "result=\"affirming\"} 1\n"));
	assert_non_null(strstr(text, "kbs_policy_violations_total 1\n"));
	assert_non_null(strstr(text, "kbs_http_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} 2\n"));
	/* A client-chosen TEE name never becomes a label value. */
	assert_null(strstr(text, "x<y"));
	assert_non_null(strstr(text, "trustee_store_operation_duration_"
	    "seconds_count{op=\"put\"} 2\n"));
	assert_non_null(strstr(text, "trustee_store_operation_duration_"
	    "seconds_count{op=\"scan\"}"));
	/* The data key as the store reports it. */
	assert_non_null(strstr(text, "\ntrustee_data_key_version 1\n"));
	assert_non_null(strstr(text, "\ntrustee_data_key_rotation_in_progress "
	    "0\n"));
	buf_free(&resp.body);
	buf_free(&resp.headers);
	store_set_timing(NULL);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics_text,
		    consolefix_setup, consolefix_teardown),
	};

	log_init("test_console_metrics", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
