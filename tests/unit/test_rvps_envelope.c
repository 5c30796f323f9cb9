/*
 * test_rvps_envelope.c: the register envelope (rvps_register,
 * rvps_parse_envelope) and the sample extractor: accepted forms, every
 * refusal of the envelope and of sample payloads, and all or nothing:
 * nothing is stored unless every value can be.
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

#include "../../lib/b64.h"
#include "../../lib/log.h"
#include "../../rvps/rvps.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "rvpsfix.h"

static int
setup(void **state)
{
	return rvpsfix_setup(state, "test_rvps_envelope");
}

static void
test_envelope_sample(void **state)
{
	const char *payload = "{\"x\":[\"abc\"],\"y\":1,\"z?\":\"???\"}";
	struct error err = { "" };
	int64_t now = now_unix();
	json_t *names, *rec, *vals;
	char *env, *b;

	(void)state;
	names = rvpsfix_register_ok("sample", payload, strlen(payload));
	rvpsfix_assert_json(names, "[\"x\", \"y\", \"z?\"]");
	json_decref(names);
	rvpsfix_assert_query("x", now, "[\"abc\"]");
	rvpsfix_assert_query("z?", now, "\"???\"");
	assert_int_equal(rvps_get("y", now, &rec, &err), 0);
	assert_string_equal(rvpsfix_str_member(rec, "added_by"), "tester");
	assert_int_equal(rvpsfix_time_member(rec, "expiration") -
	    rvpsfix_time_member(rec, "created"), RVPS_DEFAULT_LIFETIME);
	json_decref(rec);

	/* version absent; URL-safe alphabet, no padding ("???" gives '/' in
	 * the standard alphabet, '_' in the URL-safe one) */
	payload = "{\"x\":\"???\"}";
	b = b64_encode(payload, strlen(payload), B64_URL_NOPAD);
	assert_non_null(strchr(b, '_'));
	env = xasprintf("{\"type\":\"sample\",\"payload\":\"%s\",\"extra\":1}",
	    b);
	free(b);
	assert_int_equal(rvps_register(env, strlen(env), NULL, NULL, &err), 0);
	free(env);
	rvpsfix_assert_query("x", now, "\"???\"");
	assert_int_equal(rvps_get("x", now, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "version")),
	    2);
	json_decref(rec);

	/* the checking half alone */
	env = rvpsfix_envelope(NULL, "sample", "{\"q\":true}", 10, B64_STD);
	assert_int_equal(rvps_parse_envelope(env, strlen(env), &vals, &err),
	    0);
	rvpsfix_assert_json(vals, "{\"q\": true}");
	json_decref(vals);
	free(env);
	rvpsfix_assert_query("q", now, NULL);
}

static void
test_envelope_errors(void **state)
{
	char *env, big[600];
	size_t i;

	(void)state;
	env = rvpsfix_envelope("0.2.0", "sample", "{\"a\":1}", 7, B64_STD);
	rvpsfix_register_fails(env, "version '0.2.0' is not supported");
	free(env);
	rvpsfix_register_fails(
	    "{\"version\":1,\"type\":\"sample\",\"payload\":\"\"}",
	    "\"version\" must be the string");
	rvpsfix_register_fails("{\"version\":\"0.1.0\",\"type\":\"sample\","
	    "\"payload\":\"!!!!\"}", "not base64");
	rvpsfix_register_fails(
	    "{\"type\":\"sample\",\"payload\":\"eyJhIjoxfQ== \"}",
	    "not base64");
	env = rvpsfix_envelope("0.1.0", "in-toto", "{\"a\":1}", 7, B64_STD);
	rvpsfix_register_fails(env, "Could not find extractor for 'in-toto'");
	free(env);
	rvpsfix_register_fails("{\"type\":\"sample\"}", "\"payload\" must be");
	rvpsfix_register_fails("{\"type\":\"sample\",\"provenance\":\"e30=\"}",
	    "not \"provenance\"");
	rvpsfix_register_fails("{\"payload\":\"e30=\"}", "\"type\" must be");
	rvpsfix_register_fails("{\"type\":\"sample\",\"payload\":7}",
	    "\"payload\" must be");
	rvpsfix_register_fails("not json", "not valid JSON");
	rvpsfix_register_fails("[1]", "must be a JSON object");
	rvpsfix_register_fails("{\"type\":\"sample\",\"type\":\"swid\","
	    "\"payload\":\"e30=\"}", "not valid JSON");
	rvpsfix_register_fails("", "not valid JSON");

	/* sample payloads */
	env = rvpsfix_envelope(NULL, "sample", "[1,2]", 5, B64_STD);
	rvpsfix_register_fails(env, "sample payload: must be a JSON object");
	free(env);
	env = rvpsfix_envelope(NULL, "sample", "{\"a\":", 5, B64_STD);
	rvpsfix_register_fails(env, "sample payload: not valid JSON");
	free(env);
	env = rvpsfix_envelope(NULL, "sample", "{\"a\":1,\"a\":2}", 13,
	    B64_STD);
	rvpsfix_register_fails(env, "duplicate");
	free(env);
	env = rvpsfix_envelope(NULL, "sample", "{}", 2, B64_STD);
	rvpsfix_register_fails(env, "holds no reference values");
	free(env);
	env = rvpsfix_envelope(NULL, "sample", "", 0, B64_STD);
	rvpsfix_register_fails(env, "sample payload");
	free(env);

	/* too many values */
	{
		struct buf b = { NULL, 0, 0 };

		buf_addstr(&b, "{");
		for (i = 0; i <= RVPS_REGISTER_MAX; i++)
			buf_printf(&b, "%s\"n%zu\":1", i ? "," : "", i);
		buf_addstr(&b, "}");
		env = rvpsfix_envelope(NULL, "sample", b.data, b.len, B64_STD);
		rvpsfix_register_fails(env, "more than the limit of 4096");
		free(env);
		buf_free(&b);
	}
	/* a who too long */
	memset(big, 'w', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	{
		struct error err = { "" };

		env = rvpsfix_envelope(NULL, "sample", "{\"a\":1}", 7, B64_STD);
		assert_int_equal(rvps_register(env, strlen(env), big, NULL,
		    &err), -1);
		rvpsfix_assert_msg(&err, "admin identity");
		free(env);
	}
	assert_int_equal(rvpsfix_count_records(now_unix()), 0);
}

/* Nothing is stored unless every value can be. */
static void
test_all_or_nothing(void **state)
{
	const char *p1 = "{\"good\":1,\"bad\\u0001name\":2}";
	struct buf p2 = { NULL, 0, 0 };
	char *env;
	size_t i;

	(void)state;
	rvpsfix_add_ok("good", "0", 0);
	env = rvpsfix_envelope(NULL, "sample", p1, strlen(p1), B64_STD);
	rvpsfix_register_fails(env, "control character");
	free(env);

	buf_addstr(&p2, "{\"good\":5,\"fine\":6,\"big\":\"");
	for (i = 0; i < RVPS_VALUE_MAX; i++)
		buf_addstr(&p2, "y");
	buf_addstr(&p2, "\"}");
	env = rvpsfix_envelope(NULL, "sample", p2.data, p2.len, B64_STD);
	rvpsfix_register_fails(env, "'big'");
	free(env);
	buf_free(&p2);

	/* a name too long, last */
	buf_addstr(&p2, "{\"fine\":6,\"");
	for (i = 0; i <= RVPS_NAME_MAX; i++)
		buf_addstr(&p2, "L");
	buf_addstr(&p2, "\":1}");
	env = rvpsfix_envelope(NULL, "sample", p2.data, p2.len, B64_STD);
	rvpsfix_register_fails(env, "longer than 256 bytes");
	free(env);
	buf_free(&p2);

	rvpsfix_assert_query("good", now_unix(), "0");
	rvpsfix_assert_query("fine", now_unix(), NULL);
	assert_int_equal(rvpsfix_count_records(now_unix()), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envelope_sample, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_envelope_errors, setup,
		    rvpsfix_teardown),
		cmocka_unit_test_setup_teardown(test_all_or_nothing, setup,
		    rvpsfix_teardown),
	};

	log_init("test_rvps_envelope", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
