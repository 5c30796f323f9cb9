/*
 * test_jcs.c: RFC 8785 canonicalization against known answers: the
 * Trustee and guest-client vectors (whose digests end up in report_data),
 * the RFC's own examples and ES number formatting edge cases; and
 * jcs_compact, the same writer in insertion order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "hash.h"
#include "jcs.h"
#include "util.h"

#define GUEST_X "Z4DF_HAnXixwYaDnh3uxdN6t65iHAn8_qDZUFYun9Qw"
#define GUEST_Y "PLqMNLw10g6B9zCsHHvW1mGpQvkMapylXFEvnkoAEmY"
#define GUEST_NONCE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define GUEST_PUBKEY_JCS "{\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\"," \
	"\"kty\":\"EC\",\"x\":\"" GUEST_X "\",\"y\":\"" GUEST_Y "\"}"

/* JCS of v must be exactly want (compared with its length, so embedded
 * NULs and truncation are caught). Consumes v. */
static void
assert_jcs(json_t *v, const char *want)
{
	size_t len = 0;
	char *got;

	assert_non_null(v);
	got = jcs_serialize(v, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	json_decref(v);
}

/* JCS of the JSON text in must be want. */
static void
assert_jcs_text(const char *in, const char *want)
{
	json_error_t jerr;
	json_t *v = json_loads(in, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (v == NULL)
		fail_msg("test input %s: %s", in, jerr.text);
	assert_jcs(v, want);
}

static void
assert_digest_hex(enum hash_alg a, const char *s, const char *want)
{
	uint8_t d[HASH_MAX_SIZE];
	char hex[2 * HASH_MAX_SIZE + 1];
	size_t n = 0;

	assert_int_equal(hash_digest(a, s, strlen(s), d, &n), 0);
	hex_encode(d, n, hex);
	assert_string_equal(hex, want);
}

static void
assert_digest_b64(enum hash_alg a, const char *s, const char *want)
{
	uint8_t d[HASH_MAX_SIZE];
	size_t n = 0;
	char *b;

	assert_int_equal(hash_digest(a, s, strlen(s), d, &n), 0);
	b = b64_encode(d, n, B64_STD);
	assert_string_equal(b, want);
	free(b);
}

/* Trustee's own JCS test (kbs attestation code). */
static void
test_trustee_vector(void **state)
{
	const char *want = "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}";
	json_t *v = json_pack("{s:i,s:s,s:{s:s}}", "b", 1, "a", "test", "c",
	    "d", "e");
	char *got;

	(void)state;
	got = jcs_serialize(v, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_digest_hex(HASH_SHA384, got, "e71ce8e70d814ba6639c3612ebee0ff1"
	    "f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3");
	free(got);
	json_decref(v);
}

/* guest-client.md §2.5: runtime-data of the P-256 d=42 key. */
static void
test_guest_vector(void **state)
{
	const char *want = "{\"additional-evidence\":\"\",\"nonce\":\""
	    GUEST_NONCE "\",\"tee-pubkey\":" GUEST_PUBKEY_JCS "}";
	const char *dev_want = "{\"nonce\":\"" GUEST_NONCE "\",\"tee-pubkey\":"
	    GUEST_PUBKEY_JCS "}";
	json_t *v, *dev;
	char *got, *dev_got;

	(void)state;
	/* Deliberately neither sorted nor in the guest's field order. */
	v = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s}",
	    "tee-pubkey", "y", GUEST_Y, "x", GUEST_X, "kty", "EC",
	    "alg", "ECDH-ES+A256KW", "crv", "P-256",
	    "nonce", GUEST_NONCE, "additional-evidence", "");
	assert_non_null(v);
	got = jcs_serialize(v, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_digest_b64(HASH_SHA384, got,
	    "BMZlsnt4uYlvp5m5q4yyxWQvbgLSsbeVPXCjTgvPiiJwuQtlzgn2RjJpiImB+xul");
	assert_digest_b64(HASH_SHA256, got,
	    "zLHRjBF4jBYAh3uBOe1LfUmsIeAKXrY2y6Ii47APXt0=");
	assert_digest_b64(HASH_SHA512, got,
	    "sU7pB20p/ubSl74hGsL2ayHqr7GWtRWEwKkbVVW2xtpjU8jrvHpjTu0JC+TSLVbp"
	    "IAlyPtpJGRQtIb+al3NgKQ==");

	assert_int_equal(json_object_del(v, "additional-evidence"), 0);
	dev = json_pack("{s:O,s:O}", "tee-pubkey",
	    json_object_get(v, "tee-pubkey"), "nonce",
	    json_object_get(v, "nonce"));
	dev_got = jcs_serialize(dev, NULL);
	assert_non_null(dev_got);
	assert_string_equal(dev_got, dev_want);
	assert_digest_b64(HASH_SHA384, dev_got,
	    "4s9ca7+Cf3nqjcVVMAy3K+GPSs2z3rcj2q0O5alIjspuGD3hzua2evX22Ce6W87g");
	free(got);
	free(dev_got);
	json_decref(v);
	json_decref(dev);
}

/* RFC 8785 §3.2.2 input and §3.2.3 (sorted) output. */
static void
test_rfc8785_example(void **state)
{
	(void)state;
	assert_jcs_text("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50,"
	    " 2e-3, 0.000000000000000000000000001],\n  \"string\": "
	    "\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n}",
	    "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,"
	    "1e+30,4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B"
	    "\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 Appendix B: IEEE-754 bit patterns and their ES form. */
static void
test_rfc8785_numbers(void **state)
{
	static const struct {
		uint64_t bits;
		const char *want;
	} vec[] = {
		{ 0x0000000000000000ULL, "0" },
		{ 0x8000000000000000ULL, "0" },
		{ 0x0000000000000001ULL, "5e-324" },
		{ 0x8000000000000001ULL, "-5e-324" },
		{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
		{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
		{ 0x4340000000000000ULL, "9007199254740992" },
		{ 0xc340000000000000ULL, "-9007199254740992" },
		{ 0x4430000000000000ULL, "295147905179352830000" },
		{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6ULL, "1e+23" },
		{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
		{ 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
		{ 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
		{ 0x41b3de4355555553ULL, "333333333.3333332" },
		{ 0x41b3de4355555554ULL, "333333333.33333325" },
		{ 0x41b3de4355555555ULL, "333333333.3333333" },
		{ 0x41b3de4355555556ULL, "333333333.3333334" },
		{ 0x41b3de4355555557ULL, "333333333.33333343" },
		{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
	};
	size_t i;
	double d;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		memcpy(&d, &vec[i].bits, sizeof(d));
		assert_jcs(json_real(d), vec[i].want);
	}
}

/* The ES layout boundaries (n = 21, n = -6) and other edges. */
static void
test_number_layout(void **state)
{
	static const struct {
		double d;
		const char *want;
	} vec[] = {
		{ 1e21, "1e+21" },
		{ 1e20, "100000000000000000000" },
		{ -1e21, "-1e+21" },
		{ 0.000001, "0.000001" },
		{ 1e-7, "1e-7" },
		{ 1.5e-7, "1.5e-7" },
		{ 0.0000015, "0.0000015" },
		{ -0.0, "0" },
		{ 100.0, "100" },
		{ 4.5, "4.5" },
		{ 0.1, "0.1" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 123e-20, "1.23e-18" },
		{ 1.5, "1.5" },
		{ 12345.678, "12345.678" },
		/* Powers of two: asymmetric round-trip intervals. */
		{ 0x1p-1022, "2.2250738585072014e-308" },
		{ 0x1p1023, "8.98846567431158e+307" },
		{ 0x1p63, "9223372036854776000" },
		{ 0x1p70, "1.1805916207174113e+21" },
		{ 0x1p-44, "5.684341886080802e-14" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++)
		assert_jcs(json_real(vec[i].d), vec[i].want);
	assert_jcs_text("[333333333.33333329, 1E30, 4.50, 2e-3, "
	    "0.000000000000000000000000001, -0.0, 1.0, 1e2]",
	    "[333333333.3333333,1e+30,4.5,0.002,1e-27,0,1,100]");
}

/* jansson integers stay exact decimals over the whole int64 range. */
static void
test_integers(void **state)
{
	(void)state;
	assert_jcs(json_integer(0), "0");
	assert_jcs(json_integer(-42), "-42");
	assert_jcs(json_integer(INT64_MAX), "9223372036854775807");
	assert_jcs(json_integer(INT64_MIN), "-9223372036854775808");
	assert_jcs_text("[1,-1,9007199254740993]", "[1,-1,9007199254740993]");
}

static void
test_string_escaping(void **state)
{
	static const char in[] = "\x00\x01\x1f \" \\ / \b\f\n\r\t \x7f "
	    "\xc3\xa9 \xe2\x82\xac \xe2\x80\xa8 \xf0\x9f\x98\x80";

	(void)state;
	assert_jcs(json_stringn(in, sizeof(in) - 1),
	    "\"\\u0000\\u0001\\u001f \\\" \\\\ / \\b\\f\\n\\r\\t \x7f "
	    "\xc3\xa9 \xe2\x82\xac \xe2\x80\xa8 \xf0\x9f\x98\x80\"");
	assert_jcs(json_string(""), "\"\"");
	/* Escapes written differently in the input canonicalize the same. */
	assert_jcs_text("\"\\u0041\\u00e9\\/\\u001F\\uD83D\\uDE00\"",
	    "\"A\xc3\xa9/\\u001f\xf0\x9f\x98\x80\"");
}

/* RFC 8785 §3.2.3: UTF-16 code unit order, where U+1F600 (surrogates
 * D83D DE00) sorts before U+FB33 although its UTF-8 is larger. */
static void
test_utf16_key_order(void **state)
{
	(void)state;
	assert_jcs_text("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
	    "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
	    "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":"
	    "\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
	    "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":"
	    "\"Control\",\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":"
	    "\"Emoji: Grinning Face\",\"\xef\xac\xb3\":"
	    "\"Hebrew Letter Dalet With Dagesh\"}");
	/* A prefix sorts first; the empty key sorts before everything. */
	assert_jcs_text("{\"ab\":1,\"a\":2,\"\":3,\"b\":4,\"B\":5}",
	    "{\"\":3,\"B\":5,\"a\":2,\"ab\":1,\"b\":4}");
}

/* Keys with an embedded NUL (settable through jansson's *n API). */
static void
test_nul_in_key(void **state)
{
	json_t *o = json_object();

	(void)state;
	assert_int_equal(json_object_setn_new(o, "a\0", 2, json_true()), 0);
	assert_int_equal(json_object_setn_new(o, "a", 1, json_false()), 0);
	assert_jcs(o, "{\"a\":false,\"a\\u0000\":true}");
}

static void
test_structure(void **state)
{
	(void)state;
	assert_jcs(json_object(), "{}");
	assert_jcs(json_array(), "[]");
	assert_jcs(json_null(), "null");
	assert_jcs(json_true(), "true");
	assert_jcs(json_false(), "false");
	/* Arrays keep their order; nested objects are sorted too; all
	 * insignificant whitespace goes. */
	assert_jcs_text(" [ 3 , { \"z\" : [ { \"y\" : 1 , \"x\" : 2 } ] , "
	    "\"a\" : { } } , [ ] , 1 ] ",
	    "[3,{\"a\":{},\"z\":[{\"x\":2,\"y\":1}]},[],1]");
}

/* Non-finite numbers cannot be built through jansson's API (json_real
 * refuses them), so the only reachable "cannot canonicalize" is NULL. */
static void
test_invalid(void **state)
{
	size_t len = 123;

	(void)state;
	assert_null(json_real(NAN));
	assert_null(json_real(INFINITY));
	assert_null(jcs_serialize(NULL, &len));
	assert_int_equal(len, 123);
}

/* jcs_compact keeps members in insertion order, and its text is what
 * json_dumps(JSON_COMPACT) gives for values without reals and control
 * characters (the two forms differ only there). */
static void
test_compact_matches_jansson(void **state)
{
	static const char *const texts[] = {
		"{\"z\":1,\"a\":{\"y\":[1,2,{\"c\":null,\"b\":true}],\"x\":\"s\"},"
		    "\"m\":false,\"e\":{},\"f\":[]}",
		"{\"eat_profile\":\"tag:github.com,2024:confidential-containers/"
		    "Trustee\",\"iat\":1796612258,\"submods\":{\"cpu0\":{"
		    "\"ear.status\":\"affirming\",\"q\\\"uote\":\"b\\\\s/\\u00e9"
		    "\\ud83d\\ude00\"}},\"exp\":-9223372036854775807}",
		"[3,\"x\",[],{}]",
		"\"only a string\"",
		"42",
	};
	size_t i, len;
	char *got, *want;
	json_t *v;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = json_loads(texts[i], JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		got = jcs_compact(v, &len);
		want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_non_null(got);
		assert_non_null(want);
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
		free(got);
		free(want);
		json_decref(v);
	}
}

/* Reals stay reals when the text is parsed again; control characters
 * use the escapes above; the text parses back to an equal value. */
static void
test_compact_roundtrip(void **state)
{
	json_t *v, *back;
	char *got;

	(void)state;
	v = json_pack("{s:f, s:f, s:f, s:f, s:s, s:[f, i]}", "one", 1.0,
	    "half", 0.5, "big", 1e21, "neg", -3.0, "ctl", "a\x01\n\x1f" "b",
	    "arr", 2.0, 7);
	assert_non_null(v);
	got = jcs_compact(v, NULL);
	assert_non_null(got);
	assert_string_equal(got, "{\"one\":1.0,\"half\":0.5,\"big\":1e+21,"
	    "\"neg\":-3.0,\"ctl\":\"a\\u0001\\n\\u001fb\",\"arr\":[2.0,7]}");
	back = json_loads(got, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(v, back));
	assert_true(json_is_real(json_object_get(back, "one")));
	assert_true(json_is_integer(json_array_get(json_object_get(back,
	    "arr"), 1)));
	free(got);
	json_decref(back);
	json_decref(v);
	assert_null(jcs_compact(NULL, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trustee_vector),
		cmocka_unit_test(test_guest_vector),
		cmocka_unit_test(test_rfc8785_example),
		cmocka_unit_test(test_rfc8785_numbers),
		cmocka_unit_test(test_number_layout),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_string_escaping),
		cmocka_unit_test(test_utf16_key_order),
		cmocka_unit_test(test_nul_in_key),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_compact_matches_jansson),
		cmocka_unit_test(test_compact_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
