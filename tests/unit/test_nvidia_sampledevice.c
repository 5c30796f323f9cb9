/*
 * test_nvidia_sampledevice.c: the sampledevice verifier (its report
 * data and svn, and each malformed field refused), and the verifier
 * table's entries and TEE classes of the device verifiers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "util.h"
#include "verifier.h"
#include "nvidia.h"
#include "spdm.h"
#include "testutil.h"
#include "nvidiafix.h"

static void
test_sampledevice(void **state)
{
	uint8_t rd[48];
	char *b;
	json_t *ev, *c = NULL;
	struct error err;

	(void)state;
	memset(rd, 0x33, sizeof(rd));
	b = b64_encode(rd, sizeof(rd), B64_STD);
	ev = json_pack("{s:s, s:s}", "svn", "2", "report_data", b);
	if (testutil_run_verifier(&verifier_sampledevice, ev, rd, sizeof(rd),
	    NULL, 0, T_2026, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(c, "svn")), "2");
	assert_string_equal(json_string_value(json_object_get(c,
	    "report_data")), b);
	assert_int_equal(json_object_size(c), 2);
	json_decref(c);
	rd[0] ^= 1;
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "report data mismatch"));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    47, NULL, 0, T_2026, &c, &err), -1);
	json_object_set_new(ev, "report_data", json_string("not base64!"));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not standard base64"));
	json_object_set_new(ev, "svn", json_integer(2));
	assert_int_equal(testutil_run_verifier(&verifier_sampledevice, ev, rd,
	    sizeof(rd), NULL, 0, T_2026, &c, &err), -1);
	assert_non_null(strstr(err.msg, "svn must be a string"));
	json_decref(ev);
	free(b);

	assert_string_equal(verifier_sampledevice.tee_class, "gpu");
	assert_ptr_equal(verifier_lookup("sampledevice"),
	    &verifier_sampledevice);
	assert_ptr_equal(verifier_lookup("nvidia"), &verifier_nvidia);
	assert_null(verifier_lookup("hygondcu"));
	assert_string_equal(verifier_tee_class("hygondcu"), "dcu");
	assert_string_equal(verifier_tee_class("nvidia"), "gpu");
	assert_string_equal(verifier_tee_class("tdx"), "cpu");
	assert_null(verifier_tee_class("nope"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampledevice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
