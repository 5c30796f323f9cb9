/*
 * test_rvps_corim.c: the corim extractor (CoRIMs built here with
 * libcbor's builder API): the values of reference triples, the TCG and
 * CoMID wrappings, indefinite lengths, and every refusal of malformed,
 * signed or misshapen input; and the register envelope's refusal of swid
 * and corim payloads that do not extract (a CoRIM with a bad name among
 * them).
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

#include <cbor.h>
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
	return rvpsfix_setup(state, "test_rvps_corim");
}

/* Builders; every argument item is consumed. */
static cbor_item_t *
cmap(int n, ...)
{
	cbor_item_t *m = cbor_new_definite_map((size_t)n);
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		uint64_t k = va_arg(ap, uint64_t);
		cbor_item_t *v = va_arg(ap, cbor_item_t *);

		assert_true(cbor_map_add(m, (struct cbor_pair){
		    .key = cbor_move(cbor_build_uint64(k)),
		    .value = cbor_move(v) }));
	}
	va_end(ap);
	return m;
}

static cbor_item_t *
carr(int n, ...)
{
	cbor_item_t *a = cbor_new_definite_array((size_t)n);
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_true(cbor_array_push(a, cbor_move(va_arg(ap,
		    cbor_item_t *))));
	va_end(ap);
	return a;
}

static cbor_item_t *
ctag(uint64_t t, cbor_item_t *it)
{
	cbor_item_t *r = cbor_build_tag(t, it);

	cbor_decref(&it);
	return r;
}

static cbor_item_t *
cstr(const char *s)
{
	return cbor_build_string(s);
}

static cbor_item_t *
cbytes(const char *hex)
{
	uint8_t b[128];
	size_t n = 0;

	assert_int_equal(hex_decode(hex, b, sizeof(b), &n), 0);
	return cbor_build_bytestring(b, n);
}

static cbor_item_t *
cuint(uint64_t v)
{
	return cbor_build_uint64(v);
}

/* Serialize and release it. */
static uint8_t *
cser(cbor_item_t *it, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = cbor_serialize_alloc(it, &buf, &cap);
	assert_true(*len > 0);
	cbor_decref(&it);
	return buf;
}

/* A CoMID with one reference triple for ACME/RoadRunner holding three
 * measurements (uuid key with digest and raw bytes; text key with name
 * and serial; uint key with two digests). Diagnostic notation:
 *   { 1: {0: "comid-1"},
 *     4: { 0: [ [ {0: {1: "ACME", 2: "RoadRunner"}},
 *                 [ {0: 37(h'31fb5abf023e4992aa4e95f9c1503bfa'),
 *                    1: {2: [[1, h'a3a5...78']], 4: 560(h'0102ff')}},
 *                   {0: "fw", 1: {11: "boot", 8: "SN-1", 2: [[7, h'bb']]}},
 *                   {0: 3, 1: {2: [[1, h'cc'], [1, h'dd']]}} ] ] ] } } */
static cbor_item_t *
comid_good(void)
{
	return cmap(2,
	    (uint64_t)1, cmap(1, (uint64_t)0, cstr("comid-1")),
	    (uint64_t)4, cmap(1, (uint64_t)0, carr(1, carr(2,
		cmap(1, (uint64_t)0, cmap(2, (uint64_t)1, cstr("ACME"),
		    (uint64_t)2, cstr("RoadRunner"))),
		carr(3,
		    cmap(2, (uint64_t)0, ctag(37, cbytes(
			"31fb5abf023e4992aa4e95f9c1503bfa")),
			(uint64_t)1, cmap(2,
			    (uint64_t)2, carr(1, carr(2, cuint(1), cbytes(
				"a3a5e715f0cc574a73c3f9bebb6bc24f"
				"32ffd5b67b387244c2c909da779a1478"))),
			    (uint64_t)4, ctag(560, cbytes("0102ff")))),
		    cmap(2, (uint64_t)0, cstr("fw"),
			(uint64_t)1, cmap(3, (uint64_t)11, cstr("boot"),
			    (uint64_t)8, cstr("SN-1"),
			    (uint64_t)2, carr(1, carr(2, cuint(7),
				cbytes("bb"))))),
		    cmap(2, (uint64_t)0, cuint(3),
			(uint64_t)1, cmap(1, (uint64_t)2, carr(2,
			    carr(2, cuint(1), cbytes("cc")),
			    carr(2, cuint(1), cbytes("dd"))))))))));
}

static const char corim_want[] = "{"
    "\"ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/digests\": "
    "[\"a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478\"],"
    "\"ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/raw_bytes\": "
    "\"0102ff\","
    "\"ACME/RoadRunner/fw/boot/SN-1/digests\": [\"bb\"],"
    "\"ACME/RoadRunner/claim3/digests\": [\"cc\", \"dd\"]}";

/* #6.501({0: "corim-1", 1: [#6.506(bstr .cbor comid), #6.505(...)]}) */
static uint8_t *
corim_good(size_t *len)
{
	size_t clen;
	uint8_t *c = cser(comid_good(), &clen), *out;

	out = cser(ctag(501, cmap(2, (uint64_t)0, cstr("corim-1"),
	    (uint64_t)1, carr(2, ctag(506, cbor_build_bytestring(c, clen)),
	    ctag(505, cmap(1, (uint64_t)0, cstr("coswid-ignored")))))), len);
	free(c);
	return out;
}

static json_t *
corim_ok(const uint8_t *p, size_t len)
{
	struct error err = { "" };
	json_t *out = NULL;

	if (rvps_extract_corim(p, len, &out, &err) != 0)
		fail_msg("corim: %s", err.msg);
	return out;
}

static void
corim_fails(const uint8_t *p, size_t len, const char *want)
{
	struct error err = { "" };
	json_t *out = (json_t *)"x";

	assert_int_equal(rvps_extract_corim(p, len, &out, &err), -1);
	assert_null(out);
	rvpsfix_assert_msg(&err, want);
}

/* A corim-map (tagged 501) around the given tags array. */
static void
corim_tags_fail(cbor_item_t *tags, const char *want)
{
	size_t len;
	uint8_t *p = cser(ctag(501, cmap(2, (uint64_t)0, cstr("id"),
	    (uint64_t)1, tags)), &len);

	corim_fails(p, len, want);
	free(p);
}

/* One CoMID (as a map under #6.506) with one triple of the given env and
 * measurements. */
static void
corim_triple_fail(cbor_item_t *env, cbor_item_t *ms, const char *want)
{
	corim_tags_fail(carr(1, ctag(506, cmap(2,
	    (uint64_t)1, cmap(1, (uint64_t)0, cstr("t")),
	    (uint64_t)4, cmap(1, (uint64_t)0, carr(1, carr(2, env, ms)))))),
	    want);
}

static void
test_corim(void **state)
{
	int64_t now = now_unix();
	uint8_t *p, *q;
	size_t len, qlen;
	json_t *out, *names;

	(void)state;
	p = corim_good(&len);
	out = corim_ok(p, len);
	rvpsfix_assert_json(out, corim_want);
	json_decref(out);

	names = rvpsfix_register_ok("corim", p, len);
	assert_int_equal(json_array_size(names), 4);
	json_decref(names);
	rvpsfix_assert_query(
	    "ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/"
	    "raw_bytes", now, "\"0102ff\"");
	rvpsfix_assert_query("ACME/RoadRunner/claim3/digests", now,
	    "[\"cc\", \"dd\"]");

	/* TCG wrappers: #6.500(#6.502(...)) prefixes are peeled */
	q = xmalloc(len + 6);
	memcpy(q, "\xd9\x01\xf4\xd9\x01\xf6", 6);
	memcpy(q + 6, p, len);
	out = corim_ok(q, len + 6);
	rvpsfix_assert_json(out, corim_want);
	json_decref(out);
	free(q);
	/* untagged corim-map */
	out = corim_ok(p + 3, len - 3);
	rvpsfix_assert_json(out, corim_want);
	json_decref(out);
	free(p);

	/* CoMID as a map inside #6.506, and as an untagged bstr */
	p = cser(cmap(1, (uint64_t)1, carr(1, ctag(506, comid_good()))), &len);
	out = corim_ok(p, len);
	rvpsfix_assert_json(out, corim_want);
	json_decref(out);
	free(p);
	q = cser(comid_good(), &qlen);
	p = cser(cmap(1, (uint64_t)1, carr(1, cbor_build_bytestring(q, qlen))),
	    &len);
	free(q);
	out = corim_ok(p, len);
	rvpsfix_assert_json(out, corim_want);
	json_decref(out);
	free(p);

	/* no class, no keys: names are just "digests"; a CoMID with only
	 * endorsements gives nothing; single measurement-map (old drafts) */
	p = cser(cmap(1, (uint64_t)1, carr(2,
	    ctag(506, cmap(1, (uint64_t)4, cmap(1, (uint64_t)0, carr(1,
		carr(2, cmap(1, (uint64_t)1, ctag(37, cbytes("00"))),
		    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0)))))))),
	    ctag(506, cmap(1, (uint64_t)4, cmap(1, (uint64_t)1, carr(0)))))),
	    &len);
	out = corim_ok(p, len);
	rvpsfix_assert_json(out, "{\"digests\": []}");
	json_decref(out);
	free(p);

	/* indefinite-length strings and arrays are fine (hand-written:
	 * {1: [_ 506({4: {0: [[{0: {1: (_ "AC", "ME")}},
	 *   [{1: {2: [[1, (_ h'01', h'02')]]}}]]]}})]}) */
	{
		static const uint8_t indef[] = {
			0xa1, 0x01, 0x9f, 0xd9, 0x01, 0xfa, 0xa1, 0x04, 0xa1,
			0x00, 0x81, 0x82, 0xa1, 0x00, 0xa1, 0x01, 0x7f, 0x62,
			'A', 'C', 0x62, 'M', 'E', 0xff, 0x81, 0xa1, 0x01,
			0xa1, 0x02, 0x81, 0x82, 0x01, 0x5f, 0x41, 0x01, 0x41,
			0x02, 0xff, 0xff
		};

		out = corim_ok(indef, sizeof(indef));
		rvpsfix_assert_json(out, "{\"ACME/digests\": [\"0102\"]}");
		json_decref(out);
	}
}

static void
test_corim_errors(void **state)
{
	uint8_t *p, *q, deep[200];
	size_t len, i;

	(void)state;
	corim_fails(NULL, 0, "empty");
	p = corim_good(&len);
	corim_fails(p, len - 1, "malformed CBOR");
	q = xmalloc(len + 1);
	memcpy(q, p, len);
	q[len] = 0x00;
	corim_fails(q, len + 1, "trailing bytes");
	free(q);
	free(p);

	/* nesting and declared lengths are checked before libcbor */
	for (i = 0; i < sizeof(deep); i++)
		deep[i] = 0x81;
	deep[sizeof(deep) - 1] = 0x00;
	corim_fails(deep, sizeof(deep), "nested deeper than 32 levels");
	corim_fails((const uint8_t *)"\x9b\x7f\xff\xff\xff\xff\xff\xff\xff",
	    9, "array longer than the input");
	corim_fails((const uint8_t *)"\xbb\x7f\xff\xff\xff\xff\xff\xff\xff",
	    9, "map longer than the input");
	corim_fails((const uint8_t *)"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
	    9, "string longer than the input");
	corim_fails((const uint8_t *)"\xbf\x01\xff", 3, "key but no value");
	corim_fails((const uint8_t *)"\xff", 1, "unexpected break");
	corim_fails((const uint8_t *)"\x1c", 1, "reserved");
	corim_fails((const uint8_t *)"\x5f\x61\x61\xff", 4, "bad string chunk");

	/* signed CoRIMs */
	p = cser(ctag(18, carr(4, cbytes("a0"), cmap(0), cbytes("00"),
	    cbytes("00"))), &len);
	corim_fails(p, len, "signed CoRIM (COSE, tag 18) is not supported");
	free(p);
	p = cser(ctag(502, carr(4, cbytes("a0"), cmap(0), cbytes("00"),
	    cbytes("00"))), &len);
	corim_fails(p, len, "COSE_Sign1");
	free(p);
	p = cser(ctag(99, cmap(0)), &len);
	corim_fails(p, len, "unexpected CBOR tag 99");
	free(p);

	/* shapes */
	p = cser(cuint(5), &len);
	corim_fails(p, len, "expected a corim-map, found an unsigned integer");
	free(p);
	p = cser(cmap(1, (uint64_t)0, cstr("id")), &len);
	corim_fails(p, len, "no tags (key 1)");
	free(p);
	p = cser(cmap(1, (uint64_t)1, cstr("x")), &len);
	corim_fails(p, len, "tags: expected an array, found a text string");
	free(p);
	corim_tags_fail(carr(1, cuint(1)), "tags[0]: expected a tagged CoMID");
	corim_tags_fail(carr(1, ctag(16, cuint(1))), "tags 6..20");
	corim_tags_fail(carr(1, ctag(506, cbytes("ff"))),
	    "tags[0] (CoMID): malformed CBOR");
	corim_tags_fail(carr(1, ctag(506, cuint(3))), "expected a CoMID map");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)1, cmap(0)))),
	    "no triples (key 4)");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, carr(0)))),
	    "triples: expected a map");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, cmap(1,
	    (uint64_t)0, cmap(0))))), "reference-triples: expected an array");
	corim_tags_fail(carr(1, ctag(506, cmap(1, (uint64_t)4, cmap(1,
	    (uint64_t)0, carr(1, carr(1, cmap(0))))))),
	    "reference triple 0: expected [environment-map");
	corim_triple_fail(carr(0), carr(0), "environment: expected a map");
	corim_triple_fail(cmap(1, (uint64_t)0, cuint(1)), carr(0),
	    "class: expected a map");
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)1, cuint(1))),
	    carr(0), "vendor: expected a text string");
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)2,
	    cbytes("00"))), carr(0), "model: expected a text string");
	corim_triple_fail(cmap(0), cuint(1), "measurements: expected an array");
	corim_triple_fail(cmap(0), carr(1, cuint(1)),
	    "measurement 0: expected a measurement-map");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)0, cstr("k"))),
	    "no mval (key 1)");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, carr(0))),
	    "mval: expected a map");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, cmap(0)))), "digests: expected an array");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(1, cuint(1)))))),
	    "digests[0]: expected [algorithm, digest bytes]");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(2, cuint(1), cstr("aa")))))),
	    "digests[0]: expected a byte string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)2, carr(1, carr(2, cbytes("01"), cbytes("aa")))))),
	    "the algorithm must be an integer or a text string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)11, cuint(5)))), "name: expected a text string");
	corim_triple_fail(cmap(0), carr(1, cmap(1, (uint64_t)1, cmap(1,
	    (uint64_t)4, ctag(560, cuint(1))))), "expected a byte string");
	corim_triple_fail(cmap(0), carr(2,
	    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0))),
	    cmap(1, (uint64_t)1, cmap(1, (uint64_t)2, carr(0)))),
	    "reference value 'digests' is produced twice");
	corim_triple_fail(cmap(0), carr(1, cmap(2, (uint64_t)1, cmap(0),
	    (uint64_t)1, cmap(0))), "key 1 appears twice");
	/* a text string with a NUL */
	corim_triple_fail(cmap(1, (uint64_t)0, cmap(1, (uint64_t)1,
	    cbor_build_stringn("a\0b", 3))), carr(0), "NUL");
}

static void
test_envelope_swid_corim_errors(void **state)
{
	char *env;
	uint8_t *p;
	size_t len;

	(void)state;
	env = rvpsfix_envelope(NULL, "swid", "<a>", 3, B64_STD);
	rvpsfix_register_fails(env, "swid payload: not acceptable XML");
	free(env);
	env = rvpsfix_envelope(NULL, "corim", "\x81", 1, B64_STD);
	rvpsfix_register_fails(env, "corim payload: CoRIM: malformed CBOR");
	free(env);
	/* a CoRIM whose values are fine but one name has a control char */
	p = cser(cmap(1, (uint64_t)1, carr(1, ctag(506, cmap(1, (uint64_t)4,
	    cmap(1, (uint64_t)0, carr(1, carr(2, cmap(1, (uint64_t)0, cmap(1,
	    (uint64_t)1, cstr("bad\tvendor"))), carr(1, cmap(1, (uint64_t)1,
	    cmap(1, (uint64_t)2, carr(0))))))))))), &len);
	env = rvpsfix_envelope(NULL, "corim", p, len, B64_STD);
	rvpsfix_register_fails(env, "the corim payload: reference value name");
	free(env);
	free(p);
	assert_int_equal(rvpsfix_count_records(now_unix()), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_corim, setup,
		    rvpsfix_teardown),
		cmocka_unit_test(test_corim_errors),
		cmocka_unit_test_setup_teardown(test_envelope_swid_corim_errors,
		    setup, rvpsfix_teardown),
	};

	log_init("test_rvps_corim", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
